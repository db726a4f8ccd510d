r"""Double-double midpoints with one normwise error bound per matrix: the certified tier for large n.

A *norm ball* <hi + lo, e> 2^exp (hi, lo float64 n x n, e >= 0 a float, exp an integer) is the set
of real matrices X with ||X - (hi + lo) 2^exp||_F <= e 2^exp. Compared with the entrywise balls of
:mod:`gradproof.numerics.midrad` it carries ONE number instead of a radius matrix, so a product
costs the three float64 matmuls of the double-double midpoint (``midrad._mul_dd``: the error-free
split of Ozaki, Ogita, Oishi & Rump, Numer. Algorithms 59, 2012) and O(n^2) more work, instead of
two more radius products and ~15 elementwise passes. What it gives up: an entrywise radius wraps
by |A||B| / |AB| ~ 0.8 sqrt(n) per tree level, the normwise bound by
||A||_F ||B||_F / ||AB||_F ~ sqrt(n) on the lowest levels (Gaussian factors) and, higher up, where
the blocks are nearly of low rank, by the misalignment of their singular vectors (again ~ sqrt n).
At n = 256 the two lose about the same per level (4.7 and 5 bits), below n ~ 128 the entrywise
balls keep more (benchmarks/README.md), hence the tier order of :mod:`gradproof.numerics.tiers`.

The product C = A B of two norm balls (A newer, B older), with mA = Ahi + Alo (exact sum) and
||A - mA||_F <= eA, likewise B. Split (``midrad._split``) Ahi = A1 + A2 and Bhi = B1 + B2 error-free,
At = fl(A2 + Alo), Bt = fl(B2 + Blo), Bs = fl(Bhi + Blo); then hi(C) = A1 B1 (EXACT in any summation
order) and lo(C) = fl(fl(A1 Bt) + fl(At Bs)), and (Higham, "Accuracy and Stability of Numerical
Algorithms", 2nd ed., ch. 2-3; the proof of the ``midrad`` module docstring), entrywise,

    |mA mB - (hi + lo)| <= c (|A1||Bt| + |At||Bs|) + 2 n eta (1 + u),   c = gamma_n + 3u + u^2 + u gamma_n.

Taking Frobenius norms (|| |X||Y| ||_F <= ||X||_F ||Y||_F; a constant matrix t has norm n t) and
||X Y||_F <= ||X||_2 ||Y||_F <= ||X||_F ||Y||_F for the propagated errors, with
||mA||_F <= ||A1||_F + (1 + u) ||At||_F and ||mB||_F <= (1 + u) ||Bs||_F (|x - fl(x)| <= u |fl(x)|):

    eC = c (a1 bt + at bs) + 2 n^2 eta (1 + u) + (a1 + (1 + u) at) eB + eA (1 + u) bs + eA eB,

where a1 >= ||A1||_F etc. are upper bounds: ||X||_F^2 = X.X is a dot product of length N = n^2,
exact <= (fl(X.X) + N eta) / (1 - gamma_N) in any summation order, and the square root is rounded
up. Every scalar operation on these nonnegative bounds is rounded up by one ulp after rounding to
nearest (``_up``: the error of one correctly rounded + or * is below one ulp of its result, in the
subnormal range too), so every e is an upper bound.

Scaling: as in ``midrad``, products are rescaled by exact powers of two when max|hi| leaves
[2^-64, 2^32]; scaling down may round values in the subnormal range (at most eta/2 each, 2 n^2 of
them in hi and lo: Frobenius norm <= n eta), which is added to e. Leaves are the Jacobian
enclosures <mid, rad> scaled by ``midrad.normalise``; their e is an upper bound of ||rad||_F.

The spectral norm of the final ball: M = fl(hi + lo) (||hi + lo - M||_F <= u ||M||_F), ||M||_2
enclosed by ``midrad._point_norm_enclosure`` (Gershgorin discs and Ostrowski's theorem), and
||X||_2 in [||M||_2 - e', ||M||_2 + e'] for every X in the ball since ||X - M||_2 <= ||X - M||_F.

Assumptions as for every float tier (:mod:`gradproof.numerics.fpenv`, checked by the driver):
round-to-nearest, gradual underflow, a classical (not Strassen-like) matmul, in numpy and BLAS.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from gradproof.numerics import midrad
from gradproof.numerics.midrad import _ETA, _U, float_up, gamma

__all__ = ["NormBall", "norm_ball_tree_product", "norm_bounds", "predicted_bits"]

_LAZY_LO, _LAZY_HI = midrad._LAZY_LO, midrad._LAZY_HI  # the same lazy scaling window


@dataclass(frozen=True)
class NormBall:
    """X in (hi + lo) 2^exponent2 with ||X - (hi + lo) 2^exponent2||_F <= error 2^exponent2."""

    hi: np.ndarray
    lo: np.ndarray
    error: float
    exponent2: int
    steps: int


@dataclass
class _Stack:
    """K norm balls (hi + lo) 2^exp, Frobenius errors err 2^exp; mu >= max|hi| per matrix when known."""

    hi: np.ndarray  # (K, n, n)
    lo: np.ndarray | None
    err: np.ndarray  # (K,)
    exp: np.ndarray  # (K,) int64
    mu: np.ndarray | None = None

    def __len__(self):
        return self.hi.shape[0]

    def take(self, sl):
        return _Stack(self.hi[sl], None if self.lo is None else self.lo[sl], self.err[sl], self.exp[sl],
                      None if self.mu is None else self.mu[sl])


def _up(x):
    """The next float64 above x (arrays): an upper bound of the exact result of one rounded + or *."""
    return np.nextafter(x, np.inf)


@functools.lru_cache(maxsize=None)
def _frob_consts(N: int):
    g = gamma(N)
    return float_up(1 / (1 - g)), float_up(N * _ETA / (1 - g))


def frobenius_up(X: np.ndarray) -> np.ndarray:
    """Upper bounds of ||X_k||_F for a stack (K, n, n): sqrt((fl(X.X) + N eta) / (1 - gamma_N)), rounded up."""
    K = X.shape[0]
    N = X.shape[1] * X.shape[2]
    f, t = _frob_consts(N)
    Y = X.reshape(K, N)
    s = np.vecdot(Y, Y)  # a length-N dot product per matrix, any summation order
    with np.errstate(over="ignore", invalid="ignore"):
        return _up(np.sqrt(_up(_up(s * f) + t)))


@functools.lru_cache(maxsize=None)
def _mul_consts(n: int):
    """(c, tau_F, 1 + u) rounded up: the midpoint error's relative and absolute Frobenius terms."""
    g = gamma(n)
    c = g + 3 * _U + _U * _U + _U * g
    return float_up(c), float_up(2 * n * n * _ETA * (1 + _U)), float_up(1 + _U)


