"""The streaming replay with repeated DRAM iterations applied at once
(``mapper.referee.aggregate``) against the replay of the whole decoded schedule,
op by op, on random mappings; and the claims of mappings too long to replay op
by op, verified and tampered."""

from __future__ import annotations

import random

import pytest
from conftest import make_layer, tiny_accelerator

from mapper.core.mapping import Mapping
from mapper.core.spec import DIMS, ObjectiveWeights
from mapper.cost.layer import evaluate
from mapper.heuristics.random_search import sample_mapping
from mapper.referee import aggregate
from mapper.referee.aggregate import replay_streaming
from mapper.referee.array_replay import replay_array
from mapper.referee.decode_layer import decode_layer
from mapper.referee.layer_replay import MAX_REPLAY_ITERATIONS
from mapper.referee.reservation import layer_glb_reserved
from mapper.referee.simulator import ScheduleViolation, Simulator, simulate
from mapper.referee.verify import verify_layer_result

LAYERS = [
    ("conv", make_layer(K=4, C=4, P=8, Q=4, R=3, S=3)),
    ("strided", make_layer(K=4, C=2, P=6, Q=4, R=3, S=1, stride=(2, 1))),
    ("fc", make_layer("fc", K=16, C=24)),
    ("depthwise", make_layer("depthwise", G=8, P=8, Q=2, R=3)),
    ("uneven", make_layer(K=5, C=3, P=6, R=3)),  # K 5 on 2 or 4 PEs: remainder tiles
]
ACCELERATORS = [
    ("double", tiny_accelerator(glb=400, rf=40)),
    ("single", tiny_accelerator(glb=400, rf=40, glb_double=False)),
]


def measured_fields(m) -> tuple:
    reads, writes = dict(m.dram_reads), dict(m.dram_writes)
    ports = (dict(m.port_reads), dict(m.port_writes))
    return (
        reads,
        writes,
        m.macs,
        m.compute_cycles,
        dict(m.peak_words),
        m.makespan,
        m.ops,
        m.pe_rectangles,
        m.glb_profile,
        ports,
    )


def batch(layer, accelerator, mapping):
    """The whole schedule decoded, then replayed op by op: the definition."""
    schedule = decode_layer(layer, accelerator, mapping)
    try:
        return measured_fields(simulate(schedule, accelerator)), layer_glb_reserved(schedule, accelerator)
    except ScheduleViolation as err:
        return str(err), None


def streamed(layer, accelerator, mapping, memo):
    try:
        replay = replay_streaming(layer, accelerator, mapping, memo=memo)
    except ScheduleViolation as err:
        return (str(err), None), 0
    reserved = replay.glb.reserved(accelerator)
    return (measured_fields(replay.measured), reserved), replay.repeated


def sampled(layer, accelerator, count, seed):
    """Random mappings with more than one DRAM iteration (where repeats can happen)."""
    rng, found = random.Random(seed), []
    while len(found) < count:
        mapping = sample_mapping(layer, accelerator, rng)
        if evaluate(layer, accelerator, mapping).valid and mapping.nest_iterations > 8:
            found.append(mapping)
    return found


@pytest.mark.parametrize("acc_name,accelerator", ACCELERATORS, ids=[a[0] for a in ACCELERATORS])
@pytest.mark.parametrize("name,layer", LAYERS, ids=[n for n, _ in LAYERS])
def test_streaming_with_repeats_equals_the_whole_replay(name, layer, accelerator, acc_name):
    """Every measured field, the GLB reservation, or the violation: the same three ways."""
    repeats = 0
    for mapping in sampled(layer, accelerator, 12, seed=len(name)):
        expected = batch(layer, accelerator, mapping)
        one_by_one, none = streamed(layer, accelerator, mapping, memo=False)
        with_repeats, repeated = streamed(layer, accelerator, mapping, memo=True)
        assert none == 0 and one_by_one == expected and with_repeats == expected, mapping
        repeats += repeated
    assert repeats > 0  # the sample exercises the repeats


@pytest.mark.parametrize("name,layer", LAYERS, ids=[n for n, _ in LAYERS])
def test_rf_replay_with_repeats_equals_the_walk_and_the_cost_model(name, layer):
    accelerator = ACCELERATORS[0][1]
    for mapping in sampled(layer, accelerator, 12, seed=7):
        walked, repeated = replay_array(layer, mapping, memo=False), replay_array(layer, mapping)
        assert walked == repeated
        assert repeated.rf_accesses == evaluate(layer, accelerator, mapping).rf_accesses


