"""Fused groups in 2-D tiles with each layer's box mapped by a layer nest (issue 15):
a group of one layer is the layer on its own, in every metric; the cost model
equals the referee's replay of the group schedule (the nests replayed as layers,
values checked against numpy) for every overlap and weight policy; and a schedule
that drops a cached halo is rejected."""

from __future__ import annotations

import itertools
import random
from dataclasses import replace

import pytest
from conftest import DETERMINISTIC, tiny_accelerator
from test_fused_tiles import CHAINS
from test_fusion import fmap_layer

from mapper.core.enums import Overlap, WeightPolicy
from mapper.core.fused_tiles import TileGrid
from mapper.core.mapping import enumerate_mappings
from mapper.core.spec import MAPPABLE_KINDS, ObjectiveWeights
from mapper.core.tiled_group import TiledMapping, TiledSpace, nest_boxes, nest_layer
from mapper.cost.layer import evaluate
from mapper.cost.tiled_group import evaluate_tiled
from mapper.heuristics.random_search import sample_mapping
from mapper.io.library import listing, lookup
from mapper.io.loading import load_accelerator, load_network
from mapper.referee.decode_tiled import replay_tiled
from mapper.referee.simulator import ScheduleViolation
from mapper.solve.tiled_search import configurations, solve_tiled

METRICS = ("latency_cycles", "dram_words", "energy_fj", "macs", "glb_words")


def valid_mapping(layer, accelerator, rng):
    for _ in range(2000):
        mapping = sample_mapping(layer, accelerator, rng)
        if evaluate(layer, accelerator, mapping).valid:
            return mapping
    return None


def with_nests(layers, mapping: TiledMapping, accelerator, rng) -> TiledMapping | None:
    nests = {}
    for key in nest_boxes(layers, mapping):
        nest = valid_mapping(nest_layer(layers, mapping, key), accelerator, rng)
        if nest is None:
            return None
        nests[key] = nest
    return replace(mapping, nests=nests)


def test_a_group_of_one_layer_is_the_layer_on_its_own():
    """Every mappable layer of the bundled networks on two presets, a random valid mapping
    each: the one-tile group holding nothing costs what layer mode costs, metric by metric."""
    rng, checked = random.Random(0), 0
    for preset in ("eyeriss_like", "array16x16"):
        accelerator = load_accelerator(lookup("accelerators")[preset])
        for _, network_path in listing("networks"):
            for layer in load_network(network_path).layers.values():
                if layer.kind not in {*MAPPABLE_KINDS, "add"}:
                    continue
                mapping = valid_mapping(layer, accelerator, rng)
                if mapping is None:
                    continue
                rows, cols = layer.bounds["P"], layer.bounds["Q"]
                tiled = TiledMapping(rows, cols, (Overlap.RECOMPUTE,), (WeightPolicy.PER_TILE,), False, False, {})
                tiled = TiledMapping(
                    **{**tiled.__dict__, "nests": {(0, layer.bounds["P"], layer.bounds["Q"]): mapping}}
                )
                group, alone = evaluate_tiled((layer,), accelerator, tiled), evaluate(layer, accelerator, mapping)
                assert group.valid
                expected = (
                    alone.latency_cycles,
                    alone.dram_words,
                    alone.energy_fj,
                    alone.macs,
                    alone.glb_occupancy_words,
                )
                assert tuple(getattr(group, m) for m in METRICS) == expected, layer.name
                checked += 1
    assert checked >= 200


CASES = sorted(CHAINS.items())


@pytest.mark.parametrize("name,layers", CASES, ids=[c[0] for c in CASES])
def test_the_cost_model_equals_the_replay_of_the_group_schedule(name, layers):
    accelerator, rng, checked = tiny_accelerator(rows=2, cols=2, glb=2000, rf=12), random.Random(name), 0
    out = layers[-1].bounds
    for height, width in ((1, 1), (min(2, out["P"]), min(3, out["Q"])), (min(4, out["P"]), min(4, out["Q"]))):
        for trial in range(3):
            overlap = tuple(rng.choice(list(Overlap)) for _ in layers)
            weights = tuple(rng.choice(list(WeightPolicy)) for _ in layers)
            mapping = with_nests(
                layers, TiledMapping(height, width, overlap, weights, True, True, {}), accelerator, rng
            )
            cost = evaluate_tiled(layers, accelerator, mapping)
            assert cost.valid, cost.violations
            replayed = replay_tiled(layers, accelerator, mapping, functional=trial == 0)
            assert tuple(getattr(cost, m) for m in METRICS) == tuple(getattr(replayed, m) for m in METRICS)
            assert replayed.peak_words <= replayed.glb_words
            checked += 1
    assert checked == 9


