"""Loop-nest facts every cost module uses: where a tensor's innermost relevant
loop sits, and how often its tile changes."""

from __future__ import annotations

from math import prod

from mapper.core.enums import Axis
from mapper.core.mapping import Mapping
from mapper.core.spec import AXIS_DIMS, DIMS, RELEVANT_DIMS, SLIDING_AXIS, Layer


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


def sliding_axis(layer: Layer, mapping: Mapping, level: str) -> Axis | None:
    """The axis along which the input tile held below ``level``'s loops (DRAM: the
    GLB tile; GLB: the array tile) slides, keeping its overlap (DESIGN 4.1): its
    output dim (P or Q) is the innermost input-relevant loop of ``level`` with a
    factor > 1 and its windows overlap; at the GLB loops also neither that output
    dim nor its kernel dim is unrolled on the PE array, so every PE holds the
    array tile's whole extent along the axis and keeps the overlap in its RF."""
    order, factors = mapping.orders[level], mapping.factors[level]
    position = innermost_relevant(order, factors, RELEVANT_DIMS["I"])
    axis = SLIDING_AXIS.get(order[position]) if position >= 0 else None
    if axis is None or layer.windows_disjoint(axis):
        return None
    if level == "GLB" and any(mapping.spatial(d) > 1 for d in AXIS_DIMS[axis]):
        return None
    return axis


def slid_fetch_words(layer: Layer, extents: dict[str, int], axis: Axis, tile: int) -> int:
    """Words a slide along ``axis`` fetches of an input tile of ``tile`` words whose
    box has ``extents``: min(span, stride * e_out) new rows (cols) of tile / span words."""
    out_dim, kernel_dim = AXIS_DIMS[axis]
    span = layer.input_extent(extents[out_dim], extents[kernel_dim], axis)
    return tile // span * min(span, layer.stride[axis] * extents[out_dim])


def input_fetch_words(layer: Layer, mapping: Mapping, level: str, extents: dict[str, int], visits: int, tile: int):
    """Input words fetched into the buffer below ``level``'s loops over ``visits``
    changes of a ``tile``-word tile with ``extents``: with sliding (``sliding_axis``),
    of every f_level[o] consecutive tiles the first is whole and the others fetch
    their new rows (cols) only."""
    axis = sliding_axis(layer, mapping, level)
    if axis is None:
        return visits * tile
    steps = mapping.factors[level][AXIS_DIMS[axis][0]]
    return visits // steps * (tile + (steps - 1) * slid_fetch_words(layer, extents, axis, tile))
