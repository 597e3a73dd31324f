"""Exact cost model of a fused group (DESIGN 4.2; docs/fusion.md).

The group, its mapping and its pipeline's precedence structure are defined in
``mapper.core.group``; this module counts what a fused mapping costs.
Intermediate feature maps never touch DRAM. DRAM carries the group input
(each needed row once), weights (once if resident, once per stripe if
streamed), add operands produced outside the group, and the group output.
"""

from __future__ import annotations

from dataclasses import dataclass
from math import prod

from mapper.core.arith import ceil_div
from mapper.core.group import (
    POLICIES,
    FusedGroup,
    FusedMapping,
    input_row_words,
    macs_per_row,
    row_words,
    spatial_options,
    stage_dependencies,
    weight_words,
)
from mapper.core.spec import Accelerator, ObjectiveWeights
from mapper.core.stripes import GROUP_INPUT, StripeSchedule, group_consumers


@dataclass(frozen=True)
class GlbBudget:
    weights: int
    input_window: int
    intermediate_windows: tuple[int, ...]
    operand_windows: int
    output_buffer: int

    @property
    def total(self) -> int:
        return (
            self.weights
            + self.input_window
            + sum(self.intermediate_windows)
            + self.operand_windows
            + self.output_buffer
        )


def glb_budget(group: FusedGroup, schedule: StripeSchedule, policy: str, resident: tuple[bool, ...]) -> GlbBudget:
    """GLB words: resident weights; streamed weights (their own blocks when
    partitioned, one double-buffered block of the largest when time-shared);
    the input window with one stripe of prefetch; each intermediate's window
    (the producer runs one stripe ahead when partitioned); DRAM add operands
    with prefetch; the output stripe, double-buffered."""
    layers = group.layers
    weights = [weight_words(layer) for layer in layers]
    streamed = [w for w, res in zip(weights, resident, strict=True) if not res]
    resident_words = sum(w for w, res in zip(weights, resident, strict=True) if res)
    stream_words = sum(streamed) if policy == "partitioned" else 2 * max(streamed, default=0)
    ahead = 1 if policy == "partitioned" else 0
    first = layers[0]
    input_window = schedule.window_rows(GROUP_INPUT, 1) * input_row_words(first)
    intermediates = tuple(schedule.window_rows(k, ahead) * row_words(layers[k]) for k in range(len(layers) - 1))
    operands = 0
    for k, layer in enumerate(layers):
        if group.dram_operand(k):
            rows = max(schedule.computed_rows(k, j) + schedule.computed_rows(k, j + 1) for j in range(schedule.stripes))
            operands += rows * row_words(layer)
    output = (
        2 * max(schedule.computed_rows(len(layers) - 1, j) for j in range(schedule.stripes)) * row_words(layers[-1])
    )
    return GlbBudget(resident_words + stream_words, input_window, intermediates, operands, output)


def stage_dram_words(group: FusedGroup, schedule: StripeSchedule, k: int, j: int, resident: bool) -> int:
    """DRAM words moved for layer k's stage in stripe j: its weights (stripe 0
    if resident, every stripe if streamed), new input rows (first layer), add
    operand rows from DRAM, output rows (last layer)."""
    layer = group.layers[k]
    words = weight_words(layer) if (j == 0 or not resident) else 0
    if k == 0:
        words += schedule.computed_rows(GROUP_INPUT, j) * input_row_words(layer)
    if group.dram_operand(k):
        words += schedule.computed_rows(k, j) * row_words(layer)
    if k == len(group.layers) - 1:
        words += schedule.computed_rows(k, j) * row_words(layer)
    return words


def pipeline_finish(durations: list[list[int]], policy: str, consumers: list[list[int]]) -> list[list[int]]:
    """F[k][j], the end of layer k's stage in stripe j. Time-shared: the stages
    run one after another, stripe by stripe. Partitioned: F[k][j] = max over
    stage_dependencies of F, plus d[k][j]."""
    n, stripes = len(durations), len(durations[0])
    finish = [[0] * stripes for _ in range(n)]
    clock = 0
    for j in range(stripes):
        for k in range(n):
            if policy == "time_shared":
                clock += durations[k][j]
                finish[k][j] = clock
            else:
                ready = max((finish[p][q] for p, q in stage_dependencies(consumers, k, j)), default=0)
                finish[k][j] = ready + durations[k][j]
    return finish


def pipeline_latency(durations: list[list[int]], policy: str, consumers: list[list[int]]) -> int:
    """The end of the last stage: F[n-1][S-1] (see pipeline_finish)."""
    return pipeline_finish(durations, policy, consumers)[-1][-1]


