"""What a problem asks: the platform of a task graph, the partition search of
a network, and the Problem that ties a network, an accelerator, an objective
and solver settings to a mode. Loaded and checked by ``mapper.io.loading``."""

from __future__ import annotations

from dataclasses import dataclass

from mapper.core.enums import Mode
from mapper.core.spec import Accelerator, Layer, Network, ObjectiveWeights, SolverSettings
from mapper.core.tiled_group import TiledSpace


@dataclass(frozen=True)
class Platform:
    """PE clusters as (rows, cols) blocks side by side along the array's
    columns; a shared memory of ``memory_words`` (None: unbounded); moving a
    word between clusters costs 1 / link_words_per_cycle cycles (0: free, as
    in a shared-memory system)."""

    clusters: tuple[tuple[int, int], ...]
    memory_words: int | None = None
    link_words_per_cycle: int = 0

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(f"cluster{i}" for i in range(len(self.clusters)))


@dataclass(frozen=True)
class TaskGraphSpec:
    """Task-graph mode: how each layer is sliced, the platform, and what to minimise.

    ``slicing[layer] = (rows, cols, channels)``; ``objective`` is makespan,
    memory, weighted or lexicographic (makespan first, then memory)."""

    slicing: dict[str, tuple[int, int, int]]
    platform: Platform
    objective: str = "lexicographic"
    makespan_weight: int = 1
    memory_weight: int = 1
    memory_cap: int | None = None


@dataclass(frozen=True)
class PartitionSearch:
    """Network mode: groups of at most ``max_group_layers`` consecutive layers;
    ``time_budget_s`` bounds the whole search (None: every candidate group is
    solved with the problem's per-group solver settings)."""

    max_group_layers: int = 6
    time_budget_s: float | None = None


@dataclass(frozen=True)
class Problem:
    name: str
    mode: Mode
    network: Network
    layer_names: tuple[str, ...]
    accelerator: Accelerator | None  # task-graph mode: optional (its clusters' memories and task durations)
    objective: ObjectiveWeights
    solver: SolverSettings
    source: str = "<memory>"
    fusion_policy: str | None = None  # fused mode: pin "partitioned" or "time_shared"
    tiles: TiledSpace | None = None  # fused mode: the 2-D tiled space (DESIGN 4.2); None: row stripes
    taskgraph: TaskGraphSpec | None = None
    pins: dict | None = None  # fixed decisions (layer: factors, orders; fused: stripe_rows, resident)
    partition: PartitionSearch | None = None  # network mode

    @property
    def layers(self) -> tuple[Layer, ...]:
        return tuple(self.network.layers[n] for n in self.layer_names)

    @property
    def layers_by_name(self) -> dict[str, Layer]:
        return {layer.name: layer for layer in self.layers}

    @property
    def accelerator_label(self) -> str:
        """What a result names as its accelerator (task graphs: the clusters, and whose they are)."""
        if self.mode != Mode.TASKGRAPH:
            return self.accelerator.name
        clusters = f"{len(self.taskgraph.platform.clusters)} PE clusters"
        return clusters + (f" of {self.accelerator.name}" if self.accelerator else "")
