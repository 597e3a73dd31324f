"""Benchmark: batch throughput at 1 and 2 local workers and through a local
Dask cluster with 2 workers, on the same suite (ResNet-18 layer4_0_down over
24 GLB sizes, ~0.3 s each). Reports problems per hour, scaling efficiency
(2-worker throughput / twice the 1-worker throughput) and the overhead per
problem beyond the solver's own wall time. Median of ``--repeats`` runs.

    python scripts/benchmark_batch.py [--repeats 3]

Writes docs/results/benchmark_batch.json.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path

import yaml

from mapper.app.batch import run_batch

SUITE = {
    "name": "throughput",
    "solver": {"time_limit_s": 60, "workers": 1, "seed": 0},
    "sweeps": [
        {
            "mode": "layer",
            "network": "resnet18",
            "layers": ["layer4_0_down"],
            "accelerator": "eyeriss_like",
            "glb_words": [8192 + 1024 * i for i in range(24)],
        }
    ],
}


def one_run(folder: Path, label: str, workers: int, scheduler: str | None) -> dict:
    db = folder / f"{label}-{time.monotonic_ns()}.sqlite"
    start = time.perf_counter()
    summary = run_batch(folder / "suite.yaml", db, workers=workers, scheduler=scheduler)
    wall = time.perf_counter() - start
    with sqlite3.connect(db) as conn:
        solve = [json.loads(r[0])["solver"]["wall_time_s"] for r in conn.execute("SELECT result FROM results")]
    problems = summary["stored"]
    return {
        "wall_s": wall,
        "problems": problems,
        "per_hour": problems / wall * 3600,
        "overhead_per_problem_s": (wall * max(1, workers) - sum(solve)) / problems,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", default="docs/results/benchmark_batch.json")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp())
    (folder / "suite.yaml").write_text(yaml.safe_dump(SUITE))
    runs = {"local, 1 worker": [], "local, 2 workers": [], "dask, 2 workers": []}
    from distributed import LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        for _ in range(args.repeats):
            runs["local, 1 worker"].append(one_run(folder, "l1", 1, None))
            runs["local, 2 workers"].append(one_run(folder, "l2", 2, None))
            runs["dask, 2 workers"].append(one_run(folder, "d2", 2, cluster.scheduler_address))
    summary = {
        label: {
            key: statistics.median(r[key] for r in results) for key in ("wall_s", "per_hour", "overhead_per_problem_s")
        }
        for label, results in runs.items()
    }
    base = summary["local, 1 worker"]["per_hour"]
    for label in summary:
        summary[label]["scaling_efficiency"] = summary[label]["per_hour"] / (base * (1 if "1 worker" in label else 2))
    Path(args.out).write_text(json.dumps({"runs": runs, "median": summary}, indent=2))
    print("| runner | problems / hour | wall s (24 problems) | scaling efficiency | overhead / problem (s) |")
    print("|---|---|---|---|---|")
    for label, s in summary.items():
        print(
            f"| {label} | {s['per_hour']:,.0f} | {s['wall_s']:.1f} | {s['scaling_efficiency']:.0%} | {s['overhead_per_problem_s']:.2f} |"
        )


if __name__ == "__main__":
    main()
