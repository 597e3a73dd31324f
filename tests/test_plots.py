"""fusesat plot: a PNG for task-graph, fused and network results, a clear error otherwise."""

from __future__ import annotations

import pytest
from test_fused_cli import fused_problem
from test_loading import problem_files
from test_taskgraph_cli import taskgraph_problem

from mapper.app.cli import main

pytest.importorskip("matplotlib")


@pytest.mark.parametrize("make", [taskgraph_problem, fused_problem, None], ids=["taskgraph", "fused", "network"])
def test_plot_writes_a_png(tmp_path, make, request):
    result, image = tmp_path / "r.json", tmp_path / "plot.png"
    if make is None:  # the network problem's CLI solve, shared with tests/test_network.py (conftest)
        code, _, result = request.getfixturevalue("network_cli_solve")
        assert code == 0
    else:
        assert main(["solve", str(make(tmp_path)), "--json", str(result)]) == 0
    assert main(["plot", str(result), "-o", str(image)]) == 0
    data = image.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000


@pytest.mark.parametrize("make", [problem_files, fused_problem, taskgraph_problem], ids=["layer", "fused", "taskgraph"])
def test_buffer_occupancy_plot_for_every_mode(tmp_path, make):
    result, image = tmp_path / "r.json", tmp_path / "glb.png"
    assert main(["solve", str(make(tmp_path)), "--json", str(result)]) == 0
    assert main(["plot", str(result), "--kind", "glb", "-o", str(image)]) == 0
    assert image.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_pareto_plot(tmp_path):
    image = tmp_path / "front.png"
    three_rows = {"c1": {"rows": 3}, "c2": {"rows": 3}, "sum": {"rows": 3}}
    assert main(["pareto", str(taskgraph_problem(tmp_path, slicing=three_rows)), "--plot", str(image)]) == 0
    assert image.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_an_unavailable_plot_kind_is_a_clear_error(tmp_path, capsys):
    result = tmp_path / "r.json"
    result.write_text('{"mode": "layer", "mapping": {}, "problem": "x"}')
    assert main(["plot", str(result), "--kind", "gantt", "-o", str(tmp_path / "p.png")]) == 2
    assert "mode: no gantt plot for mode 'layer'; use --kind glb" in capsys.readouterr().err
