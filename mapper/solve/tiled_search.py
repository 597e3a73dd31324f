"""The best fused mapping in 2-D tiles over an enumerated space (issue 15, a step
before the group's CP-SAT model): every tile size of ``TiledSpace.sizes``, every
overlap policy per feature map and weight policy per layer, the group holding its
input and output; each layer's nests solved by CP-SAT.

Exact over that space: with the PE array time-shared and one nest at a time, a
configuration's objective is the group's own transfers plus, per nest key, its
nest's objective times the tiles it runs in, and the keys only share the GLB
through a budget each (the capacity less what the group holds at the fullest tile
the key runs in). So each key's best nest is a layer solve under its budget, and a
configuration's least objective is their sum. Configurations are visited in the
order of a lower bound (each key's nest solved with the whole GLB: its bound,
under no budget), and the search stops when the bound reaches the best found.
``proven`` holds when every solve it relied on was proven optimal.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, replace
from typing import NamedTuple

from mapper.core.enums import Overlap, Status, WeightPolicy
from mapper.core.mapping import Mapping
from mapper.core.spec import Accelerator, Layer, ObjectiveWeights, SolverSettings
from mapper.core.tiled_group import NestKey, TiledMapping, nest_layer
from mapper.cost.tiled_group import TiledCost, evaluate_tiled, group_transfers
from mapper.solve.groups import solve_single_layer


@dataclass(frozen=True)
class TiledSpace:
    sizes: tuple[tuple[int, int], ...]  # (height, width) of the tiles
    overlaps: tuple[Overlap, ...] = tuple(Overlap)
    weights: tuple[WeightPolicy, ...] = tuple(WeightPolicy)


@dataclass
class TiledAnswer:
    mapping: TiledMapping | None
    cost: TiledCost | None
    proven: bool
    configurations: int  # visited (the rest were cut by the bound)
    nest_solves: int
    bound: int | None = None  # the least lower bound of the configurations not visited (None: all visited)


def configurations(layers: tuple[Layer, ...], space: TiledSpace):
    for (height, width), overlap, weights in itertools.product(
        space.sizes,
        itertools.product(space.overlaps, repeat=len(layers)),
        itertools.product(space.weights, repeat=len(layers)),
    ):
        if all(w is WeightPolicy.RESIDENT for k, w in enumerate(weights) if "W" not in layers[k].tensors):
            yield TiledMapping(height, width, overlap, weights, True, True, {})


class NestChoice(NamedTuple):
    """A key's best nest under a budget: its objective and CP-SAT's bound, its mapping,
    and the GLB words it takes beyond what it holds on chip."""

    objective: int
    bound: int
    mapping: Mapping
    block_words: int


class _Nests:
    """Nest solves, cached by nest layer and GLB budget."""

    def __init__(self, layers, accelerator: Accelerator, weights: ObjectiveWeights, settings: SolverSettings):
        self.layers, self.accelerator, self.weights, self.settings = layers, accelerator, weights, settings
        self.cache: dict = {}
        self.proven = True

    def solve(self, mapping: TiledMapping, key: NestKey, budget: int | None) -> NestChoice | None:
        """The key's best nest within ``budget`` GLB words beyond what it holds (None: the
        whole GLB); None when there is none."""
        layer = nest_layer(self.layers, mapping, key)
        held = layer.on_chip_words
        accelerator = self.accelerator
        if budget is not None:
            if budget < 0:
                return None
            accelerator = accelerator.with_glb_words(min(accelerator.levels["GLB"].capacity_words_total, budget + held))
        signature = (key, tuple(sorted(layer.on_chip)), accelerator.levels["GLB"].capacity_words_total)
        if signature not in self.cache:
            solution, cost, _ = solve_single_layer(layer, accelerator, self.weights, self.settings)
            if cost is None:
                self.proven &= solution.status == Status.INFEASIBLE
                self.cache[signature] = None
            else:
                self.proven &= solution.status == Status.OPTIMAL
                block = cost.glb_occupancy_words - held
                self.cache[signature] = NestChoice(solution.objective, solution.bound, solution.mapping, block)
        return self.cache[signature]


def solve_tiled(
    layers: tuple[Layer, ...],
    accelerator: Accelerator,
    weights: ObjectiveWeights,
    settings: SolverSettings,
    space: TiledSpace,
) -> TiledAnswer:
    nests = _Nests(layers, accelerator, weights, settings)
    capacity = accelerator.levels["GLB"].capacity_words_total
    best, best_cost, visited = None, None, 0
    for bound, _, mapping, group, counts in _ranked(layers, accelerator, weights, space, nests):
        if best_cost is not None and bound >= best_cost.objective(weights):
            return TiledAnswer(best, best_cost, nests.proven, visited, len(nests.cache), bound)
        visited += 1
        budgets = {}
        for held, keys in group.tiles:
            for key in keys:
                budgets[key] = min(budgets.get(key, capacity), capacity - held)
        chosen = {}
        for key in counts:
            found = nests.solve(mapping, key, None)
            if found.block_words > budgets[key]:
                found = nests.solve(mapping, key, budgets[key])
            if found is None:
                break
            chosen[key] = found.mapping
        else:
            candidate = replace(mapping, nests=chosen)
            cost = evaluate_tiled(layers, accelerator, candidate)
            if cost.valid and (best_cost is None or cost.objective(weights) < best_cost.objective(weights)):
                best, best_cost = candidate, cost
    return TiledAnswer(best, best_cost, nests.proven, visited, len(nests.cache))


def _ranked(layers, accelerator: Accelerator, weights: ObjectiveWeights, space: TiledSpace, nests: _Nests) -> list:
    """(lower bound, index, mapping, group transfers, tiles per nest key) of every
    configuration whose nests exist with the whole GLB, by bound."""
    ranked = []
    for mapping in configurations(layers, space):
        if mapping.violations(layers):
            continue
        group = group_transfers(layers, accelerator, mapping)
        counts: dict = {}
        for _, keys in group.tiles:
            for key in keys:
                counts[key] = counts.get(key, 0) + 1
        free = {key: nests.solve(mapping, key, None) for key in counts}
        if any(v is None for v in free.values()):
            continue
        own = weights.of(group.latency_cycles, group.dram_words, group.energy_fj)
        bound = own + sum(counts[key] * free[key].bound for key in counts)
        ranked.append((bound, len(ranked), mapping, group, counts))
    return sorted(ranked, key=lambda entry: entry[:2])
