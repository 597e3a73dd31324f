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
import math
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

import ortools
from ortools.sat.python import cp_model

from mapper.core import progress, stop
from mapper.core.enums import Status
from mapper.core.result import SolverFacts, relative_gap
from mapper.core.spec import SolverSettings

Decoded = TypeVar("Decoded")

POLL_S = 0.1  # how often a waiting solve looks for a stop request

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
_REPORTING = threading.Lock()


class _SolutionWatch(cp_model.CpSolverSolutionCallback):
    """Records the wall time of the first solution; reports every solution, and
    every better bound (``on_bound``), as the progress of ``PROGRESS_TASK``: the
    best and the bound over every watch of ``peers`` (the solves of one space run
    at once, ``formulations.sides``; a bound only once each of them has one)."""

    def __init__(self):
        super().__init__()
        self.seconds = None
        self.solutions = 0
        self.best: float | None = None
        self.bound: float | None = None  # the best bound reported so far (inf once proven infeasible)
        self.peers: list[_SolutionWatch] = [self]

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
        with _REPORTING:  # peers report from their own threads: one at a time, so the reports stay in order
            self.bound = bound
            bests = [p.best for p in self.peers if p.best is not None]
            bounds = [p.bound for p in self.peers]
            best, low = (min(bests) if bests else None), (None if None in bounds else min(bounds))
            if best is None:
                detail = "no solution yet" + ("" if low is None else f", bound {low:,.0f}")
            elif low is None:
                detail = f"best {best:,.0f}, no bound yet"
            else:
                detail = f"best {best:,.0f}, bound {low:,.0f}, gap {relative_gap(best, low):.2%}"
            progress.report(PROGRESS_TASK, sum(p.solutions for p in self.peers), None, detail)


def new_solver() -> cp_model.CpSolver:
    """A CpSolver without CP-SAT's own SIGINT handler (the module docstring says why)."""
    solver = cp_model.CpSolver()
    solver.parameters.catch_sigint_signal = False
    return solver


class SolverRun:
    """One CP-SAT solve of ``model`` with the time limit, workers, seed and
    deterministic time of ``settings`` and the model's own ``tuning`` (CP-SAT
    parameters by name): its solver, its watch and, once it has run
    (``solve_runs``), its status name."""

    def __init__(self, model: cp_model.CpModel, settings: SolverSettings, tuning: dict | None = None):
        self.model, self.settings = model, settings
        self.solver, self.watch = new_solver(), _SolutionWatch()
        self.solver.best_bound_callback = self.watch.on_bound
        self.status: str | None = None
        p = self.solver.parameters
        p.max_time_in_seconds = settings.time_limit_s
        p.num_workers = settings.workers
        p.random_seed = settings.seed
        if settings.deterministic_time is not None:
            p.max_deterministic_time = settings.deterministic_time
        for name, value in (tuning or {}).items():
            setattr(p, name, value)

    def facts(self) -> SolverFacts:
        solver, settings = self.solver, self.settings
        return SolverFacts(
            wall_time_s=solver.wall_time,
            deterministic_time=solver.deterministic_time,
            workers=settings.workers,
            seed=settings.seed,
            time_limit_s=settings.time_limit_s,
            ortools_version=ortools.__version__,
            branches=solver.num_branches,
            conflicts=solver.num_conflicts,
            first_solution_s=self.watch.seconds,
            factors=settings.factors.value,
        )

    def answer(self, decode: Callable[[cp_model.CpSolver], Decoded], finite_bound: float | None) -> Solution[Decoded]:
        """With a solution: its rounded objective and bound and ``decode(solver)``.
        Without one: no objective or mapping, and a bound only when the status is
        UNKNOWN and either ``finite_bound`` is given and CP-SAT's bound is below it in
        magnitude, or CP-SAT reported a finite bound during the search (else None)."""
        solver, status = self.solver, self.status
        if Status(status).has_solution:
            objective = solution_objective(self.model, solver)
            return Solution(status, objective, round(solver.best_objective_bound), decode(solver), self.facts())
        bound = None
        if status == Status.UNKNOWN:
            if finite_bound is not None and abs(solver.best_objective_bound) < finite_bound:
                bound = round(solver.best_objective_bound)
            elif self.watch.bound is not None and math.isfinite(self.watch.bound):
                bound = round(self.watch.bound)  # a bound reported during the search holds at its end
        return Solution(status, None, bound, None, self.facts())


def solve_runs(runs: list[SolverRun], settle: Callable[[list[SolverRun]], list[SolverRun]] | None = None) -> None:
    """Run every solve of ``runs`` at once, each in a worker thread (CP-SAT leaves
    the GIL while it searches), while this thread waits in ``POLL_S`` steps: a stop
    request (or a KeyboardInterrupt: then it is raised again) stops them all, and
    ``settle(runs)``, asked at every step, names the runs whose answer is no longer
    needed, which stop too. Sets each run's ``status``."""
    errors: list[BaseException] = []

    def work(run: SolverRun) -> None:
        try:
            status = run.solver.status_name(run.solver.solve(run.model, run.watch))
        except BaseException as err:  # handed to the waiting thread
            errors.append(err)
            return
        if status == Status.INFEASIBLE.value:
            run.watch.bound = math.inf  # the peers' bound no longer waits for this one
        run.status = status

    workers = [threading.Thread(target=work, args=(run,), name="cp-sat", daemon=True) for run in runs]
    try:
        for worker in workers:
            worker.start()
        while _waited(workers):
            stopping = runs if stop.requested() else (settle(runs) if settle else [])
            for run in stopping:
                run.solver.stop_search()  # repeated until the solve has started and taken it
    except BaseException:
        for run in runs:
            run.solver.stop_search()
        while _waited(workers):
            for run in runs:
                run.solver.stop_search()
        raise
    if errors:
        raise errors[0]


def _waited(workers: list[threading.Thread]) -> bool:
    """Wait up to ``POLL_S`` for the first worker still alive; False once none is
    (a worker may end at any moment, so the live ones are taken once)."""
    alive = [worker for worker in workers if worker.is_alive()]
    if alive:
        alive[0].join(POLL_S)
    return bool(alive)


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
    tuning: dict | None = None,
) -> Solution[Decoded]:
    """Solve ``model`` under ``settings`` and ``tuning`` (``SolverRun``,
    ``SolverRun.answer``). After a stop request the model is not solved at all:
    UNKNOWN, no bound."""
    if stop.requested():
        facts = SolverFacts(
            0.0,
            0.0,
            settings.workers,
            settings.seed,
            settings.time_limit_s,
            ortools.__version__,
            factors=settings.factors.value,
        )
        return Solution(Status.UNKNOWN.value, None, None, None, facts)
    run = SolverRun(model, settings, tuning)
    size = (len(model.proto.variables), len(model.proto.constraints), settings.workers, settings.time_limit_s)
    log.info("CP-SAT: solving %d variables, %d constraints (%d workers, %g s limit)", *size)
    solve_runs([run])
    return run.answer(decode, finite_bound)
