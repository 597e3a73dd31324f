"""The ``pin:`` section of a problem file, one parser per mode (docs/problem_format.md,
"Pinned decisions"): the decisions a problem fixes, checked against what they name."""

from __future__ import annotations

from dataclasses import dataclass
from math import prod

from mapper.core.problem import TaskGraphSpec
from mapper.core.spec import CHANNEL_DIMS, DIMS, LOOP_LEVELS, ORDERED_LEVELS, Network
from mapper.core.tiled_group import TiledSpace, feature_map_names
from mapper.io.limits import MAX_FMAP, MAX_PE
from mapper.io.yaml_fields import Fields


@dataclass(frozen=True)
class PinContext:
    """What pins are checked against: the network, the problem's layers, the PE
    columns of its accelerator (0 without one) and, in task-graph mode, its graph's spec."""

    network: Network
    names: list[str]
    pe_cols: int = 0
    taskgraph: TaskGraphSpec | None = None
    tiles: TiledSpace | None = None  # fused mode on 2-D tiles: the space the pins narrow


def layer_pins(pin: Fields, context: PinContext) -> dict:
    """``factors: {LEVEL: {DIM: n}}`` (a divisor of the bound, or any value for a channel
    dim above the RF: an uneven split) and ``orders: {DRAM|GLB: [dims, outer first]}``."""
    pin.reject_unknown({"factors", "orders"})
    layer = context.network.layers[context.names[0]]
    factors = {}
    factor_fields = pin.sub("factors", {})
    for level in factor_fields.data:
        if level not in LOOP_LEVELS:
            raise pin.fail(f"factors.{level}", "unknown loop level", f"use one of {', '.join(LOOP_LEVELS)}")
        entry = factor_fields.sub(level)
        for dim in entry.data:
            if dim not in DIMS:
                raise entry.fail(str(dim), "unknown dim", f"use one of {', '.join(DIMS)}")
            value = entry.integer(dim, maximum=layer.bounds[dim])
            uneven = dim in CHANNEL_DIMS and level != "RF"  # may split a channel dim unevenly
            if layer.bounds[dim] % value and not uneven:
                raise entry.fail(dim, f"{value} does not divide {dim}={layer.bounds[dim]}", "use a divisor")
            factors.setdefault(level, {})[dim] = value
    orders = {}
    for level, dims in pin.sub("orders", {}).data.items():
        if level not in ORDERED_LEVELS or not isinstance(dims, list) or not all(d in DIMS for d in dims):
            raise pin.fail(f"orders.{level}", f"must list dims ({', '.join(DIMS)}) at DRAM or GLB, outer first")
        orders[level] = list(dims)
    return {"factors": factors, "orders": orders}


def fused_pins(pin: Fields, context: PinContext) -> dict:
    """``stripe_rows``, ``resident: {layer: bool}`` and ``columns: {layer: PE
    columns}`` (at most ``pe_cols``); on 2-D tiles, ``tiled_pins``."""
    if context.tiles is not None:
        return tiled_pins(pin, context)
    pin.reject_unknown({"stripe_rows", "resident", "columns"})
    network, names, pe_cols = context.network, context.names, context.pe_cols
    pins = {}
    if pin.has("stripe_rows"):
        rows = pin.integer("stripe_rows", maximum=MAX_FMAP)
        if rows > network.layers[names[-1]].bounds["P"]:
            raise pin.fail("stripe_rows", f"{rows} exceeds the {network.layers[names[-1]].bounds['P']} output rows")
        pins["stripe_rows"] = rows
    resident = pin.sub("resident", {})
    for name in resident.data:
        if name not in names:
            raise resident.fail(str(name), "is not a layer of this group", f"use one of {names}")
        pins.setdefault("resident", {})[name] = resident.boolean(name)
    columns = pin.sub("columns", {})
    for name in columns.data:
        if name not in names:
            raise columns.fail(str(name), "is not a layer of this group", f"use one of {names}")
        count = columns.integer(name, maximum=MAX_PE)
        if count > pe_cols:
            raise columns.fail(name, f"{count} columns but the PE array has {pe_cols}", f"use 1..{pe_cols}")
        pins.setdefault("columns", {})[name] = count
    return pins


