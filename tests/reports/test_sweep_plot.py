"""``gradproof sweep plot``: the phase diagram is deterministic (equal bytes from two separate
processes), counts its null cells right, and refuses bad requests with one line, exit 2."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

import gradproof
from gradproof.numerics.errors import InputError
from gradproof.reports.cli import main
from gradproof.reports.sweep.plot import plot_sweep


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    out = tmp_path_factory.mktemp("sweep") / "r"
    gradproof.sweep("lstm", {"spectral_norm": "log:0.5:2:3", "forget_bias": "-2,0,3"}, out=out, seeds=2,
                    hidden=2, steps=40, horizon=True, quiet=True)
    return out


@pytest.mark.parametrize("suffix", ["png", pytest.param("svg", marks=pytest.mark.slow)])
def test_plot_bytes_equal_across_two_processes(results, tmp_path, suffix):
    figs = []
    for i in range(2):
        fig = tmp_path / f"phase{i}.{suffix}"
        p = subprocess.run([sys.executable, "-m", "gradproof.reports.cli", "sweep", "plot", str(results),
                            "--x", "spectral_norm", "--y", "forget_bias", "--value",
                            "float16_first_zero_step", "--out", str(fig)],
                           capture_output=True, text=True, timeout=120)
        assert p.returncode == 0, p.stderr
        figs.append(fig.read_bytes())
    assert figs[0] == figs[1] and len(figs[0]) > 1000


def test_null_cells_are_counted_not_averaged(results, tmp_path):
    rows = [json.loads(x) for x in (results / "results.jsonl").read_text().splitlines()]
    cells = {}
    for r in rows:
        cells.setdefault((r["spectral_norm"], r["forget_bias"]), []).append(r["float16_first_zero_step"])
    want_missing = sum(1 for v in cells.values() if any(x is None for x in v))
    res = plot_sweep(results, out=tmp_path / "f.png", x="spectral_norm", y="forget_bias",
                     value="float16_first_zero_step")
    assert (res.cells, res.missing, res.averaged_over) == (9, want_missing, ("seed",))
    assert 0 < want_missing < 9  # the grid has both kinds of cell, so the count is a real check


def test_drawn_values_are_the_seed_means(results, tmp_path):
    import pandas

    df = pandas.read_json(results / "results.jsonl", lines=True)
    want = df.pivot_table(index="forget_bias", columns="spectral_norm", values="lyapunov", aggfunc="mean")
    res = plot_sweep(results, out=tmp_path / "f.svg", x="spectral_norm", y="forget_bias")
    assert list(res.x_values) == list(want.columns) and list(res.y_values) == list(want.index)
    for j, yv in enumerate(res.y_values):
        for i, xv in enumerate(res.x_values):
            assert res.values[j][i] == pytest.approx(want.loc[yv, xv], rel=1e-14)


def test_defaults_line_plot_and_categories(results, tmp_path, capsys):
    assert main(["sweep", "plot", str(results), "--out", str(tmp_path / "d.svg")]) == 0
    assert "lyapunov over spectral_norm x forget_bias (9 cells, 0 null, mean over seed)" in capsys.readouterr().out
    line = plot_sweep(results, out=tmp_path / "l.pdf", x="forget_bias", value="log10_norm",
                      where={"spectral_norm": "1"})
    assert line.y is None and line.cells == 3
    cat = plot_sweep(results, out=tmp_path / "c.png", x="spectral_norm", y="forget_bias",
                     value="float16_verdict", where=[("seed", "0")])
    assert cat.missing == 0 and cat.where == (("seed", 0),)


@pytest.mark.parametrize("kwargs,needle", [
    ({"value": "no_such_column"}, "not a column"),
    ({"value": "float16_verdict"}, "one value per cell"),
    ({"x": "hidden"}, "has 1 value"),
    ({"x": "sigma"}, "not a sweep parameter"),
    ({"y": None}, "also varies in forget_bias"),
    ({"x": "forget_bias"}, "must differ"),
    ({"where": {"seed": "7"}}, "no row"),
    ({"where": {"seed": "0,1"}}, "give one value"),
])
def test_bad_plot_requests(results, tmp_path, kwargs, needle):
    kw = {"x": "spectral_norm", "y": "forget_bias", **kwargs}
    with pytest.raises(InputError, match=needle):
        plot_sweep(results, out=tmp_path / "f.png", **kw)
    assert not (tmp_path / "f.png").exists()


def test_cli_plot_errors_are_one_line(results, tmp_path, capsys):
    assert main(["sweep", "plot", str(results), "--out", str(tmp_path / "f.jpg")]) == 2
    assert main(["sweep", "plot", str(tmp_path / "missing"), "--out", str(tmp_path / "f.png")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2 and all(x.startswith("gradproof: error:") for x in err)
    assert ".pdf, .svg or .png" in err[0] and "no sweep table" in err[1]


def test_report_item_numbers_against_direct_lyapunov_exponents(tmp_path, monkeypatch):
    """The report's sweep-phase figure (sweep -> journal -> table -> seed mean -> figure) against
    lambda_1 computed here straight from the model's Jacobians, without the sweep or product."""
    import numpy as np

    from gradproof.numerics.lyapunov import largest_lyapunov
    from gradproof.numerics.models import model_jacobians
    from gradproof.reports.figures import sweep_phase
    from gradproof.reports.figures.common import ItemContext

    params = dict(sweep_phase.PARAMS, hidden=2, steps=30, seeds=2,
                  grid={"spectral_norm": "0.5,1.5", "forget_bias": "-1,3"})
    monkeypatch.setattr(sweep_phase, "PARAMS", params)
    res = sweep_phase.build(ItemContext(tmp_path))
    means = {(s, b): np.mean([largest_lyapunov(model_jacobians("lstm", hidden=2, steps=30, seed=seed,
                                                               spectral_norm=s, forget_bias=b).jacobians)
                              for seed in (0, 1)])
             for s in (0.5, 1.5) for b in (-1.0, 3.0)}
    num = {n.key: n.value for n in res.numbers}
    best = max(means, key=means.get)
    assert num["max-mean-exponent"] == pytest.approx(means[best], rel=1e-13)
    assert (num["max-mean-exponent-sigma"], num["max-mean-exponent-forget-bias"]) == best
    assert num["min-mean-exponent"] == pytest.approx(min(means.values()), rel=1e-13)
    assert num["cells-with-negative-exponent"] == sum(v < 0 for v in means.values())
    assert num["cells"] == 4 and num["null-cells"] == 0
    assert sorted(res.files) == ["data/sweep-phase.json", "figures/sweep-phase-column.pdf",
                                 "figures/sweep-phase-column.png", "figures/sweep-phase-column.svg",
                                 "figures/sweep-phase.pdf", "figures/sweep-phase.png",
                                 "figures/sweep-phase.svg"]
    assert "gradproof sweep lstm --grid spectral_norm=0.5,1.5" in res.parameters["command"]
