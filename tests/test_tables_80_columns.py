"""Tables at 80 columns: ``fusesat solve`` of every mode and ``fusesat compare``
cut no number, name or header; a lexicographic objective shows both its levels."""

from __future__ import annotations

import io

import pytest
from rich.console import Console
from verify_helpers import PROBLEMS, solved  # noqa: F401 (a fixture)

from mapper.app.cli_compare import compare_tables
from mapper.app.render import render_result
from mapper.core.result import SolveResult

METRICS = ("latency_cycles", "dram_words", "energy_pj")


def row(method: str, objective: int, latency: int, dram: int, energy: float, gap: float | None) -> dict:
    metrics = {"latency_cycles": latency, "dram_words": dram, "energy_pj": energy}
    return {
        "method": method,
        "status": "HEURISTIC",
        "objective": objective,
        "metrics": metrics,
        "seconds": 3.9,
        "gap_to_bound": gap,
    }


REPORT = {  # the shape of a layer compare, with the widest numbers of the bundled layers
    "problem": "resnet18_layer4_0_down_eyeriss_like",
    "mode": "layer",
    "bound": 263_648,
    "proven_optimal": True,
    "weights": {"latency": 1, "dram_words": 1, "energy": 0},
    "rows": [
        row("CP-SAT", 263_648, 94_944, 168_704, 47_470_592.0, 0.0),
        row("random sampling (904 valid of 10,000)", 310_752, 142_048, 168_704, 55_361_024.0, 0.1516),
        row("naive (every loop at DRAM)", 58_120_705_123, 38_747_137_456, 19_373_568_000, 4_132_992_512_000.0, 0.9955),
    ],
}


def rendered(report: dict, width: int) -> list[str]:
    console = Console(width=width, record=True, file=io.StringIO())
    for table in compare_tables(report, METRICS if report["mode"] == "layer" else ("makespan",), width):
        console.print(table)
    return console.export_text().splitlines()


@pytest.mark.parametrize("width", [80, 100, 200])
def test_every_number_and_header_is_whole_at_any_width(width):
    lines = rendered(REPORT, width)
    text = "\n".join(lines)
    assert max(len(line) for line in lines) <= width and "…" not in text
    for r in REPORT["rows"]:
        for value in (r["objective"], *r["metrics"].values()):
            assert f"{value:,.0f}" in text
        assert f"{r['gap_to_bound']:.2%}" in text
    for header in ("(cycles)", "(words)", "(pJ)", "objective", "gap to", "bound"):
        assert header in text


def test_a_wide_terminal_gets_one_table_a_narrow_one_two():
    assert sum(line.split()[:1] == ["method"] for line in rendered(REPORT, 200)) == 1
    assert sum(line.split()[:1] == ["method"] for line in rendered(REPORT, 80)) == 2


def test_a_lexicographic_objective_shows_makespan_then_memory():
    rows = [
        {
            "method": "CP-SAT",
            "status": "OPTIMAL",
            "objective": 5_880,
            "metrics": {"makespan": 9_412},
            "seconds": 7.7,
            "gap_to_bound": 0.0,
        },
        {
            "method": "memory-aware HEFT",
            "status": "HEURISTIC",
            "objective": 5_728,
            "metrics": {"makespan": 9_486},
            "seconds": None,
            "gap_to_bound": None,
        },
    ]
    report = {
        "problem": "lenet5",
        "mode": "taskgraph",
        "bound": 5_880,
        "proven_optimal": True,
        "rows": rows,
        "weights": {"objective": "lexicographic", "makespan": 1, "memory": 1},
    }
    text = "\n".join(rendered(report, 80))
    assert "9,412, 5,880" in text and "9,486, 5,728" in text  # the lower memory comes with the longer makespan
    assert "bound 9,412 cycles, then 5,880 words" in " ".join(text.split())


@pytest.mark.parametrize("mode", sorted(PROBLEMS))
def test_solve_output_of_every_mode_fits_80_columns_uncut(mode, solved):  # noqa: F811
    _, data = solved(mode)
    console = Console(width=80, record=True, file=io.StringIO())
    render_result(SolveResult.from_json(data), console)
    lines = console.export_text().splitlines()
    assert max(len(line) for line in lines) <= 80 and not any("…" in line for line in lines)
    assert f"{data['objective']:,}" in "\n".join(lines)
