"""Stopping a build cleanly on SIGINT, SIGTERM and SIGHUP, and noticing a killed worker.

``gradproof report`` builds in a temporary folder with worker processes. Python turns SIGINT into
``KeyboardInterrupt`` but, by default, dies on SIGTERM at once (no ``finally``, workers orphaned,
temporary folder left behind). :func:`termination_signals` makes SIGTERM and SIGHUP raise
:class:`Terminated` in the main thread instead, so the build's ``except`` clauses stop the workers
and remove the temporary folder; :func:`deferred_signals` blocks the three signals around the
steps that must not be cut in half (the two renames of the swap, the clean-up), after which a
signal that arrived meanwhile takes effect.

Workers (:func:`worker_init`) ignore SIGINT (the parent, which gets it too from a terminal's
Ctrl-C, stops them) and die quietly on SIGTERM (default action). :func:`stop_workers` terminates
them; :func:`dead_worker` names a worker that died of a signal (``BrokenProcessPool``).
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading

__all__ = ["Terminated", "WorkerDied", "termination_signals", "deferred_signals", "worker_init",
           "stop_workers", "dead_worker", "signal_name"]

_SIGNALS = tuple(s for s in (signal.SIGINT, signal.SIGTERM, getattr(signal, "SIGHUP", None)) if s)


class Terminated(BaseException):
    """A termination signal (SIGTERM, SIGHUP) arrived; like KeyboardInterrupt for SIGINT."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum

    def __str__(self) -> str:
        return f"terminated by {signal_name(self.signum)}"


class WorkerDied(RuntimeError):
    """A worker process of the build died (killed by a signal or exited) before finishing."""


def signal_name(signum: int) -> str:
    try:
        return signal.Signals(signum).name
    except ValueError:
        return f"signal {signum}"


def _raise_terminated(signum, frame):
    raise Terminated(signum)


@contextlib.contextmanager
def termination_signals():
    """Within the block, SIGTERM and SIGHUP raise :class:`Terminated` (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    old = {}
    for s in (signal.SIGTERM, getattr(signal, "SIGHUP", None)):
        if s is not None:
            old[s] = signal.signal(s, _raise_terminated)
    try:
        yield
    finally:
        for s, handler in old.items():
            signal.signal(s, handler)


@contextlib.contextmanager
def deferred_signals():
    """Hold back SIGINT/SIGTERM/SIGHUP within the block; one that arrived is re-raised at its end.

    The handlers are swapped for one that only remembers the signal (this works whichever
    thread the kernel delivers it to); at the end the previous handlers are restored and the
    first remembered signal is raised again, so it has its usual effect then.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    pending: list[int] = []

    def remember(signum, frame):
        pending.append(signum)

    old = {s: signal.signal(s, remember) for s in _SIGNALS}
    try:
        yield
    finally:
        for s, handler in old.items():
            signal.signal(s, handler)
        if pending:
            signal.raise_signal(pending[0])


def worker_init() -> None:
    """Initializer of a build worker: SIGINT ignored, SIGTERM/SIGHUP back to the default (die)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    for s in (signal.SIGTERM, getattr(signal, "SIGHUP", None)):
        if s is not None:
            signal.signal(s, signal.SIG_DFL)


def _processes(pool) -> list:
    return list((getattr(pool, "_processes", None) or {}).values())


def stop_workers(pool, processes=()) -> None:
    """Terminate the pool's workers now (SIGTERM, then SIGKILL after 2 s) and wait for them."""
    procs = {id(p): p for p in list(processes) + _processes(pool)}.values()
    for p in procs:
        with contextlib.suppress(Exception):
            if p.is_alive():
                p.terminate()
    for p in procs:
        with contextlib.suppress(Exception):
            p.join(2.0)
            if p.is_alive():
                os.kill(p.pid, signal.SIGKILL)
                p.join(2.0)
    with contextlib.suppress(Exception):
        pool.shutdown(wait=False, cancel_futures=True)


def dead_worker(processes) -> str:
    """How the dead worker(s) ended, e.g. ``worker 1234 killed by SIGKILL``."""
    ended = {}
    for p in processes:
        with contextlib.suppress(Exception):
            p.join(0.5)
        code = getattr(p, "exitcode", None)
        if code is not None and code != 0:
            ended[p.pid] = code
    # the pool stops the other workers with SIGTERM once one died: name the first cause
    causes = {pid: c for pid, c in ended.items() if c != -signal.SIGTERM} or ended
    parts = [f"worker {pid} " + (f"killed by {signal_name(-c)}" if c < 0 else f"exited with status {c}")
             for pid, c in sorted(causes.items())]
    return "; ".join(parts) or "a worker process ended abruptly"
