"""Typed reading of a result's JSON: every field the referee uses is read here,
so a missing key, a wrong type, a negative count or a bogus loop order is a
one-line ``SpecError`` naming the field (``fusesat verify`` exits 2), never a
traceback. The mappings are rebuilt only from fields that passed these checks.
"""

from __future__ import annotations

import math

from mapper.core.errors import SpecError
from mapper.core.group import POLICIES, FusedGroup, FusedMapping
from mapper.core.mapping import Mapping
from mapper.core.spec import DIMS, LOOP_LEVELS, MEMORY_LEVELS, ORDERED_LEVELS, ObjectiveWeights
from mapper.core.taskgraph import TaskGraph, TaskSchedule
from mapper.referee.report import join

RESULT = "<result>"  # the source named until the app knows the file
FIX = "pass a file written by fusesat solve --json"


def shown(value) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


class Claims:
    """A JSON object or list of a result, and its path from the result's root."""

    def __init__(self, data, path: str = "", source: str = RESULT):
        self.data, self.path, self.source = data, path, source

    def where(self, key) -> str:
        return join(self.path, f"[{key}]" if isinstance(key, int) else str(key))

    def error(self, key, problem: str) -> SpecError:
        return SpecError(self.source, self.where(key) if key is not None else (self.path or "<top>"), problem, FIX)

    def has(self, key) -> bool:
        return isinstance(self.data, dict) and key in self.data

    def raw(self, key):
        if isinstance(self.data, list):
            if not (is_int(key) and 0 <= key < len(self.data)):
                raise self.error(key, "missing")
            return self.data[key]
        if not isinstance(self.data, dict):
            raise self.error(None, f"must be an object, got {shown(self.data)}")
        if key not in self.data:
            raise self.error(key, "missing")
        return self.data[key]

    def _typed(self, key, test, what: str):
        value = self.raw(key)
        if not test(value):
            raise self.error(key, f"must be {what}, got {shown(value)}")
        return value

    def sub(self, key) -> Claims:
        value = self._typed(key, lambda v: isinstance(v, dict), "an object")
        return Claims(value, self.where(key), self.source)

    def items(self, key, length: int | None = None) -> Claims:
        value = self._typed(key, lambda v: isinstance(v, list), "a list")
        if length is not None and len(value) != length:
            raise self.error(key, f"must list {length} entries, got {len(value)}")
        return Claims(value, self.where(key), self.source)

    def __len__(self) -> int:
        return len(self.data) if isinstance(self.data, (list, dict)) else 0

    def count(self, key) -> int:
        return self._typed(key, lambda v: is_int(v) and v >= 0, "a non-negative integer")

    def positive(self, key) -> int:
        return self._typed(key, lambda v: is_int(v) and v >= 1, "a positive integer")

    def number(self, key, signed: bool = False) -> float:
        def test(v):
            return (is_int(v) or isinstance(v, float)) and math.isfinite(v) and (signed or v >= 0)

        return self._typed(key, test, "a finite number" if signed else "a finite non-negative number")

    def text(self, key) -> str:
        return self._typed(key, lambda v: isinstance(v, str), "a string")

    def flag(self, key) -> bool:
        return self._typed(key, lambda v: isinstance(v, bool), "true or false")

    def choice(self, key, options) -> str:
        value = self.raw(key)
        if not isinstance(value, str) or value not in options:
            raise self.error(key, f"must be one of {', '.join(map(str, options))}, got {shown(value)}")
        return value

    def optional(self, reader, key):
        """``reader(key)`` (a method of this object), or None when the field is null."""
        return None if self.raw(key) is None else reader(key)

    def keys_exactly(self, expected, what: str) -> None:
        if not isinstance(self.data, dict):
            raise self.error(None, f"must be an object, got {shown(self.data)}")
        for key in self.data:
            if key not in expected:
                raise self.error(key, f"unknown {what}")
        for key in expected:
            self.raw(key)


def weights_of(claims: Claims) -> ObjectiveWeights:
    weights = claims.sub("weights")
    weights.keys_exactly(("latency", "dram_words", "energy"), "weight")
    return ObjectiveWeights(weights.count("latency"), weights.count("dram_words"), weights.count("energy"))


def layer_mapping(claims: Claims) -> Mapping:
    """``factors.{level}.{dim}`` positive integers; ``orders.{DRAM,GLB}`` every dim once;
    optionally ``double_outputs``, memory levels each at most once."""
    factors = claims.sub("factors")
    factors.keys_exactly(LOOP_LEVELS, "loop level")
    table = {}
    for level in LOOP_LEVELS:
        row = factors.sub(level)
        row.keys_exactly(DIMS, "dim")
        table[level] = {d: row.positive(d) for d in DIMS}
    orders = claims.sub("orders")
    orders.keys_exactly(ORDERED_LEVELS, "ordered loop level")
    order_table = {}
    for level in ORDERED_LEVELS:
        order = orders.items(level)
        dims = [order.choice(i, DIMS) for i in range(len(order))]
        if sorted(dims) != sorted(DIMS):
            raise orders.error(level, f"must list each of {', '.join(DIMS)} once, got {shown(dims)}")
        order_table[level] = tuple(dims)
    double = ()
    if claims.has("double_outputs"):
        listed = claims.items("double_outputs")
        double = tuple(listed.choice(i, MEMORY_LEVELS) for i in range(len(listed)))
        if len(set(double)) != len(double):
            raise claims.error("double_outputs", f"must list each level once, got {shown(list(double))}")
    return Mapping(table, order_table, double)


def fused_mapping(claims: Claims, group: FusedGroup) -> FusedMapping:
    n = len(group.layers)
    claims.keys_exactly(("stripe_rows", "policy", "columns", "spatial", "resident"), "field")
    columns = claims.items("columns", n)
    spatial = claims.items("spatial", n)
    resident = claims.items("resident", n)
    pairs = []
    for k in range(n):
        pair = spatial.items(k, 2)
        pairs.append((pair.positive(0), pair.positive(1)))
    return FusedMapping(
        claims.positive("stripe_rows"),
        claims.choice("policy", [str(p) for p in POLICIES]),
        tuple(columns.positive(k) for k in range(n)),
        tuple(pairs),
        tuple(resident.flag(k) for k in range(n)),
    )


def task_schedule(claims: Claims, graph: TaskGraph) -> TaskSchedule:
    """Every task of ``graph`` once: ``processor`` one of the graph's, ``start`` and ``end`` cycles."""
    claims.keys_exactly(graph.tasks, "task")
    processor, start = {}, {}
    for task in graph.tasks:
        entry = claims.sub(task)
        entry.keys_exactly(("processor", "start", "end"), "field")
        processor[task] = graph.processors.index(entry.choice("processor", graph.processors))
        start[task] = entry.count("start")
        entry.count("end")
    return TaskSchedule(processor, start)
