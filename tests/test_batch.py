"""Batches: every problem stored once, reruns skip, failures recorded, and a
batch killed with SIGKILL resumes without losing or duplicating results."""

from __future__ import annotations

import datetime
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from mapper.app.batch import load_suite, open_db, run_batch
from mapper.app.cli import main
from mapper.io.library import library_root

GLB_SIZES = [8192 + 1024 * i for i in range(12)]
SWEEP = {"mode": "layer", "network": "resnet18", "layers": ["layer4_0_down"], "accelerator": "eyeriss_like"}


def write_suite(tmp_path, **extra):
    """A suite of the layer4_0_down sweep; divisor factors, since the batch and not the map
    space is under test (about 1 s a solve, against 5 s with the uneven splits)."""
    suite = {
        "name": "t",
        "solver": {"time_limit_s": 20, "workers": 1, "seed": 0, "factors": "divisors"},
        "sweeps": [
            {
                "mode": "layer",
                "network": "resnet18",
                "layers": ["layer4_0_down"],
                "accelerator": "eyeriss_like",
                "glb_words": GLB_SIZES,
            }
        ],
    }
    suite.update(extra)
    path = tmp_path / "suite.yaml"
    path.write_text(yaml.safe_dump(suite))
    return path


def stored(db_path) -> list[tuple[str, str]]:
    with sqlite3.connect(db_path) as db:
        return list(db.execute("SELECT job_id, status FROM results"))


def stored_so_far(db_path) -> list[tuple[str, str]]:
    """What a running batch has committed: nothing while its database file or table is still being made."""
    if not db_path.exists():
        return []
    try:
        return stored(db_path)
    except sqlite3.OperationalError:  # the file exists, the results table not yet
        return []


def short_suite(tmp_path, sizes: list[int], **extra):
    """The suite with the first ``sizes`` of the GLB sweep only: for the tests whose
    claim does not depend on the number of jobs (each job is a real solve)."""
    return write_suite(tmp_path, sweeps=[{**SWEEP, "glb_words": sizes}], **extra)


@pytest.fixture(scope="module")
def swept(tmp_path_factory):
    """The 12-job suite run once with 2 workers: (suite, database, summary), shared
    by the test of that run and its rerun and the test that reads its results."""
    folder = tmp_path_factory.mktemp("swept")
    suite, db = write_suite(folder), folder / "r.sqlite"
    return suite, db, run_batch(suite, db, workers=2)


def test_suite_runs_once_and_reruns_skip(swept):
    suite, db, first = swept
    assert first["stored"] == len(GLB_SIZES) and first["failed"] == 0
    second = run_batch(suite, db, workers=2)
    assert second["stored"] == 0 and second["skipped"] == len(GLB_SIZES)
    rows = stored(db)
    assert len(rows) == len({job for job, _ in rows}) == len(GLB_SIZES)
    assert {status for _, status in rows} == {"OPTIMAL"}


def test_a_failing_problem_is_recorded_and_the_batch_goes_on(tmp_path):
    bad = {"mode": "layer", "network": "resnet18", "layers": ["no_such_layer"], "accelerator": "eyeriss_like"}
    (tmp_path / "bad.yaml").write_text(yaml.safe_dump(bad))
    sizes = GLB_SIZES[:2]  # the bad problem runs first (problems before sweeps); both solves follow it
    suite, db = short_suite(tmp_path, sizes, problems=["bad.yaml"]), tmp_path / "r.sqlite"
    summary = run_batch(suite, db)
    assert summary["stored"] == len(sizes) + 1 and summary["failed"] == 1
    statuses = [status for _, status in stored(db)]
    assert statuses.count("BAD_INPUT") == 1 and statuses.count("OPTIMAL") == len(sizes)


def test_killed_batch_resumes_without_loss_or_duplicates(tmp_path):
    sizes = GLB_SIZES[:4]  # killed right after its first commit, each later job a solve of a second or so
    suite, db = short_suite(tmp_path, sizes), tmp_path / "r.sqlite"
    command = [sys.executable, "-m", "mapper.app.cli", "batch", str(suite), "--db", str(db), "--workers", "1"]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.time() + 60
    while time.time() < deadline and not stored_so_far(db):
        time.sleep(0.05)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    partial = stored(db)
    assert 0 < len(partial) < len(sizes), "the kill must land mid-batch"
    summary = run_batch(suite, db)
    assert summary["skipped"] == len(partial)
    rows = stored(db)
    _, jobs = load_suite(suite)
    assert sorted(job for job, _ in rows) == sorted(j.job_id for j in jobs)


def test_results_summary_and_csv(swept, tmp_path, capsys):
    _, db, _ = swept
    out = tmp_path / "r.csv"
    assert main(["results", str(db), "--csv", str(out), "--group-by", "mode", "accelerator"]) == 0
    lines = out.read_text().splitlines()
    assert len(lines) == len(GLB_SIZES) + 1 and lines[0].startswith("job_id,suite,name")
    assert "eyeriss_like" in capsys.readouterr().out


