"""``fusesat verify``: load a result file and its problem, and hand them to the referee of the result's mode."""

from __future__ import annotations

import json
from pathlib import Path

from mapper.core.errors import SpecError
from mapper.core.group import build_group
from mapper.cost.taskgraph_builder import problem_graph
from mapper.io.loading import load_problem
from mapper.referee.verify import (
    VerifyReport,
    verify_fused_result,
    verify_layer_result,
    verify_network_result,
    verify_taskgraph_result,
)


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
    if result["mode"] not in ("layer", "fused", "taskgraph", "network"):
        raise SpecError(
            str(path), "mode", f"unknown mode {result['mode']!r}", "pass a file written by fusesat solve --json"
        )
    problem = load_problem(resolve_problem_file(result, path))
    if result["mode"] == "network":
        return verify_network_result(result, problem, functional)
    if result["mode"] == "taskgraph":
        return verify_taskgraph_result(result, *problem_graph(problem), functional)
    if result["mode"] == "fused":
        return verify_fused_result(result, build_group(problem.layers), problem.accelerator, functional)
    return verify_layer_result(result, problem.layers[0], problem.accelerator, functional)
