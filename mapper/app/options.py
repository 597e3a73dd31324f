"""Checks at the application's boundary, made before any solve starts: the
values of command-line options (argparse type functions), the solver settings
a problem or suite file hands to CP-SAT, and the paths results are written to.

Every failure is one line naming the option (or the file and field), what is
wrong and the fix; ``mapper.app.cli.main`` turns it into ``error: ...`` and
exit 2, so a bad value never reaches the solver and never comes back as exit 4.
"""

from __future__ import annotations

import argparse
import math
import os
import tempfile
from dataclasses import replace
from pathlib import Path

from mapper.core.enums import Mode, Status
from mapper.core.errors import SpecError
from mapper.core.problem import PartitionSearch
from mapper.io.limits import MAX_SECONDS, MAX_SEED, MAX_WORKERS  # one set of limits for files and options

MAX_POINTS = 1000  # pareto points, two solves each

# option -> (number kind, lowest, highest, whether the lowest itself is allowed): the ranges the loader
# gives the same fields of a solver section (mapper.io.limits)
SOLVER_LIMITS = {
    "time_limit_s": (float, 0, MAX_SECONDS, False),
    "deterministic_time": (float, 0, MAX_SECONDS, False),
    "workers": (int, 1, MAX_WORKERS, True),
    "seed": (int, 0, MAX_SEED, True),
}


def range_text(kind: type, low: float, high: float, inclusive: bool) -> str:
    """'an integer from 1 to 1024' or 'a finite number above 0 and at most 1e+09'."""
    if kind is int:
        return f"an integer from {low} to {high}"
    return f"a finite number {'from' if inclusive else 'above'} {low:g} {'to' if inclusive else 'and at most'} {high:g}"


def out_of_range(value, kind: type, low: float, high: float, inclusive: bool) -> bool:
    """True unless ``value`` is a number of ``kind`` (an int also counts as a float) within the range."""
    if isinstance(value, bool) or not isinstance(value, (int, float) if kind is float else int):
        return True
    if isinstance(value, float) and not math.isfinite(value):  # NaN and infinities (an int is finite)
        return True
    return value > high or (value < low if inclusive else value <= low)


def shown(value) -> str:
    """A value for a one-line message: a huge integer by its size (str() refuses past 4300 digits), text cut short."""
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 10**21:
        return f"an integer of about {round(abs(value).bit_length() * 0.30103)} digits"
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def solver_settings(problem, args: argparse.Namespace):
    """The problem's solver settings with the command line's ``--time-limit``,
    ``--workers`` and ``--seed``. Both sides are already in range: the loader
    refuses a file's bad value and the option types a bad option."""
    overrides = {"time_limit_s": args.time_limit, "workers": args.workers, "seed": args.seed}
    return replace(problem.solver, **{k: v for k, v in overrides.items() if v is not None})


def solve_inputs(problem, args: argparse.Namespace):
    """The problem and settings ``fusesat solve`` runs. In network mode ``--time-limit``
    is the budget of the whole run (the problem's ``partition.time_budget_s``) and
    ``--candidate-time-limit`` the limit of each candidate group's solve (default: the
    problem's ``solver.time_limit_s``; never more than the budget)."""
    if problem.mode != Mode.NETWORK:
        return problem, solver_settings(problem, args)
    search = problem.partition or PartitionSearch()
    budget = search.time_budget_s if args.time_limit is None else args.time_limit
    per_group = args.candidate_time_limit or problem.solver.time_limit_s
    settings = replace(solver_settings(problem, args), time_limit_s=min(per_group, budget or per_group))
    return replace(problem, partition=replace(search, time_budget_s=budget)), settings


WALL_BACKSTOP = 4  # the wall-clock limit of a reproducible solve, in multiples of its deterministic limit


def reproducible(settings):
    """Settings whose reported facts (pareto's certified points, compare's
    rows) come out the same on a busy and an idle machine: CP-SAT stops on
    deterministic time, by default the time limit's seconds (on an idle
    machine a deterministic second takes about one wall second), and the wall
    clock only backs it up, at WALL_BACKSTOP times that."""
    if settings.deterministic_time is not None:
        return settings
    return replace(
        settings, deterministic_time=settings.time_limit_s, time_limit_s=WALL_BACKSTOP * settings.time_limit_s
    )


