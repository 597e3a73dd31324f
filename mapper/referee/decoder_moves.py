"""The layer decoder's tile moves: residents and slots per buffer, both channels,
the clock, and the ops that load, fill, drain, store and free one tile
(``mapper.referee.decode_layer`` walks the loop nest with them)."""

from __future__ import annotations

from math import prod

from mapper.core.box import Box, Range
from mapper.core.mapping import Mapping
from mapper.core.spec import RELEVANT_DIMS, SLIDING_AXIS, Accelerator, Layer
from mapper.referee.decoder_state import Channel, Resident, slot_words
from mapper.referee.replay_state import VisitedTiles
from mapper.referee.schedule import (
    Op,
    array_slide_axes,
    input_axis_position,
    operand_region,
    single_layer_schedule,
    slide_axis,
    split_box,
    tile_key,
)

GLB, ARRAY = "GLB", "ARRAY"
BUFFERS = ((GLB, "GLB"), (ARRAY, "RF"))  # the decoder's buffers and the memory level of each


class TileMoves:
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
        tensors = layer.tensors
        self.slots = {  # a free time per copy of each tile: an output's one, but in a double-buffered RF
            b: {t: [0] * (levels[lv].copies if t != "O" or self.double_out and b == ARRAY else 1) for t in tensors}
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
        self.held = layer.on_chip  # whole in the GLB from the start (and the output after the end)
        self.dormant = {  # inputs whose GLB tile is sent to the array once: no GLB loop moves their array tile
            t
            for t in self.inputs
            if all(mapping.factors["GLB"][d] == 1 for d in RELEVANT_DIMS[t])
            and not (t == "I" and slides)
            and t not in self.held
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
        if buffer == GLB and tensor in self.held:
            return False
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

    def hold(self) -> None:
        """The tensors held on chip, whole in the GLB at 0: an input placed there by the
        schedule around this one (``hold``), the output allocated (zero)."""
        whole = {d: (0, n) for d, n in self.layer.bounds.items()}
        for t in sorted(self.held):
            box = operand_region(self.layer, t, whole)
            self.schedule.add(Op("alloc" if t == "O" else "hold", 0, 0, buffer=GLB, tensor=t, box=box))
            self.resident[GLB][t] = Resident(whole, box, [box], 0)
