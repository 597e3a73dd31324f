"""Decode a single-layer mapping into the schedule IR, at both level boundaries.

The decoder walks the DRAM loop nest and, inside every DRAM iteration, the
GLB loop nest, each in the mapping's order, and compares the operand regions
of consecutive iterations: a tile whose region changes is (re)loaded; an
output tile is written out when it changes and read back first when it is a
revisit. An input tile that moves one step along P or Q at the DRAM loops, or
inside a GLB nest along an axis the PE array does not unroll (P nor R, Q nor
S), keeps its overlap and fetches only the new rows or cols (sliding-window
reuse). It never uses the cost model's closed-form counts.

Timing, the lock-step schedule of docs/cost_model.md (``mapper.cost.layer_latency``
states its makespan in closed form; the referee measures this one):

* two channels, the DMA (DRAM <-> GLB) and the GLB port (GLB <-> PE array),
  one transfer at a time each, ceil(words / bandwidth) cycles per transfer;
  one compute per GLB iteration on every used PE, prod f_RF cycles;
* inputs are prefetched: the array tiles that change at the next GLB
  iteration move during the current compute (after it, into a
  single-buffered RF), the GLB tiles that change at the next DRAM iteration
  during the current GLB nest, once its output transfers are done (after the
  nest, into a single-buffered GLB);
* outputs accumulate in place (one copy per level): at every change the old
  tile is written out and the new one read back if it is a revisit, serially
  before the next compute; at a DRAM boundary the array drains, the GLB tile
  is stored and read back, and the inputs' new array tiles are sent, serially.
  A double-buffered RF output tile (``Mapping.double_outputs``) changes inside
  a GLB nest into its other copy: the read-back is serial, the old tile's
  drain runs during the next compute, ahead of the prefetches on the port.
"""

from __future__ import annotations

import itertools
from math import prod

from mapper.core.box import Box, Range
from mapper.core.mapping import Mapping
from mapper.core.spec import DIMS, RELEVANT_DIMS, SLIDING_AXIS, TENSORS, Accelerator, Layer
from mapper.referee.decoder_state import Channel, Resident, slot_words
from mapper.referee.replay_state import VisitedTiles
from mapper.referee.schedule import (
    Op,
    Schedule,
    array_slide_axes,
    dram_iterations,
    input_axis_position,
    nest_iterations,
    operand_region,
    single_layer_schedule,
    slide_axis,
    split_box,
    tile_key,
)

GLB, ARRAY = "GLB", "ARRAY"
BUFFERS = ((GLB, "GLB"), (ARRAY, "RF"))  # the decoder's buffers and the memory level of each


