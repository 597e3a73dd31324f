"""The layer decoder's state pieces: a resident tile, a transfer channel, a transfer's time slot."""

from __future__ import annotations

from dataclasses import dataclass

from mapper.core.arith import ceil_div
from mapper.core.box import Box, Range
from mapper.core.spec import CHANNEL_DIMS, RELEVANT_DIMS


def slot_words(tensor: str, box: Box, work: dict[str, Range], whole: dict[str, int]) -> int:
    """The words whose time a transfer of ``box`` (of ``tensor``'s tile for ``work``) takes:
    its own, or for a remainder tile (``work`` cut short along an uneven channel dim) those
    of the whole tile of extents ``whole``, as the lock-step schedule gives every tile of a
    level the same slot. The words are a product with the channel extents, so exact."""
    words = box.words
    for d in sorted(RELEVANT_DIMS[tensor] & CHANNEL_DIMS):
        words = words // (work[d][1] - work[d][0]) * whole[d]
    return words


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
