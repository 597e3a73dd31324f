"""Decode a task schedule of a CNN task graph into the schedule IR.

Each task becomes a compute op of its layer's tile on its cluster's PE
rectangle (clusters sit side by side along the array's columns). Its output
tile is allocated at the task's start and freed when its last consumer
finishes; the group output is stored to DRAM at the task's end. A DRAM tile
is loaded at its first consumer's start and freed when its last consumer
finishes. On the shared-memory platform, transfers take no time
(``timed_dram=False``). Weights are held outside the modelled memory
(``uncounted``).
"""

from __future__ import annotations

from mapper.core.box import Box
from mapper.core.group import FusedGroup, weight_words
from mapper.core.problem import Platform
from mapper.core.spec import Accelerator, MemoryLevel
from mapper.core.taskgraph import TaskGraph, TaskSchedule, memory_lifetimes
from mapper.referee.decode_fused import fused_schedule_frame
from mapper.referee.schedule import Op, Schedule


def platform_accelerator(platform: Platform) -> Accelerator:
    """The PE array and shared memory the referee checks a task schedule against."""
    rows = max(r for r, _ in platform.clusters)
    cols = sum(c for _, c in platform.clusters)
    memory = platform.memory_words if platform.memory_words is not None else 1 << 60
    levels = {
        "DRAM": MemoryLevel("DRAM", None, 1, 0),
        "GLB": MemoryLevel("GLB", memory, 1, 0),
        "RF": MemoryLevel("RF", 1, 1, 0),
    }
    return Accelerator("task-graph platform", 16, rows, cols, 0, levels)


def decode_taskgraph(group: FusedGroup, graph: TaskGraph, platform: Platform, schedule: TaskSchedule) -> Schedule:
    frame = fused_schedule_frame(group)
    for roles in frame.roles.values():  # a DRAM tensor read twice shares its tiles in a task graph
        if roles.get("I2") in frame.aliases:
            roles["I2"] = frame.aliases[roles["I2"]]
    frame.aliases = {}
    frame.timed_dram = False
    frame.uncounted = frozenset(f"{layer.name}.W" for layer in group.layers if weight_words(layer))
    ops = []
    end_all = max(schedule.end(graph, t) for t in graph.tasks)
    for tensor in frame.uncounted:
        box = Box(tuple((0, n) for n in frame.tensor_shapes[tensor]))
        ops += [Op("load", 0, 0, tensor=tensor, box=box), Op("free", end_all, end_all, tensor=tensor, box=box)]
    first_col = [sum(c for _, c in platform.clusters[:i]) for i in range(len(platform.clusters))]
    last_layer = group.layers[-1].name
    lives = {name: (alloc, release) for alloc, release, _, name in memory_lifetimes(graph, schedule)}
    for obj in graph.memory:
        alloc, release = lives[obj.name]
        if obj.producer is None:  # a DRAM tile, named "<tensor>@<index>"
            tensor, box = obj.name.rsplit("@", 1)[0], graph.regions[obj.name]
            ops += [
                Op("load", alloc, alloc, tensor=tensor, box=box),
                Op("free", release, release, tensor=tensor, box=box),
            ]
            continue
        task = obj.producer
        layer = graph.layer_of[task]
        start, end = schedule.start[task], schedule.end(graph, task)
        p = schedule.processor[task]
        rows, cols = platform.clusters[p]
        box = graph.regions[task]
        ops += [
            Op("alloc", start, start, tensor=layer, box=box),
            Op(
                "compute",
                start,
                end,
                work=graph.work[task],
                pes=(0, rows, first_col[p], first_col[p] + cols),
                layer=layer,
            ),
        ]
        if layer == last_layer:
            ops.append(Op("store", end, end, tensor=layer, box=box))
        ops.append(Op("free", release, release, tensor=layer, box=box))
    frame.ops = ops
    return frame
