"""Network mode: candidate groups, the shortest-path partition against brute
force, compulsory limits against both cost models, the referee on every
group, time budgets, pinned cuts, and bad input."""

from __future__ import annotations

import itertools
import json
import random
from dataclasses import replace
from pathlib import Path

import pytest
import yaml
from conftest import NETWORK_PROBLEM

from mapper.app.cli import main
from mapper.core.errors import SpecError
from mapper.core.group import build_group
from mapper.core.problem import PartitionSearch
from mapper.cost.limits import compulsory_limits, consumers_of, needed_input_words
from mapper.io.loading import load_problem
from mapper.referee.verify import verify_network_result
from mapper.solve.network import group_cost, solve_network
from mapper.solve.partition import best_partition, candidate_runs, greedy_partition

DATA = Path(__file__).parent / "data" / "network"
PROBLEM = NETWORK_PROBLEM  # tests/data/network/tiny_resnet_problem.yaml


@pytest.fixture(scope="module")
def problem():
    return load_problem(PROBLEM)


@pytest.fixture(scope="module")
def result(problem):
    return solve_network(problem)


def compositions(n: int):
    """Every way to cut 0..n-1 into consecutive runs."""
    for cuts in itertools.product((False, True), repeat=n - 1):
        bounds = [0] + [i + 1 for i, cut in enumerate(cuts) if cut] + [n]
        yield list(itertools.pairwise(bounds))


def test_candidates_follow_the_dag(problem):
    consumers = consumers_of(problem.network)
    runs = {c.names for c in candidate_runs(problem.layers, consumers, 6)}
    # a whole residual block fuses with the stem whose output it adds back on chip
    assert ("stem", "b1_conv1", "b1_conv2", "b1_add") in runs
    # b1_add is read by b2_conv1 and b2_down: fusing it with b2_conv1 alone would lose b2_down's input
    assert ("b1_add", "b2_conv1") not in runs
    # b2_down does not read b2_conv2: not a chain
    assert ("b2_conv2", "b2_down") not in runs
    # the shortcut conv fuses with the add; the add's other operand comes from DRAM
    assert ("b2_down", "b2_add") in runs
    # a fully connected layer never fuses (no row stripes)
    assert not any("fc" in names and len(names) > 1 for names in runs)
    assert all((name,) in runs for name in problem.layer_names)


def test_best_partition_equals_brute_force_on_random_values():
    rng = random.Random(3)
    for _ in range(30):
        n = rng.randint(1, 7)
        values = {(i, j): rng.randint(1, 50) for i in range(n) for j in range(i + 1, n + 1) if rng.random() < 0.6}
        values.update({(i, i + 1): rng.randint(20, 60) for i in range(n) if rng.random() < 0.9})
        brute = min(
            (sum(values[r] for r in runs) for runs in compositions(n) if all(r in values for r in runs)), default=None
        )
        found = best_partition(n, values)
        assert (found[0] if found else None) == brute
        if found:
            assert sum(values[r] for r in found[1]) == found[0]


def test_greedy_takes_the_longest_feasible_run():
    assert greedy_partition(5, {(0, 1), (0, 3), (1, 2), (3, 4), (3, 5), (4, 5)}) == [(0, 3), (3, 5)]
    assert greedy_partition(3, {(0, 2)}) is None


def test_network_optimum_against_brute_force_over_all_partitions(problem, result):
    answers = {tuple(c["layers"]): c for c in result.details["candidates"]}
    names = problem.layer_names
    totals = []
    for runs in compositions(len(names)):
        groups = [names[i:j] for i, j in runs]
        if all(g in answers and answers[g]["objective"] is not None for g in groups):
            totals.append(sum(answers[g]["objective"] for g in groups))
    assert result.proven_optimal
    assert result.objective == min(totals)
    baselines = result.details["baselines"]
    assert result.objective <= baselines["greedy_fusion"]["objective"]
    assert result.objective < baselines["layer_by_layer"]["objective"]
    # on this tight GLB, fusing as much as fits is worse than not fusing at all
    assert baselines["greedy_fusion"]["objective"] > baselines["layer_by_layer"]["objective"]


def test_every_group_cost_respects_its_compulsory_limits(problem, result):
    consumers = consumers_of(problem.network)
    checked = 0
    for candidate in candidate_runs(problem.layers, consumers, 6):
        answer = next(c for c in result.details["candidates"] if tuple(c["layers"]) == candidate.names)
        group = next((g for g in result.mapping["groups"] if tuple(g["layers"]) == candidate.names), None)
        if answer["objective"] is None:
            continue
        limits = compulsory_limits(candidate.layers, consumers, problem.accelerator)
        metrics = answer["metrics"]
        assert metrics["dram_words"] >= limits.dram_words, candidate.names
        assert metrics["latency_cycles"] >= limits.latency_cycles, candidate.names
        if group is not None:
            cost = group_cost(group["model"], candidate.layers, problem.accelerator, group["mapping"])
            assert cost.dram_words == metrics["dram_words"]
        checked += 1
    assert checked >= 15


def test_needed_input_skips_strided_and_padded_positions(problem):
    layers = problem.network.layers
    # 1x1 stride-2 conv on 16 channels of 16x16 reads rows/cols 0, 2, ..., 14
    assert needed_input_words(layers["b2_down"]) == 16 * 8 * 8
    # 3x3 stride-2 conv with padding 1 reads every real row
    assert needed_input_words(layers["b2_conv1"]) == 16 * 16 * 16
    assert needed_input_words(layers["b1_add"]) == 16 * 16 * 16


