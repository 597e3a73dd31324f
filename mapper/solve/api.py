"""Public API: solve a problem and return a certified, cost-model-checked result."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from formulations.fusion import FusedModel
from mapper.core import progress, stop
from mapper.core.enums import Mode, Status
from mapper.core.group import build_group
from mapper.core.mapping import Mapping
from mapper.core.problem import Problem
from mapper.core.result import SolveResult
from mapper.core.spec import ObjectiveWeights, SolverSettings
from mapper.cost.fused import evaluate_fused
from mapper.solve.explain import explain_fused_infeasible, explain_infeasible
from mapper.solve.fused_tiled import solve_fused_tiled
from mapper.solve.groups import solve_group, solve_single_layer
from mapper.solve.network import solve_network
from mapper.solve.regret import with_regret
from mapper.solve.taskgraph import solve_taskgraph


def base_result(problem: Problem, solution, layer_label: str) -> SolveResult:
    """The fields every layer or fused result shares: problem, status, proof facts."""
    return SolveResult(
        problem=problem.name,
        problem_file=problem.source,
        mode=problem.mode,
        layer=layer_label,
        accelerator=problem.accelerator.name,
        status=solution.status,
        objective=solution.objective,
        bound=solution.bound,
        solver=solution.facts,
        weights=problem.objective.__dict__,
    )


def solve_layer(problem: Problem, settings: SolverSettings | None = None, hint: Mapping | None = None) -> SolveResult:
    settings = settings or problem.solver
    layer, accelerator = problem.layers[0], problem.accelerator
    solution, cost, note = solve_single_layer(layer, accelerator, problem.objective, settings, problem.pins, hint)
    result = replace(base_result(problem, solution, layer.name), explanation=note)
    if solution.status == Status.INFEASIBLE:
        return replace(result, explanation=explain_infeasible(layer, accelerator))
    if cost is None:
        return result
    result = replace(result, mapping=solution.mapping.to_dict(), metrics=cost.metrics(accelerator))
    return with_regret(result, problem, settings, solve_layer)


def layer_by_layer(problem: Problem, settings: SolverSettings) -> dict:
    """Each layer as its own fused group (input from DRAM, output to DRAM),
    each solved to optimality; groups run one after another, costs add up."""
    rows, total = [], {"latency_cycles": 0, "dram_words": 0, "objective": 0, "bound": 0, "proven_optimal": True}
    for layer in problem.layers:
        solution, cost = solve_group(build_group((layer,)), problem.accelerator, problem.objective, settings)
        if cost is None:
            return {"feasible": False, "layer": layer.name, "status": solution.status}
        rows.append(
            {
                "layer": layer.name,
                "latency_cycles": cost.latency_cycles,
                "dram_words": cost.dram_words,
                "objective": solution.objective,
                "proven_optimal": solution.status == Status.OPTIMAL and solution.objective == solution.bound,
                "mapping": solution.mapping.to_dict(),
            }
        )
        total["latency_cycles"] += cost.latency_cycles
        total["dram_words"] += cost.dram_words
        total["objective"] += solution.objective
        total["bound"] += solution.bound
        total["proven_optimal"] &= rows[-1]["proven_optimal"]
    return {"feasible": True, "layers": rows, **total}


def fused_pareto_front(
    problem: Problem, settings: SolverSettings, max_points: int = 12
) -> tuple[list[dict], str | None]:
    """Epsilon constraint on latency vs DRAM words: least latency with DRAM <= eps,
    then least DRAM at that latency; eps = that DRAM - 1; until infeasible.
    Each point records whether both of its solves were proven optimal. Returns
    the points and the status of the solve that ended the sweep (as
    ``mapper.solve.taskgraph.pareto_front``)."""
    group = build_group(problem.layers, problem.source)
    points, cap = [], None
    while len(points) < max_points:
        if stop.requested():
            return points, Status.UNKNOWN.value
        fast_model = FusedModel(
            group, problem.accelerator, ObjectiveWeights(1, 0, 0), problem.fusion_policy, dram_cap=cap
        )
        fast = fast_model.solve(settings)
        if fast.mapping is None:
            return points, fast.status
        lean = FusedModel(
            group, problem.accelerator, ObjectiveWeights(0, 1, 0), problem.fusion_policy, latency_cap=fast.objective
        ).solve(settings)
        mapping = lean.mapping or fast.mapping
        cost = evaluate_fused(group, problem.accelerator, mapping)
        points.append(
            {
                "latency_cycles": cost.latency_cycles,
                "dram_words": cost.dram_words,
                "certified": fast.status == Status.OPTIMAL and lean.status == Status.OPTIMAL,
                "mapping": mapping.to_dict(),
            }
        )
        cap = cost.dram_words - 1
        detail = f"latency {cost.latency_cycles:,}, DRAM {cost.dram_words:,} words"
        progress.report("Pareto points", len(points), max_points, detail)
    return points, None


def solve_fused(problem: Problem, settings: SolverSettings | None = None) -> SolveResult:
    """Row stripes (``mapper.formulations.fusion``), or 2-D tiles when the problem has
    ``fusion.tiles`` (``mapper.solve.fused_tiled``)."""
    if problem.tiles is not None:
        return solve_fused_tiled(problem, settings)
    settings = settings or problem.solver
    group = build_group(problem.layers, problem.source)
    accelerator = problem.accelerator
    solution, cost = solve_group(group, accelerator, problem.objective, settings, problem.fusion_policy, problem.pins)
    result = base_result(problem, solution, "+".join(group.names))
    if cost is None:
        explanation = (
            explain_fused_infeasible(group, accelerator, problem.fusion_policy)
            if solution.status == Status.INFEASIBLE
            else None
        )
        return replace(result, explanation=explanation)
    baseline = layer_by_layer(problem, settings)
    details = {"baseline_layer_by_layer": baseline}
    if baseline["feasible"]:
        details["reduction"] = {
            "dram_words": 1 - cost.dram_words / baseline["dram_words"],
            "latency_cycles": 1 - cost.latency_cycles / baseline["latency_cycles"],
            "objective": 1 - solution.objective / baseline["objective"],
        }
    result = replace(result, mapping=solution.mapping.to_dict(), metrics=cost.metrics(accelerator), details=details)
    return with_regret(result, problem, settings, solve_fused)


SOLVERS: dict[Mode, Callable[[Problem, SolverSettings | None], SolveResult]] = {
    Mode.LAYER: solve_layer,
    Mode.FUSED: solve_fused,
    Mode.TASKGRAPH: solve_taskgraph,
    Mode.NETWORK: solve_network,
}


def solve(problem: Problem, settings: SolverSettings | None = None) -> SolveResult:
    solver = SOLVERS.get(problem.mode)
    if solver is None:
        raise NotImplementedError(f"mode {problem.mode!r} is not implemented yet")
    return solver(problem, settings)
