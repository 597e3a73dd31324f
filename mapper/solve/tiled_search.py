"""The best fused mapping in 2-D tiles over an enumerated space (issue 15, a step
before the group's CP-SAT model): every tile size of ``TiledSpace.sizes``, every
overlap policy per feature map and weight policy per layer, the group holding its
input and output; each layer's nests solved by CP-SAT.

Exact over that space: with the PE array time-shared and one nest at a time, a
configuration's objective is the group's own transfers plus, per nest key, its
nest's objective times the tiles it runs in, and the keys only share the GLB
through a budget each (the capacity less what the group holds at the fullest tile
the key runs in). So each key's best nest is a layer solve under its budget, and a
configuration's least objective is their sum.

Best first over lower bounds: every configuration starts with a floor that needs no
solve (its own transfers and each nest's ``nest_floor``); the configuration of the
least bound is refined (each key's nest solved with the whole GLB: CP-SAT's bound
under no budget) or, once refined, solved under its budgets. The search stops when
the least bound reaches the best found (proven, when every solve it relied on was
proven optimal), or at the time limit or a stop request: then the answer's
``bound`` is the least bound left, a lower bound on the optimum over the space,
and, if no configuration was solved yet, the answer is the first valid one of the
least-bound configurations with each nest's best solve so far or its all-DRAM
mapping (``_Search._fallback``): a poor answer, with its gap, rather than none.
"""

from __future__ import annotations

import heapq
import itertools
from dataclasses import dataclass, replace
from typing import NamedTuple

from mapper.core import progress, stop
from mapper.core.enums import WeightPolicy
from mapper.core.mapping import all_dram_mapping
from mapper.core.spec import Accelerator, Layer, ObjectiveWeights, SolverSettings
from mapper.core.tiled_group import TiledMapping, TiledSpace, feature_map_names, nest_layer
from mapper.cost.limits import nest_floor
from mapper.cost.tiled_group import TiledCost, evaluate_tiled, group_transfers
from mapper.solve.tiled_nests import NestSolves

FALLBACK_TRIES = 50  # configurations tried for an answer when stopped before any was solved


@dataclass
class TiledAnswer:
    mapping: TiledMapping | None
    cost: TiledCost | None
    proven: bool  # the mapping is the optimum over the space (or, without one, the space is proven infeasible)
    configurations: int  # solved under their budgets (the rest were cut by a bound)
    nest_solves: int
    bound: int | None  # a lower bound on the optimum over the space (None: no configuration is feasible)
    interrupted_by: str | None = None  # "time limit", or the stop request's reason
    deterministic_time: float = 0.0  # CP-SAT's, summed over the nest solves


def configurations(layers: tuple[Layer, ...], space: TiledSpace, pins: dict | None = None):
    """Every configuration of ``space`` (a layer without weights counted once, as
    ``resident``) that keeps the ``pins`` (``mapper.io.pins.tiled_pins``)."""
    for (height, width), overlap, weights in itertools.product(
        space.sizes,
        itertools.product(space.overlaps, repeat=len(layers)),
        itertools.product(space.weights, repeat=len(layers)),
    ):
        mapping = TiledMapping(height, width, overlap, weights, True, True, {})
        once = all(w is WeightPolicy.RESIDENT for k, w in enumerate(weights) if "W" not in layers[k].tensors)
        if once and (not pins or keeps_pins(layers, mapping, pins)):
            yield mapping


def keeps_pins(layers: tuple[Layer, ...], mapping: TiledMapping, pins: dict) -> bool:
    """Whether ``mapping`` has the pinned tile and the pinned policy of each feature map
    (named by its producer: the group input, then each layer but the last) and layer."""
    maps, names = feature_map_names(layers), [layer.name for layer in layers]
    return (
        pins.get("tile", [mapping.height, mapping.width]) == [mapping.height, mapping.width]
        and all(str(mapping.overlap[maps.index(m)]) == p for m, p in pins.get("overlap", {}).items())
        and all(str(mapping.weights[names.index(n)]) == p for n, p in pins.get("weights", {}).items())
    )


class _Configuration(NamedTuple):
    mapping: TiledMapping
    own: int  # the objective of the group's own transfers
    counts: dict  # nest key -> tiles it runs in
    budgets: dict  # nest key -> GLB words it may take beyond what it holds


def solve_tiled(
    layers: tuple[Layer, ...],
    accelerator: Accelerator,
    weights: ObjectiveWeights,
    settings: SolverSettings,
    space: TiledSpace,
    pins: dict | None = None,
) -> TiledAnswer:
    """The best configuration of ``space`` that keeps the ``pins``, with its nests (module docstring)."""
    entries = list(_configurations(layers, accelerator, weights, space, pins))
    search = _Search(layers, accelerator, weights, NestSolves(layers, accelerator, weights, settings), entries)
    interrupted = search.run()
    nests, queue = search.nests, search.queue
    bounds = [b for b in (search.lost, queue[0][0] if queue else None, search.best_objective) if b is not None]
    proven = nests.proven and not interrupted and search.lost is None
    return TiledAnswer(
        search.best,
        search.best_cost,
        proven,
        search.visited,
        len(nests.cache),
        min(bounds) if bounds else None,
        interrupted,
        nests.deterministic_time,
    )


