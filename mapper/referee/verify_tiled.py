"""Verify a fused answer on 2-D tiles (``mapper.core.tiled_group``): read its mapping,
check the rules of the space and every nest's layer rules, replay it
(``replay_tiled``: each nest replayed as a layer, then the group schedule, with the
functional executor when asked) and compare every claimed metric with the replay's
measurement. The latency is the replayed schedule's makespan."""

from __future__ import annotations

from mapper.core.enums import Overlap, WeightPolicy
from mapper.core.spec import Accelerator, Layer, ObjectiveWeights
from mapper.core.tiled_group import TiledMapping, nest_boxes, nest_layer
from mapper.referee.claims import Claims, layer_mapping
from mapper.referee.decode_tiled import replay_tiled
from mapper.referee.layer_replay import replayed
from mapper.referee.mapping_rules import layer_mapping_rules
from mapper.referee.metric_rows import metric_row, read_number
from mapper.referee.report import VerifyReport

MAPPING_FIELDS = ("tile", "overlap", "weights", "input_held", "output_held", "nests")


def tiled_mapping(claims: Claims, layers: tuple[Layer, ...]) -> TiledMapping:
    """``tile`` [rows, cols]; a policy per feature map and per layer; the held flags;
    ``nests``: each a layer of the group, its box extents and a layer mapping."""
    n, names = len(layers), [layer.name for layer in layers]
    claims.keys_exactly(MAPPING_FIELDS, "field")
    tile, overlap, weights = claims.items("tile", 2), claims.items("overlap", n), claims.items("weights", n)
    listed = claims.items("nests")
    nests = {}
    for i in range(len(listed)):
        nest = listed.sub(i)
        nest.keys_exactly(("layer", "rows", "cols", "mapping"), "field")
        key = (names.index(nest.choice("layer", names)), nest.positive("rows"), nest.positive("cols"))
        if key in nests:
            raise listed.error(i, f"a second nest for {key[1]} x {key[2]} boxes of {names[key[0]]}")
        nests[key] = layer_mapping(nest.sub("mapping"))
    return TiledMapping(
        tile.positive(0),
        tile.positive(1),
        tuple(Overlap(overlap.choice(k, [str(o) for o in Overlap])) for k in range(n)),
        tuple(WeightPolicy(weights.choice(k, [str(w) for w in WeightPolicy])) for k in range(n)),
        claims.flag("input_held"),
        claims.flag("output_held"),
        nests,
    )


def check_tiled(report, claims: Claims, weights: ObjectiveWeights, layers, accelerator, functional=False, seed=0):
    """The rows of a tiled fused answer at ``claims``."""
    mapping, path = tiled_mapping(claims.sub("mapping"), layers), claims.where("mapping")
    if not _rules(report, mapping, layers, accelerator, path):
        return
    measured = replayed(report, path, lambda: replay_tiled(layers, accelerator, mapping, functional, seed))
    if measured is None:
        return
    metrics = claims.sub("metrics")
    if functional:
        report.notes.append(f"functional: every output of {layers[-1].name} equals the reference (seed {seed})")
    report.notes.append(f"replayed the group schedule; makespan {measured.latency_cycles:,} cycles (the latency)")
    for key in ("latency_cycles", "dram_words", "energy_fj", "macs"):
        metric_row(report, metrics, key, getattr(measured, key))
    bits = accelerator.word_bits
    metric_row(
        report, metrics, "dram_bytes", measured.dram_words * bits // 8, name=f"dram_bytes = dram_words x {bits} / 8"
    )
    metric_row(report, metrics, "energy_pj", measured.energy_fj / 1000, read_number, "energy_pj = energy_fj / 1000")
    work = sum(layer.macs for layer in layers)
    metric_row(report, metrics, "recomputed_macs", measured.macs - work, name=f"recomputed_macs = macs - {work:,}")
    metric_row(
        report,
        metrics,
        "tiles",
        list(mapping.grid(layers).shape),
        lambda c, k: [c.items(k, 2).positive(i) for i in range(2)],
    )
    claimed = metrics.count("glb_words")
    report.check(
        "glb_peak_words <= glb_words",
        claimed,
        measured.peak_words,
        measured.peak_words <= claimed,
        metrics.where("glb_words"),
    )
    metric_row(
        report, metrics, "glb_words", measured.glb_words, name="glb_words = reserved GLB words at the fullest tile"
    )
    pes, latency = accelerator.num_pes, measured.latency_cycles
    metric_row(
        report,
        metrics,
        "utilisation",
        measured.macs / (pes * latency),
        read_number,
        f"utilisation = macs / ({pes} PEs x latency)",
    )
    objective = weights.of(latency, measured.dram_words, measured.energy_fj)
    report.check("objective", claims.count("objective"), objective, fields=claims.where("objective"))


def _rules(report: VerifyReport, mapping: TiledMapping, layers, accelerator: Accelerator, path: str) -> bool:
    """The rules of the space, one nest per box shape the grid makes (no more), each
    nest's layer rules."""
    problems = mapping.violations(layers)
    if not (mapping.input_held and mapping.output_held):  # what the search emits and the decoder replays
        problems.append("the group moves its input and output itself (input_held and output_held)")
    ok = report.check(
        "mapping: the rules of the tiled space", "; ".join(problems) or "kept", "kept", not problems, path
    )
    if not ok:
        return False
    needed, given = set(nest_boxes(layers, mapping)), set(mapping.nests)
    shown = sorted(needed), sorted(given)
    ok = report.check(
        "mapping.nests: one per box shape of the grid", shown[1], shown[0], needed == given, f"{path}.nests"
    )
    for index, key in enumerate(mapping.nests):  # in the result's order
        if key in needed:
            sub, nest = VerifyReport(), nest_layer(layers, mapping, key)
            ok &= layer_mapping_rules(sub, nest, accelerator, mapping.nests[key], f"{path}.nests[{index}].mapping")
            report.merge(sub, f"nest {layers[key[0]].name} {key[1]}x{key[2]}")
    return ok
