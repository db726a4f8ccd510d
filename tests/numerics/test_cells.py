"""The closed-form Jacobians of numerics.cells against independent oracles.

Oracles: (1) central finite differences of the float64 forward step (``*_step``), and
(2) mpmath: the cell re-implemented here from its definition in mpmath at 40 digits and
differentiated with ``mpmath.diff`` (an independent code path; nothing from bridge is reused
except the weights). Products over several steps are compared with finite differences of the
unrolled network.
"""

from __future__ import annotations

import mpmath
import numpy as np
import pytest

from gradproof.numerics.cells import (
    GRUParams,
    LSTMParams,
    RNNParams,
    gru_jacobians,
    gru_step,
    lstm_jacobians,
    lstm_step,
    random_gru_params,
    random_inputs,
    random_lstm_params,
    random_rnn_params,
    rnn_jacobians,
    rnn_states,
    rnn_step,
)
from gradproof.numerics.errors import InputError


def central_fd(fun, x0, h=1e-6):
    """Jacobian of fun at x0 by central differences (float64)."""
    x0 = np.asarray(x0, dtype=float)
    cols = []
    for j in range(x0.size):
        e = np.zeros_like(x0)
        e[j] = h
        cols.append((fun(x0 + e) - fun(x0 - e)) / (2 * h))
    return np.stack(cols, axis=1)


# ----------------------------------------------------------------- mpmath re-implementations
def mp_sig(z):
    return 1 / (1 + mpmath.exp(-z))


def mp_matvec(M, v):
    return [mpmath.fsum(mpmath.mpf(float(M[r, k])) * v[k] for k in range(len(v))) for r in range(M.shape[0])]


def mp_jacobian(fun, x0):
    """d fun / d x at x0 with mpmath.diff, one partial derivative per entry."""
    n = len(x0)
    out = np.empty((len(fun(list(x0))), n))
    for j in range(n):
        for r in range(out.shape[0]):
            def comp(s, j=j, r=r):
                x = list(x0)
                x[j] = s
                return fun(x)[r]
            out[r, j] = float(mpmath.diff(comp, x0[j]))
    return out


def mp_lstm_step(p: LSTMParams, h, c, x):
    n = p.hidden
    a = [u + v + mpmath.mpf(float(bb)) for u, v, bb in zip(mp_matvec(p.W_ih, x), mp_matvec(p.W_hh, h), p.b)]
    i = [mp_sig(v) for v in a[:n]]
    f = [mp_sig(v) for v in a[n:2 * n]]
    g = [mpmath.tanh(v) for v in a[2 * n:3 * n]]
    o = [mp_sig(v) for v in a[3 * n:]]
    c_new = [f[k] * c[k] + i[k] * g[k] for k in range(n)]
    h_new = [o[k] * mpmath.tanh(c_new[k]) for k in range(n)]
    return h_new, c_new, o


def mp_gru_step(p: GRUParams, h, x):
    n = p.hidden
    gi = [u + mpmath.mpf(float(bb)) for u, bb in zip(mp_matvec(p.W_ih, x), p.b_ih)]
    gh = [u + mpmath.mpf(float(bb)) for u, bb in zip(mp_matvec(p.W_hh, h), p.b_hh)]
    r = [mp_sig(gi[k] + gh[k]) for k in range(n)]
    z = [mp_sig(gi[n + k] + gh[n + k]) for k in range(n)]
    cand = [mpmath.tanh(gi[2 * n + k] + r[k] * gh[2 * n + k]) for k in range(n)]
    return [(1 - z[k]) * cand[k] + z[k] * h[k] for k in range(n)]


# ----------------------------------------------------------------- RNN
@pytest.mark.parametrize("activation", ["tanh", "sigmoid"])
def test_rnn_jacobian_matches_finite_differences_and_mpmath(activation):
    p = random_rnn_params(4, 3, seed=1, activation=activation, spectral_norm=1.3)
    x = random_inputs(5, 3, seed=2)
    J = rnn_jacobians(p, x)
    _, c = rnn_states(p, x)
    assert J.shape == (5, 4, 4)
    for t in range(5):
        fd = central_fd(lambda s: rnn_step(p, s, x[t]), c[t])
        np.testing.assert_allclose(J[t], fd, atol=1e-8, rtol=1e-6)

    act = mpmath.tanh if activation == "tanh" else mp_sig
    with mpmath.workdps(40):
        def step(s, t=3):
            pre = mp_matvec(p.W_rec, s)
            drive = mp_matvec(p.W_in, [mpmath.mpf(float(v)) for v in x[t]])
            return [act(pre[k] + drive[k] + mpmath.mpf(float(p.b[k]))) for k in range(4)]
        ref = mp_jacobian(step, [mpmath.mpf(float(v)) for v in c[3]])
    np.testing.assert_allclose(J[3], ref, rtol=1e-12, atol=1e-14)


