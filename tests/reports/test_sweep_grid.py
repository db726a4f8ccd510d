"""Sweep grids: SPEC parsing (lists, linear and log ranges), the checks made before any work,
point keys, and the CLI's one-line errors with exit status 2."""

from __future__ import annotations

import subprocess
import sys

import pytest

from gradproof.numerics.errors import InputError
from gradproof.reports.cli import main
from gradproof.reports.sweep.grid import MAX_POINTS, make_plan, parse_spec


@pytest.mark.parametrize("name,spec,values", [
    ("spectral_norm", "0.5:1.5:11", (0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.1, 1.2, 1.3, 1.4, 1.5)),
    ("spectral-norm", "0,1,2", (0.0, 1.0, 2.0)),
    ("forget_bias", "-2:2:5", (-2.0, -1.0, 0.0, 1.0, 2.0)),
    ("spectral_norm", "log:1e-2:1e2:5", (0.01, 0.1, 1.0, 10.0, 100.0)),
    ("hidden", "log:2:64:6", (2, 4, 8, 16, 32, 64)),
    ("steps", "10:100:10", (10, 20, 30, 40, 50, 60, 70, 80, 90, 100)),
    ("seed", "3", (3,)),
    ("activation", "tanh,sigmoid", ("tanh", "sigmoid")),
    ("engine", "fast,certified", ("fast", "certified")),
    ("hidden", [2, 3], (2, 3)),
    ("spectral_norm", [0.5, 1], (0.5, 1.0)),
])
def test_good_specs(name, spec, values):
    d = parse_spec(name, spec)
    assert d.name == name.replace("-", "_")
    # independent of the parser's formula: decimal values written by hand, compared to 1e-12
    assert len(d.values) == len(values)
    for got, want in zip(d.values, values):
        assert type(got) is type(want)
        assert got == want if isinstance(want, str) else got == pytest.approx(want, rel=1e-12, abs=1e-15)


def test_range_ends_are_exact():
    d = parse_spec("spectral_norm", "0.1:0.3:7")
    assert d.values[0] == 0.1 and d.values[-1] == 0.3  # not 0.30000000000000004
    d = parse_spec("spectral_norm", "log:0.03:30:4")
    assert d.values[0] == 0.03 and d.values[-1] == 30.0 and d.log


@pytest.mark.parametrize("name,spec,needle", [
    ("sigma", "0,1", "unknown sweep parameter"),
    ("weights", "a.npz", "unknown sweep parameter"),
    ("spectral_norm", "0.5:1.5:0", "empty range"),
    ("spectral_norm", "0.5:1.5:-3", "empty range"),
    ("spectral_norm", "0.5:1.5:1", "COUNT >= 2"),
    ("spectral_norm", "", "empty SPEC"),
    ("spectral_norm", "0.5,,1", "empty value"),
    ("spectral_norm", "abc", "expected a number"),
    ("spectral_norm", "0.5:x:3", "expected a number"),
    ("spectral_norm", "nan", "finite"),
    ("spectral_norm", "0:inf:3", "finite"),
    ("spectral_norm", "-1,1", ">= 0"),
    ("spectral_norm", "log:0:1:3", "START > 0"),
    ("spectral_norm", "0.5:1.5:2.5", "must be an integer"),
    ("spectral_norm", "1:2:3:4:5", "cannot read SPEC"),
    ("spectral_norm", "1,1", "more than once"),
    ("hidden", "0,1", ">= 1"),
    ("hidden", "2.5", "expected an integer"),
    ("hidden", "1:10:3", "non-integer values"),
    ("steps", "1:10:2000000", "exceeds"),
    ("seed", "-1", ">= 0"),
    ("activation", "relu", "unknown value"),
    ("activation", "0:1:3", "ranges need a numeric"),
    ("engine", "slow", "unknown value"),
    ("hidden", [True], "expected an integer"),
    ("spectral_norm", [float("nan")], "finite"),
    ("spectral_norm", [], "empty list"),
])
def test_bad_specs(name, spec, needle):
    with pytest.raises(InputError) as e:
        parse_spec(name, spec)
    assert needle in str(e.value) and "\n" not in str(e.value)


