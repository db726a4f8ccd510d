"""``gradproof product``: JSON keys, engines, weight files and bad input (exit 2, one line)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from numerics.engines import product_reference
from numerics.models import model_jacobians
from reports.cli import main

FORMAT_KEYS = {"value_log10", "first_subnormal_step", "first_zero_step", "first_zero_step_ftz", "verdict"}


def run_json(capsys, argv):
    assert main(argv) == 0
    return json.loads(capsys.readouterr().out)


def assert_one_line_error(capsys, argv):
    assert main(argv) == 2
    cap = capsys.readouterr()
    assert cap.err.startswith("gradproof: error:") and cap.err.count("\n") == 1
    assert "Traceback" not in cap.err


@pytest.mark.parametrize("model", ["rnn", "lstm", "gru"])
def test_product_json_keys_and_reference_agreement(capsys, model):
    rep = run_json(capsys, ["product", model, "--hidden", "3", "--steps", "60", "--seed", "2", "--json"])
    for key in ("model", "hidden", "steps", "engine", "precision_bits", "log10_norm", "log10_norm_cell_path",
                "log10_bound", "lyapunov", "formats"):
        assert key in rep
    assert rep["model"] == model and rep["steps"] == 60 and rep["engine"] == "fast"
    assert set(rep["formats"]) == {"float16", "bfloat16", "float32", "float64"}
    for r in rep["formats"].values():
        assert FORMAT_KEYS <= set(r)
    mj = model_jacobians(model, hidden=3, steps=60, seed=2)
    ref = product_reference(mj.jacobians, dps=40).log10_norm
    assert abs(rep["log10_norm"] - ref) <= 1e-12 * max(1, abs(ref))
    assert (rep["log10_norm_cell_path"] is not None) == (model == "lstm")
    assert (rep["log10_bound"] is not None) == (model == "rnn")
    if model == "lstm":
        assert mj.jacobians.shape[1] == 6  # the full (h, c) state


def test_engines_agree_and_output_is_deterministic(capsys):
    argv = ["product", "gru", "--hidden", "4", "--steps", "80", "--json"]
    a = run_json(capsys, argv + ["--engine", "certified"])
    b = run_json(capsys, argv + ["--engine", "reference"])
    c = run_json(capsys, argv)
    assert a["log10_norm_lower"] <= b["log10_norm"] <= a["log10_norm_upper"]
    assert abs(c["log10_norm"] - b["log10_norm"]) <= 1e-12 * abs(b["log10_norm"])
    assert main(argv) == 0
    first = capsys.readouterr().out
    assert main(argv) == 0
    assert capsys.readouterr().out == first
    assert main(["product", "gru", "--hidden", "4", "--steps", "80"]) == 0
    assert "verdict" in capsys.readouterr().out


def test_weights_and_inputs_files(tmp_path, capsys):
    rng = np.random.default_rng(0)
    n, d, T = 3, 2, 40
    sd = {"weight_ih_l0": rng.standard_normal((4 * n, d)), "weight_hh_l0": 0.5 * rng.standard_normal((4 * n, n)),
          "bias_ih_l0": np.zeros(4 * n), "bias_hh_l0": np.zeros(4 * n)}
    np.savez(tmp_path / "w.npz", **sd)
    np.save(tmp_path / "x.npy", rng.standard_normal((T, d)))
    rep = run_json(capsys, ["product", "lstm", "--weights", str(tmp_path / "w.npz"), "--inputs",
                            str(tmp_path / "x.npy"), "--json"])
    assert rep["hidden"] == n and rep["steps"] == T and rep["input_size"] == d
    bad = dict(sd)
    bad["bias_hh_l0"] = np.full(4 * n, np.inf)
    np.savez(tmp_path / "bad.npz", **bad)
    assert_one_line_error(capsys, ["product", "lstm", "--weights", str(tmp_path / "bad.npz")])
    assert_one_line_error(capsys, ["product", "gru", "--weights", str(tmp_path / "w.npz")])  # wrong shapes
    assert_one_line_error(capsys, ["product", "lstm", "--weights", str(tmp_path / "nope.npz")])
    np.save(tmp_path / "x3.npy", rng.standard_normal((T, 3)))
    assert_one_line_error(capsys, ["product", "lstm", "--weights", str(tmp_path / "w.npz"), "--inputs",
                                   str(tmp_path / "x3.npy")])
    np.save(tmp_path / "xnan.npy", np.full((T, d), np.nan))
    assert_one_line_error(capsys, ["product", "lstm", "--weights", str(tmp_path / "w.npz"), "--inputs",
                                   str(tmp_path / "xnan.npy")])


def test_budget_and_argument_errors(capsys):
    assert_one_line_error(capsys, ["product", "rnn", "--hidden", "64", "--steps", "100", "--engine", "reference"])
    assert_one_line_error(capsys, ["product", "lstm", "--hidden", "3000", "--steps", "10"])
    assert_one_line_error(capsys, ["product", "rnn", "--steps", "2000000"])
    with pytest.raises(SystemExit) as exc:  # T < 1 is refused by the parser, also with status 2
        main(["product", "rnn", "--steps", "0"])
    assert exc.value.code == 2
    assert capsys.readouterr().err.startswith("gradproof: error:")
