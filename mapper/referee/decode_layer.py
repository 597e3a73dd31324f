"""Decode a single-layer mapping into the schedule IR (DRAM <-> GLB level).

The decoder walks the DRAM loop nest explicitly, in the mapping's order, and
compares the operand regions of consecutive iterations: a tensor whose
region changes is (re)loaded; an output region is stored when evicted and
read back when revisited. It never uses the cost model's closed-form counts;
the referee checks that both agree.

Timing: one DMA channel moves ceil(words / DRAM bandwidth) cycles per
transfer, in issue order; the PE array runs one compute op at a time for
MACs / used PEs cycles. Every tensor has two GLB slots when the GLB is
double-buffered (the next tile loads while the current one is in use), one
otherwise.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from math import prod

from mapper.core.arith import ceil_div
from mapper.core.box import Box
from mapper.core.mapping import Mapping
from mapper.core.spec import DIMS, Accelerator, Layer
from mapper.referee.schedule import Op, Schedule, operand_region, single_layer_schedule, tile_key


@dataclass
class _Resident:
    key: tuple
    box: Box
    ready: int
    last_use: int = 0


def dram_iterations(mapping: Mapping, extents: dict[str, int]):
    """Work boxes (dim -> range) of the DRAM loop nest, in execution order."""
    order = mapping.orders["DRAM"]
    factors = mapping.factors["DRAM"]
    for index in itertools.product(*(range(factors[d]) for d in order)):
        position = dict(zip(order, index, strict=True))
        yield {d: (position[d] * extents[d], (position[d] + 1) * extents[d]) for d in DIMS}


def decode_layer(layer: Layer, accelerator: Accelerator, mapping: Mapping) -> Schedule:
    glb_extents = mapping.extents_below("DRAM")
    rows_used = prod(mapping.factors["ROW"][d] for d in DIMS)
    cols_used = prod(mapping.factors["COL"][d] for d in DIMS)
    pes = (0, rows_used, 0, cols_used)
    used_pes = rows_used * cols_used
    bandwidth = accelerator.levels["DRAM"].bandwidth_words_per_cycle
    slots_per_tensor = accelerator.levels["GLB"].copies
    schedule = single_layer_schedule(layer)
    slots = {t: [0] * slots_per_tensor for t in layer.tensors}  # times the slots become free
    resident: dict[str, _Resident] = {}
    visited_outputs: set[Box] = set()
    dma_free = pe_free = 0

    def transfer(kind: str, tensor: str, box: Box, earliest: int) -> int:
        nonlocal dma_free
        start = max(dma_free, earliest)
        dma_free = start + ceil_div(box.words, bandwidth)
        schedule.add(Op(kind, start, dma_free, tensor=tensor, box=box))
        return dma_free

    def release(tensor: str) -> None:
        old = resident.pop(tensor)
        free_at = old.last_use
        if tensor == "O":
            free_at = transfer("store", "O", old.box, old.last_use)
        schedule.add(Op("free", free_at, free_at, tensor=tensor, box=old.box))
        slots[tensor].append(free_at)

    for work in dram_iterations(mapping, glb_extents):
        for tensor in layer.tensors:
            key = tile_key(tensor, work)
            if tensor in resident and resident[tensor].key == key:
                continue
            box = operand_region(layer, tensor, work)
            if tensor in resident:
                release(tensor)
            slots[tensor].sort()
            slot_free = slots[tensor].pop(0)
            if tensor == "O" and box not in visited_outputs:
                schedule.add(Op("alloc", slot_free, slot_free, tensor="O", box=box))
                ready = slot_free
            else:
                ready = transfer("load", tensor, box, slot_free)
            if tensor == "O":
                visited_outputs.add(box)
            resident[tensor] = _Resident(key, box, ready)
        start = max([pe_free] + [r.ready for r in resident.values()])
        macs = prod(hi - lo for lo, hi in work.values())
        pe_free = start + macs // used_pes
        schedule.add(Op("compute", start, pe_free, work=Box(tuple(work[d] for d in DIMS)), pes=pes, layer=layer.name))
        for r in resident.values():
            r.last_use = pe_free
    for tensor in list(resident):
        release(tensor)
    return schedule
