"""Functional executor: run a schedule on random integer tensors and compare
the outputs bit for bit with a direct reference computation.

Conventions: the input in DRAM is the padded input (zero borders); average
pooling is computed as the window sum (the 1/(R*S) scale is a free epilogue);
max pooling starts from the smallest int64.
"""

from __future__ import annotations

import numpy as np

from mapper.referee.schedule import Box, Schedule, grouped_shape
from mapper.referee.simulator import Measurement, ScheduleViolation, simulate
from mapper.spec import Accelerator, Layer

MAX_IDENTITY = np.iinfo(np.int64).min


def random_tensors(layer: Layer, seed: int) -> dict[str, np.ndarray]:
    """W and the padded I as small random int64 tensors (I's padding border is 0)."""
    rng = np.random.default_rng(seed)
    tensors = {}
    if "W" in layer.tensors:
        tensors["W"] = rng.integers(-8, 8, size=grouped_shape(layer, "W"), dtype=np.int64)
    shape = grouped_shape(layer, "I")
    padded = np.zeros(shape, dtype=np.int64)
    (ph, pw), (h, w) = layer.padding, shape[3:]
    padded[:, :, :, ph : h - ph or None, pw : w - pw or None] = rng.integers(
        -8, 8, size=shape[:3] + (len(range(ph, h - ph)), len(range(pw, w - pw))), dtype=np.int64
    )
    tensors["I"] = padded
    return tensors


def reference_output(layer: Layer, tensors: dict[str, np.ndarray]) -> np.ndarray:
    """Direct computation over whole tensors with sliding windows:
    windows[n, g, c, p, q, r, s] = I[n, g, c, p*sh + r*dh, q*sw + s*dw]."""
    b = layer.bounds
    (sh, sw), (dh, dw) = layer.stride, layer.dilation
    span_h, span_w = (b["R"] - 1) * dh + 1, (b["S"] - 1) * dw + 1
    windows = np.lib.stride_tricks.sliding_window_view(tensors["I"], (span_h, span_w), axis=(3, 4))
    windows = windows[:, :, :, ::sh, ::sw][:, :, :, : b["P"], : b["Q"], ::dh, ::dw]
    if layer.kind in ("conv", "depthwise", "fc"):
        return np.einsum("gkcrs,ngcpqrs->ngkpq", tensors["W"], windows)
    if layer.kind == "maxpool":
        return windows.max(axis=(5, 6))  # K = C = 1: [n, g, 1, p, q]
    return windows.sum(axis=(5, 6))


class FunctionalData:
    """The data plane of a replay: DRAM contents and per-op arithmetic."""

    def __init__(self, layer: Layer, seed: int = 0):
        self.layer = layer
        self.inputs = random_tensors(layer, seed)
        self.dram = dict(self.inputs)
        self.dram["O"] = np.zeros(grouped_shape(layer, "O"), dtype=np.int64)

    def identity_tile(self, box: Box) -> np.ndarray:
        shape = tuple(hi - lo for lo, hi in box.ranges)
        fill = MAX_IDENTITY if self.layer.kind == "maxpool" else 0
        return np.full(shape, fill, dtype=np.int64)

    def compute(self, layer: Layer, work: dict, operands: dict) -> None:
        """O[work] (+)= op(W[work], I[work]) using only the resident allocations."""
        views = {t: alloc.values[region.slices(alloc.box)] for t, (alloc, region) in operands.items()}
        (sh, sw), (dh, dw) = layer.stride, layer.dilation
        num_p, num_q = work["P"][1] - work["P"][0], work["Q"][1] - work["Q"][0]
        out = views["O"]
        for r in range(work["R"][1] - work["R"][0]):
            for s in range(work["S"][1] - work["S"][0]):
                rows = slice(r * dh, r * dh + (num_p - 1) * sh + 1, sh)
                cols = slice(s * dw, s * dw + (num_q - 1) * sw + 1, sw)
                window = views["I"][:, :, :, rows, cols]  # [n, g, c, p, q]
                if layer.kind == "maxpool":
                    np.maximum(out, window, out=out)
                elif layer.kind == "avgpool":
                    out += window
                else:
                    out += np.einsum("gkc,ngcpq->ngkpq", views["W"][:, :, :, r, s], window)


def execute(schedule: Schedule, accelerator: Accelerator, seed: int = 0) -> Measurement:
    """Replay with values; raise ScheduleViolation if the outputs differ from
    the reference anywhere (naming the first differing element)."""
    data = FunctionalData(schedule.layer, seed)
    measured = simulate(schedule, accelerator, data)
    expected = reference_output(schedule.layer, data.inputs)
    wrong = np.argwhere(data.dram["O"] != expected)
    if len(wrong):
        where = tuple(int(i) for i in wrong[0])
        raise ScheduleViolation(
            f"functional: {len(wrong)} output values differ from the reference; first at O{list(where)}: "
            f"got {data.dram['O'][where]}, expected {expected[where]}"
        )
    return measured
