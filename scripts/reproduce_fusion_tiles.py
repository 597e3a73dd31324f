"""HW-Flow-Fusion's comparison (Valpreda et al. 2022: -51% / -53% DRAM traffic and -39% /
-34% latency against the best single-layer schedules on selected VGG16-E and ResNet-18
layers) with fusesat's 2-D tiles on the Eyeriss-like preset, with and without
recomputation.

Each selected chain is solved in fused mode over the default tiled space (DESIGN 4.2:
tile sizes 4..56, every overlap and weight policy; ``recompute: false`` leaves the
overlap policy ``cache`` alone, the seeds' setting) against layer-by-layer under the
same semantics (each layer alone in layer mode, proven optimal). The paper's
accelerator and layer selection are not published; ours are the first chains of conv
and pooling layers of each network and ResNet-18's first residual block (conv2 + add,
and conv1 + conv2 + add with the shortcut kept on chip), stated in ``SELECTIONS``. Each group runs in a child process (``scripts/in_child.py``).

    python scripts/reproduce_fusion_tiles.py [--time-limit 60]

Writes docs/results/reproduce_fusion_tiles.json and prints a Markdown table.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import replace
from pathlib import Path

from in_child import in_child

from mapper.core.enums import Overlap
from mapper.core.problem import Problem
from mapper.core.spec import ObjectiveWeights, SolverSettings
from mapper.core.tiled_group import TiledSpace
from mapper.io.library import library_root
from mapper.io.loading import load_accelerator, load_network
from mapper.solve.api import solve_fused

WEIGHTS = ObjectiveWeights(latency=1, dram_words=1)
PRESET = "eyeriss_like"
SEEDS = {"vgg16": {"dram": 0.51, "latency": 0.39}, "resnet18": {"dram": 0.53, "latency": 0.34}}
SELECTIONS = [
    ("vgg16", ("conv1_1", "conv1_2")),
    ("vgg16", ("conv1_2", "pool1", "conv2_1")),
    ("vgg16", ("conv2_1", "conv2_2")),
    ("vgg16", ("conv2_2", "pool2", "conv3_1")),
    ("resnet18", ("conv1", "pool1")),
    ("resnet18", ("pool1", "layer1_0_conv1")),
    ("resnet18", ("layer1_0_conv1", "layer1_0_conv2")),
    ("resnet18", ("layer1_1_conv1", "layer1_1_conv2")),
    ("resnet18", ("layer1_0_conv2", "layer1_0_add")),
    ("resnet18", ("layer1_0_conv1", "layer1_0_conv2", "layer1_0_add")),
]


def run_group(network: str, names: tuple[str, ...], recompute: bool, settings: SolverSettings) -> dict:
    net = load_network(library_root() / "networks" / f"{network}.yaml")
    accelerator = load_accelerator(library_root() / "accelerators" / f"{PRESET}.yaml")
    problem = Problem(f"{network}:{'+'.join(names)}", "fused", net, names, accelerator, WEIGHTS, settings)
    space = TiledSpace.default(problem.layers)
    if not recompute:
        space = replace(space, overlaps=(Overlap.CACHE,))
    result = solve_fused(replace(problem, tiles=space))
    row = {"network": network, "layers": list(names), "recompute": recompute, "status": result.status}
    row["solve_s"] = result.solver.wall_time_s
    if not result.has_solution:
        return row
    base = result.details["baseline_layer_by_layer"]
    return {
        **row,
        "proven_optimal": result.proven_optimal and base["proven_optimal"],
        "tile": result.mapping["tile"],
        "overlap": result.mapping["overlap"],
        "weights": result.mapping["weights"],
        "fused_dram_words": result.metrics["dram_words"],
        "fused_latency": result.metrics["latency_cycles"],
        "recomputed_macs": result.metrics["recomputed_macs"],
        "baseline_dram_words": base["dram_words"],
        "baseline_latency": base["latency_cycles"],
        "dram_reduction": result.details["reduction"]["dram_words"],
        "latency_reduction": result.details["reduction"]["latency_cycles"],
    }


def totals(rows: list[dict]) -> dict:
    """Per network and recomputation setting: the selection's summed reductions, every
    group fused, and where each group is fused only when that lowers its objective
    (latency + DRAM words; else its layers run one by one, the baseline)."""
    found = {}
    for network in SEEDS:
        for recompute in (True, False):
            picked = [r for r in rows if r["network"] == network and r["recompute"] is recompute and "tile" in r]
            if not picked:
                continue
            key = f"{network}, {'with' if recompute else 'without'} recomputation"
            found[key] = {"groups": len(picked), **_cuts(picked, lambda r: True)}
            found[key]["where_it_pays"] = _cuts(picked, _pays)
    return found


def _pays(row: dict) -> bool:
    fused = WEIGHTS.of(row["fused_latency"], row["fused_dram_words"])
    return fused < WEIGHTS.of(row["baseline_latency"], row["baseline_dram_words"])


def _cuts(rows: list[dict], fused) -> dict:
    """The summed DRAM and latency reductions when the groups ``fused`` picks are fused."""
    totals = {}
    for metric, fused_key, base_key in (
        ("dram", "fused_dram_words", "baseline_dram_words"),
        ("latency", "fused_latency", "baseline_latency"),
    ):
        ours = sum(r[fused_key] if fused(r) else r[base_key] for r in rows)
        totals[f"{metric}_reduction"] = 1 - ours / sum(r[base_key] for r in rows)
    totals["fused_groups"] = sum(1 for r in rows if fused(r))
    return totals


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--time-limit", type=float, default=60.0)
    parser.add_argument("--out", default="docs/results/reproduce_fusion_tiles.json")
    args = parser.parse_args()
    settings = SolverSettings(time_limit_s=args.time_limit, workers=2, seed=0)
    rows = []
    for network, names in SELECTIONS:
        for recompute in (True, False):
            row, attempts, code = in_child(run_group, (network, names, recompute, settings))
            row = row or {"network": network, "layers": list(names), "recompute": recompute, "status": f"exit {code}"}
            rows.append({**row, "attempts": attempts})
            print(json.dumps(rows[-1]), flush=True)
    report = {"preset": PRESET, "seeds": SEEDS, "rows": rows, "totals": totals(rows)}
    Path(args.out).write_text(json.dumps(report, indent=2) + "\n")
    print(
        "\n| network | layers | recompute | status | tile | DRAM fused / LbL | latency fused / LbL | DRAM cut | latency cut |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        if "tile" not in r:
            print(
                f"| {r['network']} | {' + '.join(r['layers'])} | {r['recompute']} | {r['status']} | - | - | - | - | - |"
            )
            continue
        print(
            f"| {r['network']} | {' + '.join(r['layers'])} | {'yes' if r['recompute'] else 'no'} | {r['status']} | "
            f"{r['tile'][0]}x{r['tile'][1]} | {r['fused_dram_words']:,} / {r['baseline_dram_words']:,} | "
            f"{r['fused_latency']:,} / {r['baseline_latency']:,} | {r['dram_reduction']:.1%} | "
            f"{r['latency_reduction']:.1%} |"
        )
    for key, cut in report["totals"].items():
        seed = SEEDS[key.split(",")[0]]
        pays = cut["where_it_pays"]
        print(
            f"\n{key} ({cut['groups']} groups): DRAM {-cut['dram_reduction']:+.1%} (seed -{seed['dram']:.0%}), "
            f"latency {-cut['latency_reduction']:+.1%} (seed -{seed['latency']:.0%}); fusing only the "
            f"{pays['fused_groups']} groups where it pays: DRAM {-pays['dram_reduction']:+.1%}, "
            f"latency {-pays['latency_reduction']:+.1%}"
        )


if __name__ == "__main__":
    main()
