"""The referee: every solver answer replays with measured == modelled counts
and bit-exact outputs; each kind of broken schedule is rejected by name."""

from __future__ import annotations

from dataclasses import replace

import pytest
from conftest import DETERMINISTIC, make_layer, tiny_accelerator
from test_cost_model_vs_referee import claimed_result
from test_layer_formulation import CASES

from mapper.core.box import Box
from mapper.core.mapping import Mapping
from mapper.core.problem import Problem
from mapper.core.spec import Network, ObjectiveWeights
from mapper.cost.layer import evaluate
from mapper.io.library import library_root
from mapper.io.loading import load_problem
from mapper.referee.decode_layer import decode_layer
from mapper.referee.executor import execute
from mapper.referee.simulator import ScheduleViolation, simulate
from mapper.referee.verify import verify_layer_result
from mapper.solve.api import solve_layer

WEIGHTS = [ObjectiveWeights(1, 1, 0), ObjectiveWeights(0, 0, 1), ObjectiveWeights(2, 1, 1)]


def problem_for(layer, accelerator, weights) -> Problem:
    network = Network("test", {layer.name: layer}, (1, 1, 1))
    return Problem("test", "layer", network, (layer.name,), accelerator, weights, DETERMINISTIC)


def solved(layer, accelerator, weights):
    result = solve_layer(problem_for(layer, accelerator, weights))
    assert result.proven_optimal
    return result.to_json()


EXTRA = [
    ("padded conv", replace(make_layer(K=2, C=2, P=4, Q=3, R=3, S=3), padding=(1, 1)), tiny_accelerator(glb=90)),
    ("avgpool", make_layer("avgpool", G=2, P=2, Q=2, R=2, S=2, stride=(2, 2)), tiny_accelerator()),
    ("grouped conv", make_layer(G=2, K=2, C=2, P=3, R=2), tiny_accelerator()),
]


@pytest.mark.parametrize("label,layer,accelerator", CASES + EXTRA, ids=[c[0] for c in CASES + EXTRA])
@pytest.mark.parametrize("weights", WEIGHTS, ids=lambda w: f"w{w.latency}-{w.dram_words}-{w.energy}")
def test_every_answer_passes_the_referee_functionally(label, layer, accelerator, weights):
    result = solved(layer, accelerator, weights)
    report = verify_layer_result(result, layer, accelerator, functional=True)
    assert report.violation is None, report.violation
    names = {name for name, *_ in report.checks}
    assert {"dram_words", "latency_cycles", "energy_fj", "objective"} <= names
    assert all(ok for *_, ok in report.checks)


def test_bundled_problem_verifies_functionally():
    problem = load_problem(library_root() / "problems" / "layer" / "resnet18_layer4_0_down.yaml")
    result = solve_layer(problem, DETERMINISTIC)
    assert result.proven_optimal
    report = verify_layer_result(result.to_json(), problem.layers[0], problem.accelerator, functional=True)
    assert report.violation is None
    names = {name for name, *_ in report.checks}
    assert {"dram_reads.W", "dram_reads.I", "dram_writes.O", "latency_cycles", "energy_fj", "objective"} <= names


# ---------------------------------------------------------------- broken schedules

LAYER = make_layer(K=2, C=2, P=4, R=3)
ACCELERATOR = tiny_accelerator(glb=60)
# K and P split at DRAM (P outermost), so several tiles of every tensor are loaded; the input
# tile slides along P.
MAPPING = Mapping(
    factors={
        "DRAM": {"N": 1, "G": 1, "K": 2, "C": 1, "P": 2, "Q": 1, "R": 1, "S": 1},
        "GLB": {"N": 1, "G": 1, "K": 1, "C": 2, "P": 1, "Q": 1, "R": 1, "S": 1},
        "ROW": {"N": 1, "G": 1, "K": 1, "C": 1, "P": 2, "Q": 1, "R": 1, "S": 1},
        "COL": {"N": 1, "G": 1, "K": 1, "C": 1, "P": 1, "Q": 1, "R": 1, "S": 1},
        "RF": {"N": 1, "G": 1, "K": 1, "C": 1, "P": 1, "Q": 1, "R": 3, "S": 1},
    },
    orders={"DRAM": ("P", "K", "N", "G", "C", "Q", "R", "S"), "GLB": ("C", "N", "G", "K", "P", "Q", "R", "S")},
)


