"""The task graph a task-graph result is checked on: the problem's graph with the
durations the result states (``details.tile_durations``, on a platform with an
accelerator), measured by the referee for ``verify`` (``mapper.referee.tile_durations``)."""

from __future__ import annotations

from mapper.core.problem import Problem
from mapper.core.taskgraph import DurationTable, MissingDuration
from mapper.cost.taskgraph_builder import problem_graph
from mapper.referee.claims import Claims
from mapper.referee.report import VerifyReport
from mapper.referee.tile_durations import FIELD, measured_durations, stated_durations
from mapper.referee.verify import verify_taskgraph_result


def task_graph_of(problem: Problem, claims: Claims, durations: DurationTable | None = None):
    """(group, graph, platform) of ``problem`` with ``durations`` (default: those the
    result at ``claims`` states); on a platform without an accelerator, the compute bound."""
    if problem.accelerator is None:
        return problem_graph(problem)
    details = claims.sub("details")
    if durations is None:
        durations = stated_durations(details, problem.layers_by_name)
    try:
        return problem_graph(problem, durations)
    except MissingDuration as err:
        raise details.error(FIELD, str(err)) from None


def verify_taskgraph(result: dict, problem: Problem, functional: bool) -> VerifyReport:
    """The referee's rows of a task-graph result: each stated tile duration replayed,
    then the schedule replayed on the graph with the measured durations."""
    claims = Claims(result)
    if problem.accelerator is None or claims.raw("mapping") is None:
        return verify_taskgraph_result(result, *problem_graph(problem), functional)
    report = VerifyReport()
    details = claims.sub("details")
    durations = measured_durations(report, details, problem.layers_by_name, problem.accelerator, functional)
    return verify_taskgraph_result(result, *task_graph_of(problem, claims, durations), functional, report=report)
