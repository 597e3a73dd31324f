"""Decode a single-layer mapping into the schedule IR (DRAM <-> GLB level).

The decoder walks the DRAM loop nest explicitly, in the mapping's order, and
compares the operand regions of consecutive iterations: a tensor whose
region changes is (re)loaded; an output region is stored when evicted and
read back when revisited. An input tile that moves one step along P or Q
keeps its overlap with the previous one and fetches only the new rows or cols
(sliding-window reuse): the rows left behind are freed, the rest stay. It
never uses the cost model's closed-form counts; the referee checks that both
agree.

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
from mapper.core.box import Box, Range
from mapper.core.enums import Axis
from mapper.core.mapping import Mapping
from mapper.core.spec import DIMS, RELEVANT_DIMS, SLIDING_AXIS, Accelerator, Layer
from mapper.referee.schedule import (
    Op,
    Schedule,
    input_axis_position,
    operand_region,
    single_layer_schedule,
    tile_key,
)


@dataclass
class _Resident:
    """The resident tile of one tensor: its loop ranges ``work``, its region
    ``box`` and the allocations (``pieces``) that hold it: one, or for an input
    tile that slid, the kept rows of earlier tiles and the newly fetched ones."""

    work: dict[str, Range]
    box: Box
    pieces: list[Box]
    ready: int
    last_use: int = 0


def slide_axis(layer: Layer, old: dict[str, Range], new: dict[str, Range]) -> Axis | None:
    """The input axis along which the input tile of ``new`` is that of ``old``
    moved one step along P (Q), its other coordinates unchanged: the overlap
    stays resident (sliding-window reuse, DESIGN 4.1). None otherwise."""
    moved = [d for d in sorted(RELEVANT_DIMS["I"]) if old[d] != new[d]]
    if len(moved) != 1 or moved[0] not in SLIDING_AXIS:
        return None
    axis = SLIDING_AXIS[moved[0]]
    if layer.windows_disjoint(axis) or new[moved[0]][0] != old[moved[0]][1]:
        return None
    return axis


def _split(box: Box, axis: int, at: int) -> tuple[Box | None, Box | None]:
    """``box`` cut along tensor axis ``axis`` at ``at``: the parts below and from it."""
    lo, hi = box.ranges[axis]
    parts = []
    for a, b in ((lo, min(hi, at)), (max(lo, at), hi)):
        ranges = list(box.ranges)
        ranges[axis] = (a, b)
        parts.append(Box(tuple(ranges)) if a < b else None)
    return parts[0], parts[1]


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

    def release(tensor: str, axis: int | None = None, keep_from: int = 0) -> list[Box]:
        """Free the resident tile of ``tensor`` when its last compute ends
        (storing outputs first); with ``axis``, free only its rows (cols) below
        ``keep_from`` and return the pieces that stay."""
        old = resident.pop(tensor)
        free_at = old.last_use
        if tensor == "O":
            free_at = transfer("store", "O", old.box, old.last_use)
        kept = []
        for piece in old.pieces:
            drop, keep = (piece, None) if axis is None else _split(piece, axis, keep_from)
            if drop is not None:
                schedule.add(Op("free", free_at, free_at, tensor=tensor, box=drop))
            if keep is not None:
                kept.append(keep)
        slots[tensor].append(free_at)
        return kept

    for work in dram_iterations(mapping, glb_extents):
        for tensor in layer.tensors:
            old = resident.get(tensor)
            if old is not None and tile_key(tensor, old.work) == tile_key(tensor, work):
                continue
            box = fetch = operand_region(layer, tensor, work)
            kept = []
            slide = slide_axis(layer, old.work, work) if old is not None and tensor == "I" else None
            if slide is not None:
                axis = input_axis_position(layer, slide)
                kept = release(tensor, axis, box.ranges[axis][0])
                if kept:
                    fetch = _split(box, axis, kept[-1].ranges[axis][1])[1]
            elif old is not None:
                release(tensor)
            slots[tensor].sort()
            slot_free = slots[tensor].pop(0)
            if tensor == "O" and box not in visited_outputs:
                schedule.add(Op("alloc", slot_free, slot_free, tensor="O", box=box))
                ready = slot_free
            else:
                ready = transfer("load", tensor, fetch, slot_free)
            if tensor == "O":
                visited_outputs.add(box)
            resident[tensor] = _Resident(work, box, [*kept, fetch], ready)
        start = max([pe_free] + [r.ready for r in resident.values()])
        macs = prod(hi - lo for lo, hi in work.values())
        pe_free = start + macs // used_pes
        schedule.add(Op("compute", start, pe_free, work=Box(tuple(work[d] for d in DIMS)), pes=pes, layer=layer.name))
        for r in resident.values():
            r.last_use = pe_free
    for tensor in list(resident):
        release(tensor)
    return schedule
