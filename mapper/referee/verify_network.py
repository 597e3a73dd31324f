"""Verify a network result's groups: they cover the network's layers once, in
order; each replays with the referee of its model; the totals follow from
the groups' verified metrics by their definitions."""

from __future__ import annotations

from mapper.core.errors import SpecError
from mapper.core.group import build_group
from mapper.referee.claims import Claims, weights_of
from mapper.referee.report import VerifyReport


def verify_groups(report: VerifyReport, claims: Claims, problem, check_layer, check_fused, functional, seed) -> None:
    """``check_layer`` and ``check_fused`` add the rows of one group (``mapper.referee.verify``)."""
    weights = weights_of(claims)
    mapping = claims.sub("mapping")
    mapping.keys_exactly(("groups",), "field")
    groups = mapping.items("groups")
    names, accelerator = list(problem.layer_names), problem.accelerator
    position = 0
    totals = {"latency_cycles": 0, "dram_words": 0, "macs": 0, "objective": 0, "fused_groups": 0}
    for i in range(len(groups)):
        group = groups.sub(i)
        listed = group.items("layers")
        layers = [listed.choice(j, names) for j in range(len(listed))]
        expected = names[position : position + max(1, len(layers))]
        label = "+".join(layers)
        if not report.check(f"{label}: the next layers of the network", layers, expected, fields=listed.path):
            return
        position += len(layers)
        model = group.choice("model", ("layer", "fused"))
        sub = VerifyReport()
        chain = tuple(problem.network.layers[name] for name in layers)
        if model == "layer":
            if report.check(f"{label}: the layer model maps one layer", len(layers), 1, fields=group.where("model")):
                check_layer(sub, group, weights, chain[0], accelerator, functional, seed)
        else:
            try:
                fused = build_group(chain)
            except SpecError as err:
                report.fail(f"{label}: a fusable chain", "fused", err.problem, group.where("model"))
                return
            report.check(f"{label}: a fusable chain", "fused", "fused", fields=group.where("model"))
            check_fused(sub, group, weights, fused, accelerator, functional, seed)
        report.merge(sub, label)
        metrics = group.sub("metrics")
        for key in ("latency_cycles", "dram_words", "macs"):
            totals[key] += metrics.count(key)
        totals["objective"] += group.count("objective")
        totals["fused_groups"] += len(layers) > 1
    report.check("the groups cover every layer once", names[:position], names, fields=groups.path)
    metrics = claims.sub("metrics")
    for key in ("latency_cycles", "dram_words", "macs"):
        report.check(f"total {key} = sum over groups", metrics.count(key), totals[key], fields=metrics.where(key))
    bits = accelerator.word_bits
    report.check(
        f"dram_bytes = dram_words x {bits} / 8",
        metrics.count("dram_bytes"),
        totals["dram_words"] * bits // 8,
        fields=metrics.where("dram_bytes"),
    )
    latency = totals["latency_cycles"]
    utilisation = totals["macs"] / (accelerator.num_pes * latency) if latency else None
    report.check(
        f"utilisation = macs / ({accelerator.num_pes} PEs x latency)",
        metrics.number("utilisation"),
        utilisation,
        fields=metrics.where("utilisation"),
    )
    report.check("groups", metrics.count("groups"), len(groups), fields=metrics.where("groups"))
    report.check(
        "fused_groups", metrics.count("fused_groups"), totals["fused_groups"], fields=metrics.where("fused_groups")
    )
    report.check("objective = sum over groups", claims.count("objective"), totals["objective"], fields="objective")
