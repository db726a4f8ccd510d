"""Running a sweep: the cost model, the executors (in process, local processes, Dask) and resume.

Order of work, for ``run_sweep``:

1. the plan (:func:`.grid.make_plan`) and the executor options are checked: any InputError
   comes before a point is computed;
2. the results folder is opened (:class:`.store.Store`, locked) and its journal read: points
   whose key is already there are done and are not computed again;
3. cost model: per engine, the cheapest and the most expensive missing point (by the work
   measure w = T (N^2 + 64), N the state size) are computed in this process and timed -- real
   points, committed like the others; the time of every other point is interpolated linearly
   in w between them (an estimate, printed as one). With several workers the estimate is the
   sequential one divided by the number of workers (start-up not included);
4. the remaining points go to the executor in chunks of about ``CHUNK_SECONDS`` of estimated
   work (at least 8 chunks per worker, so the last chunk leaves a worker idle for a quarter
   second on average); every finished chunk is committed to the
   journal at once, in the process that runs the sweep (workers never write files, so a
   remote Dask worker needs no shared disk). In process, finished points are committed every
   half second (and when interrupted);
5. the table is written, sorted (:mod:`.store`): the same whatever the order or parallelism.

Interrupts: Ctrl-C / SIGTERM (the CLI turns SIGTERM into the same interrupt) cancels the
queued chunks, waits for those already running (local processes; Dask cancels them), commits
what finished, writes the table of the finished points and re-raises; running the same
command again computes only the missing points. A killed worker process breaks the local pool:
what finished is committed and a new pool takes the rest (up to ``MAX_POOL_RESTARTS`` times). A
killed Dask worker is handled by Dask (its nanny restarts it and the scheduler reruns its
tasks). Worker processes run with one BLAS thread (OPENBLAS/OMP/MKL_NUM_THREADS=1 unless set),
so N workers use N cores.
"""

from __future__ import annotations

import contextlib
import math
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from gradproof.numerics.errors import InputError
from gradproof.reports.sweep.grid import Point, make_plan
from gradproof.reports.sweep.point import compute_chunk, compute_point, init_worker
from gradproof.reports.sweep.progress import Progress, format_seconds
from gradproof.reports.sweep.store import TABLE, Store, read_table

__all__ = ["SweepResult", "run_sweep", "CHUNK_SECONDS", "MAX_POOL_RESTARTS", "work_measure"]

CHUNK_SECONDS = 0.5
MAX_POOL_RESTARTS = 3
_ONE_THREAD = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


@dataclass(frozen=True)
class SweepResult:
    """What a sweep did. ``table`` is the sorted JSON-lines table (``rows()`` reads it)."""

    out: Path
    table: Path
    model: str
    points: int      # points of the grid
    computed: int    # computed by this run
    reused: int      # found in the journal (an earlier, interrupted or overlapping run)
    complete: bool
    executor: str
    grid: tuple      # ((name, (values...)), ...)
    estimated_seconds: float | None

    def rows(self) -> list[dict]:
        return read_table(self.table)

    def to_dict(self) -> dict:
        return {"out": str(self.out), "table": str(self.table), "model": self.model,
                "points": self.points, "computed": self.computed, "reused": self.reused,
                "complete": self.complete, "executor": self.executor,
                "grid": {name: list(values) for name, values in self.grid},
                "estimated_seconds": self.estimated_seconds}


def work_measure(point: Point) -> float:
    """w = T (N^2 + 64): the per-point cost model's size measure (N = state size)."""
    from gradproof.numerics.models import state_size

    o = point.kwargs
    n = state_size(point.model, o["hidden"])
    return float(o["steps"]) * (n * n + 64.0)


@contextlib.contextmanager
def _one_blas_thread_env():
    """Children started inside inherit one BLAS thread (unless the user set the variables)."""
    saved = {k: os.environ.get(k) for k in _ONE_THREAD}
    for k, v in _ONE_THREAD.items():
        os.environ.setdefault(k, v)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


