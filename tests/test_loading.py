"""The bundled library loads; bad input gives one-line errors naming file, field and fix."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from mapper.app.cli import main
from mapper.core.enums import Mode
from mapper.core.errors import SpecError
from mapper.io.library import library_root
from mapper.io.loading import load_accelerator, load_network, load_problem

LIBRARY = library_root()


@pytest.mark.parametrize("path", sorted((LIBRARY / "networks").glob("*.yaml")), ids=lambda p: p.stem)
def test_bundled_networks_load(path):
    network = load_network(path)
    assert network.layers


@pytest.mark.parametrize("path", sorted((LIBRARY / "accelerators").glob("*.yaml")), ids=lambda p: p.stem)
def test_bundled_accelerators_load(path):
    assert load_accelerator(path).num_pes > 0


def test_bundled_problems_load():
    paths = sorted((LIBRARY / "problems").rglob("*.yaml"))
    assert len(paths) >= 33
    for path in paths:
        assert load_problem(path).layers


def test_shapes_match_reference():
    """Output shapes against ../shared/reference/README.md section 4."""
    lenet = load_network(LIBRARY / "networks" / "lenet5.yaml").layers
    shape = {n: (l.bounds["G"] * l.bounds["K"], l.bounds["P"], l.bounds["Q"]) for n, l in lenet.items()}
    assert shape["C1"] == (6, 28, 28) and shape["S2"] == (6, 14, 14) and shape["C3"] == (16, 10, 10)
    assert shape["S4"] == (16, 5, 5) and shape["C5"] == (120, 1, 1)
    resnet = load_network(LIBRARY / "networks" / "resnet18.yaml").layers
    out = {n: (l.bounds["G"] * l.bounds["K"], l.bounds["P"]) for n, l in resnet.items()}
    assert out["conv1"] == (64, 112) and out["pool1"] == (64, 56)
    assert out["layer2_1_add"] == (128, 28) and out["layer3_1_add"] == (256, 14) and out["layer4_1_add"] == (512, 7)
    assert resnet["fc"].bounds["C"] == 512
    vgg = load_network(LIBRARY / "networks" / "vgg16.yaml").layers
    assert vgg["fc6"].bounds["C"] == 25088
    mobilenet = load_network(LIBRARY / "networks" / "mobilenet_v2.yaml").layers
    assert mobilenet["conv_head"].bounds["P"] == 7 and mobilenet["block1_dw"].bounds["G"] == 96


def write(tmp_path: Path, name: str, data) -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data))
    return path


NET = {
    "name": "n",
    "input": {"channels": 3, "height": 8, "width": 8},
    "layers": [{"name": "c1", "kind": "conv", "out_channels": 4, "kernel": 3}],
}


def network_error(tmp_path, mutate) -> str:
    data = yaml.safe_load(yaml.safe_dump(NET))
    mutate(data)
    with pytest.raises(SpecError) as info:
        load_network(write(tmp_path, "net.yaml", data))
    message = str(info.value)
    assert "\n" not in message and message.startswith(str(tmp_path / "net.yaml"))
    return message


@pytest.mark.parametrize(
    "mutate,expected",
    [
        (lambda d: d["layers"][0].update(stride=0), "layers[0].stride.rows: must be a positive integer, got 0"),
        (lambda d: d["layers"][0].pop("out_channels"), "layers[0].out_channels: missing; add the field"),
        (lambda d: d["layers"][0].update(kind="lstm"), "layers[0].kind: unknown layer kind 'lstm'"),
        (lambda d: d["layers"][0].update(inputs=["nowhere"]), "layers[0].inputs[0]: 'nowhere' is not an earlier"),
        (lambda d: d["input"].update(height=-4), "input.height: must be a positive integer, got -4"),
        (lambda d: d["layers"][0].update(kernel=11), "layers[0].kernel: kernel rows 11 does not fit"),
        (lambda d: d["layers"][0].update(groups=2), "layers[0].groups: 2 groups do not divide"),
        (lambda d: d["layers"][0].update(strides=2), "layers[0].strides: unknown field"),
        (lambda d: d.pop("layers"), "layers: missing"),
    ],
)
def test_network_errors(tmp_path, mutate, expected):
    assert expected in network_error(tmp_path, mutate)


ACC = {
    "name": "a",
    "word_bits": 16,
    "pe_array": {"rows": 2, "cols": 2},
    "mac_energy_pj": 1.0,
    "levels": {
        "DRAM": {"bandwidth_words_per_cycle": 1, "energy_pj_per_word": 100},
        "GLB": {"capacity_words": 1000, "energy_pj_per_word": 5, "double_buffered": True},
        "RF": {"capacity_words": 16, "energy_pj_per_word": 1},
    },
}


@pytest.mark.parametrize(
    "mutate,expected",
    [
        (lambda d: d["levels"]["GLB"].update(capacity_words=0), "levels.GLB.capacity_words: must be a positive"),
        (lambda d: d["levels"].update(L2={}), "levels.L2: unknown level"),
        (lambda d: d["levels"]["RF"].update(energy_pj_per_word=0.0001), "not a whole number of fJ"),
        (lambda d: d["pe_array"].pop("rows"), "pe_array.rows: missing"),
        (lambda d: d["levels"]["RF"].update(capacity_words={"W": 4, "X": 2}), "capacity_words.X: unknown field"),
    ],
)
def test_accelerator_errors(tmp_path, mutate, expected):
    data = yaml.safe_load(yaml.safe_dump(ACC))
    mutate(data)
    with pytest.raises(SpecError) as info:
        load_accelerator(write(tmp_path, "acc.yaml", data))
    assert expected in str(info.value)


def problem_files(tmp_path, **overrides):
    write(tmp_path, "net.yaml", NET)
    write(tmp_path, "acc.yaml", ACC)
    data = {"mode": "layer", "network": "net.yaml", "layers": ["c1"], "accelerator": "acc.yaml"}
    data.update(overrides)
    return write(tmp_path, "p.yaml", data)


@pytest.mark.parametrize(
    "overrides,expected",
    [
        ({"layers": ["c9"]}, "layers[0]: no layer 'c9' in network n"),
        ({"mode": "magic"}, "mode: unknown mode 'magic'"),
        ({"network": "missing.yaml"}, "network: 'missing.yaml' not found"),
        ({"objective": {"latency": 0, "dram_words": 0}}, "objective: all weights are zero"),
        ({"solver": {"time_limit_s": -1}}, "solver.time_limit_s: must be a positive number"),
    ],
)
def test_problem_errors(tmp_path, overrides, expected):
    with pytest.raises(SpecError) as info:
        load_problem(problem_files(tmp_path, **overrides))
    assert expected in str(info.value)
    assert str(info.value).startswith(str(tmp_path / "p.yaml"))


SPLIT_GLB = {
    **ACC,
    "name": "eyeriss_split",
    "levels": {
        **ACC["levels"],
        "GLB": {"capacity_words": {"W": 400, "I": 300, "O": 300}, "energy_pj_per_word": 5, "double_buffered": True},
    },
}


@pytest.mark.parametrize("mode", ["fused", "network"])
def test_split_glb_is_refused_for_fused_groups(tmp_path, capsys, mode):
    """A per-tensor GLB has no single capacity for the fused cost model: refused at load time, in one line."""
    write(tmp_path, "split.yaml", SPLIT_GLB)
    path = problem_files(tmp_path, mode=mode, accelerator="split.yaml")
    assert main(["solve", str(path)]) == 2
    captured = capsys.readouterr()
    assert captured.err == (
        f"error: {path}: accelerator: the GLB of eyeriss_split is split per tensor (levels.GLB.capacity_words); "
        "fused groups need one shared GLB capacity; use an accelerator with a single capacity_words\n"
    )
    assert "Traceback" not in captured.out + captured.err


def test_split_glb_still_loads_in_layer_mode(tmp_path):
    write(tmp_path, "split.yaml", SPLIT_GLB)
    path = problem_files(tmp_path, accelerator="split.yaml")
    problem = load_problem(path)
    assert problem.mode == Mode.LAYER and problem.accelerator.levels["GLB"].is_split
    assert main(["solve", str(path), "--time-limit", "20"]) == 0
