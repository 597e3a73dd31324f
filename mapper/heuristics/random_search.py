"""Timeloop-style random-sampling mapper: sample valid mappings, keep the best
(until the time is up, the samples are drawn or a stop is requested)."""

from __future__ import annotations

import random
import time
from dataclasses import dataclass

from mapper.core import stop
from mapper.core.enums import Factors
from mapper.core.mapping import (
    Mapping,
    canonical_order,
    dim_factorisations,
    mapping_from_choice,
    output_buffering_options,
)
from mapper.core.spec import DIMS, ORDERED_LEVELS, Accelerator, Layer, ObjectiveWeights
from mapper.cost.layer import LayerCost, evaluate


@dataclass(frozen=True)
class RandomSearchResult:
    mapping: Mapping | None
    cost: LayerCost | None
    objective: int | None
    samples: int
    valid_samples: int
    seconds: float


def sample_mapping(
    layer: Layer, accelerator: Accelerator, rng: random.Random, factors: Factors = Factors.UNEVEN
) -> Mapping:
    """One uniformly chosen factorisation per dim (of the ``factors`` space), random loop
    orders and, where it can matter, a double-buffered output tile or not."""
    choice = {d: rng.choice(dim_factorisations(d, layer.bounds[d], accelerator, factors)) for d in DIMS}
    orders = {}
    for lv in ORDERED_LEVELS:
        dims = list(DIMS)
        rng.shuffle(dims)
        orders[lv] = canonical_order(dims)
    mapping = mapping_from_choice(choice, orders)
    return mapping.with_double_outputs(rng.choice(output_buffering_options(accelerator, mapping)))


def random_search(
    layer: Layer,
    accelerator: Accelerator,
    weights: ObjectiveWeights,
    seconds: float,
    seed: int = 0,
    max_samples: int | None = None,
    factors: Factors = Factors.UNEVEN,
) -> RandomSearchResult:
    rng = random.Random(seed)
    start = time.perf_counter()
    best: tuple[int, Mapping, LayerCost] | None = None
    samples = valid = 0
    while time.perf_counter() - start < seconds and (max_samples is None or samples < max_samples):
        if stop.requested():
            break
        mapping = sample_mapping(layer, accelerator, rng, factors)
        samples += 1
        cost = evaluate(layer, accelerator, mapping)
        if not cost.valid:
            continue
        valid += 1
        objective = cost.objective(weights)
        if best is None or objective < best[0]:
            best = (objective, mapping, cost)
    elapsed = time.perf_counter() - start
    if best is None:
        return RandomSearchResult(None, None, None, samples, valid, elapsed)
    return RandomSearchResult(best[1], best[2], best[0], samples, valid, elapsed)
