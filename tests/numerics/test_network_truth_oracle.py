"""The truth end to end, against an independent oracle written here from the PyTorch cell
equations: plain mpmath scalar loops (no numpy, no gradproof code), the textbook derivatives
sigma' = s (1 - s) and tanh' = 1 - t^2 evaluated at a precision high enough that they do not
cancel (hundreds of digits for |z| = 800), the product by scalar loops and ||P||_2 from
mpmath.eigsy of P^T P. The engines compute the same number another way (cancellation-free
derivatives, Arb balls or p-bit products, Kato-Temple enclosures); the certified interval must
contain the oracle's value in every case, and the reference must agree to its printed digits."""

from __future__ import annotations

import math

import mpmath
import numpy as np
import pytest

from gradproof.numerics.activations import framework_derivative, np_derivative
from gradproof.numerics.cells import (GRUParams, LSTMParams, RNNParams, random_gru_params, random_inputs,
                                      random_lstm_params, random_rnn_params, rnn_jacobians, rnn_jacobians_scaled)
from gradproof.numerics.engines import product_fast
from gradproof.numerics.lyapunov import largest_lyapunov
from gradproof.numerics.network import network_certified, network_reference, wrapping_estimate


# ----------------------------------------------------------------------------- the oracle
def _m(x):
    return [[mpmath.mpf(float(v)) for v in row] for row in np.atleast_2d(np.asarray(x, dtype=float)).tolist()]


def _v(x):
    return [mpmath.mpf(float(v)) for v in np.asarray(x, dtype=float).ravel().tolist()]


def _mv(A, v):
    return [mpmath.fsum(a * b for a, b in zip(row, v)) for row in A]


def _sig(x):
    return 1 / (1 + mpmath.exp(-x))


def _oracle_jacobians(model, params, inputs):
    """One-step Jacobians of the network, straight from torch.nn.RNNCell/LSTMCell/GRUCell."""
    T = len(inputs)
    out = []
    if model == "rnn":
        W, Win, b = _m(params.W_rec), _m(params.W_in), _v(params.b)
        n = len(b)
        h = [mpmath.mpf(0)] * n
        for t in range(T):
            z = [a + c + d for a, c, d in zip(_mv(W, h), _mv(Win, _v(inputs[t])), b)]
            if params.activation == "tanh":
                h = [mpmath.tanh(v) for v in z]
                d = [1 - y * y for y in h]
            elif params.activation == "sigmoid":
                h = [_sig(v) for v in z]
                d = [y * (1 - y) for y in h]
            elif params.activation == "relu":
                h = [v if v > 0 else mpmath.mpf(0) for v in z]
                d = [mpmath.mpf(1) if v > 0 else mpmath.mpf(0) for v in z]
            else:
                h, d = z, [mpmath.mpf(1)] * n
            out.append([[d[i] * W[i][j] for j in range(n)] for i in range(n)])
        return out
    if model == "lstm":
        Wx, Wh, b = _m(params.W_ih), _m(params.W_hh), _v(params.b)
        n = len(b) // 4
        h = [mpmath.mpf(0)] * n
        c = [mpmath.mpf(0)] * n
        for t in range(T):
            a = [p + q + r for p, q, r in zip(_mv(Wx, _v(inputs[t])), _mv(Wh, h), b)]
            i = [_sig(v) for v in a[:n]]
            f = [_sig(v) for v in a[n:2 * n]]
            g = [mpmath.tanh(v) for v in a[2 * n:3 * n]]
            o = [_sig(v) for v in a[3 * n:]]
            c2 = [f[k] * c[k] + i[k] * g[k] for k in range(n)]
            tc = [mpmath.tanh(v) for v in c2]
            J = [[mpmath.mpf(0)] * (2 * n) for _ in range(2 * n)]
            for r in range(n):
                for j in range(n):
                    dc = (c[r] * f[r] * (1 - f[r]) * Wh[n + r][j] + g[r] * i[r] * (1 - i[r]) * Wh[r][j]
                          + i[r] * (1 - g[r] ** 2) * Wh[2 * n + r][j])
                    J[n + r][j] = dc
                    J[r][j] = tc[r] * o[r] * (1 - o[r]) * Wh[3 * n + r][j] + o[r] * (1 - tc[r] ** 2) * dc
                J[n + r][n + r] = f[r]
                J[r][n + r] = o[r] * (1 - tc[r] ** 2) * f[r]
            out.append(J)
            c = c2
            h = [o[k] * tc[k] for k in range(n)]
        return out
    Wx, Wh, bi, bh = _m(params.W_ih), _m(params.W_hh), _v(params.b_ih), _v(params.b_hh)
    n = len(bi) // 3
    h = [mpmath.mpf(0)] * n
    for t in range(T):
        gi = [p + q for p, q in zip(_mv(Wx, _v(inputs[t])), bi)]
        gh = [p + q for p, q in zip(_mv(Wh, h), bh)]
        r = [_sig(gi[k] + gh[k]) for k in range(n)]
        z = [_sig(gi[n + k] + gh[n + k]) for k in range(n)]
        nn = [mpmath.tanh(gi[2 * n + k] + r[k] * gh[2 * n + k]) for k in range(n)]
        J = [[mpmath.mpf(0)] * n for _ in range(n)]
        for q in range(n):
            for j in range(n):
                dn = (1 - nn[q] ** 2) * (r[q] * Wh[2 * n + q][j] + gh[2 * n + q] * r[q] * (1 - r[q]) * Wh[q][j])
                J[q][j] = (1 - z[q]) * dn + (h[q] - nn[q]) * z[q] * (1 - z[q]) * Wh[n + q][j] + (z[q] if q == j else 0)
        out.append(J)
        h = [(1 - z[k]) * nn[k] + z[k] * h[k] for k in range(n)]
    return out


