"""The CP-SAT magnitude checks of a problem (mapper.io.limits.check_problem),
and what the limits must never refuse: every bundled file, and real CNNs
(VGG16, ResNet-18/50, MobileNetV2) at batch 64 on 1024 x 1024 inputs."""

from __future__ import annotations

import copy
import re
from pathlib import Path

import pytest
import yaml

from formulations.fusion import FusedModel
from formulations.layer import LayerModel
from formulations.variables import INT_LIMIT
from mapper.app.batch import load_suite
from mapper.app.cli import main
from mapper.core.errors import SpecError
from mapper.core.group import build_group
from mapper.core.spec import ObjectiveWeights
from mapper.io import limits
from mapper.io.library import library_root
from mapper.io.loading import load_accelerator, load_network, load_problem
from mapper.io.yaml_fields import read_yaml

LIBRARY = library_root()
ROOT = Path(__file__).resolve().parent.parent
ACC = "eyeriss_like"


def big_net(layers: int = 2, size: int = 1024, channels: int = 64, batch: int = 64) -> dict:
    convs = [
        {"name": f"c{i}", "kind": "conv", "out_channels": channels, "kernel": 3, "padding": 1} for i in range(layers)
    ]
    return {
        "name": "big",
        "batch": batch,
        "input": {"channels": channels, "height": size, "width": size},
        "layers": convs,
    }


def write(tmp_path: Path, net: dict, **problem) -> Path:
    (tmp_path / "net.yaml").write_text(yaml.safe_dump(net))
    path = tmp_path / "p.yaml"
    path.write_text(yaml.safe_dump({"network": "net.yaml", "accelerator": ACC, **problem}))
    return path


