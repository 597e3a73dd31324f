"""CP-SAT model of the single-layer mapping space (docs/mapping_space.md).

Data: a Layer, an Accelerator, ObjectiveWeights. Variables (with pins, hints
and decoding, in ``formulations.layer_vars``): per dim, one row of a
factorisation table (factors at DRAM, GLB, ROW, COL, RF and derived extents);
per ordered level, a loop position per dim. Every cost term is the
integer expression of ``mapper.cost.layer`` for the same quantity, so the
objective of any solution equals ``cost_model.evaluate`` on its decoded
mapping (tests check this on every answer).
"""

from __future__ import annotations

from ortools.sat.python import cp_model

from formulations.layer_latency import LayerLatency
from formulations.layer_vars import DimVars
from formulations.solution import Solution, run_solver
from formulations.variables import and_var, choose_var, or_var, product_var
from mapper.core.enums import Axis, Factors
from mapper.core.mapping import Mapping
from mapper.core.spec import (
    DIMS,
    ORDERED_LEVELS,
    RELEVANT_DIMS,
    Accelerator,
    Layer,
    ObjectiveWeights,
    SolverSettings,
)

# CP-SAT's probing at presolve level 0 instead of 2. Level 1 on 29 layers of the five networks on
# the Eyeriss-like and 16x16 presets (2 workers, one run): median 0.84x the time, 85 s against
# 101 s in all, every optimum the same. Level 0 against 1 with the uneven splits, on 6 ResNet-18
# and VGG16 layers on the Eyeriss-like preset: 26.5 s against 37.0 s in all (divisors only:
# 13.0 s against 13.2 s), the same optima; on all 206 bundled layers in the divisor space, median
# 2.10 s against 2.96 s at level 1 (docs/benchmarks.md, step 5).
TUNING = {"cp_model_probing_level": 0}


