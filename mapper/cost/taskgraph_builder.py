"""Slice a chain of CNN layers into tile tasks on PE clusters (DESIGN 4.4).

Every layer is cut into rows x cols x channels tiles of its output (as equal
as possible). A task computes one tile. Edges carry the exact number of words
of the producer tile inside the consumer's receptive field. DRAM tensors
(the group input, an add operand from outside) are cut into row tiles with
the consumer's row count; they become memory objects read by the tasks that
overlap them. A task's duration on each cluster comes from a ``Duration``: on a
platform with an accelerator, the latency of the task's tile run as a layer on
the cluster's sub-array (``mapper.solve.task_durations``); without one,
``compute_bound``, ceil(MACs / PEs).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass
from math import ceil, prod

from mapper.core.box import Box, fmap_region
from mapper.core.group import FusedGroup, build_group
from mapper.core.problem import Platform, Problem
from mapper.core.spec import DIMS, Layer
from mapper.core.taskgraph import Cluster, MemoryObject, TaskGraph

# A task's cycles on one cluster: (its layer, its work box over DIMS, the cluster).
Duration = Callable[[Layer, Box, Cluster], int]


def compute_bound(layer: Layer, work: Box, cluster: Cluster) -> int:
    """ceil(MACs / PEs): a task's cycles on a platform without an accelerator."""
    return ceil(work.words / (cluster[0] * cluster[1]))


@dataclass(frozen=True)
class Slicing:
    rows: int = 1
    cols: int = 1
    channels: int = 1


def split(extent: int, parts: int) -> list[tuple[int, int]]:
    """``parts`` contiguous ranges covering [0, extent), sizes differing by at most one."""
    parts = max(1, min(parts, extent))
    return [(i * extent // parts, (i + 1) * extent // parts) for i in range(parts)]


def _overlap_words(a: Box, b: Box) -> int:
    return prod(max(0, min(hi, ohi) - max(lo, olo)) for (lo, hi), (olo, ohi) in zip(a.ranges, b.ranges, strict=True))


def _channel_dim(layer: Layer) -> str:
    return "K" if layer.kind == "conv" and layer.bounds["G"] == 1 else "G"


def tile_work(layer: Layer, slicing: Slicing) -> list[dict[str, tuple[int, int]]]:
    b = layer.bounds
    channel = _channel_dim(layer)
    works = []
    for rows, cols, chans in itertools.product(
        split(b["P"], slicing.rows), split(b["Q"], slicing.cols), split(b[channel], slicing.channels)
    ):
        work = {d: (0, b[d]) for d in DIMS}
        work.update(P=rows, Q=cols)
        work[channel] = chans
        works.append(work)
    return works


def build_task_graph(
    group: FusedGroup, slicings: dict[str, Slicing], platform: Platform, duration: Duration = compute_bound
) -> TaskGraph:
    """Tasks, edges, durations and memory objects of ``group`` sliced by ``slicings``."""
    tasks, durations, layer_of, regions, work_of = [], {}, {}, {}, {}
    tile_regions: dict[str, list[tuple[str, Box]]] = {}  # tensor -> [(task or memory name, region)]
    dram_objects: dict[str, tuple[int, list[str]]] = {}
    edges_words: dict[tuple[str, str], int] = {}
    for k, layer in enumerate(group.layers):
        slicing = slicings.get(layer.name, Slicing())
        sources = {"I": group.chain_input(k)}
        if group.residual_input(k):
            sources["I2"] = group.residual_input(k)
        for index, work in enumerate(tile_work(layer, slicing)):
            task = f"{layer.name}#{index}"
            tasks.append(task)
            layer_of[task] = layer.name
            work_of[task] = Box(tuple(work[d] for d in DIMS))
            regions[task] = fmap_region(layer, "O", work)
            durations[task] = tuple(duration(layer, work_of[task], cluster) for cluster in platform.clusters)
            for role, tensor in sources.items():
                needed = fmap_region(layer, role, work)
                if tensor not in tile_regions:  # a DRAM tensor: row tiles like this consumer's
                    tile_regions[tensor] = []
                    for i, (lo, hi) in enumerate(split(layer.in_rows, slicing.rows)):
                        name = f"{tensor}@{i}"
                        box = Box(((0, layer.bounds["N"]), (0, layer.in_channels), (lo, hi), (0, layer.input_hw[1])))
                        tile_regions[tensor].append((name, box))
                        dram_objects[name] = (box.words, [])
                        regions[name] = box
                for source, region in tile_regions[tensor]:
                    words = _overlap_words(needed, region)
                    if not words:
                        continue
                    if source in dram_objects:
                        dram_objects[source][1].append(task)
                    else:
                        edges_words[source, task] = edges_words.get((source, task), 0) + words
        tile_regions[layer.name] = [(t, regions[t]) for t in tasks if layer_of[t] == layer.name]
    link = platform.link_words_per_cycle
    edges = {edge: (ceil(words / link) if link else 0) for edge, words in edges_words.items()}
    memory = [MemoryObject(t, regions[t].words, t, tuple(v for (u, v) in edges_words if u == t)) for t in tasks] + [
        MemoryObject(name, words, None, tuple(users)) for name, (words, users) in dram_objects.items() if users
    ]
    return TaskGraph(
        tasks=tuple(tasks),
        processors=platform.names,
        durations=durations,
        edges=edges,
        memory=tuple(memory),
        layer_of=layer_of,
        regions=regions,
        edge_words=edges_words,
        work=work_of,
    )


def problem_graph(problem: Problem, duration: Duration = compute_bound) -> tuple[FusedGroup, TaskGraph, Platform]:
    spec = problem.taskgraph
    group = build_group(problem.layers, problem.source)
    platform = spec.platform
    slicings = {name: Slicing(*parts) for name, parts in spec.slicing.items()}
    return group, build_task_graph(group, slicings, platform, duration), platform
