"""CP-SAT model of the single-layer mapping space (docs/mapping_space.md).

Data: a Layer, an Accelerator, ObjectiveWeights. Variables: per dim, one row
of a factorisation table (factors at DRAM, GLB, ROW, COL, RF and derived
extents); per ordered level, a loop position per dim. Every cost term is the
integer expression of ``mapper.cost.layer`` for the same quantity, so the
objective of any solution equals ``cost_model.evaluate`` on its decoded
mapping (tests check this on every answer).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from math import prod

from ortools.sat.python import cp_model

from formulations.variables import and_var, ceil_div_var, choose_var, or_var, product_var, run_solver
from mapper.core.mapping import Mapping, canonical_order, dim_factorisations
from mapper.core.result import SolverFacts
from mapper.core.spec import (
    DIMS,
    LOOP_LEVELS,
    ORDERED_LEVELS,
    RELEVANT_DIMS,
    Accelerator,
    Layer,
    ObjectiveWeights,
    SolverSettings,
)

log = logging.getLogger(__name__)

# Columns of the per-dim factorisation table, after the LOOP_LEVELS factors.
DERIVED = ("spatial", "array", "glb_tile", "temporal", "outer", "big_DRAM", "big_GLB")


@dataclass
class DimVars:
    """The table row chosen for one dim: ``factor[level]`` and derived extents:
    spatial = f_ROW f_COL, array = spatial f_RF, glb_tile = f_GLB array,
    temporal = f_DRAM f_GLB f_RF, outer = f_DRAM f_GLB, big_L = [f_L > 1]."""

    factor: dict
    spatial: cp_model.IntVar
    array: cp_model.IntVar
    glb_tile: cp_model.IntVar
    temporal: cp_model.IntVar
    outer: cp_model.IntVar
    big: dict


@dataclass
class LayerSolution:
    status: str
    objective: int | None
    bound: int | None
    mapping: Mapping | None
    facts: SolverFacts


class LayerModel:
    """Builds the model on construction; ``solve`` runs CP-SAT and decodes."""

    def __init__(self, layer: Layer, accelerator: Accelerator, weights: ObjectiveWeights):
        self.layer, self.accelerator, self.weights = layer, accelerator, weights
        self.model = cp_model.CpModel()
        self.tensors = layer.tensors
        # Every traffic term is at most (DRAM iterations) * (GLB tile) <= MACs * (stride + dilation)^2.
        reach = max(layer.stride) + max(layer.dilation)
        self.cap = 4 * layer.macs * reach * reach + 4 * sum(layer.tensor_words(t) for t in self.tensors)
        self.dims: dict[str, DimVars] = {}
        self.position: dict[str, dict[str, cp_model.IntVar]] = {}
        self.before: dict[str, dict[tuple[str, str], object]] = {}
        self.add_factorisation_tables()
        self.add_spatial_limits()
        self.add_loop_orders()
        self.add_tile_words()
        self.add_visits()
        self.add_traffic()
        self.add_capacities()
        self.add_latency()
        self.add_energy()
        self.set_objective()

    # ------------------------------------------------------------------ variables

    def add_factorisation_tables(self) -> None:
        """For every dim d: (f_DRAM, f_GLB, f_ROW, f_COL, f_RF) is a row of the
        table of ordered factorisations of B_d (prod = B_d, f_ROW <= rows,
        f_COL <= cols), together with its derived columns (see DimVars)."""
        m = self.model
        for d in DIMS:
            rows = []
            for t in dim_factorisations(self.layer.bounds[d], self.accelerator):
                fd, fg, fr, fc, frf = t
                sp = fr * fc
                rows.append(t + (sp, sp * frf, fg * sp * frf, fd * fg * frf, fd * fg, int(fd > 1), int(fg > 1)))
            bound = self.layer.bounds[d]
            factor = {lv: m.new_int_var(1, bound, f"f_{lv}_{d}") for lv in LOOP_LEVELS}
            derived = {name: m.new_int_var(1, bound, f"{name}_{d}") for name in DERIVED[:5]}
            big = {lv: m.new_bool_var(f"big_{lv}_{d}") for lv in ORDERED_LEVELS}
            columns = [factor[lv] for lv in LOOP_LEVELS] + [derived[n] for n in DERIVED[:5]]
            columns += [big[lv] for lv in ORDERED_LEVELS]
            m.add_allowed_assignments(columns, rows)
            self.dims[d] = DimVars(factor, big=big, **derived)

    def add_spatial_limits(self) -> None:
        """prod_d f_ROW[d] <= PE rows; prod_d f_COL[d] <= PE cols;
        used_pes = prod_d spatial[d]."""
        rows_used = product_var(self.model, [self.dims[d].factor["ROW"] for d in DIMS], "rows_used", self.cap)
        cols_used = product_var(self.model, [self.dims[d].factor["COL"] for d in DIMS], "cols_used", self.cap)
        self.model.add(rows_used <= self.accelerator.pe_rows)
        self.model.add(cols_used <= self.accelerator.pe_cols)
        self.used_pes = product_var(self.model, [rows_used, cols_used], "used_pes", self.cap)

    def add_loop_orders(self) -> None:
        """At DRAM and GLB, position[d] is a permutation of 0..|DIMS|-1 (0 is
        outermost); before[d, e] <=> position[d] < position[e]. Canonical form
        (cost-neutral): loops with factor 1 sit inside every loop with factor
        > 1, and among themselves in DIMS order."""
        m = self.model
        n = len(DIMS)
        for lv in ORDERED_LEVELS:
            pos = {d: m.new_int_var(0, n - 1, f"pos_{lv}_{d}") for d in DIMS}
            m.add_all_different(list(pos.values()))
            before = {}
            for i, d in enumerate(DIMS):
                for e in DIMS[i + 1 :]:
                    b = m.new_bool_var(f"before_{lv}_{d}_{e}")
                    m.add(pos[d] < pos[e]).only_enforce_if(b)
                    m.add(pos[d] > pos[e]).only_enforce_if(b.Not())
                    before[d, e], before[e, d] = b, b.Not()
                    big_d, big_e = self.dims[d].big[lv], self.dims[e].big[lv]
                    # factor-1 loops inside factor>1 loops; factor-1 loops in DIMS order
                    m.add_implication(big_e.Not(), b).only_enforce_if(big_d)
                    m.add_implication(big_d.Not(), b.Not()).only_enforce_if(big_e)
                    m.add_implication(big_d.Not(), b).only_enforce_if(big_e.Not())
            self.position[lv], self.before[lv] = pos, before

    # ------------------------------------------------------------------ cost terms

    def _tile(self, tensor: str, extent_of, label: str):
        """Words of ``tensor`` in a box whose dim extents are ``extent_of(d)``;
        inputs use rows = (e_P - 1) stride + (e_R - 1) dilation + 1 (same for cols)."""
        if tensor != "I":
            return product_var(
                self.model, [extent_of(d) for d in sorted(RELEVANT_DIMS[tensor])], f"{label}_{tensor}", self.cap
            )
        spans = []
        for axis, (out_dim, kernel_dim) in enumerate((("P", "R"), ("Q", "S"))):
            bound = self.layer.input_extent(self.layer.bounds[out_dim], self.layer.bounds[kernel_dim], axis)
            span = self.model.new_int_var(1, bound, f"{label}_I_span{axis}")
            self.model.add(
                span
                == (extent_of(out_dim) - 1) * self.layer.stride[axis]
                + (extent_of(kernel_dim) - 1) * self.layer.dilation[axis]
                + 1
            )
            spans.append(span)
        self.tile_span[label.removeprefix("tile")] = spans
        return product_var(self.model, [extent_of("N"), extent_of("G"), extent_of("C"), *spans], f"{label}_I", self.cap)

    def add_tile_words(self) -> None:
        """tile_GLB(T), tile_ARRAY(T), tile_RF(T): words of T in the boxes of
        extents glb_tile[d], array[d] and f_RF[d]."""
        self.tile_span: dict[str, list] = {}
        self.tile = {
            "GLB": {t: self._tile(t, lambda d: self.dims[d].glb_tile, "tileGLB") for t in self.tensors},
            "ARRAY": {t: self._tile(t, lambda d: self.dims[d].array, "tileARRAY") for t in self.tensors},
            "RF": {t: self._tile(t, lambda d: self.dims[d].factor["RF"], "tileRF") for t in self.tensors},
        }

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

    def _input_rows_times_visits(self, level: str, axis: int):
        """For the input along one axis (P,R rows or Q,S cols): the outer factors
        of both dims times the span of the tile below:
        outer(P) outer(R) ((e_P - 1) stride + (e_R - 1) dilation + 1)."""
        dims = (("P", "R"), ("Q", "S"))[axis]
        if level == "GLB":  # the GLB tile repeats over the DRAM loops
            factors = [self.dims[d].factor["DRAM"] for d in dims]
        else:  # the array tile repeats over the DRAM and GLB loops
            factors = [self.dims[d].outer for d in dims]
        return product_var(self.model, [*factors, self.tile_span[level][axis]], f"input_{level}_{axis}", self.cap)

    def add_traffic(self) -> None:
        """With relevant-dim factors cancelling against tile extents (f_DRAM[d] *
        glb_tile[d] = B_d):
        DRAM(T) = |T| miss_DRAM(T) for W and O (O: writes; reads = writes - |O|);
        DRAM(I) = N G C * rowsD * colsD * miss_DRAM(I), rowsD = f_DRAM[P] f_DRAM[R] span_GLB(P, R);
        ARRAY(T) = |T| * (prod_{d irrelevant} f_DRAM[d] * miss_GLB(T) if some_glb(T) else miss_DRAM(T)),
        ARRAY(I) = N G C rowsA colsA f_DRAM[K] miss_GLB(I) if some_glb(I) else DRAM(I),
        rowsA = outer[P] outer[R] span_ARRAY(P, R).
        dram_words = DRAM(W) + DRAM(I) + 2 DRAM(O) - |O|; array_words likewise."""
        m = self.model
        b = self.layer.bounds
        ngc = b["N"] * b["G"] * b["C"]
        dram, array = {}, {}
        for t in self.tensors:
            irrelevant = [self.dims[d].factor["DRAM"] for d in DIMS if d not in RELEVANT_DIMS[t]]
            reuse_glb = product_var(m, [*irrelevant, self.miss["GLB"][t]], f"reuse_glb_{t}", self.cap)
            if t == "I":
                rows_d, cols_d = (self._input_rows_times_visits("GLB", axis) for axis in (0, 1))
                rows_a, cols_a = (self._input_rows_times_visits("ARRAY", axis) for axis in (0, 1))
                dram[t] = product_var(m, [ngc, rows_d, cols_d, self.miss["DRAM"][t]], "dram_I", self.cap)
                glb_case = product_var(m, [ngc, rows_a, cols_a, reuse_glb], "array_I_glb", self.cap)
            else:
                words = self.layer.tensor_words(t)
                dram[t] = product_var(m, [words, self.miss["DRAM"][t]], f"dram_{t}", self.cap)
                glb_case = product_var(m, [words, reuse_glb], f"array_{t}_glb", self.cap)
            array[t] = choose_var(m, self.some_glb[t], glb_case, dram[t], f"array_{t}")
            m.add(dram[t] >= self.layer.needed_words(t))  # redundant: compulsory traffic
        out_words = self.layer.tensor_words("O")
        self.dram_words = m.new_int_var(0, self.cap, "dram_words")
        self.array_words = m.new_int_var(0, self.cap, "array_words")
        m.add(self.dram_words == sum(dram[t] for t in self.tensors if t != "O") + 2 * dram["O"] - out_words)
        m.add(self.array_words == sum(array[t] for t in self.tensors if t != "O") + 2 * array["O"] - out_words)

    def add_capacities(self) -> None:
        """GLB: m_GLB * sum_T tile_GLB(T) <= capacity (or per tensor if split);
        RF (per PE): m_RF * sum_T tile_RF(T) <= capacity (or per tensor);
        m = 2 for a double-buffered level, else 1."""
        for level, tile_level in (("GLB", "GLB"), ("RF", "RF")):
            spec = self.accelerator.levels[level]
            mult = spec.copies
            tiles = self.tile[tile_level]
            if spec.is_split:
                for t in self.tensors:
                    self.model.add(mult * tiles[t] <= spec.capacity_words[t])
            else:
                self.model.add(mult * sum(tiles.values()) <= spec.capacity_words)

    def add_latency(self) -> None:
        """compute = prod_d temporal[d]; dram_cycles = ceil(dram_words / bw_DRAM);
        glb_cycles = ceil(array_words / bw_GLB); latency = max(compute + transfers
        into single-buffered levels, transfers into double-buffered levels)."""
        m, acc = self.model, self.accelerator
        self.compute_cycles = product_var(m, [self.dims[d].temporal for d in DIMS], "compute_cycles", self.cap)
        m.add_multiplication_equality(self.layer.macs, [self.compute_cycles, self.used_pes])  # redundant
        glb, rf = acc.levels["GLB"], acc.levels["RF"]
        dram_cycles = ceil_div_var(
            m, self.dram_words, acc.levels["DRAM"].bandwidth_words_per_cycle, self.cap, "dram_cycles"
        )
        glb_cycles = ceil_div_var(m, self.array_words, glb.bandwidth_words_per_cycle, self.cap, "glb_cycles")
        serial = self.compute_cycles
        overlapped = []
        for cycles, double in ((dram_cycles, glb.double_buffered), (glb_cycles, rf.double_buffered)):
            if double:
                overlapped.append(cycles)
            else:
                serial = serial + cycles
        self.latency = m.new_int_var(0, 3 * self.cap, "latency")
        m.add_max_equality(self.latency, [serial, *overlapped])

    def add_energy(self) -> None:
        """Only when weighted: energy_fJ = e_DRAM dram_words + e_GLB (dram_words +
        array_words) + e_RF rf_accesses + e_MAC MACs, with rf_accesses =
        used_pes (sum_{W,I} vC(T) tile_RF(T) + (2 vC(O) - prod_{d in O} outer[d]) tile_RF(O))."""
        self.energy = None
        if self.weights.energy == 0:
            return
        m, acc = self.model, self.accelerator
        rf_terms = []
        for t in self.tensors:
            rel = sorted(RELEVANT_DIMS[t])
            glb_case = product_var(
                m,
                [self.dram_iterations, self.miss["GLB"][t], *(self.dims[d].factor["GLB"] for d in rel)],
                f"vC_glb_{t}",
                self.cap,
            )
            dram_case = product_var(
                m, [self.miss["DRAM"][t], *(self.dims[d].factor["DRAM"] for d in rel)], f"vC_dram_{t}", self.cap
            )
            visits = choose_var(m, self.some_glb[t], glb_case, dram_case, f"visits_RF_{t}")
            rf_terms.append(product_var(m, [visits, self.tile["RF"][t]], f"rf_{t}", self.cap))
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
        w = self.weights
        terms = w.latency * self.latency + w.dram_words * self.dram_words
        if self.energy is not None:
            terms = terms + w.energy * self.energy
        self.model.minimize(terms)

    # ------------------------------------------------------------------ solving

    def add_pins(self, pins: dict) -> None:
        """Pinned decisions: f_L[d] = value for each pinned factor; for a pinned
        order at a level, d before e for consecutive pinned dims that both have
        factor > 1 there (the order of factor-1 loops changes nothing)."""
        for level, dims in pins.get("factors", {}).items():
            for d, value in dims.items():
                self.model.add(self.dims[d].factor[level] == value)
        for level, order in pins.get("orders", {}).items():
            for d, e in zip(order, order[1:], strict=False):
                both = [self.dims[d].big[level], self.dims[e].big[level]]
                self.model.add_implication(both[0], self.before[level][d, e]).only_enforce_if(both[1])

    def add_hint(self, mapping: Mapping) -> bool:
        """Hint a complete solution: fix the mapping's factors and canonical loop
        orders in a clone of the model, solve it (pure propagation), and hint
        every variable with that solution. False if the mapping is infeasible."""
        probe = self.model.clone()

        def pin(var, value: int) -> None:
            probe.add(probe.get_int_var_from_proto_index(var.index) == value)

        for d in DIMS:
            for lv in LOOP_LEVELS:
                pin(self.dims[d].factor[lv], mapping.factors[lv][d])
        for lv in ORDERED_LEVELS:
            order = canonical_order([d for d in mapping.orders[lv] if mapping.factors[lv][d] > 1])
            for position, d in enumerate(order):
                pin(self.position[lv][d], position)
        solver = cp_model.CpSolver()
        solver.parameters.num_workers = 1
        solver.parameters.max_time_in_seconds = 10.0
        if solver.solve(probe) not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            return False
        for index in range(len(self.model.proto.variables)):
            var = self.model.get_int_var_from_proto_index(index)
            self.model.add_hint(var, solver.value(probe.get_int_var_from_proto_index(index)))
        return True

    def solve(self, settings: SolverSettings) -> LayerSolution:
        solver, status, facts = run_solver(self.model, settings)
        if status not in ("OPTIMAL", "FEASIBLE"):
            bound = solver.best_objective_bound if status == "UNKNOWN" else None
            finite = bound is not None and abs(bound) < self.cap * 1e3
            return LayerSolution(status, None, round(bound) if finite else None, None, facts)
        objective = round(solver.objective_value)
        bound = round(solver.best_objective_bound)
        log.info("layer %s: %s objective %d bound %d", self.layer.name, status, objective, bound)
        return LayerSolution(status, objective, bound, self.decode(solver), facts)

    def decode(self, solver: cp_model.CpSolver) -> Mapping:
        factors = {lv: {d: solver.value(self.dims[d].factor[lv]) for d in DIMS} for lv in LOOP_LEVELS}
        orders = {
            lv: tuple(sorted(DIMS, key=lambda d, lv=lv: solver.value(self.position[lv][d]))) for lv in ORDERED_LEVELS
        }
        assert all(prod(factors[lv][d] for lv in LOOP_LEVELS) == self.layer.bounds[d] for d in DIMS)
        return Mapping(factors, orders)
