"""Stacked networks and ``--layer K`` in the high-precision engines, against an independent oracle.

The oracle is written here from the PyTorch cell equations of a 2-layer nn.RNN (tanh):
h^0_t = tanh(W_ih0 x_t + W_hh0 h^0_{t-1} + b_0), h^1_t = tanh(W_ih1 h^0_t + W_hh1 h^1_{t-1} + b_1),
as plain mpmath scalar loops at hundreds of digits (no numpy arithmetic, no gradproof code): layer 1's
one-step Jacobian dh^1_t/dh^1_{t-1} = diag(1 - (h^1_t)^2) W_hh1, the stack's block Jacobian
[[J^0, 0], [diag(1 - (h^1_t)^2) W_ih1 J^0, J^1]], products by scalar loops, ||P||_2 from mpmath.eigsy.

The case: layer 0 is chaotic (largest Lyapunov exponent ~0.14 per step), so over T = 300 steps its
float64 outputs have no correct digit left; layer 1 reads them. The truth of ``--layer 1`` is layer 1's
product on the network's own h^0_t; an engine that feeds layer 1 the float64 h^0_t encloses the product
of another network (before the fix: reference and certified gave -141.2468575897428, the oracle is
-138.7262792047107)."""

from __future__ import annotations

import json
import math

import mpmath
import numpy as np
import pytest

from gradproof.numerics.lags import lag_profile
from gradproof.numerics.network import network_certified, network_reference
from gradproof.numerics.product_report import product_report
from gradproof.reports.cli import main

N, T, D = 6, 300, 2


def _case():
    rng = np.random.default_rng(1)
    W0 = 6.0 * rng.standard_normal((N, N)) / math.sqrt(N)
    U0 = rng.standard_normal((N, D))
    W1 = rng.standard_normal((N, N)) / math.sqrt(N)
    U1 = rng.standard_normal((N, N))
    b0, b1 = 0.1 * rng.standard_normal(N), 0.1 * rng.standard_normal(N)
    x = 0.1 * rng.standard_normal((T, D))
    return W0, U0, b0, W1, U1, b1, x


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    W0, U0, b0, W1, U1, b1, x = _case()
    d = tmp_path_factory.mktemp("stack")
    np.savez(d / "w.npz", weight_ih_l0=U0, weight_hh_l0=W0, bias_ih_l0=b0, bias_hh_l0=np.zeros(N),
             weight_ih_l1=U1, weight_hh_l1=W1, bias_ih_l1=b1, bias_hh_l1=np.zeros(N))
    np.save(d / "x.npy", x)
    return d / "w.npz", d / "x.npy"


# ----------------------------------------------------------------------------- the oracle
def _mp(A):
    return [[mpmath.mpf(float(v)) for v in row] for row in np.atleast_2d(A).tolist()]


def _mv(A, v):
    return [mpmath.fsum(a * b for a, b in zip(row, v)) for row in A]


def _mm(A, B):
    return [[mpmath.fsum(A[i][k] * B[k][j] for k in range(len(B))) for j in range(len(B[0]))] for i in range(len(A))]


def _log10_norm(P):
    n = len(P[0])
    G = mpmath.matrix([[mpmath.fsum(P[k][i] * P[k][j] for k in range(len(P))) for j in range(n)] for i in range(n)])
    return float(mpmath.log10(max(mpmath.eigsy(G, eigvals_only=True))) / 2)


