"""Benchmark of the tiered certified engine (run on demand: ``python benchmarks/bench_certified.py``).

For n x T in {1 x 1e5, 8 x 1e4, 32 x 1e3, 128 x 200, 32 x 1e4, 256 x 1000}, in one run: the fast
engine (``engines.product_fast``), each float tier forced on its own
(``tiers=("float",)``, ``("qr",)``, ``("ddnorm",)`` and ``("dd",)`` with bits=1, which reports the bits
the tier reaches), and the driver ``tiers.certify_product`` asked for 10 and for 30 bits (it picks
the tier). The double-double tier and the 10-bit driver run a second time with float64 radius
products forced (``float32_radii=False``; by default the tiers use float32 upper bounds of them at
n >= 256, ``tiers.FLOAT32_RADII_MIN_N``; below that both runs are the same code, so their ratio
shows the timing noise). Each is timed ``--repeat`` times, the nine alternating within a round (so load changes hit all alike), and
the best time is kept; ratios are certified time / fast time of the same run. Jacobians as in bench_products.py:
J_t = 0.9 G_t / sqrt(n), G_t standard normal (seed 0); n = 1: factors uniform in [0.5, 1); they are
float64 point matrices (radius 0).

Memory: the driver is run again on a STREAMING source (chunks generated on demand from the same
seeded generator, so the factors are identical and the enclosure must be too) under tracemalloc;
the peak of traced allocations is compared with the size of the whole (T, n, n) stack.

Containment: every enclosure of log10 ||P_T||_2 is checked against the Arb engine at 64 target
bits (the driver's Arb tier) where that is affordable (``--arb-check-max-work`` in n^3 T); the
30-bit driver may fall back to Arb only below ``--arb-max-work`` (else it stops after dd and the
table shows the bits dd reached).
"""

from __future__ import annotations

import argparse
import math
import os
import time
import tracemalloc

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402

from gradproof.numerics.engines import product_fast  # noqa: E402
from gradproof.numerics.tiers import certify_product, source_from_chunks  # noqa: E402

from bench_products import jacobians  # noqa: E402  (the same Jacobians; run from benchmarks/)

SIZES = [(1, 100_000), (8, 10_000), (32, 1_000), (128, 200), (32, 10_000), (256, 1_000)]


def streaming_source(n, T, seed=0):
    def make(size):
        rng = np.random.default_rng(seed)
        done = 0
        while done < T:
            k = min(size, T - done)
            if n == 1:
                yield rng.uniform(0.5, 1.0, size=(k, 1, 1)), None
            else:
                yield 0.9 * rng.standard_normal((k, n, n)) / math.sqrt(n), None
            done += k

    return source_from_chunks(make, hidden=n, steps=T, point=True)


