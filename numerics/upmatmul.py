r"""Rigorous upper bounds of products of nonnegative float64 matrices, computed in float32 (sgemm).

The radius products of the ball tiers (:mod:`gradproof.numerics.midrad`) need only an UPPER BOUND
Z >= X Y (entrywise, exact real product) of nonnegative float64 stacks X (K, n, k), Y (K, k, m);
sgemm is about 2-2.5x faster than dgemm on this machine (OpenBLAS, one thread, n = 32..256).
``matmul_up32(X, Y)`` returns such a float64 Z computed as follows (per matrix j of the stack).

Constants: u32 = 2^-24, eta32 = 2^-149 (smallest float32 subnormal), u = 2^-53, eta = 2^-1074,
gamma32_k = k u32 / (1 - k u32), L = ceil(log2 k), M = floor((126 - L) / 2).

1. Scaling. mx = max X_j, my = max Y_j (exact), 2^(ex - 1) <= mx < 2^ex (frexp), and
   sx = M - ex, sy = M - ey, so that Xs = fl(X_j 2^sx) and Ys = fl(Y_j 2^sy) are < 2^M (as are
   their float32 roundings: 2^M is a float32 and rounding is monotone). Scaling by a power of two
   is exact except for results in float64's subnormal range, where the error is at most eta/2.
2. Conversion to float32 rounding to nearest: for v >= 0, v32 = fl32(v) satisfies either
   v32 = v (1 + d), |d| <= u32 (normal range), or |v32 - v| <= eta32 / 2 (subnormal range, gradual
   underflow), so v <= (v32 + eta32 / 2) / (1 - u32) in both cases; with step 1,
   x 2^sx <= (x32 + eta32) / (1 - u32) for every entry x (eta/2 <= eta32/2 (1 - u32)). Entries far
   below float32's range (x 2^sx < 2^-150) become 0 and are covered by the same bound: no entry
   has to be treated specially, since only an upper bound is needed.
3. The float32 product S = fl32(X32 Y32), any summation order (blocked, FMA or not), gradual
   underflow (Higham, "Accuracy and Stability of Numerical Algorithms", 2nd ed., sec. 3.1 and
   3.5, with the underflow term of each product, as in the float64 bounds of midrad):
   |S - X32 Y32| <= gamma32_k X32 Y32 + k eta32 for nonnegative factors, hence
   X32 Y32 <= (S + k eta32) / (1 - gamma32_k). No overflow: every partial sum is at most
   (1 + gamma32_k) k 2^(2M) < 2^127 (k 2^(2M) <= 2^126).
4. Summing step 2 over the k terms, with sum_i x32_i <= k 2^M and sum_i y32_i <= k 2^M:
   (X Y) 2^(sx + sy) <= [X32 Y32 + eta32 k 2^(M + 1) + k eta32^2] / (1 - u32)^2
                     <= c S + T0',   c = 1 / ((1 - gamma32_k)(1 - u32)^2),
   T0' = [k eta32 / (1 - gamma32_k) + eta32 k 2^(M + 1) + k eta32^2] / (1 - u32)^2.
5. Back to float64 (S is exact in float64) and unscaled, e = sx + sy, f = up(c / (1 - u)^2),
   T0 = up(T0' / (1 - u)), and per matrix t = fl(fl(2 T0 2^-e) + 4 eta) >= T0 2^-e + 2 eta (if
   fl(2 T0 2^-e) is normal it is exact, at least 2^-1022 >= 2 eta, and twice T0 2^-e; otherwise
   it is within eta/2 of 2 T0 2^-e and the addition of 4 eta is exact). If |e| <= 1000, g = 2^-e f
   is an exact (normal) float64 and Z = fl(fl(S g) + t); with fl(S g) >= S g (1 - u) - eta/2 and
   fl(w + t) >= (w + t)(1 - u) (as in ``midrad.inflate``):
   Z >= S 2^-e f (1 - u)^2 + (t - eta/2)(1 - u) >= c S 2^-e + T0 2^-e (1 - u) >= (c S + T0') 2^-e
     >= X Y entrywise.
   Otherwise V = fl(S 2^-e) (np.ldexp; S 2^-e <= V + eta/2) and Z = fl(fl(V f) + t): the same
   chain gives Z >= c V + T0' 2^-e + 1.5 eta (1 - u) >= c (V + eta/2) + T0' 2^-e (c < 2).
   Overflow of Z to +inf leaves an upper bound.

The relative inflation is c - 1 ~ k 2^-24 (2^-16 at k = 256), harmless on a radius; the absolute
term is about k 2^(-148 - M) mx my, i.e. ~2^-200 relative to the product's scale mx my (so Z is
+inf, still an upper bound, when mx my exceeds ~2^1200; the tiers' factors are below 2^34). Entries
of a product far below 2^-200 mx my lose their relative accuracy (float64 keeps it down to
2^-1074): an accuracy cost on products with such a dynamic range, never a soundness one.

Assumptions (checked at run time by ``fpenv.check_float32_kernels`` before this path is used, else
the callers keep float64): float64 -> float32 conversion and sgemm round to nearest, gradual
underflow (no FTZ/DAZ) in both, and sgemm is the classical O(n^3) product. Non-finite inputs
return None (the callers then use the float64 product, which propagates inf/NaN as before).
"""

from __future__ import annotations

import functools
from fractions import Fraction

import numpy as np

__all__ = ["matmul_up32", "sum_matmul_up32", "up32_constants"]

