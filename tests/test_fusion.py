"""Fused groups: the CP-SAT optimum equals brute force over the fused space,
the objective equals the fused cost model, and the row schedule computes every
row of every layer exactly once."""

from __future__ import annotations

import functools
from dataclasses import replace

import pytest
from conftest import DETERMINISTIC, tiny_accelerator

from formulations.fusion import FusedModel
from mapper.core.box import Box
from mapper.core.group import FusedMapping, build_group
from mapper.core.spec import Layer, ObjectiveWeights
from mapper.core.stripes import StripeSchedule, rows_needed
from mapper.cost.fused import evaluate_fused
from mapper.heuristics.enumerate import enumerate_fused_mappings
from mapper.referee.decode_fused import decode_fused
from mapper.referee.executor import execute
from mapper.referee.simulator import ScheduleViolation
from mapper.referee.verify import verify_fused_result


def fmap_layer(name, inputs, cin, cout, size, kind="conv", kernel=3, stride=1, pad=1, dilation=1):
    out = (size + 2 * pad - dilation * (kernel - 1) - 1) // stride + 1
    bounds = {"N": 1, "G": 1, "K": cout, "C": cin, "P": out, "Q": out, "R": kernel, "S": kernel}
    if kind in ("maxpool", "avgpool", "depthwise"):
        bounds.update(G=cin, K=1, C=1)
    if kind == "add":
        bounds.update(G=cin, K=1, C=1, R=1, S=1)
    return Layer(name, kind, bounds, (stride, stride), (dilation, dilation), (pad, pad), tuple(inputs), (size, size))


A = fmap_layer("a", ["input"], 2, 2, 6)
B = fmap_layer("b", ["a"], 2, 2, 6, stride=2)
C = fmap_layer("c", ["b"], 2, 2, 3, kind="maxpool", kernel=2, pad=0)
D = fmap_layer("d", ["a"], 2, 2, 6, kind="depthwise", dilation=2, pad=2)
ADD = fmap_layer("e", ["d", "input"], 2, 2, 6, kind="add", kernel=1, pad=0)

X = fmap_layer("x", ["input"], 2, 2, 6)
Y = fmap_layer("y", ["x"], 2, 2, 6)
Z = fmap_layer("z", ["y"], 2, 2, 6, kernel=2, pad=0, stride=1)
BLOCK_SUM = fmap_layer("s", ["y", "x"], 2, 2, 6, kind="add", kernel=1, pad=0)

GROUPS = {
    "conv": (A,),
    "conv+strided conv": (A, B),
    "conv+conv+pool": (A, B, C),
    "conv+dilated depthwise+residual add": (A, D, ADD),
    "residual produced inside the group": (X, Y, BLOCK_SUM),
}
WEIGHTS = [ObjectiveWeights(1, 1, 0), ObjectiveWeights(1, 0, 0), ObjectiveWeights(0, 1, 0)]


@functools.cache
def brute_force(name: str, glb: int) -> dict:
    """The brute-force minimum of group ``name`` at ``glb`` words under each of
    WEIGHTS, from one pass over the space (a mapping's cost does not depend on the
    weights): the three tests of a group and GLB size enumerate it once."""
    group, accelerator = build_group(GROUPS[name]), tiny_accelerator(rows=2, cols=3, glb=glb)
    best = dict.fromkeys(WEIGHTS)
    for mapping in enumerate_fused_mappings(group, accelerator):
        cost = evaluate_fused(group, accelerator, mapping)
        if cost.valid:
            for weights in WEIGHTS:
                if best[weights] is None or cost.objective(weights) < best[weights]:
                    best[weights] = cost.objective(weights)
    return best


@pytest.mark.parametrize("name", GROUPS)
@pytest.mark.parametrize("weights", WEIGHTS, ids=lambda w: f"w{w.latency}-{w.dram_words}")
@pytest.mark.parametrize("glb", [90, 160, 400])
def test_fused_cpsat_equals_brute_force(name, weights, glb):
    group = build_group(GROUPS[name])
    accelerator = tiny_accelerator(rows=2, cols=3, glb=glb)
    expected = brute_force(name, glb)[weights]
    solution = FusedModel(group, accelerator, weights).solve(DETERMINISTIC)
    if expected is None:
        assert solution.status == "INFEASIBLE"
        return
    assert solution.status == "OPTIMAL" and solution.objective == solution.bound == expected
    cost = evaluate_fused(group, accelerator, solution.mapping)
    assert cost.valid and cost.objective(weights) == solution.objective