def refused(capsys, path: Path, field: str, *parts: str) -> None:
    assert main(["solve", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {path}: {field}: ") and err.count("\n") == 1, err
    for part in parts:
        assert part in err, err


ENERGY = {"latency": 1, "dram_words": 1, "energy": 1}


def test_an_energy_weighted_layer_beyond_int64_is_refused(tmp_path, capsys):
    path = write(tmp_path, big_net(), mode="layer", layers=["c0"], objective=ENERGY)
    refused(capsys, path, "layers[0]", "the CP-SAT model of c0 needs numbers up to 2**63 for its energy (fJ)")
    with pytest.raises(SpecError, match=r"at most 2\*\*60 fit; use a smaller layer"):
        load_problem(path)
    assert load_problem(write(tmp_path, big_net(), mode="layer", layers=["c0"])).layers  # no energy: it fits


def test_weights_times_a_large_layer_beyond_int64_are_refused(tmp_path, capsys):
    weights = {"latency": 10**6, "dram_words": 10**6}
    path = write(tmp_path, big_net(), mode="layer", layers=["c0"], objective=weights)
    refused(capsys, path, "layers[0]", "for its weighted objective; at most 2**62 fit")


def test_a_fused_group_beyond_int64_is_refused(tmp_path, capsys):
    path = write(
        tmp_path, big_net(), mode="fused", layers=["c0", "c1"], objective={"latency": 10**6, "dram_words": 10**6}
    )
    refused(capsys, path, "layers", "the CP-SAT model of the group c0..c1 needs numbers", "weighted objective")


def test_a_fused_group_of_too_many_stripe_stages_is_refused(tmp_path, capsys):
    net = big_net(layers=8, size=4096, channels=1, batch=1)
    names = [f"c{i}" for i in range(8)]
    refused(capsys, write(tmp_path, net, mode="fused", layers=names), "layers", "has 310424 stripe stages")
    path = write(tmp_path, net, mode="network", partition={"max_group_layers": 8})
    refused(capsys, path, "partition.max_group_layers", "the group c0..c7 has 310424 stripe stages")
    assert load_problem(write(tmp_path, net, mode="network", partition={"max_group_layers": 6})).layers


def test_a_weighted_task_graph_beyond_int64_is_refused(tmp_path, capsys):
    graph = {
        "platform": {"clusters": [[4, 4]]},
        "objective": "weighted",
        "weights": {"makespan": 10**6, "memory": 10**6},
    }
    path = write(tmp_path, big_net(), mode="taskgraph", layers=["c0", "c1"], taskgraph=graph)
    refused(capsys, path, "taskgraph", "the task graph of c0..c1 needs numbers", "for its weighted objective")


def test_the_bounds_are_those_the_formulations_build():
    """The loader's bounds follow the models, so a model change that grows them fails here."""
    assert limits.SOLVER_DOMAIN == INT_LIMIT
    accelerator = load_accelerator(LIBRARY / "accelerators" / "array16x16.yaml")
    resnet = load_network(LIBRARY / "networks" / "resnet18.yaml").layers
    for name in ("conv1", "layer2_0_conv1", "layer2_0_down", "fc"):
        assert limits.layer_model_bound(resnet[name]) == LayerModel(resnet[name], accelerator, ObjectiveWeights()).cap
    group = build_group(tuple(resnet[n] for n in ("layer1_0_conv1", "layer1_0_conv2", "layer1_0_add")))
    model = FusedModel(group, accelerator, ObjectiveWeights())
    assert limits.fused_model_bound(group.layers) == model.horizon
    stages = sum(s.stripes for s in model.schedules.values()) * len(group.layers)
    assert limits.fused_stages(group.layers) == stages


# --------------------------------------------------------------------------- what the limits must accept


LOADERS = {"accelerators": load_accelerator, "networks": load_network, "problems": load_problem, "suites": load_suite}


@pytest.mark.parametrize("folder", sorted(LOADERS))
def test_every_bundled_file_loads(folder):
    paths = sorted(p for p in (LIBRARY / folder).rglob("*") if p.suffix in (".yaml", ".yml"))
    assert paths
    for path in paths:
        assert read_yaml(path)
        assert LOADERS[folder](path)


def resnet50() -> dict:
    layers = [
        {"name": "conv1", "kind": "conv", "out_channels": 64, "kernel": 7, "stride": 2, "padding": 3},
        {"name": "pool1", "kind": "maxpool", "kernel": 3, "stride": 2, "padding": 1},
    ]
    previous = "pool1"
    for stage, (blocks, width) in enumerate(((3, 64), (4, 128), (6, 256), (3, 512))):
        for block in range(blocks):
            name, stride = f"s{stage}b{block}", 2 if stage and not block else 1
            layers += [
                {"name": f"{name}_a", "kind": "conv", "out_channels": width, "kernel": 1, "inputs": [previous]},
                {
                    "name": f"{name}_b",
                    "kind": "conv",
                    "out_channels": width,
                    "kernel": 3,
                    "stride": stride,
                    "padding": 1,
                },
                {"name": f"{name}_c", "kind": "conv", "out_channels": 4 * width, "kernel": 1},
            ]
            shortcut = previous
            if not block:
                shortcut = f"{name}_down"
                down = {"name": shortcut, "kind": "conv", "out_channels": 4 * width, "kernel": 1, "stride": stride}
                layers.append({**down, "inputs": [previous]})
            layers.append({"name": f"{name}_add", "kind": "add", "inputs": [f"{name}_c", shortcut]})
            previous = f"{name}_add"
    layers += [
        {"name": "pool", "kind": "avgpool", "kernel": "global"},
        {"name": "fc", "kind": "fc", "out_channels": 1000},
    ]
    return {"name": "resnet50", "input": {"channels": 3, "height": 224, "width": 224}, "layers": layers}


@pytest.mark.parametrize("network", ["vgg16", "resnet18", "mobilenet_v2", "alexnet", "resnet50"])
@pytest.mark.parametrize("batch,size", [(1, 224), (64, 224), (1, 1024), (64, 1024)])
def test_real_cnns_load_at_batch_64_on_1024_inputs(tmp_path, network, batch, size):
    net = (
        resnet50() if network == "resnet50" else yaml.safe_load((LIBRARY / "networks" / f"{network}.yaml").read_text())
    )
    net = copy.deepcopy(net)
    net["batch"] = batch
    net["input"].update(height=size, width=size)
    for accelerator in ("eyeriss_like", "array32x32"):
        problem = load_problem(write(tmp_path, net, mode="network", accelerator=accelerator))
        assert len(problem.layers) == len(net["layers"])


def test_the_limits_are_documented():
    docs = (ROOT / "docs" / "problem_format.md").read_text()
    section = docs[docs.index("## Limits") :]
    for name, value in vars(limits).items():
        if re.fullmatch(r"MAX_[A-Z_]+|SOLVER_[A-Z]+", name) and name != "MAX_INTEGER":
            assert f"`{limits.shown(value)}`" in section, f"{name} = {limits.shown(value)} is not in the Limits table"
