"""Loop-nest facts every cost module uses: where a tensor's innermost relevant
loop sits, and how often its tile changes."""

from __future__ import annotations

from math import prod


def innermost_relevant(order: tuple[str, ...], factors: dict[str, int], relevant: frozenset[str]) -> int:
    """Position in ``order`` of the innermost loop that is relevant to a tile
    indexed by ``relevant`` dims and has a factor > 1 (-1 if there is none)."""
    positions = [i for i, dim in enumerate(order) if dim in relevant and factors[dim] > 1]
    return positions[-1] if positions else -1


def loop_visits(order: tuple[str, ...], factors: dict[str, int], relevant: frozenset[str]) -> int:
    """Times a tile indexed by ``relevant`` dims changes over a loop nest with
    ``order`` (outermost first) and ``factors``."""
    return prod(factors[d] for d in order[: innermost_relevant(order, factors, relevant) + 1])
