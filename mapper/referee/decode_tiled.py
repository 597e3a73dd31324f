"""Decode a fused group mapped in 2-D tiles (``mapper.core.tiled_group``, the PE array
time-shared, the group holding its input and output) into the schedule IR, in
feature-map storage, and measure it (``replay_tiled``).

The schedule, one thing at a time: the DMA loads every resident layer's weights;
then per tile, in the grid's order, the DMA loads the group input's new box; each
layer allocates its box and computes it on the whole PE array for the cycles its
nest takes (the nest's own schedule, replayed by ``replay_layer`` on ``nest_layer``:
its makespan, DRAM words, energy and GLB space beyond what it holds on chip, a
block allocated while it runs); the DMA stores the output tile; then every cell of
every feature map that no later tile reads from this copy (``TileGrid.kept``) is
freed. An add reads its second operand from the cells of the feature map it adds
(the group input's, when the group holds it); one that its nest streams from DRAM
is held whole outside the modelled GLB, like weights moved per tile. Cells are the
boxes between the grid's cut lines of a feature map, so a free always lies inside
one allocation. Weights moved per tile by the nests are held
outside the modelled GLB (their GLB tiles are in the nest's block).
"""

from __future__ import annotations

from dataclasses import dataclass

from mapper.core.arith import ceil_div
from mapper.core.box import Box
from mapper.core.enums import Axis, WeightPolicy
from mapper.core.group import FusedGroup
from mapper.core.spec import DIMS, Accelerator, Layer
from mapper.core.stripes import GROUP_INPUT
from mapper.core.tiled_group import NestKey, TiledMapping, box_extents, nest_boxes, nest_layer, residual_on_chip
from mapper.referee.decode_fused import fused_schedule_frame
from mapper.referee.layer_replay import replay, replay_layer
from mapper.referee.schedule import Op, Schedule


@dataclass(frozen=True)
class NestReplay:
    cycles: int
    dram_words: int
    energy_fj: int
    block_words: int  # GLB words beyond the tensors it holds on chip


@dataclass(frozen=True)
class TiledReplay:
    latency_cycles: int
    dram_words: int
    energy_fj: int
    macs: int
    glb_words: int  # the most the decoded schedule reserves at one tile
    peak_words: int  # the replay's measured peak


def replay_nests(layers, accelerator: Accelerator, mapping: TiledMapping) -> dict[NestKey, NestReplay]:
    """Each nest replayed as a layer (raises ScheduleViolation)."""
    found = {}
    for key in nest_boxes(layers, mapping):
        layer = nest_layer(layers, mapping, key)
        run = replay_layer(layer, accelerator, mapping.nests[key])
        found[key] = NestReplay(
            run.latency, run.measured.dram_words, run.energy, run.glb_reserved - layer.on_chip_words
        )
    return found


