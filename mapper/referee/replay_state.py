"""The state a replay keeps: allocations, what it measures, and box arithmetic
(``mapper.referee.simulator`` replays; this is what it replays into)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np

from mapper.core.box import Box

# at equal start times: write-backs, then frees, then allocations and transfers in, then computes
ORDER = {"store": 0, "drain": 0, "free": 1, "alloc": 2, "load": 3, "fill": 3, "compute": 4}


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
