"""Functional executor: run a schedule on random integer tensors and compare
the outputs bit for bit with a direct reference computation.

Conventions: in layer mode the input in DRAM is the padded input (zero
borders); in fused mode feature maps are unpadded and padding is virtual
zeros (the same values). Average pooling is computed as the window sum (the
1/(R*S) scale is a free epilogue); max pooling starts from the smallest
int64 and pads with zeros.
"""

from __future__ import annotations

import numpy as np

from mapper.core.box import Box
from mapper.core.enums import Axis
from mapper.core.spec import AXIS_DIMS, Accelerator, Layer
from mapper.core.stripes import span_needed
from mapper.referee.schedule import Op, Schedule
from mapper.referee.simulator import Allocation, Measurement, ScheduleViolation, simulate

MAX_IDENTITY = np.iinfo(np.int64).min


def reference_output(layer: Layer, weights: np.ndarray | None, padded: np.ndarray) -> np.ndarray:
    """Direct computation over whole tensors with sliding windows:
    windows[n, g, c, p, q, r, s] = I[n, g, c, p*sh + r*dh, q*sw + s*dw];
    ``padded`` is the grouped padded input [N, G, C, H, W]; returns [N, G, K, P, Q]."""
    b = layer.bounds
    (sh, sw), (dh, dw) = layer.stride, layer.dilation
    span_h, span_w = (b["R"] - 1) * dh + 1, (b["S"] - 1) * dw + 1
    windows = np.lib.stride_tricks.sliding_window_view(padded, (span_h, span_w), axis=(3, 4))
    windows = windows[:, :, :, ::sh, ::sw][:, :, :, : b["P"], : b["Q"], ::dh, ::dw]
    if layer.kind in ("conv", "depthwise", "fc"):
        return np.einsum("gkcrs,ngcpqrs->ngkpq", weights, windows)
    if layer.kind == "maxpool":
        return windows.max(axis=(5, 6))  # K = C = 1: [n, g, 1, p, q]
    return windows.sum(axis=(5, 6))


def _tap_rows(layer: Layer, axis: Axis, outputs: int, taps: int) -> np.ndarray:
    """[outputs, taps] padded row (col) indices o*stride + t*dilation."""
    return np.arange(outputs)[:, None] * layer.stride[axis] + np.arange(taps)[None, :] * layer.dilation[axis]


def stored_input(layer: Layer, padded: np.ndarray) -> np.ndarray:
    """The grouped padded input [N, G, C, H, W] in layer-mode storage: along an
    axis with disjoint windows, the (output, tap) pairs replace the rows."""
    b, stored = layer.bounds, padded
    for axis, position in ((Axis.ROWS, 3), (Axis.COLS, -1)):
        if layer.windows_disjoint(axis):
            out_dim, kernel_dim = AXIS_DIMS[axis]
            stored = np.take(stored, _tap_rows(layer, axis, b[out_dim], b[kernel_dim]), axis=position)
    return stored


def dense_window(layer: Layer, values: np.ndarray) -> np.ndarray:
    """A stored input region [N, G, C, rows.., cols..] as a dense window
    [N, G, C, h, w] whose (0, 0) is its first tap: (output, tap) axes are
    scattered to rows o*stride + t*dilation; rows no tap reads stay zero."""
    window = values
    for axis, position in ((Axis.ROWS, 3), (Axis.COLS, 4)):
        if not layer.windows_disjoint(axis):
            continue
        outputs, taps = window.shape[position], window.shape[position + 1]
        rows = _tap_rows(layer, axis, outputs, taps).ravel()
        moved = np.moveaxis(
            window.reshape(window.shape[:position] + (outputs * taps,) + window.shape[position + 2 :]), position, 0
        )
        dense = np.zeros((int(rows[-1]) + 1,) + moved.shape[1:], dtype=window.dtype)
        dense[rows] = moved
        window = np.moveaxis(dense, 0, position)
    return window


