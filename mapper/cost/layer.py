"""Exact integer cost model of one layer mapped on one accelerator (DESIGN 4.1).

No ortools here: this module is the executable specification that the CP-SAT
formulation and the referee are checked against. docs/cost_model.md states
the same formulas in prose.

Notation (all per mapping): f_L[d] is the factor of dim d at loop level L;
``array[d] = f_ROW[d] * f_COL[d] * f_RF[d]`` is the extent one GLB-loop
iteration covers across the PE array; ``glb[d] = f_GLB[d] * array[d]`` is the
extent of the GLB tile (one DRAM-loop iteration).

* visits_L(T): how many times the tile of tensor T held below loop level L
  changes: the product of the factors of all L-loops from the outermost down
  to the innermost loop that is relevant to T and has a factor > 1 (loops
  inside it are irrelevant to T and give reuse). 1 if there is none.
* Combined visits of the RF tile over the DRAM+GLB nest:
  vC(T) = visits_GLB(T) * (prod f_DRAM if some relevant GLB factor > 1 else visits_DRAM(T)).
* DRAM reads of W, I = visits_DRAM(T) * tile_GLB(T), less the rows an input
  tile sliding along P or Q keeps (``mapper.cost.loops.input_fetch_words``).
  Outputs: writes = visits_DRAM(O) * tile_GLB(O); reads (partial sums) =
  writes - |O|.
* GLB -> array reads of W, I = vC(T) * tile_array(T) (multicast: identical
  words read once for all PEs), less the rows an input array tile sliding at
  the GLB loops keeps; array -> GLB writes of O = vC(O) * tile_array(O),
  and GLB -> array psum reads = that - |O| (spatial reductions happen in the
  array before the GLB).
* RF boundary accesses = used PEs * (vC(W) tile_RF(W) + fills_RF(I)
  + (2 vC(O) - distinct_RF(O)) tile_RF(O)), fills_RF(I) = vC(I) tile_RF(I)
  less the kept rows of a sliding array tile; the MAC energy covers the RF
  operand accesses of every MAC.
* Tensors held on chip (``Layer.on_chip``): no DRAM reads or writes; each takes
  its whole size in the GLB; their GLB tiles move in no time (no DMA transfer).
* Capacity: an input's tile takes ``copies`` (2 when double-buffered) times
  its words in a level where it is refilled (visits_DRAM(T) > 1 for the GLB,
  vC(T) > 1 for the RF) and its words once where it is loaded once; an output
  tile accumulates in place and takes its words once, or in the RF with
  ``double_outputs`` twice where it changes; the sum over tensors
  (or each tensor, for a level split per tensor) fits the capacity.
* Latency: the makespan of the lock-step schedule (``mapper.cost.layer_latency``).
"""

from __future__ import annotations

from dataclasses import dataclass
from math import prod

from mapper.core.mapping import DOUBLE_OUTPUT_LEVELS, Mapping
from mapper.core.spec import (
    CHANNEL_DIMS,
    DIMS,
    RELEVANT_DIMS,
    SPATIAL_LEVELS,
    Accelerator,
    Layer,
    MemoryLevel,
    ObjectiveWeights,
)
from mapper.cost.layer_latency import layer_latency
from mapper.cost.loops import combined_visits, input_fetch_words, loop_visits


@dataclass(frozen=True)
class LayerCost:
    """Every count the cost model produces for one mapping (all integers but
    utilisation)."""

    valid: bool
    violations: tuple[str, ...]
    macs: int
    used_pes: int
    compute_cycles: int
    tile_words: dict[str, dict[str, int]]  # level ("GLB", "ARRAY", "RF") -> tensor -> words
    visits: dict[str, dict[str, int]]  # "DRAM" / "RF" (combined) -> tensor -> visits
    dram_reads: dict[str, int]
    dram_writes: dict[str, int]
    glb_to_array: dict[str, int]
    array_to_glb: dict[str, int]
    glb_occupancy_words: int
    rf_occupancy_words: int
    dram_words: int
    array_words: int
    glb_accesses: int
    rf_accesses: int
    latency_cycles: int
    energy_fj: int
    utilisation: float

    def objective(self, weights: ObjectiveWeights) -> int:
        return weights.of(self.latency_cycles, self.dram_words, self.energy_fj)

    def metrics(self, accelerator: Accelerator) -> dict:
        return {
            "latency_cycles": self.latency_cycles,
            "compute_cycles": self.compute_cycles,
            "dram_words": self.dram_words,
            "dram_bytes": self.dram_words * accelerator.word_bits // 8,
            "energy_pj": self.energy_fj / 1000,
            "energy_fj": self.energy_fj,
            "utilisation": self.utilisation,
            "used_pes": self.used_pes,
            "glb_occupancy_words": self.glb_occupancy_words,
            "rf_occupancy_words": self.rf_occupancy_words,
            "dram_reads": dict(self.dram_reads),
            "dram_writes": dict(self.dram_writes),
            "glb_accesses": self.glb_accesses,
            "macs": self.macs,
        }


