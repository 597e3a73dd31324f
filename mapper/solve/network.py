"""Network mode (DESIGN 4.3): the best partition of a network into groups and
the mapping of every group, with a certified lower bound (docs/network.md).

Every candidate group (``network_partition.candidate_runs``) is solved on its
own with each cost model that can run it (one layer: the better of the
single-layer model and a one-layer row-stripe group; a longer run: the fused
model). Group costs add up, so the best partition is a shortest path over the
exact group optima, and the same shortest path over the groups' lower bounds
(CP-SAT's bound, never below the compulsory limits; infeasible groups left
out) is a lower bound on every partition. Runs with equal shapes and wiring
are solved once.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace

from mapper.core.group import FusedMapping, build_group
from mapper.core.mapping import Mapping
from mapper.core.result import SolveResult, SolverFacts
from mapper.core.spec import PartitionSearch, Problem, SolverSettings
from mapper.cost.fused import evaluate_fused
from mapper.cost.layer import evaluate
from mapper.cost.limits import compulsory_limits, consumers_of
from mapper.solve.explain import explain_infeasible
from mapper.solve.groups import solve_group, solve_single_layer
from mapper.solve.partition import Candidate, Run, best_partition, candidate_runs, greedy_partition


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
        return self.status == "OPTIMAL" and self.objective is not None and self.objective == self.bound

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
        if solution.status == "INFEASIBLE":
            note = explain_infeasible(candidate.layers[0], accelerator)
    else:
        solution, cost = solve_group(build_group(candidate.layers), accelerator, weights, settings)
    return GroupAnswer(
        names=candidate.names,
        model=model,
        status=solution.status,
        objective=solution.objective,
        bound=None if solution.status == "INFEASIBLE" else (solution.bound or 0),
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


def solve_candidates(problem: Problem, settings: SolverSettings, search: PartitionSearch):
    """Every candidate's answer, singletons first; returns (candidates, answers,
    seconds until every layer alone was solved)."""
    consumers = consumers_of(problem.network)
    candidates = candidate_runs(problem.layers, consumers, search.max_group_layers)
    start = time.perf_counter()
    answers: dict[Run, GroupAnswer] = {}
    solved: dict[tuple, GroupAnswer] = {}
    singletons_done = None
    for candidate in candidates:
        if singletons_done is None and len(candidate.layers) > 1:
            singletons_done = time.perf_counter() - start
        floor = compulsory_limits(candidate.layers, consumers, problem.accelerator).objective(problem.objective)
        key = candidate.signature()
        if key in solved:
            answers[candidate.run] = reuse(solved[key], candidate, problem)
            continue
        left = None if search.time_budget_s is None else search.time_budget_s - (time.perf_counter() - start)
        if left is not None and left <= 0 and len(candidate.layers) > 1:
            answers[candidate.run] = GroupAnswer(
                names=candidate.names,
                model=candidate.models[-1],
                status="SKIPPED",
                objective=None,
                bound=floor,
                mapping=None,
                metrics={},
                seconds=0.0,
                deterministic_time=0.0,
                note="time budget spent; bounded by its compulsory limits",
            )
            continue
        if left is None or len(candidate.layers) == 1:  # every layer alone is solved: a partition always exists
            group_settings = settings
        else:
            group_settings = replace(settings, time_limit_s=min(settings.time_limit_s, left))
        solved[key] = answers[candidate.run] = solve_candidate(candidate, problem, group_settings, floor)
    if singletons_done is None:
        singletons_done = time.perf_counter() - start
    return candidates, answers, singletons_done


def allowed_runs(runs, pins: dict | None, names: tuple[str, ...]) -> set[Run]:
    """Runs that respect pinned cuts: ``cut_after`` layers end their group,
    ``fuse_after`` layers do not."""
    if not pins:
        return set(runs)
    cut = {names.index(n) for n in pins.get("cut_after", [])}
    fuse = {names.index(n) for n in pins.get("fuse_after", [])}
    return {(i, j) for i, j in runs if not any(i <= k < j - 1 for k in cut) and (j - 1) not in fuse}


def partition_summary(runs: list[Run], answers: dict[Run, GroupAnswer], lower: int | None) -> dict:
    """Totals of a partition whose groups all have answers; gap to ``lower``."""
    chosen = [answers[run] for run in runs]
    objective = sum(a.objective for a in chosen)
    return {
        "groups": [list(a.names) for a in chosen],
        "objective": objective,
        "latency_cycles": sum(a.metrics["latency_cycles"] for a in chosen),
        "dram_words": sum(a.metrics["dram_words"] for a in chosen),
        "proven_optimal_groups": all(a.proven_optimal for a in chosen),
        "gap_to_bound": None if lower is None else (objective - lower) / max(1, objective),
    }


def solve_network(problem: Problem, settings: SolverSettings | None = None) -> SolveResult:
    settings = settings or problem.solver
    search = problem.partition or PartitionSearch()
    start = time.perf_counter()
    candidates, answers, singletons_s = solve_candidates(problem, settings, search)
    n = len(problem.layers)
    runs = allowed_runs(answers, problem.pins, problem.layer_names)
    values = {run: a.objective for run, a in answers.items() if a.objective is not None}
    bounds = {run: a.bound for run, a in answers.items() if a.bound is not None}
    best = best_partition(n, {r: v for r, v in values.items() if r in runs})
    lower = best_partition(n, {r: b for r, b in bounds.items() if r in runs})
    facts = SolverFacts(
        wall_time_s=time.perf_counter() - start,
        deterministic_time=sum(a.deterministic_time for a in answers.values()),
        workers=settings.workers,
        seed=settings.seed,
        time_limit_s=settings.time_limit_s,
        ortools_version=_ortools_version(),
        first_solution_s=singletons_s if best is not None else None,
    )
    names = problem.layer_names
    label = names[0] if n == 1 else f"{names[0]}..{names[-1]}"
    status = "INFEASIBLE" if best is None else ("OPTIMAL" if lower and best[0] == lower[0] else "FEASIBLE")
    result = SolveResult(
        problem=problem.name,
        problem_file=problem.source,
        mode="network",
        layer=label,
        accelerator=problem.accelerator.name,
        status=status,
        objective=best[0] if best else None,
        bound=lower[0] if lower else None,
        solver=facts,
        weights=problem.objective.__dict__,
    )
    search_facts = {
        "max_group_layers": search.max_group_layers,
        "time_budget_s": search.time_budget_s,
        "candidates": len(candidates),
        "solved": sum(1 for a in answers.values() if a.reused_from is None and a.status != "SKIPPED"),
        "reused": sum(1 for a in answers.values() if a.reused_from is not None),
        "infeasible": sum(1 for a in answers.values() if a.status == "INFEASIBLE"),
        "skipped": sum(1 for a in answers.values() if a.status == "SKIPPED"),
        "unproven": sum(1 for a in answers.values() if a.status in ("FEASIBLE", "UNKNOWN")),
    }
    details = {
        "search": search_facts,
        "candidates": [answers[c.run].to_dict() | {"mapping": None} for c in candidates],
        "compulsory": compulsory_limits(problem.layers, consumers_of(problem.network), problem.accelerator).to_dict(),
    }
    if best is None:
        uncovered = next(i for i in range(n) if not any(s <= i < e for s, e in values))
        return replace(
            result,
            explanation=f"no group containing {names[uncovered]} fits: "
            + (answers[(uncovered, uncovered + 1)].note or "no mapping satisfies the buffer and PE constraints"),
            details=details,
        )
    chosen = [answers[run] for run in best[1]]
    totals = partition_summary(best[1], answers, lower[0])
    if (
        problem.objective.latency * totals["latency_cycles"] + problem.objective.dram_words * totals["dram_words"]
        != (best[0])
    ):
        raise AssertionError("network objective differs from the weighted totals of its groups")
    macs = sum(a.metrics["macs"] for a in chosen)
    metrics = {
        "latency_cycles": totals["latency_cycles"],
        "dram_words": totals["dram_words"],
        "dram_bytes": totals["dram_words"] * problem.accelerator.word_bits // 8,
        "macs": macs,
        "utilisation": macs / (problem.accelerator.num_pes * totals["latency_cycles"]),
        "groups": len(chosen),
        "fused_groups": sum(1 for a in chosen if len(a.names) > 1),
    }
    baselines = {}
    singles = [(i, i + 1) for i in range(n)]
    if all(run in values for run in singles):
        baselines["layer_by_layer"] = partition_summary(singles, answers, lower[0])
    greedy = greedy_partition(n, set(values))
    if greedy is not None:
        baselines["greedy_fusion"] = partition_summary(greedy, answers, lower[0])
    details["baselines"] = baselines
    if "layer_by_layer" in baselines:
        base = baselines["layer_by_layer"]
        details["reduction_vs_layer_by_layer"] = {
            key: 1 - totals[key] / base[key] for key in ("dram_words", "latency_cycles", "objective")
        }
    if problem.pins:
        free, free_lower = best_partition(n, values), best_partition(n, bounds)
        details["regret"] = {
            "pins": problem.pins,
            "free_objective": free[0],
            "free_bound": free_lower[0],
            "regret": best[0] - free[0],
            "certified": status == "OPTIMAL" and free[0] == free_lower[0],
        }
    return replace(result, mapping={"groups": [a.to_dict() for a in chosen]}, metrics=metrics, details=details)


def _ortools_version() -> str:
    from importlib.metadata import version

    return version("ortools")
