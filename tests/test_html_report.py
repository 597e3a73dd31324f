"""``fusesat report``: one self-contained HTML page per result, for every mode,
rendered by headless Chromium (Debian's package, which ``.ci/run`` installs)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from html.parser import HTMLParser

import pytest
from verify_helpers import PROBLEMS, solved  # noqa: F401 (a fixture)

from mapper.app.cli import main

CHROMIUM = shutil.which("chromium")
# The flags this machine's closed network needs (docs: the environment's browser notes).
HEADLESS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run"]
HEADLESS += ["--disable-background-networking", "--disable-component-update", "--disable-sync"]


class _Page(HTMLParser):
    """Headings, table cells and every attribute that could load something."""

    def __init__(self):
        super().__init__()
        self.headings, self.cells, self.sources, self.svgs, self._tag = [], [], [], 0, None

    def handle_starttag(self, tag, attrs):
        self._tag = tag
        self.svgs += tag == "svg"
        for name, value in attrs:
            if name in ("src", "href", "xlink:href") and value and not value.startswith("#"):
                self.sources.append(value)

    def handle_data(self, data):
        if self._tag in ("h1", "h2"):
            self.headings.append(data.strip())
        elif self._tag == "td" and data.strip():
            self.cells.append(data.strip())


def report(mode: str, solved, tmp_path) -> tuple[str, dict]:  # noqa: F811
    path, result = solved(mode)
    out = tmp_path / f"{mode}.html"
    assert main(["report", str(path), "-o", str(out)]) == 0
    return out, result


@pytest.mark.parametrize("mode", sorted(PROBLEMS))
def test_the_page_states_the_proof_the_limits_and_the_baselines_and_loads_nothing(mode, solved, tmp_path):  # noqa: F811
    out, result = report(mode, solved, tmp_path)
    page = _Page()
    page.feed(out.read_text())
    assert page.headings[0].startswith(result["problem"])
    assert {"Proof", "Against the compulsory limits", "Baselines", "Plots"} <= set(page.headings)
    assert f"{result['objective']:,}" in page.cells and result["status"] in page.cells
    assert page.sources == []  # self-contained: no script, image, font or style from elsewhere
    assert page.svgs >= 1  # every mode has at least one plot
    if mode == "network":
        compulsory = result["details"]["compulsory"]["dram_words"]
        assert f"{compulsory:,}" in page.cells
        assert f"{result['metrics']['dram_words'] / compulsory:.3f}x" in page.cells
    if mode == "taskgraph":
        assert {h["method"] for h in result["details"]["heuristics"]} <= set(page.cells)


def test_a_file_that_is_not_a_result_is_one_line(tmp_path, capsys):
    bad = tmp_path / "r.json"
    bad.write_text('{"mode": "nonsense"}')
    assert main(["report", str(bad), "-o", str(tmp_path / "r.html")]) == 2
    assert capsys.readouterr().err.count("\n") == 1


@pytest.mark.skipif(CHROMIUM is None and not os.environ.get("CI"), reason="Debian's chromium is not installed")
@pytest.mark.parametrize("mode", sorted(PROBLEMS))
def test_headless_chromium_renders_the_page_without_errors(mode, solved, tmp_path):  # noqa: F811
    """In CI (where .ci/run installs chromium) this never skips."""
    plt = pytest.importorskip("matplotlib.pyplot")
    assert CHROMIUM is not None, "chromium is missing: .ci/run installs Debian's chromium package"
    out, _ = report(mode, solved, tmp_path)
    shot = tmp_path / f"{mode}.png"
    flags = [*HEADLESS, f"--user-data-dir={tmp_path / 'profile'}", "--enable-logging=stderr", "--v=0"]
    command = [CHROMIUM, *flags, "--window-size=1280,2000", f"--screenshot={shot}", out.as_uri()]
    run = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr[-2000:]
    console = [line for line in run.stderr.splitlines() if re.search(r"CONSOLE|Uncaught|net::ERR_", line)]
    assert console == []  # the page logged nothing and loaded nothing that failed
    pixels = plt.imread(shot)[..., :3]  # the screenshot shows a page: mostly white, with text and plots
    inked = (pixels.min(axis=2) < 0.9).mean()
    assert 0.02 < inked < 0.6, inked  # the four pages: 4-8% at 1280 x 2400
