"""``fusesat verify`` on the tamperings of issue 17 (each rejected by the
check that owns the field) and on malformed files (one line naming the file
and the field, exit 2, no traceback)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from test_loading import problem_files
from verify_helpers import changed_copy, solved, verdict

from mapper.app.cli import main

__all__ = ["solved"]  # the module's fixture
ROOT = Path(__file__).resolve().parent.parent


def tampered(result, keys, change):
    value = result
    for key in keys:
        value = value[key]
    return changed_copy(result, keys, change(value) if callable(change) else change)


TAMPERED = [  # (mode, field, change, the check that must reject it)
    ("layer", ("metrics", "energy_pj"), lambda v: 2 * v, "energy_pj = energy_fj / 1000"),
    ("layer", ("metrics", "dram_bytes"), lambda v: v + 1, "dram_bytes = dram_words x 16 / 8"),
    ("layer", ("metrics", "utilisation"), lambda v: 2 * v, "utilisation = macs / (168 PEs x latency)"),
    ("layer", ("metrics", "used_pes"), 1000, "used_pes"),
    ("layer", ("metrics", "rf_occupancy_words"), lambda v: v + 1, "rf_occupancy_words = reserved RF tiles"),
    ("layer", ("metrics", "glb_occupancy_words"), lambda v: v + 1, "glb_occupancy_words = reserved GLB tiles"),
    ("layer", ("bound",), lambda v: v - 1, "status OPTIMAL: objective = bound"),
    ("layer", ("bound",), lambda v: v + 1, "bound <= objective"),
    ("layer", ("gap",), 0.5, "gap = (objective - bound)"),
    ("layer", ("status",), "FEASIBLE", "proven_optimal = (status OPTIMAL and objective = bound)"),
    ("layer", ("problem",), "resnet18_conv1", "problem = the problem file's name"),
    ("layer", ("layer",), "conv1", "layer = the problem's layers"),
    ("layer", ("accelerator",), "array16x16", "accelerator = the problem's"),
    ("layer", ("weights", "dram_words"), 2, "objective"),
    ("fused", ("details", "baseline_layer_by_layer", "dram_words"), lambda v: 10 * v, "baseline dram_words = sum"),
    (
        "fused",
        ("details", "baseline_layer_by_layer", "layers", 0, "latency_cycles"),
        lambda v: 10 * v,
        "baseline layer1_0_conv1: claimed latency_cycles (replayed)",
    ),
    ("fused", ("details", "reduction", "objective"), lambda v: v + 0.1, "reduction.objective = 1 - objective"),
    ("fused", ("metrics", "glb_breakdown", "weights"), lambda v: v + 1, "glb_breakdown.weights"),
    ("fused", ("metrics", "pipeline", "fill_cycles"), lambda v: v + 1, "pipeline.fill_cycles"),
    ("taskgraph", ("metrics", "memory_profile", 1, 1), lambda v: v + 1, "memory_profile"),
    ("taskgraph", ("details", "heuristics", 0, "makespan"), lambda v: 2 * v, "HEFT: makespan (re-run, replayed)"),
    ("taskgraph", ("objective",), lambda v: v - 1, "objective (lexicographic)"),
    (
        "network",
        ("details", "reduction_vs_layer_by_layer", "dram_words"),
        lambda v: v + 0.1,
        "reduction_vs_layer_by_layer.dram_words",
    ),
    (
        "network",
        ("details", "baselines", "layer_by_layer", "objective"),
        lambda v: 10 * v,
        "baselines.layer_by_layer.objective",
    ),
    ("network", ("metrics", "fused_groups"), lambda v: v + 1, "fused_groups"),
    (
        "network",
        ("details", "candidates", 0, "metrics", "dram_words"),
        lambda v: v + 1,
        "candidate C1: metrics (re-solved)",
    ),
    ("network", ("mapping", "groups", 0, "proven_optimal"), False, "proven_optimal = its candidate's"),
]


@pytest.mark.parametrize("mode,keys,change,check", TAMPERED, ids=lambda v: v if isinstance(v, str) else None)
def test_each_tampering_is_rejected_by_its_check(mode, keys, change, check, solved, tmp_path):
    _, result = solved(mode)
    copy = tmp_path / "tampered.json"
    copy.write_text(json.dumps(tampered(result, keys, change)))
    code, report = verdict(copy)
    assert code == 1, report
    assert check in report.violation


def bogus_order(result):
    result["mapping"]["orders"]["DRAM"][0] = "Z"


def repeated_dim(result):
    result["mapping"]["orders"]["GLB"][1] = result["mapping"]["orders"]["GLB"][0]


MALFORMED = [  # (mode, change, the start of the message after "file: ")
    ("layer", lambda r: r.pop("mapping"), "mapping: missing"),
    ("layer", lambda r: r.pop("metrics"), "metrics: missing"),
    ("layer", lambda r: r["metrics"]["dram_reads"].pop("W"), "metrics.dram_reads.W: missing"),
    ("layer", bogus_order, "mapping.orders.DRAM[0]: must be one of N, G, K, C, P, Q, R, S, got 'Z'"),
    ("layer", repeated_dim, "mapping.orders.GLB: must list each of N, G, K, C, P, Q, R, S once"),
    ("layer", lambda r: r["mapping"]["factors"]["DRAM"].update(X=1), "mapping.factors.DRAM.X: unknown dim"),
    ("layer", lambda r: r["metrics"].update(macs=-5), "metrics.macs: must be a non-negative integer, got -5"),
    ("layer", lambda r: r["metrics"].update(latency_cycles="fast"), "metrics.latency_cycles: must be a non-negative"),
    ("layer", lambda r: r.update(schema=99), "schema: schema 99 is not supported"),
    ("layer", lambda r: r["solver"].pop("seed"), "solver.seed: missing"),
    ("fused", lambda r: r["mapping"].update(policy="both"), "mapping.policy: must be one of"),
    ("fused", lambda r: r["mapping"]["spatial"].__setitem__(0, [16]), "mapping.spatial[0]: must list 2 entries"),
    (
        "fused",
        lambda r: r["details"]["baseline_layer_by_layer"]["layers"][1].pop("mapping"),
        "details.baseline_layer_by_layer.layers[1].mapping: missing",
    ),
    ("taskgraph", lambda r: r["mapping"].pop("C1#0"), "mapping.C1#0: missing"),
    ("taskgraph", lambda r: r["mapping"]["S2#1"].update(processor="gpu"), "mapping.S2#1.processor: must be one of"),
    (
        "network",
        lambda r: r["mapping"]["groups"][1]["layers"].__setitem__(0, "C9"),
        "mapping.groups[1].layers[0]: must be one of",
    ),
    ("network", lambda r: r["details"]["candidates"][3]["metrics"].pop("macs"), "details.candidates[3].metrics.macs"),
]


@pytest.mark.parametrize("mode,change,message", MALFORMED, ids=[m for _, _, m in MALFORMED])
def test_a_malformed_result_is_one_line_naming_file_and_field(mode, change, message, solved, tmp_path, capsys):
    _, result = solved(mode)
    copy = json.loads(json.dumps(result))
    change(copy)
    path = tmp_path / "malformed.json"
    path.write_text(json.dumps(copy))
    capsys.readouterr()
    assert main(["verify", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {path}: {message}") and err.count("\n") == 1, err


def test_not_json_not_an_object_and_a_missing_problem_are_one_line(solved, tmp_path, capsys):
    _, result = solved("layer")
    files = {"line 1: not valid JSON": "{", "<top>: must be a JSON object": "[1, 2]"}
    files["problem_file: its problem does not load"] = json.dumps({**result, "problem_file": "/no/such.yaml"})
    for message, text in files.items():
        path = tmp_path / "r.json"
        path.write_text(text)
        capsys.readouterr()
        assert main(["verify", str(path)]) == 2
        err = capsys.readouterr().err
        assert err.startswith(f"error: {path}: {message}") and err.count("\n") == 1, err


def test_the_cli_exits_2_without_a_traceback(solved, tmp_path):
    """The commands of the issue's report, as a user runs them."""
    _, result = solved("layer")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    for name, change in (("no_mapping", lambda r: r.pop("mapping")), ("bogus_order", bogus_order)):
        copy = json.loads(json.dumps(result))
        change(copy)
        path = tmp_path / f"{name}.json"
        path.write_text(json.dumps(copy))
        run = subprocess.run(
            [sys.executable, "-m", "mapper.app.cli", "verify", str(path)], capture_output=True, text=True, env=env
        )
        assert run.returncode == 2 and "Traceback" not in run.stderr, run.stderr
        assert run.stderr.startswith(f"error: {path}: mapping") and run.stderr.count("\n") == 1


def test_a_pinned_problems_regret_is_re_solved(tmp_path):
    """The regret of a pinned layer problem: its free problem re-solved (the pin forces K=4 at DRAM)."""
    pin = {"factors": {"DRAM": {"K": 4}}, "orders": {"DRAM": ["K", "P"]}}
    problem = problem_files(tmp_path, pin=pin, solver={"workers": 1, "seed": 0, "time_limit_s": 30})
    path = tmp_path / "r.json"
    assert main(["solve", str(problem), "--json", str(path)]) == 0
    result = json.loads(path.read_text())
    assert verdict(path)[0] == 0
    for key, value in result["details"]["regret"].items():
        if key == "pins":
            changed = {"factors": {"DRAM": {"K": 2}}}
        else:
            changed = (not value) if isinstance(value, bool) else value + 1
        copy = tmp_path / "tampered.json"
        copy.write_text(json.dumps(changed_copy(result, ("details", "regret", key), changed)))
        assert verdict(copy)[0] in (1, 2), key
