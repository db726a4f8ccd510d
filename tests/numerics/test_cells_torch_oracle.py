"""Independent oracle: PyTorch autograd (stored in tests/data/torch_reference.npz, made by
tests/data/make_torch_reference.py with torch 2.13.0 in float64). A state_dict saved in
PyTorch's layout loads through ``load_weights`` unchanged, and our closed-form Jacobians,
multiplied out, equal torch's Jacobian of the final state w.r.t. the initial state."""

from pathlib import Path

import numpy as np
import pytest

from gradproof.numerics.cells import gru_jacobians, lstm_jacobians, rnn_jacobians
from gradproof.numerics.weights import load_weights
from gradproof.numerics.engines import product_reference

DATA = next(p for p in Path(__file__).resolve().parents if (p / "pyproject.toml").is_file()) / "tests" / "data" / "torch_reference.npz"
KEYS = ("weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0")


@pytest.fixture(scope="module")
def ref():
    return dict(np.load(DATA))


def _params(ref, model, tmp_path):
    path = tmp_path / f"{model}.npz"
    np.savez(path, **{k: ref[f"{model}.{k}"] for k in KEYS})  # exactly PyTorch's key names
    return load_weights(path, model)


def _product(J):
    P = np.eye(J.shape[1])
    for Jt in J:
        P = Jt @ P  # later factors on the left
    return P


@pytest.mark.parametrize("model, jacobians, state", [("rnn", rnn_jacobians, "c0"), ("gru", gru_jacobians, "h0")])
def test_single_state_cell_against_torch_autograd(ref, tmp_path, model, jacobians, state):
    """RNN and GRU: the state is h alone, so the product is torch's d h_T / d h_0."""
    J = jacobians(_params(ref, model, tmp_path), ref["inputs"], **{state: ref[f"{model}.state0"]})
    np.testing.assert_allclose(_product(J), ref[f"{model}.jacobian"], rtol=1e-12, atol=1e-14)


def test_lstm_full_state_against_torch_autograd(ref, tmp_path):
    p = _params(ref, "lstm", tmp_path)
    n = p.hidden
    s0 = ref["lstm.state0"]
    jac = lstm_jacobians(p, ref["inputs"], h0=s0[:n], c0=s0[n:])
    np.testing.assert_allclose(_product(jac.full), ref["lstm.jacobian"], rtol=1e-12, atol=1e-14)
    # the article's cell path (product of one-step A+B+C+D) is NOT torch's dc_T/dc_0 block
    cc = ref["lstm.jacobian"][n:, n:]
    assert np.max(np.abs(_product(jac.cell_path) - cc)) > 1e-6


def test_lstm_double_forget_bias_loaded(ref, tmp_path):
    p = _params(ref, "lstm", tmp_path)
    n = p.hidden
    np.testing.assert_array_equal(p.b[n:2 * n], np.full(n, 2.0))  # 1 (ih) + 1 (hh), gate order i,f,g,o


def test_reference_engine_norm_equals_torch_jacobian_norm(ref, tmp_path):
    p = _params(ref, "gru", tmp_path)
    J = gru_jacobians(p, ref["inputs"], h0=ref["gru.state0"])
    r = product_reference(J, dps=50)
    expected = np.log10(np.linalg.norm(ref["gru.jacobian"], 2))
    assert abs(r.log10_norm - expected) < 1e-12
