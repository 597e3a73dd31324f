"""Network mode (DESIGN 4.3): the best partition of a network into groups and
the mapping of every group, with a certified lower bound (docs/network.md).

Every candidate group (``network_partition.candidate_runs``) is solved on its
own with each cost model that can run it (one layer: the better of the
single-layer model and a one-layer row-stripe group; a longer run: the fused
model). Group costs add up, so the best partition is a shortest path over the
exact group optima, and the same shortest path over the groups' lower bounds
(CP-SAT's bound, never below the compulsory limits; infeasible groups left
out) is a lower bound on every partition. Runs with equal shapes and wiring
are solved once. Solving the candidates: ``mapper.solve.candidates``.
"""

from __future__ import annotations

import time
from dataclasses import replace

from mapper.core import stop
from mapper.core.enums import Status
from mapper.core.problem import PartitionSearch, Problem
from mapper.core.result import SolveResult, SolverFacts, ortools_version
from mapper.core.spec import SolverSettings
from mapper.cost.limits import compulsory_limits, consumers_of
from mapper.solve.candidate_search import solve_candidates
from mapper.solve.candidates import FALLBACK, SKIPPED, GroupAnswer, group_cost
from mapper.solve.partition import Run, best_partition, greedy_partition

__all__ = ["GroupAnswer", "allowed_runs", "group_cost", "partition_summary", "solve_candidates", "solve_network"]


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
        ortools_version=ortools_version(),
        first_solution_s=singletons_s if best is not None else None,
        factors=settings.factors.value,
    )
    names = problem.layer_names
    label = names[0] if n == 1 else f"{names[0]}..{names[-1]}"
    invalid = next((a for a in answers.values() if a.status == Status.MODEL_INVALID), None)
    if invalid is not None:
        status = Status.MODEL_INVALID
    elif best is None:  # INFEASIBLE only when every partition has a group proven infeasible
        status = Status.INFEASIBLE if lower is None else Status.UNKNOWN
    else:
        status = Status.OPTIMAL if best[0] == lower[0] else Status.FEASIBLE
    result = SolveResult(
        problem=problem.name,
        problem_file=problem.source,
        mode="network",
        layer=label,
        accelerator=problem.accelerator.name,
        status=status.value,
        objective=best[0] if best else None,
        bound=lower[0] if lower else None,
        solver=facts,
        weights=problem.objective.__dict__,
    )
    search_facts = {
        "max_group_layers": search.max_group_layers,
        "time_budget_s": search.time_budget_s,
        "candidates": len(candidates),
        "solved": sum(
            1 for a in answers.values() if a.reused_from is None and a.status != SKIPPED and not _fallback(a)
        ),
        "reused": sum(1 for a in answers.values() if a.reused_from is not None),
        "infeasible": sum(1 for a in answers.values() if a.status == Status.INFEASIBLE),
        "skipped": sum(1 for a in answers.values() if a.status == SKIPPED),
        "unproven": sum(1 for a in answers.values() if a.status in (Status.FEASIBLE, Status.UNKNOWN)),
        "fallback": sum(1 for a in answers.values() if a.reused_from is None and _fallback(a)),
        "stopped_by": stop.reason(),
    }
    details = {
        "search": search_facts,
        "candidates": [answers[c.run].to_dict() | {"mapping": None} for c in candidates],
        "compulsory": compulsory_limits(problem.layers, consumers_of(problem.network), problem.accelerator).to_dict(),
    }
    if invalid is not None:
        why = f"CP-SAT refused the model of group {'+'.join(invalid.names)} as invalid (MODEL_INVALID)"
        return replace(result, bound=None, explanation=why, details=details)
    if best is None:
        return replace(result, explanation=_no_partition(status, answers, runs, names), details=details)
    chosen = [answers[run] for run in best[1]]
    totals = partition_summary(best[1], answers, lower[0])
    if problem.objective.of(totals["latency_cycles"], totals["dram_words"]) != best[0]:
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
            "certified": status == Status.OPTIMAL and free[0] == free_lower[0],
        }
    explanation = None
    if stop.requested():
        explanation = (
            f"stopped by {stop.reason()}: the best partition of the answers so far; the groups not solved "
            "are bounded by their compulsory limits, a layer not solved takes a fallback mapping"
        )
    return replace(
        result,
        mapping={"groups": [a.to_dict() for a in chosen]},
        metrics=metrics,
        details=details,
        explanation=explanation,
    )


def _fallback(answer: GroupAnswer) -> bool:
    return answer.note is not None and FALLBACK in answer.note


def _no_partition(status: str, answers: dict[Run, GroupAnswer], runs: set[Run], names: tuple[str, ...]) -> str:
    """Why no partition has a mapping: the first layer in no group with one, and
    why (proven infeasible, or not solved in the time given)."""
    mapped = [run for run, a in answers.items() if a.objective is not None and run in runs]
    uncovered = next((i for i in range(len(names)) if not any(s <= i < e for s, e in mapped)), None)
    if status == Status.UNKNOWN:
        cause = f"stopped by {stop.reason()}" if stop.requested() else "the time limit came first"
        where = "" if uncovered is None else f" (no mapping of {names[uncovered]} yet)"
        return f"no partition with a mapping for every group: {cause}{where}"
    if uncovered is None:
        return "no partition allowed by the pinned cuts fits"
    single = answers.get((uncovered, uncovered + 1))
    note = single.note if single is not None else None
    return f"no group containing {names[uncovered]} fits: " + (
        note or "no mapping satisfies the buffer and PE constraints"
    )
