"""docs/python_api.md: every python block runs as written, in order, in an empty folder."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

PAGE = Path(__file__).resolve().parents[1] / "docs" / "python_api.md"


def test_python_api_examples_run_as_written(tmp_path, monkeypatch, capsys):
    pytest.importorskip("pandas")
    blocks = re.findall(r"```python\n(.*?)```", PAGE.read_text(), flags=re.S)
    assert len(blocks) >= 4
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    for block in blocks:
        exec(compile(block, str(PAGE), "exec"), namespace)
    out = capsys.readouterr().out
    assert "OPTIMAL" in out and "checks hold" in out
    assert (tmp_path / "results.sqlite").exists()
