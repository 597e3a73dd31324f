"""Replay of the per-PE register files by explicit iteration.

Walks the combined nest (DRAM loops, then GLB loops, each in its order) and,
at every iteration, the region each tensor occupies across the array. Counts
RF fills and drains over all used PEs (inputs at each change, outputs drained
at each change and read back on revisits) and each tensor's RF tile. The
words the GLB port moves are measured on the replayed schedule itself
(``mapper.referee.simulator``); the caller bounds the number of iterations.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

from mapper.core.mapping import Mapping
from mapper.core.spec import DIMS, Layer
from mapper.referee.schedule import operand_region, tile_key


@dataclass(frozen=True)
class ArrayCounts:
    rf_accesses: int
    rf_tile_words: dict[str, int]  # words of each tensor's tile in one PE's RF
    rf_fills: dict[str, int]  # times each tensor's RF tile changes over the nest (the first fill included)


def replay_array(layer: Layer, mapping: Mapping) -> ArrayCounts:
    f = mapping.factors
    array_ext = mapping.extents_below("GLB")
    rf_ext = mapping.extents_below("COL")
    used_pes = mapping.used_pes
    rf_words = {t: operand_region(layer, t, {d: (0, rf_ext[d]) for d in DIMS}).words for t in layer.tensors}
    loops = [("DRAM", d) for d in mapping.orders["DRAM"]] + [("GLB", d) for d in mapping.orders["GLB"]]
    current = {}
    seen_outputs = set()
    fills = {t: 0 for t in layer.tensors}
    rf = 0
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
                if "O" in current:  # evict: every PE drains
                    rf += used_pes * rf_words["O"]
                if region in seen_outputs:  # revisit: read partial sums back
                    rf += used_pes * rf_words["O"]
                seen_outputs.add(region)
            else:
                rf += used_pes * rf_words[t]
            current[t] = (key, region)
    rf += used_pes * rf_words["O"]
    return ArrayCounts(rf, rf_words, fills)
