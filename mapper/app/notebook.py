"""The Python API for notebooks and scripts (docs/python_api.md).

    from mapper.app import notebook as fs
    problem = fs.load("resnet18_layer4_0_down")        # a file, or a bundled name
    problem = fs.from_spec({"mode": "layer", ...})     # or the mapping a problem YAML holds
    result = fs.solve(problem, workers=1)             # a SolveResult: status, objective, bound, metrics, mapping
    report = fs.verify(result)                        # the referee's VerifyReport: violation None when it holds
    summary = fs.batch("smoke", "results.sqlite")     # a suite run into a database, resumable
    frame = fs.results_frame("results.sqlite")         # a batch database as a pandas DataFrame (notebook extra)

The same calls the command line makes, without its printing; errors are the
one-line ``SpecError`` of the CLI.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from mapper.app.batch import run_batch
from mapper.app.database import COLUMNS, open_for_reading, read_rows
from mapper.app.modes import MODES
from mapper.app.verify_file import verify_result, verify_result_file
from mapper.core.problem import Problem
from mapper.core.result import SolveResult
from mapper.io.library import resolve_argument
from mapper.io.loading import load_problem, parse_problem
from mapper.referee.report import VerifyReport


def load(problem: str | Path) -> Problem:
    """A problem from a YAML file, or a bundled problem by name (``fusesat library problems`` lists them)."""
    return load_problem(resolve_argument(str(problem), "problems"))


def from_spec(spec: dict, folder: str | Path = ".") -> Problem:
    """A problem from the mapping a problem YAML holds; file references resolve against ``folder``,
    then the bundled library."""
    return parse_problem(spec, Path(folder) / "<memory>.yaml", source="<memory>")


def batch(suite: str | Path, db: str | Path, workers: int = 1) -> dict:
    """``fusesat batch``: every job of ``suite`` (a file or a bundled name) not stored in ``db`` yet;
    returns the summary counts (jobs, skipped, solved, stored, failed)."""
    return run_batch(resolve_argument(str(suite), "suites"), db, workers)


def solve(
    problem: Problem | str | Path,
    *,
    time_limit: float | None = None,
    workers: int | None = None,
    seed: int | None = None,
    deterministic_time: float | None = None,
) -> SolveResult:
    """Solve ``problem`` (a Problem, a file or a bundled name) with its solver settings, any of them
    overridden by the keyword arguments; the result is checked against the cost model as on the CLI."""
    problem = problem if isinstance(problem, Problem) else load(problem)
    overrides = {"time_limit_s": time_limit, "workers": workers, "seed": seed, "deterministic_time": deterministic_time}
    settings = replace(problem.solver, **{k: v for k, v in overrides.items() if v is not None})
    return MODES[problem.mode].solve(problem, settings)


def verify(result: SolveResult | dict | str | Path, functional: bool = False) -> VerifyReport:
    """``fusesat verify`` on a result: a SolveResult, its JSON dict, or a result file."""
    if isinstance(result, str | Path):
        return verify_result_file(result, functional)
    data = result.to_json() if isinstance(result, SolveResult) else result
    return verify_result(data, Path("<memory>.json"), functional)


def results_frame(db: str | Path):
    """Every row of a batch database (``fusesat batch --db``) as a pandas DataFrame, one column per
    field of ``mapper.app.database.COLUMNS``; needs pandas (``pip install -e ".[notebook]"``)."""
    try:
        import pandas
    except ImportError:
        raise ImportError('results_frame needs pandas: pip install -e ".[notebook]"') from None
    connection, _ = open_for_reading(db)
    try:
        rows = read_rows(connection, str(db))
    finally:
        connection.close()
    return pandas.DataFrame(rows, columns=list(COLUMNS))
