"""Run a benchmark step in a child process: an OR-Tools 9.15 abort in a solve
(google/or-tools#5288, intermittent: ``absl::btree_map::at`` in presolve) kills the
child only; the step is run again, and reported as aborted if every attempt was."""

from __future__ import annotations

import multiprocessing


def _child(queue, function, args) -> None:
    queue.put(function(*args))


def in_child(function, args: tuple, attempts: int = 2) -> tuple[object | None, int, int | None]:
    """(``function(*args)`` or None, attempts made, the last child's exit code when every attempt aborted)."""
    context = multiprocessing.get_context("spawn")
    child = None
    for attempt in range(attempts):
        queue = context.Queue()
        child = context.Process(target=_child, args=(queue, function, args))
        child.start()
        while child.is_alive() and queue.empty():
            child.join(timeout=1)
        if not queue.empty():
            value = queue.get()
            child.join()
            return value, attempt + 1, None
    return None, attempts, child.exitcode
