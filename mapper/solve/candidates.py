"""A candidate group of network mode solved on its own (DESIGN 4.3,
docs/network.md): with each cost model that can run it (one layer: the
single-layer model and a one-layer row-stripe group; a longer run: the fused
model), the best kept and its bound raised to the compulsory limits. A group
left unsolved (time budget, stop request: ``mapper.solve.candidate_search``)
is skipped, and a layer alone takes a fallback mapping (every loop at DRAM, a
greedy one, or one-row stripes), as does a layer whose solve found no mapping
in its time limit, or a worse one, so a partition still exists; both are
bounded by their compulsory limits (or the solve's bound).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from mapper.core import stop
from mapper.core.enums import Policy, Status
from mapper.core.group import FusedMapping, build_group
from mapper.core.mapping import Mapping, all_dram_mapping
from mapper.core.problem import Problem
from mapper.core.spec import SolverSettings
from mapper.cost.fused import evaluate_fused
from mapper.cost.layer import evaluate
from mapper.heuristics.inward import inward_mapping
from mapper.solve.explain import explain_infeasible
from mapper.solve.groups import solve_group, solve_single_layer
from mapper.solve.partition import Candidate

SKIPPED = "SKIPPED"  # a group's status when the time budget ran out (or a stop came) before it
FALLBACK = "a fallback mapping"  # in the note of a layer that took one instead of a solve


@dataclass(frozen=True)
class GroupAnswer:
    """One candidate group solved alone. ``status`` is a CP-SAT status or
    SKIPPED (the time budget ran out; ``bound`` is then its compulsory limit);
    ``bound`` is None only for INFEASIBLE groups."""

    names: tuple[str, ...]
    model: str  # "layer" (DESIGN 4.1) or "fused" (4.2)
    status: str
    objective: int | None
    bound: int | None
    mapping: dict | None
    metrics: dict
    seconds: float
    deterministic_time: float
    reused_from: tuple[str, ...] | None = None  # the equal group solved earlier
    note: str | None = None

    @property
    def proven_optimal(self) -> bool:
        return self.status == Status.OPTIMAL and self.objective is not None and self.objective == self.bound

    def to_dict(self) -> dict:
        return {
            "layers": list(self.names),
            "model": self.model,
            "status": self.status,
            "objective": self.objective,
            "bound": self.bound,
            "proven_optimal": self.proven_optimal,
            "mapping": self.mapping,
            "metrics": self.metrics,
            "seconds": round(self.seconds, 3),
            "reused_from": list(self.reused_from) if self.reused_from else None,
            "note": self.note,
        }


def group_cost(model: str, layers, accelerator, mapping: dict):
    """The cost-model evaluation of a group's mapping under ``model``."""
    if model == "layer":
        return evaluate(layers[0], accelerator, Mapping.from_dict(mapping))
    return evaluate_fused(build_group(layers), accelerator, FusedMapping.from_dict(mapping))


def solve_with(model: str, candidate: Candidate, problem: Problem, settings: SolverSettings) -> GroupAnswer:
    """Solve one candidate group with one cost model."""
    accelerator, weights = problem.accelerator, problem.objective
    note = None
    if model == "layer":
        solution, cost, note = solve_single_layer(candidate.layers[0], accelerator, weights, settings)
        if solution.status == Status.INFEASIBLE:
            note = explain_infeasible(candidate.layers[0], accelerator)
    else:
        solution, cost = solve_group(build_group(candidate.layers), accelerator, weights, settings)
    return GroupAnswer(
        names=candidate.names,
        model=model,
        status=solution.status,
        objective=solution.objective,
        bound=None if solution.status == Status.INFEASIBLE else (solution.bound or 0),
        mapping=solution.mapping.to_dict() if cost is not None else None,
        metrics=cost.metrics(accelerator) if cost is not None else {},
        seconds=solution.facts.wall_time_s,
        deterministic_time=solution.facts.deterministic_time,
        note=note,
    )


