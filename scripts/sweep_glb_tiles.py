"""GLB-size sweep of fused groups in 2-D tiles (DESIGN 4.2): where fusion starts to pay.

The Eyeriss-like preset (12 x 14 PEs, its RF, DRAM and GLB bandwidths) with its GLB
resized from half to four times its 55,296 words; each group solved in fused mode over
the default tiled space against layer-by-layer under the same semantics (each layer
alone in layer mode, with the same GLB). Each run in a child process
(``scripts/in_child.py``); the objective is latency + DRAM words.

    python scripts/sweep_glb_tiles.py [--time-limit 60]

Writes docs/results/sweep_glb_tiles.json and prints a Markdown table.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import replace
from pathlib import Path

from in_child import in_child

from mapper.core.problem import Problem
from mapper.core.spec import ObjectiveWeights, SolverSettings
from mapper.core.tiled_group import TiledSpace
from mapper.io.library import library_root
from mapper.io.loading import load_accelerator, load_network
from mapper.solve.api import solve_fused

PRESET = "eyeriss_like"
GLB_WORDS = (27_648, 55_296, 110_592, 221_184)
GROUPS = [
    ("vgg16", ("conv1_1", "conv1_2")),
    ("vgg16", ("conv2_1", "conv2_2")),
    ("resnet18", ("layer1_0_conv1", "layer1_0_conv2", "layer1_0_add")),
]


def run(network: str, names: tuple[str, ...], glb: int, settings: SolverSettings) -> dict:
    net = load_network(library_root() / "networks" / f"{network}.yaml")
    accelerator = load_accelerator(library_root() / "accelerators" / f"{PRESET}.yaml").with_glb_words(glb)
    problem = Problem(
        f"{network}:{'+'.join(names)}", "fused", net, names, accelerator, ObjectiveWeights(1, 1), settings
    )
    result = solve_fused(replace(problem, tiles=TiledSpace.default(problem.layers)))
    row = {"network": network, "layers": list(names), "glb_words": glb, "status": result.status}
    base = result.details.get("baseline_layer_by_layer", {})
    if base.get("feasible"):
        row["baseline_objective"] = base["objective"]
        row["baseline_dram_words"] = base["dram_words"]
    if result.has_solution:
        row |= {
            "objective": result.objective,
            "gap": result.gap,
            "tile": result.mapping["tile"],
            "weights": result.mapping["weights"],
            "dram_words": result.metrics["dram_words"],
            "latency_cycles": result.metrics["latency_cycles"],
        }
    return row


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--time-limit", type=float, default=60.0)
    parser.add_argument("--out", default="docs/results/sweep_glb_tiles.json")
    args = parser.parse_args()
    settings = SolverSettings(time_limit_s=args.time_limit, workers=2, seed=0)
    rows = []
    for network, names in GROUPS:
        for glb in GLB_WORDS:
            row, attempts, code = in_child(run, (network, names, glb, settings))
            rows.append(
                {
                    **(row or {"network": network, "layers": list(names), "glb_words": glb, "status": f"exit {code}"}),
                    "attempts": attempts,
                }
            )
            print(json.dumps(rows[-1]), flush=True)
            Path(args.out).write_text(
                json.dumps({"preset": PRESET, "time_limit_s": args.time_limit, "rows": rows}, indent=2) + "\n"
            )
    print(
        "\n| group | GLB words | status | tile | weights | fused objective | layer-by-layer | fused / LbL | DRAM fused / LbL |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        base = f"{r['baseline_objective']:,}" if "baseline_objective" in r else "infeasible"
        if "objective" not in r:
            print(f"| {' + '.join(r['layers'])} | {r['glb_words']:,} | {r['status']} | - | - | - | {base} | - | - |")
            continue
        ratio = f"{r['objective'] / r['baseline_objective']:.2f}" if "baseline_objective" in r else "-"
        dram = f"{r['dram_words'] / r['baseline_dram_words']:.2f}" if "baseline_dram_words" in r else "-"
        print(
            f"| {' + '.join(r['layers'])} | {r['glb_words']:,} | {r['status']} | {r['tile'][0]}x{r['tile'][1]} | "
            f"{', '.join(r['weights'])} | {r['objective']:,} | {base} | {ratio} | {dram} |"
        )


if __name__ == "__main__":
    main()
