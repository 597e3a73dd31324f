"""The streaming replay of a single-layer mapping, identical DRAM iterations replayed once.

The decoder (``mapper.referee.decode_layer``) and the simulator
(``mapper.referee.simulator``) run together, one DRAM iteration at a time: the
decoder emits the iteration's ops, the simulator replays every op that starts
before the watermark T (no op decoded later starts earlier; the simulator
checks it), so the ops are replayed in the order of a replay of the whole
schedule.

Before each DRAM iteration the state of both is packed relative to it: times
minus T (an earlier time only ever meets later ones in a max or a comparison,
so it clamps to T), the boxes of each tensor minus the iteration's origin in
that tensor, the uses and computes still running after T, the ops waiting, the
output tiles already visited inside the two GLB output tiles the iteration
touches, the step to the next iteration and the extents of both (a remainder
tile of an uneven split is smaller than the others). Every rule the decoder and the
simulator apply is invariant under that translation, so two iterations with the
same packed state do the same thing, translated: the later one is applied from
the first (its measured counts added, its times shifted, its end state unpacked
at its own origin) instead of being decoded and replayed op by op. What the key
leaves out, the DRAM words of outputs stored so far, is still checked: each
partial-sum read-back of an applied iteration against the stores before it.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from math import prod

from mapper.core.box import Box
from mapper.core.mapping import Mapping
from mapper.core.spec import DIMS, RELEVANT_DIMS, Accelerator, Layer
from mapper.referee.decode_layer import ARRAY, GLB, LockStepDecoder
from mapper.referee.decoder_state import Resident
from mapper.referee.replay_state import Allocation, Measurement, ScheduleViolation
from mapper.referee.reservation import GlbTiles, glb_loads
from mapper.referee.schedule import Op, dram_iterations, operand_region
from mapper.referee.simulator import Simulator

MAX_WAITING = 4096  # ops waiting above which an iteration is not keyed (it is replayed op by op)
MAX_KEPT = 10_000  # iterations remembered for later repeats (bounds the memory of one that never repeats)


@dataclass
class StreamedReplay:
    measured: Measurement
    glb: GlbTiles = field(default_factory=GlbTiles)  # for the GLB reservation
    repeated: int = 0  # DRAM iterations applied from an identical earlier one
    one_by_one: int = 0  # GLB iterations decoded and replayed op by op


class _Frame:
    """The translation of one DRAM iteration: T, and the origin of its work and of each tensor."""

    def __init__(self, layer: Layer, work: dict, at: int, past: int | None = None):
        self.time, self.past = at, at if past is None else past  # times up to ``past`` are over
        self.work = tuple(work[d][0] for d in DIMS)
        point = {d: (work[d][0], work[d][0] + 1) for d in DIMS}
        self.tensor = {t: operand_region(layer, t, point).corner for t in layer.tensors}

    def t(self, time: int) -> int:
        return max(time, self.past) - self.time

    def box(self, tensor: str, box: Box, sign: int = -1) -> Box:
        return box.moved(self.tensor[tensor], sign)

    def tile(self, tensor: str, work: dict) -> tuple:
        """The ranges of ``tensor``'s relevant dims in ``work`` (all a resident's work is read for)."""
        return tuple(
            (d, work[d][0] - o, work[d][1] - o)
            for d, o in zip(DIMS, self.work, strict=True)
            if d in RELEVANT_DIMS[tensor]
        )

    def work_of(self, tile: tuple) -> dict:
        """A work box with ``tile``'s ranges; the other dims empty at the origin (never read)."""
        origin = dict(zip(DIMS, self.work, strict=True))
        return {d: (o, o) for d, o in origin.items()} | {d: (lo + origin[d], hi + origin[d]) for d, lo, hi in tile}

    def pack_op(self, op: Op) -> tuple:
        box = self.box(op.tensor, op.box) if op.box is not None else None
        work = op.work.moved(self.work, -1) if op.work is not None else None
        return (op.kind, op.start - self.time, op.end - self.time, op.buffer, op.tensor, box, work, op.pes, op.layer)

    def op(self, packed: tuple) -> Op:
        kind, start, end, buffer, tensor, box, work, pes, layer = packed
        box = self.box(tensor, box, 1) if box is not None else None
        work = work.moved(self.work) if work is not None else None
        return Op(kind, start + self.time, end + self.time, buffer, tensor, box, work, pes, layer)


