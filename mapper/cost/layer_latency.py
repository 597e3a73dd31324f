"""Latency of one layer: the makespan of its lock-step schedule (DESIGN 4.1).

The schedule (``mapper.referee.decode_layer`` builds it op by op, the
referee measures its makespan; docs/cost_model.md draws it):

* Two channels: the DMA (DRAM <-> GLB, ``bw_DRAM`` words per cycle) and the
  GLB port (GLB <-> PE array, ``bw_GLB``). Every transfer moves one tile and
  takes ceil(words / bandwidth) cycles. One compute per GLB-loop iteration
  runs the RF loops on every used PE: C = prod_d f_RF[d] cycles.
* Inputs (W, I) are prefetched: while iteration i computes, the tiles that
  change at iteration i + 1 move in (into the second copy of a
  double-buffered level; after the compute in a single-buffered one).
  Outputs accumulate in place (one copy at every level): when the output
  tile changes, the old one is written out and the new one read back if it
  is a revisit (partial sums), serially, before the next compute. A
  double-buffered RF output tile (``Mapping.double_outputs``) drains during
  the next compute instead (``overlapped_drain_cycles``). An input tile that
  slides (``mapper.cost.loops.sliding_axis``) moves its new rows only.
* A tensor held on chip (``Layer.on_chip``) is in the GLB throughout: its GLB
  tiles take no DMA time and make no DRAM marks.
* Prologue (not hidden): the DRAM loads of iteration 0, then its array
  tiles. At every DRAM boundary J -> J+1, serially: drain the array's
  output tile, store / read back the GLB output tile, send the input array
  tiles that change at (J+1, 0). Epilogue (not hidden): the last drain and
  store. The DRAM prefetch of J+1 starts once the output transfers inside
  J's GLB nest are done, so every DRAM-iteration period is
  ``Y_J + max(X, F_{J+1})`` (double-buffered GLB) or ``Y_J + X + F_{J+1}``.

Closed form. A tile of tensor T changes at iteration i >= 1 of a nest of n
iterations exactly when R_T | i, R_T = n / visits(T) the product of the
factors inside T's innermost relevant loop with f > 1. The R_T of one nest
divide one another (suffix products of one loop order), so the tensors that
change at i are the first k of the tensors sorted by visits (descending):
exactly k change at v_(k) - v_(k+1) iterations (``prefix_class_sum``).
"""

from __future__ import annotations

from dataclasses import dataclass
from math import prod

from mapper.core.arith import ceil_div
from mapper.core.mapping import Mapping
from mapper.core.spec import AXIS_DIMS, DIMS, RELEVANT_DIMS, Accelerator, Layer
from mapper.cost.loops import combined_visits, glb_nest_starts, loop_visits, slid_fetch_words, sliding_axis


@dataclass(frozen=True)
class Mark:
    """A transfer of ``cycles`` at every iteration i >= 1 with R | i, R = n / ``visits``."""

    visits: int
    cycles: int


def prefix_class_sum(iterations: int, marks: list[Mark], window: int, double: bool) -> int:
    """sum_{i=1}^{n-1} period(i), period(i) = max(window, F(i)) when double-buffered,
    window + F(i) otherwise, F(i) = sum of the cycles of the marks with R | i."""
    if not double:
        return (iterations - 1) * window + sum((m.visits - 1) * m.cycles for m in marks)
    ranked = sorted(marks, key=lambda m: -m.visits)
    total = (iterations - (ranked[0].visits if ranked else 1)) * window  # iterations where nothing changes
    transfer = 0
    for k, mark in enumerate(ranked):
        transfer += mark.cycles
        after = ranked[k + 1].visits if k + 1 < len(ranked) else 1
        total += (mark.visits - after) * max(window, transfer)
    return total


def overlapped_drain_cycles(iterations: int, marks: list[Mark], window: int, out_visits: int, drain: int) -> int:
    """What a double-buffered output tile adds to the GLB nest: the drain of tile i - 1
    runs on the port in the window of compute i, before the fills for i + 1. With
    R_O = n / ``out_visits`` and F1 the fills of the inputs that change at every
    iteration: if R_O > 1, a drain shares its window with F1 only (the R of one nest
    divide one another, so R_O | i and R_T | i + 1 need R_T = 1), (v_O - 1) windows
    of max(C, D + F1) instead of max(C, F1); if R_O = 1, every window but the first
    has a drain, and the last, max(C, D), ends the nest."""
    every = sum(m.cycles for m in marks if m.visits == iterations)
    shared = max(window, drain + every) - max(window, every)
    if out_visits < iterations:
        return (out_visits - 1) * shared
    with_drains = prefix_class_sum(iterations, [*marks, Mark(iterations, drain)], window, True)
    return with_drains - prefix_class_sum(iterations, marks, window, True) - shared + max(window, drain) - window