@pytest.mark.parametrize("kwargs,needle", [
    ({"model": "transformer", "grid": {"seed": "0,1"}}, "unknown model"),
    ({"model": "rnn", "grid": {}}, "at least one --grid"),
    ({"model": "rnn", "grid": {"forget_bias": "0,1"}}, "applies to lstm only"),
    ({"model": "lstm", "grid": {"activation": "tanh,sigmoid"}}, "applies to rnn only"),
    ({"model": "rnn", "grid": {"seed": "0,1"}, "seeds": 3}, "not both"),
    ({"model": "rnn", "grid": {"hidden": "2,3"}, "fixed": {"hidden": 4}}, "both as a fixed option"),
    ({"model": "rnn", "grid": [("hidden", "2"), ("hidden", "3")]}, "more than one --grid"),
    ({"model": "rnn", "grid": {"seed": f"0:{MAX_POINTS}:{MAX_POINTS + 1}"}}, "use --force"),
    ({"model": "rnn", "grid": {"hidden": "4000,2"}}, "exceeds the budget"),
    ({"model": "rnn", "grid": {"steps": "100"}, "fixed": {"hidden": 400, "engine": "reference"}},
     "the reference engine would take about"),
])
def test_bad_plans(kwargs, needle):
    with pytest.raises(InputError) as e:
        make_plan(**kwargs)
    assert needle in str(e.value)


def test_plan_points_and_keys():
    plan = make_plan("lstm", {"spectral_norm": "0.5:1.5:3", "forget_bias": "0,1"}, seeds=2,
                     fixed={"hidden": 3, "steps": 20})
    assert len(plan.points) == 3 * 2 * 2 and plan.shape == (3, 2, 2)
    assert len({p.key for p in plan.points}) == 12
    first = plan.points[0].kwargs
    assert first == {"engine": "fast", "hidden": 3, "steps": 20, "spectral_norm": 0.5,
                     "forget_bias": 0.0, "seed": 0}
    # the key depends on the computation only: grid order and how a value is written do not matter
    other = make_plan("lstm", {"forget_bias": [0.0, 1.0], "spectral_norm": "0.5,1.0,1.5", "seed": "0,1"},
                      fixed={"steps": 20, "hidden": 3})
    assert {p.key for p in other.points} == {p.key for p in plan.points}
    # ... and any option, the version or the horizon flag changes it
    for changed in (make_plan("lstm", {"spectral_norm": "0.5:1.5:3", "forget_bias": "0,1"}, seeds=2,
                              fixed={"hidden": 3, "steps": 21}),
                    make_plan("lstm", {"spectral_norm": "0.5:1.5:3", "forget_bias": "0,1"}, seeds=2,
                              fixed={"hidden": 3, "steps": 20}, version="0.0.0-other"),
                    make_plan("lstm", {"spectral_norm": "0.5:1.5:3", "forget_bias": "0,1"}, seeds=2,
                              fixed={"hidden": 3, "steps": 20}, horizon=True)):
        assert not ({p.key for p in changed.points} & {p.key for p in plan.points})


def test_lstm_default_forget_bias_is_explicit():
    a = make_plan("lstm", {"seed": "0"})
    b = make_plan("lstm", {"seed": "0"}, fixed={"forget_bias": 1.0})
    assert a.points[0].key == b.points[0].key and a.points[0].kwargs["forget_bias"] == 1.0


def _status(argv) -> int:
    try:
        return main(argv)
    except SystemExit as e:  # argparse errors
        return e.code


@pytest.mark.parametrize("argv,needle", [
    (["--grid", "sigma=0:1:3"], "unknown sweep parameter"),
    (["--grid", "spectral_norm=1:2:0"], "empty range"),
    (["--grid", "spectral_norm=one"], "expected a number"),
    (["--grid", "seed=0:20000:20001"], "use --force"),
    (["--grid", "spectral_norm"], "NAME=SPEC"),
    (["--grid", "forget_bias=0,1"], "applies to lstm only"),
    (["--grid", "seed=0,1", "--hidden", "2,3"], "takes one value"),
    (["--grid", "seed=0,1", "--workers", "0"], "positive integer"),
    (["--grid", "seed=0,1", "--workers", "2", "--dask-local", "2"], "not allowed with"),
])
def test_cli_bad_grid_one_line_exit_2_before_any_work(argv, needle, tmp_path, capsys):
    out = tmp_path / "results"
    assert _status(["sweep", "rnn", *argv, "--out", str(out)]) == 2
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("gradproof: error:") and needle in lines[0], err
    assert not out.exists()  # nothing was created, nothing computed


def test_cli_bad_grid_in_a_subprocess_has_no_traceback(tmp_path):
    p = subprocess.run([sys.executable, "-m", "gradproof.reports.cli", "sweep", "lstm", "--grid",
                        "hidden=1:10:3", "--out", str(tmp_path / "r")], capture_output=True, text=True,
                       timeout=60)
    assert p.returncode == 2 and "Traceback" not in p.stderr
    assert p.stderr.strip().startswith("gradproof: error:") and len(p.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("cmd", [["sweep"], ["sweep", "lstm"], ["sweep", "plot"]])
def test_help(cmd, capsys):
    assert _status([*cmd, "--help"]) == 0
    assert "usage: gradproof sweep" in capsys.readouterr().out