def test_rnn_product_is_jacobian_of_unrolled_network():
    p = random_rnn_params(3, 2, seed=5, spectral_norm=1.1)
    x = random_inputs(6, 2, seed=5)
    J = rnn_jacobians(p, x)
    P = np.eye(3)
    for Jt in J:
        P = Jt @ P

    def unrolled(c0):
        return rnn_states(p, x, c0=c0)[1][-1]

    np.testing.assert_allclose(P, central_fd(unrolled, np.zeros(3)), atol=1e-8, rtol=1e-6)
    # a false statement: the transposed Jacobian (Pascanu et al.'s erratum) is not the derivative
    assert not np.allclose(J[0].T, central_fd(lambda s: rnn_step(p, s, x[0]), np.zeros(3)), atol=1e-6)


def test_spectral_norm_scaling_and_determinism():
    p = random_rnn_params(6, 2, seed=3, spectral_norm=0.7)
    assert np.linalg.norm(p.W_rec, 2) == pytest.approx(0.7, rel=1e-14)
    q = random_rnn_params(6, 2, seed=3, spectral_norm=0.7)
    assert np.array_equal(p.W_rec, q.W_rec) and np.array_equal(p.b, q.b)
    lp = random_lstm_params(5, 2, seed=3, spectral_norm=0.9, forget_bias=2.5)
    for g in "ifgo":
        assert np.linalg.norm(lp.block(g), 2) == pytest.approx(0.9, rel=1e-14)
    assert np.all(lp.b[5:10] == 2.5)
    gp = random_gru_params(5, 2, seed=3, spectral_norm=0.4)
    for k in range(3):
        assert np.linalg.norm(gp.W_hh[5 * k:5 * (k + 1)], 2) == pytest.approx(0.4, rel=1e-14)


# ----------------------------------------------------------------- LSTM
def _lstm_states(p, x):
    h, c = np.zeros(p.hidden), np.zeros(p.hidden)
    hs, cs = [h], [c]
    for t in range(x.shape[0]):
        h, c = lstm_step(p, h, c, x[t])
        hs.append(h)
        cs.append(c)
    return np.array(hs), np.array(cs)


def test_lstm_full_jacobian_matches_finite_differences_and_mpmath():
    n = 3
    p = random_lstm_params(n, 2, seed=4, spectral_norm=1.5, forget_bias=1.0)
    x = random_inputs(4, 2, seed=4)
    jac = lstm_jacobians(p, x)
    hs, cs = _lstm_states(p, x)
    assert jac.full.shape == (4, 2 * n, 2 * n)
    for t in range(4):
        def step(s, t=t):
            return np.concatenate(lstm_step(p, s[:n], s[n:], x[t]))
        fd = central_fd(step, np.concatenate([hs[t], cs[t]]))
        np.testing.assert_allclose(jac.full[t], fd, atol=1e-8, rtol=1e-6)

    t = 2
    with mpmath.workdps(40):
        xs = [mpmath.mpf(float(v)) for v in x[t]]

        def mstep(s):
            h_new, c_new, _ = mp_lstm_step(p, s[:n], s[n:], xs)
            return h_new + c_new
        ref = mp_jacobian(mstep, [mpmath.mpf(float(v)) for v in np.concatenate([hs[t], cs[t]])])
    np.testing.assert_allclose(jac.full[t], ref, rtol=1e-11, atol=1e-14)