@pytest.fixture
def schedule():
    schedule = decode_layer(LAYER, ACCELERATOR, MAPPING)
    execute(schedule, ACCELERATOR)  # the intact schedule is valid
    return schedule


def ops_of(schedule, kind, tensor=None, buffer=None):
    return [
        i
        for i, op in enumerate(schedule.ops)
        if op.kind == kind and (tensor is None or op.tensor == tensor) and (buffer is None or op.buffer == buffer)
    ]


def rejected(schedule, accelerator=ACCELERATOR) -> str:
    with pytest.raises(ScheduleViolation) as info:
        execute(schedule, accelerator)
    return str(info.value)


def test_dropped_load_is_rejected(schedule):
    index = ops_of(schedule, "load", "W")[1]
    dropped = schedule.ops.pop(index)
    message = rejected(schedule)  # the first array fill from the missing tile
    assert message.startswith("fill W") and "not resident in GLB" in message
    fill = next(op for op in schedule.ops if op.kind == "fill" and message.startswith(op.describe()))
    assert dropped.box.contains(fill.box)


def test_missing_halo_row_is_rejected(schedule):
    index = ops_of(schedule, "load", "I")[0]
    op = schedule.ops[index]
    n, g, c, (h0, h1), w = op.box.ranges
    short = Box((n, g, c, (h0, h1 - 1), w))
    schedule.ops[index] = replace(op, box=short)
    message = rejected(schedule)  # the array fill that needs the row comes before any free of the tile
    assert message.startswith("fill I") and "needs I" in message and "not resident in GLB" in message


def test_sliding_input_fetches_only_the_new_rows(schedule):
    # P is the only input-relevant DRAM loop: the second input tile (outputs 2..3,
    # taps 0..2: rows 2..5) keeps rows 2..3 of the first (rows 0..3) and fetches rows 4..5.
    loads = [schedule.ops[i].box.ranges[3] for i in ops_of(schedule, "load", "I")]
    assert loads == [(0, 4), (4, 6)]
    frees = [schedule.ops[i].box.ranges[3] for i in ops_of(schedule, "free", "I", "GLB")]
    assert sorted(frees) == [(0, 2), (2, 4), (4, 6)]  # the rows left behind, then the last tile's two pieces


def test_freeing_the_kept_rows_is_rejected(schedule):
    index = next(i for i in ops_of(schedule, "free", "I", "GLB") if schedule.ops[i].box.ranges[3] == (0, 2))
    op = schedule.ops[index]
    n, g, c, _, w = op.box.ranges
    schedule.ops[index] = replace(op, box=Box((n, g, c, (0, 4), w)))  # the whole first tile, overlap included
    message = rejected(schedule)
    assert message.startswith("fill I") and "needs I" in message and "not resident in GLB" in message


def test_two_computes_on_one_pe_are_rejected(schedule):
    index = ops_of(schedule, "compute")[1]
    schedule.ops.insert(index + 1, schedule.ops[index])  # the same work again, on the same PEs, at the same time
    assert "uses PEs already running compute" in rejected(schedule)


def test_buffer_one_word_too_small_is_rejected(schedule):
    peak = simulate(schedule, ACCELERATOR).peak_words["GLB"]
    small = tiny_accelerator(glb=peak - 1)
    assert f"GLB holds {peak} words, capacity {peak - 1}" in rejected(schedule, small)
    simulate(schedule, tiny_accelerator(glb=peak))  # exactly enough is fine


def test_skipped_store_is_rejected(schedule):
    schedule.ops.pop(ops_of(schedule, "store", "O")[0])
    assert "discards output values that were never stored" in rejected(schedule)


