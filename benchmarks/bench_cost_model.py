"""Measure the per-step cost of each engine on this machine and fit T (a + b N^2 + c N^3).

Runs the three engines of ``gradproof product rnn`` (network forward pass included) for a few
state sizes N and horizons T, prints the seconds per step and the least-squares fit of
(a, b, c) that numerics.models.COST_MODEL records. Timings are wall-clock on a shared machine:
an estimate for the budget, not a test.

    python benchmarks/bench_cost_model.py
"""

from __future__ import annotations

import time

import numpy as np

from gradproof.numerics.cells import random_inputs, random_rnn_params, rnn_jacobians_scaled
from gradproof.numerics.engines import product_fast
from gradproof.numerics.formats import simulate_all_formats
from gradproof.numerics.models import model_jacobians
from gradproof.numerics.network import network_certified, network_reference, wrapping_estimate


def run(engine, n, T):
    p = random_rnn_params(n, n, seed=0, spectral_norm=1.0)
    x = random_inputs(T, n, seed=0)
    t0 = time.perf_counter()
    if engine == "fast":
        mj = model_jacobians("rnn", hidden=n, steps=T, spectral_norm=1.0)
        simulate_all_formats(mj.framework_jacobians)
        M, k = rnn_jacobians_scaled(p, x)
        product_fast(M, k)
        passes = 1.0
    elif engine == "reference":
        network_reference(p, x)
        passes = 2.5
    else:
        M, k = rnn_jacobians_scaled(p, x)
        network_certified(p, x, wrapping_bits=wrapping_estimate(np.ldexp(M, k[:, None, None])))
        passes = 1.5
    return (time.perf_counter() - t0) / T / passes


def main():
    rows = {}
    for engine, sizes, T in (("fast", (4, 16, 64, 128), 400), ("reference", (4, 16, 32), 60),
                             ("certified", (4, 16, 32, 64), 60)):
        pts = []
        for n in sizes:
            s = run(engine, n, T)
            pts.append((n, s))
            print(f"{engine:<10} N={n:<4} T={T:<4} {s * 1e3:.4f} ms/step")
        N = np.array([p[0] for p in pts], dtype=float)
        y = np.array([p[1] for p in pts])
        A = np.stack([np.ones_like(N), N ** 2, N ** 3], axis=1)
        coef, *_ = np.linalg.lstsq(A / y[:, None], np.ones_like(y), rcond=None)  # relative least squares
        rows[engine] = tuple(float(max(c, 0.0)) for c in coef)
        print(f"{engine}: a, b, c = {rows[engine]}")
    print("COST_MODEL =", {k: tuple(float(f"{c:.2g}") for c in v) for k, v in rows.items()})


if __name__ == "__main__":
    main()
