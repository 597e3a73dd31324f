"""Replay of one layer's mapping at both level boundaries: the makespan, the
counts and the RF accesses the referee measures (``verify`` compares them with a
result's claims; task graphs measure their tile durations with it)."""

from __future__ import annotations

from math import prod

from mapper.core.mapping import Mapping
from mapper.core.spec import Accelerator, Layer
from mapper.referee.aggregate import replay_streaming
from mapper.referee.array_replay import replay_array
from mapper.referee.decode_layer import decode_layer
from mapper.referee.executor import execute
from mapper.referee.metric_rows import LayerReplay
from mapper.referee.report import VerifyReport
from mapper.referee.reservation import layer_glb_reserved
from mapper.referee.simulator import Measurement, ScheduleViolation, simulate


def replay(schedule, accelerator: Accelerator, functional: bool = False, seed: int = 0) -> Measurement:
    """Simulate (or execute) ``schedule``; raises ScheduleViolation."""
    return execute(schedule, accelerator, seed) if functional else simulate(schedule, accelerator)


MAX_REPLAY_ITERATIONS = 100_000  # DRAM x GLB iterations replayed op by op: about half a minute
MAX_DRAM_ITERATIONS = 50_000  # DRAM iterations, even when most repeat an earlier one exactly (about 20 s)


def _refuse(count: int, what: str, most: int) -> ScheduleViolation:
    return ScheduleViolation(
        f"not replayed: {count:,} {what}, the referee replays at most {most:,}; the answer is not verified"
    )


def replay_layer(layer: Layer, accelerator: Accelerator, mapping: Mapping, functional=False, seed=0) -> LayerReplay:
    """Replay ``mapping`` (raises ScheduleViolation) at both levels; the latency is
    the replay's makespan, the energy the access energies of the measured counts.
    A functional replay moves values op by op through the whole schedule; otherwise
    DRAM iterations that repeat an earlier one exactly are applied at once
    (``mapper.referee.aggregate``)."""
    if functional:
        if mapping.nest_iterations > MAX_REPLAY_ITERATIONS:
            raise _refuse(mapping.nest_iterations, "iterations of the DRAM and GLB loops", MAX_REPLAY_ITERATIONS)
        schedule = decode_layer(layer, accelerator, mapping)
        measured = replay(schedule, accelerator, functional, seed)
        reserved, repeated = layer_glb_reserved(schedule, accelerator), 0
    else:
        dram = prod(mapping.factors["DRAM"].values())
        if dram > MAX_DRAM_ITERATIONS:
            raise _refuse(dram, "iterations of the DRAM loops", MAX_DRAM_ITERATIONS)
        streamed = replay_streaming(layer, accelerator, mapping, limit=MAX_REPLAY_ITERATIONS)
        measured, reserved, repeated = streamed.measured, streamed.glb.reserved(accelerator), streamed.repeated
    array = replay_array(layer, mapping, limit=MAX_REPLAY_ITERATIONS)
    levels = accelerator.levels
    latency = measured.makespan
    energy = (
        levels["DRAM"].energy_fj_per_word * measured.dram_words
        + levels["GLB"].energy_fj_per_word * (measured.dram_words + measured.port_words)
        + levels["RF"].energy_fj_per_word * array.rf_accesses
        + accelerator.mac_energy_fj * measured.macs
    )
    return LayerReplay(measured, reserved, array, latency, energy, repeated)


def replayed(report: VerifyReport, path: str, run, name: str = "mapping: the schedule replays without violation"):
    """``run()``'s replay, its verdict a row ``name`` covering the whole mapping at ``path``;
    None on a violation."""
    try:
        measured = run()
    except ScheduleViolation as err:
        report.fail(name, "valid", str(err), path)
        return None
    report.check(name, "valid", "valid", fields=path)
    return measured
