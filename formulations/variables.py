"""Small CP-SAT building blocks shared by the formulations."""

from __future__ import annotations

from math import prod

import ortools
from ortools.sat.python import cp_model

from mapper.core.result import SolverFacts
from mapper.core.spec import SolverSettings

INT_LIMIT = 2**60  # CP-SAT domains must stay within int64 max / 2


def upper_bound(var) -> int:
    if isinstance(var, int):
        return var
    return list(var.proto.domain)[-1]


def product_var(model: cp_model.CpModel, factors: list, name: str, cap: int = INT_LIMIT):
    """A variable equal to the product of ``factors`` (ints or int vars), with
    domain [0, min(product of upper bounds, cap)]; ``cap`` must be a proven
    bound on the product for every assignment that can be optimal."""
    constant = prod(f for f in factors if isinstance(f, int))
    variables = [f for f in factors if not isinstance(f, int)]
    if not variables:
        return constant
    bound = min(constant * prod(upper_bound(v) for v in variables), cap)
    target = model.new_int_var(0, bound, name)
    if constant == 1 and len(variables) == 1:
        model.add(target == variables[0])
    elif constant == 1:
        model.add_multiplication_equality(target, variables)
    else:
        partial = product_var(model, variables, f"{name}_vars", cap)
        model.add(target == constant * partial)
    return target


def and_var(model: cp_model.CpModel, a, b, name: str):
    """A Boolean equal to ``a and b``."""
    result = model.new_bool_var(name)
    model.add_bool_and([a, b]).only_enforce_if(result)
    model.add_bool_or([a.Not(), b.Not()]).only_enforce_if(result.Not())
    return result


def or_var(model: cp_model.CpModel, literals: list, name: str):
    """A Boolean equal to ``any(literals)`` (False for an empty list)."""
    result = model.new_bool_var(name)
    if not literals:
        model.add(result == 0)
        return result
    model.add_bool_or(literals).only_enforce_if(result)
    for lit in literals:
        model.add_implication(lit, result)
    return result


def choose_var(model: cp_model.CpModel, condition, if_true, if_false, name: str):
    """An int variable equal to ``if_true`` when ``condition`` else ``if_false``."""
    bound = max(upper_bound(if_true), upper_bound(if_false))
    result = model.new_int_var(0, bound, name)
    model.add(result == if_true).only_enforce_if(condition)
    model.add(result == if_false).only_enforce_if(condition.Not())
    return result


def ceil_div_var(model: cp_model.CpModel, numerator, divisor: int, bound: int, name: str):
    """An int variable equal to ceil(numerator / divisor) for a constant divisor:
    divisor * x >= numerator and divisor * x <= numerator + divisor - 1."""
    result = model.new_int_var(0, bound, name)
    model.add(divisor * result >= numerator)
    model.add(divisor * result <= numerator + divisor - 1)
    return result


class _FirstSolution(cp_model.CpSolverSolutionCallback):
    """Records the wall time of the first solution."""

    def __init__(self):
        super().__init__()
        self.seconds = None

    def on_solution_callback(self) -> None:
        if self.seconds is None:
            self.seconds = self.wall_time


def run_solver(model: cp_model.CpModel, settings: SolverSettings) -> tuple[cp_model.CpSolver, str, SolverFacts]:
    """Solve ``model`` with the time limit, workers, seed and deterministic time
    of ``settings``; returns the solver (for values), the status name and the
    facts (including when the first solution came)."""
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
    return solver, status, facts
