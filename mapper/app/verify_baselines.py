"""The ``details`` of layer, fused and task-graph results: what the answer is
compared with, recomputed here (the app may solve; the referee may not).

* fused ``baseline_layer_by_layer``: each layer alone is re-solved with the
  result's solver settings (``mapper.solve.api.layer_by_layer``); each row's
  mapping is replayed by the referee, so its latency, DRAM words and
  objective are measured; the re-solve gives the optimum, the proof and the
  bound; the totals are the rows' sums; ``reduction`` = 1 - fused / baseline
  on the verified metrics;
* ``regret`` (pinned problems): the free problem is re-solved;
* task-graph ``heuristics``: the heuristics are re-run (they are
  deterministic) and their schedules replayed by the referee.
"""

from __future__ import annotations

from dataclasses import replace
from functools import partial

from mapper.app.task_graphs import task_graph_of
from mapper.app.verify_claims import recomputed
from mapper.app.verify_pins import check_layer_pins, check_task_pins
from mapper.core.enums import Mode, Status
from mapper.core.group import build_group
from mapper.core.problem import Problem
from mapper.core.spec import SolverSettings
from mapper.core.taskgraph import origin_box, tile_key
from mapper.heuristics.heft import heft, layer_by_layer
from mapper.io.limits import MAX_SECONDS, MAX_SEED, MAX_WORKERS
from mapper.referee.claims import Claims, fused_mapping
from mapper.referee.mapping_rules import fused_mapping_rules
from mapper.referee.report import VerifyReport
from mapper.referee.simulator import ScheduleViolation
from mapper.referee.tile_durations import FIELD, stated_durations
from mapper.referee.verify import replay_fused
from mapper.referee.verify_taskgraph import replay_tasks, schedule_value
from mapper.solve.api import SOLVERS
from mapper.solve.api import layer_by_layer as fused_layer_by_layer
from mapper.solve.regret import regret_record
from mapper.solve.task_durations import SolvedDurations
from mapper.solve.taskgraph import memory_cap, smallest_memheft_cap

_SOLVED: dict = {}  # (what, problem, settings) -> re-solve; one verify per problem and settings solves once


def resolved(what: str, problem: Problem, settings: SolverSettings, solve):
    key = (what, repr(problem), settings)
    if key not in _SOLVED:
        _SOLVED[key] = solve()
    return _SOLVED[key]


def resolve_settings(claims: Claims, problem: Problem) -> SolverSettings:
    """The settings the result was solved with (``solver``), to re-solve its baselines alike."""
    solver = claims.sub("solver")
    workers, seed, limit = solver.positive("workers"), solver.count("seed"), solver.number("time_limit_s")
    for key, value, high in (
        ("workers", workers, MAX_WORKERS),
        ("seed", seed, MAX_SEED),
        ("time_limit_s", limit, MAX_SECONDS),
    ):
        if value > high or (key == "time_limit_s" and value <= 0):
            raise solver.error(key, f"{value} is outside the solver's range (at most {high})")
    return replace(problem.solver, time_limit_s=limit, workers=workers, seed=seed)


def not_reproducible(settings: SolverSettings) -> str:
    return f"CP-SAT with {settings.workers} workers need not find the same one of equal optima"


def check_regret(report: VerifyReport, claims: Claims, problem: Problem, settings: SolverSettings) -> None:
    """``details.regret`` of a pinned problem: the free problem re-solved."""
    details = claims.sub("details")
    if not details.has("regret"):
        return
    free = resolved("free", problem, settings, lambda: SOLVERS[problem.mode](replace(problem, pins=None), settings))
    regret = details.sub("regret")
    makespan = claims.sub("metrics").count("makespan") if problem.mode == Mode.TASKGRAPH else None
    expected = regret_record(problem, claims.count("objective"), claims.flag("proven_optimal"), free, makespan)
    regret.keys_exactly(expected, "regret")
    exact = settings.workers == 1 or free.proven_optimal
    for key, value in expected.items():
        recomputed(
            report, f"regret.{key} (free problem re-solved)", regret, key, value, exact, not_reproducible(settings)
        )


def baseline_missing(report: VerifyReport, claims: Claims, base: dict, exact: bool, why: str) -> bool:
    """Whether the layer-by-layer baseline is infeasible (stated, or re-solved ``base``):
    then its failing layer and status are checked, and no reduction may be stated."""
    details = claims.sub("details")
    baseline = details.sub("baseline_layer_by_layer")
    recomputed(report, "baseline feasible (re-solved)", baseline, "feasible", base["feasible"])
    if base["feasible"] and baseline.flag("feasible"):
        return False
    if not baseline.flag("feasible"):
        baseline.keys_exactly(("feasible", "layer", "status"), "field")
    for key in ("layer", "status"):
        recomputed(report, f"baseline {key} (re-solved)", baseline, key, base.get(key), exact, why)
    report.check("no reduction without a baseline", details.has("reduction"), False, fields="details")
    return True


