"""Benchmark (issue 15, in progress): fused groups in 2-D tiles, each layer's box a
layer nest of the single-layer semantics, against layer-by-layer under the same
semantics (each layer alone, layer mode's optimum).

For each group: the enumerated search of ``mapper.solve.tiled_search`` (square
tiles of the sizes given, every overlap and weight policy, the PE array time-shared,
nests solved by CP-SAT), the answer replayed by the referee
(``mapper.referee.decode_tiled.replay_tiled``: every claimed count must equal the
replay's), and each layer solved alone. Writes docs/results/benchmark_tiled.json.

    python scripts/benchmark_tiled.py [--sizes 4 7 8 14 16 28 32 56] [--time-limit 60] [--groups FIRST LAST] [--no-recompute]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from in_child import in_child

from mapper.core.enums import Overlap
from mapper.core.spec import ObjectiveWeights, SolverSettings
from mapper.core.tiled_group import TiledSpace
from mapper.io.library import library_root
from mapper.io.loading import load_accelerator, load_network
from mapper.referee.decode_tiled import replay_tiled
from mapper.solve.groups import solve_single_layer
from mapper.solve.tiled_search import solve_tiled

GROUPS = [  # chains of conv and pooling layers (nests of adds are not modelled yet), on the Eyeriss-like preset
    ("vgg16", ("conv1_1", "conv1_2"), "eyeriss_like"),
    ("vgg16", ("conv1_1", "conv1_2", "pool1"), "eyeriss_like"),
    ("vgg16", ("conv2_1", "conv2_2"), "eyeriss_like"),
    ("vgg16", ("conv3_1", "conv3_2"), "eyeriss_like"),
    ("vgg16", ("conv4_1", "conv4_2"), "eyeriss_like"),
    ("resnet18", ("conv1", "pool1"), "eyeriss_like"),
    ("resnet18", ("layer1_0_conv1", "layer1_0_conv2"), "eyeriss_like"),
    ("resnet18", ("layer2_0_conv1", "layer2_0_conv2"), "eyeriss_like"),
    ("resnet18", ("layer3_0_conv1", "layer3_0_conv2"), "eyeriss_like"),
]
WEIGHTS = ObjectiveWeights(latency=1, dram_words=1, energy=0)  # the bundled fused problem's objective
METRICS = ("latency_cycles", "dram_words", "energy_fj", "macs", "glb_words")


def run_group(network: str, names: tuple[str, ...], preset: str, sizes, settings, overlaps=tuple(Overlap)) -> dict:
    root = library_root()
    layers = tuple(load_network(root / "networks" / f"{network}.yaml").layers[n] for n in names)
    accelerator = load_accelerator(root / "accelerators" / f"{preset}.yaml")
    started = time.perf_counter()
    out = layers[-1].bounds
    sizes = sorted({min(s, out["P"]) for s in sizes})  # a size past the map is one tile: once
    space = TiledSpace(tuple((s, s) for s in sizes), overlaps=overlaps)
    answer = solve_tiled(layers, accelerator, WEIGHTS, settings, space)
    search_s = time.perf_counter() - started
    alone = {"latency_cycles": 0, "dram_words": 0, "objective": 0, "proven": True}
    for layer in layers:
        solution, cost, _ = solve_single_layer(layer, accelerator, WEIGHTS, settings)
        alone["latency_cycles"] += cost.latency_cycles
        alone["dram_words"] += cost.dram_words
        alone["objective"] += cost.objective(WEIGHTS)
        alone["proven"] &= solution.status == "OPTIMAL"
    row = {"network": network, "layers": list(names), "accelerator": preset, "sizes": list(sizes), "search_s": search_s}
    row["overlaps"] = [str(p) for p in overlaps]
    row["layer_by_layer"] = alone
    if answer.cost is None:
        return {**row, "tiled": None}
    mapping, cost = answer.mapping, answer.cost
    replayed = replay_tiled(layers, accelerator, mapping)
    row["tiled"] = {
        "tile": [mapping.height, mapping.width],
        "overlap": [str(p) for p in mapping.overlap],
        "weights": [str(p) for p in mapping.weights],
        **{m: getattr(cost, m) for m in METRICS},
        "objective": cost.objective(WEIGHTS),
        "replay_equal": all(getattr(cost, m) == getattr(replayed, m) for m in METRICS),
        "proven_over_the_sizes": answer.proven,
        "configurations_visited": answer.configurations,
        "nest_solves": answer.nest_solves,
    }
    row["dram_vs_layer_by_layer"] = cost.dram_words / alone["dram_words"]
    row["latency_vs_layer_by_layer"] = cost.latency_cycles / alone["latency_cycles"]
    return row


def run_in_child(network: str, names: tuple[str, ...], preset: str, sizes, settings, overlaps) -> dict:
    """``run_group`` in a child process (``scripts/in_child.py``), recorded as aborted if every attempt was."""
    row, attempts, code = in_child(run_group, (network, names, preset, sizes, settings, overlaps))
    if row is None:
        return {"network": network, "layers": list(names), "accelerator": preset, "aborted": f"exit {code}"}
    return {**row, "attempts": attempts}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[4, 7, 8, 14, 16, 28, 32, 56])
    parser.add_argument("--time-limit", type=float, default=60.0)
    parser.add_argument("--out", default="docs/results/benchmark_tiled.json")
    parser.add_argument("--groups", type=int, nargs=2, default=[0, len(GROUPS)], help="run groups FIRST..LAST-1 only")
    parser.add_argument(
        "--no-recompute", action="store_true", help="every feature map cached both ways (no recomputation)"
    )
    args = parser.parse_args()
    settings = SolverSettings(time_limit_s=args.time_limit, workers=2, seed=0)
    rows = []
    for network, names, preset in GROUPS[args.groups[0] : args.groups[1]]:
        overlaps = (Overlap.CACHE,) if args.no_recompute else tuple(Overlap)
        rows.append(run_in_child(network, names, preset, args.sizes, settings, overlaps))
        print(json.dumps(rows[-1]), flush=True)
    Path(args.out).write_text(json.dumps({"sizes": args.sizes, "rows": rows}, indent=2) + "\n")


if __name__ == "__main__":
    main()
