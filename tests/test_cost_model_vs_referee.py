"""Two independent computations of the same counts: the cost model's closed
forms against the referee's explicit replay, on random valid mappings (not
only solver answers) of random small layers."""

from __future__ import annotations

import random

from test_layer_formulation import random_case

from mapper.core.spec import ObjectiveWeights
from mapper.cost.layer import evaluate
from mapper.heuristics.random_search import sample_mapping
from mapper.referee.verify import verify_layer_result

WEIGHTS = ObjectiveWeights(2, 1, 1)


def claimed_result(mapping, cost, accelerator, weights) -> dict:
    """A layer result (its JSON fields) claiming the cost model's numbers for ``mapping``."""
    return {
        "mapping": mapping.to_dict(),
        "metrics": cost.metrics(accelerator),
        "objective": cost.objective(weights),
        "weights": weights.__dict__,
    }


def random_valid_mappings(seed: int, count: int):
    rng = random.Random(seed)
    layer, accelerator, _ = random_case(rng)
    found = 0
    for _ in range(2000):
        mapping = sample_mapping(layer, accelerator, rng)
        cost = evaluate(layer, accelerator, mapping)
        if cost.valid:
            yield layer, accelerator, mapping, cost
            found += 1
            if found == count:
                return


def test_random_mappings_replay_to_the_modelled_counts():
    checked = 0
    for seed in range(40):
        for layer, accelerator, mapping, cost in random_valid_mappings(seed, 4):
            result = claimed_result(mapping, cost, accelerator, WEIGHTS)
            report = verify_layer_result(result, layer, accelerator, functional=True)
            assert report.violation is None, f"{mapping}: {report.violation}"
            assert {"latency_cycles", "energy_fj", "objective"} <= {c[0] for c in report.checks}
            checked += 1
    assert checked >= 100  # random accelerators that admit no mapping contribute none
