"""Schedule IR: a timed list of operations on boxes of named tensors.

Tensors use grouped axes so that every tile is a box:
W[G, K, C, R, S], I[N, G, C, H, W] (padded input), O[N, G, K, P, Q]. Along an
axis whose windows are disjoint (stride > kernel extent), the input is stored
by (output, tap) pairs instead of rows, [.., P, R, ..]: only touched rows.

Operations (``Op.kind``):

* ``load``    DRAM -> buffer: allocates ``words`` at ``start``, data resident at ``end``.
* ``hold``    an input the schedule around this one placed in the buffer (a tensor
  held on chip, ``Layer.on_chip``): allocated and resident, no channel, no DRAM words.
* ``alloc``   reserve a zeroed region of the buffer (first visit of an output tile).
* ``compute`` run the loop iterations ``work`` (a box over the loop dims) on the
  PE rectangle ``pes``; every operand region must be resident in ``buffer``.
* ``store``   buffer -> DRAM (outputs and partial sums); the region stays allocated.
* ``free``    release an allocation; freeing an output that was changed since its
  last store loses results and is a violation.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

from mapper.core.box import TENSOR_AXES, Box, Range, fmap_region
from mapper.core.enums import Axis
from mapper.core.mapping import Mapping
from mapper.core.spec import AXIS_DIMS, DIMS, RELEVANT_DIMS, SLIDING_AXIS, Layer


def grouped_shape(layer: Layer, tensor: str) -> tuple[int, ...]:
    """Stored shape: W[G, K, C, R, S], O (and an add's I2) [N, G, K, P, Q] and I[N, G, C, rows, cols],
    where rows (cols) is the padded height (width), or the two axes (P, R)
    ((Q, S)) of (output, tap) pairs where the windows are disjoint."""
    b = layer.bounds
    if tensor == "W":
        return (b["G"], b["K"], b["C"], b["R"], b["S"])
    if tensor == "I":
        padded = layer.tensor_shape("I")[2:]
        spatial = []
        for axis, (out_dim, kernel_dim) in AXIS_DIMS.items():
            disjoint = layer.windows_disjoint(axis)
            spatial += [b[out_dim], b[kernel_dim]] if disjoint else [padded[axis]]
        return (b["N"], b["G"], b["C"], *spatial)
    return (b["N"], b["G"], b["K"], b["P"], b["Q"])


def input_axis_position(layer: Layer, axis: Axis) -> int:
    """Index of input axis ``axis`` (rows or cols, dense layout) in the stored input."""
    return 3 if axis is Axis.ROWS else 3 + (2 if layer.windows_disjoint(Axis.ROWS) else 1)


def operand_region(layer: Layer, tensor: str, work: dict[str, Range]) -> Box:
    """The region of ``tensor`` read or written by the loop iterations ``work``:
    input rows run from p0*stride + r0*dilation to (p1-1)*stride + (r1-1)*dilation,
    or are the (output, tap) ranges themselves where the windows are disjoint."""
    if tensor == "W":
        return Box(tuple(work[d] for d in TENSOR_AXES["W"]))
    if tensor in ("O", "I2"):  # an add's second operand is indexed like its output
        return Box(tuple(work[d] for d in TENSOR_AXES["O"]))
    spans = []
    for axis, (out_dim, kernel_dim) in AXIS_DIMS.items():
        (p0, p1), (r0, r1) = work[out_dim], work[kernel_dim]
        if layer.windows_disjoint(axis):
            spans += [(p0, p1), (r0, r1)]
            continue
        stride, dilation = layer.stride[axis], layer.dilation[axis]
        spans.append((p0 * stride + r0 * dilation, (p1 - 1) * stride + (r1 - 1) * dilation + 1))
    return Box((work["N"], work["G"], work["C"], *spans))


def tile_key(tensor: str, work: dict[str, Range]) -> tuple[Range, ...]:
    """Identity of the tile of ``tensor`` used by ``work``: the ranges of its
    relevant loop dims. An input tile at other (p, r) indices that happens to
    cover the same rows is a different tile (the DMA follows the loop nest)."""
    return tuple(work[d] for d in sorted(RELEVANT_DIMS[tensor]))


ALLOCATING = ("load", "alloc", "hold")  # the op kinds that take buffer space (a ``free`` gives it back)


@dataclass(frozen=True)
class Op:
    kind: str  # load | alloc | compute | store | free
    start: int
    end: int
    buffer: str = "GLB"
    tensor: str | None = None
    box: Box | None = None
    work: Box | None = None  # compute only: ranges over DIMS
    pes: tuple[int, int, int, int] | None = None  # compute only: row0, row1, col0, col1
    layer: str = ""  # compute only: which layer's loop nest ``work`` indexes
    stage: tuple[str, int] | None = None  # fused: (layer, stripe) the op belongs to

    def describe(self) -> str:
        what = f"{self.tensor}{self.box}" if self.box else f"work{self.work}"
        return f"{self.kind} {what} in {self.buffer} at [{self.start}, {self.end})"

    @property
    def work_ranges(self) -> dict[str, Range]:
        return dict(zip(DIMS, self.work.ranges, strict=True))


@dataclass
class Schedule:
    """Ops plus what the referee needs to judge them: the layers, the shape of
    every tensor, which tensors must end up in DRAM, and for each layer which
    tensor plays each role (W, I, I2, O). ``storage`` is "grouped" (layer mode:
    grouped axes, padded input) or "fmap" (fused: feature maps, virtual padding)."""

    layers: dict[str, Layer]
    tensor_shapes: dict[str, tuple[int, ...]]
    roles: dict[str, dict[str, str]]
    dram_outputs: frozenset[str]
    storage: str = "grouped"
    ops: list[Op] = field(default_factory=list)
    policy: str | None = None  # fused: the PE policy whose latency formula applies
    aliases: dict[str, str] = field(default_factory=dict)  # tensor -> DRAM tensor it is a copy of
    timed_dram: bool = True  # False: DRAM transfers take no time (task graphs on shared memory)
    uncounted: frozenset[str] = frozenset()  # tensors held outside the modelled memory (task-graph weights)
    held: frozenset[str] = frozenset()  # tensors held on chip: inputs placed in the GLB, outputs left there

    @property
    def produced(self) -> frozenset[str]:
        """The tensors some layer of the schedule writes."""
        return frozenset(roles["O"] for roles in self.roles.values())

    def add(self, op: Op) -> Op:
        self.ops.append(op)
        return op

    def operands(self, op: Op) -> dict[str, tuple[str, Box]]:
        """role -> (tensor, region) that compute ``op`` reads (W, I, I2) or writes (O)."""
        layer = self.layers[op.layer]
        region = fmap_region if self.storage == "fmap" else operand_region
        return {role: (tensor, region(layer, role, op.work_ranges)) for role, tensor in self.roles[op.layer].items()}


def single_layer_schedule(layer: Layer) -> Schedule:
    """An empty schedule for one layer in grouped storage (tensors W, I, O); an
    output held on chip is left in the GLB, not stored."""
    return Schedule(
        layers={layer.name: layer},
        tensor_shapes={t: grouped_shape(layer, t) for t in layer.tensors},
        roles={layer.name: {t: t for t in layer.tensors}},
        dram_outputs=frozenset({"O"}) - layer.on_chip,
        held=layer.on_chip,
    )


def nest_iterations(
    mapping: Mapping, level: str, origin: dict[str, int], extents: dict[str, int], bounds: dict[str, int]
):
    """Work boxes (dim -> range) of ``level``'s loop nest, in execution order,
    from ``origin`` in steps of ``extents``, cut at the layer's ``bounds`` (the
    remainder tile of an uneven split; a mapping that keeps the rule of
    ``Mapping.factor_violations`` leaves no box empty)."""
    order, factors = mapping.orders[level], mapping.factors[level]
    for index in itertools.product(*(range(factors[d]) for d in order)):
        position = dict(zip(order, index, strict=True))
        starts = {d: origin[d] + position[d] * extents[d] for d in DIMS}
        yield {d: (lo, min(lo + extents[d], bounds[d])) for d, lo in starts.items()}


def dram_iterations(mapping: Mapping, bounds: dict[str, int]):
    """Work boxes of the DRAM loop nest (the GLB tiles of a layer of ``bounds``), in execution order."""
    return nest_iterations(mapping, "DRAM", dict.fromkeys(DIMS, 0), mapping.extents_below("DRAM", bounds), bounds)


def array_slide_axes(mapping: Mapping) -> set[Axis]:
    """Axes along which every PE holds its array tile's whole extent (the array
    unrolls neither the output dim nor the kernel dim): an array tile sliding
    along one inside a GLB nest keeps its overlap in every PE's RF (elsewhere
    the overlap sits in other PEs)."""
    return {a for a in Axis if all(mapping.spatial(d) == 1 for d in AXIS_DIMS[a])}


def slide_axis(layer: Layer, old: dict[str, Range], new: dict[str, Range]) -> Axis | None:
    """The input axis along which the input tile of ``new`` is that of ``old``
    moved one step along P (Q), its other coordinates unchanged: the overlap
    stays resident (sliding-window reuse, DESIGN 4.1). None otherwise."""
    moved = [d for d in sorted(RELEVANT_DIMS["I"]) if old[d] != new[d]]
    if len(moved) != 1 or moved[0] not in SLIDING_AXIS:
        return None
    axis = SLIDING_AXIS[moved[0]]
    if layer.windows_disjoint(axis) or new[moved[0]][0] != old[moved[0]][1]:
        return None
    return axis


def split_box(box: Box, axis: int, at: int) -> tuple[Box | None, Box | None]:
    """``box`` cut along tensor axis ``axis`` at ``at``: the parts below and from it."""
    lo, hi = box.ranges[axis]
    parts = []
    for a, b in ((lo, min(hi, at)), (max(lo, at), hi)):
        ranges = list(box.ranges)
        ranges[axis] = (a, b)
        parts.append(Box(tuple(ranges)) if a < b else None)
    return parts[0], parts[1]
