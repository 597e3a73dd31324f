"""Every decision a problem pins holds in the answer its result claims (layer,
fused-tile and task-graph modes; the regret against the free problem is ``verify_baselines.check_regret``)."""

from __future__ import annotations

from mapper.core.problem import Problem
from mapper.core.tiled_group import feature_map_names
from mapper.referee.claims import Claims, layer_mapping, task_schedule
from mapper.referee.report import VerifyReport


def check_layer_pins(report: VerifyReport, claims: Claims, problem: Problem) -> None:
    """Each pinned factor is the mapping's; for a pinned order at a level, of two consecutive
    pinned dims that both have a factor > 1 there, the first is the outer loop (the rule the
    CP-SAT model enforces, ``formulations.layer_vars.add_pins``)."""
    if not problem.pins or claims.raw("mapping") is None:
        return
    mapping = layer_mapping(claims.sub("mapping"))
    for level, dims in problem.pins.get("factors", {}).items():
        for d, value in dims.items():
            where = f"mapping.factors.{level}.{d}"
            report.check(f"pin: {level} factor of {d}", mapping.factor(level, d), value, fields=where)
    for level, order in problem.pins.get("orders", {}).items():
        position = {d: i for i, d in enumerate(mapping.orders[level])}
        for d, e in zip(order, order[1:], strict=False):
            if mapping.factor(level, d) > 1 and mapping.factor(level, e) > 1:
                name = f"pin: {d} outside {e} at {level}"
                report.check(name, position[d] < position[e], True, fields=f"mapping.orders.{level}")


def check_task_pins(report: VerifyReport, claims: Claims, problem: Problem, graph) -> None:
    """A pinned task runs on its cluster; a pinned pair (u, v) has v start once u has ended."""
    if not problem.pins or claims.raw("mapping") is None:
        return
    schedule = task_schedule(claims.sub("mapping"), graph)
    for task, cluster in problem.pins.get("cluster", {}).items():
        ran = graph.processors[schedule.processor[task]]
        report.check(f"pin: {task} on cluster{cluster}", ran, f"cluster{cluster}", fields=f"mapping.{task}")
    for u, v in problem.pins.get("before", []):
        ended, started = schedule.end(graph, u), schedule.start[v]
        report.check(f"pin: {v} starts once {u} has ended", started >= ended, True, fields=f"mapping.{v}")


def check_tiled_pins(report: VerifyReport, claims: Claims, problem: Problem) -> None:
    """The pinned tile, each pinned feature map's overlap policy (the group input's
    first, then each layer's output) and each pinned layer's weight policy."""
    if not problem.pins or claims.raw("mapping") is None:
        return
    mapping, layers = claims.sub("mapping"), problem.layers
    if "tile" in problem.pins:
        tile = mapping.items("tile", 2)
        found = [tile.positive(0), tile.positive(1)]
        report.check("pin: tile", found, problem.pins["tile"], fields=mapping.where("tile"))
    for key, names in (("overlap", feature_map_names(layers)), ("weights", [layer.name for layer in layers])):
        listed = mapping.items(key, len(layers))
        for name, policy in problem.pins.get(key, {}).items():
            index = names.index(name)
            report.check(f"pin: {key} of {name}", listed.text(index), policy, fields=listed.where(index))
