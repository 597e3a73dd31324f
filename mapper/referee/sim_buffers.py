"""The buffers a replay keeps: every allocation of every buffer and the words each
holds against its capacity (a base of ``mapper.referee.simulator.Simulator``)."""

from __future__ import annotations

from dataclasses import replace

from mapper.core.box import Box
from mapper.referee.replay_state import (
    Allocation,
    ScheduleViolation,
    box_minus,
    covering,
    overlap,
    remaining_after_prefix,
)
from mapper.referee.schedule import Op


class Buffers:
    """Allocations and occupancy per buffer; needs the Simulator's ``schedule``,
    ``accelerator``, ``allocations``, ``occupancy``, ``measured`` and ``results``."""

    def _fail(self, op: Op, problem: str) -> ScheduleViolation:
        return ScheduleViolation(f"{op.describe()}: {problem}")

    def _exact(self, buffer: str, tensor: str, box: Box) -> Allocation | None:
        return next((a for a in self.allocations[buffer] if a.tensor == tensor and a.box == box), None)

    def _holding(self, buffer: str, tensor: str, box: Box) -> Allocation | None:
        """The allocation of ``tensor`` in ``buffer`` that holds all of ``box``, if one does."""
        return next((a for a in self.allocations[buffer] if a.tensor == tensor and a.box.contains(box)), None)

    def _covering(self, op: Op, tensor: str, region: Box, buffer: str | None = None) -> list[tuple[Allocation, Box]]:
        """The allocations of ``buffer`` (the op's) that together hold ``region``
        (``mapper.referee.replay_state.covering``)."""
        return covering(self.allocations[buffer or op.buffer], op, tensor, region, buffer or op.buffer)

    def _allocate(self, op: Op, produced: bool) -> Allocation:
        alloc = Allocation(op.tensor, op.box, ready=op.end, produced=produced)
        self.allocations[op.buffer].append(alloc)
        if op.tensor in self.schedule.uncounted or op.buffer not in self.accelerator.levels:
            return alloc
        level = self.accelerator.levels[op.buffer]
        usage = self.occupancy[op.buffer]
        usage[op.tensor] += op.box.words
        if level.is_split:
            part = level.capacity_of(op.tensor)
            if usage[op.tensor] > part:
                raise self._fail(op, f"{op.buffer} {op.tensor} holds {usage[op.tensor]} words, capacity {part}")
        elif sum(usage.values()) > level.capacity_words:
            raise self._fail(op, f"{op.buffer} holds {sum(usage.values())} words, capacity {level.capacity_words}")
        total = sum(usage.values())
        self.measured.peak_words[op.buffer] = max(self.measured.peak_words.get(op.buffer, 0), total)
        if op.buffer == "GLB":
            self.measured.glb_profile[op.start] = total
        return alloc

    def free(self, op: Op) -> None:
        """Release a whole allocation, a prefix of it along one axis (``remaining``), or
        any box inside one (the allocation is split into the boxes around it)."""
        alloc = self._exact(op.buffer, op.tensor, op.box)
        remaining = None
        if alloc is None:
            for candidate in self.allocations[op.buffer]:
                if candidate.tensor == op.tensor:
                    remaining = remaining_after_prefix(candidate.box, op.box)
                    if remaining is not None:
                        alloc = candidate
                        break
        if alloc is None:
            alloc = self._holding(op.buffer, op.tensor, op.box)
            if alloc is not None:
                remaining = box_minus(alloc.box, op.box)
        if alloc is None:
            raise self._fail(op, "frees a tile that is not allocated")
        busy = alloc.in_use(op.box, op.start)
        if busy:
            raise self._fail(op, f"frees a tile in use until {busy}")
        if alloc.dirty and op.tensor in self.results:
            raise self._fail(op, "discards output values that were never stored")
        if op.tensor not in self.schedule.uncounted and op.buffer in self.accelerator.levels:  # as _allocate counts
            self.occupancy[op.buffer][op.tensor] -= op.box.words
            if op.buffer == "GLB":
                self.measured.glb_profile[op.start] = sum(self.occupancy["GLB"].values())
        if remaining is None:
            self.allocations[op.buffer].remove(alloc)
            return
        if isinstance(remaining, list):  # a box freed from inside: the pieces around it stay
            self.allocations[op.buffer].remove(alloc)
            for piece in remaining:
                values = None if alloc.values is None else alloc.values[piece.slices(alloc.box)].copy()
                kept = [(region, end) for region, end in alloc.uses if overlap(region, piece) is not None]
                self.allocations[op.buffer].append(replace(alloc, box=piece, values=values, uses=kept))
            return
        if alloc.values is not None:
            alloc.values = alloc.values[remaining.slices(alloc.box)]
        alloc.box = remaining
