"""Minimising over a space split in two sides (``formulations.layer_search``):
each side a model with its decode, the answer the better of the two.

With one worker the sides run in turn: the second is restricted to objectives
below the first side's answer, so a second side that holds nothing better is
proven so quickly. With two workers or more they run at once, each on half the
workers (CP-SAT leaves the GIL while it searches), and a side that ends proven
stops the other as soon as the other's bound reaches its answer. Either way the
bound is the lower of the sides' bounds (a side proven to hold nothing below the
answer bounds nothing below it), and there is no bound where a side's is unknown:
one side's bound says nothing of the other. A first side proven infeasible is the
whole answer: the caller's second side is infeasible when the first is.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from ortools.sat.python import cp_model

from formulations.solution import Decoded, Solution, SolverRun, run_solver, solve_runs
from mapper.core import stop
from mapper.core.enums import Status
from mapper.core.result import SolverFacts
from mapper.core.spec import SolverSettings

MIN_SECOND_S = 0.5  # the least wall time the second side gets when the sides run in turn

Side = tuple[cp_model.CpModel, Callable[[cp_model.CpSolver], Decoded]]
UNSOLVED = (Status.INFEASIBLE.value, Status.MODEL_INVALID.value)


def run_sides(
    first: Side, second: Side, objective, settings: SolverSettings, finite_bound=None, tuning: dict | None = None
) -> Solution:
    """The better answer of ``first`` and ``second`` (a model and its decode each;
    ``objective`` the second model's objective expression; ``tuning`` CP-SAT
    parameters of both), in turn or at once (module docstring). After a stop
    request nothing is solved: UNKNOWN, no bound."""
    if stop.requested():
        return run_solver(first[0], settings, first[1], finite_bound)
    if settings.workers >= 2:
        return _at_once(first, second, settings, finite_bound, tuning)
    return _in_turn(first, second, objective, settings, finite_bound, tuning)


def _in_turn(first: Side, second: Side, objective, settings: SolverSettings, finite_bound, tuning) -> Solution:
    """First, then second below the first answer (on a clone); the second solve
    gets the time left, at least ``MIN_SECOND_S``."""
    model, decode = first
    one = run_solver(model, settings, decode, finite_bound, tuning)
    if one.status in UNSOLVED:
        return one
    if one.objective is None:
        return replace(one, bound=None)
    if stop.requested():
        return replace(one, status=Status.FEASIBLE.value, bound=None)
    model, decode = second
    cut = model.clone()  # a constraint over the original's variables applies to its clone
    cut.add(objective <= one.objective - 1)
    left = max(MIN_SECOND_S, settings.time_limit_s - one.facts.wall_time_s)
    two = run_solver(cut, replace(settings, time_limit_s=left), decode, finite_bound, tuning)
    facts = _merged_facts(one.facts, two.facts, at_once=False)
    proven = one.status == Status.OPTIMAL.value
    if two.objective is not None:
        status = two.status if proven else Status.FEASIBLE.value
        return Solution(status, two.objective, min(one.bound, two.bound), two.mapping, facts)
    if two.status == Status.INFEASIBLE.value:
        return replace(one, facts=facts)
    bound = None if two.bound is None else min(one.bound, two.bound)
    return replace(one, status=Status.FEASIBLE.value, bound=bound, facts=facts)


def _at_once(first: Side, second: Side, settings: SolverSettings, finite_bound, tuning) -> Solution:
    """Both sides at once on ``ceil(w / 2)`` and ``floor(w / 2)`` workers, without
    a cut; the answer's ties go to the first side."""
    half = settings.workers // 2
    runs = [SolverRun(first[0], replace(settings, workers=settings.workers - half), tuning)]
    runs.append(SolverRun(second[0], replace(settings, workers=half), tuning))
    for run in runs:
        run.watch.peers = [r.watch for r in runs]  # progress reports the best and bound over both
    solve_runs(runs, _settled)
    one, two = runs[0].answer(first[1], finite_bound), runs[1].answer(second[1], finite_bound)
    facts = _merged_facts(one.facts, two.facts, at_once=True)
    if one.status in UNSOLVED:
        return replace(one, facts=facts)
    if two.status == Status.MODEL_INVALID.value:
        return replace(two, facts=facts)
    best = min((s for s in (one, two) if s.objective is not None), key=lambda s: s.objective, default=one)
    bounds = [one.bound] + ([] if two.status == Status.INFEASIBLE.value else [two.bound])
    bound = None if None in bounds else min(bounds)
    if best.objective is None:
        return Solution(Status.UNKNOWN.value, None, bound, None, facts)
    proven = bound is not None and bound >= best.objective
    status = Status.OPTIMAL.value if proven else Status.FEASIBLE.value
    return Solution(status, best.objective, bound, best.mapping, facts)


def _settled(runs: list[SolverRun]) -> list[SolverRun]:
    """The runs no longer needed: the second once the first side is proven
    infeasible; a run still searching that cannot beat the objective v of a side
    that ended proven optimal: the second side once its bound is >= v, the first
    once its bound is > v, or >= v with a solution of v in hand (ties go to the
    first side; a first side below v must prove itself)."""
    one, two = runs
    if one.status == Status.INFEASIBLE.value:
        return [two]
    (v_one, v_two), settled = (_proven(one), _proven(two)), []
    if v_one is not None and _searching(two) and two.watch.bound is not None and two.watch.bound >= v_one:
        settled.append(two)
    if v_two is not None and _searching(one):
        bound, best = one.watch.bound, one.watch.best
        if bound is not None and (bound > v_two or (bound >= v_two and best is not None and best <= v_two)):
            settled.append(one)
    return settled


def _proven(run: SolverRun) -> float | None:
    """The objective of ``run`` if it ended proven optimal, else None."""
    return run.solver.objective_value if run.status == Status.OPTIMAL.value else None


def _searching(run: SolverRun) -> bool:
    return run.status is None


def _merged_facts(first: SolverFacts, second: SolverFacts, at_once: bool) -> SolverFacts:
    """The facts of two solves, run at once or one after the other."""
    seconds = max if at_once else (lambda a, b: a + b)
    firsts = [s for s in (first.first_solution_s, second.first_solution_s) if s is not None]
    return replace(
        first,
        wall_time_s=seconds(first.wall_time_s, second.wall_time_s),
        deterministic_time=first.deterministic_time + second.deterministic_time,
        workers=first.workers + second.workers if at_once else first.workers,
        branches=first.branches + second.branches,
        conflicts=first.conflicts + second.conflicts,
        first_solution_s=(min(firsts) if at_once and firsts else first.first_solution_s),
        interrupted_by=first.interrupted_by or second.interrupted_by,
    )
