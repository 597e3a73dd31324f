"""The per-mode plots of result files (the ``plot`` extra: matplotlib);
``mapper.app.modes`` names the plot kinds of each mode, ``fusesat plot``
draws them."""

from __future__ import annotations

from pathlib import Path

from mapper.core.errors import SpecError
from mapper.solve.partition import BASELINE_LABELS


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
    memory.set_xlabel("cycle")
    memory.set_title(f"peak memory {result['metrics']['peak_memory_words']:,} words")
    fig.tight_layout()
    fig.savefig(out)
    plt.close(fig)


def plot_fused(result: dict, out: Path, source: str) -> None:
    """Fused vs layer-by-layer: DRAM words and latency, per layer and in total."""
    plt = pyplot(source)
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


def plot_network(result: dict, out: Path, source: str) -> None:
    """The optimal partition against layer-by-layer, greedy fusion and the
    compulsory limits: DRAM words and latency, with each group's share."""
    plt = pyplot(source)
    details = result["details"]
    rows = [("optimal", result["metrics"])]
    rows += [(BASELINE_LABELS[name].split(" (")[0], summary) for name, summary in details["baselines"].items()]
    rows.append(("compulsory", details["compulsory"]))
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    for ax, key, title in zip(axes, ("dram_words", "latency_cycles"), ("DRAM words", "latency (cycles)"), strict=True):
        ax.bar([label for label, _ in rows], [values[key] for _, values in rows], color="lightgrey", edgecolor="black")
        bottom = 0
        for group in result["mapping"]["groups"]:  # the optimum's bar, split by group
            value = group["metrics"][key]
            ax.bar(0, value, bottom=bottom, color="tab:blue" if len(group["layers"]) > 1 else "tab:grey", width=0.8)
            bottom += value
        ax.set_title(f"{title} (blue: fused groups)")
        ax.tick_params(axis="x", labelrotation=20)
    fig.suptitle(f"{result['problem']}: {result['metrics']['groups']} groups, gap {result['gap']:.2%}")
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


def plot_glb(result: dict, out: Path, source: str) -> None:
    """On-chip words over time, stacked by tensor kind, replayed from the result's schedule."""
    from mapper.app.export import result_schedule
    from mapper.referee.simulator import ORDER

    plt = pyplot(source)
    schedule = result_schedule(result, source)
    kinds = ("weights", "input", "intermediate", "output")
    live = dict.fromkeys(kinds, 0)
    times, series = [0], {k: [0] for k in kinds}
    for op in sorted(schedule.ops, key=lambda o: (o.start, ORDER[o.kind])):
        if op.kind not in ("load", "alloc", "free") or op.tensor in schedule.uncounted:
            continue
        live[tensor_kind(schedule, op.tensor)] += op.box.words if op.kind != "free" else -op.box.words
        times.append(op.start)
        for k in kinds:
            series[k].append(live[k])
    fig, ax = plt.subplots(figsize=(10, 4))
    ax.stackplot(times, [series[k] for k in kinds], labels=kinds, step="post")
    ax.set_xlabel("cycle")
    ax.set_ylabel("on-chip words")
    ax.set_title(f"{result['problem']}: buffer occupancy by tensor kind")
    ax.legend(loc="upper right")
    fig.tight_layout()
    fig.savefig(out)
    plt.close(fig)
