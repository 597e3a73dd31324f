"""Buffer reservations a result claims, re-derived by the referee.

A reservation is not a peak the replay reaches: it is the space a mapping
sets aside (docs/cost_model.md, docs/fusion.md). The referee derives it from
what its own decoding and replay produced, never from the cost model:

* single layer, GLB: each tensor's largest loaded (or allocated) tile, twice
  when the GLB is double-buffered and an input tile is refilled (loaded more
  than once in the replay), once otherwise (an output accumulates in place);
  summed over tensors;
* single layer, RF: the same rule on the RF tiles and RF fills counted by the
  array replay, and a refilled output tile twice where the mapping
  double-buffers it;
* fused group: the reservation rule of docs/fusion.md stated again here on
  the decoded tensors (their row sizes and weight sizes) and the row windows
  of ``mapper.core.stripes``; every load of the replay waits for this space.
"""

from __future__ import annotations

from collections import defaultdict
from math import prod

from mapper.core.group import FusedGroup, FusedMapping
from mapper.core.spec import Accelerator
from mapper.core.stripes import GROUP_INPUT, StripeSchedule
from mapper.referee.array_replay import ArrayCounts
from mapper.referee.schedule import ALLOCATING, Schedule


def _reserved(tile: dict[str, int], fills: dict[str, int], copies: int, double_output: bool = False) -> int:
    """Each tile once, a refilled input tile ``copies`` times (and a refilled output
    tile, ``double_output``)."""
    return sum(words * (copies if fills[t] > 1 and (t != "O" or double_output) else 1) for t, words in tile.items())


def glb_loads(ops) -> tuple[tuple[str, int], ...]:
    """(tensor, words) of each GLB load and allocation (a tensor held on chip too) among ``ops``."""
    return tuple((op.tensor, op.box.words) for op in ops if op.buffer == "GLB" and op.kind in ALLOCATING)


class GlbTiles:
    """Each tensor's largest GLB tile and its number of GLB loads and allocations,
    counted as they come (the streaming replay counts repeated iterations at once)."""

    def __init__(self):
        self.tile, self.fills = defaultdict(int), defaultdict(int)

    def count(self, loads) -> None:
        for tensor, words in loads:
            self.tile[tensor] = max(self.tile[tensor], words)
            self.fills[tensor] += 1

    def reserved(self, accelerator: Accelerator) -> int:
        return _reserved(self.tile, self.fills, accelerator.levels["GLB"].copies)


def layer_glb_reserved(schedule: Schedule, accelerator: Accelerator) -> int:
    tiles = GlbTiles()
    tiles.count(glb_loads(schedule.ops))
    return tiles.reserved(accelerator)


def layer_rf_reserved(array: ArrayCounts, accelerator: Accelerator) -> int:
    return _reserved(array.rf_tile_words, array.rf_fills, accelerator.levels["RF"].copies, array.double_output)


def _row_words(schedule: Schedule, tensor: str) -> int:
    batch, channels, _, cols = schedule.tensor_shapes[tensor]
    return batch * channels * cols


def fused_reserved(group: FusedGroup, mapping: FusedMapping, schedule: Schedule) -> dict:
    """The GLB words a fused mapping reserves, by part (the ``glb_breakdown`` of a result):
    resident weights, plus streamed weights (each its own block when partitioned, a
    double-buffered block of the largest when time-shared); the group input's row
    window with one stripe of prefetch; each intermediate's window (its producer one
    stripe ahead when partitioned); add operands from DRAM, two stripes; the output
    stripe, double-buffered."""
    layers, n = group.layers, len(group.layers)
    rows = StripeSchedule(layers, mapping.stripe_rows)
    shapes = schedule.tensor_shapes
    weights = [prod(shapes[f"{layer.name}.W"]) if f"{layer.name}.W" in shapes else 0 for layer in layers]
    resident = sum(w for w, kept in zip(weights, mapping.resident, strict=True) if kept)
    streamed = [w for w, kept in zip(weights, mapping.resident, strict=True) if not kept]
    partitioned = mapping.policy == "partitioned"
    stream = sum(streamed) if partitioned else 2 * max(streamed, default=0)
    ahead = 1 if partitioned else 0
    operands = 0
    for k, layer in enumerate(layers):
        if group.dram_operand(k):
            most = max(rows.computed_rows(k, j) + rows.computed_rows(k, j + 1) for j in range(rows.stripes))
            operands += most * _row_words(schedule, schedule.roles[layer.name]["I2"])
    last = layers[-1].name
    return {
        "weights": resident + stream,
        "input_window": rows.window_rows(GROUP_INPUT, 1) * _row_words(schedule, group.chain_input(0)),
        "intermediate_windows": [
            rows.window_rows(k, ahead) * _row_words(schedule, layers[k].name) for k in range(n - 1)
        ],
        "operand_windows": operands,
        "output_buffer": 2
        * max(rows.computed_rows(n - 1, j) for j in range(rows.stripes))
        * _row_words(schedule, last),
    }
