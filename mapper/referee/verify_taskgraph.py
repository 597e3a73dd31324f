"""Verify a task-graph result: replay its task schedule (dependencies, PE
clusters, shared memory) and compare every claimed metric with the replay."""

from __future__ import annotations

from dataclasses import replace

from mapper.core.group import FusedGroup
from mapper.core.problem import Platform
from mapper.core.taskgraph import TaskGraph, TaskSchedule
from mapper.io.problem_sections import TASKGRAPH_OBJECTIVES
from mapper.referee.claims import Claims, task_schedule
from mapper.referee.decode_taskgraph import decode_taskgraph, platform_accelerator
from mapper.referee.executor import execute
from mapper.referee.report import VerifyReport
from mapper.referee.simulator import Measurement, ScheduleViolation, simulate


def schedule_value(objective: str, makespan: int, peak: int, makespan_weight: int, memory_weight: int) -> int:
    """What a task-graph objective minimises (docs/taskgraph.md): the makespan; the
    peak memory (also for lexicographic, whose second stage minimises the memory at
    the optimal makespan); or makespan_weight x makespan + memory_weight x peak."""
    if objective == "makespan":
        return makespan
    if objective in ("memory", "lexicographic"):
        return peak
    return makespan_weight * makespan + memory_weight * peak


def replay_tasks(
    group: FusedGroup,
    graph: TaskGraph,
    platform: Platform,
    schedule: TaskSchedule,
    functional=False,
    seed=0,
    bounded: bool = True,
) -> Measurement:
    """Replay ``schedule`` (raises ScheduleViolation); ``bounded=False`` lifts the
    platform's memory limit, to measure a schedule's peak whatever it is."""
    if not bounded:
        platform = replace(platform, memory_words=None)
    ir = decode_taskgraph(group, graph, platform, schedule)
    accelerator = platform_accelerator(platform)
    return execute(ir, accelerator, seed) if functional else simulate(ir, accelerator)


def verify_taskgraph_result(
    result: dict,
    group: FusedGroup,
    graph: TaskGraph,
    platform: Platform,
    functional: bool = False,
    seed: int = 0,
    report: VerifyReport | None = None,
) -> VerifyReport:
    """Replay a task schedule of ``graph`` (the tasks of ``group`` on ``platform``);
    every task's end, the makespan, the peak memory and its profile, the task
    count and the objective must equal the replay's. The rows go to ``report``
    (one that holds the rows of the graph's measured durations) or a new one."""
    claims = Claims(result)
    if claims.raw("mapping") is None:
        return VerifyReport(violation=f"the result has nothing to verify (status {result.get('status')})")
    report = report if report is not None else VerifyReport()
    mapping = claims.sub("mapping")
    schedule = task_schedule(mapping, graph)
    metrics = claims.sub("metrics")
    for task in graph.tasks:
        entry = mapping.sub(task)
        report.check(
            f"{task}: end = start + its duration on {graph.processors[schedule.processor[task]]}",
            entry.count("end"),
            schedule.end(graph, task),
            fields=entry.where("end"),
        )
    name = "mapping: the schedule replays without violation"
    try:
        measured = replay_tasks(group, graph, platform, schedule, functional, seed)
    except ScheduleViolation as err:
        report.fail(name, "valid", str(err), "mapping")
        return report
    report.check(name, "valid", "valid", fields="mapping")
    if functional:
        report.notes.append(f"functional: every output tile of {group.names[-1]} equals the reference (seed {seed})")
    report.notes.append(f"replayed {measured.ops:,} ops of {len(graph.tasks)} tasks")
    makespan, peak = measured.makespan, measured.peak_words.get("GLB", 0)
    report.check("makespan", metrics.count("makespan"), makespan, fields="metrics.makespan")
    report.check("peak_memory_words", metrics.count("peak_memory_words"), peak, fields="metrics.peak_memory_words")
    report.check("tasks", metrics.count("tasks"), len(graph.tasks), fields="metrics.tasks")
    profile = metrics.items("memory_profile")
    steps = [profile.items(i, 2) for i in range(len(profile))]
    claimed = [[step.count(0), step.count(1)] for step in steps]
    measured_steps = [[t, words] for t, words in sorted(measured.glb_profile.items())]
    report.check(
        "memory_profile = the replay's live words over time", claimed, measured_steps, fields="metrics.memory_profile"
    )
    weights = claims.sub("weights")
    weights.keys_exactly(("objective", "makespan", "memory"), "weight")
    kind = weights.choice("objective", TASKGRAPH_OBJECTIVES)
    value = schedule_value(kind, makespan, peak, weights.count("makespan"), weights.count("memory"))
    report.check(f"objective ({kind})", claims.count("objective"), value, fields="objective")
    return report
