"""One table row per mode: what the app does differently for a layer, fused,
task-graph or network problem, looked up by ``Mode`` instead of compared as text.

A row names the loader's rules (``mapper.io.problem_sections.MODE_RULES``), the
solver (``mapper.solve.api.SOLVERS``), the decoder of a result file's schedules
(for the exports and the GLB plot), the referee's verifier, the recheck of a
result's details (``mapper.app.verify_baselines``, ``verify_network_details``), the terminal
renderer (``mapper.app.render_modes``), the plot kinds (``mapper.app.plot_modes``,
the default first), the metric columns of ``fusesat compare`` and the Pareto
sweep of ``fusesat pareto`` where the mode has one. The lower layers keep their
own tables (they may not import the app); this one names them with the rest.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console

from mapper.app import plot_modes, render_modes
from mapper.app.task_graphs import task_graph_of, verify_taskgraph
from mapper.app.verify_baselines import check_fused_details, check_layer_details, check_taskgraph_details
from mapper.app.verify_network_details import check_network_details
from mapper.app.verify_tiled_details import check_tiled_details
from mapper.core.enums import Mode
from mapper.core.errors import SpecError
from mapper.core.group import FusedMapping, build_group
from mapper.core.mapping import Mapping
from mapper.core.problem import Problem
from mapper.core.result import SolveResult
from mapper.core.spec import SolverSettings
from mapper.core.taskgraph import TaskSchedule
from mapper.cost.taskgraph_builder import problem_graph
from mapper.io.problem_sections import MODE_RULES, ModeRules
from mapper.referee.claims import Claims
from mapper.referee.decode_fused import decode_fused
from mapper.referee.decode_layer import decode_layer
from mapper.referee.decode_taskgraph import decode_taskgraph
from mapper.referee.decode_tiled import tiled_schedule
from mapper.referee.schedule import Schedule
from mapper.referee.verify import (
    VerifyReport,
    verify_fused_result,
    verify_layer_result,
    verify_network_result,
    verify_tiled_result,
)
from mapper.solve.api import SOLVERS, fused_pareto_front
from mapper.solve.task_durations import problem_durations
from mapper.solve.taskgraph import pareto_front

Schedules = Callable[[dict, Problem], list[tuple[str, Schedule]]]
Plot = Callable[[dict, Path, str], None]
# (problem, settings, max points) -> (points, status of the solve that ended the sweep or None, title)
ParetoSweep = Callable[[Problem, SolverSettings, int], tuple[list[dict], str | None, str]]


@dataclass(frozen=True)
class ModeHandlers:
    """Everything mode-specific about a problem and its result, in one row."""

    mode: Mode
    noun: str  # how ``fusesat solve``'s header names the result's layers ("group c1+c2")
    rules: ModeRules  # the loader's checks
    solve: Callable[[Problem, SolverSettings | None], SolveResult]
    schedules: Schedules  # a result file (and its problem) -> its labelled schedules
    verify: Callable[[dict, Problem, bool], VerifyReport]  # (result, problem, functional): the referee's replay
    recheck: Callable[[VerifyReport, Claims, Problem], None]  # the result's details, recomputed (may re-solve)
    render: Callable[[SolveResult, Console, dict[str, int] | None], None]  # the tables of a solved result
    plots: dict[str, Plot]  # plot kind -> plot; the first is the default
    compare_metrics: tuple[str, ...]  # the metric columns of fusesat compare
    pareto: ParetoSweep | None = None
    pareto_axes: tuple[str, str] | None = None


# --------------------------------------------------------------------------- schedules of a result file


def _layer_schedules(result: dict, problem: Problem) -> list[tuple[str, Schedule]]:
    schedule = decode_layer(problem.layers[0], problem.accelerator, Mapping.from_dict(result["mapping"]))
    return [(result.get("problem"), schedule)]


def _fused_schedules(result: dict, problem: Problem) -> list[tuple[str, Schedule]]:
    if problem.tiles is not None:
        return [(result.get("problem"), tiled_schedule(problem.layers, problem.accelerator, result["mapping"]))]
    schedule = decode_fused(build_group(problem.layers), problem.accelerator, FusedMapping.from_dict(result["mapping"]))
    return [(result.get("problem"), schedule)]


def _taskgraph_schedules(result: dict, problem: Problem) -> list[tuple[str, Schedule]]:
    group, graph, platform = task_graph_of(problem, Claims(result))
    schedule = decode_taskgraph(group, graph, platform, TaskSchedule.from_dict(graph, result["mapping"]))
    return [(result.get("problem"), schedule)]


def _network_schedules(result: dict, problem: Problem) -> list[tuple[str, Schedule]]:
    """One schedule per group, labelled with its layers; a group's model is the
    layer or the fused cost model."""
    schedules = []
    for group in result["mapping"]["groups"]:
        layers = tuple(problem.network.layers[name] for name in group["layers"])
        if group["model"] == Mode.LAYER:
            schedule = decode_layer(layers[0], problem.accelerator, Mapping.from_dict(group["mapping"]))
        else:
            schedule = decode_fused(build_group(layers), problem.accelerator, FusedMapping.from_dict(group["mapping"]))
        schedules.append(("+".join(group["layers"]), schedule))
    return schedules


# --------------------------------------------------------------------------- referee and Pareto sweeps


def _verify_layer(result: dict, problem: Problem, functional: bool) -> VerifyReport:
    return verify_layer_result(result, problem.layers[0], problem.accelerator, functional)


def _verify_fused(result: dict, problem: Problem, functional: bool) -> VerifyReport:
    if problem.tiles is not None:
        return verify_tiled_result(result, problem.layers, problem.accelerator, functional)
    return verify_fused_result(result, build_group(problem.layers), problem.accelerator, functional)


def _recheck_fused(report: VerifyReport, claims: Claims, problem: Problem) -> None:
    if problem.tiles is not None:
        check_tiled_details(report, claims, problem)
    else:
        check_fused_details(report, claims, problem)


def _fused_front(problem: Problem, settings: SolverSettings, max_points: int) -> tuple[list[dict], str | None, str]:
    if problem.tiles is not None:
        raise SpecError(problem.source, "fusion.tiles", "fusesat pareto does not sweep 2-D tiles yet", "remove it")
    points, ended = fused_pareto_front(problem, settings, max_points)
    return points, ended, f"Latency vs DRAM traffic: {problem.name}"


def _taskgraph_front(problem: Problem, settings: SolverSettings, max_points: int) -> tuple[list[dict], str | None, str]:
    _, graph, _ = problem_graph(problem, problem_durations(problem, settings))
    points, ended = pareto_front(graph, problem.taskgraph, settings, max_points, problem.pins)
    return points, ended, f"Makespan vs peak memory: {problem.name} ({len(graph.tasks)} tasks)"


# --------------------------------------------------------------------------- the table

CYCLES_WORDS_ENERGY = ("latency_cycles", "dram_words", "energy_pj")

MODES: dict[Mode, ModeHandlers] = {
    Mode.LAYER: ModeHandlers(
        mode=Mode.LAYER,
        noun="layer",
        rules=MODE_RULES[Mode.LAYER],
        solve=SOLVERS[Mode.LAYER],
        schedules=_layer_schedules,
        verify=_verify_layer,
        recheck=check_layer_details,
        render=render_modes.render_layer,
        plots={"glb": plot_modes.plot_glb},
        compare_metrics=CYCLES_WORDS_ENERGY,
    ),
    Mode.FUSED: ModeHandlers(
        mode=Mode.FUSED,
        noun="group",
        rules=MODE_RULES[Mode.FUSED],
        solve=SOLVERS[Mode.FUSED],
        schedules=_fused_schedules,
        verify=_verify_fused,
        recheck=_recheck_fused,
        render=render_modes.render_fused,
        plots={"bars": plot_modes.plot_fused, "glb": plot_modes.plot_glb},
        compare_metrics=CYCLES_WORDS_ENERGY,
        pareto=_fused_front,
        pareto_axes=("latency_cycles", "dram_words"),
    ),
    Mode.TASKGRAPH: ModeHandlers(
        mode=Mode.TASKGRAPH,
        noun="task graph of",
        rules=MODE_RULES[Mode.TASKGRAPH],
        solve=SOLVERS[Mode.TASKGRAPH],
        schedules=_taskgraph_schedules,
        verify=verify_taskgraph,
        recheck=check_taskgraph_details,
        render=render_modes.render_taskgraph,
        plots={"gantt": plot_modes.plot_taskgraph, "glb": plot_modes.plot_glb},
        compare_metrics=("makespan", "peak_memory_words"),
        pareto=_taskgraph_front,
        pareto_axes=("makespan", "peak_memory_words"),
    ),
    Mode.NETWORK: ModeHandlers(
        mode=Mode.NETWORK,
        noun="layers",
        rules=MODE_RULES[Mode.NETWORK],
        solve=SOLVERS[Mode.NETWORK],
        schedules=_network_schedules,
        verify=verify_network_result,
        recheck=check_network_details,
        render=render_modes.render_network,
        plots={"bars": plot_modes.plot_network},
        compare_metrics=CYCLES_WORDS_ENERGY,
    ),
}


def handlers_for(mode, source: str) -> ModeHandlers:
    """The row of a result file's ``mode``; a ``SpecError`` naming ``source`` when
    the file names no mode of the table."""
    try:
        return MODES[Mode(mode)]
    except ValueError:
        raise SpecError(
            source, "mode", f"unknown mode {mode!r}", "pass a file written by fusesat solve --json"
        ) from None
