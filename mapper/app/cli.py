"""``fusesat`` command line. Exit codes: 0 solved (or verified), 1 verification
failed, 2 bad input, 3 infeasible, 4 no solution within the time limit.

Ctrl-C or SIGTERM during ``solve``, ``compare`` or ``pareto`` stops the solver
like its time limit: the best answer so far, with its status and gap, is
printed and written, and the exit code is as above (``mapper.app.signals``);
a second one exits at once with 130 (143 for SIGTERM)."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from contextlib import nullcontext
from dataclasses import replace
from pathlib import Path

from mapper.app import options
from mapper.app.cli_batch import cmd_batch, cmd_results
from mapper.app.cli_compare import cmd_compare, cmd_pareto
from mapper.app.progress import live_progress
from mapper.app.signals import stop_on_signals
from mapper.app.terminal import console, errors
from mapper.core import stop
from mapper.core.enums import Mode
from mapper.core.errors import SpecError
from mapper.core.result import EXIT_BAD_INPUT
from mapper.io.library import FOLDERS, library_root, listing, resolve_argument


def cmd_solve(args) -> int:
    from mapper.app.modes import MODES
    from mapper.app.render import render_result
    from mapper.io.loading import load_problem

    problem = load_problem(resolve_argument(args.problem, "problems"))
    if args.candidate_time_limit is not None and problem.mode != Mode.NETWORK:
        why = f"{problem.mode} problems have no candidate groups"
        raise SpecError(str(problem.source or args.problem), "--candidate-time-limit", why, "use --time-limit")
    problem, settings = options.solve_inputs(problem, args)
    result = MODES[problem.mode].solve(problem, settings)
    if stop.requested():
        result = replace(result, solver=replace(result.solver, interrupted_by=stop.reason()))
    render_result(result, console, problem.layers[0].bounds if problem.mode == Mode.LAYER else None)
    if args.json:
        options.write_output(args.json, json.dumps(result.to_json(), indent=2) + "\n", "--json")
        console.print(f"result written to {args.json}")
    options.refuse_invalid_model(result.status, problem, args, result.explanation)
    return result.exit_code


def cmd_verify(args) -> int:
    from rich.markup import escape
    from rich.table import Table

    from mapper.app.verify_file import verify_result_file

    report = verify_result_file(args.result, functional=args.functional)
    table = Table(title=f"Referee: {escape(args.result)}")
    for column in ("check", "claimed", "measured", "ok"):
        table.add_column(column, justify="right")
    for row in report.rows():
        ok = "unchecked" if row.ok is None else ("yes" if row.ok else "[red]NO[/red]")
        table.add_row(escape(row.name), escape(brief(row.claimed)), escape(brief(row.measured)), ok)
    console.print(table)
    for line in report.notes:
        console.print(escape(line))
    if report.violation:
        errors.print(f"[red]rejected:[/red] {escape(report.violation)}")
        return 1
    unchecked = report.unchecked_fields
    console.print("[green]schedule valid; every claimed metric equals the measured one[/green]")
    if unchecked:
        console.print(f"{len(unchecked)} fields carry no checkable claim and are listed as unchecked")
    return 0


def brief(value, limit: int = 80) -> str:
    text = str(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def cmd_import(args) -> int:
    from mapper.io.onnx_import import write_network

    network = write_network(args.model, args.output)
    console.print(f"{len(network['layers'])} layers of {network['name']} written to {args.output}")
    return 0


def cmd_export(args) -> int:
    from mapper.app.export import export_result

    export_result(args.result, args.format, args.output)
    console.print(f"{args.format} written to {args.output}")
    return 0


def cmd_plot(args) -> int:
    from mapper.app.plots import plot_result

    try:
        result = json.loads(Path(args.result).read_text())
    except (OSError, json.JSONDecodeError) as err:
        raise SpecError(
            args.result, "<file>", f"not a readable result ({err})", "pass a file from fusesat solve --json"
        ) from None
    plot_result(result, Path(args.output), args.result, args.kind)
    console.print(f"plot written to {args.output}")
    return 0


def cmd_report(args) -> int:
    from mapper.app.html_report import build_report
    from mapper.app.verify_file import read_result

    page = build_report(read_result(Path(args.result)), args.result)
    options.write_output(args.output, page, "-o/--output")
    console.print(f"report written to {args.output}")
    return 0


def cmd_library(args) -> int:
    """List the bundled accelerators, networks, problems and suites with their files."""
    from rich.table import Table

    unknown = [f for f in args.folders if f not in FOLDERS]
    if unknown:
        raise SpecError("fusesat library", "folders", f"unknown folder {unknown[0]!r}", f"use {', '.join(FOLDERS)}")
    root = library_root()
    for folder in args.folders or FOLDERS:
        table = Table(title=f"{folder} ({root / folder})")
        table.add_column("name")
        table.add_column("file")
        for name, path in listing(folder):
            table.add_row(name, str(path.relative_to(root)))
        console.print(table)
    return 0


class UsageError(Exception):
    """A command line argparse refuses: one line, exit 2 (``main``)."""


class Parser(argparse.ArgumentParser):
    """argparse, with its refusals raised for ``main`` to print as one ``error:`` line."""

    def error(self, message: str):
        fix = "" if ";" in message else f"; see {self.prog} --help"
        raise UsageError(f"{self.prog}: {message}{fix}")


def add_solver_options(parser: argparse.ArgumentParser, run_budget: bool = False) -> None:
    """``--time-limit``, ``--workers``, ``--seed``: override the solver settings (``options.solver_settings``);
    with ``run_budget``, ``--time-limit`` is a network search's whole budget (``options.solve_inputs``)."""
    network = "; network mode: the budget of the whole run, returning the best partition so far with its bound"
    network += " (default: the problem's partition.time_budget_s)"
    parser.add_argument(
        "--time-limit",
        type=options.TIME_LIMIT,
        help="seconds > 0 (default: the problem's solver.time_limit_s)" + (network if run_budget else ""),
    )
    workers = f"CP-SAT workers, 1-{options.MAX_WORKERS} (default: the problem's)"
    if run_budget:
        workers += "; on a network problem, candidate groups solved at once, one worker each"
    parser.add_argument("--workers", type=options.CP_WORKERS, help=workers)
    parser.add_argument("--seed", type=options.SEED, help=f"random seed, 0-{options.MAX_SEED} (default: the problem's)")


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="fusesat", description=__doc__)
    parser.add_argument("-v", "--verbose", action="store_true", help="log solver progress")
    parser.add_argument("-q", "--quiet", action="store_true", help="no live progress bars on stderr")
    sub = parser.add_subparsers(dest="command", required=True)
    solve = sub.add_parser("solve", help="find the optimal mapping of a problem, with its proof")
    solve.add_argument("problem", help="problem YAML file")
    add_solver_options(solve, run_budget=True)
    solve.add_argument(
        "--candidate-time-limit",
        type=options.TIME_LIMIT,
        help="network mode: seconds for each candidate group's solve (default: the problem's solver.time_limit_s)",
    )
    solve.add_argument("--json", help="write the result as JSON (docs/json_schema.md)")
    solve.set_defaults(func=cmd_solve, outputs={"json": "--json"}, stoppable=True)
    batch = sub.add_parser("batch", help="run a suite of problems in parallel, resumable, into SQLite")
    batch.add_argument("suite", help="suite YAML (docs/batch.md)")
    batch.add_argument("--db", required=True, help="SQLite file; a rerun skips what it already holds")
    batch.add_argument("--workers", type=options.PROCESSES, default=1, help="parallel local processes")
    batch.add_argument("--scheduler", help="run on a Dask cluster instead, e.g. tcp://HOST:8786")
    batch.set_defaults(func=cmd_batch, outputs={"db": "--db"})
    results = sub.add_parser("results", help="summarise a batch database, export CSV")
    results.add_argument("db", help="SQLite file written by fusesat batch")
    results.add_argument("--csv", help="write every row as CSV")
    results.add_argument("--json", help="write every row, with its full result, as JSON")
    results.add_argument("--group-by", nargs="*", default=["mode"], help="columns to group by (e.g. mode accelerator)")
    results.set_defaults(func=cmd_results, outputs={"csv": "--csv", "json": "--json"})
    comparison = sub.add_parser("compare", help="every method side by side, each with its gap to the CP-SAT bound")
    comparison.add_argument("problem", help="problem YAML file")
    add_solver_options(comparison)
    comparison.add_argument("--json", help="write the comparison as JSON")
    comparison.set_defaults(func=cmd_compare, outputs={"json": "--json"}, stoppable=True)
    pareto = sub.add_parser(
        "pareto", help="certified front: latency vs DRAM (fused) or makespan vs memory (task graph)"
    )
    pareto.add_argument("problem", help="problem YAML file (mode: fused or taskgraph)")
    pareto.add_argument(
        "--points", type=options.POINTS, default=12, help=f"at most this many points, 1-{options.MAX_POINTS}"
    )
    add_solver_options(pareto)
    pareto.add_argument("--json", help="write the points as JSON")
    pareto.add_argument("--plot", help="draw the front to this PNG or SVG (plot extra)")
    pareto.set_defaults(func=cmd_pareto, outputs={"json": "--json", "plot": "--plot"}, stoppable=True)
    importer = sub.add_parser("import", help="convert an ONNX model into a network YAML (onnx extra)")
    importer.add_argument("model", help="ONNX file")
    importer.add_argument("-o", "--output", required=True, help="network YAML to write")
    importer.set_defaults(func=cmd_import, outputs={"output": "-o/--output"})
    export = sub.add_parser("export", help="write a result as a Chrome/Perfetto trace or a Timeloop mapping")
    export.add_argument("result", help="result JSON written by 'fusesat solve --json'")
    export.add_argument("--format", required=True, choices=["chrome-trace", "timeloop"])
    export.add_argument("-o", "--output", required=True)
    export.set_defaults(func=cmd_export, outputs={"output": "-o/--output"})
    plot = sub.add_parser("plot", help="plot a result (Gantt + memory for task graphs, bars for fused groups)")
    plot.add_argument("result", help="result JSON written by 'fusesat solve --json'")
    plot.add_argument("-o", "--output", required=True, help="PNG or SVG file")
    plot.add_argument(
        "--kind", choices=["gantt", "bars", "glb"], help="default: gantt (task graphs), bars (fused), glb (layer)"
    )
    plot.set_defaults(func=cmd_plot, outputs={"output": "-o/--output"})
    report = sub.add_parser("report", help="write a result as one self-contained HTML page (proof, answer, plots)")
    report.add_argument("result", help="result JSON written by 'fusesat solve --json'")
    report.add_argument("-o", "--output", required=True, help="HTML file")
    report.set_defaults(func=cmd_report, outputs={"output": "-o/--output"})
    library = sub.add_parser("library", help="list the bundled accelerators, networks, problems and suites")
    library.add_argument("folders", nargs="*", help=f"only these of {', '.join(FOLDERS)}")
    library.set_defaults(func=cmd_library)
    verify = sub.add_parser("verify", help="replay a result's schedule with the referee")
    verify.add_argument("result", help="result JSON written by 'fusesat solve --json'")
    verify.add_argument("--functional", action="store_true", help="also execute the schedule on random tensors")
    verify.set_defaults(func=cmd_verify)
    return parser


def main(argv: list[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
    except UsageError as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_BAD_INPUT
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(message)s")
    try:
        options.check_outputs(args)  # every output path, before any solve starts
        stoppable = getattr(args, "stoppable", False)
        with stop_on_signals() if stoppable else nullcontext(), live_progress(stoppable and not args.quiet):
            return args.func(args)
    except SpecError as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        errors.print("interrupted")
        return 130


if __name__ == "__main__":
    sys.exit(main())
