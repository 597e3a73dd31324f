"""Reproduce the fused-layer results of the reference papers with fusesat's model.

(A) HW-Flow-Fusion-style comparison (Valpreda et al. 2022): selected VGG16
    and ResNet-18 layer groups, fused (proven optimal) against layer-by-layer
    (each layer proven optimal alone, input from and output to DRAM), on the
    bundled 16x16 (256 KiB GLB) and 32x32 (1 MiB GLB) arrays. The paper's
    accelerator and exact layer selection are not published; ours are
    stated here.
(B) Alwani et al. (MICRO 2016) feature-map traffic of VGG-E conv1_1..conv3_1
    (32-bit values, weights excluded): layer-by-layer 77.14 MiB vs fused
    3.64 MiB, with a GLB large enough for the whole group.
(C) GLB sweep: where fusion stops paying, and partitioned vs time-shared PEs.

    python scripts/reproduce_fusion.py [--time-limit 60] [--skip-sweep]

Writes docs/results/reproduce_fusion.json and prints Markdown tables.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import replace
from pathlib import Path

from mapper.core.group import build_group
from mapper.core.problem import Problem
from mapper.core.spec import ObjectiveWeights, SolverSettings
from mapper.io.library import library_root
from mapper.io.loading import load_accelerator, load_network
from mapper.solve.api import solve_fused
from mapper.solve.explain import smallest_fused_glb
from mapper.solve.groups import solve_group

WEIGHTS = ObjectiveWeights(latency=1, dram_words=1)
SELECTIONS = [
    ("vgg16", ["conv1_1", "conv1_2"], "array32x32"),
    ("vgg16", ["conv2_1", "conv2_2"], "array32x32"),
    ("vgg16", ["conv1_2", "pool1", "conv2_1"], "array32x32"),
    ("resnet18", ["layer1_0_conv1", "layer1_0_conv2", "layer1_0_add"], "array16x16"),
    ("resnet18", ["layer1_1_conv1", "layer1_1_conv2", "layer1_1_add"], "array16x16"),
    ("resnet18", ["layer2_0_conv1", "layer2_0_conv2"], "array16x16"),
]


def problem(network: str, layers: list[str], accelerator, settings: SolverSettings, policy=None) -> Problem:
    net = load_network(library_root() / "networks" / f"{network}.yaml")
    acc = (
        accelerator
        if not isinstance(accelerator, str)
        else load_accelerator(library_root() / "accelerators" / f"{accelerator}.yaml")
    )
    return Problem(
        f"{network}:{'+'.join(layers)}", "fused", net, tuple(layers), acc, WEIGHTS, settings, fusion_policy=policy
    )


def part_a(settings: SolverSettings) -> dict:
    rows = []
    for network, layers, accelerator in SELECTIONS:
        result = solve_fused(problem(network, layers, accelerator, settings))
        if not result.has_solution:
            print(f"A {network} {'+'.join(layers)}: {result.status} ({result.explanation})")
            continue
        base = result.details["baseline_layer_by_layer"]
        row = {
            "network": network,
            "layers": layers,
            "accelerator": accelerator,
            "status": result.status,
            "proven_optimal": result.proven_optimal and base["proven_optimal"],
            "fused_dram_words": result.metrics["dram_words"],
            "fused_latency": result.metrics["latency_cycles"],
            "baseline_dram_words": base["dram_words"],
            "baseline_latency": base["latency_cycles"],
            "dram_reduction": result.details["reduction"]["dram_words"],
            "latency_reduction": result.details["reduction"]["latency_cycles"],
            "mapping": result.mapping,
            "solve_s": result.solver.wall_time_s,
        }
        rows.append(row)
        print(
            f"A {network} {'+'.join(layers)}: DRAM -{row['dram_reduction']:.1%}, latency -{row['latency_reduction']:.1%}"
        )
    by_network = {}
    for network in ("vgg16", "resnet18"):
        picked = [r for r in rows if r["network"] == network]
        by_network[network] = {
            "dram_reduction": 1
            - sum(r["fused_dram_words"] for r in picked) / sum(r["baseline_dram_words"] for r in picked),
            "latency_reduction": 1
            - sum(r["fused_latency"] for r in picked) / sum(r["baseline_latency"] for r in picked),
        }
    return {"rows": rows, "by_network": by_network}


def large_glb(accelerator_name: str, words: int, word_bits: int):
    acc = load_accelerator(library_root() / "accelerators" / f"{accelerator_name}.yaml").with_glb_words(words)
    return replace(acc, name=f"{accelerator_name}_glb{words}", word_bits=word_bits)


def with_dram_bandwidth(acc, words_per_cycle: int):
    levels = dict(acc.levels)
    levels["DRAM"] = replace(levels["DRAM"], bandwidth_words_per_cycle=words_per_cycle)
    return replace(acc, levels=levels)


def part_b(settings: SolverSettings) -> dict:
    """Alwani's accounting: fused = input + conv3_1 output; layer-by-layer =
    every conv output written once and read once, pooling applied while the
    consumer reads (groups [conv1_1] [conv1_2] [pool1 conv2_1] [conv2_2] [pool2 conv3_1])."""
    net = load_network(library_root() / "networks" / "vgg16.yaml")
    acc = large_glb("array32x32", 16 * 1024 * 1024, word_bits=32)
    chain = ["conv1_1", "conv1_2", "pool1", "conv2_1", "conv2_2", "pool2", "conv3_1"]
    baseline_groups = [["conv1_1"], ["conv1_2"], ["pool1", "conv2_1"], ["conv2_2"], ["pool2", "conv3_1"]]

    def feature_map_words(names):
        group = build_group(tuple(net.layers[n] for n in names))
        solution, cost = solve_group(group, acc, WEIGHTS, settings)
        return cost.dram_words - cost.dram_weight_words, solution, cost

    fused_words, solution, cost = feature_map_words(chain)
    smallest, smallest_height, _ = smallest_fused_glb(build_group(tuple(net.layers[n] for n in chain)))
    baseline_words = sum(feature_map_words(g)[0] for g in baseline_groups)
    mib = 4 / 2**20
    result = {
        "fused_words": fused_words,
        "fused_mib": fused_words * mib,
        "layer_by_layer_words": baseline_words,
        "layer_by_layer_mib": baseline_words * mib,
        "reduction": 1 - fused_words / baseline_words,
        "glb_words_used": cost.glb.total,
        "smallest_glb_words": smallest,
        "smallest_glb_stripe_rows": smallest_height,
        "stripe_rows": solution.mapping.stripe_rows,
        "proven_optimal": solution.status == "OPTIMAL",
    }
    print(f"B fused {result['fused_mib']:.2f} MiB, layer-by-layer {result['layer_by_layer_mib']:.2f} MiB")
    return result


def part_c(settings: SolverSettings) -> dict:
    rows = []
    cases = [("resnet18", ["layer1_0_conv1", "layer1_0_conv2", "layer1_0_add"]), ("vgg16", ["conv2_1", "conv2_2"])]
    for network, layers in cases:
        for words in (32768, 65536, 98304, 131072, 196608, 262144, 524288):
            acc = large_glb("array16x16", words, word_bits=16)
            row = {"network": network, "layers": layers, "glb_words": words}
            for policy in ("partitioned", "time_shared", None):
                result = solve_fused(problem(network, layers, acc, settings, policy))
                key = policy or "free"
                row[key] = result.objective if result.has_solution else None
            row["layer_by_layer"] = layer_by_layer_objective(network, layers, acc, settings)
            rows.append(row)
            print(f"C {network} GLB {words}: {row}")
    return {"rows": rows}


def layer_by_layer_objective(network, layers, acc, settings) -> int | None:
    """Each layer optimal alone on ``acc``; None if one of them does not fit."""
    net = load_network(library_root() / "networks" / f"{network}.yaml")
    total = 0
    for name in layers:
        solution, _ = solve_group(build_group((net.layers[name],)), acc, WEIGHTS, settings)
        if solution.objective is None:
            return None
        total += solution.objective
    return total


def part_d(settings: SolverSettings) -> dict:
    """DRAM bandwidth sweep: fusion cuts latency where layer-by-layer is memory-bound."""
    rows = []
    for network, layers in (("resnet18", SELECTIONS[3][1]), ("vgg16", SELECTIONS[1][1])):
        for bandwidth in (1, 2, 4, 8, 16):
            acc = with_dram_bandwidth(large_glb("array16x16", 524288, 16), bandwidth)
            result = solve_fused(problem(network, layers, acc, settings))
            if not result.has_solution:
                continue
            cut = result.details["reduction"]
            rows.append(
                {
                    "group": "+".join(layers),
                    "dram_words_per_cycle": bandwidth,
                    "latency_reduction": cut["latency_cycles"],
                    "dram_reduction": cut["dram_words"],
                    "proven_optimal": result.proven_optimal,
                }
            )
            print(f"D {'+'.join(layers)} bw {bandwidth}: latency -{cut['latency_cycles']:.1%}")
    return {"rows": rows}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--time-limit", type=float, default=60.0)
    parser.add_argument("--skip-sweep", action="store_true")
    parser.add_argument("--out", default="docs/results/reproduce_fusion.json")
    args = parser.parse_args()
    settings = SolverSettings(time_limit_s=args.time_limit, workers=2, seed=0)
    report = {"A": part_a(settings), "B": part_b(settings)}
    if not args.skip_sweep:
        report["C"] = part_c(settings)
        report["D"] = part_d(settings)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(report, indent=2))
    print(
        "\n| network | layers | accelerator | proven | DRAM fused / LbL | latency fused / LbL | DRAM cut | latency cut |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for r in report["A"]["rows"]:
        print(
            f"| {r['network']} | {' + '.join(r['layers'])} | {r['accelerator']} | {'yes' if r['proven_optimal'] else 'no'} | "
            f"{r['fused_dram_words']:,} / {r['baseline_dram_words']:,} | {r['fused_latency']:,} / {r['baseline_latency']:,} | "
            f"{r['dram_reduction']:.1%} | {r['latency_reduction']:.1%} |"
        )
    for network, cut in report["A"]["by_network"].items():
        print(
            f"\n{network} selection total: DRAM -{cut['dram_reduction']:.1%}, latency -{cut['latency_reduction']:.1%}"
        )
    b = report["B"]
    print(
        f"\nAlwani VGG-E conv1_1..conv3_1 feature-map traffic: fused {b['fused_words']:,} words = {b['fused_mib']:.2f} MiB, "
        f"layer-by-layer {b['layer_by_layer_words']:,} words = {b['layer_by_layer_mib']:.2f} MiB (-{b['reduction']:.1%}); "
        f"GLB used {b['glb_words_used']:,} words with {b['stripe_rows']}-row stripes; "
        f"the smallest GLB fusing the group in row stripes: {b['smallest_glb_words']:,} words"
    )
    if "C" in report:
        print("\n| group | GLB words | layer-by-layer | fused partitioned | fused time-shared | fused (free) |")
        print("|---|---|---|---|---|---|")
        for r in report["C"]["rows"]:
            fmt = lambda v: "infeasible" if v is None else f"{v:,}"  # noqa: E731
            print(
                f"| {'+'.join(r['layers'])} | {r['glb_words']:,} | {fmt(r['layer_by_layer'])} | {fmt(r['partitioned'])} | "
                f"{fmt(r['time_shared'])} | {fmt(r['free'])} |"
            )

    if "D" in report:
        print("\n| group | DRAM words/cycle | DRAM cut | latency cut |")
        print("|---|---|---|---|")
        for r in report["D"]["rows"]:
            print(
                f"| {r['group']} | {r['dram_words_per_cycle']} | {r['dram_reduction']:.1%} | {r['latency_reduction']:.1%} |"
            )


if __name__ == "__main__":
    main()