def test_lstm_cell_path_terms_are_derivative_with_o_prev_frozen():
    """A+B+C+D = d c_t / d c_{t-1} through h_{t-1} = o_{t-1} tanh(c_{t-1}) with o_{t-1} fixed."""
    n = 3
    p = random_lstm_params(n, 2, seed=8, spectral_norm=1.2)
    x = random_inputs(5, 2, seed=8)
    jac = lstm_jacobians(p, x)
    hs, cs = _lstm_states(p, x)
    # t = 1 convention: h_0 independent of c_0, only B_1 = diag(f_1) survives
    np.testing.assert_array_equal(jac.cell_path[0], jac.B[0])
    assert np.all(jac.A[0] == 0) and np.all(jac.C[0] == 0) and np.all(jac.D[0] == 0)
    with mpmath.workdps(40):
        for t in (2, 4):  # 0-based index of step t+1 whose predecessor is step t
            x_prev = [mpmath.mpf(float(v)) for v in x[t - 1]]
            _, _, o_prev = mp_lstm_step(p, [mpmath.mpf(float(v)) for v in hs[t - 1]],
                                        [mpmath.mpf(float(v)) for v in cs[t - 1]], x_prev)
            xs = [mpmath.mpf(float(v)) for v in x[t]]

            def cell(cprev, o_prev=o_prev, xs=xs):
                h_prev = [o_prev[k] * mpmath.tanh(cprev[k]) for k in range(n)]
                return mp_lstm_step(p, h_prev, cprev, xs)[1]
            ref = mp_jacobian(cell, [mpmath.mpf(float(v)) for v in cs[t]])
            np.testing.assert_allclose(jac.cell_path[t], ref, rtol=1e-11, atol=1e-14)
            # the article's D (sigma' instead of tanh') is a different matrix
            assert not np.allclose(jac.article_cell_path[t], ref, rtol=1e-6, atol=1e-9)


def test_lstm_products_full_versus_cell_path():
    """The product of full Jacobians is d(h_T, c_T)/d(h_0, c_0); the cell-path product is not dc_T/dc_0."""
    n = 2
    p = random_lstm_params(n, 2, seed=11, spectral_norm=2.0)
    x = random_inputs(5, 2, seed=11)
    jac = lstm_jacobians(p, x)
    P = np.eye(2 * n)
    for Jt in jac.full:
        P = Jt @ P

    def unrolled(s0):
        h, c = s0[:n], s0[n:]
        for t in range(x.shape[0]):
            h, c = lstm_step(p, h, c, x[t])
        return np.concatenate([h, c])

    true = central_fd(unrolled, np.zeros(2 * n))
    np.testing.assert_allclose(P, true, atol=1e-8, rtol=1e-6)
    Q = np.eye(n)
    for Ct in jac.cell_path:
        Q = Ct @ Q
    # the true dc_T/dc_0 (h_0 independent) is the lower-right block; the article's product differs
    assert not np.allclose(Q, true[n:, n:], atol=1e-6)


# ----------------------------------------------------------------- GRU
def test_gru_jacobian_matches_finite_differences_and_mpmath():
    n = 4
    p = random_gru_params(n, 3, seed=6, spectral_norm=1.4)
    x = random_inputs(4, 3, seed=6)
    J = gru_jacobians(p, x)
    h = np.zeros(n)
    hs = [h]
    for t in range(4):
        h = gru_step(p, h, x[t])
        hs.append(h)
    for t in range(4):
        fd = central_fd(lambda s, t=t: gru_step(p, s, x[t]), hs[t])
        np.testing.assert_allclose(J[t], fd, atol=1e-8, rtol=1e-6)
    with mpmath.workdps(40):
        xs = [mpmath.mpf(float(v)) for v in x[3]]
        ref = mp_jacobian(lambda s: mp_gru_step(p, s, xs), [mpmath.mpf(float(v)) for v in hs[3]])
    np.testing.assert_allclose(J[3], ref, rtol=1e-11, atol=1e-14)


# ----------------------------------------------------------------- bad input
def test_bad_shapes_and_values_raise_input_error():
    with pytest.raises(InputError):
        RNNParams(W_rec=np.ones((2, 3)), W_in=np.ones((2, 1)), b=np.zeros(2))
    with pytest.raises(InputError):
        RNNParams(W_rec=np.eye(2), W_in=np.ones((2, 1)), b=np.array([0.0, np.nan]))
    with pytest.raises(InputError):
        RNNParams(W_rec=np.eye(2), W_in=np.ones((2, 1)), b=np.zeros(2), activation="relu6")
    with pytest.raises(InputError):
        LSTMParams(W_ih=np.ones((8, 1)), W_hh=np.ones((6, 2)), b=np.zeros(8))
    with pytest.raises(InputError):
        GRUParams(W_ih=np.ones((6, 1)), W_hh=np.ones((6, 2)), b_ih=np.zeros(6), b_hh=np.zeros(5))
    p = random_rnn_params(2, 1, seed=0)
    with pytest.raises(InputError):
        rnn_jacobians(p, np.ones((3, 2)))
    with pytest.raises(InputError):
        rnn_jacobians(p, np.full((3, 1), np.inf))
    with pytest.raises(InputError):
        random_inputs(0, 1)
    with pytest.raises(InputError):
        random_rnn_params(0, 1)
