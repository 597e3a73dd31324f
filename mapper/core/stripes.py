"""Exact row schedule of a fused chain of layers computed in row stripes.

The group computes the output of its last layer in stripes of ``height``
rows. For each stripe every layer computes only the new rows its consumer
needs (receptive fields back-propagated through stride, dilation and
padding); rows already computed stay on chip, so no row is computed twice.
Feature maps are stored unpadded; padding rows are virtual zeros.

Notation for layer k (1-based in the docs, 0-based here) and stripe j:
``done[k][j]``  rows of layer k's output computed after stripe j (b_k(j));
``first_needed[k][j]`` first row of layer k's output that layer k+1 still
needs from stripe j on (a_k(j)). ``GROUP_INPUT`` (-1) stands for the group's input
in place of a layer index.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from mapper.core.enums import Axis
from mapper.core.spec import AXIS_DIMS, Layer

GROUP_INPUT = -1  # the layer index that stands for the group's input


def span_needed(layer: Layer, axis: Axis, out_lo: int, out_hi: int) -> tuple[int, int]:
    """Input rows or cols (along ``axis``) [lo, hi) that outputs [out_lo,
    out_hi) of ``layer`` read, clipped to the real input (padding is virtual)."""
    if out_hi <= out_lo:
        return (0, 0)
    stride, dilation, pad = layer.stride[axis], layer.dilation[axis], layer.padding[axis]
    kernel = layer.bounds[AXIS_DIMS[axis][1]]
    size = layer.in_rows if axis is Axis.ROWS else (layer.input_hw[1] if layer.input_hw else layer.bounds["Q"])
    lo = max(0, out_lo * stride - pad)
    hi = min(size, (out_hi - 1) * stride - pad + (kernel - 1) * dilation + 1)
    return (lo, max(lo, hi))


def rows_needed(layer: Layer, out_lo: int, out_hi: int) -> tuple[int, int]:
    """Input rows [lo, hi) that output rows [out_lo, out_hi) of ``layer`` read."""
    return span_needed(layer, Axis.ROWS, out_lo, out_hi)


def group_consumers(layers: tuple[Layer, ...]) -> list[list[int]]:
    """consumers[k]: indices of the layers of the group that read layer k's
    output (along the chain or as an add's residual operand)."""
    index = {layer.name: k for k, layer in enumerate(layers)}
    consumers = [[] for _ in layers]
    for c, layer in enumerate(layers):
        for name in layer.inputs:
            if name in index and c not in consumers[index[name]]:
                consumers[index[name]].append(c)
    return consumers


@dataclass(frozen=True)
class StripeSchedule:
    layers: tuple[Layer, ...]
    height: int

    @cached_property
    def consumers(self) -> list[list[int]]:
        """In-group consumers of each layer's output; the group input (GROUP_INPUT,
        stored last) is read by the first layer."""
        return group_consumers(self.layers) + [[0]]

    @cached_property
    def stripes(self) -> int:
        out_rows = self.layers[-1].bounds["P"]
        return -(-out_rows // self.height)

    @cached_property
    def done(self) -> list[list[int]]:
        """done[k][j] for k in GROUP_INPUT .. n-1, as a list offset by one."""
        n, out_rows = len(self.layers), self.layers[-1].bounds["P"]
        table = [[0] * self.stripes for _ in range(n + 1)]  # table[k + 1] is layer k
        for j in range(self.stripes):
            table[n][j] = min(out_rows, (j + 1) * self.height)
            for k in range(n - 2, GROUP_INPUT - 1, -1):
                needed = max(rows_needed(self.layers[c], 0, table[c + 1][j])[1] for c in self.consumers[k])
                table[k + 1][j] = max(table[k + 1][j - 1] if j else 0, needed)
        return table

    def done_rows(self, k: int, j: int) -> int:
        """Rows of layer k's output (k = GROUP_INPUT) available after stripe j."""
        if j < 0:
            return 0
        return self.done[k + 1][min(j, self.stripes - 1)]

    def computed_rows(self, k: int, j: int) -> int:
        """Rows layer k computes in stripe j (k = GROUP_INPUT: input rows loaded)."""
        return self.done_rows(k, j) - self.done_rows(k, j - 1)

    def first_needed(self, k: int, j: int) -> int:
        """First row of layer k's output (k = GROUP_INPUT) that some
        in-group consumer reads in stripe j or later."""
        firsts = []
        for c in self.consumers[k]:
            consumer, start = self.layers[c], self.done_rows(c, j - 1)
            if start < consumer.bounds["P"]:
                firsts.append(rows_needed(consumer, start, consumer.bounds["P"])[0])
        return min(firsts, default=self.done_rows(k, self.stripes - 1))

    def window_rows(self, k: int, lookahead: int) -> int:
        """Most rows of layer k's output (k = GROUP_INPUT) resident at once
        when the producer may run ``lookahead`` stripes ahead of the consumer:
        max_j done(k, j + lookahead) - first_needed(k, j)."""
        return max(self.done_rows(k, j + lookahead) - self.first_needed(k, j) for j in range(self.stripes))
