"""Plots of results (the ``plot`` extra: matplotlib). Used by ``fusesat plot``."""

from __future__ import annotations

from pathlib import Path

from mapper.errors import SpecError


def _pyplot(source: str):
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise SpecError(source, "<plot>", "matplotlib is not installed", "pip install -e '.[plot]'") from None
    return plt


def plot_taskgraph(result: dict, out: Path, source: str) -> None:
    """Gantt chart of the tasks on their clusters, and live memory over time."""
    plt = _pyplot(source)
    schedule = result["mapping"]
    clusters = sorted({slot["processor"] for slot in schedule.values()})
    layers = sorted({task.split("#")[0] for task in schedule})
    colours = {layer: plt.cm.tab10(i % 10) for i, layer in enumerate(layers)}
    fig, (gantt, memory) = plt.subplots(2, 1, figsize=(10, 6), sharex=True, height_ratios=[2, 1])
    for task, slot in schedule.items():
        row = clusters.index(slot["processor"])
        layer = task.split("#")[0]
        gantt.barh(row, slot["end"] - slot["start"], left=slot["start"], color=colours[layer], edgecolor="black")
        gantt.text((slot["start"] + slot["end"]) / 2, row, task, ha="center", va="center", fontsize=7)
    gantt.set_yticks(range(len(clusters)), clusters)
    gantt.set_title(f"{result['problem']}: makespan {result['metrics']['makespan']:,} cycles")
    handles = [plt.Rectangle((0, 0), 1, 1, color=colours[layer]) for layer in layers]
    gantt.legend(handles, layers, loc="upper right", fontsize=8)
    times, words = zip(*result["metrics"]["memory_profile"], strict=True)
    memory.step(times, words, where="post")
    memory.set_ylabel("live words")
    memory.set_xlabel("cycle")
    memory.set_title(f"peak memory {result['metrics']['peak_memory_words']:,} words")
    fig.tight_layout()
    fig.savefig(out)
    plt.close(fig)


def plot_fused(result: dict, out: Path, source: str) -> None:
    """Fused vs layer-by-layer: DRAM words and latency, per layer and in total."""
    plt = _pyplot(source)
    baseline = result["details"]["baseline_layer_by_layer"]
    names = [row["layer"] for row in baseline["layers"]]
    fig, (dram, latency) = plt.subplots(1, 2, figsize=(11, 4))
    single_dram = [row["dram_words"] for row in baseline["layers"]]
    fused_dram = result["metrics"]["dram_words_per_layer"]
    positions = range(len(names))
    dram.bar([p - 0.2 for p in positions], single_dram, 0.4, label="layer-by-layer")
    dram.bar([p + 0.2 for p in positions], fused_dram, 0.4, label="fused")
    dram.set_xticks(list(positions), names, rotation=30, ha="right", fontsize=8)
    dram.set_title("DRAM words per layer")
    dram.legend()
    latency.bar(["layer-by-layer", "fused"], [baseline["latency_cycles"], result["metrics"]["latency_cycles"]])
    latency.set_title("latency (cycles)")
    fig.suptitle(result["problem"])
    fig.tight_layout()
    fig.savefig(out)
    plt.close(fig)


def plot_result(result: dict, out: Path, source: str) -> None:
    if result.get("mapping") is None:
        raise SpecError(source, "mapping", "the result has no schedule to plot", "plot a solved result")
    if result["mode"] == "taskgraph":
        plot_taskgraph(result, out, source)
    elif result["mode"] == "fused":
        plot_fused(result, out, source)
    else:
        raise SpecError(source, "mode", f"no plot for mode {result['mode']!r} yet", "plot a fused or task-graph result")
