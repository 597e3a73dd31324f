"""Boxes of tensors: half-open ranges per axis, and the feature-map regions a
loop-iteration box reads or writes (fused groups and task graphs keep feature
maps unpadded, [N, channels, rows, cols]; padding is virtual)."""

from __future__ import annotations

from dataclasses import dataclass
from math import prod

from mapper.core.enums import Axis
from mapper.core.spec import Layer
from mapper.core.stripes import span_needed

TENSOR_AXES: dict[str, tuple[str, ...]] = {
    "W": ("G", "K", "C", "R", "S"),
    "I": ("N", "G", "C", "H", "W"),
    "O": ("N", "G", "K", "P", "Q"),
}


Range = tuple[int, int]  # half-open [lo, hi)


@dataclass(frozen=True)
class Box:
    """Half-open ranges, one per tensor axis (or per loop dim for work boxes)."""

    ranges: tuple[Range, ...]

    @property
    def words(self) -> int:
        return prod(hi - lo for lo, hi in self.ranges)

    def contains(self, other: Box) -> bool:
        return all(lo <= olo and ohi <= hi for (lo, hi), (olo, ohi) in zip(self.ranges, other.ranges, strict=True))

    @property
    def corner(self) -> tuple[int, ...]:
        """The lower corner."""
        return tuple(lo for lo, _ in self.ranges)

    def moved(self, offset: tuple[int, ...], sign: int = 1) -> Box:
        """This box translated by ``sign`` x ``offset`` (one offset per axis)."""
        return Box(tuple((lo + sign * o, hi + sign * o) for (lo, hi), o in zip(self.ranges, offset, strict=True)))

    def slices(self, origin: Box | None = None) -> tuple[slice, ...]:
        """Numpy slices of this box, relative to ``origin``'s lower corner."""
        offsets = [lo for lo, _ in origin.ranges] if origin else [0] * len(self.ranges)
        return tuple(slice(lo - o, hi - o) for (lo, hi), o in zip(self.ranges, offsets, strict=True))

    def __str__(self) -> str:
        return "[" + ", ".join(f"{lo}:{hi}" for lo, hi in self.ranges) + "]"


def channel_range(layer: Layer, work: dict[str, Range], side: str) -> Range:
    """Feature-map channels an output (side "O") or input (side "I") box spans:
    conv: K (outputs) or C (inputs) with one group, or whole groups;
    depthwise, pooling, add: the G range (K = C = 1)."""
    b = layer.bounds
    if b["K"] == 1 and b["C"] == 1:
        return work["G"]
    (g0, g1), inner = work["G"], work["K" if side == "O" else "C"]
    per_group = b["K"] if side == "O" else b["C"]
    if g1 - g0 > 1 and inner != (0, per_group):
        raise ValueError(f"{layer.name}: a tile spanning several groups must cover whole groups")
    return (g0 * per_group + inner[0], (g1 - 1) * per_group + inner[1])


def fmap_region(layer: Layer, role: str, work: dict[str, Range]) -> Box:
    """Operand regions in feature-map storage (fused groups, task graphs):
    feature maps are [N, channels, rows, cols], unpadded (padding is virtual)."""
    if role == "W":
        return Box(tuple(work[d] for d in TENSOR_AXES["W"]))
    if role == "O":
        return Box((work["N"], channel_range(layer, work, "O"), work["P"], work["Q"]))
    if role == "I2":  # the add's second operand: the same box as the output
        return Box((work["N"], channel_range(layer, work, "I"), work["P"], work["Q"]))
    rows = span_needed(layer, Axis.ROWS, *work["P"])
    cols = span_needed(layer, Axis.COLS, *work["Q"])
    return Box((work["N"], channel_range(layer, work, "I"), rows, cols))
