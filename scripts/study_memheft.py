"""Why our memory-aware HEFT saves at most 11.3% peak memory on LeNet-5 C1-S2-C3 where
the CF'19 study reports 23.4% (issue 19 item 4; docs/taskgraph.md, "Memory-aware HEFT").

On the slicings of scripts/reproduce_taskgraph.py, against layer-by-layer: our rule
(a slot is taken only if the cap holds; fail when the highest-ranked task fits nowhere),
its smallest cap found by binary search as the solver does; and the ready-list rule
(place the highest-ranked *ready* task that fits), by the same binary search and by a
scan of every cap (it is not monotone in the cap), its least peak overall and within
+10% of layer-by-layer's makespan. Every schedule is evaluated by
``mapper.cost.taskgraph.evaluate_schedule``. Writes docs/results/study_memheft.json.

    python scripts/study_memheft.py
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from reproduce_taskgraph import PLATFORM, SLICINGS  # noqa: E402

from mapper.core.group import build_group  # noqa: E402
from mapper.cost.taskgraph import evaluate_schedule  # noqa: E402
from mapper.cost.taskgraph_builder import build_task_graph  # noqa: E402
from mapper.heuristics.heft import heft, layer_by_layer, memory_aware_heft  # noqa: E402
from mapper.io.library import library_root  # noqa: E402
from mapper.io.loading import load_network  # noqa: E402
from mapper.solve.taskgraph import memheft_floor, smallest_memheft_cap  # noqa: E402


def point(graph, schedule) -> dict:
    cost = evaluate_schedule(graph, schedule)
    return {"peak": cost.peak_memory_words, "makespan": cost.makespan}


def scan(graph, low: int, high: int) -> list[dict]:
    """The ready-list schedule at every cap from ``low`` to ``high`` that keeps it."""
    found = []
    for cap in range(low, high + 1):
        schedule = memory_aware_heft(graph, cap, ready_list=True)
        if schedule is not None and evaluate_schedule(graph, schedule, cap).valid:
            found.append({"cap": cap, **point(graph, schedule)})
    return found


def main() -> None:
    net = load_network(library_root() / "networks" / "lenet5.yaml")
    group = build_group(tuple(net.layers[n] for n in ("C1", "S2", "C3")))
    rows = []
    for label, slicing in SLICINGS.items():
        graph = build_task_graph(group, slicing, PLATFORM)
        lbl = point(graph, layer_by_layer(graph))
        upper = max(lbl["peak"], point(graph, heft(graph))["peak"])
        ours = smallest_memheft_cap(graph, upper)
        ready_searched = smallest_memheft_cap(graph, upper, ready_list=True)  # the solver's search, the other rule
        every = scan(graph, memheft_floor(graph), upper)
        within = [p for p in every if p["makespan"] <= lbl["makespan"] * 11 // 10]
        rows.append(
            {
                "slicing": label,
                "tasks": len(graph.tasks),
                "layer_by_layer": lbl,
                "ours_binary_search": point(graph, ours[1]) if ours else None,
                "ready_list_binary_search": point(graph, ready_searched[1]) if ready_searched else None,
                "ready_list_every_cap": min(every, key=lambda p: (p["peak"], p["makespan"]), default=None),
                "ready_list_within_10pct": min(within, key=lambda p: (p["peak"], p["makespan"]), default=None),
            }
        )
        print(json.dumps(rows[-1]), flush=True)
    out = Path("docs/results/study_memheft.json")
    out.write_text(json.dumps({"platform": "4 clusters of 4x4 PEs", "rows": rows}, indent=2) + "\n")


if __name__ == "__main__":
    main()
