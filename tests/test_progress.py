"""Long runs report their progress (issue 18): the network search each candidate
group, the Pareto sweeps each point; the reports change no result and never
reach stdout."""

from __future__ import annotations

import re
from dataclasses import replace

from conftest import DETERMINISTIC, make_layer, tiny_accelerator
from verify_helpers import PROBLEMS as PROBLEM_FILES

from formulations.layer_search import LayerSearch
from formulations.solution import PROGRESS_TASK
from mapper.app.cli import main
from mapper.core import progress
from mapper.core.spec import ObjectiveWeights
from mapper.cost.taskgraph_builder import problem_graph
from mapper.io.library import library_root
from mapper.io.loading import load_problem
from mapper.solve.api import solve
from mapper.solve.taskgraph import pareto_front

PROBLEMS = library_root() / "problems"


def recorded(run):
    steps = []
    with progress.listening(steps.append):
        value = run()
    return value, steps


def test_a_network_search_reports_every_candidate_it_solves(tmp_path):
    problem_file = tmp_path / "range.yaml"  # two layers of the bundled network problem: its candidates in seconds
    problem_file.write_text(
        (PROBLEMS / PROBLEM_FILES["network"]).read_text().replace("mode: network", "mode: network\nlayers: [C3, S4]")
    )
    problem = load_problem(problem_file)
    result, steps = recorded(lambda: solve(problem, DETERMINISTIC))
    candidates = result.details["candidates"]
    assert len(candidates) == 3
    assert {s.task for s in steps} == {"candidate groups", PROGRESS_TASK}  # each candidate's solve too
    steps = [s for s in steps if s.task == "candidate groups"]
    assert all(s.total == len(candidates) for s in steps)
    assert [s.done for s in steps] == sorted(s.done for s in steps) and steps[-1].done == len(candidates)
    solved_here = [c for c in candidates if c["reused_from"] is None and c["status"] != "SKIPPED"]
    assert len(steps) == len(solved_here)
    assert all(":" in s.detail for s in steps)
    unheard = solve(problem, DETERMINISTIC)  # the same problem solved without a listener
    assert result.proven_optimal and unheard.proven_optimal and unheard.objective == result.objective
    assert [c["metrics"] for c in unheard.details["candidates"]] == [c["metrics"] for c in candidates]


def test_a_single_solve_reports_each_solution_and_bound():
    problem = load_problem(PROBLEMS / "layer" / "resnet18_layer4_0_down.yaml")
    result, steps = recorded(lambda: solve(problem, DETERMINISTIC))
    assert steps and {s.task for s in steps} == {PROGRESS_TASK} and all(s.total is None for s in steps)
    assert [s.done for s in steps] == sorted(s.done for s in steps) and steps[-1].done >= 1
    assert steps[-1].detail.startswith(f"best {result.objective:,}, bound ")  # the optimum, found
    bounds = [int(re.search(r"bound ([\d,]+)", s.detail).group(1).replace(",", "")) for s in steps]
    assert bounds == sorted(bounds) and bounds[-1] <= result.bound  # the proof's end needs no report: it prints
    assert solve(problem, DETERMINISTIC).objective == result.objective  # listening changes nothing


def test_a_pareto_sweep_reports_each_point():
    problem = load_problem(PROBLEMS / "taskgraph" / "lenet5_c1_s2_c3.yaml")
    _, graph, _ = problem_graph(problem)
    (points, _), steps = recorded(lambda: pareto_front(graph, problem.taskgraph, DETERMINISTIC, max_points=2))
    steps = [s for s in steps if s.task != PROGRESS_TASK]  # the sweep's points, without each point's solve
    assert [s.done for s in steps] == list(range(1, len(points) + 1)) and points
    assert all(s.task == "Pareto points" and s.total == 2 and "makespan" in s.detail for s in steps)


def test_quiet_solve_prints_the_same_and_nothing_on_stderr(capsys, tmp_path):
    args = ["solve", str(PROBLEMS / "layer" / "resnet18_layer4_0_down.yaml"), "--workers", "1"]
    assert main(["-q", *args]) == 0
    quiet = capsys.readouterr()
    assert main(args) == 0
    loud = capsys.readouterr()
    assert quiet.err == "" and loud.err == ""  # not a terminal: no bars either way
    assert quiet.out.split("wall time")[0] == loud.out.split("wall time")[0]


def test_two_sides_at_once_report_one_best_and_one_bound():
    """A layer whose RF is double-buffered, solved on two workers: both sides at
    once, each reporting the best over both and the lower of their bounds, so the
    bests never rise, the bounds never fall and neither passes the answer."""
    layer = make_layer(K=4, C=4, P=4, Q=4, R=3, S=3)
    search = LayerSearch(layer, tiny_accelerator(rf=24, rf_double=True), ObjectiveWeights())
    result, steps = recorded(lambda: search.solve(replace(DETERMINISTIC, workers=2)))
    assert result.status == "OPTIMAL" and result.objective == result.bound
    bests = [int(m.group(1).replace(",", "")) for s in steps if (m := re.search(r"best ([\d,]+)", s.detail))]
    bounds = [int(m.group(1).replace(",", "")) for s in steps if (m := re.search(r"bound ([\d,]+)", s.detail))]
    assert bests and bests == sorted(bests, reverse=True) and bests[-1] >= result.objective
    assert bounds == sorted(bounds) and all(b <= result.objective for b in bounds)
