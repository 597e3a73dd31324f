"""Ctrl-C and SIGTERM during real ``fusesat`` processes: the solver stops, the
best answer so far is printed and written with its status and gap; a second
signal exits at once (mapper.app.signals).

Each test starts the CLI in a subprocess with ``-v``, waits until its log
shows that CP-SAT is solving (or has a first solution), then signals it. The
problems take far longer than the tests (a network search of minutes, task
graphs CP-SAT cannot prove in 600 s), so the signal always lands mid-run.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from mapper.io.loading import load_problem
from mapper.solve.network import group_cost

ROOT = Path(__file__).resolve().parent.parent
RESNET18 = ROOT / "problems" / "problems" / "network" / "resnet18_array32x32.yaml"
HANG_GUARD_S = 120  # never reached by a working CLI; only keeps a broken one from hanging the suite

# 28 tasks on 4 unequal clusters: CP-SAT finds schedules at once and proves nothing for minutes
HARD_TASK_GRAPH = {
    "name": "lenet5_28_tasks",
    "mode": "taskgraph",
    "network": "lenet5",
    "layers": ["C1", "S2", "C3"],
    "taskgraph": {
        "slicing": {"C1": {"rows": 4, "cols": 4}, "S2": {"rows": 4, "cols": 2}, "C3": {"channels": 4}},
        "platform": {"clusters": [[4, 4], [4, 4], [4, 2], [2, 2]]},
        "objective": "makespan",
    },
    "solver": {"time_limit_s": 600, "workers": 1, "seed": 0},
}


class Run:
    """``python -m mapper.app.cli -v ARGS`` in ``folder``, its output in files."""

    def __init__(self, folder: Path, *args: str):
        self.out, self.err = folder / "stdout.txt", folder / "stderr.txt"
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        with open(self.out, "w") as out, open(self.err, "w") as err:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "mapper.app.cli", "-v", *args], cwd=folder, env=env, stdout=out, stderr=err
            )

    def wait_for(self, text: str) -> None:
        """Poll stderr until ``text`` appears; fail if the process ends first."""
        deadline = time.monotonic() + HANG_GUARD_S
        while text not in self.err.read_text():
            assert self.process.poll() is None, f"exited {self.process.returncode} before {text!r}: {self.stderr()}"
            assert time.monotonic() < deadline, f"no {text!r} in stderr: {self.stderr()}"
            time.sleep(0.05)

    def send(self, number: int) -> None:
        self.process.send_signal(number)

    def finish(self) -> int:
        try:
            return self.process.wait(timeout=HANG_GUARD_S)
        finally:
            if self.process.poll() is None:
                self.process.kill()
                self.process.wait()

    def stderr(self) -> str:
        return self.err.read_text()


def assert_valid_partition(result: dict, path) -> None:
    problem = load_problem(path)
    groups = result["mapping"]["groups"]
    assert [name for group in groups for name in group["layers"]] == list(problem.layer_names)
    for group in groups:
        layers = tuple(problem.network.layers[name] for name in group["layers"])
        cost = group_cost(group["model"], layers, problem.accelerator, group["mapping"])
        assert cost.valid and cost.objective(problem.objective) == group["objective"] >= group["bound"]
    assert sum(group["objective"] for group in groups) == result["objective"] >= result["bound"]


@pytest.fixture
def runs():
    started = []

    def start(folder: Path, *args: str) -> Run:
        started.append(Run(folder, *args))
        return started[-1]

    yield start
    for run in started:  # a failed assertion must not leave a solver running
        if run.process.poll() is None:
            run.process.kill()
            run.process.wait()


def hard_task_graph(folder: Path) -> Path:
    path = folder / "tg.yaml"
    path.write_text(yaml.safe_dump(HARD_TASK_GRAPH))
    return path


def test_sigint_stops_a_network_search_with_a_valid_partition_and_its_gap(tmp_path, runs):
    run = runs(tmp_path, "solve", str(RESNET18), "--workers", "1", "--json", "r.json")
    run.wait_for("layer conv1:")  # one group solved, the next solving: the search has half a minute to go
    run.send(signal.SIGINT)
    assert run.finish() == 0, run.stderr()
    assert "Traceback" not in run.stderr() and "SIGINT: stopping the solver" in run.stderr()
    result = json.loads((tmp_path / "r.json").read_text())
    assert result["status"] == "FEASIBLE" and result["proven_optimal"] is False
    assert result["solver"]["interrupted_by"] == "SIGINT" == result["details"]["search"]["stopped_by"]
    assert 0 < result["gap"] < 1 and result["bound"] <= result["objective"]
    assert "stopped by SIGINT" in result["explanation"]
    assert_valid_partition(result, RESNET18)  # the whole network, in order, each group's cost its objective
    assert result["details"]["search"]["skipped"] > 0  # groups cut short, not claimed solved


def test_sigterm_stops_a_task_graph_solve_with_its_best_schedule(tmp_path, runs):
    run = runs(tmp_path, "solve", str(hard_task_graph(tmp_path)), "--json", "r.json")
    run.wait_for("CP-SAT: first solution")
    run.send(signal.SIGTERM)
    assert run.finish() == 0, run.stderr()
    assert "Traceback" not in run.stderr()
    result = json.loads((tmp_path / "r.json").read_text())
    assert result["status"] == "FEASIBLE" and result["mapping"] and result["solver"]["interrupted_by"] == "SIGTERM"
    assert 0 < result["gap"] < 1 and result["metrics"]["makespan"] == result["objective"]


def test_a_second_sigint_exits_at_once_with_130(tmp_path, runs):
    """The result goes to a FIFO nobody reads, so after the first signal the
    process waits there for good; only the second signal can end it."""
    fifo = tmp_path / "r.json"
    os.mkfifo(fifo)
    run = runs(tmp_path, "solve", str(hard_task_graph(tmp_path)), "--json", str(fifo))
    run.wait_for("CP-SAT: first solution")
    run.send(signal.SIGINT)
    run.wait_for("SIGINT: stopping the solver")
    run.send(signal.SIGINT)
    assert run.finish() == 130
    assert "SIGINT again: exiting now" in run.stderr() and "Traceback" not in run.stderr()


def test_sigint_ends_a_pareto_sweep_with_the_points_so_far(tmp_path, runs):
    run = runs(tmp_path, "pareto", str(hard_task_graph(tmp_path)), "--json", "front.json")
    run.wait_for("CP-SAT: first solution")  # of the first point's makespan solve, which never proves
    run.send(signal.SIGINT)
    assert run.finish() == 0, run.stderr()
    assert "Traceback" not in run.stderr()
    front = json.loads((tmp_path / "front.json").read_text())
    assert front["stopped_by"] == "SIGINT" and front["complete"] is False
    assert len(front["points"]) == 1 and front["points"][0]["certified"] is False
    assert "front incomplete: stopped by SIGINT after 1 point(s)" in (tmp_path / "stdout.txt").read_text()