def refuse_invalid_model(status: str | None, problem, args: argparse.Namespace, detail: str | None = None) -> None:
    """CP-SAT's MODEL_INVALID is a bad input (exit 2), never 'no solution within
    the time limit' (4) or 'infeasible' (3); ``detail`` names the model refused
    (network mode: the group)."""
    if status == Status.MODEL_INVALID:
        refused = detail or "CP-SAT refused the model as invalid (MODEL_INVALID)"
        raise SpecError(
            str(problem.source or args.problem),
            "<model>",
            f"{refused}, most likely a size too large to hold exactly",
            "reduce the layer or accelerator sizes",
        )


def _parse_number(text: str, kind: type):
    try:
        return int(text) if kind is int else float(text)
    except ValueError:
        return None


def number_option(kind: type, low: float, high: float, inclusive: bool, example: str):
    """An argparse type: ``kind`` within the range, else a one-line message with the range and an example."""

    def parse(text: str):
        value = _parse_number(text, kind)
        if value is None or out_of_range(value, kind, low, high, inclusive):
            raise argparse.ArgumentTypeError(
                f"must be {range_text(kind, low, high, inclusive)}, got {shown(text)}; e.g. {example}"
            )
        return value

    parse.__name__ = kind.__name__
    return parse


TIME_LIMIT = number_option(*SOLVER_LIMITS["time_limit_s"], "--time-limit 60")
CP_WORKERS = number_option(*SOLVER_LIMITS["workers"], "--workers 2")
SEED = number_option(*SOLVER_LIMITS["seed"], "--seed 0")
POINTS = number_option(int, 1, MAX_POINTS, True, "--points 12")
PROCESSES = number_option(int, 1, MAX_WORKERS, True, "--workers 2")


def check_output_path(path: str | os.PathLike, option: str) -> None:
    """A file the command will write: its folder exists, it is not a folder
    itself, and it can be written (tried, not guessed: root, read-only mounts
    and immutable files all answer truthfully). For a file that does not exist
    yet, a probe file of a unique name is created beside it and removed again:
    never the file itself, which another process (a second ``fusesat batch``
    on the same new database) may open in the meantime."""
    target = Path(path)
    if str(path) == "":
        raise SpecError("''", option, "an empty path", "name a file")
    if target.is_dir():
        example = f"{option.split('/')[0]} {target / 'out'}"
        raise SpecError(str(path), option, "is a folder, not a file", f"name a file in it, e.g. {example}")
    parent = target.parent
    if not parent.is_dir():
        if parent.exists():
            raise SpecError(str(path), option, f"{parent} is a file, not a folder", "pick another path")
        problem, fix = f"folder {parent} does not exist", f"create it first (mkdir -p {parent}) or pick another path"
        raise SpecError(str(path), option, problem, fix)
    if target.exists() and not target.is_file():  # /dev/null, a FIFO: opening one could block
        if not os.access(target, os.W_OK):
            raise SpecError(str(path), option, "cannot be written", "pick a writable location")
        return
    try:
        if target.exists():
            with open(target, "ab"):
                pass
        else:
            handle, probe = tempfile.mkstemp(prefix=f".{target.name[:64]}.", suffix=".probe", dir=parent)
            os.close(handle)
            os.unlink(probe)
    except OSError as err:
        raise SpecError(
            str(path), option, f"cannot be written ({err.strerror or err})", "pick a writable location"
        ) from None


def check_plot_path(path: str, option: str) -> None:
    """A plot file: writable, matplotlib installed, and a suffix matplotlib can write."""
    from mapper.app.plot_modes import pyplot

    check_output_path(path, option)
    pyplot(path)  # matplotlib is installed
    from matplotlib.backend_bases import FigureCanvasBase

    formats = sorted(FigureCanvasBase.get_supported_filetypes())
    if Path(path).suffix.lower().lstrip(".") not in formats:
        problem = "matplotlib cannot tell the image format from the suffix"
        raise SpecError(path, option, problem, f"end it in .png or .svg ({', '.join(formats)})")


def write_output(path: str, text: str, option: str, newline: str | None = None) -> None:
    """Write a checked output file; an error now (disk full) is one line too."""
    try:
        Path(path).write_text(text, newline=newline)
    except OSError as err:
        reason = f"cannot be written ({err.strerror or err})"
        raise SpecError(path, option, reason, "pick a writable location") from None


def check_outputs(args: argparse.Namespace) -> None:
    """Every output path of the command (``outputs`` of its subparser: dest -> option), before it runs."""
    for dest, option in getattr(args, "outputs", {}).items():
        path = getattr(args, dest, None)
        if path is None:
            continue
        if dest == "plot" or (dest == "output" and args.command == "plot"):
            check_plot_path(path, option)
        else:
            check_output_path(path, option)