def smoke_subset(folder) -> Path:
    """The bundled smoke suite with one point per sweep axis value: its two problems
    (task graph, fused), LeNet-5 C1 on both accelerators, and one GLB size of the
    ResNet-18 layer; 5 jobs instead of 11, every mode and kind of job kept. Each job
    is a solve run twice (locally and on Dask); that Dask returns what local
    processes do does not depend on how many there are."""
    smoke = library_root() / "suites" / "smoke.yaml"
    data = yaml.safe_load(smoke.read_text())
    data["problems"] = [str((smoke.parent / problem).resolve()) for problem in data["problems"]]
    lenet, resnet = data["sweeps"]
    lenet["layers"], resnet["glb_words"] = ["C1"], resnet["glb_words"][-1:]
    path = folder / "smoke.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def test_dask_cluster_gives_the_same_results_as_local_processes_on_a_smoke_subset(tmp_path):
    """And respects the claims of other runners."""
    distributed = __import__("pytest").importorskip("distributed")
    suite = smoke_subset(tmp_path)
    _, jobs = load_suite(suite)
    assert len(jobs) == 5 and len({job.spec["mode"] for job in jobs}) == 3
    local_db, dask_db = tmp_path / "local.sqlite", tmp_path / "dask.sqlite"
    run_batch(suite, local_db, workers=2)
    [held] = [job.job_id for job in jobs if job.name == "lenet5:C1@eyeriss_like"]
    db = open_db(dask_db)
    db.execute("INSERT INTO claims VALUES (?, 'other', 'elsewhere', 1, ?)", (held, time.time()))
    db.commit()
    db.close()
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        summary = run_batch(suite, dask_db, scheduler=cluster.scheduler_address)
        assert (summary["stored"], summary["left"]) == (len(jobs) - 1, 1)  # another runner's claim holds
        assert held not in {job for job, _ in stored(dask_db)}
        with sqlite3.connect(dask_db) as db:  # that runner died on another host: its lease ends
            db.execute("UPDATE claims SET claimed_at = 0")
        rest = run_batch(suite, dask_db, scheduler=cluster.scheduler_address)
    assert (rest["stored"], rest["left"], summary["failed"], rest["failed"]) == (1, 0, 0, 0)

    def outcomes(path):
        with sqlite3.connect(path) as db:
            return sorted(db.execute("SELECT job_id, status, objective, bound FROM results"))

    assert outcomes(local_db) == outcomes(dask_db)


def test_sweeps_over_array_shapes_and_json_export(tmp_path):
    sweep = {
        "mode": "layer",
        "network": "resnet18",
        "layers": ["layer4_0_down"],
        "accelerator": "eyeriss_like",
        "pe_array": [[12, 14], [8, 8]],
    }
    suite = write_suite(tmp_path, sweeps=[sweep])
    _, jobs = load_suite(suite)
    assert [job.name.rsplit("/", 1)[1] for job in jobs] == ["pe12x14", "pe8x8"]
    db, out = tmp_path / "r.sqlite", tmp_path / "r.json"
    run_batch(suite, db)
    assert main(["results", str(db), "--json", str(out)]) == 0
    import json

    records = json.loads(out.read_text())
    used = sorted(r["result"]["metrics"]["used_pes"] for r in records)
    assert len(records) == 2 and used[0] <= 64 < used[1] <= 168


def test_network_sweep_over_glb_sizes(tmp_path):
    network = str(library_root().parent / "tests" / "data" / "network" / "tiny_resnet.yaml")
    sweep = {
        "mode": "network",
        "network": network,
        "layers": {"from": "stem", "to": "b1_add"},
        "accelerator": "array16x16",
        "glb_words": [8000, 16000],
        "partition": {"max_group_layers": 4},
    }
    suite, db = write_suite(tmp_path, sweeps=[sweep]), tmp_path / "r.sqlite"
    _, jobs = load_suite(suite)
    assert [job.spec["layers"] for job in jobs] == [sweep["layers"]] * 2 and "stem..b1_add" in jobs[0].name
    assert run_batch(suite, db, workers=1)["stored"] == 2
    with sqlite3.connect(db) as conn:
        rows = list(conn.execute("SELECT glb_words, status, objective FROM results ORDER BY glb_words"))
    assert [status for _, status, _ in rows] == ["OPTIMAL", "OPTIMAL"]
    assert rows[1][2] <= rows[0][2]  # a bigger GLB never makes the best partition worse


