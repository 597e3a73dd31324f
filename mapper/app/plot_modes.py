"""The per-mode plots of result files (the ``plot`` extra: matplotlib);
``mapper.app.modes`` names the plot kinds of each mode, ``fusesat plot``
draws them."""

from __future__ import annotations

from pathlib import Path

from mapper.core.errors import SpecError
from mapper.solve.partition import BASELINE_LABELS

# One colour per thing across every plot: methods, and tensor kinds in the buffer plots.
COLOURS = {
    "layer-by-layer": "tab:grey",
    "fused": "tab:blue",
    "weights": "tab:orange",
    "input": "tab:green",
    "intermediate": "tab:purple",
    "output": "tab:red",
}


def thousands(ax, axis: str = "y") -> None:
    """Tick labels with thousands separators."""
    from matplotlib.ticker import FuncFormatter

    getattr(ax, f"{axis}axis").set_major_formatter(FuncFormatter(lambda value, _: f"{value:,.0f}"))


def label_bars(ax, bars, reference: float | None = None) -> None:
    """Each bar's value on it, and its change against ``reference`` when given."""
    for bar in bars:
        value = bar.get_height()
        text = f"{value:,.0f}"
        if reference:
            text += f"\n({value / reference - 1:+.0%})"
        ax.annotate(text, (bar.get_x() + bar.get_width() / 2, value), ha="center", va="bottom", fontsize=7)


def pyplot(source: str):
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise SpecError(source, "<plot>", "matplotlib is not installed", "pip install -e '.[plot]'") from None
    return plt


def plot_taskgraph(result: dict, out: Path, source: str) -> None:
    """Gantt chart of the tasks on their clusters, and live memory over time."""
    plt = pyplot(source)
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
    memory.set_xlabel("time (cycles)")
    thousands(memory)
    thousands(memory, "x")
    memory.set_title(f"peak memory {result['metrics']['peak_memory_words']:,} words")
    fig.tight_layout()
    fig.savefig(out)
    plt.close(fig)


def plot_fused(result: dict, out: Path, source: str) -> None:
    """Fused vs layer-by-layer: DRAM words per layer, and total latency, with values and changes."""
    plt = pyplot(source)
    baseline = result["details"]["baseline_layer_by_layer"]
    names = [row["layer"] for row in baseline["layers"]]
    fig, (dram, latency) = plt.subplots(1, 2, figsize=(11, 4.5))
    single_dram = [row["dram_words"] for row in baseline["layers"]]
    positions = range(len(names))
    single = dram.bar(
        [p - 0.2 for p in positions], single_dram, 0.4, label="layer-by-layer", color=COLOURS["layer-by-layer"]
    )
    label_bars(dram, single)
    if "dram_words_per_layer" in result["metrics"]:  # row stripes count DRAM words per layer; 2-D tiles per group
        fused_dram = result["metrics"]["dram_words_per_layer"]
        fused = dram.bar([p + 0.2 for p in positions], fused_dram, 0.4, label="fused", color=COLOURS["fused"])
        label_bars(dram, fused)
    dram.set_xticks(list(positions), names, rotation=30, ha="right", fontsize=8)
    dram.set_ylabel("DRAM traffic (words)")
    total_single, total_fused = baseline["dram_words"], result["metrics"]["dram_words"]
    dram.set_title(
        f"DRAM words per layer: {total_fused:,} fused vs {total_single:,} ({total_fused / total_single - 1:+.0%})"
    )
    thousands(dram)
    dram.legend()
    before, after = baseline["latency_cycles"], result["metrics"]["latency_cycles"]
    bars = latency.bar(
        ["layer-by-layer", "fused"], [before, after], color=[COLOURS["layer-by-layer"], COLOURS["fused"]]
    )
    label_bars(latency, bars[:1])
    label_bars(latency, bars[1:], reference=before)
    latency.set_ylabel("latency (cycles)")
    latency.set_title("latency")
    thousands(latency)
    fig.suptitle(f"{result['problem']} on {result['accelerator']}")
    fig.tight_layout()
    fig.savefig(out)
    plt.close(fig)


