"""Exact cost of a fused group mapped in 2-D tiles, the PE array time-shared
(DESIGN 4.2, issue 15; ``mapper.core.tiled_group`` defines the mapping).

The schedule, tile by tile in the grid's order, one thing at a time:

* at the start, the group's DMA loads every resident layer's weights;
* per tile: the DMA loads the group input's new box (``TileGrid.computed`` of
  the group input, when the group holds its input), then each layer's nest runs
  its box on the whole PE array (``mapper.cost.layer.evaluate`` on ``nest_layer``:
  its latency, DRAM words, energy), then the DMA stores the output tile (when the
  group holds its output). Each transfer takes ceil(words / DRAM bandwidth).

So latency = resident weight loads + sum over tiles of (input load + the nests'
latencies + output store); DRAM words = the group's loads and stores plus the
nests' own (weights moved per tile, a streamed boundary tensor); energy = the
nests' energies plus (e_DRAM + e_GLB) per word the group's DMA moves; MACs
count every recomputed element. GLB words, the most over tiles of: the live
cells of every feature map (``TileGrid.live_cells``) x its channels x N, the
resident weights, and the most any nest of the tile adds on top of what it holds
on chip (its GLB tiles of weights moved per tile and of streamed tensors).
"""

from __future__ import annotations

from dataclasses import dataclass

from mapper.core.arith import ceil_div
from mapper.core.enums import WeightPolicy
from mapper.core.spec import Accelerator, Layer, ObjectiveWeights
from mapper.core.stripes import GROUP_INPUT
from mapper.core.tiled_group import TiledMapping, box_extents, nest_boxes, nest_layer
from mapper.cost.layer import LayerCost, evaluate


@dataclass(frozen=True)
class TiledCost:
    valid: bool
    violations: tuple[str, ...]
    latency_cycles: int
    dram_words: int
    energy_fj: int
    macs: int
    glb_words: int
    nests: dict  # NestKey -> LayerCost

    def objective(self, weights: ObjectiveWeights) -> int:
        return weights.of(self.latency_cycles, self.dram_words, self.energy_fj)

    def metrics(self, accelerator: Accelerator, layers: tuple[Layer, ...], mapping: TiledMapping) -> dict:
        """What a fused result states of a tiled answer (each measured by the referee)."""
        return {
            "latency_cycles": self.latency_cycles,
            "dram_words": self.dram_words,
            "dram_bytes": self.dram_words * accelerator.word_bits // 8,
            "energy_fj": self.energy_fj,
            "energy_pj": self.energy_fj / 1000,
            "macs": self.macs,
            "recomputed_macs": self.macs - sum(layer.macs for layer in layers),
            "glb_words": self.glb_words,
            "tiles": list(mapping.grid(layers).shape),
            "utilisation": self.macs / (accelerator.num_pes * self.latency_cycles),
        }


def map_depth(layers: tuple[Layer, ...], k: int) -> int:
    """Words per cell (row, col) of feature map k: its channels times the batch."""
    layer = layers[0] if k == GROUP_INPUT else layers[k]
    channels = layer.in_channels if k == GROUP_INPUT else layer.out_channels
    return channels * layer.bounds["N"]


@dataclass(frozen=True)
class GroupTransfers:
    """What the group itself does, whatever the nests: its DMA's cycles and words
    (resident weights, input boxes, output tiles), and per tile the GLB words it holds
    (live feature maps and resident weights) and the nest keys that run in it."""

    latency_cycles: int
    dram_words: int
    energy_fj: int
    tiles: list[tuple[int, list]]  # (GLB words held, nest keys) per tile, in order


def group_transfers(layers: tuple[Layer, ...], accelerator: Accelerator, mapping: TiledMapping) -> GroupTransfers:
    grid, n = mapping.grid(layers), len(layers)
    dram = accelerator.levels["DRAM"]
    weights = [layers[k].tensor_words("W") for k in range(n) if _resident(layers, mapping, k)]
    resident = sum(weights)
    moved = [resident] if resident else []
    latency = sum(ceil_div(words, dram.bandwidth_words_per_cycle) for words in weights)
    tiles = []
    maps = range(GROUP_INPUT if mapping.input_held else 0, n if mapping.output_held else n - 1)
    for i, j in grid.tiles():
        words = []
        if mapping.input_held:
            words.append(_cells(grid.computed(GROUP_INPUT, i, j)) * map_depth(layers, GROUP_INPUT))
        if mapping.output_held:
            words.append(_cells(grid.computed(n - 1, i, j)) * map_depth(layers, n - 1))
        latency += sum(ceil_div(w, dram.bandwidth_words_per_cycle) for w in words if w)
        moved += words
        keys = [(k, *box_extents(grid.computed(k, i, j))) for k in range(n)]
        live = sum(grid.live_cells(k, i, j) * map_depth(layers, k) for k in maps)
        tiles.append((live + resident, [key for key in keys if key[1] > 0 and key[2] > 0]))
    energy = (dram.energy_fj_per_word + accelerator.levels["GLB"].energy_fj_per_word) * sum(moved)
    return GroupTransfers(latency, sum(moved), energy, tiles)


def evaluate_tiled(layers: tuple[Layer, ...], accelerator: Accelerator, mapping: TiledMapping) -> TiledCost:
    """The cost of ``mapping`` (module docstring); ``valid`` False with reasons when a rule
    of the space, a nest's own rules or the GLB capacity is broken."""
    violations = mapping.violations(layers)
    if violations:
        return TiledCost(False, tuple(violations), 0, 0, 0, 0, 0, {})
    nests: dict = {}
    for key in nest_boxes(layers, mapping):
        if key not in mapping.nests:
            violations.append(f"no nest mapping for layer {layers[key[0]].name} on a {key[1]} x {key[2]} box")
            continue
        cost = evaluate(nest_layer(layers, mapping, key), accelerator, mapping.nests[key])
        nests[key] = cost
        violations += [f"{layers[key[0]].name} {key[1]}x{key[2]} nest: {v}" for v in cost.violations]
    if violations:
        return TiledCost(False, tuple(violations), 0, 0, 0, 0, 0, nests)
    group = group_transfers(layers, accelerator, mapping)
    blocks = {key: nest_block(layers, mapping, key, cost) for key, cost in nests.items()}
    latency, dram, energy, macs, glb_peak = group.latency_cycles, group.dram_words, group.energy_fj, 0, 0
    for held, keys in group.tiles:
        costs: list[LayerCost] = [nests[key] for key in keys]
        latency += sum(c.latency_cycles for c in costs)
        dram += sum(c.dram_words for c in costs)
        energy += sum(c.energy_fj for c in costs)
        macs += sum(c.macs for c in costs)
        glb_peak = max(glb_peak, held + max(blocks[key] for key in keys))
    capacity = accelerator.levels["GLB"].capacity_words_total
    if glb_peak > capacity:
        violations.append(f"the group holds {glb_peak:,} GLB words at its fullest tile; the GLB has {capacity:,}")
    return TiledCost(not violations, tuple(violations), latency, dram, energy, macs, glb_peak, nests)


def nest_block(layers, mapping: TiledMapping, key, cost: LayerCost) -> int:
    """The GLB words a nest takes beyond the tensors it holds on chip."""
    return cost.glb_occupancy_words - nest_layer(layers, mapping, key).on_chip_words


def _resident(layers, mapping: TiledMapping, k: int) -> bool:
    return mapping.weights[k] is WeightPolicy.RESIDENT and "W" in layers[k].tensors


def _cells(box) -> int:
    rows, cols = box_extents(box)
    return max(0, rows) * max(0, cols)
