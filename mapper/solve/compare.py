"""``fusesat compare``: every method that applies to a problem, side by side,
each with its gap to the CP-SAT lower bound.

- layer: CP-SAT; random sampling of RANDOM_SAMPLES seeded samples (the same
  samples on a busy and an idle machine, a second or two); the naive all-DRAM mapping.
- fused: CP-SAT (free policy); CP-SAT with the policy pinned to partitioned
  and to time-shared; layer-by-layer (each layer optimal alone).
- taskgraph: CP-SAT; HEFT; memory-aware HEFT at its smallest cap; layer-by-layer.
- network: CP-SAT groups + shortest-path partition; layer-by-layer (each
  layer optimal alone); greedy fusion (the longest group that fits, in order).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace

from mapper.core.enums import Mode
from mapper.core.group import POLICIES
from mapper.core.mapping import all_dram_mapping
from mapper.core.problem import Problem
from mapper.core.result import SolveResult
from mapper.core.spec import SolverSettings
from mapper.cost.layer import evaluate
from mapper.heuristics.random_search import random_search
from mapper.solve.api import solve
from mapper.solve.partition import BASELINE_LABELS

RANDOM_SAMPLES = 10_000  # mappings drawn by the random-sampling row of a layer comparison


def _gap(value: int | None, bound: int | None) -> float | None:
    if value is None or bound is None:
        return None
    return (value - bound) / max(1, value)


def _layer_rows(problem: Problem, settings: SolverSettings, reference: SolveResult) -> list[dict]:
    rows = []
    layer, accelerator = problem.layers[0], problem.accelerator
    sampled = random_search(
        layer, accelerator, problem.objective, float("inf"), settings.seed, RANDOM_SAMPLES, settings.factors
    )
    if sampled.cost is not None:
        rows.append(
            {
                "method": f"random sampling ({sampled.valid_samples:,} valid of {sampled.samples:,})",
                "status": "HEURISTIC",
                "objective": sampled.objective,
                "metrics": sampled.cost.metrics(accelerator),
                "seconds": sampled.seconds,
            }
        )
    start = time.perf_counter()
    naive = evaluate(layer, accelerator, all_dram_mapping(layer))
    if naive.valid:
        rows.append(
            {
                "method": "naive (every loop at DRAM)",
                "status": "HEURISTIC",
                "objective": naive.objective(problem.objective),
                "metrics": naive.metrics(accelerator),
                "seconds": time.perf_counter() - start,
            }
        )
    return rows


def _fused_rows(problem: Problem, settings: SolverSettings, reference: SolveResult) -> list[dict]:
    rows = []
    for policy in () if problem.tiles else POLICIES:  # 2-D tiles run time-shared only
        pinned = solve(replace(problem, fusion_policy=policy), settings)
        rows.append(
            {
                "method": f"CP-SAT, {policy.replace('_', '-')} only",
                "status": pinned.status,
                "objective": pinned.objective,
                "metrics": pinned.metrics,
                "seconds": pinned.solver.wall_time_s,
            }
        )
    baseline = reference.details.get("baseline_layer_by_layer", {})
    if baseline.get("feasible"):
        rows.append(
            {
                "method": "layer-by-layer (each layer optimal)",
                "status": "OPTIMAL" if baseline["proven_optimal"] else "FEASIBLE",
                "objective": baseline["objective"],
                "metrics": {
                    "latency_cycles": baseline["latency_cycles"],
                    "dram_words": baseline["dram_words"],
                    **({"energy_pj": baseline["energy_fj"] / 1000} if "energy_fj" in baseline else {}),
                },
                "seconds": None,
            }
        )
    return rows


def _taskgraph_rows(problem: Problem, settings: SolverSettings, reference: SolveResult) -> list[dict]:
    rows = []
    for row in reference.details.get("heuristics", []):
        rows.append(
            {
                "method": row["method"] + (f" (cap {row['cap']:,})" if row["cap"] else ""),
                "status": "HEURISTIC" if row["within_memory"] else "OVER MEMORY",
                "objective": row["objective"],
                "metrics": {"makespan": row["makespan"], "peak_memory_words": row["peak_memory_words"]},
                "seconds": None,
                # lexicographic: a slower schedule's memory is not comparable with the bound
                "gap_to_bound": row["gap_to_bound"],
            }
        )
    return rows


def _network_rows(problem: Problem, settings: SolverSettings, reference: SolveResult) -> list[dict]:
    rows = []
    for name, summary in reference.details.get("baselines", {}).items():
        rows.append(
            {
                "method": f"{BASELINE_LABELS[name]}, {len(summary['groups'])} groups",
                "status": "OPTIMAL GROUPS" if summary["proven_optimal_groups"] else "FEASIBLE",
                "objective": summary["objective"],
                "metrics": {"latency_cycles": summary["latency_cycles"], "dram_words": summary["dram_words"]},
                "seconds": None,
            }
        )
    return rows


# The methods each mode compares against CP-SAT (the module docstring lists them).
ALTERNATIVES: dict[Mode, Callable[[Problem, SolverSettings, SolveResult], list[dict]]] = {
    Mode.LAYER: _layer_rows,
    Mode.FUSED: _fused_rows,
    Mode.TASKGRAPH: _taskgraph_rows,
    Mode.NETWORK: _network_rows,
}


def compare(problem: Problem, settings: SolverSettings | None = None) -> dict:
    settings = settings or problem.solver
    reference = solve(problem, settings)
    bound = reference.bound
    rows = [
        {
            "method": "CP-SAT",
            "status": reference.status,
            "objective": reference.objective,
            "metrics": reference.metrics,
            "seconds": reference.solver.wall_time_s,
        }
    ]
    rows += ALTERNATIVES[problem.mode](problem, settings, reference)
    for row in rows:
        row.setdefault("gap_to_bound", _gap(row["objective"], bound))
    return {
        "problem": problem.name,
        "mode": str(problem.mode),
        "bound": bound,
        "proven_optimal": reference.proven_optimal,
        "weights": reference.weights,  # what the objective adds up (lexicographic: its levels)
        "rows": rows,
    }
