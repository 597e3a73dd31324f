"""Mutations of YAML data for tests/test_fuzz.py: every leaf replaced by other
types, extreme numbers and odd strings, or deleted; unknown keys and duplicated
list elements; and fast writing of the result as YAML."""

from __future__ import annotations

import contextlib
import copy
import json
import math
import re
from pathlib import Path

import yaml

PER_LEAF = 3  # mutations of every leaf field
DELETE = object()
LONG = "x" * 10_000


# --------------------------------------------------------------------------- mutations


class Float:
    """A float as YAML writes it (``.nan``, ``1.0e-300``), which JSON cannot."""

    def __init__(self, value: float):
        self.value, self.text = value, yaml.safe_dump(value).split("\n")[0]


def floats(data):
    """``data`` with every float a ``Float``."""
    if isinstance(data, float):
        return Float(data)
    if isinstance(data, list):
        return [floats(v) for v in data]
    return {k: floats(v) for k, v in data.items()} if isinstance(data, dict) else data


def dumps(data) -> str:
    """YAML: JSON with the floats as YAML writes them and astral characters as \\U escapes (yaml.dump is 30x slower)."""
    raw = []

    def token(value: Float) -> str:
        raw.append(value.text)
        return f"\0RAW{len(raw) - 1}\0"

    def astral(m) -> str:
        high, low = int(m[1], 16), int(m[2], 16)
        return f"\\U{0x10000 + (high - 0xD800) * 0x400 + low - 0xDC00:08x}"

    text = re.sub(r'"\\u0000RAW(\d+)\\u0000"', lambda m: raw[int(m[1])], json.dumps(data, default=token))
    return re.sub(r"\\u(d[89ab][0-9a-f]{2})\\u(d[c-f][0-9a-f]{2})", astral, text)


def write(folder: Path, files: dict[str, object]) -> Path:
    """The case's files in ``folder``; the problem's path."""
    for name, data in files.items():
        (folder / name).write_text(dumps(data))
    return folder / ("p.yaml" if "p.yaml" in files else next(iter(files)))


def leaves(data, path=()):
    """(path, value) of every scalar and empty container below ``data``."""
    items = data.items() if isinstance(data, dict) else enumerate(data) if isinstance(data, list) else ()
    items = list(items)
    if not items:
        yield path, data
    for key, value in items:
        yield from leaves(value, (*path, key))


def containers(data, path=()):
    if isinstance(data, (dict, list)):
        yield path, data
        for key, value in data.items() if isinstance(data, dict) else enumerate(data):
            yield from containers(value, (*path, key))


def replacements(v) -> list[tuple[str, object]]:
    """Kinds of replacement for a leaf of ``v``'s type, rotated over the leaves."""
    v = v.value if isinstance(v, Float) else v
    if isinstance(v, bool):
        return [("toggle", not v), ("int", 1), ("str", "true"), ("null", None), ("delete", DELETE), ("list", [v])]
    if isinstance(v, (int, float)):
        return [
            ("zero", 0), ("negative", -abs(v) or -1), ("huge", 10**30), ("2**63", 2**63), ("float", v + 0.5),
            ("nan", math.nan), ("inf", math.inf), ("numeric string", str(v)), ("null", None), ("bool", True),
            ("list", [v, v]), ("dict", {"value": v}), ("delete", DELETE), ("long string", LONG),
            ("tiny", 1e-300), ("x1000", v * 1000 + 1), ("-inf", -math.inf), ("x7", v * 7),
        ]  # fmt: skip
    if isinstance(v, str):
        return [
            ("empty", ""), ("long", LONG), ("int", 7), ("null", None), ("list", [v, v]), ("dict", {v: 1}),
            ("bool", False), ("delete", DELETE), ("unknown", "nosuch"), ("unicode", "ünï ✓\u202e\u0085"),
            ("relative path", f"../../{v}.yaml"), ("float", 1.5), ("NUL", f"{v}\x00"), ("absolute", "/"),
        ]  # fmt: skip
    return [("str", "fuzz"), ("int", 3), ("null", None), ("delete", DELETE), ("nan", math.nan)]


def mutations(data) -> list[tuple[str, tuple, object]]:
    """(label, path, new value) for every leaf (PER_LEAF each), mapping and list of ``data``."""
    found = []
    for i, (path, value) in enumerate(p for p in leaves(data) if p[0]):
        kinds = replacements(value)
        for j in range(PER_LEAF):
            name, new = kinds[(i * PER_LEAF + j) % len(kinds)]
            found.append((f"{'.'.join(map(str, path))}={name}", path, new))
    for i, (path, node) in enumerate(containers(data)):
        where = ".".join(map(str, path)) or "<top>"
        if isinstance(node, dict):
            found.append((f"{where}+unknown key", (*path, "fuzz_unknown"), 1))
            if path:
                name, new = [("delete", DELETE), ("scalar", 5), ("list", [node])][i % 3]
                found.append((f"{where}={name}", path, new))
        elif node:
            found.append((f"{where}+duplicate", path, node + node[-1:]))
            if path and i % 2:
                found.append((f"{where}=empty", path, []))
    return found


def apply(data, changes):
    """A deep copy of ``data`` with every (path, value) that still has a parent set."""
    data = copy.deepcopy(data)
    for path, value in changes:
        node = data
        with contextlib.suppress(KeyError, IndexError, TypeError):
            for key in path[:-1]:
                node = node[key]
            if value is DELETE:
                del node[path[-1]]
            elif isinstance(node, dict) or (isinstance(node, list) and path[-1] < len(node)):
                node[path[-1]] = floats(value)
    return data
