"""Batches: suites of problems run in parallel processes, resumable.

A suite expands into jobs (``mapper.app.suite``). Every finished job is one
row of an SQLite table, committed at once. A rerun skips the ids already
stored, so a killed batch (even kill -9) loses at most the jobs in flight
and never stores a job twice (the id is the primary key). A job that raises
is stored with status ERROR and the batch goes on.
"""

from __future__ import annotations

import json
import socket
import sqlite3
import time
import traceback
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from contextlib import ExitStack
from pathlib import Path

from mapper.app.database import COLUMNS, open_for_writing, translate
from mapper.app.suite import Job, layers_label, load_suite
from mapper.core.errors import SpecError
from mapper.io.loading import parse_problem

__all__ = ["Job", "load_suite", "open_db", "run_batch", "run_job", "store"]


def run_job(job: Job) -> dict:
    """Solve one job (in a worker process); never raises."""
    from mapper.solve.api import solve

    start = time.perf_counter()
    row = {"job_id": job.job_id, "name": job.name, "spec": json.dumps(job.spec, sort_keys=True)}
    row.update(
        mode=job.spec.get("mode"),
        network=str(job.spec.get("network")),
        layers=layers_label(job.spec.get("layers")),
        accelerator=str(job.spec.get("accelerator")),
        glb_words=job.spec.get("glb_words"),
    )
    try:
        problem = parse_problem(job.spec, Path(job.base) / "suite.yaml", source=job.name)
        result = solve(problem)
        metrics = result.metrics
        row.update(
            status=result.status,
            objective=result.objective,
            bound=result.bound,
            gap=result.gap,
            proven_optimal=int(result.proven_optimal),
            latency=metrics.get("latency_cycles", metrics.get("makespan")),
            dram_words=metrics.get("dram_words"),
            result=json.dumps(result.to_json()),
            error=result.explanation,
        )
    except SpecError as err:
        row.update(status="BAD_INPUT", error=str(err))
    except Exception as err:  # a crash is recorded, the batch goes on
        row.update(status="ERROR", error=f"{type(err).__name__}: {err} | {traceback.format_exc(limit=3)}")
    row["wall_s"] = time.perf_counter() - start
    return row


def open_db(path: Path | str) -> sqlite3.Connection:
    """The database a batch commits to; bad paths and files are one-line ``SpecError``s."""
    return open_for_writing(path, "--db")


def store(db: sqlite3.Connection, suite: str, row: dict) -> bool:
    """Insert one finished job and commit; False if it was already stored."""
    values = {**row, "suite": suite, "finished_at": time.strftime("%Y-%m-%dT%H:%M:%S")}
    cursor = db.execute(
        f"INSERT OR IGNORE INTO results ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})",
        [values.get(c) for c in COLUMNS],
    )
    db.commit()
    return cursor.rowcount == 1


def pending_jobs(db: sqlite3.Connection, jobs: list[Job]) -> list[Job]:
    done = {row[0] for row in db.execute("SELECT job_id FROM results")}
    return [job for job in jobs if job.job_id not in done]


def _local_results(todo: list[Job], workers: int):
    if not todo:
        return
    with ProcessPoolExecutor(max_workers=max(1, min(workers, len(todo)))) as pool:
        for future in as_completed([pool.submit(run_job, job) for job in todo]):
            yield future.result()


CONNECT_TIMEOUT_S = 5


def connect_scheduler(scheduler: str):
    """A Dask ``Client`` on the scheduler at ``scheduler`` (the ``distributed``
    extra), or a one-line ``SpecError`` naming the address within a few seconds:
    a TCP connect first, then the Dask handshake, each with a short timeout."""
    try:
        from distributed import Client
    except ImportError:
        raise SpecError(
            scheduler, "--scheduler", "dask.distributed is not installed", "pip install -e '.[distributed]'"
        ) from None
    fix = "start it (dask scheduler) or pass its address, e.g. tcp://HOST:8786"
    address = scheduler.removeprefix("tcp://")
    host, _, port = address.rpartition(":")
    if "://" not in address and host and port.isdigit():
        try:
            socket.create_connection((host.strip("[]"), int(port)), timeout=CONNECT_TIMEOUT_S).close()
        except OSError as err:
            reason = "timed out" if isinstance(err, TimeoutError) else err.strerror or str(err)
            raise SpecError(scheduler, "--scheduler", f"no Dask scheduler answers ({reason})", fix) from None
    try:
        return Client(scheduler, timeout=CONNECT_TIMEOUT_S * 2)
    except ValueError as err:  # an unknown scheme, no port
        raise SpecError(scheduler, "--scheduler", f"not a Dask address ({err})", fix) from None
    except Exception as err:  # a timeout, or a server that speaks another protocol
        detail = f"{type(err).__name__}: {str(err).splitlines()[0][:120]}" if str(err) else type(err).__name__
        raise SpecError(scheduler, "--scheduler", f"no Dask scheduler answers there ({detail})", fix) from None


def _dask_results(todo: list[Job], client):
    """Jobs on a Dask distributed cluster; the workers need fusesat installed.
    Results come back here, one at a time."""
    from distributed import as_completed as dask_completed

    for future in dask_completed(client.map(run_job, todo, pure=False)):
        yield future.result()


def run_batch(
    suite_path: Path | str,
    db_path: Path | str,
    workers: int = 1,
    on_event: Callable[[str, dict], None] | None = None,
    scheduler: str | None = None,
) -> dict:
    """Run every job of the suite not yet in the database, in local processes or
    on the Dask scheduler at ``scheduler``. ``on_event(kind, info)`` reports
    'start' (total, skipped) and 'done' (the stored row). Only this process
    writes the database."""
    suite, jobs = load_suite(suite_path)
    jobs = list({job.job_id: job for job in jobs}.values())  # a problem listed twice is one job
    with ExitStack() as stack:
        client = stack.enter_context(connect_scheduler(scheduler)) if scheduler else None  # before the database
        db = open_db(db_path)
        stack.callback(db.close)
        todo = pending_jobs(db, jobs)
        notify = on_event or (lambda kind, info: None)
        notify("start", {"total": len(jobs), "skipped": len(jobs) - len(todo), "todo": len(todo)})
        counts = {"stored": 0, "failed": 0}
        results = _dask_results(todo, client) if client else _local_results(todo, workers)
        for row in results:
            try:
                stored = store(db, suite, row)
            except sqlite3.Error as err:  # e.g. the disk filled up: what is committed stays
                raise translate(err, str(db_path), "--db") from None
            if stored:
                counts["stored"] += 1
                counts["failed"] += row["status"] in ("ERROR", "BAD_INPUT")
            notify("done", row)
    return {"suite": suite, "jobs": len(jobs), "skipped": len(jobs) - len(todo), **counts}
