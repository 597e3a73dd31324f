"""Solve one layer (DESIGN 4.1) or one fused group (DESIGN 4.2) and check the
CP-SAT objective against the cost model; the building blocks of every mode
that solves more than one part (fused baselines, whole networks)."""

from __future__ import annotations

from dataclasses import replace

from formulations.fusion import FusedModel
from formulations.layer_search import LayerSearch
from mapper.core.enums import Status
from mapper.core.group import FusedGroup
from mapper.core.mapping import Mapping, all_dram_mapping
from mapper.core.spec import Accelerator, Layer, ObjectiveWeights, SolverSettings
from mapper.cost.fused import evaluate_fused
from mapper.cost.layer import evaluate


class ObjectiveMismatch(AssertionError):
    """The CP-SAT objective differs from the cost model on the decoded mapping
    (a formulation bug; never silently accepted)."""


def check_objective(name: str, solver_objective: int, cost, weights) -> None:
    """Refuse an answer whose CP-SAT objective is not the cost model's value."""
    if not cost.valid or cost.objective(weights) != solver_objective:
        raise ObjectiveMismatch(
            f"{name}: CP-SAT objective {solver_objective} but cost model {cost.objective(weights)} "
            f"(valid={cost.valid}: {cost.violations})"
        )


HINT_NOTE = "time limit reached before CP-SAT's first solution; the answer is the hinted mapping"


def solve_single_layer(
    layer: Layer,
    accelerator: Accelerator,
    weights: ObjectiveWeights,
    settings: SolverSettings,
    pins: dict | None = None,
    hint: Mapping | None = None,
):
    """Solve one layer; returns (solution, cost, note). The all-DRAM mapping is
    the default hint, so even the shortest time limit returns a mapping (then
    ``note`` says so and the status is FEASIBLE with CP-SAT's bound)."""
    model = LayerSearch(layer, accelerator, weights, settings.factors)
    if pins:
        model.add_pins(pins)
    if hint is None and evaluate(layer, accelerator, all_dram_mapping(layer)).valid:
        hint = all_dram_mapping(layer)
    if hint is not None and not model.add_hint(hint):
        hint = None
    solution = model.solve(settings)
    note = None
    if solution.mapping is None and solution.status == Status.UNKNOWN and hint is not None:
        objective = evaluate(layer, accelerator, hint).objective(weights)
        bound = min(solution.bound, objective) if solution.bound is not None else None
        solution = replace(solution, status="FEASIBLE", objective=objective, bound=bound, mapping=hint)
        note = HINT_NOTE
    if solution.mapping is None:
        return solution, None, note
    cost = evaluate(layer, accelerator, solution.mapping)
    check_objective(layer.name, solution.objective, cost, weights)
    return solution, cost, note


def solve_group(
    group: FusedGroup, accelerator, weights, settings: SolverSettings, policy: str | None = None, pins=None
):
    """Solve one fused group; returns (solution, cost) with the objective checked
    against the fused cost model."""
    model = FusedModel(group, accelerator, weights, policy=policy)
    if pins:
        model.add_pins(pins)
    solution = model.solve(settings)
    if solution.mapping is None:
        return solution, None
    cost = evaluate_fused(group, accelerator, solution.mapping)
    check_objective("+".join(group.names), solution.objective, cost, weights)
    return solution, cost
