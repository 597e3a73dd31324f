"""Typed access to YAML mappings with one-line errors naming file, path and fix."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from mapper.core.errors import SpecError


class Fields:
    """Typed access to one YAML mapping, raising ``SpecError`` with the path."""

    def __init__(self, data: Any, source: str, path: str):
        if not isinstance(data, dict):
            raise SpecError(source, path or "<top>", f"must be a mapping, got {type(data).__name__}")
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

    def integer(self, key: str, default: Any = ..., minimum: int = 1) -> int:
        value = self.raw(key, default)
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            kind = "a positive integer" if minimum == 1 else f"an integer >= {minimum}"
            raise self.fail(key, f"must be {kind}, got {value!r}", f"use {minimum} or more")
        return value

    def pair(self, key: str, default: Any = ..., minimum: int = 1) -> tuple[int, int]:
        """An int applied to rows and cols, or a [rows, cols] list."""
        value = self.raw(key, default)
        items = value if isinstance(value, list) else [value, value]
        if len(items) != 2:
            raise self.fail(key, f"must be an integer or [rows, cols], got {value!r}")
        sub = Fields({"rows": items[0], "cols": items[1]}, self.source, self.where(key))
        return sub.integer("rows", minimum=minimum), sub.integer("cols", minimum=minimum)

    def text(self, key: str, default: Any = ...) -> str:
        value = self.raw(key, default)
        if not isinstance(value, str) or not value:
            raise self.fail(key, f"must be a non-empty string, got {value!r}")
        return value

    def boolean(self, key: str, default: Any = ...) -> bool:
        value = self.raw(key, default)
        if not isinstance(value, bool):
            raise self.fail(key, f"must be true or false, got {value!r}")
        return value

    def energy_fj(self, key: str, default: Any = ...) -> int:
        """An energy given in pJ (number >= 0, at most 3 decimals) as integer fJ."""
        value = self.raw(key, default)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
            raise self.fail(key, f"must be a number of pJ >= 0, got {value!r}")
        femto = round(value * 1000)
        if abs(femto - value * 1000) > 1e-6:
            raise self.fail(key, f"{value!r} pJ is not a whole number of fJ", "use at most 3 decimals")
        return femto

    def sub(self, key: str, default: Any = ...) -> Fields:
        return Fields(self.raw(key, default), self.source, self.where(key))

    def reject_unknown(self, allowed: set[str]) -> None:
        for key in self.data:
            if key not in allowed:
                raise self.fail(str(key), "unknown field", f"use one of {sorted(allowed)}")


def read_yaml(path: Path) -> Any:
    try:
        text = path.read_text()
    except OSError as err:
        raise SpecError(str(path), "<file>", f"cannot be read ({err.strerror})", "check the path") from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark else "<file>"
        raise SpecError(str(path), where, f"invalid YAML ({getattr(err, 'problem', err)})") from None
