"""``fusesat compare`` and ``fusesat pareto``: every method against CP-SAT's
bound, and the certified front of a fused or task-graph problem."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from mapper.app.options import refuse_invalid_model, reproducible, solver_settings, write_output
from mapper.app.terminal import console, errors
from mapper.core import stop
from mapper.core.enums import Status
from mapper.core.result import EXIT_BAD_INPUT, EXIT_INFEASIBLE, EXIT_NO_SOLUTION, EXIT_SOLVED
from mapper.io.library import resolve_argument


def no_solution_reason() -> str:
    """Why a solve returned nothing: a stop request or the time limit."""
    return f"stopped by {stop.reason()} before a solution" if stop.requested() else "no solution within the time limit"


# Column headers with their units on a second line, to stay narrow.
HEADERS = {
    "latency_cycles": "latency\n(cycles)",
    "dram_words": "DRAM\n(words)",
    "energy_pj": "energy\n(pJ)",
    "makespan": "makespan\n(cycles)",
    "peak_memory_words": "peak memory\n(words)",
}


def compare_tables(report: dict, metrics: tuple[str, ...], width: int) -> list:
    """The rows of ``report`` as tables that stay readable at ``width`` columns: no
    vertical rules, units on a second header line, numbers never cut, no column
    for a metric that no row has; a lexicographic bound and objectives with both
    levels. When one table would not fit ``width`` without wrapping, two: the
    proof columns (status, objective, gap, time) and the metrics, each with the method."""
    from rich.console import Console
    from rich.measure import Measurement

    rows = report["rows"]
    metrics = [k for k in metrics if any(row["metrics"].get(k) is not None for row in rows)]
    lexicographic = report["weights"].get("objective") == "lexicographic"
    proof = "proven optimal" if report["proven_optimal"] else "not proven"
    bound = "-" if report["bound"] is None else f"{report['bound']:,}"
    if lexicographic and report["bound"] is not None and rows[0]["objective"] is not None:  # makespan first
        bound = f"{rows[0]['metrics']['makespan']:,} cycles, then {bound} words"
    title = f"{report['problem']} ({report['mode']} mode): CP-SAT bound {bound}, {proof}"
    whole = _table(rows, title, metrics, True, lexicographic)
    probe = Console(width=10_000)  # a measurement is clamped to the console's width
    if Measurement.get(probe, probe.options, whole).maximum <= width:  # fits without wrapping a cell
        return [whole]
    return [_table(rows, title, [], True, lexicographic), _table(rows, "the same methods' metrics", metrics, False)]


def _objective_cell(row: dict, lexicographic: bool) -> str:
    """The objective; a lexicographic one with both levels, makespan first."""
    if row["objective"] is None:
        return "-"
    return f"{row['metrics']['makespan']:,}, {row['objective']:,}" if lexicographic else f"{row['objective']:,}"


def _table(rows: list[dict], title: str, metrics: list[str], proof_columns: bool, lexicographic: bool = False):
    from rich import box
    from rich.table import Table

    table = Table(title=title, box=box.SIMPLE_HEAD, padding=(0, 0, 0, 1), pad_edge=False)
    table.add_column("method", overflow="fold", min_width=12)
    if proof_columns:
        table.add_column("status", min_width=9)
    for column in (HEADERS.get(k, k) for k in metrics):
        table.add_column(column, justify="right", no_wrap=True)
    if proof_columns:
        objective = "objective\n(makespan, memory)" if lexicographic else "objective"
        for column in (objective, "gap to\nbound", "time\n(s)"):
            table.add_column(column, justify="right", no_wrap=True)
    for row in rows:
        cells = [row["method"], row["status"]] if proof_columns else [row["method"]]
        cells += ["-" if row["metrics"].get(k) is None else f"{row['metrics'][k]:,.0f}" for k in metrics]
        if proof_columns:
            cells.append(_objective_cell(row, lexicographic))
            cells.append("n/a" if row["gap_to_bound"] is None else f"{row['gap_to_bound']:.2%}")
            cells.append("-" if row["seconds"] is None else f"{row['seconds']:.2f}")
        table.add_row(*cells)
    return table


def cmd_compare(args) -> int:
    from mapper.app.modes import MODES
    from mapper.app.render import objective_meaning
    from mapper.io.loading import load_problem
    from mapper.solve.compare import compare

    problem = load_problem(resolve_argument(args.problem, "problems"))
    report = compare(problem, reproducible(solver_settings(problem, args)))
    for table in compare_tables(report, MODES[problem.mode].compare_metrics, console.width):
        console.print(table)
    console.print(f"objective is {objective_meaning(report['weights'])}")
    report["stopped_by"] = stop.reason()
    if report["stopped_by"]:
        console.print(f"[yellow]stopped by {report['stopped_by']}:[/yellow] each method's best answer so far")
    if args.json:
        write_output(args.json, json.dumps(report, indent=2) + "\n", "--json")
    reference = report["rows"][0]
    refuse_invalid_model(reference["status"], problem, args)
    if reference["objective"] is not None:
        return EXIT_SOLVED
    if reference["status"] == Status.INFEASIBLE:
        return EXIT_INFEASIBLE
    errors.print(f"CP-SAT found no answer: {no_solution_reason()}")
    return EXIT_NO_SOLUTION


def cmd_pareto(args) -> int:
    from rich.table import Table

    from mapper.app.modes import MODES
    from mapper.io.loading import load_problem

    problem = load_problem(resolve_argument(args.problem, "problems"))
    settings = reproducible(solver_settings(problem, args))
    handlers = MODES[problem.mode]
    if handlers.pareto is None:
        print(
            f"error: {args.problem}: mode: pareto sweeps fused and task-graph problems; use one of those modes",
            file=sys.stderr,
        )
        return EXIT_BAD_INPUT
    points, ended, title = handlers.pareto(problem, settings, args.points)
    refuse_invalid_model(ended, problem, args)
    axes = handlers.pareto_axes
    table = Table(title=title)
    for column in (*(HEADERS.get(a, a).replace("\n", " ") for a in axes), "certified"):
        table.add_column(column, justify="right")
    for point in points:
        table.add_row(*(f"{point[a]:,}" for a in axes), "yes" if point["certified"] else "no")
    console.print(table)
    complete = ended == Status.INFEASIBLE  # no point beyond the last one
    if args.json:
        front = {"problem": problem.name, "points": points, "complete": complete, "stopped_by": stop.reason()}
        write_output(args.json, json.dumps(front, indent=2) + "\n", "--json")
    if args.plot and points:
        from mapper.app.plots import plot_pareto

        plot_pareto(points, problem.name, Path(args.plot), args.problem, axes)
        console.print(f"plot written to {args.plot}")
    if not points:
        infeasible = ended == Status.INFEASIBLE
        errors.print(f"no point: {'the problem is infeasible' if infeasible else no_solution_reason()}")
        return EXIT_INFEASIBLE if infeasible else EXIT_NO_SOLUTION
    if ended is None:
        console.print(f"front cut at --points {args.points}; more points may follow")
    elif stop.requested():
        console.print(f"front incomplete: stopped by {stop.reason()} after {len(points)} point(s)")
    elif not complete:
        console.print(f"front incomplete: no solution for point {len(points) + 1} within the time limit")
    return EXIT_SOLVED
