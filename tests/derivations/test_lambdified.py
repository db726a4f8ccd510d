"""Numeric bridge (issue 3, item 6): the lambdified symbolic per-step Jacobians, and the
independent cross-check of derivations/bridge.py (closed-form numpy, written by another hand)
against them at random weights, n = 1, 2, T <= 3.

Oracles: numerics.cells (independent closed form), SymPy's jacobian of the unrolled cell
evaluated with mpmath at 50 digits, mpmath central finite differences of the forward map, the
PyTorch gate order / bias convention of oracles.md (forget biases 1 + 1 -> effective 2).
"""

from __future__ import annotations

import mpmath
import numpy as np
import pytest
import sympy as sp

from gradproof.numerics import cells as br
from gradproof.derivations.activations import LAMBDIFY_MODULES_MPMATH
from gradproof.numerics.errors import InputError
from gradproof.derivations.lambdified import (
    MAX_HIDDEN,
    gru_step_jacobians,
    lstm_step_jacobians,
    rnn_step_jacobians,
)
from gradproof.derivations.lstm import lstm_cell, lstm_symbols

FIELDS = ("full", "cell_path", "A", "B", "C", "D", "D_article", "article_cell_path")
CASES = [(n, T, seed) for n in (1, 2) for T in (1, 3) for seed in (0, 1)]


def _mp_to_np(mats):
    return np.array([[[float(M[i, j]) for j in range(M.cols)] for i in range(M.rows)] for M in mats])


@pytest.mark.parametrize("n,T,seed", CASES)
def test_bridge_lstm_matches_lambdified(n, T, seed):
    d = 2
    p = br.random_lstm_params(n, d, seed=seed, spectral_norm=1.3)
    x = br.random_inputs(T, d, seed=seed)
    rng = np.random.default_rng(seed + 100)
    h0, c0 = rng.standard_normal(n), rng.standard_normal(n)
    ours = lstm_step_jacobians(p, x, h0=h0, c0=c0)
    theirs = br.lstm_jacobians(p, x, h0=h0, c0=c0)
    for f in FIELDS:
        a, b = getattr(ours, f), getattr(theirs, f)
        assert a.shape == b.shape, f
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14, err_msg=f)
    assert ours.full.shape == (T, 2 * n, 2 * n)


@pytest.mark.parametrize("n,T,seed", CASES)
def test_bridge_gru_and_rnn_match_lambdified(n, T, seed):
    d = 2
    x = br.random_inputs(T, d, seed=seed)
    g = br.random_gru_params(n, d, seed=seed)
    h0 = np.random.default_rng(seed + 7).standard_normal(n)
    np.testing.assert_allclose(gru_step_jacobians(g, x, h0=h0), br.gru_jacobians(g, x, h0=h0),
                               rtol=1e-12, atol=1e-14)
    for act in ("tanh", "sigmoid"):
        r = br.random_rnn_params(n, d, seed=seed, activation=act, spectral_norm=0.9)
        np.testing.assert_allclose(rnn_step_jacobians(r, x), br.rnn_jacobians(r, x),
                                   rtol=1e-12, atol=1e-14)


def test_article_cell_path_differs_and_t1_convention():
    p = br.random_lstm_params(2, 1, seed=3)
    x = br.random_inputs(3, 1, seed=3)
    j = lstm_step_jacobians(p, x)
    # t = 1: h_0 is an independent initial state, so only B_1 = diag(f_1) remains
    assert np.all(j.A[0] == 0) and np.all(j.C[0] == 0) and np.all(j.D[0] == 0)
    np.testing.assert_array_equal(j.cell_path[0], j.B[0])
    # later steps: sigma' in D_t changes the value (sigma' <= 1/4 < tanh' near 0)
    assert np.max(np.abs(j.D_article[1:] - j.D[1:])) > 1e-3
    assert np.max(np.abs(j.article_cell_path[1:] - j.cell_path[1:])) > 1e-3


def test_mpmath_backend_matches_sympy_unrolled_jacobian_at_50_digits():
    """full-state J_2 J_1 from the mpmath backend equals SymPy's jacobian of the two-step
    unrolled cell, evaluated at the same weights at 50 digits (agreement to 1e-40)."""
    n, d, T = 2, 1, 2
    p_num = br.random_lstm_params(n, d, seed=9, spectral_norm=1.5)
    x = br.random_inputs(T, d, seed=9)
    h0 = np.array([0.25, -0.5])
    c0 = np.array([0.75, 0.125])
    with mpmath.workdps(50):
        res = lstm_step_jacobians(p_num, x, h0=h0, c0=c0, backend="mpmath", dps=50)
        prod = res.full[1] * res.full[0]
    # symbolic: unroll two steps from (h_0, c_0) and differentiate with SymPy
    p = lstm_symbols(n, T, d)
    h, c = p.h1, p.c1  # used here as (h_0, c_0)
    for t in range(T):
        h, c, _ = lstm_cell(p, p.x[t], h, c)
    ref = h.col_join(c).jacobian(p.h1.col_join(p.c1))
    values = {}
    for k, q in enumerate("ifgo"):
        rows = slice(k * n, (k + 1) * n)
        for i in range(n):
            values[p.W[q][i, 0]] = p_num.W_ih[rows][i, 0]
            values[p.b[q][i, 0]] = p_num.b[rows][i]
            for m in range(n):
                values[p.U[q][i, m]] = p_num.W_hh[rows][i, m]
    for t in range(T):
        values[p.x[t][0, 0]] = x[t, 0]
    for i in range(n):
        values[p.h1[i, 0]] = h0[i]
        values[p.c1[i, 0]] = c0[i]
    syms = sorted(values, key=sp.default_sort_key)
    plain = {s: sp.Symbol(f"v{j}") for j, s in enumerate(syms)}
    f = sp.lambdify(list(plain.values()), ref.xreplace(plain), modules=LAMBDIFY_MODULES_MPMATH, cse=True)
    with mpmath.workdps(50):
        sym = mpmath.matrix(f(*[mpmath.mpf(float(values[s])) for s in syms]))
        assert mpmath.mnorm(sym - prod, 1) < mpmath.mpf("1e-40")
        assert mpmath.mnorm(sym, 1) > mpmath.mpf("1e-3")  # not a vacuous comparison


