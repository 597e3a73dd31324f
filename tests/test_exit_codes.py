"""Exit codes and statuses when solves are cut short: 2 is bad input (CP-SAT's
MODEL_INVALID included), 3 proven infeasible, 4 only "no solution within the
time limit"; a stop request (mapper.core.stop) ends every loop of solves with
the answers it has and never claims more than it proved."""

from __future__ import annotations

import _thread
import json
import signal
import threading

import pytest
import yaml
from test_fused_cli import fused_problem
from test_loading import LIBRARY, problem_files
from test_network import write_problem
from test_signals import HARD_TASK_GRAPH, assert_valid_partition

from formulations import solution as solution_module
from formulations.taskgraph import TaskGraphModel
from mapper.app import signals
from mapper.app.cli import main
from mapper.core import stop
from mapper.core.enums import Status
from mapper.cost.taskgraph_builder import problem_graph
from mapper.heuristics.heft import heft
from mapper.io.loading import load_problem
from mapper.solve import candidates

TINY_DETERMINISTIC = {"time_limit_s": 30, "workers": 1, "seed": 0, "deterministic_time": 0.0001}
SUB_NETWORK = {"from": "b2_conv1", "to": "b2_add"}  # four layers of tests/data/network, an add among them


@pytest.fixture(autouse=True)
def no_stop_left():
    yield
    stop.clear()


def task_graph(tmp_path, **fields):
    data = yaml.safe_load(yaml.safe_dump(HARD_TASK_GRAPH))
    data["taskgraph"].update(fields.pop("taskgraph", {}))
    data.update(fields)
    path = tmp_path / "tg.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


@pytest.mark.parametrize("kind", ["fused", "taskgraph"])
def test_a_pareto_sweep_whose_first_point_times_out_is_exit_4_not_infeasible(tmp_path, capsys, kind):
    make = fused_problem if kind == "fused" else task_graph
    path = make(tmp_path, solver=TINY_DETERMINISTIC)
    out = tmp_path / "front.json"
    assert main(["pareto", str(path), "--json", str(out)]) == 4
    assert "no point: no solution within the time limit" in capsys.readouterr().err
    front = json.loads(out.read_text())
    assert front["points"] == [] and front["complete"] is False and front["stopped_by"] is None


def test_a_pareto_sweep_of_an_infeasible_problem_is_exit_3(tmp_path, capsys):
    path = task_graph(tmp_path, taskgraph={"memory_cap": 1}, solver={**HARD_TASK_GRAPH["solver"], "time_limit_s": 30})
    assert main(["pareto", str(path)]) == 3
    assert "no point: the problem is infeasible" in capsys.readouterr().err


def test_a_network_search_cut_by_its_time_limit_returns_a_partition_with_fallbacks(tmp_path):
    """An add whose solve found nothing was 'infeasible' (exit 3); now it takes
    a fallback mapping and the partition is FEASIBLE with its gap."""
    path = write_problem(tmp_path, layers=SUB_NETWORK, solver=TINY_DETERMINISTIC)
    out = tmp_path / "r.json"
    assert main(["solve", str(path), "--json", str(out)]) == 0
    result = json.loads(out.read_text())
    assert result["status"] == "FEASIBLE" and result["gap"] > 0 and result["details"]["search"]["fallback"] >= 1
    assert_valid_partition(result, path)