def test_every_group_passes_the_functional_referee(problem, result):
    report = verify_network_result(result.to_json(), problem, functional=True)
    assert report.violation is None, report.violation
    assert sum(1 for name, *_ in report.checks if name.endswith("objective")) >= len(result.mapping["groups"])


def test_referee_rejects_a_tampered_group(problem, result):
    data = json.loads(json.dumps(result.to_json()))
    data["mapping"]["groups"][0]["metrics"]["dram_words"] -= 1
    assert verify_network_result(data, problem).violation is not None


def test_equal_groups_are_solved_once_and_reused(problem, result):
    assert result.details["search"]["reused"] >= 1
    reused = [c for c in result.details["candidates"] if c["reused_from"]]
    for answer in reused:
        original = next(c for c in result.details["candidates"] if c["layers"] == answer["reused_from"])
        assert answer["objective"] == original["objective"]


def test_time_budget_returns_a_partition_with_a_valid_bound(problem, result):
    rushed = solve_network(replace(problem, partition=PartitionSearch(6, time_budget_s=1e-9)))
    assert rushed.details["search"]["skipped"] > 0
    assert rushed.objective == rushed.details["baselines"]["layer_by_layer"]["objective"]
    assert rushed.bound <= result.objective <= rushed.objective
    assert rushed.gap > 0 and not rushed.proven_optimal


def test_pinned_cuts_report_a_certified_regret(problem, result):
    pins = {"cut_after": ["b1_conv1"], "fuse_after": ["b2_down"]}
    pinned = solve_network(replace(problem, pins=pins))
    groups = [g["layers"] for g in pinned.mapping["groups"]]
    assert any(g[-1] == "b1_conv1" for g in groups)
    assert not any(g[-1] == "b2_down" for g in groups)
    regret = pinned.details["regret"]
    assert regret["free_objective"] == result.objective
    assert regret["regret"] == pinned.objective - result.objective >= 0
    assert regret["certified"]


def test_cli_solve_json_and_verify(network_cli_solve, capsys):
    code, text, out = network_cli_solve  # the solve of PROBLEM (conftest), shared with the plot and export tests
    assert code == 0
    assert "layer-by-layer" in text and "greedy" in text and "compulsory limits" in text
    data = json.loads(out.read_text())
    assert data["mode"] == "network" and data["proven_optimal"]
    assert main(["verify", str(out)]) == 0
    assert "every claimed metric equals the measured one" in capsys.readouterr().out


def test_compare_lists_both_baselines_with_gaps(problem):
    from mapper.solve.compare import compare

    report = compare(problem)
    methods = [row["method"] for row in report["rows"]]
    assert methods[0] == "CP-SAT" and len(methods) == 3
    assert all(row["gap_to_bound"] is not None for row in report["rows"])
    assert report["rows"][0]["gap_to_bound"] == 0


def write_problem(tmp_path, **fields):
    data = yaml.safe_load(PROBLEM.read_text())
    data["network"] = str(DATA / "tiny_resnet.yaml")
    data.update(fields)
    path = tmp_path / "p.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"layers": {"from": "b2_add", "to": "stem"}}, "layers.to"),
        ({"layers": {"from": "nope"}}, "layers.from"),
        ({"layers": ["stem", "b1_conv2"]}, "layers[1]"),
        ({"partition": {"max_group_layers": 0}}, "partition.max_group_layers"),
        ({"partition": {"time_budget_s": -1}}, "partition.time_budget_s"),
        ({"objective": {"latency": 1, "energy": 1}}, "objective.energy"),
        ({"pin": {"cut_after": ["fc"]}}, "pin.cut_after[0]"),
        ({"pin": {"cut_after": ["stem"], "fuse_after": ["stem"]}}, "pin.fuse_after"),
    ],
)
def test_bad_network_problems_name_the_field(tmp_path, fields, message):
    with pytest.raises(SpecError) as err:
        load_problem(write_problem(tmp_path, **fields))
    assert message in str(err.value)


def test_partition_outside_network_mode_is_refused(tmp_path):
    path = write_problem(tmp_path, mode="fused", layers=["stem", "b1_conv1"])
    with pytest.raises(SpecError, match="partition"):
        load_problem(path)


def test_sub_range_solves_only_its_layers(tmp_path):
    sub = load_problem(write_problem(tmp_path, layers={"from": "b2_conv1", "to": "b2_add"}))
    assert sub.layer_names == ("b2_conv1", "b2_conv2", "b2_down", "b2_add")
    answer = solve_network(sub)
    assert answer.proven_optimal
    covered = [name for group in answer.mapping["groups"] for name in group["layers"]]
    assert covered == list(sub.layer_names)


def test_a_layer_alone_takes_the_better_of_its_two_models(problem, result):
    from conftest import DETERMINISTIC

    from mapper.solve.groups import solve_group, solve_single_layer

    answers = {tuple(c["layers"]): c for c in result.details["candidates"]}
    layer = problem.network.layers["b1_conv1"]
    alone, _, _ = solve_single_layer(layer, problem.accelerator, problem.objective, DETERMINISTIC)
    striped, _ = solve_group(build_group((layer,)), problem.accelerator, problem.objective, DETERMINISTIC)
    both = [s.objective for s in (alone, striped) if s.objective is not None]
    assert answers[("b1_conv1",)]["objective"] == min(both)
    assert answers[("fc",)]["model"] == "layer" and answers[("b1_add",)]["model"] == "fused"
