"""Hostile files (issue 17): bytes that are not UTF-8, YAML alias bombs, duplicate
keys, documents that are not mappings, broken ONNX models (test_hostile_onnx.py). Each is refused
with one line naming the file and the place, exit 2, before anything is
solved; numeric limits are in test_hostile_limits.py."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import yaml

from mapper.app.batch import load_suite
from mapper.app.cli import main
from mapper.core.errors import SpecError
from mapper.io import yaml_reader
from mapper.io.loading import load_accelerator, load_network, load_problem
from mapper.io.yaml_fields import Fields, read_yaml

NET = {
    "name": "n",
    "input": {"channels": 3, "height": 8, "width": 8},
    "layers": [{"name": "c1", "kind": "conv", "out_channels": 4, "kernel": 3}],
}
ACC = {
    "name": "a",
    "word_bits": 16,
    "pe_array": {"rows": 2, "cols": 2},
    "mac_energy_pj": 1.0,
    "levels": {
        "DRAM": {"bandwidth_words_per_cycle": 1, "energy_pj_per_word": 100},
        "GLB": {"capacity_words": 1000, "energy_pj_per_word": 5},
        "RF": {"capacity_words": 16, "energy_pj_per_word": 1},
    },
}
PROBLEM = "mode: layer\nnetwork: net.yaml\nlayers: [c1]\naccelerator: acc.yaml\n"


def files(tmp_path: Path, problem: str = PROBLEM) -> Path:
    (tmp_path / "net.yaml").write_text(yaml.safe_dump(NET))
    (tmp_path / "acc.yaml").write_text(yaml.safe_dump(ACC))
    path = tmp_path / "p.yaml"
    path.write_text(problem)
    return path


def refused(capsys, path: Path, where: str, *parts: str, argv: list[str] | None = None) -> str:
    """``fusesat solve`` exits 2 with exactly one line naming ``path`` and ``where``."""
    assert main(argv or ["solve", str(path)]) == 2
    captured = capsys.readouterr()
    assert captured.err.startswith(f"error: {path}: {where}: "), captured.err
    assert captured.err.count("\n") == 1 and "Traceback" not in captured.out + captured.err
    for part in parts:
        assert part in captured.err
    return captured.err


# --------------------------------------------------------------------------- encoding


@pytest.mark.parametrize("victim", ["p.yaml", "net.yaml", "acc.yaml"])
def test_non_utf8_bytes_are_refused_in_every_file(tmp_path, capsys, victim):
    problem = files(tmp_path)
    target = tmp_path / victim
    data = target.read_bytes()
    target.write_bytes(data[:5] + b"\xe9\xff" + data[5:])
    message = refused(
        capsys,
        target,
        "<file>",
        "is not UTF-8 text (byte 0xe9 at offset 5); save it as UTF-8",
        argv=["solve", str(problem)],
    )
    assert message.endswith("save it as UTF-8\n")


def test_a_utf8_byte_order_mark_is_fine(tmp_path):
    path = tmp_path / "x.yaml"
    path.write_bytes(b"\xef\xbb\xbfa: 1\n")
    assert read_yaml(path) == {"a": 1}


# --------------------------------------------------------------------------- alias bombs


def bomb(levels: int = 9) -> str:
    """The billion laughs as one flow list: level i holds nine aliases of level i - 1."""
    names = [f"l{i}" for i in range(levels)]
    parts = [f"&{names[0]} [x, x, x, x, x, x, x, x, x]"]
    parts += [f"&{names[i]} [{', '.join([f'*{names[i - 1]}'] * 9)}]" for i in range(1, levels)]
    return "[" + ", ".join(parts) + "]"


@pytest.mark.parametrize(
    "field,line",
    [("name", 5), ("layers", 3), ("glb_words", 5)],
)
def test_alias_bombs_in_a_problem_are_refused_at_once(tmp_path, capsys, field, line):
    lines = {"mode": "layer", "network": "net.yaml", "layers": "[c1]", "accelerator": "acc.yaml"}
    lines[field] = bomb()
    path = files(tmp_path, "".join(f"{k}: {v}\n" for k, v in lines.items()))
    start = time.perf_counter()
    with pytest.raises(SpecError):
        read_yaml(path)
    assert time.perf_counter() - start < 0.2  # refused from the node graph, before any expansion
    refused(capsys, path, f"line {line}", "aliases (*anchor) expand to more than 100,000 YAML values")


def test_an_alias_bomb_in_out_channels_is_refused_at_once(tmp_path, capsys):
    problem = files(tmp_path)
    text = (tmp_path / "net.yaml").read_text().replace("out_channels: 4", f"out_channels: {bomb()}")
    (tmp_path / "net.yaml").write_text(text)
    refused(capsys, tmp_path / "net.yaml", "line 9", "expand to more than", argv=["solve", str(problem)])


def test_a_few_aliases_still_work(tmp_path):
    path = tmp_path / "x.yaml"
    path.write_text("base: &b {x: 1, y: 2}\nother:\n  <<: *b\n  x: 3\nlist: [*b, *b]\n")
    assert read_yaml(path) == {"base": {"x": 1, "y": 2}, "other": {"x": 3, "y": 2}, "list": [{"x": 1, "y": 2}] * 2}


@pytest.mark.parametrize(
    "text,where,expected",
    [
        ("a: &a [1, *a]\n", "line 1", "an alias (*anchor) refers to a value that contains it"),
        ("a: " + "[" * 100 + "]" * 100 + "\n", "line 1", "nest deeper than 64 levels"),
        ("a: " + "9" * 5000 + "\n", "line 1", "cannot read the value '9999"),
        ("a: 2024-13-45\n", "line 1", "cannot read the value '2024-13-45' (month must be in 1..12)"),
        ("a: b\x00\n", "<file>", "character #x0000 is not allowed in YAML (offset 4)"),
        ("a: 1\n---\nb: 2\n", "line 2", "a second YAML document starts here (---); keep one document"),
        ("a: !!python/object:os.system x\n", "line 1", "invalid YAML (could not determine a constructor"),
        ("a: *nowhere\n", "line 1", "invalid YAML (found undefined alias 'nowhere')"),
    ],
    ids=["recursive", "deep", "long-int", "bad-date", "nul", "two-documents", "python-tag", "undefined"],
)
def test_hostile_yaml_is_refused_in_one_line(tmp_path, text, where, expected):
    path = tmp_path / "x.yaml"
    path.write_text(text)
    start = time.perf_counter()
    with pytest.raises(SpecError) as info:
        read_yaml(path)
    assert time.perf_counter() - start < 5.0
    assert str(info.value).startswith(f"{path}: {where}: ") and "\n" not in str(info.value)
    assert expected in str(info.value)


def test_a_file_of_too_many_values_is_refused_while_it_is_read(tmp_path, monkeypatch):
    monkeypatch.setattr(yaml_reader, "MAX_NODES", 1000)
    path = tmp_path / "x.yaml"
    path.write_text("a: [" + ", ".join(["1"] * 1000) + "]\n")
    with pytest.raises(SpecError, match=r"x.yaml: line 1: the file has more than 1,000 YAML values; split it"):
        read_yaml(path)


def test_a_file_above_one_mib_is_not_read(tmp_path):
    path = tmp_path / "x.yaml"
    path.write_text("a: '" + "x" * 2**20 + "'\n")
    with pytest.raises(SpecError, match="at most 1,048,576 are read; split it into smaller files"):
        read_yaml(path)


# --------------------------------------------------------------------------- duplicate keys


def test_duplicate_top_level_keys_are_refused(tmp_path, capsys):
    path = files(tmp_path, PROBLEM + "mode: fused\n")
    refused(capsys, path, "line 5", "duplicate key 'mode' (first on line 1); remove one of them")


def test_duplicate_nested_keys_are_refused(tmp_path, capsys):
    problem = files(tmp_path)
    layers = "layers: [{name: c1, kind: conv, out_channels: 4, kernel: 3}]\n"
    text = "name: n\ninput: {channels: 3, height: 8, width: 8, height: 9}\n" + layers
    (tmp_path / "net.yaml").write_text(text)
    refused(
        capsys,
        tmp_path / "net.yaml",
        "line 2",
        "duplicate key 'height' (first on line 2)",
        argv=["solve", str(problem)],
    )


# --------------------------------------------------------------------------- documents that are not mappings


@pytest.mark.parametrize(
    "text,where,expected",
    [
        ("", "<file>", "is empty; write the fields as a YAML mapping"),
        ("# only a comment\n", "<file>", "is empty"),
        ("---\n", "<top>", "must be a mapping of fields, got nothing (an empty value)"),
        ("- a\n- b\n", "<top>", "must be a mapping of fields, got a list of 2 item(s)"),
        ("just text\n", "<top>", "must be a mapping of fields, got the string 'just text'"),
        ("42\n", "<top>", "must be a mapping of fields, got the number 42"),
    ],
    ids=["empty", "comment", "null", "list", "string", "number"],
)
@pytest.mark.parametrize("loader", [load_problem, load_network, load_accelerator, load_suite])
def test_every_loader_refuses_a_document_that_is_not_a_mapping(tmp_path, loader, text, where, expected):
    path = tmp_path / "x.yaml"
    path.write_text(text)
    with pytest.raises(SpecError) as info:
        loader(path)
    assert str(info.value).startswith(f"{path}: {where}: ") and expected in str(info.value)


def test_the_cli_refuses_an_empty_problem(tmp_path, capsys):
    path = tmp_path / "p.yaml"
    path.write_text("")
    refused(capsys, path, "<file>", "is empty")


def test_an_empty_network_named_by_a_problem_is_refused(tmp_path, capsys):
    problem = files(tmp_path)
    (tmp_path / "net.yaml").write_text("")
    refused(capsys, tmp_path / "net.yaml", "<file>", "is empty", argv=["solve", str(problem)])


# --------------------------------------------------------------------------- one line, always


def test_control_characters_in_a_key_cannot_break_the_line(tmp_path, capsys):
    path = files(tmp_path, PROBLEM + '"evil\\nkey\\u001b[31m": 1\n')
    message = refused(capsys, path, "evil\\nkey\\x1b[31m", "unknown field")
    assert "\x1b" not in message


def test_long_values_are_cut_in_messages(tmp_path):
    with pytest.raises(SpecError) as info:
        Fields({"name": list(range(10_000))}, "f.yaml", "").text("name")
    assert len(str(info.value)) < 200 and str(info.value).endswith("...")


@pytest.mark.parametrize(
    "extra,where,expected",
    [
        ("layers: [[c1]]\n", "layers", "must be a non-empty list of layer names"),
        ("pin: {factors: [1]}\n", "pin.factors", "must be a mapping of fields, got a list of 1 item(s)"),
        ("pin: {factors: {DRAM: 4}}\n", "pin.factors.DRAM", "must be a mapping of fields, got the number 4"),
        ("pin: {orders: {DRAM: [[K]]}}\n", "pin.orders.DRAM", "must list dims"),
    ],
)
def test_values_of_the_wrong_shape_are_refused(tmp_path, capsys, extra, where, expected):
    text = PROBLEM.replace("layers: [c1]\n", "") + (extra if extra.startswith("layers") else "layers: [c1]\n" + extra)
    refused(capsys, files(tmp_path, text), where, expected)
