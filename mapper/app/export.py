"""Exports of results: Chrome / Perfetto traces and Timeloop mappings.

The trace is built from the very schedule the referee replays (the decoders
of ``mapper.referee.verify``'s inputs): one track per PE set and one for the
DMA channel, with complete events ("ph": "X") for computes and transfers, and
a counter of live GLB words. Trace timestamps are cycles written as
microseconds (1 cycle = 1 us in the viewer).
"""

from __future__ import annotations

import json
from math import prod
from pathlib import Path

import yaml

from mapper.app.modes import handlers_for
from mapper.app.options import write_output
from mapper.app.verify_file import resolve_problem_file
from mapper.core.enums import Mode
from mapper.core.errors import SpecError
from mapper.core.mapping import Mapping
from mapper.core.spec import DIMS, ORDERED_LEVELS
from mapper.io.loading import load_problem
from mapper.referee.layer_replay import MAX_REPLAY_ITERATIONS
from mapper.referee.schedule import ALLOCATING, Schedule
from mapper.referee.simulator import ORDER

TIMELOOP_DIMS = {"N": "N", "K": "M", "C": "C", "P": "P", "Q": "Q", "R": "R", "S": "S"}


def result_schedules(result: dict, source: str) -> list[tuple[str, Schedule]]:
    """Decode the schedules of a result file: one, or one per group of a
    network result (labelled with the group's layers)."""
    if result.get("mapping") is None:
        raise SpecError(source, "mapping", "the result has no schedule", "export a solved result")
    handlers = handlers_for(result["mode"], source)
    layer_mappings = [result["mapping"]] if result["mode"] == Mode.LAYER else []
    if result["mode"] == Mode.NETWORK:
        layer_mappings = [g["mapping"] for g in result["mapping"]["groups"] if g["model"] == Mode.LAYER]
    for mapping in layer_mappings:  # decoding op by op: the referee's limit, so nothing runs for hours
        iterations = Mapping.from_dict(mapping).nest_iterations
        if iterations > MAX_REPLAY_ITERATIONS:
            problem = f"a layer mapping of {iterations:,} DRAM x GLB iterations; schedules are decoded op by op"
            problem += f" up to {MAX_REPLAY_ITERATIONS:,}"
            raise SpecError(source, "mapping", problem, "trace or plot a mapping with fewer DRAM and GLB iterations")
    return handlers.schedules(result, load_problem(resolve_problem_file(result, Path(source))))


def result_schedule(result: dict, source: str) -> Schedule:
    """Decode the schedule of a layer, fused or task-graph result file."""
    if result.get("mapping") is None:
        raise SpecError(source, "mapping", "the result has no schedule", "export a solved result")
    if result["mode"] == Mode.NETWORK:
        raise SpecError(source, "mode", "a network result has one schedule per group", "use result_schedules")
    [(_, schedule)] = result_schedules(result, source)
    return schedule


def chrome_trace(schedules: list[tuple[str, Schedule]]) -> dict:
    """One trace process per schedule; schedules run one after another (the
    groups of a network), each starting when the previous timeline ends."""
    events, offset = [], 0
    for pid, (label, schedule) in enumerate(schedules, start=1):
        events += _trace_events(schedule, pid, offset)
        events.append({"ph": "M", "name": "process_name", "pid": pid, "args": {"name": label}})
        offset += max((op.end for op in schedule.ops), default=0)
    return {"traceEvents": events, "displayTimeUnit": "ns", "otherData": {"time_unit": "1 us = 1 cycle"}}


def _trace_events(schedule: Schedule, pid: int, offset: int) -> list[dict]:
    events, tracks = [], {}

    def track(name: str) -> int:
        if name not in tracks:
            tracks[name] = len(tracks) + 1
            events.append({"ph": "M", "name": "thread_name", "pid": pid, "tid": tracks[name], "args": {"name": name}})
        return tracks[name]

    live, counter = 0, []
    for op in sorted(schedule.ops, key=lambda o: (o.start, ORDER[o.kind])):  # the simulator's order
        if op.kind == "compute":
            r0, r1, c0, c1 = op.pes
            tid = track(f"PEs rows {r0}-{r1 - 1} cols {c0}-{c1 - 1}")
            events.append(
                {
                    "ph": "X",
                    "name": f"{op.layer} {op.work}",
                    "cat": "compute",
                    "pid": pid,
                    "tid": tid,
                    "ts": offset + op.start,
                    "dur": op.end - op.start,
                    "args": {"macs": op.work.words},
                }
            )
        elif op.kind in ("load", "store", "fill", "drain"):
            channel = "DMA" if op.kind in ("load", "store") else "GLB port"
            events.append(
                {
                    "ph": "X",
                    "name": f"{op.kind} {op.tensor}{op.box}",
                    "cat": channel.lower().replace(" ", "_"),
                    "pid": pid,
                    "tid": track(channel),
                    "ts": offset + op.start,
                    "dur": op.end - op.start,
                    "args": {"words": op.box.words},
                }
            )
        if op.buffer != "GLB" or op.tensor in schedule.uncounted:
            continue
        if op.kind in ALLOCATING:
            live += op.box.words
            counter.append((op.start, live))
        elif op.kind == "free":
            live -= op.box.words
            counter.append((op.start, live))
    events += [{"ph": "C", "name": "GLB words", "pid": pid, "ts": offset + t, "args": {"live": w}} for t, w in counter]
    return events


