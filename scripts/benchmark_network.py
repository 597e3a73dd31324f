"""Benchmark: whole networks (network mode) on 2 cores.

For every bundled network problem (problems/problems/network/): status, the
certified gap, wall time to the proof (median over --repeats runs) and to the
first complete answer (every layer solved alone), the partition, DRAM traffic
and latency against layer-by-layer, against greedy fusion and against the
compulsory limits, and whether every group's schedule passes the referee.
Writes docs/results/benchmark_network.json.

    python scripts/benchmark_network.py [--repeats 3] [--problems resnet18_eyeriss_like ...]
"""

from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path

from mapper.io.library import library_root
from mapper.io.loading import load_problem
from mapper.referee.verify import verify_network_result
from mapper.solve.network import solve_network


def row_for(path: Path, repeats: int) -> dict:
    problem = load_problem(path)
    runs = [solve_network(problem) for _ in range(repeats)]
    result = runs[-1]
    if len({r.objective for r in runs}) != 1:
        raise SystemExit(f"{path.name}: repeated runs disagree on the optimum {[r.objective for r in runs]}")
    details, metrics = result.details, result.metrics
    base = details["baselines"]["layer_by_layer"]
    greedy = details["baselines"].get("greedy_fusion")
    limits = details["compulsory"]
    report = verify_network_result(result.to_json(), problem)
    return {
        "problem": path.stem,
        "layers": len(problem.layer_names),
        "status": result.status,
        "objective": result.objective,
        "bound": result.bound,
        "gap": result.gap,
        "proven_optimal": result.proven_optimal,
        "wall_time_s_median": statistics.median(r.solver.wall_time_s for r in runs),
        "wall_time_s_runs": [round(r.solver.wall_time_s, 2) for r in runs],
        "first_answer_s_median": statistics.median(r.solver.first_solution_s for r in runs),
        "search": details["search"],
        "groups": metrics["groups"],
        "fused_groups": [g["layers"] for g in result.mapping["groups"] if len(g["layers"]) > 1],
        "latency_cycles": metrics["latency_cycles"],
        "dram_words": metrics["dram_words"],
        "layer_by_layer": {k: base[k] for k in ("objective", "latency_cycles", "dram_words")},
        "greedy_fusion": None if greedy is None else {k: greedy[k] for k in ("objective", "gap_to_bound")},
        "reduction_vs_layer_by_layer": details["reduction_vs_layer_by_layer"],
        "compulsory": limits,
        "dram_over_compulsory": metrics["dram_words"] / limits["dram_words"],
        "latency_over_compute_bound": metrics["latency_cycles"] / limits["compute_cycles"],
        "referee": "pass" if report.violation is None else report.violation,
        "referee_checks": len(report.checks),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--problems", nargs="*", help="problem file stems (default: all bundled network problems)")
    parser.add_argument("--out", default="docs/results/benchmark_network.json")
    args = parser.parse_args()
    folder = library_root() / "problems" / "network"
    paths = sorted(folder.glob("*.yaml"))
    if args.problems:
        paths = [folder / f"{stem}.yaml" for stem in args.problems]
    rows = []
    for path in paths:
        row = row_for(path, args.repeats)
        rows.append(row)
        print(
            f"{row['problem']:32s} {row['status']:9s} gap {row['gap']:.2%} median {row['wall_time_s_median']:6.1f} s  "
            f"DRAM {-row['reduction_vs_layer_by_layer']['dram_words']:+.1%} "
            f"latency {-row['reduction_vs_layer_by_layer']['latency_cycles']:+.1%} vs layer-by-layer; "
            f"DRAM {row['dram_over_compulsory']:.2f}x compulsory; referee {row['referee']}",
            flush=True,
        )
    Path(args.out).write_text(json.dumps({"workers": 2, "repeats": args.repeats, "rows": rows}, indent=2) + "\n")


if __name__ == "__main__":
    main()