@dataclass(frozen=True)
class LatencyTerms:
    """The parts of the makespan (all cycles): prologue, output transfers, the
    serial array fills at DRAM boundaries, and the DRAM-loop periods."""

    prologue: int
    outputs: int
    boundary_fills: int
    periods: int

    @property
    def total(self) -> int:
        return self.prologue + self.outputs + self.boundary_fills + self.periods


def _input_marks(layer: Layer, mapping: Mapping, level: str, cycles: dict[str, int], bw: int) -> list[Mark]:
    """Marks of the prefetches over ``level``'s loops of the inputs in ``cycles`` (a
    whole tile's transfer each): one per input, and for an input that slides
    (``sliding_axis``) the slid rows at every change and the rest of a whole
    tile where the sliding loop wraps."""
    order, f = mapping.orders[level], mapping.factors[level]
    extents = mapping.extents_below(level, layer.bounds)
    axis = sliding_axis(layer, mapping, level)
    marks = []
    for t, whole in cycles.items():
        visits = loop_visits(order, f, RELEVANT_DIMS[t])
        if t != "I" or axis is None:
            marks.append(Mark(visits, whole))
            continue
        slid = ceil_div(slid_fetch_words(layer, extents, axis, layer.tile_words(t, extents)), bw)
        marks += [Mark(visits, slid), Mark(visits // f[AXIS_DIMS[axis][0]], whole - slid)]
    return marks


def layer_latency(layer: Layer, accelerator: Accelerator, mapping: Mapping) -> LatencyTerms:
    """The makespan of the lock-step schedule of ``mapping`` (module docstring)."""
    f, levels = mapping.factors, accelerator.levels
    bw_dram, bw_glb = levels["DRAM"].bandwidth_words_per_cycle, levels["GLB"].bandwidth_words_per_cycle
    glb_tile = {t: layer.tile_words(t, mapping.extents_below("DRAM", layer.bounds)) for t in layer.tensors}
    array_tile = {t: layer.tile_words(t, mapping.extents_below("GLB", layer.bounds)) for t in layer.tensors}
    send = {t: ceil_div(array_tile[t], bw_glb) for t in layer.tensors}
    n_dram, n_glb = (prod(f[lv][d] for d in DIMS) for lv in ("DRAM", "GLB"))
    compute = prod(f["RF"][d] for d in DIMS)
    inputs = [t for t in layer.tensors if t != "O"]
    load = {t: 0 if t in layer.on_chip else ceil_div(glb_tile[t], bw_dram) for t in layer.tensors}
    glb_marks = _input_marks(layer, mapping, "GLB", {t: send[t] for t in inputs}, bw_glb)
    nest = prefix_class_sum(n_glb, glb_marks, compute, levels["RF"].double_buffered) + compute
    out_visits = loop_visits(mapping.orders["GLB"], f["GLB"], RELEVANT_DIMS["O"])
    overlapped = 0  # drains of the output's array tile that overlap a compute (double_outputs)
    if mapping.output_double("RF") and out_visits > 1:
        nest += overlapped_drain_cycles(n_glb, glb_marks, compute, out_visits, send["O"])
        overlapped = n_dram * (out_visits - 1)
    moving = {t: load[t] for t in inputs if t not in layer.on_chip}
    dram_marks = _input_marks(layer, mapping, "DRAM", moving, bw_dram)
    periods = prefix_class_sum(n_dram, dram_marks, nest, levels["GLB"].double_buffered) + nest
    boundary = sum(send[t] * (glb_nest_starts(mapping, RELEVANT_DIMS[t]) - 1) for t in inputs)
    out_rel = RELEVANT_DIMS["O"]
    array_moves = 2 * combined_visits(mapping, out_rel) - prod(f["DRAM"][d] * f["GLB"][d] for d in out_rel)
    dram_moves = 2 * loop_visits(mapping.orders["DRAM"], f["DRAM"], out_rel) - prod(f["DRAM"][d] for d in out_rel)
    outputs = send["O"] * (array_moves - overlapped) + load["O"] * dram_moves
    prologue = sum(load[t] + send[t] for t in inputs)
    return LatencyTerms(prologue, outputs, boundary, periods)
