"""fusesat plot: a PNG for task-graph and fused results, a clear error otherwise."""

from __future__ import annotations

import pytest
from test_fused_cli import fused_problem
from test_taskgraph_cli import taskgraph_problem

from mapper.cli import main

pytest.importorskip("matplotlib")


@pytest.mark.parametrize("make", [taskgraph_problem, fused_problem], ids=["taskgraph", "fused"])
def test_plot_writes_a_png(tmp_path, make):
    result, image = tmp_path / "r.json", tmp_path / "plot.png"
    assert main(["solve", str(make(tmp_path)), "--json", str(result)]) == 0
    assert main(["plot", str(result), "-o", str(image)]) == 0
    data = image.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000


def test_plot_of_an_unsupported_result_is_a_clear_error(tmp_path, capsys):
    result = tmp_path / "r.json"
    result.write_text('{"mode": "layer", "mapping": {}, "problem": "x"}')
    assert main(["plot", str(result), "-o", str(tmp_path / "p.png")]) == 2
    assert "mode: no plot for mode 'layer' yet" in capsys.readouterr().err
