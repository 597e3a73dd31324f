"""Task-graph mode: build the graph, run the heuristics, solve with CP-SAT,
compare, and sweep the makespan / peak-memory Pareto front."""

from __future__ import annotations

from dataclasses import dataclass, replace

from formulations.taskgraph import TaskGraphModel
from mapper.core import progress, stop
from mapper.core.enums import Status
from mapper.core.problem import Problem, TaskGraphSpec
from mapper.core.result import SolveResult, SolverFacts
from mapper.core.spec import SolverSettings
from mapper.core.taskgraph import TaskGraph, TaskSchedule, memory_lifetimes
from mapper.cost.taskgraph import evaluate_schedule, memory_profile, schedule_objective
from mapper.cost.taskgraph_builder import problem_graph
from mapper.heuristics.heft import heft, layer_by_layer, memory_aware_heft
from mapper.solve.regret import with_regret
from mapper.solve.task_durations import SolvedDurations, problem_durations


def memory_cap(spec: TaskGraphSpec) -> int | None:
    caps = [c for c in (spec.platform.memory_words, spec.memory_cap) if c is not None]
    return min(caps) if caps else None


def memheft_floor(graph: TaskGraph) -> int:
    """No cap below this keeps a schedule: some task's output and inputs are live together."""
    return max(sum(o.words for o in graph.memory if o.producer == t or t in o.consumers) for t in graph.tasks)


def smallest_memheft_cap(graph: TaskGraph, upper: int, ready_list: bool = False) -> tuple[int, TaskSchedule] | None:
    """The smallest cap at which memory-aware HEFT still finds a schedule (binary
    search; its success is monotone in the cap in practice for the rank-order rule,
    not for ``ready_list``; the schedule returned is always checked against its cap)."""
    best = None
    lo, hi = memheft_floor(graph), upper
    while lo <= hi:
        cap = (lo + hi) // 2
        schedule = memory_aware_heft(graph, cap, ready_list)
        if schedule is not None and evaluate_schedule(graph, schedule, cap).valid:
            best, hi = (cap, schedule), cap - 1
        else:
            lo = cap + 1
    return best


@dataclass
class Certified:
    schedule: TaskSchedule | None
    status: str
    objective: int | None
    bound: int | None
    facts: list[SolverFacts]


def _solve(graph, settings, objective, spec, hint, makespan_cap=None, cap=None, pins=None) -> Certified:
    model = TaskGraphModel(
        graph,
        objective,
        spec.makespan_weight,
        spec.memory_weight,
        memory_cap=cap if cap is not None else memory_cap(spec),
        makespan_cap=makespan_cap,
        pins=pins,
    )
    if hint is not None:
        model.add_hint(hint)
    solution = model.solve(settings)
    return Certified(solution.mapping, solution.status, solution.objective, solution.bound, [solution.facts])


def solve_graph(graph: TaskGraph, spec: TaskGraphSpec, settings: SolverSettings, hint=None, pins=None) -> Certified:
    """CP-SAT with the spec's objective under ``pins``; lexicographic = the optimal
    makespan, then the least peak memory at that makespan (certified only if both are)."""
    if spec.objective != "lexicographic":
        return _solve(graph, settings, spec.objective, spec, hint, pins=pins)
    first = _solve(graph, settings, "makespan", spec, hint, pins=pins)
    if first.schedule is None:
        return first
    second = _solve(graph, settings, "memory", spec, first.schedule, makespan_cap=first.objective, pins=pins)
    status = "OPTIMAL" if first.status == second.status == Status.OPTIMAL else "FEASIBLE"
    if second.schedule is None:  # stopped (or out of time) before the memory solve found one: the first's memory
        peak = evaluate_schedule(graph, first.schedule).peak_memory_words
        return Certified(first.schedule, status, peak, second.bound, first.facts + second.facts)
    return Certified(second.schedule, status, second.objective, second.bound, first.facts + second.facts)


def objective_value(spec: TaskGraphSpec, makespan: int, peak: int) -> int:
    """The value the spec minimises (lexicographic: the memory at the optimal makespan)."""
    return schedule_objective(spec.objective, makespan, peak, spec.makespan_weight, spec.memory_weight)


