"""Infeasibility in user terms: the smallest legal tiles against the buffers."""

from __future__ import annotations

import itertools

from mapper.core.enums import Policy
from mapper.core.group import POLICIES, weight_words
from mapper.core.mapping import all_dram_mapping
from mapper.core.spec import Accelerator, Layer
from mapper.core.stripes import StripeSchedule
from mapper.cost.fused import glb_budget
from mapper.cost.layer import evaluate, resident_words


def minimum_buffer_words(layer: Layer, accelerator: Accelerator) -> dict[str, dict[str, int]]:
    """Words each buffer needs for the smallest legal mapping, the all-DRAM one
    (every dim extent 1 below the DRAM: a single MAC's operands, each input tile
    doubled where the level is double-buffered and the tile is refilled). Per tensor, plus 'total'."""
    cost = evaluate(layer, accelerator, all_dram_mapping(layer))
    needs = {}
    for level, visits in (("GLB", "DRAM"), ("RF", "RF")):
        per_tensor = resident_words(accelerator.levels[level], cost.tile_words[level], cost.visits[visits])
        per_tensor["total"] = sum(per_tensor.values())
        needs[level] = per_tensor
    return needs


def explain_infeasible(layer: Layer, accelerator: Accelerator) -> str:
    """One sentence naming the binding buffer and the size that would fit, or
    a generic statement when no single buffer is too small."""
    needs = minimum_buffer_words(layer, accelerator)
    for level, per_tensor in needs.items():
        capacity = accelerator.levels[level].capacity_words
        where = "per PE " if level == "RF" else ""
        if isinstance(capacity, dict):
            for tensor, cap in capacity.items():
                if tensor in per_tensor and per_tensor[tensor] > cap:
                    return (
                        f"the smallest legal {tensor} tile of {layer.name} needs {per_tensor[tensor]:,} {level} "
                        f"words {where}; the {level} has {cap:,} for {tensor}: raise it to {per_tensor[tensor]:,}"
                    )
        elif per_tensor["total"] > capacity:
            return (
                f"the smallest legal tiles of {layer.name} need {per_tensor['total']:,} {level} words {where}"
                f"(W+I+O); the {level} has {capacity:,}: raise it to {per_tensor['total']:,}"
            )
    return f"no mapping of {layer.name} satisfies the buffer and PE-array constraints together"


def smallest_fused_glb(group, policies=POLICIES) -> tuple[int, int, str]:
    """(GLB words, stripe height, policy) of the fused mapping needing the least
    GLB, over every stripe height, the given policies and weight residency."""
    residencies = [(True, False) if weight_words(layer) else (True,) for layer in group.layers]
    best = None
    for height in range(1, group.layers[-1].bounds["P"] + 1):
        schedule = StripeSchedule(group.layers, height)
        for policy in policies:
            for resident in itertools.product(*residencies):
                words = glb_budget(group, schedule, policy, resident).total
                if best is None or words < best[0]:
                    best = (words, height, policy)
    return best


def explain_fused_infeasible(group, accelerator, policy: str | None = None) -> str:
    """Name the binding constraint: PE columns for a pinned partition, else the
    GLB shortfall of the smallest legal stripe."""
    names = "+".join(group.names)
    if policy == Policy.PARTITIONED and len(group.layers) > accelerator.pe_cols:
        return (
            f"partitioning the PE array gives each of the {len(group.layers)} layers of {names} at least one "
            f"column, but the array has {accelerator.pe_cols}: use time_shared or fuse fewer layers"
        )
    capacity = accelerator.levels["GLB"].capacity_words_total
    words, height, policy = smallest_fused_glb(group, (policy,) if policy else POLICIES)
    if words > capacity:
        return (
            f"the smallest legal stripe of {names} ({height} output rows, {policy.replace('_', '-')}) needs "
            f"{words:,} GLB words; the GLB has {capacity:,}: raise it to {words:,} or fuse fewer layers"
        )
    return f"no fused mapping of {names} satisfies the PE-array and GLB constraints together"
