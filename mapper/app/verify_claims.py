"""The facts of a result's envelope, checked against its problem file and
against each other: schema, names, weights, status, objective, bound, gap
and proven_optimal. Also the shape check of a re-computed value (``conform``)
and the rows that compare a claim with a recomputation (``recomputed``)."""

from __future__ import annotations

from mapper.core.enums import Factors, Mode, Status
from mapper.core.problem import Problem
from mapper.core.result import SCHEMA_VERSION, relative_gap
from mapper.referee.claims import Claims, is_int, shown
from mapper.referee.report import VerifyReport, same

WALL_TIME = "wall-clock seconds of a solve: not reproducible"
NOT_CLAIMS = {  # result fields that carry no claim about the answer, and why verify leaves them
    "problem_file": "where verify loads the problem from; every check is against that problem",
    "explanation": "free text on how the answer was obtained",
    "solver.wall_time_s": WALL_TIME,
    "solver.first_solution_s": WALL_TIME,
    "solver.deterministic_time": "the search's effort, not a fact about the answer",
    "solver.branches": "the search's effort, not a fact about the answer",
    "solver.conflicts": "the search's effort, not a fact about the answer",
    "solver.ortools_version": "the CP-SAT version of the run",
    "solver.workers": "a setting of the run (verify re-solves baselines with it)",
    "solver.seed": "a setting of the run (verify re-solves baselines with it)",
    "solver.time_limit_s": "a setting of the run (verify re-solves baselines with it)",
    "solver.interrupted_by": "the signal that stopped the run, if one did: the status and gap say what it means",
}


def check_schema(claims: Claims) -> None:
    schema = claims.raw("schema")
    if not is_int(schema) or schema != SCHEMA_VERSION:
        raise claims.error(
            "schema", f"schema {shown(schema)} is not supported; this fusesat reads schema {SCHEMA_VERSION}"
        )


def expected_names(problem: Problem) -> tuple[str, str]:
    """The ``layer`` label and ``accelerator`` name a result of ``problem`` states."""
    names = problem.layer_names
    if problem.mode == Mode.LAYER:
        label = names[0]
    elif problem.mode == Mode.NETWORK:
        label = names[0] if len(names) == 1 else f"{names[0]}..{names[-1]}"
    else:
        label = "+".join(names)
    return label, problem.accelerator_label


def expected_weights(problem: Problem) -> dict:
    if problem.mode == Mode.TASKGRAPH:
        spec = problem.taskgraph
        return {"objective": spec.objective, "makespan": spec.makespan_weight, "memory": spec.memory_weight}
    return dict(problem.objective.__dict__)


def check_envelope(report: VerifyReport, claims: Claims, problem: Problem) -> None:
    label, accelerator = expected_names(problem)
    report.check("schema", claims.raw("schema"), SCHEMA_VERSION, fields="schema")
    report.check("problem = the problem file's name", claims.text("problem"), problem.name, fields="problem")
    report.check("mode = the problem's mode", claims.text("mode"), str(problem.mode), fields="mode")
    report.check("layer = the problem's layers", claims.text("layer"), label, fields="layer")
    report.check("accelerator = the problem's", claims.text("accelerator"), accelerator, fields="accelerator")
    report.check(
        "weights = the problem's objective", claims.sub("weights").data, expected_weights(problem), fields="weights"
    )
    check_proof_facts(report, claims)
    if claims.raw("explanation") is not None:
        claims.text("explanation")
    solver = claims.sub("solver")
    facts = [k.partition(".")[2] for k in NOT_CLAIMS if k.startswith("solver.")]
    solver.keys_exactly([*facts, "factors"], "solver fact")
    space = solver.choice("factors", [f.value for f in Factors])
    expected = problem.solver.factors.value
    report.check("solver.factors = the problem's factor space", space, expected, fields="solver.factors")
    for key in ("wall_time_s", "deterministic_time", "time_limit_s"):
        solver.number(key)
    solver.positive("workers")
    solver.text("ortools_version")
    for key in ("seed", "branches", "conflicts"):
        solver.count(key)
    solver.optional(solver.number, "first_solution_s")
    solver.optional(solver.text, "interrupted_by")
    for key in NOT_CLAIMS:
        parent, _, leaf = key.rpartition(".")
        report.unchecked(key, solver.raw(leaf) if parent else claims.raw(key), NOT_CLAIMS[key])


def check_proof_facts(report: VerifyReport, claims: Claims, label: str = "", extra_status: tuple = (), gap=True):
    """status, objective, bound, ``gap`` (if it has one) and proven_optimal of ``claims``, against each other."""
    status = claims.choice("status", [str(s) for s in Status] + list(extra_status))
    objective = claims.optional(claims.count, "objective")
    bound = claims.optional(claims.count, "bound")
    proven = claims.flag("proven_optimal")
    where = claims.where
    if objective is not None and bound is not None:
        report.check(f"{label}bound <= objective", bound, objective, bound <= objective, where("bound"))
    if status == Status.OPTIMAL:
        report.check(f"{label}status OPTIMAL: objective = bound", objective, bound, fields=where("status"))
    else:
        report.check(
            f"{label}status FEASIBLE, or no objective",
            status,
            "OPTIMAL or FEASIBLE",
            status == Status.FEASIBLE or objective is None,
            where("status"),
        )
    report.check(
        f"{label}proven_optimal = (status OPTIMAL and objective = bound)",
        proven,
        status == Status.OPTIMAL and objective is not None and objective == bound,
        fields=where("proven_optimal"),
    )
    if gap:
        gap = claims.optional(lambda key: claims.number(key, signed=True), "gap")
        expected = None if objective is None or bound is None else relative_gap(objective, bound)
        report.check(f"{label}gap = (objective - bound) / max(1, objective)", gap, expected, fields=where("gap"))


def conform(claims: Claims, template, key=None) -> None:
    """Refuse (``SpecError``) a claimed value whose shape differs from the
    recomputed ``template``: missing or unknown keys, a list for an object, a
    string for a number, a negative count. Equal shapes compare by value."""
    if isinstance(template, dict):
        sub = claims.sub(key) if key is not None else claims
        sub.keys_exactly(template, "field")
        for name, item in template.items():
            conform(sub, item, name)
    elif isinstance(template, list):
        sub = claims.items(key) if key is not None else claims
        for i in range(min(len(sub), len(template))):
            conform(sub, template[i], i)
    elif isinstance(template, bool):
        claims.flag(key)
    elif is_int(template):
        claims.count(key) if template >= 0 else claims.number(key, signed=True)
    elif isinstance(template, float):
        claims.number(key, signed=True)
    elif isinstance(template, str):
        claims.text(key)


def recomputed(
    report, name: str, claims: Claims, key, expected, exact: bool = True, why: str = "", shape: bool = True
) -> bool:
    """A row comparing ``claims[key]`` with its recomputation. When the two differ
    and the recomputation is a re-solve that need not reproduce the run
    (``exact`` False), the row is left unchecked with ``why``. ``shape`` False: the
    claimed value's form is checked elsewhere (a mapping, by its replay), not here."""
    value = claims.raw(key)
    if same(value, expected):
        return report.check(name, value, expected, True, claims.where(key))
    if shape or exact:
        conform(claims, expected, key)
    if exact:
        return report.check(name, value, expected, fields=claims.where(key))
    report.unchecked(claims.where(key), value, f"differs from the re-solve ({shown(expected)}): {why}")
    return True
