"""Exact cost model of a fused group (DESIGN 4.2; docs/fusion.md).

A fused group is a chain of layers executed in row stripes of the last
layer's output (``mapper.stripes``). A fused mapping chooses the stripe
height, the PE policy (``partitioned``: each layer owns a block of PE columns
and the layers run as a pipeline over stripes; ``time_shared``: each layer
uses the whole array in turn for each stripe), per layer a spatial unrolling
(rows factor, cols factor) over stripe-invariant dims, and whether its
weights stay resident or are streamed once per stripe.

Intermediate feature maps never touch DRAM. DRAM carries the group input
(each needed row once), weights (once if resident, once per stripe if
streamed), add operands produced outside the group, and the group output.
"""

from __future__ import annotations

from dataclasses import dataclass
from math import prod

from mapper.cost_model import ceil_div
from mapper.errors import SpecError
from mapper.mapping import divisors
from mapper.spec import Accelerator, Layer, ObjectiveWeights
from mapper.stripes import StripeSchedule, group_consumers

POLICIES = ("partitioned", "time_shared")
FUSABLE_KINDS = ("conv", "depthwise", "maxpool", "avgpool", "add")
STRIPE_INVARIANT_DIMS = ("N", "G", "K", "C", "Q", "S")


@dataclass(frozen=True)
class FusedGroup:
    """A chain: layer k+1 reads layer k's output. An ``add`` reads the previous
    layer and one operand from DRAM (produced outside the group)."""

    layers: tuple[Layer, ...]

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(layer.name for layer in self.layers)

    def chain_input(self, k: int) -> str:
        """The tensor layer k reads along the chain (the group input for k = 0)."""
        return self.layers[k - 1].name if k else self.layers[0].inputs[0]

    def residual_input(self, k: int) -> str | None:
        """The second operand of an add (None for other layers)."""
        layer = self.layers[k]
        if layer.kind != "add":
            return None
        others = [i for i in layer.inputs if i != self.chain_input(k)]
        return others[0] if others else layer.inputs[1]

    def dram_operand(self, k: int) -> str | None:
        """The second operand of an add when it is produced outside the group
        (read from DRAM); None when the group computes it (kept on chip)."""
        operand = self.residual_input(k)
        return operand if operand is not None and operand not in self.names[:k] else None


def build_group(layers: tuple[Layer, ...], source: str = "<group>") -> FusedGroup:
    """Validate that ``layers`` form a fusable chain."""
    for k, layer in enumerate(layers):
        if layer.kind not in FUSABLE_KINDS:
            raise SpecError(
                source,
                f"layers[{k}]",
                f"a {layer.kind} layer cannot be fused in row stripes",
                "end the group before it",
            )
        if k and layers[k - 1].name not in layer.inputs:
            raise SpecError(
                source,
                f"layers[{k}]",
                f"{layer.name} does not read {layers[k - 1].name}",
                "list consecutive layers of one chain",
            )
    return FusedGroup(tuple(layers))


def row_words(layer: Layer) -> int:
    """Words of one output row of ``layer`` (all batches, channels, cols)."""
    return layer.bounds["N"] * layer.out_channels * layer.bounds["Q"]


def input_row_words(layer: Layer) -> int:
    return layer.bounds["N"] * layer.in_channels * (layer.input_hw[1] if layer.input_hw else layer.bounds["Q"])


def weight_words(layer: Layer) -> int:
    return layer.tensor_words("W") if "W" in layer.tensors else 0


def macs_per_row(layer: Layer) -> int:
    return layer.macs // layer.bounds["P"]


def spatial_options(layer: Layer, pe_rows: int, pe_cols: int) -> tuple[tuple[int, int], ...]:
    """(rows factor, cols factor) pairs reachable by unrolling at most one
    stripe-invariant dim on the PE rows and one on the cols (the same dim may
    split over both), with factors dividing the dim bounds."""
    options = {(1, 1)}
    dims = [d for d in STRIPE_INVARIANT_DIMS if layer.bounds[d] > 1]
    for dr in dims:
        for fr in divisors(layer.bounds[dr]):
            if fr > pe_rows:
                continue
            for dc in dims:
                bound = layer.bounds[dc] // fr if dc == dr else layer.bounds[dc]
                for fc in divisors(bound):
                    if fc <= pe_cols:
                        options.add((fr, fc))
            options.add((fr, 1))
    for dc in dims:
        options.update((1, fc) for fc in divisors(layer.bounds[dc]) if fc <= pe_cols)
    return tuple(sorted(options))


@dataclass(frozen=True)
class FusedMapping:
    stripe_rows: int
    policy: str
    columns: tuple[int, ...]  # PE columns owned by each layer (all columns when time-shared)
    spatial: tuple[tuple[int, int], ...]  # (rows factor, cols factor) per layer
    resident: tuple[bool, ...]  # weights resident, or streamed once per stripe

    def to_dict(self) -> dict:
        return {
            "stripe_rows": self.stripe_rows,
            "policy": self.policy,
            "columns": list(self.columns),
            "spatial": [list(s) for s in self.spatial],
            "resident": list(self.resident),
        }

    @classmethod
    def from_dict(cls, data: dict) -> FusedMapping:
        return cls(
            data["stripe_rows"],
            data["policy"],
            tuple(data["columns"]),
            tuple(tuple(s) for s in data["spatial"]),
            tuple(data["resident"]),
        )


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
    input_window = schedule.window_rows(-1, 1) * input_row_words(first)
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
        words += schedule.computed_rows(-1, j) * input_row_words(layer)
    if group.dram_operand(k):
        words += schedule.computed_rows(k, j) * row_words(layer)
    if k == len(group.layers) - 1:
        words += schedule.computed_rows(k, j) * row_words(layer)
    return words


def stage_dependencies(consumers: list[list[int]], k: int, j: int) -> list[tuple[int, int]]:
    """Stages (layer, stripe) that stage (k, j) waits for when partitioned: its
    in-group producers in stripe j (data), itself in stripe j - 1 (its PEs), and
    every consumer of its output in stripe j - 2 (a producer runs at most one
    stripe ahead of the windows its consumers read)."""
    producers = [p for p in range(len(consumers)) if k in consumers[p]]
    deps = [(p, j) for p in producers]
    if j >= 1:
        deps.append((k, j - 1))
    if j >= 2:
        deps += [(c, j - 2) for c in consumers[k]]
    return deps


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
        return weights.latency * self.latency_cycles + weights.dram_words * self.dram_words

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