_U32 = Fraction(1, 2 ** 24)
_ETA32 = Fraction(1, 2 ** 149)
_U = Fraction(1, 2 ** 53)
_ETA = Fraction(1, 2 ** 1074)
ETA = 2.0 ** -1074


def _float_up(q: Fraction) -> float:
    import math

    f = float(q)
    if Fraction(f) < q:
        f = math.nextafter(f, math.inf)
    return f


@functools.lru_cache(maxsize=None)
def up32_constants(k: int):
    """(M, f, 2 T0) of the module docstring for inner dimension k (f, T0 float64, rounded up)."""
    k = int(k)
    L = max(0, (k - 1).bit_length())  # 2^L >= k
    if k * _U32 >= Fraction(1, 4) or L > 100:
        raise ValueError("inner dimension too large for the float32 bound")
    M = (126 - L) // 2
    g32 = k * _U32 / (1 - k * _U32)
    c = 1 / ((1 - g32) * (1 - _U32) ** 2)
    assert c < 2
    t0p = (k * _ETA32 / (1 - g32) + _ETA32 * k * 2 ** (M + 1) + k * _ETA32 ** 2) / (1 - _U32) ** 2
    return M, _float_up(c / (1 - _U) ** 2), 2.0 * _float_up(t0p / (1 - _U))


def _permax(x):
    return np.max(x, axis=(-2, -1)) if x.shape[-1] * x.shape[-2] > 1 else x[..., 0, 0]


def _exps(mx):
    """ex with 2^(ex - 1) <= mx < 2^ex (mx = 0: 0), as int64."""
    return np.frexp(mx)[1].astype(np.int64)


def _put32(out, x, s):
    """out[...] = fl32(fl64(x 2^s)), s an int64 array of per-matrix shifts."""
    if np.all(np.abs(s) <= 1000):
        np.multiply(x, np.ldexp(np.ones(s.shape), s.astype(np.int32))[..., None, None], out=out,
                    casting="same_kind")
    else:  # 2^s itself not a float64: ldexp (same rounding, exact except in the subnormal range)
        out[...] = np.ldexp(x, s.astype(np.int32)[..., None, None])


def sum_matmul_up32(pairs, matmul=np.matmul):
    """Z >= sum_i X_i Y_i exactly (entrywise) for nonnegative float64 stacks, by ONE sgemm.

    ``pairs``: [(X_i, Y_i, mx_i, my_i)], X_i (K, n, k_i), Y_i (K, k_i, m); mx_i, my_i (K,) upper
    bounds of the per-matrix maxima of X_i and Y_i (None: computed). The pairs are laid side by
    side, [X_1 X_2 ...] times [Y_1; Y_2; ...], a product of inner dimension k = sum k_i, so the
    module docstring applies with that k, once the scaled factors share one exponent sum: pair i
    gets sx_i = M - ex_i, sy_i = M - ey_i (ex from the bound mx_i) lowered by d_i = e_i - min_j e_j
    in total (e_i = sx_i + sy_i; half from each side), so every scaled factor stays below 2^M
    and every product of scaled entries below 2^(2M). Returns None if a bound is not finite
    (the callers then use float64 products).
    """
    K = pairs[0][0].shape[0]
    n, m = pairs[0][0].shape[-2], pairs[0][1].shape[-1]
    k = sum(p[0].shape[-1] for p in pairs)
    M, f, t2 = up32_constants(k)
    sx, sy = [], []
    for X, Y, mx, my in pairs:
        mx = _permax(X) if mx is None else mx
        my = _permax(Y) if my is None else my
        if not (np.all(np.isfinite(mx)) and np.all(np.isfinite(my))):
            return None
        sx.append(M - _exps(mx))
        sy.append(M - _exps(my))
    e = sx[0] + sy[0]
    for a, b in zip(sx[1:], sy[1:]):
        e = np.minimum(e, a + b)
    X32 = np.empty((K, n, k), dtype=np.float32)
    Y32 = np.empty((K, k, m), dtype=np.float32)
    off = 0
    for (X, Y, _, _), a, b in zip(pairs, sx, sy):
        d = a + b - e  # >= 0
        ki = X.shape[-1]
        _put32(X32[:, :, off:off + ki], X, a - d // 2)
        _put32(Y32[:, off:off + ki, :], Y, b - (d - d // 2))
        off += ki
    S = matmul(X32, Y32)
    me = -e  # Z = S 2^-e (c ...), module docstring step 5
    with np.errstate(over="ignore", under="ignore"):
        t = np.ldexp(np.full(me.shape, t2), me.astype(np.int32)) + 4 * ETA
        if np.all(np.abs(me) <= 1000):
            Z = np.multiply(S, (np.ldexp(np.ones(me.shape), me.astype(np.int32)) * f)[:, None, None])
        else:
            Z = np.ldexp(S.astype(np.float64), me.astype(np.int32)[:, None, None])
            Z *= f
        Z += t[:, None, None]
    return Z


def matmul_up32(X: np.ndarray, Y: np.ndarray, matmul=np.matmul):
    """Z >= X Y exactly (entrywise) for nonnegative float64 stacks X (K, n, k), Y (K, k, m), via sgemm;
    None if an input is not finite (module docstring). ``matmul``: the product (tests pass wrong ones)."""
    if X.ndim == 2:
        Z = sum_matmul_up32([(X[None], Y[None], None, None)], matmul)
        return None if Z is None else Z[0]
    return sum_matmul_up32([(X, Y, None, None)], matmul)
