"""Where a batch's jobs run: a local process pool, or a Dask cluster.

Both take a job at a time (``submit``), hand back the finished ones
(``finished``, waiting at most a timeout) and stop at once (``stop``), so
the batch holds only as many claims as it has jobs running.

A local worker never outlives its batch. On Linux the worker asks the
kernel for SIGKILL when its parent dies (``prctl(PR_SET_PDEATHSIG)``): this
holds even while the worker is deep in CP-SAT's C++ code, and it covers a
``kill -9`` of the batch, which runs no cleanup of its own. Everywhere (and
in case the kernel call is refused) a watchdog thread in each worker exits
the worker within a second once its parent is gone (``os.getppid()``
changes). Workers ignore SIGINT and SIGTERM: Ctrl-C reaches the whole
process group, and so does the SIGTERM of a job scheduler or of systemd;
the batch decides (it commits what is done, then kills its workers).
Workers are forked on Linux (as before) and spawned elsewhere, so the
batch process is always their parent.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

from mapper.core.errors import SpecError

CONNECT_TIMEOUT_S = 5
PR_SET_PDEATHSIG = 1  # linux/prctl.h
WATCHDOG_S = 1.0


def _die_with_parent(parent: int) -> None:
    """The initializer of every local worker (see the module docstring)."""
    for signum in (signal.SIGINT, signal.SIGTERM):  # a forked worker inherits the batch's handlers
        signal.signal(signum, signal.SIG_IGN)
    if sys.platform.startswith("linux"):
        import ctypes

        with contextlib.suppress(OSError, AttributeError):  # no libc prctl: the watchdog below still holds
            ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:  # the batch died before the kernel call
        os._exit(1)

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(WATCHDOG_S)
        os._exit(1)

    threading.Thread(target=watch, name="fusesat-watchdog", daemon=True).start()


class LocalRunner:
    """Jobs in ``workers`` local processes, started at the first job."""

    def __init__(self, run: Callable, workers: int):
        self.run, self.capacity, self.pool, self.running = run, workers, None, {}

    def submit(self, job) -> None:
        if self.pool is None:
            method = "fork" if sys.platform.startswith("linux") else "spawn"
            self.pool = ProcessPoolExecutor(
                max_workers=self.capacity,
                mp_context=multiprocessing.get_context(method),
                initializer=_die_with_parent,
                initargs=(os.getpid(),),
            )
        self.running[self.pool.submit(self.run, job)] = job

    def finished(self, timeout: float, block: bool = True) -> Iterator[dict]:
        """The rows of the jobs done within ``timeout`` seconds (none waited for unless ``block``)."""
        if not self.running:
            return
        done, _ = wait(list(self.running), timeout=timeout if block else 0, return_when=FIRST_COMPLETED)
        for future in done:
            del self.running[future]
        for future in done:
            yield future.result()  # a dead worker: BrokenProcessPool, after the rows before it

    def stop(self) -> None:
        """Kill the workers now if jobs still run (they are lost, their claims dropped)."""
        if self.pool is None:
            return
        if self.running:  # else the idle workers exit by themselves when shut down
            processes = list((getattr(self.pool, "_processes", None) or {}).values())  # no public kill before 3.14
            for process in processes:
                process.kill()
            for process in processes:
                process.join(5)
        self.pool.shutdown(wait=True, cancel_futures=True)
        self.pool, self.running = None, {}


class DaskRunner:
    """Jobs on a Dask distributed cluster (the workers need fusesat installed);
    the results come back to this process, which stores them."""

    def __init__(self, run: Callable, client):
        self.run, self.client, self.running = run, client, set()

    @property
    def capacity(self) -> int:
        """One job per worker thread of the cluster, and one queued behind each."""
        return 2 * max(1, sum(self.client.nthreads().values()))

    def submit(self, job) -> None:
        self.running.add(self.client.submit(self.run, job, pure=False))

    def finished(self, timeout: float, block: bool = True) -> Iterator[dict]:
        done = [future for future in self.running if future.done()]
        if not done and block and self.running:
            from distributed import wait as dask_wait

            try:
                done = list(dask_wait(list(self.running), timeout=timeout, return_when="FIRST_COMPLETED").done)
            except TimeoutError:
                done = []
        self.running.difference_update(done)
        for future in done:
            yield future.result()

    def stop(self) -> None:
        if self.running:
            self.client.cancel(list(self.running))
        self.running = set()


def connect_scheduler(scheduler: str):
    """A Dask ``Client`` on the scheduler at ``scheduler`` (the ``distributed``
    extra), or a one-line ``SpecError`` naming the address within a few seconds:
    a TCP connect first, then the Dask handshake, each with a short timeout."""
    try:
        from distributed import Client
    except ImportError:
        raise SpecError(
            scheduler, "--scheduler", "dask.distributed is not installed", "pip install -e '.[distributed]'"
        ) from None
    fix = "start it (dask scheduler) or pass its address, e.g. tcp://HOST:8786"
    address = scheduler.removeprefix("tcp://")
    host, _, port = address.rpartition(":")
    if "://" not in address and host and port.isdigit():
        try:
            socket.create_connection((host.strip("[]"), int(port)), timeout=CONNECT_TIMEOUT_S).close()
        except OSError as err:
            reason = "timed out" if isinstance(err, TimeoutError) else err.strerror or str(err)
            raise SpecError(scheduler, "--scheduler", f"no Dask scheduler answers ({reason})", fix) from None
    try:
        return Client(scheduler, timeout=CONNECT_TIMEOUT_S * 2)
    except ValueError as err:  # an unknown scheme, no port
        raise SpecError(scheduler, "--scheduler", f"not a Dask address ({err})", fix) from None
    except Exception as err:  # a timeout, or a server that speaks another protocol
        detail = f"{type(err).__name__}: {str(err).splitlines()[0][:120]}" if str(err) else type(err).__name__
        raise SpecError(scheduler, "--scheduler", f"no Dask scheduler answers there ({detail})", fix) from None