def pareto_front(
    graph: TaskGraph, spec: TaskGraphSpec, settings: SolverSettings, max_points: int = 12, pins=None
) -> tuple[list[dict], str | None]:
    """Epsilon constraint: least makespan with peak memory <= eps, then least memory
    at that makespan; eps = that memory - 1; until infeasible. Each point carries
    whether both of its solves were proven optimal. Returns the points and the
    status of the solve that ended the sweep (INFEASIBLE: the front is
    complete; UNKNOWN: a time limit or a stop request; None: the points ran out)."""
    points, cap = [], memory_cap(spec)
    while len(points) < max_points:
        if stop.requested():
            return points, Status.UNKNOWN.value
        fast = _solve(graph, settings, "makespan", spec, None, cap=cap, pins=pins)
        if fast.schedule is None:
            return points, fast.status
        lean = _solve(graph, settings, "memory", spec, fast.schedule, makespan_cap=fast.objective, cap=cap, pins=pins)
        schedule = lean.schedule or fast.schedule
        cost = evaluate_schedule(graph, schedule)
        points.append(
            {
                "makespan": cost.makespan,
                "peak_memory_words": cost.peak_memory_words,
                "certified": fast.status == Status.OPTIMAL and lean.status == Status.OPTIMAL,
            }
        )
        cap = cost.peak_memory_words - 1
        detail = f"makespan {cost.makespan:,} cycles, peak {cost.peak_memory_words:,} words"
        progress.report("Pareto points", len(points), max_points, detail)
    return points, None


def solve_taskgraph(problem: Problem, settings: SolverSettings | None = None) -> SolveResult:
    settings = settings or problem.solver
    spec = problem.taskgraph
    durations = problem_durations(problem, settings)
    group, graph, platform = problem_graph(problem, durations)
    cap = memory_cap(spec)
    rows = [
        (name, schedule, None) for name, schedule in (("HEFT", heft(graph)), ("layer-by-layer", layer_by_layer(graph)))
    ]
    upper = max(evaluate_schedule(graph, s).peak_memory_words for _, s, _ in rows)
    found = smallest_memheft_cap(graph, cap if cap is not None else upper)
    if found is not None:
        rows.append(("memory-aware HEFT", found[1], found[0]))
    # one evaluation per heuristic schedule: makespan and peak do not depend on the cap, validity does
    costs = [evaluate_schedule(graph, schedule, cap) for _, schedule, _ in rows]
    feasible = [(row, cost) for row, cost in zip(rows, costs, strict=True) if cost.valid]
    best_heuristic = min(
        feasible, key=lambda rc: objective_value(spec, rc[1].makespan, rc[1].peak_memory_words), default=None
    )
    hint = best_heuristic[0][1] if best_heuristic else None  # the best heuristic schedule within memory
    certified = solve_graph(graph, spec, settings, hint, problem.pins)
    facts = certified.facts[-1]
    result = SolveResult(
        problem=problem.name,
        problem_file=problem.source,
        mode="taskgraph",
        layer="+".join(group.names),
        accelerator=problem.accelerator_label,
        status=certified.status,
        objective=certified.objective,
        bound=certified.bound,
        solver=facts,
        weights={"objective": spec.objective, "makespan": spec.makespan_weight, "memory": spec.memory_weight},
    )
    best = evaluate_schedule(graph, certified.schedule) if certified.schedule is not None else None
    comparison = []
    for (name, _, heuristic_cap), cost in zip(rows, costs, strict=True):
        value = objective_value(spec, cost.makespan, cost.peak_memory_words)
        gap = None if certified.bound is None else (value - certified.bound) / max(1, value)
        if spec.objective == "lexicographic" and best is not None and cost.makespan > best.makespan:
            gap = None  # memory compares only at the optimal makespan
        comparison.append(
            {
                "method": name,
                "makespan": cost.makespan,
                "peak_memory_words": cost.peak_memory_words,
                "objective": value,
                "gap_to_bound": gap,
                "within_memory": cost.valid,
                "cap": heuristic_cap,
            }
        )
    details = {"tasks": len(graph.tasks), "edges": len(graph.edges), "heuristics": comparison}
    if isinstance(durations, SolvedDurations):
        details["tile_durations"] = [tile.to_dict() for tile in durations.tiles]
    if best is None:
        why = "the pinned decisions cannot all hold together with the graph's dependencies and memory"
        explanation = why if problem.pins and certified.status == Status.INFEASIBLE else None
        return replace(result, details=details, explanation=explanation)
    metrics = {
        "makespan": best.makespan,
        "peak_memory_words": best.peak_memory_words,
        "tasks": len(graph.tasks),
        "memory_profile": memory_profile(memory_lifetimes(graph, certified.schedule)),
    }
    result = replace(result, mapping=certified.schedule.to_dict(graph), metrics=metrics, details=details)
    return with_regret(result, problem, settings, solve_taskgraph)
