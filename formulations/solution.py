"""Running CP-SAT and the one answer type of every formulation.

Every solve can be stopped (``mapper.core.stop``): CP-SAT runs in a worker
thread while the calling thread waits in short steps, so a signal handler,
which Python runs in the main thread only, runs during the solve, and a stop
request reaches ``CpSolver.stop_search`` (thread-safe) within ``POLL_S``.
CP-SAT's own SIGINT handler is switched off (``catch_sigint_signal``): it
stayed installed after a solve, so a later Ctrl-C aborted the process
(``std::bad_function_call``), and it stopped one solve of many only.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Generic, TypeVar

import ortools
from ortools.sat.python import cp_model

from mapper.core import progress, stop
from mapper.core.enums import Status
from mapper.core.result import SolverFacts, relative_gap
from mapper.core.spec import SolverSettings

Decoded = TypeVar("Decoded")

POLL_S = 0.1  # how often a waiting solve looks for a stop request
MIN_SECOND_S = 0.5  # the least wall time the second side of a split solve gets

log = logging.getLogger(__name__)


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


PROGRESS_TASK = "CP-SAT search"  # the progress line of the solve under way (mapper.core.progress)


class _SolutionWatch(cp_model.CpSolverSolutionCallback):
    """Records the wall time of the first solution; reports every solution, and
    every better bound (``on_bound``), as the progress of ``PROGRESS_TASK``."""

    def __init__(self):
        super().__init__()
        self.seconds = None
        self.solutions = 0
        self.best: float | None = None

    def on_solution_callback(self) -> None:
        if self.seconds is None:
            self.seconds = self.wall_time
            log.info("CP-SAT: first solution after %.2f s", self.seconds)
        self.solutions += 1
        self.best = self.objective_value
        self._report(self.best_objective_bound)

    def on_bound(self, bound: float) -> None:
        self._report(bound)

    def _report(self, bound: float) -> None:
        if self.best is None:
            detail = f"no solution yet, bound {bound:,.0f}"
        else:
            detail = f"best {self.best:,.0f}, bound {bound:,.0f}, gap {relative_gap(self.best, bound):.2%}"
        progress.report(PROGRESS_TASK, self.solutions, None, detail)


def new_solver() -> cp_model.CpSolver:
    """A CpSolver without CP-SAT's own SIGINT handler (the module docstring says why)."""
    solver = cp_model.CpSolver()
    solver.parameters.catch_sigint_signal = False
    return solver


def solve_stoppable(solver: cp_model.CpSolver, model: cp_model.CpModel, callback=None) -> int:
    """``solver.solve(model, callback)``, stopped when a stop is requested (or a
    KeyboardInterrupt arrives: the search stops, then it is raised again)."""
    outcome = {}

    def work() -> None:
        try:
            outcome["status"] = solver.solve(model, callback)
        except BaseException as err:  # handed to the waiting thread
            outcome["error"] = err

    worker = threading.Thread(target=work, name="cp-sat", daemon=True)
    try:
        worker.start()
        while worker.is_alive():
            worker.join(POLL_S)
            if stop.requested():
                solver.stop_search()  # repeated until the solve has started and taken it
    except BaseException:
        while worker.is_alive():
            solver.stop_search()
            worker.join(POLL_S)
        raise
    if "error" in outcome:
        raise outcome["error"]
    return outcome["status"]


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
    below it in magnitude (else None). After a stop request the model is not
    solved at all: UNKNOWN, no bound."""
    if stop.requested():
        facts = SolverFacts(0.0, 0.0, settings.workers, settings.seed, settings.time_limit_s, ortools.__version__)
        return Solution(Status.UNKNOWN.value, None, None, None, facts)
    solver = new_solver()
    watch = _SolutionWatch()
    solver.best_bound_callback = watch.on_bound
    p = solver.parameters
    p.max_time_in_seconds = settings.time_limit_s
    p.num_workers = settings.workers
    p.random_seed = settings.seed
    if settings.deterministic_time is not None:
        p.max_deterministic_time = settings.deterministic_time
    size = (len(model.proto.variables), len(model.proto.constraints), settings.workers, settings.time_limit_s)
    log.info("CP-SAT: solving %d variables, %d constraints (%d workers, %g s limit)", *size)
    status = solver.status_name(solve_stoppable(solver, model, watch))
    facts = SolverFacts(
        wall_time_s=solver.wall_time,
        deterministic_time=solver.deterministic_time,
        workers=settings.workers,
        seed=settings.seed,
        time_limit_s=settings.time_limit_s,
        ortools_version=ortools.__version__,
        branches=solver.num_branches,
        conflicts=solver.num_conflicts,
        first_solution_s=watch.seconds,
    )
    if Status(status).has_solution:
        objective = solution_objective(model, solver)
        return Solution(status, objective, round(solver.best_objective_bound), decode(solver), facts)
    bound = None
    if status == Status.UNKNOWN and finite_bound is not None and abs(solver.best_objective_bound) < finite_bound:
        bound = round(solver.best_objective_bound)
    return Solution(status, None, bound, None, facts)


def _merged_facts(first: SolverFacts, second: SolverFacts) -> SolverFacts:
    """The facts of two solves run one after the other."""
    return replace(
        first,
        wall_time_s=first.wall_time_s + second.wall_time_s,
        deterministic_time=first.deterministic_time + second.deterministic_time,
        branches=first.branches + second.branches,
        conflicts=first.conflicts + second.conflicts,
        interrupted_by=first.interrupted_by or second.interrupted_by,
    )


def run_sides(
    first: tuple[cp_model.CpModel, Callable[[cp_model.CpSolver], Decoded]],
    second: tuple[cp_model.CpModel, Callable[[cp_model.CpSolver], Decoded], object],
    settings: SolverSettings,
    finite_bound: float | None = None,
) -> Solution[Decoded]:
    """Minimise over a space split in two sides: ``first`` (a model and its decode),
    then ``second`` (a model, its decode and its objective) restricted to objectives
    below the first side's answer (on a clone). The answer is the better of the two;
    its bound the lower of the sides' bounds (a second side proven to hold nothing
    below the first answer bounds nothing below it), and no bound where the second
    side's is unknown (stopped before it, or no bound from it): the first side's
    bound says nothing of the second. A first side proven infeasible is the whole
    answer: the caller's second side is infeasible when the first is. The second
    solve gets the time left, at least ``MIN_SECOND_S``."""
    model, decode = first
    one = run_solver(model, settings, decode, finite_bound)
    if one.status in (Status.INFEASIBLE.value, Status.MODEL_INVALID.value):
        return one
    if one.objective is None:
        return replace(one, bound=None)
    if stop.requested():
        return replace(one, status=Status.FEASIBLE.value, bound=None)
    model, decode, objective = second
    cut = model.clone()  # a constraint over the original's variables applies to its clone
    cut.add(objective <= one.objective - 1)
    left = max(MIN_SECOND_S, settings.time_limit_s - one.facts.wall_time_s)
    two = run_solver(cut, replace(settings, time_limit_s=left), decode, finite_bound)
    facts = _merged_facts(one.facts, two.facts)
    proven = one.status == Status.OPTIMAL.value
    if two.objective is not None:
        status = two.status if proven else Status.FEASIBLE.value
        return Solution(status, two.objective, min(one.bound, two.bound), two.mapping, facts)
    if two.status == Status.INFEASIBLE.value:
        return replace(one, facts=facts)
    bound = None if two.bound is None else min(one.bound, two.bound)
    return replace(one, status=Status.FEASIBLE.value, bound=bound, facts=facts)
