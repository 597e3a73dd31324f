"""Network mode's whole-run time budget (``fusesat solve --time-limit`` on a network
problem) and the fallback mappings of the layers it leaves unsolved."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
from conftest import NETWORK_PROBLEM

from mapper.app.cli import main
from mapper.core.mapping import all_dram_mapping
from mapper.core.problem import PartitionSearch
from mapper.cost.layer import evaluate
from mapper.heuristics.inward import inward_mapping
from mapper.io.loading import load_problem
from mapper.solve.candidates import FALLBACK
from mapper.solve.network import solve_network


@pytest.fixture(scope="module")
def problem():
    return load_problem(NETWORK_PROBLEM)


def test_past_the_budget_every_layer_takes_its_best_fallback(problem):
    rushed = solve_network(replace(problem, partition=PartitionSearch(6, time_budget_s=1e-9)))
    singles = [c for c in rushed.details["candidates"] if len(c["layers"]) == 1]
    assert singles and all("time budget spent" in c["note"] and FALLBACK in c["note"] for c in singles)
    accelerator, weights = problem.accelerator, problem.objective
    for c in singles:
        layer = problem.network.layers[c["layers"][0]]
        if c["model"] == "layer":  # no worse than every loop at DRAM: the greedy mapping is one of the options
            assert c["objective"] <= evaluate(layer, accelerator, all_dram_mapping(layer)).objective(weights)
    assert rushed.bound <= rushed.objective and rushed.status == "FEASIBLE"


def test_the_greedy_fallback_is_valid_and_no_worse_than_every_loop_at_dram(problem):
    accelerator, weights = problem.accelerator, problem.objective
    better = 0
    for layer in problem.layers:
        mapping = inward_mapping(layer, accelerator, weights)
        if mapping is None:
            continue
        cost, dram = evaluate(layer, accelerator, mapping), evaluate(layer, accelerator, all_dram_mapping(layer))
        assert cost.valid and cost.objective(weights) <= dram.objective(weights)
        assert cost.used_pes <= accelerator.num_pes
        better += cost.objective(weights) < dram.objective(weights)
    assert better >= len(problem.layers) // 2


def test_time_limit_is_the_network_run_budget_and_the_result_verifies(tmp_path, capsys):
    out = tmp_path / "r.json"
    assert main(["solve", str(NETWORK_PROBLEM), "--time-limit", "0.001", "--json", str(out)]) in (0, 4)
    data = json.loads(out.read_text())
    assert data["details"]["search"]["time_budget_s"] == 0.001
    assert data["solver"]["time_limit_s"] == 0.001  # a candidate never gets more than the run
    assert data["objective"] is not None and data["bound"] <= data["objective"]
    capsys.readouterr()
    assert main(["verify", str(out)]) == 0
    assert "details.search.time_budget_s" in capsys.readouterr().out


def test_candidate_time_limit_sets_each_group_and_is_refused_outside_network_mode(tmp_path, capsys):
    out = tmp_path / "r.json"
    assert main(["solve", str(NETWORK_PROBLEM), "--candidate-time-limit", "7", "--json", str(out)]) == 0
    data = json.loads(out.read_text())
    assert data["solver"]["time_limit_s"] == 7 and data["details"]["search"]["time_budget_s"] is None
    layer_problem = str(Path(__file__).parents[1] / "problems" / "problems" / "layer" / "resnet18_conv1.yaml")
    capsys.readouterr()
    assert main(["solve", layer_problem, "--candidate-time-limit", "7"]) == 2
    error = capsys.readouterr().err.strip().splitlines()
    assert len(error) == 1 and "--candidate-time-limit" in error[0] and "--time-limit" in error[0]
