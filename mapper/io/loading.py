"""YAML loading and validation of accelerators and problems (networks: ``mapper.io.networks``).

Every error is a ``SpecError`` whose text names the file, the YAML path and
the fix, e.g. ``resnet18.yaml: layers[3].stride: must be a positive integer,
got 0; use 1 or more``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mapper.core.enums import Factors, Mode
from mapper.core.group import build_group
from mapper.core.problem import Problem
from mapper.core.spec import TENSORS, Accelerator, MemoryLevel, Network, ObjectiveWeights, SolverSettings
from mapper.io.library import exists, resolve_reference
from mapper.io.limits import (
    MAX_BANDWIDTH,
    MAX_PE,
    MAX_SEED,
    MAX_WEIGHT,
    MAX_WORD_BITS,
    MAX_WORDS,
    MAX_WORKERS,
    check_problem,
)
from mapper.io.networks import parse_network
from mapper.io.pins import PinContext
from mapper.io.problem_sections import (
    MODE_RULES,
    parse_fusion,
    parse_layer_range,
    parse_partition,
    parse_pins,
    parse_taskgraph,
)
from mapper.io.yaml_fields import Fields, read_yaml, show_value

PROBLEM_MODES = tuple(mode.value for mode in Mode)


# --------------------------------------------------------------------------- accelerators


def parse_accelerator(data: Any, source: str) -> Accelerator:
    top = Fields(data, source, "")
    top.reject_unknown({"name", "word_bits", "pe_array", "mac_energy_pj", "levels", "description"})
    array = top.sub("pe_array")
    levels_raw = top.sub("levels")
    levels: dict[str, MemoryLevel] = {}
    for name in ("DRAM", "GLB", "RF"):
        lv = levels_raw.sub(name)
        lv.reject_unknown({"capacity_words", "bandwidth_words_per_cycle", "energy_pj_per_word", "double_buffered"})
        if name == "DRAM":
            capacity = None
        elif isinstance(lv.raw("capacity_words"), dict):
            split = lv.sub("capacity_words")
            split.reject_unknown(set(TENSORS))
            capacity = {t: split.integer(t, maximum=MAX_WORDS) for t in TENSORS}
        else:
            capacity = lv.integer("capacity_words", maximum=MAX_WORDS)
        levels[name] = MemoryLevel(
            name=name,
            capacity_words=capacity,
            bandwidth_words_per_cycle=lv.integer("bandwidth_words_per_cycle", 1, maximum=MAX_BANDWIDTH),
            energy_fj_per_word=lv.energy_fj("energy_pj_per_word"),
            double_buffered=lv.boolean("double_buffered", False) if name != "DRAM" else False,
        )
    for key in levels_raw.data:
        if key not in levels:
            raise levels_raw.fail(str(key), "unknown level", "levels are DRAM, GLB and RF")
    return Accelerator(
        name=top.text("name"),
        word_bits=top.integer("word_bits", maximum=MAX_WORD_BITS),
        pe_rows=array.integer("rows", maximum=MAX_PE),
        pe_cols=array.integer("cols", maximum=MAX_PE),
        mac_energy_fj=top.energy_fj("mac_energy_pj"),
        levels=levels,
    )


# --------------------------------------------------------------------------- loading files


def load_accelerator(path: Path | str) -> Accelerator:
    path = Path(path)
    return parse_accelerator(read_yaml(path), str(path))


def load_network(path: Path | str) -> Network:
    path = Path(path)
    return parse_network(read_yaml(path), str(path))


def _load_referenced(f: Fields, key: str, base: Path, folder: str, parse):
    path = resolve_reference(f.text(key), base, folder)
    if not exists(path):
        looked = str(path) if len(str(path)) <= 200 else str(path)[:197] + "..."
        raise f.fail(
            key, f"{show_value(f.raw(key))} not found (looked at {looked})", f"name a file in problems/{folder}/"
        )
    return parse(read_yaml(path), str(path))


def load_problem(path: Path | str) -> Problem:
    path = Path(path)
    return parse_problem(read_yaml(path), path)


def parse_solver(f: Fields) -> SolverSettings:
    """A ``solver:`` section (of a problem or a suite): time limit, workers, seed, deterministic
    time, and the factor space searched (``factors``: uneven or divisors)."""
    f.reject_unknown({"time_limit_s", "workers", "seed", "deterministic_time", "factors"})
    factors = f.text("factors", Factors.UNEVEN.value)
    if factors not in [x.value for x in Factors]:
        raise f.fail("factors", f"unknown factor space {factors!r}", "use uneven or divisors")
    return SolverSettings(
        factors=Factors(factors),
        time_limit_s=f.seconds("time_limit_s", 60.0),
        workers=f.integer("workers", 2, maximum=MAX_WORKERS),
        seed=f.integer("seed", 0, minimum=0, maximum=MAX_SEED),
        deterministic_time=f.seconds("deterministic_time", None, what="deterministic seconds"),
    )


def parse_problem(data: Any, path: Path, source: str | None = None) -> Problem:
    """A problem from its YAML mapping; relative network/accelerator paths are
    resolved against ``path``'s folder; errors name ``source`` (default: path)."""
    source = source or str(path)
    top = Fields(data, source, "")
    top.reject_unknown(
        {
            "name",
            "mode",
            "network",
            "layers",
            "accelerator",
            "objective",
            "solver",
            "description",
            "fusion",
            "taskgraph",
            "glb_words",
            "pe_array",
            "pin",
            "partition",
        }
    )
    mode = top.text("mode")
    if mode not in PROBLEM_MODES:
        raise top.fail("mode", f"unknown mode {mode!r}", f"use one of {', '.join(PROBLEM_MODES)}")
    mode = Mode(mode)
    rules = MODE_RULES[mode]
    network = _load_referenced(top, "network", path, "networks", parse_network)
    if mode == Mode.TASKGRAPH and not top.has("accelerator"):
        accelerator = None  # the task-graph platform describes the PE clusters and memory
    else:
        accelerator = _load_referenced(top, "accelerator", path, "accelerators", parse_accelerator)
        if top.has("glb_words") and top.raw("glb_words") is not None:
            accelerator = accelerator.with_glb_words(top.integer("glb_words", maximum=MAX_WORDS))
        if top.has("pe_array") and top.raw("pe_array") is not None:
            rows, cols = top.pair("pe_array", maximum=MAX_PE)
            accelerator = accelerator.with_array(rows, cols)
        if rules.fused_groups and accelerator.levels["GLB"].is_split:
            raise top.fail(
                "accelerator",
                f"the GLB of {accelerator.name} is split per tensor (levels.GLB.capacity_words); "
                "fused groups need one shared GLB capacity",
                "use an accelerator with a single capacity_words",
            )
    names = parse_layer_range(top, network) if mode == Mode.NETWORK else top.raw("layers")
    if not isinstance(names, list) or not names or not all(isinstance(name, str) for name in names):
        raise top.fail("layers", "must be a non-empty list of layer names")
    for i, name in enumerate(names):
        if name not in network.layers:
            raise top.fail(f"layers[{i}]", f"no layer {name!r} in network {network.name}", "check the name")
    if mode == Mode.LAYER:
        if len(names) != 1:
            raise top.fail("layers", f"mode 'layer' maps one layer, got {len(names)}", "list exactly one layer")
        kind = network.layers[names[0]].kind
        if kind == "add":
            raise top.fail("layers[0]", "an element-wise add has no loop nest to map alone", "pick a conv layer")
    policy = taskgraph = None
    if rules.chain:
        build_group(tuple(network.layers[n] for n in names), source)
    if mode == Mode.TASKGRAPH:
        taskgraph = parse_taskgraph(top.sub("taskgraph"), names, accelerator)
    tiles = None
    if mode == Mode.FUSED:
        layers = tuple(network.layers[n] for n in names)
        policy, tiles = parse_fusion(top.sub("fusion", {}), layers)
    weights = top.sub("objective", {"latency": 1, "dram_words": 1})
    weights.reject_unknown({"latency", "dram_words", "energy"})
    objective = ObjectiveWeights(
        latency=weights.integer("latency", 0, minimum=0, maximum=MAX_WEIGHT),
        dram_words=weights.integer("dram_words", 0, minimum=0, maximum=MAX_WEIGHT),
        energy=weights.integer("energy", 0, minimum=0, maximum=MAX_WEIGHT),
    )
    if rules.fused_groups and objective.energy and tiles is None:
        raise weights.fail("energy", f"energy is not modelled in {mode} mode yet (fused groups)", "set it to 0")
    if objective.latency + objective.dram_words + objective.energy == 0:
        raise top.fail("objective", "all weights are zero", "give latency, dram_words or energy a positive weight")
    solver = parse_solver(top.sub("solver", {}))
    context = PinContext(network, names, accelerator.pe_cols if accelerator else 0, taskgraph, tiles)
    pins = parse_pins(top, mode, context) if top.has("pin") else None
    if top.has("partition") and mode != Mode.NETWORK:
        raise top.fail("partition", f"only network mode searches partitions, this is {mode} mode", "remove it")
    partition = parse_partition(top.sub("partition", {})) if mode == Mode.NETWORK else None
    problem = Problem(
        name=top.text("name", path.stem),
        mode=mode,
        network=network,
        layer_names=tuple(names),
        accelerator=accelerator,
        objective=objective,
        solver=solver,
        source=source,
        fusion_policy=policy,
        tiles=tiles,
        taskgraph=taskgraph,
        pins=pins,
        partition=partition,
    )
    check_problem(top, problem)
    return problem
