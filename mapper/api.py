"""Public API: solve a problem and return a certified, cost-model-checked result."""

from __future__ import annotations

from dataclasses import replace

from formulations.layer import LayerModel
from mapper.cost_model import evaluate
from mapper.explain import explain_infeasible
from mapper.mapping import Mapping, all_dram_mapping
from mapper.result import SolveResult
from mapper.spec import Problem, SolverSettings


class ObjectiveMismatch(AssertionError):
    """The CP-SAT objective differs from the cost model on the decoded mapping
    (a formulation bug; never silently accepted)."""


def solve_layer(problem: Problem, settings: SolverSettings | None = None, hint: Mapping | None = None) -> SolveResult:
    settings = settings or problem.solver
    layer, accelerator = problem.layers[0], problem.accelerator
    model = LayerModel(layer, accelerator, problem.objective)
    if hint is None and evaluate(layer, accelerator, all_dram_mapping(layer)).valid:
        hint = all_dram_mapping(layer)  # a first answer even under the shortest time limit
    if hint is not None and not model.add_hint(hint):
        hint = None
    solution = model.solve(settings)
    if solution.mapping is None and solution.status == "UNKNOWN" and hint is not None:
        # Stopped before CP-SAT reported any solution: the best answer so far is the hint.
        objective = evaluate(layer, accelerator, hint).objective(problem.objective)
        bound = min(solution.bound, objective) if solution.bound is not None else None
        solution = replace(solution, status="FEASIBLE", objective=objective, bound=bound, mapping=hint)
        note = "time limit reached before CP-SAT's first solution; the answer is the hinted mapping"
    else:
        note = None
    result = SolveResult(
        problem=problem.name,
        problem_file=problem.source,
        mode=problem.mode,
        layer=layer.name,
        accelerator=accelerator.name,
        status=solution.status,
        objective=solution.objective,
        bound=solution.bound,
        solver=solution.facts,
        weights=problem.objective.__dict__,
        explanation=note,
    )
    if solution.status == "INFEASIBLE":
        return replace(result, explanation=explain_infeasible(layer, accelerator))
    if solution.mapping is None:
        return result
    cost = evaluate(layer, accelerator, solution.mapping)
    if not cost.valid or cost.objective(problem.objective) != solution.objective:
        raise ObjectiveMismatch(
            f"{problem.name}: CP-SAT objective {solution.objective} but cost model "
            f"{cost.objective(problem.objective)} (valid={cost.valid}: {cost.violations})"
        )
    return replace(result, mapping=solution.mapping.to_dict(), metrics=cost.metrics(accelerator))


def solve(problem: Problem, settings: SolverSettings | None = None) -> SolveResult:
    if problem.mode == "layer":
        return solve_layer(problem, settings)
    raise NotImplementedError(f"mode {problem.mode!r} is not implemented yet")
