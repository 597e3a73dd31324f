"""``fusesat verify``: load a result file and its problem, and check every fact
the result states (docs/referee.md): the referee replays its schedule and
measures the metrics; the envelope (names, weights, status, bound, gap,
proof) is checked against the problem and itself; the details (baselines,
reductions, candidates, heuristics) are recomputed, re-solving with the
result's solver settings where they come from a solve. Every field of the
file ends up in a row: checked, or listed as unchecked with the reason.

A malformed file (not JSON, a missing key at any depth, a wrong type, a
bogus loop order, an unknown dim or task, a negative count) is a one-line
``SpecError`` naming the file and the field (exit 2)."""

from __future__ import annotations

import json
from pathlib import Path

from mapper.app.modes import handlers_for
from mapper.app.verify_claims import check_envelope, check_schema
from mapper.core.errors import SpecError
from mapper.io.loading import load_problem
from mapper.referee.claims import FIX, RESULT, Claims
from mapper.referee.report import VerifyReport, join

NOT_EXAMINED = "not examined by this version of verify"


def resolve_problem_file(result: dict | Claims, result_path: Path) -> Path:
    """The result's problem file: as recorded, else beside the result file."""
    claims = result if isinstance(result, Claims) else Claims(result, source=str(result_path))
    text = claims.text("problem_file")
    if not text or "\0" in text:
        raise claims.error("problem_file", f"is not a path: {text!r}")
    path = Path(text)
    if path.is_absolute() or path.exists():
        return path
    return result_path.parent / path


def leaves(value, path: str = ""):
    """(path, value) of every scalar, null and empty container of a JSON value."""
    if isinstance(value, dict) and value:
        for key, item in value.items():
            yield from leaves(item, join(path, str(key)))
    elif isinstance(value, list) and value:
        for i, item in enumerate(value):
            yield from leaves(item, f"{path}[{i}]")
    else:
        yield path, value


def covered_by(path: str, fields: set[str]) -> bool:
    while True:
        if path in fields:
            return True
        cut = max(path.rfind("."), path.rfind("["))
        if cut <= 0:
            return False
        path = path[:cut]


def read_result(path: Path) -> dict:
    try:
        result = json.loads(path.read_text())
    except OSError as err:
        raise SpecError(str(path), "<file>", f"cannot be read ({err.strerror})", "check the path") from None
    except (UnicodeDecodeError, RecursionError):
        raise SpecError(str(path), "<file>", "not a JSON text file", FIX) from None
    except json.JSONDecodeError as err:
        raise SpecError(str(path), f"line {err.lineno}", "not valid JSON", FIX) from None
    if not isinstance(result, dict):
        raise SpecError(str(path), "<top>", "must be a JSON object", FIX)
    return result


def verify_result_file(path: Path | str, functional: bool = False) -> VerifyReport:
    path = Path(path)
    return verify_result(read_result(path), path, functional)


def verify_result(result: dict, path: Path, functional: bool = False) -> VerifyReport:
    """Verify the result JSON ``result``; ``path`` names it in errors and is where a relative
    ``problem_file`` is looked for when it is not relative to the current folder."""
    try:
        return _verify(result, path, functional)
    except SpecError as err:
        if err.source != RESULT:
            raise
        raise SpecError(str(path), err.field, err.problem, err.fix) from None


def _verify(result: dict, path: Path, functional: bool) -> VerifyReport:
    claims = Claims(result, source=str(path))
    check_schema(claims)
    handlers = handlers_for(claims.text("mode"), str(path))
    problem_path = resolve_problem_file(claims, path)
    try:
        problem = load_problem(problem_path)
    except SpecError as err:
        raise SpecError(str(path), "problem_file", f"its problem does not load ({err})") from None
    if problem.mode != handlers.mode:
        raise claims.error("mode", f"the result is {handlers.mode} but its problem {problem.name} is {problem.mode}")
    if claims.raw("mapping") is None:
        return handlers.verify(result, problem, functional)  # nothing to verify: a violation
    report = handlers.verify(result, problem, functional)
    check_envelope(report, claims, problem)
    handlers.recheck(report, claims, problem)
    fields = report.covered()
    for leaf, value in leaves(result):
        if not covered_by(leaf, fields):
            report.unchecked(leaf, value, NOT_EXAMINED)
    return report
