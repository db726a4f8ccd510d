"""``gradproof product``: JSON keys, engines, weight files and bad input (exit 2, one line)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from gradproof.numerics.engines import product_reference
from gradproof.numerics.models import model_jacobians
from gradproof.reports.cli import main

FORMAT_KEYS = {"value_log10", "first_subnormal_step", "first_zero_step", "first_zero_step_ftz", "verdict"}


def run_json(capsys, argv):
    assert main(argv) == 0
    return json.loads(capsys.readouterr().out)


def main_err(capsys, argv):
    assert main(argv) == 2
    return capsys.readouterr().err


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
    assert_one_line_error(capsys, ["product", "rnn", "--hidden", "256", "--steps", "300", "--engine", "reference"])
    assert "would take about" in main_err(capsys, ["product", "rnn", "--hidden", "256", "--steps", "300",
                                                   "--engine", "reference"])
    assert_one_line_error(capsys, ["product", "lstm", "--hidden", "3000", "--steps", "10"])
    assert_one_line_error(capsys, ["product", "rnn", "--steps", "2000000"])
    with pytest.raises(SystemExit) as exc:  # T < 1 is refused by the parser, also with status 2
        main(["product", "rnn", "--steps", "0"])
    assert exc.value.code == 2
    assert capsys.readouterr().err.startswith("gradproof: error:")


def test_bad_input_battery_one_line_exit_2(tmp_path, capsys):
    rng = np.random.default_rng(1)
    n, d = 2, 3
    good = {"weight_ih_l0": rng.standard_normal((n, d)), "weight_hh_l0": rng.standard_normal((n, n)),
            "bias_ih_l0": np.zeros(n), "bias_hh_l0": np.zeros(n)}
    wrong_keys = {"W": good["weight_hh_l0"], "U": good["weight_ih_l0"]}
    np.savez(tmp_path / "keys.npz", **wrong_keys)
    nan_w = dict(good, weight_hh_l0=np.full((n, n), np.nan))
    np.savez(tmp_path / "nan.npz", **nan_w)
    (tmp_path / "junk.npz").write_bytes(b"not a zip archive")
    np.save(tmp_path / "x_inf.npy", np.full((5, d), np.inf))
    np.save(tmp_path / "x_1d.npy", np.ones(5))
    np.save(tmp_path / "x_empty.npy", np.ones((0, d)))
    np.savez(tmp_path / "good.npz", **good)
    for argv in (
        ["product", "rnn", "--weights", str(tmp_path / "keys.npz")],
        ["product", "rnn", "--weights", str(tmp_path / "nan.npz")],
        ["product", "rnn", "--weights", str(tmp_path / "junk.npz")],
        ["product", "rnn", "--weights", str(tmp_path / "good.npz"), "--inputs", str(tmp_path / "x_inf.npy")],
        ["product", "rnn", "--weights", str(tmp_path / "good.npz"), "--inputs", str(tmp_path / "x_1d.npy")],
        ["product", "rnn", "--weights", str(tmp_path / "good.npz"), "--inputs", str(tmp_path / "x_empty.npy")],
        ["product", "rnn", "--inputs", str(tmp_path / "missing.npy")],
        ["horizon", "gru", "--hidden", "3000", "--steps", "10"],  # budget without --force
        ["product", "gru", "--hidden", "64", "--steps", "20000", "--engine", "certified"],
    ):
        assert_one_line_error(capsys, argv)
    for argv in (["product", "rnn", "--hidden", "0"], ["product", "rnn", "--steps", "-3"],
                 ["product", "rnn", "--spectral-norm", "nan"], ["horizon", "--factor", "inf"]):
        with pytest.raises(SystemExit) as exc:  # n < 1, T < 1, non-finite numbers: refused by the parser
            main(argv)
        assert exc.value.code == 2
        err = capsys.readouterr().err
        assert err.startswith("gradproof: error:") and err.count("\n") == 1


def test_bad_input_in_a_subprocess_has_no_traceback(tmp_path):
    import subprocess
    import sys

    np.savez(tmp_path / "keys.npz", W=np.eye(2))
    for argv in (["product", "lstm", "--weights", str(tmp_path / "keys.npz")], ["product", "rnn", "--steps", "0"]):
        proc = subprocess.run([sys.executable, "-c", "import sys; from reports.cli import main; sys.exit(main())",
                               *argv], capture_output=True, text=True, timeout=120)
        assert proc.returncode == 2
        assert proc.stdout == "" and "Traceback" not in proc.stderr
        assert proc.stderr.startswith("gradproof: error:") and proc.stderr.count("\n") == 1


def test_json_keys_of_issue_4_and_sorted_deterministic_output(capsys):
    argv = ["product", "rnn", "--hidden", "3", "--steps", "50", "--activation", "sigmoid", "--json"]
    assert main(argv) == 0
    text = capsys.readouterr().out
    rep = json.loads(text)
    assert list(rep) == sorted(rep)  # sorted keys
    assert main(argv) == 0 and capsys.readouterr().out == text  # byte-identical on a rerun
    assert rep["precision_bits"] == 53 and rep["activation"] == "sigmoid"
    # the RNN bound with the sigmoid: (1/4 ||W_rec||_2)^T, gamma = 1/4 derived
    mj = model_jacobians("rnn", hidden=3, steps=50, activation="sigmoid")
    sigma = np.linalg.norm(mj.params.W_rec, 2)
    assert rep["bound_factor"] == pytest.approx(0.25 * sigma, rel=1e-14) and rep["bound_factor"] >= 0.25 * sigma
    assert rep["log10_bound"] == pytest.approx(50 * np.log10(0.25 * sigma), rel=1e-12)
    assert rep["log10_norm"] <= rep["log10_bound"]
    for r in rep["formats"].values():
        assert FORMAT_KEYS <= set(r)
        assert r["value_log10"] is None or isinstance(r["value_log10"], float)
    assert main(["horizon", "--factor", "0.75", "--json"]) == 0
    hz = json.loads(capsys.readouterr().out)
    for r in hz["formats"].values():
        assert {"first_subnormal_step", "first_zero_step", "first_zero_step_ftz"} <= set(r)
    assert hz["formats"]["float16"]["first_zero_step"] is None  # sticks at 2^-23 (see test_numerics_horizon)


def test_relu_state_dict_needs_the_activation(tmp_path, capsys):
    """A state_dict carries no nonlinearity: the same file read as tanh and as relu gives different
    products, each equal to the reference engine's network truth for that activation."""
    rng = np.random.default_rng(3)
    n, d = 3, 2
    sd = {"weight_ih_l0": 0.3 * rng.standard_normal((n, d)), "weight_hh_l0": 0.5 * rng.standard_normal((n, n)),
          "bias_ih_l0": np.full(n, 2.0), "bias_hh_l0": np.zeros(n)}  # units stay active: relu' = 1
    np.savez(tmp_path / "w.npz", **sd)
    base = ["product", "rnn", "--weights", str(tmp_path / "w.npz"), "--steps", "30", "--json"]
    relu = run_json(capsys, base + ["--activation", "relu", "--engine", "reference"])
    tanh = run_json(capsys, base + ["--activation", "tanh", "--engine", "reference"])
    assert relu["activation"] == "relu" and tanh["activation"] == "tanh"
    assert abs(relu["log10_norm"] - tanh["log10_norm"]) > 0.1
    fast = run_json(capsys, base + ["--activation", "relu", "--check-engines"])
    assert abs(fast["log10_norm"] - relu["log10_norm"]) <= 1e-12 * max(1.0, abs(relu["log10_norm"]))
    assert fast["engine_check"]["fast_inside_enclosure"]
    assert fast["reliability"]["fast_reliable"] in (True, False) and "statement" in fast["reliability"]
    assert "--activation" in main_help(capsys) and "state_dict" in main_help(capsys)


