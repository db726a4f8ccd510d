"""Benchmark of the long-product engines (run on demand: ``python benchmarks/bench_products.py``).

For n x T in {1 x 1e5, 8 x 1e4, 32 x 1e3, 128 x 200}: the naive float64 product (a Python loop
of ``J_t @ P``, no rescaling; for n = 1 also ``np.prod``), the fast engine, an mpmath matrix
loop at 30 digits and the certified (Arb) engine. Jacobians: J_t = rho * G_t / sqrt(n) with
G_t standard normal (seed 0), rho = 0.9 for n > 1; for n = 1 factors uniform in [0.5, 1).

The mpmath loop is timed on the first steps until ``--mpmath-seconds`` have elapsed and
extrapolated linearly to T (marked with '~'). Errors are relative errors of ||P_T||_2 against
the midpoint of the certified enclosure, computed from the scaled forms (mantissa norm and
power-of-two exponent), not from the rounded log10 values: |(||M_f|| 2^(e_f - e_c)) / s_c - 1|.
Timings are best of ``--repeat`` runs (wall clock, time.perf_counter).
"""

from __future__ import annotations

import argparse
import math
import os
import time

# one BLAS thread: the naive loop and the engines are compared on equal terms, and the timings
# do not depend on how busy the other core is (set OPENBLAS_NUM_THREADS yourself to override)
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import mpmath  # noqa: E402
import numpy as np  # noqa: E402

# benchmarks import the installed package (pip install -e ".[bench]")

from gradproof.numerics.engines import product_certified, product_fast  # noqa: E402

SIZES = [(1, 100_000), (8, 10_000), (32, 1_000), (128, 200)]


def jacobians(n, T, seed=0):
    rng = np.random.default_rng(seed)
    if n == 1:
        return rng.uniform(0.5, 1.0, size=(T, 1, 1))
    return 0.9 * rng.standard_normal((T, n, n)) / math.sqrt(n)


def naive_loop(J):
    P = np.eye(J.shape[1])
    with np.errstate(under="ignore", over="ignore"):
        for Jt in J:
            P = Jt @ P
    return P


def best_time(fun, repeat):
    best, out = math.inf, None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fun()
        best = min(best, time.perf_counter() - t0)
    return best, out


def mpmath_loop_time(J, seconds):
    T, n, _ = J.shape
    with mpmath.workdps(30):
        P = mpmath.eye(n)
        t0 = time.perf_counter()
        done = 0
        for t in range(T):
            P = mpmath.matrix(J[t].tolist()) * P
            done += 1
            if time.perf_counter() - t0 > seconds:
                break
        el = time.perf_counter() - t0
    return el * T / done, done < T


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--mpmath-seconds", type=float, default=3.0)
    ap.add_argument("--sequential", action="store_true",
                    help="also time the certified engine with sequential association (slow)")
    args = ap.parse_args(argv)
    rows = []
    for n, T in SIZES:
        J = jacobians(n, T)
        t_naive, P = best_time(lambda: naive_loop(J), args.repeat)
        naive_norm = float(np.linalg.norm(P, 2)) if np.all(np.isfinite(P)) else float("nan")
        t_prod = None
        if n == 1:
            t_prod, _ = best_time(lambda: np.prod(J[:, 0, 0]), args.repeat)
        t_fast, fast = best_time(lambda: product_fast(J), args.repeat)
        t_mp, extrapolated = mpmath_loop_time(J, args.mpmath_seconds)
        t_cert, cert = best_time(lambda: product_certified(J, target_bits=53), 1)
        t_seq = None
        if args.sequential and n > 1:
            t_seq, _ = best_time(lambda: product_certified(J, target_bits=53, association="sequential"), 1)
        ex = cert.extra
        s_mid = 0.5 * (ex["scaled_norm_lower"] + ex["scaled_norm_upper"])
        s_fast = float(np.linalg.norm(fast.mantissa, 2)) * 2.0 ** (fast.exponent2 - ex["scale_exponent2"])
        rel = abs(s_fast / s_mid - 1.0)
        rows.append(dict(seq=t_seq, n=n, T=T, naive=t_naive, prod=t_prod, fast=t_fast, mp=t_mp, mp_extra=extrapolated,
                         cert=t_cert, rel=rel, bits=cert.certified_bits, prec=cert.precision_bits,
                         log10=cert.log10_norm, naive_norm=naive_norm))
    hdr = (f"{'n x T':>10} | {'naive s':>9} | {'fast s':>9} | {'fast/naive':>10} | {'mpmath s':>10} | "
           f"{'mp/fast':>9} | {'cert s':>8} | {'cert/fast':>9} | {'cert bits':>9} | {'prec':>5} | "
           f"{'rel err fast':>12} | log10||P||")
    print(hdr)
    print("-" * len(hdr))
    for r in rows:
        mp = ("~" if r["mp_extra"] else "") + f"{r['mp']:.3g}"
        print(f"{r['n']:>4} x {r['T']:<5g}| {r['naive']:>9.4f} | {r['fast']:>9.4f} | {r['fast'] / r['naive']:>10.2f} | "
              f"{mp:>10} | {r['mp'] / r['fast']:>9.0f} | {r['cert']:>8.3f} | {r['cert'] / r['fast']:>9.1f} | "
              f"{r['bits']:>9.1f} | {r['prec']:>5} | {r['rel']:>12.2e} | {r['log10']:.6f}")
    for r in rows:
        if r["prod"] is not None:
            print(f"n = 1: np.prod (vectorised naive) {r['prod']:.2e} s; fast engine / np.prod = {r['fast'] / r['prod']:.1f}; "
                  f"naive float64 result {'0 (underflow)' if r['naive_norm'] == 0 else r['naive_norm']}")
        if r["seq"] is not None:
            print(f"{r['n']} x {r['T']}: certified, sequential association: {r['seq']:.3f} s "
                  f"({r['seq'] / r['fast']:.0f}x fast)")
    print("'~' = mpmath loop timed on a prefix of the steps and extrapolated linearly to T.")


if __name__ == "__main__":
    main()
