"""Ctrl-C and SIGTERM during ``fusesat solve``, ``compare`` and ``pareto``.

The first signal asks every solve to stop (``mapper.core.stop``): the CP-SAT
search running stops as if its time limit had come, no new one starts, and
the command prints and writes the best answer found so far with its status
and gap. A second signal ends the process at once, with exit code 128 +
the signal's number (130 for a second Ctrl-C), writing nothing more.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress

from mapper.core import stop

SIGNALS = (signal.SIGINT, signal.SIGTERM)


def _say(text: str) -> None:
    """One line on stderr without Python's buffered streams, which the
    interrupted code may be in the middle of writing."""
    with suppress(OSError, ValueError):
        os.write(sys.stderr.fileno(), (text + "\n").encode())


def _handle(signum: int, frame) -> None:
    name = signal.Signals(signum).name
    if stop.requested():
        _say(f"{name} again: exiting now, without a result")
        os._exit(128 + signum)
    stop.request(name)
    _say(f"{name}: stopping the solver; the best answer so far follows (press Ctrl-C again to quit at once)")


@contextmanager
def stop_on_signals() -> Iterator[None]:
    """Handle SIGINT and SIGTERM as above while the block runs (in the main
    thread only, where Python can install handlers); the previous handlers
    and a clear stop request afterwards."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {number: signal.signal(number, _handle) for number in SIGNALS}
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
        stop.clear()
