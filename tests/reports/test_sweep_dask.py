"""Sweeps on Dask: a real scheduler and worker processes on 127.0.0.1 (loopback only) give the
same table as the sequential sweep, ``--dask-local`` starts its own cluster, and a worker
killed in the middle of a sweep loses nothing (its nanny restarts it, the scheduler reruns it)."""

from __future__ import annotations

import json
import logging
import os
import signal
import threading
import time

import pytest

import gradproof
from gradproof.reports.sweep.store import JOURNAL

GRID = {"spectral_norm": "0.6:1.4:6", "hidden": "8,16"}
KW = dict(seeds=3, steps=300, quiet=True)  # 36 points, tens of ms each


@pytest.fixture(scope="module")
def cluster():
    import dask
    from distributed import Client, LocalCluster

    # as gradproof's own --dask-local: glibc's default malloc trimming in the workers (speed only)
    with dask.config.set({"distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None}), LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address="127.0.0.1:0", silence_logs=logging.ERROR) as c, Client(c) as client:
        yield c, client


@pytest.fixture(scope="module")
def sequential(tmp_path_factory) -> bytes:
    res = gradproof.sweep("rnn", GRID, out=tmp_path_factory.mktemp("seq") / "r", **KW)
    return res.table.read_bytes()


def _journal_keys(out):
    return [json.loads(x)["key"] for x in (out / JOURNAL).read_text(encoding="utf-8").splitlines()]


def test_dask_scheduler_equals_sequential(cluster, sequential, tmp_path):
    c, _ = cluster
    assert c.scheduler_address.startswith("tcp://127.0.0.1:")
    res = gradproof.sweep("rnn", GRID, out=tmp_path / "r", scheduler=c.scheduler_address, chunk_size=3, **KW)
    assert res.complete and res.executor == f"Dask scheduler {c.scheduler_address}"
    assert res.computed == 36 and res.table.read_bytes() == sequential


@pytest.mark.slow  # starts a second cluster (~3-10 s); the scheduler test covers Dask equality
def test_dask_local_cluster_equals_sequential(sequential, tmp_path):
    res = gradproof.sweep("rnn", GRID, out=tmp_path / "r", dask_local=2, **KW)
    assert res.complete and res.executor == "local Dask cluster, 2 worker processes"
    assert res.table.read_bytes() == sequential


def test_dask_workers_run_with_glibc_default_malloc_trimming(cluster):
    _, client = cluster
    assert set(client.run(os.environ.get, "MALLOC_TRIM_THRESHOLD_").values()) == {None}
    assert set(client.run(os.environ.get, "OPENBLAS_NUM_THREADS").values()) == {"1"}


def test_a_killed_dask_worker_loses_nothing(cluster, sequential, tmp_path):
    c, client = cluster
    out = tmp_path / "r"
    pids = sorted(client.run(os.getpid).values())
    assert len(pids) == 2
    state = {}

    def killer():
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            p = out / JOURNAL
            n = len(p.read_text(encoding="utf-8").splitlines()) if p.exists() else 0
            if n >= 3:  # the probe point and at least one task are in: workers are busy
                state["at_kill"] = n
                os.kill(pids[0], signal.SIGKILL)
                return
            time.sleep(0.002)

    t = threading.Thread(target=killer)
    t.start()
    try:
        res = gradproof.sweep("rnn", GRID, out=out, scheduler=c.scheduler_address, chunk_size=1, **KW)
    finally:
        t.join()
    assert 0 < state["at_kill"] < 36
    keys = _journal_keys(out)
    assert res.complete and len(keys) == len(set(keys)) == 36
    assert res.table.read_bytes() == sequential
    # the killed worker's process is gone; the nanny started a new one
    client.wait_for_workers(2, timeout=60)
    assert pids[0] not in client.run(os.getpid).values()


@pytest.mark.slow
def test_dask_local_workers_environment():
    import contextlib

    from gradproof.reports.sweep.run import _dask_client

    with contextlib.ExitStack() as stack:
        client, what = _dask_client(2, None, stack)
        assert what == "local Dask cluster, 2 worker processes"
        assert set(client.run(os.environ.get, "MALLOC_TRIM_THRESHOLD_").values()) == {None}
        assert set(client.run(os.environ.get, "OPENBLAS_NUM_THREADS").values()) == {"1"}
        assert all(a.startswith("tcp://127.0.0.1:") for a in client.scheduler_info()["workers"])
