"""Named choices: modes, PE policies, factor spaces, solver statuses and feature-map axes.

``Mode``, ``Policy`` and ``Status`` are string enums whose values are their
spelling in YAML and JSON, so ``Mode.LAYER == "layer"`` and a result's JSON
holds plain strings. ``Axis`` indexes (rows, cols) pairs such as strides.
"""

from __future__ import annotations

from enum import Enum, IntEnum


class Named(str, Enum):
    """A string enum that prints and formats as its value."""

    def __str__(self) -> str:
        return self.value

    __format__ = str.__format__


class Mode(Named):
    LAYER = "layer"
    FUSED = "fused"
    NETWORK = "network"
    TASKGRAPH = "taskgraph"


class Policy(Named):
    """How a fused group shares the PE array (DESIGN 4.2)."""

    PARTITIONED = "partitioned"  # each layer owns a block of PE columns; a pipeline over stripes
    TIME_SHARED = "time_shared"  # each layer uses the whole array in turn, stripe by stripe


class Overlap(Named):
    """What a fused group does with the overlap of a feature map between neighbouring
    tiles (DESIGN 4.2, ``mapper.core.fused_tiles``)."""

    CACHE = "cache"  # kept both ways: a line buffer of the overlap rows, a column cache of the overlap cols
    CACHE_COLS = "cache_cols"  # kept along a row of tiles, recomputed at each new row of tiles
    RECOMPUTE = "recompute"  # every tile computes (loads) its whole needed region


class WeightPolicy(Named):
    """Where a fused group keeps a layer's weights (DESIGN 4.2)."""

    RESIDENT = "resident"  # loaded once, held in the GLB for the whole group
    PER_TILE = "per_tile"  # moved from DRAM by the layer's nest, tile by tile


class Factors(Named):
    """Which factors of a dim's bound the search explores (docs/mapping_space.md)."""

    UNEVEN = "uneven"  # also a remainder at the array's split of the channel dims N, G, K, C
    DIVISORS = "divisors"  # every factor divides the bound


class Status(Named):
    """CP-SAT's status names, as results report them."""

    OPTIMAL = "OPTIMAL"
    FEASIBLE = "FEASIBLE"
    INFEASIBLE = "INFEASIBLE"
    UNKNOWN = "UNKNOWN"
    MODEL_INVALID = "MODEL_INVALID"

    @property
    def has_solution(self) -> bool:
        return self in (Status.OPTIMAL, Status.FEASIBLE)


class Axis(IntEnum):
    """Feature-map axes; the index into (rows, cols) pairs."""

    ROWS = 0
    COLS = 1
