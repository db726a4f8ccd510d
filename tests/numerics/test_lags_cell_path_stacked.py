"""The LSTM path decomposition of ``lags`` for stacked LSTMs (numerics.lags docstring), against
computations written here: the forget gates and finite differences of a plain numpy forward pass of
the PyTorch nn.LSTM equations (gates = W_ih u_t + b_ih + W_hh h_{t-1} + b_hh, chunks i, f, g, o;
c_t = f c_{t-1} + i g, h_t = o tanh(c_t); layer l reads h^{l-1}_t), no gradproof code and no autograd.

* W_hh = 0 in every layer and no coupling (W_ih of layer 1 = 0): c^l_T depends on c^l_{T-k} through
  the forget gates only, so d c_T / d c_{T-k} = F_k exactly: every rest is an exact 0 and the cell path
  is the largest product of one unit's forget gates, per layer;
* W_hh = 0 with coupling: each layer's own (c^l, c^l) block is still exactly F^l_k (rest null per
  layer), while the whole stack's rest is the c^0 -> c^1 block, d c^1_T / d c^0_{T-k};
* the general case: d c_T / d c_{T-k} by central differences of the forward pass (the state at step
  T-k perturbed), minus prod diag(f) of the same pass, against log10_rest and log10_rest_layers."""

from __future__ import annotations

import math

import numpy as np
import pytest

import gradproof

N, D, T = 3, 2, 14


def _sd(seed, w_hh=1.0, coupling=1.0):
    rng = np.random.default_rng(seed)
    sd = {}
    for layer, d_in in ((0, D), (1, N)):
        sd[f"weight_ih_l{layer}"] = rng.standard_normal((4 * N, d_in)) * (coupling if layer == 1 else 1.0)
        sd[f"weight_hh_l{layer}"] = w_hh * rng.standard_normal((4 * N, N))
        sd[f"bias_ih_l{layer}"] = rng.standard_normal(4 * N)
        sd[f"bias_hh_l{layer}"] = 0.5 * rng.standard_normal(4 * N)
    return sd


def _sig(z):
    return 1.0 / (1.0 + np.exp(-z))


def _step(sd, u, state):
    """One step of the 2-layer stack: (new state [(h0, c0), (h1, c1)], forget gates [f0, f1])."""
    new, forget = [], []
    for layer in range(2):
        h, c = state[layer]
        a = (sd[f"weight_ih_l{layer}"] @ u + sd[f"bias_ih_l{layer}"] + sd[f"weight_hh_l{layer}"] @ h
             + sd[f"bias_hh_l{layer}"])
        i, f, g, o = _sig(a[:N]), _sig(a[N:2 * N]), np.tanh(a[2 * N:3 * N]), _sig(a[3 * N:])
        c = f * c + i * g
        h = o * np.tanh(c)
        new.append((h, c))
        forget.append(f)
        u = h
    return new, forget


def _run(sd, x, start, state, stop=T):
    """Steps start+1..stop from ``state`` (inputs row t read at step t+1): final state, forget gates."""
    fs = []
    for t in range(start, stop):
        state, f = _step(sd, x[t], state)
        fs.append(np.concatenate(f))
    return state, np.array(fs)


