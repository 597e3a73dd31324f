"""Sliding-window reuse of the array's input tile at the GLB loops (DESIGN 4.1):
hand-counted port words, the rule that keeps it to axes the PE array does not
unroll, the cost model against the referee's replay, and the CP-SAT objective
against the cost model on pinned sliding mappings."""

from __future__ import annotations

import random

import pytest
from conftest import DETERMINISTIC, make_layer, tiny_accelerator

from formulations.layer import LayerModel
from mapper.core.mapping import Mapping, canonical_order
from mapper.core.spec import DIMS, LOOP_LEVELS, ORDERED_LEVELS, ObjectiveWeights
from mapper.cost.layer import evaluate
from mapper.cost.loops import sliding_axis
from mapper.heuristics.random_search import sample_mapping
from mapper.referee.array_replay import replay_array
from mapper.referee.decode_layer import decode_layer
from mapper.referee.simulator import simulate

# 1-D conv: P4 R3, stride 1: 6 input rows. Everything in one GLB tile; the GLB
# loops walk P (array tiles of P1 R3: 3 input rows each).
LAYER = make_layer(P=4, R=3)
ACCELERATOR = tiny_accelerator(rows=1, cols=2, glb=60, rf=12)


def mapping(col_p: int) -> Mapping:
    factors = {lv: {d: 1 for d in DIMS} for lv in LOOP_LEVELS}
    factors["GLB"]["P"], factors["COL"]["P"], factors["RF"]["R"] = 4 // col_p, col_p, 3
    order = canonical_order(["P"])
    return Mapping(factors, {"DRAM": order, "GLB": order})


@pytest.mark.parametrize(
    "col_p,port_words,rf_accesses",
    [
        # P on the GLB loops only, one PE: the first array tile 3 input rows, each of
        # the next three slides by one row: 3 + 1 + 1 + 1 port words. RF: W 3 words
        # once, I the same 6 words, O 4 tiles drained (no read-backs): 3 + 6 + 4 = 13.
        (1, 6, 13),
        # P also on 2 PE cols: each PE's rows are not the other's, so no reuse: 2 array
        # tiles of 4 rows on the port; per PE W 3, I 2 x 3, O 2: 11, times 2 PEs.
        (2, 8, 22),
    ],
)
def test_hand_counted_port_and_rf_words(col_p, port_words, rf_accesses):
    m = mapping(col_p)
    cost = evaluate(LAYER, ACCELERATOR, m)
    assert cost.valid, cost.violations
    assert (sliding_axis(LAYER, m, "GLB") is not None) == (col_p == 1)
    measured = simulate(decode_layer(LAYER, ACCELERATOR, m), ACCELERATOR)
    assert measured.port_reads["I"] == cost.glb_to_array["I"] == port_words
    assert replay_array(LAYER, m).rf_accesses == cost.rf_accesses == rf_accesses
    assert measured.makespan == cost.latency_cycles


LAYERS = [
    make_layer(K=4, C=2, P=8, Q=4, R=3, S=3),
    make_layer(K=4, C=2, P=6, Q=4, R=3, S=1, stride=(2, 1)),
    make_layer("depthwise", G=4, P=8, Q=2, R=3),
    make_layer(K=2, C=2, P=8, Q=6, R=2, S=3, dilation=(2, 1)),
]
ACCELERATORS = [
    tiny_accelerator(glb=800, rf=80, rf_double=True),
    tiny_accelerator(glb=800, rf=80),
    tiny_accelerator(glb=800, rf=80, rf_double=True, glb_double=False, glb_bw=2),
    tiny_accelerator(glb=800, rf=90, glb_bw=1, dram_bw=1),
]


DOUBLE_RF = [*ACCELERATORS[::2], tiny_accelerator(glb=800, rf=120, rf_double=True, glb_bw=1)]


def innermost_slides(m: Mapping) -> bool:
    """The innermost GLB loop with f > 1 is P or Q: the input and the output change
    at every GLB iteration (each drain shares its window with a slide)."""
    loops = [d for d in m.orders["GLB"] if m.factors["GLB"][d] > 1]
    return bool(loops) and loops[-1] in ("P", "Q")


def sliding_mappings(seed: int, count: int, double: bool = False):
    """Valid random mappings whose array tile slides at the GLB loops (and, if
    ``double``, whose output tile is double-buffered and changes at every GLB iteration)."""
    rng, found = random.Random(seed), 0
    while found < count:
        layer, accelerator = rng.choice(LAYERS), rng.choice(DOUBLE_RF if double else ACCELERATORS)
        m = sample_mapping(layer, accelerator, rng)
        if double and not (m.double_outputs and innermost_slides(m)):
            continue
        if evaluate(layer, accelerator, m).valid and sliding_axis(layer, m, "GLB") is not None:
            found += 1
            yield layer, accelerator, m


def test_sliding_mappings_replay_to_the_modelled_counts():
    for layer, accelerator, m in sliding_mappings(1, 60):
        cost = evaluate(layer, accelerator, m)
        measured = simulate(decode_layer(layer, accelerator, m), accelerator)
        array = replay_array(layer, m)
        assert measured.makespan == cost.latency_cycles, m
        assert measured.port_reads["I"] == cost.glb_to_array["I"], m
        assert array.rf_accesses == cost.rf_accesses, m


@pytest.mark.parametrize("double", [False, True], ids=["in place", "double-buffered outputs"])
def test_the_cpsat_objective_equals_the_cost_model_on_pinned_sliding_mappings(double):
    """With the output double-buffered too, the fills that share a drain's window
    are the slid rows (mobilenet_v2 block1_dw on 16x16 found the CP-SAT model
    counting the whole input tile there: 1 cycle below the cost model)."""
    weights = ObjectiveWeights(3, 2, 1)
    for layer, accelerator, m in sliding_mappings(5, 16, double):
        model = LayerModel(layer, accelerator, weights, double_out=bool(m.double_outputs))
        orders = {lv: [d for d in m.orders[lv] if m.factors[lv][d] > 1] for lv in ORDERED_LEVELS}
        model.add_pins({"factors": m.factors, "orders": orders})
        solution = model.solve(DETERMINISTIC)
        assert solution.status == "OPTIMAL"
        assert solution.objective == evaluate(layer, accelerator, m).objective(weights), m
