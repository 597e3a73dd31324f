"""Hostile command lines (issue 17): every bad option value, output path or
solver setting is one ``error:`` line and exit 2, before any solve starts;
4 means only "no solution within the time limit"."""

from __future__ import annotations

import dataclasses
import socket

import pytest
from test_loading import problem_files

from mapper.app import modes
from mapper.app.cli import build_parser, main
from mapper.core.enums import Mode, Status
from mapper.core.result import SolveResult, SolverFacts
from mapper.io.limits import MAX_WORKERS


def refused(capsys, argv: list[str], *needles: str) -> str:
    """``main(argv)`` exits 2 with exactly one ``error:`` line holding every needle."""
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1, err
    for needle in needles:
        assert needle in err, err
    return err


@pytest.fixture
def no_solve(monkeypatch):
    """Any solve, compare or pareto sweep fails the test: the refusal came first."""

    def boom(*args, **kwargs):
        raise AssertionError("a solve started")

    for mode, handlers in list(modes.MODES.items()):
        pareto = boom if handlers.pareto else None
        monkeypatch.setitem(modes.MODES, mode, dataclasses.replace(handlers, solve=boom, pareto=pareto))
    monkeypatch.setattr("mapper.solve.compare.compare", boom)
    monkeypatch.setattr("mapper.solve.api.solve", boom)
    monkeypatch.setattr("mapper.app.batch._local_results", boom)


# --------------------------------------------------------------------------- option values


@pytest.mark.parametrize(
    "argv,needles",
    [
        (["solve", "p.yaml", "--time-limit", "-1"], ["argument --time-limit", "above 0", "'-1'"]),
        (["solve", "p.yaml", "--time-limit", "nan"], ["argument --time-limit", "finite", "'nan'"]),
        (["solve", "p.yaml", "--time-limit", "inf"], ["argument --time-limit", "'inf'"]),
        (["solve", "p.yaml", "--time-limit", "0"], ["argument --time-limit", "above 0"]),
        (["compare", "p.yaml", "--time-limit", "soon"], ["argument --time-limit", "'soon'"]),
        (["solve", "p.yaml", "--workers", "-2"], ["argument --workers", f"from 1 to {MAX_WORKERS}"]),
        (["solve", "p.yaml", "--workers", "0"], ["argument --workers", f"from 1 to {MAX_WORKERS}"]),
        (["solve", "p.yaml", "--seed", "12345678901234567890"], ["argument --seed", "from 0 to 2147483647"]),
        (["solve", "p.yaml", "--seed", "-1"], ["argument --seed", "from 0 to 2147483647"]),
        (["pareto", "p.yaml", "--points", "0"], ["argument --points", "from 1 to 1000"]),
        (
            ["batch", "s.yaml", "--db", "r.sqlite", "--workers", "-1"],
            ["argument --workers", f"from 1 to {MAX_WORKERS}"],
        ),
        (["solve", "p.yaml", "--bogus"], ["unrecognized arguments: --bogus", "--help"]),
        (["export", "r.json", "--format", "pdf", "-o", "x"], ["argument --format", "invalid choice"]),
    ],
)
def test_bad_option_values_are_one_line_and_exit_2(capsys, no_solve, argv, needles):
    refused(capsys, argv, *needles)


def test_the_edges_of_each_range_are_accepted():
    args = build_parser().parse_args(
        ["solve", "p.yaml", "--time-limit", "0.5", "--workers", str(MAX_WORKERS), "--seed", str(2**31 - 1)]
    )
    assert (args.time_limit, args.workers, args.seed) == (0.5, MAX_WORKERS, 2**31 - 1)
    assert build_parser().parse_args(["pareto", "p.yaml", "--points", "1"]).points == 1


@pytest.mark.parametrize(
    "solver,field",
    [
        ({"time_limit_s": float("nan")}, "solver.time_limit_s"),
        ({"time_limit_s": float("inf")}, "solver.time_limit_s"),
        ({"seed": 10**20}, "solver.seed"),
        ({"workers": 10**6}, "solver.workers"),
        ({"deterministic_time": float("nan")}, "solver.deterministic_time"),
    ],
)
@pytest.mark.parametrize("command", ["solve", "compare", "pareto"])
def test_a_bad_solver_setting_of_a_problem_file_is_refused_first(tmp_path, capsys, no_solve, solver, field, command):
    """Exit 4 (NaN time limit) or a traceback (a 67-bit seed) before."""
    path = problem_files(tmp_path, solver=solver)
    refused(capsys, [command, str(path)], str(path), field)


def test_a_bad_setting_in_the_file_is_refused_even_with_an_override(tmp_path, capsys):
    """The file is bad input whatever the command line says; a valid file's settings are overridden."""
    path = problem_files(tmp_path, solver={"seed": 10**20, "workers": 1, "time_limit_s": 30})
    refused(capsys, ["solve", str(path), "--seed", "3"], str(path), "solver.seed")
    good = problem_files(tmp_path, solver={"seed": 0, "workers": 1, "time_limit_s": 30})
    assert main(["solve", str(good), "--seed", "3"]) == 0
    assert "1 / 3" in capsys.readouterr().out  # workers / seed of the proof table