@dataclass(frozen=True)
class FusedCost:
    valid: bool
    violations: tuple[str, ...]
    stripes: int
    compute: tuple[tuple[int, ...], ...]  # [layer][stripe] compute cycles
    fill_cycles: int  # the group's first output stripe is done
    slowest_stage_cycles: int  # the longest stage after the first stripe
    dram: tuple[tuple[int, ...], ...]  # [layer][stripe] DRAM words
    dram_words: int
    dram_weight_words: int
    glb: GlbBudget
    latency_cycles: int
    macs: int
    utilisation: float

    def objective(self, weights: ObjectiveWeights) -> int:
        return weights.of(self.latency_cycles, self.dram_words)

    def metrics(self, accelerator: Accelerator) -> dict:
        return {
            "latency_cycles": self.latency_cycles,
            "dram_words": self.dram_words,
            "dram_bytes": self.dram_words * accelerator.word_bits // 8,
            "dram_weight_words": self.dram_weight_words,
            "dram_feature_map_words": self.dram_words - self.dram_weight_words,
            "stripes": self.stripes,
            "glb_words": self.glb.total,
            "glb_breakdown": {
                "weights": self.glb.weights,
                "input_window": self.glb.input_window,
                "intermediate_windows": list(self.glb.intermediate_windows),
                "operand_windows": self.glb.operand_windows,
                "output_buffer": self.glb.output_buffer,
            },
            "compute_cycles_per_layer": [sum(row) for row in self.compute],
            "dram_words_per_layer": [sum(row) for row in self.dram],
            "macs": self.macs,
            "utilisation": self.utilisation,
            "pipeline": {"fill_cycles": self.fill_cycles, "slowest_stage_cycles": self.slowest_stage_cycles},
        }


def evaluate_fused(group: FusedGroup, accelerator: Accelerator, mapping: FusedMapping) -> FusedCost:
    layers, n = group.layers, len(group.layers)
    violations = []
    if mapping.policy not in POLICIES:
        violations.append(f"unknown policy {mapping.policy}")
    if not 1 <= mapping.stripe_rows <= layers[-1].bounds["P"]:
        violations.append(f"stripe of {mapping.stripe_rows} rows outside 1..{layers[-1].bounds['P']}")
        mapping = FusedMapping(1, mapping.policy, mapping.columns, mapping.spatial, mapping.resident)
    columns = mapping.columns if mapping.policy == "partitioned" else (accelerator.pe_cols,) * n
    if mapping.policy == "partitioned" and sum(columns) > accelerator.pe_cols:
        violations.append(f"partitions use {sum(columns)} PE columns, array has {accelerator.pe_cols}")
    for k, layer in enumerate(layers):
        fr, fc = mapping.spatial[k]
        if (fr, fc) not in spatial_options(layer, accelerator.pe_rows, accelerator.pe_cols):
            violations.append(f"{layer.name}: unrolling {fr}x{fc} is not a legal spatial choice")
        if fr > accelerator.pe_rows or fc > columns[k]:
            violations.append(f"{layer.name}: unrolling {fr}x{fc} exceeds its {accelerator.pe_rows}x{columns[k]} PEs")
        if not mapping.resident[k] and weight_words(layer) == 0:
            violations.append(f"{layer.name}: has no weights to stream")
    schedule = StripeSchedule(layers, mapping.stripe_rows)
    glb = glb_budget(group, schedule, mapping.policy, mapping.resident)
    if glb.total > accelerator.levels["GLB"].capacity_words_total:
        violations.append(f"GLB needs {glb.total} words, capacity {accelerator.levels['GLB'].capacity_words_total}")
    bandwidth = accelerator.levels["DRAM"].bandwidth_words_per_cycle
    compute, dram, durations = [], [], []
    for k, layer in enumerate(layers):
        per_row = macs_per_row(layer) // prod(mapping.spatial[k])
        compute.append(tuple(schedule.computed_rows(k, j) * per_row for j in range(schedule.stripes)))
        dram.append(
            tuple(stage_dram_words(group, schedule, k, j, mapping.resident[k]) for j in range(schedule.stripes))
        )
        durations.append([max(c, ceil_div(w, bandwidth)) for c, w in zip(compute[k], dram[k], strict=True)])
    dram_words = sum(sum(row) for row in dram)
    finish = pipeline_finish(durations, mapping.policy, group_consumers(layers))
    latency = max(finish[-1][-1], ceil_div(dram_words, bandwidth))
    macs = sum(schedule.done_rows(k, schedule.stripes - 1) * macs_per_row(layer) for k, layer in enumerate(layers))
    return FusedCost(
        valid=not violations,
        violations=tuple(violations),
        stripes=schedule.stripes,
        compute=tuple(compute),
        fill_cycles=finish[-1][0],
        slowest_stage_cycles=max((d for row in durations for d in row[1:]), default=finish[-1][0]),
        dram=tuple(dram),
        dram_words=dram_words,
        dram_weight_words=sum(
            weight_words(layer) * (1 if mapping.resident[k] else schedule.stripes) for k, layer in enumerate(layers)
        ),
        glb=glb,
        latency_cycles=latency,
        macs=macs,
        utilisation=macs / (accelerator.num_pes * latency),
    )
