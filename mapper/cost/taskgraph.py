"""The cost of a task schedule (DESIGN 4.4, docs/taskgraph.md): its makespan and
peak memory, the maximum over time of the live words (the executable spec the
task-graph formulation is checked against). The graph and when each memory
object is live are defined in ``mapper.core.taskgraph``.
"""

from __future__ import annotations

from dataclasses import dataclass

from mapper.core.taskgraph import TaskGraph, TaskSchedule, memory_lifetimes


def memory_profile(lives: list[tuple[int, int, int, str]]) -> list[tuple[int, int]]:
    """The live words as a step function: (time, words from that time on)."""
    steps: dict[int, int] = {}
    for alloc, release, words, _ in lives:
        steps[alloc] = steps.get(alloc, 0) + words
        steps[release] = steps.get(release, 0) - words
    profile, live = [], 0
    for time in sorted(steps):
        live += steps[time]
        profile.append((time, live))
    return profile


def peak_memory(lives: list[tuple[int, int, int, str]]) -> int:
    """Maximum over time of the live words; an object is live on [alloc, release)."""
    return max((words for _, words in memory_profile(lives)), default=0)


def schedule_objective(objective: str, makespan, peak, makespan_weight: int = 1, memory_weight: int = 1):
    """The value a task-graph objective minimises, on ints or CP-SAT expressions:
    the makespan, the peak memory (also the value of "lexicographic", whose
    second stage minimises the memory at the optimal makespan), or "weighted",
    makespan_weight * makespan + memory_weight * peak."""
    if objective == "makespan":
        return makespan
    if objective in ("memory", "lexicographic"):
        return peak
    return makespan_weight * makespan + memory_weight * peak


@dataclass(frozen=True)
class TaskScheduleCost:
    valid: bool
    violations: tuple[str, ...]
    makespan: int
    peak_memory_words: int

    def objective(self, makespan_weight: int, memory_weight: int) -> int:
        return schedule_objective("weighted", self.makespan, self.peak_memory_words, makespan_weight, memory_weight)


def evaluate_schedule(graph: TaskGraph, schedule: TaskSchedule, memory_cap: int | None = None) -> TaskScheduleCost:
    """Check precedence (with communication cost across processors), one task
    at a time per processor, the memory cap; measure makespan and peak memory."""
    violations = []
    for (u, v), cost in graph.edges.items():
        delay = 0 if schedule.processor[u] == schedule.processor[v] else cost
        if schedule.start[v] < schedule.end(graph, u) + delay:
            violations.append(
                f"{v} starts at {schedule.start[v]} before {u} ends (+{delay}) at {schedule.end(graph, u)}"
            )
    for p in range(len(graph.processors)):
        spans = sorted(
            (schedule.start[t], schedule.end(graph, t), t) for t in graph.tasks if schedule.processor[t] == p
        )
        for (_, end, a), (start, _, b) in zip(spans, spans[1:], strict=False):
            if start < end:
                violations.append(f"{a} and {b} overlap on {graph.processors[p]}")
    if any(schedule.start[t] < 0 for t in graph.tasks):
        violations.append("a task starts before 0")
    peak = peak_memory(memory_lifetimes(graph, schedule))
    if memory_cap is not None and peak > memory_cap:
        violations.append(f"peak memory {peak} words exceeds the cap {memory_cap}")
    makespan = max(schedule.end(graph, t) for t in graph.tasks)
    return TaskScheduleCost(not violations, tuple(violations), makespan, peak)
