"""Task-graph mode end to end through the CLI, and its input errors."""

from __future__ import annotations

import json

from test_fused_cli import NET
from test_loading import write

from mapper.app.cli import main


def taskgraph_problem(tmp_path, **section):
    write(tmp_path, "net.yaml", NET)
    spec = {
        "slicing": {"c1": {"rows": 2}, "c2": {"rows": 2}, "sum": {"rows": 3}},
        "platform": {"clusters": [[1, 2], [2, 1]]},
        "objective": "lexicographic",
    }
    spec.update(section)
    data = {
        "mode": "taskgraph",
        "network": "net.yaml",
        "layers": ["c1", "c2", "sum"],
        "taskgraph": spec,
        "solver": {"workers": 1, "seed": 0, "time_limit_s": 30},
    }
    return write(tmp_path, "p.yaml", data)


def test_taskgraph_solve_compares_heuristics_and_verifies(tmp_path, capsys):
    out = tmp_path / "r.json"
    assert main(["solve", str(taskgraph_problem(tmp_path)), "--json", str(out)]) == 0
    result = json.loads(out.read_text())
    assert result["mode"] == "taskgraph" and result["proven_optimal"]
    methods = {row["method"]: row for row in result["details"]["heuristics"]}
    assert {"HEFT", "layer-by-layer", "memory-aware HEFT"} <= set(methods)
    assert "CP-SAT vs heuristics" in capsys.readouterr().out
    assert main(["verify", str(out), "--functional"]) == 0
    assert "every claimed metric equals the measured one" in capsys.readouterr().out


def test_memory_cap_is_honoured(tmp_path):
    out = tmp_path / "r.json"
    assert main(["solve", str(taskgraph_problem(tmp_path, objective="makespan")), "--json", str(out)]) == 0
    free = json.loads(out.read_text())["metrics"]
    capped = taskgraph_problem(tmp_path, objective="makespan", memory_cap=free["peak_memory_words"] - 1)
    code = main(["solve", str(capped), "--json", str(out)])
    result = json.loads(out.read_text())
    assert code == 3 or result["metrics"]["peak_memory_words"] < free["peak_memory_words"]


def test_taskgraph_errors_are_one_line(tmp_path, capsys):
    assert main(["solve", str(taskgraph_problem(tmp_path, objective="fastest"))]) == 2
    assert "taskgraph.objective: unknown objective 'fastest'" in capsys.readouterr().err
    assert main(["solve", str(taskgraph_problem(tmp_path, slicing={"c9": {"rows": 2}}))]) == 2
    assert "taskgraph.slicing.c9: is not a layer of this problem" in capsys.readouterr().err
    assert main(["solve", str(taskgraph_problem(tmp_path, platform={"clusters": [[0, 2]]}))]) == 2
    assert "must be a positive integer, got 0" in capsys.readouterr().err


def test_pareto_points_are_non_dominated_and_certified(tmp_path, capsys):
    out = tmp_path / "front.json"
    three_rows = {"c1": {"rows": 3}, "c2": {"rows": 3}, "sum": {"rows": 3}}  # a graph with a real trade-off
    assert main(["pareto", str(taskgraph_problem(tmp_path, slicing=three_rows)), "--json", str(out)]) == 0
    points = json.loads(out.read_text())["points"]
    assert len(points) >= 2 and all(p["certified"] for p in points)
    for a, b in zip(points, points[1:], strict=False):
        assert a["makespan"] < b["makespan"] and a["peak_memory_words"] > b["peak_memory_words"]
    assert "Makespan vs peak memory" in capsys.readouterr().out
