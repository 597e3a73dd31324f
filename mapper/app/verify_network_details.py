"""The ``details`` of a network result, and the facts of its envelope that
follow from them.

The candidate groups are re-solved with the result's solver settings
(``mapper.solve.candidate_search.solve_candidates``); each claimed candidate must
equal its re-solve (status, objective, bound, proof, model, metrics, reuse,
note; the wall time is not a claim). Everything else follows from the
claimed candidates by its definition: the objective and bound are the best
partitions over the candidates' objectives and bounds, the status says
whether they meet, each chosen group is its candidate's answer, the
baselines and the reduction are sums and ratios over candidates, the search
counts are counts of candidates; the compulsory limits are recomputed from
the problem; the time budget is the run's (`details.search.time_budget_s`).
With more than one worker (or a time budget) a re-solve need
not repeat the run; a differing candidate that is not proven optimal on both
sides is then listed as unchecked.
"""

from __future__ import annotations

from dataclasses import replace

from mapper.app.verify_baselines import resolve_settings, resolved
from mapper.app.verify_claims import WALL_TIME, check_proof_facts, conform, recomputed
from mapper.core.enums import Status
from mapper.core.problem import PartitionSearch, Problem
from mapper.cost.limits import compulsory_limits, consumers_of
from mapper.io.limits import MAX_SECONDS
from mapper.referee.claims import Claims, shown
from mapper.referee.report import VerifyReport
from mapper.solve.candidate_search import solve_candidates
from mapper.solve.candidates import FALLBACK, SKIPPED
from mapper.solve.network import allowed_runs
from mapper.solve.partition import best_partition, greedy_partition

DETAILS = ("search", "candidates", "compulsory", "baselines", "reduction_vs_layer_by_layer", "regret")


def _candidates(report: VerifyReport, claimed: Claims, candidates, answers, problem, exact: bool, why: str):
    """Rows of every claimed candidate against its re-solve; returns the claimed entries by run."""
    weights, entries = problem.objective, {}
    for i, candidate in enumerate(candidates):
        entry, again = claimed.sub(i), answers[candidate.run].to_dict() | {"mapping": None}
        entry.keys_exactly(again, "field")
        label = f"candidate {'+'.join(candidate.names)}"
        recomputed(report, f"{label}: layers", entry, "layers", again["layers"])
        check_proof_facts(report, entry, f"{label}: ", (SKIPPED,), gap=False)
        proven = again["proven_optimal"]
        for key in ("status", "objective", "bound", "proven_optimal"):
            recomputed(report, f"{label}: {key} (re-solved)", entry, key, again[key], exact or proven, why)
        entry.text("model"), entry.optional(entry.text, "note")  # their form; a re-solve may take another path
        entry.optional(entry.items, "reused_from")
        for key in ("model", "reused_from", "note"):
            recomputed(report, f"{label}: {key} (re-solved)", entry, key, again[key], exact, why, shape=False)
        _metrics_row(report, label, entry, again["metrics"], exact, why)
        recomputed(report, f"{label}: mapping not kept", entry, "mapping", None)
        report.unchecked(entry.where("seconds"), entry.number("seconds"), WALL_TIME)
        objective, metrics = entry.raw("objective"), entry.sub("metrics")
        if objective is not None:
            terms = [metrics.count("latency_cycles"), metrics.count("dram_words")]
            terms.append(metrics.count("energy_fj") if metrics.has("energy_fj") else 0)
            report.check(
                f"{label}: objective = weighted metrics", objective, weights.of(*terms), fields=entry.where("objective")
            )
        entries[candidate.run] = entry
    return entries


def _numbers(claims: Claims) -> None:
    """Refuse (``SpecError``) anything but objects of finite non-negative numbers."""
    if not isinstance(claims.data, dict):
        raise claims.error(None, f"must be an object, got {shown(claims.data)}")
    for key, value in claims.data.items():
        if isinstance(value, dict):
            _numbers(claims.sub(key))
        else:
            claims.number(key)