def test_full_product_matches_finite_differences_float64():
    """prod of full Jacobians = d s_T / d s_0 of bridge's forward step (central differences,
    float64, eps 1e-6: error ~1e-9)."""
    n, d, T = 2, 2, 3
    p = br.random_lstm_params(n, d, seed=4)
    x = br.random_inputs(T, d, seed=4)
    s0 = np.array([0.1, -0.2, 0.3, 0.05])
    j = lstm_step_jacobians(p, x, h0=s0[:n], c0=s0[n:])
    prod = np.eye(2 * n)
    for t in range(T):
        prod = j.full[t] @ prod

    def run(s):
        h, c = s[:n], s[n:]
        for t in range(T):
            h, c = br.lstm_step(p, h, c, x[t])
        return np.concatenate([h, c])

    eps = 1e-6
    fd = np.column_stack([(run(s0 + eps * e) - run(s0 - eps * e)) / (2 * eps) for e in np.eye(2 * n)])
    np.testing.assert_allclose(prod, fd, atol=1e-8)
    # the cell-path product is not the c-c block of ds_T/ds_0 (missing paths), by far more than FD error
    cp = j.cell_path[2] @ j.cell_path[1] @ j.cell_path[0]
    assert np.max(np.abs(cp - fd[n:, n:])) > 1e-4


def test_mpmath_backend_agrees_with_float64_and_restores_precision():
    p = br.random_lstm_params(2, 1, seed=2)
    x = br.random_inputs(3, 1, seed=2)
    before = mpmath.mp.prec
    m = lstm_step_jacobians(p, x, backend="mpmath", dps=40)
    assert mpmath.mp.prec == before
    f = lstm_step_jacobians(p, x)
    np.testing.assert_allclose(_mp_to_np(m.full), f.full, rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(_mp_to_np(m.cell_path), f.cell_path, rtol=1e-13, atol=1e-15)
    g = br.random_gru_params(2, 1, seed=2)
    np.testing.assert_allclose(_mp_to_np(gru_step_jacobians(g, x, backend="mpmath")),
                               gru_step_jacobians(g, x), rtol=1e-13, atol=1e-15)
    r = br.random_rnn_params(2, 1, seed=2)
    np.testing.assert_allclose(_mp_to_np(rnn_step_jacobians(r, x, backend="mpmath")),
                               rnn_step_jacobians(r, x), rtol=1e-13, atol=1e-15)


def test_pytorch_layout_npz_gate_order_and_effective_bias(tmp_path):
    """A state_dict saved with np.savez loads without renaming; with zero weights and both forget
    biases 1 (effective 2, oracles.md), B_t = diag(sigma(2)) exactly in gate order i, f, g, o."""
    from gradproof.numerics.weights import load_weights

    n, d = 2, 1
    b_ih = np.zeros(4 * n)
    b_hh = np.zeros(4 * n)
    b_ih[n:2 * n] = 1.0
    b_hh[n:2 * n] = 1.0
    path = tmp_path / "lstm.npz"
    np.savez(path, weight_ih_l0=np.zeros((4 * n, d)), weight_hh_l0=np.zeros((4 * n, n)),
             bias_ih_l0=b_ih, bias_hh_l0=b_hh)
    params = load_weights(path, "lstm")
    j = lstm_step_jacobians(params, np.zeros((2, d)))
    sig2 = 1.0 / (1.0 + np.exp(-2.0))
    np.testing.assert_allclose(j.B, np.broadcast_to(np.eye(n) * sig2, (2, n, n)), rtol=1e-15)
    # c stays 0 (i * g = sigma(0) tanh(0) = 0), so h = 0 and the full c-c block is diag(f) too
    np.testing.assert_allclose(j.full[:, n:, n:], j.B, rtol=1e-15)


@pytest.mark.parametrize("call", [
    lambda: lstm_step_jacobians(br.random_lstm_params(1, 1), np.zeros((2, 1)), backend="arb"),
    lambda: lstm_step_jacobians(br.random_lstm_params(1, 2), np.zeros((2, 1))),
    lambda: lstm_step_jacobians(br.random_lstm_params(1, 1), np.array([[np.nan]])),
    lambda: lstm_step_jacobians(br.random_lstm_params(2, 1), np.zeros((2, 1)), h0=np.zeros(3)),
    lambda: lstm_step_jacobians(br.random_gru_params(1, 1), np.zeros((2, 1))),
    lambda: gru_step_jacobians(br.random_gru_params(1, 1), np.zeros((0, 1))),
    lambda: rnn_step_jacobians(br.random_rnn_params(MAX_HIDDEN + 1, 1), np.zeros((1, 1))),
])
def test_bad_input_raises_input_error(call):
    with pytest.raises(InputError) as exc:
        call()
    assert "\n" not in str(exc.value)