def oracle_log10_norm(model, params, inputs, dps):
    """log10 ||J_T ... J_1||_2 by the oracle at ``dps`` digits (-inf for an exact zero)."""
    with mpmath.workdps(dps):
        Js = _oracle_jacobians(model, params, inputs)
        N = len(Js[0])
        P = [[mpmath.mpf(1) if i == j else mpmath.mpf(0) for j in range(N)] for i in range(N)]
        for J in Js:
            P = [[mpmath.fsum(J[i][k] * P[k][j] for k in range(N)) for j in range(N)] for i in range(N)]
        G = mpmath.matrix([[mpmath.fsum(P[k][i] * P[k][j] for k in range(N)) for j in range(N)] for i in range(N)])
        if all(G[i, j] == 0 for i in range(N) for j in range(N)):
            return -math.inf
        lam = max(mpmath.eigsy(G, eigvals_only=True))
        return float(mpmath.log10(lam) / 2)


def check_truth(model, params, inputs, dps, lyapunov=None, wrapping=None, ref_tol=None):
    truth = oracle_log10_norm(model, params, inputs, dps)
    cert = network_certified(params, inputs, lyapunov=lyapunov, wrapping_bits=wrapping)
    ref = network_reference(params, inputs, lyapunov=lyapunov)
    assert cert.log10_norm_lower <= truth <= cert.log10_norm_upper, (truth, cert.log10_norm_lower,
                                                                     cert.log10_norm_upper)
    assert cert.certified_bits >= 40
    tol = ref_tol if ref_tol is not None else 1e-13 * max(1.0, abs(truth))
    assert abs(ref.log10_norm - truth) <= tol, (ref.log10_norm, truth)
    return truth, cert, ref


# ----------------------------------------------------------------------------- saturation
@pytest.mark.parametrize("act", ["sigmoid", "tanh"])
@pytest.mark.parametrize("z", [20.0, 25.0, 40.0, 100.0, 800.0])
def test_saturated_units_true_value(act, z):
    p = RNNParams(W_rec=np.array([[0.5, 0.25], [-0.5, 1.0]]), W_in=np.array([[1.0], [0.5]]),
                  b=np.array([z, -z / 2]), activation=act)
    x = np.zeros((3, 1))
    dps = 60 + int(0.9 * z * (2 if act == "tanh" else 1))  # the textbook formulas need the digits
    truth, cert, ref = check_truth("rnn", p, x, dps)
    assert math.isfinite(truth)
    M, k = rnn_jacobians_scaled(p, x)
    fast = product_fast(M, k).log10_norm  # cancellation-free derivatives in scaled float64
    assert abs(fast - truth) <= 1e-12 * max(1.0, abs(truth))
    # the other side: the framework's float64 formula cancels to an exact 0 from z ~ 37 (sigmoid), 19 (tanh)
    fw = framework_derivative(act, np.array([z]), "float64")[0]
    assert (fw == 0.0) == (z >= (37.0 if act == "sigmoid" else 19.0))
    assert np_derivative(act, np.array([z]))[0] > 0.0 or z > 700


