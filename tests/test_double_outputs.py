"""A double-buffered RF output tile (``Mapping.double_outputs``): each drain
overlaps the next compute, the tile takes two copies. Hand-timed schedules, the
cost model against the referee's replay on random mappings with it, and the
rules that refuse it where the RF is single-buffered."""

from __future__ import annotations

import random

import pytest
from conftest import DETERMINISTIC, make_layer, tiny_accelerator

from formulations.layer_search import LayerSearch
from mapper.core.mapping import Mapping, canonical_order, enumerate_mappings
from mapper.core.spec import DIMS, LOOP_LEVELS, ObjectiveWeights
from mapper.cost.layer import evaluate
from mapper.heuristics.random_search import sample_mapping
from mapper.referee.aggregate import replay_streaming
from mapper.referee.decode_layer import decode_layer
from mapper.referee.simulator import simulate
from mapper.referee.verify import verify_layer_result

# fc K4 C2 on one PE: the GLB loops over K (W and O change at every iteration),
# the RF over C (compute 2 cycles); DRAM 2 words/cycle, the GLB port 1.
LAYER = make_layer("fc", K=4, C=2)


def accelerator(rf: int = 8, rf_double: bool = True):
    return tiny_accelerator(rows=1, cols=1, glb=60, rf=rf, rf_double=rf_double, dram_bw=2, glb_bw=1)


def k_over_glb(double: bool) -> Mapping:
    factors = {lv: {d: 1 for d in DIMS} for lv in LOOP_LEVELS}
    factors["GLB"]["K"], factors["RF"]["C"] = 4, 2
    order = canonical_order(["K"])
    return Mapping(factors, {"DRAM": order, "GLB": order}, ("RF",) if double else ())


@pytest.mark.parametrize(
    "double,makespan",
    [
        # prologue: load W 4, load I 1, fill W 2, fill I 2 = 9; then per compute (2 cycles)
        # the next W fill (2); in place each drain (1) is serial: 9 + 2+2+1 + 1+2+2 ... = 21,
        # then the store of O (4 words) 2: 23 (the cost model's closed form gives the same).
        (False, 23),
        # double-buffered: computes at 9, 11, 14, 17 (each waits for its W fill, which
        # follows the drain of the tile before on the port), the last drain at 19-20,
        # the store 20-22.
        (True, 22),
    ],
)
def test_a_hand_timed_schedule(double, makespan):
    mapping, acc = k_over_glb(double), accelerator()
    cost = evaluate(LAYER, acc, mapping)
    assert cost.valid, cost.violations
    measured = simulate(decode_layer(LAYER, acc, mapping), acc)
    assert measured.makespan == cost.latency_cycles == makespan


def test_the_second_copy_takes_rf_words():
    """RF words: W 2 (refilled: twice), I 2 (loaded once), O 1, twice when double-buffered."""
    in_place, double = (evaluate(LAYER, accelerator(rf=7), k_over_glb(d)) for d in (False, True))
    assert in_place.valid and in_place.rf_occupancy_words == 7
    assert not double.valid and double.rf_occupancy_words == 8


def brute_force(acc, weights, double: bool | None = None) -> int:
    """The least objective over the enumerated space (only one buffering, if given)."""
    costs = (
        evaluate(LAYER, acc, m)
        for m in enumerate_mappings(LAYER, acc)
        if double is None or bool(m.double_outputs) == double
    )
    return min(c.objective(weights) for c in costs if c.valid)


@pytest.mark.parametrize("rf,wins", [(7, False), (8, True)])
def test_the_solver_takes_it_where_it_fits_and_pays(rf, wins):
    """The two-sided search equals brute force over both bufferings; with 8 RF
    words a double-buffered mapping beats every in-place one, with 7 none fits."""
    weights, acc = ObjectiveWeights(1, 0, 0), accelerator(rf=rf)
    solution = LayerSearch(LAYER, acc, weights).solve(DETERMINISTIC)
    assert solution.status == "OPTIMAL" and solution.objective == solution.bound == brute_force(acc, weights)
    assert bool(solution.mapping.double_outputs) == wins
    assert (brute_force(acc, weights, double=False) > solution.objective) == wins
    assert evaluate(LAYER, acc, solution.mapping).latency_cycles == solution.objective


def test_random_double_buffered_mappings_replay_to_the_modelled_latency():
    layers = [
        make_layer(K=4, C=4, P=8, Q=4, R=3, S=3),
        make_layer("depthwise", G=8, P=8, Q=2, R=3),
        make_layer("fc", K=16, C=24),
    ]
    accelerators = [
        tiny_accelerator(glb=400, rf=40, rf_double=True),
        tiny_accelerator(glb=400, rf=40, rf_double=True, glb_double=False, glb_bw=2),
        tiny_accelerator(glb=400, rf=60, rf_double=True, glb_bw=1, dram_bw=1),
    ]
    rng, checked = random.Random(3), 0
    while checked < 40:
        layer, acc = rng.choice(layers), rng.choice(accelerators)
        mapping = sample_mapping(layer, acc, rng)
        cost = evaluate(layer, acc, mapping)
        if not (cost.valid and mapping.double_outputs):
            continue
        measured = simulate(decode_layer(layer, acc, mapping), acc)
        streamed = replay_streaming(layer, acc, mapping).measured
        assert measured.makespan == streamed.makespan == cost.latency_cycles, mapping
        assert measured.peak_words == streamed.peak_words
        checked += 1


def claimed(mapping: Mapping, acc) -> dict:
    cost = evaluate(LAYER, acc, mapping)
    weights = ObjectiveWeights(1, 1, 0)
    return {
        "mapping": mapping.to_dict(),
        "metrics": cost.metrics(acc),
        "objective": cost.objective(weights),
        "weights": weights.__dict__,
    }


def test_verify_checks_the_double_buffered_claim_and_refuses_it_on_a_single_buffered_rf():
    acc = accelerator()
    result = claimed(k_over_glb(True), acc)
    assert result["mapping"]["double_outputs"] == ["RF"]
    assert verify_layer_result(result, LAYER, acc).violation is None
    result["metrics"]["latency_cycles"] += 1
    assert "latency" in verify_layer_result(result, LAYER, acc).violation
    single = accelerator(rf_double=False)
    assert "cannot double-buffer" in " ".join(evaluate(LAYER, single, k_over_glb(True)).violations)
    report = verify_layer_result(claimed(k_over_glb(True), acc), LAYER, single)
    assert "double_outputs" in report.violation
