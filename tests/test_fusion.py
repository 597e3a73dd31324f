"""Fused groups: the CP-SAT optimum equals brute force over the fused space,
the objective equals the fused cost model, and the row schedule computes every
row of every layer exactly once."""

from __future__ import annotations

import pytest
from conftest import DETERMINISTIC, tiny_accelerator

from formulations.fusion import FusedModel
from mapper.fused_cost import build_group, evaluate_fused
from mapper.fused_search import enumerate_fused_mappings
from mapper.spec import Layer, ObjectiveWeights
from mapper.stripes import StripeSchedule, rows_needed


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

GROUPS = {
    "conv": (A,),
    "conv+strided conv": (A, B),
    "conv+conv+pool": (A, B, C),
    "conv+dilated depthwise+residual add": (A, D, ADD),
}
WEIGHTS = [ObjectiveWeights(1, 1, 0), ObjectiveWeights(1, 0, 0), ObjectiveWeights(0, 1, 0)]


def brute_force(group, accelerator, weights):
    best = None
    for mapping in enumerate_fused_mappings(group, accelerator):
        cost = evaluate_fused(group, accelerator, mapping)
        if cost.valid and (best is None or cost.objective(weights) < best):
            best = cost.objective(weights)
    return best


@pytest.mark.parametrize("name", GROUPS)
@pytest.mark.parametrize("weights", WEIGHTS, ids=lambda w: f"w{w.latency}-{w.dram_words}")
@pytest.mark.parametrize("glb", [90, 160, 400])
def test_fused_cpsat_equals_brute_force(name, weights, glb):
    group = build_group(GROUPS[name])
    accelerator = tiny_accelerator(rows=2, cols=3, glb=glb)
    expected = brute_force(group, accelerator, weights)
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
