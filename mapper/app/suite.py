"""Suites: a suite file expands into jobs (docs/batch.md).

Each job is a problem mapping (what a problem YAML holds) with a stable id:
the hash of its canonical JSON and its base folder. Every field of the suite
is checked here, before any job runs: a wrong type is one ``SpecError`` line
naming the suite file and the field, never a traceback. Values a problem
file may hold (a GLB size, an objective) are checked when the job runs and
a bad one is stored as that job's ``BAD_INPUT``.
"""

from __future__ import annotations

import hashlib
import itertools
import json
from dataclasses import dataclass
from pathlib import Path

from mapper.core.enums import Mode
from mapper.core.errors import SpecError
from mapper.io.library import resolve_reference
from mapper.io.loading import load_network, parse_solver
from mapper.io.yaml_fields import Fields, read_yaml, show_value

SWEEP_KEYS = ("network", "accelerator", "glb_words", "pe_array", "objective")
OPTIONAL_AXES = ("glb_words", "pe_array", "objective")  # null: the problem's own value
MODES = tuple(mode.value for mode in Mode)


@dataclass(frozen=True)
class Job:
    job_id: str
    name: str
    spec: dict
    base: str  # folder that relative paths in the spec are resolved against


def canonical(spec: dict, source: str, field: str) -> str:
    """The spec as sorted JSON (dates and other YAML scalars as text)."""
    try:
        return json.dumps(spec, sort_keys=True, default=str)
    except (TypeError, ValueError) as err:  # keys of mixed types cannot be sorted
        raise SpecError(source, field, f"is not plain YAML data ({err})", "use text keys") from None


def _job(suite_dir: Path, spec: dict, source: str, field: str) -> Job:
    text = canonical(spec, source, field)
    job_id = hashlib.sha256(f"{suite_dir}|{text}".encode()).hexdigest()[:16]
    name = f"{spec.get('network')}:{layers_label(spec.get('layers'))}@{spec.get('accelerator')}"
    if spec.get("glb_words"):
        name += f"/glb{spec['glb_words']}"
    if spec.get("pe_array"):
        name += f"/pe{spec['pe_array'][0]}x{spec['pe_array'][1]}"
    return Job(job_id, name, spec, str(suite_dir))


def _is_names(value) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(v, str) and v for v in value)


def _layer_selection(f: Fields, network_name: str, suite_dir: Path, mode: str) -> list:
    """A sweep's ``layers``: 'conv' (every conv layer, one problem each), a list of
    names (one problem each in layer mode, one group in fused mode), or a list of groups."""
    if mode == Mode.NETWORK:
        value = f.raw("layers", None)  # None: the whole network; or {from: a, to: b}
        if value is not None and not isinstance(value, dict) and not _is_names(value):
            raise f.fail("layers", f"must be {{from: A, to: B}} or a list of layer names, got {show_value(value)}")
        return [value]
    value = f.raw("layers")
    if value == "conv":
        path = resolve_reference(network_name, suite_dir / "suite.yaml", "networks")
        if not path.exists():
            raise f.fail("network", f"{network_name!r} not found (looked at {path})", "name a bundled network")
        network = load_network(path)
        return [[name] for name, layer in network.layers.items() if layer.kind == "conv"]
    if isinstance(value, list) and value and all(_is_names(v) for v in value):
        return value
    if not _is_names(value):
        raise f.fail("layers", f"must be 'conv', a list of layer names or a list of groups, got {show_value(value)}")
    return [[v] for v in value] if mode == Mode.LAYER else [value]


def _axes(sweep: Fields) -> dict[str, list]:
    """Every swept field as a list of its values (one value: a list of one)."""
    axes = {}
    for key in SWEEP_KEYS:
        value = sweep.raw(key, None if key in OPTIONAL_AXES else ...)
        is_sweep = isinstance(value, list) and not (key == "pe_array" and value and isinstance(value[0], int))
        values = value if is_sweep else [value]
        if not values:
            raise sweep.fail(key, "is an empty list, so the sweep has no problems", "give at least one value")
        if key in ("network", "accelerator"):
            for i, item in enumerate(values):
                if not isinstance(item, str) or not item:
                    where = f"{key}[{i}]" if is_sweep else key
                    raise sweep.fail(where, f"must be a file or bundled name, got {show_value(item)}")
        axes[key] = values
    return axes


