"""An element-wise add as a loop nest of the single-layer semantics (a fused tile's add):
O = I + I2, the second operand ``I2`` indexed like the output. The CP-SAT optimum
equals the brute-force minimum of the same space (operands streamed or held on
chip, a split RF where I2 takes the weights' part), and random mappings replay to
the modelled counts with the values checked against numpy's sum."""

from __future__ import annotations

import random
from dataclasses import replace

import pytest
from conftest import make_layer, tiny_accelerator
from test_cost_model_vs_referee import WEIGHTS, claimed_result
from test_layer_formulation import brute_force, cpsat

from mapper.core.mapping import all_dram_mapping
from mapper.core.spec import ObjectiveWeights
from mapper.cost.layer import evaluate
from mapper.heuristics.random_search import sample_mapping
from mapper.referee.verify import verify_layer_result

ADDS = [
    ("add G4 P4", make_layer("add", G=4, P=4), tiny_accelerator()),
    ("add 2-D batch", make_layer("add", N=2, G=2, P=2, Q=3), tiny_accelerator(rows=3, glb=80)),
    ("add split RF", make_layer("add", G=3, P=4), tiny_accelerator(rf_split={"W": 2, "I": 3, "O": 2})),
]
HELD = [frozenset(), frozenset({"I", "O"}), frozenset({"I", "I2", "O"})]


@pytest.mark.parametrize("label,layer,accelerator", ADDS, ids=[c[0] for c in ADDS])
@pytest.mark.parametrize("held", HELD, ids=lambda t: "".join(sorted(t)) or "none")
def test_add_cpsat_equals_brute_force(label, layer, accelerator, held):
    on_chip = replace(layer, on_chip=held)
    for weights in (ObjectiveWeights(1, 1, 0), ObjectiveWeights(0, 0, 1), ObjectiveWeights(3, 0, 0)):
        expected = brute_force(on_chip, accelerator, weights)
        solution, cost = cpsat(on_chip, accelerator, weights)
        assert expected is not None
        assert solution.status == "OPTIMAL"
        assert solution.objective == solution.bound == expected
        # both operands reach the PEs: at least every element of I and I2 crosses the GLB port
        assert cost.glb_to_array["I"] >= layer.tensor_words("I") and cost.glb_to_array["I2"] >= layer.tensor_words("O")
        if "I2" in held:
            assert cost.dram_reads["I2"] == 0
        else:
            assert cost.dram_reads["I2"] >= layer.tensor_words("O")


def test_add_split_rf_puts_the_second_operand_in_the_weights_part():
    """All of G in the RF: 3-word tiles of I, I2 and O; the parts hold 3 (I and O) and 2
    (the weights'): only I2's tile breaks its capacity."""
    layer, accelerator = ADDS[2][1], tiny_accelerator(rf_split={"W": 2, "I": 3, "O": 3})
    mapping = all_dram_mapping(layer)
    mapping.factors["DRAM"]["G"], mapping.factors["RF"]["G"] = 1, 3
    cost = evaluate(layer, accelerator, mapping)
    assert cost.tile_words["RF"]["I"] == cost.tile_words["RF"]["I2"] == 3
    assert cost.violations == ("RF I2 tile needs 3 words, capacity 2",)


def test_random_add_mappings_replay_to_the_modelled_counts():
    """Every claimed number is the replay's; values equal numpy's I + I2."""
    rng, checked = random.Random(5), 0
    for label, layer, accelerator in ADDS:
        for held in HELD:
            on_chip = replace(layer, on_chip=held)
            for mapping in _valid_mappings(on_chip, accelerator, rng, 4):
                cost = evaluate(on_chip, accelerator, mapping)
                result = claimed_result(mapping, cost, accelerator, WEIGHTS)
                report = verify_layer_result(result, on_chip, accelerator, functional=True)
                assert report.violation is None, f"{label} {sorted(held)} {mapping}: {report.violation}"
                checked += 1
    assert checked >= 30


def _valid_mappings(layer, accelerator, rng, count):
    found = 0
    for _ in range(2000):
        mapping = sample_mapping(layer, accelerator, rng)
        if evaluate(layer, accelerator, mapping).valid:
            yield mapping
            found += 1
            if found == count:
                return
