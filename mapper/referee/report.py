"""The referee's verdict on a result: one row per check, each naming the result
fields (JSON paths) it covers, plus the fields it could not check and why.

A row compares what the result claims with what the replay measured (or what
follows from measured values by a metric's definition). ``ok`` is None for a
field that was not checked; ``measured`` then says why. The first failed row
is the report's violation.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

REL_TOL = 1e-9  # floats (utilisation, energy in pJ, reductions, gaps) compare to this relative tolerance


def same(claimed, measured) -> bool:
    """Equal, with floats compared to REL_TOL; a bool never equals a number, a float
    never an integer ``measured``."""
    if isinstance(claimed, bool) or isinstance(measured, bool):
        return type(claimed) is type(measured) and claimed == measured
    if isinstance(claimed, (int, float)) and isinstance(measured, (int, float)):
        if isinstance(measured, float):
            return math.isclose(claimed, measured, rel_tol=REL_TOL, abs_tol=1e-12)
        return isinstance(claimed, int) and claimed == measured  # a count is never a float
    if isinstance(claimed, (list, tuple)) and isinstance(measured, (list, tuple)):
        return len(claimed) == len(measured) and all(same(a, b) for a, b in zip(claimed, measured, strict=True))
    if isinstance(claimed, dict) and isinstance(measured, dict):
        return claimed.keys() == measured.keys() and all(same(claimed[k], measured[k]) for k in claimed)
    return claimed == measured


@dataclass
class Row:
    name: str
    claimed: object
    measured: object
    ok: bool | None  # None: not checked (``measured`` says why)
    fields: tuple[str, ...]  # the result's JSON paths this row covers (a path covers everything below it)


def join(prefix: str, path: str) -> str:
    if not prefix:
        return path
    return f"{prefix}{path}" if path.startswith("[") else f"{prefix}.{path}"


@dataclass
class VerifyReport:
    table: list[Row] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    violation: str | None = None

    def check(self, name: str, claimed, measured, ok: bool | None = None, fields=None) -> bool:
        """A checked row; ``fields`` defaults to ``name`` itself (a JSON path)."""
        ok = same(claimed, measured) if ok is None else bool(ok)
        covered = (name,) if fields is None else ((fields,) if isinstance(fields, str) else tuple(fields))
        self.table.append(Row(name, claimed, measured, ok, covered))
        if not ok and self.violation is None:
            self.violation = f"claimed {name} = {claimed} but measured {measured}"
        return ok

    def fail(self, name: str, claimed, problem: str, fields) -> None:
        """A failed row whose measurement is a message (a replay violation, a broken rule)."""
        covered = (fields,) if isinstance(fields, str) else tuple(fields)
        self.table.append(Row(name, claimed, problem, False, covered))
        if self.violation is None:
            self.violation = f"{name}: {problem}"

    def unchecked(self, path: str, value, reason: str) -> None:
        self.table.append(Row(path, value, reason, None, (path,)))

    def merge(self, sub: VerifyReport, label: str) -> None:
        """Add ``sub``'s rows (of one part of the result), checked ones named ``label: name``."""
        for row in sub.table:
            name = row.name if row.ok is None else f"{label}: {row.name}"
            self.table.append(Row(name, row.claimed, row.measured, row.ok, row.fields))
        self.notes += [f"{label}: {note}" for note in sub.notes]
        if sub.violation and self.violation is None:
            self.violation = f"{label}: {sub.violation}"

    @property
    def checks(self) -> list[tuple[str, object, object, bool]]:
        """(name, claimed, measured, ok) of every checked row."""
        return [(r.name, r.claimed, r.measured, r.ok) for r in self.table if r.ok is not None]

    @property
    def unchecked_fields(self) -> list[str]:
        return [r.fields[0] for r in self.table if r.ok is None]

    def covered(self) -> set[str]:
        return {f for row in self.table for f in row.fields}

    def rows(self) -> list[Row]:
        return list(self.table)