def _oracle(dps, lags=(T,), whole_stack=False):
    """{lag: log10 ||d s_T / d s_{T-k}||_2} of layer 1 alone (or of the whole stack) at dps digits."""
    W0, U0, b0, W1, U1, b1, x = _case()
    with mpmath.workdps(dps):
        A0, B0, c0, A1, B1, c1 = _mp(W0), _mp(U0), _mp(b0)[0], _mp(W1), _mp(U1), _mp(b1)[0]
        h0 = [mpmath.mpf(0)] * N
        h1 = [mpmath.mpf(0)] * N
        Js = []
        for t in range(T):
            h0 = [mpmath.tanh(a + b + c) for a, b, c in zip(_mv(A0, h0), _mv(B0, _mp(x[t])[0]), c0)]
            J0 = [[(1 - h0[i] ** 2) * A0[i][j] for j in range(N)] for i in range(N)]
            h1 = [mpmath.tanh(a + b + c) for a, b, c in zip(_mv(A1, h1), _mv(B1, h0), c1)]
            J1 = [[(1 - h1[i] ** 2) * A1[i][j] for j in range(N)] for i in range(N)]
            if whole_stack:
                X1 = [[(1 - h1[i] ** 2) * B1[i][j] for j in range(N)] for i in range(N)]
                low = _mm(X1, J0)
                Js.append([J0[i] + [mpmath.mpf(0)] * N for i in range(N)] + [low[i] + J1[i] for i in range(N)])
            else:
                Js.append(J1)
        out, Q = {}, None
        for k in range(1, T + 1):  # Q_k = Q_{k-1} J_{T-k+1}
            Q = Js[T - k] if Q is None else _mm(Q, Js[T - k])
            if k in lags:
                out[k] = _log10_norm(Q)
        return out


@pytest.fixture(scope="module")
def oracle():
    a = _oracle(150, lags=(1, 150, T))
    b = _oracle(200, lags=(1, 150, T))
    for k in a:  # the oracle at two precisions: its digits are settled
        assert abs(a[k] - b[k]) < 1e-13
    return b


def _close(a, b):
    return abs(a - b) <= 1e-13 * max(1.0, abs(b))


def test_layer_one_reference_and_certified_are_the_networks_own_value(files, oracle):
    w, x = files
    truth = oracle[T]
    fast = product_report("rnn", weights_path=w, inputs_path=x, layer=1, engine="fast")
    assert abs(fast.log10_norm - truth) > 1.0  # float64 h^0 is another trajectory: off by decades
    assert not fast.reliability["fast_reliable"]  # and the fast engine says so: the chaos below reaches layer 1
    ref = product_report("rnn", weights_path=w, inputs_path=x, layer=1, engine="reference")
    assert _close(ref.log10_norm, truth), (ref.log10_norm, truth)
    cert = product_report("rnn", weights_path=w, inputs_path=x, layer=1, engine="certified")
    assert cert.log10_norm_lower <= truth <= cert.log10_norm_upper
    assert cert.certified_bits >= 40
    assert any("computed in the engine's own arithmetic" in n for n in ref.notes)


def test_layer_one_cli_json(files, oracle, capsys):
    w, x = files
    rc = main(["product", "rnn", "--weights", str(w), "--inputs", str(x), "--layer", "1", "--engine", "reference",
               "--json"])
    d = json.loads(capsys.readouterr().out)
    assert rc == 0 and d["layers"]["analysed"] == [1]
    assert _close(d["log10_norm"], oracle[T])


def test_tiered_certified_on_a_layer_of_a_stack(files, oracle):
    w, x = files
    cert = product_report("rnn", weights_path=w, inputs_path=x, layer=1, engine="certified", bits=40)
    assert cert.log10_norm_lower <= oracle[T] <= cert.log10_norm_upper


def test_lags_of_layer_one_reference(files, oracle):
    w, x = files
    ref = lag_profile("rnn", engine="reference", weights_path=w, inputs_path=x, layer=1, force=True)
    for k, truth in oracle.items():
        assert _close(ref.lags[k - 1]["log10_norm"], truth), (k, ref.lags[k - 1]["log10_norm"], truth)
    assert abs(ref.lags[T - 1]["log10_norm_fast"] - oracle[T]) > 1.0
    assert "agrees with the run at" in ref.precision


