"""The decision variables of the single-layer model and what reads or fixes
them: per dim, one row of a factorisation table (factors at DRAM, GLB, ROW,
COL, RF and derived extents); per ordered level, a loop position per dim;
pins, hints and decoding to a Mapping. ``LayerModel`` (formulations.layer)
adds the cost terms over these variables.
"""

from __future__ import annotations

from dataclasses import dataclass

from ortools.sat.python import cp_model

from formulations.solution import new_solver
from mapper.core.enums import Factors
from mapper.core.mapping import Mapping, canonical_order, dim_factorisations
from mapper.core.spec import DIMS, LOOP_LEVELS, ORDERED_LEVELS, Accelerator, Layer

# Columns of the per-dim factorisation table, after the LOOP_LEVELS factors.
DERIVED = ("spatial", "array", "glb_tile", "temporal", "outer", "big_DRAM", "big_GLB")


@dataclass
class DimVars:
    """The table row chosen for one dim: ``factor[level]`` and derived extents:
    spatial = f_ROW f_COL, array = spatial f_RF, glb_tile = min(f_GLB array, B_d),
    temporal = f_DRAM f_GLB f_RF, outer = f_DRAM f_GLB, big_L = [f_L > 1]."""

    factor: dict
    spatial: cp_model.IntVar
    array: cp_model.IntVar
    glb_tile: cp_model.IntVar
    temporal: cp_model.IntVar
    outer: cp_model.IntVar
    big: dict


class LayerVariables:
    """The decisions of the layer model (a base of ``LayerModel``, which sets
    ``model``, ``layer``, ``accelerator``, ``factors`` and empty ``dims``, ``position``,
    ``before``): a DimVars per dim, and per ordered level a loop position per
    dim with the pairwise ``before`` literals."""

    model: cp_model.CpModel
    layer: Layer
    accelerator: Accelerator
    factors: Factors
    dims: dict[str, DimVars]
    position: dict[str, dict[str, cp_model.IntVar]]
    before: dict[str, dict[tuple[str, str], object]]

    # ------------------------------------------------------------------ variables

    def add_factorisation_tables(self) -> None:
        """For every dim d: (f_DRAM, f_GLB, f_ROW, f_COL, f_RF) is a row of the
        table of ordered factorisations of B_d (prod = B_d, f_ROW <= rows,
        f_COL <= cols; under Factors.UNEVEN also the uneven splits of a channel dim,
        ``mapper.core.mapping.uneven_factorisations``), together with its derived
        columns (see DimVars; glb_tile at most B_d)."""
        m = self.model
        for d in DIMS:
            rows = []
            bound = self.layer.bounds[d]
            for t in dim_factorisations(d, bound, self.accelerator, self.factors):
                fd, fg, fr, fc, frf = t
                sp = fr * fc
                glb = min(fg * sp * frf, bound)
                rows.append(t + (sp, sp * frf, glb, fd * fg * frf, fd * fg, int(fd > 1), int(fg > 1)))
            factor = {lv: m.new_int_var(1, bound, f"f_{lv}_{d}") for lv in LOOP_LEVELS}
            derived = {name: m.new_int_var(1, bound, f"{name}_{d}") for name in DERIVED[:5]}
            big = {lv: m.new_bool_var(f"big_{lv}_{d}") for lv in ORDERED_LEVELS}
            columns = [factor[lv] for lv in LOOP_LEVELS] + [derived[n] for n in DERIVED[:5]]
            columns += [big[lv] for lv in ORDERED_LEVELS]
            m.add_allowed_assignments(columns, rows)
            self.dims[d] = DimVars(factor, big=big, **derived)

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

    # ------------------------------------------------------------------ pins, hints, decoding

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
        solver = new_solver()
        solver.parameters.num_workers = 1
        solver.parameters.max_time_in_seconds = 10.0
        if solver.solve(probe) not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            return False
        for index in range(len(self.model.proto.variables)):
            var = self.model.get_int_var_from_proto_index(index)
            self.model.add_hint(var, solver.value(probe.get_int_var_from_proto_index(index)))
        return True

    def decode(self, solver: cp_model.CpSolver) -> Mapping:
        factors = {lv: {d: solver.value(self.dims[d].factor[lv]) for d in DIMS} for lv in LOOP_LEVELS}
        orders = {
            lv: tuple(sorted(DIMS, key=lambda d, lv=lv: solver.value(self.position[lv][d]))) for lv in ORDERED_LEVELS
        }
        mapping = Mapping(factors, orders, ("RF",) if self.double_out else ())
        assert not mapping.factor_violations(self.layer.bounds)
        return mapping
