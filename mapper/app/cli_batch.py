"""``fusesat batch`` and ``fusesat results``: run a suite into SQLite, summarise the database."""

from __future__ import annotations

from mapper.app.options import write_output
from mapper.app.terminal import console, errors
from mapper.core.enums import Status
from mapper.core.errors import SpecError
from mapper.io.library import resolve_argument


def _report(summary: dict, db: str) -> str:
    """What a runner did, on one line (a test reads the counts)."""
    text = (
        f"suite {summary['suite']}: solved {summary['solved']} here, stored {summary['stored']} new results "
        f"({summary['failed']} failed), "
    )
    if summary["by_others"]:
        text += f"{summary['by_others']} stored by other runners, "
    text += f"skipped {summary['skipped']} already stored"
    if summary["left"]:
        text += f", {summary['left']} not stored (running elsewhere or interrupted: rerun to finish them)"
    return f"{text}; results in {db}"


def cmd_batch(args) -> int:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from mapper.app.batch import Interrupted, run_batch

    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    try:
        hidden = args.quiet or not errors.is_terminal
        with Progress(*columns, console=errors, transient=True, disable=hidden) as progress:
            state = {"task": None, "failed": 0, "done": 0}

            def on_event(kind: str, info: dict) -> None:
                if kind == "start":
                    console.print(f"{info['total']} problems, {info['skipped']} already stored, {info['todo']} to run")
                    state["task"] = progress.add_task("solving", total=info["todo"])
                    return
                state["done"] += 1
                state["failed"] += info["status"] in ("ERROR", "BAD_INPUT")
                progress.update(state["task"], advance=1, description=f"solving (failed {state['failed']})")

            summary = run_batch(resolve_argument(args.suite, "suites"), args.db, args.workers, on_event, args.scheduler)
    except Interrupted as stop:
        errors.print(f"interrupted by {stop}: the finished results are stored, the running ones dropped")
        if stop.summary:
            console.print(_report(stop.summary, args.db))
        return 128 + stop.signum
    console.print(_report(summary, args.db))
    return 0


def cmd_results(args) -> int:
    import csv
    import io
    import json
    import statistics

    from rich.table import Table

    from mapper.app.database import COLUMNS, open_for_reading, read_rows

    db, columns = open_for_reading(args.db)
    unknown = [c for c in args.group_by if c not in columns]
    if unknown:
        db.close()
        raise SpecError(args.db, "--group-by", f"no column {unknown[0]!r}", f"use one of {', '.join(columns)}")
    rows = read_rows(db, args.db)
    db.close()
    if args.csv:
        text = io.StringIO(newline="")
        writer = csv.DictWriter(text, fieldnames=[c for c in COLUMNS if c not in ("spec", "result")])
        writer.writeheader()
        writer.writerows({k: v for k, v in r.items() if k not in ("spec", "result")} for r in rows)
        write_output(args.csv, text.getvalue(), "--csv", newline="")
        console.print(f"{len(rows)} rows written to {args.csv}")
    if args.json:
        records = [
            {**{k: v for k, v in r.items() if k not in ("spec", "result")}, "result": json.loads(r["result"] or "null")}
            for r in rows
        ]
        write_output(args.json, json.dumps(records, indent=2) + "\n", "--json")
        console.print(f"{len(rows)} rows written to {args.json}")
    groups: dict[tuple, list[dict]] = {}
    for r in rows:
        groups.setdefault(tuple(str(r[k]) for k in args.group_by), []).append(r)
    table = Table(title=f"{args.db}: {len(rows)} results")
    for column in (
        *args.group_by,
        "problems",
        "proven optimal",
        "feasible",
        "infeasible",
        "failed",
        "median s",
        "max s",
    ):
        table.add_column(column, justify="right")
    for key, members in sorted(groups.items()):
        times = [m["wall_s"] or 0 for m in members]
        table.add_row(
            *key,
            str(len(members)),
            str(sum(bool(m["proven_optimal"]) for m in members)),
            str(sum(m["status"] == Status.FEASIBLE for m in members)),
            str(sum(m["status"] == Status.INFEASIBLE for m in members)),
            str(sum(m["status"] in ("ERROR", "BAD_INPUT") for m in members)),
            f"{statistics.median(times):.2f}",
            f"{max(times):.2f}",
        )
    console.print(table)
    return 0
