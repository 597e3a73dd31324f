"""Verify a result: decode its mapping, replay it, compare every claimed metric.

A claimed metric that differs from the measured one is a violation. The
latency is the double-buffered pipeline formula of DESIGN 4.1 applied to the
*measured* busy cycles of the PE array, the DRAM channel and the GLB port.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from mapper.core.arith import ceil_div
from mapper.core.group import FusedGroup, FusedMapping, build_group
from mapper.core.mapping import Mapping
from mapper.core.problem import Platform
from mapper.core.spec import Accelerator, Layer, ObjectiveWeights
from mapper.core.stripes import group_consumers
from mapper.core.taskgraph import TaskGraph, TaskSchedule
from mapper.cost.fused import pipeline_latency
from mapper.cost.layer import latency_cycles
from mapper.referee.array_replay import replay_array
from mapper.referee.decode_fused import decode_fused
from mapper.referee.decode_layer import decode_layer
from mapper.referee.decode_taskgraph import decode_taskgraph, platform_accelerator
from mapper.referee.executor import execute
from mapper.referee.simulator import ScheduleViolation, simulate


@dataclass
class VerifyReport:
    checks: list[tuple[str, object, object, bool]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    violation: str | None = None

    def check(self, name: str, claimed, measured, ok: bool | None = None) -> None:
        ok = claimed == measured if ok is None else ok
        self.checks.append((name, claimed, measured, ok))
        if not ok and self.violation is None:
            self.violation = f"claimed {name} = {claimed} but measured {measured}"

    def rows(self):
        return list(self.checks)


def _replay(report: VerifyReport, schedule, accelerator: Accelerator, functional: bool, seed: int):
    """Simulate (or execute) ``schedule``; on a violation record it and return None."""
    try:
        return execute(schedule, accelerator, seed) if functional else simulate(schedule, accelerator)
    except ScheduleViolation as err:
        report.violation = str(err)
        return None


def _nothing_to_verify(result: dict) -> VerifyReport:
    return VerifyReport(violation=f"the result has nothing to verify (status {result.get('status')})")


def verify_layer_result(
    result: dict, layer: Layer, accelerator: Accelerator, functional: bool = False, seed: int = 0
) -> VerifyReport:
    """Replay the mapping of a layer-mode ``result`` (its JSON dict)."""
    if result.get("mapping") is None:
        return _nothing_to_verify(result)
    report = VerifyReport()
    mapping = Mapping.from_dict(result["mapping"])
    claimed = result["metrics"]
    measured = _replay(report, decode_layer(layer, accelerator, mapping), accelerator, functional, seed)
    if measured is None:
        return report
    if functional:
        report.notes.append(f"functional: all {layer.tensor_words('O'):,} outputs equal the reference (seed {seed})")
    report.notes.append(f"replayed {measured.ops:,} ops; timeline makespan {measured.makespan:,} cycles (incl. fill)")
    report.check("macs", claimed["macs"], measured.macs)
    report.check("compute_cycles", claimed["compute_cycles"], measured.compute_cycles)
    report.check("dram_words", claimed["dram_words"], measured.dram_words)
    for tensor in layer.tensors:
        report.check(f"dram_reads.{tensor}", claimed["dram_reads"][tensor], measured.dram_reads[tensor])
    report.check("dram_writes.O", claimed["dram_writes"]["O"], measured.dram_writes["O"])
    peak = measured.peak_words.get("GLB", 0)
    report.check(
        "glb_peak_words <= glb_occupancy_words",
        claimed["glb_occupancy_words"],
        peak,
        peak <= claimed["glb_occupancy_words"],
    )
    array = replay_array(layer, mapping)
    if array is None:
        report.notes.append("GLB<->array level not replayed (too many iterations): latency and energy unchecked")
        return report
    levels = accelerator.levels
    measured_latency = latency_cycles(
        measured.compute_cycles,
        ceil_div(measured.dram_words, levels["DRAM"].bandwidth_words_per_cycle),
        ceil_div(array.array_words, levels["GLB"].bandwidth_words_per_cycle),
        levels["GLB"].double_buffered,
        levels["RF"].double_buffered,
    )
    report.check("latency_cycles", claimed["latency_cycles"], measured_latency)
    energy = (
        levels["DRAM"].energy_fj_per_word * measured.dram_words
        + levels["GLB"].energy_fj_per_word * (measured.dram_words + array.array_words)
        + levels["RF"].energy_fj_per_word * array.rf_accesses
        + accelerator.mac_energy_fj * measured.macs
    )
    report.check("energy_fj", claimed["energy_fj"], energy)
    objective = ObjectiveWeights(**result["weights"]).of(measured_latency, measured.dram_words, energy)
    report.check("objective", result["objective"], objective)
    return report


def verify_fused_result(
    result: dict, group: FusedGroup, accelerator: Accelerator, functional: bool = False, seed: int = 0
) -> VerifyReport:
    """Replay the fused mapping of a fused-mode ``result``; the latency is the
    pipeline formula applied to the measured per-stage compute and DMA."""
    if result.get("mapping") is None:
        return _nothing_to_verify(result)
    report = VerifyReport()
    mapping = FusedMapping.from_dict(result["mapping"])
    claimed = result["metrics"]
    measured = _replay(report, decode_fused(group, accelerator, mapping), accelerator, functional, seed)
    if measured is None:
        return report
    if functional:
        report.notes.append(f"functional: the outputs of {group.names[-1]} equal the reference (seed {seed})")
    report.notes.append(f"replayed {measured.ops:,} ops; timeline makespan {measured.makespan:,} cycles")
    report.check("macs", claimed["macs"], measured.macs)
    report.check("dram_words", claimed["dram_words"], measured.dram_words)
    stripes = claimed["stripes"]
    compute = [[measured.stage_compute[name, j] for j in range(stripes)] for name in group.names]
    dram = [[measured.stage_dram[name, j] for j in range(stripes)] for name in group.names]
    report.check("compute_cycles_per_layer", claimed["compute_cycles_per_layer"], [sum(row) for row in compute])
    report.check("dram_words_per_layer", claimed["dram_words_per_layer"], [sum(row) for row in dram])
    peak = measured.peak_words.get("GLB", 0)
    report.check("glb_peak_words <= glb_words", claimed["glb_words"], peak, peak <= claimed["glb_words"])
    bandwidth = accelerator.levels["DRAM"].bandwidth_words_per_cycle
    durations = [
        [max(c, ceil_div(w, bandwidth)) for c, w in zip(crow, wrow, strict=True)]
        for crow, wrow in zip(compute, dram, strict=True)
    ]
    consumers = group_consumers(group.layers)
    latency = max(pipeline_latency(durations, mapping.policy, consumers), ceil_div(measured.dram_words, bandwidth))
    report.check("latency_cycles", claimed["latency_cycles"], latency)
    objective = ObjectiveWeights(**result["weights"]).of(latency, measured.dram_words)
    report.check("objective", result["objective"], objective)
    return report


def verify_taskgraph_result(
    result: dict, group: FusedGroup, graph: TaskGraph, platform: Platform, functional: bool = False, seed: int = 0
) -> VerifyReport:
    """Replay a task schedule of ``graph`` (the tasks of ``group`` on
    ``platform``): dependencies, PE clusters, shared memory; the measured
    makespan and peak memory must equal the claimed ones."""
    if result.get("mapping") is None:
        return _nothing_to_verify(result)
    report = VerifyReport()
    schedule = TaskSchedule.from_dict(graph, result["mapping"])
    ir = decode_taskgraph(group, graph, platform, schedule)
    measured = _replay(report, ir, platform_accelerator(platform), functional, seed)
    if measured is None:
        return report
    if functional:
        report.notes.append(f"functional: every output tile of {group.names[-1]} equals the reference (seed {seed})")
    report.notes.append(f"replayed {measured.ops:,} ops of {len(graph.tasks)} tasks")
    report.check("makespan", result["metrics"]["makespan"], measured.makespan)
    report.check("peak_memory_words", result["metrics"]["peak_memory_words"], measured.peak_words.get("GLB", 0))
    return report


def verify_network_result(result: dict, problem, functional: bool = False, seed: int = 0) -> VerifyReport:
    """Replay every group of a network result with the referee of its model;
    the claimed totals must be the sums of the groups' measured metrics."""
    if result.get("mapping") is None:
        return _nothing_to_verify(result)
    report = VerifyReport()
    totals = {"latency_cycles": 0, "dram_words": 0, "objective": 0}
    for group in result["mapping"]["groups"]:
        layers = tuple(problem.network.layers[name] for name in group["layers"])
        part = {**group, "weights": result["weights"]}
        if group["model"] == "layer":
            sub = verify_layer_result(part, layers[0], problem.accelerator, functional, seed)
        else:
            sub = verify_fused_result(part, build_group(layers), problem.accelerator, functional, seed)
        label = "+".join(group["layers"])
        for name, claimed, measured, ok in sub.checks:
            report.check(f"{label}: {name}", claimed, measured, ok)
        report.notes += [f"{label}: {note}" for note in sub.notes]
        if sub.violation:
            report.violation = report.violation or f"{label}: {sub.violation}"
            return report
        for key in ("latency_cycles", "dram_words"):
            totals[key] += group["metrics"][key]
        totals["objective"] += group["objective"]
    for key in ("latency_cycles", "dram_words"):
        report.check(f"total {key} = sum over groups", result["metrics"][key], totals[key])
    report.check("objective = sum over groups", result["objective"], totals["objective"])
    return report