def _max_abs(X):
    return np.maximum(np.max(X, axis=(1, 2)), -np.min(X, axis=(1, 2)))


def _mul(A: _Stack, B: _Stack) -> _Stack:
    """C = A B for stacks of norm balls (module docstring), rescaled lazily."""
    n = A.hi.shape[-1]
    beta = midrad._beta(n)
    c, tauF, one_u = _mul_consts(n)
    muA = _max_abs(A.hi) if A.mu is None else A.mu
    muB = _max_abs(B.hi) if B.mu is None else B.mu
    # A1, At, B1, Bt, Bs and the second product die within this call: reused work arrays
    A1, At = midrad._split(A.hi, None, beta, muA, ("dnA1", "dnA2"))
    B1, Bt = midrad._split(B.hi, None, beta, muB, ("dnB1", "dnB2"))
    hi = np.matmul(A1, B1)  # exact
    if A.lo is not None:
        At += A.lo
    if B.lo is not None:
        Bt += B.lo
    Bs = B.hi if B.lo is None else np.add(B.hi, B.lo, out=midrad._scratch("dnBs", B.hi.shape))
    lo = np.matmul(A1, Bt)
    lo += np.matmul(At, Bs, out=midrad._scratch("dnP", lo.shape))
    a1, at, bt, bs = frobenius_up(A1), frobenius_up(At), frobenius_up(Bt), frobenius_up(Bs)
    with np.errstate(over="ignore", invalid="ignore"):
        mid_err = _up(_up(c * _up(_up(a1 * bt) + _up(at * bs))) + tauF)
        na = _up(a1 + _up(one_u * at))  # >= ||mA||_F
        nb = _up(one_u * bs)  # >= ||mB||_F
        prop = _up(_up(_up(na * B.err) + _up(A.err * nb)) + _up(A.err * B.err))
        err = _up(mid_err + prop)
    return _rescaled(hi, lo, err, A.exp + B.exp)


def _rescaled(hi, lo, err, exp) -> _Stack:
    """Scale each matrix by 2^-e when max|hi| leaves [2^-64, 2^32] (lazy), so that max|hi| < 1."""
    mu = _max_abs(hi)  # lo needs no range: only hi is split, and |lo| is ~2^-22 |hi| or less
    keep = (mu >= _LAZY_LO) & (mu <= _LAZY_HI)
    if np.all(keep) or not np.all(np.isfinite(mu)):
        return _Stack(hi, lo, err, exp, mu)
    _, e32 = np.frexp(mu)
    e32 = e32.astype(np.int32)
    sh = -e32[:, None, None]
    hi = np.ldexp(hi, sh)
    lo = None if lo is None else np.ldexp(lo, sh)
    n = hi.shape[-1]
    with np.errstate(over="ignore", under="ignore"):
        err = _up(np.ldexp(err, -e32))
        # scaling down may round 2 n^2 values by eta/2 each (subnormal range): ||.||_F <= n eta
        err = np.where(e32 > 0, _up(err + float_up((n + 1) * _ETA)), err)
    mu = np.ldexp(mu, -e32)  # exact: mu >= 2^32 when scaled down, scaling up is exact
    return _Stack(hi, lo, err, exp + e32.astype(np.int64), mu)


