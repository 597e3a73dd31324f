"""Uneven splits of the channel dims at the PE array (docs/mapping_space.md): the
rows of the space, the splits left out as never better, CP-SAT against brute force
on prime bounds, and the referee's replay of remainder tiles."""

from __future__ import annotations

import random
from dataclasses import replace
from math import prod

import pytest
from conftest import DETERMINISTIC, make_layer, tiny_accelerator
from test_aggregated_replay import batch, streamed
from test_cost_model_vs_referee import claimed_result

from formulations.layer_search import LayerSearch
from mapper.app.export import timeloop_mapping
from mapper.core.arith import ceil_div
from mapper.core.enums import Factors
from mapper.core.errors import SpecError
from mapper.core.mapping import (
    Mapping,
    canonical_order,
    dim_factorisations,
    enumerate_mappings,
    ordered_factorisations,
    uneven_factorisations,
)
from mapper.core.spec import CHANNEL_DIMS, DIMS, LOOP_LEVELS, ObjectiveWeights
from mapper.cost.layer import evaluate
from mapper.heuristics.random_search import sample_mapping
from mapper.referee.verify import verify_layer_result

WEIGHTS = ObjectiveWeights(2, 1, 1)


def test_uneven_rows_keep_the_rule_and_contain_the_divisor_rows():
    for rows, cols in ((2, 3), (12, 14)):
        for bound in range(1, 41):
            uneven = set(uneven_factorisations(bound, rows, cols))
            divisor = {t for t in ordered_factorisations(bound, 5) if t[2] <= rows and t[3] <= cols}
            assert divisor <= uneven
            for n, g, r, c, rf in uneven:
                q = bound // rf
                assert bound % rf == 0 and r <= rows and c <= cols and r * c <= q
                assert n * g == ceil_div(q, r * c)


def test_only_channel_dims_split_unevenly_and_divisors_turns_it_off():
    acc = tiny_accelerator(rows=2, cols=3)
    for dim in DIMS:
        rows = dim_factorisations(dim, 7, acc, Factors.UNEVEN)
        assert all(prod(t) == 7 for t in rows) == (dim not in CHANNEL_DIMS)
        assert all(prod(t) == 7 for t in dim_factorisations(dim, 7, acc, Factors.DIVISORS))


def _widened(mapping: Mapping, dim: str, level: str, bound: int) -> Mapping | None:
    """``mapping`` with one more PE along ``dim`` at ``level`` and the same positions,
    or None if that changes the positions (then it is not a split left out)."""
    factors = {lv: dict(mapping.factors[lv]) for lv in LOOP_LEVELS}
    factors[level][dim] += 1
    wider = Mapping(factors, mapping.orders, mapping.double_outputs)
    q = bound // factors["RF"][dim]
    if wider.spatial(dim) > q or ceil_div(q, wider.spatial(dim)) != mapping.positions(dim):
        return None
    return wider


def test_a_split_left_out_is_never_better_than_the_one_kept():
    """uneven_factorisations leaves out a split whose f_ROW - 1 or f_COL - 1 gives as many
    positions: on random mappings, one more PE at the same positions never lowers a cost."""
    compared = 0
    for seed in range(30):
        rng = random.Random(seed)
        layer = make_layer(K=rng.choice([5, 7, 9]), C=rng.choice([3, 5, 6]), P=rng.choice([2, 3]), R=2)
        acc = tiny_accelerator(rows=3, cols=4, glb=200, rf=40)
        for _ in range(40):
            mapping = sample_mapping(layer, acc, rng)
            cost = evaluate(layer, acc, mapping)
            if not cost.valid:
                continue
            for dim in ("K", "C"):
                for level in ("ROW", "COL"):
                    wider = _widened(mapping, dim, level, layer.bounds[dim])
                    other = evaluate(layer, acc, wider) if wider is not None else None
                    if other is None or not other.valid:
                        continue
                    compared += 1
                    for metric in ("latency_cycles", "dram_words", "energy_fj", "glb_occupancy_words"):
                        assert getattr(other, metric) >= getattr(cost, metric), (mapping, dim, level, metric)
    assert compared >= 50


PRIME_CASES = [
    ("K5 C7 on 2x3", make_layer(K=5, C=7, P=2), tiny_accelerator(rows=2, cols=3, glb=80, rf=20)),
    ("K7 C3 P2 R2 on 2x3", make_layer(K=7, C=3, P=2, R=2), tiny_accelerator(rows=2, cols=3, glb=60, rf=16)),
    ("depthwise G5 on 2x2", make_layer("depthwise", G=5, P=3, R=2), tiny_accelerator(rows=2, cols=2, glb=40)),
]


def _brute_force(layer, acc, weights, factors):
    costs = (evaluate(layer, acc, m) for m in enumerate_mappings(layer, acc, factors))
    return min(c.objective(weights) for c in costs if c.valid)