def main_help(capsys):
    with pytest.raises(SystemExit):
        main(["product", "--help"])
    return " ".join(capsys.readouterr().out.split())


def test_product_with_every_engine_imports_no_sympy():
    import subprocess
    import sys

    code = ("import sys, io, contextlib; from gradproof.reports.cli import main\n"
            "for e in ('fast', 'reference', 'certified'):\n"
            "    with contextlib.redirect_stdout(io.StringIO()):\n"
            "        assert main(['product', 'lstm', '--hidden', '2', '--steps', '10', '--engine', e,"
            " '--check-engines']) == 0\n"
            "print('sympy' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"


def test_text_never_prints_exactly_zero_for_what_was_not_computed(tmp_path, capsys):
    """A stacked LSTM has no article cell path (A+B+C+D is one layer's): the text says so instead of
    "0 (exactly)", the former rendering of a missing value; the JSON keeps null there."""
    import numpy as np

    from gradproof.reports.cli import main as cli_main

    rng = np.random.default_rng(0)
    n, d = 3, 2
    sd = {}
    for L, din in ((0, d), (1, n)):
        sd.update({f"weight_ih_l{L}": rng.standard_normal((4 * n, din)), f"weight_hh_l{L}": rng.standard_normal((4 * n, n)),
                   f"bias_ih_l{L}": rng.standard_normal(4 * n), f"bias_hh_l{L}": rng.standard_normal(4 * n)})
    np.savez(tmp_path / "w.npz", **sd)
    np.save(tmp_path / "x.npy", rng.standard_normal((15, d)))
    for engine in ("fast", "certified"):
        assert cli_main(["product", "lstm", "--weights", str(tmp_path / "w.npz"), "--inputs", str(tmp_path / "x.npy"),
                         "--engine", engine]) == 0
        out = capsys.readouterr().out
        assert "0 (exactly)" not in out.split("format ")[0]  # above the per-format table
        assert "defined for one LSTM layer" in out
    assert cli_main(["product", "lstm", "--weights", str(tmp_path / "w.npz"), "--inputs", str(tmp_path / "x.npy"),
                     "--layer", "1"]) == 0
    out = capsys.readouterr().out
    assert "cell path, corrected D) = -" in out or "cell path, corrected D) = " in out
    assert "defined for one LSTM layer" not in out
