"""Tensors held on chip (``Layer.on_chip``: a task's operands in the shared memory,
the inner nest of a fused tile): the CP-SAT optimum equals the brute-force minimum
of the same space, the cost model equals the referee's replay on random mappings,
and the referee rejects a schedule that treats a held tensor wrongly."""

from __future__ import annotations

import random
from dataclasses import replace

import pytest
from test_cost_model_vs_referee import WEIGHTS, claimed_result, random_valid_mappings
from test_layer_formulation import CASES, brute_force, cpsat

from mapper.core.mapping import all_dram_mapping
from mapper.core.spec import ObjectiveWeights
from mapper.cost.layer import evaluate
from mapper.referee.decode_layer import decode_layer
from mapper.referee.layer_replay import replay
from mapper.referee.simulator import ScheduleViolation
from mapper.referee.verify import verify_layer_result

HELD = [frozenset({"I", "O"}), frozenset({"O"}), frozenset({"W", "I", "O"})]
BRUTE_CASES = [c for c in CASES if c[0] in ("conv K4 C2 P4 R3", "disjoint windows stride 3", "depthwise", "fc batch")]


def held(layer, tensors):
    return replace(layer, on_chip=tensors & set(layer.tensors))


@pytest.mark.parametrize("label,layer,accelerator", BRUTE_CASES, ids=[c[0] for c in BRUTE_CASES])
@pytest.mark.parametrize("tensors", HELD, ids=lambda t: "".join(sorted(t)))
def test_cpsat_equals_brute_force_with_tensors_on_chip(label, layer, accelerator, tensors):
    for weights in (ObjectiveWeights(1, 1, 0), ObjectiveWeights(0, 0, 1)):
        on_chip = held(layer, tensors)
        expected = brute_force(on_chip, accelerator, weights)
        solution, cost = cpsat(on_chip, accelerator, weights)
        if expected is None:  # the whole held tensors do not fit the GLB
            assert solution.status == "INFEASIBLE"
            continue
        assert solution.status == "OPTIMAL"
        assert solution.objective == solution.bound == expected
        for t in on_chip.on_chip:
            assert cost.dram_reads.get(t, 0) == cost.dram_writes.get(t, 0) == 0


def test_random_mappings_with_tensors_on_chip_replay_to_the_modelled_counts():
    """Every claimed number (latency, DRAM words, energy, GLB space) is the replay's,
    values checked against numpy's convolution, with each set of tensors held."""
    checked, rng = 0, random.Random(3)
    for seed in range(24):
        for layer, accelerator, mapping, _ in random_valid_mappings(seed, 2):
            on_chip = held(layer, rng.choice(HELD))
            cost = evaluate(on_chip, accelerator, mapping)
            if not cost.valid:  # the whole held tensors do not fit the GLB
                continue
            result = claimed_result(mapping, cost, accelerator, WEIGHTS)
            report = verify_layer_result(result, on_chip, accelerator, functional=seed % 2 == 0)
            assert report.violation is None, f"{mapping}: {report.violation}"
            checked += 1
    assert checked >= 30


def _schedule(tensors):
    layer, accelerator = CASES[0][1], CASES[0][2]
    on_chip = held(layer, tensors)
    return decode_layer(on_chip, accelerator, all_dram_mapping(on_chip)), accelerator


def test_a_held_input_must_be_placed_before_it_is_read():
    schedule, accelerator = _schedule(frozenset({"I", "O"}))
    assert replay(schedule, accelerator, functional=True).dram_reads["I"] == 0
    schedule.ops = [op for op in schedule.ops if op.kind != "hold"]
    with pytest.raises(ScheduleViolation, match="which is not resident in GLB"):
        replay(schedule, accelerator)


def test_only_a_held_tensor_is_placed_on_chip():
    schedule, accelerator = _schedule(frozenset({"I", "O"}))
    schedule.held = frozenset({"O"})
    with pytest.raises(ScheduleViolation, match="I is not an input this schedule holds on chip"):
        replay(schedule, accelerator)


def test_a_held_output_must_be_drained_whole():
    """Its last drain left out, the array tile is freed with values lost; its last
    drain and that free left out, the tile is never written out."""
    schedule, accelerator = _schedule(frozenset({"O"}))
    last = max(i for i, op in enumerate(schedule.ops) if op.kind == "drain")
    without_drain = [op for i, op in enumerate(schedule.ops) if i != last]
    drained = schedule.ops[last]
    without_both = [op for op in without_drain if not (op.kind == "free" and op.box == drained.box)]
    for ops, message in ((without_drain, "discards output values"), (without_both, "was never written out")):
        schedule.ops = ops
        with pytest.raises(ScheduleViolation, match=message):
            replay(schedule, accelerator)
