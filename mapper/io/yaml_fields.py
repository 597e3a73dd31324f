"""Typed access to YAML mappings with one-line errors naming file, path and fix.

Every number is bounded (``mapper.io.limits``): an integer field takes a
``maximum`` (default ``MAX_INTEGER``), seconds and energies are finite and
bounded too. Files are read by ``read_yaml`` (``mapper.io.yaml_reader``).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from mapper.core.errors import SpecError
from mapper.io.limits import MAX_ENERGY_PJ, MAX_INTEGER, MAX_SECONDS, shown
from mapper.io.yaml_reader import read_yaml

__all__ = ["Fields", "read_yaml", "show_value"]


def show_value(value: Any, width: int = 60) -> str:
    """``repr(value)``, cut to about ``width`` characters."""
    text = repr(value)
    return text if len(text) <= width else text[: width - 3] + "..."


def _kind(value: Any) -> str:
    """What a YAML value is, in YAML's words."""
    if value is None:
        return "nothing (an empty value)"
    if isinstance(value, bool):
        return f"the boolean {value}"
    if isinstance(value, (int, float)):
        return f"the number {show_value(value)}"
    if isinstance(value, str):
        return f"the string {show_value(value)}"
    if isinstance(value, list):
        return f"a list of {len(value)} item(s)"
    return type(value).__name__


class Fields:
    """Typed access to one YAML mapping, raising ``SpecError`` with the path."""

    def __init__(self, data: Any, source: str, path: str):
        if not isinstance(data, dict):
            raise SpecError(source, path or "<top>", f"must be a mapping of fields, got {_kind(data)}")
        self.data, self.source, self.path = data, source, path

    def where(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key

    def fail(self, key: str, problem: str, fix: str = "") -> SpecError:
        return SpecError(self.source, self.where(key), problem, fix)

    def has(self, key: str) -> bool:
        return key in self.data

    def raw(self, key: str, default: Any = ...) -> Any:
        if key not in self.data:
            if default is ...:
                raise self.fail(key, "missing", f"add the field '{key}'")
            return default
        return self.data[key]

    def integer(self, key: str, default: Any = ..., minimum: int = 1, maximum: int = MAX_INTEGER) -> int:
        value = self.raw(key, default)
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            kind = "a positive integer" if minimum == 1 else f"an integer >= {minimum}"
            raise self.fail(key, f"must be {kind}, got {show_value(value)}", f"use {minimum} or more")
        if value > maximum:
            raise self.fail(
                key, f"must be at most {shown(maximum)}, got {show_value(value)}", f"use {minimum}..{shown(maximum)}"
            )
        return value

    def pair(self, key: str, default: Any = ..., minimum: int = 1, maximum: int = MAX_INTEGER) -> tuple[int, int]:
        """An int applied to rows and cols, or a [rows, cols] list."""
        value = self.raw(key, default)
        items = value if isinstance(value, list) else [value, value]
        if len(items) != 2:
            raise self.fail(key, f"must be an integer or [rows, cols], got {show_value(value)}")
        sub = Fields({"rows": items[0], "cols": items[1]}, self.source, self.where(key))
        bounds = {"minimum": minimum, "maximum": maximum}
        return sub.integer("rows", **bounds), sub.integer("cols", **bounds)

    def seconds(self, key: str, default: Any = ..., what: str = "seconds", fix: str = "") -> float | None:
        """A positive, finite number of at most MAX_SECONDS (None when the default is None and the field absent)."""
        value = self.raw(key, default)
        if value is None and default is None:
            return None
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
            raise self.fail(key, f"must be a positive number of {what}, got {show_value(value)}", fix)
        if not value <= MAX_SECONDS:  # also refuses inf
            raise self.fail(
                key, f"must be at most {MAX_SECONDS}, got {show_value(value)}", f"use at most {MAX_SECONDS}"
            )
        return float(value)

    def text(self, key: str, default: Any = ...) -> str:
        value = self.raw(key, default)
        if not isinstance(value, str) or not value:
            raise self.fail(key, f"must be a non-empty string, got {show_value(value)}")
        return value

    def each(self, key: str, parse: Callable[[Fields, str], Any]) -> list:
        """A non-empty list, each item parsed by ``parse(fields, item_key)`` (its errors name ``key[i]``)."""
        values = self.raw(key)
        if not isinstance(values, list) or not values:
            raise self.fail(key, f"must be a non-empty list, got {show_value(values)}")
        items = [(f"{key}[{i}]", value) for i, value in enumerate(values)]
        return [parse(Fields({k: v}, self.source, self.path), k) for k, v in items]

    def choice(self, key: str, options: tuple[str, ...]) -> str:
        value = self.text(key)
        if value not in options:
            raise self.fail(key, f"unknown value {value!r}", f"use one of {', '.join(options)}")
        return value

    def boolean(self, key: str, default: Any = ...) -> bool:
        value = self.raw(key, default)
        if not isinstance(value, bool):
            raise self.fail(key, f"must be true or false, got {show_value(value)}")
        return value

    def energy_fj(self, key: str, default: Any = ...) -> int:
        """An energy given in pJ (a number from 0 to MAX_ENERGY_PJ, at most 3 decimals) as integer fJ."""
        value = self.raw(key, default)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= 0:
            raise self.fail(key, f"must be a number of pJ >= 0, got {show_value(value)}")
        if not value <= MAX_ENERGY_PJ:  # also refuses inf
            raise self.fail(
                key, f"must be at most {MAX_ENERGY_PJ} pJ, got {show_value(value)}", f"use 0..{MAX_ENERGY_PJ} pJ"
            )
        femto = round(value * 1000)
        if not math.isclose(femto, value * 1000, rel_tol=0, abs_tol=1e-6):
            raise self.fail(key, f"{value!r} pJ is not a whole number of fJ", "use at most 3 decimals")
        return femto

    def sub(self, key: str, default: Any = ...) -> Fields:
        return Fields(self.raw(key, default), self.source, self.where(key))

    def reject_unknown(self, allowed: set[str]) -> None:
        for key in self.data:
            if key not in allowed:
                raise self.fail(str(key)[:60], "unknown field", f"use one of {sorted(allowed)}")
