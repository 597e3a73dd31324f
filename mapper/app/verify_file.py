"""``fusesat verify``: load a result file and its problem, and hand them to the referee of the result's mode."""

from __future__ import annotations

import json
from pathlib import Path

from mapper.app.modes import handlers_for
from mapper.core.errors import SpecError
from mapper.io.loading import load_problem
from mapper.referee.verify import VerifyReport


def resolve_problem_file(result: dict, result_path: Path) -> Path:
    """The result's problem file: as recorded, else beside the result file."""
    path = Path(result["problem_file"])
    if path.is_absolute() or path.exists():
        return path
    return result_path.parent / path


def verify_result_file(path: Path | str, functional: bool = False) -> VerifyReport:
    path = Path(path)
    try:
        result = json.loads(path.read_text())
    except OSError as err:
        raise SpecError(str(path), "<file>", f"cannot be read ({err.strerror})", "check the path") from None
    except json.JSONDecodeError as err:
        raise SpecError(
            str(path), f"line {err.lineno}", "not valid JSON", "pass a file written by fusesat solve --json"
        ) from None
    for key in ("mode", "problem_file", "metrics", "mapping", "weights", "objective"):
        if key not in result:
            raise SpecError(str(path), key, "missing", "pass a file written by fusesat solve --json")
    handlers = handlers_for(result["mode"], str(path))
    return handlers.verify(result, load_problem(resolve_problem_file(result, path)), functional)
