"""``fusesat`` command line. Exit codes: 0 solved (or verified), 1 verification
failed, 2 bad input, 3 infeasible, 4 no solution within the time limit."""

from __future__ import annotations

import argparse
import logging
import sys
from dataclasses import replace
from pathlib import Path

from mapper.app.cli_batch import cmd_batch, cmd_results
from mapper.app.terminal import console, errors
from mapper.core.enums import Mode
from mapper.core.errors import SpecError
from mapper.core.result import EXIT_BAD_INPUT
from mapper.io.library import FOLDERS, library_root, listing, resolve_argument


def _settings(problem, args):
    solver = problem.solver
    if args.time_limit is not None:
        solver = replace(solver, time_limit_s=args.time_limit)
    if args.workers is not None:
        solver = replace(solver, workers=args.workers)
    if args.seed is not None:
        solver = replace(solver, seed=args.seed)
    return solver


def cmd_solve(args) -> int:
    from mapper.app.modes import MODES
    from mapper.app.render import render_result
    from mapper.io.loading import load_problem

    problem = load_problem(resolve_argument(args.problem, "problems"))
    result = MODES[problem.mode].solve(problem, _settings(problem, args))
    render_result(result, console, problem.layers[0].bounds if problem.mode == Mode.LAYER else None)
    if args.json:
        result.write_json(args.json)
        console.print(f"result written to {args.json}")
    return result.exit_code


def cmd_verify(args) -> int:
    from mapper.app.verify_file import verify_result_file

    report = verify_result_file(args.result, functional=args.functional)
    table_rows = report.rows()
    from rich.table import Table

    table = Table(title=f"Referee: {args.result}")
    for column in ("metric", "claimed", "measured", "ok"):
        table.add_column(column, justify="right")
    for name, claimed, measured, ok in table_rows:
        table.add_row(name, str(claimed), str(measured), "yes" if ok else "[red]NO[/red]")
    console.print(table)
    for line in report.notes:
        console.print(line)
    if report.violation:
        errors.print(f"[red]rejected:[/red] {report.violation}")
        return 1
    console.print("[green]schedule valid; every claimed metric equals the measured one[/green]")
    return 0


def cmd_compare(args) -> int:
    import json
    from pathlib import Path

    from rich.table import Table

    from mapper.app.modes import MODES
    from mapper.io.loading import load_problem
    from mapper.solve.compare import compare

    problem = load_problem(resolve_argument(args.problem, "problems"))
    report = compare(problem, _settings(problem, args))
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
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2) + "\n")
    return 0


def cmd_pareto(args) -> int:
    import json

    from rich.table import Table

    from mapper.app.modes import MODES
    from mapper.io.loading import load_problem

    problem = load_problem(resolve_argument(args.problem, "problems"))
    settings = _settings(problem, args)
    handlers = MODES[problem.mode]
    if handlers.pareto is None:
        print(
            f"error: {args.problem}: mode: pareto sweeps fused and task-graph problems; use one of those modes",
            file=sys.stderr,
        )
        return EXIT_BAD_INPUT
    points, title = handlers.pareto(problem, settings, args.points)
    axes = handlers.pareto_axes
    table = Table(title=title)
    for column in (*axes, "certified"):
        table.add_column(column.replace("_", " "), justify="right")
    for point in points:
        table.add_row(*(f"{point[a]:,}" for a in axes), "yes" if point["certified"] else "no")
    console.print(table)
    if args.json:
        Path(args.json).write_text(json.dumps({"problem": problem.name, "points": points}, indent=2) + "\n")
    if args.plot and points:
        from mapper.app.plots import plot_pareto

        plot_pareto(points, problem.name, Path(args.plot), args.problem, axes)
        console.print(f"plot written to {args.plot}")
    return 0 if points else 3


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
    import json
    from pathlib import Path

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


