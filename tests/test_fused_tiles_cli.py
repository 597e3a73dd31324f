"""Fused mode on 2-D tiles (``fusion.tiles``) end to end: solve and verify --functional
through the CLI, the answer against an exhaustive search of the same space, the
bound of a search cut short, the seeds' no-recompute setting, and one-line errors."""

from __future__ import annotations

import json
import random
from dataclasses import replace

import pytest
from conftest import DETERMINISTIC
from test_fused_cli import fused_problem
from test_tiled_group import valid_mapping

import mapper.solve.tiled_search as tiled_search
from mapper.app.cli import main
from mapper.core.enums import Overlap
from mapper.core.spec import MAPPABLE_KINDS, ObjectiveWeights
from mapper.core.tiled_group import nest_layer
from mapper.cost.layer import evaluate
from mapper.cost.limits import nest_floor
from mapper.cost.tiled_group import evaluate_tiled, group_transfers
from mapper.io.library import library_root, listing, lookup
from mapper.io.loading import load_accelerator, load_network, load_problem
from mapper.solve.groups import solve_single_layer
from mapper.solve.tiled_nests import NestSolves

SIZES = [1, 2, 3, 6]


def tiled_problem(tmp_path, glb=600, layers=("c1", "c2"), **fusion):
    solver = {"workers": 1, "seed": 0, "time_limit_s": 60, "deterministic_time": DETERMINISTIC.deterministic_time}
    return fused_problem(
        tmp_path, layers=list(layers), fusion={"tiles": {"sizes": SIZES}, **fusion}, solver=solver, glb=glb
    )


def solve_json(tmp_path, path) -> dict:
    out = tmp_path / "r.json"
    assert main(["-q", "solve", str(path), "--json", str(out)]) == 0
    return json.loads(out.read_text())


@pytest.mark.parametrize(
    "glb,layers", [(600, ("c1", "c2")), (150, ("c1", "c2")), (600, ("c1", "c2", "sum")), (300, ("c2", "sum"))]
)
def test_solve_and_verify_functional(tmp_path, capsys, glb, layers):
    """With an add: its second operand the group input (kept on chip) or from outside
    the group (streamed by the add's nest)."""
    result = solve_json(tmp_path, tiled_problem(tmp_path, glb=glb, layers=layers))
    assert result["status"] == "OPTIMAL" and result["objective"] == result["bound"]
    assert main(["verify", str(tmp_path / "r.json"), "--functional"]) == 0
    assert f"every output of {layers[-1]} equals the reference" in capsys.readouterr().out


def test_the_optimum_of_every_configuration(tmp_path):
    """No configuration of the space does better than the answer: every configuration (a
    GLB of 150 words binds), each nest key solved alone with the GLB its fullest tile
    leaves (skipped where nothing is left), costed by the cost model."""
    path = tiled_problem(tmp_path, glb=150, tiles={"sizes": [2, 3, 6]})
    result = solve_json(tmp_path, path)
    problem = load_problem(path)
    layers, accelerator, weights = problem.layers, problem.accelerator, problem.objective
    best, solved = None, {}
    for mapping in tiled_search.configurations(layers, problem.tiles):
        nests = _nests_in_budget(layers, accelerator, weights, problem.solver, mapping, solved)
        if nests is not None:
            cost = evaluate_tiled(layers, accelerator, replace(mapping, nests=nests))
            if cost.valid:
                best = min(best or cost.objective(weights), cost.objective(weights))
    assert result["objective"] == best


def _nests_in_budget(layers, accelerator, weights, settings, mapping, solved: dict):
    """Each nest key's optimum with the GLB words the group leaves it at its fullest tile
    (``solved``: the solves so far, by nest layer and GLB)."""
    capacity, room = accelerator.levels["GLB"].capacity_words_total, {}
    for held, keys in group_transfers(layers, accelerator, mapping).tiles:
        for key in keys:
            room[key] = min(room.get(key, capacity), capacity - held)
    nests = {}
    for key, left in room.items():
        layer = nest_layer(layers, mapping, key)
        if left < 0:
            return None
        glb = min(capacity, left + layer.on_chip_words)
        if (key, layer.on_chip, glb) not in solved:
            solved[key, layer.on_chip, glb] = solve_single_layer(
                layer, accelerator.with_glb_words(glb), weights, settings
            )
        solution, cost, _ = solved[key, layer.on_chip, glb]
        if cost is None:
            return None
        assert solution.status == "OPTIMAL"
        nests[key] = solution.mapping
    return nests


