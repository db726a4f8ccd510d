"""A PyTorch layer stores two biases; the network's bias is their EXACT sum, not its float64 rounding.

Oracle: a plain mpmath loop of the nn.RNNCell equation tanh(W_ih x + b_ih + W_hh h + b_hh) at 120
digits (no gradproof code), on a checkpoint whose two float64 biases do not sum exactly in float64
(b_ih = 1/4, b_hh = 2^-60: the float64 sum is 1/4). The chaotic recurrence (W_hh = 6 G / sqrt(6), the
chaotic layer of test_stack_truth_oracle.py, Lyapunov exponent ~0.14 per step) amplifies the lost
2^-60 to 2e-9 in log10 ||P|| after 300 steps, far above the 1e-12 the engines must meet."""

from __future__ import annotations

import mpmath
import numpy as np

import gradproof


def _oracle_log10(W_ih, W_hh, b_ih, b_hh, x, dps=120):
    with mpmath.workdps(dps):
        n = W_hh.shape[0]
        A = mpmath.matrix(W_hh.tolist())
        U = mpmath.matrix(W_ih.tolist())
        bi, bh = mpmath.matrix(b_ih.tolist()), mpmath.matrix(b_hh.tolist())
        h = mpmath.matrix(n, 1)
        P = mpmath.eye(n)
        for t in range(x.shape[0]):
            z = U * mpmath.matrix(x[t].tolist()) + bi + A * h + bh
            h = mpmath.matrix([mpmath.tanh(v) for v in z])
            D = mpmath.diag([1 - v ** 2 for v in h])
            P = D * A * P
        return float(mpmath.log10(max(mpmath.svd_r(P, compute_uv=False))))


def test_truth_uses_the_exact_sum_of_the_two_stored_biases(tmp_path):
    rng = np.random.default_rng(1)
    n, d, T = 6, 2, 300
    W_hh = 6.0 * rng.standard_normal((n, n)) / np.sqrt(n)
    W_ih = rng.standard_normal((n, d))
    b_ih = np.full(n, 0.25)
    b_hh = np.full(n, 2.0 ** -60)
    assert np.array_equal(b_ih + b_hh, b_ih)  # the float64 sum loses b_hh
    np.savez(tmp_path / "w.npz", weight_ih_l0=W_ih, weight_hh_l0=W_hh, bias_ih_l0=b_ih, bias_hh_l0=b_hh)
    x = 0.1 * rng.standard_normal((T, d))
    np.save(tmp_path / "x.npy", x)
    want = _oracle_log10(W_ih, W_hh, b_ih, b_hh, x)
    dropped = _oracle_log10(W_ih, W_hh, b_ih, np.zeros(n), x)
    for engine in ("reference", "certified"):
        r = gradproof.product("rnn", weights=str(tmp_path / "w.npz"), inputs=str(tmp_path / "x.npy"), engine=engine)
        assert abs(r.log10_norm - want) < 1e-12, (engine, r.log10_norm, want, dropped)
        if engine == "certified":
            assert r.log10_norm_lower <= want <= r.log10_norm_upper
    # the test has teeth: dropping 2^-60 from the bias moves the answer visibly
    assert abs(dropped - want) > 1e-9, (dropped, want)