def grouped(fmap: np.ndarray, groups: int) -> np.ndarray:
    """[N, G*C, H, W] -> [N, G, C, H, W]."""
    n, channels, h, w = fmap.shape
    return fmap.reshape(n, groups, channels // groups, h, w)


def pad_fmap(
    layer: Layer, values: np.ndarray, rows: tuple[int, int], first_row: int, cols: tuple[int, int], first_col: int
) -> np.ndarray:
    """The zero-padded input window that outputs rows x cols read, filled with
    the real data ``values`` (whose first row / col are input row ``first_row``,
    col ``first_col``). Local (0, 0) is padded (rows[0] * stride, cols[0] * stride)."""
    (ph, pw), b = layer.padding, layer.bounds
    span_rows = layer.input_extent(rows[1] - rows[0], b["R"], Axis.ROWS)
    span_cols = layer.input_extent(cols[1] - cols[0], b["S"], Axis.COLS)
    window = np.zeros(values.shape[:2] + (span_rows, span_cols), dtype=np.int64)
    row_at = first_row + ph - rows[0] * layer.stride[0]
    col_at = first_col + pw - cols[0] * layer.stride[1]
    count_r = min(values.shape[2], span_rows - row_at)
    count_c = min(values.shape[3], span_cols - col_at)
    window[:, :, row_at : row_at + count_r, col_at : col_at + count_c] = values[:, :, :count_r, :count_c]
    return window


def apply_taps(
    layer: Layer, out: np.ndarray, weights: np.ndarray | None, window: np.ndarray, taps: tuple[int, int]
) -> None:
    """out[n, g, k, p, q] (+)= op over ``taps`` (r, s) of window[n, g, c, p*sh + r*dh, q*sw + s*dw]
    for the out.shape[3] x out.shape[4] outputs of ``out``; ``window`` starts at the first tap."""
    (sh, sw), (dh, dw) = layer.stride, layer.dilation
    num_p, num_q = out.shape[3], out.shape[4]
    for r in range(taps[0]):
        for s in range(taps[1]):
            view = window[
                :, :, :, r * dh : r * dh + (num_p - 1) * sh + 1 : sh, s * dw : s * dw + (num_q - 1) * sw + 1 : sw
            ]
            if layer.kind == "maxpool":
                np.maximum(out, view, out=out)
            elif layer.kind == "avgpool":
                out += view
            else:
                out += np.einsum("gkc,ngcpq->ngkpq", weights[:, :, :, r, s], view)


class FunctionalData:
    """The data plane of a replay: DRAM contents and per-op arithmetic."""

    def __init__(self, schedule: Schedule, seed: int = 0):
        self.schedule = schedule
        rng = np.random.default_rng(seed)
        produced = schedule.produced
        self.producer_kind = {roles["O"]: schedule.layers[name].kind for name, roles in schedule.roles.items()}
        self.dram = {}
        for tensor, shape in schedule.tensor_shapes.items():
            if tensor in produced:
                self.dram[tensor] = np.zeros(shape, dtype=np.int64)
            elif tensor not in schedule.aliases:
                self.dram[tensor] = rng.integers(-8, 8, size=shape, dtype=np.int64)
        for alias, source in schedule.aliases.items():
            self.dram[alias] = self.dram[source]
        self.inputs = {t: a.copy() for t, a in self.dram.items() if t not in produced}
        if schedule.storage == "grouped":  # layer mode: the input is padded (zero borders), then stored
            layer = next(iter(schedule.layers.values()))
            n, _, h, w = layer.tensor_shape("I")
            padded = rng.integers(-8, 8, size=(n, layer.bounds["G"], layer.bounds["C"], h, w), dtype=np.int64)
            (ph, pw) = layer.padding
            interior = np.zeros_like(padded, dtype=bool)
            interior[:, :, :, ph : h - ph or None, pw : w - pw or None] = True
            padded[~interior] = 0
            self.inputs["I"] = padded
            self.dram["I"] = stored_input(layer, padded)

    def identity_tile(self, op: Op) -> np.ndarray:
        shape = tuple(hi - lo for lo, hi in op.box.ranges)
        fill = MAX_IDENTITY if self.producer_kind.get(op.tensor) == "maxpool" else 0
        return np.full(shape, fill, dtype=np.int64)

    @staticmethod
    def assemble(region: Box, parts: list[tuple[Allocation, Box]]) -> np.ndarray:
        values = np.zeros(tuple(hi - lo for lo, hi in region.ranges), dtype=np.int64)
        for alloc, common in parts:
            values[common.slices(region)] = alloc.values[common.slices(alloc.box)]
        return values

    def compute(self, schedule: Schedule, op: Op, inputs: dict, out: Allocation, out_region: Box) -> None:
        """O[work] (+)= op(W[work], I[work]) from the resident allocations only."""
        layer = schedule.layers[op.layer]
        views = {role: self.assemble(region, parts) for role, (region, parts) in inputs.items()}
        target = out.values[out_region.slices(out.box)]
        if layer.kind == "add":  # the same box of both operands, in either storage
            target += views["I"] + views["I2"]
            return
        if schedule.storage == "grouped":
            work = op.work_ranges
            taps = (work["R"][1] - work["R"][0], work["S"][1] - work["S"][0])
            apply_taps(layer, target, views.get("W"), dense_window(layer, views["I"]), taps)
            return
        b, work = layer.bounds, op.work_ranges
        groups = work["G"][1] - work["G"][0]
        rows, cols = work["P"], work["Q"]
        row0, col0 = span_needed(layer, Axis.ROWS, *rows)[0], span_needed(layer, Axis.COLS, *cols)[0]
        window = pad_fmap(layer, views["I"], rows, row0, cols, col0)
        shaped = grouped(target, groups).copy()
        apply_taps(layer, shaped, views.get("W"), grouped(window, groups), (b["R"], b["S"]))
        target[...] = shaped.reshape(target.shape)


def reference_outputs(schedule: Schedule, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Every produced tensor computed directly, layer after layer, from the inputs."""
    values = dict(inputs)
    for name, layer in schedule.layers.items():
        roles = schedule.roles[name]
        if layer.kind == "add":
            values[roles["O"]] = values[roles["I"]] + values[roles["I2"]]
            continue
        if schedule.storage == "grouped":
            values[roles["O"]] = reference_output(layer, values.get("W"), values["I"])
            continue
        b = layer.bounds
        padded = pad_fmap(layer, values[roles["I"]], (0, b["P"]), 0, (0, b["Q"]), 0)
        out = reference_output(layer, values.get(roles.get("W")), grouped(padded, b["G"]))
        values[roles["O"]] = out.reshape(out.shape[0], -1, out.shape[3], out.shape[4])
    return values


def execute(schedule: Schedule, accelerator: Accelerator, seed: int = 0) -> Measurement:
    """Replay with values; raise ScheduleViolation if a DRAM output differs from
    the reference anywhere (naming the first differing element)."""
    data = FunctionalData(schedule, seed)
    measured = simulate(schedule, accelerator, data)
    expected = reference_outputs(schedule, data.inputs)
    for tensor in sorted(schedule.dram_outputs | (schedule.held & schedule.produced)):
        wrong = np.argwhere(data.dram[tensor] != expected[tensor])
        if len(wrong):
            where = tuple(int(i) for i in wrong[0])
            raise ScheduleViolation(
                f"functional: {len(wrong)} values of {tensor} differ from the reference; first at {list(where)}: "
                f"got {data.dram[tensor][where]}, expected {expected[tensor][where]}"
            )
    return measured