# The level between the GLB and the PEs that a two-axis unrolling needs (Timeloop's
# Eyeriss example: the GLB fans out over PE columns, a DummyBuffer per column over its rows).
TIMELOOP_COLUMN_LEVEL = "DummyBuffer"
_TIMELOOP_ORDER = [d for d in DIMS if d in TIMELOOP_DIMS]  # DIMS without G


def _factor_text(level_factors: dict) -> str:
    return " ".join(f"{TIMELOOP_DIMS[d]}={level_factors[d]}" for d in _TIMELOOP_ORDER)


def _temporal(target: str, level_factors: dict, order) -> dict:
    """Timeloop lists a permutation innermost first; ``order`` is outermost first."""
    permutation = "".join(TIMELOOP_DIMS[d] for d in reversed(order) if d in TIMELOOP_DIMS)
    return {"target": target, "type": "temporal", "factors": _factor_text(level_factors), "permutation": permutation}


def _spatial(target: str, level_factors: dict, x_dims: list[str]) -> dict:
    """``x_dims`` before the split (PE columns, X), the rest after it (rows, Y)."""
    ordered = x_dims + [d for d in _TIMELOOP_ORDER if d not in x_dims]
    permutation = "".join(TIMELOOP_DIMS[d] for d in ordered)
    return {
        "target": target,
        "type": "spatial",
        "factors": _factor_text(level_factors),
        "permutation": permutation,
        "split": len(x_dims),
    }


def timeloop_mapping(result: dict, source: str) -> dict:
    """A single-layer mapping in Timeloop's mapping YAML layout: temporal factors
    and permutations (innermost first) at DRAM, GLB and RF, spatial factors under
    the GLB with the PE-column dims before the split. A mapping that unrolls a dim
    on both PE rows and cols gets two spatial directives instead: the cols under
    the GLB (all X), the rows under TIMELOOP_COLUMN_LEVEL (all Y), which keeps no
    data and has no temporal loops."""
    if result.get("mode") != Mode.LAYER or result.get("mapping") is None:
        raise SpecError(
            source, "mode", "Timeloop mappings exist for solved single-layer results", "export a layer result"
        )
    factors, orders = result["mapping"]["factors"], result["mapping"]["orders"]
    if any(factors[level]["G"] > 1 for level in factors):
        raise SpecError(source, "mapping", "Timeloop's CNN problem has no groups dim", "export a layer with one group")
    covered = prod(factors[level][d] for level in factors for d in DIMS)
    if covered != result.get("metrics", {}).get("macs", covered):  # the factors cover more than the bounds
        raise SpecError(
            source,
            "mapping.factors",
            "an uneven split (a remainder tile) has no Timeloop mapping of perfect factors",
            "solve the layer with solver: {factors: divisors} to export it",
        )
    mapping = [_temporal(level, factors[level], orders[level]) for level in ORDERED_LEVELS]
    rows, cols = factors["ROW"], factors["COL"]
    if any(rows[d] > 1 and cols[d] > 1 for d in _TIMELOOP_ORDER):
        bypass = {"target": TIMELOOP_COLUMN_LEVEL, "type": "datatype", "keep": []}
        mapping += [
            _spatial("GLB", cols, _TIMELOOP_ORDER),
            _temporal(TIMELOOP_COLUMN_LEVEL, dict.fromkeys(DIMS, 1), DIMS),
            _spatial(TIMELOOP_COLUMN_LEVEL, rows, []),
            {**bypass, "bypass": ["Weights", "Inputs", "Outputs"]},
        ]
    else:
        both = {d: rows[d] * cols[d] for d in DIMS}
        mapping.append(_spatial("GLB", both, [d for d in _TIMELOOP_ORDER if cols[d] > 1]))
    mapping.append(_temporal("RF", factors["RF"], DIMS))
    return {"mapping": mapping}


def export_result(result_path: str, fmt: str, out: str) -> None:
    try:
        result = json.loads(Path(result_path).read_text())
    except (OSError, json.JSONDecodeError) as err:
        raise SpecError(
            result_path, "<file>", f"not a readable result ({err})", "pass a file from fusesat solve --json"
        ) from None
    if fmt == "chrome-trace":
        write_output(out, json.dumps(chrome_trace(result_schedules(result, result_path))), "-o/--output")
    elif fmt == "timeloop":
        write_output(out, yaml.safe_dump(timeloop_mapping(result, result_path), sort_keys=False), "-o/--output")
    else:
        raise SpecError(result_path, "--format", f"unknown format {fmt!r}", "use chrome-trace or timeloop")