@contextlib.contextmanager
def _children_ignore_sigint():
    """Processes started inside ignore SIGINT from birth (SIG_IGN survives exec, and Python
    and asyncio leave an ignored SIGINT alone). A terminal's Ctrl-C goes to the whole process
    group; only this process should act on it (cancel, commit, stop the workers), without a
    traceback from every worker. While inside, this process ignores SIGINT too (submitting to
    a pool: milliseconds; starting a local Dask cluster: a second or two)."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    old = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, old)


# --------------------------------------------------------------------------- cost model

class _CostModel:
    """Per engine, t(w) = a + b w through the timed points (constant if one was timed)."""

    def __init__(self) -> None:
        self.timed: dict[str, list[tuple[float, float]]] = {}

    def add(self, engine: str, w: float, seconds: float) -> None:
        self.timed.setdefault(engine, []).append((w, seconds))

    def estimate(self, point: Point) -> float:
        pts = sorted(self.timed.get(point.kwargs["engine"], []))
        if not pts:
            return 0.0
        w = work_measure(point)
        (w0, t0), (w1, t1) = pts[0], pts[-1]
        if w1 <= w0:
            return max(t0, t1)
        b = max(0.0, (t1 - t0) / (w1 - w0))
        return max(0.0, t0 + b * (w - w0))


def _probe_points(missing: list[Point]) -> list[Point]:
    """Per engine, the cheapest and the most expensive missing point (deduplicated)."""
    by_engine: dict[str, list[Point]] = {}
    for p in missing:
        by_engine.setdefault(p.kwargs["engine"], []).append(p)
    out = []
    for engine in sorted(by_engine):
        pts = sorted(by_engine[engine], key=work_measure)
        out.append(pts[0])
        if work_measure(pts[-1]) > work_measure(pts[0]):
            out.append(pts[-1])
    return out


# --------------------------------------------------------------------------- executors

def _chunks(points: list[Point], cost: _CostModel, workers: int, chunk_size: int | None) -> list[list[dict]]:
    if not points:
        return []
    if chunk_size is None:
        mean = sum(cost.estimate(p) for p in points) / len(points)
        by_time = max(1, int(CHUNK_SECONDS / mean)) if mean > 0 else 1
        balance = max(1, math.ceil(len(points) / (8 * workers)))
        chunk_size = max(1, min(by_time, balance))
    dicts = [p.to_dict() for p in points]
    return [dicts[i:i + chunk_size] for i in range(0, len(dicts), chunk_size)]


def _run_in_process(points: list[dict], commit, batch: int | None = None, flush_seconds: float = 0.5) -> None:
    """Point by point in this process; finished rows are committed every ``batch`` points if
    given, else every ``flush_seconds`` (one fsync per batch, not per point), and, on an
    interrupt, before it propagates."""
    pending: list = []
    last = time.perf_counter()
    try:
        for p in points:
            pending.append(compute_point(p))
            if (len(pending) >= batch) if batch else (time.perf_counter() - last >= flush_seconds):
                rows, pending = pending, []
                commit(rows)
                last = time.perf_counter()
    finally:
        if pending:
            commit(pending)


def _run_processes(chunks, commit, workers: int, warn) -> None:
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed
    from concurrent.futures.process import BrokenProcessPool

    ctx = multiprocessing.get_context("spawn")
    remaining = list(chunks)
    restarts = 0
    while remaining:
        finished: set[int] = set()
        broken = False
        with _one_blas_thread_env(), ProcessPoolExecutor(max_workers=workers, mp_context=ctx,
                                                         initializer=init_worker) as ex:
            with _children_ignore_sigint():  # the workers are started by the first submits
                futs = {ex.submit(compute_chunk, c): i for i, c in enumerate(remaining)}

            def collect_done():
                for f, i in futs.items():
                    if i not in finished and f.done() and not f.cancelled() and f.exception() is None:
                        commit(f.result())
                        finished.add(i)

            try:
                for f in as_completed(futs):
                    i = futs[f]
                    rows = f.result()  # BrokenProcessPool if a worker died
                    commit(rows)
                    finished.add(i)
            except BrokenProcessPool:
                broken = True
                collect_done()
            except KeyboardInterrupt:
                for f in futs:
                    f.cancel()
                # chunks already handed to a worker cannot be cancelled: let them finish (a few
                # seconds at most) and keep their rows
                for f, i in futs.items():
                    if i not in finished and not f.cancelled():
                        with contextlib.suppress(Exception):
                            commit(f.result())
                            finished.add(i)
                raise
        remaining = [c for i, c in enumerate(remaining) if i not in finished]
        if broken and remaining:
            restarts += 1
            if restarts > MAX_POOL_RESTARTS:
                raise InputError(f"worker processes died {restarts} times (out of memory or killed?); "
                                 "the finished points are kept: run the same command to resume")
            warn(f"sweep: a worker process died; restarting the pool for the {len(remaining)} "
                 "unfinished chunks")


def _dask_client(dask_local: int | None, scheduler: str | None, stack: contextlib.ExitStack):
    import logging

    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise InputError("Dask is not installed: pip install 'gradproof[sweep]'") from None
    if scheduler is not None:
        try:
            return stack.enter_context(Client(scheduler, timeout="10s")), f"Dask scheduler {scheduler}"
        except (OSError, TimeoutError, ValueError) as exc:
            raise InputError(f"cannot reach the Dask scheduler at {scheduler!r}: "
                             f"{' '.join(str(exc).split())}") from None
    import dask

    # Dask sets MALLOC_TRIM_THRESHOLD_=65536 in its workers' environment by default; that fixes
    # glibc's mmap threshold, so every Jacobian array is mmap-ed and unmapped again, and the
    # points ran about 1.5x slower than in process (measured, 1.4-1.7x). The workers keep glibc's default.
    with dask.config.set({"distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None}), \
            _children_ignore_sigint():
        cluster = stack.enter_context(LocalCluster(
            n_workers=dask_local, threads_per_worker=1, processes=True, host="127.0.0.1",
            dashboard_address="127.0.0.1:0", silence_logs=logging.ERROR, env=dict(_ONE_THREAD)))
    return stack.enter_context(Client(cluster)), f"local Dask cluster, {dask_local} worker processes"


def _run_dask(chunks, commit, client) -> None:
    import hashlib

    from distributed import as_completed

    futs = []
    for c in chunks:
        tag = hashlib.sha256("".join(p["key"] for p in c).encode()).hexdigest()[:16]
        futs.append(client.submit(compute_chunk, c, key=f"gradproof-sweep-{tag}", pure=False))
    try:
        for f in as_completed(futs):
            try:
                rows = f.result()
            except ModuleNotFoundError as exc:
                raise InputError(f"a Dask worker cannot import {exc.name!r}: install gradproof "
                                 "(the same version) where the workers run") from None
            commit(rows)
    except KeyboardInterrupt:
        client.cancel(futs)
        raise


# --------------------------------------------------------------------------- the sweep

def _check_executor(workers, dask_local, scheduler) -> int:
    def positive(v, what):
        if isinstance(v, bool) or not isinstance(v, int) or v < 1:
            raise InputError(f"{what} must be a positive integer, got {v!r}")
        return v

    workers = positive(1 if workers is None else workers, "--workers")
    chosen = [n for n, on in (("--workers", workers > 1), ("--dask-local", dask_local is not None),
                              ("--scheduler", scheduler is not None)) if on]
    if len(chosen) > 1:
        raise InputError(f"choose one of {' and '.join(chosen)}")
    if dask_local is not None:
        positive(dask_local, "--dask-local")
    if scheduler is not None and (not isinstance(scheduler, str) or not scheduler.strip()):
        raise InputError("--scheduler needs an address such as tcp://127.0.0.1:8786")
    if dask_local is not None or scheduler is not None:
        try:
            import distributed  # noqa: F401
        except ImportError:
            raise InputError("Dask is not installed: pip install 'gradproof[sweep]'") from None
    return workers


def run_sweep(model: str, grid=None, *, out, seeds: int | None = None, horizon: bool = False,
              workers: int = 1, dask_local: int | None = None, scheduler: str | None = None,
              force: bool = False, progress: str = "auto", quiet: bool = False,
              chunk_size: int | None = None, stream=None, **fixed) -> SweepResult:
    """Sweep ``product`` (and ``horizon`` with ``horizon=True``) of ``model`` over ``grid``.

    ``grid``: NAME -> SPEC string or sequence of values (:mod:`.grid`); ``fixed``: options held
    fixed (hidden, steps, seed, activation, spectral_norm, forget_bias, engine); ``out``: the
    results folder (:mod:`.store`). Executor: in this process (``workers=1``), ``workers=N``
    local processes, ``dask_local=N`` a local Dask cluster on 127.0.0.1, or ``scheduler=ADDRESS``
    an existing Dask scheduler. ``progress``: "auto", "bar", "lines" or "off" (``quiet``: off,
    and no cost line). Returns a frozen :class:`SweepResult`.
    """
    stream = sys.stderr if stream is None else stream
    say = (lambda msg: None) if quiet else (lambda msg: print(msg, file=stream, flush=True))
    if out is None:
        raise InputError("a sweep needs --out RESULTS (a folder)")
    if progress not in ("auto", "bar", "lines", "off"):
        raise InputError(f"progress must be auto, bar, lines or off, got {progress!r}")
    if chunk_size is not None and (isinstance(chunk_size, bool) or not isinstance(chunk_size, int)
                                   or chunk_size < 1):
        raise InputError(f"chunk_size must be a positive integer, got {chunk_size!r}")
    plan = make_plan(model, grid, seeds=seeds, fixed=fixed, horizon=horizon, force=force)
    workers = _check_executor(workers, dask_local, scheduler)
    keys = {p.key for p in plan.points}
    total = len(plan.points)
    parallel = dask_local or workers
    with Store(out) as store, contextlib.ExitStack() as stack:
        reused = sum(1 for k in keys if k in store.rows)
        missing = [p for p in plan.points if p.key not in store.rows]
        store.write_plan(plan, complete=not missing, done=reused)
        computed = 0
        bar = None

        def commit(rows):
            nonlocal computed
            for r in rows:
                if r.get("key") not in keys:
                    raise InputError(f"a worker returned a row for an unknown point {r.get('key')!r}")
                if r.get("gradproof_version") != plan.version:
                    raise InputError(f"a worker runs gradproof {r.get('gradproof_version')}, this process "
                                     f"{plan.version}: install the same version everywhere")
            fresh = [r for r in rows if r["key"] not in store.rows]
            store.commit(fresh)
            computed += len(fresh)
            if bar is not None:
                bar.update(len(fresh))

        dims = " x ".join(f"{d.name} ({len(d.values)})" for d in plan.dimensions)
        say(f"sweep: {model}, {total} points over {dims}; {reused} already in {out}, "
            f"{len(missing)} to compute")
        estimate = None
        executor = "in process"
        client = None
        if missing and (dask_local is not None or scheduler is not None):
            client, executor = _dask_client(dask_local, scheduler, stack)  # fails before any work
            parallel = dask_local or max(1, len(client.scheduler_info().get("workers", {})))
        try:
            cost = _CostModel()
            probes = _probe_points(missing) if missing else []
            if probes:
                # warm up (imports, first calls) on a tiny point, so the timings are of the work
                for engine in sorted({p.kwargs["engine"] for p in probes}):
                    compute_point({"key": "", "model": model, "horizon": horizon,
                                   "options": {**probes[0].kwargs, "engine": engine, "hidden": 1, "steps": 2}})
                for p in probes:
                    t0 = time.perf_counter()
                    row = compute_point(p.to_dict())
                    cost.add(p.kwargs["engine"], work_measure(p), time.perf_counter() - t0)
                    commit([row])
                rest = [p for p in missing if p.key not in store.rows]
                seq = sum(cost.estimate(p) for p in rest)
                estimate = seq + sum(t for v in cost.timed.values() for _, t in v)
                timed = ", ".join(f"{t:.3g} s" for v in cost.timed.values() for _, t in v)
                par = (f", about {format_seconds(seq / parallel)} with {parallel} workers (worker "
                       "start-up not included)" if parallel > 1 and rest else "")
                say(f"sweep: cost model: timed {len(probes)} point(s) in this process ({timed}); "
                    + (f"estimated {format_seconds(seq)} for the other {len(rest)} in sequence{par} "
                       "(an estimate, linear in T N^2 per engine)" if rest else "no other point left"))
            else:
                rest = []
            bar = Progress(total, len(store.rows.keys() & keys), mode="off" if quiet else progress,
                           stream=stream)
            if not rest:
                executor = "nothing left to compute" if not probes else "in process (cost-model points)"
            else:
                if client is not None:
                    _run_dask(_chunks(rest, cost, parallel, chunk_size), commit, client)
                elif workers > 1:
                    executor = f"{workers} local worker processes"
                    _run_processes(_chunks(rest, cost, workers, chunk_size), commit, workers, say)
                else:
                    _run_in_process([p.to_dict() for p in rest], commit, batch=chunk_size)
        except BaseException as exc:  # interrupted or failed: keep the table of what finished
            if bar is not None:
                bar.close()
            n = store.write_table(plan)
            store.write_plan(plan, complete=False, done=n)
            if isinstance(exc, KeyboardInterrupt):
                print(f"sweep: interrupted; {n} of {total} points are committed in {out}; run the "
                      "same command to resume", file=stream, flush=True)
            raise
        finally:
            if bar is not None:
                bar.close()
        n = store.write_table(plan)
        store.write_plan(plan, complete=n == total, done=n)
    return SweepResult(out=Path(out), table=Path(out) / TABLE, model=model, points=total,
                       computed=computed, reused=reused, complete=n == total, executor=executor,
                       grid=tuple((d.name, d.values) for d in plan.dimensions),
                       estimated_seconds=estimate)
