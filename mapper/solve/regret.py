"""The regret of pinned decisions (docs/problem_format.md, "Pinned decisions"): the
pinned problem's objective minus the free problem's optimum, certified when both
solves are proven. Task graphs also state the makespan regret: under the
lexicographic objective the objective is the memory at the least makespan, so it
compares only where the makespans do."""

from __future__ import annotations

from dataclasses import replace

from mapper.core.enums import Mode
from mapper.core.problem import Problem
from mapper.core.result import SolveResult
from mapper.core.spec import SolverSettings


def regret_record(problem: Problem, objective: int, proven: bool, free: SolveResult, makespan=None) -> dict:
    """``details.regret`` of a pinned result with ``objective`` (and, for a task graph,
    ``makespan``), proven or not, against the free problem's result ``free``."""
    record = {
        "pins": problem.pins,
        "free_objective": free.objective,
        "free_bound": free.bound,
        "regret": None if free.objective is None else objective - free.objective,
        "certified": proven and free.proven_optimal,
    }
    if problem.mode == Mode.TASKGRAPH:
        free_makespan = (free.metrics or {}).get("makespan")
        record["free_makespan"] = free_makespan
        record["makespan_regret"] = None if free_makespan is None or makespan is None else makespan - free_makespan
    return record


def with_regret(result: SolveResult, problem: Problem, settings: SolverSettings, solver) -> SolveResult:
    """For a problem with pinned decisions: solve it free as well with ``solver`` and
    report the regret (``regret_record``)."""
    if not problem.pins or result.objective is None:
        return result
    free = solver(replace(problem, pins=None), settings)
    makespan = (result.metrics or {}).get("makespan")
    record = regret_record(problem, result.objective, result.proven_optimal, free, makespan)
    return replace(result, details={**result.details, "regret": record})
