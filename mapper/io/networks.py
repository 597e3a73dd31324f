"""Networks from YAML: layers in order, each with its loop bounds derived from
its input shape (conv, depthwise, pooling, fully connected, element-wise add)."""

from __future__ import annotations

from typing import Any

from mapper.core.spec import LAYER_KINDS, Layer, Network
from mapper.io.limits import MAX_BATCH, MAX_CHANNELS, MAX_FMAP, MAX_KERNEL, MAX_PADDING, MAX_STRIDE, check_layer
from mapper.io.yaml_fields import Fields


def _out_size(size: int, kernel: int, stride: int, pad: int, dilation: int) -> int:
    return (size + 2 * pad - dilation * (kernel - 1) - 1) // stride + 1


def parse_network(data: Any, source: str) -> Network:
    top = Fields(data, source, "")
    top.reject_unknown({"name", "input", "batch", "layers", "description"})
    inp = top.sub("input")
    input_shape = (
        inp.integer("channels", maximum=MAX_CHANNELS),
        inp.integer("height", maximum=MAX_FMAP),
        inp.integer("width", maximum=MAX_FMAP),
    )
    batch = top.integer("batch", 1, maximum=MAX_BATCH)
    raw_layers = top.raw("layers")
    if not isinstance(raw_layers, list) or not raw_layers:
        raise top.fail("layers", "must be a non-empty list of layers")
    shapes: dict[str, tuple[int, int, int]] = {"input": input_shape}
    layers: dict[str, Layer] = {}
    previous = "input"
    for index, raw in enumerate(raw_layers):
        f = Fields(raw, source, f"layers[{index}]")
        layer = _parse_layer(f, shapes, previous, batch)
        check_layer(f, layer)
        if layer.name in shapes:
            raise f.fail("name", f"duplicate layer name {layer.name!r}", "give every layer a unique name")
        layers[layer.name] = layer
        shapes[layer.name] = _output_shape(layer)
        previous = layer.name
    return Network(top.text("name"), layers, input_shape, batch)


def _output_shape(layer: Layer) -> tuple[int, int, int]:
    b = layer.bounds
    return (b["G"] * b["K"], b["P"], b["Q"])


def _parse_layer(f: Fields, shapes: dict[str, tuple[int, int, int]], previous: str, batch: int) -> Layer:
    f.reject_unknown({"name", "kind", "inputs", "out_channels", "kernel", "stride", "padding", "dilation", "groups"})
    name = f.text("name")
    kind = f.text("kind")
    if kind not in LAYER_KINDS:
        raise f.fail("kind", f"unknown layer kind {kind!r}", f"use one of {', '.join(LAYER_KINDS)}")
    inputs = f.raw("inputs", [previous])
    if not isinstance(inputs, list) or not inputs or not all(isinstance(i, str) for i in inputs):
        raise f.fail("inputs", f"must be a list of layer names, got {inputs!r}")
    for i, producer in enumerate(inputs):
        if producer not in shapes:
            raise f.fail(f"inputs[{i}]", f"{producer!r} is not an earlier layer or 'input'", "name a layer above")
    expected_inputs = 2 if kind == "add" else 1
    if len(inputs) != expected_inputs:
        raise f.fail("inputs", f"a {kind} layer takes {expected_inputs} input(s), got {len(inputs)}")
    channels, height, width = shapes[inputs[0]]
    stride = f.pair("stride", 1, maximum=MAX_STRIDE)
    dilation = f.pair("dilation", 1, maximum=MAX_STRIDE)
    padding = f.pair("padding", 0, minimum=0, maximum=MAX_PADDING)
    bounds = {"N": batch, "G": 1, "K": 1, "C": 1, "P": 1, "Q": 1, "R": 1, "S": 1}

    if kind == "add":
        for i, producer in enumerate(inputs):
            if shapes[producer] != shapes[inputs[0]]:
                raise f.fail(
                    f"inputs[{i}]",
                    f"shape {shapes[producer]} differs from {shapes[inputs[0]]}",
                    "add needs operands of equal shape",
                )
        bounds.update(G=channels, P=height, Q=width)
        return Layer(name, kind, bounds, inputs=tuple(inputs), input_hw=(height, width))

    if kind == "fc":
        # Flatten: a fully connected layer is a conv with P = Q = R = S = 1.
        bounds.update(K=f.integer("out_channels", maximum=MAX_CHANNELS), C=channels * height * width)
        return Layer(name, kind, bounds, inputs=tuple(inputs), input_hw=(1, 1))

    kernel_raw = f.raw("kernel", None if kind != "conv" else ...)
    if kernel_raw == "global":
        kernel = (height, width)
    elif kernel_raw is None:
        raise f.fail("kernel", "missing", "add kernel: 3 (or [rows, cols], or 'global' for pooling)")
    else:
        kernel = f.pair("kernel", maximum=MAX_KERNEL)
    for axis, label in enumerate(("rows", "cols")):
        size = (height, width)[axis]
        out = _out_size(size, kernel[axis], stride[axis], padding[axis], dilation[axis])
        if out < 1:
            raise f.fail(
                "kernel",
                f"kernel {label} {kernel[axis]} does not fit the {size}-{label} input with padding {padding[axis]}",
                "use a smaller kernel or more padding",
            )
    out_h = _out_size(height, kernel[0], stride[0], padding[0], dilation[0])
    out_w = _out_size(width, kernel[1], stride[1], padding[1], dilation[1])
    bounds.update(P=out_h, Q=out_w, R=kernel[0], S=kernel[1])

    if kind == "conv":
        groups = f.integer("groups", 1, maximum=MAX_CHANNELS)
        out_channels = f.integer("out_channels", maximum=MAX_CHANNELS)
        if channels % groups or out_channels % groups:
            raise f.fail(
                "groups",
                f"{groups} groups do not divide {channels} input and {out_channels} output channels",
                "use a common divisor",
            )
        bounds.update(G=groups, K=out_channels // groups, C=channels // groups)
    elif kind == "depthwise":
        multiplier = f.integer("out_channels", channels, maximum=MAX_CHANNELS)
        if multiplier % channels:
            raise f.fail("out_channels", f"must be a multiple of the {channels} input channels, got {multiplier}")
        bounds.update(G=channels, K=multiplier // channels, C=1)
    else:  # pooling: one window per channel, no weights
        bounds.update(G=channels)
    return Layer(name, kind, bounds, stride, dilation, padding, tuple(inputs), (height, width))
