"""The layer decoder's state pieces: a resident tile, a transfer channel."""

from __future__ import annotations

from dataclasses import dataclass

from mapper.core.arith import ceil_div
from mapper.core.box import Box, Range


@dataclass
class Resident:
    """The resident tile of one tensor in one buffer: its loop ranges ``work``,
    its region ``box`` and the allocations (``pieces``) that hold it: one, or for
    an input tile that slid, the kept rows of earlier tiles and the new ones."""

    work: dict[str, Range]
    box: Box
    pieces: list[Box]
    ready: int
    last_use: int = 0
    freed: bool = False  # a dormant input's GLB tile, freed after its only fill but still the current tile


class Channel:
    """One transfer at a time at ``bandwidth`` words per cycle."""

    def __init__(self, bandwidth: int):
        self.bandwidth, self.free = bandwidth, 0

    def move(self, earliest: int, words: int) -> tuple[int, int]:
        start = max(self.free, earliest)
        self.free = start + ceil_div(words, self.bandwidth)
        return start, self.free
