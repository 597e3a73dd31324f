"""Claims: several runners share one batch database without solving a job twice.

A runner (one ``fusesat batch`` process) claims a job in the ``claims``
table before it hands the job to a worker, in a ``BEGIN IMMEDIATE``
transaction: SQLite lets one writer in at a time, so two runners can never
both see a job unclaimed and take it. A claim names its runner (a random
token), the runner's host and pid, and when it was last renewed. The runner
renews its claims every quarter of the lease while its jobs run, stores
each result and drops its claim in one transaction, and drops the claims
it still holds when it stops.

A claim is dead, and another runner may take the job over, when it was not
renewed for a lease (the runner crashed, or its machine did), or at once
when its runner ran on this host and its pid is gone (a ``kill -9``). A
dead runner that comes back and finishes the job anyway only solved it
twice: results are keyed by job id, so the second is not stored.
"""

from __future__ import annotations

import os
import socket
import sqlite3
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

LEASE_S = 120.0


def host_id() -> str:
    """This machine as claims name it: the host name and, on Linux, the pid
    namespace, so containers that share a host name never judge each other's pids."""
    name = socket.gethostname()
    try:
        return f"{name} {os.readlink('/proc/self/ns/pid')}"
    except OSError:
        return name


def pid_alive(pid) -> bool:
    """Whether a process ``pid`` runs on this host (a zombie does not run)."""
    if not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return True  # no /proc: os.kill said it exists
    return state not in ("Z", "X")


@contextmanager
def immediate(db: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """One write transaction, taken before the first read (``BEGIN IMMEDIATE``)."""
    if db.in_transaction:
        db.commit()
    db.execute("BEGIN IMMEDIATE")
    try:
        yield db
    except BaseException:
        db.rollback()
        raise
    db.commit()


class Claims:
    """The claims of one runner on one database, for the jobs of one suite."""

    def __init__(self, db: sqlite3.Connection, jobs: list, lease_s: float = LEASE_S):
        self.db, self.lease_s = db, lease_s
        self.token, self.host, self.pid = uuid.uuid4().hex, host_id(), os.getpid()
        self.remaining = list(jobs)  # jobs this runner has neither taken nor seen stored
        self.renewed = time.time()

    def live(self, runner: str, host: str, pid, claimed_at, now: float) -> bool:
        """Whether another runner's claim still holds."""
        if not isinstance(claimed_at, (int, float)) or now - claimed_at > self.lease_s:
            return False
        return host != self.host or pid_alive(pid)

    def take(self, count: int) -> list:
        """Claim up to ``count`` jobs, in suite order, that are neither stored
        nor held by a live claim; dead claims are taken over."""
        if count <= 0:
            return []
        taken, keep = [], []
        with immediate(self.db) as db:
            now = time.time()
            held = {row[0]: row[1:] for row in db.execute("SELECT job_id, runner, host, pid, claimed_at FROM claims")}
            for i, job in enumerate(self.remaining):
                if len(taken) == count:
                    keep.extend(self.remaining[i:])
                    break
                if db.execute("SELECT 1 FROM results WHERE job_id = ?", (job.job_id,)).fetchone():
                    continue  # stored: never again
                claim = held.get(job.job_id)
                if claim and self.live(*claim, now):
                    keep.append(job)  # another runner's: perhaps later, if it dies
                else:
                    taken.append(job)
            db.executemany(
                "INSERT OR REPLACE INTO claims (job_id, runner, host, pid, claimed_at) VALUES (?, ?, ?, ?, ?)",
                [(job.job_id, self.token, self.host, self.pid, now) for job in taken],
            )
        self.remaining = keep
        return taken

    def renew(self, force: bool = False) -> None:
        """Renew this runner's claims, every quarter of the lease."""
        now = time.time()
        if force or now - self.renewed >= self.lease_s / 4:
            with immediate(self.db) as db:
                db.execute("UPDATE claims SET claimed_at = ? WHERE runner = ?", (now, self.token))
            self.renewed = now

    def release(self) -> None:
        """Drop every claim of this runner (its jobs go back to the others)."""
        try:
            with immediate(self.db) as db:
                db.execute("DELETE FROM claims WHERE runner = ?", (self.token,))
        except sqlite3.Error:  # a full disk, a lost file: the claims expire with the lease
            pass
