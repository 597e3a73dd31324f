"""The CP-SAT optimum equals the brute-force minimum of the same space under
the cost model, and the CP-SAT objective equals the cost model on every
decoded mapping."""

from __future__ import annotations

import functools
import random

import pytest
from conftest import DETERMINISTIC, make_layer, tiny_accelerator

from formulations.layer import LayerModel
from formulations.layer_search import LayerSearch
from mapper.core.mapping import enumerate_mappings
from mapper.core.spec import ObjectiveWeights
from mapper.cost.layer import evaluate

WEIGHTS = [
    ObjectiveWeights(1, 1, 0),
    ObjectiveWeights(0, 1, 0),
    ObjectiveWeights(1, 0, 0),
    ObjectiveWeights(0, 0, 1),
    ObjectiveWeights(3, 2, 1),
]


def brute_force_minima(layer, accelerator, weights_list) -> list:
    """The brute-force minimum under each of ``weights_list``, from one pass over
    the space: a mapping's cost does not depend on the weights."""
    best = [None] * len(weights_list)
    for mapping in enumerate_mappings(layer, accelerator):
        cost = evaluate(layer, accelerator, mapping)
        if cost.valid:
            for i, weights in enumerate(weights_list):
                if best[i] is None or cost.objective(weights) < best[i]:
                    best[i] = cost.objective(weights)
    return best


def brute_force(layer, accelerator, weights):
    return brute_force_minima(layer, accelerator, [weights])[0]


def cpsat(layer, accelerator, weights):
    solution = LayerSearch(layer, accelerator, weights).solve(DETERMINISTIC)
    if solution.mapping is None:
        return solution, None
    cost = evaluate(layer, accelerator, solution.mapping)
    assert cost.valid, cost.violations
    assert cost.objective(weights) == solution.objective
    return solution, cost


CASES = [
    ("conv K4 C2 P4 R3", make_layer(K=4, C=2, P=4, R=3), tiny_accelerator()),
    ("conv stride 2", make_layer(K=2, C=2, P=4, R=3, stride=(2, 2)), tiny_accelerator()),
    ("1x1 conv stride 2 (skipped rows)", make_layer(K=2, C=2, P=4, stride=(2, 2)), tiny_accelerator(glb=20)),
    ("conv dilation 2", make_layer(K=2, C=2, P=4, R=2, dilation=(2, 2)), tiny_accelerator()),
    ("disjoint windows stride 3", make_layer(K=2, C=2, P=4, R=2, stride=(3, 3)), tiny_accelerator(glb=24)),
    ("disjoint dilated windows", make_layer(K=2, P=3, R=2, S=2, stride=(4, 1), dilation=(2, 1)), tiny_accelerator()),
    ("2d conv P Q R S", make_layer(K=2, P=2, Q=2, R=2, S=2), tiny_accelerator(glb=40)),
    ("depthwise", make_layer("depthwise", G=4, P=4, R=3), tiny_accelerator()),
    ("fc batch", make_layer("fc", N=2, K=4, C=4), tiny_accelerator(glb=24)),
    ("maxpool", make_layer("maxpool", G=4, P=4, R=2, stride=(2, 2)), tiny_accelerator()),
    ("split RF", make_layer(K=4, C=2, P=4, R=2), tiny_accelerator(rf_split={"W": 4, "I": 3, "O": 2})),
    ("double-buffered RF", make_layer(K=4, C=4, P=2, R=2), tiny_accelerator(rf=16, rf_double=True)),
    ("single-buffered GLB", make_layer(K=4, C=2, P=4, R=2), tiny_accelerator(glb=30, glb_double=False)),
    ("wide array", make_layer(K=4, C=3, P=3), tiny_accelerator(rows=4, cols=3, glb=50)),
]


@functools.cache
def case_minima(label: str) -> dict:
    """The brute-force minima of case ``label`` under every one of WEIGHTS: its
    space is enumerated once for the five tests of the case, not once each."""
    _, layer, accelerator = next(case for case in CASES if case[0] == label)
    return dict(zip(WEIGHTS, brute_force_minima(layer, accelerator, WEIGHTS), strict=True))


@pytest.mark.parametrize("label,layer,accelerator", CASES, ids=[c[0] for c in CASES])
@pytest.mark.parametrize("weights", WEIGHTS, ids=lambda w: f"w{w.latency}-{w.dram_words}-{w.energy}")
def test_cpsat_equals_brute_force(label, layer, accelerator, weights):
    expected = case_minima(label)[weights]
    solution, _ = cpsat(layer, accelerator, weights)
    assert solution.status == "OPTIMAL"
    assert solution.objective == solution.bound == expected