def test_sigmoid_40_value_and_float64_cancellation_verdict(tmp_path):
    """One unit, sigma'(z_t) per step (z_1 = 40, z_2 = 41): the truth is 10^-35.18; PyTorch's float64
    formula gives exactly 0, and the report calls that cancellation, not 'exact product is 0'."""
    from gradproof.numerics.product_report import product_report

    sd = {"weight_ih_l0": np.array([[1.0]]), "weight_hh_l0": np.array([[1.0]]), "bias_ih_l0": np.array([40.0]),
          "bias_hh_l0": np.array([0.0])}
    np.savez(tmp_path / "w.npz", **sd)
    np.save(tmp_path / "x.npy", np.zeros((2, 1)))
    rep = product_report("rnn", activation="sigmoid", weights_path=tmp_path / "w.npz",
                         inputs_path=tmp_path / "x.npy", engine="certified")
    truth = oracle_log10_norm("rnn", RNNParams(W_rec=np.ones((1, 1)), W_in=np.ones((1, 1)), b=np.array([40.0]),
                                               activation="sigmoid"), np.zeros((2, 1)), 80)
    assert rep.log10_norm_lower <= truth <= rep.log10_norm_upper
    # z_1 = 40, z_2 = 40 + sigma(40) = 41 - 4e-18: the product is e^-40 e^-41 to 17 digits
    assert truth == pytest.approx(-81 / math.log(10.0), abs=1e-12)
    f64 = rep.formats["float64"]
    assert f64.value_log10 is None and f64.verdict == "cancellation" and f64.cancelled_derivatives > 0
    assert not rep.proven_zero
    d = rep.to_dict()
    assert d["truth"].startswith("the exact Jacobian product") and d["precision"]["bits"] == rep.precision_bits


# ----------------------------------------------------------------------------- chaos
def _chaotic(n, scale, seed=0):
    p = random_rnn_params(n, n, seed=seed)
    return RNNParams(W_rec=scale * p.W_rec, W_in=p.W_in, b=p.b, activation="tanh")


def test_chaotic_rnn_certified_contains_truth_and_fast_does_not():
    p = _chaotic(6, 6.0, seed=1)
    x = 0.1 * random_inputs(300, 6, seed=1)
    J = rnn_jacobians(p, x)
    lam = largest_lyapunov(J)
    assert lam > 0.1  # chaotic: the float64 trajectory has no correct digit after ~300 steps
    truth, cert, ref = check_truth("rnn", p, x, dps=40 + int(lam * 300 / math.log(10)) + 40, lyapunov=lam,
                                   wrapping=wrapping_estimate(J))
    fast = product_fast(J).log10_norm
    assert abs(fast - truth) > 1e-3  # the float64 trajectory is another trajectory: off in the third digit
    assert not (cert.log10_norm_lower <= fast <= cert.log10_norm_upper)


@pytest.mark.slow
def test_chaotic_rnn_n33_t400():
    p = _chaotic(33, 4.0)
    x = random_inputs(400, 33, seed=0)
    J = rnn_jacobians(p, x)
    lam = largest_lyapunov(J)
    truth, cert, ref = check_truth("rnn", p, x, dps=200, lyapunov=lam, wrapping=wrapping_estimate(J))
    assert abs(product_fast(J).log10_norm - truth) > 1.0


# ----------------------------------------------------------------------------- near-singular, ReLU, gated
def test_near_singular_recurrent_matrix():
    rng = np.random.default_rng(5)
    U, _ = np.linalg.qr(rng.standard_normal((4, 4)))
    V, _ = np.linalg.qr(rng.standard_normal((4, 4)))
    W = U @ np.diag([1.5, 1.0, 1e-9, 1e-13]) @ V.T
    p = RNNParams(W_rec=W, W_in=rng.standard_normal((4, 2)), b=0.1 * rng.standard_normal(4), activation="tanh")
    check_truth("rnn", p, random_inputs(40, 2, seed=5), dps=60)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_relu_network(seed):
    p = random_rnn_params(5, 3, seed=seed, activation="relu", spectral_norm=1.1)
    check_truth("rnn", p, random_inputs(50, 3, seed=seed), dps=60)


