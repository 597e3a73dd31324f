"""Plots of results (the ``plot`` extra: matplotlib). Used by ``fusesat plot``
(the mode's plots, ``mapper.app.plot_modes``) and ``fusesat pareto``."""

from __future__ import annotations

from pathlib import Path

from mapper.app.modes import MODES
from mapper.app.plot_modes import COLOURS, pyplot, thousands
from mapper.core.errors import SpecError

AXIS_LABELS = {
    "makespan": "makespan (cycles)",
    "peak_memory_words": "peak memory (words)",
    "latency_cycles": "latency (cycles)",
    "dram_words": "DRAM traffic (words)",
}


def plot_pareto(points: list[dict], title: str, out: Path, source: str, axes=("makespan", "peak_memory_words")) -> None:
    plt = pyplot(source)
    x_key, y_key = axes
    fig, ax = plt.subplots(figsize=(6, 4))
    xs = [p[x_key] for p in points]
    ys = [p[y_key] for p in points]
    ax.step(xs, ys, where="post", color="grey", linewidth=0.8)
    for point in points:
        certified = point["certified"]
        ax.scatter(
            point[x_key],
            point[y_key],
            marker="o" if certified else "x",
            color=COLOURS["fused"] if certified else COLOURS["output"],
            zorder=3,
        )
    ax.set_xlabel(AXIS_LABELS.get(x_key, x_key))
    ax.set_ylabel(AXIS_LABELS.get(y_key, y_key))
    thousands(ax)
    thousands(ax, "x")
    ax.set_title(f"{title}: o certified, x not proven")
    fig.tight_layout()
    fig.savefig(out)
    plt.close(fig)


def plot_result(result: dict, out: Path, source: str, kind: str | None = None) -> None:
    """The mode's default plot, or ``kind`` (gantt, bars, glb)."""
    if result.get("mapping") is None:
        raise SpecError(source, "mapping", "the result has no schedule to plot", "plot a solved result")
    handlers = MODES.get(result["mode"])
    allowed = tuple(handlers.plots) if handlers else ()
    kind = kind or (allowed[0] if allowed else None)
    if kind not in allowed:
        raise SpecError(
            source, "mode", f"no {kind} plot for mode {result['mode']!r}", f"use --kind {' or '.join(allowed)}"
        )
    handlers.plots[kind](result, out, source)