def test_a_cached_halo_freed_too_early_is_rejected(monkeypatch):
    """The decoder frees what ``kept`` leaves out: with nothing kept while the boxes
    still assume the cache, a later tile reads a freed halo."""
    layers = CHAINS["three convs"]
    accelerator, rng = tiny_accelerator(rows=2, cols=2, glb=2000, rf=12), random.Random(1)
    policies = (Overlap.CACHE,) * len(layers)
    mapping = with_nests(
        layers, TiledMapping(2, 3, policies, (WeightPolicy.RESIDENT,) * 3, True, True, {}), accelerator, rng
    )
    replay_tiled(layers, accelerator, mapping)
    monkeypatch.setattr(TileGrid, "kept", lambda self, k, i, j: [])
    with pytest.raises(ScheduleViolation, match="which is not resident in GLB"):
        replay_tiled(layers, accelerator, mapping)


BRUTE_GROUPS = {
    "conv 2x2 + conv 1x1": (
        (fmap_layer("a", ["input"], 1, 1, 3, kernel=2, pad=0), fmap_layer("b", ["a"], 1, 1, 2, kernel=1, pad=0)),
        (12, 10),
    ),
    "conv 1x1 + add of the group input": (
        (
            fmap_layer("a", ["input"], 1, 1, 2, kernel=1, pad=0),
            fmap_layer("b", ["a", "input"], 1, 1, 2, kind="add", kernel=1, pad=0),
        ),
        (14, 9),
    ),
}


@pytest.mark.parametrize("name", sorted(BRUTE_GROUPS))
def test_the_search_equals_brute_force_over_every_nest_combination(name):
    """Two layers on a 1 x 1 array: the enumerated search's optimum equals the least
    objective over every configuration and every combination of nest mappings
    (``enumerate_mappings`` per box shape), also where the GLB budget binds."""
    layers, glbs = BRUTE_GROUPS[name]
    space, weights = TiledSpace(((1, 1), (1, 2), (2, 1))), ObjectiveWeights(1, 1, 0)
    for glb in glbs:
        accelerator = tiny_accelerator(rows=1, cols=1, glb=glb, rf=6)
        answer = solve_tiled(layers, accelerator, weights, DETERMINISTIC, space)
        best = None
        for mapping in configurations(layers, space):
            keys = list(nest_boxes(layers, mapping))
            options = [
                list(enumerate_mappings(nest_layer(layers, mapping, (k, r, c)), accelerator)) for k, r, c in keys
            ]
            for combo in itertools.product(*options):
                cost = evaluate_tiled(layers, accelerator, replace(mapping, nests=dict(zip(keys, combo, strict=True))))
                if cost.valid and (best is None or cost.objective(weights) < best):
                    best = cost.objective(weights)
        assert answer.proven and answer.cost.objective(weights) == best
        replayed = replay_tiled(layers, accelerator, answer.mapping, functional=True)
        assert (replayed.latency_cycles, replayed.dram_words) == (answer.cost.latency_cycles, answer.cost.dram_words)


def test_freeing_a_box_inside_an_allocation_leaves_exactly_the_rest():
    """``box_minus`` (the simulator's split of an allocation): disjoint pieces that with
    the hole tile the box, on every hole of a 3 x 4 x 2 box."""
    import numpy as np

    from mapper.core.box import Box
    from mapper.referee.replay_state import box_minus

    box = Box(((0, 3), (1, 5), (0, 2)))
    spans = [[(a, b) for a in range(lo, hi) for b in range(a + 1, hi + 1)] for lo, hi in box.ranges]
    for hole in itertools.product(*spans):
        cover = np.zeros((3, 5, 2), dtype=int)
        cover[tuple(slice(lo, hi) for lo, hi in hole)] += 1
        for piece in box_minus(box, Box(hole)):
            cover[tuple(slice(lo, hi) for lo, hi in piece.ranges)] += 1
        assert (cover[:, 1:5, :] == 1).all() and not cover[:, :1, :].any()
