"""Replay of the GLB <-> PE-array level by explicit iteration.

Walks the combined nest (DRAM loops, then GLB loops, each in its order) and,
at every iteration, the region each tensor occupies across the array (one
multicast per distinct region). Counts: words the GLB sends to the array,
outputs written back (and partial sums read back on revisits), and RF fills
and drains over all used PEs. Exponential in nothing but the number of
iterations, which is bounded by ``limit``.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from math import prod

from mapper.core.mapping import Mapping
from mapper.core.spec import DIMS, Layer
from mapper.referee.schedule import operand_region, tile_key


@dataclass(frozen=True)
class ArrayCounts:
    glb_to_array: dict[str, int]
    array_to_glb: int
    rf_accesses: int
    iterations: int
    rf_tile_words: dict[str, int]  # words of each tensor's tile in one PE's RF
    rf_fills: dict[str, int]  # times each tensor's RF tile changes over the nest (the first fill included)

    @property
    def array_words(self) -> int:
        return sum(self.glb_to_array.values()) + self.array_to_glb


def replay_array(layer: Layer, mapping: Mapping, limit: int = 2_000_000) -> ArrayCounts | None:
    """None when the combined nest has more than ``limit`` iterations."""
    f = mapping.factors
    iterations = prod(f["DRAM"][d] * f["GLB"][d] for d in DIMS)
    if iterations > limit:
        return None
    array_ext = mapping.extents_below("GLB")
    rf_ext = mapping.extents_below("COL")
    used_pes = mapping.used_pes
    rf_words = {t: operand_region(layer, t, {d: (0, rf_ext[d]) for d in DIMS}).words for t in layer.tensors}
    loops = [("DRAM", d) for d in mapping.orders["DRAM"]] + [("GLB", d) for d in mapping.orders["GLB"]]
    current = {}
    seen_outputs = set()
    to_array = {t: 0 for t in layer.tensors}
    fills = {t: 0 for t in layer.tensors}
    to_glb = rf = 0
    for index in itertools.product(*(range(f[lv][d]) for lv, d in loops)):
        tile = {d: 0 for d in DIMS}
        for (lv, d), i in zip(loops, index, strict=True):
            tile[d] += i * (f["GLB"][d] if lv == "DRAM" else 1)
        work = {d: (tile[d] * array_ext[d], (tile[d] + 1) * array_ext[d]) for d in DIMS}
        for t in layer.tensors:
            key = tile_key(t, work)
            if t in current and current[t][0] == key:
                continue
            region = operand_region(layer, t, work)
            fills[t] += 1
            if t == "O":
                if "O" in current:  # evict: every PE drains, the array sends one reduced tile
                    to_glb += current["O"][1].words
                    rf += used_pes * rf_words["O"]
                if region in seen_outputs:  # revisit: read partial sums back
                    to_array["O"] += region.words
                    rf += used_pes * rf_words["O"]
                seen_outputs.add(region)
            else:
                to_array[t] += region.words
                rf += used_pes * rf_words[t]
            current[t] = (key, region)
    to_glb += current["O"][1].words
    rf += used_pes * rf_words["O"]
    return ArrayCounts(to_array, to_glb, rf, iterations, rf_words, fills)
