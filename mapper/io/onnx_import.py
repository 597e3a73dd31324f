"""Import an ONNX model as a fusesat network YAML (the ``onnx`` extra).

Mapped: Conv (groups -> conv or depthwise, strides, symmetric pads,
dilations), MaxPool, AveragePool, GlobalAveragePool, Gemm and MatMul with a
weight initializer (fully connected), and Add of two computed tensors
(residual). Folded as free: BatchNormalization (into the preceding layer),
Relu, Clip, Sigmoid, Tanh and other element-wise activations, Add or Mul
with a constant, Dropout and Identity. Flatten, Reshape and Squeeze are
views. Anything else is listed in one error.
"""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from mapper.core.errors import SpecError
from mapper.io.networks import parse_network

FREE = {
    "Relu",
    "Clip",
    "Sigmoid",
    "Tanh",
    "LeakyRelu",
    "HardSigmoid",
    "HardSwish",
    "Softmax",
    "BatchNormalization",
    "Dropout",
    "Identity",
    "Flatten",
    "Reshape",
    "Squeeze",
    "Unsqueeze",
}
POOLS = {"MaxPool": "maxpool", "AveragePool": "avgpool"}


def _clean(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_]", "_", name).strip("_") or "layer"


def import_onnx(path: Path | str) -> dict:
    """The network mapping (what a network YAML holds) of an ONNX model."""
    try:
        import onnx
        from onnx import helper, numpy_helper
    except ImportError:
        raise SpecError(str(path), "<onnx>", "the onnx package is not installed", "pip install -e '.[onnx]'") from None
    source = str(path)
    try:
        model = onnx.load(str(path))
    except Exception as err:
        raise SpecError(source, "<file>", f"not a readable ONNX model ({err})", "export the model with onnx") from None
    graph = model.graph
    weights = {init.name: numpy_helper.to_array(init) for init in graph.initializer}
    inputs = [i for i in graph.input if i.name not in weights]
    if len(inputs) != 1:
        raise SpecError(
            source, "graph.input", f"expected one image input, found {len(inputs)}", "export a single-input model"
        )
    dims = [d.dim_value for d in inputs[0].type.tensor_type.shape.dim]
    if len(dims) != 4 or not all(dims):
        raise SpecError(
            source, "graph.input", f"input shape {dims} is not a fixed [N, C, H, W]", "export with static shapes"
        )
    batch, channels, height, width = dims
    producer = {inputs[0].name: "input"}  # ONNX tensor -> fusesat layer name (or 'input')
    layers, unsupported, names = [], [], set()

    def unique(name: str) -> str:
        base, i = _clean(name), 1
        while name in names or _clean(name) in names:
            name, i = f"{base}_{i}", i + 1
        names.add(_clean(name))
        return _clean(name)

    for node in graph.node:
        attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
        computed = [producer[t] for t in node.input if t in producer]
        if node.op_type in FREE or (node.op_type in ("Add", "Mul", "Sub", "Div") and len(computed) == 1):
            producer[node.output[0]] = computed[0]
            continue
        name = unique(node.name or node.output[0])
        layer: dict = {"name": name, "inputs": computed}
        if node.op_type == "Conv":
            kernel = list(attrs.get("kernel_shape", weights[node.input[1]].shape[2:]))
            pads = list(attrs.get("pads", [0, 0, 0, 0]))
            if pads[:2] != pads[2:]:
                raise SpecError(source, f"node {node.name}", f"asymmetric pads {pads}", "use symmetric padding")
            out_channels = int(weights[node.input[1]].shape[0])
            group = int(attrs.get("group", 1))
            in_channels = int(weights[node.input[1]].shape[1]) * group
            depthwise = group > 1 and group == in_channels
            layer.update(kind="depthwise" if depthwise else "conv", out_channels=out_channels, kernel=kernel)
            if not depthwise and group > 1:
                layer["groups"] = group
            layer.update(
                stride=list(attrs.get("strides", [1, 1])),
                padding=pads[:2],
                dilation=list(attrs.get("dilations", [1, 1])),
            )
        elif node.op_type in POOLS:
            pads = list(attrs.get("pads", [0, 0, 0, 0]))
            if pads[:2] != pads[2:]:
                raise SpecError(source, f"node {node.name}", f"asymmetric pads {pads}", "use symmetric padding")
            layer.update(
                kind=POOLS[node.op_type],
                kernel=list(attrs["kernel_shape"]),
                stride=list(attrs.get("strides", attrs["kernel_shape"])),
                padding=pads[:2],
            )
        elif node.op_type == "GlobalAveragePool":
            layer.update(kind="avgpool", kernel="global", stride=1)
        elif node.op_type in ("Gemm", "MatMul") and node.input[1] in weights:
            matrix = weights[node.input[1]]
            transposed = node.op_type == "Gemm" and attrs.get("transB", 0)
            layer.update(kind="fc", out_channels=int(matrix.shape[0] if transposed else matrix.shape[1]))
        elif node.op_type == "Add" and len(computed) == 2:
            layer.update(kind="add")
        else:
            unsupported.append(f"{node.op_type} ({node.name or node.output[0]})")
            continue
        defaults = {"stride": [1, 1], "dilation": [1, 1], "padding": [0, 0]}
        layers.append({k: v for k, v in layer.items() if defaults.get(k) != v})
        producer[node.output[0]] = name
    if unsupported:
        raise SpecError(
            source, "graph.node", f"unsupported operators: {', '.join(unsupported)}", "remove or replace them"
        )
    network = {
        "name": _clean(graph.name or Path(path).stem),
        "input": {"channels": channels, "height": height, "width": width},
        "layers": layers,
    }
    if batch != 1:
        network["batch"] = batch
    parse_network(network, source)  # the same validation as a hand-written file
    return network


def write_network(path: Path | str, out: Path | str) -> dict:
    network = import_onnx(path)
    Path(out).write_text(
        f"# imported from {Path(path).name} by fusesat import\n" + yaml.safe_dump(network, sort_keys=False)
    )
    return network
