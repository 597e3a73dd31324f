"""``fusesat solve``'s tables of a fused result on 2-D tiles (``mapper.solve.fused_tiled``):
the tile grid and policies, every layer's nests, the metrics and layer-by-layer."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from mapper.core.result import SolveResult
from mapper.core.spec import DIMS


def render_tiled(result: SolveResult, console: Console) -> None:
    mapping, metrics, details = result.mapping, result.metrics, result.details
    names = result.layer.split("+")
    (rows, cols), (height, width) = metrics["tiles"], mapping["tile"]
    console.print(
        f"{rows} x {cols} tiles of {height} x {width} output rows x cols of {names[-1]}; "
        "the PE array time-shared, layer by layer within each tile"
    )
    space, search = details["tile_space"], details["search"]
    sizes = ", ".join(f"{h}x{w}" for h, w in space["sizes"])
    console.print(
        f"space: tiles {sizes}; overlaps {', '.join(space['overlaps'])}; weights {', '.join(space['weights'])} "
        f"({search['configurations_solved']} configurations solved, {search['nest_solves']} nest solves)"
    )
    layers = Table(title="Per layer")
    for column in ("layer", "its input's overlap", "weights", "nests (box rows x cols: spatial, GLB order)"):
        layers.add_column(column, overflow="fold")
    for k, name in enumerate(names):
        nests = [nest for nest in mapping["nests"] if nest["layer"] == name]
        layers.add_row(
            name, mapping["overlap"][k], mapping["weights"][k], "\n".join(_nest_line(nest) for nest in nests)
        )
    console.print(layers)
    console.print(_metrics(metrics))
    baseline = details.get("baseline_layer_by_layer", {})
    if baseline.get("feasible"):
        console.print(_comparison(result, baseline))


def _nest_line(nest: dict) -> str:
    factors = nest["mapping"]["factors"]
    spatial = [f"{d}{factors[lv][d]}@{lv}" for lv in ("ROW", "COL") for d in DIMS if factors[lv][d] > 1]
    order = [f"{d}{factors['GLB'][d]}" for d in nest["mapping"]["orders"]["GLB"] if factors["GLB"][d] > 1]
    return f"{nest['rows']} x {nest['cols']}: {' '.join(spatial) or '-'}; {' '.join(order) or '-'}"


def _metrics(metrics: dict) -> Table:
    table = Table(title="Metrics")
    table.add_column("metric")
    table.add_column("value", justify="right")
    for name, value in (
        ("latency (cycles)", f"{metrics['latency_cycles']:,}"),
        ("DRAM traffic (words)", f"{metrics['dram_words']:,}"),
        ("DRAM traffic (bytes)", f"{metrics['dram_bytes']:,}"),
        ("energy (pJ)", f"{metrics['energy_pj']:,.1f}"),
        ("MACs (recomputed)", f"{metrics['macs']:,} ({metrics['recomputed_macs']:,})"),
        ("PE utilisation", f"{metrics['utilisation']:.1%}"),
        ("GLB words at the fullest tile", f"{metrics['glb_words']:,}"),
    ):
        table.add_row(name, value)
    return table


def _comparison(result: SolveResult, baseline: dict) -> Table:
    metrics, cut = result.metrics, result.details["reduction"]
    table = Table(title="Fused vs layer-by-layer (each layer optimal alone, layer mode)")
    for column in ("", "latency (cycles)", "DRAM words", "energy (pJ)", "objective"):
        table.add_column(column, justify="right", overflow="fold")
    ours = {**metrics, "objective": result.objective}
    for label, row in (("fused", ours), ("layer-by-layer", baseline)):
        table.add_row(
            label,
            f"{row['latency_cycles']:,}",
            f"{row['dram_words']:,}",
            f"{row['energy_fj'] / 1000:,.1f}",
            f"{row['objective']:,}",
        )
    keys = ("latency_cycles", "dram_words", "energy_fj", "objective")
    table.add_row("reduction", *(f"{cut[k]:.1%}" if cut[k] is not None else "-" for k in keys))
    return table
