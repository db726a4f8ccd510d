"""Worst disagreement with the truth over a set of configurations, and the certified engine's cost.

For each configuration (RNN tanh/sigmoid/relu/identity, LSTM, GRU; saturated, chaotic, contracting,
near-singular), the independent oracle of tests/numerics/test_network_truth_oracle.py (mpmath scalar loops from the
PyTorch equations, textbook derivatives at high precision) gives the truth; the fast, reference
and certified engines are run on the same network and timed in the same run (fast: float64
Jacobians, forward pass included, and the rescaled product; certified: forward pass, derivatives
and product in Arb). Prints one line per configuration and the summary quoted in the README.

    python benchmarks/bench_truth.py
"""

from __future__ import annotations

import math
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from test_truth_oracle import oracle_log10_norm  # noqa: E402

from gradproof.numerics.cells import (GRUParams, RNNParams, gru_jacobians, lstm_jacobians,  # noqa: E402
                                      random_gru_params, random_inputs, random_lstm_params, random_rnn_params,
                                      rnn_jacobians_scaled)
from gradproof.numerics.engines import product_fast  # noqa: E402
from gradproof.numerics.lyapunov import largest_lyapunov  # noqa: E402
from gradproof.numerics.network import network_certified, network_reference, wrapping_estimate  # noqa: E402


def configs():
    out = []
    for act in ("tanh", "sigmoid", "relu", "identity"):
        for n in (1, 3, 5):
            for scale, seed in ((0.8, 0), (1.5, 1), (3.0, 2)):
                if act == "identity" and scale > 1:
                    scale = 0.9
                out.append((f"rnn-{act}-n{n}-s{scale}-seed{seed}", "rnn",
                            random_rnn_params(n, 2, seed=seed, activation=act, spectral_norm=scale),
                            random_inputs(60, 2, seed=seed), 60))
    for act in ("sigmoid", "tanh"):
        for z in (20.0, 40.0, 200.0, 800.0):
            p = RNNParams(W_rec=np.array([[0.5, 0.25], [-0.5, 1.0]]), W_in=np.array([[1.0], [0.5]]),
                          b=np.array([z, -z / 2]), activation=act)
            out.append((f"rnn-{act}-saturated-z{z:g}", "rnn", p, np.zeros((3, 1)),
                        60 + int(0.9 * z * (2 if act == "tanh" else 1))))
    base = random_rnn_params(6, 6, seed=1)
    out.append(("rnn-tanh-chaotic-n6-x6", "rnn", RNNParams(W_rec=6 * base.W_rec, W_in=base.W_in, b=base.b),
                0.1 * random_inputs(300, 6, seed=1), 140))
    rng = np.random.default_rng(5)
    U, _ = np.linalg.qr(rng.standard_normal((4, 4)))
    V, _ = np.linalg.qr(rng.standard_normal((4, 4)))
    out.append(("rnn-tanh-near-singular", "rnn", RNNParams(W_rec=U @ np.diag([1.5, 1, 1e-9, 1e-13]) @ V.T,
                                                           W_in=rng.standard_normal((4, 2)), b=np.zeros(4)),
                random_inputs(40, 2, seed=5), 60))
    for seed in range(5):
        for fb in (1.0, 20.0):
            lp = random_lstm_params(3, 2, seed=seed, forget_bias=fb)
            out.append((f"lstm-n3-fb{fb:g}-seed{seed}", "lstm", lp, random_inputs(40, 2, seed=seed), 60 + int(fb)))
        for gb in (0.0, 25.0):
            gp = random_gru_params(3, 2, seed=seed)
            b = gp.b_ih.copy()
            b[3:6] += gb
            out.append((f"gru-n3-zb{gb:g}-seed{seed}", "gru", GRUParams(W_ih=gp.W_ih, W_hh=gp.W_hh, b_ih=b, b_hh=gp.b_hh),
                        random_inputs(40, 2, seed=seed), 60 + int(gb)))
    return out


def fast_run(model, p, x):
    if model == "rnn":
        M, k = rnn_jacobians_scaled(p, x)
        return product_fast(M, k).log10_norm, np.ldexp(M, k[:, None, None])
    J = lstm_jacobians(p, x).full if model == "lstm" else gru_jacobians(p, x)
    return product_fast(J).log10_norm, J


def main():
    rows = []
    t_fast = t_cert = t_ref = 0.0
    for name, model, p, x, dps in configs():
        truth = oracle_log10_norm(model, p, x, dps)
        t0 = time.perf_counter()
        fast, J = fast_run(model, p, x)
        t1 = time.perf_counter()
        lam = largest_lyapunov(J)
        t2 = time.perf_counter()
        cert = network_certified(p, x, lyapunov=lam, wrapping_bits=wrapping_estimate(J))
        t3 = time.perf_counter()
        ref = network_reference(p, x, lyapunov=lam)
        t4 = time.perf_counter()
        t_fast += t1 - t0
        t_cert += t3 - t2
        t_ref += t4 - t3
        if truth == -math.inf:
            inside = cert.proven_zero
            d_ref = 0.0 if ref.log10_norm == -math.inf else math.inf
            d_fast = 0.0 if fast == -math.inf else math.inf
        else:
            inside = cert.log10_norm_lower <= truth <= cert.log10_norm_upper
            d_ref = abs(ref.log10_norm - truth)
            d_fast = abs(fast - truth)
        rows.append((name, truth, d_ref, d_fast, inside, cert.certified_bits))
        print(f"{name:<32} truth {truth:>22.15f}  |ref-truth| {d_ref:.1e}  |fast-truth| {d_fast:.1e}  "
              f"certified contains truth: {inside} ({cert.certified_bits:.0f} bits, {cert.precision_bits} prec)",
              flush=True)
    print(f"\nconfigurations: {len(rows)}")
    print(f"certified interval contains the truth: {sum(r[4] for r in rows)}/{len(rows)}")
    print(f"worst |reference - truth| (decades): {max(r[2] for r in rows):.2e}")
    print(f"worst |fast - truth| (decades): {max(r[3] for r in rows):.2e} "
          f"({max(rows, key=lambda r: r[3])[0]})")
    print(f"fewest certified bits: {min(r[5] for r in rows):.1f}")
    print(f"time: fast {t_fast:.3f} s, certified {t_cert:.2f} s ({t_cert / t_fast:.0f}x fast), "
          f"reference {t_ref:.2f} s ({t_ref / t_fast:.0f}x fast)")


if __name__ == "__main__":
    main()
