"""Task graphs (DESIGN 4.4): tasks with a duration on every processor, edges,
memory objects, a schedule, and when each memory object is live.

A task's output is live from the task's start until its last consumer
finishes (until its own end if it has none); a DRAM tile is live from its
first consumer's start until its last consumer finishes. Peak memory and the
schedule's cost are in ``mapper.cost.taskgraph``. On a platform with an
accelerator, a task's duration on a cluster is the latency of its tile run as a
layer on the cluster's sub-array (``tile_layer``, ``TileDuration``)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from mapper.core.box import Box
from mapper.core.mapping import Mapping
from mapper.core.spec import DIMS, Layer

Cluster = tuple[int, int]  # PE rows, cols
TileKey = tuple[str, tuple[int, ...], Cluster]  # layer, extents along DIMS, cluster


def tile_extents(work: Box) -> tuple[int, ...]:
    """The extent of a work box (over DIMS) along each dim."""
    return tuple(hi - lo for lo, hi in work.ranges)


def tile_key(layer: str, work: Box, cluster: Cluster) -> TileKey:
    """What a task's duration depends on: its layer, its tile's extents, its cluster."""
    return layer, tile_extents(work), cluster


def origin_box(extents: tuple[int, ...]) -> Box:
    """The work box of a tile of ``extents`` (along DIMS) at the origin: its loop nest
    depends on its extents only (``tile_layer``)."""
    return Box(tuple((0, e) for e in extents))


TILE_ON_CHIP = frozenset({"I", "O"})  # a task's operands: in the shared memory (weights come from DRAM)


def tile_layer(layer: Layer, work: Box) -> Layer:
    """The loop nest of one task: ``layer`` on the extents of ``work``. Its input is
    the span those outputs read, a border tile's padding positions included (as a
    layer's are in layer mode). Its input and output are held on chip
    (``TILE_ON_CHIP``): the task reads its input tile from the shared memory and
    leaves its output tile there; only its weights move from DRAM."""
    bounds = dict(zip(DIMS, tile_extents(work), strict=True))
    return replace(layer, name=f"{layer.name}_tile", bounds=bounds, padding=(0, 0), input_hw=None, on_chip=TILE_ON_CHIP)


@dataclass(frozen=True)
class TileDuration:
    """The cycles of a task tile on a cluster shape: the latency of ``mapping`` for the
    tile run as a layer on the accelerator's memories around the cluster's PEs;
    ``status`` is the solve's that chose the mapping (OPTIMAL: the least latency)."""

    layer: str
    extents: tuple[int, ...]
    cluster: Cluster
    latency_cycles: int
    status: str
    mapping: Mapping

    def to_dict(self) -> dict:
        return {
            "layer": self.layer,
            "extents": dict(zip(DIMS, self.extents, strict=True)),
            "cluster": list(self.cluster),
            "latency_cycles": self.latency_cycles,
            "status": self.status,
            "mapping": self.mapping.to_dict(),
        }


class MissingDuration(LookupError):
    """A task tile on a cluster shape that a duration table does not hold."""


@dataclass
class DurationTable:
    """Task durations by tile and cluster shape, usable as the ``duration`` of
    ``mapper.cost.taskgraph_builder.build_task_graph``."""

    cycles: dict[TileKey, int] = field(default_factory=dict)

    def __call__(self, layer: Layer, work: Box, cluster: Cluster) -> int:
        key = tile_key(layer.name, work, cluster)
        if key not in self.cycles:
            extents = " x ".join(f"{d}{e}" for d, e in zip(DIMS, key[1], strict=True) if e > 1)
            rows, cols = cluster
            raise MissingDuration(f"no duration of the {layer.name} tile {extents} on a {rows}x{cols} cluster")
        return self.cycles[key]


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
