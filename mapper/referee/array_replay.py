"""Replay of the per-PE register files by explicit iteration.

Walks the combined nest (DRAM loops, then GLB loops, each in its order) and,
at every iteration, the tile each tensor occupies across the array. Counts
RF fills and drains over all used PEs (inputs at each change, outputs drained
at each change and read back on revisits) and each tensor's RF tile. The
words the GLB port moves are measured on the replayed schedule itself
(``mapper.referee.simulator``).

A DRAM iteration of the same extents whose GLB nest starts from the same tiles,
relative to its origin, and the same visited output tiles inside its GLB output
tile, as an earlier one counts what that one counted (the rule ``mapper.referee.aggregate``
states for the whole replay); the others are walked one by one, at most
``limit`` GLB iterations.
"""

from __future__ import annotations

from dataclasses import dataclass
from math import prod

from mapper.core.mapping import Mapping
from mapper.core.spec import DIMS, RELEVANT_DIMS, Layer
from mapper.referee.replay_state import ScheduleViolation, VisitedTiles, overlap
from mapper.referee.schedule import (
    array_slide_axes,
    dram_iterations,
    nest_iterations,
    operand_region,
    slide_axis,
    tile_key,
)


@dataclass(frozen=True)
class ArrayCounts:
    rf_accesses: int
    rf_tile_words: dict[str, int]  # words of each tensor's tile in one PE's RF
    rf_fills: dict[str, int]  # times each tensor's RF tile changes over the nest (the first fill included)
    double_output: bool = False  # the mapping double-buffers the output's RF tile


def _relative(tensor: str, key: tuple, origin: dict[str, int], sign: int = -1) -> tuple:
    dims = sorted(RELEVANT_DIMS[tensor])
    return tuple((lo + sign * origin[d], hi + sign * origin[d]) for d, (lo, hi) in zip(dims, key, strict=True))


def _kept_words(layer: Layer, old: tuple | None, new: tuple, rf_ext: dict[str, int], slides: set) -> int:
    """Input words one PE's RF keeps when its array tile moves from tile key ``old``
    to ``new`` inside a GLB nest: the overlap of the two RF tiles where the tile
    slides along an axis in ``slides`` (``mapper.referee.decode_layer``), else 0."""
    dims = sorted(RELEVANT_DIMS["I"])
    if old is None:
        return 0
    before, after = dict(zip(dims, old, strict=True)), dict(zip(dims, new, strict=True))
    if slide_axis(layer, before, after) not in slides:
        return 0
    boxes = [operand_region(layer, "I", {d: (w[d][0], w[d][0] + rf_ext[d]) for d in dims}) for w in (before, after)]
    kept = overlap(*boxes)
    return kept.words if kept is not None else 0


def replay_array(layer: Layer, mapping: Mapping, memo: bool = True, limit: int | None = None) -> ArrayCounts:
    array_ext = mapping.extents_below("GLB", layer.bounds)
    rf_ext = mapping.extents_below("COL", layer.bounds)
    used_pes = mapping.used_pes
    rf_words = {t: operand_region(layer, t, {d: (0, rf_ext[d]) for d in DIMS}).words for t in layer.tensors}
    current: dict[str, tuple] = {}  # tensor -> tile key of its tile in the array
    visited = VisitedTiles()
    fills = dict.fromkeys(layer.tensors, 0)
    rf = walked = 0
    seen: dict[tuple, tuple] = {}
    slides = array_slide_axes(mapping)
    glb_nest = prod(mapping.factors["GLB"].values())
    for work in dram_iterations(mapping, layer.bounds):
        origin = {d: work[d][0] for d in DIMS}
        outer = operand_region(layer, "O", work)
        shape = tuple(hi - lo for lo, hi in work.values())  # a remainder tile of an uneven split is smaller
        key = (tuple((t, _relative(t, k, origin)) for t, k in current.items()), visited.pattern(outer), shape)
        if memo and key in seen:
            ends, pattern, added, words = seen[key]
            current = {t: _relative(t, k, origin, 1) for t, k in ends}
            visited.restore(outer, pattern)
            fills = {t: fills[t] + added[t] for t in fills}
            rf += words
            continue
        walked += glb_nest
        if limit is not None and walked > limit:
            raise ScheduleViolation(f"not replayed: the RF replay would walk over {limit:,} iterations one by one")
        before, rf_before = dict(fills), rf
        for j, inner in enumerate(nest_iterations(mapping, "GLB", origin, array_ext, layer.bounds)):
            for t in layer.tensors:
                tile = tile_key(t, inner)
                if current.get(t) == tile:
                    continue
                fills[t] += 1
                if t != "O":
                    kept = _kept_words(layer, current.get(t), tile, rf_ext, slides) if j and t == "I" else 0
                    rf += used_pes * (rf_words[t] - kept)
                else:
                    if "O" in current:  # evict: every PE drains
                        rf += used_pes * rf_words["O"]
                    if visited.visit(outer, operand_region(layer, "O", inner)):  # revisit: read partial sums back
                        rf += used_pes * rf_words["O"]
                current[t] = tile
        ends = tuple((t, _relative(t, k, origin)) for t, k in current.items())
        seen[key] = (ends, visited.pattern(outer), {t: fills[t] - before[t] for t in fills}, rf - rf_before)
    rf += used_pes * rf_words["O"]
    return ArrayCounts(rf, rf_words, fills, mapping.output_double("RF"))
