"""Hostile databases (issue 17): ``fusesat results`` and ``fusesat batch --db``
on files that are not databases, empty files, unwritable locations and
folders give one ``error:`` line naming the file, never a traceback."""

from __future__ import annotations

import sqlite3

import pytest
from test_batch import write_suite
from test_hostile_cli import lock, no_solve, refused, unlock  # noqa: F401  (no_solve: a fixture used by name)

from mapper.app.batch import open_db, store
from mapper.app.cli import main
from mapper.app.database import COLUMNS, translate
from mapper.core.errors import SpecError

ROW = {"job_id": "j1", "name": "p", "mode": "layer", "accelerator": "a", "status": "OPTIMAL", "wall_s": 0.5}


def database(path):
    db = open_db(path)
    store(db, "t", ROW)
    db.close()
    return path


def test_results_on_a_file_that_is_not_a_database(tmp_path, capsys):
    path = tmp_path / "notes.sqlite"
    path.write_text("hello, not a database\n")
    refused(capsys, ["results", str(path)], str(path), "not an SQLite database")


def test_results_on_an_empty_file_is_an_empty_result_set(tmp_path, capsys):
    path = tmp_path / "empty.sqlite"
    path.write_bytes(b"")
    assert main(["results", str(path), "--group-by", "status"]) == 0
    assert "0 results" in capsys.readouterr().out
    assert path.read_bytes() == b""  # results never writes


def test_results_on_a_folder_or_a_missing_file(tmp_path, capsys):
    refused(capsys, ["results", str(tmp_path)], str(tmp_path), "is a folder")
    refused(capsys, ["results", str(tmp_path / "none.sqlite")], "no such results database")


def test_results_on_another_database(tmp_path, capsys):
    path = tmp_path / "other.sqlite"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE t (x)")
    refused(capsys, ["results", str(path)], str(path), "not a fusesat results database")
    path.unlink()
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE results (job_id, status)")
    refused(capsys, ["results", str(path)], str(path), "lacks the column(s) suite")


def test_results_group_by_accepts_only_the_columns(tmp_path, capsys):
    """A KeyError before."""
    path = database(tmp_path / "r.sqlite")
    err = refused(capsys, ["results", str(path), "--group-by", "mode", "nosuch"], "--group-by", "'nosuch'")
    assert ", ".join(COLUMNS) in err
    assert main(["results", str(path), "--group-by", "mode", "accelerator"]) == 0
    assert "1 results" in " ".join(capsys.readouterr().out.split())  # the title may wrap


def test_results_in_an_unwritable_folder_and_on_an_unwritable_file(tmp_path, capsys):
    folder = tmp_path / "archive"
    folder.mkdir()
    path = database(folder / "r.sqlite")
    for leftover in folder.glob("r.sqlite-*"):
        leftover.unlink()
    if not (lock(path) and lock(folder)):
        unlock(path)
        unlock(folder)
        pytest.skip("cannot make a location unwritable here")
    try:
        assert main(["results", str(path)]) == 0
        assert "1 results" in " ".join(capsys.readouterr().out.split())  # the title may wrap
    finally:
        unlock(folder)
        unlock(path)


@pytest.mark.usefixtures("no_solve")
def test_batch_db_that_is_not_a_database_is_refused_before_any_solve(tmp_path, capsys):
    path = tmp_path / "notes.txt"
    path.write_text("hello\n")
    refused(capsys, ["batch", str(write_suite(tmp_path)), "--db", str(path)], str(path), "--db", "not an SQLite")
    assert path.read_text() == "hello\n"


@pytest.mark.usefixtures("no_solve")
def test_batch_db_of_another_program_is_refused(tmp_path, capsys):
    path = tmp_path / "other.sqlite"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE t (x)")
    refused(capsys, ["batch", str(write_suite(tmp_path)), "--db", str(path)], "not a fusesat results database")


def test_batch_db_on_an_empty_file_is_a_fresh_database(tmp_path):
    path = tmp_path / "fresh.sqlite"
    path.write_bytes(b"")
    db = open_db(path)
    assert db.execute("SELECT COUNT(*) FROM results").fetchone() == (0,)
    db.close()


@pytest.mark.parametrize("where", ["missing folder", "folder", "unwritable folder", "unwritable file"])
@pytest.mark.usefixtures("no_solve")
def test_batch_db_where_it_cannot_be_written(tmp_path, capsys, where):
    suite = write_suite(tmp_path)
    folder = tmp_path / "store"
    folder.mkdir()
    path, needle = folder / "r.sqlite", "cannot be written"
    if where == "missing folder":
        path, needle = tmp_path / "nowhere" / "r.sqlite", "does not exist"
    elif where == "folder":
        path, needle = folder, "is a folder"
    elif where == "unwritable file":
        database(path)
    locked = [p for p in (path, folder) if where.startswith("unwritable") and p.exists()]
    if not all(lock(p) for p in locked):
        pytest.skip("cannot make a location unwritable here")
    try:
        refused(capsys, ["batch", str(suite), "--db", str(path)], "--db", str(path), needle)
    finally:
        for p in locked:
            unlock(p)


@pytest.mark.parametrize(
    "message,needle",
    [
        ("attempt to write a readonly database", "read-only"),
        ("database is locked", "locked by another process"),
        ("unable to open database file", "cannot open"),
        ("disk I/O error", "SQLite error: disk I/O error"),
    ],
)
def test_sqlite_errors_are_translated_to_one_line(message, needle):
    err = translate(sqlite3.OperationalError(message), "r.sqlite", "--db")
    assert isinstance(err, SpecError) and needle in str(err) and str(err).startswith("r.sqlite: --db: ")
    assert "\n" not in str(err)
