"""``fusesat verify`` checks every fact a result states: for a real result of
each mode, every field changed on its own is rejected (exit 1 or 2), except
the few that carry no claim, which verify lists as unchecked; random
deletions and mutations exit 1 or 2 with one line, never a traceback."""

from __future__ import annotations

import json
import math

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from verify_helpers import PROBLEMS, changed_copy, no_claim, nodes, path_of, solved, verdict

from mapper.app.cli import main
from mapper.io.loading import load_problem

__all__ = ["solved"]  # the module's fixture

# A valid other value for the strings that have one (every string is also changed to s + "~").
# No cluster names: a task moved to an identical idle cluster states nothing false (see below).
ALTERNATIVE = {
    "OPTIMAL": "FEASIBLE",
    "FEASIBLE": "OPTIMAL",
    "time_shared": "partitioned",
    "partitioned": "time_shared",
    "layer": "fused",
    "fused": "layer",
    "lexicographic": "makespan",
    "HEFT": "layer-by-layer",
    "layer-by-layer": "HEFT",
    "memory-aware HEFT": "HEFT",
}


def perturbations(value) -> list:
    """Numbers + 1, booleans flipped, strings changed (and swapped for a valid
    other value where there is one), nulls set to 0, empty containers filled."""
    if isinstance(value, bool):
        return [not value]
    if isinstance(value, (int, float)):
        return [value + 1]
    if isinstance(value, str):
        return [value + "~"] + ([ALTERNATIVE[value]] if value in ALTERNATIVE else [])
    if value is None:
        return [0]
    return [{"x": 1}] if isinstance(value, dict) else [0]


@pytest.mark.parametrize("mode", PROBLEMS)
def test_the_solved_result_verifies_and_lists_only_the_no_claim_fields(mode, solved):
    path, result = solved(mode)
    code, report = verdict(path)
    assert code == 0, report if code == 2 else report.violation
    listed = set(report.unchecked_fields)
    expected = {path_of(keys) for keys, _ in nodes(result) if no_claim(path_of(keys))}
    assert listed == expected
    assert len(report.checks) >= {"layer": 25, "fused": 60, "fused_tiles": 60, "taskgraph": 35, "network": 300}[mode]


@pytest.mark.parametrize("mode", PROBLEMS)
def test_every_field_changed_alone_is_rejected(mode, solved, tmp_path):
    _, result = solved(mode)
    survivors, tried = [], 0
    for keys, value in nodes(result):
        path = path_of(keys)
        if no_claim(path):
            continue
        for new in perturbations(value):
            copy = tmp_path / "tampered.json"
            copy.write_text(json.dumps(changed_copy(result, keys, new)))
            code, _ = verdict(copy)
            tried += 1
            if code not in (1, 2):
                survivors.append(f"{path}: {value!r} -> {new!r}")
    assert survivors == []
    assert tried >= {"layer": 80, "fused": 90, "fused_tiles": 90, "taskgraph": 70, "network": 700}[mode]


def test_a_task_moved_to_an_identical_idle_cluster_is_another_valid_schedule(solved, tmp_path):
    """verify checks what a result states, not that it is the solver's own answer:
    a task moved to a cluster of the same shape that is idle over the task's
    interval changes no stated number and is accepted; moved onto a busy
    cluster, it is rejected."""
    _, result = solved("taskgraph")
    clusters = load_problem(result["problem_file"]).taskgraph.platform.clusters
    shape = {f"cluster{i}": tuple(c) for i, c in enumerate(clusters)}
    tasks = result["mapping"]
    moves = {True: None, False: None}  # idle -> a (task, cluster) move
    for task, slot in tasks.items():
        for cluster in shape:
            if cluster == slot["processor"] or shape[cluster] != shape[slot["processor"]]:
                continue
            overlap = [
                t
                for t, s in tasks.items()
                if s["processor"] == cluster and s["start"] < slot["end"] and slot["start"] < s["end"]
            ]
            moves[not overlap] = moves[not overlap] or (task, cluster)
    if None in moves.values():
        pytest.skip("the schedule has no such pair of moves")
    for idle, (task, cluster) in moves.items():
        copy = tmp_path / "moved.json"
        copy.write_text(json.dumps(changed_copy(result, ("mapping", task, "processor"), cluster)))
        assert verdict(copy)[0] == (0 if idle else 1), (task, cluster)


JSON_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**20), max_value=10**20),
    st.floats(),
    st.text(max_size=6),
    st.lists(st.integers(min_value=-3, max_value=3), max_size=3),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)


def changed(old, new) -> bool:
    """False for a replacement equal to the old value (1 for 1.0 too; JSON has one number type)."""
    numbers = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (old, new))
    if numbers:
        return not (old == new or (math.isnan(old) and math.isnan(new)))
    return json.dumps(old, sort_keys=True) != json.dumps(new, sort_keys=True)


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_random_deletions_and_mutations_exit_1_or_2_without_a_traceback(solved, tmp_path, capsys, data):
    mode = data.draw(st.sampled_from(sorted(PROBLEMS)), label="mode")
    _, result = solved(mode)
    keys, old = data.draw(st.sampled_from(list(nodes(result, containers=True))), label="field")
    path = path_of(keys)
    if data.draw(st.booleans(), label="delete"):
        copy = changed_copy(result, keys, delete=True)
    else:
        assume(not no_claim(path))  # their values state nothing; their deletion is still refused
        new = data.draw(JSON_VALUES, label="new value")
        assume(changed(old, new))
        copy = changed_copy(result, keys, new)
    file = tmp_path / "mutated.json"
    file.write_text(json.dumps(copy))
    capsys.readouterr()
    code = main(["verify", str(file)])  # an exception other than a refusal would fail the test here
    err = capsys.readouterr().err
    assert code in (1, 2), path
    if code == 2:
        assert err.startswith(f"error: {file}: ") and err.count("\n") == 1, err
