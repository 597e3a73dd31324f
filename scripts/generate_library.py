"""Write the bundled networks and per-layer problems under problems/.

Shapes follow the original papers (LeNet-5: LeCun 1998; AlexNet: Krizhevsky
2012, grouped conv2/4/5; VGG16: Simonyan 2014 configuration D; ResNet-18:
He 2016; MobileNetV2: Sandler 2018). Run from the repository root:
``python scripts/generate_library.py``. The output is committed; this script
documents where it came from.
"""

from __future__ import annotations

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent / "problems"


def conv(name, out, kernel, stride=1, padding=0, inputs=None, groups=1):
    layer = {"name": name, "kind": "conv", "out_channels": out, "kernel": kernel}
    if stride != 1:
        layer["stride"] = stride
    if padding:
        layer["padding"] = padding
    if groups != 1:
        layer["groups"] = groups
    if inputs:
        layer["inputs"] = inputs
    return layer


def pool(name, kind, kernel, stride, padding=0):
    layer = {"name": name, "kind": kind, "kernel": kernel, "stride": stride}
    if padding:
        layer["padding"] = padding
    return layer


def fc(name, out):
    return {"name": name, "kind": "fc", "out_channels": out}


def lenet5():
    layers = [
        conv("C1", 6, 5),
        pool("S2", "avgpool", 2, 2),
        conv("C3", 16, 5),
        pool("S4", "avgpool", 2, 2),
        conv("C5", 120, 5),
        fc("F6", 84),
        fc("OUT", 10),
    ]
    return {"name": "lenet5", "input": {"channels": 1, "height": 32, "width": 32}, "layers": layers}


def alexnet():
    layers = [
        conv("conv1", 96, 11, stride=4),
        pool("pool1", "maxpool", 3, 2),
        conv("conv2", 256, 5, padding=2, groups=2),
        pool("pool2", "maxpool", 3, 2),
        conv("conv3", 384, 3, padding=1),
        conv("conv4", 384, 3, padding=1, groups=2),
        conv("conv5", 256, 3, padding=1, groups=2),
        pool("pool5", "maxpool", 3, 2),
        fc("fc6", 4096),
        fc("fc7", 4096),
        fc("fc8", 1000),
    ]
    return {"name": "alexnet", "input": {"channels": 3, "height": 227, "width": 227}, "layers": layers}


def vgg16():
    layers = []
    blocks = [(2, 64), (2, 128), (3, 256), (3, 512), (3, 512)]
    for b, (count, channels) in enumerate(blocks, start=1):
        for i in range(1, count + 1):
            layers.append(conv(f"conv{b}_{i}", channels, 3, padding=1))
        layers.append(pool(f"pool{b}", "maxpool", 2, 2))
    layers += [fc("fc6", 4096), fc("fc7", 4096), fc("fc8", 1000)]
    return {"name": "vgg16", "input": {"channels": 3, "height": 224, "width": 224}, "layers": layers}


def resnet18():
    layers = [conv("conv1", 64, 7, stride=2, padding=3), pool("pool1", "maxpool", 3, 2, padding=1)]
    previous, channels = "pool1", 64
    for stage, out in enumerate((64, 128, 256, 512), start=1):
        for block in range(2):
            stride = 2 if stage > 1 and block == 0 else 1
            prefix = f"layer{stage}_{block}"
            layers.append(conv(f"{prefix}_conv1", out, 3, stride=stride, padding=1, inputs=[previous]))
            layers.append(conv(f"{prefix}_conv2", out, 3, padding=1))
            shortcut = previous
            if stride != 1 or channels != out:
                layers.append(conv(f"{prefix}_down", out, 1, stride=stride, inputs=[previous]))
                shortcut = f"{prefix}_down"
            layers.append({"name": f"{prefix}_add", "kind": "add", "inputs": [f"{prefix}_conv2", shortcut]})
            previous, channels = f"{prefix}_add", out
    layers += [pool("avgpool", "avgpool", "global", 1), fc("fc", 1000)]
    return {"name": "resnet18", "input": {"channels": 3, "height": 224, "width": 224}, "layers": layers}


def mobilenet_v2():
    layers = [conv("conv_stem", 32, 3, stride=2, padding=1)]
    previous, channels = "conv_stem", 32
    settings = [
        (1, 16, 1, 1),
        (6, 24, 2, 2),
        (6, 32, 3, 2),
        (6, 64, 4, 2),
        (6, 96, 3, 1),
        (6, 160, 3, 2),
        (6, 320, 1, 1),
    ]
    index = 0
    for expansion, out, repeats, first_stride in settings:
        for r in range(repeats):
            stride = first_stride if r == 0 else 1
            prefix = f"block{index}"
            hidden = channels * expansion
            source = previous
            if expansion != 1:
                layers.append(conv(f"{prefix}_expand", hidden, 1, inputs=[source]))
                source = f"{prefix}_expand"
            layers.append(
                {
                    "name": f"{prefix}_dw",
                    "kind": "depthwise",
                    "kernel": 3,
                    "stride": stride,
                    "padding": 1,
                    "inputs": [source],
                }
            )
            layers.append(conv(f"{prefix}_project", out, 1))
            if stride == 1 and channels == out:
                layers.append({"name": f"{prefix}_add", "kind": "add", "inputs": [f"{prefix}_project", previous]})
                previous = f"{prefix}_add"
            else:
                previous = f"{prefix}_project"
            channels = out
            index += 1
    layers += [conv("conv_head", 1280, 1, inputs=[previous]), pool("avgpool", "avgpool", "global", 1), fc("fc", 1000)]
    return {"name": "mobilenet_v2", "input": {"channels": 3, "height": 224, "width": 224}, "layers": layers}


def layer_problem(network: str, layer: str, accelerator: str) -> dict:
    return {
        "name": f"{network}_{layer}_{accelerator}",
        "mode": "layer",
        "network": network,
        "layers": [layer],
        "accelerator": accelerator,
        "objective": {"latency": 1, "dram_words": 1, "energy": 0},
        "solver": {"time_limit_s": 60, "workers": 2, "seed": 0},
    }


def dump(path: Path, data: dict, header: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    text = yaml.safe_dump(data, sort_keys=False, default_flow_style=None, width=120)
    path.write_text(f"# {header}\n{text}")


def main() -> None:
    header = "generated by scripts/generate_library.py; edit that script, not this file"
    networks = {
        "lenet5": lenet5(),
        "alexnet": alexnet(),
        "vgg16": vgg16(),
        "resnet18": resnet18(),
        "mobilenet_v2": mobilenet_v2(),
    }
    for name, net in networks.items():
        dump(ROOT / "networks" / f"{name}.yaml", net, header)
    for name in ("resnet18", "vgg16"):
        for layer in networks[name]["layers"]:
            if layer["kind"] == "conv":
                problem = layer_problem(name, layer["name"], "eyeriss_like")
                dump(ROOT / "problems" / "layer" / f"{name}_{layer['name']}.yaml", problem, header)


if __name__ == "__main__":
    main()