def solve_candidate(candidate: Candidate, problem: Problem, settings: SolverSettings, floor: int) -> GroupAnswer:
    """Solve a candidate with each of its models and keep the lowest objective.
    Its bound is the least of the models' bounds (a bound on their minimum),
    raised to ``floor``, the group's compulsory objective, when that is higher;
    the answer is proven optimal when its objective meets that bound."""
    tries = [solve_with(model, candidate, problem, settings) for model in candidate.models]
    invalid = [a for a in tries if a.status == Status.MODEL_INVALID]
    if invalid:
        return replace(invalid[0], bound=None)  # bad input, whatever the other models say
    found = [a for a in tries if a.objective is not None]
    best = min(found, key=lambda a: a.objective) if found else tries[0]
    bounds = [a.bound for a in tries if a.bound is not None]
    if not bounds:
        return best  # infeasible under every model
    bound = max(min(bounds), floor)
    if best.objective is not None:
        status = "OPTIMAL" if best.objective == bound else "FEASIBLE"
    else:
        status = "UNKNOWN"
    return replace(
        best,
        status=status,
        bound=bound,
        seconds=sum(a.seconds for a in tries),
        deterministic_time=sum(a.deterministic_time for a in tries),
    )


def fallback_mappings(model: str, layers, accelerator, weights) -> list[dict]:
    """Mappings of a one-layer group found without a solver: every loop at DRAM and
    the greedy ``inward_mapping`` (layer model); one-row stripes on the whole array,
    weights streamed or resident (fused model). Only the valid ones."""
    if model == "layer":
        options = [all_dram_mapping(layers[0]).to_dict()]
        greedy = inward_mapping(layers[0], accelerator, weights)
        if greedy is not None:
            options.append(greedy.to_dict())
    else:
        options = [
            FusedMapping(1, Policy.TIME_SHARED.value, (accelerator.pe_cols,), ((1, 1),), (r,)).to_dict()
            for r in (False, True)
        ]
    return [m for m in options if group_cost(model, layers, accelerator, m).valid]


def unsolved_answer(candidate: Candidate, problem: Problem, bound: int, why: str) -> GroupAnswer:
    """A candidate without a solved mapping (time budget, stop request, time
    limit) and ``bound``, its compulsory objective or its solve's bound:
    SKIPPED, or for a layer alone its best fallback mapping (FEASIBLE; OPTIMAL
    only if it meets the bound)."""
    accelerator, weights = problem.accelerator, problem.objective
    found = []
    if len(candidate.layers) == 1:
        for model in candidate.models:
            for mapping in fallback_mappings(model, candidate.layers, accelerator, weights):
                found.append((group_cost(model, candidate.layers, accelerator, mapping), model, mapping))
    if not found:
        model, mapping, metrics, objective, status = candidate.models[-1], None, {}, None, SKIPPED
        note = f"{why}; bounded by its compulsory limits"
    else:
        cost, model, mapping = min(found, key=lambda f: f[0].objective(weights))
        metrics, objective = cost.metrics(accelerator), cost.objective(weights)
        if objective < bound:
            raise AssertionError(f"{candidate.names}: fallback objective {objective} below the bound {bound}")
        status = Status.OPTIMAL.value if objective == bound else Status.FEASIBLE.value
        note = f"{why}; {FALLBACK}"
    return GroupAnswer(candidate.names, model, status, objective, bound, mapping, metrics, 0.0, 0.0, note=note)


def with_fallback(answer: GroupAnswer, candidate: Candidate, problem: Problem) -> GroupAnswer:
    """A layer's unproven answer, or its fallback mapping (with the solve's bound) where
    the solve ended without a mapping (time limit, stop) or with a worse one."""
    if stop.requested():
        why = f"stopped by {stop.reason()}"
    else:
        why = (
            "no solution within the time limit" if answer.objective is None else "better than the time-limited solve's"
        )
    fallback = unsolved_answer(candidate, problem, answer.bound, why)
    if fallback.objective is None or (answer.objective is not None and fallback.objective >= answer.objective):
        return answer
    return replace(fallback, seconds=answer.seconds, deterministic_time=answer.deterministic_time)


def reuse(answer: GroupAnswer, candidate: Candidate, problem: Problem) -> GroupAnswer:
    """An equal group's answer under this group's names, its cost re-evaluated."""
    metrics = answer.metrics
    if answer.mapping is not None:
        cost = group_cost(answer.model, candidate.layers, problem.accelerator, answer.mapping)
        if cost.objective(problem.objective) != answer.objective:
            raise AssertionError(f"{candidate.names}: equal-signature groups disagree on cost")
        metrics = cost.metrics(problem.accelerator)
    return replace(
        answer, names=candidate.names, metrics=metrics, seconds=0.0, deterministic_time=0.0, reused_from=answer.names
    )