def check_row_resolved(report: VerifyReport, name: str, row: Claims, again: dict, exact: bool, why: str) -> None:
    """A baseline row's objective, proof and mapping against the layer re-solved (``again``)."""
    for key, label in (("objective", "objective = the re-solved optimum"), ("proven_optimal", "proven_optimal")):
        tolerant = exact or (key == "objective" and again["proven_optimal"])
        recomputed(report, f"baseline {name}: {label} (re-solved)", row, key, again[key], tolerant, why)
    recomputed(report, f"baseline {name}: mapping (re-solved)", row, "mapping", again["mapping"], exact, why)


def check_baseline_sums(
    report: VerifyReport, claims: Claims, base: dict, totals: dict, layers: int, bound_exact: bool, why: str
) -> None:
    """A layer-by-layer baseline's totals (the rows' sums ``totals``), its bound against the
    re-solve ``base``, its proof (every row's), and ``reduction`` = 1 - ours / baseline's."""
    details = claims.sub("details")
    baseline = details.sub("baseline_layer_by_layer")
    for key, value in totals.items():
        report.check(f"baseline {key} = sum over its layers", baseline.count(key), value, fields=baseline.where(key))
    recomputed(report, "baseline bound (re-solved)", baseline, "bound", base["bound"], bound_exact, why)
    rows = baseline.items("layers", layers)
    proven = all(rows.sub(k).flag("proven_optimal") for k in range(layers))
    report.check(
        "baseline proven_optimal = every layer's",
        baseline.flag("proven_optimal"),
        proven,
        fields=baseline.where("proven_optimal"),
    )
    reduction, metrics = details.sub("reduction"), claims.sub("metrics")
    reduction.keys_exactly(totals, "reduction")
    for key in totals:
        ours = claims.count("objective") if key == "objective" else metrics.count(key)
        stated = baseline.count(key)
        expected = 1 - ours / stated if stated else None
        claimed = reduction.number(key, signed=True) if reduction.raw(key) is not None else None
        report.check(f"reduction.{key} = 1 - {key} / baseline's", claimed, expected, fields=reduction.where(key))


def check_fused_details(report: VerifyReport, claims: Claims, problem: Problem) -> None:
    settings = resolve_settings(claims, problem)
    exact, why = settings.workers == 1, not_reproducible(settings)
    base = resolved("layer_by_layer", problem, settings, lambda: fused_layer_by_layer(problem, settings))
    if baseline_missing(report, claims, base, exact, why):
        check_regret(report, claims, problem, settings)
        return
    details = claims.sub("details")
    baseline = details.sub("baseline_layer_by_layer")
    accelerator, weights = problem.accelerator, problem.objective
    rows = baseline.items("layers", len(problem.layers))
    totals = {"latency_cycles": 0, "dram_words": 0, "objective": 0}
    for k, layer in enumerate(problem.layers):
        row, again = rows.sub(k), base["layers"][k]
        row.keys_exactly(again, "field")
        report.check(f"baseline {layer.name}: layer", row.text("layer"), layer.name, fields=row.where("layer"))
        group = build_group((layer,))
        mapping = fused_mapping(row.sub("mapping"), group)
        sub = VerifyReport()
        if fused_mapping_rules(sub, group, accelerator, mapping, row.where("mapping")):
            try:
                replayed = replay_fused(group, accelerator, mapping)
            except ScheduleViolation as err:
                sub.fail("mapping: the schedule replays without violation", "valid", str(err), row.where("mapping"))
            else:
                sub.check(
                    "mapping: the schedule replays without violation", "valid", "valid", fields=row.where("mapping")
                )
                measured = {"latency_cycles": replayed.latency, "dram_words": replayed.measured.dram_words}
                measured["objective"] = weights.of(measured["latency_cycles"], measured["dram_words"])
                for key, value in measured.items():
                    sub.check(f"{key} (replayed)", row.count(key), value, fields=row.where(key))
                    totals[key] += row.count(key)
        report.merge(sub, f"baseline {layer.name}")
        check_row_resolved(report, layer.name, row, again, exact, why)
    check_baseline_sums(report, claims, base, totals, len(problem.layers), exact or base["proven_optimal"], why)
    check_regret(report, claims, problem, settings)


