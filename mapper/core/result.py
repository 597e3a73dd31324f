"""Solve results: status, proof facts and the decoded answer (JSON schema v1).

The JSON written by ``fusesat solve --json`` is ``SolveResult.to_json()``;
docs/json_schema.md documents every field. ``schema`` is bumped on any
incompatible change.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from mapper.core.enums import Factors, Status

SCHEMA_VERSION = 1

EXIT_SOLVED = 0
EXIT_BAD_INPUT = 2
EXIT_INFEASIBLE = 3
EXIT_NO_SOLUTION = 4


def relative_gap(objective: float, bound: float) -> float:
    """(objective - bound) / max(1, |objective|): the gap every mode reports."""
    return (objective - bound) / max(1, abs(objective))


@dataclass(frozen=True)
class SolverFacts:
    wall_time_s: float
    deterministic_time: float
    workers: int
    seed: int
    time_limit_s: float
    ortools_version: str
    branches: int = 0
    conflicts: int = 0
    first_solution_s: float | None = None  # wall time of the first solution found
    interrupted_by: str | None = None  # "SIGINT" or "SIGTERM" when a signal stopped the solve (mapper.core.stop)
    factors: str = Factors.UNEVEN.value  # the factor space searched (the problem's solver.factors)


def ortools_version() -> str:
    """The installed OR-Tools' version (for facts of many solves, without importing it here)."""
    from importlib.metadata import version

    return version("ortools")


@dataclass(frozen=True)
class SolveResult:
    """``status`` is one of OPTIMAL, FEASIBLE, INFEASIBLE, UNKNOWN, MODEL_INVALID.
    ``objective`` and ``mapping`` are None when no solution was found."""

    problem: str
    mode: str
    status: str
    objective: int | None
    bound: int | None
    solver: SolverFacts
    layer: str | None = None
    accelerator: str | None = None
    mapping: dict | None = None
    metrics: dict = field(default_factory=dict)
    weights: dict = field(default_factory=dict)
    problem_file: str | None = None
    explanation: str | None = None
    details: dict = field(default_factory=dict)  # mode-specific (fused: baseline comparison)

    @property
    def has_solution(self) -> bool:
        return self.objective is not None

    @property
    def gap(self) -> float | None:
        if self.objective is None or self.bound is None:
            return None
        return relative_gap(self.objective, self.bound)

    @property
    def proven_optimal(self) -> bool:
        return self.status == Status.OPTIMAL and self.objective is not None and self.objective == self.bound

    @property
    def exit_code(self) -> int:
        """0 with a solution (also when stopped early: check ``proven_optimal``),
        2 for a model CP-SAT refused, 3 infeasible, 4 no solution in the time
        given (the time limit, or a stop request)."""
        if self.has_solution:
            return EXIT_SOLVED
        if self.status == Status.INFEASIBLE:
            return EXIT_INFEASIBLE
        if self.status == Status.MODEL_INVALID:
            return EXIT_BAD_INPUT
        return EXIT_NO_SOLUTION

    def to_json(self) -> dict:
        problem_file = self.problem_file
        if problem_file and Path(problem_file).exists():
            problem_file = str(Path(problem_file).resolve())  # verify/export work from any folder
        return {
            "schema": SCHEMA_VERSION,
            "problem": self.problem,
            "problem_file": problem_file,
            "mode": str(self.mode),  # a Mode or its text: JSON holds the text
            "layer": self.layer,
            "accelerator": self.accelerator,
            "status": self.status,
            "objective": self.objective,
            "bound": self.bound,
            "gap": self.gap,
            "proven_optimal": self.proven_optimal,
            "weights": self.weights,
            "metrics": self.metrics,
            "mapping": self.mapping,
            "solver": self.solver.__dict__,
            "explanation": self.explanation,
            "details": self.details,
        }

    @classmethod
    def from_json(cls, data: dict) -> SolveResult:
        """The inverse of ``to_json`` (its derived fields, gap and proven_optimal, are recomputed)."""
        fields = ("problem", "mode", "status", "objective", "bound", "layer", "accelerator", "mapping")
        fields += ("problem_file", "explanation")
        tables = {name: data.get(name) or {} for name in ("metrics", "weights", "details")}
        return cls(**{name: data.get(name) for name in fields}, **tables, solver=SolverFacts(**data["solver"]))

    def write_json(self, path: Path | str) -> None:
        Path(path).write_text(json.dumps(self.to_json(), indent=2) + "\n")
