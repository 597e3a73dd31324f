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


MALFORMED = (KeyError, IndexError, TypeError, AttributeError, ValueError)  # what a malformed graph raises


def _shape(weights: dict, node, index: int) -> tuple[int, ...]:
    """The dims of the initializer feeding ``node.input[index]`` (its weight)."""
    if len(node.input) <= index or node.input[index] not in weights:
        raise KeyError(f"input {index} is not a weight initializer")
    return weights[node.input[index]]


def _pads(source: str, node, attrs: dict) -> list[int]:
    auto = attrs.get("auto_pad", b"NOTSET")
    if auto not in (b"NOTSET", b"VALID", "NOTSET", "VALID"):
        raise SpecError(source, f"node {node.name}", f"auto_pad {auto!r} is not supported", "export explicit pads")
    pads = list(attrs.get("pads", [0, 0, 0, 0]))
    if pads[:2] != pads[2:]:
        raise SpecError(source, f"node {node.name}", f"asymmetric pads {pads}", "use symmetric padding")
    return pads[:2]


def _layer(source: str, node, attrs: dict, weights: dict, computed: list[str]) -> dict | None:
    """The layer fields of one node (without name and inputs); None if unsupported."""
    if node.op_type == "Conv":
        shape = _shape(weights, node, 1)
        kernel = list(attrs.get("kernel_shape", shape[2:]))
        padding = _pads(source, node, attrs)
        out_channels, group = int(shape[0]), int(attrs.get("group", 1))
        in_channels = int(shape[1]) * group
        depthwise = group > 1 and group == in_channels
        layer = {"kind": "depthwise" if depthwise else "conv", "out_channels": out_channels, "kernel": kernel}
        if not depthwise and group > 1:
            layer["groups"] = group
        layer.update(
            stride=list(attrs.get("strides", [1, 1])), padding=padding, dilation=list(attrs.get("dilations", [1, 1]))
        )
        return layer
    if node.op_type in POOLS:
        padding = _pads(source, node, attrs)
        kernel = list(attrs["kernel_shape"])
        return {
            "kind": POOLS[node.op_type],
            "kernel": kernel,
            "stride": list(attrs.get("strides", kernel)),
            "padding": padding,
        }
    if node.op_type == "GlobalAveragePool":
        return {"kind": "avgpool", "kernel": "global", "stride": 1}
    if node.op_type in ("Gemm", "MatMul") and len(node.input) > 1 and node.input[1] in weights:
        matrix = _shape(weights, node, 1)
        transposed = node.op_type == "Gemm" and attrs.get("transB", 0)
        return {"kind": "fc", "out_channels": int(matrix[0] if transposed else matrix[1])}
    if node.op_type == "Add" and len(computed) == 2:
        return {"kind": "add"}
    return None


def _load(path: Path | str, source: str):
    try:
        import onnx
    except ImportError:
        raise SpecError(source, "<onnx>", "the onnx package is not installed", "pip install -e '.[onnx]'") from None
    try:
        model = onnx.load(str(path), load_external_data=False)  # only shapes are read, never weight values
    except Exception as err:  # protobuf's DecodeError, OSError, onnx's own errors
        reason = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise SpecError(
            source, "<file>", f"is not a readable ONNX model ({reason})", "export the model with onnx"
        ) from None
    if not model.graph.node and not model.graph.input:
        raise SpecError(
            source, "<file>", "holds no ONNX graph (empty or not an ONNX model)", "export the model with onnx"
        )
    return model


def import_onnx(path: Path | str) -> dict:
    """The network mapping (what a network YAML holds) of an ONNX model."""
    source = str(path)
    model = _load(path, source)
    from onnx import helper

    graph = model.graph
    weights = {init.name: tuple(int(d) for d in init.dims) for init in graph.initializer}
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

    for index, node in enumerate(graph.node):
        try:
            attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
            computed = [producer[t] for t in node.input if t in producer]
            if node.op_type in FREE or (node.op_type in ("Add", "Mul", "Sub", "Div") and len(computed) == 1):
                producer[node.output[0]] = computed[0]
                continue
            fields = _layer(source, node, attrs, weights, computed)
            if fields is None:
                unsupported.append(f"{node.op_type} ({node.name or node.output[0]})")
                continue
            name = unique(node.name or node.output[0])
            layer = {"name": name, "inputs": computed, **fields}
            defaults = {"stride": [1, 1], "dilation": [1, 1], "padding": [0, 0]}
            layers.append({k: v for k, v in layer.items() if defaults.get(k) != v})
            producer[node.output[0]] = name
        except SpecError:
            raise
        except MALFORMED as err:
            label = node.name or f"#{index}"
            raise SpecError(
                source,
                f"node {label}",
                f"malformed {node.op_type or 'unnamed'} node ({type(err).__name__}: {err})",
                "re-export the model with onnx",
            ) from None
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
    parse_network(network, source)  # the same validation (and limits) as a hand-written file
    return network


def write_network(path: Path | str, out: Path | str) -> dict:
    network = import_onnx(path)
    Path(out).write_text(
        f"# imported from {Path(path).name} by fusesat import\n" + yaml.safe_dump(network, sort_keys=False)
    )
    return network