def resident_words(
    level: MemoryLevel, tiles: dict[str, int], visits: dict[str, int], double_output: bool = False
) -> dict[str, int]:
    """Words each tensor holds in ``level``: an input's tile times ``level.copies``
    when it is refilled (visited more than once), since the next tile then arrives
    while the current one is in use, and a tile loaded once, once. An output tile once
    (it accumulates in place and is written out before the next one comes in),
    or, ``double_output``, ``level.copies`` times when it changes (the next tile
    accumulates while the last one drains)."""
    doubled = {t: visits[t] > 1 and (t != "O" or double_output) for t in tiles}
    return {t: words * (level.copies if doubled[t] else 1) for t, words in tiles.items()}


def remainders_cut(layer: Layer, mapping: Mapping, level: str, words: dict[str, int]) -> dict[str, int]:
    """``words`` of each tensor moved below ``level``'s loops counted with whole tiles,
    less what the remainder tiles of uneven dims do not hold: along a channel dim d
    relevant to T, the tiles of the positions the count walks sum to B_d (the positions
    cut the bound), where the whole-tile count has positions_L(d) x e_L(d) (DRAM: f_DRAM
    positions of the GLB tile's extent; GLB: f_DRAM f_GLB of the array tile's). The
    count is a product with that factor, so the division is exact."""
    f, bounds = mapping.factors, layer.bounds
    extents = mapping.extents_below(level, bounds)
    cut = {}
    for t, count in words.items():
        for d in sorted(RELEVANT_DIMS[t] & CHANNEL_DIMS):
            positions = f["DRAM"][d] * (f["GLB"][d] if level == "GLB" else 1)
            count = count // (positions * extents[d]) * bounds[d]
        cut[t] = count
    return cut


def output_buffering_violations(accelerator: Accelerator, mapping: Mapping) -> list[str]:
    """A double-buffered output tile needs a level that is double-buffered."""
    return [
        f"double_outputs: {level} cannot double-buffer the output"
        + (" (only RF can)" if level not in DOUBLE_OUTPUT_LEVELS else " (the level is single-buffered)")
        for level in mapping.double_outputs
        if level not in DOUBLE_OUTPUT_LEVELS or not accelerator.levels[level].double_buffered
    ]


def _capacity_violations(level: MemoryLevel, resident: dict[str, int]) -> list[str]:
    capacity = level.capacity_words
    if level.is_split:
        return [
            f"{level.name} {t} tile needs {words} words, capacity {level.capacity_of(t)}"
            for t, words in resident.items()
            if words > level.capacity_of(t)
        ]
    total = sum(resident.values())
    return [f"{level.name} tiles need {total} words, capacity {capacity}"] if total > capacity else []


