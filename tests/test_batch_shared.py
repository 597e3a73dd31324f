"""Batches shared and stopped (issue 17): two runners on one database solve
each job once between them; a dead runner's claims are taken over; SIGTERM
commits what is done and stops the workers; kill -9 of a batch leaves no
worker behind."""

from __future__ import annotations

import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from test_batch import GLB_SIZES, stored, stored_so_far, write_suite

from mapper.app.batch import open_db, run_batch
from mapper.app.batch_claims import LEASE_S, Claims, host_id
from mapper.app.database import SCHEMA
from mapper.app.suite import load_suite

ROOT = Path(__file__).resolve().parent.parent
DEADLINE_S = 90  # generous: the machine is shared; every wait below polls and ends as soon as it can


def batch(suite: Path, db: Path, workers: int = 1) -> subprocess.Popen:
    """``fusesat batch`` in a session of its own (its process group id is its pid)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-m", "mapper.app.cli", "batch", str(suite), "--db", str(db), "--workers", str(workers)]
    return subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, start_new_session=True
    )


def counts(out: str) -> dict[str, int]:
    """The runner's own account of its jobs, from its last line."""
    text = " ".join(out.split())  # the console may wrap the line
    match = re.search(r"solved (\d+) here, stored (\d+) new results .* skipped (\d+) already stored", text)
    assert match, out
    return dict(zip(("solved", "stored", "skipped"), map(int, match.groups()), strict=True))


def running() -> dict[int, tuple[str, int, int]]:
    """Every process that still runs: pid -> (state, parent pid, process group); zombies are dead."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue  # it ended while we looked
        if fields[0] not in ("Z", "X"):
            found[int(entry.name)] = (fields[0], int(fields[1]), int(fields[2]))
    return found


def wait_until(condition, what: str):
    deadline = time.time() + DEADLINE_S
    while time.time() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"not within {DEADLINE_S} s: {what}")


def claims(db: Path) -> list[tuple]:
    if not db.exists():
        return []
    try:
        with sqlite3.connect(db) as conn:
            return list(conn.execute("SELECT job_id, runner, host, pid, claimed_at FROM claims"))
    except sqlite3.OperationalError:  # not made yet
        return []


def workers_of(pid: int) -> list[int]:
    return [child for child, (_, parent, _) in running().items() if parent == pid]


def test_two_runners_on_one_database_solve_every_job_once_between_them(tmp_path):
    """Before the claims, both runners solved all 12 jobs and one's results were dropped."""
    suite, db = write_suite(tmp_path), tmp_path / "r.sqlite"
    first, second = batch(suite, db), batch(suite, db)
    outputs = [process.communicate(timeout=DEADLINE_S * 2) for process in (first, second)]
    assert [first.returncode, second.returncode] == [0, 0], outputs
    solved = [counts(out) for out, _ in outputs]
    rows = stored(db)
    assert len(rows) == len({job for job, _ in rows}) == len(GLB_SIZES)
    assert sum(c["solved"] for c in solved) == len(GLB_SIZES), solved
    assert [c["stored"] for c in solved] == [c["solved"] for c in solved]
    assert all(c["solved"] > 0 for c in solved), f"the runners must overlap to share: {solved}"
    assert claims(db) == []


SWEEP3 = {
    "mode": "layer",
    "network": "resnet18",
    "layers": ["layer4_0_down"],
    "accelerator": "eyeriss_like",
    "glb_words": GLB_SIZES[:3],
}


