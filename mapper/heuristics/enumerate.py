"""Enumeration of the fused mapping space (for brute force on tiny groups)."""

from __future__ import annotations

import itertools

from mapper.core.group import POLICIES, FusedGroup, FusedMapping, spatial_options, weight_words
from mapper.core.spec import Accelerator


def column_splits(layers: int, columns: int):
    """Every assignment of at least one PE column to each layer, sum <= columns."""
    for split in itertools.product(range(1, columns + 1), repeat=layers):
        if sum(split) <= columns:
            yield split


def enumerate_fused_mappings(group: FusedGroup, accelerator: Accelerator, policies=POLICIES):
    layers = group.layers
    options = [spatial_options(layer, accelerator.pe_rows, accelerator.pe_cols) for layer in layers]
    residencies = [(True, False) if weight_words(layer) else (True,) for layer in layers]
    for height in range(1, layers[-1].bounds["P"] + 1):
        for policy in policies:
            splits = (
                column_splits(len(layers), accelerator.pe_cols)
                if policy == "partitioned"
                else [(accelerator.pe_cols,) * len(layers)]
            )
            for columns in splits:
                for spatial in itertools.product(*options):
                    if any(fc > c for (_, fc), c in zip(spatial, columns, strict=True)):
                        continue
                    for resident in itertools.product(*residencies):
                        yield FusedMapping(height, policy, columns, spatial, resident)
