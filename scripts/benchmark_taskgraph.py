"""Benchmark: how large a LeNet-5 C1-S2-C3 task graph CP-SAT proves optimal in
60 s on 2 cores, and how far HEFT and layer-by-layer are from it.

Slicings grow from 1x1 to 6x6 tiles of C1 (S2 and C3 sliced alike where they
can be). Objectives: makespan, and lexicographic (makespan, then peak memory).
Writes docs/results/benchmark_taskgraph.json.

    python scripts/benchmark_taskgraph.py [--time-limit 60] [--accelerator array16x16]

With ``--accelerator``, the four 4x4 clusters are sub-arrays of that preset and
every task's duration is its tile's least latency on its cluster
(``mapper.solve.task_durations``; the tile solves are timed apart); the results go
to docs/results/benchmark_taskgraph_<accelerator>.json.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from mapper.core.group import build_group
from mapper.core.problem import Platform, TaskGraphSpec
from mapper.core.spec import SolverSettings
from mapper.cost.taskgraph import evaluate_schedule
from mapper.cost.taskgraph_builder import Slicing, build_task_graph
from mapper.heuristics.heft import heft, layer_by_layer
from mapper.io.library import library_root
from mapper.io.loading import load_accelerator, load_network
from mapper.solve.task_durations import SolvedDurations
from mapper.solve.taskgraph import solve_graph

PLATFORM = Platform(((4, 4),) * 4)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--time-limit", type=float, default=60.0)
    parser.add_argument("--accelerator", help="a bundled accelerator: durations from the tiles' mappings on it")
    parser.add_argument("--out")
    args = parser.parse_args()
    suffix = f"_{args.accelerator}" if args.accelerator else ""
    out = args.out or f"docs/results/benchmark_taskgraph{suffix}.json"
    settings = SolverSettings(time_limit_s=args.time_limit, workers=2, seed=0)
    durations = None
    if args.accelerator:
        accelerator = load_accelerator(library_root() / "accelerators" / f"{args.accelerator}.yaml")
        durations = SolvedDurations(accelerator, settings)
    net = load_network(library_root() / "networks" / "lenet5.yaml")
    group = build_group(tuple(net.layers[n] for n in ("C1", "S2", "C3")))
    rows = []
    for k in (1, 2, 3, 4, 5, 6):
        slicing = {"C1": Slicing(k, k), "S2": Slicing(k, k), "C3": Slicing(min(k, 5), min(k, 5))}
        started, tiles = time.perf_counter(), len(durations.tiles) if durations else 0
        graph = build_task_graph(group, slicing, PLATFORM, *([durations] if durations else []))
        tile_s = time.perf_counter() - started
        tiles = (len(durations.tiles) - tiles) if durations else 0
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
                "tile_solves": tiles,
                "tile_solve_s": tile_s,
            }
            for name, schedule in heuristics.items():
                cost = evaluate_schedule(graph, schedule)
                value = cost.makespan if objective == "makespan" else cost.peak_memory_words
                row[name] = value
            rows.append(row)
            print(row, flush=True)
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    header = {"time_limit_s": args.time_limit, "accelerator": args.accelerator}
    Path(out).write_text(json.dumps({**header, "rows": rows}, indent=2))
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