def add_solver_options(parser: argparse.ArgumentParser) -> None:
    """``--time-limit``, ``--workers`` and ``--seed``: override the problem's solver settings (``_settings``)."""
    parser.add_argument("--time-limit", type=float, help="seconds (default: the problem's solver.time_limit_s)")
    parser.add_argument("--workers", type=int, help="CP-SAT workers (default: the problem's)")
    parser.add_argument("--seed", type=int, help="random seed (default: the problem's)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="fusesat", description=__doc__)
    parser.add_argument("-v", "--verbose", action="store_true", help="log solver progress")
    sub = parser.add_subparsers(dest="command", required=True)
    solve = sub.add_parser("solve", help="find the optimal mapping of a problem, with its proof")
    solve.add_argument("problem", help="problem YAML file")
    add_solver_options(solve)
    solve.add_argument("--json", help="write the result as JSON (docs/json_schema.md)")
    solve.set_defaults(func=cmd_solve)
    batch = sub.add_parser("batch", help="run a suite of problems in parallel, resumable, into SQLite")
    batch.add_argument("suite", help="suite YAML (docs/batch.md)")
    batch.add_argument("--db", required=True, help="SQLite file; a rerun skips what it already holds")
    batch.add_argument("--workers", type=int, default=1, help="parallel local processes")
    batch.add_argument("--scheduler", help="run on a Dask cluster instead, e.g. tcp://HOST:8786")
    batch.set_defaults(func=cmd_batch)
    results = sub.add_parser("results", help="summarise a batch database, export CSV")
    results.add_argument("db", help="SQLite file written by fusesat batch")
    results.add_argument("--csv", help="write every row as CSV")
    results.add_argument("--json", help="write every row, with its full result, as JSON")
    results.add_argument("--group-by", nargs="*", default=["mode"], help="columns to group by (e.g. mode accelerator)")
    results.set_defaults(func=cmd_results)
    comparison = sub.add_parser("compare", help="every method side by side, each with its gap to the CP-SAT bound")
    comparison.add_argument("problem", help="problem YAML file")
    add_solver_options(comparison)
    comparison.add_argument("--json", help="write the comparison as JSON")
    comparison.set_defaults(func=cmd_compare)
    pareto = sub.add_parser(
        "pareto", help="certified front: latency vs DRAM (fused) or makespan vs memory (task graph)"
    )
    pareto.add_argument("problem", help="problem YAML file (mode: fused or taskgraph)")
    pareto.add_argument("--points", type=int, default=12, help="at most this many points")
    add_solver_options(pareto)
    pareto.add_argument("--json", help="write the points as JSON")
    pareto.add_argument("--plot", help="draw the front to this PNG or SVG (plot extra)")
    pareto.set_defaults(func=cmd_pareto)
    importer = sub.add_parser("import", help="convert an ONNX model into a network YAML (onnx extra)")
    importer.add_argument("model", help="ONNX file")
    importer.add_argument("-o", "--output", required=True, help="network YAML to write")
    importer.set_defaults(func=cmd_import)
    export = sub.add_parser("export", help="write a result as a Chrome/Perfetto trace or a Timeloop mapping")
    export.add_argument("result", help="result JSON written by 'fusesat solve --json'")
    export.add_argument("--format", required=True, choices=["chrome-trace", "timeloop"])
    export.add_argument("-o", "--output", required=True)
    export.set_defaults(func=cmd_export)
    plot = sub.add_parser("plot", help="plot a result (Gantt + memory for task graphs, bars for fused groups)")
    plot.add_argument("result", help="result JSON written by 'fusesat solve --json'")
    plot.add_argument("-o", "--output", required=True, help="PNG or SVG file")
    plot.add_argument(
        "--kind", choices=["gantt", "bars", "glb"], help="default: gantt (task graphs), bars (fused), glb (layer)"
    )
    plot.set_defaults(func=cmd_plot)
    library = sub.add_parser("library", help="list the bundled accelerators, networks, problems and suites")
    library.add_argument("folders", nargs="*", help=f"only these of {', '.join(FOLDERS)}")
    library.set_defaults(func=cmd_library)
    verify = sub.add_parser("verify", help="replay a result's schedule with the referee")
    verify.add_argument("result", help="result JSON written by 'fusesat solve --json'")
    verify.add_argument("--functional", action="store_true", help="also execute the schedule on random tensors")
    verify.set_defaults(func=cmd_verify)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(message)s")
    try:
        return args.func(args)
    except SpecError as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        errors.print("interrupted")
        return 130


if __name__ == "__main__":
    sys.exit(main())