def test_relu_at_exact_zero_is_proven_zero():
    """z = 0 exactly (zero bias, input and state): PyTorch's relu'(0) = 0, so P_T = 0 exactly."""
    p = RNNParams(W_rec=np.eye(2), W_in=np.ones((2, 1)), b=np.zeros(2), activation="relu")
    x = np.zeros((3, 1))
    assert oracle_log10_norm("rnn", p, x, 30) == -math.inf
    cert = network_certified(p, x)
    assert cert.proven_zero and cert.log10_norm == -math.inf


def test_identity_activation_is_the_matrix_power():
    W = np.array([[0.5, 0.25], [0.0, 0.75]])
    p = RNNParams(W_rec=W, W_in=np.ones((2, 1)), b=np.zeros(2), activation="identity")
    truth, _, _ = check_truth("rnn", p, np.zeros((7, 1)), dps=40)
    assert truth == pytest.approx(math.log10(np.linalg.norm(np.linalg.matrix_power(W, 7), 2)), abs=1e-12)


@pytest.mark.parametrize("gate_bias", [0.0, 30.0])
def test_lstm_and_gru_against_oracle(gate_bias):
    lp = random_lstm_params(3, 2, seed=4, forget_bias=1.0)
    b = lp.b.copy()
    b[3 * 3:] += gate_bias  # saturated output gates: sigma'(a_o) ~ e^-30
    lp = LSTMParams(W_ih=lp.W_ih, W_hh=lp.W_hh, b=b)
    x = random_inputs(25, 2, seed=4)
    check_truth("lstm", lp, x, dps=60 + int(gate_bias))
    gp = random_gru_params(3, 2, seed=4)
    b_ih = gp.b_ih.copy()
    b_ih[3:6] += gate_bias  # saturated update gates: 1 - z ~ e^-30
    gp = GRUParams(W_ih=gp.W_ih, W_hh=gp.W_hh, b_ih=b_ih, b_hh=gp.b_hh)
    check_truth("gru", gp, x, dps=60 + int(gate_bias))


@pytest.mark.parametrize("seed", range(12))
def test_random_small_networks_certified_contains_truth(seed):
    """Seeded random small networks with weights and biases up to 30 in size (deep saturation,
    sign changes of ReLU units, mixed scales): the certified interval contains the oracle's truth."""
    rng = np.random.default_rng([11, seed])
    model = ("rnn", "lstm", "gru")[seed % 3]
    n, d, T = int(rng.integers(1, 4)), 2, int(rng.integers(5, 30))
    scale = float(10.0 ** rng.uniform(-0.5, 1.5))
    x = rng.standard_normal((T, d))
    if model == "rnn":
        act = ("tanh", "sigmoid", "relu", "identity")[(seed // 3) % 4]
        w = 0.9 if act == "identity" else scale
        p = RNNParams(W_rec=w * rng.standard_normal((n, n)) / np.sqrt(n), W_in=rng.standard_normal((n, d)),
                      b=scale * rng.standard_normal(n), activation=act)
    elif model == "lstm":
        p = LSTMParams(W_ih=rng.standard_normal((4 * n, d)), W_hh=scale * rng.standard_normal((4 * n, n)),
                       b=scale * rng.standard_normal(4 * n))
    else:
        p = GRUParams(W_ih=rng.standard_normal((3 * n, d)), W_hh=scale * rng.standard_normal((3 * n, n)),
                      b_ih=scale * rng.standard_normal(3 * n), b_hh=rng.standard_normal(3 * n))
    truth = oracle_log10_norm(model, p, x, dps=60 + int(4 * scale * (n + d + 1)))
    cert = network_certified(p, x)
    if truth == -math.inf:
        assert cert.proven_zero or cert.log10_norm_lower == -math.inf
    else:
        assert cert.log10_norm_lower <= truth <= cert.log10_norm_upper
        ref = network_reference(p, x).log10_norm
        assert abs(ref - truth) <= 1e-13 * max(1.0, abs(truth))
