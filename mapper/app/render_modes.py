"""The per-mode part of ``fusesat solve``'s output: the tables of a solved
result (``mapper.app.modes`` names the renderer of each mode). The arguments
are the same for every mode; ``bounds`` (the layer's loop bounds) only matters
in layer mode."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from mapper.app.render_tiled import render_tiled
from mapper.core.result import SolveResult
from mapper.core.spec import DIMS, LOOP_LEVELS, ORDERED_LEVELS
from mapper.solve.partition import BASELINE_LABELS


def _loop_nest_table(mapping: dict, bounds: dict[str, int] | None) -> Table:
    table = Table(title="Loop nest (factor of every dim at every level)")
    table.add_column("dim")
    if bounds:
        table.add_column("bound", justify="right")
    for level in LOOP_LEVELS:
        table.add_column(level, justify="right")
    for d in DIMS:
        factors = [mapping["factors"][lv][d] for lv in LOOP_LEVELS]
        if bounds and bounds[d] == 1:
            continue
        row = [d] + ([str(bounds[d])] if bounds else []) + [str(f) if f > 1 else "." for f in factors]
        table.add_row(*row)
    return table


def _order_lines(mapping: dict) -> list[str]:
    lines = []
    for level in ORDERED_LEVELS:
        loops = [
            f"{d}{mapping['factors'][level][d]}" for d in mapping["orders"][level] if mapping["factors"][level][d] > 1
        ]
        lines.append(f"{level} loop order (outer -> inner): {' '.join(loops) if loops else '(none)'}")
    spatial = [
        f"{d}{mapping['factors'][lv][d]}@{lv}" for lv in ("ROW", "COL") for d in DIMS if mapping["factors"][lv][d] > 1
    ]
    lines.append(f"spatial unrolling: {' '.join(spatial) if spatial else '(none)'}")
    double = mapping.get("double_outputs", [])
    lines.append(f"output tile: {'double-buffered in ' + ', '.join(double) if double else 'accumulates in place'}")
    return lines


def _metrics_table(result: SolveResult) -> Table:
    m = result.metrics
    table = Table(title="Metrics")
    table.add_column("metric")
    table.add_column("value", justify="right")
    rows = [
        ("latency (cycles)", f"{m['latency_cycles']:,}"),
        ("compute cycles", f"{m['compute_cycles']:,}"),
        ("DRAM traffic (words)", f"{m['dram_words']:,}"),
        ("DRAM traffic (bytes)", f"{m['dram_bytes']:,}"),
        ("  DRAM reads W / I / O", " / ".join(f"{m['dram_reads'].get(t, 0):,}" for t in "WIO")),
        ("  DRAM writes O", f"{m['dram_writes']['O']:,}"),
        ("energy (pJ)", f"{m['energy_pj']:,.1f}"),
        ("PE utilisation", f"{m['utilisation']:.1%} ({m['used_pes']} PEs used)"),
        ("GLB occupancy (words)", f"{m['glb_occupancy_words']:,}"),
        ("RF occupancy per PE (words)", f"{m['rf_occupancy_words']:,}"),
    ]
    for name, value in rows:
        table.add_row(name, value)
    return table


def render_layer(result: SolveResult, console: Console, bounds: dict[str, int] | None = None) -> None:
    console.print(_loop_nest_table(result.mapping, bounds))
    for line in _order_lines(result.mapping):
        console.print(line)
    console.print(_metrics_table(result))


def render_fused(result: SolveResult, console: Console, bounds: dict[str, int] | None = None) -> None:
    if "tile_space" in result.details:
        render_tiled(result, console)
        return
    mapping, metrics = result.mapping, result.metrics
    names = result.layer.split("+")
    policy = mapping["policy"].replace("_", "-")
    console.print(
        f"{metrics['stripes']} stripes of {mapping['stripe_rows']} output row(s) of {names[-1]}; PE policy: {policy}"
    )
    timing = metrics["pipeline"]
    console.print(
        f"pipeline: first output stripe after {timing['fill_cycles']:,} cycles; slowest later stage "
        f"{timing['slowest_stage_cycles']:,} cycles; latency {metrics['latency_cycles']:,} cycles"
    )
    table = Table(title="Per layer")
    for column in ("layer", "PE columns", "unrolling rows x cols", "weights", "compute cycles", "DRAM words"):
        table.add_column(column, justify="right", overflow="fold")
    for k, name in enumerate(names):
        rows, cols = mapping["spatial"][k]
        table.add_row(
            name,
            str(mapping["columns"][k]),
            f"{rows} x {cols}",
            "resident" if mapping["resident"][k] else "streamed per stripe",
            f"{metrics['compute_cycles_per_layer'][k]:,}",
            f"{metrics['dram_words_per_layer'][k]:,}",
        )
    console.print(table)
    glb = metrics["glb_breakdown"]
    alloc = Table(title="GLB allocation (words)")
    alloc.add_column("buffer")
    alloc.add_column("words", justify="right")
    alloc.add_row("weights", f"{glb['weights']:,}")
    alloc.add_row("input window (+1 stripe prefetch)", f"{glb['input_window']:,}")
    for name, words in zip(names, glb["intermediate_windows"], strict=False):
        alloc.add_row(f"halo window of {name}", f"{words:,}")
    alloc.add_row("add operands from DRAM", f"{glb['operand_windows']:,}")
    alloc.add_row("output stripes (double-buffered)", f"{glb['output_buffer']:,}")
    alloc.add_row("total", f"{metrics['glb_words']:,}")
    console.print(alloc)
    baseline = result.details.get("baseline_layer_by_layer", {})
    if baseline.get("feasible"):
        compare = Table(title="Fused vs layer-by-layer (each layer optimal alone)")
        for column in ("", "latency (cycles)", "DRAM words", "objective"):
            compare.add_column(column, justify="right", overflow="fold")
        compare.add_row(
            "fused", f"{metrics['latency_cycles']:,}", f"{metrics['dram_words']:,}", f"{result.objective:,}"
        )
        compare.add_row(
            "layer-by-layer",
            f"{baseline['latency_cycles']:,}",
            f"{baseline['dram_words']:,}",
            f"{baseline['objective']:,}",
        )
        cut = result.details["reduction"]
        compare.add_row(
            "reduction", f"{cut['latency_cycles']:.1%}", f"{cut['dram_words']:.1%}", f"{cut['objective']:.1%}"
        )
        console.print(compare)


def render_taskgraph(result: SolveResult, console: Console, bounds: dict[str, int] | None = None) -> None:
    details, metrics = result.details, result.metrics
    console.print(f"{details['tasks']} tasks, {details['edges']} edges; objective: {result.weights['objective']}")
    timeline = Table(title="Schedule (per PE cluster)")
    timeline.add_column("cluster")
    timeline.add_column("tasks (start-end)", overflow="fold")
    by_cluster: dict[str, list] = {}
    for task, slot in sorted(result.mapping.items(), key=lambda kv: kv[1]["start"]):
        by_cluster.setdefault(slot["processor"], []).append(f"{task} {slot['start']}-{slot['end']}")
    for cluster, entries in sorted(by_cluster.items()):
        timeline.add_row(cluster, ", ".join(entries))
    console.print(timeline)
    pinned = " (the heuristics ignore the pins)" if result.details.get("regret") else ""
    compare = Table(title=f"CP-SAT vs heuristics{pinned}")
    for column in (
        "method",
        "makespan (cycles)",
        "peak memory (words)",
        "objective",
        "gap to CP-SAT bound",
        "fits memory",
    ):
        compare.add_column(column, justify="right", overflow="fold")
    compare.add_row(
        "CP-SAT", f"{metrics['makespan']:,}", f"{metrics['peak_memory_words']:,}", f"{result.objective:,}", "-", "yes"
    )
    for row in details["heuristics"]:
        name = row["method"] + (f" (cap {row['cap']:,})" if row["cap"] else "")
        gap = "n/a (slower)" if row["gap_to_bound"] is None else f"{row['gap_to_bound']:.1%}"
        compare.add_row(
            name,
            f"{row['makespan']:,}",
            f"{row['peak_memory_words']:,}",
            f"{row['objective']:,}",
            gap,
            "yes" if row["within_memory"] else "no",
        )
    console.print(compare)


def render_network(result: SolveResult, console: Console, bounds: dict[str, int] | None = None) -> None:
    details, metrics = result.details, result.metrics
    search = details["search"]
    console.print(
        f"{search['candidates']} candidate groups of up to {search['max_group_layers']} layers: "
        f"{search['solved']} solved, {search['reused']} reused (equal shapes), {search['infeasible']} infeasible, "
        f"{search['skipped']} skipped by the time budget, {search['unproven']} not proven optimal"
    )
    multi = metrics["fused_groups"]  # groups of more than one layer (a lone layer may use the fused model)
    groups = Table(title=f"Partition: {metrics['groups']} groups, {multi} of more than one layer")
    for column in ("layers", "model", "latency (cycles)", "DRAM (words)", "objective", "proven"):
        groups.add_column(column, justify="right", overflow="fold")
    for group in result.mapping["groups"]:
        groups.add_row(
            " + ".join(group["layers"]),
            group["model"],
            f"{group['metrics']['latency_cycles']:,}",
            f"{group['metrics']['dram_words']:,}",
            f"{group['objective']:,}",
            "yes" if group["proven_optimal"] else f"no ({group['status']})",
        )
    console.print(groups)
    compare = Table(title="Against the baselines and the compulsory limits")
    for column in ("partition", "groups", "latency (cycles)", "DRAM (words)", "objective", "gap to bound"):
        compare.add_column(column, justify="right", overflow="fold")
    gap = "-" if result.gap is None else f"{result.gap:.2%}"
    compare.add_row(
        "CP-SAT + DP (optimal)",
        str(metrics["groups"]),
        f"{metrics['latency_cycles']:,}",
        f"{metrics['dram_words']:,}",
        f"{result.objective:,}",
        gap,
    )
    for name, row in details["baselines"].items():
        compare.add_row(
            BASELINE_LABELS[name],
            str(len(row["groups"])),
            f"{row['latency_cycles']:,}",
            f"{row['dram_words']:,}",
            f"{row['objective']:,}",
            f"{row['gap_to_bound']:.2%}",
        )
    limits = details["compulsory"]
    compare.add_row("compulsory limits", "-", f"{limits['latency_cycles']:,}", f"{limits['dram_words']:,}", "-", "-")
    console.print(compare)
