"""Task durations from the single-layer semantics (DESIGN 4.4, docs/taskgraph.md):
on a platform with an accelerator, a task's cycles on a cluster are the latency
of its tile run as a layer on the accelerator's memories around the cluster's PE
array, under the mapping CP-SAT finds fastest. One solve per distinct tile and
cluster shape (tiles of one layer differ by at most one along each cut)."""

from __future__ import annotations

from dataclasses import replace

from mapper.core.box import Box
from mapper.core.errors import SpecError
from mapper.core.problem import Problem
from mapper.core.spec import Accelerator, ObjectiveWeights, SolverSettings
from mapper.core.taskgraph import Cluster, DurationTable, TileDuration, tile_extents, tile_key, tile_layer
from mapper.cost.taskgraph_builder import Duration, compute_bound
from mapper.solve.groups import solve_single_layer

LATENCY_ONLY = ObjectiveWeights(latency=1, dram_words=0, energy=0)
TILE_TIME_S = 10.0  # the most wall time one tile's solve takes (it stops earlier when proven)


class SolvedDurations(DurationTable):
    """A ``DurationTable`` that solves a tile the first time it is asked for it;
    ``tiles`` keeps each solved tile with its mapping (the result states them)."""

    def __init__(self, accelerator: Accelerator, settings: SolverSettings, source: str = "<memory>"):
        super().__init__()
        self.accelerator, self.source = accelerator, source
        self.settings = replace(settings, workers=1, time_limit_s=min(settings.time_limit_s, TILE_TIME_S))
        self.tiles: list[TileDuration] = []

    def __call__(self, layer, work: Box, cluster: Cluster) -> int:
        key = tile_key(layer.name, work, cluster)
        if key not in self.cycles:
            self.cycles[key] = self.solve_tile(layer, work, cluster).latency_cycles
        return self.cycles[key]

    def solve_tile(self, layer, work: Box, cluster: Cluster) -> TileDuration:
        """The fastest mapping CP-SAT finds for the tile, kept in ``tiles``."""
        tile = tile_layer(layer, work)
        accelerator = self.accelerator.with_array(*cluster)
        solution, cost, _ = solve_single_layer(tile, accelerator, LATENCY_ONLY, self.settings)
        if cost is None:
            raise SpecError(
                self.source,
                "taskgraph.platform.clusters",
                f"a {layer.name} task ({tile.macs:,} MACs) has no mapping on a {cluster[0]}x{cluster[1]} cluster "
                f"of {self.accelerator.name} ({solution.status})",
                "use larger clusters or slice the layer more finely",
            )
        extents = tile_extents(work)
        entry = TileDuration(layer.name, extents, cluster, cost.latency_cycles, solution.status, solution.mapping)
        self.tiles.append(entry)
        return entry


def problem_durations(problem: Problem, settings: SolverSettings) -> Duration:
    """The durations of a task-graph problem: solved on its accelerator, or the
    compute bound on a platform without one."""
    if problem.accelerator is None:
        return compute_bound
    return SolvedDurations(problem.accelerator, settings, problem.source)
