"""Small CP-SAT building blocks shared by the formulations."""

from __future__ import annotations

from math import prod

from ortools.sat.python import cp_model

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
    if constant != 1:
        partial = product_var(model, variables, f"{name}_vars", cap // constant)
        model.add(target == constant * partial)
    elif len(variables) == 1:
        model.add(target == variables[0])
    elif prod(upper_bound(v) for v in variables) <= INT_LIMIT:
        model.add_multiplication_equality(target, variables)
    else:  # the product of the bounds would overflow int64 in CP-SAT: multiply two at a time
        partial = product_var(model, variables[:-1], f"{name}_head", cap)
        model.add_multiplication_equality(target, [partial, variables[-1]])
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
