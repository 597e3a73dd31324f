"""Compulsory limits of a set of layers: the least DRAM traffic and latency
that any schedule, fused or not, can reach (DESIGN 4.3 benchmarks; lower
bounds for groups a time budget left unsolved).

- DRAM: every input produced outside the set is read once (only the
  positions some MAC reads: a stride-2 1x1 conv skips three quarters of its
  input; padding is not data), every weight is read once, and every output
  read outside the set (or by nobody: a network output) is written once.
- Compute: no PE does more than one MAC per cycle: ceil(MACs / PEs).
- Latency >= max(compute, ceil(DRAM words / DRAM bandwidth)).

Both the single-layer and the fused cost models satisfy these bounds by
construction (tests check them on every solved group).
"""

from __future__ import annotations

from dataclasses import dataclass

from mapper.core.arith import ceil_div
from mapper.core.enums import Axis
from mapper.core.group import weight_words
from mapper.core.spec import Accelerator, Layer, Network, ObjectiveWeights


def consumers_of(network: Network) -> dict[str, tuple[str, ...]]:
    """The layers reading each layer's output (``input``: the network input)."""
    readers: dict[str, list[str]] = {"input": [], **{name: [] for name in network.layers}}
    for layer in network.layers.values():
        for producer in layer.inputs:
            readers[producer].append(layer.name)
    return {name: tuple(names) for name, names in readers.items()}


def _needed_span(layer: Layer, axis: Axis) -> int:
    """Real (unpadded) input rows or cols (along ``axis``) that some MAC reads."""
    size, pad = layer.input_hw[axis], layer.padding[axis]
    return sum(1 for i in layer.read_positions(axis) if pad <= i < pad + size)


def needed_input_words(layer: Layer) -> int:
    """Words of one input tensor of ``layer`` that its MACs read (an add reads
    each operand whole; a fully connected layer its whole flattened input)."""
    b = layer.bounds
    if layer.kind == "add":
        return b["N"] * layer.out_channels * b["P"] * b["Q"]
    if layer.kind == "fc":
        return b["N"] * b["C"]
    return b["N"] * layer.in_channels * _needed_span(layer, Axis.ROWS) * _needed_span(layer, Axis.COLS)


@dataclass(frozen=True)
class CompulsoryLimits:
    input_words: int
    weight_words: int
    output_words: int
    compute_cycles: int
    latency_cycles: int

    @property
    def dram_words(self) -> int:
        return self.input_words + self.weight_words + self.output_words

    def objective(self, weights: ObjectiveWeights) -> int:
        """A lower bound on the objective (energy weights are rejected by the modes that use it)."""
        return weights.of(self.latency_cycles, self.dram_words)

    def to_dict(self) -> dict:
        return {
            "dram_words": self.dram_words,
            "input_words": self.input_words,
            "weight_words": self.weight_words,
            "output_words": self.output_words,
            "compute_cycles": self.compute_cycles,
            "latency_cycles": self.latency_cycles,
        }


def compulsory_limits(
    layers: tuple[Layer, ...], consumers: dict[str, tuple[str, ...]], accelerator: Accelerator
) -> CompulsoryLimits:
    """The limits of running ``layers`` as one unit whose outside world is DRAM;
    ``consumers`` is ``consumers_of`` the whole network."""
    inside = {layer.name for layer in layers}
    external: dict[str, int] = {}
    for layer in layers:
        for producer in set(layer.inputs) - inside:
            external[producer] = max(external.get(producer, 0), needed_input_words(layer))
    outputs = sum(
        layer.tensor_words("O") for layer in layers if not consumers[layer.name] or set(consumers[layer.name]) - inside
    )
    weights = sum(weight_words(layer) for layer in layers)
    compute = ceil_div(sum(layer.macs for layer in layers), accelerator.num_pes)
    dram = sum(external.values()) + weights + outputs
    latency = max(compute, ceil_div(dram, accelerator.levels["DRAM"].bandwidth_words_per_cycle))
    return CompulsoryLimits(sum(external.values()), weights, outputs, compute, latency)


def nest_floor(layer: Layer, accelerator: Accelerator, weights: ObjectiveWeights) -> int:
    """A lower bound on the objective of ``layer`` alone (a fused tile's nest): DRAM moves
    once the words some MAC touches of each tensor not held on chip (``Layer.on_chip``);
    the latency is at least the DMA's time for them, and at least ceil(MACs / PEs) cycles
    of compute with the GLB port moving every touched word of every tensor once (held ones
    too: they still reach the PEs), serially with the compute when the RF is
    single-buffered (inputs fill after a compute, outputs drain before the next,
    ``mapper.cost.layer_latency``), alongside it otherwise; no energy."""
    levels = accelerator.levels
    dram = sum(layer.needed_words(t) for t in layer.tensors if t not in layer.on_chip)
    compute = ceil_div(layer.macs, accelerator.num_pes)
    port = ceil_div(sum(layer.needed_words(t) for t in layer.tensors), levels["GLB"].bandwidth_words_per_cycle)
    array = max(compute, port) if levels["RF"].double_buffered else compute + port
    return weights.of(max(array, ceil_div(dram, levels["DRAM"].bandwidth_words_per_cycle)), dram)
