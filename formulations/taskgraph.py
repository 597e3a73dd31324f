"""CP-SAT scheduling of a task graph under memory (docs/taskgraph.md).

Variables: per task a start and end, and per (task, processor) a presence
literal with an optional interval of that processor's duration (all sharing
the task's start and end). Memory objects become intervals [alloc, release)
in one cumulative resource whose capacity is the peak-memory variable. The
objective's value equals ``mapper.cost.taskgraph.evaluate_schedule`` on the decoded
schedule.
"""

from __future__ import annotations

from ortools.sat.python import cp_model

from formulations.solution import Solution, run_solver
from mapper.core.spec import SolverSettings
from mapper.core.taskgraph import TaskGraph, TaskSchedule
from mapper.cost.taskgraph import schedule_objective

OBJECTIVES = ("makespan", "memory", "weighted")


class TaskGraphModel:
    def __init__(
        self,
        graph: TaskGraph,
        objective: str = "makespan",
        makespan_weight: int = 1,
        memory_weight: int = 1,
        memory_cap: int | None = None,
        makespan_cap: int | None = None,
        pins: dict | None = None,
    ):
        if objective not in OBJECTIVES:
            raise ValueError(f"objective must be one of {OBJECTIVES}")
        self.graph, self.pins = graph, pins or {}
        self.model = cp_model.CpModel()
        self.horizon = sum(max(d) for d in graph.durations.values()) + sum(graph.edges.values())
        self.add_assignment_and_intervals()
        self.add_precedences()
        self.add_pins()
        self.add_memory()
        self.add_makespan()
        if memory_cap is not None:
            self.model.add(self.peak <= memory_cap)
        if makespan_cap is not None:
            self.model.add(self.makespan <= makespan_cap)
        self.set_objective(objective, makespan_weight, memory_weight)

    def add_assignment_and_intervals(self) -> None:
        """sum_p x[t, p] = 1; x[t, p] => end[t] = start[t] + d[t][p]; at most one task
        at a time per processor (no-overlap of the optional intervals)."""
        m, g = self.model, self.graph
        self.start, self.end, self.on = {}, {}, {}
        per_processor = [[] for _ in g.processors]
        for t in g.tasks:
            self.start[t] = m.new_int_var(0, self.horizon, f"start_{t}")
            self.end[t] = m.new_int_var(0, self.horizon, f"end_{t}")
            literals = []
            for p, duration in enumerate(g.durations[t]):
                x = m.new_bool_var(f"on_{t}_{p}")
                interval = m.new_optional_interval_var(self.start[t], duration, self.end[t], x, f"run_{t}_{p}")
                per_processor[p].append(interval)
                self.on[t, p] = x
                literals.append(x)
            m.add_exactly_one(literals)
        for intervals in per_processor:
            m.add_no_overlap(intervals)
        self.add_cluster_symmetry_breaking()

    def add_cluster_symmetry_breaking(self) -> None:
        """Identical processors (same duration for every task) are interchangeable:
        task j may use processor p > 0 only if an earlier task uses processor p - 1.
        Not when a pin names a cluster (the clusters are then told apart)."""
        m, g = self.model, self.graph
        if self.pins.get("cluster"):
            return
        processors = range(len(g.processors))
        for p in processors[1:]:
            if any(g.durations[t][p] != g.durations[t][p - 1] for t in g.tasks):
                continue
            for j, t in enumerate(g.tasks):
                earlier = [self.on[u, p - 1] for u in g.tasks[:j]]
                if not earlier:
                    m.add(self.on[t, p] == 0)
                else:
                    m.add_bool_or(earlier).only_enforce_if(self.on[t, p])

    def add_precedences(self) -> None:
        """start[v] >= end[u] + cost(u, v) * (1 - same[u, v]), same[u, v] <=> u and v
        run on one processor."""
        m, g = self.model, self.graph
        for (u, v), cost in g.edges.items():
            if cost == 0:
                m.add(self.start[v] >= self.end[u])
                continue
            same = m.new_bool_var(f"same_{u}_{v}")
            both = []
            for p in range(len(g.processors)):
                b = m.new_bool_var(f"both_{u}_{v}_{p}")
                m.add_bool_and([self.on[u, p], self.on[v, p]]).only_enforce_if(b)
                m.add_bool_or([self.on[u, p].Not(), self.on[v, p].Not()]).only_enforce_if(b.Not())
                both.append(b)
            m.add(sum(both) == same)
            m.add(self.start[v] >= self.end[u] + cost).only_enforce_if(same.Not())
            m.add(self.start[v] >= self.end[u]).only_enforce_if(same)

    def add_pins(self) -> None:
        """Pinned decisions: x[t, p] = 1 for a task pinned to cluster p; start[v] >= end[u]
        for a pinned order (u, v)."""
        for t, p in self.pins.get("cluster", {}).items():
            self.model.add(self.on[t, p] == 1)
        for u, v in self.pins.get("before", []):
            self.model.add(self.start[v] >= self.end[u])

    def add_memory(self) -> None:
        """Each memory object is an interval [alloc, release): a task output from its
        producer's start to its last consumer's end (its producer's end if none); a
        DRAM tile from its first consumer's start to its last consumer's end. The
        cumulative of their words is at most peak."""
        m, g = self.model, self.graph
        total = sum(obj.words for obj in g.memory)
        self.peak = m.new_int_var(0, total, "peak_memory")
        intervals, demands = [], []
        for obj in g.memory:
            alloc = m.new_int_var(0, self.horizon, f"alloc_{obj.name}")
            release = m.new_int_var(0, self.horizon, f"release_{obj.name}")
            if obj.producer is not None:
                m.add(alloc == self.start[obj.producer])
            else:
                m.add_min_equality(alloc, [self.start[c] for c in obj.consumers])
            users = [self.end[c] for c in obj.consumers] or [self.end[obj.producer]]
            m.add_max_equality(release, users)
            size = m.new_int_var(0, self.horizon, f"life_{obj.name}")
            intervals.append(m.new_interval_var(alloc, size, release, f"memory_{obj.name}"))
            demands.append(obj.words)
        if intervals:
            m.add_cumulative(intervals, demands, self.peak)
        else:
            m.add(self.peak == 0)
        # redundant: while t runs, its output and every object it reads are live together
        for t in g.tasks:
            live = sum(obj.words for obj in g.memory if obj.producer == t or t in obj.consumers)
            m.add(self.peak >= live)

    def add_makespan(self) -> None:
        """makespan = max_t end[t]; redundant: every processor is busy at most
        makespan cycles, so processors * makespan >= sum_{t,p} x[t, p] d[t][p]."""
        g = self.graph
        self.makespan = self.model.new_int_var(0, self.horizon, "makespan")
        self.model.add_max_equality(self.makespan, list(self.end.values()))
        work = sum(self.on[t, p] * d for t in g.tasks for p, d in enumerate(g.durations[t]))
        self.model.add(len(g.processors) * self.makespan >= work)

    def set_objective(self, objective: str, makespan_weight: int, memory_weight: int) -> None:
        """makespan, peak memory, or makespan_weight * makespan + memory_weight * peak.
        When minimising one term, the other is not driven to its true value: the
        decoded schedule's peak (or makespan) is recomputed by the evaluator."""
        self.model.minimize(schedule_objective(objective, self.makespan, self.peak, makespan_weight, memory_weight))

    def add_hint(self, schedule: TaskSchedule) -> None:
        for t in self.graph.tasks:
            self.model.add_hint(self.start[t], schedule.start[t])
            for p in range(len(self.graph.processors)):
                self.model.add_hint(self.on[t, p], int(schedule.processor[t] == p))

    def solve(self, settings: SolverSettings) -> Solution[TaskSchedule]:
        """The solution's mapping is the schedule; without one the bound is None."""
        return run_solver(self.model, settings, self.decode)

    def decode(self, solver: cp_model.CpSolver) -> TaskSchedule:
        return TaskSchedule(
            processor={
                t: next(p for p in range(len(self.graph.processors)) if solver.boolean_value(self.on[t, p]))
                for t in self.graph.tasks
            },
            start={t: solver.value(self.start[t]) for t in self.graph.tasks},
        )
