"""Running sweeps: rows against direct product/horizon calls, the table format (pandas), resume
after SIGINT/SIGTERM at a random point, stale rows never reused, a crash's partial journal line,
1 vs 2 local worker processes, and a killed worker process."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import gradproof
from gradproof.numerics.errors import InputError
from gradproof.reports.cli import main
from gradproof.reports.sweep.point import as_dict, flatten
from gradproof.reports.sweep.store import JOURNAL, TABLE

SMALL = {"grid": {"spectral_norm": "0.5:1.5:3"}, "seeds": 2, "hidden": 3, "steps": 30}
# heavier points (tens of ms each) for the interrupt and kill tests: ~40 points
ARGV_LONG = ["sweep", "rnn", "--grid", "spectral_norm=0.6:1.4:8", "--seeds", "5", "--hidden", "16",
             "--steps", "300", "--chunk-size", "1", "--progress", "lines"]
LONG_POINTS = 40


def _lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines() if path.exists() else []


def _cli(argv, **kw):
    return subprocess.Popen([sys.executable, "-m", "gradproof.reports.cli", *argv],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)


@pytest.fixture(scope="module")
def long_reference(tmp_path_factory) -> bytes:
    """The uninterrupted, in-process table of ARGV_LONG."""
    out = tmp_path_factory.mktemp("ref") / "r"
    assert main([*ARGV_LONG, "--out", str(out), "-q"]) == 0
    return (out / TABLE).read_bytes()


def test_rows_are_the_product_and_horizon_reports(tmp_path):
    res = gradproof.sweep("lstm", {"forget_bias": "-1,2"}, out=tmp_path / "r", seeds=2, hidden=2,
                          steps=40, horizon=True, quiet=True)
    assert res.complete and res.points == 4 and res.computed == 4 and res.reused == 0
    rows = res.rows()
    assert [(r["forget_bias"], r["seed"]) for r in rows] == [(-1.0, 0), (-1.0, 1), (2.0, 0), (2.0, 1)]
    for r in rows:
        # oracle: a direct API call per point, flattened here by hand (not with the sweep's code)
        p = as_dict(gradproof.product("lstm", hidden=2, steps=40, seed=r["seed"], forget_bias=r["forget_bias"]))
        h = as_dict(gradproof.horizon("lstm", hidden=2, steps=40, seed=r["seed"], forget_bias=r["forget_bias"]))
        assert r["log10_norm"] == p["log10_norm"] and r["lyapunov"] == p["lyapunov"]
        for fmt, v in p["formats"].items():
            for field, x in v.items():
                assert r[f"{fmt}_{field}"] == x
        for fmt, v in h["formats"].items():
            assert r[f"horizon_{fmt}_estimated_first_zero_step"] == v["estimated_first_zero_step"]
        assert r["horizon_decay_rate_log10_per_step"] == h["decay_rate_log10_per_step"]
        assert r["gradproof_version"] == gradproof.__version__ and r["engine"] == "fast"
        assert r["precision_bits"] == 53 and r["model"] == "lstm"


def test_flatten_accepts_dicts_and_to_dict_objects():
    class Frozen:
        def to_dict(self):
            return {"a": 1, "formats": {"float16": {"verdict": "underflow"}}, "b": {"c": float("inf")}}

    assert flatten(as_dict(Frozen())) == {"a": 1, "float16_verdict": "underflow", "b_c": None}
    assert as_dict({"x": 1}) == {"x": 1}


def test_table_reads_with_pandas_one_row_per_point(tmp_path):
    import pandas

    res = gradproof.sweep("rnn", out=tmp_path / "r", quiet=True, **SMALL)
    df = pandas.read_json(res.table, lines=True)
    assert len(df) == 6 and df["key"].is_unique
    assert {"log10_norm", "lyapunov", "float16_first_zero_step", "float32_verdict", "spectral_norm",
            "seed", "engine", "precision_bits", "gradproof_version"} <= set(df.columns)
    assert sorted(df["spectral_norm"].unique()) == [0.5, 1.0, 1.5]


def test_rerun_reuses_and_a_changed_option_never_reuses(tmp_path):
    out = tmp_path / "r"
    first = gradproof.sweep("rnn", out=out, quiet=True, **SMALL)
    table = first.table.read_bytes()
    again = gradproof.sweep("rnn", out=out, quiet=True, **SMALL)
    assert (again.computed, again.reused) == (0, 6) and again.table.read_bytes() == table
    # one option changed: every point is new; the old rows stay in the journal, not in the table
    changed = gradproof.sweep("rnn", out=out, quiet=True, **{**SMALL, "steps": 31})
    assert (changed.computed, changed.reused) == (6, 0)
    assert {r["steps"] for r in changed.rows()} == {31} and len(changed.rows()) == 6
    assert len(_lines(out / JOURNAL)) == 12
    # a grid that overlaps the first one reuses exactly the overlap
    wider = gradproof.sweep("rnn", {"spectral_norm": "0.5,1.0,1.5,2.0"}, out=out, quiet=True, seeds=2,
                            hidden=3, steps=30)
    assert (wider.computed, wider.reused) == (2, 6)


def test_a_partial_last_line_is_ignored_and_cut(tmp_path):
    out = tmp_path / "r"
    gradproof.sweep("rnn", out=out, quiet=True, **SMALL)
    lines = _lines(out / JOURNAL)
    # a crash in the middle of the last write: the last row is cut short, without its newline
    (out / JOURNAL).write_text("\n".join(lines[:-1]) + "\n" + lines[-1][:40], encoding="utf-8")
    res = gradproof.sweep("rnn", out=out, quiet=True, **SMALL)
    assert (res.computed, res.reused) == (1, 5)
    assert all(json.loads(x)["key"] for x in _lines(out / JOURNAL)) and len(_lines(out / JOURNAL)) == 6


def test_a_corrupt_journal_line_is_one_input_error(tmp_path):
    out = tmp_path / "r"
    gradproof.sweep("rnn", out=out, quiet=True, **SMALL)
    text = (out / JOURNAL).read_text(encoding="utf-8").splitlines()
    text[2] = "not json"
    (out / JOURNAL).write_text("\n".join(text) + "\n", encoding="utf-8")
    with pytest.raises(InputError, match="line 3 is not a sweep row"):
        gradproof.sweep("rnn", out=out, quiet=True, **SMALL)


def test_an_unrelated_folder_is_refused(tmp_path):
    (tmp_path / "notes.txt").write_text("mine", encoding="utf-8")
    with pytest.raises(InputError, match="other files"):
        gradproof.sweep("rnn", out=tmp_path, quiet=True, **SMALL)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]


def test_two_sweeps_never_share_a_folder(tmp_path):
    from gradproof.reports.sweep.store import Store

    with Store(tmp_path / "r"):
        with pytest.raises(InputError, match="another sweep"):
            gradproof.sweep("rnn", out=tmp_path / "r", quiet=True, **SMALL)


def test_one_and_two_workers_give_identical_tables(tmp_path):
    kw = dict(grid={"spectral_norm": "0.5:1.5:5", "hidden": "2,4"}, seeds=2, steps=40, quiet=True)
    seq = gradproof.sweep("gru", out=tmp_path / "seq", **kw)
    one = gradproof.sweep("gru", out=tmp_path / "one", workers=1, chunk_size=3, **kw)
    two = gradproof.sweep("gru", out=tmp_path / "two", workers=2, chunk_size=3, **kw)
    assert two.executor == "2 local worker processes" and two.complete
    assert seq.table.read_bytes() == one.table.read_bytes() == two.table.read_bytes()
    # the grid given in another order (execution order differs) gives the same bytes too
    rev = gradproof.sweep("gru", {"seed": "1,0", "hidden": "4,2", "spectral_norm": "1.5,1.25,1,0.75,0.5"},
                          out=tmp_path / "rev", steps=40, quiet=True, workers=2, chunk_size=2)
    assert rev.table.read_bytes() == seq.table.read_bytes()


def test_progress_lines_and_cost_model_on_a_pipe(tmp_path, capsys):
    assert main(["sweep", "rnn", "--grid", "spectral_norm=0.5:1.5:10", "--hidden", "2", "--steps", "20",
                 "--out", str(tmp_path / "r")]) == 0
    err = capsys.readouterr().err.splitlines()
    assert err[0].startswith("sweep: rnn, 10 points over spectral_norm (10); 0 already in")
    assert err[1].startswith("sweep: cost model: timed 1 point(s) in this process") and "estimated" in err[1]
    progress = [x for x in err if x.startswith("sweep: ") and "points/s" in x]
    assert progress and progress[-1].startswith("sweep: 10/10 points (100%)")
    assert main(["sweep", "rnn", "--grid", "spectral_norm=0.5:1.5:10", "--hidden", "2", "--steps", "21",
                 "--out", str(tmp_path / "r"), "-q"]) == 0
    out = capsys.readouterr()
    assert out.err == "" and out.out == ""


def _interrupt_and_resume(tmp_path, long_reference, extra, sig, k, group=False):
    """Interrupt after k committed points, rerun, compare. ``group``: the signal goes to the
    whole process group, as a terminal's Ctrl-C does (workers included)."""
    out = tmp_path / "r"
    argv = [*ARGV_LONG, "--out", str(out), *extra]
    proc = _cli(argv, start_new_session=group)
    deadline = time.monotonic() + 120
    while len(_lines(out / JOURNAL)) < k:
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline
        time.sleep(0.005)
    if group:
        os.killpg(proc.pid, sig)
    else:
        proc.send_signal(sig)
    _, err = proc.communicate(timeout=120)
    committed = len(_lines(out / JOURNAL))
    assert proc.returncode == 130, err
    assert "Traceback" not in err, err
    assert "interrupted" in err and "run the same command to resume" in err
    assert 0 < committed < LONG_POINTS, (k, committed)
    # the same command again: only the missing points are computed
    res = gradproof.sweep("rnn", {"spectral_norm": "0.6:1.4:8"}, out=out, seeds=5, hidden=16, steps=300,
                          quiet=True)
    assert (res.computed, res.reused) == (LONG_POINTS - committed, committed)
    keys = [json.loads(x)["key"] for x in _lines(out / JOURNAL)]
    assert len(keys) == len(set(keys)) == LONG_POINTS  # nothing lost, nothing computed twice
    assert res.table.read_bytes() == long_reference


