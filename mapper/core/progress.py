"""Progress of long runs: a loop of many solves reports each step here.

The network search reports its candidate groups, the Pareto sweeps their
points. Whoever listens shows it: the command line draws a live bar on
stderr (``mapper.app.progress``), a script may pass any callable to
``listening``; with no listener a report costs nothing. Reports never reach
stdout or a result.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass


@dataclass(frozen=True)
class Step:
    """``done`` of ``total`` steps of ``task`` (total None: not known in advance); ``detail`` says what the
    last step found."""

    task: str
    done: int
    total: int | None
    detail: str = ""


Listener = Callable[[Step], None]
_listeners: list[Listener] = []


def report(task: str, done: int, total: int | None, detail: str = "") -> None:
    for listener in list(_listeners):
        listener(Step(task, done, total, detail))


@contextmanager
def listening(listener: Listener) -> Iterator[None]:
    """Send every report to ``listener`` while the block runs."""
    _listeners.append(listener)
    try:
        yield
    finally:
        _listeners.remove(listener)
