"""Cutting a network into groups (DESIGN 4.3): the candidate groups and the
best partition over their costs.

The layers are taken in the network file's order, which is topological (a
layer reads only layers above it). A group is a contiguous run of that order,
so every group is convex in the DAG and the groups can run one after another.
A run is a candidate when it is

- one layer alone, mapped with whichever is better of the single-layer
  model (DESIGN 4.1: tiles, loop orders) and a one-layer row-stripe group
  (4.2: input rows kept on chip as a line buffer); an add, which has no loop
  nest to map, and a fully connected layer, which has no rows, have one model
  each; or
- a fusable chain (``mapper.cost.fused.build_group``: each layer reads the one
  before it; an add's other operand comes from inside the run or from DRAM)
  whose intermediate outputs are read only inside the run, since intermediate
  feature maps of a fused group never reach DRAM.

Costs of a partition add up over its groups; a tensor crossing a cut is
written to DRAM by its group and read back by each reading group, as each
group's own cost model counts it. So the best partition is a shortest path
over run boundaries (``best_partition``), exact given exact group costs.
"""

from __future__ import annotations

from dataclasses import dataclass

from mapper.core.errors import SpecError
from mapper.core.group import FUSABLE_KINDS, build_group
from mapper.core.spec import MAPPABLE_KINDS, Layer

Run = tuple[int, int]  # layers order[start:stop]

# The partitions every network result compares with the optimum (details.baselines).
BASELINE_LABELS = {"layer_by_layer": "layer-by-layer (each layer optimal)", "greedy_fusion": "greedy fuse-while-fits"}


@dataclass(frozen=True)
class Candidate:
    start: int
    stop: int
    layers: tuple[Layer, ...]

    @property
    def run(self) -> Run:
        return (self.start, self.stop)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(layer.name for layer in self.layers)

    @property
    def models(self) -> tuple[str, ...]:
        """The cost models that can run this group: ``layer`` (DESIGN 4.1) for
        one mappable layer, ``fused`` (4.2) for a fusable chain (one layer included)."""
        single = ("layer",) if len(self.layers) == 1 and self.layers[0].kind in MAPPABLE_KINDS else ()
        fused = ("fused",) if all(layer.kind in FUSABLE_KINDS for layer in self.layers) else ()
        return single + fused

    def signature(self) -> tuple:
        """Equal for runs whose costs are equal by construction: the same
        shapes and the same wiring (which inputs come from inside the run)."""
        index = {name: k for k, name in enumerate(self.names)}
        return tuple(
            (
                layer.kind,
                tuple(sorted(layer.bounds.items())),
                layer.stride,
                layer.dilation,
                layer.padding,
                layer.input_hw,
                tuple(index.get(name, -1) for name in layer.inputs),
            )
            for layer in self.layers
        )


def _is_fusable_run(layers: tuple[Layer, ...], consumers: dict[str, tuple[str, ...]]) -> bool:
    try:
        build_group(layers)
    except SpecError:
        return False
    inside = {layer.name for layer in layers}
    return all(set(consumers[layer.name]) <= inside and consumers[layer.name] for layer in layers[:-1])


def candidate_runs(
    layers: tuple[Layer, ...], consumers: dict[str, tuple[str, ...]], max_group_layers: int
) -> list[Candidate]:
    """Every candidate group of at most ``max_group_layers`` consecutive layers,
    shortest first."""
    candidates = [Candidate(i, i + 1, (layer,)) for i, layer in enumerate(layers)]
    for length in range(2, max_group_layers + 1):
        for start in range(len(layers) - length + 1):
            run = layers[start : start + length]
            if _is_fusable_run(run, consumers):
                candidates.append(Candidate(start, start + length, run))
    return candidates


def best_partition(n: int, values: dict[Run, int]) -> tuple[int, list[Run]] | None:
    """The partition of layers 0..n-1 into runs with known ``values`` that
    minimises their sum: best[j] = min over runs (i, j) of best[i] + value(i, j).
    None when no partition exists."""
    best: list[tuple[int, list[Run]] | None] = [(0, [])] + [None] * n
    for stop in range(1, n + 1):
        for (start, end), value in values.items():
            if end == stop and best[start] is not None:
                total = best[start][0] + value
                if best[stop] is None or total < best[stop][0]:
                    best[stop] = (total, [*best[start][1], (start, end)])
    return best[n]


def greedy_partition(n: int, feasible: set[Run]) -> list[Run] | None:
    """Fuse while it fits: from the first layer not yet covered, take the
    longest feasible run; None when some layer is in no feasible run."""
    runs, start = [], 0
    while start < n:
        stops = [stop for first, stop in feasible if first == start]
        if not stops:
            return None
        runs.append((start, max(stops)))
        start = max(stops)
    return runs
