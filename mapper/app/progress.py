"""Live progress of ``solve``, ``compare`` and ``pareto`` on stderr: one bar per
reported task (``mapper.core.progress``), with the last step's detail and the
time left; gone when the command ends, so stdout and ``--json`` stay as they
are. Drawn only on a terminal; ``fusesat --quiet`` turns it off."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from mapper.app.terminal import errors
from mapper.core import progress


@contextmanager
def live_progress(enabled: bool = True) -> Iterator[None]:
    if not enabled or not errors.is_terminal:
        yield
        return
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    columns += (TextColumn("{task.fields[detail]}"),)
    with Progress(*columns, console=errors, transient=True) as bars:
        tasks: dict[str, int] = {}

        def show(step: progress.Step) -> None:
            if step.task not in tasks:
                tasks[step.task] = bars.add_task(step.task, total=step.total, detail="")
            bars.update(tasks[step.task], completed=step.done, total=step.total, detail=step.detail)

        with progress.listening(show):
            yield