def _pack_decoder(dec: LockStepDecoder, f: _Frame) -> tuple:
    residents = tuple(
        (
            buffer,
            t,
            f.tile(t, r.work),
            f.box(t, r.box),
            tuple(f.box(t, p) for p in r.pieces),
            f.t(r.ready),
            f.t(r.last_use),
            r.freed,
        )
        for buffer in (GLB, ARRAY)
        for t, r in dec.resident[buffer].items()
    )
    slots = tuple((b, t, tuple(sorted(f.t(x) for x in free))) for b, by in dec.slots.items() for t, free in by.items())
    return (dec.clock - f.time, f.t(dec.dma.free), f.t(dec.port.free), slots, residents)


def _unpack_decoder(dec: LockStepDecoder, packed: tuple, f: _Frame) -> None:
    clock, dma, port, slots, residents = packed
    dec.clock, dec.dma.free, dec.port.free = clock + f.time, dma + f.time, port + f.time
    for buffer, t, free in slots:
        dec.slots[buffer][t] = [x + f.time for x in free]
    dec.resident = {GLB: {}, ARRAY: {}}
    for buffer, t, work, box, pieces, ready, last_use, freed in residents:
        pieces = [f.box(t, p, 1) for p in pieces]
        box = f.box(t, box, 1)
        dec.resident[buffer][t] = Resident(f.work_of(work), box, pieces, ready + f.time, last_use + f.time, freed)


def _pack_allocation(a: Allocation, f: _Frame) -> tuple:
    uses = tuple((f.box(a.tensor, region), end - f.time) for region, end in a.uses if end > f.past)
    return (a.tensor, f.box(a.tensor, a.box), f.t(a.ready), a.produced, f.t(a.busy_until), a.dirty, uses)


def _pack_simulator(sim: Simulator, f: _Frame) -> tuple:
    allocations = tuple((b, tuple(_pack_allocation(a, f) for a in held)) for b, held in sim.allocations.items() if held)
    occupancy = tuple(sorted((b, t, w) for b, by in sim.occupancy.items() for t, w in by.items() if w))
    running = tuple(f.pack_op(op) for op in sim.active_computes if op.end > f.past)
    waiting = tuple(f.pack_op(op) for op in sim.pending)
    return (allocations, occupancy, f.t(sim.dma_free), f.t(sim.port_free), running, waiting)


def _unpack_simulator(sim: Simulator, packed: tuple, f: _Frame) -> None:
    allocations, occupancy, dma, port, running, waiting = packed
    sim.allocations = defaultdict(list)
    for buffer, held in allocations:
        for tensor, box, ready, produced, busy, dirty, uses in held:
            uses = [(f.box(tensor, region, 1), end + f.time) for region, end in uses]
            alloc = Allocation(
                tensor, f.box(tensor, box, 1), ready + f.time, produced, busy + f.time, dirty, None, uses
            )
            sim.allocations[buffer].append(alloc)
    sim.occupancy = defaultdict(lambda: defaultdict(int))
    for buffer, tensor, words in occupancy:
        sim.occupancy[buffer][tensor] = words
    sim.dma_free, sim.port_free = dma + f.time, port + f.time
    sim.active_computes = [f.op(p) for p in running]
    sim.pending = [f.op(p) for p in waiting]


@dataclass(frozen=True)
class _Repeat:
    """What one DRAM iteration did, relative to its frame."""

    decoder: tuple
    simulator: tuple
    visited: tuple  # the patterns inside the two GLB output tiles, and whether the next one was opened
    until: int
    measured: Measurement  # its makespan and GLB profile relative to T
    stored: tuple  # packed loads and stores of DRAM outputs, in replay order
    glb_loads: tuple  # (tensor, words) of each GLB load and allocation