def _sweep_jobs(sweep: Fields, suite_dir: Path, solver: dict) -> list[Job]:
    sweep.reject_unknown({"mode", "layers", "fusion", "taskgraph", "partition", *SWEEP_KEYS})
    mode = sweep.text("mode", Mode.LAYER.value)  # text: the spec is a problem mapping, as in YAML
    if mode not in MODES:
        raise sweep.fail("mode", f"unknown mode {mode!r}", f"use one of {', '.join(MODES)}")
    axes = _axes(sweep)
    jobs = []
    for combo in itertools.product(*axes.values()):
        choice = dict(zip(axes, combo, strict=True))
        for layers in _layer_selection(sweep, choice["network"], suite_dir, mode):
            spec = {"mode": mode, "network": choice["network"], "accelerator": choice["accelerator"]}
            if layers is not None:
                spec["layers"] = layers
            for key in OPTIONAL_AXES:
                if choice[key] is not None:
                    spec[key] = choice[key]
            for key in ("fusion", "taskgraph", "partition"):
                if sweep.has(key):
                    spec[key] = sweep.raw(key)
            spec["solver"] = dict(solver)
            jobs.append(_job(suite_dir, spec, sweep.source, sweep.path))
    return jobs


def _problem_job(top: Fields, i: int, item, suite_dir: Path, solver: dict) -> Job:
    field = f"problems[{i}]"
    if not isinstance(item, str) or not item:
        raise top.fail(field, f"must be a problem file path, got {show_value(item)}")
    problem_path = (suite_dir / item).resolve()
    if not problem_path.is_file():
        raise top.fail(field, f"no problem file {item!r} (looked at {problem_path})", "check the path")
    spec = read_yaml(problem_path)
    if not isinstance(spec, dict):
        raise top.fail(field, f"{item} is not a problem mapping")
    own = spec.get("solver", {})
    # the suite's settings win; a solver: that is no mapping is the job's BAD_INPUT
    spec = {**spec, "solver": {**own, **solver} if isinstance(own, dict) else own}
    job = _job(problem_path.parent, spec, str(problem_path), "<top>")
    return Job(job.job_id, item, spec, str(problem_path.parent))


def load_suite(path: Path | str) -> tuple[str, list[Job]]:
    """Expand a suite file into jobs (see docs/batch.md)."""
    path = Path(path)
    top = Fields(read_yaml(path), str(path), "")
    top.reject_unknown({"name", "solver", "problems", "sweeps", "description"})
    name = top.text("name", path.stem)
    if top.has("description") and not isinstance(top.raw("description"), str):
        raise top.fail("description", f"must be text, got {show_value(top.raw('description'))}")
    suite_dir = path.resolve().parent
    solver = top.sub("solver", {})
    parse_solver(solver)  # before any job runs: each job would be BAD_INPUT
    problems, sweeps = top.raw("problems", []), top.raw("sweeps", [])
    if not isinstance(problems, list):
        raise top.fail("problems", f"must be a list of problem files, got {show_value(problems)}")
    if not isinstance(sweeps, list):
        raise top.fail("sweeps", f"must be a list of sweeps, got {show_value(sweeps)}")
    jobs = [_problem_job(top, i, item, suite_dir, solver.data) for i, item in enumerate(problems)]
    for i, sweep in enumerate(sweeps):
        jobs += _sweep_jobs(Fields(sweep, str(path), f"sweeps[{i}]"), suite_dir, solver.data)
    if not jobs:
        raise top.fail("problems", "the suite has no problems", "add problems: or sweeps:")
    return name, jobs


def layers_label(layers) -> str:
    """'a+b' for a list, 'a..b' for a network range, 'all' for a whole network."""
    if layers is None:
        return "all"
    if isinstance(layers, dict):
        return f"{layers.get('from', '')}..{layers.get('to', '')}"
    return "+".join(str(layer) for layer in layers)
