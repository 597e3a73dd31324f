"""Numeric limits (issue 17, docs/problem_format.md "Limits"): every numeric
field is bounded, every layer's size and every problem's CP-SAT magnitudes
are checked on load; values beyond them are refused with one line naming
the file, the field and the limit (exit 2) instead of a TypeError from
OR-Tools, a hang, MODEL_INVALID or a nonsense answer."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml
from test_hostile_input import ACC

from mapper.app.cli import main

BIG = 10**30
NET = {
    "name": "n",
    "input": {"channels": 3, "height": 8, "width": 8},
    "layers": [
        {"name": "c1", "kind": "conv", "out_channels": 4, "kernel": 3},
        {"name": "c2", "kind": "conv", "out_channels": 4, "kernel": 3, "padding": 1},
    ],
}
LAYER = {"mode": "layer", "network": "net.yaml", "layers": ["c1"], "accelerator": "acc.yaml"}
FUSED = {**LAYER, "mode": "fused", "layers": ["c1", "c2"]}
NETWORK = {"mode": "network", "network": "net.yaml", "accelerator": "acc.yaml"}
TASKGRAPH = {
    "mode": "taskgraph",
    "network": "net.yaml",
    "layers": ["c1", "c2"],
    "taskgraph": {"platform": {"clusters": [[2, 2]]}},
}


def write(tmp_path: Path, problem: dict, net=None, acc=None) -> dict[str, Path]:
    """net.yaml, acc.yaml and p.yaml after ``net`` and ``acc`` mutate copies of NET and ACC."""
    data = {"net": copy.deepcopy(NET), "acc": copy.deepcopy(ACC), "p": copy.deepcopy(problem)}
    for key, mutate in (("net", net), ("acc", acc)):
        if mutate:
            mutate(data[key])
    paths = {key: tmp_path / f"{key}.yaml" for key in data}
    for key, path in paths.items():
        path.write_text(yaml.safe_dump(data[key]))
    return paths


def refused(capsys, paths: dict[str, Path], file: str, field: str, expected: str) -> None:
    assert main(["solve", str(paths["p"])]) == 2
    captured = capsys.readouterr()
    assert captured.err.startswith(f"error: {paths[file]}: {field}: "), captured.err
    assert captured.err.count("\n") == 1 and expected in captured.err, captured.err


def nested(data: dict, path: str, value) -> None:
    """Set ``data[a][b]...`` for the dotted ``path`` (missing mappings are created)."""
    *parents, last = path.split(".")
    for key in parents:
        data = data.setdefault(key, {})
    data[last] = value


ACCELERATOR_FIELDS = [
    ("pe_array.rows", BIG, "must be at most 4096"),
    ("pe_array.cols", BIG, "must be at most 4096"),
    ("word_bits", BIG, "must be at most 64"),
    ("word_bits", 65, "must be at most 64, got 65; use 1..64"),
    ("levels.RF.capacity_words", BIG, "must be at most 2**40"),
    ("levels.GLB.capacity_words", BIG, "must be at most 2**40"),
    ("levels.DRAM.bandwidth_words_per_cycle", BIG, "must be at most 2**20"),
    ("levels.GLB.bandwidth_words_per_cycle", 2**20 + 1, "must be at most 2**20"),
    ("mac_energy_pj", float("inf"), "must be at most 1000000 pJ, got inf"),
    ("levels.DRAM.energy_pj_per_word", 1e30, "must be at most 1000000 pJ"),
    ("levels.RF.energy_pj_per_word", float("nan"), "must be a number of pJ >= 0, got nan"),
]


@pytest.mark.parametrize("field,value,expected", ACCELERATOR_FIELDS)
def test_accelerator_fields_are_bounded(tmp_path, capsys, field, value, expected):
    paths = write(tmp_path, LAYER, acc=lambda a: nested(a, field, value))
    refused(capsys, paths, "acc", field, expected)


def test_split_capacities_are_bounded(tmp_path, capsys):
    paths = write(tmp_path, LAYER, acc=lambda a: nested(a, "levels.RF.capacity_words", {"W": BIG, "I": 4, "O": 4}))
    refused(capsys, paths, "acc", "levels.RF.capacity_words.W", "must be at most 2**40")


NETWORK_FIELDS = [
    ("input.height", BIG, "must be at most 4096"),
    ("input.width", 4097, "must be at most 4096, got 4097; use 1..4096"),
    ("input.channels", 10**9, "must be at most 2**20"),
    ("batch", 1025, "must be at most 1024"),
    ("layers.0.padding", BIG, "must be at most 1024"),
    ("layers.0.stride", BIG, "must be at most 4096"),
    ("layers.0.dilation", BIG, "must be at most 4096"),
    ("layers.0.kernel", BIG, "must be at most 6144"),
    ("layers.0.out_channels", 10**9, "must be at most 2**20"),
    ("layers.0.groups", BIG, "must be at most 2**20"),
]


def net_field(data: dict, field: str, value) -> None:
    if field.startswith("layers.0."):
        data["layers"][0][field.removeprefix("layers.0.")] = value
    else:
        nested(data, field, value)


@pytest.mark.parametrize("field,value,expected", NETWORK_FIELDS)
def test_network_fields_are_bounded(tmp_path, capsys, field, value, expected):
    paths = write(tmp_path, LAYER, net=lambda n: net_field(n, field, value))
    shown = field.replace("layers.0.", "layers[0].")
    shown += ".rows" if field.split(".")[-1] in ("padding", "stride", "dilation", "kernel") else ""
    refused(capsys, paths, "net", shown, expected)


PROBLEM_FIELDS = [
    (LAYER, "glb_words", BIG, "glb_words", "must be at most 2**40"),
    (LAYER, "pe_array", [BIG, 4], "pe_array.rows", "must be at most 4096"),
    (LAYER, "objective", {"latency": BIG}, "objective.latency", "must be at most 1000000"),
    (LAYER, "objective", {"energy": 10**6 + 1}, "objective.energy", "must be at most 1000000"),
    (LAYER, "solver", {"time_limit_s": float("inf")}, "solver.time_limit_s", "must be at most 1000000, got inf"),
    (LAYER, "solver", {"time_limit_s": float("nan")}, "solver.time_limit_s", "must be a positive number of seconds"),
    (LAYER, "solver", {"time_limit_s": 1e300}, "solver.time_limit_s", "must be at most 1000000"),
    (LAYER, "solver", {"deterministic_time": float("inf")}, "solver.deterministic_time", "must be at most"),
    (LAYER, "solver", {"workers": BIG}, "solver.workers", "must be at most 256"),
    (LAYER, "solver", {"seed": 2**31}, "solver.seed", "must be at most 2147483647"),
    (LAYER, "pin", {"factors": {"DRAM": {"K": BIG}}}, "pin.factors.DRAM.K", "must be at most 4"),
    (FUSED, "pin", {"stripe_rows": BIG}, "pin.stripe_rows", "must be at most 4096"),
    (FUSED, "pin", {"columns": {"c1": BIG}}, "pin.columns.c1", "must be at most 4096"),
    (NETWORK, "partition", {"max_group_layers": BIG}, "partition.max_group_layers", "must be at most 64"),
    (NETWORK, "partition", {"time_budget_s": float("nan")}, "partition.time_budget_s", "must be a positive number"),
    (NETWORK, "partition", {"time_budget_s": float("inf")}, "partition.time_budget_s", "must be at most 1000000"),
]
TASKGRAPH_FIELDS = [
    ("platform.clusters", [[BIG, 2]], "platform.clusters[0].rows", "must be at most 4096"),
    ("platform.clusters", [[2, 2]] * 65, "platform.clusters", "65 clusters; at most 64 are supported"),
    ("platform.memory_words", BIG, "platform.memory_words", "must be at most 2**40"),
    ("platform.link_words_per_cycle", BIG, "platform.link_words_per_cycle", "must be at most 2**20"),
    ("slicing.c1.rows", BIG, "slicing.c1.rows", "must be at most 64"),
    ("slicing.c1", {"rows": 8, "cols": 8, "channels": 2}, "slicing.c1.rows", "128 tasks; at most 64 per layer"),
    ("memory_cap", BIG, "memory_cap", "must be at most 2**40"),
    ("weights.makespan", BIG, "weights.makespan", "must be at most 1000000"),
]


@pytest.mark.parametrize("problem,key,value,field,expected", PROBLEM_FIELDS)
def test_problem_fields_are_bounded(tmp_path, capsys, problem, key, value, field, expected):
    refused(capsys, write(tmp_path, {**problem, key: value}), "p", field, expected)


@pytest.mark.parametrize("key,value,field,expected", TASKGRAPH_FIELDS)
def test_taskgraph_fields_are_bounded(tmp_path, capsys, key, value, field, expected):
    problem = copy.deepcopy(TASKGRAPH)
    nested(problem["taskgraph"], key, value)
    refused(capsys, write(tmp_path, problem), "p", f"taskgraph.{field}", expected)


def test_tasks_times_clusters_are_bounded(tmp_path, capsys):
    problem = copy.deepcopy(TASKGRAPH)
    problem["taskgraph"]["slicing"] = {"c1": {"rows": 6, "cols": 6}, "c2": {"rows": 6, "cols": 6}}
    problem["taskgraph"]["platform"]["clusters"] = [[2, 2]] * 64
    expected = "72 tasks on 64 clusters make 4608 task-cluster pairs; at most 4096 are supported"
    refused(capsys, write(tmp_path, problem), "p", "taskgraph.slicing", expected)


# --------------------------------------------------------------------------- the size of each layer


def big_input(channels: int, size: int = 4096, batch: int = 1):
    return lambda n: n.update(input={"channels": channels, "height": size, "width": size}, batch=batch)


def test_a_layer_of_too_many_macs_is_refused(tmp_path, capsys):
    def wide(n):
        big_input(1024)(n)
        n["layers"][0]["out_channels"] = 1024

    paths = write(tmp_path, LAYER, net=wide)
    refused(capsys, paths, "net", "layers[0]", "c1 has 158175093325824 MACs; at most 2**42 are supported; use a")


def test_a_tensor_of_too_many_words_is_refused(tmp_path, capsys):
    def strided_pool(n):
        big_input(2**20)(n)
        n["layers"] = [{"name": "p", "kind": "maxpool", "kernel": 1, "stride": 4000}]

    paths = write(tmp_path, {**LAYER, "layers": ["p"]}, net=strided_pool)
    refused(capsys, paths, "net", "layers[0]", "p has 16785605656576 words of I; at most 2**40 are supported")


def test_a_feature_map_grown_by_padding_is_refused(tmp_path, capsys):
    def padded(n):
        big_input(1)(n)
        n["layers"][0].update(kernel=1, padding=1024)

    refused(
        capsys, write(tmp_path, LAYER, net=padded), "net", "layers[0].padding", "c1 outputs 6144 rows; at most 4096"
    )


def test_a_huge_flattened_input_is_refused(tmp_path, capsys):
    def flat(n):
        big_input(2**20, size=64)(n)
        n["layers"] = [{"name": "f", "kind": "fc", "out_channels": 10}]

    paths = write(tmp_path, {**LAYER, "layers": ["f"]}, net=flat)
    refused(capsys, paths, "net", "layers[0]", "f flattens 4294967296 inputs; at most 2**24 are supported")
