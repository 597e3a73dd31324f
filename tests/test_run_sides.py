"""``run_sides``: the answer over a space solved in two sides, its status and a
bound that is a bound on both sides (tiny models whose optima are known)."""

from __future__ import annotations

from conftest import DETERMINISTIC
from ortools.sat.python import cp_model

from formulations import solution as sol
from formulations.solution import run_sides


def side(low: int, high: int):
    """minimise x over [low, high]: the optimum is ``low``."""
    model = cp_model.CpModel()
    x = model.new_int_var(low, high, "x")
    model.minimize(x)
    return model, (lambda solver: solver.value(x)), x


def test_the_better_side_wins_with_a_bound_on_both():
    first, (model, decode, x) = side(5, 9), side(2, 9)
    answer = run_sides(first[:2], (model, decode, x), DETERMINISTIC)
    assert (answer.status, answer.objective, answer.bound, answer.mapping) == ("OPTIMAL", 2, 2, 2)


def test_a_second_side_with_nothing_better_leaves_the_first_answer():
    first, (model, decode, x) = side(5, 9), side(7, 9)
    answer = run_sides(first[:2], (model, decode, x), DETERMINISTIC)
    assert (answer.status, answer.objective, answer.bound, answer.mapping) == ("OPTIMAL", 5, 5, 5)


def test_stopped_before_the_second_side_no_bound_is_claimed(monkeypatch):
    """The first side's optimum proves nothing of the second side."""
    calls = []
    real = sol.run_solver

    def counted(*args, **kwargs):
        answer = real(*args, **kwargs)
        calls.append(answer.status)  # a stop request arrives once the first side is solved
        return answer

    monkeypatch.setattr(sol, "run_solver", counted)
    monkeypatch.setattr(sol.stop, "requested", lambda: bool(calls))
    first, (model, decode, x) = side(5, 9), side(2, 9)
    answer = run_sides(first[:2], (model, decode, x), DETERMINISTIC)
    assert calls == ["OPTIMAL"]
    assert (answer.status, answer.objective, answer.bound) == ("FEASIBLE", 5, None)
