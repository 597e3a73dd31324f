"""Batches: suites of problems run in parallel processes, resumable, and
shared by any number of runners on one database.

A suite expands into jobs (``mapper.app.suite``). Every finished job is one
row of an SQLite table, committed at once; the job id is the primary key, so
no job is ever stored twice. A runner claims each job before it runs it
(``mapper.app.batch_claims``), so two ``fusesat batch`` on one database
share the jobs instead of both solving every one, and a rerun skips the ids
already stored. SIGINT or SIGTERM stops a batch: what is done is committed,
the workers are killed, the claims are dropped (``Interrupted``). A killed
batch (even kill -9) loses at most the jobs in flight; its workers die with
it (``mapper.app.batch_runners``). A job that raises is stored with status
ERROR and the batch goes on.
"""

from __future__ import annotations

import contextlib
import json
import signal
import sqlite3
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

from mapper.app.batch_claims import LEASE_S, Claims, immediate
from mapper.app.batch_runners import DaskRunner, LocalRunner, connect_scheduler
from mapper.app.database import COLUMNS, open_for_writing, translate
from mapper.app.suite import Job, layers_label, load_suite
from mapper.core.errors import SpecError
from mapper.io.loading import parse_problem

__all__ = ["Interrupted", "Job", "load_suite", "open_db", "run_batch", "run_job", "store"]

FAILED = ("ERROR", "BAD_INPUT")
POLL_S = 1.0  # how often a waiting runner looks for jobs freed by a dead runner


class Interrupted(KeyboardInterrupt):
    """SIGINT or SIGTERM stopped a batch; ``summary`` says what it did first."""

    def __init__(self, signum: int):
        super().__init__(signal.Signals(signum).name)
        self.signum, self.summary = signum, {}


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
    """Insert one finished job and drop its claim, in one transaction; False if it was already stored."""
    values = {**row, "suite": suite, "finished_at": time.strftime("%Y-%m-%dT%H:%M:%S")}
    with immediate(db):
        cursor = db.execute(
            f"INSERT OR IGNORE INTO results ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})",
            [values.get(c) for c in COLUMNS],
        )
        db.execute("DELETE FROM claims WHERE job_id = ?", (row["job_id"],))
    return cursor.rowcount == 1


def stored_ids(db: sqlite3.Connection, jobs: list[Job]) -> set[str]:
    ids = {job.job_id for job in jobs}
    return {row[0] for row in db.execute("SELECT job_id FROM results") if row[0] in ids}


def _local_results(workers: int) -> LocalRunner:
    return LocalRunner(run_job, workers)


class _SignalGate:
    """SIGINT and SIGTERM raise ``Interrupted`` once; inside ``held()`` (a
    result being committed and counted) the raise waits for the block's end,
    so a stored row is always a counted one."""

    def __init__(self):
        self.fired, self.raised, self.holding = None, False, 0

    def handler(self, signum, frame) -> None:
        if self.fired is None:
            self.fired = signum
        if not self.holding:
            self._raise()

    def _raise(self) -> None:
        if self.fired is not None and not self.raised:
            self.raised = True
            raise Interrupted(self.fired)

    @contextmanager
    def held(self) -> Iterator[None]:
        self.holding += 1
        try:
            yield
        finally:
            self.holding -= 1
        if not self.holding:
            self._raise()


@contextmanager
def _stop_on_signals() -> Iterator[_SignalGate]:
    """The gate of SIGINT and SIGTERM (in the main thread only; elsewhere a
    gate that never fires); later signals are ignored until the batch has stopped."""
    gate = _SignalGate()
    if threading.current_thread() is not threading.main_thread():
        yield gate
        return
    previous = {s: signal.signal(s, gate.handler) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield gate
    finally:
        for s, h in previous.items():
            signal.signal(s, h)


def _drive(db, suite: str, jobs: list[Job], runner, notify, lease_s: float, gate: _SignalGate) -> dict:
    done_before = stored_ids(db, jobs)
    claims = Claims(db, [job for job in jobs if job.job_id not in done_before], lease_s)
    counts = {"suite": suite, "jobs": len(jobs), "skipped": len(done_before), "solved": 0, "stored": 0, "failed": 0}
    notify("start", {"total": len(jobs), "skipped": len(done_before), "todo": len(claims.remaining)})

    def keep(row: dict) -> None:
        with gate.held():
            counts["solved"] += 1
            if store(db, suite, row):
                counts["stored"] += 1
                counts["failed"] += row["status"] in FAILED
        notify("done", row)

    def summary() -> dict:
        now = stored_ids(db, jobs)
        return {**counts, "by_others": len(now) - counts["skipped"] - counts["stored"], "left": len(jobs) - len(now)}

    try:
        while True:
            for job in claims.take(runner.capacity - len(runner.running)):
                runner.submit(job)
            if not runner.running:
                return summary()
            with gate.held():  # a row taken from a worker is stored before a signal stops the batch
                for row in runner.finished(min(POLL_S, lease_s / 4)):
                    keep(row)
            claims.renew()
    except Interrupted as stop:
        if db.in_transaction:
            db.rollback()
        with contextlib.suppress(Exception):  # a worker that died: its job is lost anyway
            for row in runner.finished(0, block=False):  # done, not yet stored: commit it
                keep(row)
        stop.summary = summary()
        raise
    finally:
        try:
            runner.stop()
        finally:
            claims.release()


def run_batch(
    suite_path: Path | str,
    db_path: Path | str,
    workers: int = 1,
    on_event: Callable[[str, dict], None] | None = None,
    scheduler: str | None = None,
    lease_s: float = LEASE_S,
) -> dict:
    """Run every job of the suite that is neither stored nor claimed by a live
    runner, in local processes or on the Dask scheduler at ``scheduler``.
    ``on_event(kind, info)`` reports 'start' (total, skipped, todo) and 'done'
    (each row solved here). The summary counts the jobs: skipped (stored
    before), solved and stored here, stored by other runners meanwhile
    (by_others), and left (neither: still running in another runner)."""
    suite, jobs = load_suite(suite_path)
    jobs = list({job.job_id: job for job in jobs}.values())  # a problem listed twice is one job
    with ExitStack() as stack:
        gate = stack.enter_context(_stop_on_signals())
        client = stack.enter_context(connect_scheduler(scheduler)) if scheduler else None  # before the database
        db = open_db(db_path)
        stack.callback(db.close)
        runner = DaskRunner(run_job, client) if client else _local_results(workers)
        try:
            return _drive(db, suite, jobs, runner, on_event or (lambda kind, info: None), lease_s, gate)
        except sqlite3.Error as err:  # e.g. the disk filled up: what is committed stays
            raise translate(err, str(db_path), "--db") from None