@pytest.mark.parametrize("name", GROUPS)
@pytest.mark.parametrize("height", [1, 2, 4, 5])
def test_every_row_is_computed_once_and_only_when_needed(name, height):
    layers = GROUPS[name]
    schedule = StripeSchedule(layers, min(height, layers[-1].bounds["P"]))
    for k, layer in enumerate(layers):
        computed = [schedule.computed_rows(k, j) for j in range(schedule.stripes)]
        assert all(c >= 0 for c in computed) and sum(computed) == layer.bounds["P"]
        # the rows a stripe computes are exactly those the consumer's stripe needs beyond earlier stripes
        if k + 1 < len(layers):
            consumer = layers[k + 1]
            for j in range(schedule.stripes):
                _, needed = rows_needed(consumer, 0, schedule.done_rows(k + 1, j))
                assert schedule.done_rows(k, j) == max(needed, schedule.done_rows(k, j - 1))


# ---------------------------------------------------------------- referee


def fused_result(group, accelerator, mapping, weights=None) -> dict:
    weights = weights or ObjectiveWeights(1, 1, 0)
    cost = evaluate_fused(group, accelerator, mapping)
    return {
        "mapping": mapping.to_dict(),
        "metrics": cost.metrics(accelerator),
        "objective": cost.objective(weights),
        "weights": weights.__dict__,
    }


@pytest.mark.parametrize("name", GROUPS)
@pytest.mark.parametrize("glb", [90, 400])
def test_fused_answers_pass_the_referee_functionally(name, glb):
    group = build_group(GROUPS[name])
    accelerator = tiny_accelerator(rows=2, cols=3, glb=glb)
    for weights in WEIGHTS:
        solution = FusedModel(group, accelerator, weights).solve(DETERMINISTIC)
        if solution.mapping is None:
            continue
        report = verify_fused_result(
            fused_result(group, accelerator, solution.mapping, weights), group, accelerator, True
        )
        assert report.violation is None, report.violation
        assert {"dram_words", "latency_cycles", "objective", "dram_words_per_layer"} <= {c[0] for c in report.checks}


@pytest.mark.parametrize("name", GROUPS)
def test_sampled_fused_space_passes_the_referee(name):
    """Every 11th mapping of the whole space, if valid (both policies, all heights,
    partitions, unrollings, residencies): measured == modelled, outputs exact."""
    group = build_group(GROUPS[name])
    accelerator = tiny_accelerator(rows=2, cols=3, glb=400)
    checked = 0
    for index, mapping in enumerate(enumerate_fused_mappings(group, accelerator)):
        if index % 11 or not evaluate_fused(group, accelerator, mapping).valid:
            continue
        report = verify_fused_result(fused_result(group, accelerator, mapping), group, accelerator, True)
        assert report.violation is None, f"{mapping}: {report.violation}"
        checked += 1
    assert checked >= 5


def test_whole_residual_block_inside_a_group_passes_the_referee():
    """x -> conv -> conv(2x2) -> ... with the skip kept on chip: every mapping of a
    sample (the skip window spans the whole inner path) replays exactly."""
    inner = fmap_layer("z2", ["y"], 2, 2, 6)
    block = build_group((X, Y, inner, fmap_layer("s2", ["z2", "x"], 2, 2, 6, kind="add", kernel=1, pad=0)))
    accelerator = tiny_accelerator(rows=2, cols=4, glb=600)
    checked = 0
    for index, mapping in enumerate(enumerate_fused_mappings(block, accelerator)):
        if index % 97 or not evaluate_fused(block, accelerator, mapping).valid:
            continue
        report = verify_fused_result(fused_result(block, accelerator, mapping), block, accelerator, True)
        assert report.violation is None, f"{mapping}: {report.violation}"
        checked += 1
    assert checked >= 20
    assert block.dram_operand(3) is None  # the skip never goes to DRAM


def broken_fused_schedule():
    group = build_group((A, B))
    accelerator = tiny_accelerator(rows=2, cols=3, glb=400)
    mapping = FusedMapping(2, "time_shared", (3, 3), ((2, 1), (2, 1)), (True, True))
    return decode_fused(group, accelerator, mapping), accelerator


def test_a_halo_row_freed_too_early_is_rejected():
    schedule, accelerator = broken_fused_schedule()
    frees = [i for i, op in enumerate(schedule.ops) if op.kind == "free" and op.tensor == "a"]
    op = schedule.ops[frees[0]]
    (n, c, (lo, hi), w) = op.box.ranges
    schedule.ops[frees[0]] = replace(op, box=Box((n, c, (lo, hi + 1), w)))  # one row more than is dead
    with pytest.raises(ScheduleViolation, match="needs a.*not resident"):
        execute(schedule, accelerator)


def test_a_dropped_input_row_load_is_rejected():
    schedule, accelerator = broken_fused_schedule()
    loads = [i for i, op in enumerate(schedule.ops) if op.kind == "load" and op.tensor == "input"]
    schedule.ops.pop(loads[1])
    with pytest.raises(ScheduleViolation, match="needs input.*not resident"):
        execute(schedule, accelerator)
