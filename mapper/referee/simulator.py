"""Replay a schedule: reject any illegal op, measure what it really moves.

Checks, in time order (frees before stores before allocations before loads
before computes at equal times): operands resident and ready at compute
start; buffer occupancy within capacity (shared or per tensor); one DMA
transfer at a time, each at least ceil(words / bandwidth) cycles; no PE in
two computes at once; no store while a compute still writes the tile; no
free of a tile in use or of an output changed since its last store; partial
sums read back only after they were written; every output stored by the end.

With ``data`` (a ``FunctionalData``) the same replay also moves numpy values:
each compute reads only the allocations resident at that moment.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from mapper.cost_model import ceil_div
from mapper.referee.schedule import Box, Op, Schedule, grouped_shape, operand_region
from mapper.spec import Accelerator

ORDER = {"free": 0, "store": 1, "alloc": 2, "load": 3, "compute": 4}


class ScheduleViolation(Exception):
    """The first violated rule, naming the offending op."""


@dataclass
class Allocation:
    tensor: str
    box: Box
    ready: int
    busy_until: int = 0
    dirty: bool = False
    values: np.ndarray | None = None


@dataclass
class Measurement:
    dram_reads: dict[str, int] = field(default_factory=dict)
    dram_writes: dict[str, int] = field(default_factory=dict)
    macs: int = 0
    compute_cycles: int = 0
    peak_words: dict[str, int] = field(default_factory=dict)
    makespan: int = 0
    ops: int = 0

    @property
    def dram_words(self) -> int:
        return sum(self.dram_reads.values()) + sum(self.dram_writes.values())


class Simulator:
    def __init__(self, schedule: Schedule, accelerator: Accelerator, data=None):
        self.schedule, self.accelerator, self.data = schedule, accelerator, data
        self.layer = schedule.layer
        self.allocations: dict[str, list[Allocation]] = {}
        self.occupancy: dict[str, dict[str, int]] = {}
        self.dma_free = 0
        self.active_computes: list[Op] = []
        self.out_written = np.zeros(grouped_shape(self.layer, "O"), dtype=bool)
        self.measured = Measurement(dram_reads={t: 0 for t in self.layer.tensors}, dram_writes={"O": 0}, peak_words={})

    # ------------------------------------------------------------------ helpers

    def _fail(self, op: Op, problem: str) -> ScheduleViolation:
        return ScheduleViolation(f"{op.describe()}: {problem}")

    def _find(self, buffer: str, tensor: str, box: Box, exact: bool) -> Allocation | None:
        for alloc in self.allocations.get(buffer, []):
            if alloc.tensor == tensor and (alloc.box == box if exact else alloc.box.contains(box)):
                return alloc
        return None

    def _allocate(self, op: Op) -> Allocation:
        level = self.accelerator.levels[op.buffer]
        usage = self.occupancy.setdefault(op.buffer, {})
        usage[op.tensor] = usage.get(op.tensor, 0) + op.box.words
        capacity = level.capacity_words
        if isinstance(capacity, dict):
            if usage[op.tensor] > capacity[op.tensor]:
                raise self._fail(
                    op, f"{op.buffer} {op.tensor} holds {usage[op.tensor]} words, capacity {capacity[op.tensor]}"
                )
        elif sum(usage.values()) > capacity:
            raise self._fail(op, f"{op.buffer} holds {sum(usage.values())} words, capacity {capacity}")
        total = sum(usage.values())
        self.measured.peak_words[op.buffer] = max(self.measured.peak_words.get(op.buffer, 0), total)
        alloc = Allocation(op.tensor, op.box, ready=op.end)
        self.allocations.setdefault(op.buffer, []).append(alloc)
        return alloc

    def _dma(self, op: Op) -> None:
        if op.start < self.dma_free:
            raise self._fail(op, f"DMA channel busy until {self.dma_free}")
        needed = ceil_div(op.box.words, self.accelerator.levels["DRAM"].bandwidth_words_per_cycle)
        if op.end - op.start < needed:
            raise self._fail(op, f"moves {op.box.words} words in {op.end - op.start} cycles, needs {needed}")
        self.dma_free = op.end

    # ------------------------------------------------------------------ op kinds

    def load(self, op: Op) -> None:
        self._dma(op)
        if op.tensor == "O" and not self.out_written[op.box.slices()].all():
            raise self._fail(op, "reads partial sums that were never stored")
        alloc = self._allocate(op)
        self.measured.dram_reads[op.tensor] += op.box.words
        if self.data is not None:
            alloc.values = self.data.dram[op.tensor][op.box.slices()].copy()

    def alloc(self, op: Op) -> None:
        alloc = self._allocate(op)
        if self.data is not None:
            alloc.values = self.data.identity_tile(op.box)

    def compute(self, op: Op) -> None:
        work = op.work_ranges
        operands = {}
        for tensor in self.layer.tensors:
            region = operand_region(self.layer, tensor, work)
            alloc = self._find(op.buffer, tensor, region, exact=False)
            if alloc is None:
                raise self._fail(op, f"needs {tensor}{region}, which is not resident in {op.buffer}")
            if alloc.ready > op.start:
                raise self._fail(op, f"needs {tensor}{region}, which arrives only at {alloc.ready}")
            operands[tensor] = (alloc, region)
        r0, r1, c0, c1 = op.pes
        if r0 < 0 or c0 < 0 or r1 > self.accelerator.pe_rows or c1 > self.accelerator.pe_cols:
            raise self._fail(
                op, f"PE rectangle {op.pes} is outside the {self.accelerator.pe_rows}x{self.accelerator.pe_cols} array"
            )
        self.active_computes = [c for c in self.active_computes if c.end > op.start]
        for other in self.active_computes:
            o0, o1, p0, p1 = other.pes
            if r0 < o1 and o0 < r1 and c0 < p1 and p0 < c1:
                raise self._fail(op, f"uses PEs already running {other.describe()}")
        self.active_computes.append(op)
        macs = op.work.words
        pes = (r1 - r0) * (c1 - c0)
        if op.end - op.start < ceil_div(macs, pes):
            raise self._fail(op, f"{macs} MACs on {pes} PEs need {ceil_div(macs, pes)} cycles, got {op.end - op.start}")
        for alloc, _ in operands.values():
            alloc.busy_until = max(alloc.busy_until, op.end)
        operands["O"][0].dirty = True
        self.measured.macs += macs
        self.measured.compute_cycles += op.end - op.start
        if self.data is not None:
            self.data.compute(self.layer, work, operands)

    def store(self, op: Op) -> None:
        alloc = self._find(op.buffer, op.tensor, op.box, exact=True)
        if alloc is None:
            raise self._fail(op, "stores a tile that is not allocated")
        if alloc.busy_until > op.start:
            raise self._fail(op, f"stores while a compute writes it until {alloc.busy_until}")
        self._dma(op)
        alloc.dirty = False
        self.out_written[op.box.slices()] = True
        self.measured.dram_writes["O"] += op.box.words
        if self.data is not None:
            self.data.dram["O"][op.box.slices()] = alloc.values

    def free(self, op: Op) -> None:
        alloc = self._find(op.buffer, op.tensor, op.box, exact=True)
        if alloc is None:
            raise self._fail(op, "frees a tile that is not allocated")
        if alloc.busy_until > op.start:
            raise self._fail(op, f"frees a tile in use until {alloc.busy_until}")
        if alloc.dirty:
            raise self._fail(op, "discards output values that were never stored")
        self.allocations[op.buffer].remove(alloc)
        self.occupancy[op.buffer][op.tensor] -= op.box.words

    # ------------------------------------------------------------------ replay

    def run(self) -> Measurement:
        for op in sorted(self.schedule.ops, key=lambda o: (o.start, ORDER[o.kind])):
            if op.end < op.start:
                raise self._fail(op, "ends before it starts")
            getattr(self, op.kind)(op)
            self.measured.makespan = max(self.measured.makespan, op.end)
            self.measured.ops += 1
        if not self.out_written.all():
            missing = int((~self.out_written).sum())
            raise ScheduleViolation(f"end of schedule: {missing} output words of {self.layer.name} were never stored")
        return self.measured


def simulate(schedule: Schedule, accelerator: Accelerator, data=None) -> Measurement:
    """Replay ``schedule``; raise ScheduleViolation at the first illegal op."""
    return Simulator(schedule, accelerator, data).run()
