"""Task graphs: HEFT against the published example, CP-SAT against brute force,
memory-aware HEFT under its cap, and every schedule through the referee."""

from __future__ import annotations

import itertools
import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from conftest import DETERMINISTIC
from test_fusion import GROUPS

from formulations.taskgraph import TaskGraphModel
from mapper.core.group import build_group
from mapper.core.problem import Platform
from mapper.core.spec import SolverSettings
from mapper.core.taskgraph import MemoryObject, TaskGraph, TaskSchedule
from mapper.cost.taskgraph import evaluate_schedule
from mapper.cost.taskgraph_builder import Slicing, build_task_graph
from mapper.heuristics.heft import heft, layer_by_layer, memory_aware_heft, upward_ranks
from mapper.referee.decode_taskgraph import decode_taskgraph, platform_accelerator
from mapper.referee.executor import execute

REFERENCE = Path(__file__).resolve().parents[2] / "shared" / "reference" / "README.md"


def published_heft_example():
    """Costs, edges and known answers parsed from ../shared/reference/README.md section 3."""
    if not REFERENCE.exists():
        pytest.skip("shared/reference/README.md is not beside the checkout")
    text = " ".join(REFERENCE.read_text().split("## 3.")[1].split("## 4.")[0].split())
    costs = {int(t): tuple(map(int, (a, b, c))) for t, a, b, c in re.findall(r"T(\d+):\s+(\d+)\s+(\d+)\s+(\d+)", text)}
    edges = {(int(u), int(v)): int(c) for u, v, c in re.findall(r"(\d+)-(\d+):(\d+)", text)}
    rank_lines = re.findall(r"ranks? T1\.\.T10: ([\d., ]+)|ranks ([\d., ]+) and makespan", text)
    ranks = [[float(x) for x in (a or b).strip(" ,").split(", ")] for a, b in rank_lines]
    makespans = [int(m) for m in re.findall(r"makespan:? (\d+)", text)]
    return costs, edges, ranks, makespans


def heft_graph(costs, edges, with_communication=True) -> TaskGraph:
    tasks = tuple(f"T{t}" for t in sorted(costs))
    return TaskGraph(
        tasks,
        ("P1", "P2", "P3"),
        {f"T{t}": costs[t] for t in costs},
        {(f"T{u}", f"T{v}"): (c if with_communication else 0) for (u, v), c in edges.items()},
    )


@pytest.mark.parametrize("with_communication", [True, False])
def test_heft_reproduces_the_published_example(with_communication):
    costs, edges, ranks, makespans = published_heft_example()
    graph = heft_graph(costs, edges, with_communication)
    expected_ranks = ranks[0] if with_communication else ranks[1]
    got = upward_ranks(graph)
    assert [round(float(got[t]), 2) for t in graph.tasks] == expected_ranks
    schedule = heft(graph)
    cost = evaluate_schedule(graph, schedule)
    assert cost.valid and cost.makespan == (makespans[0] if with_communication else makespans[1])


@pytest.mark.parametrize("with_communication", [True, False])
def test_cpsat_is_never_worse_than_heft_and_valid(with_communication):
    costs, edges, _, _ = published_heft_example()
    graph = heft_graph(costs, edges, with_communication)
    solution = TaskGraphModel(graph, "makespan").solve(DETERMINISTIC)
    cost = evaluate_schedule(graph, solution.mapping)
    assert solution.status == "OPTIMAL" and cost.valid and cost.makespan == solution.objective
    assert solution.objective <= evaluate_schedule(graph, heft(graph)).makespan


# ---------------------------------------------------------------- brute force on tiny graphs


def semi_active_schedules(graph: TaskGraph):
    """Every assignment and every precedence-respecting sequence, each task started as early as possible."""
    order = graph.topological_order()
    for assignment in itertools.product(range(len(graph.processors)), repeat=len(graph.tasks)):
        processor = dict(zip(graph.tasks, assignment, strict=True))
        for sequence in itertools.permutations(order):
            position = {t: i for i, t in enumerate(sequence)}
            if any(position[u] > position[v] for (u, v) in graph.edges):
                continue
            start, free = {}, [0] * len(graph.processors)
            for t in sequence:
                p = processor[t]
                ready = max(
                    [free[p]]
                    + [
                        start[u] + graph.durations[u][processor[u]] + (0 if processor[u] == p else c)
                        for (u, v), c in graph.edges.items()
                        if v == t
                    ]
                )
                start[t] = ready
                free[p] = ready + graph.durations[t][p]
            yield TaskSchedule(processor, start)


