"""Benchmark: every bundled ResNet-18 / VGG16 conv layer on the Eyeriss-like preset.

For each layer: CP-SAT (2 workers, 60 s limit) time to proven optimum, gap,
the best objective of the random-sampling mapper given the same wall time
(at least 1 s), and the referee's functional replay of the optimal mapping.
Each layer is solved ``--repeats`` times; the median wall time
is reported. Writes docs/results/benchmark_layers.json and prints a Markdown table
for docs/benchmarks.md.

    python scripts/benchmark_layers.py [--repeats 3] [--time-limit 60] [--only PATTERN]
"""

from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path

from mapper.core.spec import SolverSettings
from mapper.heuristics.random_search import random_search
from mapper.io.library import library_root
from mapper.io.loading import load_problem
from mapper.referee.verify import verify_layer_result
from mapper.solve.api import solve_layer


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--time-limit", type=float, default=60.0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--only", default="", help="glob fragment of problem names, e.g. resnet18_layer1*")
    parser.add_argument("--out", default="docs/results/benchmark_layers.json")
    args = parser.parse_args()
    paths = sorted((library_root() / "problems" / "layer").glob(f"*{args.only}.yaml" if args.only else "*.yaml"))
    rows = []
    for path in paths:
        problem = load_problem(path)
        times, results = [], []
        for repeat in range(args.repeats):
            settings = SolverSettings(time_limit_s=args.time_limit, workers=args.workers, seed=repeat)
            result = solve_layer(problem, settings)
            times.append(result.solver.wall_time_s)
            results.append(result)
        best = results[0]
        sampled = random_search(
            problem.layers[0], problem.accelerator, problem.objective, max(1.0, statistics.median(times))
        )
        referee = verify_layer_result(best.to_json(), problem.layers[0], problem.accelerator, functional=True)
        row = {
            "problem": path.stem,
            "status": [r.status for r in results],
            "proven_optimal": all(r.proven_optimal for r in results),
            "objective": best.objective,
            "bound": best.bound,
            "gap": max(r.gap for r in results if r.gap is not None),
            "wall_s": times,
            "median_wall_s": statistics.median(times),
            "random_objective": sampled.objective,
            "random_samples": sampled.samples,
            "random_valid": sampled.valid_samples,
            "random_ratio": None if sampled.objective is None else sampled.objective / best.objective,
            "referee": referee.violation or f"pass ({len(referee.checks)} checks, functional)",
        }
        if row["proven_optimal"] and sampled.objective is not None and sampled.objective < best.objective:
            row["model_bug"] = f"random sampling found {sampled.objective} below the proven optimum {best.objective}"
        rows.append(row)
        print(
            f"{row['problem']:32s} {'/'.join(row['status'])} obj {row['objective']} "
            f"median {row['median_wall_s']:.2f}s random x{row['random_ratio'] or float('nan'):.2f}",
            flush=True,
        )
    bugs = [r for r in rows if "model_bug" in r or not r["referee"].startswith("pass")]
    for r in bugs:
        print(f"MODEL BUG {r['problem']}: {r.get('model_bug') or r['referee']}")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"workers": args.workers, "time_limit_s": args.time_limit, "rows": rows}, indent=2))
    medians = [r["median_wall_s"] for r in rows]
    print(f"\nlayers {len(rows)}, all proven optimal: {all(r['proven_optimal'] for r in rows)}")
    print(f"median of medians {statistics.median(medians):.2f} s, max {max(max(r['wall_s']) for r in rows):.2f} s")
    print("\n| layer | proven | objective | median s | max s | random-sampling / optimum | referee |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        ratio = "none valid" if r["random_ratio"] is None else f"{r['random_ratio']:.2f}x"
        print(
            f"| {r['problem']} | {'yes' if r['proven_optimal'] else 'no'} | {r['objective']:,} | "
            f"{r['median_wall_s']:.2f} | {max(r['wall_s']):.2f} | {ratio} | {r['referee']} |"
        )

    if bugs:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