def tiled_pins(pin: Fields, context: PinContext) -> dict:
    """``tile: [rows, cols]`` (or one number), ``overlap: {feature map: policy}`` (a feature
    map named by its producer: the group input's tensor or a layer of the group but the
    last) and ``weights: {layer: policy}``; each value one the tiled space lists."""
    pin.reject_unknown({"tile", "overlap", "weights"})
    space, names = context.tiles, context.names
    pins = {}
    if pin.has("tile"):
        tile = pin.pair("tile", maximum=MAX_FMAP) if isinstance(pin.raw("tile"), list) else (pin.integer("tile"),) * 2
        if tile not in space.sizes:
            sizes = ", ".join(f"{h}x{w}" for h, w in space.sizes)
            raise pin.fail("tile", f"{tile[0]}x{tile[1]} is not a size of fusion.tiles.sizes", f"use one of {sizes}")
        pins["tile"] = list(tile)
    maps = feature_map_names(tuple(context.network.layers[name] for name in names))
    for key, allowed, choices in (("overlap", maps, space.overlaps), ("weights", names, space.weights)):
        entry = pin.sub(key, {})
        for name in entry.data:
            if name not in allowed:
                what = "a feature map" if key == "overlap" else "a layer"
                raise entry.fail(str(name), f"is not {what} of this group", f"use one of {allowed}")
            pins.setdefault(key, {})[name] = entry.choice(name, [str(c) for c in choices])
    return pins


def network_pins(pin: Fields, context: PinContext) -> dict:
    """``cut_after`` and ``fuse_after`` layer lists."""
    pin.reject_unknown({"cut_after", "fuse_after"})
    names = context.names
    pins = {}
    for key in ("cut_after", "fuse_after"):
        listed = pin.raw(key, [])
        if not isinstance(listed, list):
            raise pin.fail(key, "must be a list of layer names")
        for i, name in enumerate(listed):
            if name not in names[:-1]:
                raise pin.fail(
                    f"{key}[{i}]", f"{name!r} is not a layer of this problem before its last", "check the name"
                )
        pins[key] = list(listed)
    if set(pins["cut_after"]) & set(pins["fuse_after"]):
        raise pin.fail("fuse_after", "a layer is listed in both cut_after and fuse_after", "keep one")
    return pins


def taskgraph_pins(pin: Fields, context: PinContext) -> dict:
    """``cluster: {task: index}`` (the task runs on that cluster of ``platform.clusters``,
    0 first) and ``before: [[u, v], ...]`` (task u ends before task v starts); a task
    is ``<layer>#<i>``, i below the rows x cols x channels tiles of its layer's slicing."""
    pin.reject_unknown({"cluster", "before"})
    spec = context.taskgraph
    counts = {name: prod(spec.slicing[name]) for name in context.names}

    def task(fields: Fields, key: str, name) -> str:
        layer, _, index = str(name).rpartition("#")
        if layer not in counts or not index.isdigit() or int(index) >= counts[layer]:
            known = ", ".join(f"{n}#0..{n}#{c - 1}" for n, c in counts.items())
            raise fields.fail(key, f"{name!r} is not a task of this graph", f"name one of {known}")
        return str(name)

    pins = {}
    cluster = pin.sub("cluster", {})
    last = len(spec.platform.clusters) - 1
    for name in cluster.data:
        key = task(cluster, str(name), name)
        pins.setdefault("cluster", {})[key] = cluster.integer(name, minimum=0, maximum=last)
    pairs = pin.raw("before", [])
    if not isinstance(pairs, list):
        raise pin.fail("before", "must be a list of [task, task] pairs", "write before: [[C1#0, C1#1]]")
    for i, pair in enumerate(pairs):
        if not isinstance(pair, list) or len(pair) != 2 or pair[0] == pair[1]:
            raise pin.fail(f"before[{i}]", f"must be two different tasks [u, v], got {pair!r}")
        pins.setdefault("before", []).append([task(pin, f"before[{i}]", name) for name in pair])
    return pins
