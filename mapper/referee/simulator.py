"""Replay a schedule: reject any illegal op, measure what it really moves.

Checks, in time order (stores before frees before allocations before loads
before computes at equal times):

* every region a compute reads is covered by allocations of that tensor that
  are resident, arrived, and hold produced values (loaded, or written by an
  earlier compute); the region it writes lies in one allocation;
* buffer occupancy within capacity (shared or per tensor);
* one DMA transfer (DRAM <-> GLB) at a time, and one GLB-port transfer (GLB
  <-> PE array: ``fill``, ``drain``) at a time, each at least
  ceil(words / bandwidth) cycles of its level;
* a fill reads a region resident and produced in the GLB, a drain writes an
  array output tile into one GLB allocation, not while a compute writes it;
* no PE in two computes at once; a compute lasts at least MACs / PEs cycles;
* no store while a compute still writes the tile; no free of a tile in use,
  or of DRAM-bound outputs changed since their last store;
* partial sums read back only after they were written; every DRAM output
  fully stored by the end, and no output tile left changed and unwritten;
* a ``hold`` only of a tensor the schedule holds on chip; an output held on
  chip is left in the GLB, every word of it drained there by the end (its
  values are then the output a functional replay compares).

The PE array ("ARRAY" buffer) has no shared capacity (its RFs are checked on
the array replay's tiles, ``mapper.referee.reservation``). A free may release a
whole allocation or a prefix of it along one axis (the oldest rows of a line
buffer). With ``data`` (a ``FunctionalData``) numpy values move too: each
compute reads only what is resident. ``feed`` replays a stream of ops
(``mapper.referee.aggregate``).
"""

from __future__ import annotations

from bisect import bisect_left
from collections import defaultdict

import numpy as np

from mapper.core.arith import ceil_div
from mapper.core.box import Box
from mapper.core.spec import Accelerator
from mapper.referee.replay_state import (
    ORDER,
    Allocation,
    Measurement,
    ScheduleViolation,
)
from mapper.referee.schedule import Op, Schedule
from mapper.referee.sim_buffers import Buffers

__all__ = ["ORDER", "Allocation", "Measurement", "ScheduleViolation", "Simulator", "simulate"]


