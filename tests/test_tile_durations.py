"""Task durations from the single-layer semantics (DESIGN 4.4): a task's duration on
a cluster is the least latency of its tile run as a layer on the cluster's sub-array
(CP-SAT against brute force over the tile's whole map space), durations follow the
accelerator's memories, and the referee measures every stated duration."""

from __future__ import annotations

import json

import pytest
from conftest import DETERMINISTIC, tiny_accelerator
from test_fusion import GROUPS
from verify_helpers import solved, verdict

from mapper.core.errors import SpecError
from mapper.core.group import build_group
from mapper.core.mapping import enumerate_mappings
from mapper.core.problem import Platform
from mapper.core.taskgraph import origin_box, tile_extents, tile_layer
from mapper.cost.layer import evaluate
from mapper.cost.taskgraph_builder import Slicing, build_task_graph, compute_bound
from mapper.io.library import library_root
from mapper.io.loading import parse_problem
from mapper.solve.task_durations import SolvedDurations

__all__ = ["solved"]  # the verify helpers' fixture

GROUP = build_group(GROUPS["conv+conv+pool"])
SLICINGS = {"a": Slicing(3, 3), "b": Slicing(3, 1), "c": Slicing(1, 1, 3)}
PLATFORM = Platform(((2, 1), (1, 1)))


def least_latency(layer, accelerator) -> int:
    """The brute-force least latency over every mapping of ``layer`` (the cost model)."""
    costs = (evaluate(layer, accelerator, m) for m in enumerate_mappings(layer, accelerator))
    return min(c.latency_cycles for c in costs if c.valid)


def test_each_duration_is_the_least_latency_of_its_tile_on_its_cluster():
    accelerator = tiny_accelerator(rows=2, cols=3)
    durations = SolvedDurations(accelerator, DETERMINISTIC)
    graph = build_task_graph(GROUP, SLICINGS, PLATFORM, durations)
    layers = {layer.name: layer for layer in GROUP.layers}
    shapes = {(graph.layer_of[t], tile_extents(graph.work[t])) for t in graph.tasks}
    assert len(durations.tiles) == len(shapes) * len(PLATFORM.clusters) == 6  # one solve per shape and cluster
    for tile in durations.tiles:
        layer = tile_layer(layers[tile.layer], origin_box(tile.extents))
        on_cluster = accelerator.with_array(*tile.cluster)
        assert tile.status == "OPTIMAL"
        assert tile.latency_cycles == least_latency(layer, on_cluster), tile
        assert evaluate(layer, on_cluster, tile.mapping).latency_cycles == tile.latency_cycles
    for task in graph.tasks:
        for p, cluster in enumerate(PLATFORM.clusters):
            key = (graph.layer_of[task], tile_extents(graph.work[task]), cluster)
            assert graph.durations[task][p] == durations.cycles[key]
            assert graph.durations[task][p] >= compute_bound(None, graph.work[task], cluster)


@pytest.mark.parametrize("memory", ["dram_bw", "glb_bw"])
def test_durations_follow_the_accelerators_bandwidths(memory):
    """Less bandwidth never shortens a tile (every transfer takes at least as long) and
    lengthens some: the durations see the memories, not only the PEs."""
    graphs = []
    for bandwidth in (4, 1):
        accelerator = tiny_accelerator(rows=2, cols=3, **{memory: bandwidth})
        graphs.append(build_task_graph(GROUP, SLICINGS, PLATFORM, SolvedDurations(accelerator, DETERMINISTIC)))
    fast, slow = (graph.durations for graph in graphs)
    pairs = [(a, b) for t in graphs[0].tasks for a, b in zip(fast[t], slow[t], strict=True)]
    assert all(a <= b for a, b in pairs)
    assert any(a < b for a, b in pairs)


def test_clusters_that_do_not_fit_the_accelerator_are_refused():
    spec = {
        "name": "too_wide",
        "mode": "taskgraph",
        "network": "lenet5",
        "layers": ["C1", "S2"],
        "accelerator": "eyeriss_like",
        "taskgraph": {"platform": {"clusters": [[4, 8], [4, 8]]}},
    }
    with pytest.raises(SpecError, match=r"taskgraph\.platform\.clusters: side by side the clusters need 4 x 16 PEs"):
        parse_problem(spec, library_root() / "problems" / "taskgraph" / "p.yaml")


def _tampered(result: dict, tmp_path, change) -> int:
    copy = json.loads(json.dumps(result))
    change(copy)
    path = tmp_path / "tampered.json"
    path.write_text(json.dumps(copy))
    return verdict(path)[0]


def test_the_referee_measures_every_stated_duration(solved, tmp_path):
    """The bundled task graph on the 16x16 preset verifies; a tile's latency 1 cycle off,
    or a tile left out, is rejected."""
    path, result = solved("taskgraph")
    assert verdict(path)[0] == 0
    tiles = result["details"]["tile_durations"]
    assert {t["layer"] for t in tiles} == {"C1", "S2", "C3"} and all(t["status"] == "OPTIMAL" for t in tiles)

    def one_off(copy):
        copy["details"]["tile_durations"][0]["latency_cycles"] += 1

    def left_out(copy):
        del copy["details"]["tile_durations"][-1]

    assert _tampered(result, tmp_path, one_off) == 1
    assert _tampered(result, tmp_path, left_out) == 2  # a task without a duration: the result is malformed