@pytest.mark.parametrize("name,layer,acc", PRIME_CASES, ids=[c[0] for c in PRIME_CASES])
def test_cpsat_equals_brute_force_on_prime_bounds(name, layer, acc):
    weights = ObjectiveWeights(1, 1, 0)
    best = {f: _brute_force(layer, acc, weights, f) for f in Factors}
    assert best[Factors.UNEVEN] <= best[Factors.DIVISORS]
    for factors in Factors:
        solution = LayerSearch(layer, acc, weights, factors).solve(DETERMINISTIC)
        assert solution.status == "OPTIMAL" and solution.objective == best[factors], factors
        cost = evaluate(layer, acc, solution.mapping)
        assert cost.valid and cost.objective(weights) == solution.objective


def test_uneven_splits_pay_off_on_prime_bounds():
    """On a prime channel bound the divisor space leaves PEs idle; an uneven split does not."""
    weights = ObjectiveWeights(1, 0, 0)
    layer, acc = make_layer(K=7, C=5, P=2), tiny_accelerator(rows=2, cols=3, glb=200, rf=40)
    best = {f: _brute_force(layer, acc, weights, f) for f in Factors}
    assert best[Factors.UNEVEN] < best[Factors.DIVISORS]


def _remainder_mapping() -> tuple:
    """K 7 on 3 cols (positions 3, the last with 1 working col), C 5 on 2 rows (3 positions, the
    last with 1 row); the K positions split over DRAM and GLB, C's at the GLB."""
    layer = make_layer(K=7, C=5, P=4, R=3)
    acc = tiny_accelerator(rows=2, cols=3, glb=400, rf=40)
    factors = {lv: dict.fromkeys(DIMS, 1) for lv in LOOP_LEVELS}
    factors["DRAM"].update(K=3, P=2)
    factors["GLB"].update(C=3, P=2)
    factors["ROW"]["C"], factors["COL"]["K"], factors["RF"]["R"] = 2, 3, 3
    orders = {"DRAM": canonical_order(["K", "P"]), "GLB": canonical_order(["P", "C"])}
    return layer, acc, Mapping(factors, orders)


def test_remainder_tiles_move_only_their_words_and_replay_to_the_claim():
    layer, acc, mapping = _remainder_mapping()
    cost = evaluate(layer, acc, mapping)
    assert cost.valid, cost.violations
    assert cost.used_pes == 6 and cost.compute_cycles == (3 * 2) * (3 * 2) * 3  # DRAM K, P x GLB C, P windows, RF R 3
    assert cost.macs == layer.macs < cost.used_pes * cost.compute_cycles
    assert cost.dram_reads["W"] == layer.tensor_words("W")  # each weight read once, no padding
    report = verify_layer_result(claimed_result(mapping, cost, acc, WEIGHTS), layer, acc, functional=True)
    assert report.violation is None, report.violation


def test_a_claim_one_cycle_off_on_an_uneven_mapping_is_rejected():
    layer, acc, mapping = _remainder_mapping()
    cost = evaluate(layer, acc, mapping)
    claim = claimed_result(mapping, replace(cost, latency_cycles=cost.latency_cycles - 1), acc, WEIGHTS)
    claim["objective"] = replace(cost, latency_cycles=cost.latency_cycles - 1).objective(WEIGHTS)
    report = verify_layer_result(claim, layer, acc)
    assert report.violation is not None and "latency" in report.violation


def test_an_uneven_split_off_the_rule_is_refused_by_model_and_referee():
    layer, acc, mapping = _remainder_mapping()
    factors = {lv: dict(mapping.factors[lv]) for lv in LOOP_LEVELS}
    factors["DRAM"]["K"] = 4  # 4 positions of 3 cols for K 7: one too many
    bad = Mapping(factors, mapping.orders)
    cost = evaluate(layer, acc, bad)
    assert not cost.valid and any("ceil(7 / (1 RF x 3 PEs)) = 3" in v for v in cost.violations)
    report = verify_layer_result(claimed_result(bad, cost, acc, WEIGHTS), layer, acc)
    assert report.violation is not None and "uneven split" in report.violation


def test_the_streamed_replay_of_remainder_tiles_equals_the_whole_replay():
    """Repeated DRAM iterations are applied at once only between iterations of the same
    extents: a remainder iteration is not a repeat of a whole one."""
    _, acc, mapping = _remainder_mapping()
    layer = make_layer(K=13, C=5, P=4, R=3)  # 5 positions of 3 cols: 4 whole (repeats), a remainder of 1
    factors = {lv: dict(mapping.factors[lv]) for lv in LOOP_LEVELS}
    factors["DRAM"]["K"] = 5
    mapping = Mapping(factors, mapping.orders)
    assert evaluate(layer, acc, mapping).valid
    result, repeated = streamed(layer, acc, mapping, memo=True)
    assert repeated > 0 and result == batch(layer, acc, mapping)


def test_the_timeloop_export_refuses_an_uneven_split_with_the_fix():
    layer, acc, mapping = _remainder_mapping()
    result = {"mode": "layer", **claimed_result(mapping, evaluate(layer, acc, mapping), acc, WEIGHTS)}
    with pytest.raises(SpecError, match="factors: divisors"):
        timeloop_mapping(result, "r.json")
