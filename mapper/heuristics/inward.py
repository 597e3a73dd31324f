"""A quick mapping without a solver: start from every loop at DRAM and move loops
inward, one greedy step at a time, while the cost model says it stays valid and
gets no worse.

Each step tries, for every dim and every divisor of what is left of it at DRAM,
moving that factor to one level (the PE rows, the PE cols, the GLB, the RF, in
that order of passes) and takes the best valid move; a pass ends when no move
improves the objective. About a hundred cost evaluations per layer: network
mode's fallback for a layer its time budget leaves unsolved
(``mapper.solve.candidates``).
"""

from __future__ import annotations

from mapper.core.mapping import Mapping, all_dram_mapping, divisors
from mapper.core.spec import DIMS, Accelerator, Layer, ObjectiveWeights
from mapper.cost.layer import evaluate

PASSES = ("ROW", "COL", "GLB", "RF")


def _moved(mapping: Mapping, dim: str, factor: int, level: str) -> Mapping:
    factors = {lv: dict(f) for lv, f in mapping.factors.items()}
    factors["DRAM"][dim] //= factor
    factors[level][dim] *= factor
    return Mapping(factors, mapping.orders)


def inward_mapping(layer: Layer, accelerator: Accelerator, weights: ObjectiveWeights) -> Mapping | None:
    """The greedy mapping above, or None when not even every loop at DRAM is valid."""
    mapping = all_dram_mapping(layer)
    cost = evaluate(layer, accelerator, mapping)
    if not cost.valid:
        return None
    best = cost.objective(weights)
    for level in PASSES:
        while True:
            moves = [_moved(mapping, d, f, level) for d in DIMS for f in divisors(mapping.factors["DRAM"][d]) if f > 1]
            scored = [(c.objective(weights), m) for m in moves if (c := evaluate(layer, accelerator, m)).valid]
            better = [(objective, m) for objective, m in scored if objective < best]
            if not better:
                break
            best, mapping = min(better, key=lambda pair: pair[0])
    return mapping
