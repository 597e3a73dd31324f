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

from mapper.core.box import Box, Range
from mapper.core.mapping import Mapping
from mapper.core.spec import DIMS, Accelerator, Layer
from mapper.referee.decoder_moves import ARRAY, GLB, TileMoves
from mapper.referee.schedule import Op, Schedule, dram_iterations, nest_iterations

__all__ = ["ARRAY", "GLB", "LockStepDecoder", "decode_layer"]


class LockStepDecoder(TileMoves):
    """The lock-step schedule of one layer, decoded iteration by iteration."""

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
        self.hold()
        for t in self.inputs:
            if t not in self.held:
                self.clock = self.bring_input(GLB, t, work, self.clock)
        if "O" not in self.held:
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
        """After the last DRAM iteration: write the outputs back, free everything
        but the tensors held on chip."""
        self.clock = self.close_output(ARRAY, self.clock)
        if "O" not in self.held:
            self.clock = self.close_output(GLB, self.clock)
        for buffer in (ARRAY, GLB):
            for t in list(self.resident[buffer]):
                if not (buffer == GLB and t in self.held):
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