class _Streaming:
    def __init__(self, layer: Layer, accelerator: Accelerator, mapping: Mapping, limit: int | None):
        self.layer, self.limit = layer, limit
        self.decoder = LockStepDecoder(layer, accelerator, mapping)
        self.sim = Simulator(self.decoder.schedule, accelerator)
        self.result = StreamedReplay(self.sim.measured)
        self.glb_nest = prod(mapping.factors["GLB"].values())
        self.works = list(dram_iterations(mapping, layer.bounds))

    def flush(self, until: int | None) -> list[Op]:
        replayed = self.sim.feed(self.decoder.take_ops(), until)
        for held in self.sim.allocations.values():  # uses over by ``until`` no longer matter
            for alloc in held:
                alloc.uses = [(region, end) for region, end in alloc.uses if until is None or end > until]
        self.result.glb.count(glb_loads(replayed))
        return replayed

    def visits(self, work: dict, following: dict) -> tuple[Box, Box]:
        """The GLB output tiles of ``work`` and ``following``: all the decoder may open in between."""
        return operand_region(self.layer, "O", work), operand_region(self.layer, "O", following)

    def visited(self, work: dict, following: dict) -> tuple:
        here, there = self.visits(work, following)
        patterns = self.decoder.visited_array
        return patterns.pattern(here), patterns.pattern(there), there in self.decoder.visited_glb

    def key(self, f: _Frame, work: dict, following: dict) -> tuple | None:
        if len(self.sim.pending) > MAX_WAITING:
            return None
        step = tuple(following[d][0] - work[d][0] for d in DIMS)
        shapes = tuple(hi - lo for box in (work, following) for lo, hi in box.values())  # remainder tiles differ
        packed = (_pack_decoder(self.decoder, f), _pack_simulator(self.sim, f))
        return (*packed, self.visited(work, following), step, shapes)

    def one_by_one(self, f: _Frame, work: dict, following: dict | None, keyed: bool) -> _Repeat | None:
        """Decode and replay DRAM iteration ``work``; what it did, when ``keyed``."""
        self.result.one_by_one += self.glb_nest
        if self.limit is not None and self.result.one_by_one > self.limit:
            raise ScheduleViolation(
                f"not replayed: over {self.limit:,} iterations of the DRAM and GLB loops would be replayed op by op "
                "(the DRAM iterations do not repeat exactly); the answer is not verified"
            )
        total, self.sim.measured = self.sim.measured, Measurement()
        self.decoder.step(work, following)
        replayed = self.flush(self.decoder.watermark())
        part, self.sim.measured = self.sim.measured, total
        total.absorb(part)
        if not keyed:
            return None
        part.makespan -= f.time
        part.glb_profile = {t - f.time: w for t, w in part.glb_profile.items()}
        after = _Frame(self.layer, work, f.time, self.sim.replayed_until)  # the next iteration's past
        return _Repeat(
            _pack_decoder(self.decoder, after),
            _pack_simulator(self.sim, after),
            self.visited(work, following),
            self.sim.replayed_until - f.time,
            part,
            tuple(f.pack_op(op) for op in replayed if op.tensor in self.sim.written and op.kind in ("load", "store")),
            glb_loads(replayed),
        )

    def repeat(self, f: _Frame, work: dict, following: dict, done: _Repeat) -> None:
        """Apply ``done`` (an identical earlier iteration) to DRAM iteration ``work``."""
        _unpack_decoder(self.decoder, done.decoder, f)
        _unpack_simulator(self.sim, done.simulator, f)
        here, there = self.visits(work, following)
        self.decoder.visited_array.restore(here, done.visited[0])
        self.decoder.visited_array.restore(there, done.visited[1])
        if done.visited[2]:
            self.decoder.visited_glb.add(there)
        self.sim.replayed_until = done.until + f.time
        for packed in done.stored:
            op = f.op(packed)
            (self.sim.check_stored if op.kind == "load" else self.sim.mark_stored)(op)
        self.sim.measured.absorb(done.measured, f.time)
        self.result.glb.count(done.glb_loads)
        self.result.repeated += 1

    def run(self, memo: bool) -> StreamedReplay:
        seen: dict[tuple, _Repeat] = {}
        self.decoder.prologue(self.works[0])
        self.flush(self.decoder.watermark())
        for k, work in enumerate(self.works):
            following = self.works[k + 1] if k + 1 < len(self.works) else None
            f = _Frame(self.layer, work, self.sim.replayed_until)
            key = self.key(f, work, following) if memo and following is not None else None
            if key in seen:
                self.repeat(f, work, following, seen[key])
                continue
            done = self.one_by_one(f, work, following, key is not None)
            if key is not None and len(seen) < MAX_KEPT:
                seen[key] = done
        self.decoder.finish()
        self.flush(None)
        self.sim.close()
        return self.result


def replay_streaming(
    layer: Layer, accelerator: Accelerator, mapping: Mapping, memo: bool = True, limit: int | None = None
) -> StreamedReplay:
    """Decode and replay ``mapping`` (raises ScheduleViolation); ``memo`` applies repeated
    DRAM iterations instead of replaying them, except for a layer holding tensors on chip
    (``Layer.on_chip``: replayed op by op, its whole-tensor allocations are no iteration's);
    over ``limit`` GLB iterations replayed op by op, the replay stops (a ScheduleViolation
    saying it was not replayed)."""
    return _Streaming(layer, accelerator, mapping, limit).run(memo and not layer.on_chip)