def revisiting_mapping(layer) -> Mapping:
    """C outermost at DRAM: every output tile is stored, then read back as partial sums."""
    factors = {lv: dict.fromkeys(DIMS, 1) for lv in ("DRAM", "GLB", "ROW", "COL", "RF")}
    factors["DRAM"].update(C=layer.bounds["C"], K=layer.bounds["K"] // 2)
    factors["GLB"]["K"] = 2
    orders = {"DRAM": ("C", "K", "N", "G", "P", "Q", "R", "S"), "GLB": tuple(DIMS)}
    return Mapping(factors, orders)


def test_repeated_iterations_still_check_partial_sums_against_the_stores(monkeypatch):
    """What the key leaves out, the output words stored so far, is checked on every
    read-back, repeated iterations included."""
    layer = make_layer("fc", K=16, C=24)
    accelerator = ACCELERATORS[0][1]
    mapping = revisiting_mapping(layer)
    checked = []
    original = Simulator.check_stored

    def spy(sim, op):
        if op.tensor == "O":
            checked.append(op.box)
        original(sim, op)

    monkeypatch.setattr(Simulator, "check_stored", spy)
    replay = replay_streaming(layer, accelerator, mapping)
    schedule = decode_layer(layer, accelerator, mapping)
    read_backs = [op.box for op in schedule.ops if op.kind == "load" and op.tensor == "O"]
    assert replay.repeated > 100 and len(read_backs) > 100
    assert sorted(checked, key=str) == sorted(read_backs, key=str)


def test_a_partial_sum_read_before_its_store_is_caught_in_a_repeated_iteration(monkeypatch):
    """Stores forgotten by the repeats (only the first iterations record theirs) make
    a later read-back fail: the repeats do not take the check on trust."""
    layer = make_layer("fc", K=16, C=24)
    first = []

    def forgetful(sim, op):
        if len(first) < 4:
            first.append(op)
            sim.written[op.tensor][op.box.slices()] = True

    monkeypatch.setattr(Simulator, "mark_stored", forgetful)
    with pytest.raises(ScheduleViolation, match="reads partial sums that were never stored"):
        replay_streaming(layer, ACCELERATORS[0][1], revisiting_mapping(layer))


def long_result(layer, accelerator, mapping) -> dict:
    """A layer answer whose claims are the cost model's on ``mapping``."""
    cost = evaluate(layer, accelerator, mapping)
    assert cost.valid, cost.violations
    weights = ObjectiveWeights(1, 1, 0)
    return {
        "mode": "layer",
        "status": "FEASIBLE",
        "weights": weights.__dict__,
        "mapping": mapping.to_dict(),
        "metrics": cost.metrics(accelerator),
        "objective": cost.objective(weights),
    }


def test_a_mapping_too_long_to_replay_op_by_op_is_verified_and_a_one_cycle_claim_rejected():
    layer = make_layer("fc", K=512, C=1200)
    accelerator = tiny_accelerator(glb=4000, rf=40)
    factors = {lv: dict.fromkeys(DIMS, 1) for lv in ("DRAM", "GLB", "ROW", "COL", "RF")}
    factors["DRAM"].update(K=256, C=2)
    factors["GLB"]["C"] = 300
    factors["ROW"]["K"], factors["COL"]["C"] = 2, 2
    mapping = Mapping(factors, {"DRAM": ("C", "K", "N", "G", "P", "Q", "R", "S"), "GLB": tuple(DIMS)})
    assert mapping.nest_iterations > MAX_REPLAY_ITERATIONS
    result = long_result(layer, accelerator, mapping)
    report = verify_layer_result(result, layer, accelerator)
    assert report.violation is None, report.violation
    assert any("applied as exact repeats" in note for note in report.notes)
    for key in ("latency_cycles", "dram_words", "glb_accesses"):
        tampered = {**result, "metrics": {**result["metrics"], key: result["metrics"][key] + 1}}
        assert f"claimed {key} =" in verify_layer_result(tampered, layer, accelerator).violation


def test_dram_iterations_that_never_repeat_stop_at_the_op_by_op_limit():
    layer = make_layer(K=4, C=4, P=8, Q=4, R=3, S=3)
    accelerator = ACCELERATORS[0][1]
    mapping = sampled(layer, accelerator, 1, seed=3)[0]
    with pytest.raises(ScheduleViolation, match="would be replayed op by op"):
        replay_streaming(layer, accelerator, mapping, limit=1)
    with pytest.raises(ScheduleViolation, match="would walk over"):
        replay_array(layer, mapping, limit=1)


@pytest.mark.parametrize("limit", ["MAX_WAITING", "MAX_KEPT"])
def test_without_keys_or_memory_for_repeats_the_answer_is_the_same(monkeypatch, limit):
    """Over MAX_WAITING waiting ops an iteration is not keyed (-1: none is, even with no
    op waiting); past MAX_KEPT remembered iterations no new one is kept (0: none is):
    either way replayed op by op, the same answer."""
    layer, accelerator = LAYERS[0][1], ACCELERATORS[0][1]
    mapping = sampled(layer, accelerator, 1, seed=5)[0]
    expected = batch(layer, accelerator, mapping)
    assert streamed(layer, accelerator, mapping, memo=True)[1] > 0
    monkeypatch.setattr(aggregate, limit, -1 if limit == "MAX_WAITING" else 0)
    result, repeated = streamed(layer, accelerator, mapping, memo=True)
    assert result == expected and repeated == 0


def test_a_dormant_weight_tile_is_freed_after_its_only_fill():
    """Weights the GLB sends to the array once are freed at that fill's end in both
    the whole schedule and the streaming replay (the watermark does not wait for them)."""
    layer = make_layer(K=4, C=4, P=8, Q=4, R=3, S=3)
    accelerator = tiny_accelerator(glb=400, rf=200)
    factors = {lv: dict.fromkeys(DIMS, 1) for lv in ("DRAM", "GLB", "ROW", "COL", "RF")}
    factors["DRAM"]["P"], factors["GLB"]["Q"] = 8, 4
    factors["RF"].update(K=4, C=4, R=3, S=3)
    mapping = Mapping(factors, {"DRAM": tuple(DIMS), "GLB": tuple(DIMS)})
    assert evaluate(layer, accelerator, mapping).valid
    schedule = decode_layer(layer, accelerator, mapping)
    fills = [op for op in schedule.ops if op.kind == "fill" and op.tensor == "W"]
    frees = [op for op in schedule.ops if op.kind == "free" and op.tensor == "W" and op.buffer == "GLB"]
    assert len(fills) == len(frees) == 1 and frees[0].start == fills[0].end
    (result, _), repeated = streamed(layer, accelerator, mapping, memo=True)
    assert result == batch(layer, accelerator, mapping)[0] and repeated > 0
