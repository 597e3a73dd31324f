"""Capacity (DESIGN 4.1): a double-buffered level holds two copies only of the
input tiles it refills; a tile loaded once, and an output tile (it accumulates
in place), take their words once. Counted by hand
here, then against the cost model, the CP-SAT optimum and the referee's replay."""

from __future__ import annotations

from conftest import DETERMINISTIC, make_layer, tiny_accelerator
from test_cost_model_vs_referee import claimed_result

from formulations.layer_search import LayerSearch
from mapper.core.mapping import Mapping, canonical_order, enumerate_mappings
from mapper.core.spec import DIMS, LOOP_LEVELS, ObjectiveWeights
from mapper.cost.layer import evaluate
from mapper.referee.verify import verify_layer_result
from mapper.solve.explain import explain_infeasible

LAYER = make_layer(K=4, C=2, P=4, R=3)  # W: 4*2*3 = 24 words
WEIGHTS = ObjectiveWeights(1, 1, 0)


def weights_resident_mapping() -> Mapping:
    """P over the DRAM loop, everything else in the GLB tile: the weight tile
    never changes (loaded once), input and output tiles change with P."""
    factors = {lv: {d: 1 for d in DIMS} for lv in LOOP_LEVELS}
    factors["DRAM"]["P"] = 4
    factors["GLB"].update(K=4, C=2, R=3)
    order = canonical_order(["P"])
    return Mapping(factors, {"DRAM": order, "GLB": canonical_order(["K", "C", "R"])})


def test_a_tile_loaded_once_is_not_double_buffered():
    # GLB tiles: W 24 (loaded once), I = C * rows = 2 * ((1-1)*1 + (3-1)*1 + 1) = 6 (refilled), O = K = 4
    # (refilled, but it accumulates in place: written out before the next one comes in)
    by_hand = 24 + 2 * 6 + 4
    accelerator = tiny_accelerator(glb=by_hand, rf=100)
    cost = evaluate(LAYER, accelerator, weights_resident_mapping())
    assert cost.valid, cost.violations
    assert cost.glb_occupancy_words == by_hand < 2 * (24 + 6 + 4)
    assert cost.dram_reads["W"] == 24
    too_small = evaluate(LAYER, tiny_accelerator(glb=by_hand - 1, rf=100), weights_resident_mapping())
    assert not too_small.valid


def test_the_replay_fits_in_the_claimed_words():
    """The referee replays the schedule on a GLB of exactly the claimed words and
    rejects any moment where more is allocated."""
    accelerator = tiny_accelerator(glb=44, rf=100)
    mapping = weights_resident_mapping()
    cost = evaluate(LAYER, accelerator, mapping)
    report = verify_layer_result(claimed_result(mapping, cost, accelerator, WEIGHTS), LAYER, accelerator, True)
    assert report.violation is None, report.violation


def test_cpsat_optimum_is_the_brute_force_one_and_gains_from_the_rule():
    """At 36 GLB words the best mapping exists only under the refill rule: the
    CP-SAT optimum equals the brute-force minimum over the space, and the
    minimum over the mappings that would also fit with every tile doubled
    (the rule before) is worse."""
    accelerator = tiny_accelerator(glb=36, rf=100)
    objectives = {}
    for mapping in enumerate_mappings(LAYER, accelerator):
        cost = evaluate(LAYER, accelerator, mapping)
        if cost.valid:
            all_doubled = 2 * sum(cost.tile_words["GLB"].values()) <= 36
            objectives.setdefault(all_doubled, []).append(cost.objective(WEIGHTS))
    best, best_all_doubled = min(objectives[False] + objectives[True]), min(objectives[True])
    solution = LayerSearch(LAYER, accelerator, WEIGHTS).solve(DETERMINISTIC)
    assert solution.status == "OPTIMAL" and solution.objective == solution.bound == best < best_all_doubled


def test_explanation_counts_a_one_word_tensor_once():
    """A layer whose weight tensor is one word: the smallest tiles are one word
    each; W is never refilled, I is (P = 4), O accumulates in place, so 1 + 2 + 1 = 4 words."""
    layer = make_layer(P=4)
    explanation = explain_infeasible(layer, tiny_accelerator(glb=3))
    assert "need 4 GLB words" in explanation and "raise it to 4" in explanation