def test_compute_before_its_operands_arrive_is_rejected(schedule):
    index = ops_of(schedule, "compute")[0]
    op = schedule.ops[index]
    schedule.ops[index] = replace(op, start=op.start - 1, end=op.end - 1)  # the last fill ends at its start
    assert "arrives only at" in rejected(schedule)


def test_the_worked_example_takes_55_cycles():
    """docs/cost_model.md times the worked example by hand: prologue 9, four
    DRAM periods of 8, boundary fills 6, output moves 8. The replay measures it."""
    assert simulate(decode_layer(LAYER, ACCELERATOR, MAPPING), ACCELERATOR).makespan == 55
    assert evaluate(LAYER, ACCELERATOR, MAPPING).latency_cycles == 55


def test_two_transfers_at_once_on_the_glb_port_are_rejected(schedule):
    first, second = (schedule.ops[i] for i in ops_of(schedule, "fill")[:2])
    index = ops_of(schedule, "fill")[1]
    schedule.ops[index] = replace(second, start=first.start, end=first.start + second.end - second.start)
    assert "GLB port busy until" in rejected(schedule)


def test_a_fill_faster_than_the_glb_port_is_rejected(schedule):
    index = ops_of(schedule, "fill", "I")[0]
    op = schedule.ops[index]  # 4 words at 4 words per cycle: 1 cycle
    schedule.ops[index] = replace(op, end=op.start)
    assert "moves 4 words in 0 cycles, needs 1" in rejected(schedule)


def test_a_skipped_drain_is_rejected(schedule):
    schedule.ops.pop(ops_of(schedule, "drain")[0])
    assert "discards output values that were never stored" in rejected(schedule)


def test_a_latency_claim_one_cycle_off_is_rejected():
    cost = evaluate(LAYER, ACCELERATOR, MAPPING)
    for delta in (-1, 1):
        metrics = {**cost.metrics(ACCELERATOR), "latency_cycles": cost.latency_cycles + delta}
        result = {**claimed_result(MAPPING, cost, ACCELERATOR, ObjectiveWeights(1, 1, 0)), "metrics": metrics}
        report = verify_layer_result(result, LAYER, ACCELERATOR)
        assert report.violation is not None and "latency_cycles" in report.violation


def test_wrong_arithmetic_is_caught_functionally(schedule):
    """Dropping a compute op leaves outputs wrong; only the functional check sees it."""
    schedule.ops.pop(ops_of(schedule, "compute")[1])
    assert "functional:" in rejected(schedule)


def test_a_wrong_claim_is_a_violation():
    result = solved(LAYER, ACCELERATOR, ObjectiveWeights(1, 1, 0))
    result["metrics"]["dram_words"] += 1
    report = verify_layer_result(result, LAYER, ACCELERATOR)
    assert report.violation.startswith("claimed dram_words =")


def test_a_mapping_too_long_to_replay_is_not_verified_rather_than_replayed_for_hours():
    from mapper.core.mapping import all_dram_mapping
    from mapper.referee.layer_replay import MAX_DRAM_ITERATIONS, MAX_REPLAY_ITERATIONS, replay_layer

    layer = make_layer(K=64, C=64, P=16, Q=16, R=3)  # every MAC its own DRAM iteration
    iterations = 64 * 64 * 16 * 16 * 3
    assert iterations > MAX_DRAM_ITERATIONS
    with pytest.raises(ScheduleViolation, match=f"not replayed: {iterations:,} iterations of the DRAM loops"):
        replay_layer(layer, tiny_accelerator(glb=60), all_dram_mapping(layer))
    small = make_layer(K=16, C=16, P=16, Q=16, R=3)  # functional replays move values op by op: no repeats
    assert small.macs > MAX_REPLAY_ITERATIONS
    with pytest.raises(ScheduleViolation, match="iterations of the DRAM and GLB loops"):
        replay_layer(small, tiny_accelerator(glb=60), all_dram_mapping(small), functional=True)
