"""The metric rows of a single-layer or fused answer: each claimed metric
against the replay's measurement (``mapper.referee.verify``), or against the
value its definition gives on measured values."""

from __future__ import annotations

from dataclasses import dataclass

from mapper.referee.array_replay import ArrayCounts
from mapper.referee.claims import Claims
from mapper.referee.report import VerifyReport
from mapper.referee.reservation import layer_rf_reserved
from mapper.referee.simulator import Measurement


@dataclass(frozen=True)
class LayerReplay:
    """What the replay of a single-layer mapping measured."""

    measured: Measurement
    glb_reserved: int
    array: ArrayCounts
    latency: int
    energy: int
    repeated: int = 0  # DRAM iterations applied from an identical earlier one (mapper.referee.aggregate)


@dataclass(frozen=True)
class FusedReplay:
    """What the replay of a fused mapping measured, per stage and in total."""

    measured: Measurement
    reserved: dict
    stripes: int
    compute: list[list[int]]  # [layer][stripe] busy cycles
    dram: list[list[int]]  # [layer][stripe] DRAM words
    latency: int
    fill: int  # the end of the last layer's first stripe
    slowest: int  # the longest stage after the first stripe
    weight_words: int  # DRAM words of weights


def metric_row(report: VerifyReport, metrics: Claims, key: str, measured, read=Claims.count, name: str | None = None):
    *parents, leaf = key.split(".")
    for parent in parents:
        metrics = metrics.sub(parent)
    return report.check(name or key, read(metrics, leaf), measured, fields=metrics.where(leaf))


def read_number(claims: Claims, key: str):
    return claims.number(key)


def layer_rows(report, claims: Claims, weights, layer, accelerator, replayed: LayerReplay, functional, seed):
    """The metric rows of a single-layer answer at ``claims`` against its replay."""
    metrics = claims.sub("metrics")
    measured = replayed.measured
    if functional:
        report.notes.append(f"functional: all {layer.tensor_words('O'):,} outputs equal the reference (seed {seed})")
    repeats = f" ({replayed.repeated:,} DRAM iterations applied as exact repeats)" if replayed.repeated else ""
    report.notes.append(f"replayed {measured.ops:,} ops{repeats}; makespan {measured.makespan:,} cycles (the latency)")
    metric_row(report, metrics, "macs", measured.macs)
    metric_row(report, metrics, "compute_cycles", measured.compute_cycles)
    metric_row(report, metrics, "used_pes", measured.used_pes)
    metric_row(report, metrics, "dram_words", measured.dram_words)
    for tensor in layer.tensors:
        metric_row(report, metrics, f"dram_reads.{tensor}", measured.dram_reads[tensor])
    metric_row(report, metrics, "dram_writes.O", measured.dram_writes["O"])
    bits = accelerator.word_bits
    metric_row(
        report, metrics, "dram_bytes", measured.dram_words * bits // 8, name=f"dram_bytes = dram_words x {bits} / 8"
    )
    peak, claimed_glb = measured.peak_words.get("GLB", 0), metrics.count("glb_occupancy_words")
    report.check(
        "glb_peak_words <= glb_occupancy_words",
        claimed_glb,
        peak,
        peak <= claimed_glb,
        metrics.where("glb_occupancy_words"),
    )
    metric_row(
        report, metrics, "glb_occupancy_words", replayed.glb_reserved, name="glb_occupancy_words = reserved GLB tiles"
    )
    array, latency, energy = replayed.array, replayed.latency, replayed.energy
    metric_row(
        report,
        metrics,
        "rf_occupancy_words",
        layer_rf_reserved(array, accelerator),
        name="rf_occupancy_words = reserved RF tiles",
    )
    metric_row(
        report,
        metrics,
        "glb_accesses",
        measured.dram_words + measured.port_words,
        name="glb_accesses = DRAM words + GLB-port words",
    )
    metric_row(report, metrics, "latency_cycles", latency)
    metric_row(report, metrics, "energy_fj", energy)
    metric_row(report, metrics, "energy_pj", energy / 1000, read_number, "energy_pj = energy_fj / 1000")
    metric_row(
        report,
        metrics,
        "utilisation",
        measured.macs / (accelerator.num_pes * latency),
        read_number,
        f"utilisation = macs / ({accelerator.num_pes} PEs x latency)",
    )
    report.check(
        "objective",
        claims.count("objective"),
        weights.of(latency, measured.dram_words, energy),
        fields=claims.where("objective"),
    )


def fused_rows(report, claims: Claims, weights, group, accelerator, fused: FusedReplay, functional, seed):
    """The metric rows of a fused-group answer at ``claims`` against its replay."""
    metrics = claims.sub("metrics")
    measured = fused.measured
    if functional:
        report.notes.append(f"functional: the outputs of {group.names[-1]} equal the reference (seed {seed})")
    report.notes.append(f"replayed {measured.ops:,} ops; timeline makespan {measured.makespan:,} cycles")
    metric_row(report, metrics, "macs", measured.macs)
    metric_row(report, metrics, "dram_words", measured.dram_words)
    bits = accelerator.word_bits
    metric_row(
        report, metrics, "dram_bytes", measured.dram_words * bits // 8, name=f"dram_bytes = dram_words x {bits} / 8"
    )
    metric_row(report, metrics, "dram_weight_words", fused.weight_words)
    metric_row(
        report,
        metrics,
        "dram_feature_map_words",
        measured.dram_words - fused.weight_words,
        name="dram_feature_map_words = dram_words - dram_weight_words",
    )
    metric_row(report, metrics, "stripes", fused.stripes)
    n = len(group.layers)
    per_layer = metrics.items("compute_cycles_per_layer", n)
    report.check(
        "compute_cycles_per_layer",
        [per_layer.count(k) for k in range(n)],
        [sum(r) for r in fused.compute],
        fields=per_layer.path,
    )
    per_layer = metrics.items("dram_words_per_layer", n)
    report.check(
        "dram_words_per_layer",
        [per_layer.count(k) for k in range(n)],
        [sum(r) for r in fused.dram],
        fields=per_layer.path,
    )
    peak, glb_words = measured.peak_words.get("GLB", 0), metrics.count("glb_words")
    report.check("glb_peak_words <= glb_words", glb_words, peak, peak <= glb_words, metrics.where("glb_words"))
    reserved = fused.reserved
    total = sum(v if isinstance(v, int) else sum(v) for v in reserved.values())
    metric_row(report, metrics, "glb_words", total, name="glb_words = reserved GLB words")
    breakdown = metrics.sub("glb_breakdown")
    breakdown.keys_exactly(reserved, "part")
    for part, words in reserved.items():
        if isinstance(words, list):
            windows = breakdown.items(part, len(words))
            report.check(
                f"glb_breakdown.{part}", [windows.count(k) for k in range(len(words))], words, fields=windows.path
            )
        else:
            metric_row(report, metrics, f"glb_breakdown.{part}", words)
    metric_row(report, metrics, "latency_cycles", fused.latency)
    metric_row(
        report,
        metrics,
        "utilisation",
        measured.macs / (accelerator.num_pes * fused.latency),
        read_number,
        f"utilisation = macs / ({accelerator.num_pes} PEs x latency)",
    )
    metric_row(report, metrics, "pipeline.fill_cycles", fused.fill)
    metric_row(report, metrics, "pipeline.slowest_stage_cycles", fused.slowest)
    report.check(
        "objective",
        claims.count("objective"),
        weights.of(fused.latency, measured.dram_words),
        fields=claims.where("objective"),
    )
