"""Running CP-SAT and the one answer type of every formulation."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

import ortools
from ortools.sat.python import cp_model

from mapper.core.enums import Status
from mapper.core.result import SolverFacts
from mapper.core.spec import SolverSettings

Decoded = TypeVar("Decoded")


@dataclass
class Solution(Generic[Decoded]):
    """A model's answer: the CP-SAT status name, the objective and bound
    (rounded to ints), the decoded answer (a Mapping, FusedMapping or
    TaskSchedule; None without a solution) and the solver facts."""

    status: str
    objective: int | None
    bound: int | None
    mapping: Decoded | None
    facts: SolverFacts


class _FirstSolution(cp_model.CpSolverSolutionCallback):
    """Records the wall time of the first solution."""

    def __init__(self):
        super().__init__()
        self.seconds = None

    def on_solution_callback(self) -> None:
        if self.seconds is None:
            self.seconds = self.wall_time


def solution_objective(model: cp_model.CpModel, solver: cp_model.CpSolver) -> int:
    """The objective evaluated on the returned solution's values. CP-SAT 9.15
    can report an ``objective_value`` above the objective of the solution it
    returns (seen with a solution callback and a hint on vgg16 conv1_2 under a
    deterministic time limit); the decoded answer is the solution, so its value
    is the objective we state."""
    objective = model.proto.objective

    def value(ref: int) -> int:  # a negative reference -i-1 stands for the negation of variable i
        return solver.value(model.get_int_var_from_proto_index(ref)) if ref >= 0 else -value(-ref - 1)

    total = sum(c * value(v) for v, c in zip(objective.vars, objective.coeffs, strict=True))
    return round((total + objective.offset) * (objective.scaling_factor or 1))


def run_solver(
    model: cp_model.CpModel,
    settings: SolverSettings,
    decode: Callable[[cp_model.CpSolver], Decoded],
    finite_bound: float | None = None,
) -> Solution[Decoded]:
    """Solve ``model`` with the time limit, workers, seed and deterministic time
    of ``settings``. With a solution: its rounded objective and bound and
    ``decode(solver)``. Without one: no objective or mapping, and a bound only
    when the status is UNKNOWN, ``finite_bound`` is given and CP-SAT's bound is
    below it in magnitude (else None)."""
    solver = cp_model.CpSolver()
    first = _FirstSolution()
    p = solver.parameters
    p.max_time_in_seconds = settings.time_limit_s
    p.num_workers = settings.workers
    p.random_seed = settings.seed
    if settings.deterministic_time is not None:
        p.max_deterministic_time = settings.deterministic_time
    status = solver.status_name(solver.solve(model, first))
    facts = SolverFacts(
        wall_time_s=solver.wall_time,
        deterministic_time=solver.deterministic_time,
        workers=settings.workers,
        seed=settings.seed,
        time_limit_s=settings.time_limit_s,
        ortools_version=ortools.__version__,
        branches=solver.num_branches,
        conflicts=solver.num_conflicts,
        first_solution_s=first.seconds,
    )
    if Status(status).has_solution:
        objective = solution_objective(model, solver)
        return Solution(status, objective, round(solver.best_objective_bound), decode(solver), facts)
    bound = None
    if status == Status.UNKNOWN and finite_bound is not None and abs(solver.best_objective_bound) < finite_bound:
        bound = round(solver.best_objective_bound)
    return Solution(status, None, bound, None, facts)
