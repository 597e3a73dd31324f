"""docs/tutorial.md: every bash block runs as written, in order, in an empty folder."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

TUTORIAL = Path(__file__).resolve().parents[1] / "docs" / "tutorial.md"


def test_tutorial_commands_run_as_written(tmp_path):
    pytest.importorskip("onnx")
    pytest.importorskip("matplotlib")
    blocks = re.findall(r"```bash\n(.*?)```", TUTORIAL.read_text(), flags=re.S)
    assert len(blocks) >= 7
    script = "set -euo pipefail\n" + "\n".join(blocks)
    done = subprocess.run(["bash", "-c", script], cwd=tmp_path, capture_output=True, text=True, env=os.environ.copy())
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert "every claimed metric equals the measured one" in done.stdout
    for produced in (
        "block.yaml",
        "fused.png",
        "fused_glb.png",
        "fused.trace.json",
        "whole.json",
        "front.png",
        "results.csv",
    ):
        assert (tmp_path / produced).exists(), produced
    assert "6 problems, 6 already stored, 0 to run" in done.stdout
