"""Fused groups (DESIGN 4.2): the chain of layers, its mapping space and the
precedence structure of its pipeline.

A fused group is a chain of layers executed in row stripes of the last
layer's output (``mapper.core.stripes``). A fused mapping chooses the stripe
height, the PE policy (``partitioned``: each layer owns a block of PE columns
and the layers run as a pipeline over stripes; ``time_shared``: each layer
uses the whole array in turn for each stripe), per layer a spatial unrolling
(rows factor, cols factor) over stripe-invariant dims, and whether its
weights stay resident or are streamed once per stripe. The costs of a fused
mapping are in ``mapper.cost.fused``."""

from __future__ import annotations

from dataclasses import dataclass

from mapper.core.enums import Policy
from mapper.core.errors import SpecError
from mapper.core.mapping import divisors
from mapper.core.spec import Layer

POLICIES = tuple(Policy)


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