def _oracle(sd, x, k, eps=1e-6):
    """(d c_T / d c_{T-k} by central differences (6 x 6, c = (c0, c1)), prod of the forget gates)."""
    zero = [(np.zeros(N), np.zeros(N)), (np.zeros(N), np.zeros(N))]
    state, _ = _run(sd, x, 0, zero, stop=T - k)
    _, fs = _run(sd, x, T - k, state)
    Q = np.zeros((2 * N, 2 * N))
    for j in range(2 * N):
        outs = []
        for sign in (1.0, -1.0):
            st = [(h.copy(), c.copy()) for h, c in state]
            st[j // N][1][j % N] += sign * eps
            fin, _ = _run(sd, x, T - k, st)
            outs.append(np.concatenate([fin[0][1], fin[1][1]]))
        Q[:, j] = (outs[0] - outs[1]) / (2 * eps)
    return Q, np.prod(fs, axis=0)


def _files(tmp_path, sd, seed):
    x = np.random.default_rng(seed + 100).standard_normal((T, D))
    np.savez(tmp_path / "w.npz", **sd)
    np.save(tmp_path / "x.npy", x)
    return str(tmp_path / "w.npz"), str(tmp_path / "x.npy"), x


def _log10_2norm(A):
    n = float(np.linalg.norm(A, 2))
    return math.log10(n) if n > 0 else None


@pytest.mark.parametrize("engine", ["fast", "reference"])
def test_uncoupled_stack_with_no_feedback_is_pure_cell_path(tmp_path, engine):
    sd = _sd(1, w_hh=0.0, coupling=0.0)
    w, xp, x = _files(tmp_path, sd, 1)
    rep = gradproof.lags("lstm", weights=w, inputs=xp, engine=engine)
    for item in rep.lags:
        k = item["lag"]
        _, F = _oracle(sd, x, k)
        assert item["log10_rest"] is None and item["log10_rest_layers"] == [None, None]
        want = [math.log10(np.max(F[:N])), math.log10(np.max(F[N:]))]
        np.testing.assert_allclose(item["log10_cell_path_layers"], want, rtol=1e-12, atol=1e-13)
        assert item["log10_cell_path"] == pytest.approx(max(want), rel=1e-12, abs=1e-13)
    # no coupling: layer 1's gates are constants (sigma of its biases), its cell path k log10 max f
    f1 = _sig(sd["bias_ih_l1"][N:2 * N] + sd["bias_hh_l1"][N:2 * N])
    assert rep.lags[T - 1]["log10_cell_path_layers"][1] == pytest.approx(T * math.log10(f1.max()), rel=1e-12)


@pytest.mark.parametrize("engine", ["fast", "reference"])
def test_coupled_stack_with_no_feedback_rest_is_the_cross_layer_block(tmp_path, engine):
    sd = _sd(2, w_hh=0.0)
    w, xp, x = _files(tmp_path, sd, 2)
    rep = gradproof.lags("lstm", weights=w, inputs=xp, engine=engine)
    for item in rep.lags:
        k = item["lag"]
        Q, F = _oracle(sd, x, k)
        assert item["log10_rest_layers"] == [None, None]  # each layer's own c-to-c block: F^l exactly
        np.testing.assert_allclose(np.diag(Q), F, rtol=1e-6, atol=1e-9)  # central differences: ~1e-10 absolute
        cross = _log10_2norm(Q[N:, :N])  # d c^1_T / d c^0_{T-k}: the only rest of the stack
        if k == 1:
            assert item["log10_rest"] is not None  # c^0_{T-1} -> c^0_T -> h^0_T -> c^1_T within the step
        assert item["log10_rest"] == pytest.approx(cross, abs=1e-6)


@pytest.mark.parametrize("engine", ["fast", "reference", "certified"])
def test_general_stack_rest_against_finite_differences(tmp_path, engine):
    sd = _sd(3)
    w, xp, x = _files(tmp_path, sd, 3)
    rep = gradproof.lags("lstm", weights=w, inputs=xp, engine=engine)
    for k in (1, 2, 5, T):
        item = rep.lags[k - 1]
        Q, F = _oracle(sd, x, k)
        R = Q - np.diag(F)
        assert item["log10_rest"] == pytest.approx(_log10_2norm(R), abs=1e-6)
        for layer in range(2):
            sl = slice(layer * N, (layer + 1) * N)
            got, want = item["log10_rest_layers"][layer], _log10_2norm(R[sl, sl]) if k > 1 else None
            assert (got is None) == (want is None) or engine == "certified"
            if want is not None:
                assert got == pytest.approx(want, abs=1e-6)
            assert item["log10_cell_path_layers"][layer] == pytest.approx(math.log10(np.max(F[sl])), abs=1e-12)
        if engine != "fast":
            assert item["log10_rest_fast"] == pytest.approx(item["log10_rest"], abs=1e-12)