def tiny_graph(seed: int) -> TaskGraph:
    import random

    rng = random.Random(seed)
    tasks = tuple(f"t{i}" for i in range(4))
    edges = {(u, v): rng.choice([0, 2, 5]) for u, v in itertools.combinations(tasks, 2) if rng.random() < 0.5}
    durations = {t: (rng.randint(1, 6), rng.randint(1, 6)) for t in tasks}
    memory = tuple(MemoryObject(t, rng.randint(1, 4), t, tuple(v for (u, v) in edges if u == t)) for t in tasks)
    return TaskGraph(tasks, ("p0", "p1"), durations, edges, memory)


@pytest.mark.parametrize("seed", range(12))
def test_cpsat_makespan_equals_brute_force(seed):
    graph = tiny_graph(seed)
    best = min(evaluate_schedule(graph, s).makespan for s in semi_active_schedules(graph))
    solution = TaskGraphModel(graph, "makespan").solve(DETERMINISTIC)
    assert solution.status == "OPTIMAL" and solution.objective == solution.bound == best


def time_indexed_best(graph: TaskGraph, weights: tuple[int, int], horizon: int) -> int:
    """Every assignment and every start time in [0, horizon): the weighted optimum."""
    best = None
    for assignment in itertools.product(range(len(graph.processors)), repeat=len(graph.tasks)):
        processor = dict(zip(graph.tasks, assignment, strict=True))
        for starts in itertools.product(range(horizon), repeat=len(graph.tasks)):
            cost = evaluate_schedule(graph, TaskSchedule(processor, dict(zip(graph.tasks, starts, strict=True))))
            if cost.valid:
                value = cost.objective(*weights)
                best = value if best is None else min(best, value)
    return best


@pytest.mark.parametrize("seed", range(4))
def test_cpsat_weighted_makespan_and_memory_equals_time_indexed_brute_force(seed):
    graph = tiny_graph(seed)
    graph = TaskGraph(
        graph.tasks[:3],
        graph.processors,
        {t: graph.durations[t] for t in graph.tasks[:3]},
        {e: c for e, c in graph.edges.items() if e[1] in graph.tasks[:3]},
        tuple(
            MemoryObject(o.name, o.words, o.producer, tuple(c for c in o.consumers if c in graph.tasks[:3]))
            for o in graph.memory
            if o.producer in graph.tasks[:3]
        ),
    )
    horizon = sum(max(d) for d in graph.durations.values()) + sum(graph.edges.values()) + 1
    weights = (1, 3)
    expected = time_indexed_best(graph, weights, horizon)
    solution = TaskGraphModel(graph, "weighted", *weights).solve(DETERMINISTIC)
    assert solution.status == "OPTIMAL" and solution.objective == solution.bound == expected
    assert evaluate_schedule(graph, solution.mapping).objective(*weights) == expected


# ---------------------------------------------------------------- CNN task graphs


SLICINGS = [Slicing(1, 1, 1), Slicing(2, 1, 1), Slicing(2, 2, 1), Slicing(3, 2, 2)]
PLATFORMS = [Platform(((2, 1), (1, 2))), Platform(((1, 1),) * 3, link_words_per_cycle=2)]


def test_edges_carry_exact_receptive_field_words():
    """1x1 conv after a 3x3 conv: a consumer tile reads exactly its own rows of the producer."""
    from test_fusion import A, fmap_layer

    one_by_one = fmap_layer("p", ["a"], 2, 2, 6, kernel=1, pad=0)
    graph = build_task_graph(build_group((A, one_by_one)), {"a": Slicing(2), "p": Slicing(3)}, PLATFORMS[0])
    for task in (t for t in graph.tasks if graph.layer_of[t] == "p"):
        incoming = sum(w for (u, v), w in graph.edge_words.items() if v == task)
        assert incoming == graph.regions[task].words  # 2 channels x rows x 6 cols, once


