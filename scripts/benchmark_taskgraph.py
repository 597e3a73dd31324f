"""Benchmark: how large a LeNet-5 C1-S2-C3 task graph CP-SAT proves optimal in
60 s on 2 cores, and how far HEFT and layer-by-layer are from it.

Slicings grow from 1x1 to 6x6 tiles of C1 (S2 and C3 sliced alike where they
can be). Objectives: makespan, and lexicographic (makespan, then peak memory).
Writes docs/results/benchmark_taskgraph.json.

    python scripts/benchmark_taskgraph.py [--time-limit 60]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from mapper.core.group import build_group
from mapper.core.problem import Platform, TaskGraphSpec
from mapper.core.spec import SolverSettings
from mapper.cost.taskgraph import evaluate_schedule
from mapper.cost.taskgraph_builder import Slicing, build_task_graph
from mapper.heuristics.heft import heft, layer_by_layer
from mapper.io.library import library_root
from mapper.io.loading import load_network
from mapper.solve.taskgraph import solve_graph

PLATFORM = Platform(((4, 4),) * 4)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--time-limit", type=float, default=60.0)
    parser.add_argument("--out", default="docs/results/benchmark_taskgraph.json")
    args = parser.parse_args()
    settings = SolverSettings(time_limit_s=args.time_limit, workers=2, seed=0)
    net = load_network(library_root() / "networks" / "lenet5.yaml")
    group = build_group(tuple(net.layers[n] for n in ("C1", "S2", "C3")))
    rows = []
    for k in (1, 2, 3, 4, 5, 6):
        slicing = {"C1": Slicing(k, k), "S2": Slicing(k, k), "C3": Slicing(min(k, 5), min(k, 5))}
        graph = build_task_graph(group, slicing, PLATFORM)
        heuristics = {"HEFT": heft(graph), "layer-by-layer": layer_by_layer(graph)}
        for objective in ("makespan", "lexicographic"):
            spec = TaskGraphSpec(slicing={}, platform=PLATFORM, objective=objective)
            hint = heuristics["HEFT"]
            result = solve_graph(graph, spec, settings, hint)
            wall = sum(f.wall_time_s for f in result.facts)
            row = {
                "tiles": f"{k}x{k}",
                "tasks": len(graph.tasks),
                "edges": len(graph.edges),
                "objective": objective,
                "status": result.status,
                "value": result.objective,
                "bound": result.bound,
                "wall_s": wall,
            }
            for name, schedule in heuristics.items():
                cost = evaluate_schedule(graph, schedule)
                value = cost.makespan if objective == "makespan" else cost.peak_memory_words
                row[name] = value
            rows.append(row)
            print(row, flush=True)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps({"time_limit_s": args.time_limit, "rows": rows}, indent=2))
    print(
        "\n| C1/S2 tiles | tasks | edges | objective | CP-SAT status | value / bound | wall s | HEFT | layer-by-layer |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['tiles']} | {r['tasks']} | {r['edges']} | {r['objective']} | {r['status']} | "
            f"{r['value']:,} / {r['bound']:,} | {r['wall_s']:.1f} | {r['HEFT']:,} | {r['layer-by-layer']:,} |"
        )


if __name__ == "__main__":
    main()