class Simulator(Buffers):
    def __init__(self, schedule: Schedule, accelerator: Accelerator, data=None):
        self.schedule, self.accelerator, self.data = schedule, accelerator, data
        self.allocations: dict[str, list[Allocation]] = defaultdict(list)
        self.occupancy: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        self.dma_free = self.port_free = 0
        self.active_computes: list[Op] = []
        self.written = {t: np.zeros(schedule.tensor_shapes[t], dtype=bool) for t in schedule.dram_outputs}
        self.drained = {  # outputs held on chip: the words drained into the GLB
            t: np.zeros(schedule.tensor_shapes[t], dtype=bool) for t in schedule.held & schedule.produced
        }
        self.results = schedule.dram_outputs | set(self.drained)  # outputs whose values must not be lost
        self.measured = Measurement()
        self.pending, self.replayed_until = [], None  # streaming: ops given, not yet replayed; the watermark

    # ------------------------------------------------------------------ helpers

    def _dma(self, op: Op) -> None:
        if op.stage is not None:
            self.measured.stage_dram[op.stage] += op.box.words
        if self.schedule.timed_dram:
            self.dma_free = self._channel(op, "DMA channel", self.dma_free, "DRAM")

    def _channel(self, op: Op, name: str, free: int, level: str) -> int:
        """Check a transfer on a channel free from ``free`` at ``level``'s bandwidth; its new free time."""
        if op.start < free:
            raise self._fail(op, f"{name} busy until {free}")
        needed = ceil_div(op.box.words, self.accelerator.levels[level].bandwidth_words_per_cycle)
        if op.end - op.start < needed:
            raise self._fail(op, f"moves {op.box.words} words in {op.end - op.start} cycles, needs {needed}")
        return op.end

    # ------------------------------------------------------------------ op kinds

    def load(self, op: Op) -> None:
        self._dma(op)
        self.check_stored(op)
        alloc = self._allocate(op, produced=True)
        self.measured.dram_reads[op.tensor] += op.box.words
        if self.data is not None:
            alloc.values = self.data.dram[op.tensor][op.box.slices()].copy()

    def fill(self, op: Op) -> None:
        """GLB -> PE array: the region must be resident and produced in the GLB."""
        self.port_free = self._channel(op, "GLB port", self.port_free, "GLB")
        parts = self._covering(op, op.tensor, op.box, "GLB")
        for source, common in parts:
            source.uses.append((common, op.end))
        alloc = self._allocate(op, produced=True)
        self.measured.port_reads[op.tensor] += op.box.words
        if self.data is not None:
            alloc.values = self.data.assemble(op.box, parts)

    def drain(self, op: Op) -> None:
        """PE array -> GLB: an array output tile into the GLB allocation holding its region."""
        alloc = self._exact(op.buffer, op.tensor, op.box)
        if alloc is None:
            raise self._fail(op, f"drains a tile that is not in {op.buffer}")
        if alloc.busy_until > op.start:
            raise self._fail(op, f"drains while a compute writes it until {alloc.busy_until}")
        target = self._holding("GLB", op.tensor, op.box)
        if target is None:
            raise self._fail(op, f"drains into {op.tensor}{op.box}, which is not allocated in one piece in GLB")
        if target.ready > op.start:
            raise self._fail(op, f"drains into {op.tensor}{op.box}, which arrives only at {target.ready}")
        self.port_free = self._channel(op, "GLB port", self.port_free, "GLB")
        alloc.dirty = False
        if op.tensor in self.drained:
            self.drained[op.tensor][op.box.slices()] = True
        target.dirty = target.produced = True
        target.busy_until = max(target.busy_until, op.end)
        target.uses.append((op.box, op.end))
        self.measured.port_writes[op.tensor] += op.box.words
        if self.data is not None:
            target.values[op.box.slices(target.box)] = alloc.values

    def hold(self, op: Op) -> None:
        """An input placed in the buffer by the schedule around this one: resident, produced."""
        if op.tensor not in self.schedule.held or op.tensor in self.schedule.produced:
            raise self._fail(op, f"{op.tensor} is not an input this schedule holds on chip")
        alloc = self._allocate(op, produced=True)
        if self.data is not None:
            alloc.values = self.data.dram[op.tensor][op.box.slices()].copy()

    def alloc(self, op: Op) -> None:
        alloc = self._allocate(op, produced=False)
        alloc.ready = op.start
        if self.data is not None:
            alloc.values = self.data.identity_tile(op)

    def compute(self, op: Op) -> None:
        self._check_pes(op)
        operands = self.schedule.operands(op)
        inputs = {}
        for role, (tensor, region) in operands.items():
            if role != "O":
                inputs[role] = (region, self._covering(op, tensor, region))
        out_tensor, out_region = operands["O"]
        out = self._holding(op.buffer, out_tensor, out_region)
        if out is None:
            raise self._fail(op, f"writes {out_tensor}{out_region}, which is not allocated in one piece in {op.buffer}")
        if out.ready > op.start:
            raise self._fail(op, f"writes {out_tensor}{out_region}, which arrives only at {out.ready}")
        for _, parts in inputs.values():
            for alloc, common in parts:
                alloc.busy_until = max(alloc.busy_until, op.end)
                alloc.uses.append((common, op.end))
        out.busy_until = max(out.busy_until, op.end)
        out.uses.append((out_region, op.end))
        out.dirty = out.produced = True
        out.ready = max(out.ready, op.end)
        self.measured.macs += op.work.words
        self.measured.compute_cycles += op.end - op.start
        if op.stage is not None:
            self.measured.stage_compute[op.stage] += op.end - op.start
        if self.data is not None:
            self.data.compute(self.schedule, op, inputs, out, out_region)

    def _check_pes(self, op: Op) -> None:
        r0, r1, c0, c1 = op.pes
        rows, cols = self.accelerator.pe_rows, self.accelerator.pe_cols
        if r0 < 0 or c0 < 0 or r1 > rows or c1 > cols:
            raise self._fail(op, f"PE rectangle {op.pes} is outside the {rows}x{cols} array")
        self.active_computes = [c for c in self.active_computes if c.end > op.start]
        for other in self.active_computes:
            o0, o1, p0, p1 = other.pes
            if r0 < o1 and o0 < r1 and c0 < p1 and p0 < c1:
                raise self._fail(op, f"uses PEs already running {other.describe()}")
        self.active_computes.append(op)
        self.measured.pe_rectangles.add(op.pes)
        pes = (r1 - r0) * (c1 - c0)
        macs = op.work.words
        if op.end - op.start < ceil_div(macs, pes):
            raise self._fail(op, f"{macs} MACs on {pes} PEs need {ceil_div(macs, pes)} cycles, got {op.end - op.start}")

    def store(self, op: Op) -> None:
        alloc = self._exact(op.buffer, op.tensor, op.box)
        if alloc is None:
            raise self._fail(op, "stores a tile that is not allocated")
        if alloc.busy_until > op.start:
            raise self._fail(op, f"stores while a compute writes it until {alloc.busy_until}")
        if op.tensor not in self.written:
            raise self._fail(op, f"{op.tensor} is not a DRAM output of this schedule")
        self._dma(op)
        alloc.dirty = False
        self.mark_stored(op)
        self.measured.dram_writes[op.tensor] += op.box.words
        if self.data is not None:
            self.data.dram[op.tensor][op.box.slices()] = alloc.values

    # ------------------------------------------------------------------ replay

    def check_stored(self, op: Op) -> None:
        """A load of a DRAM output reads only partial sums stored before."""
        if op.tensor in self.written and not self.written[op.tensor][op.box.slices()].all():
            raise self._fail(op, "reads partial sums that were never stored")

    def mark_stored(self, op: Op) -> None:  # the DRAM words of a store now hold values
        self.written[op.tensor][op.box.slices()] = True

    def feed(self, ops: list[Op], until: int | None = None) -> list[Op]:
        """Replay in time order the ops given so far that start before ``until`` (all when
        None), the rest wait; no later op may start before a passed ``until``. Returns those replayed."""
        if self.replayed_until is not None and any(op.start < self.replayed_until for op in ops):
            raise RuntimeError(f"streaming replay: an op starts before {self.replayed_until}, already replayed")
        self.pending.extend(ops)
        self.pending.sort(key=lambda o: (o.start, ORDER[o.kind]))
        cut = len(self.pending) if until is None else bisect_left(self.pending, until, key=lambda o: o.start)
        ready, self.pending = self.pending[:cut], self.pending[cut:]
        for op in ready:
            if op.end < op.start:
                raise self._fail(op, "ends before it starts")
            getattr(self, op.kind)(op)
            self.measured.makespan = max(self.measured.makespan, op.end)
            self.measured.ops += 1
        if until is not None:
            self.replayed_until = max(until, self.replayed_until or until)
        return ready

    def run(self) -> Measurement:
        self.feed(self.schedule.ops)
        return self.close()

    def close(self) -> Measurement:
        """The end-of-schedule checks, once every op is replayed."""
        for buffer, allocations in self.allocations.items():
            for alloc in allocations:
                kept = buffer == "GLB" and alloc.tensor in self.drained  # a held output stays there
                if alloc.dirty and alloc.tensor in self.results and not kept:
                    where = f"{alloc.tensor}{alloc.box} in {buffer}"
                    raise ScheduleViolation(f"end of schedule: {where} was never written out")
        for tensor, written in self.written.items():
            if not written.all():
                raise ScheduleViolation(f"end of schedule: {int((~written).sum())} words of {tensor} were never stored")
        for tensor, drained in self.drained.items():
            if not drained.all():
                raise ScheduleViolation(
                    f"end of schedule: {int((~drained).sum())} words of {tensor}, held on chip, were never drained"
                )
            kept = self._holding("GLB", tensor, Box(tuple((0, n) for n in drained.shape)))
            if kept is None:
                raise ScheduleViolation(f"end of schedule: {tensor}, held on chip, is not whole in GLB")
            if self.data is not None:  # the held output's values, compared where a DRAM output's are
                self.data.dram[tensor] = kept.values
        return self.measured


def simulate(schedule: Schedule, accelerator: Accelerator, data=None) -> Measurement:
    """Replay ``schedule``; raise ScheduleViolation at the first illegal op."""
    return Simulator(schedule, accelerator, data).run()
