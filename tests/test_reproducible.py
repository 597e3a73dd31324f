"""compare and pareto stop CP-SAT on deterministic time and sample a fixed,
seeded number of mappings, so their reported facts do not depend on how busy
the machine is (issue 17, item 6)."""

from __future__ import annotations

from conftest import make_layer, tiny_accelerator

from mapper.app.options import WALL_BACKSTOP, reproducible
from mapper.core.enums import Mode
from mapper.core.problem import Problem
from mapper.core.spec import Network, ObjectiveWeights, SolverSettings
from mapper.solve.compare import RANDOM_SAMPLES, compare


def test_a_wall_clock_limit_becomes_a_deterministic_one_with_a_backstop():
    settings = reproducible(SolverSettings(time_limit_s=30.0, workers=1, seed=3))
    assert settings.deterministic_time == 30.0
    assert settings.time_limit_s == WALL_BACKSTOP * 30.0 > 30.0
    assert (settings.workers, settings.seed) == (1, 3)


def test_a_stated_deterministic_limit_is_kept():
    stated = SolverSettings(time_limit_s=30.0, workers=1, seed=0, deterministic_time=5.0)
    assert reproducible(stated) == stated


def test_layer_comparison_samples_the_same_mappings_every_time():
    layer = make_layer(K=4, C=2, P=4, R=3)
    network = Network("n", {layer.name: layer}, (2, 6, 1))
    problem = Problem(
        "p",
        Mode.LAYER,
        network,
        (layer.name,),
        tiny_accelerator(),
        ObjectiveWeights(1, 1, 0),
        SolverSettings(10.0, 1, 0),
    )
    settings = reproducible(problem.solver)
    first, second = (compare(problem, settings) for _ in range(2))
    sampled = [
        next(r for r in report["rows"] if r["method"].startswith("random sampling")) for report in (first, second)
    ]
    assert f"of {RANDOM_SAMPLES:,})" in sampled[0]["method"]
    assert sampled[0]["method"] == sampled[1]["method"] and sampled[0]["objective"] == sampled[1]["objective"]
