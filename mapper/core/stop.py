"""The process-wide request to stop solving (Ctrl-C or SIGTERM during a solve).

The command line's signal handler (``mapper.app.signals``) calls ``request``;
every CP-SAT run (``formulations.solution.run_solver``) stops its search
within a fraction of a second of it and starts no new one, and every loop of
many solves (network candidates, Pareto points, compare) reads ``requested``
and finishes with the answers it has. Results then carry the reason
(``solver.interrupted_by``) and an honest status: FEASIBLE or UNKNOWN unless
the answer is proven all the same.
"""

from __future__ import annotations

import threading

_requested = threading.Event()
_reason: list[str] = []  # the first request's reason ("SIGINT", "SIGTERM")


def request(reason: str) -> None:
    """Ask every solve in this process to stop (safe from a signal handler and from any thread)."""
    if not _reason:
        _reason.append(reason)
    _requested.set()


def requested() -> bool:
    return _requested.is_set()


def reason() -> str | None:
    """Why the stop was requested, or None when it was not."""
    return _reason[0] if _requested.is_set() and _reason else None


def clear() -> None:
    """Forget a request (the command has finished; tests run several commands in one process)."""
    _requested.clear()
    _reason.clear()
