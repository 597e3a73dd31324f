"""Tile words of the single-layer model and the input's geometry: the boxes a
tile covers at every level, the input rows (cols) a tile spans or touches,
and the rows a sliding input tile keeps. A base of ``LayerModel``
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
        self.slide: dict[Axis, object] = {}  # axis -> [the input tile slides along it at the DRAM loops]
        self.slide_step: dict[Axis, object] = {}  # axis -> new rows (cols) a slide fetches
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

    def _sliding(self, axis: Axis, whole):
        """The rows (cols) term of DRAM(I) with sliding-window reuse: when the
        output dim o of ``axis`` (P or Q) is the innermost input-relevant DRAM
        loop with f > 1, slide(o) = big_DRAM[o] and no relevant e with
        big_DRAM[e] sits inside o, and the term is
        f_DRAM[k] (span + (f_DRAM[o] - 1) min(span, stride glb_tile[o])), k the
        kernel dim; else ``whole`` = f_DRAM[o] f_DRAM[k] span (mapper.cost.layer.input_dram_reads)."""
        if self.layer.windows_disjoint(axis):
            return whole
        m, (o, k) = self.model, AXIS_DIMS[axis]
        dram = {d: self.dims[d].factor["DRAM"] for d in (o, k)}
        inside = [
            and_var(m, self.dims[e].big["DRAM"], self.before["DRAM"][o, e], f"inside_{o}_{e}")
            for e in sorted(RELEVANT_DIMS["I"] - {o})
        ]
        slide = and_var(m, self.dims[o].big["DRAM"], or_var(m, inside, f"inside_{o}").Not(), f"slide_{o}")
        span = self.tile_span["GLB"][axis]
        step = m.new_int_var(0, upper_bound(span), f"slide_step_{o}")
        m.add_min_equality(step, [span, self.layer.stride[axis] * self.dims[o].glb_tile])
        self.slide[axis], self.slide_step[axis] = slide, step
        more = m.new_int_var(0, self.layer.bounds[o], f"slides_{o}")
        m.add(more == dram[o] - 1)
        rows = m.new_int_var(0, self.cap, f"slide_rows_{o}")
        m.add(rows == span + product_var(m, [more, step], f"slide_new_{o}", self.cap))
        return choose_var(m, slide, product_var(m, [dram[k], rows], f"slid_{o}", self.cap), whole, f"rows_dram_{o}")
