"""Loop-nest facts every cost module uses: where a tensor's innermost relevant
loop sits, and how often its tile changes."""

from __future__ import annotations

from math import prod

from mapper.core.mapping import Mapping
from mapper.core.spec import DIMS


def innermost_relevant(order: tuple[str, ...], factors: dict[str, int], relevant: frozenset[str]) -> int:
    """Position in ``order`` of the innermost loop that is relevant to a tile
    indexed by ``relevant`` dims and has a factor > 1 (-1 if there is none)."""
    positions = [i for i, dim in enumerate(order) if dim in relevant and factors[dim] > 1]
    return positions[-1] if positions else -1


def loop_visits(order: tuple[str, ...], factors: dict[str, int], relevant: frozenset[str]) -> int:
    """Times a tile indexed by ``relevant`` dims changes over a loop nest with
    ``order`` (outermost first) and ``factors``."""
    return prod(factors[d] for d in order[: innermost_relevant(order, factors, relevant) + 1])


def glb_nest_starts(mapping: Mapping, relevant: frozenset[str]) -> int:
    """DRAM iterations whose GLB nest brings a new array tile of a tensor indexed by
    ``relevant`` dims: all of them when some relevant GLB factor is > 1 (the tile
    changes inside every nest), else those where its GLB tile changes."""
    f = mapping.factors
    if any(f["GLB"][d] > 1 for d in relevant):
        return prod(f["DRAM"][d] for d in DIMS)
    return loop_visits(mapping.orders["DRAM"], f["DRAM"], relevant)


def combined_visits(mapping: Mapping, relevant: frozenset[str]) -> int:
    """vC: times the array (and RF) tile of a tensor indexed by ``relevant`` dims
    changes over the whole DRAM x GLB nest."""
    return glb_nest_starts(mapping, relevant) * loop_visits(mapping.orders["GLB"], mapping.factors["GLB"], relevant)
