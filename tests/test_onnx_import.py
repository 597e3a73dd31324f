"""ONNX import: models built with onnx.helper come back as the bundled networks."""

from __future__ import annotations

import numpy as np
import pytest

from mapper.app.cli import main
from mapper.core.errors import SpecError
from mapper.io.library import library_root
from mapper.io.loading import load_network, parse_network

onnx = pytest.importorskip("onnx")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402


class Builder:
    def __init__(self, channels, height, width):
        self.nodes, self.inits, self.count = [], [], 0
        self.input = helper.make_tensor_value_info("image", TensorProto.FLOAT, [1, channels, height, width])

    def name(self, prefix):
        self.count += 1
        return f"{prefix}{self.count}"

    def weight(self, shape):
        name = self.name("w")
        self.inits.append(numpy_helper.from_array(np.zeros(shape, dtype=np.float32), name))
        return name

    def op(self, op_type, inputs, **attrs):
        out = self.name("t")
        self.nodes.append(helper.make_node(op_type, inputs, [out], name=self.name(op_type.lower()), **attrs))
        return out

    def conv(self, x, cin, cout, k, stride=1, pad=0, group=1):
        w = self.weight([cout, cin // group, k, k])
        return self.op("Conv", [x, w], kernel_shape=[k, k], strides=[stride, stride], pads=[pad] * 4, group=group)

    def save(self, path, out):
        output = helper.make_tensor_value_info(out, TensorProto.FLOAT, None)
        graph = helper.make_graph(self.nodes, "model", [self.input], [output], self.inits)
        onnx.save(helper.make_model(graph), str(path))
        return path


def lenet(path):
    b = Builder(1, 32, 32)
    x = b.op("Relu", [b.conv("image", 1, 6, 5)])
    x = b.op("AveragePool", [x], kernel_shape=[2, 2], strides=[2, 2])
    x = b.op("Relu", [b.conv(x, 6, 16, 5)])
    x = b.op("AveragePool", [x], kernel_shape=[2, 2], strides=[2, 2])
    x = b.op("Flatten", [b.op("Relu", [b.conv(x, 16, 120, 5)])])
    x = b.op("Relu", [b.op("Gemm", [x, b.weight([84, 120])], transB=1)])
    return b.save(path, b.op("Gemm", [x, b.weight([10, 84])], transB=1))


def test_lenet5_imports_as_the_bundled_network(tmp_path):
    out = tmp_path / "lenet.yaml"
    assert main(["import", str(lenet(tmp_path / "lenet.onnx")), "-o", str(out)]) == 0
    imported = load_network(out)
    bundled = load_network(library_root() / "networks" / "lenet5.yaml")
    got = [(layer.kind, layer.bounds) for layer in imported.layers.values()]
    expected = [(layer.kind, layer.bounds) for layer in bundled.layers.values()]
    assert got == expected


def test_residual_block_keeps_its_skip(tmp_path):
    from mapper.io.onnx_import import import_onnx

    b = Builder(8, 8, 8)
    x = b.op(
        "Relu", [b.op("BatchNormalization", [b.conv("image", 8, 8, 3, pad=1), *[b.weight([8]) for _ in range(4)]])]
    )
    y = b.op("BatchNormalization", [b.conv(x, 8, 8, 3, pad=1), *[b.weight([8]) for _ in range(4)]])
    out = b.op("Relu", [b.op("Add", [y, "image"])])
    network = import_onnx(b.save(tmp_path / "block.onnx", out))
    kinds = [layer["kind"] for layer in network["layers"]]
    assert kinds == ["conv", "conv", "add"]
    assert network["layers"][2]["inputs"] == [network["layers"][1]["name"], "input"]
    parse_network(network, "block")
    # end to end: the imported block is fused and solved to optimality through the CLI
    import json

    import yaml
    from test_loading import ACC, write

    assert main(["import", str(tmp_path / "block.onnx"), "-o", str(tmp_path / "net.yaml")]) == 0
    acc = yaml.safe_load(yaml.safe_dump(ACC))
    acc["levels"]["GLB"]["capacity_words"] = 8000
    write(tmp_path, "acc.yaml", acc)
    names = [layer["name"] for layer in network["layers"]]
    problem = {
        "mode": "fused",
        "network": "net.yaml",
        "layers": names,
        "accelerator": "acc.yaml",
        "solver": {"workers": 1, "seed": 0, "time_limit_s": 30},
    }
    write(tmp_path, "p.yaml", problem)
    assert main(["solve", str(tmp_path / "p.yaml"), "--json", str(tmp_path / "r.json")]) == 0
    assert json.loads((tmp_path / "r.json").read_text())["proven_optimal"]


def test_depthwise_block(tmp_path):
    from mapper.io.onnx_import import import_onnx

    b = Builder(16, 14, 14)
    x = b.op("Clip", [b.conv("image", 16, 16, 3, stride=2, pad=1, group=16)])
    network = import_onnx(b.save(tmp_path / "dw.onnx", b.conv(x, 16, 32, 1)))
    layers = parse_network(network, "dw").layers
    depthwise, pointwise = layers.values()
    assert depthwise.kind == "depthwise" and depthwise.bounds["G"] == 16 and depthwise.bounds["P"] == 7
    assert pointwise.bounds["K"] == 32 and pointwise.bounds["C"] == 16


def test_unsupported_operators_are_listed_in_one_error(tmp_path):
    from mapper.io.onnx_import import import_onnx

    b = Builder(3, 8, 8)
    x = b.op("LRN", [b.conv("image", 3, 4, 3)], size=3)
    path = b.save(tmp_path / "bad.onnx", b.op("Resize", [x]))
    with pytest.raises(SpecError, match=r"graph.node: unsupported operators: LRN \(lrn\d+\), Resize \(resize\d+\)"):
        import_onnx(path)
