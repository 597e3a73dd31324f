"""The batch database, opened in one place: ``open_for_writing`` (``fusesat
batch --db``) and ``open_for_reading`` (``fusesat results``) turn sqlite3's
errors into one-line ``SpecError``s naming the file, before any solve starts.

An empty file is an empty database: a fresh one for ``batch``, no rows for
``results``. ``results`` never writes; in a folder it cannot write (where
SQLite cannot make its shared-memory file) it reads the file as immutable.
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

from mapper.app.options import check_output_path
from mapper.core.errors import SpecError

COLUMNS = (
    "job_id",
    "suite",
    "name",
    "mode",
    "network",
    "layers",
    "accelerator",
    "glb_words",
    "status",
    "objective",
    "bound",
    "gap",
    "proven_optimal",
    "latency",
    "dram_words",
    "wall_s",
    "error",
    "spec",
    "result",
    "finished_at",
)
SCHEMA = f"CREATE TABLE IF NOT EXISTS results ({', '.join(COLUMNS)}, PRIMARY KEY (job_id))"
# Jobs a runner is solving (mapper.app.batch_claims); a database of an older
# version has no such table and gets it when a batch opens it.
CLAIM_COLUMNS = ("job_id", "runner", "host", "pid", "claimed_at")
CLAIMS_SCHEMA = f"CREATE TABLE IF NOT EXISTS claims ({', '.join(CLAIM_COLUMNS)}, PRIMARY KEY (job_id))"
BUSY_TIMEOUT_S = 30  # how long a runner waits for another's transaction (each lasts milliseconds)


def translate(err: sqlite3.Error, path: str, option: str) -> SpecError:
    """sqlite3's exception as a one-line error naming the database file."""
    text = str(err)
    if "not a database" in text:
        return SpecError(path, option, "not an SQLite database", "pass a database written by fusesat batch")
    if "readonly" in text or "read-only" in text:
        return SpecError(path, option, "the database is read-only", "make it writable or pass another file")
    if "locked" in text or "busy" in text:
        return SpecError(path, option, "the database is locked by another process", "wait for it or use another file")
    if "unable to open" in text:
        return SpecError(path, option, "SQLite cannot open it", "check that the file and its folder are writable")
    return SpecError(path, option, f"SQLite error: {text}", "check the file, or pass another one")


def table_columns(db: sqlite3.Connection, path: str, option: str) -> tuple[str, ...] | None:
    """The columns of the results table; None when the database holds no tables
    at all (an empty file). Another database's tables are refused."""
    tables = [row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
    if not tables:
        return None
    if "results" not in tables:
        problem = f"not a fusesat results database (tables: {', '.join(tables)})"
        raise SpecError(path, option, problem, "pass a file written by fusesat batch")
    columns = tuple(row[1] for row in db.execute("PRAGMA table_info(results)"))
    missing = [c for c in COLUMNS if c not in columns]
    if missing:
        raise SpecError(
            path,
            option,
            f"the results table lacks the column(s) {', '.join(missing)}",
            "pass a file written by this version of fusesat batch, or a new file",
        )
    return columns


def _check_claims(db: sqlite3.Connection, path: str, option: str) -> None:
    columns = tuple(row[1] for row in db.execute("PRAGMA table_info(claims)"))
    missing = [c for c in CLAIM_COLUMNS if columns and c not in columns]
    if missing:
        problem = f"the claims table lacks the column(s) {', '.join(missing)}"
        raise SpecError(path, option, problem, "drop the claims table (no batch may run on it) or pass a new file")


def _write_ahead_log(db: sqlite3.Connection) -> None:
    """WAL mode (readers never wait for the writer). Turning it on needs the file
    alone, and SQLite refuses at once rather than wait while another runner opens
    the same new database: try again for up to ``BUSY_TIMEOUT_S``."""
    deadline = time.monotonic() + BUSY_TIMEOUT_S
    while True:
        try:
            db.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as err:
            if "locked" not in str(err) or time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def open_for_writing(path: Path | str, option: str = "--db") -> sqlite3.Connection:
    """Open (or create) the database a batch commits to, and prove it writable now."""
    path = str(path)
    check_output_path(path, option)
    try:
        db = sqlite3.connect(path, timeout=BUSY_TIMEOUT_S)
        try:
            table_columns(db, path, option)
            _check_claims(db, path, option)
            _write_ahead_log(db)
            db.execute(SCHEMA)
            db.execute(CLAIMS_SCHEMA)
            version = db.execute("PRAGMA user_version").fetchone()[0]
            db.execute(f"PRAGMA user_version = {int(version)}")  # a write: a read-only file fails here
            db.commit()
        except BaseException:
            db.close()
            raise
    except sqlite3.Error as err:
        raise translate(err, path, option) from None
    return db


def _connect_read_only(path: Path) -> sqlite3.Connection:
    uri = path.resolve().as_uri()
    try:
        db = sqlite3.connect(f"{uri}?mode=ro", uri=True)
        db.execute("SELECT name FROM sqlite_master").fetchall()
        return db
    except sqlite3.OperationalError as err:
        if "unable to open" not in str(err):
            raise
    return sqlite3.connect(f"{uri}?immutable=1", uri=True)  # a folder SQLite cannot write to


def open_for_reading(path: Path | str, option: str = "<file>") -> tuple[sqlite3.Connection, tuple[str, ...]]:
    """The database and its results columns (``COLUMNS`` for an empty file) for reading."""
    text = str(path)
    path = Path(path)
    if path.is_dir():
        raise SpecError(text, option, "is a folder, not a results database", "pass the file of fusesat batch --db")
    if not path.exists():
        raise SpecError(text, option, "no such results database", "run fusesat batch first")
    try:
        db = _connect_read_only(path)
        columns = table_columns(db, text, option)
    except sqlite3.Error as err:
        raise translate(err, text, option) from None
    return db, columns or COLUMNS


def read_rows(db: sqlite3.Connection, path: str, option: str = "<file>") -> list[dict]:
    """Every stored row as a dict of ``COLUMNS``; none when the database is empty."""
    if not db.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'results'").fetchone():
        return []
    try:
        rows = db.execute(f"SELECT {', '.join(COLUMNS)} FROM results").fetchall()
    except sqlite3.Error as err:
        raise translate(err, path, option) from None
    return [dict(zip(COLUMNS, row, strict=True)) for row in rows]
