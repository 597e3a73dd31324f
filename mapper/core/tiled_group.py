"""The mapping of a fused group in 2-D tiles (DESIGN 4.2, issue 15): the tile grid
and overlap policies (``mapper.core.fused_tiles``), where each layer's weights
live, whether the group moves its input and output through the GLB itself, and
the loop nest of every layer's box (a single-layer mapping of DESIGN 4.1).

Inside a tile, layer k computes its box of ``TileGrid.computed`` as a layer nest
(``nest_layer``): the layer on the box's extents, with the tensors the group
keeps in the GLB held on chip (``Layer.on_chip``): the input of every layer but
the first and the output of every layer but the last always; the group input and
output when the group moves them itself (``input_held``, ``output_held``: the
group's DMA loads each tile's new input box and stores each output tile); the
weights of a ``resident`` layer. A boundary tensor the group does not hold is
streamed by the nest's own DRAM loops, as in layer mode: a group of one layer
with one tile and nothing held is exactly the layer on its own. One nest mapping
per layer and box shape (``NestKey``): the boxes of a layer differ only at the
grid's last row and col and where a cache cuts them.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from mapper.core.enums import Overlap, WeightPolicy
from mapper.core.fused_tiles import Rect, TileGrid
from mapper.core.group import FusedGroup
from mapper.core.mapping import Mapping
from mapper.core.spec import DIMS, Layer
from mapper.core.taskgraph import origin_box, tile_layer

NestKey = tuple[int, int, int]  # layer index, box rows, box cols
DEFAULT_TILE_SIZES = (4, 7, 8, 14, 16, 28, 32, 56)  # square tiles a fused problem searches unless it lists its own


@dataclass(frozen=True)
class TiledSpace:
    """The tiled map space a fused problem searches (its ``fusion.tiles``): the tile
    sizes (height, width), the overlap policies a feature map may take and the
    weight policies a layer may take. ``fusion: {recompute: false}`` leaves
    ``cache`` alone (the seeds' setting: nothing computed twice)."""

    sizes: tuple[tuple[int, int], ...]
    overlaps: tuple[Overlap, ...] = tuple(Overlap)
    weights: tuple[WeightPolicy, ...] = tuple(WeightPolicy)

    @classmethod
    def default(cls, layers: tuple[Layer, ...]) -> TiledSpace:
        """``DEFAULT_TILE_SIZES`` (each cut to the last layer's output), every policy."""
        rows, cols = layers[-1].bounds["P"], layers[-1].bounds["Q"]
        return cls(tuple(sorted({(min(s, rows), min(s, cols)) for s in DEFAULT_TILE_SIZES})))

    def to_dict(self) -> dict:
        return {
            "sizes": [list(size) for size in self.sizes],
            "overlaps": [str(o) for o in self.overlaps],
            "weights": [str(w) for w in self.weights],
        }


@dataclass(frozen=True)
class TiledMapping:
    height: int
    width: int
    overlap: tuple[Overlap, ...]  # per feature map: the group input first, then each layer's output but the last
    weights: tuple[WeightPolicy, ...]  # per layer
    input_held: bool
    output_held: bool
    nests: dict[NestKey, Mapping]

    def grid(self, layers: tuple[Layer, ...]) -> TileGrid:
        return TileGrid(layers, self.height, self.width, self.overlap)

    def to_dict(self, layers: tuple[Layer, ...]) -> dict:
        """The JSON form: each nest named by its layer and box extents."""
        return {
            "tile": [self.height, self.width],
            "overlap": [str(o) for o in self.overlap],
            "weights": [str(w) for w in self.weights],
            "input_held": self.input_held,
            "output_held": self.output_held,
            "nests": [
                {"layer": layers[k].name, "rows": rows, "cols": cols, "mapping": nest.to_dict()}
                for (k, rows, cols), nest in sorted(self.nests.items())
            ],
        }

    @classmethod
    def from_dict(cls, data: dict, layers: tuple[Layer, ...]) -> TiledMapping:
        index = {layer.name: k for k, layer in enumerate(layers)}
        return cls(
            *data["tile"],
            tuple(Overlap(o) for o in data["overlap"]),
            tuple(WeightPolicy(w) for w in data["weights"]),
            data["input_held"],
            data["output_held"],
            {(index[n["layer"]], n["rows"], n["cols"]): Mapping.from_dict(n["mapping"]) for n in data["nests"]},
        )

    def violations(self, layers: tuple[Layer, ...]) -> list[str]:
        """The rules of the space: a policy per feature map and per layer; a group input
        streamed by the first nest is re-read by every tile (``recompute``); a group of
        one layer is one tile (its own DRAM loops tile it)."""
        found = []
        if len(self.overlap) != len(layers) or len(self.weights) != len(layers):
            found.append(f"one overlap policy per feature map and one weight policy per layer ({len(layers)} each)")
        elif not self.input_held and self.overlap[0] is not Overlap.RECOMPUTE:
            found.append("a group input streamed by the first layer's nest is re-read by every tile: recompute")
        rows, cols = layers[-1].bounds["P"], layers[-1].bounds["Q"]
        if self.height > rows or self.width > cols:
            found.append(f"a {self.height} x {self.width} tile exceeds the {rows} x {cols} output: at most its size")
        if len(layers) == 1 and self.grid(layers).shape != (1, 1):
            found.append("a group of one layer has one tile: its own DRAM loops tile it (layer mode)")
        return found


def box_extents(box: Rect) -> tuple[int, int]:
    (r0, r1), (c0, c1) = box
    return r1 - r0, c1 - c0


def nest_layer(layers: tuple[Layer, ...], mapping: TiledMapping, key: NestKey) -> Layer:
    """Layer k on a box of rows x cols of its output (``key`` = (k, rows, cols)), the tensors
    the group keeps in the GLB held on chip (module docstring)."""
    k, rows, cols = key
    layer = layers[k]
    extents = tuple(rows if d == "P" else cols if d == "Q" else layer.bounds[d] for d in DIMS)
    held = set()
    if k or mapping.input_held:
        held.add("I")
    if k < len(layers) - 1 or mapping.output_held:
        held.add("O")
    if mapping.weights[k] is WeightPolicy.RESIDENT and "W" in layer.tensors:
        held.add("W")
    if layer.kind == "add" and residual_on_chip(layers, k, mapping.input_held):
        held.add("I2")
    return replace(tile_layer(layer, origin_box(extents)), on_chip=frozenset(held))


def feature_map_names(layers: tuple[Layer, ...]) -> list[str]:
    """The feature maps an overlap policy is chosen for, named by their producers, in the
    order of ``TiledMapping.overlap``: the group input's tensor, then each layer but the last."""
    return [layers[0].inputs[0], *(layer.name for layer in layers[:-1])]


def residual_on_chip(layers: tuple[Layer, ...], k: int, input_held: bool) -> bool:
    """Whether the add k finds its second operand in the GLB: produced by the group, or
    the group input the group holds. Else its nest streams it from DRAM, like a
    boundary tensor (its own DRAM loops)."""
    residual = FusedGroup(layers).residual_input(k)
    return residual in {layer.name for layer in layers[:k]} or (input_held and residual == layers[0].inputs[0])


def nest_boxes(layers: tuple[Layer, ...], mapping: TiledMapping) -> dict[NestKey, list[tuple[int, int]]]:
    """Every nest key with the tiles whose box of that layer has that shape (empty boxes left out)."""
    grid, found = mapping.grid(layers), {}
    for i, j in grid.tiles():
        for k in range(len(layers)):
            rows, cols = box_extents(grid.computed(k, i, j))
            if rows > 0 and cols > 0:
                found.setdefault((k, rows, cols), []).append((i, j))
    return found
