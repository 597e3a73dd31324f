"""Mode-specific sections of a problem file: task-graph settings, network ranges
and partition search, and which pin parser (``mapper.io.pins``) each mode has."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from math import prod

from mapper.core.enums import Mode, Overlap, Policy, WeightPolicy
from mapper.core.problem import PartitionSearch, Platform, TaskGraphSpec
from mapper.core.spec import Accelerator, Layer, Network
from mapper.core.tiled_group import TiledSpace
from mapper.io.limits import (
    MAX_BANDWIDTH,
    MAX_CLUSTERS,
    MAX_FMAP,
    MAX_GROUP_LAYERS,
    MAX_PE,
    MAX_SLICES,
    MAX_TASK_CLUSTER_PAIRS,
    MAX_TASKS_PER_LAYER,
    MAX_TILED_CONFIGURATIONS,
    MAX_WEIGHT,
    MAX_WORDS,
)
from mapper.io.pins import PinContext, fused_pins, layer_pins, network_pins, taskgraph_pins
from mapper.io.yaml_fields import Fields

TASKGRAPH_OBJECTIVES = ("makespan", "memory", "weighted", "lexicographic")


def parse_taskgraph(f: Fields, layer_names: list[str], accelerator: Accelerator | None = None) -> TaskGraphSpec:
    """The ``taskgraph`` section; with an ``accelerator`` the clusters must fit its PE
    array side by side along the columns (their tasks run on it, docs/taskgraph.md)."""
    f.reject_unknown({"slicing", "platform", "objective", "weights", "memory_cap"})
    slicing_fields = f.sub("slicing", {})
    for name in slicing_fields.data:
        if name not in layer_names:
            raise slicing_fields.fail(str(name), "is not a layer of this problem", f"use one of {layer_names}")
    slicing = {}
    for name in layer_names:
        one = slicing_fields.sub(name, {})
        one.reject_unknown({"rows", "cols", "channels"})
        slicing[name] = tuple(one.integer(key, 1, maximum=MAX_SLICES) for key in ("rows", "cols", "channels"))
        if prod(slicing[name]) > MAX_TASKS_PER_LAYER:
            raise one.fail(
                "rows",
                f"rows x cols x channels is {prod(slicing[name])} tasks; at most {MAX_TASKS_PER_LAYER} per layer",
                "slice the layer more coarsely",
            )
    platform = f.sub("platform")
    platform.reject_unknown({"clusters", "memory_words", "link_words_per_cycle"})
    raw = platform.raw("clusters")
    if not isinstance(raw, list) or not raw:
        raise platform.fail("clusters", "must be a non-empty list of [rows, cols] PE blocks")
    if len(raw) > MAX_CLUSTERS:
        raise platform.fail("clusters", f"{len(raw)} clusters; at most {MAX_CLUSTERS} are supported", "use fewer")
    clusters = tuple(_cluster(platform, i, c) for i, c in enumerate(raw))
    if accelerator is not None:
        rows, cols = max(r for r, _ in clusters), sum(c for _, c in clusters)
        if rows > accelerator.pe_rows or cols > accelerator.pe_cols:
            raise platform.fail(
                "clusters",
                f"side by side the clusters need {rows} x {cols} PEs; {accelerator.name} has "
                f"{accelerator.pe_rows} x {accelerator.pe_cols}",
                "use smaller clusters or a larger accelerator",
            )
    tasks = sum(prod(parts) for parts in slicing.values())
    if tasks * len(clusters) > MAX_TASK_CLUSTER_PAIRS:
        raise f.fail(
            "slicing",
            f"{tasks} tasks on {len(clusters)} clusters make {tasks * len(clusters)} task-cluster pairs; "
            f"at most {MAX_TASK_CLUSTER_PAIRS} are supported",
            "slice the layers more coarsely or use fewer clusters",
        )
    objective = f.text("objective", "lexicographic")
    if objective not in TASKGRAPH_OBJECTIVES:
        raise f.fail("objective", f"unknown objective {objective!r}", f"use one of {', '.join(TASKGRAPH_OBJECTIVES)}")
    weights = f.sub("weights", {})
    weights.reject_unknown({"makespan", "memory"})
    memory = platform.integer("memory_words", None, maximum=MAX_WORDS) if platform.has("memory_words") else None
    cap = f.integer("memory_cap", None, maximum=MAX_WORDS) if f.has("memory_cap") else None
    link = platform.integer("link_words_per_cycle", 0, minimum=0, maximum=MAX_BANDWIDTH)
    return TaskGraphSpec(
        slicing=slicing,
        platform=Platform(clusters, memory, link),
        objective=objective,
        makespan_weight=weights.integer("makespan", 1, minimum=0, maximum=MAX_WEIGHT),
        memory_weight=weights.integer("memory", 1, minimum=0, maximum=MAX_WEIGHT),
        memory_cap=cap,
    )


def parse_fusion(fusion: Fields, layers: tuple[Layer, ...]) -> tuple[Policy | None, TiledSpace | None]:
    """``fusion: {policy, tiles, recompute}``: the PE policy (None: the solver's choice) and,
    with ``tiles``, the 2-D tiled space (DESIGN 4.2; without it, row stripes)."""
    fusion.reject_unknown({"policy", "tiles", "recompute"})
    policy = fusion.text("policy", "free")
    if policy not in (*(str(p) for p in Policy), "free"):
        raise fusion.fail("policy", f"unknown policy {policy!r}", "use partitioned, time_shared or free")
    policy = None if policy == "free" else Policy(policy)
    if not fusion.has("tiles"):
        if fusion.has("recompute"):
            raise fusion.fail("recompute", "row stripes never recompute", "add fusion.tiles or remove recompute")
        return policy, None
    if policy is Policy.PARTITIONED:
        raise fusion.fail("policy", "2-D tiles run time-shared; partitioned tiles are not modelled yet", "remove it")
    if len(layers) == 1:
        raise fusion.fail("tiles", "a group of one layer in 2-D tiles is the layer on its own", "use mode: layer")
    tiles = fusion.sub("tiles")
    tiles.reject_unknown({"sizes", "overlaps", "weights"})
    last = layers[-1]
    rows, cols = last.bounds["P"], last.bounds["Q"]
    sizes = TiledSpace.default(layers).sizes
    if tiles.has("sizes"):
        sizes = tiles.each("sizes", _tile_size)
        for i, (height, width) in enumerate(sizes):
            if height > rows or width > cols:
                raise tiles.fail(
                    f"sizes[{i}]",
                    f"a {height}x{width} tile exceeds {last.name}'s {rows}x{cols} output",
                    f"use at most {rows}x{cols}",
                )
    overlaps = _policies(tiles, "overlaps", Overlap)
    if not fusion.boolean("recompute", True):
        if set(overlaps) != {Overlap.CACHE} and tiles.has("overlaps"):
            raise fusion.fail("recompute", "false leaves only the overlap policy cache", "list only cache")
        overlaps = (Overlap.CACHE,)
    weights = _policies(tiles, "weights", WeightPolicy)
    space = TiledSpace(tuple(dict.fromkeys(sizes)), tuple(dict.fromkeys(overlaps)), tuple(dict.fromkeys(weights)))
    count = len(space.sizes) * (len(space.overlaps) * len(space.weights)) ** len(layers)
    if count > MAX_TILED_CONFIGURATIONS:
        raise fusion.fail(
            "tiles",
            f"{count:,} configurations (sizes x (overlaps x weights) ^ layers); at most "
            f"{MAX_TILED_CONFIGURATIONS:,} are supported",
            "list fewer sizes, overlaps or weights",
        )
    return policy, space


def _policies(tiles: Fields, key: str, kind) -> tuple:
    """The members of the enum ``kind`` listed at ``key`` (by value), or all of them."""
    if not tiles.has(key):
        return tuple(kind)
    names = tuple(map(str, kind))
    return tuple(kind(value) for value in tiles.each(key, lambda item, item_key: item.choice(item_key, names)))


def _tile_size(item: Fields, key: str) -> tuple[int, int]:
    """A tile size: rows and cols (``[h, w]``), or one number for a square."""
    if isinstance(item.raw(key), list):
        return item.pair(key, maximum=MAX_FMAP)
    side = item.integer(key, maximum=MAX_FMAP)
    return side, side


def _cluster(platform: Fields, index: int, value) -> tuple[int, int]:
    key = f"clusters[{index}]"
    return Fields({key: value}, platform.source, platform.path).pair(key, maximum=MAX_PE)


def parse_layer_range(top: Fields, network: Network) -> list[str]:
    """Network mode: ``layers`` absent (the whole network), ``{from: a, to: b}``
    (inclusive, in the network's order) or a list of consecutive layers."""
    order = list(network.layers)
    if not top.has("layers"):
        return order
    raw = top.raw("layers")
    if isinstance(raw, dict):
        span = top.sub("layers")
        span.reject_unknown({"from", "to"})
        first, last = span.text("from", order[0]), span.text("to", order[-1])
        for key, name in (("from", first), ("to", last)):
            if name not in network.layers:
                raise span.fail(key, f"no layer {name!r} in network {network.name}", "check the name")
        if order.index(first) > order.index(last):
            raise span.fail("to", f"{last!r} comes before {first!r} in {network.name}", "swap them")
        return order[order.index(first) : order.index(last) + 1]
    if not isinstance(raw, list) or not raw or not all(isinstance(name, str) for name in raw):
        raise top.fail("layers", "must be a list of consecutive layers or {from: LAYER, to: LAYER}")
    for i, name in enumerate(raw):
        if name not in network.layers:
            raise top.fail(f"layers[{i}]", f"no layer {name!r} in network {network.name}", "check the name")
        if i and order.index(name) != order.index(raw[i - 1]) + 1:
            raise top.fail(
                f"layers[{i}]", f"{name!r} does not follow {raw[i - 1]!r} in {network.name}", "use {from: a, to: b}"
            )
    return list(raw)


def parse_partition(f: Fields) -> PartitionSearch:
    f.reject_unknown({"max_group_layers", "time_budget_s"})
    budget = f.seconds("time_budget_s", None, fix="or leave it out")
    return PartitionSearch(f.integer("max_group_layers", 6, maximum=MAX_GROUP_LAYERS), budget)


def parse_pins(top: Fields, mode: Mode, context: PinContext) -> dict:
    """Decisions the problem fixes, parsed by its mode's pin parser (``MODE_RULES``)."""
    pin = top.sub("pin")
    parser = MODE_RULES[mode].pins
    if parser is None:
        raise pin.fail("pin", f"pins are not supported in {mode} mode yet", "remove pin")
    return parser(pin, context)


@dataclass(frozen=True)
class ModeRules:
    """What the loader checks for a problem of one mode (the loader's row of the
    mode table; ``mapper.app.modes.MODES`` names it with the rest)."""

    fused_groups: bool  # costed as fused groups (DESIGN 4.2): one shared GLB, no energy term yet
    chain: bool  # the listed layers must form one fusable chain
    pins: Callable[[Fields, PinContext], dict] | None  # parser of the pin: section (mapper.io.pins)


MODE_RULES: dict[Mode, ModeRules] = {
    Mode.LAYER: ModeRules(fused_groups=False, chain=False, pins=layer_pins),
    Mode.FUSED: ModeRules(fused_groups=True, chain=True, pins=fused_pins),
    Mode.NETWORK: ModeRules(fused_groups=True, chain=False, pins=network_pins),
    Mode.TASKGRAPH: ModeRules(fused_groups=False, chain=True, pins=taskgraph_pins),
}
