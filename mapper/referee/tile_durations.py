"""Task durations as the referee measures them (docs/referee.md): each tile a
task-graph result states (``details.tile_durations``) is replayed as a layer on
its cluster's sub-array, and its claimed latency must equal the replay's
makespan. The task graph is then built with the measured durations, so every
task's end is checked against a measured duration."""

from __future__ import annotations

from functools import partial

from mapper.core.spec import DIMS, Accelerator, Layer
from mapper.core.taskgraph import DurationTable, origin_box, tile_key, tile_layer
from mapper.referee.claims import Claims, layer_mapping
from mapper.referee.layer_replay import replay_layer, replayed
from mapper.referee.mapping_rules import layer_mapping_rules
from mapper.referee.report import VerifyReport

FIELD = "tile_durations"


def _tiles(details: Claims, layers: dict[str, Layer]):
    """(index, entry, layer, work box, cluster) of every stated tile, each key once."""
    tiles = details.items(FIELD)
    seen = set()
    for i in range(len(tiles)):
        entry = tiles.sub(i)
        entry.keys_exactly(("layer", "extents", "cluster", "latency_cycles", "status", "mapping"), "field")
        layer = layers[entry.choice("layer", list(layers))]
        extents = entry.sub("extents")
        extents.keys_exactly(DIMS, "dim")
        work = origin_box(tuple(extents.positive(d) for d in DIMS))
        pair = entry.items("cluster", 2)
        cluster = (pair.positive(0), pair.positive(1))
        entry.text("status")
        key = tile_key(layer.name, work, cluster)
        if key in seen:
            raise entry.error(None, "states a tile and cluster that an earlier entry states")
        seen.add(key)
        yield i, entry, layer, work, cluster


def stated_durations(details: Claims, layers: dict[str, Layer]) -> DurationTable:
    """The durations a result states, unchecked (for plots and the re-run of its heuristics,
    after ``measured_durations`` has checked them)."""
    table = DurationTable()
    for _, entry, layer, work, cluster in _tiles(details, layers):
        table.cycles[tile_key(layer.name, work, cluster)] = entry.count("latency_cycles")
    return table


def measured_durations(
    report: VerifyReport,
    details: Claims,
    layers: dict[str, Layer],
    accelerator: Accelerator,
    functional: bool = False,
    seed: int = 0,
) -> DurationTable:
    """Replay every stated tile's mapping as a layer on its cluster (a row each: the
    mapping's rules, the replay, latency = makespan); the table holds the measured
    makespans of the tiles that replay."""
    table = DurationTable()
    for i, entry, layer, work, cluster in _tiles(details, layers):
        tile, on_cluster = tile_layer(layer, work), accelerator.with_array(*cluster)
        mapping = layer_mapping(entry.sub("mapping"))
        path = entry.where("mapping")
        name = f"{FIELD}[{i}]: the {layer.name} tile on {cluster[0]}x{cluster[1]} PEs replays"
        if not layer_mapping_rules(report, tile, on_cluster, mapping, path):
            continue
        measured = replayed(report, path, partial(replay_layer, tile, on_cluster, mapping, functional, seed), name)
        if measured is None:
            continue
        latency = entry.count("latency_cycles")
        report.check(
            f"{FIELD}[{i}]: latency_cycles = the replay's makespan",
            latency,
            measured.latency,
            fields=entry.where("latency_cycles"),
        )
        table.cycles[tile_key(layer.name, work, cluster)] = measured.latency
    return table
