"""The state a replay keeps: allocations, what it measures, and box arithmetic
(``mapper.referee.simulator`` replays; this is what it replays into)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np

from mapper.core.box import Box

# at equal start times: write-backs, then frees, then allocations and transfers in, then computes
ORDER = {"store": 0, "drain": 0, "free": 1, "alloc": 2, "hold": 2, "load": 3, "fill": 3, "compute": 4}


class ScheduleViolation(Exception):
    """The first violated rule, naming the offending op."""


@dataclass
class Allocation:
    tensor: str
    box: Box
    ready: int
    produced: bool
    busy_until: int = 0
    dirty: bool = False
    values: np.ndarray | None = None
    uses: list[tuple[Box, int]] = field(default_factory=list)  # (region read or written, until)

    def in_use(self, box: Box, at: int) -> int:
        """The latest end of a compute still using part of ``box`` after ``at`` (0 if none)."""
        return max((end for region, end in self.uses if end > at and overlap(region, box)), default=0)


@dataclass
class Measurement:
    dram_reads: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    dram_writes: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    macs: int = 0
    compute_cycles: int = 0
    peak_words: dict[str, int] = field(default_factory=dict)
    makespan: int = 0
    ops: int = 0
    stage_compute: dict[tuple[str, int], int] = field(default_factory=lambda: defaultdict(int))
    stage_dram: dict[tuple[str, int], int] = field(default_factory=lambda: defaultdict(int))
    pe_rectangles: set[tuple[int, int, int, int]] = field(default_factory=set)  # (row0, row1, col0, col1)
    glb_profile: dict[int, int] = field(default_factory=dict)  # time -> GLB words live after its ops
    port_reads: dict[str, int] = field(default_factory=lambda: defaultdict(int))  # GLB -> PE array words
    port_writes: dict[str, int] = field(default_factory=lambda: defaultdict(int))  # PE array -> GLB words

    def absorb(self, part: Measurement, shift: int = 0) -> None:
        """Add what ``part`` measured, its times shifted by ``shift`` (the aggregated replay)."""
        for name in ("dram_reads", "dram_writes", "stage_compute", "stage_dram", "port_reads", "port_writes"):
            mine = getattr(self, name)
            for key, value in getattr(part, name).items():
                mine[key] += value
        self.macs, self.compute_cycles, self.ops = (
            self.macs + part.macs,
            self.compute_cycles + part.compute_cycles,
            self.ops + part.ops,
        )
        for buffer, words in part.peak_words.items():
            self.peak_words[buffer] = max(self.peak_words.get(buffer, 0), words)
        if part.ops:
            self.makespan = max(self.makespan, part.makespan + shift)
        self.pe_rectangles |= part.pe_rectangles
        for time, words in part.glb_profile.items():
            self.glb_profile[time + shift] = words

    @property
    def dram_words(self) -> int:
        return sum(self.dram_reads.values()) + sum(self.dram_writes.values())

    @property
    def port_words(self) -> int:
        """Words over the GLB port, both ways."""
        return sum(self.port_reads.values()) + sum(self.port_writes.values())

    @property
    def used_pes(self) -> int:
        """PEs that ran at least one compute."""
        return len({(r, c) for r0, r1, c0, c1 in self.pe_rectangles for r in range(r0, r1) for c in range(c0, c1)})


def overlap(a: Box, b: Box) -> Box | None:
    ranges = tuple((max(lo, olo), min(hi, ohi)) for (lo, hi), (olo, ohi) in zip(a.ranges, b.ranges, strict=True))
    return Box(ranges) if all(lo < hi for lo, hi in ranges) else None


def remaining_after_prefix(alloc: Box, prefix: Box) -> Box | None:
    """``alloc`` minus ``prefix`` when ``prefix`` is a leading part of ``alloc``
    along exactly one axis (and equal on the others); None otherwise."""
    differing = [i for i, (a, p) in enumerate(zip(alloc.ranges, prefix.ranges, strict=True)) if a != p]
    if len(differing) != 1:
        return None
    axis = differing[0]
    (lo, hi), (plo, phi) = alloc.ranges[axis], prefix.ranges[axis]
    if plo != lo or not lo < phi < hi:
        return None
    ranges = list(alloc.ranges)
    ranges[axis] = (phi, hi)
    return Box(tuple(ranges))


def box_minus(box: Box, hole: Box) -> list[Box]:
    """``box`` less ``hole`` (inside it) as disjoint boxes: along each axis in turn, the
    slabs below and above the hole's range, the rest narrowed to it."""
    pieces, ranges = [], list(box.ranges)
    for axis, (lo, hi) in enumerate(hole.ranges):
        blo, bhi = ranges[axis]
        for part in ((blo, lo), (hi, bhi)):
            if part[0] < part[1]:
                pieces.append(Box(tuple(ranges[:axis] + [part] + ranges[axis + 1 :])))
        ranges[axis] = (lo, hi)
    return pieces


def covering(allocations: list[Allocation], op, tensor: str, region: Box, buffer: str) -> list[tuple[Allocation, Box]]:
    """The ``allocations`` (of ``buffer``) that together hold ``region`` of ``tensor`` for
    ``op``: resident, arrived by the op's start and holding produced values. Otherwise
    raise ScheduleViolation naming what is missing."""

    def fail(problem: str) -> ScheduleViolation:
        return ScheduleViolation(f"{op.describe()}: {problem}")

    for alloc in allocations:  # the common case: one allocation holds it all
        if alloc.tensor == tensor and alloc.box.contains(region) and alloc.ready <= op.start and alloc.produced:
            return [(alloc, region)]
    covered = np.zeros(tuple(hi - lo for lo, hi in region.ranges), dtype=bool)
    parts, pending = [], []
    for alloc in allocations:
        common = overlap(alloc.box, region) if alloc.tensor == tensor else None
        if common is None:
            continue
        if alloc.ready > op.start or not alloc.produced:
            pending.append((alloc, common))
            continue
        covered[common.slices(region)] = True
        parts.append((alloc, common))
    if covered.all():
        return parts
    for alloc, common in pending:
        if not covered[common.slices(region)].all():
            if not alloc.produced:
                raise fail(f"reads {tensor}{common}, which was never computed")
            raise fail(f"needs {tensor}{common}, which arrives only at {alloc.ready}")
    raise fail(f"needs {tensor}{region}, which is not resident in {buffer}")


class VisitedTiles:
    """Array output tiles already visited, grouped by the GLB output tile that holds
    them and stored relative to its corner: the pattern of two GLB tiles compares equal
    when it is the same (what the aggregated replay, ``mapper.referee.aggregate``, keys on)."""

    def __init__(self):
        self.inside: dict[Box, set[Box]] = {}
        self._frozen: dict[Box, frozenset[Box]] = {}

    def visit(self, outer: Box, box: Box) -> bool:
        """Mark ``box`` (inside ``outer``) visited; whether it was before."""
        if not outer.contains(box):
            raise ValueError(f"array tile {box} is not inside its GLB tile {outer}")
        relative = box.moved(outer.corner, -1)
        seen = self.inside.setdefault(outer, set())
        if relative in seen:
            return True
        seen.add(relative)
        self._frozen.pop(outer, None)
        return False

    def pattern(self, outer: Box) -> frozenset[Box]:
        """The visited tiles inside ``outer``, relative to its corner."""
        if outer not in self._frozen:
            self._frozen[outer] = frozenset(self.inside.get(outer, ()))
        return self._frozen[outer]

    def restore(self, outer: Box, pattern: frozenset[Box]) -> None:
        self.inside[outer], self._frozen[outer] = set(pattern), pattern