def _metrics_row(report: VerifyReport, label: str, entry: Claims, again: dict, exact: bool, why: str) -> None:
    """A candidate's metrics against its re-solve's. A re-solve that need not repeat the
    run may have answered with the other model, or not at all (other fields): the
    claimed metrics must then be numbers, and are listed as unchecked."""
    claimed = entry.raw("metrics")
    if exact or not isinstance(claimed, dict) or set(claimed) == set(again):
        recomputed(report, f"{label}: metrics (re-solved)", entry, "metrics", again, exact, why)
        return
    _numbers(entry.sub("metrics"))
    report.unchecked(entry.where("metrics"), claimed, f"differs from the re-solve ({shown(again)}): {why}")


def _summary(runs, entries, lower) -> dict:
    """A partition's totals over the claimed candidates, with its gap to ``lower``."""
    chosen = [entries[run] for run in runs]
    objective = sum(e.raw("objective") for e in chosen)
    return {
        "groups": [list(e.raw("layers")) for e in chosen],
        "objective": objective,
        "latency_cycles": sum(e.sub("metrics").count("latency_cycles") for e in chosen),
        "dram_words": sum(e.sub("metrics").count("dram_words") for e in chosen),
        "proven_optimal_groups": all(e.raw("proven_optimal") for e in chosen),
        "gap_to_bound": None if lower is None else (objective - lower) / max(1, objective),
    }


def _rows(report: VerifyReport, claims: Claims, expected: dict, label: str) -> None:
    claims.keys_exactly(expected, "field")
    for key, value in expected.items():
        recomputed(report, f"{label}.{key}", claims, key, value)


RUN_BUDGET = (
    "a setting of the run (the command line's --time-limit may set it); verify re-solves the candidates with it"
)


def run_search(report: VerifyReport, claims: Claims, problem: Problem) -> PartitionSearch:
    """The problem's search with the budget the run had (``details.search.time_budget_s``)."""
    searched = claims.sub("details").sub("search")
    budget = searched.optional(searched.number, "time_budget_s")
    if budget is not None and not 0 < budget <= MAX_SECONDS:
        raise searched.error("time_budget_s", f"{budget} is outside the solver's range (at most {MAX_SECONDS})")
    report.unchecked(searched.where("time_budget_s"), budget, RUN_BUDGET)
    return replace(problem.partition or PartitionSearch(), time_budget_s=budget)


