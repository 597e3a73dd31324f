"""Benchmark: time to first solution and time to proof with and without a
heuristic hint, on every bundled ResNet-18 / VGG16 conv layer (Eyeriss-like,
2 workers). The hint is the best mapping random sampling finds in 0.5 s,
given to CP-SAT as a complete hint.

    python scripts/benchmark_hints.py

Writes docs/results/benchmark_hints.json.
"""

from __future__ import annotations

import json
import statistics
from pathlib import Path

from formulations.layer_search import LayerSearch
from mapper.core.spec import SolverSettings
from mapper.heuristics.random_search import random_search
from mapper.io.library import library_root
from mapper.io.loading import load_problem


def main() -> None:
    settings = SolverSettings(time_limit_s=60.0, workers=2, seed=0)
    rows = []
    for path in sorted((library_root() / "problems" / "layer").glob("*.yaml")):
        problem = load_problem(path)
        layer, accelerator, weights = problem.layers[0], problem.accelerator, problem.objective
        sampled = random_search(layer, accelerator, weights, 0.5, seed=0)
        row = {"problem": path.stem, "hint_objective": sampled.objective}
        for label, hint in (("no_hint", None), ("hint", sampled.mapping)):
            model = LayerSearch(layer, accelerator, weights)
            accepted = model.add_hint(hint) if hint is not None else None
            solution = model.solve(settings)
            row[label] = {
                "accepted": accepted,
                "status": solution.status,
                "first_solution_s": solution.facts.first_solution_s,
                "proof_s": solution.facts.wall_time_s,
                "objective": solution.objective,
            }
        rows.append(row)
        print(
            row["problem"],
            {k: (row[k]["first_solution_s"], row[k]["proof_s"]) for k in ("no_hint", "hint")},
            flush=True,
        )
    Path("docs/results/benchmark_hints.json").write_text(json.dumps(rows, indent=2))
    print("\n| | median first solution s | max first solution s | median time to proof s | max time to proof s |")
    print("|---|---|---|---|---|")
    for label in ("no_hint", "hint"):
        first = [r[label]["first_solution_s"] for r in rows if r[label]["first_solution_s"] is not None]
        proof = [r[label]["proof_s"] for r in rows]
        print(
            f"| {label.replace('_', ' ')} | {statistics.median(first):.3f} | {max(first):.3f} | "
            f"{statistics.median(proof):.2f} | {max(proof):.2f} |"
        )
    print(
        f"\nhints accepted as complete and feasible: {sum(bool(r['hint']['accepted']) for r in rows)} / {len(rows)}; "
        f"all proven: {all(r[k]['status'] == 'OPTIMAL' for r in rows for k in ('no_hint', 'hint'))}; "
        f"same optimum: {all(r['hint']['objective'] == r['no_hint']['objective'] for r in rows)}"
    )


if __name__ == "__main__":
    main()
