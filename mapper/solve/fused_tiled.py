"""Fused mode on 2-D tiles (a problem with ``fusion.tiles``, DESIGN 4.2): the search of
``mapper.solve.tiled_search`` over the problem's tiled space, and layer-by-layer under
the same semantics (each layer alone is a group of one: layer mode's optimum).

The result states the space it searched (``details.tile_space``): its status is
OPTIMAL when the answer is proven optimal over that space (narrowed by the
problem's pins, if any: then ``details.regret`` states the cost of the pins
against the free optimum), and its bound a lower bound over that space."""

from __future__ import annotations

import time
from dataclasses import replace

from mapper.core import stop
from mapper.core.enums import Status
from mapper.core.problem import Problem
from mapper.core.result import SolveResult, SolverFacts, ortools_version
from mapper.core.spec import SolverSettings
from mapper.cost.tiled_group import group_transfers
from mapper.solve.groups import solve_single_layer
from mapper.solve.regret import with_regret
from mapper.solve.tiled_search import TiledAnswer, configurations, solve_tiled

BASELINE_TOTALS = ("latency_cycles", "dram_words", "energy_fj", "objective")


def solve_fused_tiled(problem: Problem, settings: SolverSettings | None = None) -> SolveResult:
    settings = settings or problem.solver
    layers, accelerator = problem.layers, problem.accelerator
    started = time.perf_counter()
    answer = solve_tiled(layers, accelerator, problem.objective, settings, problem.tiles, problem.pins)
    facts = SolverFacts(
        wall_time_s=time.perf_counter() - started,
        deterministic_time=answer.deterministic_time,
        workers=settings.workers,
        seed=settings.seed,
        time_limit_s=settings.time_limit_s,
        ortools_version=ortools_version(),
        interrupted_by=stop.reason(),
        factors=settings.factors.value,
    )
    result = SolveResult(
        problem=problem.name,
        problem_file=problem.source,
        mode=problem.mode,
        layer="+".join(layer.name for layer in layers),
        accelerator=accelerator.name,
        status=_status(answer),
        objective=answer.cost.objective(problem.objective) if answer.cost else None,
        bound=answer.bound,
        solver=facts,
        weights=problem.objective.__dict__,
    )
    details = {"tile_space": problem.tiles.to_dict(), "search": _search_facts(answer)}
    if answer.mapping is None:
        explanation = _infeasible(problem) if result.status == Status.INFEASIBLE else None
        return replace(result, details=details, explanation=explanation)
    baseline = layer_by_layer_alone(problem, settings)
    details["baseline_layer_by_layer"] = baseline
    metrics = answer.cost.metrics(accelerator, layers, answer.mapping)
    if baseline["feasible"]:
        ours = {**metrics, "objective": result.objective}
        details["reduction"] = {k: 1 - ours[k] / baseline[k] if baseline[k] else None for k in BASELINE_TOTALS}
    result = replace(result, mapping=answer.mapping.to_dict(layers), metrics=metrics, details=details)
    return with_regret(result, problem, settings, solve_fused_tiled)


def _infeasible(problem: Problem) -> str:
    """Why no configuration fits: the least GLB words any of them holds at its fullest
    tile (feature maps and resident weights, before any nest's own tiles)."""
    layers, accelerator = problem.layers, problem.accelerator
    held = [
        max(words for words, _ in group_transfers(layers, accelerator, mapping).tiles)
        for mapping in configurations(layers, problem.tiles, problem.pins)
        if not mapping.violations(layers)
    ]
    capacity = accelerator.levels["GLB"].capacity_words_total
    if held and min(held) > capacity:
        return (
            f"no configuration of the tiled space fits the GLB: the smallest holds {min(held):,} words at its "
            f"fullest tile (feature maps and resident weights), the GLB has {capacity:,}; "
            "list smaller tiles, allow recompute or per-tile weights, or use a larger GLB"
        )
    return "every configuration of the tiled space leaves some layer's nest no mapping within the GLB"


def _status(answer: TiledAnswer) -> str:
    if answer.mapping is None:
        return Status.INFEASIBLE.value if answer.proven else Status.UNKNOWN.value
    return Status.OPTIMAL.value if answer.proven else Status.FEASIBLE.value


def _search_facts(answer: TiledAnswer) -> dict:
    return {
        "configurations_solved": answer.configurations,
        "nest_solves": answer.nest_solves,
        "ended_by": answer.interrupted_by or ("bound" if answer.proven else "unproven nest solves"),
    }


def layer_by_layer_alone(problem: Problem, settings: SolverSettings) -> dict:
    """Each layer alone, in layer mode (a group of one layer is the layer on its own),
    solved to optimality; the layers run one after another and their costs add up."""
    rows, total = [], {key: 0 for key in BASELINE_TOTALS} | {"bound": 0, "proven_optimal": True}
    for layer in problem.layers:
        solution, cost, _ = solve_single_layer(layer, problem.accelerator, problem.objective, settings)
        if cost is None:
            return {"feasible": False, "layer": layer.name, "status": str(solution.status)}
        row = {
            "layer": layer.name,
            "latency_cycles": cost.latency_cycles,
            "dram_words": cost.dram_words,
            "energy_fj": cost.energy_fj,
            "objective": solution.objective,
            "proven_optimal": solution.status == Status.OPTIMAL and solution.objective == solution.bound,
            "mapping": solution.mapping.to_dict(),
        }
        rows.append(row)
        for key in BASELINE_TOTALS:
            total[key] += row[key]
        total["bound"] += solution.bound
        total["proven_optimal"] &= row["proven_optimal"]
    return {"feasible": True, "layers": rows, **total}
