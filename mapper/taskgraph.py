"""Task graphs: data, the schedule evaluator (the executable spec), and the
builder that slices CNN layers into tile tasks (DESIGN 4.4, docs/taskgraph.md).

A task graph has tasks with a duration on every processor (PE cluster),
edges with a communication cost paid when the two tasks run on different
processors, and memory objects: every task's output, and the DRAM tiles the
first layer reads. Memory: a task's output is live from the task's start until
its last consumer finishes (until its own end if it has none); a DRAM tile is
live from its first consumer's start until its last consumer finishes. Peak
memory is the maximum over time of the live words.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from mapper.referee.schedule import Box


@dataclass(frozen=True)
class MemoryObject:
    name: str
    words: int
    producer: str | None  # the task that creates it (None: read from DRAM)
    consumers: tuple[str, ...]


@dataclass(frozen=True)
class TaskGraph:
    """``durations[task][p]`` cycles on processor p; ``edges[(u, v)]`` the
    communication cost of u -> v across processors (0 within one)."""

    tasks: tuple[str, ...]
    processors: tuple[str, ...]
    durations: dict[str, tuple[int, ...]]
    edges: dict[tuple[str, str], int]
    memory: tuple[MemoryObject, ...] = ()
    layer_of: dict[str, str] = field(default_factory=dict)  # task -> layer (CNN graphs)
    regions: dict[str, Box] = field(default_factory=dict)  # task or DRAM tile -> its region (CNN graphs)
    edge_words: dict[tuple[str, str], int] = field(default_factory=dict)
    work: dict[str, Box] = field(default_factory=dict)  # task -> loop box over DIMS (CNN graphs)

    def predecessors(self, task: str) -> list[str]:
        return [u for (u, v) in self.edges if v == task]

    def successors(self, task: str) -> list[str]:
        return [v for (u, v) in self.edges if u == task]

    def topological_order(self) -> list[str]:
        indegree = {t: 0 for t in self.tasks}
        for _, v in self.edges:
            indegree[v] += 1
        order, ready = [], [t for t in self.tasks if indegree[t] == 0]
        while ready:
            task = ready.pop(0)
            order.append(task)
            for v in self.successors(task):
                indegree[v] -= 1
                if indegree[v] == 0:
                    ready.append(v)
        if len(order) != len(self.tasks):
            raise ValueError("the task graph has a cycle")
        return order


@dataclass(frozen=True)
class TaskSchedule:
    """``processor[task]`` index and ``start[task]`` cycle of every task."""

    processor: dict[str, int]
    start: dict[str, int]

    def end(self, graph: TaskGraph, task: str) -> int:
        return self.start[task] + graph.durations[task][self.processor[task]]

    @classmethod
    def from_dict(cls, graph: TaskGraph, data: dict) -> TaskSchedule:
        index = {name: i for i, name in enumerate(graph.processors)}
        return cls(
            {t: index[data[t]["processor"]] for t in graph.tasks}, {t: int(data[t]["start"]) for t in graph.tasks}
        )

    def to_dict(self, graph: TaskGraph) -> dict:
        return {
            t: {"processor": graph.processors[self.processor[t]], "start": self.start[t], "end": self.end(graph, t)}
            for t in graph.tasks
        }


def memory_lifetimes(graph: TaskGraph, schedule: TaskSchedule) -> list[tuple[int, int, int, str]]:
    """(alloc, release, words, name) of every memory object."""
    lives = []
    for obj in graph.memory:
        users = list(obj.consumers)
        if obj.producer is not None:
            alloc = schedule.start[obj.producer]
            release = max((schedule.end(graph, c) for c in users), default=schedule.end(graph, obj.producer))
        else:
            alloc = min(schedule.start[c] for c in users)
            release = max(schedule.end(graph, c) for c in users)
        lives.append((alloc, release, obj.words, obj.name))
    return lives


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


@dataclass(frozen=True)
class TaskScheduleCost:
    valid: bool
    violations: tuple[str, ...]
    makespan: int
    peak_memory_words: int

    def objective(self, makespan_weight: int, memory_weight: int) -> int:
        return makespan_weight * self.makespan + memory_weight * self.peak_memory_words


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
