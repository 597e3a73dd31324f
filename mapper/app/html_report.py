"""``fusesat report RESULT.json -o report.html``: one self-contained HTML page of a
result, for every mode, with no server and no network: the proof, the answer as
the terminal shows it (the mode's rich renderer, exported with inline styles),
the metrics against the compulsory limits, the baselines with their gaps, and
the mode's plots as inline SVG (the plot extra; without matplotlib the page
says so). Nothing on the page loads anything from outside it."""

from __future__ import annotations

import io
import re
import tempfile
from html import escape
from pathlib import Path

from rich.console import Console

from mapper.app.modes import MODES
from mapper.app.render import objective_meaning
from mapper.app.verify_file import resolve_problem_file
from mapper.core.enums import Mode
from mapper.core.errors import SpecError
from mapper.core.result import SolveResult
from mapper.cost.limits import compulsory_limits, consumers_of
from mapper.io.loading import load_problem
from mapper.solve.partition import BASELINE_LABELS

STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 76em; color: #222; }
h1 { font-size: 1.5em; } h2 { font-size: 1.15em; margin-top: 2em; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; margin: 0.5em 0 1em; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.7em; text-align: left; }
td.number { text-align: right; font-variant-numeric: tabular-nums; }
pre.terminal { background: #fafafa; border: 1px solid #eee; padding: 1em; overflow-x: auto; font-size: 0.85em; }
figure { margin: 1em 0; } figure svg { max-width: 100%; height: auto; }
p.note { color: #555; }
"""


def _cell(value) -> str:
    if isinstance(value, bool):
        return f"<td>{'yes' if value else 'no'}</td>"
    if isinstance(value, int):
        return f"<td class='number'>{value:,}</td>"
    if isinstance(value, float):
        return f"<td class='number'>{value:,.4g}</td>"
    return f"<td>{escape('-' if value is None else str(value))}</td>"


def table(headers: list[str], rows: list[list]) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(_cell(v) for v in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


METRIC_LABELS = {"objective": "objective", "latency_cycles": "latency (cycles)", "dram_words": "DRAM traffic (words)"}
PLOT_CAPTIONS = {
    "glb": "GLB occupancy over the replayed schedule, by tensor kind, with the capacity",
    "bars": "DRAM traffic and latency of the optimum against the baselines",
    "gantt": "the tasks on their clusters, and live memory over time",
}


def _change(value: float | None) -> str | None:
    return None if value is None else f"{value:+.1%}"


def _share(value: float | None) -> str | None:
    return None if value is None else f"{value:.2%}"


def _proof(result: SolveResult) -> str:
    facts = result.solver
    rows = [
        ["status", result.status],
        ["objective", result.objective],
        ["objective is", objective_meaning(result.weights)],
        ["bound", result.bound],
        ["gap", None if result.gap is None else f"{result.gap:.4%}"],
        ["proven optimal", result.proven_optimal],
        ["wall time (s)", f"{facts.wall_time_s:.2f}"],
        ["workers / seed", f"{facts.workers} / {facts.seed}"],
        ["factor space", facts.factors],
        ["ortools", facts.ortools_version],
    ]
    if facts.interrupted_by:
        rows.append(["stopped by", facts.interrupted_by])
    return "<h2>Proof</h2>" + table(["fact", "value"], rows)


def _answer(result: SolveResult, problem) -> str:
    if not result.mapping:
        note = escape(result.explanation or "the result has no mapping")
        return f"<h2>Answer</h2><p class='note'>{note}</p>"
    console = Console(record=True, width=110, file=io.StringIO(), color_system="truecolor")
    bounds = problem.layers[0].bounds if problem is not None and result.mode == Mode.LAYER else None
    MODES[result.mode].render(result, console, bounds)
    text = console.export_html(inline_styles=True, code_format="<pre class='terminal'>{code}</pre>")
    return "<h2>Answer (as the terminal shows it)</h2>" + text


def _limits(result: SolveResult, problem) -> str:
    title = "<h2>Against the compulsory limits</h2>"
    if result.mode == Mode.TASKGRAPH:
        return title + "<p class='note'>Task graphs have no compulsory-traffic limit; see the baselines.</p>"
    limits = result.details.get("compulsory")
    if limits is None and problem is not None:
        limits = compulsory_limits(problem.layers, consumers_of(problem.network), problem.accelerator).to_dict()
    if limits is None or not result.metrics:
        return title + "<p class='note'>The problem file was not found, so the limits are not shown.</p>"
    rows = []
    for metric, limit, meaning in (
        ("dram_words", "dram_words", "every input, weight and output word moved once"),
        ("latency_cycles", "latency_cycles", "max(MACs / PEs, compulsory words / DRAM bandwidth)"),
    ):
        value, floor = result.metrics.get(metric), limits[limit]
        ratio = None if value is None or not floor else f"{value / floor:.3f}x"
        rows.append([METRIC_LABELS[metric], value, floor, ratio, meaning])
    return title + table(["metric", "this answer", "compulsory limit", "ratio", "the limit is"], rows)


def _baselines(result: SolveResult) -> str:
    title = "<h2>Baselines</h2>"
    details = result.details
    if result.mode == Mode.FUSED and "baseline_layer_by_layer" in details:
        base = details["baseline_layer_by_layer"]
        rows = []
        for name, label in METRIC_LABELS.items():
            ours = result.objective if name == "objective" else result.metrics.get(name)
            theirs = base.get(name)
            rows.append([label, theirs, ours, _change(ours / theirs - 1 if theirs and ours is not None else None)])
        return title + table(["metric", "layer-by-layer", "fused optimum", "change"], rows)
    if result.mode == Mode.NETWORK and "baselines" in details:
        rows = [
            [
                BASELINE_LABELS.get(name, name),
                b.get("objective"),
                b.get("latency_cycles"),
                b.get("dram_words"),
                _share(b.get("gap_to_bound")),
            ]
            for name, b in details["baselines"].items()
        ]
        rows.append(
            [
                "this partition",
                result.objective,
                result.metrics.get("latency_cycles"),
                result.metrics.get("dram_words"),
                _share(result.gap),
            ]
        )
        headers = ["method", "objective", "latency (cycles)", "DRAM (words)", "gap to the bound"]
        return title + table(headers, rows)
    if result.mode == Mode.TASKGRAPH and "heuristics" in details:
        rows = [
            [h["method"], h["makespan"], h["peak_memory_words"], h["objective"], _share(h.get("gap_to_bound"))]
            for h in details["heuristics"]
        ]
        headers = ["method", "makespan (cycles)", "peak memory (words)", "objective", "gap to the bound"]
        return title + table(headers, rows)
    return title + "<p class='note'>This result carries no baselines; <code>fusesat compare</code> computes them.</p>"


def _plots(data: dict, source: str) -> str:
    figures = []
    for kind, plot in MODES[data["mode"]].plots.items():
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / f"{kind}.svg"
            try:
                plot(data, path, source)
            except SpecError as err:
                figures.append(f"<p class='note'>{escape(kind)} plot not drawn: {escape(str(err))}</p>")
                continue
            svg = re.sub(r"^.*?(?=<svg)", "", path.read_text(), flags=re.S)  # drop the XML prologue
        figures.append(f"<figure>{svg}<figcaption>{escape(PLOT_CAPTIONS.get(kind, kind))}</figcaption></figure>")
    return "<h2>Plots</h2>" + "".join(figures)


def _problem(data: dict, source: str):
    """The result's problem, or None when its file is gone (the page then says what is missing)."""
    try:
        return load_problem(resolve_problem_file(data, Path(source)))
    except SpecError:
        return None


def build_report(data: dict, source: str) -> str:
    """The page of the result ``data`` (its JSON), read from ``source``."""
    if data.get("mode") not in MODES or not isinstance(data.get("solver"), dict):
        raise SpecError(source, "mode", "not a fusesat result", "pass a file from fusesat solve --json")
    result = SolveResult.from_json(data)
    problem = _problem(data, source) if result.mode != Mode.TASKGRAPH else None
    what = f"{MODES[result.mode].noun} {result.layer} on {result.accelerator} ({result.mode} mode)"
    title = f"{result.problem}: {what}"
    sections = [_proof(result), _answer(result, problem), _limits(result, problem), _baselines(result)]
    if result.mapping:
        sections.append(_plots(data, source))
    head = f"<meta charset='utf-8'><title>{escape(title)}</title><style>{STYLE}</style>"
    body = f"<h1>{escape(title)}</h1>" + "".join(sections)
    return f"<!DOCTYPE html>\n<html lang='en'><head>{head}</head><body>{body}</body></html>\n"
