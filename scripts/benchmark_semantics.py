"""Benchmark: the single-layer optimum before and after a change of semantics.

Solves every conv and FC layer of the bundled networks on the Eyeriss-like and
16x16 presets and records each proven optimum with its mapping:

    python scripts/benchmark_semantics.py solve --out new.json [--factors divisors]

Run the same command with ``PYTHONPATH`` pointing at a checkout of the old
semantics to record the old optima. Then

    python scripts/benchmark_semantics.py compare old.json new.json

evaluates each old optimal mapping with today's cost model and checks that
today's proven optimum is no worse: the map space did not shrink, so the old
mapping is still in it. Writes docs/results/benchmark_semantics.json and prints
the Markdown table of docs/benchmarks.md.

    python scripts/benchmark_semantics.py timeloop [RESULTS.json]

counts the recorded optima that the Timeloop export writes (docs/exports.md).

    python scripts/benchmark_semantics.py verify [RESULTS.json]

replays every recorded optimum with the referee (the solver's objective, the
cost model's metrics of its mapping as the other claims) and times it; writes
docs/results/verify_bundled.json (docs/benchmarks.md quotes it).
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

from mapper.core.enums import Factors
from mapper.core.mapping import Mapping
from mapper.core.spec import SolverSettings
from mapper.io.library import library_root
from mapper.io.loading import parse_problem

NETWORKS = ("resnet18", "vgg16", "mobilenet_v2", "alexnet", "lenet5")
ACCELERATORS = ("eyeriss_like", "array16x16")
KINDS = ("conv", "depthwise", "fc")
RECORD = Path("docs/results/benchmark_uneven.json")  # the optima of the newest semantics (docs/benchmarks.md)


def problems():
    """(network, layer, accelerator, Problem) for every conv, depthwise and FC layer."""
    from mapper.io.loading import load_network

    root = library_root()
    for net in NETWORKS:
        network = load_network(root / "networks" / f"{net}.yaml")
        for name, layer in network.layers.items():
            if layer.kind not in KINDS:
                continue
            for acc in ACCELERATORS:
                spec = {
                    "name": f"{net}_{name}_{acc}",
                    "mode": "layer",
                    "network": net,
                    "layers": [name],
                    "accelerator": acc,
                    "objective": {"latency": 1, "dram_words": 1, "energy": 0},
                }
                yield net, name, acc, parse_problem(spec, root / "problems" / "layer" / "x.yaml")


def solve(out: Path, workers: int, time_limit: float, factors: Factors) -> None:
    from mapper.solve.api import solve_layer

    rows = []
    for net, name, acc, problem in problems():
        started = time.perf_counter()
        result = solve_layer(problem, SolverSettings(time_limit, workers, 0, factors=factors))
        rows.append(
            {
                "network": net,
                "layer": name,
                "accelerator": acc,
                "status": result.status,
                "proven_optimal": result.proven_optimal,
                "objective": result.objective,
                "bound": result.bound,
                "wall_s": time.perf_counter() - started,
                "mapping": result.mapping,
            }
        )
        print(f"{net} {name} {acc}: {result.status} {result.objective} ({rows[-1]['wall_s']:.2f} s)", flush=True)
    settings = {"workers": workers, "time_limit_s": time_limit, "factors": factors}
    out.write_text(json.dumps({**settings, "rows": rows}, indent=1) + "\n")


def compare(old_path: Path, new_path: Path, out: Path) -> None:
    from mapper.cost.layer import evaluate

    old = {(r["network"], r["layer"], r["accelerator"]): r for r in json.loads(old_path.read_text())["rows"]}
    new = json.loads(new_path.read_text())
    layers = {(net, name, acc): problem for net, name, acc, problem in problems()}
    rows, lines = [], []
    for r in new["rows"]:
        key = (r["network"], r["layer"], r["accelerator"])
        problem = layers[key]
        before = old[key]
        old_in_new = evaluate(problem.layers[0], problem.accelerator, Mapping.from_dict(before["mapping"]))
        old_cost = old_in_new.objective(problem.objective) if old_in_new.valid else None
        rows.append({**r, "old_objective": before["objective"], "old_mapping_new_cost": old_cost})
        change = (r["objective"] - before["objective"]) / before["objective"]
        lines.append(
            f"| {key[0]} | {key[1]} | {key[2]} | {before['objective']:,} | "
            f"{old_cost:,} | {r['objective']:,} | {change:+.1%} | {'yes' if r['proven_optimal'] else 'no'} |"
            if old_cost is not None
            else f"| {key[0]} | {key[1]} | {key[2]} | {before['objective']:,} | invalid | {r['objective']:,} | "
            f"{change:+.1%} | {'yes' if r['proven_optimal'] else 'no'} |"
        )
    worse = [r for r in rows if r["old_mapping_new_cost"] is not None and r["objective"] > r["old_mapping_new_cost"]]
    lower = sum(r["objective"] < r["old_objective"] for r in rows)
    times = [r["wall_s"] for r in rows]
    summary = {
        "layers": len(rows),
        "proven": sum(r["proven_optimal"] for r in rows),
        "new_above_old_mapping": len(worse),
        "lower_than_old_optimum": lower,
        "median_wall_s": statistics.median(times),
        "max_wall_s": max(times),
    }
    out.write_text(json.dumps({"summary": summary, "rows": rows}, indent=1) + "\n")
    print(json.dumps(summary))
    print(
        "| network | layer | accelerator | old optimum | old mapping, new semantics | new optimum | change | proven |"
    )
    print("|---|---|---|---|---|---|---|---|")
    print("\n".join(lines))


def timeloop(results: Path) -> None:
    """How many of the recorded optima ``fusesat export --format timeloop`` writes,
    how many of them need the two-directive form (a dim on both PE axes), and
    why the rest are refused (docs/exports.md quotes these counts)."""
    from collections import Counter

    from mapper.app.export import TIMELOOP_COLUMN_LEVEL, timeloop_mapping
    from mapper.core.errors import SpecError

    rows = json.loads(results.read_text())["rows"]
    macs = {(net, name, acc): problem.layers[0].macs for net, name, acc, problem in problems()}
    written, two_axis, refused = 0, 0, Counter()
    for r in rows:
        result = {
            "mode": "layer",
            "mapping": r["mapping"],
            "metrics": {"macs": macs[r["network"], r["layer"], r["accelerator"]]},
        }
        try:
            levels = timeloop_mapping(result, str(results))["mapping"]
        except SpecError as err:
            refused[err.problem] += 1
            continue
        written += 1
        two_axis += any(level["target"] == TIMELOOP_COLUMN_LEVEL for level in levels)
    print(json.dumps({"optima": len(rows), "exported": written, "two_axis": two_axis, "refused": refused}))


def verify(results: Path, out: Path) -> None:
    """Every recorded optimum through the referee: verified or why not, and how long."""
    from mapper.cost.layer import evaluate
    from mapper.referee.verify import verify_layer_result

    recorded = {(r["network"], r["layer"], r["accelerator"]): r for r in json.loads(results.read_text())["rows"]}
    rows = []
    for net, name, acc, problem in problems():
        r = recorded[(net, name, acc)]
        layer, accelerator, mapping = problem.layers[0], problem.accelerator, Mapping.from_dict(r["mapping"])
        claims = {"mode": "layer", "status": r["status"], "weights": problem.objective.__dict__}
        claims |= {"mapping": r["mapping"], "objective": r["objective"]}
        claims["metrics"] = evaluate(layer, accelerator, mapping).metrics(accelerator)
        start = time.perf_counter()
        report = verify_layer_result(claims, layer, accelerator)
        seconds = time.perf_counter() - start
        repeats = [n for n in report.notes if "exact repeats" in n]
        rows.append(
            {
                "network": net,
                "layer": name,
                "accelerator": acc,
                "iterations": mapping.nest_iterations,
                "verified": report.violation is None,
                "violation": report.violation,
                "verify_s": round(seconds, 3),
                "note": repeats[0] if repeats else None,
            }
        )
        print(f"{net} {name} {acc}: {'verified' if report.violation is None else report.violation} ({seconds:.2f} s)")
    times = [row["verify_s"] for row in rows]
    summary = {
        "optima": len(rows),
        "verified": sum(row["verified"] for row in rows),
        "median_s": round(statistics.median(times), 3),
        "max_s": max(times),
        "over_100k_iterations": sum(row["iterations"] > 100_000 for row in rows),
    }
    out.write_text(json.dumps({"summary": summary, "rows": rows}, indent=1) + "\n")
    print(json.dumps(summary))


def main() -> None:
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("solve")
    run.add_argument("--out", type=Path, required=True)
    run.add_argument("--workers", type=int, default=2)
    run.add_argument("--time-limit", type=float, default=60.0)
    run.add_argument("--factors", type=Factors, choices=list(Factors), default=Factors.UNEVEN)
    cmp = sub.add_parser("compare")
    cmp.add_argument("old", type=Path)
    cmp.add_argument("new", type=Path)
    cmp.add_argument("--out", type=Path, default=Path("docs/results/benchmark_semantics.json"))
    export = sub.add_parser("timeloop", help="count the recorded optima the Timeloop export writes")
    export.add_argument("results", type=Path, nargs="?", default=RECORD)
    check = sub.add_parser("verify", help="replay every recorded optimum with the referee")
    check.add_argument("results", type=Path, nargs="?", default=RECORD)
    check.add_argument("--out", type=Path, default=Path("docs/results/verify_bundled.json"))
    args = parser.parse_args()
    if args.command == "solve":
        solve(args.out, args.workers, args.time_limit, args.factors)
    elif args.command == "timeloop":
        timeloop(args.results)
    elif args.command == "verify":
        verify(args.results, args.out)
    else:
        compare(args.old, args.new, args.out)


if __name__ == "__main__":
    main()
