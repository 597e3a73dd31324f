"""Benchmark: a whole-run time budget on every bundled network problem.

Runs ``fusesat -q solve PROBLEM --time-limit BUDGET --json OUT`` as a user would
(a fresh process each time, start-up included) --repeats times per problem and
records the median wall time, the partition's objective, its certified bound and
gap. Writes docs/results/benchmark_budget.json (docs/benchmarks.md quotes it).

    python scripts/benchmark_budget.py [--budget 5] [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from mapper.io.library import library_root


def run(problem: Path, budget: float, out: Path) -> tuple[float, dict]:
    start = time.perf_counter()
    command = ["fusesat", "-q", "solve", str(problem), "--time-limit", str(budget)]
    subprocess.run([*command, "--json", str(out)], check=False, capture_output=True)
    return time.perf_counter() - start, json.loads(out.read_text())


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--budget", type=float, default=5.0)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", type=Path, default=Path("docs/results/benchmark_budget.json"))
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for problem in sorted((library_root() / "problems" / "network").glob("*.yaml")):
            runs = [run(problem, args.budget, Path(tmp) / "r.json") for _ in range(args.repeats)]
            walls, last = [w for w, _ in runs], runs[-1][1]
            search = last["details"]["search"]
            row = {
                "problem": problem.stem,
                "budget_s": args.budget,
                "median_wall_s": round(statistics.median(walls), 2),
                "max_wall_s": round(max(walls), 2),
                "status": last["status"],
                "objective": last["objective"],
                "bound": last["bound"],
                "gap": last["gap"],
                "objectives": [r["objective"] for _, r in runs],
                "solved": search["solved"],
                "skipped": search["skipped"],
                "fallback": search["fallback"],
            }
            rows.append(row)
            print(json.dumps(row), flush=True)
    args.out.write_text(json.dumps({"rows": rows}, indent=1) + "\n")


if __name__ == "__main__":
    main()