class LayerModel(LayerLatency):
    """Builds the model on construction; ``solve`` runs CP-SAT and decodes."""

    def __init__(
        self,
        layer: Layer,
        accelerator: Accelerator,
        weights: ObjectiveWeights,
        double_out: bool = False,
        factors: Factors = Factors.UNEVEN,
    ):
        self.layer, self.accelerator, self.weights = layer, accelerator, weights
        self.double_out = double_out  # the output's RF tile double-buffered (LayerSearch has both sides)
        self.factors = factors  # the factor space (uneven channel splits or divisors only)
        self.model = cp_model.CpModel()
        self.tensors = layer.tensors
        # Every traffic term is at most (DRAM iterations) * (GLB tile) <= MACs * (stride + dilation)^2.
        reach = max(layer.stride) + max(layer.dilation)
        self.cap = 4 * layer.macs * reach * reach + 4 * sum(layer.tensor_words(t) for t in self.tensors)
        self.dims: dict[str, DimVars] = {}
        self.position: dict[str, dict[str, cp_model.IntVar]] = {}
        self.before: dict[str, dict[tuple[str, str], object]] = {}
        self.visit_vars: dict = {}  # (level, tensor) -> visits_L(T), made once (formulations.layer_latency)
        self.add_factorisation_tables()
        self.add_spatial_limits()
        self.add_loop_orders()
        self.add_tile_words()
        self.add_visits()
        self.add_traffic()
        self.add_output_buffering()
        self.add_capacities()
        self.add_latency()
        self.add_energy()
        self.set_objective()

    def add_spatial_limits(self) -> None:
        """prod_d f_ROW[d] <= PE rows; prod_d f_COL[d] <= PE cols;
        used_pes = prod_d spatial[d]."""
        rows_used = product_var(self.model, [self.dims[d].factor["ROW"] for d in DIMS], "rows_used", self.cap)
        cols_used = product_var(self.model, [self.dims[d].factor["COL"] for d in DIMS], "cols_used", self.cap)
        self.model.add(rows_used <= self.accelerator.pe_rows)
        self.model.add(cols_used <= self.accelerator.pe_cols)
        self.used_pes = product_var(self.model, [rows_used, cols_used], "used_pes", self.cap)

    # add_factorisation_tables and add_loop_orders: formulations.layer_vars;
    # add_tile_words and the input's rows and cols: formulations.layer_tiles;
    # add_latency: formulations.layer_latency

    # ------------------------------------------------------------------ cost terms

    def _miss(self, level: str, tensor: str):
        """miss_L(T) = prod_{d not relevant to T} g[d], g[d] = f_L[d] if some
        relevant e with f_L[e] > 1 sits inside d, else 1: the factor by which
        loops irrelevant to T re-fetch its tile. visits_L(T) = miss_L(T) *
        prod_{d relevant} f_L[d]."""
        m = self.model
        relevant = RELEVANT_DIMS[tensor]
        terms = []
        for d in DIMS:
            if d in relevant:
                continue
            outside = [
                and_var(m, self.dims[e].big[level], self.before[level][d, e], f"out_{level}_{tensor}_{d}_{e}")
                for e in DIMS
                if e in relevant
            ]
            counts = or_var(m, outside, f"counts_{level}_{tensor}_{d}")
            terms.append(choose_var(m, counts, self.dims[d].factor[level], 1, f"g_{level}_{tensor}_{d}"))
        return product_var(m, terms, f"miss_{level}_{tensor}", self.cap)

    def add_visits(self) -> None:
        """miss_DRAM(T), miss_GLB(T) (see _miss) and some_glb(T) = [some relevant
        f_GLB > 1]. The combined RF-tile visits are
        vC(T) = visits_GLB(T) * (prod_d f_DRAM[d] if some_glb(T) else visits_DRAM(T))."""
        m = self.model
        self.dram_iterations = product_var(m, [self.dims[d].factor["DRAM"] for d in DIMS], "dram_iterations", self.cap)
        self.miss = {lv: {t: self._miss(lv, t) for t in self.tensors} for lv in ORDERED_LEVELS}
        self.some_glb = {
            t: or_var(m, [self.dims[d].big["GLB"] for d in sorted(RELEVANT_DIMS[t])], f"some_glb_{t}")
            for t in self.tensors
        }

    def add_traffic(self) -> None:
        """With relevant-dim factors cancelling against tile extents (the f_DRAM[d] GLB
        tiles along d cut B_d, a remainder tile of an uneven split included, so their
        extents sum to B_d; likewise the outer[d] array tiles):
        DRAM(T) = |T| miss_DRAM(T) for W and O (O: writes; reads = writes - |O|);
        DRAM(I) = N G C * rowsD * colsD * miss_DRAM(I), rowsD = f_DRAM[P] f_DRAM[R] span_GLB(P, R)
        (less the kept rows of a sliding tile: LayerTiles._sliding);
        ARRAY(T) = |T| * (prod_{d irrelevant} f_DRAM[d] * miss_GLB(T) if some_glb(T) else miss_DRAM(T)),
        ARRAY(I) = N G C rowsA colsA f_DRAM[K] miss_GLB(I) if some_glb(I) else DRAM(I) without sliding,
        rowsA = outer[P] outer[R] span_ARRAY(P, R) (less the kept rows of an array tile sliding at the GLB).
        dram_words = DRAM(W) + DRAM(I) + 2 DRAM(O) - |O|; array_words likewise. A tensor
        held on chip (``Layer.on_chip``) moves no DRAM words."""
        m = self.model
        b = self.layer.bounds
        ngc = b["N"] * b["G"] * b["C"]
        dram, array = {}, {}
        for t in self.tensors:
            irrelevant = [self.dims[d].factor["DRAM"] for d in DIMS if d not in RELEVANT_DIMS[t]]
            reuse_glb = product_var(m, [*irrelevant, self.miss["GLB"][t]], f"reuse_glb_{t}", self.cap)
            if t == "I":
                rows_d, cols_d = (self._input_rows_times_visits("GLB", axis) for axis in Axis)
                rows_a, cols_a = (self._input_rows_times_visits("ARRAY", axis) for axis in Axis)
                whole = product_var(m, [ngc, rows_d, cols_d, self.miss["DRAM"][t]], "dram_I_whole", self.cap)
                if t not in self.layer.on_chip:  # a held input makes no DRAM term (no variables left unused)
                    slid = [self._sliding("DRAM", axis, r) for axis, r in zip(Axis, (rows_d, cols_d), strict=True)]
                    dram[t] = product_var(m, [ngc, *slid, self.miss["DRAM"][t]], "dram_I", self.cap)
                slid_a = [self._sliding("GLB", axis, rows) for axis, rows in zip(Axis, (rows_a, cols_a), strict=True)]
                glb_case = product_var(m, [ngc, *slid_a, reuse_glb], "array_I_glb", self.cap)
            else:
                words = self.layer.tensor_words(t)
                dram[t] = whole = product_var(m, [words, self.miss["DRAM"][t]], f"dram_{t}", self.cap)
                glb_case = product_var(m, [words, reuse_glb], f"array_{t}_glb", self.cap)
            array[t] = choose_var(m, self.some_glb[t], glb_case, whole, f"array_{t}")
            if t in self.layer.on_chip:  # held in the GLB: no DRAM words
                dram[t] = 0
            else:
                m.add(dram[t] >= self.layer.needed_words(t))  # redundant: compulsory traffic
        self.dram_of, self.array_of = dram, array
        out_words = self.layer.tensor_words("O")
        self.dram_words = m.new_int_var(0, self.cap, "dram_words")
        self.array_words = m.new_int_var(0, self.cap, "array_words")
        m.add(self.dram_words == sum(dram[t] for t in self.tensors if t != "O") + self._output_dram_words())
        m.add(self.array_words == sum(array[t] for t in self.tensors if t != "O") + 2 * array["O"] - out_words)

    def add_output_buffering(self) -> None:
        """With ``double_out`` (the output's RF tile double-buffered, ``Mapping.double_outputs``;
        only where the RF is) the tile changes inside the GLB nest: some_glb(O) (elsewhere
        the second copy only takes space)."""
        if self.double_out:
            if not self.accelerator.levels["RF"].double_buffered:
                raise ValueError("double-buffered outputs need a double-buffered RF")
            self.model.add(self.some_glb["O"] == 1)

    def add_capacities(self) -> None:
        """Per level L (GLB; RF per PE), resident_L(T) = tile_L(T) * (copies_L if
        refilled_L(T) else 1) for an input, tile_L(O) for the output (it accumulates
        in place; copies_RF tile_RF(O) if double_out), copies = 2 for a double-buffered level, with
        refilled_GLB(T) = [some relevant f_DRAM > 1] (visits_DRAM(T) > 1) and
        refilled_RF(T) = refilled_GLB(T) or some_glb(T) (vC(T) > 1);
        sum_T resident_L(T) <= capacity (each tensor's, if the level is split); a tensor
        held on chip takes |T| in the GLB."""
        m = self.model
        refilled = {
            "GLB": {
                t: or_var(m, [self.dims[d].big["DRAM"] for d in sorted(RELEVANT_DIMS[t])], f"refilled_GLB_{t}")
                for t in self.tensors
            }
        }
        refilled["RF"] = {
            t: or_var(m, [refilled["GLB"][t], self.some_glb[t]], f"refilled_RF_{t}") for t in self.tensors
        }
        for level in ("GLB", "RF"):
            spec = self.accelerator.levels[level]
            resident = {}
            for t, tile in self.tile[level].items():
                resident[t] = tile
                if level == "GLB" and t in self.layer.on_chip:
                    resident[t] = self.layer.tensor_words(t)
                elif t == "O" and level == "RF" and self.double_out:  # some_glb(O), so refilled
                    resident[t] = product_var(m, [spec.copies, tile], "copies_RF_O", self.cap)
                elif spec.copies > 1 and t != "O":  # an output tile accumulates in place: one copy
                    doubled = product_var(m, [spec.copies, tile], f"copies_{level}_{t}", self.cap)
                    resident[t] = choose_var(m, refilled[level][t], doubled, tile, f"resident_{level}_{t}")
            if spec.is_split:
                for t in self.tensors:
                    m.add(resident[t] <= spec.capacity_of(t))
            else:
                m.add(sum(resident.values()) <= spec.capacity_words)

    def add_energy(self) -> None:
        """Only when weighted: energy_fJ = e_DRAM dram_words + e_GLB (dram_words +
        array_words) + e_RF rf_accesses + e_MAC MACs, with rf_accesses =
        used_pes (vC(W) tile_RF(W) + fills_RF(I) + (2 vC(O) - prod_{d in O} outer[d]) tile_RF(O)),
        fills_RF(I) less the kept rows of a sliding array tile (LayerTiles._rf_input_fills)."""
        self.energy = None
        if self.weights.energy == 0:
            return
        m, acc = self.model, self.accelerator
        rf_terms = []
        for t in self.tensors:
            if t == "I":
                rf_terms.append(self._rf_input_fills(self._combined_visits(t)))
            else:
                rf_terms.append(product_var(m, [self._combined_visits(t), self.tile["RF"][t]], f"rf_{t}", self.cap))
        distinct_out = product_var(
            m, [self.dims[d].outer for d in sorted(RELEVANT_DIMS["O"])], "distinct_rf_O", self.cap
        )
        out_rf = product_var(m, [distinct_out, self.tile["RF"]["O"]], "rf_O_first", self.cap)
        per_pe = m.new_int_var(0, self.cap, "rf_per_pe")
        m.add(per_pe == sum(rf_terms) + rf_terms[self.tensors.index("O")] - out_rf)
        rf_accesses = product_var(m, [per_pe, self.used_pes], "rf_accesses", self.cap)
        lv = acc.levels
        lv_energy = lv["DRAM"].energy_fj_per_word + 2 * lv["GLB"].energy_fj_per_word + lv["RF"].energy_fj_per_word
        self.energy = m.new_int_var(0, lv_energy * self.cap + acc.mac_energy_fj * self.layer.macs, "energy_fj")
        m.add(
            self.energy
            == lv["DRAM"].energy_fj_per_word * self.dram_words
            + lv["GLB"].energy_fj_per_word * (self.dram_words + self.array_words)
            + lv["RF"].energy_fj_per_word * rf_accesses
            + acc.mac_energy_fj * self.layer.macs
        )

    def set_objective(self) -> None:
        """minimise w_lat latency + w_dram dram_words + w_energy energy_fJ."""
        self.objective = self.weights.of(self.latency, self.dram_words, self.energy)
        self.model.minimize(self.objective)

    # ------------------------------------------------------------------ solving (pins, hints, decode: layer_vars)

    def solve(self, settings: SolverSettings) -> Solution[Mapping]:
        """Without a solution, an UNKNOWN status still reports CP-SAT's bound when
        it is finite (below 1000 x the traffic cap)."""
        return run_solver(self.model, settings, self.decode, self.cap * 1e3, TUNING)