class _Search:
    """Best first over the configurations' bounds (module docstring): a queue of
    (bound, index, refined); the best answer so far; ``lost``, the least bound of the
    configurations a solve without a proof left undecided."""

    def __init__(self, layers, accelerator: Accelerator, weights: ObjectiveWeights, nests: NestSolves, entries: list):
        self.layers, self.accelerator, self.weights, self.nests = layers, accelerator, weights, nests
        self.entries = entries
        self.queue = [(_floor(layers, accelerator, weights, e), i, False) for i, e in enumerate(self.entries)]
        heapq.heapify(self.queue)
        self.best, self.best_cost, self.best_objective, self.visited, self.lost = None, None, None, 0, None

    def run(self) -> str | None:
        """Search until the least bound reaches the best; the reason when stopped before."""
        while self.queue:
            bound, index, refined = self.queue[0]
            if self.best_objective is not None and bound >= self.best_objective:
                return None
            interrupted = stop.reason() or ("time limit" if self.nests.time_left() <= 0 else None)
            if interrupted:
                if self.best is None:
                    self._fallback()
                return interrupted
            heapq.heappop(self.queue)
            entry = self.entries[index]
            if not refined:
                self._refine(entry, index, bound)
                continue
            chosen = _nests_within_budgets(self.nests, entry)
            if chosen is None:
                self._drop(entry, bound)
            else:
                self._resolve(entry, chosen)
        return None

    def _fallback(self, tries: int = FALLBACK_TRIES) -> None:
        """Stopped before any configuration was solved: the first of the ``tries`` least
        bounds left that is valid with, for each nest, the best solve found or else the
        all-DRAM mapping of its nest (no solve; valid wherever the nest fits at all)."""
        for _, index, _ in heapq.nsmallest(tries, self.queue):
            entry = self.entries[index]
            nests = {}
            for key in entry.counts:
                found = self.nests.found(entry.mapping, key, entry.budgets[key])
                nests[key] = found.mapping if found else all_dram_mapping(nest_layer(self.layers, entry.mapping, key))
            candidate = replace(entry.mapping, nests=nests)
            cost = evaluate_tiled(self.layers, self.accelerator, candidate)
            if cost.valid:
                self.best, self.best_cost, self.best_objective = candidate, cost, cost.objective(self.weights)
                return

    def _refine(self, entry: _Configuration, index: int, floor: int) -> None:
        """Each key's nest solved with the whole GLB: the configuration's answer when every
        one fits its budget; else the configuration goes back with CP-SAT's bounds."""
        free = self.nests.solve_many(entry.mapping, dict.fromkeys(entry.counts))
        if not all(free.values()):
            self._drop(entry, floor)
        elif all(free[key].block_words <= entry.budgets[key] for key in free):
            self._resolve(entry, free)
        else:
            bound = entry.own + sum(entry.counts[key] * choice.bound for key, choice in free.items())
            heapq.heappush(self.queue, (bound, index, True))

    def _drop(self, entry: _Configuration, bound: int) -> None:
        """A configuration without an answer: infeasible, or, when a solve of it ended with
        neither a solution nor a proof, undecided (its bound is kept)."""
        if _undecided(self.nests, entry):
            self.lost = bound if self.lost is None else min(self.lost, bound)

    def _resolve(self, entry: _Configuration, chosen: dict) -> None:
        """A configuration with its best nests: a candidate answer."""
        self.visited += 1
        candidate = replace(entry.mapping, nests={key: choice.mapping for key, choice in chosen.items()})
        cost = evaluate_tiled(self.layers, self.accelerator, candidate)
        objective = cost.objective(self.weights)
        lower = entry.own + sum(entry.counts[key] * choice.bound for key, choice in chosen.items())
        if lower < objective:  # a nest not proven optimal
            self.lost = lower if self.lost is None else min(self.lost, lower)
        if cost.valid and (self.best_objective is None or objective < self.best_objective):
            self.best, self.best_cost, self.best_objective = candidate, cost, objective
        progress.report("tile configurations", self.visited, None, f"best objective {self.best_objective:,}")


def _undecided(nests: NestSolves, entry: _Configuration) -> bool:
    """Whether some nest solve of ``entry`` ended with neither a solution nor a proof."""
    return any(signature[0] in entry.counts for signature in nests.undecided)


def _nests_within_budgets(nests: NestSolves, entry: _Configuration) -> dict | None:
    """Each key's best nest within its budget (None: some key has none): the nest solved
    with the whole GLB where it fits its budget, else solved again within the budget."""
    chosen = nests.solve_many(entry.mapping, dict.fromkeys(entry.counts))
    tight = {
        key: entry.budgets[key] for key, found in chosen.items() if found and found.block_words > entry.budgets[key]
    }
    chosen.update(nests.solve_many(entry.mapping, tight))
    return None if None in chosen.values() else chosen


def _configurations(layers, accelerator: Accelerator, weights: ObjectiveWeights, space: TiledSpace, pins=None):
    """Every configuration of ``space`` that keeps the pins and the space's rules and whose
    held feature maps and resident weights fit the GLB at every tile, with its own
    transfers' objective, its tiles per nest key and each key's GLB budget."""
    capacity = accelerator.levels["GLB"].capacity_words_total
    for mapping in configurations(layers, space, pins):
        if mapping.violations(layers):
            continue
        group = group_transfers(layers, accelerator, mapping)
        counts, budgets = {}, {}
        for held, keys in group.tiles:
            for key in keys:
                counts[key] = counts.get(key, 0) + 1
                budgets[key] = min(budgets.get(key, capacity), capacity - held)
        if min(budgets.values()) < 0:  # what the group holds at some tile exceeds the GLB: infeasible
            continue
        own = weights.of(group.latency_cycles, group.dram_words, group.energy_fj)
        yield _Configuration(mapping, own, counts, budgets)


def _floor(layers, accelerator: Accelerator, weights: ObjectiveWeights, entry: _Configuration) -> int:
    """A bound on ``entry``'s objective that needs no solve: its own transfers and each nest's floor."""
    return entry.own + sum(
        count * nest_floor(nest_layer(layers, entry.mapping, key), accelerator, weights)
        for key, count in entry.counts.items()
    )
