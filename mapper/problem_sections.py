"""Mode-specific sections of a problem file: task-graph settings and pinned decisions."""

from __future__ import annotations

from mapper.spec import DIMS, LOOP_LEVELS, ORDERED_LEVELS, Network, Platform, TaskGraphSpec
from mapper.yaml_fields import Fields

TASKGRAPH_OBJECTIVES = ("makespan", "memory", "weighted", "lexicographic")


def parse_taskgraph(f: Fields, layer_names: list[str]) -> TaskGraphSpec:
    f.reject_unknown({"slicing", "platform", "objective", "weights", "memory_cap"})
    slicing_fields = f.sub("slicing", {})
    for name in slicing_fields.data:
        if name not in layer_names:
            raise slicing_fields.fail(str(name), "is not a layer of this problem", f"use one of {layer_names}")
    slicing = {}
    for name in layer_names:
        one = slicing_fields.sub(name, {})
        one.reject_unknown({"rows", "cols", "channels"})
        slicing[name] = (one.integer("rows", 1), one.integer("cols", 1), one.integer("channels", 1))
    platform = f.sub("platform")
    platform.reject_unknown({"clusters", "memory_words", "link_words_per_cycle"})
    raw = platform.raw("clusters")
    if not isinstance(raw, list) or not raw:
        raise platform.fail("clusters", "must be a non-empty list of [rows, cols] PE blocks")
    clusters = tuple(_cluster(platform, i, c) for i, c in enumerate(raw))
    objective = f.text("objective", "lexicographic")
    if objective not in TASKGRAPH_OBJECTIVES:
        raise f.fail("objective", f"unknown objective {objective!r}", f"use one of {', '.join(TASKGRAPH_OBJECTIVES)}")
    weights = f.sub("weights", {})
    weights.reject_unknown({"makespan", "memory"})
    memory = platform.integer("memory_words", None) if platform.has("memory_words") else None
    cap = f.integer("memory_cap", None) if f.has("memory_cap") else None
    return TaskGraphSpec(
        slicing=slicing,
        platform=Platform(clusters, memory, platform.integer("link_words_per_cycle", 0, minimum=0)),
        objective=objective,
        makespan_weight=weights.integer("makespan", 1, minimum=0),
        memory_weight=weights.integer("memory", 1, minimum=0),
        memory_cap=cap,
    )


def _cluster(platform: Fields, index: int, value) -> tuple[int, int]:
    sub = Fields({"clusters": {str(index): value}}, platform.source, platform.path).sub("clusters")
    return sub.pair(str(index))


def parse_pins(top: Fields, mode: str, network: Network, names: list[str]) -> dict:
    """Decisions the problem fixes. Layer: ``factors: {LEVEL: {DIM: n}}`` and
    ``orders: {DRAM|GLB: [dims, outer first]}``; fused: ``stripe_rows`` and
    ``resident: {layer: bool}``."""
    pin = top.sub("pin")
    if mode == "layer":
        pin.reject_unknown({"factors", "orders"})
        layer = network.layers[names[0]]
        factors = {}
        for level, dims in pin.raw("factors", {}).items():
            if level not in LOOP_LEVELS:
                raise pin.fail(f"factors.{level}", "unknown loop level", f"use one of {', '.join(LOOP_LEVELS)}")
            entry = pin.sub("factors").sub(level)
            for dim in dims:
                if dim not in DIMS:
                    raise entry.fail(str(dim), "unknown dim", f"use one of {', '.join(DIMS)}")
                value = entry.integer(dim)
                if layer.bounds[dim] % value:
                    raise entry.fail(dim, f"{value} does not divide {dim}={layer.bounds[dim]}", "use a divisor")
                factors.setdefault(level, {})[dim] = value
        orders = {}
        for level, dims in pin.raw("orders", {}).items():
            if level not in ORDERED_LEVELS or not isinstance(dims, list) or not set(dims) <= set(DIMS):
                raise pin.fail(f"orders.{level}", f"must list dims ({', '.join(DIMS)}) at DRAM or GLB, outer first")
            orders[level] = list(dims)
        return {"factors": factors, "orders": orders}
    if mode == "fused":
        pin.reject_unknown({"stripe_rows", "resident"})
        pins = {}
        if pin.has("stripe_rows"):
            rows = pin.integer("stripe_rows")
            if rows > network.layers[names[-1]].bounds["P"]:
                raise pin.fail("stripe_rows", f"{rows} exceeds the {network.layers[names[-1]].bounds['P']} output rows")
            pins["stripe_rows"] = rows
        resident = pin.sub("resident", {})
        for name in resident.data:
            if name not in names:
                raise resident.fail(str(name), "is not a layer of this group", f"use one of {names}")
            pins.setdefault("resident", {})[name] = resident.boolean(name)
        return pins
    raise pin.fail("pin", f"pins are not supported in {mode} mode yet", "remove pin")