def test_a_suite_with_a_bad_solver_setting_is_refused_before_anything_runs(tmp_path, capsys):
    """Exit 4 for every job (a NaN time limit) before; now one line naming the suite, and no database."""
    suite, db = write_suite(tmp_path, solver={"time_limit_s": float("nan"), "workers": 1}), tmp_path / "r.sqlite"
    assert main(["batch", str(suite), "--db", str(db)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"{suite}: solver.time_limit_s: must be a positive number of seconds" in err
    assert not db.exists()


def test_a_problem_with_a_bad_solver_setting_is_stored_as_bad_input(tmp_path):
    """A seed beyond CP-SAT's 32 bits was an OR-Tools TypeError (status ERROR) before."""
    from mapper.app.batch import run_job

    bad = {"mode": "layer", "network": "resnet18", "layers": ["layer4_0_down"], "accelerator": "eyeriss_like"}
    (tmp_path / "bad.yaml").write_text(yaml.safe_dump({**bad, "solver": {"seed": 10**20}}))
    suite = tmp_path / "suite.yaml"
    suite.write_text(yaml.safe_dump({"name": "t", "problems": ["bad.yaml"]}))
    _, [job] = load_suite(suite)
    row = run_job(job)
    assert row["status"] == "BAD_INPUT" and "bad.yaml: solver.seed: must be at most 2147483647" in row["error"]


@pytest.mark.parametrize(
    "extra,needles",
    [
        ({"solver": [1, 2]}, ["solver: must be a mapping of fields, got a list of 2"]),
        ({"solver": "fast"}, ["solver: must be a mapping of fields, got the string 'fast'"]),
        ({"solver": None}, ["solver: must be a mapping of fields, got nothing"]),
        ({"problems": "p.yaml"}, ["problems: must be a list of problem files, got 'p.yaml'"]),
        ({"problems": 3}, ["problems: must be a list of problem files, got 3"]),
        ({"problems": None}, ["problems: must be a list of problem files, got None"]),
        ({"problems": [{"a": 1}]}, ["problems[0]: must be a problem file path"]),
        ({"problems": ["none.yaml"]}, ["problems[0]: no problem file 'none.yaml'"]),
        ({"sweeps": {"mode": "layer"}}, ["sweeps: must be a list of sweeps"]),
        ({"sweeps": [3]}, ["sweeps[0]: must be a mapping of fields, got the number 3"]),
        ({"description": ["a"]}, ["description: must be text"]),
        ({"name": ["a"]}, ["name: must be a non-empty string"]),
        ({"sweeps": [{**SWEEP, "mode": "fast"}]}, ["sweeps[0].mode: unknown mode 'fast'"]),
        ({"sweeps": [{**SWEEP, "network": {"a": 1}}]}, ["sweeps[0].network: must be a file or bundled name"]),
        ({"sweeps": [{**SWEEP, "network": ["resnet18", 7]}]}, ["sweeps[0].network[1]: must be a file or bundled"]),
        ({"sweeps": [{**SWEEP, "accelerator": []}]}, ["sweeps[0].accelerator: is an empty list"]),
        ({"sweeps": [{**SWEEP, "glb_words": []}]}, ["sweeps[0].glb_words: is an empty list"]),
        ({"sweeps": [{**SWEEP, "layers": [1, 2]}]}, ["sweeps[0].layers: must be 'conv', a list of layer names"]),
        ({"sweeps": [{**SWEEP, "layers": "conv", "network": "nosuch"}]}, ["sweeps[0].network: 'nosuch' not found"]),
        ({"sweeps": [{**SWEEP, "mode": "network", "layers": "conv"}]}, ["sweeps[0].layers: must be {from: A, to: B}"]),
        ({"sweeps": [{**SWEEP, "glb_words": datetime.date(2024, 1, 1)}]}, []),  # the job's BAD_INPUT, no traceback
    ],
)
def test_a_suite_field_of_the_wrong_type_is_one_line_naming_the_suite(tmp_path, capsys, extra, needles):
    """solver: or problems: as a list or a string was a TypeError traceback before."""
    suite, db = write_suite(tmp_path, **extra), tmp_path / "r.sqlite"
    if not needles:
        _, [job] = load_suite(suite)
        assert job.job_id and "2024-01-01" in job.name
        return
    assert main(["batch", str(suite), "--db", str(db)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {suite}: ") and err.count("\n") == 1, err
    for needle in needles:
        assert needle in err, err
    assert not db.exists()


def test_a_problem_whose_solver_is_no_mapping_is_stored_as_bad_input(tmp_path):
    """The suite's solver settings were merged into it: a TypeError traceback before."""
    (tmp_path / "p.yaml").write_text(yaml.safe_dump({**SWEEP, "solver": [1]}))
    suite = tmp_path / "suite.yaml"
    suite.write_text(yaml.safe_dump({"name": "t", "solver": {"workers": 1}, "problems": ["p.yaml", "p.yaml"]}))
    summary = run_batch(suite, tmp_path / "r.sqlite")
    assert summary["jobs"] == summary["stored"] == summary["failed"] == 1  # listed twice: one job
    [(_, status)] = stored(tmp_path / "r.sqlite")
    assert status == "BAD_INPUT"
