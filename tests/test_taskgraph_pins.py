"""Pinned task-graph decisions (a task on a cluster, an order between two tasks):
the pinned optimum equals brute force over the schedules that keep the pins, the
regret is the free problem's, and verify rejects a schedule that breaks a pin."""

from __future__ import annotations

import json
import random

import pytest
import yaml
from conftest import DETERMINISTIC
from test_taskgraph import semi_active_schedules, tiny_graph
from test_taskgraph_cli import taskgraph_problem

from formulations.taskgraph import TaskGraphModel
from mapper.app.cli import main
from mapper.core.taskgraph import TaskGraph
from mapper.cost.taskgraph import evaluate_schedule


def random_pins(graph: TaskGraph, rng: random.Random) -> dict:
    task = rng.choice(graph.tasks)
    free = [(u, v) for u in graph.tasks for v in graph.tasks if u != v and (v, u) not in graph.edges]
    return {"cluster": {task: rng.randrange(len(graph.processors))}, "before": [list(rng.choice(free))]}


def brute_force_pinned(graph: TaskGraph, pins: dict) -> int | None:
    """The least makespan over every semi-active schedule of the graph with each pinned
    order as one more edge (of no cost), on assignments that keep the cluster pins."""
    edges = dict(graph.edges)
    for u, v in pins["before"]:
        edges.setdefault((u, v), 0)
    ordered = TaskGraph(graph.tasks, graph.processors, graph.durations, edges, graph.memory)
    makespans = [
        evaluate_schedule(graph, s).makespan
        for s in semi_active_schedules(ordered)
        if all(s.processor[t] == p for t, p in pins["cluster"].items())
    ]
    return min(makespans, default=None)


@pytest.mark.parametrize("seed", range(10))
def test_pinned_makespan_equals_brute_force(seed):
    graph = tiny_graph(seed)
    pins = random_pins(graph, random.Random(seed))
    expected = brute_force_pinned(graph, pins)
    solution = TaskGraphModel(graph, "makespan", pins=pins).solve(DETERMINISTIC)
    if expected is None:  # the pinned order closes a cycle with the dependencies
        assert solution.status == "INFEASIBLE"
        return
    assert solution.status == "OPTIMAL" and solution.objective == solution.bound == expected
    schedule = solution.mapping
    assert all(schedule.processor[t] == p for t, p in pins["cluster"].items())
    assert all(schedule.start[v] >= schedule.end(graph, u) for u, v in pins["before"])


def pinned_problem(tmp_path, pin: dict, **section):
    path = taskgraph_problem(tmp_path, **section)
    data = yaml.safe_load(path.read_text())
    path.write_text(yaml.safe_dump({**data, "pin": pin}))
    return path


PIN = {"cluster": {"sum#0": 1, "sum#1": 1, "sum#2": 1}, "before": [["c1#1", "c1#0"]]}


def test_pins_are_kept_the_regret_is_certified_and_verified(tmp_path, capsys):
    out, free_out = tmp_path / "r.json", tmp_path / "free.json"
    assert main(["solve", str(taskgraph_problem(tmp_path)), "--json", str(free_out)]) == 0
    free = json.loads(free_out.read_text())
    assert main(["solve", str(pinned_problem(tmp_path, PIN)), "--json", str(out)]) == 0
    result = json.loads(out.read_text())
    schedule = result["mapping"]
    assert all(schedule[t]["processor"] == "cluster1" for t in ("sum#0", "sum#1", "sum#2"))
    assert schedule["c1#0"]["start"] >= schedule["c1#1"]["end"]
    regret = result["details"]["regret"]
    assert regret["certified"] and regret["free_makespan"] == free["metrics"]["makespan"]
    assert regret["makespan_regret"] == result["metrics"]["makespan"] - free["metrics"]["makespan"] > 0
    assert "makespan +" in capsys.readouterr().out
    assert main(["verify", str(out), "--functional"]) == 0
    assert "pin: c1#0 starts once c1#1 has ended" in capsys.readouterr().out


def test_a_schedule_that_breaks_a_pin_is_rejected(tmp_path, capsys):
    """The free optimum presented as the pinned problem's answer (with the regret it
    would state) fails the pin rows."""
    out = tmp_path / "r.json"
    assert main(["solve", str(taskgraph_problem(tmp_path)), "--json", str(out)]) == 0
    free = json.loads(out.read_text())
    assert free["mapping"]["c1#0"]["start"] < free["mapping"]["c1#1"]["end"]  # the free optimum breaks the order
    assert main(["solve", str(pinned_problem(tmp_path, PIN)), "--json", str(out)]) == 0  # the same problem file
    regret = json.loads(out.read_text())["details"]["regret"]
    out.write_text(json.dumps({**free, "details": {**free["details"], "regret": regret}}))
    capsys.readouterr()
    assert main(["verify", str(out)]) == 1
    assert "pin: c1#0 starts once c1#1 has ended" in capsys.readouterr().out


def test_pins_that_contradict_the_dependencies_are_infeasible(tmp_path, capsys):
    out = tmp_path / "r.json"
    assert main(["solve", str(pinned_problem(tmp_path, {"before": [["sum#0", "c1#0"]]})), "--json", str(out)]) == 3
    result = json.loads(out.read_text())
    assert result["status"] == "INFEASIBLE" and "pinned decisions cannot all hold" in result["explanation"]


@pytest.mark.parametrize(
    "pin,message",
    [
        ({"cluster": {"c9#0": 0}}, "pin.cluster.c9#0: 'c9#0' is not a task of this graph; name one of c1#0..c1#1"),
        ({"cluster": {"c1#2": 0}}, "pin.cluster.c1#2: 'c1#2' is not a task of this graph"),
        ({"cluster": {"c1#0": 2}}, "pin.cluster.c1#0: must be at most 1, got 2; use 0..1"),
        ({"before": [["c1#0"]]}, "pin.before[0]: must be two different tasks [u, v], got ['c1#0']"),
        ({"before": [["c1#0", "c1#0"]]}, "pin.before[0]: must be two different tasks"),
        ({"before": [["c1#0", "x"]]}, "pin.before[0]: 'x' is not a task of this graph"),
        ({"before": "c1#0"}, "pin.before: must be a list of [task, task] pairs"),
        ({"clusters": {}}, "pin.clusters"),
    ],
)
def test_bad_task_pins_are_one_line_errors(tmp_path, capsys, pin, message):
    assert main(["solve", str(pinned_problem(tmp_path, pin))]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1
