"""``run_sides``: the answer over a space solved in two sides, its status and a
bound that is a bound on both sides (tiny models whose optima are known), in
turn (one worker) and at once (two workers)."""

from __future__ import annotations

from dataclasses import replace

import pytest
from conftest import DETERMINISTIC
from ortools.sat.python import cp_model

from formulations import sides as sides_module
from formulations import solution as sol
from formulations.sides import _settled, run_sides
from formulations.solution import SolverRun, solve_runs

AT_ONCE = replace(DETERMINISTIC, workers=2)
BOTH = pytest.mark.parametrize("settings", [DETERMINISTIC, AT_ONCE], ids=["in turn", "at once"])


def side(low: int, high: int, infeasible: bool = False, tag: str | None = None):
    """minimise x over [low, high]: the optimum is ``low`` (none if ``infeasible``);
    the decoded answer is x, or (``tag``, x)."""
    model = cp_model.CpModel()
    x = model.new_int_var(low, high, "x")
    if infeasible:
        model.add(x < low)
    model.minimize(x)
    return (model, lambda solver: solver.value(x) if tag is None else (tag, solver.value(x))), x


@BOTH
def test_the_better_side_wins_with_a_bound_on_both(settings):
    (first, _), (second, x) = side(5, 9), side(2, 9)
    answer = run_sides(first, second, x, settings)
    assert (answer.status, answer.objective, answer.bound, answer.mapping) == ("OPTIMAL", 2, 2, 2)


@BOTH
def test_a_second_side_with_nothing_better_leaves_the_first_answer(settings):
    (first, _), (second, x) = side(5, 9), side(7, 9)
    answer = run_sides(first, second, x, settings)
    assert (answer.status, answer.objective, answer.bound, answer.mapping) == ("OPTIMAL", 5, 5, 5)


@BOTH
def test_a_tie_goes_to_the_first_side(settings):
    (first, _), (second, x) = side(5, 9, tag="first"), side(5, 9, tag="second")
    answer = run_sides(first, second, x, settings)
    assert (answer.status, answer.objective, answer.mapping) == ("OPTIMAL", 5, ("first", 5))


@BOTH
def test_an_infeasible_first_side_is_the_answer(settings):
    (first, _), (second, x) = side(5, 9, infeasible=True), side(2, 9)
    assert run_sides(first, second, x, settings).status == "INFEASIBLE"


@BOTH
def test_an_infeasible_second_side_leaves_the_first_answer_proven(settings):
    (first, _), (second, x) = side(5, 9), side(2, 9, infeasible=True)
    answer = run_sides(first, second, x, settings)
    assert (answer.status, answer.objective, answer.bound) == ("OPTIMAL", 5, 5)


def test_stopped_before_the_second_side_no_bound_is_claimed(monkeypatch):
    """The first side's optimum proves nothing of the second side."""
    calls = []
    real = sides_module.run_solver

    def counted(*args, **kwargs):
        answer = real(*args, **kwargs)
        calls.append(answer.status)  # a stop request arrives once the first side is solved
        return answer

    monkeypatch.setattr(sides_module, "run_solver", counted)
    monkeypatch.setattr(sides_module.stop, "requested", lambda: bool(calls))
    (first, _), (second, x) = side(5, 9), side(2, 9)
    answer = run_sides(first, second, x, DETERMINISTIC)
    assert calls == ["OPTIMAL"]
    assert (answer.status, answer.objective, answer.bound) == ("FEASIBLE", 5, None)


@BOTH
def test_a_stop_requested_before_the_solve_solves_nothing(settings, monkeypatch):
    monkeypatch.setattr(sides_module.stop, "requested", lambda: True)
    monkeypatch.setattr(sol.stop, "requested", lambda: True)
    (first, _), (second, x) = side(5, 9), side(2, 9)
    answer = run_sides(first, second, x, settings)
    assert (answer.status, answer.objective, answer.bound) == ("UNKNOWN", None, None)


def test_a_proven_side_settles_the_other_once_it_cannot_win():
    ((first, _), _), ((second, _), _) = side(5, 9), side(7, 9)
    runs = [SolverRun(first, DETERMINISTIC), SolverRun(second, DETERMINISTIC)]
    solve_runs(runs[:1])  # the first side ends proven: 5
    assert runs[0].status == "OPTIMAL"
    assert _settled(runs) == []  # the second side has no bound yet
    runs[1].watch.bound = 4.0
    assert _settled(runs) == []  # it may still hold an answer below 5
    runs[1].watch.bound = 5.0
    assert _settled(runs) == [runs[1]]  # at best a tie, which goes to the first side
    runs[1].status = "FEASIBLE"
    assert _settled(runs) == []  # it has stopped already


def test_a_proven_second_side_settles_the_first_only_where_the_first_cannot_tie():
    ((first, _), _), ((second, _), _) = side(5, 9), side(5, 9)
    runs = [SolverRun(first, DETERMINISTIC), SolverRun(second, DETERMINISTIC)]
    solve_runs(runs[1:])  # the second side ends proven: 5
    runs[0].watch.bound, runs[0].watch.best = 4.0, 5.0
    assert _settled(runs) == []  # it holds a 5 but may hold a 4: its answer needs its own proof
    runs[0].watch.bound, runs[0].watch.best = 5.0, None
    assert _settled(runs) == []  # it may still hold a 5, which would win the tie
    runs[0].watch.best = 5.0
    assert _settled(runs) == [runs[0]]  # it holds one: the answer is its 5, bounded by both sides
    runs[0].watch.best, runs[0].watch.bound = None, 6.0
    assert _settled(runs) == [runs[0]]  # it cannot reach 5


def test_a_first_side_proven_infeasible_settles_the_second():
    ((first, _), _), ((second, _), _) = side(5, 9, infeasible=True), side(2, 9)
    runs = [SolverRun(first, DETERMINISTIC), SolverRun(second, DETERMINISTIC)]
    solve_runs(runs[:1])
    assert runs[0].status == "INFEASIBLE" and _settled(runs) == [runs[1]]


def test_a_run_stopped_before_a_solution_keeps_the_bound_it_reported():
    """A side settled early may have no solution: the bound its search reported
    still holds (and is what settled it); none is made up where none was reported."""
    ((model, decode), _) = side(5, 9)
    run = SolverRun(model, DETERMINISTIC)
    solve_runs([run])
    run.status, run.watch.bound = "UNKNOWN", None  # as if stopped before its first solution and bound
    assert run.answer(decode, None).bound is None
    run.watch.bound = 5.0
    assert run.answer(decode, None).bound == 5
    run.watch.bound = float("-inf")
    assert run.answer(decode, None).bound is None
