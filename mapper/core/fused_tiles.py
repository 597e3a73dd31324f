"""2-D tiles of a fused group (DESIGN 4.2, issue 15): where every layer's work and
every on-chip feature map lie, tile by tile.

The group computes the output of its last layer in tiles of ``height`` rows x
``width`` cols, row-major (a row of tiles left to right, then the next). For
each tile, every feature map of the group (each layer's output, and the group
input, ``GROUP_INPUT``) has a *needed* region: the rows x cols its in-group
consumers read for that tile (receptive fields back-propagated through stride,
dilation and padding, clipped to the real map; the last layer's is the tile).
Needed rows depend on the tile's row only and needed cols on its col only.

How the overlap between neighbouring tiles is handled is chosen per feature
map (``Overlap``):

* ``recompute``: every tile computes (loads, for the group input) its whole
  needed region; nothing is kept from one tile to the next;
* ``cache_cols``: along a row of tiles the cols the next tile needs are kept
  (a column cache of the overlap cols over the region's height); at a new row
  of tiles the overlap rows are computed again;
* ``cache``: also the rows the next row of tiles needs are kept over the full
  width (a line buffer), so every element is computed once.

``computed(k, i, j)`` is the box a tile adds (always one box: rows x cols),
``kept(k, i, j)`` the boxes still held once tile (i, j) is done, and
``live_words`` their exact size (the feature map's GLB words during the tile).
Channels and batch are whole in every box (words = rows x cols x channels x N).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from mapper.core.enums import Axis, Overlap
from mapper.core.spec import Layer
from mapper.core.stripes import GROUP_INPUT, group_consumers, span_needed

Span = tuple[int, int]  # half-open [lo, hi) of rows or cols
Rect = tuple[Span, Span]  # rows, cols


def rect_area(rect: Rect) -> int:
    (r0, r1), (c0, c1) = rect
    return max(0, r1 - r0) * max(0, c1 - c0)


def union_area(rects: list[Rect]) -> int:
    """Cells covered by the union of ``rects`` (coordinate compression, exact)."""
    rects = [r for r in rects if rect_area(r)]
    rows = sorted({x for (r, _) in rects for x in r})
    area = 0
    for lo, hi in zip(rows, rows[1:], strict=False):
        cols = sorted((c0, c1) for (r0, r1), (c0, c1) in rects if r0 <= lo and hi <= r1)
        covered, end = 0, None
        for c0, c1 in cols:
            if end is None or c0 > end:
                covered += c1 - c0
                end = c1
            elif c1 > end:
                covered += c1 - end
                end = c1
        area += (hi - lo) * covered
    return area


@dataclass(frozen=True)
class TileGrid:
    """``overlap[k + 1]`` is the policy of feature map k (k = GROUP_INPUT first, then each
    layer's output but the last's, which is the tile itself)."""

    layers: tuple[Layer, ...]
    height: int
    width: int
    overlap: tuple[Overlap, ...]

    def __post_init__(self):
        if len(self.overlap) != len(self.layers):
            raise ValueError(f"one overlap policy per feature map: {len(self.layers)}, got {len(self.overlap)}")

    @property
    def shape(self) -> tuple[int, int]:
        """Tile rows and tile cols of the grid."""
        last = self.layers[-1].bounds
        return -(-last["P"] // self.height), -(-last["Q"] // self.width)

    def tiles(self):
        """(i, j) of every tile in execution order (row-major)."""
        rows, cols = self.shape
        return ((i, j) for i in range(rows) for j in range(cols))

    def policy(self, k: int) -> Overlap:
        """Feature map k's policy; the last layer's output is the tiles themselves, disjoint:
        nothing of it is kept or computed twice (``recompute`` in effect)."""
        return self.overlap[k + 1] if k < len(self.layers) - 1 else Overlap.RECOMPUTE

    @cached_property
    def consumers(self) -> list[list[int]]:
        """In-group consumers of each layer's output, then of the group input (stored last):
        the first layer, and an add whose second operand it is."""
        source = self.layers[0].inputs[0]
        return group_consumers(self.layers) + [[c for c, layer in enumerate(self.layers) if source in layer.inputs]]

    @cached_property
    def needed_spans(self) -> dict[tuple[Axis, int], list[Span]]:
        """(axis, k) -> the needed span of feature map k for each tile row (ROWS) or col (COLS)."""
        n, spans = len(self.layers), {}
        for axis, step, count in zip(Axis, (self.height, self.width), self.shape, strict=True):
            size = self.layers[-1].bounds["P" if axis is Axis.ROWS else "Q"]
            spans[axis, n - 1] = [(t * step, min(size, (t + 1) * step)) for t in range(count)]
            for k in range(n - 2, GROUP_INPUT - 1, -1):
                reads = [[span_needed(self.layers[c], axis, *s) for s in spans[axis, c]] for c in self.consumers[k]]
                spans[axis, k] = [(min(r[t][0] for r in reads), max(r[t][1] for r in reads)) for t in range(count)]
        return spans

    def needed(self, k: int, i: int, j: int) -> Rect:
        """Rows x cols of feature map k that tile (i, j) reads (the tile itself for the last layer)."""
        return self.needed_spans[Axis.ROWS, k][i], self.needed_spans[Axis.COLS, k][j]

    def computed(self, k: int, i: int, j: int) -> Rect:
        """The box of feature map k tile (i, j) computes (or loads, for the group input):
        its needed box less what the policy kept from earlier tiles."""
        rows, cols = self.needed(k, i, j)
        policy = self.policy(k)
        if policy is not Overlap.RECOMPUTE and j:
            cols = (max(cols[0], self.needed_spans[Axis.COLS, k][j - 1][1]), cols[1])
        if policy is Overlap.CACHE and i:
            rows = (max(rows[0], self.needed_spans[Axis.ROWS, k][i - 1][1]), rows[1])
        return rows, cols

    def kept(self, k: int, i: int, j: int) -> list[Rect]:
        """The boxes of feature map k held once tile (i, j) is done: what later tiles read
        from this copy. None under ``recompute``; under ``cache_cols`` the next tiles'
        cols of this row computed so far; under ``cache`` also what the next row of tiles
        reads: the line buffer's rows (all cols) and the new rows computed so far."""
        policy, (rows, cols) = self.policy(k), self.shape
        if policy is Overlap.RECOMPUTE:
            return []
        row_spans, col_spans = self.needed_spans[Axis.ROWS, k], self.needed_spans[Axis.COLS, k]
        (a, b), (c0, c_end) = row_spans[i], self.full(Axis.COLS, k)
        done = col_spans[j][1]  # cols of this row's new rows computed so far: [c0, done)
        later_cols = col_spans[j + 1][0] if j + 1 < cols else None
        if policy is Overlap.CACHE_COLS:
            return [r for r in [((a, b), (later_cols, done))] if later_cols is not None and rect_area(r)]
        old = row_spans[i - 1][1] if i else a  # rows [a, old) came in the line buffer, all cols
        new = max(a, old)  # rows [new, b) this row of tiles computes
        next_rows = row_spans[i + 1][0] if i + 1 < rows else None
        keep = []
        if later_cols is not None:
            keep += [((a, old), (later_cols, c_end)), ((new, b), (later_cols, done))]
        if next_rows is not None:
            keep += [((next_rows, old), (c0, c_end)), ((max(next_rows, new), b), (c0, done))]
        return [r for r in keep if rect_area(r)]

    def full(self, axis: Axis, k: int) -> Span:
        """The span of feature map k along ``axis`` that some tile reads."""
        spans = self.needed_spans[axis, k]
        return spans[0][0], spans[-1][1]

    def held_before(self, k: int, i: int, j: int) -> list[Rect]:
        """What earlier tiles kept of feature map k for tile (i, j) and later ones."""
        return self.kept(k, *self.previous(i, j)) if (i, j) != (0, 0) else []

    def live_cells(self, k: int, i: int, j: int) -> int:
        """Rows x cols of feature map k held while tile (i, j) runs: what earlier tiles
        kept and what this one computes (its needed box lies inside them)."""
        return union_area([*self.held_before(k, i, j), self.computed(k, i, j)])

    def previous(self, i: int, j: int) -> tuple[int, int]:
        return (i, j - 1) if j else (i - 1, self.shape[1] - 1)
