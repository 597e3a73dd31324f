"""Task graphs (DESIGN 4.4): tasks with a duration on every processor, edges,
memory objects, a schedule, and when each memory object is live.

A task's output is live from the task's start until its last consumer
finishes (until its own end if it has none); a DRAM tile is live from its
first consumer's start until its last consumer finishes. Peak memory and the
schedule's cost are in ``mapper.cost.taskgraph``."""

from __future__ import annotations

from dataclasses import dataclass, field

from mapper.core.box import Box


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
