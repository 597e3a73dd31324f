"""CP-SAT terms of a layer's latency: the makespan of its lock-step schedule
(``mapper.cost.layer_latency`` states it in closed form, docs/cost_model.md
draws the schedule). A base of ``LayerModel`` (formulations.layer), over the
visits, tiles and sliding rows of the bases below it.

A tensor's tile changes at iteration i >= 1 of a nest of n iterations when
R_T | i, R_T = n / visits(T), and the R_T of one nest divide one another.
So the iterations where the marks of a set U all change number
g(U) = min_{m in U} v_m - 1 (g of no mark: n - 1), and exactly the marks S
change at count_S = sum_{U >= S} (-1)^{|U - S|} g(U) iterations (inclusion-
exclusion; sets the chain makes impossible count 0).
"""

from __future__ import annotations

from itertools import combinations

from formulations.layer_tiles import LayerTiles
from formulations.variables import ceil_div_var, choose_var, product_var, upper_bound
from mapper.core.enums import Axis, Factors
from mapper.core.spec import AXIS_DIMS, DIMS, RELEVANT_DIMS


class LayerLatency(LayerTiles):
    """``add_latency`` sets ``latency`` (needs ``miss``, ``some_glb``, ``tile``,
    ``dram_iterations``, the sliding literals of the input and an empty ``visit_vars``)."""

    visit_vars: dict

    def _visits(self, level: str, tensor: str):
        """visits_L(T) = miss_L(T) * prod_{d relevant to T} f_L[d] (one variable each)."""
        if (level, tensor) not in self.visit_vars:
            factors = [self.dims[d].factor[level] for d in sorted(RELEVANT_DIMS[tensor])]
            self.visit_vars[level, tensor] = product_var(
                self.model, [self.miss[level][tensor], *factors], f"visits_{level}_{tensor}", self.cap
            )
        return self.visit_vars[level, tensor]

    def _combined_visits(self, tensor: str):
        """vC(T) = visits_GLB(T) * (n_D if some_glb(T) else visits_DRAM(T)): the RF tile's
        changes over the whole nest (one variable each)."""
        if ("RF", tensor) not in self.visit_vars:
            m = self.model
            outer = choose_var(
                m, self.some_glb[tensor], self.dram_iterations, self._visits("DRAM", tensor), f"vC_outer_{tensor}"
            )
            self.visit_vars["RF", tensor] = product_var(
                m, [self._visits("GLB", tensor), outer], f"vC_{tensor}", self.cap
            )
        return self.visit_vars["RF", tensor]

    def _cycles(self, words, level: str, name: str):
        """ceil(words / bandwidth of ``level``): one transfer's cycles."""
        bandwidth = self.accelerator.levels[level].bandwidth_words_per_cycle
        cycles = ceil_div_var(self.model, words, bandwidth, upper_bound(words), name)
        self.model.add(cycles >= 1)  # a tile has a word at least
        return cycles

    def _times_cycles(self, count, cycles, name: str):
        """count * cycles, with the redundant count <= product (cycles >= 1) for the bound."""
        product = product_var(self.model, [count, cycles], name, self.cap)
        self.model.add(product >= count)
        return product

    def _var(self, expression, bound: int, name: str):
        """A variable equal to a linear ``expression`` (for products)."""
        var = self.model.new_int_var(0, bound, name)
        self.model.add(var == expression)
        return var

    def _stalls(self, iterations, marks: list[tuple], window, double: bool, label: str):
        """sum_{i=1}^{n-1} period(i) - (n - 1) window: with double buffering
        sum_S count_S max(0, F_S - window), else sum_m (v_m - 1) c_m. ``marks`` are
        (visits, cycles, requires) with ``requires`` the index of a mark whose
        change every change of this one implies (or None)."""
        m = self.model
        if not double:
            terms = []
            for i, (v, c, _) in enumerate(marks):
                changes = self._var(v - 1, upper_bound(v), f"{label}_changes{i}")
                terms.append(product_var(m, [changes, c], f"{label}_serial{i}", self.cap))  # c may be 0
            return sum(terms)
        common = {}
        for size in range(2, len(marks) + 1):
            for subset in combinations(range(len(marks)), size):
                low = m.new_int_var(1, upper_bound(marks[subset[0]][0]), f"{label}_min{subset}")
                m.add_min_equality(low, [marks[i][0] for i in subset])
                common[subset] = low
        stalls = []
        for size in range(1, len(marks) + 1):
            for subset in combinations(range(len(marks)), size):
                if any(marks[i][2] is not None and marks[i][2] not in subset for i in subset):
                    continue  # a change the chain rules out: its count is 0
                count = 0
                for extra in range(len(marks) - size + 1):
                    for more in combinations([i for i in range(len(marks)) if i not in subset], extra):
                        union = tuple(sorted(subset + more))
                        g = (marks[union[0]][0] if len(union) == 1 else common[union]) - 1
                        count += (-1) ** extra * g
                counted = m.new_int_var(0, upper_bound(iterations), f"{label}_count{subset}")
                m.add(counted == count)
                stall = m.new_int_var(0, self.cap, f"{label}_stall{subset}")
                m.add_max_equality(stall, [0, sum(marks[i][1] for i in subset) - window])
                stalls.append(product_var(m, [counted, stall], f"{label}_stalls{subset}", self.cap))
        return sum(stalls)

    def _input_marks(self, level: str, cycles: dict) -> list[tuple]:
        """(visits, cycles, requires) of the prefetches over ``level``'s loops of the inputs
        in ``cycles`` (DRAM: GLB tiles on the DMA; GLB: array tiles on the port): each
        input's whole tile, or for an input sliding along an axis, the slid rows at every
        change and the rest of the tile where the sliding loop wraps (every f_L[o] changes)."""
        m, marks = self.model, []
        tile, channel = ("GLB", "DRAM") if level == "DRAM" else ("ARRAY", "GLB")
        for t, whole in cycles.items():
            visits = self._visits(level, t)
            if t != "I" or not self.slide[level]:
                marks.append((visits, whole, None))
                continue
            slid_cycles, wraps = whole, 1
            for axis, slide in self.slide[level].items():
                other = self.tile_span[tile][Axis.COLS if axis is Axis.ROWS else Axis.ROWS]
                ngc = [self.dims[d].glb_tile if level == "DRAM" else self.dims[d].array for d in ("N", "G", "C")]
                step = self.slide_step[level][axis]
                words = product_var(m, [*ngc, other, step], f"slid_words_{level}_{axis}", self.cap)
                slid = self._cycles(words, channel, f"slid_{level}_{axis}")
                slid_cycles = choose_var(m, slide, slid, slid_cycles, f"slid_cycles_{level}_{axis}")
                factor = self.dims[AXIS_DIMS[axis][0]].factor[level]
                wraps = choose_var(m, slide, factor, wraps, f"wraps_{level}_{axis}")
            whole_visits = m.new_int_var(1, upper_bound(visits), f"visits_{level}_I_whole")
            m.add_multiplication_equality(visits, [whole_visits, wraps])
            rest = m.new_int_var(0, upper_bound(whole), f"fetch_{level}_I_rest")
            m.add(rest == whole - slid_cycles)
            marks += [(visits, slid_cycles, None), (whole_visits, rest, len(marks))]
        return marks

    def add_latency(self) -> None:
        """latency = prologue + outputs + boundary fills + DRAM-loop periods
        (mapper.cost.layer_latency.LatencyTerms), with C = prod f_RF, n_G = prod f_GLB:
        X = n_G C + stalls_GLB (the GLB nest of one DRAM iteration), periods =
        n_D X + stalls_DRAM, prologue = sum_{W,I} load(T) + send(T), boundary =
        sum_{W,I} send(T) ((n_D if some_glb(T) else visits_DRAM(T)) - 1), outputs =
        send(O) (2 vC(O) - prod_{O dims} outer) + load(O) (2 visits_DRAM(O) - prod_{O dims} f_DRAM);
        load(T) = 0 for a tensor held on chip (no DRAM marks either)."""
        m, levels = self.model, self.accelerator.levels
        self.compute_cycles = product_var(m, [self.dims[d].temporal for d in DIMS], "compute_cycles", self.cap)
        if self.factors is Factors.DIVISORS:  # redundant: every window is whole
            m.add_multiplication_equality(self.layer.macs, [self.compute_cycles, self.used_pes])
        else:  # redundant: a remainder window takes a whole one's cycles
            m.add(product_var(m, [self.compute_cycles, self.used_pes], "pe_cycles", self.cap) >= self.layer.macs)
        compute = product_var(m, [self.dims[d].factor["RF"] for d in DIMS], "rf_cycles", self.cap)
        n_glb = product_var(m, [self.dims[d].factor["GLB"] for d in DIMS], "glb_iterations", self.cap)
        inputs = [t for t in self.tensors if t != "O"]
        send = {t: self._cycles(self.tile["ARRAY"][t], "GLB", f"send_{t}") for t in self.tensors}
        glb_marks = self._input_marks("GLB", {t: send[t] for t in inputs})
        if self.double_out:  # the drains: a mark where O changes at every iteration
            input_marks = list(glb_marks)
            every_out = self._changes_every_iteration(self._visits("GLB", "O"), n_glb, "O")
            drains = choose_var(m, every_out, send["O"], 0, "drains")
            glb_marks.append((self._visits("GLB", "O"), drains, None))
        nest = m.new_int_var(0, self.cap, "nest_cycles")
        stalls = self._stalls(n_glb, glb_marks, compute, levels["RF"].double_buffered, "glb")
        if self.double_out:
            stalls += self._overlapped_drains(compute, send["O"], input_marks, n_glb, every_out)
        nest_compute = product_var(m, [n_glb, compute], "nest_compute", self.cap)
        m.add(nest == nest_compute + stalls)
        held = self.layer.on_chip  # in the GLB throughout: no DMA transfers
        load = {t: 0 if t in held else self._cycles(self.tile["GLB"][t], "DRAM", f"load_{t}") for t in self.tensors}
        dram_marks = self._input_marks("DRAM", {t: load[t] for t in inputs if t not in held})
        n_dram = self.dram_iterations
        inner_stalls = m.new_int_var(0, self.cap, "inner_stalls")
        m.add(inner_stalls == stalls)
        periods = self.compute_cycles + product_var(m, [n_dram, inner_stalls], "all_inner_stalls", self.cap)
        periods += self._stalls(n_dram, dram_marks, nest, levels["GLB"].double_buffered, "dram")
        visits_dram = {t: self._visits("DRAM", t) for t in self.tensors}
        boundary = []
        for t in inputs:
            changes = choose_var(m, self.some_glb[t], n_dram, visits_dram[t], f"boundary_changes_{t}")
            later = self._var(changes - 1, upper_bound(changes), f"boundary_later_{t}")
            boundary.append(self._times_cycles(later, send[t], f"boundary_{t}"))
        prologue = sum(load[t] + send[t] for t in inputs)
        overlapped = self._overlapped_count(n_dram) if self.double_out else 0
        port_outputs, dram_outputs = self._output_cycles(send["O"], load["O"], visits_dram["O"], overlapped)
        outputs = port_outputs + dram_outputs
        self.latency = m.new_int_var(0, 3 * self.cap, "latency")
        m.add(self.latency == prologue + sum(boundary) + outputs + periods)
        dma_idle = sum(send[t] for t in inputs) + sum(boundary) + port_outputs + nest_compute
        port_idle = sum(load[t] for t in inputs) + dram_outputs
        self._add_channel_bounds(dma_idle, port_idle)

    def _changes_every_iteration(self, visits, iterations, label: str):
        """A literal: ``visits`` = n_G (R = 1: the mark changes at every GLB iteration)."""
        every = self.model.new_bool_var(f"every_{label}")
        self.model.add(visits == iterations).only_enforce_if(every)
        self.model.add(visits < iterations).only_enforce_if(every.Not())
        return every

    def _overlapped_count(self, n_dram):
        """Drains that overlap a compute: n_D (v_O - 1), every change of the output's
        array tile inside a GLB nest."""
        out_visits = self._visits("GLB", "O")
        changes = self._var(out_visits - 1, upper_bound(out_visits), "O_changes")
        return product_var(self.model, [n_dram, changes], "overlapped_drains", self.cap)

    def _overlapped_drains(self, compute, drain, input_marks: list[tuple], n_glb, every_out):
        """What double-buffered outputs add to the GLB nest beyond the drain mark
        (``mapper.cost.layer_latency.overlapped_drain_cycles``): with F1 the cycles of
        the input marks with R = 1 (a slid input's slid rows; the rest of its tile
        changes less often), h = max(C, D + F1) - max(C, F1), (v_O - 1) h if R_O > 1,
        else max(C, D) - C - h (the first window has no drain, the last ends the nest)."""
        m, out_visits = self.model, self._visits("GLB", "O")
        every_fill = 0
        for i, (visits, cycles, requires) in enumerate(input_marks):
            if requires is None:  # a wrap mark changes every f_GLB[o] >= 2 iterations, or moves 0 cycles
                every = self._changes_every_iteration(visits, n_glb, f"mark{i}")
                every_fill += choose_var(m, every, cycles, 0, f"every_fill{i}")
        with_drain, without, last = (m.new_int_var(0, self.cap, name) for name in ("h_with", "h_without", "h_last"))
        m.add_max_equality(with_drain, [compute, drain + every_fill])
        m.add_max_equality(without, [compute, every_fill])
        m.add_max_equality(last, [compute, drain])
        shared = self._var(with_drain - without, self.cap, "drain_shared")
        repeated = product_var(
            m, [self._var(out_visits - 1, upper_bound(out_visits), "O_later"), shared], "drains_shared", self.cap
        )
        extra = m.new_int_var(-self.cap, self.cap, "overlapped_extra")
        m.add(extra == last - compute - shared).only_enforce_if(every_out)
        m.add(extra == repeated).only_enforce_if(every_out.Not())
        return extra

    def _output_cycles(self, send, load, visits_dram, overlapped) -> tuple:
        """The output's serial moves on the port, send(O) (2 vC(O) - distinct array
        tiles - ``overlapped`` drains), and on the DMA, load(O) (2 visits_DRAM(O) -
        distinct GLB tiles): every visit is written out, every revisit read back first.
        Redundant, for the bound:
        moves x tile words = 2 ARRAY(O) - |O| (2 DRAM(O) - |O|) and cycles >= words / bw,
        so bw_GLB port >= 2 ARRAY(O) - |O| and bw_DRAM dma >= 2 DRAM(O) - |O| (the LP
        sees no product; these cut depthwise proofs 2-5x)."""
        m, out_dims = self.model, sorted(RELEVANT_DIMS["O"])
        array_visits = self._combined_visits("O")
        distinct_array = product_var(m, [self.dims[d].outer for d in out_dims], "distinct_array_O", self.cap)
        array_moves = self._var(
            2 * array_visits - distinct_array - overlapped, 2 * upper_bound(array_visits), "array_O_moves"
        )
        port = self._times_cycles(array_moves, send, "array_O_cycles")
        dma = 0  # a held output never moves to DRAM
        if "O" not in self.layer.on_chip:
            distinct_glb = product_var(m, [self.dims[d].factor["DRAM"] for d in out_dims], "distinct_glb_O", self.cap)
            dram_moves = self._var(2 * visits_dram - distinct_glb, 2 * upper_bound(visits_dram), "dram_O_moves")
            dma = self._times_cycles(dram_moves, load, "dram_O_cycles")
        levels, (port_words, dma_words) = self.accelerator.levels, self._output_move_words()
        m.add(levels["GLB"].bandwidth_words_per_cycle * port >= port_words)
        m.add(levels["DRAM"].bandwidth_words_per_cycle * dma >= dma_words)
        return port, dma

    def _output_move_words(self) -> tuple:
        """The words the output's serial moves carry on the port and on the DMA: every
        visit written out, every revisit read back, 2 ARRAY(O) - |O| and 2 DRAM(O) - |O|;
        on the port, with a double-buffered output, at least the read-backs ARRAY(O) - |O|."""
        out_words = self.layer.tensor_words("O")
        port = (1 if self.double_out else 2) * self.array_of["O"] - out_words
        return port, self._output_dram_words()

    def _output_dram_words(self):
        """The output's DRAM words, writes and partial-sum reads: 2 DRAM(O) - |O|
        (0 when it is held on chip; needs ``dram_of``)."""
        return 0 if "O" in self.layer.on_chip else 2 * self.dram_of["O"] - self.layer.tensor_words("O")

    def _add_channel_bounds(self, dma_idle, port_idle) -> None:
        """Redundant, for the bound: each channel moves one tile at a time and
        idles while the other moves the serial transfers (the DMA also during the
        last GLB nest, which prefetches nothing): latency >= dram_words / bw_DRAM
        + dma_idle and latency >= array_words / bw_GLB + port_idle. And compute,
        the serial port transfers and the serial DMA transfers never overlap:
        latency >= compute + serial port words / bw_GLB + serial DMA words / bw_DRAM,
        serial being the outputs' moves (2 words - |O|) on both channels and the
        inputs' at a single-buffered level."""
        m, levels = self.model, self.accelerator.levels
        bw_dram, bw_glb = levels["DRAM"].bandwidth_words_per_cycle, levels["GLB"].bandwidth_words_per_cycle
        m.add(bw_dram * (self.latency - dma_idle) >= self.dram_words)
        m.add(bw_glb * (self.latency - port_idle) >= self.array_words)
        port, dma = self._output_move_words()
        inputs = [t for t in self.tensors if t != "O"]
        if not levels["RF"].double_buffered:
            port += sum(self.array_of[t] for t in inputs)
        if not levels["GLB"].double_buffered:
            dma += sum(self.dram_of[t] for t in inputs)
        m.add(bw_dram * bw_glb * (self.latency - self.compute_cycles) >= bw_dram * port + bw_glb * dma)