class TiledDecoder:
    def __init__(self, layers: tuple[Layer, ...], accelerator: Accelerator, mapping: TiledMapping, nests):
        if len(layers) < 2 or not (mapping.input_held and mapping.output_held):
            raise ValueError("the tiled group replay is of groups of 2+ layers holding their input and output")
        self.layers, self.mapping, self.nests = layers, mapping, nests
        self.grid = mapping.grid(layers)
        self.group = FusedGroup(layers)
        self.schedule = fused_schedule_frame(self.group)
        moved = {f"{layer.name}.W" for k, layer in enumerate(layers) if self._weights(k, WeightPolicy.PER_TILE)}
        self.streamed = self._second_operands()
        self.schedule.held = self.schedule.uncounted = frozenset(moved | self.streamed)
        self.bandwidth = accelerator.levels["DRAM"].bandwidth_words_per_cycle
        self.pes = (0, accelerator.pe_rows, 0, accelerator.pe_cols)
        self.clock, self.reserved = 0, 0
        self.cells = {k: set() for k in range(GROUP_INPUT, len(layers) - 1)}  # resident (row cell, col cell)
        self.cuts = {k: self._cuts(k) for k in self.cells}

    def _second_operands(self) -> set[str]:
        """Each add reads its second operand from the group input's cells when that is
        what it adds and the group holds it; one its nest streams from DRAM is held
        outside the modelled GLB (its GLB tiles are in the nest's block). Returns those."""
        streamed = set()
        for k, layer in enumerate(self.layers):
            roles, residual = self.schedule.roles[layer.name], self.group.residual_input(k)
            if layer.kind != "add" or residual in self.group.names[:k]:
                continue
            if residual_on_chip(self.layers, k, self.mapping.input_held):
                if roles["I2"] in self.schedule.aliases:  # the frame's second DRAM copy: unused
                    del self.schedule.aliases[roles["I2"]], self.schedule.tensor_shapes[roles["I2"]]
                roles["I2"] = residual
            else:
                streamed.add(roles["I2"])
        return streamed

    def _weights(self, k: int, policy: WeightPolicy) -> bool:
        return self.mapping.weights[k] is policy and "W" in self.layers[k].tensors

    def _tensor(self, k: int) -> str:
        return self.group.chain_input(0) if k == GROUP_INPUT else self.layers[k].name

    def _cuts(self, k: int) -> tuple[list[int], list[int]]:
        """The cut lines of feature map k: every end of a needed span along each axis."""
        return tuple(
            sorted({x for span in self.grid.needed_spans[axis, k] for x in span}) for axis in (Axis.ROWS, Axis.COLS)
        )

    def _box(self, k: int, rect) -> Box:
        n, channels, _, _ = self.schedule.tensor_shapes[self._tensor(k)]
        (r0, r1), (c0, c1) = rect
        return Box(((0, n), (0, channels), (r0, r1), (c0, c1)))

    def _cells_of(self, k: int, rect) -> set:
        rows, cols = self.cuts[k]
        (r0, r1), (c0, c1) = rect
        return {
            (a, b)
            for a in range(len(rows) - 1)
            if r0 <= rows[a] and rows[a + 1] <= r1
            for b in range(len(cols) - 1)
            if c0 <= cols[b] and cols[b + 1] <= c1
        }

    def _cell_rect(self, k: int, cell):
        rows, cols = self.cuts[k]
        return (rows[cell[0]], rows[cell[0] + 1]), (cols[cell[1]], cols[cell[1] + 1])

    def op(self, *args, **kwargs) -> Op:
        return self.schedule.add(Op(*args, **kwargs))

    def transfer(self, kind: str, tensor: str, box: Box) -> None:
        end = self.clock + ceil_div(box.words, self.bandwidth)
        self.op(kind, self.clock, end, tensor=tensor, box=box)
        self.clock = end

    def run(self) -> Schedule:
        resident = []
        for k, layer in enumerate(self.layers):
            box = Box(tuple((0, s) for s in self.schedule.tensor_shapes.get(f"{layer.name}.W", ())))
            if self._weights(k, WeightPolicy.RESIDENT):
                self.transfer("load", f"{layer.name}.W", box)
                resident.append((f"{layer.name}.W", box))
            elif self._weights(k, WeightPolicy.PER_TILE):
                self.op("hold", 0, 0, tensor=f"{layer.name}.W", box=box)
        for tensor in sorted(self.streamed):
            self.op("hold", 0, 0, tensor=tensor, box=Box(tuple((0, s) for s in self.schedule.tensor_shapes[tensor])))
        for i, j in self.grid.tiles():
            self.tile(i, j, sum(b.words for _, b in resident))
        for tensor, box in resident:
            self.op("free", self.clock, self.clock, tensor=tensor, box=box)
        return self.schedule

    def tile(self, i: int, j: int, resident_words: int) -> None:
        """Tile (i, j): its input box, each layer's box, the output's store, then the frees."""
        source = self.grid.computed(GROUP_INPUT, i, j)
        if min(box_extents(source)) > 0:
            self.transfer("load", self._tensor(GROUP_INPUT), self._box(GROUP_INPUT, source))
            self.cells[GROUP_INPUT] |= self._cells_of(GROUP_INPUT, source)
        block, out = 0, None
        for k in range(len(self.layers)):
            rect = self.grid.computed(k, i, j)
            if min(box_extents(rect)) > 0:
                block = max(block, self.run_nest(k, rect))
                out = self._box(k, rect) if k == len(self.layers) - 1 else out
        words = sum(self._words(k, self.cells[k]) for k in self.cells) + out.words
        self.reserved = max(self.reserved, words + resident_words + block)
        self.transfer("store", self.layers[-1].name, out)
        self.op("free", self.clock, self.clock, tensor=self.layers[-1].name, box=out)
        for k, cells in self.cells.items():
            keep = set().union(*(self._cells_of(k, rect) for rect in self.grid.kept(k, i, j)))
            for cell in sorted(cells - keep):
                box = self._box(k, self._cell_rect(k, cell))
                self.op("free", self.clock, self.clock, tensor=self._tensor(k), box=box)
            self.cells[k] = cells & keep

    def run_nest(self, k: int, rect) -> int:
        """Layer k's box ``rect``: allocated, computed for its nest's cycles with the nest's
        GLB block allocated meanwhile; returns the block's words."""
        layer, nest = self.layers[k], self.nests[(k, *box_extents(rect))]
        self.op("alloc", self.clock, self.clock, tensor=layer.name, box=self._box(k, rect))
        if k < len(self.layers) - 1:
            self.cells[k] |= self._cells_of(k, rect)
        end = self.clock + nest.cycles
        if nest.block_words:
            arena = Box(((0, nest.block_words),))
            self.op("alloc", self.clock, self.clock, tensor=f"{layer.name}.nest", box=arena)
            self.op("free", end, end, tensor=f"{layer.name}.nest", box=arena)
        work = Box(tuple((rect[0] if d == "P" else rect[1] if d == "Q" else (0, layer.bounds[d])) for d in DIMS))
        self.op("compute", self.clock, end, work=work, pes=self.pes, layer=layer.name)
        self.clock = end
        return nest.block_words

    def _words(self, k: int, cells: set) -> int:
        return sum(self._box(k, self._cell_rect(k, cell)).words for cell in cells)


