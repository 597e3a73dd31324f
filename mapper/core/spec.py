"""Workload and hardware vocabulary: loop-nest dims, tensors, layers, accelerators.

Everything here is a frozen dataclass; validation of user input happens in
``mapper.io.loading`` where the file and YAML path are known.

Loop nest of a layer (grouped convolution, the general case)::

    for n < N, g < G, k < K, c < C, p < P, q < Q, r < R, s < S:
        O[n, g*K+k, p, q] += W[g*K+k, c, r, s] * I[n, g*C+c, p*sh + r*dh, q*sw + s*dw]

``I`` is the *padded* input (padding rows/cols are stored, as in Timeloop), so
input tiles are plain boxes. Depthwise: G = channels, K = C = 1. Fully
connected: P = Q = R = S = 1. Pooling: no weights, G = channels, K = C = 1.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from math import prod

from mapper.core.enums import Axis, Factors

DIMS: tuple[str, ...] = ("N", "G", "K", "C", "P", "Q", "R", "S")
TENSORS: tuple[str, ...] = ("W", "I", "O")

# Which loop dims index each tensor. Inputs are indexed by P+R and Q+S (halo).
RELEVANT_DIMS: dict[str, frozenset[str]] = {
    "W": frozenset({"G", "K", "C", "R", "S"}),
    "I": frozenset({"N", "G", "C", "P", "Q", "R", "S"}),
    "O": frozenset({"N", "G", "K", "P", "Q"}),
}
# An element-wise add reads a second operand, ``I2``, indexed like its output
# (O[n, g, p, q] = I[n, g, p, q] + I2[n, g, p, q]; K = C = R = S = 1).
RELEVANT_DIMS["I2"] = RELEVANT_DIMS["O"]
# In a level split per tensor, the add's second operand takes the weights' part
# (an add has no weights): on Eyeriss, its filter scratchpad.
PARTITION_OF: dict[str, str] = {"W": "W", "I": "I", "I2": "W", "O": "O"}

# Dims that index every tensor as a plain product (no halo): an uneven spatial split of one
# cuts a remainder tile that is a smaller box of the same kind (docs/mapping_space.md).
CHANNEL_DIMS: frozenset[str] = frozenset({"N", "G", "K", "C"})

# Loop levels, outermost first. DRAM and GLB are temporal levels whose tiles
# live in the buffer below them; ROW and COL unroll over the PE array; RF
# loops run inside one PE.
LOOP_LEVELS: tuple[str, ...] = ("DRAM", "GLB", "ROW", "COL", "RF")
ORDERED_LEVELS: tuple[str, ...] = ("DRAM", "GLB")
SPATIAL_LEVELS: tuple[str, ...] = ("ROW", "COL")
MEMORY_LEVELS: tuple[str, ...] = ("DRAM", "GLB", "RF")

# The output dim and the kernel dim that index each input axis: rows come from P and R, cols from Q and S.
AXIS_DIMS: dict[Axis, tuple[str, str]] = {Axis.ROWS: ("P", "R"), Axis.COLS: ("Q", "S")}
# The output dim along which an input tile slides, and the input axis it slides on.
SLIDING_AXIS: dict[str, Axis] = {out_dim: axis for axis, (out_dim, _) in AXIS_DIMS.items()}

LAYER_KINDS: tuple[str, ...] = ("conv", "depthwise", "fc", "maxpool", "avgpool", "add")
WEIGHTED_KINDS: frozenset[str] = frozenset({"conv", "depthwise", "fc"})
MAPPABLE_KINDS: frozenset[str] = frozenset({"conv", "depthwise", "fc", "maxpool", "avgpool"})


@dataclass(frozen=True)
class Layer:
    """One layer as a loop nest with named bounds.

    ``bounds`` maps every dim of ``DIMS`` to its loop bound. ``stride`` and
    ``dilation`` are (rows, cols). ``padding`` is (rows, cols) on each side.
    ``on_chip``: the tensors the layer finds whole in the GLB (inputs placed there
    before its nest starts, by the schedule around it: a task graph's shared memory)
    and leaves there (the output): they move no DRAM words and occupy their whole
    size in the GLB for the whole nest (DESIGN 4.4; none for a layer on its own).
    """

    name: str
    kind: str
    bounds: dict[str, int]
    stride: tuple[int, int] = (1, 1)
    dilation: tuple[int, int] = (1, 1)
    padding: tuple[int, int] = (0, 0)
    inputs: tuple[str, ...] = ()
    input_hw: tuple[int, int] | None = None  # true (unpadded) input rows, cols
    on_chip: frozenset[str] = frozenset()

    def __post_init__(self):
        if not self.on_chip <= set(self.tensors):
            raise ValueError(f"{self.name}: on_chip {sorted(self.on_chip)} names a tensor not in {self.tensors}")

    @property
    def in_rows(self) -> int:
        """True input rows (without padding)."""
        return self.input_hw[0] if self.input_hw else self.input_extent(self.bounds["P"], self.bounds["R"], Axis.ROWS)

    @property
    def out_channels(self) -> int:
        return self.bounds["G"] * self.bounds["K"]

    @property
    def in_channels(self) -> int:
        return self.bounds["G"] * self.bounds["C"]

    @property
    def tensors(self) -> tuple[str, ...]:
        if self.kind == "add":
            return ("I", "I2", "O")
        return TENSORS if self.kind in WEIGHTED_KINDS else ("I", "O")

    @property
    def macs(self) -> int:
        return prod(self.bounds[d] for d in DIMS)

    def input_extent(self, out_extent: int, kernel_extent: int, axis: Axis) -> int:
        """Input rows or cols (along ``axis``) covered by a box of
        ``out_extent`` outputs and ``kernel_extent`` kernel taps:
        (p-1)*stride + (r-1)*dilation + 1."""
        return (out_extent - 1) * self.stride[axis] + (kernel_extent - 1) * self.dilation[axis] + 1

    def windows_disjoint(self, axis: Axis) -> bool:
        """Stride along ``axis`` > kernel extent (R-1)*dilation + 1: rows between
        windows are never read, so inputs move by (output, tap) pairs (DESIGN 4.1)."""
        kernel_dim = AXIS_DIMS[axis][1]
        return self.stride[axis] > (self.bounds[kernel_dim] - 1) * self.dilation[axis] + 1

    def input_axis_words(self, out_extent: int, kernel_extent: int, axis: Axis) -> int:
        """Input rows or cols (along ``axis``) that a tile of ``out_extent``
        outputs and ``kernel_extent`` taps moves: out * kernel when the windows
        are disjoint (only the touched rows), else the dense span
        (out-1)*stride + (kernel-1)*dilation + 1."""
        if self.windows_disjoint(axis):
            return out_extent * kernel_extent
        return self.input_extent(out_extent, kernel_extent, axis)

    def tile_words(self, tensor: str, extents: dict[str, int]) -> int:
        """Words of ``tensor`` moved for a box of loop ``extents`` (all dims)."""
        if tensor == "I":
            rows, cols = (self.input_axis_words(extents[o], extents[k], axis) for axis, (o, k) in AXIS_DIMS.items())
            return extents["N"] * extents["G"] * extents["C"] * rows * cols
        return prod(extents[d] for d in RELEVANT_DIMS[tensor])

    def needed_words(self, tensor: str) -> int:
        """Words of ``tensor`` that some MAC reads or writes. Smaller than
        ``tensor_words`` for inputs whose stride skips rows or cols (e.g. a 1x1
        conv with stride 2): the compulsory traffic of the tensor."""
        if tensor != "I":
            return self.tensor_words(tensor)
        b = self.bounds
        return b["N"] * b["G"] * b["C"] * len(self.read_positions(Axis.ROWS)) * len(self.read_positions(Axis.COLS))

    def read_positions(self, axis: Axis) -> set[int]:
        """Padded input rows or cols (along ``axis``) that some MAC reads:
        {o * stride + t * dilation} over outputs o and kernel taps t."""
        out, kernel = AXIS_DIMS[axis]
        return {
            o * self.stride[axis] + t * self.dilation[axis]
            for o in range(self.bounds[out])
            for t in range(self.bounds[kernel])
        }

    def tensor_words(self, tensor: str) -> int:
        return self.tile_words(tensor, self.bounds)

    @property
    def on_chip_words(self) -> int:
        """The GLB words the tensors held on chip take (whole, for the whole nest)."""
        return sum(self.tensor_words(t) for t in self.on_chip)

    def tensor_shape(self, tensor: str) -> tuple[int, ...]:
        """Numpy shape of a tensor: W[G*K, C, R, S], I[N, G*C, H+pads, W+pads], O[N, G*K, P, Q]."""
        b = self.bounds
        if tensor == "W":
            return (b["G"] * b["K"], b["C"], b["R"], b["S"])
        if tensor == "I":
            return (
                b["N"],
                b["G"] * b["C"],
                self.input_extent(b["P"], b["R"], Axis.ROWS),
                self.input_extent(b["Q"], b["S"], Axis.COLS),
            )
        return (b["N"], b["G"] * b["K"], b["P"], b["Q"])  # O, and an add's I2


@dataclass(frozen=True)
class MemoryLevel:
    """A storage level. ``capacity_words`` is None for DRAM (unbounded), an int
    for a shared buffer, or a dict tensor -> words for a buffer split per
    tensor. RF capacities are per PE. Energies are integer femtojoules per
    word access."""

    name: str
    capacity_words: int | dict[str, int] | None
    bandwidth_words_per_cycle: int
    energy_fj_per_word: int
    double_buffered: bool = False

    @property
    def copies(self) -> int:
        """Copies of a tile the level holds while it is refilled: 2 when double-buffered."""
        return 2 if self.double_buffered else 1

    @property
    def is_split(self) -> bool:
        return isinstance(self.capacity_words, dict)

    def capacity_of(self, tensor: str) -> int:
        """The words ``tensor`` may take: its part (``PARTITION_OF``) of a split level."""
        return self.capacity_words[PARTITION_OF[tensor]] if self.is_split else self.capacity_words

    @property
    def capacity_words_total(self) -> int:
        """All words of the level (the sum of the parts when split)."""
        return sum(self.capacity_words.values()) if self.is_split else self.capacity_words


@dataclass(frozen=True)
class Accelerator:
    name: str
    word_bits: int
    pe_rows: int
    pe_cols: int
    mac_energy_fj: int
    levels: dict[str, MemoryLevel] = field(default_factory=dict)

    @property
    def num_pes(self) -> int:
        return self.pe_rows * self.pe_cols

    def spatial_limit(self, level: str) -> int:
        return self.pe_rows if level == "ROW" else self.pe_cols

    def with_glb_words(self, words: int) -> Accelerator:
        """The same accelerator with a different shared GLB capacity (for sweeps)."""
        glb = self.levels["GLB"]
        levels = dict(self.levels)
        levels["GLB"] = MemoryLevel(
            glb.name, words, glb.bandwidth_words_per_cycle, glb.energy_fj_per_word, glb.double_buffered
        )
        return Accelerator(self.name, self.word_bits, self.pe_rows, self.pe_cols, self.mac_energy_fj, levels)

    def with_array(self, rows: int, cols: int) -> Accelerator:
        """The same memories around a PE array of ``rows`` x ``cols`` (a ``pe_array``
        override, or one PE cluster of a task-graph platform)."""
        return replace(self, pe_rows=rows, pe_cols=cols, name=f"{self.name}_{rows}x{cols}")


@dataclass(frozen=True)
class Network:
    name: str
    layers: dict[str, Layer]
    input_shape: tuple[int, int, int]  # channels, height, width
    batch: int = 1


@dataclass(frozen=True)
class ObjectiveWeights:
    """Integer weights: objective = latency*cycles + dram*words + energy*fJ."""

    latency: int = 1
    dram_words: int = 1
    energy: int = 0

    def of(self, latency, dram_words, energy=0):
        """The weighted objective latency*w_lat + dram_words*w_dram (+ energy*w_energy).
        Works on Python ints and on CP-SAT linear expressions alike (only + and
        products with the integer weights); a zero-weight energy term is left
        out, so a formulation need not build an energy variable (it may pass
        None) when energy is unweighted."""
        total = self.latency * latency + self.dram_words * dram_words
        if self.energy:
            total = total + self.energy * energy
        return total


@dataclass(frozen=True)
class SolverSettings:
    """How the search runs; ``factors``: the factor space it explores (``Factors``)."""

    time_limit_s: float = 60.0
    workers: int = 2
    seed: int = 0
    deterministic_time: float | None = None
    factors: Factors = Factors.UNEVEN