def evaluate(layer: Layer, accelerator: Accelerator, mapping: Mapping) -> LayerCost:
    """Cost of ``mapping`` for ``layer`` on ``accelerator``; ``valid`` is False
    with reasons when a constraint of the mapping space is broken."""
    f = mapping.factors
    violations = mapping.factor_violations(layer.bounds)
    for lv in SPATIAL_LEVELS:
        used = prod(f[lv][d] for d in DIMS)
        if used > accelerator.spatial_limit(lv):
            violations.append(f"{lv} unrolling uses {used} PEs, array has {accelerator.spatial_limit(lv)}")
    tensors = layer.tensors

    rf_ext = mapping.extents_below("COL", layer.bounds)
    array_ext = mapping.extents_below("GLB", layer.bounds)
    glb_ext = mapping.extents_below("DRAM", layer.bounds)
    tiles = {
        "GLB": {t: layer.tile_words(t, glb_ext) for t in tensors},
        "ARRAY": {t: layer.tile_words(t, array_ext) for t in tensors},
        "RF": {t: layer.tile_words(t, rf_ext) for t in tensors},
    }
    visits_dram = {t: loop_visits(mapping.orders["DRAM"], f["DRAM"], RELEVANT_DIMS[t]) for t in tensors}
    visits_rf = {t: combined_visits(mapping, RELEVANT_DIMS[t]) for t in tensors}

    out_words = layer.tensor_words("O")
    dram_reads = {t: visits_dram[t] * tiles["GLB"][t] for t in tensors if t != "O"}
    dram_reads["I"] = input_fetch_words(layer, mapping, "DRAM", glb_ext, visits_dram["I"], tiles["GLB"]["I"])
    dram_writes = {"O": visits_dram["O"] * tiles["GLB"]["O"]}
    dram_reads, dram_writes = (remainders_cut(layer, mapping, "DRAM", words) for words in (dram_reads, dram_writes))
    dram_reads["O"] = dram_writes["O"] - out_words
    for t in layer.on_chip:  # held in the GLB: it never moves to or from DRAM
        dram_reads[t] = 0
        if t == "O":
            dram_writes[t] = 0
    glb_to_array = {t: visits_rf[t] * tiles["ARRAY"][t] for t in tensors if t != "O"}
    glb_to_array["I"] = input_fetch_words(layer, mapping, "GLB", array_ext, visits_rf["I"], tiles["ARRAY"]["I"])
    glb_to_array = remainders_cut(layer, mapping, "GLB", glb_to_array)
    rf_fills = {t: visits_rf[t] * tiles["RF"][t] for t in tensors if t != "O"}
    rf_fills["I"] = input_fetch_words(layer, mapping, "GLB", array_ext, visits_rf["I"], tiles["RF"]["I"])
    array_to_glb = remainders_cut(layer, mapping, "GLB", {"O": visits_rf["O"] * tiles["ARRAY"]["O"]})
    glb_to_array["O"] = array_to_glb["O"] - out_words

    used_pes = mapping.used_pes
    distinct_rf_out = prod(f["DRAM"][d] * f["GLB"][d] for d in RELEVANT_DIMS["O"])
    rf_accesses = used_pes * (sum(rf_fills.values()) + (2 * visits_rf["O"] - distinct_rf_out) * tiles["RF"]["O"])
    dram_words = sum(dram_reads.values()) + sum(dram_writes.values())
    array_words = sum(glb_to_array.values()) + sum(array_to_glb.values())
    glb_accesses = dram_words + array_words

    glb, rf, dram = accelerator.levels["GLB"], accelerator.levels["RF"], accelerator.levels["DRAM"]
    glb_resident = resident_words(glb, tiles["GLB"], visits_dram) | {t: layer.tensor_words(t) for t in layer.on_chip}
    rf_resident = resident_words(rf, tiles["RF"], visits_rf, mapping.output_double("RF"))
    violations += output_buffering_violations(accelerator, mapping)
    violations += _capacity_violations(glb, glb_resident)
    violations += _capacity_violations(rf, rf_resident)

    macs = layer.macs
    compute_cycles = mapping.nest_iterations * prod(f["RF"].values())  # a remainder window takes a whole one's
    latency = layer_latency(layer, accelerator, mapping).total
    energy = (
        dram.energy_fj_per_word * dram_words
        + glb.energy_fj_per_word * glb_accesses
        + rf.energy_fj_per_word * rf_accesses
        + accelerator.mac_energy_fj * macs
    )
    return LayerCost(
        valid=not violations,
        violations=tuple(violations),
        macs=macs,
        used_pes=used_pes,
        compute_cycles=compute_cycles,
        tile_words=tiles,
        visits={"DRAM": visits_dram, "RF": visits_rf},
        dram_reads=dram_reads,
        dram_writes=dram_writes,
        glb_to_array=glb_to_array,
        array_to_glb=array_to_glb,
        glb_occupancy_words=sum(glb_resident.values()),
        rf_occupancy_words=sum(rf_resident.values()),
        dram_words=dram_words,
        array_words=array_words,
        glb_accesses=glb_accesses,
        rf_accesses=rf_accesses,
        latency_cycles=latency,
        energy_fj=energy,
        utilisation=macs / (accelerator.num_pes * latency),
    )