def random_case(rng: random.Random):
    dims = {d: rng.choice([1, 1, 2, 3, 4]) for d in ("K", "C", "P", "R")}
    dims["N"] = rng.choice([1, 1, 2])
    kind = rng.choice(["conv", "conv", "depthwise"])
    if kind == "depthwise":
        dims = {"G": dims["K"], "P": dims["P"], "R": dims["R"], "N": dims["N"]}
    stride = rng.choice([1, 1, 2, 3])
    layer = make_layer(kind, stride=(stride, 1), **dims)
    accelerator = tiny_accelerator(
        rows=rng.choice([1, 2, 3]),
        cols=rng.choice([1, 2]),
        glb=rng.choice([16, 30, 60, 200]),
        rf=rng.choice([3, 6, 12]),
        glb_double=rng.random() < 0.5,
        rf_double=rng.random() < 0.5,
        dram_bw=rng.choice([1, 2, 3]),
        glb_bw=rng.choice([2, 5]),
    )
    weights = ObjectiveWeights(rng.choice([0, 1, 2]), rng.choice([0, 1, 3]), rng.choice([0, 1]))
    if weights.latency + weights.dram_words + weights.energy == 0:
        weights = ObjectiveWeights(1, 1, 0)
    return layer, accelerator, weights


@pytest.mark.parametrize("seed", range(24))
def test_random_cases_match_brute_force(seed):
    layer, accelerator, weights = random_case(random.Random(seed))
    expected = brute_force(layer, accelerator, weights)
    solution, _ = cpsat(layer, accelerator, weights)
    if expected is None:
        assert solution.status == "INFEASIBLE"
    else:
        assert solution.status == "OPTIMAL"
        assert solution.objective == solution.bound == expected


@pytest.mark.parametrize("deterministic_time", [0.001, 1.0])
def test_time_limit_returns_best_mapping_with_gap(deterministic_time):
    from mapper.core.spec import SolverSettings
    from mapper.io.library import library_root
    from mapper.io.loading import load_problem
    from mapper.solve.api import solve_layer

    problem = load_problem(library_root() / "problems" / "layer" / "vgg16_conv1_2.yaml")
    result = solve_layer(problem, SolverSettings(60.0, 1, 0, deterministic_time))
    assert result.status == "FEASIBLE" and result.mapping is not None and result.exit_code == 0
    assert not result.proven_optimal
    assert result.bound is not None and 0 <= result.bound < result.objective and 0 < result.gap <= 1
    assert result.objective == result.metrics["latency_cycles"] + result.metrics["dram_words"]


def test_heuristic_hints_are_complete_and_feasible():
    """A random-sampling answer becomes a hint for every variable, and CP-SAT
    with every variable fixed to its hint accepts it at exactly its cost."""
    from ortools.sat.python import cp_model

    from mapper.heuristics.random_search import random_search

    layer, accelerator = CASES[0][1], CASES[0][2]
    weights = ObjectiveWeights(1, 1, 0)
    heuristic = random_search(layer, accelerator, weights, seconds=10, seed=1, max_samples=300)
    model = LayerModel(layer, accelerator, weights)
    assert model.add_hint(heuristic.mapping)
    assert set(model.model.proto.solution_hint.vars) == set(range(len(model.model.proto.variables)))
    solver = cp_model.CpSolver()
    solver.parameters.fix_variables_to_their_hinted_value = True
    solver.parameters.num_workers = 1
    assert solver.solve(model.model) == cp_model.OPTIMAL
    assert round(solver.objective_value) == heuristic.objective


def test_large_layers_within_the_input_limits_build_valid_models():
    """VGG16 conv2_2 and conv3_1 at batch 64 on 1024 x 1024 inputs load; their
    products of variable bounds once overflowed int64 (MODEL_INVALID, exit 4)."""
    from mapper.io.library import library_root
    from mapper.io.loading import load_accelerator

    accelerator = load_accelerator(library_root() / "accelerators" / "eyeriss_like.yaml")
    for layer in (
        make_layer(N=64, K=128, C=128, P=512, Q=512, R=3, S=3),
        make_layer(N=64, K=256, C=128, P=256, Q=256, R=3, S=3),
    ):
        assert LayerModel(layer, accelerator, ObjectiveWeights(1, 1, 0)).model.validate() == ""
