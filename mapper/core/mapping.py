"""Single-layer mapping: per-dim factors at every loop level, plus loop orders.

The mapping space (documented in docs/mapping_space.md):

* every ordered factorisation of every dim bound B_d over the loop levels
  DRAM, GLB, ROW, COL, RF (f_DRAM * f_GLB * f_ROW * f_COL * f_RF = B_d);
* with ``Factors.UNEVEN``, also an uneven split of a channel dim (N, G, K, C)
  at the PE array: f_RF divides B_d, the array holds s = f_ROW f_COL <= q =
  B_d / f_RF RF tiles along d, and the DRAM and GLB loops walk
  f_DRAM f_GLB = ceil(q / s) positions, the last of which is a remainder
  (only its first q - (positions - 1) s PE positions along d work);
* the product of ROW factors <= PE rows, of COL factors <= PE cols;
* any permutation of the dims at the DRAM and GLB temporal levels (only the
  relative order of loops with factor > 1 matters; the canonical order puts
  factor-1 loops innermost in DIMS order);
* RF loops have no order: the RF is the innermost storage, every RF-level
  access is part of a MAC;
* where the RF is double-buffered, the output tile may be too
  (``double_outputs``): it then takes two copies and each tile's drain to the
  GLB overlaps the next tile's compute (docs/cost_model.md).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from functools import cache
from math import prod

from mapper.core.arith import ceil_div
from mapper.core.enums import Factors
from mapper.core.spec import CHANNEL_DIMS, DIMS, LOOP_LEVELS, ORDERED_LEVELS, RELEVANT_DIMS, Accelerator, Layer

DOUBLE_OUTPUT_LEVELS = ("RF",)  # memory levels whose output tile a mapping may double-buffer


@dataclass(frozen=True)
class Mapping:
    """``factors[level][dim]`` for every level of LOOP_LEVELS and dim of DIMS;
    ``orders[level]`` lists all DIMS outermost first for DRAM and GLB;
    ``double_outputs`` the memory levels whose output tile is double-buffered
    (``DOUBLE_OUTPUT_LEVELS``; none: every output tile accumulates in place)."""

    factors: dict[str, dict[str, int]]
    orders: dict[str, tuple[str, ...]]
    double_outputs: tuple[str, ...] = ()

    def factor(self, level: str, dim: str) -> int:
        return self.factors[level][dim]

    def extents_below(self, level: str, bounds: dict[str, int]) -> dict[str, int]:
        """Extent of every dim covered by one iteration of ``level``'s loops: the
        product of the factors of all levels inside ``level``, at most the bound
        (the whole tile; a remainder tile of an uneven dim is smaller)."""
        inner = LOOP_LEVELS[LOOP_LEVELS.index(level) + 1 :]
        return {d: min(prod(self.factors[lv][d] for lv in inner), bounds[d]) for d in DIMS}

    def spatial(self, dim: str) -> int:
        return self.factors["ROW"][dim] * self.factors["COL"][dim]

    def positions(self, dim: str) -> int:
        """Array-tile positions along ``dim``: f_DRAM f_GLB."""
        return self.factors["DRAM"][dim] * self.factors["GLB"][dim]

    def factor_violations(self, bounds: dict[str, int]) -> list[str]:
        """Each dim's factors multiply to its bound, or split a channel dim unevenly
        at the array (module docstring): f_RF | B, s <= B / f_RF, positions = ceil(B / (f_RF s))."""
        problems = []
        for d in DIMS:
            bound, got = bounds[d], prod(self.factors[lv][d] for lv in LOOP_LEVELS)
            if got == bound:
                continue
            rf, s = self.factors["RF"][d], self.spatial(d)
            if d not in CHANNEL_DIMS or bound % rf or s > bound // rf:
                only = "" if d in CHANNEL_DIMS else f" (an uneven split is for {', '.join(sorted(CHANNEL_DIMS))} only)"
                problems.append(f"factors of {d} multiply to {got}, bound is {bound}{only}")
            elif self.positions(d) != ceil_div(bound // rf, s):
                problems.append(
                    f"factors of {d}: DRAM x GLB = {self.positions(d)}, an uneven split needs "
                    f"ceil({bound} / ({rf} RF x {s} PEs)) = {ceil_div(bound // rf, s)}"
                )
        return problems

    @property
    def used_pes(self) -> int:
        return prod(self.spatial(d) for d in DIMS)

    @property
    def nest_iterations(self) -> int:
        """Iterations of the DRAM and GLB loops together (what a replay walks op by op)."""
        return prod(self.factors[lv][d] for lv in ORDERED_LEVELS for d in DIMS)

    def output_double(self, level: str) -> bool:
        """Whether the output tile of memory level ``level`` is double-buffered."""
        return level in self.double_outputs

    def to_dict(self) -> dict:
        data = {
            "factors": {lv: dict(self.factors[lv]) for lv in LOOP_LEVELS},
            "orders": {lv: list(self.orders[lv]) for lv in ORDERED_LEVELS},
        }
        if self.double_outputs:
            data["double_outputs"] = list(self.double_outputs)
        return data

    @classmethod
    def from_dict(cls, data: dict) -> Mapping:
        return cls(
            factors={lv: {d: int(data["factors"][lv][d]) for d in DIMS} for lv in LOOP_LEVELS},
            orders={lv: tuple(data["orders"][lv]) for lv in ORDERED_LEVELS},
            double_outputs=tuple(data.get("double_outputs", ())),
        )

    def with_double_outputs(self, levels: tuple[str, ...]) -> Mapping:
        return Mapping(self.factors, self.orders, tuple(levels))


def all_dram_mapping(layer: Layer) -> Mapping:
    """Every loop at the DRAM level: one MAC per DRAM iteration, the smallest
    tiles. Valid whenever any mapping is; used as a first CP-SAT hint."""
    factors = {lv: {d: 1 for d in DIMS} for lv in LOOP_LEVELS}
    factors["DRAM"] = dict(layer.bounds)
    order = canonical_order([d for d in DIMS if layer.bounds[d] > 1])
    return Mapping(factors, {lv: order for lv in ORDERED_LEVELS})


def canonical_order(outer_dims: tuple[str, ...] | list[str]) -> tuple[str, ...]:
    """``outer_dims`` outermost first, then the remaining dims in DIMS order."""
    rest = [d for d in DIMS if d not in outer_dims]
    return tuple(outer_dims) + tuple(rest)


@cache
def divisors(n: int) -> tuple[int, ...]:
    return tuple(d for d in range(1, n + 1) if n % d == 0)


@cache
def ordered_factorisations(bound: int, parts: int) -> tuple[tuple[int, ...], ...]:
    """All tuples of ``parts`` positive ints whose product is ``bound``."""
    if parts == 1:
        return ((bound,),)
    return tuple(
        (first,) + rest for first in divisors(bound) for rest in ordered_factorisations(bound // first, parts - 1)
    )


@cache
def uneven_factorisations(bound: int, rows: int, cols: int) -> tuple[tuple[int, ...], ...]:
    """(f_DRAM, f_GLB, f_ROW, f_COL, f_RF) of every split of a channel dim of ``bound`` at
    an array of at most ``rows`` x ``cols``: f_RF | bound, s = f_ROW f_COL <= q = bound / f_RF,
    f_DRAM f_GLB = ceil(q / s); the divisor splits among them. Left out: a split whose
    f_ROW - 1 or f_COL - 1 gives as many positions, since that one is never worse (the
    same loops, traffic and compute cycles; tiles, transfer slots and used PEs no larger)."""
    found = []
    for rf in divisors(bound):
        q = bound // rf
        for r in range(1, min(rows, q) + 1):
            for c in range(1, min(cols, q // r) + 1):
                m = ceil_div(q, r * c)
                if (r > 1 and ceil_div(q, (r - 1) * c) == m) or (c > 1 and ceil_div(q, r * (c - 1)) == m):
                    continue
                found += [(n, m // n, r, c, rf) for n in divisors(m)]
    return tuple(found)


def dim_factorisations(
    dim: str, bound: int, accelerator: Accelerator, factors: Factors = Factors.UNEVEN
) -> tuple[tuple[int, ...], ...]:
    """Factorisations of one dim over LOOP_LEVELS that fit the PE array alone
    (uneven ones too for a channel dim under ``Factors.UNEVEN``)."""
    if factors is Factors.UNEVEN and dim in CHANNEL_DIMS:
        return uneven_factorisations(bound, accelerator.pe_rows, accelerator.pe_cols)
    row, col = LOOP_LEVELS.index("ROW"), LOOP_LEVELS.index("COL")
    return tuple(
        t
        for t in ordered_factorisations(bound, len(LOOP_LEVELS))
        if t[row] <= accelerator.pe_rows and t[col] <= accelerator.pe_cols
    )


def mapping_from_choice(choice: dict[str, tuple[int, ...]], orders: dict[str, tuple[str, ...]]) -> Mapping:
    """Build a Mapping from one factorisation tuple per dim (in LOOP_LEVELS order)."""
    factors = {lv: {d: choice[d][i] for d in DIMS} for i, lv in enumerate(LOOP_LEVELS)}
    return Mapping(factors, orders)


def output_buffering_options(accelerator: Accelerator, mapping: Mapping) -> tuple[tuple[str, ...], ...]:
    """The ``double_outputs`` worth trying for ``mapping``: also ("RF",) where the RF is
    double-buffered and the output's array tile changes inside the GLB nest (else the
    second copy only takes space)."""
    changes = any(mapping.factors["GLB"][d] > 1 for d in RELEVANT_DIMS["O"])
    doubled = tuple(lv for lv in DOUBLE_OUTPUT_LEVELS if accelerator.levels[lv].double_buffered)
    return ((), doubled) if changes and doubled else ((),)


def enumerate_mappings(layer: Layer, accelerator: Accelerator, factors: Factors = Factors.UNEVEN):
    """Every mapping of the space (canonical loop orders only; a double-buffered
    output only where it can matter). Exponential: for tests and tiny layers."""
    per_dim = [dim_factorisations(d, layer.bounds[d], accelerator, factors) for d in DIMS]
    for combo in itertools.product(*per_dim):
        choice = dict(zip(DIMS, combo, strict=True))
        if prod(c[LOOP_LEVELS.index("ROW")] for c in combo) > accelerator.pe_rows:
            continue
        if prod(c[LOOP_LEVELS.index("COL")] for c in combo) > accelerator.pe_cols:
            continue
        big = {lv: [d for d in DIMS if choice[d][LOOP_LEVELS.index(lv)] > 1] for lv in ORDERED_LEVELS}
        for dram_perm in itertools.permutations(big["DRAM"]):
            for glb_perm in itertools.permutations(big["GLB"]):
                orders = {"DRAM": canonical_order(dram_perm), "GLB": canonical_order(glb_perm)}
                mapping = mapping_from_choice(choice, orders)
                for levels in output_buffering_options(accelerator, mapping):
                    yield mapping.with_double_outputs(levels)