class LockStepDecoder:
    """The decoder's state: residents and slots per buffer, both channels, the clock."""

    def __init__(self, layer: Layer, accelerator: Accelerator, mapping: Mapping):
        self.layer, self.mapping = layer, mapping
        self.schedule = single_layer_schedule(layer)
        self.inputs = [t for t in layer.tensors if t != "O"]
        levels = accelerator.levels
        self.dma = Channel(levels["DRAM"].bandwidth_words_per_cycle)
        self.port = Channel(levels["GLB"].bandwidth_words_per_cycle)
        self.double = {GLB: levels["GLB"].double_buffered, ARRAY: levels["RF"].double_buffered}
        self.double_out = mapping.output_double("RF")
        self.slots = {  # a free time per copy of each tile: an output's one, but in a double-buffered RF
            b: {t: [0] * (levels[lv].copies if t != "O" or self.double_out and b == ARRAY else 1) for t in TENSORS}
            for b, lv in BUFFERS
        }
        self.resident: dict[str, dict[str, Resident]] = {GLB: {}, ARRAY: {}}
        self.visited_glb: set[Box] = set()
        self.visited_array = VisitedTiles()
        self.pes = (0, prod(mapping.factors["ROW"].values()), 0, prod(mapping.factors["COL"].values()))
        self.glb_extents = mapping.extents_below("DRAM", layer.bounds)
        self.array_extents = mapping.extents_below("GLB", layer.bounds)
        self.compute_cycles = prod(mapping.factors["RF"].values())  # every working PE runs its RF loops
        self.array_slides = array_slide_axes(mapping)
        self.clock = 0
        slides = any(mapping.factors["DRAM"][d] > 1 and not layer.windows_disjoint(a) for d, a in SLIDING_AXIS.items())
        self.dormant = {  # inputs whose GLB tile is sent to the array once: no GLB loop moves their array tile
            t
            for t in self.inputs
            if all(mapping.factors["GLB"][d] == 1 for d in RELEVANT_DIMS[t]) and not (t == "I" and slides)
        }

    # ------------------------------------------------------------------ ops

    def transfer(self, kind: str, buffer: str, tensor: str, box: Box, earliest: int, work: dict[str, Range]) -> int:
        """A load / store (DMA) or fill / drain (port) of ``box``, of the tile of ``work``,
        in a whole tile's time slot (``slot_words``); returns its end."""
        channel = self.dma if buffer == GLB else self.port
        whole = self.glb_extents if buffer == GLB else self.array_extents
        start, end = channel.move(earliest, slot_words(tensor, box, work, whole))
        self.schedule.add(Op(kind, start, end, buffer=buffer, tensor=tensor, box=box))
        return end

    def changed(self, buffer: str, tensor: str, work: dict[str, Range]) -> bool:
        old = self.resident[buffer].get(tensor)
        return old is None or tile_key(tensor, old.work) != tile_key(tensor, work)

    def release(self, buffer: str, tensor: str, axis: int | None = None, keep_from: int = 0) -> list[Box]:
        """Replace the resident tile of ``tensor`` in ``buffer``: ``free`` it unless it was."""
        old = self.resident[buffer].pop(tensor)
        return [] if old.freed else self.free(buffer, tensor, old, axis, keep_from)

    def free(self, buffer: str, tensor: str, old: Resident, axis: int | None = None, keep_from: int = 0) -> list[Box]:
        """Free the tile ``old`` at its last use; with ``axis``, only its rows (cols)
        below ``keep_from``, and return the rest."""
        kept = []
        for piece in old.pieces:
            drop, keep = (piece, None) if axis is None else split_box(piece, axis, keep_from)
            if drop is not None:
                self.schedule.add(Op("free", old.last_use, old.last_use, buffer=buffer, tensor=tensor, box=drop))
            if keep is not None:
                kept.append(keep)
        self.slots[buffer][tensor].append(old.last_use)
        old.freed = True
        return kept

    def bring_input(self, buffer: str, tensor: str, work: dict[str, Range], earliest: int, nest: bool = False) -> int:
        """Load (GLB) or fill (array) the tile of input ``tensor`` for ``work`` into a
        free slot, from ``earliest``; an input tile sliding at the DRAM loops, or at
        the GLB loops (``nest``: inside a GLB nest) along an axis the array does not
        unroll, keeps its overlap. Returns the end of the transfer."""
        old = self.resident[buffer].get(tensor)
        box = fetch = operand_region(self.layer, tensor, work)
        kept = []
        slide = slide_axis(self.layer, old.work, work) if old is not None and tensor == "I" else None
        if buffer == ARRAY and not (nest and slide in self.array_slides):
            slide = None
        if slide is not None:
            axis = input_axis_position(self.layer, slide)
            kept = self.release(buffer, tensor, axis, box.ranges[axis][0])
            if kept:
                fetch = split_box(box, axis, kept[-1].ranges[axis][1])[1]
        elif old is not None:
            self.release(buffer, tensor)
        slots = self.slots[buffer][tensor]
        slots.sort()
        kind = "load" if buffer == GLB else "fill"
        ready = self.transfer(kind, buffer, tensor, fetch, max(earliest, slots.pop(0)), work)
        self.resident[buffer][tensor] = Resident(work, box, [*kept, fetch], ready)
        if buffer == ARRAY:  # the GLB tile is in use until the last fill from it
            source = self.resident[GLB][tensor]
            if source.freed:
                raise RuntimeError(f"decoder: a second fill of dormant {tensor} from a freed GLB tile")
            source.last_use = max(source.last_use, ready)
            if tensor in self.dormant:  # its only fill: the free (at the last use anyway) is decoded now
                self.free(GLB, tensor, source)
        return ready

    def open_output(self, buffer: str, work: dict[str, Range], at: int) -> int:
        """Make the output tile of ``work`` resident from ``at``: allocated (zero) on a
        first visit, read back (DRAM load or port fill) on a revisit."""
        box = operand_region(self.layer, "O", work)
        slot = self.slots[buffer]["O"]
        slot.sort()
        at = max(at, slot.pop(0))
        if buffer == GLB:
            revisit = box in self.visited_glb
            self.visited_glb.add(box)
        else:
            revisit = self.visited_array.visit(self.resident[GLB]["O"].box, box)
        if revisit:
            ready = self.transfer("load" if buffer == GLB else "fill", buffer, "O", box, at, work)
        else:
            self.schedule.add(Op("alloc", at, at, buffer=buffer, tensor="O", box=box))
            ready = at
        self.resident[buffer]["O"] = Resident(work, box, [box], ready)
        return ready

    def close_output(self, buffer: str, at: int) -> int:
        """Write the resident output tile out (drain to the GLB, store to DRAM) and free it."""
        return self.write_out(buffer, self.resident[buffer].pop("O"), at)

    def write_out(self, buffer: str, old: Resident, at: int) -> int:
        """Drain (store) the output tile ``old`` from ``at`` and free it at the end."""
        old.last_use = self.transfer("store" if buffer == GLB else "drain", buffer, "O", old.box, at, old.work)
        self.free(buffer, "O", old)
        return old.last_use

    def change_array_output(self, inner: dict[str, Range]) -> int:
        """The array's output tile changes before ``inner``'s compute; returns the
        serial cycles. In place: drain the old tile, then read back the new one.
        Double-buffered: once the other copy is free (its drain is done), read back
        the new tile, then drain the old one while the new one is computed."""
        if not self.double_out:
            before = self.clock
            self.clock = self.open_output(ARRAY, inner, self.close_output(ARRAY, self.clock))
            return self.clock - before
        old = self.resident[ARRAY].pop("O")
        self.clock = before = max(self.clock, min(self.slots[ARRAY]["O"]))
        self.clock = self.open_output(ARRAY, inner, self.clock)
        self.write_out(ARRAY, old, self.clock)
        return self.clock - before

    # ------------------------------------------------------------------ the nest

    def glb_iterations(self, work: dict[str, Range]):
        """Work boxes of the GLB nest inside DRAM iteration ``work`` (the array tiles), in order."""
        origin = {d: work[d][0] for d in DIMS}
        return nest_iterations(self.mapping, "GLB", origin, self.array_extents, self.layer.bounds)

    def glb_nest(self, work: dict[str, Range]) -> tuple[int, int]:
        """Decode the GLB nest of one DRAM iteration from the clock; returns its end
        (its last compute or drain) and the cycles of its serial output transfers."""
        iterations = list(self.glb_iterations(work))
        output_cycles = 0
        for j, inner in enumerate(iterations):
            if j and self.changed(ARRAY, "O", inner):
                output_cycles += self.change_array_output(inner)
            start = max([self.clock] + [r.ready for r in self.resident[ARRAY].values()])
            end = start + self.compute_cycles
            box = Box(tuple(inner[d] for d in DIMS))
            self.schedule.add(Op("compute", start, end, buffer=ARRAY, work=box, pes=self.pes, layer=self.layer.name))
            for resident in self.resident[ARRAY].values():
                resident.last_use = end
            self.clock = end
            if j + 1 < len(iterations):
                prefetch = start if self.double[ARRAY] else end
                for t in self.inputs:
                    if self.changed(ARRAY, t, iterations[j + 1]):
                        ready = self.bring_input(ARRAY, t, iterations[j + 1], prefetch, nest=True)
                        self.clock = max(self.clock, ready)
        return max(self.clock, self.port.free), output_cycles  # the nest ends with its last drain

    def boundary(self, work: dict[str, Range], first_inner: dict[str, Range]) -> None:
        """Serially, before DRAM iteration ``work``: drain and store the outputs that
        change, read back revisits, send the inputs' new array tiles."""
        if self.changed(ARRAY, "O", first_inner):
            self.clock = self.close_output(ARRAY, self.clock)
            if self.changed(GLB, "O", work):
                self.clock = self.open_output(GLB, work, self.close_output(GLB, self.clock))
            self.clock = self.open_output(ARRAY, first_inner, self.clock)
        self.send_inputs(first_inner)

    def send_inputs(self, inner: dict[str, Range]) -> None:
        """Serially, the inputs' array tiles of ``inner`` that change."""
        for t in self.inputs:
            if self.changed(ARRAY, t, inner):
                self.clock = self.bring_input(ARRAY, t, inner, self.clock)

    def prologue(self, work: dict[str, Range]) -> None:
        """Before the first DRAM iteration: nothing to hide its loads behind."""
        for t in self.inputs:
            self.clock = self.bring_input(GLB, t, work, self.clock)
        self.open_output(GLB, work, self.clock)
        first_inner = next(self.glb_iterations(work))
        self.send_inputs(first_inner)
        self.open_output(ARRAY, first_inner, self.clock)

    def step(self, work: dict[str, Range], following: dict[str, Range] | None) -> None:
        """DRAM iteration ``work``: its GLB nest, then (unless it is the last) the
        prefetch of the GLB tiles of ``following`` and the boundary before it."""
        start = self.clock
        end, output_cycles = self.glb_nest(work)
        if following is None:
            return
        earliest = start + output_cycles if self.double[GLB] else end
        for t in self.inputs:
            if self.changed(GLB, t, following):
                self.clock = max(self.clock, self.bring_input(GLB, t, following, earliest))
        self.boundary(following, next(self.glb_iterations(following)))

    def finish(self) -> None:
        """After the last DRAM iteration: write the outputs back, free everything."""
        self.clock = self.close_output(GLB, self.close_output(ARRAY, self.clock))
        for buffer in (ARRAY, GLB):
            for t in list(self.resident[buffer]):
                self.release(buffer, t)

    def watermark(self) -> int:
        """No op decoded from now on starts earlier: the clock, and the last use of each
        input tile in the GLB (its free is decoded when it is replaced)."""
        return min([self.clock] + [r.last_use for t, r in self.resident[GLB].items() if t != "O" and not r.freed])

    def take_ops(self) -> list[Op]:
        """The ops decoded since the last call (a streaming replay consumes them)."""
        ops, self.schedule.ops = self.schedule.ops, []
        return ops

    def run(self) -> Schedule:
        works = dram_iterations(self.mapping, self.layer.bounds)
        work = next(works)
        self.prologue(work)
        for following in itertools.chain(works, [None]):
            self.step(work, following)
            work = following
        self.finish()
        return self.schedule


def decode_layer(layer: Layer, accelerator: Accelerator, mapping: Mapping) -> Schedule:
    return LockStepDecoder(layer, accelerator, mapping).run()
