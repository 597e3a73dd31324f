"""The nest solves of the tiled search (``mapper.solve.tiled_search``): each layer
nest of a fused tile (``mapper.core.tiled_group.nest_layer``) solved by CP-SAT as a
layer within a GLB budget, cached, the solves a step needs run at once on the
workers, each within the search's time left."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import replace
from typing import NamedTuple

from mapper.core import stop
from mapper.core.enums import Status
from mapper.core.mapping import Mapping
from mapper.core.spec import Accelerator, Layer, ObjectiveWeights, SolverSettings
from mapper.core.tiled_group import NestKey, TiledMapping, nest_layer
from mapper.solve.groups import solve_single_layer


class NestChoice(NamedTuple):
    """A key's best nest under a budget: its objective and CP-SAT's bound, its mapping,
    and the GLB words it takes beyond what it holds on chip."""

    objective: int
    bound: int
    mapping: Mapping
    block_words: int


class NestSolves:
    """Nest solves, cached by nest layer and GLB budget; each gets the time left. With
    ``settings.workers`` > 1, the solves a step needs run at once, one CP-SAT worker each
    (a layer solve gains little from a second worker; two nests gain twice)."""

    def __init__(self, layers, accelerator: Accelerator, weights: ObjectiveWeights, settings: SolverSettings):
        self.layers, self.accelerator, self.weights, self.settings = layers, accelerator, weights, settings
        self.deadline = time.perf_counter() + settings.time_limit_s
        self.cache: dict = {}
        self.undecided: set = set()  # signatures whose solve ended with neither a solution nor a proof
        self.proven = True
        self.deterministic_time = 0.0

    def time_left(self) -> float:
        return self.deadline - time.perf_counter()

    def _request(self, mapping: TiledMapping, key: NestKey, budget: int | None):
        """(signature, nest layer, accelerator with the GLB the nest may use), or None for a
        negative budget (no room at all)."""
        layer = nest_layer(self.layers, mapping, key)
        accelerator = self.accelerator
        if budget is not None:
            if budget < 0:
                return None
            glb = min(accelerator.levels["GLB"].capacity_words_total, budget + layer.on_chip_words)
            accelerator = accelerator.with_glb_words(glb)
        return (key, tuple(sorted(layer.on_chip)), accelerator.levels["GLB"].capacity_words_total), layer, accelerator

    def prefetch(self, requests: list[tuple[TiledMapping, NestKey, int | None]]) -> None:
        """Solve every request not cached yet, at once on the workers."""
        todo = {}
        for request in requests:
            found = self._request(*request)
            if found is not None and found[0] not in self.cache:
                todo[found[0]] = found
        lanes = min(self.settings.workers, len(todo))
        workers = 1 if lanes > 1 else self.settings.workers

        def run(item):  # each solve gets the time left when it starts; none once it is spent
            left = min(self.settings.time_limit_s, self.time_left())
            if left <= 0:
                return None
            settings = replace(self.settings, time_limit_s=max(0.1, left), workers=workers)
            return solve_single_layer(item[1], item[2], self.weights, settings)

        if lanes <= 1:
            answers = [run(item) for item in todo.values()]
        else:
            with ThreadPoolExecutor(lanes) as pool:
                futures = [pool.submit(run, item) for item in todo.values()]
                try:
                    answers = [future.result() for future in futures]
                except KeyboardInterrupt:  # no signal handler (the Python API): stop the solves, then raise
                    stop.request("SIGINT")
                    wait(futures)
                    stop.clear()
                    raise
        for (signature, layer, _), answer in zip(todo.values(), answers, strict=True):
            self._store(signature, layer, *(answer[:2] if answer else (None, None)))

    def _store(self, signature, layer: Layer, solution, cost) -> None:
        """A solve's answer (``solution`` None: not run, the time was spent)."""
        if solution is None:
            self.proven = False
            self.undecided.add(signature)
            self.cache[signature] = None
            return
        self.deterministic_time += solution.facts.deterministic_time
        if cost is None:
            self.proven &= solution.status == Status.INFEASIBLE
            if solution.status != Status.INFEASIBLE:
                self.undecided.add(signature)
            self.cache[signature] = None
        else:
            self.proven &= solution.status == Status.OPTIMAL
            block = cost.glb_occupancy_words - layer.on_chip_words
            self.cache[signature] = NestChoice(solution.objective, solution.bound, solution.mapping, block)

    def solve(self, mapping: TiledMapping, key: NestKey, budget: int | None) -> NestChoice | None:
        """The key's best nest within ``budget`` GLB words beyond what it holds (None: the
        whole GLB); None when there is none or none was found (``undecided`` tells)."""
        found = self._request(mapping, key, budget)
        if found is None:
            return None
        if found[0] not in self.cache:
            self.prefetch([(mapping, key, budget)])
        return self.cache[found[0]]

    def found(self, mapping: TiledMapping, key: NestKey, budget: int) -> NestChoice | None:
        """The key's solve within ``budget``, or its solve with the whole GLB where that fits
        the budget, if either ran (no solve now)."""
        for limit in (budget, None):
            request = self._request(mapping, key, limit)
            choice = self.cache.get(request[0]) if request else None
            if choice is not None and choice.block_words <= budget:
                return choice
        return None

    def solve_many(self, mapping: TiledMapping, budgets: dict) -> dict:
        """``solve`` of each key of ``budgets`` (key -> budget, None: the whole GLB), at once."""
        self.prefetch([(mapping, key, budget) for key, budget in budgets.items()])
        return {key: self.solve(mapping, key, budget) for key, budget in budgets.items()}
