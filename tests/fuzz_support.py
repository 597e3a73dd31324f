"""The machinery of tests/test_fuzz.py: mutations of the bundled files, the
problems that load a mutated file, and an in-process ``fusesat solve`` runner."""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import io
import json
import math
import re
import signal
import traceback
from pathlib import Path

import yaml

from mapper.app import cli, modes
from mapper.core.spec import MAPPABLE_KINDS
from mapper.io import loading
from mapper.io.library import library_root
from mapper.io.loading import load_problem
from mapper.io.yaml_reader import read_yaml

LIB = library_root()
SOURCES = sorted(
    p.relative_to(LIB).as_posix()
    for folder in ("problems", "accelerators", "networks")
    for p in (LIB / folder).rglob("*.yaml")
)
PER_LEAF = 3  # mutations of every leaf field
CASE_SECONDS = 60  # SIGALRM bound of one in-process case
FAST = ["--time-limit", "0.1", "--workers", "1"]  # in-process solves
DELETE = object()
LONG = "x" * 10_000
COUNT = {"cases": 0, "solved": 0}


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


# --------------------------------------------------------------------------- the files of one case


ORIGINAL = {source: floats(yaml.safe_load((LIB / source).read_text())) for source in SOURCES}


def mapped_layer(source: str, mutated, path) -> str:
    """The layer a wrapper problem maps for a mutated network: the mutated one,
    or the first mappable one at or after it (by its mutated name if still a name)."""
    layers = ORIGINAL[source]["layers"]
    start = path[1] if len(path) > 1 and path[0] == "layers" and isinstance(path[1], int) else 0
    index = next((i for i in range(start, len(layers)) if layers[i]["kind"] in MAPPABLE_KINDS), 0)
    with contextlib.suppress(KeyError, IndexError, TypeError):
        if isinstance(mutated["layers"][index]["name"], str):
            return mutated["layers"][index]["name"]
    return layers[index]["name"]


def case_files(source: str, mutated, path) -> list[tuple[str, dict[str, object]]]:
    """(wrapper mode, {file name: data}) of the problems that load the mutated
    file (the problem itself; a lenet5 layer and fused problem for an accelerator;
    a layer problem for a network); other names resolve to the bundled files."""
    folder, name = source.split("/")[0], source.split("/")[-1]
    if folder == "problems":
        return [("", {name: mutated})]
    if folder == "accelerators":
        base = {"network": "lenet5", "accelerator": "acc.yaml", "objective": {"latency": 1, "dram_words": 1}}
        return [
            (mode, {"acc.yaml": mutated, "p.yaml": {"mode": mode, "layers": layers, **base}})
            for mode, layers in (("layer", ["C3"]), ("fused", ["C1", "S2"]))
        ]
    problem = {"mode": "layer", "network": "net.yaml", "accelerator": "eyeriss_like"}
    return [("layer", {"net.yaml": mutated, "p.yaml": {**problem, "layers": [mapped_layer(source, mutated, path)]}})]


# --------------------------------------------------------------------------- running the CLI in-process


class Skipped(Exception):
    """A loaded problem the sweep does not solve (seen before, or over the file's solve budget)."""


class Hang(Exception):
    pass


def fingerprint(problem) -> str:
    """What a solve depends on, without names and paths."""
    layers = [(l.kind, l.bounds, l.stride, l.dilation, l.padding, l.input_hw) for l in problem.layers]  # noqa: E741
    acc = problem.accelerator and dataclasses.replace(problem.accelerator, name="")
    rest = (problem.objective, problem.solver, problem.fusion_policy, problem.taskgraph, problem.pins)
    return repr((problem.mode, layers, acc, rest, problem.partition))


class Sweep:
    """Runs ``fusesat solve`` in-process; solves each new loadable problem up to the budget."""

    def __init__(self, monkeypatch, budget: int):
        self.seen, self.budget, self.solves = set(), budget, 0
        parser = cli.build_parser()  # argparse is rebuilt by every main(); one parser serves every case
        monkeypatch.setattr(cli, "build_parser", lambda: parser)
        monkeypatch.setattr(loading, "read_yaml", self.read)  # bundled files are read once, mutated copies always
        self.bundled: dict[Path, object] = {}
        for mode, handlers in list(modes.MODES.items()):
            monkeypatch.setitem(modes.MODES, mode, dataclasses.replace(handlers, solve=self.solver(handlers.solve)))
        self.previous = signal.signal(signal.SIGALRM, self.alarm)

    def read(self, path):
        path = Path(path)
        if not path.is_relative_to(LIB):
            return read_yaml(path)
        if path not in self.bundled:
            self.bundled[path] = read_yaml(path)
        return copy.deepcopy(self.bundled[path])

    @staticmethod
    def alarm(signum, frame):
        raise Hang(f"no answer within {CASE_SECONDS} s")

    def solver(self, solve):
        def bounded(problem, settings=None):
            key = fingerprint(problem)
            large_network = problem.mode.value == "network" and problem.network.name != "lenet5"
            if key in self.seen or self.solves >= self.budget or large_network:
                raise Skipped
            self.seen.add(key)
            self.solves += 1
            COUNT["solved"] += 1
            return solve(problem, settings)

        return bounded

    def close(self):
        signal.signal(signal.SIGALRM, self.previous)

    def seen_already(self, folder: Path, files: dict[str, object]) -> None:
        """Count the unchanged problem as solved: other tests solve the bundled files."""
        self.seen.add(fingerprint(load_problem(write(folder, files))))

    def run(self, folder: Path, files: dict[str, object], label: str) -> str | None:
        """A failure description, or None when the case behaved."""
        target = write(folder, files)
        out, err = io.StringIO(), io.StringIO()
        COUNT["cases"] += 1
        signal.alarm(CASE_SECONDS)
        try:
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                code = cli.main(["solve", str(target), *FAST])
        except Skipped:
            return None
        except BaseException:  # noqa: BLE001 - every escape from main is the bug this test looks for
            return f"{label}: raised\n{traceback.format_exc()}"
        finally:
            signal.alarm(0)
        return verdict(label, code, out.getvalue(), err.getvalue())


def verdict(label: str, code, out: str, err: str) -> str | None:
    """None if ``fusesat solve`` exited 0/2/3/4 without a traceback and a refusal is one named line."""
    if code not in (0, 2, 3, 4) or "Traceback" in out + err:
        return f"{label}: exit {code}\n{err[-3000:]}"
    if code == 2 and not (err.startswith("error: ") and err.count("\n") == 1 and ".yaml" in err):
        return f"{label}: exit 2 but not one error line naming a file\n{err[-3000:]}"
    return None


def sweep_source(sweep: Sweep, tmp: Path, source: str, changes_list) -> list[str]:
    failures = []
    for label, changes in changes_list:
        mutated = apply(ORIGINAL[source], changes)
        for mode, files in case_files(source, mutated, changes[0][0]):
            failures.append(sweep.run(tmp, files, f"{source}:{label}" + (f" ({mode} problem)" if mode else "")))
    return [f for f in failures if f]
