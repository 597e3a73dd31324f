"""Shared by the verify tests: one real solve of a small bundled problem per
mode, the walk over a result's fields, and the verdict of ``fusesat verify``."""

from __future__ import annotations

import functools
import json

import pytest

import mapper.app.verify_baselines
import mapper.app.verify_file
import mapper.app.verify_tiled_details
import mapper.referee.tile_durations
import mapper.referee.verify
import mapper.referee.verify_taskgraph
import mapper.referee.verify_tiled
from mapper.app.cli import main
from mapper.app.verify_file import verify_result_file
from mapper.core.errors import SpecError
from mapper.io.library import library_root

PROBLEMS = {  # the smallest bundled problem of each mode
    "layer": "layer/resnet18_layer4_0_down.yaml",
    "fused": "fused/resnet18_layer1_0_block_array16x16.yaml",
    "fused_tiles": "fused/lenet5_c1_s2_tiles_eyeriss_like.yaml",  # fused mode in 2-D tiles
    "taskgraph": "taskgraph/lenet5_c1_s2_c3_array16x16.yaml",  # durations from its tiles' mappings
    "network": "network/lenet5_array32x32.yaml",
}


def no_claim(path: str) -> bool:
    """Fields that state nothing about the answer, which verify lists as unchecked:
    ``problem_file`` (where the problem is loaded from: every check is against that
    problem), ``explanation`` (free text), ``solver.*`` but ``factors`` (how the run
    went: its settings, effort, CP-SAT version and the signal that stopped it; the
    factor space is the problem's, and checked), the signal that stopped a network
    search and its budget (a setting of the run), and the ``seconds`` of network
    groups and candidates (wall time), and the counts of a tiled search's effort."""
    run_facts = ("problem_file", "explanation", "details.search.stopped_by", "details.search.time_budget_s")
    run_facts += ("details.search.configurations_solved", "details.search.nest_solves")
    run = path.startswith("solver.") and path != "solver.factors"  # the factor space is the problem's: checked
    return path in run_facts or run or path.endswith(".seconds")


def path_of(keys: tuple) -> str:
    text = ""
    for key in keys:
        text += f"[{key}]" if isinstance(key, int) else (f".{key}" if text else key)
    return text


def nodes(value, keys: tuple = (), containers: bool = False):
    """(keys, value) of every leaf (scalars, nulls, empty containers); with
    ``containers``, of every non-empty object and list too (the root excluded)."""
    if isinstance(value, (dict, list)) and value:
        if containers and keys:
            yield keys, value
        items = value.items() if isinstance(value, dict) else enumerate(value)
        for key, item in items:
            yield from nodes(item, (*keys, key), containers)
    else:
        yield keys, value


def changed_copy(result: dict, keys: tuple, value=None, delete: bool = False) -> dict:
    copy = json.loads(json.dumps(result))
    parent = copy
    for key in keys[:-1]:
        parent = parent[key]
    if delete:
        del parent[keys[-1]]
    else:
        parent[keys[-1]] = value
    return copy


def verdict(path) -> tuple[int, object]:
    """``fusesat verify``'s exit code without the table: 2 and the message for a
    malformed file, 1 and the report on a violation, 0 and the report otherwise."""
    try:
        report = verify_result_file(path)
    except SpecError as err:
        return 2, str(err)
    return (1 if report.violation else 0), report


def memo(function):
    """``function`` answering repeated calls from a cache (exceptions included)."""
    cache = {}

    @functools.wraps(function)
    def cached(*args, **kwargs):
        key = repr((args, sorted(kwargs.items())))
        if key not in cache:
            try:
                cache[key] = (True, function(*args, **kwargs))
            except Exception as err:  # noqa: BLE001 - a replay's violation is its answer too
                cache[key] = (False, err)
        ok, value = cache[key]
        if not ok:
            raise value
        return value

    return cached


PURE = [  # replays and problem loading: pure functions of their arguments
    (mapper.referee.verify, "replay_layer"),
    (mapper.referee.verify, "replay_fused"),
    (mapper.referee.verify_taskgraph, "replay_tasks"),
    (mapper.referee.tile_durations, "replay_layer"),
    (mapper.app.verify_baselines, "replay_fused"),
    (mapper.app.verify_baselines, "replay_tasks"),
    (mapper.referee.verify_tiled, "replay_tiled"),
    (mapper.app.verify_tiled_details, "replay_layer"),
    (mapper.app.verify_file, "load_problem"),
]


_RESULTS: dict = {}  # mode -> (result file, its JSON): solved once per test session


@pytest.fixture(scope="module")
def solved(tmp_path_factory):
    """mode -> (result file, its JSON), solved with one CP-SAT worker per solve and
    seed 0 on first use (once for all modules; a network problem with two workers,
    which network mode spends on two candidate solves at once, one worker each, so
    every solve is as reproducible as with one). While a module runs, the referee's replays and the
    problem loading answer repeated identical calls from a cache: hundreds of
    perturbed copies of one result replay the same mappings. Every copy still goes
    through the whole verify; a perturbed mapping or problem path is a new call."""
    with pytest.MonkeyPatch.context() as patch:
        for module, name in PURE:
            patch.setattr(module, name, memo(getattr(module, name)))

        def get(mode: str):
            if mode not in _RESULTS:
                path = tmp_path_factory.mktemp("solved") / f"{mode}.json"
                problem = library_root() / "problems" / PROBLEMS[mode]
                workers = "2" if mode == "network" else "1"  # network: two candidates at once, one worker each
                assert main(["solve", str(problem), "--workers", workers, "--seed", "0", "--json", str(path)]) == 0
                _RESULTS[mode] = (path, json.loads(path.read_text()))
            return _RESULTS[mode]

        yield get