def interleaved(runs, repeat):
    """Best wall time of each runner over ``repeat`` rounds, the runners alternating within a
    round, so that a change of machine load affects all of them alike."""
    best = {k: math.inf for k in runs}
    out = {}
    for _ in range(repeat):
        for k, fun in runs.items():
            t0 = time.perf_counter()
            out[k] = fun()
            best[k] = min(best[k], time.perf_counter() - t0)
    return best, out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--arb-check-max-work", type=float, default=4e7,
                    help="check containment against Arb when n^3 T is at most this")
    ap.add_argument("--arb-max-work", type=float, default=5e8,
                    help="let the 30-bit driver fall back to Arb only when n^3 T is at most this")
    ap.add_argument("--sizes", default="", help="e.g. 32x1000,8x10000 (default: the six of issue 14)")
    args = ap.parse_args(argv)
    sizes = SIZES if not args.sizes else [tuple(int(float(v)) for v in s.split("x")) for s in args.sizes.split(",")]
    print(f"load average at start: {os.getloadavg()[0]:.2f} (2 cores); OPENBLAS_NUM_THREADS="
          f"{os.environ.get('OPENBLAS_NUM_THREADS')}")
    rows = []
    for n, T in sizes:
        J = jacobians(n, T)
        # Arb (the last tier) costs ~150x fast at n = 32..128 and minutes at 256 x 1000: not run there
        tiers30 = (("float", "qr", "ddnorm", "dd", "arb") if n ** 3 * T <= args.arb_max_work
                   else ("float", "qr", "ddnorm", "dd"))
        runs = {"fast": lambda: product_fast(J),
                "float": lambda: certify_product(J, bits=1, tiers=("float",)),
                "qr": lambda: certify_product(J, bits=1, tiers=("qr",)),
                "ddnorm": lambda: certify_product(J, bits=1, tiers=("ddnorm",)),
                "dd": lambda: certify_product(J, bits=1, tiers=("dd",)),
                "b10": lambda: certify_product(J, bits=10),
                "b30": lambda: certify_product(J, bits=30, tiers=tiers30),
                "dd64": lambda: certify_product(J, bits=1, tiers=("dd",), float32_radii=False),
                "b10_64": lambda: certify_product(J, bits=10, float32_radii=False)}
        best, out = interleaved(runs, args.repeat)
        r = dict(n=n, T=T, fast=best["fast"], fast_log10=out["fast"].log10_norm)
        for key in ("float", "qr", "ddnorm", "dd", "dd64"):
            r[key] = (best[key], out[key].certified_bits, out[key])
        for key in ("b10", "b30", "b10_64"):
            r[key] = (best[key], out[key].certified_bits, out[key].tier, out[key])
        stack_mb = J.nbytes / 2 ** 20
        del J
        tracemalloc.start()
        res_s = certify_product(streaming_source(n, T), bits=10)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        r["stream"] = (peak / 2 ** 20, stack_mb, res_s)
        same = (res_s.log10_norm_lower == r["b10"][3].log10_norm_lower
                and res_s.log10_norm_upper == r["b10"][3].log10_norm_upper)
        r["stream_same"] = same
        if n ** 3 * T <= args.arb_check_max_work:
            arb = certify_product(jacobians(n, T), bits=64, tiers=("arb",))
            ok = all(res.log10_norm_lower <= arb.log10_norm_upper and arb.log10_norm_lower <= res.log10_norm_upper
                     and res.log10_norm_lower <= arb.log10_norm <= res.log10_norm_upper
                     for res in (r["float"][2], r["qr"][2], r["ddnorm"][2], r["dd"][2], r["b10"][3], r["b30"][3]))
            r["arb"] = ok
        else:
            r["arb"] = None
        rows.append(r)
        print(f"done {n} x {T}", flush=True)
    print(f"load average at end: {os.getloadavg()[0]:.2f}")
    hdr = (f"{'n x T':>11} | {'fast s':>8} | {'float/fast':>10} | {'float bits':>10} | {'qr/fast':>7} | "
           f"{'qr bits':>7} | {'ddnorm/fast':>11} | {'ddnorm bits':>11} | {'dd/fast':>7} | "
           f"{'dd bits':>7} | {'10 bits: tier, x fast':>22} | {'30 bits: tier, x fast, bits':>28} | "
           f"{'peak MB (stack MB)':>18} | arb check | {'dd r64/fast, bits':>17} | {'10 bits r64: tier, x fast':>26}")
    print(hdr)
    print("-" * len(hdr))
    for r in rows:
        f, q, dn, d, b10, b30 = r["float"], r["qr"], r["ddnorm"], r["dd"], r["b10"], r["b30"]
        pk, st, _ = r["stream"]
        arb = {True: "contained", False: "FAILED", None: "-"}[r["arb"]]
        print(f"{r['n']:>4} x {r['T']:<6g}| {r['fast']:>8.4f} | {f[0] / r['fast']:>10.2f} | {f[1]:>10.1f} | "
              f"{q[0] / r['fast']:>7.2f} | {q[1]:>7.1f} | {dn[0] / r['fast']:>11.2f} | {dn[1]:>11.1f} | "
              f"{d[0] / r['fast']:>7.2f} | {d[1]:>7.1f} | {b10[2]:>6} {b10[0] / r['fast']:>6.2f}x ({b10[1]:5.1f}) | "
              f"{b30[2]:>6} {b30[0] / r['fast']:>7.2f}x {b30[1]:>9.1f} | {pk:>8.1f} ({st:>7.1f}) | {arb}"
              f"{'' if r['stream_same'] else ' STREAM DIFFERS'} | {r['dd64'][0] / r['fast']:>7.2f} {r['dd64'][1]:>9.1f} | "
              f"{r['b10_64'][2]:>6} {r['b10_64'][0] / r['fast']:>6.2f}x ({r['b10_64'][1]:5.1f}) | radii: "
              f"{r['dd'][2].extra.get('radius_products', '-')[:7]}")
    print("bits = certified relative accuracy of ||P_T||_2 (-log2(sigma_hi/sigma_lo - 1)); the 10- and 30-bit "
          "columns are the driver (cheapest tier that certifies); peak MB = tracemalloc peak of the streaming run.")


if __name__ == "__main__":
    main()
