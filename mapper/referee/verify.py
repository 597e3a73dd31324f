"""Verify a result: decode its mapping, replay it, compare every claimed metric.

Each metric is compared with the replay's measurement, or with the value its
definition gives on measured values (``dram_bytes``, ``energy_pj``,
``utilisation``, ...). A claim that differs is a violation. A layer's latency
is the makespan of its replayed schedule (both level boundaries, DESIGN 4.1);
a fused group's is the pipeline formula on the measured busy cycles
(issue 15 moves it to the replay too). Facts of the
result's envelope (names, status, bound, baselines) are checked by
``mapper.app.verify_file``; docs/referee.md lists every field and its check.
"""

from __future__ import annotations

from mapper.core.arith import ceil_div
from mapper.core.group import FusedGroup, FusedMapping
from mapper.core.spec import Accelerator, Layer, ObjectiveWeights
from mapper.core.stripes import group_consumers
from mapper.cost.fused import pipeline_latency
from mapper.referee.claims import Claims, fused_mapping, layer_mapping, weights_of
from mapper.referee.decode_fused import decode_fused
from mapper.referee.layer_replay import replay, replay_layer, replayed
from mapper.referee.mapping_rules import fused_mapping_rules, layer_mapping_rules
from mapper.referee.metric_rows import FusedReplay, fused_rows, layer_rows
from mapper.referee.report import VerifyReport
from mapper.referee.reservation import fused_reserved
from mapper.referee.verify_network import verify_groups
from mapper.referee.verify_taskgraph import verify_taskgraph_result
from mapper.referee.verify_tiled import check_tiled

__all__ = ["VerifyReport", "verify_fused_result", "verify_layer_result", "verify_network_result"]
__all__ += ["verify_taskgraph_result", "verify_tiled_result"]


def _nothing_to_verify(result: dict) -> VerifyReport:
    return VerifyReport(violation=f"the result has nothing to verify (status {result.get('status')})")


def _verified(result: dict, check, *args) -> VerifyReport:
    """``check(report, claims, weights, *args)``'s rows of a result with a mapping."""
    claims = Claims(result)
    if claims.raw("mapping") is None:
        return _nothing_to_verify(result)
    report = VerifyReport()
    check(report, claims, weights_of(claims), *args)
    return report


def verify_layer_result(
    result: dict, layer: Layer, accelerator: Accelerator, functional: bool = False, seed: int = 0
) -> VerifyReport:
    """Replay the mapping of a layer-mode ``result`` (its JSON dict)."""
    return _verified(result, check_layer, layer, accelerator, functional, seed)


def replay_fused(group: FusedGroup, accelerator: Accelerator, mapping: FusedMapping, functional=False, seed=0):
    """Replay ``mapping`` (raises ScheduleViolation); the latency is the pipeline
    formula on the measured per-stage compute and DMA."""
    schedule = decode_fused(group, accelerator, mapping)
    measured = replay(schedule, accelerator, functional, seed)
    stripes = 1 + max((j for _, j in [*measured.stage_compute, *measured.stage_dram]), default=0)
    compute = [[measured.stage_compute[name, j] for j in range(stripes)] for name in group.names]
    dram = [[measured.stage_dram[name, j] for j in range(stripes)] for name in group.names]
    bandwidth = accelerator.levels["DRAM"].bandwidth_words_per_cycle
    durations = [
        [max(c, ceil_div(w, bandwidth)) for c, w in zip(crow, wrow, strict=True)]
        for crow, wrow in zip(compute, dram, strict=True)
    ]
    consumers = group_consumers(group.layers)
    fill = pipeline_latency([row[:1] for row in durations], mapping.policy, consumers)
    latency = max(pipeline_latency(durations, mapping.policy, consumers), ceil_div(measured.dram_words, bandwidth))
    weights = sum(measured.dram_reads[t] for t in measured.dram_reads if t.endswith(".W") and t[:-2] in group.names)
    slowest = max((d for row in durations for d in row[1:]), default=fill)
    reserved = fused_reserved(group, mapping, schedule)
    return FusedReplay(measured, reserved, stripes, compute, dram, latency, fill, slowest, weights)


def verify_fused_result(
    result: dict, group: FusedGroup, accelerator: Accelerator, functional: bool = False, seed: int = 0
) -> VerifyReport:
    """Replay the fused mapping of a fused-mode ``result``."""
    return _verified(result, check_fused, group, accelerator, functional, seed)


def verify_tiled_result(
    result: dict, layers: tuple[Layer, ...], accelerator: Accelerator, functional: bool = False, seed: int = 0
) -> VerifyReport:
    """Replay the 2-D tiled mapping of a fused-mode ``result`` (``mapper.referee.verify_tiled``)."""
    return _verified(result, check_tiled, layers, accelerator, functional, seed)


def check_layer(report, claims: Claims, weights, layer, accelerator, functional=False, seed=0) -> None:
    """The rows of a single-layer answer at ``claims`` (a result, or a network's group)."""
    mapping = layer_mapping(claims.sub("mapping"))
    path = claims.where("mapping")
    if not layer_mapping_rules(report, layer, accelerator, mapping, path):
        return
    measured = replayed(report, path, lambda: replay_layer(layer, accelerator, mapping, functional, seed))
    if measured is None:
        return
    layer_rows(report, claims, weights, layer, accelerator, measured, functional, seed)


def check_fused(report, claims: Claims, weights: ObjectiveWeights, group, accelerator, functional=False, seed=0):
    """The rows of a fused-group answer at ``claims`` (a result, or a network's group)."""
    mapping = fused_mapping(claims.sub("mapping"), group)
    if not fused_mapping_rules(report, group, accelerator, mapping, claims.where("mapping")):
        return
    fused = replayed(
        report, claims.where("mapping"), lambda: replay_fused(group, accelerator, mapping, functional, seed)
    )
    if fused is None:
        return
    fused_rows(report, claims, weights, group, accelerator, fused, functional, seed)


def verify_network_result(result: dict, problem, functional: bool = False, seed: int = 0) -> VerifyReport:
    """Replay every group of a network result with the referee of its model;
    the claimed totals must follow from the groups' verified metrics."""
    claims = Claims(result)
    if claims.raw("mapping") is None:
        return _nothing_to_verify(result)
    report = VerifyReport()
    verify_groups(report, claims, problem, check_layer, check_fused, functional, seed)
    return report