def test_dead_and_expired_claims_are_taken_over_and_live_ones_left_alone(tmp_path):
    """An old database (no claims table) gets one; a claim of a dead pid on this host
    or one older than the lease is taken over; a fresh one of another host is not."""
    suite, db = write_suite(tmp_path, sweeps=[SWEEP3]), tmp_path / "r.sqlite"
    _, jobs = load_suite(suite)
    with sqlite3.connect(db) as conn:
        conn.execute(SCHEMA)  # the schema of a database written before the claims
    ended = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead_pid, now = int(ended.stdout), time.time()
    conn = open_db(db)
    conn.executemany(
        "INSERT INTO claims VALUES (?, ?, ?, ?, ?)",
        [
            (jobs[0].job_id, "crashed", "elsewhere", 1, now - 2 * LEASE_S),  # expired
            (jobs[1].job_id, "killed", host_id(), dead_pid, now),  # this host, its pid gone
            (jobs[2].job_id, "busy", "elsewhere", 1, now),  # live
        ],
    )
    conn.commit()
    conn.close()
    summary = run_batch(suite, db)
    assert (summary["solved"], summary["stored"], summary["left"]) == (2, 2, 1)
    assert sorted(job for job, _ in stored(db)) == sorted(j.job_id for j in jobs[:2])
    assert [claim[1] for claim in claims(db)] == ["busy"]
    with sqlite3.connect(db) as conn:  # the busy runner stopped renewing its claim
        conn.execute("UPDATE claims SET claimed_at = ?", (now - 2 * LEASE_S,))
    again = run_batch(suite, db)
    assert (again["skipped"], again["solved"], again["left"]) == (2, 1, 0) and claims(db) == []


def test_sigterm_commits_what_is_done_and_stops_the_workers(tmp_path):
    suite, db = write_suite(tmp_path), tmp_path / "r.sqlite"
    process = batch(suite, db, workers=2)
    wait_until(lambda: len(workers_of(process.pid)) == 2 and stored_so_far(db), "two workers and a stored result")
    workers = workers_of(process.pid)
    os.killpg(process.pid, signal.SIGTERM)  # as a job scheduler does: the workers get it too, and leave it to the batch
    out, err = process.communicate(timeout=DEADLINE_S)
    assert process.returncode == 128 + signal.SIGTERM and "interrupted by SIGTERM" in err, (out, err)
    assert not set(workers) & set(running())
    rows = stored(db)
    assert len(rows) == len({job for job, _ in rows}) == counts(out)["stored"]
    assert len(rows) < len(GLB_SIZES), "the signal must land mid-batch"
    assert claims(db) == []  # dropped: another runner takes the lost jobs at once


def test_kill_9_of_a_batch_leaves_no_worker_behind(tmp_path):
    """Before, the pool's workers lived on as orphans, solving for nobody."""
    suite, db = write_suite(tmp_path), tmp_path / "r.sqlite"
    process = batch(suite, db, workers=2)
    wait_until(lambda: len(workers_of(process.pid)) == 2 and claims(db), "two workers and a claimed job")
    workers = workers_of(process.pid)
    os.kill(process.pid, signal.SIGKILL)  # the batch alone: its workers must go by themselves
    process.communicate(timeout=DEADLINE_S)

    def gone():
        alive = running()
        return not set(workers) & set(alive) and not [p for p, (_, _, group) in alive.items() if group == process.pid]

    wait_until(gone, f"the workers {workers} of the killed batch exit")
    held = claims(db)
    assert held and {claim[3] for claim in held} == {process.pid}
    _, jobs = load_suite(suite)
    conn = open_db(db)
    taken = Claims(conn, jobs).take(len(jobs))  # a dead pid on this host: taken over at once
    conn.close()
    assert {claim[0] for claim in held} <= {job.job_id for job in taken}
    assert len(taken) == len(jobs) - len(stored(db))


def test_a_signal_while_a_result_is_committed_waits_for_the_commit_and_its_count():
    """CI caught the race: SIGTERM landed between a row's commit and its count,
    so the database held 2 rows and the summary said 1 stored."""
    from mapper.app.batch import Interrupted, _SignalGate

    gate, steps = _SignalGate(), []
    try:
        with gate.held():
            with gate.held():
                gate.handler(signal.SIGTERM, None)
                steps.append("committed")
            steps.append("counted")
        steps.append("not reached")
    except Interrupted as stop:
        assert stop.signum == signal.SIGTERM
    assert steps == ["committed", "counted"]
    gate.handler(signal.SIGINT, None)  # a second signal: ignored until the batch has stopped
    with gate.held():
        steps.append("kept while stopping")
    assert steps[-1] == "kept while stopping"
    gate.handler(signal.SIGTERM, None)  # a gate raises once: this would fail the test by raising