@pytest.mark.parametrize("k_seed", [15, pytest.param(2026, marks=pytest.mark.slow)])
def test_sigint_at_a_random_point_then_resume(tmp_path, long_reference, k_seed):
    k = random.Random(k_seed).randint(1, LONG_POINTS // 2)
    _interrupt_and_resume(tmp_path, long_reference, [], signal.SIGINT, k)


def test_sigterm_with_two_workers_then_resume(tmp_path, long_reference):
    k = random.Random(7).randint(2, LONG_POINTS // 2)
    _interrupt_and_resume(tmp_path, long_reference, ["--workers", "2"], signal.SIGTERM, k)


def test_ctrl_c_to_the_process_group_with_two_workers(tmp_path, long_reference):
    k = random.Random(11).randint(2, LONG_POINTS // 2)
    _interrupt_and_resume(tmp_path, long_reference, ["--workers", "2"], signal.SIGINT, k, group=True)


@pytest.mark.slow
def test_ctrl_c_to_the_process_group_with_a_local_dask_cluster(tmp_path, long_reference):
    k = random.Random(12).randint(2, LONG_POINTS // 2)
    _interrupt_and_resume(tmp_path, long_reference, ["--dask-local", "2"], signal.SIGINT, k, group=True)


def test_a_killed_worker_process_loses_nothing(tmp_path, long_reference):
    import psutil

    out = tmp_path / "r"
    proc = _cli([*ARGV_LONG, "--out", str(out), "--workers", "2"])
    deadline = time.monotonic() + 120
    victim = None
    while victim is None:
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline
        if len(_lines(out / JOURNAL)) >= 4:  # the pool is running chunks
            workers = [c for c in psutil.Process(proc.pid).children()
                       if "spawn_main" in " ".join(c.cmdline())]
            if workers:
                victim = workers[0]
        time.sleep(0.005)
    at_kill = len(_lines(out / JOURNAL))
    victim.send_signal(signal.SIGKILL)
    _, err = proc.communicate(timeout=180)
    assert proc.returncode == 0, err
    assert at_kill < LONG_POINTS and "a worker process died" in err
    keys = [json.loads(x)["key"] for x in _lines(out / JOURNAL)]
    assert len(keys) == len(set(keys)) == LONG_POINTS
    assert (out / TABLE).read_bytes() == long_reference


def test_progress_bar_has_rate_and_eta(tmp_path):
    import io

    buf = io.StringIO()
    gradproof.sweep("rnn", {"spectral_norm": "0.5:1.5:12"}, out=tmp_path / "r", hidden=2, steps=20,
                    progress="bar", stream=buf)
    text = buf.getvalue()
    assert "sweep: cost model" in text and "12/12" in text and "pt/s" in text and "<" in text  # tqdm's ETA


def test_out_that_is_a_file_is_refused(tmp_path):
    f = tmp_path / "results"
    f.write_text("x", encoding="utf-8")
    with pytest.raises(InputError, match="not a folder"):
        gradproof.sweep("rnn", out=f, quiet=True, **SMALL)
    assert f.read_text(encoding="utf-8") == "x"
