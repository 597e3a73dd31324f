"""Rules a mapping must keep before it is decoded: the facts of the mapping
space (docs/mapping_space.md, docs/fusion.md) that the schedule's replay
cannot see, each one row of the report. A mapping that breaks one is not
replayed."""

from __future__ import annotations

from math import prod

from mapper.core.group import FusedGroup, FusedMapping, spatial_options, weight_words
from mapper.core.mapping import DOUBLE_OUTPUT_LEVELS, Mapping
from mapper.core.spec import DIMS, LOOP_LEVELS, Accelerator, Layer
from mapper.referee.report import VerifyReport, join


def layer_mapping_rules(report: VerifyReport, layer: Layer, accelerator: Accelerator, mapping: Mapping, path: str):
    """Each dim's factors multiply to its bound or split a channel dim unevenly at the array
    (``Mapping.factor_violations``); the ROW and COL unrollings fit the array; a double-buffered
    output tile only in a double-buffered RF (the decoder's only such level)."""
    factors = join(path, "factors")
    products = {d: prod(mapping.factors[lv][d] for lv in LOOP_LEVELS) for d in DIMS}
    problems = mapping.factor_violations(layer.bounds)
    ok = report.check(
        "mapping.factors cover the layer's bounds (divisors, or an uneven split of a channel dim)",
        products,
        "; ".join(problems) or dict(layer.bounds),
        not problems,
        factors,
    )
    for level in ("ROW", "COL"):
        used, limit = prod(mapping.factors[level].values()), accelerator.spatial_limit(level)
        ok &= report.check(
            f"mapping.factors.{level} unroll <= {limit} PEs", used, limit, used <= limit, join(factors, level)
        )
    allowed = [level for level in DOUBLE_OUTPUT_LEVELS if accelerator.levels[level].double_buffered]
    double = list(mapping.double_outputs)
    ok &= report.check(
        f"mapping.double_outputs within {allowed}",
        double,
        allowed,
        set(double) <= set(allowed),
        join(path, "double_outputs"),
    )
    return ok


def fused_mapping_rules(
    report: VerifyReport, group: FusedGroup, accelerator: Accelerator, mapping: FusedMapping, path: str
) -> bool:
    """The stripe fits the output; columns: all of the array's per layer when
    time-shared, at most the array's in total when partitioned (each layer's
    unrolling within its own); each unrolling a legal choice; a layer without
    weights is resident (it has nothing to stream)."""
    layers, cols = group.layers, accelerator.pe_cols
    out_rows = layers[-1].bounds["P"]
    ok = report.check(
        f"mapping.stripe_rows <= {out_rows} output rows",
        mapping.stripe_rows,
        out_rows,
        mapping.stripe_rows <= out_rows,
        join(path, "stripe_rows"),
    )
    columns = list(mapping.columns)
    if mapping.policy == "time_shared":
        ok &= report.check(
            "mapping.columns: the whole array per layer (time-shared)",
            columns,
            [cols] * len(layers),
            fields=join(path, "columns"),
        )
    else:
        ok &= report.check(
            f"mapping.columns sum <= {cols}", sum(columns), cols, sum(columns) <= cols, join(path, "columns")
        )
    legal = [
        tuple(pair) in spatial_options(layer, accelerator.pe_rows, min(cols, width))
        for layer, pair, width in zip(layers, mapping.spatial, columns, strict=True)
    ]
    ok &= report.check(
        "mapping.spatial: legal unrollings within each layer's columns",
        [list(p) for p in mapping.spatial],
        "legal" if all(legal) else f"illegal for layers {[i for i, x in enumerate(legal) if not x]}",
        all(legal),
        join(path, "spatial"),
    )
    weightless = [mapping.resident[k] for k, layer in enumerate(layers) if not weight_words(layer)]
    ok &= report.check(
        "mapping.resident: layers without weights are resident",
        weightless,
        [True] * len(weightless),
        fields=join(path, "resident"),
    )
    return ok