def test_model_invalid_is_bad_input_not_a_time_limit(tmp_path, capsys, monkeypatch):
    facts = SolverFacts(0.0, 0.0, 1, 0, 1.0, "test")
    invalid = SolveResult("p", Mode.LAYER, Status.MODEL_INVALID, None, None, facts, layer="c1", accelerator="a")
    handlers = modes.MODES[Mode.LAYER]
    monkeypatch.setitem(modes.MODES, Mode.LAYER, dataclasses.replace(handlers, solve=lambda p, s: invalid))
    path = problem_files(tmp_path)
    out = tmp_path / "r.json"
    refused(capsys, ["solve", str(path), "--json", str(out)], str(path), "MODEL_INVALID")
    assert out.exists()  # the result is still written


def test_a_feature_map_too_large_for_cp_sat_is_exit_2(tmp_path, capsys):
    """10^6 x 10^6: MODEL_INVALID came back as exit 4 before."""
    import yaml
    from test_loading import NET, write

    path = problem_files(tmp_path, solver={"workers": 1, "time_limit_s": 20})
    huge = yaml.safe_load(yaml.safe_dump(NET))
    huge["input"].update(height=10**6, width=10**6)
    write(tmp_path, "net.yaml", huge)
    refused(capsys, ["solve", str(path)], str(tmp_path))


# --------------------------------------------------------------------------- output paths


def lock(path) -> bool:
    """Make a file or folder unwritable: chmod, or (as root, whom chmod does not
    stop) the immutable attribute. False when neither holds on this machine."""
    import os
    import subprocess

    path.chmod(0o555 if path.is_dir() else 0o444)
    if os.geteuid() != 0:
        return True
    done = subprocess.run(["chattr", "+i", str(path)], capture_output=True, check=False).returncode == 0
    return done


def unlock(path) -> None:
    import subprocess

    subprocess.run(["chattr", "-i", str(path)], capture_output=True, check=False)
    path.chmod(0o755)


@pytest.fixture
def locked(tmp_path):
    """An unwritable folder holding an unwritable file ``old.json``."""
    folder = tmp_path / "locked"
    folder.mkdir()
    (folder / "old.json").write_text("{}\n")
    if not (lock(folder / "old.json") and lock(folder)):
        unlock(folder / "old.json")
        unlock(folder)
        pytest.skip("cannot make a location unwritable here")
    yield folder
    unlock(folder)
    unlock(folder / "old.json")


def commands(tmp_path, out: str) -> list[list[str]]:
    problem = str(problem_files(tmp_path))
    taken = [(tmp_path / name).write_text("{}\n") for name in ("r.json", "s.yaml", "r.sqlite")]
    assert taken
    plot = out if out.endswith("/") else out + ".png"
    return [
        ["solve", problem, "--json", out],
        ["compare", problem, "--json", out],
        ["pareto", problem, "--json", out],
        ["pareto", problem, "--plot", plot],
        ["plot", str(tmp_path / "r.json"), "-o", plot],
        ["export", str(tmp_path / "r.json"), "--format", "chrome-trace", "-o", out],
        ["import", str(tmp_path / "m.onnx"), "-o", out],
        ["results", str(tmp_path / "r.sqlite"), "--csv", out],
        ["results", str(tmp_path / "r.sqlite"), "--json", out],
        ["batch", str(tmp_path / "s.yaml"), "--db", out],
    ]


OPTION_OF = {"--json": "--json", "--plot": "--plot", "-o": "-o/--output", "--csv": "--csv", "--db": "--db"}


@pytest.mark.parametrize("case", range(10))
@pytest.mark.parametrize("where", ["missing folder", "folder", "unwritable folder", "unwritable file"])
def test_output_paths_are_checked_before_any_solve(tmp_path, capsys, no_solve, request, case, where):
    """A traceback after the solve before, and the result lost."""
    if where.startswith("unwritable"):
        folder = request.getfixturevalue("locked")
        out = str(folder / ("old.json" if where == "unwritable file" else "new.json"))
        needle = "cannot be written"
    elif where == "folder":
        out, needle = str(tmp_path), "is a folder"
    else:
        out, needle = str(tmp_path / "nowhere" / "r.json"), "does not exist"
    argv = commands(tmp_path, out)[case]
    if where == "folder":
        argv[-1] = out
    refused(capsys, argv, OPTION_OF[argv[-2]], needle, argv[-1])  # no_solve: any solve fails the test
    assert not (tmp_path / "nowhere").exists()


def test_a_plot_suffix_matplotlib_cannot_write_is_refused_first(tmp_path, capsys, no_solve):
    pytest.importorskip("matplotlib")
    refused(capsys, ["pareto", str(problem_files(tmp_path)), "--plot", str(tmp_path / "f.txt")], "--plot", ".png")
    refused(capsys, ["plot", "r.json", "-o", str(tmp_path / "plot")], "-o/--output", "suffix")


# --------------------------------------------------------------------------- the Dask scheduler


def test_an_unreachable_scheduler_is_one_line(tmp_path, capsys):
    """A traceback after 30 s before."""
    pytest.importorskip("distributed")
    from test_batch import write_suite

    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    suite, db = write_suite(tmp_path), tmp_path / "r.sqlite"
    address = f"tcp://127.0.0.1:{port}"
    refused(capsys, ["batch", str(suite), "--db", str(db), "--scheduler", address], "--scheduler", address)
    refused(capsys, ["batch", str(suite), "--db", str(db), "--scheduler", "nosuch://x"], "--scheduler", "nosuch")