@pytest.mark.slow
def test_lags_of_layer_one_certified(files, oracle):
    """The start precision counts the radii growth of the chaotic layer below (one attempt suffices)."""
    w, x = files
    cert = lag_profile("rnn", engine="certified", weights_path=w, inputs_path=x, layer=1, force=True)
    for k, truth in oracle.items():
        c = cert.lags[k - 1]
        assert c["log10_norm_lower"] <= truth <= c["log10_norm_upper"], (k, c, truth)
        assert c["certified_bits"] >= 53
    assert "attempts (prec, bits): [(" in cert.precision and cert.precision.count("), (") == 0


def test_whole_stack_reference_and_certified_against_the_oracle(files):
    W0, U0, b0, W1, U1, b1, x = _case()
    truth = _oracle(160, whole_stack=True)[T]
    from gradproof.numerics.checkpoint import load_stack

    st = load_stack(files[0], "rnn")
    assert _close(network_reference(st.layers, x, lyapunov=0.14).log10_norm, truth)
    r = network_certified(st.layers, x, lyapunov=0.14)
    assert r.log10_norm_lower <= truth <= r.log10_norm_upper


def test_layer_of_stack_checks_its_sizes():
    from gradproof.numerics.network import LayerOfStack

    from gradproof.numerics.cells import random_rnn_params
    from gradproof.numerics.errors import InputError

    with pytest.raises(InputError, match="cannot read"):
        LayerOfStack(below=(random_rnn_params(3, 2, seed=0),), layer=random_rnn_params(4, 4, seed=0))
    with pytest.raises(InputError, match="at least one layer below"):
        LayerOfStack(below=(), layer=random_rnn_params(4, 4, seed=0))


@pytest.mark.slow
def test_reference_lags_raise_the_precision_until_two_agree(files, oracle, monkeypatch):
    """Started too low (no chaos bits: the Lyapunov exponent hidden; 4 instead of 60 bits for the printed
    digits), the reference profile's first two precisions disagree on the chaotic lower layer (which costs
    about 59 bits); it raises them until two agree, and is right."""
    import gradproof.numerics.models as models
    import gradproof.numerics.network as network

    w, x = files
    monkeypatch.setattr(models.ModelJacobians, "truth_lyapunov", lambda self, lam: None)
    monkeypatch.setattr(network, "PRINTED_DIGITS", 1)
    ref = lag_profile("rnn", engine="reference", weights_path=w, inputs_path=x, layer=1, force=True)
    assert "agrees with the run at" in ref.precision and "precisions tried (bits)" in ref.precision
    assert _close(ref.lags[T - 1]["log10_norm"], oracle[T])


@pytest.mark.parametrize("model, fname", [("lstm", "lstm2_wrapped.npz"), ("gru", "gru2.npz"), ("rnn", "rnn2.npz")])
def test_layer_of_stack_jacobians_are_the_diagonal_block_of_the_stack(model, fname):
    """At 50 digits, layer 1 alone (LayerOfStack) has the one-step Jacobians of the (1, 1) block of the whole
    stack's (whose high-precision values match PyTorch autograd: tests/numerics/test_checkpoint.py)."""
    from pathlib import Path

    from gradproof.numerics.checkpoint import load_stack
    from gradproof.numerics.network import LayerOfStack, network_jacobians

    data = next(p for p in Path(__file__).resolve().parents if (p / "pyproject.toml").is_file()) / "tests" / "data"
    st = load_stack(data / "checkpoints" / fname, model)
    x = np.load(data / "checkpoints" / "inputs_batch.npy")[1][:12]
    whole = network_jacobians(st.layers, x, dps=50)
    alone = network_jacobians(LayerOfStack(below=st.layers[:1], layer=st.layers[1]), x, dps=50)
    N0 = whole[0].rows - alone[0].rows
    with mpmath.workdps(50):
        for Jw, Ja in zip(whole, alone):
            for i in range(Ja.rows):
                for j in range(Ja.cols):
                    assert abs(Jw[N0 + i, N0 + j] - Ja[i, j]) <= mpmath.mpf(10) ** -45 * (1 + abs(Ja[i, j]))