def plot_network(result: dict, out: Path, source: str) -> None:
    """The optimal partition against layer-by-layer, greedy fusion and the
    compulsory limits: DRAM words and latency, with each group's share."""
    plt = pyplot(source)
    details = result["details"]
    rows = [("optimal", result["metrics"])]
    rows += [(BASELINE_LABELS[name].split(" (")[0], summary) for name, summary in details["baselines"].items()]
    rows.append(("compulsory", details["compulsory"]))
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    for ax, key, title in zip(
        axes, ("dram_words", "latency_cycles"), ("DRAM (words)", "latency (cycles)"), strict=True
    ):
        bars = ax.bar(
            [label for label, _ in rows], [values[key] for _, values in rows], color="lightgrey", edgecolor="black"
        )
        bottom = 0
        for group in result["mapping"]["groups"]:  # the optimum's bar, split by group
            value = group["metrics"][key]
            colour = COLOURS["fused"] if len(group["layers"]) > 1 else COLOURS["layer-by-layer"]
            ax.bar(0, value, bottom=bottom, color=colour, width=0.8)
            bottom += value
        label_bars(ax, bars)
        ax.set_ylabel(title)
        thousands(ax)
        ax.set_title(f"{title} (blue: fused groups)")
        ax.tick_params(axis="x", labelrotation=20)
    fig.suptitle(
        f"{result['problem']} on {result['accelerator']}: {result['metrics']['groups']} groups, gap {result['gap']:.2%}"
    )
    fig.tight_layout()
    fig.savefig(out)
    plt.close(fig)


def tensor_kind(schedule, tensor: str) -> str:
    """weights, input, intermediate or output: the role a tensor plays in the schedule."""
    produced = {roles["O"] for roles in schedule.roles.values()}
    if tensor.endswith(".W") or tensor == "W":
        return "weights"
    if tensor in schedule.dram_outputs:
        return "output"
    return "intermediate" if tensor in produced else "input"


def buffer_capacity(result: dict, source: str) -> int | None:
    """The words of the buffer the schedule fills: the GLB, or a task graph's shared memory (None: unbounded)."""
    from mapper.app.verify_file import resolve_problem_file
    from mapper.io.loading import load_problem

    problem = load_problem(resolve_problem_file(result, Path(source)))
    if problem.accelerator is None:
        return problem.taskgraph.platform.memory_words
    return problem.accelerator.levels["GLB"].capacity_words_total


def plot_glb(result: dict, out: Path, source: str) -> None:
    """On-chip words over time, stacked by tensor kind, replayed from the result's schedule."""
    from mapper.app.export import result_schedule
    from mapper.referee.schedule import ALLOCATING
    from mapper.referee.simulator import ORDER

    plt = pyplot(source)
    schedule = result_schedule(result, source)
    kinds = ("weights", "input", "intermediate", "output")
    live = dict.fromkeys(kinds, 0)
    times, series = [0], {k: [0] for k in kinds}
    for op in sorted(schedule.ops, key=lambda o: (o.start, ORDER[o.kind])):
        if op.kind not in (*ALLOCATING, "free") or op.buffer != "GLB" or op.tensor in schedule.uncounted:
            continue
        live[tensor_kind(schedule, op.tensor)] += op.box.words if op.kind != "free" else -op.box.words
        times.append(op.start)
        for k in kinds:
            series[k].append(live[k])
    fig, ax = plt.subplots(figsize=(12, 4))
    colours = [COLOURS[k] for k in kinds]
    ax.stackplot(times, [series[k] for k in kinds], labels=kinds, step="post", colors=colours)
    capacity = buffer_capacity(result, source)
    if capacity is not None:
        ax.axhline(capacity, color="black", linestyle="--", linewidth=1, label=f"capacity {capacity:,} words")
    ax.set_xlabel("time (cycles)")
    ax.set_ylabel("on-chip words")
    thousands(ax)
    thousands(ax, "x")
    peak = max(sum(series[k][i] for k in kinds) for i in range(len(times)))
    ax.set_title(
        f"{result['problem']} on {result['accelerator']}: buffer occupancy by tensor kind, peak {peak:,} words"
    )
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1), fontsize=8)
    fig.tight_layout()
    fig.savefig(out)
    plt.close(fig)
