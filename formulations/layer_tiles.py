"""Tile words of the single-layer model and the input's geometry: the boxes a
tile covers at every level, the input rows (cols) a tile spans or touches,
and the rows a sliding input tile keeps (GLB tiles at the DRAM loops, array
tiles at the GLB loops). A base of ``LayerModel``
(formulations.layer), over the variables of ``formulations.layer_vars``."""

from __future__ import annotations

from formulations.layer_vars import LayerVariables
from formulations.variables import and_var, choose_var, or_var, product_var, upper_bound
from mapper.core.enums import Axis
from mapper.core.spec import AXIS_DIMS, RELEVANT_DIMS


class LayerTiles(LayerVariables):
    """Tile words per level and tensor (``tile``), input spans (``tile_span``)
    and the input's DRAM rows and cols with sliding-window reuse. Needs ``cap``."""

    cap: int

    def _tile(self, tensor: str, extent_of, label: str):
        """Words of ``tensor`` in a box whose dim extents are ``extent_of(d)``;
        inputs use rows = (e_P - 1) stride + (e_R - 1) dilation + 1, or e_P e_R
        where the windows are disjoint (``Layer.input_axis_words``; same for cols)."""
        if tensor != "I":
            return product_var(
                self.model, [extent_of(d) for d in sorted(RELEVANT_DIMS[tensor])], f"{label}_{tensor}", self.cap
            )
        spans = []
        for axis in Axis:
            out_dim, kernel_dim = AXIS_DIMS[axis]
            name = f"{label}_I_span{axis}"
            if self.layer.windows_disjoint(axis):
                spans.append(product_var(self.model, [extent_of(out_dim), extent_of(kernel_dim)], name, self.cap))
                continue
            bound = self.layer.input_extent(self.layer.bounds[out_dim], self.layer.bounds[kernel_dim], axis)
            span = self.model.new_int_var(1, bound, name)
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
        # level -> axis -> [the input tile held below the level's loops slides along it], its new rows (cols)
        self.slide: dict[str, dict[Axis, object]] = {"DRAM": {}, "GLB": {}}
        self.slide_step: dict[str, dict[Axis, object]] = {"DRAM": {}, "GLB": {}}
        self.slide_rows: dict[str, dict[Axis, object]] = {"DRAM": {}, "GLB": {}}  # span + (f_L[o] - 1) step
        self.tile = {
            "GLB": {t: self._tile(t, lambda d: self.dims[d].glb_tile, "tileGLB") for t in self.tensors},
            "ARRAY": {t: self._tile(t, lambda d: self.dims[d].array, "tileARRAY") for t in self.tensors},
            "RF": {t: self._tile(t, lambda d: self.dims[d].factor["RF"], "tileRF") for t in self.tensors},
        }

    def _input_rows_times_visits(self, level: str, axis: Axis):
        """For the input along one axis (P,R rows or Q,S cols): the outer factors
        of both dims times the span of the tile below:
        outer(P) outer(R) ((e_P - 1) stride + (e_R - 1) dilation + 1)."""
        dims = AXIS_DIMS[axis]
        if level == "GLB":  # the GLB tile repeats over the DRAM loops
            factors = [self.dims[d].factor["DRAM"] for d in dims]
        else:  # the array tile repeats over the DRAM and GLB loops
            factors = [self.dims[d].outer for d in dims]
        return product_var(self.model, [*factors, self.tile_span[level][axis]], f"input_{level}_{axis}", self.cap)

    def _flat(self, dim: str):
        """A literal: [f_ROW[d] f_COL[d] = 1] (the PE array does not unroll d)."""
        flat = self.model.new_bool_var(f"flat_{dim}")
        self.model.add(self.dims[dim].spatial == 1).only_enforce_if(flat)
        self.model.add(self.dims[dim].spatial >= 2).only_enforce_if(flat.Not())
        return flat

    def _sliding(self, level: str, axis: Axis, whole):
        """The rows (cols) term of the input's words fetched below ``level``'s loops
        with sliding-window reuse (``mapper.cost.loops.input_fetch_words``). The tile
        slides when the output dim o of ``axis`` (P or Q) is the innermost
        input-relevant loop of ``level`` with f > 1: slide_L(o) = big_L[o], no
        relevant e with big_L[e] inside o, and at the GLB neither o nor the kernel
        dim k unrolled on the array. The term is then outer(o) outer(k) (span +
        (f_L[o] - 1) min(span, stride e_o)) / f_L[o] (outer: the factors above the
        tile, DRAM f_DRAM, GLB f_DRAM f_GLB; span, e the tile's), else ``whole``
        = outer(o) outer(k) span. Sets ``slide[level][axis]`` and ``slide_step``."""
        if self.layer.windows_disjoint(axis):
            return whole
        m, (o, k) = self.model, AXIS_DIMS[axis]
        inside = [
            and_var(m, self.dims[e].big[level], self.before[level][o, e], f"inside_{level}_{o}_{e}")
            for e in sorted(RELEVANT_DIMS["I"] - {o})
        ]
        slide = and_var(
            m, self.dims[o].big[level], or_var(m, inside, f"inside_{level}_{o}").Not(), f"slide_{level}_{o}"
        )
        if level == "GLB":
            flat = and_var(m, self._flat(o), self._flat(k), f"flat_{axis}")
            slide = and_var(m, slide, flat, f"slide_glb_flat_{o}")
        tile, extent = ("GLB", self.dims[o].glb_tile) if level == "DRAM" else ("ARRAY", self.dims[o].array)
        span = self.tile_span[tile][axis]
        step = m.new_int_var(0, upper_bound(span), f"slide_step_{level}_{o}")
        m.add_min_equality(step, [span, self.layer.stride[axis] * extent])
        self.slide[level][axis], self.slide_step[level][axis] = slide, step
        more = m.new_int_var(0, self.layer.bounds[o], f"slides_{level}_{o}")
        m.add(more == self.dims[o].factor[level] - 1)
        rows = m.new_int_var(0, self.cap, f"slide_rows_{level}_{o}")
        m.add(rows == span + product_var(m, [more, step], f"slide_new_{level}_{o}", self.cap))
        self.slide_rows[level][axis] = rows
        outer = [self.dims[k].factor["DRAM"]] if level == "DRAM" else [self.dims[o].factor["DRAM"], self.dims[k].outer]
        slid = product_var(m, [*outer, rows], f"slid_{level}_{o}", self.cap)
        return choose_var(m, slide, slid, whole, f"rows_{level}_{o}")

    def _rf_input_fills(self, visits):
        """fills_RF(I) per PE: vC(I) tile_RF(I) (``visits`` = vC(I)), or with the array
        tile sliding along an axis at the GLB, vC(I) / f_GLB[o] * (tile_RF / span) *
        (span + (f_GLB[o] - 1) step): the PE holds the array tile's whole extent
        along the axis, so its span and step are the array tile's."""
        m = self.model
        fills = product_var(m, [visits, self.tile["RF"]["I"]], "rf_I_whole", self.cap)
        for axis, slide in self.slide["GLB"].items():
            o, other = AXIS_DIMS[axis][0], Axis.COLS if axis is Axis.ROWS else Axis.ROWS
            runs = m.new_int_var(0, upper_bound(visits), f"rf_I_runs_{axis}")
            steps = choose_var(m, slide, self.dims[o].factor["GLB"], 1, f"rf_I_steps_{axis}")
            m.add_multiplication_equality(visits, [runs, steps])
            ngc = [self.dims[d].factor["RF"] for d in ("N", "G", "C")]
            row = [*ngc, self.tile_span["RF"][other], self.slide_rows["GLB"][axis]]
            slid = product_var(m, [runs, *row], f"rf_I_slid_{axis}", self.cap)
            fills = choose_var(m, slide, slid, fills, f"rf_I_fills_{axis}")
        return fills