def _leaves(mid, rad) -> _Stack:
    """Norm balls of a chunk of enclosures; unscaled (exact) when every max|mid| is in the lazy range."""
    K = mid.shape[0]
    mu = _max_abs(mid)
    if np.all((mu >= _LAZY_LO) & (mu <= _LAZY_HI)):
        err = np.zeros(K) if rad is None else frobenius_up(rad)
        return _Stack(mid, None, err, np.zeros(K, dtype=np.int64), mu)
    b = midrad.normalise(mid, rad)
    err = np.zeros(K) if b.rad is None else frobenius_up(b.rad)
    return _Stack(b.hi, None, err, b.exp)


def _concat(a: _Stack, b: _Stack) -> _Stack:
    if a.lo is None and b.lo is None:
        lo = None
    else:
        lo = np.concatenate([np.zeros_like(a.hi) if a.lo is None else a.lo,
                             np.zeros_like(b.hi) if b.lo is None else b.lo])
    mu = None if a.mu is None or b.mu is None else np.concatenate([a.mu, b.mu])
    return _Stack(np.concatenate([a.hi, b.hi]), lo, np.concatenate([a.err, b.err]),
                  np.concatenate([a.exp, b.exp]), mu)


def _width_bits(st: _Stack) -> float:
    """-log2(error / ||hi||_F) of a single-matrix block (a cost heuristic only)."""
    e = float(st.err[0])
    f = float(np.linalg.norm(st.hi[0]))
    if not e > 0:
        return math.inf
    if not (f > 0 and math.isfinite(e)):
        return -math.inf
    return math.log2(f) - math.log2(e)


def predicted_bits(n: int, T: int) -> float:
    """Rough prediction (a cost heuristic for the driver's choice of tiers, never soundness) of the
    bits on Gaussian factors: 108 - 5.7 log2 n - 5.0 log2 T, a least-squares fit to 17 measured
    sizes n = 8..512, T = 100..1e4 (residuals within 3 bits; benchmarks/README.md)."""
    return 108.0 - 5.7 * math.log2(n) - 5.0 * math.log2(max(T, 2))


def norm_ball_tree_product(chunks, min_bits: float | None = None, total: int | None = None) -> NormBall | None:
    """Norm-ball enclosure of J_T ... J_1 from chunks (mid, rad) of consecutive factors (oldest first).

    Balanced tree (one batched matmul per level within a chunk, a binary counter across chunks), so
    memory is O(n^2 (chunk + log T)). With ``min_bits`` the product is abandoned (None) as soon as
    the blocks show that it cannot reach them (``midrad._too_wide``, a cost heuristic).
    """
    with np.errstate(under="ignore", invalid="ignore"):
        out = midrad.counter_tree(chunks, _leaves, _mul, _concat, _width_bits, min_bits, total)
    if out is None:
        return None
    P, steps = out
    lo = np.zeros_like(P.hi[0]) if P.lo is None else P.lo[0]
    return NormBall(hi=P.hi[0], lo=lo, error=float(P.err[0]), exponent2=int(P.exp[0]), steps=steps)


def norm_bounds(ball: NormBall):
    """(lower, upper, exponent2, method): lower 2^e <= ||X||_2 <= upper 2^e for every X in the ball."""
    n = ball.hi.shape[0]
    with np.errstate(under="ignore", over="ignore", invalid="ignore"):
        M = ball.hi + ball.lo
        if not (np.all(np.isfinite(M)) and math.isfinite(ball.error)):
            return 0.0, math.inf, ball.exponent2, "not finite"
        e = float(_up(ball.error + float(_up(float_up(_U) * float(frobenius_up(M[None])[0])))))
        mx = float(np.max(np.abs(M)))
        if mx == 0.0:
            return 0.0, e, ball.exponent2, "zero midpoint, ||X||_2 <= ||X||_F <= e"
        _, k = math.frexp(mx)  # scale so that max|M| < 1 (as _point_norm_enclosure requires)
        Ms = np.ldexp(M, -k)
        es = float(np.ldexp(e, -k))  # +inf on overflow: still an upper bound
        if k > 0:  # scaling down may round values in the subnormal range: eta/2 each
            es = float(_up(es + float_up(n * _ETA)))
        else:
            es = float(_up(es))
        pe = midrad._point_norm_enclosure(Ms)
        method = ("||M||_2 by Gershgorin discs of V^T M^T M V (V float64 SVD) and Ostrowski's theorem, "
                  "+- the Frobenius error bound")
        if pe is None:
            lo0, hi0 = midrad._simple_bounds(Ms, np.zeros_like(Ms))
            method = "max |entry| and sqrt(||M||_1 ||M||_inf), +- the Frobenius error bound"
        else:
            lo0, hi0 = pe
        if not (math.isfinite(es) and math.isfinite(hi0)):
            return 0.0, math.inf, ball.exponent2 + k, method
        lo = midrad.float_down(max(Fraction(0), Fraction(lo0) - Fraction(es)))
        hi = float_up(Fraction(hi0) + Fraction(es))
    return lo, hi, ball.exponent2 + k, method

