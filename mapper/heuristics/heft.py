"""List schedulers for task graphs: HEFT, memory-aware HEFT, layer-by-layer.

HEFT (Topcuoglu, Hariri, Wu, IEEE TPDS 2002): tasks in decreasing upward
rank, rank(t) = mean duration of t + max over successors s of (edge cost +
rank(s)); each task goes to the processor giving the earliest finish time,
inserted into the earliest idle slot that fits (insertion policy). Ties: the
lower task index first, the lower processor index first.

Memory-aware HEFT (in the style of Herrmann, Marchal and Robert, "Memory-aware
list scheduling for hybrid platforms", IPDPSW 2014): the same order and EFT
rule, but a slot is taken only if the memory cap holds at every time. While
some consumer of a memory object is still unscheduled, the object stays
allocated forever, because its release time is unknown. When its last
consumer is placed, it is released at that consumer's finish. Start times
also try the instants where memory is released. If no slot fits on any
processor, the heuristic reports failure; with ``ready_list`` it instead
places the highest-ranked *ready* task (all predecessors placed) that fits,
and fails only when none does (our reading of a memory-aware list scheduler:
the published MemHEFT text could not be found, docs/taskgraph.md). That
variant is not monotone in the cap: a larger cap can fail where a smaller one
succeeds.

Layer-by-layer: every task of a layer finishes before any task of the next
layer starts; within a layer, HEFT's rule.
"""

from __future__ import annotations

from fractions import Fraction

from mapper.core.taskgraph import TaskGraph, TaskSchedule
from mapper.cost.taskgraph import peak_memory

FOREVER = 1 << 60


def upward_ranks(graph: TaskGraph) -> dict[str, Fraction]:
    ranks: dict[str, Fraction] = {}
    for task in reversed(graph.topological_order()):
        mean = Fraction(sum(graph.durations[task]), len(graph.processors))
        tail = max((graph.edges[task, s] + ranks[s] for s in graph.successors(task)), default=Fraction(0))
        ranks[task] = mean + tail
    return ranks


def _earliest_slot(busy: list[tuple[int, int]], ready: int, length: int, candidates: list[int]) -> list[int]:
    """Start times >= ready, in increasing order, at which [s, s + length) is idle."""
    starts = sorted({ready, *(end for _, end in busy if end >= ready), *(c for c in candidates if c >= ready)})
    return [s for s in starts if all(s + length <= b0 or s >= b1 for b0, b1 in busy)]


class ListScheduler:
    def __init__(
        self, graph: TaskGraph, memory_cap: int | None = None, barrier_by_layer: bool = False, ready_list: bool = False
    ):
        self.graph, self.memory_cap, self.barrier_by_layer = graph, memory_cap, barrier_by_layer
        self.ready_list = ready_list
        self.busy = [[] for _ in graph.processors]
        self.processor: dict[str, int] = {}
        self.start: dict[str, int] = {}
        self.blocks: dict[str, list[int]] = {}  # memory object -> [alloc, release]
        self.consumers_left = {obj.name: set(obj.consumers) for obj in graph.memory}

    def end(self, task: str) -> int:
        return self.start[task] + self.graph.durations[task][self.processor[task]]

    def _ready(self, task: str, p: int, barrier: int) -> int:
        times = [barrier]
        for u in self.graph.predecessors(task):
            times.append(self.end(u) + (0 if self.processor[u] == p else self.graph.edges[u, task]))
        return max(times)

    def _blocks_if_placed(self, task: str, start: int) -> list[tuple[int, int, int, str]]:
        lives = []
        for obj in self.graph.memory:
            block = self.blocks.get(obj.name)
            if obj.producer == task:
                block = [start, FOREVER]
            elif obj.producer is None and task in obj.consumers:
                block = [min(block[0], start), FOREVER] if block else [start, FOREVER]
            if block:
                lives.append((block[0], block[1], obj.words, obj.name))
        return lives

    def _fits(self, task: str, start: int) -> bool:
        if self.memory_cap is None:
            return True
        return peak_memory(self._blocks_if_placed(task, start)) <= self.memory_cap

    def place(self, task: str, barrier: int = 0) -> bool:
        releases = [b[1] for b in self.blocks.values() if b[1] < FOREVER]
        best = None
        for p in range(len(self.graph.processors)):
            length = self.graph.durations[task][p]
            for start in _earliest_slot(self.busy[p], self._ready(task, p, barrier), length, releases):
                if self._fits(task, start):
                    if best is None or start + length < best[0]:
                        best = (start + length, p, start)
                    break
        if best is None:
            return False
        _, p, start = best
        self.processor[task], self.start[task] = p, start
        self.busy[p].append((start, start + self.graph.durations[task][p]))
        for obj in self.graph.memory:
            if obj.producer == task:
                self.blocks[obj.name] = [start, FOREVER if obj.consumers else self.end(task)]
            if task in obj.consumers:
                if obj.producer is None:
                    old = self.blocks.get(obj.name)
                    self.blocks[obj.name] = [min(old[0], start) if old else start, FOREVER]
                self.consumers_left[obj.name].discard(task)
                if not self.consumers_left[obj.name]:
                    self.blocks[obj.name][1] = max(self.end(c) for c in obj.consumers)
        return True

    def run(self) -> TaskSchedule | None:
        ranks = upward_ranks(self.graph)
        index = {t: i for i, t in enumerate(self.graph.tasks)}
        order = sorted(self.graph.tasks, key=lambda t: (-ranks[t], index[t]))
        if self.ready_list:
            return self.run_ready_list(order)
        if self.barrier_by_layer:
            layers = list(dict.fromkeys(self.graph.layer_of[t] for t in self.graph.topological_order()))
            position = {layer: i for i, layer in enumerate(layers)}
            order = sorted(order, key=lambda t: position[self.graph.layer_of[t]])
        barrier, current_layer = 0, None
        for task in order:
            if self.barrier_by_layer and self.graph.layer_of[task] != current_layer:
                barrier = max((self.end(t) for t in self.start), default=0)
                current_layer = self.graph.layer_of[task]
            if not self.place(task, barrier):
                return None
        return TaskSchedule(dict(self.processor), dict(self.start))

    def run_ready_list(self, order: list[str]) -> TaskSchedule | None:
        """Repeatedly place the first task of ``order`` that is ready and fits."""
        left = list(order)
        while left:
            ready = [t for t in left if all(u in self.start for u in self.graph.predecessors(t))]
            placed = next((t for t in ready if self.place(t)), None)
            if placed is None:
                return None
            left.remove(placed)
        return TaskSchedule(dict(self.processor), dict(self.start))


def heft(graph: TaskGraph) -> TaskSchedule:
    return ListScheduler(graph).run()


def memory_aware_heft(graph: TaskGraph, memory_cap: int, ready_list: bool = False) -> TaskSchedule | None:
    """None when no placement keeps the memory under ``memory_cap``."""
    return ListScheduler(graph, memory_cap=memory_cap, ready_list=ready_list).run()


def layer_by_layer(graph: TaskGraph) -> TaskSchedule:
    return ListScheduler(graph, barrier_by_layer=True).run()
