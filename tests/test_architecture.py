"""The layering rule: the cost models and the referee never import a formulation
(nor ortools), so they stay an independent executable specification."""

from __future__ import annotations

import subprocess
import sys

SOLVER_FREE = [
    "mapper.cost_model",
    "mapper.fused_cost",
    "mapper.taskgraph",
    "mapper.taskgraph_builder",
    "mapper.referee.simulator",
    "mapper.referee.executor",
    "mapper.referee.verify",
    "mapper.decode_layer",
    "mapper.decode_fused",
    "mapper.decode_taskgraph",
    "mapper.heuristics.heft",
    "mapper.heuristics.random_search",
]


def test_spec_and_referee_import_no_solver():
    code = (
        f"import sys; import {', '.join(SOLVER_FREE)}; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('formulations', 'ortools')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
