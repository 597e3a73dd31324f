"""Batches: suites of problems run in parallel processes, resumable.

A suite expands into jobs. Each job is a problem mapping (what a problem YAML
holds) with a stable id: the hash of its canonical JSON and its base folder.
Every finished job is one row of an SQLite table, committed at once. A rerun
skips the ids already stored, so a killed batch (even kill -9) loses at most
the jobs in flight and never stores a job twice (the id is the primary key).
A job that raises is stored with status ERROR and the batch goes on.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import socket
import sqlite3
import time
import traceback
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

from mapper.app.database import COLUMNS, open_for_writing, translate
from mapper.core.enums import Mode
from mapper.core.errors import SpecError
from mapper.io.library import resolve_reference
from mapper.io.loading import load_network, parse_problem, parse_solver
from mapper.io.yaml_fields import Fields, read_yaml

SWEEP_KEYS = ("network", "accelerator", "glb_words", "pe_array", "objective")


@dataclass(frozen=True)
class Job:
    job_id: str
    name: str
    spec: dict
    base: str  # folder that relative paths in the spec are resolved against


def _job(suite_dir: Path, spec: dict) -> Job:
    canonical = json.dumps(spec, sort_keys=True)
    job_id = hashlib.sha256(f"{suite_dir}|{canonical}".encode()).hexdigest()[:16]
    name = f"{spec.get('network')}:{_layers_label(spec.get('layers'))}@{spec.get('accelerator')}"
    if spec.get("glb_words"):
        name += f"/glb{spec['glb_words']}"
    if spec.get("pe_array"):
        name += f"/pe{spec['pe_array'][0]}x{spec['pe_array'][1]}"
    return Job(job_id, name, spec, str(suite_dir))


def _layer_selection(f: Fields, network_name: str, suite_dir: Path, mode: str) -> list[list[str]]:
    """A sweep's ``layers``: 'conv' (every conv layer, one problem each), a list of
    names (one problem each in layer mode, one group in fused mode), or a list of groups."""
    if mode == Mode.NETWORK:
        return [f.raw("layers", None)]  # None: the whole network; or {from: a, to: b}
    value = f.raw("layers")
    if value == "conv":
        network = load_network(resolve_reference(network_name, suite_dir / "suite.yaml", "networks"))
        return [[name] for name, layer in network.layers.items() if layer.kind == "conv"]
    if not isinstance(value, list) or not value:
        raise f.fail("layers", "must be 'conv', a list of layer names, or a list of groups")
    if all(isinstance(v, list) for v in value):
        return value
    return [[v] for v in value] if mode == Mode.LAYER else [value]


def load_suite(path: Path | str) -> tuple[str, list[Job]]:
    """Expand a suite file into jobs (see docs/batch.md)."""
    path = Path(path)
    top = Fields(read_yaml(path), str(path), "")
    top.reject_unknown({"name", "solver", "problems", "sweeps", "description"})
    suite_dir = path.resolve().parent
    solver = top.raw("solver", {})
    if isinstance(solver, dict):
        parse_solver(Fields(solver, str(path), "solver"))  # before any job runs: each job would be BAD_INPUT
    jobs = []
    for i, item in enumerate(top.raw("problems", [])):
        if not isinstance(item, str):
            raise top.fail(f"problems[{i}]", "must be a problem file path")
        problem_path = (suite_dir / item).resolve()
        spec = read_yaml(problem_path)
        if not isinstance(spec, dict):
            raise top.fail(f"problems[{i}]", f"{item} is not a problem mapping")
        spec = {**spec, "solver": {**spec.get("solver", {}), **solver}}
        jobs.append(Job(_job(problem_path.parent, spec).job_id, f"{item}", spec, str(problem_path.parent)))
    sweeps = top.raw("sweeps", [])
    if not isinstance(sweeps, list):
        raise top.fail("sweeps", "must be a list of sweeps")
    for i, _ in enumerate(sweeps):
        sweep = Fields(sweeps[i], str(path), f"sweeps[{i}]")
        sweep.reject_unknown({"mode", "layers", "fusion", "taskgraph", "partition", *SWEEP_KEYS})
        mode = sweep.text("mode", Mode.LAYER.value)  # text: the spec is a problem mapping, as in YAML
        axes = {}
        for key in SWEEP_KEYS:
            value = sweep.raw(key, None if key in ("glb_words", "pe_array", "objective") else ...)
            is_sweep = isinstance(value, list) and not (key == "pe_array" and value and isinstance(value[0], int))
            axes[key] = value if is_sweep else [value]
        for combo in itertools.product(*axes.values()):
            choice = dict(zip(axes, combo, strict=True))
            for layers in _layer_selection(sweep, choice["network"], suite_dir, mode):
                spec = {"mode": mode, "network": choice["network"], "accelerator": choice["accelerator"]}
                if layers is not None:
                    spec["layers"] = layers
                for key in ("glb_words", "pe_array"):
                    if choice[key] is not None:
                        spec[key] = choice[key]
                if choice["objective"] is not None:
                    spec["objective"] = choice["objective"]
                for key in ("fusion", "taskgraph", "partition"):
                    if sweep.has(key):
                        spec[key] = sweep.raw(key)
                spec["solver"] = dict(solver)
                jobs.append(_job(suite_dir, spec))
    if not jobs:
        raise top.fail("problems", "the suite has no problems", "add problems: or sweeps:")
    return top.text("name", path.stem), jobs


def _layers_label(layers) -> str:
    """'a+b' for a list, 'a..b' for a network range, 'all' for a whole network."""
    if layers is None:
        return "all"
    if isinstance(layers, dict):
        return f"{layers.get('from', '')}..{layers.get('to', '')}"
    return "+".join(layers)


def run_job(job: Job) -> dict:
    """Solve one job (in a worker process); never raises."""
    from mapper.solve.api import solve

    start = time.perf_counter()
    row = {"job_id": job.job_id, "name": job.name, "spec": json.dumps(job.spec, sort_keys=True)}
    row.update(
        mode=job.spec.get("mode"),
        network=str(job.spec.get("network")),
        layers=_layers_label(job.spec.get("layers")),
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
