"""PyTorch-layout weight import: files written by hand in exactly the state_dict layout."""

from __future__ import annotations

import numpy as np
import pytest

from gradproof.numerics.cells import lstm_step
from gradproof.numerics.errors import InputError
from gradproof.numerics.weights import load_inputs, load_weights


def _lstm_state_dict(n=3, d=2, seed=0, forget=(1.0, 1.0)):
    rng = np.random.default_rng(seed)
    b_ih = rng.standard_normal(4 * n).astype(np.float32)
    b_hh = rng.standard_normal(4 * n).astype(np.float32)
    b_ih[n:2 * n] = forget[0]  # gate order i, f, g, o: block 1 is the forget gate
    b_hh[n:2 * n] = forget[1]
    return {
        "weight_ih_l0": rng.standard_normal((4 * n, d)).astype(np.float32),
        "weight_hh_l0": rng.standard_normal((4 * n, n)).astype(np.float32),
        "bias_ih_l0": b_ih,
        "bias_hh_l0": b_hh,
    }


def test_lstm_effective_forget_bias_is_sum(tmp_path):
    path = tmp_path / "lstm.npz"
    np.savez(path, **_lstm_state_dict())
    p = load_weights(path, "lstm")
    assert p.hidden == 3 and p.input_size == 2
    np.testing.assert_array_equal(p.b[3:6], [2.0, 2.0, 2.0])
    assert p.W_hh.dtype == np.float64


def test_lstm_gate_order_matches_pytorch_cell(tmp_path):
    """h_t, c_t computed by hand from the file's i, f, g, o blocks equal lstm_step's."""
    sd = _lstm_state_dict(n=2, d=1, seed=3)
    path = tmp_path / "lstm.npz"
    np.savez(path, **sd)
    p = load_weights(path, "lstm")
    x, h0, c0 = np.array([0.7]), np.array([0.1, -0.2]), np.array([0.3, 0.05])
    a = sd["weight_ih_l0"].astype(float) @ x + sd["weight_hh_l0"].astype(float) @ h0 \
        + sd["bias_ih_l0"].astype(float) + sd["bias_hh_l0"].astype(float)
    sig = lambda v: 1 / (1 + np.exp(-v))  # noqa: E731
    i, f, g, o = sig(a[0:2]), sig(a[2:4]), np.tanh(a[4:6]), sig(a[6:8])
    c1 = f * c0 + i * g
    h1 = o * np.tanh(c1)
    h, c = lstm_step(p, h0, c0, x)
    np.testing.assert_allclose(h, h1, rtol=1e-14)
    np.testing.assert_allclose(c, c1, rtol=1e-14)


def test_gru_keeps_biases_separate_and_rnn_sums(tmp_path):
    rng = np.random.default_rng(1)
    n, d = 2, 3
    sd = {"weight_ih_l0": rng.standard_normal((3 * n, d)), "weight_hh_l0": rng.standard_normal((3 * n, n)),
          "bias_ih_l0": np.arange(3 * n, dtype=float), "bias_hh_l0": 10 * np.arange(3 * n, dtype=float)}
    np.savez(tmp_path / "gru.npz", **sd)
    p = load_weights(tmp_path / "gru.npz", "gru")
    np.testing.assert_array_equal(p.b_ih, sd["bias_ih_l0"])
    np.testing.assert_array_equal(p.b_hh, sd["bias_hh_l0"])
    sd_rnn = {"weight_ih_l0": np.ones((n, d)), "weight_hh_l0": np.eye(n),
              "bias_ih_l0": np.array([1.0, 2.0]), "bias_hh_l0": np.array([0.5, 0.25])}
    np.savez(tmp_path / "rnn.npz", **sd_rnn)
    r = load_weights(tmp_path / "rnn.npz", "rnn")
    np.testing.assert_array_equal(r.b, [1.5, 2.25])
    # the GRU file is not an LSTM file: 6 rows are not 4n for n = 2
    with pytest.raises(InputError, match="weight_hh_l0"):
        load_weights(tmp_path / "gru.npz", "lstm")


def test_bad_weight_files(tmp_path):
    sd = _lstm_state_dict()
    bad = dict(sd)
    bad["weight_hh_l0"] = bad["weight_hh_l0"].copy()
    bad["weight_hh_l0"][0, 0] = np.nan
    np.savez(tmp_path / "nan.npz", **bad)
    with pytest.raises(InputError, match="NaN"):
        load_weights(tmp_path / "nan.npz", "lstm")
    missing = {k: v for k, v in sd.items() if k != "bias_hh_l0"}
    np.savez(tmp_path / "missing.npz", **missing)
    with pytest.raises(InputError, match="bias_hh_l0"):
        load_weights(tmp_path / "missing.npz", "lstm")
    wrong = dict(sd)
    wrong["weight_ih_l0"] = np.ones((5, 2))
    np.savez(tmp_path / "wrong.npz", **wrong)
    with pytest.raises(InputError, match="weight_ih_l0"):
        load_weights(tmp_path / "wrong.npz", "lstm")
    (tmp_path / "garbage.npz").write_bytes(b"not a zip file at all")
    with pytest.raises(InputError, match="cannot read"):
        load_weights(tmp_path / "garbage.npz", "lstm")
    with pytest.raises(InputError, match="not found"):
        load_weights(tmp_path / "absent.npz", "lstm")
    with pytest.raises(InputError):
        load_weights(tmp_path / "missing.npz", "transformer")
    (tmp_path / "m.pt").write_bytes(b"x")
    try:  # without torch the message says so; with torch the garbage file is unreadable
        import torch  # noqa: F401
        expected = "cannot read"
    except ImportError:
        expected = "torch"
    with pytest.raises(InputError, match=expected):
        load_weights(tmp_path / "m.pt", "lstm")


def test_load_inputs(tmp_path):
    x = np.arange(6, dtype=np.float32).reshape(3, 2)
    np.save(tmp_path / "x.npy", x)
    got = load_inputs(tmp_path / "x.npy", input_size=2)
    assert got.dtype == np.float64 and got.shape == (3, 2)
    with pytest.raises(InputError, match="columns"):
        load_inputs(tmp_path / "x.npy", input_size=3)
    np.save(tmp_path / "v.npy", np.ones(4))
    with pytest.raises(InputError, match="shape"):
        load_inputs(tmp_path / "v.npy")
    np.save(tmp_path / "inf.npy", np.array([[1.0, np.inf]]))
    with pytest.raises(InputError, match="NaN or infinite"):
        load_inputs(tmp_path / "inf.npy")
    np.save(tmp_path / "empty.npy", np.ones((0, 2)))
    with pytest.raises(InputError):
        load_inputs(tmp_path / "empty.npy")
    (tmp_path / "bad.npy").write_bytes(b"\x93NUMPY garbage")
    with pytest.raises(InputError, match="cannot read"):
        load_inputs(tmp_path / "bad.npy")
    np.save(tmp_path / "obj.npy", np.array([["a", "b"]]))
    with pytest.raises(InputError, match="numeric"):
        load_inputs(tmp_path / "obj.npy")
