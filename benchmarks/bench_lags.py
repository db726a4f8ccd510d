"""Time the per-lag profile's suffix products: one backward sweep against T separate products.

    python benchmarks/bench_lags.py [--repeat 3]

For S x T in {8 x 1000, 32 x 300}: random Jacobians M_t = 0.9 G_t / sqrt(S) (seed 0), all norms
log10 ||M_T ... M_{T-k+1}||_2 for k = 1..T by (a) numerics.lags.suffix_log10_norms (one sweep, right to
left, power-of-two rescaling) and (b) product_fast on every suffix separately (the baseline: T products);
prints both times, their ratio and the largest difference of the two results in log10. One BLAS thread.
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402

from gradproof.numerics.engines import product_fast  # noqa: E402
from gradproof.numerics.lags import suffix_log10_norms  # noqa: E402


def best(f, repeat):
    out, times = None, []
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = f()
        times.append(time.perf_counter() - t0)
    return min(times), out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=3)
    a = ap.parse_args()
    print("| S x T | sweep s | T products s | products/sweep | max |diff| log10 |")
    print("|---|---|---|---|---|")
    for S, T in ((8, 1000), (32, 300)):
        M = 0.9 * np.random.default_rng(0).standard_normal((T, S, S)) / np.sqrt(S)
        ts, sweep = best(lambda: suffix_log10_norms(M)[0], a.repeat)
        tp, sep = best(lambda: np.array([product_fast(M[T - k:]).log10_norm for k in range(1, T + 1)]), a.repeat)
        print(f"| {S} x {T} | {ts:.4f} | {tp:.3f} | {tp / ts:.0f} | {np.max(np.abs(sweep - sep)):.1e} |")


if __name__ == "__main__":
    main()
