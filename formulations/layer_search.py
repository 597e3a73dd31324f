"""The single-layer space as CP-SAT solves it: two models, one per output
buffering of the RF (``Mapping.double_outputs``).

Where the RF is double-buffered, a mapping's output tile either accumulates in
place or is double-buffered. One model with a literal for it leaves the LP
a fractional choice through which every output bound escapes (measured on the
ResNet-18 layers on the 16x16 preset: median 6.8 s, max 34 s against 1.5 s and
2.2 s without the choice). So the space is solved in two sides, each a
``LayerModel`` with the choice fixed (``formulations.sides.run_sides``): with
one worker in place first, then double-buffered below the in-place answer; on
those layers, median 2.4 s, max 4.1 s. With two workers or more both at once,
one worker each: on 16 layers of the 16x16 and 32x32 presets, 48 s against 58 s
in turn (the same optima). A double-buffered mapping is an in-place one with more
RF words, so where the first side is infeasible the second is too.
"""

from __future__ import annotations

import logging

from formulations.layer import TUNING, LayerModel
from formulations.sides import run_sides
from formulations.solution import Solution
from mapper.core.enums import Factors
from mapper.core.mapping import Mapping
from mapper.core.spec import Accelerator, Layer, ObjectiveWeights, SolverSettings

log = logging.getLogger(__name__)


class LayerSearch:
    """``add_pins``, ``add_hint`` and ``solve`` over both sides of the space."""

    def __init__(
        self, layer: Layer, accelerator: Accelerator, weights: ObjectiveWeights, factors: Factors = Factors.UNEVEN
    ):
        self.in_place = LayerModel(layer, accelerator, weights, factors=factors)
        self.double = None
        if accelerator.levels["RF"].double_buffered:
            self.double = LayerModel(layer, accelerator, weights, double_out=True, factors=factors)

    @property
    def sides(self) -> list[LayerModel]:
        return [self.in_place] + ([self.double] if self.double is not None else [])

    def add_pins(self, pins: dict) -> None:
        for side in self.sides:
            side.add_pins(pins)

    def add_hint(self, mapping: Mapping) -> bool:
        """Hint ``mapping`` to its side and its factors and orders to the other
        (where they fit); False if ``mapping`` is infeasible in its own side."""
        fits = True
        for side in self.sides:
            own = side.double_out == mapping.output_double("RF")
            levels = ("RF",) if side.double_out else ()
            accepted = side.add_hint(mapping.with_double_outputs(levels))
            fits = accepted if own else fits
        return fits

    def solve(self, settings: SolverSettings) -> Solution[Mapping]:
        first, second = self.in_place, self.double
        if second is None:
            solution = first.solve(settings)
        else:
            sides = (first.model, first.decode), (second.model, second.decode)
            solution = run_sides(*sides, second.objective, settings, first.cap * 1e3, TUNING)
        if solution.mapping is not None:
            args = (first.layer.name, solution.status, solution.objective, solution.bound)
            log.info("layer %s: %s objective %d bound %d", *args)
        return solution