def check_layer_details(report: VerifyReport, claims: Claims, problem: Problem) -> None:
    details = claims.sub("details")
    details.keys_exactly(("regret",) if details.has("regret") else (), "detail")
    report.check(
        "details: a regret exactly when the problem pins decisions",
        details.has("regret"),
        bool(problem.pins),
        fields="details",
    )
    check_layer_pins(report, claims, problem)
    if details.has("regret"):
        check_regret(report, claims, problem, resolve_settings(claims, problem))


def check_taskgraph_details(report: VerifyReport, claims: Claims, problem: Problem) -> None:
    """Task and edge counts of the graph; the tile durations (``check_tile_durations``);
    each heuristic re-run and its schedule replayed."""
    group, graph, platform = task_graph_of(problem, claims)
    spec, details = problem.taskgraph, claims.sub("details")
    optional = ((FIELD,) if problem.accelerator else ()) + (("regret",) if problem.pins else ())
    details.keys_exactly(("tasks", "edges", "heuristics", *optional), "detail")
    check_tile_durations(report, claims, problem, graph, resolve_settings(claims, problem))
    check_task_pins(report, claims, problem, graph)
    check_regret(report, claims, problem, resolve_settings(claims, problem))
    report.check("details.tasks = the graph's", details.count("tasks"), len(graph.tasks), fields="details.tasks")
    report.check("details.edges = the graph's", details.count("edges"), len(graph.edges), fields="details.edges")
    cap = memory_cap(spec)
    runs = [("HEFT", heft(graph), None), ("layer-by-layer", layer_by_layer(graph), None)]
    peaks = [replay_tasks(group, graph, platform, s, bounded=False).peak_words.get("GLB", 0) for _, s, _ in runs]
    found = smallest_memheft_cap(graph, cap if cap is not None else max(peaks))
    if found is not None:
        runs.append(("memory-aware HEFT", found[1], found[0]))
    bound = claims.optional(claims.count, "bound")
    best = claims.sub("metrics").count("makespan")
    expected = []
    for method, schedule, heuristic_cap in runs:
        try:
            measured = replay_tasks(group, graph, platform, schedule, bounded=False)
        except ScheduleViolation as err:
            report.fail(f"{method}: its schedule replays", "valid", str(err), "details.heuristics")
            return
        makespan, peak = measured.makespan, measured.peak_words.get("GLB", 0)
        value = schedule_value(spec.objective, makespan, peak, spec.makespan_weight, spec.memory_weight)
        gap = None if bound is None else (value - bound) / max(1, value)
        if spec.objective == "lexicographic" and makespan > best:
            gap = None  # memory compares only at the optimal makespan
        expected.append(
            {
                "method": method,
                "makespan": makespan,
                "peak_memory_words": peak,
                "objective": value,
                "gap_to_bound": gap,
                "within_memory": cap is None or peak <= cap,
                "cap": heuristic_cap,
            }
        )
    heuristics = details.items("heuristics")
    if not report.check("heuristics: the methods re-run", len(heuristics), len(expected), fields="details.heuristics"):
        return
    for i, row in enumerate(expected):
        entry = heuristics.sub(i)
        entry.keys_exactly(row, "field")
        for key, value in row.items():
            recomputed(report, f"{row['method']}: {key} (re-run, replayed)", entry, key, value)


def check_tile_durations(report: VerifyReport, claims: Claims, problem: Problem, graph, settings) -> None:
    """The stated tiles are the graph's, one per task tile and cluster shape; and each
    tile re-solved with the result's settings gives its stated status, and where
    both are OPTIMAL, its stated latency (the least one)."""
    if problem.accelerator is None:
        return
    details = claims.sub("details")
    tiles = details.items(FIELD)
    layers = problem.layers_by_name
    stated = stated_durations(details, layers)
    needed = {
        tile_key(graph.layer_of[task], graph.work[task], cluster)
        for task in graph.tasks
        for cluster in problem.taskgraph.platform.clusters
    }
    name = f"{FIELD}: the task tiles on the cluster shapes, each once"
    report.check(name, sorted(map(str, stated.cycles)), sorted(map(str, needed)), fields=tiles.path)
    solver = SolvedDurations(problem.accelerator, settings, problem.source)
    for i, (key, cycles) in enumerate(stated.cycles.items()):
        layer, extents, cluster = key
        work = origin_box(extents)
        again = resolved(f"tile {key}", problem, settings, partial(solver.solve_tile, layers[layer], work, cluster))
        status = tiles.sub(i).text("status")
        report.check(f"{FIELD}[{i}]: status (re-solved)", status, again.status, fields=tiles.where(i) + ".status")
        if status == again.status == Status.OPTIMAL:
            report.check(f"{FIELD}[{i}]: the least latency (re-solved)", cycles, again.latency_cycles)
