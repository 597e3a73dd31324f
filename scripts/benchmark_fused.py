"""Benchmark: every chain of 2, 3 and 4 consecutive fusable layers of ResNet-18
and VGG16, fused on the Eyeriss-like preset and on the 16x16 array.

``--tiles``: in 2-D tiles (the default tiled space, DESIGN 4.2) instead of row
stripes. Writes docs/results/benchmark_fused_tiles.json. ``--only-adds``,
``--presets`` and ``--sizes`` re-run only the groups they select and keep the other
rows of that file (each row says which run measured it: ``run``).

For each group: status (OPTIMAL, or INFEASIBLE with its reason), CP-SAT wall
time to the proof (2 workers, 60 s limit), gap at the limit, and the fused vs
layer-by-layer reductions. Writes docs/results/benchmark_fused.json.

    python scripts/benchmark_fused.py [--time-limit 60] [--sizes 2 3 4] [--presets ...] [--tiles [--only-adds]]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from dataclasses import replace
from pathlib import Path

from in_child import in_child

from mapper.core.errors import SpecError
from mapper.core.group import build_group
from mapper.core.problem import Problem
from mapper.core.spec import ObjectiveWeights, SolverSettings
from mapper.core.tiled_group import TiledSpace
from mapper.io.library import library_root
from mapper.io.loading import load_accelerator, load_network
from mapper.solve.api import solve_fused

PRESETS = ("eyeriss_like", "array16x16")
SIZES = (2, 3, 4)
NOT_SOLVED = ("NOT_MODELLED", "NOT_RUN")  # rows of an earlier run: not modelled then, or not re-run since


def chains(network, size: int):
    names = list(network.layers)
    for start in range(len(names) - size + 1):
        window = tuple(network.layers[n] for n in names[start : start + size])
        try:
            build_group(window)
        except SpecError:
            continue
        yield [layer.name for layer in window]


def run_group(accelerator_name: str, network_name: str, size: int, names, settings, tiles: bool) -> dict:
    """One group solved in fused mode (in row stripes, or in the default tiled space)."""
    accelerator = load_accelerator(library_root() / "accelerators" / f"{accelerator_name}.yaml")
    network = load_network(library_root() / "networks" / f"{network_name}.yaml")
    name = f"{network_name}:{'+'.join(names)}"
    problem = Problem(name, "fused", network, tuple(names), accelerator, ObjectiveWeights(1, 1, 0), settings)
    if tiles:
        problem = replace(problem, tiles=TiledSpace.default(problem.layers))
    result = solve_fused(problem)
    reduction = result.details.get("reduction", {})
    return {
        "accelerator": accelerator_name,
        "network": network_name,
        "size": size,
        "layers": names,
        "status": result.status,
        "proven": result.proven_optimal or result.status == "INFEASIBLE",
        "wall_s": result.solver.wall_time_s,
        "gap": result.gap,
        "dram_reduction": reduction.get("dram_words"),
        "latency_reduction": reduction.get("latency_cycles"),
        "objective_reduction": reduction.get("objective"),
        "explanation": result.explanation,
    }


def _summary(args, rows: list[dict]) -> None:
    """Per preset: groups, modelled, decided (proven optimal or infeasible) within the time
    limit, the median time of the modelled ones, and how many fuse profitably."""
    for accelerator_name in PRESETS:
        picked = [r for r in rows if r["accelerator"] == accelerator_name]
        modelled = [r for r in picked if r["status"] not in NOT_SOLVED]
        if not modelled:
            continue
        decided = [r for r in modelled if r["proven"] and r["wall_s"] <= args.time_limit]
        profitable = [r for r in modelled if r["status"] == "OPTIMAL" and (r.get("objective_reduction") or 0) > 0]
        median = statistics.median(r["wall_s"] for r in modelled)
        print(
            f"{accelerator_name}: {len(picked)} groups, {len(modelled)} modelled, {len(decided)} decided within "
            f"{args.time_limit:g} s ({len(decided) / len(modelled):.0%} of the modelled, {len(decided) / len(picked):.0%} "
            f"of all), median {median:.1f} s; {len(profitable)} fuse profitably"
        )


def _aborted(accelerator: str, network: str, size: int, names: list[str], code) -> dict:
    return {
        "accelerator": accelerator,
        "network": network,
        "size": size,
        "layers": names,
        "status": "ABORTED",
        "proven": False,
        "wall_s": 0.0,
        "gap": None,
        "dram_reduction": None,
        "latency_reduction": None,
        "objective_reduction": None,
        "explanation": f"exit {code}",
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--time-limit", type=float, default=60.0)
    parser.add_argument("--sizes", type=int, nargs="+", default=list(SIZES), choices=SIZES)
    parser.add_argument("--out", default=None)
    parser.add_argument("--tiles", action="store_true", help="2-D tiles (the default tiled space)")
    parser.add_argument("--presets", nargs="+", default=list(PRESETS), choices=PRESETS)
    parser.add_argument("--only-adds", action="store_true", help="re-run the groups with an add, keep the rest")
    args = parser.parse_args()
    args.out = args.out or f"docs/results/benchmark_fused{'_tiles' if args.tiles else ''}.json"
    settings = SolverSettings(time_limit_s=args.time_limit, workers=2, seed=0)
    partial = args.only_adds or set(args.presets) != set(PRESETS) or set(args.sizes) != set(SIZES)
    kept = _kept_rows(args.out) if partial else {}
    run = time.strftime("%Y-%m-%d") + (" (groups with an add)" if args.only_adds else "")
    rows = []
    for accelerator_name in PRESETS:
        for network_name in ("resnet18", "vgg16"):
            network = load_network(library_root() / "networks" / f"{network_name}.yaml")
            for size in SIZES:
                for names in chains(network, size):
                    step = (accelerator_name, network_name, size, names)
                    has_add = any(network.layers[name].kind == "add" for name in names)
                    chosen = accelerator_name in args.presets and size in args.sizes and (has_add or not args.only_adds)
                    if not chosen:
                        rows += [kept[_key(step)]] if _key(step) in kept else []
                        continue
                    row, attempts, code = in_child(run_group, (*step, settings, args.tiles))
                    rows.append({**(row or _aborted(*step, code)), "attempts": attempts, "run": run})
                    print(f"{accelerator_name} {'+'.join(names)}: {row['status']} {row['wall_s']:.2f}s", flush=True)
                    _write(args, rows)
    _write(args, rows)
    _table(args, rows)


def _key(step) -> tuple:
    accelerator, network, _, names = step
    return accelerator, network, tuple(names)


def _kept_rows(path: str) -> dict:
    """The rows of an earlier run, by group (each keeps the run that measured it)."""
    rows = json.loads(Path(path).read_text())["rows"]
    return {_key((r["accelerator"], r["network"], r["size"], r["layers"])): {"run": "earlier run", **r} for r in rows}


def _write(args, rows: list[dict]) -> None:
    """After every group, so a run cut short keeps what it measured."""
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    semantics = "tiles" if args.tiles else "stripes"
    Path(args.out).write_text(
        json.dumps({"time_limit_s": args.time_limit, "semantics": semantics, "rows": rows}, indent=2)
    )


def _table(args, rows: list[dict]) -> None:
    _summary(args, rows)
    print(
        "\n| accelerator | network | layers | groups | not run | optimal | infeasible | other | median s | max s "
        "| fuse profitably | best DRAM cut |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for accelerator_name in PRESETS:
        for network_name in ("resnet18", "vgg16"):
            for size in SIZES:
                picked = [
                    r
                    for r in rows
                    if (r["accelerator"], r["network"], r["size"]) == (accelerator_name, network_name, size)
                ]
                if not picked:
                    continue
                skipped = sum(r["status"] in NOT_SOLVED for r in picked)
                modelled = [r for r in picked if r["status"] not in NOT_SOLVED]
                times = [r["wall_s"] for r in modelled] or [0.0]
                optimal = sum(r["status"] == "OPTIMAL" for r in modelled)
                infeasible = sum(r["status"] == "INFEASIBLE" for r in modelled)
                cuts = [r["dram_reduction"] for r in modelled if r["dram_reduction"] is not None]
                profitable = sum((r.get("objective_reduction") or 0) > 0 for r in modelled if r["status"] == "OPTIMAL")
                best = f"{max(cuts):.1%}" if cuts else "-"
                print(
                    f"| {accelerator_name} | {network_name} | {size} | {len(picked)} | {skipped} | {optimal} | "
                    f"{infeasible} | {len(modelled) - optimal - infeasible} | {statistics.median(times):.2f} | "
                    f"{max(times):.2f} | {profitable} | {best} |"
                )


if __name__ == "__main__":
    main()
