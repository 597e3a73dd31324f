"""Terminal rendering of results with rich (used by the CLI only): a header,
the tables of the result's mode (``mapper.app.render_modes``) and the proof."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from mapper.app.modes import MODES
from mapper.core.enums import Status
from mapper.core.result import SolveResult


def objective_meaning(weights: dict) -> str:
    """What the objective adds up, with its weights and units: "1 x latency cycles + 1 x DRAM words"."""
    if "objective" in weights:  # task graphs: makespan, memory, weighted or lexicographic
        kind = weights["objective"]
        if kind == "weighted":
            return f"{weights['makespan']} x makespan cycles + {weights['memory']} x peak memory words"
        if kind == "lexicographic":
            return "peak memory words at the least makespan (lexicographic: makespan first)"
        return "makespan cycles" if kind == "makespan" else "peak memory words"
    terms = [(weights.get("latency", 0), "latency cycles"), (weights.get("dram_words", 0), "DRAM words")]
    terms.append((weights.get("energy", 0), "energy fJ"))
    return " + ".join(f"{w} x {unit}" for w, unit in terms if w)


def render_result(result: SolveResult, console: Console, bounds: dict[str, int] | None = None) -> None:
    handlers = MODES[result.mode]
    console.print(
        f"[bold]{result.problem}[/bold]: {handlers.noun} {result.layer} on {result.accelerator} ({result.mode} mode)"
    )
    if result.mapping:
        handlers.render(result, console, bounds)
    proof = Table(title="Proof")
    proof.add_column("fact")
    proof.add_column("value", justify="right")
    facts = result.solver
    for name, value in (
        ("status", result.status),
        ("objective", "-" if result.objective is None else f"{result.objective:,}"),
        ("objective is", objective_meaning(result.weights)),
        ("bound", "-" if result.bound is None else f"{result.bound:,}"),
        ("gap", "-" if result.gap is None else f"{result.gap:.4%}"),
        ("proven optimal", "yes" if result.proven_optimal else "no"),
        ("wall time (s)", f"{facts.wall_time_s:.2f}"),
        ("deterministic time", f"{facts.deterministic_time:.2f}"),
        ("workers / seed", f"{facts.workers} / {facts.seed}"),
        ("factor space", facts.factors),
        ("ortools", facts.ortools_version),
    ):
        proof.add_row(name, value)
    console.print(proof)
    if facts.interrupted_by:
        found = ": the best answer found so far (status and gap above)" if result.has_solution else " before any answer"
        console.print(f"[yellow]stopped by {facts.interrupted_by}[/yellow]{found}")
    regret = result.details.get("regret")
    if regret and regret["regret"] is not None:
        proof = "certified" if regret["certified"] else "not certified (a solve hit its limit)"
        makespan = regret.get("makespan_regret")
        makespan = "" if makespan is None else f", makespan {makespan:+,} cycles (free {regret['free_makespan']:,})"
        console.print(
            f"pinned decisions {regret['pins']}: objective {result.objective:,} vs free optimum "
            f"{regret['free_objective']:,}; regret {regret['regret']:,}{makespan} ({proof})"
        )
    if result.explanation:
        label = "infeasible" if result.status == Status.INFEASIBLE else "note"
        console.print(f"[red]{label}:[/red] {result.explanation}")