def replay_tiled(
    layers: tuple[Layer, ...], accelerator: Accelerator, mapping: TiledMapping, functional: bool = False, seed: int = 0
) -> TiledReplay:
    """Replay the nests, then the group schedule (raises ScheduleViolation); every count
    is the replays': the group's DMA words and the nests' own, per tile they run in."""
    nests = replay_nests(layers, accelerator, mapping)
    decoder = TiledDecoder(layers, accelerator, mapping, nests)
    measured = replay(decoder.run(), accelerator, functional, seed)
    counts = nest_boxes(layers, mapping)
    levels = accelerator.levels
    group_words = measured.dram_words
    dram = group_words + sum(nests[key].dram_words * len(tiles) for key, tiles in counts.items())
    energy = sum(nests[key].energy_fj * len(tiles) for key, tiles in counts.items())
    energy += (levels["DRAM"].energy_fj_per_word + levels["GLB"].energy_fj_per_word) * group_words
    peak = measured.peak_words.get("GLB", 0)
    return TiledReplay(measured.makespan, dram, energy, measured.macs, decoder.reserved, peak)


def tiled_schedule(layers: tuple[Layer, ...], accelerator: Accelerator, mapping: dict) -> Schedule:
    """The decoded group schedule of a result's tiled ``mapping`` (its JSON form)."""
    tiled = TiledMapping.from_dict(mapping, layers)
    return TiledDecoder(layers, accelerator, tiled, replay_nests(layers, accelerator, tiled)).run()
