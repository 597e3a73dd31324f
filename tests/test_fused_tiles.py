"""The 2-D tile geometry of a fused group (mapper.core.fused_tiles) against a
brute-force residency simulation with numpy masks: every read of every tile is
resident, each policy keeps exactly what later tiles read from its copy, the
live cells are the simulation's, and ``cache`` computes every element once."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from test_fusion import ADD, GROUPS, D, fmap_layer

from mapper.core.enums import Axis, Overlap
from mapper.core.fused_tiles import TileGrid, union_area
from mapper.core.stripes import GROUP_INPUT, span_needed


def map_shape(grid: TileGrid, k: int) -> tuple[int, int]:
    if k == GROUP_INPUT:
        first = grid.layers[0]
        return first.in_rows, first.input_hw[1]
    return grid.layers[k].bounds["P"], grid.layers[k].bounds["Q"]


def mask(shape, rects) -> np.ndarray:
    m = np.zeros(shape, dtype=bool)
    for (r0, r1), (c0, c1) in rects:
        m[r0:r1, c0:c1] = True
    return m


def reads(grid: TileGrid, k: int, i: int, j: int) -> list:
    """What the consumers of feature map k read of it at tile (i, j): the input span of
    the box each consumer computes (the tile itself for the last layer)."""
    found = []
    for c in grid.consumers[k]:
        rows, cols = grid.computed(c, i, j)
        if rows[1] > rows[0] and cols[1] > cols[0]:
            layer = grid.layers[c]
            found.append((span_needed(layer, Axis.ROWS, *rows), span_needed(layer, Axis.COLS, *cols)))
    return found


def simulate(grid: TileGrid) -> dict:
    """Compute each box, check every read is resident, drop what the policy does not
    keep; returns the cells computed per feature map."""
    n = len(grid.layers)
    maps = range(GROUP_INPUT, n)
    resident = {k: np.zeros(map_shape(grid, k), dtype=bool) for k in maps}
    computed = dict.fromkeys(maps, 0)
    order = list(grid.tiles())
    for t, (i, j) in enumerate(order):
        for k in maps:  # the group input is loaded first, then the layers compute in order
            box = grid.computed(k, i, j)
            computed[k] += union_area([box])
            resident[k] |= mask(resident[k].shape, [box])
            assert resident[k].sum() == grid.live_cells(k, i, j), (k, i, j)
        for k in maps[:-1]:
            for rect in reads(grid, k, i, j):
                assert resident[k][mask(resident[k].shape, [rect])].all(), f"map {k} read {rect} at {(i, j)}"
            assert resident[k][mask(resident[k].shape, [grid.needed(k, i, j)])].all()
        for k in maps[:-1]:
            later = order[t + 1 :]
            if grid.policy(k) is Overlap.CACHE_COLS:
                later = [(a, b) for a, b in later if a == i]
            wanted = mask(resident[k].shape, [grid.needed(k, a, b) for a, b in later])
            if grid.policy(k) is Overlap.RECOMPUTE:
                wanted[:] = False
            kept = mask(resident[k].shape, grid.kept(k, i, j))
            assert (kept == (resident[k] & wanted)).all(), f"map {k} keeps the wrong cells after {(i, j)}"
            resident[k] &= kept
        resident[n - 1][:] = False  # the group output leaves the GLB
    return computed


CHAINS = {
    **{name: layers for name, layers in GROUPS.items() if len(layers) > 1},
    "three convs": (
        fmap_layer("p", ["input"], 2, 2, 9),
        fmap_layer("q", ["p"], 2, 2, 9, kernel=5, pad=2),
        fmap_layer("r", ["q"], 2, 2, 9, stride=2),
    ),
    "residual streamed from outside": (D, ADD),  # the group input is a; the add's operand is not
    "add first": (ADD, fmap_layer("f", ["e"], 2, 2, 6)),
    "stride 3 past the kernel": (
        fmap_layer("u", ["input"], 1, 1, 10),
        fmap_layer("v", ["u"], 1, 1, 10, kernel=1, pad=0, stride=3),
    ),
}


@pytest.mark.parametrize("name", sorted(CHAINS))
@pytest.mark.parametrize("height,width", [(1, 1), (2, 3), (4, 2), (100, 100)])
def test_every_read_is_resident_and_each_policy_keeps_what_later_tiles_read(name, height, width):
    layers = CHAINS[name]
    for policies in itertools.product(list(Overlap), repeat=len(layers)):
        grid = TileGrid(layers, height, width, policies)
        computed = simulate(grid)
        for k in range(GROUP_INPUT, len(layers) - 1):
            needed = union_area([grid.needed(k, i, j) for i, j in grid.tiles()])
            if grid.policy(k) is Overlap.CACHE:
                assert computed[k] == needed  # every element once
            elif grid.policy(k) is Overlap.RECOMPUTE:
                assert computed[k] == sum(union_area([grid.needed(k, i, j)]) for i, j in grid.tiles())
            assert computed[k] >= needed


def test_recomputation_grows_as_the_cache_shrinks():
    """VGG16 conv1_1 + conv1_2 in 8 x 8 tiles: cached both ways conv1_1 computes its
    224 x 224 map once; cached along cols, every row of tiles recomputes 2 halo rows."""
    conv1_1 = fmap_layer("conv1_1", ["input"], 3, 64, 224)
    conv1_2 = fmap_layer("conv1_2", ["conv1_1"], 64, 64, 224)
    cells = {}
    for policy in Overlap:
        grid = TileGrid((conv1_1, conv1_2), 8, 8, (Overlap.CACHE, policy))
        cells[policy] = sum(union_area([grid.computed(0, i, j)]) for i, j in grid.tiles())
    assert cells[Overlap.CACHE] == 224 * 224
    assert cells[Overlap.CACHE_COLS] == 224 * 224 + 27 * 2 * 224  # 28 rows of tiles, 27 seams of 2 rows
    assert cells[Overlap.RECOMPUTE] > cells[Overlap.CACHE_COLS]
