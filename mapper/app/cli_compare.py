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


def cmd_compare(args) -> int:
    from rich.table import Table

    from mapper.app.modes import MODES
    from mapper.io.loading import load_problem
    from mapper.solve.compare import compare

    problem = load_problem(resolve_argument(args.problem, "problems"))
    report = compare(problem, reproducible(solver_settings(problem, args)))
    proof = "proven optimal" if report["proven_optimal"] else "not proven"
    bound = "-" if report["bound"] is None else f"{report['bound']:,}"
    table = Table(title=f"{report['problem']} ({report['mode']} mode): CP-SAT bound {bound}, {proof}")
    keys = MODES[problem.mode].compare_metrics
    for column in ("method", "status", *keys, "objective", "gap to bound", "seconds"):
        table.add_column(column.replace("_", " "), justify="right")
    for row in report["rows"]:
        cells = [row["metrics"].get(k) for k in keys]
        table.add_row(
            row["method"],
            row["status"],
            *("-" if c is None else f"{c:,.0f}" for c in cells),
            "-" if row["objective"] is None else f"{row['objective']:,}",
            "n/a" if row["gap_to_bound"] is None else f"{row['gap_to_bound']:.2%}",
            "-" if row["seconds"] is None else f"{row['seconds']:.2f}",
        )
    console.print(table)
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
    for column in (*axes, "certified"):
        table.add_column(column.replace("_", " "), justify="right")
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