@pytest.mark.parametrize("bundled", [False, True], ids=["tiny", "lenet5_eyeriss"])
def test_the_floor_of_every_nest_is_below_its_optimum(tmp_path, bundled):
    """``nest_floor`` (the search's bound before any solve) never exceeds a nest's proven
    optimum: the tiny chain's nests and LeNet-5 C1+S2's on the Eyeriss-like preset."""
    path = library_root() / "problems" / "fused" / "lenet5_c1_s2_tiles_eyeriss_like.yaml"
    problem = load_problem(path if bundled else tiled_problem(tmp_path))
    layers, accelerator, weights = problem.layers, problem.accelerator, problem.objective
    settings = replace(problem.solver, workers=1, deterministic_time=DETERMINISTIC.deterministic_time)
    seen, tight = set(), 0
    for entry in tiled_search._configurations(layers, accelerator, weights, problem.tiles):
        for key in entry.counts:
            layer = nest_layer(layers, entry.mapping, key)
            if (key, layer.on_chip) in seen:
                continue
            seen.add((key, layer.on_chip))
            solution, cost, _ = solve_single_layer(layer, accelerator, weights, settings)
            assert solution.status == "OPTIMAL"
            floor = nest_floor(layer, accelerator, weights)
            assert floor <= solution.objective
            tight += floor * 10 >= solution.objective * 9
        if len(seen) >= 25:
            break
    assert len(seen) >= 25 and tight  # some floors are within 10% of the optimum


def test_a_search_cut_short_returns_its_best_with_a_bound_that_verifies(tmp_path, monkeypatch):
    """Out of time after a few nest solves: the best configuration found so far, FEASIBLE,
    its bound the least bound left (below the answer); verify accepts the gap."""
    calls = {"n": 0}

    def time_left(self):
        calls["n"] += 1
        return 1.0 if calls["n"] <= 6 else 0.0

    monkeypatch.setattr(NestSolves, "time_left", time_left)
    result = solve_json(tmp_path, tiled_problem(tmp_path))
    assert result["status"] == "FEASIBLE" and result["details"]["search"]["ended_by"] == "time limit"
    assert result["bound"] < result["objective"]
    monkeypatch.undo()
    assert main(["-q", "verify", str(tmp_path / "r.json")]) == 0


def test_a_search_stopped_before_any_solve_still_returns_an_answer_that_verifies(tmp_path, monkeypatch):
    """No time at all: no nest is solved, yet the result is FEASIBLE with a least-bound
    configuration whose nests are all-DRAM mappings, and its floor bound; verify accepts it."""
    monkeypatch.setattr(NestSolves, "time_left", lambda self: 0.0)
    result = solve_json(tmp_path, tiled_problem(tmp_path))
    assert result["status"] == "FEASIBLE" and result["details"]["search"]["nest_solves"] == 0
    nests = result["mapping"]["nests"]
    assert nests and all(n["mapping"]["factors"]["DRAM"]["K"] == 2 for n in nests)  # every loop at DRAM
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


def test_the_floor_is_below_the_cost_of_random_mappings_of_bundled_layers():
    """``nest_floor`` against the cost model on random valid mappings of every mappable
    bundled layer, on both presets (single- and double-buffered RF), with nothing or,
    where they fit the GLB, its input and output held on chip (as in a fused tile)."""
    rng, checked = random.Random(3), 0
    weights = ObjectiveWeights(1, 1, 0)
    for preset in ("eyeriss_like", "array16x16"):
        accelerator = load_accelerator(lookup("accelerators")[preset])
        glb = accelerator.levels["GLB"].capacity_words_total
        for _, network_path in listing("networks"):
            for layer in load_network(network_path).layers.values():
                if layer.kind not in MAPPABLE_KINDS:
                    continue
                for held in (frozenset(), frozenset("IO")):
                    nest = replace(layer, on_chip=held)
                    mapping = valid_mapping(nest, accelerator, rng) if nest.on_chip_words < glb // 2 else None
                    if mapping is None:
                        continue
                    cost = evaluate(nest, accelerator, mapping)
                    assert nest_floor(nest, accelerator, weights) <= cost.objective(weights), (layer.name, held)
                    checked += 1
    assert checked >= 250


def test_compare_lists_the_tiled_optimum_and_layer_by_layer_with_energy(tmp_path):
    """Tiles run time-shared only: no policy-pinned rows; layer-by-layer is the result's
    own baseline (layer mode), energy included."""
    out = tmp_path / "c.json"
    assert main(["-q", "compare", str(tiled_problem(tmp_path)), "--json", str(out)]) == 0
    rows = json.loads(out.read_text())["rows"]
    assert [row["method"] for row in rows] == ["CP-SAT", "layer-by-layer (each layer optimal)"]
    result = solve_json(tmp_path, tiled_problem(tmp_path))
    baseline = result["details"]["baseline_layer_by_layer"]
    assert rows[1]["objective"] == baseline["objective"]
    assert rows[1]["metrics"]["energy_pj"] == baseline["energy_fj"] / 1000


def test_a_glb_too_small_for_every_tile_is_proven_infeasible_with_the_reason(tmp_path, capsys):
    assert main(["solve", str(tiled_problem(tmp_path, glb=40))]) == 3
    out = capsys.readouterr().out
    assert "INFEASIBLE" in out and "no configuration of the tiled space fits the GLB" in out