def test_a_network_search_without_any_mapping_is_exit_4_not_infeasible(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(candidates, "fallback_mappings", lambda model, layers, accelerator, weights: [])
    path = write_problem(tmp_path, layers=SUB_NETWORK, solver=TINY_DETERMINISTIC)
    out = tmp_path / "r.json"
    assert main(["solve", str(path), "--json", str(out)]) == 4
    result = json.loads(out.read_text())
    assert result["status"] == "UNKNOWN" and result["mapping"] is None and result["bound"] > 0
    assert "no partition with a mapping for every group: the time limit came first" in result["explanation"]


def test_model_invalid_in_a_network_group_is_exit_2_naming_it(tmp_path, capsys, monkeypatch):
    """Was reported as 'infeasible'."""
    solve_group = candidates.solve_group

    def refused(group, accelerator, weights, settings, *rest):
        if len(group.layers) == 1:
            return solve_group(group, accelerator, weights, settings, *rest)
        solution, _ = solve_group(group, accelerator, weights, settings, *rest)
        return solution_module.Solution(Status.MODEL_INVALID.value, None, None, None, solution.facts), None

    monkeypatch.setattr(candidates, "solve_group", refused)
    path = write_problem(tmp_path, layers=SUB_NETWORK, solver={**TINY_DETERMINISTIC, "deterministic_time": 30})
    assert main(["solve", str(path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and err.startswith(f"error: {path}: <model>: CP-SAT refused the model of group b2_")
    assert "(MODEL_INVALID)" in err and "reduce the layer or accelerator sizes" in err


def test_compare_after_a_stop_request_reports_what_it_has_unproven(tmp_path):
    path = problem_files(tmp_path, solver={"workers": 1, "seed": 0, "time_limit_s": 30})
    out = tmp_path / "c.json"
    stop.request("SIGINT")  # as if Ctrl-C came before the first solve
    assert main(["compare", str(path), "--json", str(out)]) == 0
    assert not stop.requested()  # the command clears it on its way out
    report = json.loads(out.read_text())
    assert report["stopped_by"] == "SIGINT" and report["proven_optimal"] is False
    cp_sat = report["rows"][0]
    assert cp_sat["status"] == "FEASIBLE" and cp_sat["gap_to_bound"] is None  # the hint, with no bound
    assert not any(row["method"].startswith("random sampling") for row in report["rows"])  # no sampling after it


def test_a_keyboard_interrupt_during_a_solve_stops_the_search_and_is_raised(tmp_path, monkeypatch):
    """Without the CLI's handler (the library used from Python): Ctrl-C stops
    CP-SAT's thread, then raises KeyboardInterrupt as usual."""
    fired = []

    def interrupt_once(self):
        if not fired:
            fired.append(True)
            _thread.interrupt_main()  # Ctrl-C in the main thread, waiting for the solve

    monkeypatch.setattr(solution_module._SolutionWatch, "on_solution_callback", interrupt_once)
    problem = load_problem(task_graph(tmp_path))
    _, graph, _ = problem_graph(problem)
    model = TaskGraphModel(graph)
    model.add_hint(heft(graph))  # the first solution at once; the limit is 600 s
    with pytest.raises(KeyboardInterrupt):
        model.solve(problem.solver)
    assert not [t for t in threading.enumerate() if t.name == "cp-sat" and t.is_alive()]


def test_the_handler_requests_a_stop_then_exits_with_128_plus_the_signal(monkeypatch):
    def exit_now(code):
        raise SystemExit(code)

    monkeypatch.setattr(signals.os, "_exit", exit_now)
    before = signal.getsignal(signal.SIGTERM)
    with signals.stop_on_signals():
        signal.raise_signal(signal.SIGTERM)
        assert stop.reason() == "SIGTERM"
        with pytest.raises(SystemExit) as second:
            signal.raise_signal(signal.SIGINT)
        assert second.value.code == 130
    assert signal.getsignal(signal.SIGTERM) is before and not stop.requested()


@pytest.mark.parametrize(
    "problem", ["layer/vgg16_conv3_1", "fused/resnet18_layer1_0_block_array16x16"], ids=["layer", "fused"]
)
def test_a_stop_during_a_solve_returns_its_first_solution_unproven(tmp_path, monkeypatch, problem):
    """A stop request at CP-SAT's first solution (as Ctrl-C would make), with the
    search stopped right there: that solution comes back FEASIBLE with its gap,
    and the solves that would follow (baselines) are not run."""

    def stop_at_first(self):
        if not stop.requested():
            stop.request("SIGINT")
            self.stop_search()

    monkeypatch.setattr(solution_module._SolutionWatch, "on_solution_callback", stop_at_first)
    out = tmp_path / "r.json"
    assert main(["solve", str(LIBRARY / "problems" / f"{problem}.yaml"), "--workers", "1", "--json", str(out)]) == 0
    result = json.loads(out.read_text())
    assert result["status"] == "FEASIBLE" and result["proven_optimal"] is False and result["gap"] > 0
    assert result["mapping"] and result["solver"]["interrupted_by"] == "SIGINT"
    if "baseline_layer_by_layer" in result["details"]:
        assert result["details"]["baseline_layer_by_layer"]["feasible"] is False  # not solved after the stop


def test_a_stop_between_the_two_solves_of_a_lexicographic_task_graph_keeps_the_first(tmp_path, monkeypatch):
    """The makespan solve stopped at its first schedule, the memory solve never
    run: that schedule and its memory, FEASIBLE (was: no objective, exit 4)."""

    def stop_at_first(self):
        if not stop.requested():
            stop.request("SIGTERM")
            self.stop_search()

    monkeypatch.setattr(solution_module._SolutionWatch, "on_solution_callback", stop_at_first)
    out = tmp_path / "r.json"
    assert main(["solve", str(LIBRARY / "problems" / "taskgraph" / "lenet5_c1_s2_c3.yaml"), "--json", str(out)]) == 0
    result = json.loads(out.read_text())
    assert result["status"] == "FEASIBLE" and result["proven_optimal"] is False
    assert result["objective"] == result["metrics"]["peak_memory_words"] and result["mapping"]