QUICK = SolverSettings(time_limit_s=120.0, workers=1, seed=0, deterministic_time=1.0)  # any answer must pass
REFEREED = "test_every_schedule_passes_the_referee_functionally"


def case_graph(name: str, slicing: Slicing, platform: Platform):
    group = build_group(GROUPS[name])
    return group, build_task_graph(group, {layer.name: slicing for layer in GROUPS[name]}, platform)


def cpsat_schedule(name: str, slicing: Slicing, platform: Platform):
    graph = case_graph(name, slicing, platform)[1]
    model = TaskGraphModel(graph, "weighted", 1, 1)
    model.add_hint(heft(graph))
    return model.solve(QUICK)


@pytest.fixture(scope="module")
def cpsat_schedules(request):
    """The CP-SAT answer of every collected case of the test below, solved two at a
    time in threads (CP-SAT leaves the GIL while it searches): (name, slicing,
    platform) -> future. Each answer is the one a solve alone gives: one worker,
    seed 0, stopped by its deterministic time limit, which counts the solver's work,
    not the clock. The wall limit is only a backstop, raised from 30 s to 120 s so
    that two solves at once on a busy machine stay far from it. These solves are
    nearly all of this test's time; two at once use both cores of CI."""
    cases = [i.callspec.params for i in request.session.items if getattr(i, "originalname", None) == REFEREED]
    keys = dict.fromkeys((case["name"], case["slicing"], case["platform"]) for case in cases)  # in test order
    with ThreadPoolExecutor(max_workers=2) as pool:
        yield {key: pool.submit(cpsat_schedule, *key) for key in keys}


@pytest.mark.parametrize("name", GROUPS)
@pytest.mark.parametrize("slicing", SLICINGS, ids=str)
@pytest.mark.parametrize("platform", PLATFORMS, ids=["unequal", "three-with-links"])
def test_every_schedule_passes_the_referee_functionally(name, slicing, platform, cpsat_schedules):
    group, graph = case_graph(name, slicing, platform)
    solution = cpsat_schedules[name, slicing, platform].result()
    assert solution.mapping is not None, solution.status
    for schedule in (heft(graph), layer_by_layer(graph), solution.mapping):
        cost = evaluate_schedule(graph, schedule)
        assert cost.valid, cost.violations
        measured = execute(decode_taskgraph(group, graph, platform, schedule), platform_accelerator(platform))
        assert measured.peak_words["GLB"] == cost.peak_memory_words
        assert measured.makespan == cost.makespan


@pytest.mark.parametrize("ready_list", [False, True])
def test_memory_aware_heft_respects_its_cap_and_reports_failure(ready_list):
    """Both rules (the ready-list one places the highest-ranked ready task that fits):
    every schedule within its cap, precedences kept; none below the largest single task's need."""
    group = build_group(GROUPS["conv+conv+pool"])
    graph = build_task_graph(group, {"a": Slicing(3), "b": Slicing(3), "c": Slicing(3)}, PLATFORMS[0])
    free = evaluate_schedule(graph, heft(graph)).peak_memory_words
    floor = max(sum(o.words for o in graph.memory if o.producer == t or t in o.consumers) for t in graph.tasks)
    for cap in range(floor, free + 1, max(1, (free - floor) // 5)):
        schedule = memory_aware_heft(graph, cap, ready_list)
        if schedule is not None:
            cost = evaluate_schedule(graph, schedule, memory_cap=cap)
            assert cost.valid, cost.violations
    assert memory_aware_heft(graph, floor - 1, ready_list) is None
    assert memory_aware_heft(graph, free, ready_list) is not None
    if ready_list:  # where the rank order never blocks, its highest-ranked task is the ready one placed
        for cap in range(floor, free + 1, max(1, (free - floor) // 5)):
            ranked = memory_aware_heft(graph, cap)
            if ranked is not None:
                assert memory_aware_heft(graph, cap, ready_list) == ranked
