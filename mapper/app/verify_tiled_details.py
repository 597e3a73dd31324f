"""The ``details`` of a fused result on 2-D tiles, recomputed (``mapper.solve.fused_tiled``):

* ``tile_space``: the problem's tiled space;
* ``search``: how the search ended, which the status must agree with (its counts are
  facts of the run);
* ``baseline_layer_by_layer``: each layer alone is re-solved in layer mode with the
  result's solver settings; each row's mapping is replayed by the referee (its
  latency, DRAM words, energy and objective measured); the re-solve gives the
  optimum, the proof and the bound; totals are the rows' sums;
* ``reduction`` = 1 - fused / baseline on the verified metrics;
* pins: each pinned decision holds in the mapping, and ``regret`` against the free
  problem re-solved (``verify_baselines.check_regret``).
"""

from __future__ import annotations

from mapper.app.verify_baselines import (
    baseline_missing,
    check_baseline_sums,
    check_regret,
    check_row_resolved,
    not_reproducible,
    resolve_settings,
    resolved,
)
from mapper.app.verify_claims import recomputed
from mapper.app.verify_pins import check_tiled_pins
from mapper.core.enums import Status
from mapper.core.problem import Problem
from mapper.referee.claims import Claims, layer_mapping
from mapper.referee.layer_replay import replay_layer, replayed
from mapper.referee.mapping_rules import layer_mapping_rules
from mapper.referee.report import VerifyReport
from mapper.solve.fused_tiled import BASELINE_TOTALS, layer_by_layer_alone

RUN_FACTS = "a count of the search's effort, not a fact about the answer"


def check_tiled_details(report: VerifyReport, claims: Claims, problem: Problem) -> None:
    """The details of a tiled answer (a result with a mapping; module docstring)."""
    details = claims.sub("details")
    reduction = ("reduction",) if details.has("reduction") else ()  # none when layer-by-layer is infeasible
    regret = ("regret",) if problem.pins else ()
    details.keys_exactly(("tile_space", "search", "baseline_layer_by_layer", *reduction, *regret), "detail")
    recomputed(report, "details.tile_space = the problem's", details, "tile_space", problem.tiles.to_dict())
    mapping, space = claims.sub("mapping"), problem.tiles
    tile = [mapping.items("tile", 2).positive(i) for i in range(2)]
    inside = (
        tuple(tile) in space.sizes
        and all(o in space.overlaps for o in mapping.raw("overlap"))
        and all(w in space.weights for w in mapping.raw("weights"))
    )
    report.check(
        "mapping: tile size and policies within details.tile_space", inside, True, fields=mapping.where("tile")
    )
    search = details.sub("search")
    search.keys_exactly(("configurations_solved", "nest_solves", "ended_by"), "search fact")
    for key in ("configurations_solved", "nest_solves"):
        search.count(key)
        report.unchecked(search.where(key), search.raw(key), RUN_FACTS)
    ended = search.text("ended_by")
    proven = claims.text("status") == Status.OPTIMAL
    report.check(
        "search.ended_by: the bound exactly when proven", ended == "bound", proven, fields=search.where("ended_by")
    )
    _check_baseline(report, claims, problem)
    check_tiled_pins(report, claims, problem)
    check_regret(report, claims, problem, resolve_settings(claims, problem))


def _check_baseline(report: VerifyReport, claims: Claims, problem: Problem) -> None:
    settings = resolve_settings(claims, problem)
    exact, why = settings.workers == 1, not_reproducible(settings)
    base = resolved("layer_by_layer_alone", problem, settings, lambda: layer_by_layer_alone(problem, settings))
    if baseline_missing(report, claims, base, exact, why):
        return
    baseline = claims.sub("details").sub("baseline_layer_by_layer")
    rows = baseline.items("layers", len(problem.layers))
    totals = dict.fromkeys(BASELINE_TOTALS, 0)
    for k, layer in enumerate(problem.layers):
        row, again = rows.sub(k), base["layers"][k]
        row.keys_exactly(again, "field")
        report.check(f"baseline {layer.name}: layer", row.text("layer"), layer.name, fields=row.where("layer"))
        report.merge(_replayed_row(row, layer, problem), f"baseline {layer.name}")
        for key in totals:
            totals[key] += row.count(key)
        check_row_resolved(report, layer.name, row, again, exact, why)
    check_baseline_sums(report, claims, base, totals, len(problem.layers), exact or base["proven_optimal"], why)


def _replayed_row(row: Claims, layer, problem: Problem) -> VerifyReport:
    """A baseline row's mapping replayed as the layer alone: its latency (the makespan),
    DRAM words, energy and objective measured."""
    sub, path, accelerator = VerifyReport(), row.where("mapping"), problem.accelerator
    mapping = layer_mapping(row.sub("mapping"))
    if not layer_mapping_rules(sub, layer, accelerator, mapping, path):
        return sub
    run = replayed(sub, path, lambda: replay_layer(layer, accelerator, mapping))
    if run is not None:
        measured = {"latency_cycles": run.latency, "dram_words": run.measured.dram_words, "energy_fj": run.energy}
        measured["objective"] = problem.objective.of(*measured.values())
        for key, value in measured.items():
            sub.check(f"{key} (replayed)", row.count(key), value, fields=row.where(key))
    return sub
