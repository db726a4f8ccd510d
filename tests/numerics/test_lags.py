"""``gradproof lags`` / ``gradproof.lags``: per-lag profiles against PyTorch (tests/data/make_torch_checkpoints.py).

Oracles: torch.autograd.functional.jacobian in float64 (stacked_oracle.npz) for the profiles, and
PyTorch's own float16/bfloat16 backward passes on CPU (format_lags.json) for the zero lags with and
without loss scaling."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import gradproof
from gradproof.numerics.errors import InputError
from gradproof.reports.cli import main

DATA = next(p for p in Path(__file__).resolve().parents if (p / "pyproject.toml").is_file()) / "tests" / "data" / "checkpoints"
ORACLE = np.load(DATA / "stacked_oracle.npz")
TORCH_FMT = json.loads((DATA / "format_lags.json").read_text())
BATCH = str(DATA / "inputs_batch.npy")


def _profile(model, fname, **kw):
    return gradproof.lags(model, weights=str(DATA / fname), inputs=BATCH, batch_index=1, **kw)


@pytest.mark.parametrize("name, model, fname", [("lstm2", "lstm", "lstm2_wrapped.safetensors"),
                                                ("gru2", "gru", "gru2.npz"), ("rnn2", "rnn", "rnn2.npz")])
def test_profiles_match_torch_autograd(name, model, fname):
    rep = _profile(model, fname)
    for key, okey in (("log10_norm", "log10_state"), ("log10_input", "log10_input"), ("log10_loss", "log10_loss")):
        got = np.array([x[key] for x in rep.lags])
        want = ORACLE[f"{name}.{okey}"]
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=0)
    assert rep.layers["analysed"] == [0, 1]
    assert ("head fc" in rep.loss) == (name == "lstm2")


@pytest.mark.parametrize("engine", ["reference", "certified"])
def test_high_precision_engines_per_lag(engine):
    rep = _profile("gru", "gru2.npz", engine=engine)
    for key, okey in (("log10_norm", "log10_state"), ("log10_input", "log10_input"), ("log10_loss", "log10_loss")):
        want = ORACLE[f"gru2.{okey}"]
        got = np.array([x[key] for x in rep.lags])
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=0)
        if engine == "certified":
            bits = "certified_bits" if key == "log10_norm" else f"{key}_certified_bits"
            for x, w in zip(rep.lags, want):
                # torch's float64 value lies within a few float64 ulps of the certified enclosure
                assert x[f"{key}_lower"] - 1e-13 <= w <= x[f"{key}_upper"] + 1e-13
                assert x[bits] >= 53


def _torch_cases():
    out = []
    for name, row in TORCH_FMT.items():
        if name == "meta":
            continue
        for fmt in ("float16", "bfloat16"):
            for ours, theirs in (("loss_zero_lag", "zero_lag"), ("loss_zero_lag_scaled", "zero_lag_fixed_scale"),
                                 ("dynamic_scale", "dynamic_scale"), ("loss_zero_lag_dynamic", "zero_lag_dynamic")):
                out.append(pytest.param(name, fmt, ours, theirs, id=f"{name}-{fmt}-{ours}"))
    return out


_CACHE: dict = {}


@pytest.mark.parametrize("name, fmt, ours, theirs", _torch_cases())
def test_zero_lags_match_pytorch_within_one_step(name, fmt, ours, theirs):
    model = name.split("_")[0].rstrip("2")
    if name not in _CACHE:
        _CACHE[name] = gradproof.lags(model, weights=str(DATA / f"fmt_{name}.safetensors"),
                                      inputs=str(DATA / "fmt_inputs.npy"),
                                      loss_scale=TORCH_FMT["meta"]["fixed_scale"]).formats
    got = _CACHE[name][fmt][ours]
    want = TORCH_FMT[name][fmt][theirs]
    if want is None or got is None:
        assert got == want
    elif ours == "dynamic_scale":
        assert got == want
    else:
        assert abs(got - want) <= 1, (got, want)


def test_loss_scaling_moves_the_float16_zero_lag():
    """The effect the issue reports (PyTorch: 17 -> 29 lags here): the dynamic scale keeps signal longer."""
    f = TORCH_FMT["rnn_fast"]["float16"]
    assert f["zero_lag"] < f["zero_lag_dynamic"]
    rep = gradproof.lags("rnn", weights=str(DATA / "fmt_rnn_fast.safetensors"), inputs=str(DATA / "fmt_inputs.npy"))
    r = rep.formats["float16"]
    assert r["loss_zero_lag"] < r["loss_zero_lag_dynamic"] and r["dynamic_scale"] == 2.0 ** 15


def test_cli_json_equals_api_and_has_the_documented_keys(capsys):
    args = ["lags", "lstm", "--weights", str(DATA / "lstm2_wrapped.npz"), "--inputs", BATCH, "--batch-index", "1",
            "--loss-scale", "1024", "--json"]
    assert main(args) == 0
    d = json.loads(capsys.readouterr().out)
    api = _profile("lstm", "lstm2_wrapped.npz", loss_scale=1024.0).to_dict()
    assert d == json.loads(json.dumps(api))
    assert len(d["lags"]) == 40 and [x["lag"] for x in d["lags"]] == list(range(1, 41))
    first = d["lags"][0]
    for key in ("lag", "log10_norm", "log10_input", "log10_loss", "log10_cell_path", "log10_rest", "formats"):
        assert key in first
    assert set(first["formats"]) == {"float16", "bfloat16", "float32", "float64"}
    assert "log10_loss_scaled" in first["formats"]["float16"]
    for row in d["formats"].values():
        assert {"first_subnormal_lag", "first_zero_lag", "first_lost_lag", "loss_zero_lag", "loss_zero_lag_scaled",
                "dynamic_scale", "loss_zero_lag_dynamic"} <= set(row)


def test_pure_cell_path_when_h_does_not_feed_back(tmp_path):
    """W_hh = 0: c_t depends on c_{t-1} only through f_t, so d c_T / d c_{T-k} = prod diag(f) exactly and the
    rest of the c-to-c block is exactly 0 at every lag (independent of the decomposition's code)."""
    rng = np.random.default_rng(3)
    n, d = 3, 2
    sd = {"weight_ih_l0": rng.standard_normal((4 * n, d)), "weight_hh_l0": np.zeros((4 * n, n)),
          "bias_ih_l0": rng.standard_normal(4 * n), "bias_hh_l0": np.zeros(4 * n)}
    np.savez(tmp_path / "w.npz", **sd)
    x = rng.standard_normal((12, d))
    np.save(tmp_path / "x.npy", x)
    rep = gradproof.lags("lstm", weights=str(tmp_path / "w.npz"), inputs=str(tmp_path / "x.npy"))
    a = x @ sd["weight_ih_l0"].T + sd["bias_ih_l0"]
    f = 1 / (1 + np.exp(-a[:, n:2 * n]))
    for item in rep.lags:
        k = item["lag"]
        assert item["log10_rest"] is None
        np.testing.assert_allclose(item["log10_cell_path"], np.log10(np.max(np.prod(f[12 - k:], axis=0))), rtol=1e-12)


def test_figure_is_deterministic_and_bad_names_are_one_line(tmp_path, capsys):
    args = ["lags", "rnn", "--weights", str(DATA / "rnn2.npz"), "--inputs", BATCH, "--batch-index", "0"]
    assert main(args + ["--figure", str(tmp_path / "a.svg")]) == 0
    assert main(args + ["--figure", str(tmp_path / "b.svg")]) == 0
    assert (tmp_path / "a.svg").read_bytes() == (tmp_path / "b.svg").read_bytes()
    capsys.readouterr()
    assert main(args + ["--figure", str(tmp_path / "a.txt")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "must end in" in err[0]


@pytest.mark.parametrize("argv, match", [
    (["--loss-scale", "0"], "positive"),
    (["--layer", "5"], "does not exist"),
    (["--batch-index", "7"], "outside the batch"),
])
def test_bad_lag_options_are_one_line(capsys, argv, match):
    rc = main(["lags", "gru", "--weights", str(DATA / "gru2.npz"), "--inputs", BATCH,
               *(["--batch-index", "0"] if "--batch-index" not in argv else []), *argv])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1 and match in err[0], err


def test_random_model_profile_without_files():
    rep = gradproof.lags("rnn", hidden=3, steps=20, seed=1)
    assert rep.steps == 20 and rep.layers is None and "sum of h_T" in rep.loss
    with pytest.raises(InputError):
        gradproof.lags("rnn", steps=5, engine="quantum")


def test_compare_torch_without_torch_is_one_line(capsys, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "torch", None)  # import torch -> ImportError
    rc = main(["lags", "rnn", "--weights", str(DATA / "fmt_rnn_fast.safetensors"), "--inputs",
               str(DATA / "fmt_inputs.npy"), "--compare-torch"])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1 and "needs PyTorch" in err[0]


@pytest.mark.slow
def test_compare_torch_prints_autograd_beside_gradproof(capsys):
    """With torch installed (about 10 s): its autograd values agree to 1e-10 per lag and its float16 zero lag
    is printed beside ours (without torch this test checks the refusal instead)."""
    try:
        import torch  # noqa: F401
    except ImportError:
        rc = main(["lags", "rnn", "--weights", str(DATA / "fmt_rnn_fast.safetensors"), "--inputs",
                   str(DATA / "fmt_inputs.npy"), "--compare-torch"])
        assert rc == 2
        return
    rc = main(["lags", "rnn", "--weights", str(DATA / "fmt_rnn_fast.safetensors"), "--inputs",
               str(DATA / "fmt_inputs.npy"), "--compare-torch", "--json"])
    d = json.loads(capsys.readouterr().out)
    assert rc == 0
    ours = np.array([x["log10_norm"] for x in d["lags"]])
    np.testing.assert_allclose(ours, np.array(d["torch"]["log10_norm"], dtype=float), rtol=1e-10)
    assert d["torch"]["formats"]["float16"]["zero_lag"] == d["formats"]["float16"]["loss_zero_lag"] == 17


def test_high_precision_lags_beyond_the_budget_are_refused(capsys):
    rc = main(["lags", "lstm", "--hidden", "32", "--steps", "400", "--engine", "reference"])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1 and "more than the budget" in err[0]
