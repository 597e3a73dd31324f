"""Fused mode on 2-D tiles (``fusion.tiles``) end to end: solve and verify --functional
through the CLI, the answer against an exhaustive search of the same space, the
bound of a search cut short, the seeds' no-recompute setting, and one-line errors."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
from conftest import DETERMINISTIC
from test_fused_cli import fused_problem

import mapper.solve.tiled_search as tiled_search
from mapper.app.cli import main
from mapper.core.enums import Overlap
from mapper.core.tiled_group import nest_layer
from mapper.cost.limits import nest_floor
from mapper.cost.tiled_group import evaluate_tiled
from mapper.io.loading import load_problem
from mapper.solve.groups import solve_single_layer

SIZES = [1, 2, 3, 6]


def tiled_problem(tmp_path, glb=600, **fusion):
    solver = {"workers": 1, "seed": 0, "time_limit_s": 60, "deterministic_time": DETERMINISTIC.deterministic_time}
    return fused_problem(
        tmp_path, layers=["c1", "c2"], fusion={"tiles": {"sizes": SIZES}, **fusion}, solver=solver, glb=glb
    )


def solve_json(tmp_path, path) -> dict:
    out = tmp_path / "r.json"
    assert main(["-q", "solve", str(path), "--json", str(out)]) == 0
    return json.loads(out.read_text())


@pytest.mark.parametrize("glb", [600, 150])
def test_solve_verify_functional_and_the_optimum_of_every_configuration(tmp_path, capsys, glb):
    """The answer is proven, verifies with the functional executor, and no configuration
    of the space does better: each one's nests solved alone under its GLB budget
    (``_nests_within_budgets``), costed by the cost model."""
    path = tiled_problem(tmp_path, glb=glb)
    result = solve_json(tmp_path, path)
    assert result["status"] == "OPTIMAL" and result["objective"] == result["bound"]
    assert main(["verify", str(tmp_path / "r.json"), "--functional"]) == 0
    assert "every output of c2 equals the reference" in capsys.readouterr().out
    problem = load_problem(path)
    layers, accelerator, weights = problem.layers, problem.accelerator, problem.objective
    nests = tiled_search._Nests(layers, accelerator, weights, problem.solver)
    best = None
    for entry in tiled_search._configurations(layers, accelerator, weights, problem.tiles):
        chosen = tiled_search._nests_within_budgets(nests, entry)
        if chosen is None:
            continue
        mapping = replace(entry.mapping, nests={key: choice.mapping for key, choice in chosen.items()})
        cost = evaluate_tiled(layers, accelerator, mapping)
        if cost.valid:
            best = min(best or cost.objective(weights), cost.objective(weights))
    assert nests.proven and result["objective"] == best


def test_the_floor_of_every_nest_is_below_its_optimum(tmp_path):
    """``nest_floor`` (the search's bound before any solve) never exceeds a nest's proven optimum."""
    problem = load_problem(tiled_problem(tmp_path))
    layers, accelerator, weights = problem.layers, problem.accelerator, problem.objective
    checked = 0
    for entry in tiled_search._configurations(layers, accelerator, weights, problem.tiles):
        for key in entry.counts:
            layer = nest_layer(layers, entry.mapping, key)
            solution, cost, _ = solve_single_layer(layer, accelerator, weights, problem.solver)
            assert solution.status == "OPTIMAL"
            assert nest_floor(layer, accelerator, weights) <= solution.objective
            checked += 1
        if checked > 40:
            break
    assert checked > 40


def test_a_search_cut_short_returns_its_best_with_a_bound_that_verifies(tmp_path, monkeypatch):
    """Out of time after a few nest solves: the best configuration found so far, FEASIBLE
    (or UNKNOWN without one), its bound the least bound left; verify accepts the gap."""
    calls = {"n": 0}

    def time_left(self):
        calls["n"] += 1
        return 1.0 if calls["n"] <= 6 else 0.0

    monkeypatch.setattr(tiled_search._Nests, "time_left", time_left)
    result = solve_json(tmp_path, tiled_problem(tmp_path))
    assert result["status"] in ("FEASIBLE", "UNKNOWN")
    assert result["details"]["search"]["ended_by"] == "time limit"
    if result["status"] == "FEASIBLE":
        assert result["bound"] < result["objective"]
        monkeypatch.undo()
        assert main(["-q", "verify", str(tmp_path / "r.json")]) == 0


def test_no_recompute_caches_every_overlap(tmp_path):
    result = solve_json(tmp_path, tiled_problem(tmp_path, glb=150, recompute=False))
    assert result["details"]["tile_space"]["overlaps"] == [str(Overlap.CACHE)]
    assert set(result["mapping"]["overlap"]) == {"cache"} and result["metrics"]["recomputed_macs"] == 0
    assert main(["-q", "verify", str(tmp_path / "r.json")]) == 0


@pytest.mark.parametrize(
    "overrides,message",
    [
        ({"layers": ["c1", "c2", "sum"]}, "fusion.tiles: sum: an add is not modelled in 2-D tiles yet"),
        ({"layers": ["c1"]}, "fusion.tiles: a group of one layer in 2-D tiles is the layer on its own"),
        ({"fusion": {"tiles": {}, "policy": "partitioned"}}, "fusion.policy: 2-D tiles run time-shared"),
        ({"fusion": {"tiles": {"sizes": [7]}}}, "fusion.tiles.sizes[0]: a 7x7 tile exceeds c2's 6x6 output"),
        ({"fusion": {"tiles": {"sizes": []}}}, "fusion.tiles.sizes: must be a non-empty list"),
        ({"fusion": {"tiles": {"overlaps": ["halo"]}}}, "fusion.tiles.overlaps[0]: unknown value 'halo'"),
        ({"fusion": {"recompute": False}}, "fusion.recompute: row stripes never recompute"),
        (
            {"fusion": {"tiles": {"overlaps": ["cache_cols"]}, "recompute": False}},
            "fusion.recompute: false leaves only the overlap policy cache",
        ),
        ({"fusion": {"tiles": {}}, "pin": {"stripe_rows": 1}}, "fusion.tiles: pins are not supported with 2-D tiles"),
    ],
)
def test_bad_tiles_are_one_line_errors(tmp_path, capsys, overrides, message):
    overrides = {"layers": ["c1", "c2"], "fusion": {"tiles": {}}, **overrides}
    assert main(["solve", str(fused_problem(tmp_path, **overrides))]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1


def test_pareto_of_tiles_is_refused_in_one_line(tmp_path, capsys):
    assert main(["pareto", str(tiled_problem(tmp_path))]) == 2
    assert "fusesat pareto does not sweep 2-D tiles yet" in capsys.readouterr().err
