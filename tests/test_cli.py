"""The CLI end to end: exit codes, JSON, one-line errors."""

from __future__ import annotations

import json

import yaml
from test_loading import ACC, problem_files, write

from mapper.app.cli import main


def test_solve_writes_certified_json(tmp_path, capsys):
    path = problem_files(tmp_path, solver={"workers": 1, "seed": 0, "time_limit_s": 30})
    out = tmp_path / "r.json"
    assert main(["solve", str(path), "--json", str(out)]) == 0
    result = json.loads(out.read_text())
    assert result["status"] == "OPTIMAL" and result["proven_optimal"] is True
    assert result["objective"] == result["bound"]
    metrics = result["metrics"]
    assert result["objective"] == metrics["latency_cycles"] + metrics["dram_words"]
    assert "Loop nest" in capsys.readouterr().out


def test_bad_input_exits_2_with_one_line(tmp_path, capsys):
    path = problem_files(tmp_path, layers=["c9"])
    assert main(["solve", str(path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "layers[0]: no layer 'c9'" in err


def test_undersized_glb_exits_3_and_names_the_fix(tmp_path):
    path = problem_files(tmp_path)
    acc = yaml.safe_load(yaml.safe_dump(ACC))
    acc["levels"]["GLB"]["capacity_words"] = 2  # one MAC needs W+I+O = 3 words, 5 with the inputs double-buffered
    write(tmp_path, "acc.yaml", acc)
    out = tmp_path / "r.json"
    assert main(["solve", str(path), "--json", str(out)]) == 3
    explanation = json.loads(out.read_text())["explanation"]
    assert "need 5 GLB words" in explanation and "raise it to 5" in explanation


def test_compare_lists_methods_with_gaps(tmp_path):
    out = tmp_path / "c.json"
    assert (
        main(["compare", str(problem_files(tmp_path, solver={"workers": 1, "time_limit_s": 30})), "--json", str(out)])
        == 0
    )
    report = json.loads(out.read_text())
    methods = [row["method"] for row in report["rows"]]
    assert methods[0] == "CP-SAT" and any(m.startswith("random sampling") for m in methods)
    assert report["proven_optimal"] and report["rows"][0]["gap_to_bound"] == 0
    assert all(row["gap_to_bound"] >= 0 for row in report["rows"])


def test_pinned_layer_decisions_are_kept_and_their_regret_reported(tmp_path):
    out = tmp_path / "r.json"
    pin = {"factors": {"DRAM": {"K": 4}}, "orders": {"DRAM": ["K", "P"]}}
    path = problem_files(tmp_path, pin=pin, solver={"workers": 1, "seed": 0, "time_limit_s": 30})
    assert main(["solve", str(path), "--json", str(out)]) == 0
    result = json.loads(out.read_text())
    assert result["mapping"]["factors"]["DRAM"]["K"] == 4
    regret = result["details"]["regret"]
    assert regret["certified"] and regret["regret"] == result["objective"] - regret["free_objective"] >= 0


def test_a_layer_answer_that_breaks_a_pin_is_rejected(tmp_path, capsys):
    """The free optimum (whose DRAM K factor is not the pinned 4) presented as the pinned
    problem's answer, with the regret the pinned solve states: the pin row fails."""
    out, solver = tmp_path / "r.json", {"workers": 1, "seed": 0, "time_limit_s": 30}
    assert main(["solve", str(problem_files(tmp_path, solver=solver)), "--json", str(out)]) == 0
    free = json.loads(out.read_text())
    assert free["mapping"]["factors"]["DRAM"]["K"] != 4
    pin = {"factors": {"DRAM": {"K": 4}}}
    assert main(["solve", str(problem_files(tmp_path, pin=pin, solver=solver)), "--json", str(out)]) == 0
    regret = json.loads(out.read_text())["details"]["regret"]
    out.write_text(json.dumps({**free, "details": {**free["details"], "regret": regret}}))
    capsys.readouterr()
    assert main(["verify", str(out)]) == 1
    assert "pin: DRAM factor of K" in capsys.readouterr().out


def test_bad_pins_are_one_line_errors(tmp_path, capsys):
    assert main(["solve", str(problem_files(tmp_path, pin={"factors": {"RF": {"K": 3}}}))]) == 2
    assert "pin.factors.RF.K: 3 does not divide K=4; use a divisor" in capsys.readouterr().err
    assert main(["solve", str(problem_files(tmp_path, pin={"factors": {"L2": {"K": 2}}}))]) == 2
    assert "pin.factors.L2: unknown loop level" in capsys.readouterr().err
