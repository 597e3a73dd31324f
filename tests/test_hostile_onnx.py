"""Hostile ONNX files (issue 17): not ONNX, truncated, empty, shapes beyond the
limits, malformed nodes. Each is refused by ``fusesat import`` with one line
naming the file and the place, exit 2, and no network is written."""

from __future__ import annotations

from pathlib import Path

import pytest

from mapper.app.cli import main
from mapper.io.loading import load_network


def onnx_model(path: Path, height: int = 16, out_channels: int = 4, **pool) -> Path:
    """A one-Conv model (weight given by its dims only, no data), or one MaxPool
    with the attributes ``pool``."""
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper

    image = helper.make_tensor_value_info("image", TensorProto.FLOAT, [1, 3, height, height])
    out = helper.make_tensor_value_info("out", TensorProto.FLOAT, None)
    inits = [TensorProto(name="w", data_type=TensorProto.FLOAT, dims=[out_channels, 3, 3, 3])]
    if pool:
        node = helper.make_node("MaxPool", ["image"], ["out"], name="pool", **pool)
    else:
        node = helper.make_node("Conv", ["image", "w"], ["out"], name="conv", kernel_shape=[3, 3])
    onnx.save(helper.make_model(helper.make_graph([node], "g", [image], [out], inits)), str(path))
    return path


def import_refused(capsys, tmp_path: Path, path: Path, where: str, expected: str) -> None:
    out = tmp_path / "out.yaml"
    assert main(["import", str(path), "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {path}: {where}: ") and err.count("\n") == 1 and expected in err, err
    assert not out.exists()


def test_a_file_that_is_not_onnx_is_refused(tmp_path, capsys):
    path = tmp_path / "m.onnx"
    path.write_bytes(bytes(range(256)) * 4)
    import_refused(capsys, tmp_path, path, "<file>", "is not a readable ONNX model (Error parsing message")


def test_a_truncated_onnx_model_is_refused(tmp_path, capsys):
    path = onnx_model(tmp_path / "m.onnx")
    path.write_bytes(path.read_bytes()[:-40])
    import_refused(capsys, tmp_path, path, "<file>", "is not a readable ONNX model")


def test_an_empty_onnx_file_is_refused(tmp_path, capsys):
    path = tmp_path / "m.onnx"
    path.write_bytes(b"")
    import_refused(capsys, tmp_path, path, "<file>", "holds no ONNX graph")


def test_onnx_shapes_beyond_the_limits_are_refused(tmp_path, capsys):
    import_refused(
        capsys, tmp_path, onnx_model(tmp_path / "a.onnx", height=10**6), "input.height", "must be at most 4096"
    )
    path = onnx_model(tmp_path / "b.onnx", out_channels=10**9)
    import_refused(capsys, tmp_path, path, "layers[0].out_channels", "must be at most 2**20, got 1000000000")


def test_malformed_onnx_nodes_are_refused(tmp_path, capsys):
    path = onnx_model(tmp_path / "a.onnx", strides=[1, 1])
    import_refused(capsys, tmp_path, path, "node pool", "malformed MaxPool node (KeyError: 'kernel_shape')")
    path = onnx_model(tmp_path / "b.onnx", kernel_shape=[3, 3], auto_pad="SAME_UPPER")
    import_refused(capsys, tmp_path, path, "node pool", "auto_pad b'SAME_UPPER' is not supported; export explicit pads")


def test_a_small_onnx_model_still_imports(tmp_path):
    out = tmp_path / "out.yaml"
    assert main(["import", str(onnx_model(tmp_path / "m.onnx")), "-o", str(out)]) == 0
    assert load_network(out).layers["conv"].bounds["K"] == 4