def check_network_details(report: VerifyReport, claims: Claims, problem: Problem) -> None:
    settings = resolve_settings(claims, problem)
    search = run_search(report, claims, problem)
    # Every candidate is solved with one CP-SAT worker whatever ``workers`` (they only say how many
    # at once: mapper.solve.candidate_search), so the re-solve repeats the run unless a budget binds.
    exact = search.time_budget_s is None
    why = "a time budget depends on the wall clock"
    candidates, answers, _ = resolved("network", problem, settings, lambda: solve_candidates(problem, settings, search))
    details = claims.sub("details")
    for key in details.data:
        if key not in DETAILS:
            raise details.error(key, "unknown detail")
    claimed = details.items("candidates")
    if not report.check(
        "candidates: the runs the search considers", len(claimed), len(candidates), fields="details.candidates"
    ):
        return
    entries = _candidates(report, claimed, candidates, answers, problem, exact, why)
    values = {run: e.raw("objective") for run, e in entries.items() if e.raw("objective") is not None}
    bounds = {run: e.raw("bound") for run, e in entries.items() if e.raw("bound") is not None}
    n, names = len(problem.layers), problem.layer_names
    runs = allowed_runs(entries, problem.pins, names)
    best = best_partition(n, {r: v for r, v in values.items() if r in runs})
    lower = best_partition(n, {r: b for r, b in bounds.items() if r in runs})
    lowest = lower[0] if lower else None
    report.check(
        "objective = the best partition over the candidates",
        claims.raw("objective"),
        best[0] if best else None,
        fields="objective",
    )
    report.check("bound = the best partition over the candidates' bounds", claims.raw("bound"), lowest, fields="bound")
    status = "INFEASIBLE" if best is None else ("OPTIMAL" if lower and best[0] == lower[0] else "FEASIBLE")
    report.check("status: OPTIMAL when the two partitions meet", claims.raw("status"), status, fields="status")
    groups = claims.sub("mapping").items("groups")
    by_names = {candidate.names: candidate.run for candidate in candidates}
    for g in range(len(groups)):
        group = groups.sub(g)
        listed = group.items("layers")
        layers = tuple(listed.text(j) for j in range(len(listed)))
        label = "+".join(layers)
        if not report.check(f"{label}: a candidate group", layers in by_names, True, fields=group.where("layers")):
            continue
        run = by_names[layers]
        group.keys_exactly(answers[run].to_dict(), "field")
        for key in ("status", "objective", "bound", "proven_optimal", "metrics", "reused_from", "note"):
            conform(group, entries[run].raw(key), key)
            report.check(
                f"{label}: {key} = its candidate's", group.raw(key), entries[run].raw(key), fields=group.where(key)
            )
        again = answers[run].mapping  # the mapping's form: checked by its replay (verify_groups)
        recomputed(report, f"{label}: mapping (re-solved)", group, "mapping", again, exact, why, shape=False)
        report.unchecked(group.where("seconds"), group.number("seconds"), WALL_TIME)
    searched = details.sub("search")
    stopped = searched.optional(searched.text, "stopped_by")
    report.unchecked(searched.where("stopped_by"), stopped, "the signal that stopped the search, if one did")
    _rows(report, searched, {**_search_facts(search, entries), "stopped_by": stopped}, "search")
    limits = compulsory_limits(problem.layers, consumers_of(problem.network), problem.accelerator)
    _rows(report, details.sub("compulsory"), limits.to_dict(), "compulsory (recomputed)")
    if best is None:
        return
    expected = {}
    singles = [(i, i + 1) for i in range(n)]
    if all(run in values for run in singles):
        expected["layer_by_layer"] = _summary(singles, entries, lowest)
    greedy = greedy_partition(n, set(values))
    if greedy is not None:
        expected["greedy_fusion"] = _summary(greedy, entries, lowest)
    baselines = details.sub("baselines")
    baselines.keys_exactly(expected, "baseline")
    for name, summary in expected.items():
        _rows(report, baselines.sub(name), summary, f"baselines.{name}")
    if "layer_by_layer" in expected:
        base, metrics = expected["layer_by_layer"], claims.sub("metrics")
        totals = {
            "dram_words": metrics.count("dram_words"),
            "latency_cycles": metrics.count("latency_cycles"),
            "objective": claims.count("objective"),
        }
        ratios = {key: 1 - totals[key] / base[key] if base[key] else None for key in totals}
        _rows(report, details.sub("reduction_vs_layer_by_layer"), ratios, "reduction_vs_layer_by_layer")
    if problem.pins:
        free, free_lower = best_partition(n, values), best_partition(n, bounds)
        regret = {
            "pins": problem.pins,
            "free_objective": free[0],
            "free_bound": free_lower[0],
            "regret": best[0] - free[0],
            "certified": status == Status.OPTIMAL and free[0] == free_lower[0],
        }
        _rows(report, details.sub("regret"), regret, "regret")


def _search_facts(search: PartitionSearch, entries: dict) -> dict:
    """The search section: the problem's limits, and counts over the claimed candidates."""
    status = [e.raw("status") for e in entries.values()]
    reused = [e.raw("reused_from") is not None for e in entries.values()]
    fallback = [isinstance(note := e.raw("note"), str) and FALLBACK in note for e in entries.values()]
    return {
        "max_group_layers": search.max_group_layers,
        "time_budget_s": search.time_budget_s,
        "candidates": len(entries),
        "solved": sum(1 for s, r, f in zip(status, reused, fallback, strict=True) if not r and not f and s != SKIPPED),
        "reused": sum(reused),
        "infeasible": status.count(Status.INFEASIBLE),
        "skipped": status.count(SKIPPED),
        "unproven": sum(1 for s in status if s in (Status.FEASIBLE, Status.UNKNOWN)),
        "fallback": sum(1 for r, f in zip(reused, fallback, strict=True) if not r and f),
    }
