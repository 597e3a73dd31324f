"""Shared fixtures: tiny accelerators and layers small enough to brute-force, and
one CLI solve of the small network problem for the tests that read its output."""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

import pytest

from mapper.core.spec import Accelerator, Layer, MemoryLevel, SolverSettings

DETERMINISTIC = SolverSettings(time_limit_s=60.0, workers=1, seed=0, deterministic_time=30.0)
NETWORK_PROBLEM = Path(__file__).parent / "data" / "network" / "tiny_resnet_problem.yaml"


def tiny_accelerator(
    rows=2, cols=2, glb=60, rf=12, glb_double=True, rf_double=False, dram_bw=2, glb_bw=4, rf_split=None
) -> Accelerator:
    return Accelerator(
        name="tiny",
        word_bits=16,
        pe_rows=rows,
        pe_cols=cols,
        mac_energy_fj=1000,
        levels={
            "DRAM": MemoryLevel("DRAM", None, dram_bw, 200_000),
            "GLB": MemoryLevel("GLB", glb, glb_bw, 6_000, glb_double),
            "RF": MemoryLevel("RF", rf_split or rf, 2, 1_000, rf_double),
        },
    )


def make_layer(kind="conv", stride=(1, 1), dilation=(1, 1), name="t", **bounds) -> Layer:
    full = {"N": 1, "G": 1, "K": 1, "C": 1, "P": 1, "Q": 1, "R": 1, "S": 1}
    full.update(bounds)
    return Layer(name, kind, full, stride=stride, dilation=dilation)


@pytest.fixture
def tiny():
    return tiny_accelerator()


@pytest.fixture(scope="session")
def network_cli_solve(tmp_path_factory):
    """``fusesat solve NETWORK_PROBLEM --json FILE``, run once per session for the
    tests that read its output or plot and export its result (none changes the
    file): (exit code, stdout, result file)."""
    from mapper.app.cli import main

    path = tmp_path_factory.mktemp("network_cli") / "r.json"
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(["solve", str(NETWORK_PROBLEM), "--json", str(path)])
    return code, out.getvalue(), path
