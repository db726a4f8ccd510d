r"""Float64 midpoint-radius ball matrices and their long products, with a double-double midpoint tier.

A ball matrix <m, r> 2^e (m, r float64 n x n, r >= 0, e an integer) is the set of real matrices X
with |X - m 2^e| <= r 2^e entrywise. Products follow Rump, "Fast and parallel interval
arithmetic", BIT 39 (1999), and Rump, "Verification methods: rigorous results using floating-point
arithmetic", Acta Numerica 19 (2010), sec. 10: the midpoint is a floating-point product and the
radius an upper bound of everything the midpoint misses, computed with round-to-nearest only
(numpy cannot switch rounding modes) and rounded upward by inflation with a priori factors.

Constants: u = 2^-53, eta = 2^-1074 (smallest subnormal), gamma_k = k u / (1 - k u). Facts used
(Higham, "Accuracy and Stability of Numerical Algorithms", 2nd ed., ch. 2-3, with gradual
underflow): fl(x op y) = (x op y)(1 + d) + a, |d| <= u, a = 0 for + and -, |a| <= eta/2 for *;
for a length-k dot product evaluated in ANY order (blocked, FMA or not)
|fl(x.y) - x.y| <= gamma_k |x|.|y| + k eta; for nonnegative terms therefore
x.y <= (fl(x.y) + k eta) / (1 - gamma_k); and a chain of m nonnegative +/* operations with
at most a absolute underflow error satisfies exact <= (computed + a) / (1 - u)^m.

*float tier* (``_mul_float``): C = <fl(mA mB), R> with
R >= |mA|(gamma_n |mB| + rB) + rA(|mB| + rB) + n eta, evaluated as
K = fl(|mA| Y1) + fl(rA Y2), Y1 = fl(g |mB|) + rB, Y2 = |mB| + rB, then inflated:
R = inflate(K, 1 / ((1 - gamma_n)(1 - u)^3) - 1, 2 n eta / ((1 - gamma_n)(1 - u)^2) + n eta + n 2^33 eta).
Three matmuls per product (two when the factors are points, i.e. radius 0).

*double-double tier* (``_mul_dd``): midpoints hi + lo (an unevaluated sum). hi is split error-free
(Ozaki, Ogita, Oishi & Rump, "Error-free transformations of matrix multiplication by using fast
routines of matrix multiplication", Numer. Algorithms 59, 2012; here with one scale per matrix):
A1 = fl((A + s) - s), s = 2^(E + beta), 2^E > max |A|, E >= -400, beta = ceil((53 + ceil(log2 n)) / 2),
so A1 holds 53 - beta leading bits, A2 = A - A1 exactly, and fl(A1 B1) = A1 B1 EXACTLY in any
summation order (every partial sum is an integer multiple of 2^(E_A + E_B + 2 beta - 106), at most
2^53 of them; E >= -400 keeps the grid above eta). With At = fl(A2 + Alo), Bt = fl(B2 + Blo),
Bs = fl(Bhi + Blo): hi(C) = A1 B1 (exact), lo(C) = S = fl(fl(A1 Bt) + fl(At Bs)), and
|mA mB - (hi + lo)| <= c (|A1||Bt| + |At||Bs|) + 2 n eta (1 + u), c = gamma_n + 3u + u^2 + u gamma_n;
the two products of absolute values are bounded by rank-one outer products (row sums of |A1|
times max |Bt|, max |At| times column sums of |B|), so the midpoint error costs no n^3 work.
The pair (hi, lo) is renormalised (TwoSum, Dekker/Knuth) only once, at the end. The midpoint
error is ~ n 2^-(53 + 53 - beta) relative instead of n 2^-53: 22-26 more bits.

Balls are rescaled by exact powers of two (np.ldexp) when some max(|hi|, radius) leaves
[2^-64, 2^32] (lazy scaling: the bounds allow |hi| <= 2^33); values that round while scaled down
(gradual underflow) are charged eta each in the radius. The input factors are scaled exactly (a
value that rounds is detected by scaling back, and its radius enlarged). Products are associated
as a balanced binary tree, one batched ``np.matmul`` per tree level on a (chunk, n, n) stack, and
chunk products are combined by a binary counter: memory O(n^2 (chunk + log T)), never O(n^2 T).
The sequential chain wraps (the wrapping effect: |A||B| >> |AB| at every step); the tree wraps
log2 T times per factor, so the float tier keeps about 53 - log2(n) - log2(T)(1 + log2(0.8 sqrt n))
bits on Gaussian factors (the radius of a product adds both children's radii, amplified by
|A||B| / |AB| ~ 0.8 sqrt(n)).

The spectral norm of the final ball (``norm_enclosure``): with V the float64 right singular
vectors of the midpoint M, W = M V and H = W^T W enclosed by ball products, delta >= ||V^T V - I||_2
(Frobenius bound of a ball product), Gershgorin's discs for the symmetric H and Ostrowski's
theorem (lambda_k(V^T G V) = theta_k lambda_k(G), theta_k in [1 - delta, 1 + delta]) give
max_i low(H_ii) / (1 + delta) <= ||M||_2^2 <= max_i (H_ii + sum_{j != i} |H_ij|) / (1 - delta);
then ||M||_2 -+ ||R||_2 encloses ||X||_2 for every X in the ball, with ||R||_2 bounded by the
Collatz-Wielandt inequality rho(R^T R) <= max_i (R^T R x)_i / x_i (x > 0, a few power steps) and
by sqrt(||R||_1 ||R||_inf). Always also ||X||_2 <= sqrt(||N||_1 ||N||_inf), N = |M| + R, and
||X||_2 >= max_ij (|M_ij| - R_ij); the tighter of each pair is returned. This float64 enclosure
is accurate to about n^2 u relative (Gershgorin on the rounding errors of H), i.e. 36-50 bits
for n = 256..8: the cap of the float tiers.

*Radius products in float32* (``radius32=True`` in ``ball_tree_product``): the products of
nonnegative matrices in the radius bounds (float tier: |mA| Y1 and rA Y2; double-double tier:
|A| rB and rA Y2) enter the bounds above only through exact X Y <= (fl(X Y) + k eta) / (1 - gamma_k),
after which they are multiplied by factors >= 1 and added to nonnegative terms. Any Z >= X Y
(exact, entrywise) can therefore stand in for fl(X Y), and one Z >= X1 Y1 + X2 Y2 for the rounded
sum of the two (one rounding fewer than counted). ``upmatmul.sum_matmul_up32`` computes such a Z by
ONE sgemm of inner dimension 2n on float32 copies scaled by powers of two, with an a posteriori
inflation (relative ~ 2n 2^-24, absolute ~2^-200 of the product's scale; proof in its docstring).
The scales come from upper bounds of the factors' maxima cached by ``_finish`` (the same monotone
roundings applied to the largest entry, padded by 2^-20) or computed. It is used only after
``fpenv.check_float32_kernels`` passed at the working size; the midpoint products stay float64.

All functions assume the environment of :mod:`gradproof.numerics.fpenv` (round-to-nearest,
gradual underflow, classical matmul); the tier driver checks it at run time first.
"""

from __future__ import annotations

import functools
import math
import threading
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from gradproof.numerics.upmatmul import sum_matmul_up32

__all__ = [
    "BallMatrix",
    "ball_tree_product",
    "norm_enclosure",
    "float_up",
    "float_down",
    "gamma",
    "inflate",
    "default_chunk",
    "TIERS",
]

TIERS = ("float", "dd")
_U = Fraction(1, 2 ** 53)
_ETA = Fraction(1, 2 ** 1074)
ETA = 2.0 ** -1074
_MIN_SPLIT_EXP = -400  # split grids stay above 2^-500: A1 B1 cannot underflow


@functools.lru_cache(maxsize=256)
def gamma(k: int) -> Fraction:
    """gamma_k = k u / (1 - k u) exactly (u = 2^-53)."""
    k = int(k)
    if k * _U >= Fraction(1, 2):
        raise ValueError("dimension too large for the a priori bounds")
    return k * _U / (1 - k * _U)


def float_up(q: Fraction) -> float:
    """The smallest float64 >= q (q a Fraction)."""
    f = float(q)
    if Fraction(f) < q:
        f = math.nextafter(f, math.inf)
    return f


def float_down(q: Fraction) -> float:
    """The largest float64 <= q."""
    f = float(q)
    if Fraction(f) > q:
        f = math.nextafter(f, -math.inf)
    return f


def inflate(R: np.ndarray, rel: Fraction, tau: Fraction) -> np.ndarray:
    r"""An array >= R (1 + rel) + tau entrywise (R >= 0), computed with round-to-nearest.

    Computed as fl(fl(R f) + t), f = up((1 + rel) / (1 - u)^2), t = up(tau / (1 - u) + eta / 2):
    fl(R f) >= R f (1 - u) - eta/2 and fl(y + t) >= (y + t)(1 - u), so the result is
    >= R f (1 - u)^2 + (t - eta/2)(1 - u) >= R (1 + rel) + tau.
    """
    f, t = _inflate_factors(Fraction(rel), Fraction(tau))
    with np.errstate(over="ignore"):
        out = R * f
        out += t
    return out


@functools.lru_cache(maxsize=1024)
def _inflate_factors(rel: Fraction, tau: Fraction):
    """(f, t) of ``inflate``, computed once per (rel, tau): exact Fraction arithmetic is slow."""
    return float_up((1 + rel) / (1 - _U) ** 2), float_up(tau / (1 - _U) + _ETA / 2)


@functools.lru_cache(maxsize=256)
def _sum_up_rel(k: int) -> Fraction:
    """rel such that a nonnegative float sum of k terms satisfies exact <= fl (1 + rel)."""
    return 1 / (1 - gamma(k)) - 1


# Lazy scaling: a product is rescaled only when some max(|hi|, radius) leaves [2^-64, 2^32];
# the bounds below therefore allow |hi| <= _AMAX (the eta terms grow with it, harmlessly).
_AMAX_EXP = 33
_AMAX = Fraction(2 ** _AMAX_EXP)
_LAZY_LO, _LAZY_HI = 2.0 ** -64, 2.0 ** 32


@dataclass
class _Balls:
    """A stack of K ball matrices: (hi + lo) 2^exp +- rad 2^exp; lo/rad None mean zero.

    Invariant: max |hi| <= 2^33 (``_AMAX``) and ``ab`` >= |hi| + |lo| entrywise (cached, computed
    as fl(|hi| + |lo|), so |hi| + |lo| <= (1 + u) ab). ``abmax``/``radmax``, when not None, are
    upper bounds of the per-matrix maxima of ``ab``/``rad`` (cached by ``_finish``; used only to
    choose the scales of the float32 radius products, whose proof needs upper bounds).
    """

    hi: np.ndarray  # (K, n, n)
    lo: np.ndarray | None
    rad: np.ndarray | None
    exp: np.ndarray  # (K,) int64
    ab: np.ndarray | None = None
    abmax: np.ndarray | None = None
    radmax: np.ndarray | None = None

    def __len__(self):
        return self.hi.shape[0]

    def absval(self):
        if self.ab is None:
            self.ab = np.abs(self.hi) if self.lo is None else np.abs(self.hi) + np.abs(self.lo)
        return self.ab

    def take(self, sl):
        def cut(x):
            return None if x is None else x[sl]

        return _Balls(self.hi[sl], cut(self.lo), cut(self.rad), self.exp[sl], cut(self.ab),
                      cut(self.abmax), cut(self.radmax))


@dataclass(frozen=True)
class BallMatrix:
    """A single ball matrix X in (hi + lo) 2^exponent2 +- rad 2^exponent2 (lo = 0 in the float tier)."""

    hi: np.ndarray
    lo: np.ndarray
    rad: np.ndarray
    exponent2: int
    tier: str
    steps: int

    def float_ball(self):
        """(m, r): m = fl(hi + lo) by TwoSum, the TwoSum error (|err| <= u |m|) folded into the radius."""
        if not np.any(self.lo):
            return self.hi, self.rad
        m = self.hi + self.lo
        bb = m - self.hi
        err = (self.hi - (m - bb)) + (self.lo - bb)  # hi + lo = m + err exactly (Knuth)
        s = self.rad + np.abs(err)  # exact <= (1 + u) fl(...)
        with np.errstate(under="ignore"):
            return m, inflate(s, _U, Fraction(0))


def _mm(a, b):
    """The product of stacks; n = 1 as an elementwise product (one rounding, the same bounds)."""
    if a.shape[-1] == 1:
        return a * b
    return np.matmul(a, b)


_MAXPAD = 1.0 + 2.0 ** -20  # cached maxima: a margin above the exact (monotone) values


_SCRATCH = threading.local()  # per thread: a work array is never shared between two computations
_SCRATCH_MAX_BYTES = 1 << 23  # temporaries up to 8 MB are kept for reuse ...
_SCRATCH_TOTAL_BYTES = 1 << 26  # ... up to 64 MB in all per thread


def _scratch(name: str, shape) -> np.ndarray:
    """A reusable float64 work array for a temporary that dies within one call (never returned).

    Temporaries of a few hundred KB are otherwise fresh mmap'd or heap-trimmed memory in every
    product, whose pages fault in again: measured on this machine, about 30% of the float tier's
    time at 32 x 1e3 (glibc's allocator; benchmarks/README.md). One array per (name, shape) and
    thread; the pool is emptied when it would exceed 64 MB."""
    shape = tuple(shape)
    pool = getattr(_SCRATCH, "pool", None)
    if pool is None:
        pool = _SCRATCH.pool = {}
        _SCRATCH.nbytes = 0
    key = (name, shape)
    a = pool.get(key)
    if a is None:
        nb = 8 * math.prod(shape)
        if nb > _SCRATCH_MAX_BYTES:
            return np.empty(shape)
        if _SCRATCH.nbytes + nb > _SCRATCH_TOTAL_BYTES:
            pool.clear()
            _SCRATCH.nbytes = 0
        a = pool[key] = np.empty(shape)
        _SCRATCH.nbytes += nb
    return a


def _radd64(W, pairs, out=None):
    """W + sum_i X_i Y_i (W None: 0) by float64 products, accumulated in order (the a priori bounds);
    ``out``: a ``_scratch`` name for the result when W is None and the caller's result is pooled."""
    for X, Y, _, _ in pairs:
        if W is None:
            W = _mm(X, Y) if out is None or X.shape[-1] == 1 else np.matmul(X, Y, out=_scratch(out, X.shape))
        elif X.shape[-1] == 1:
            W += X * Y
        else:
            W += np.matmul(X, Y, out=_scratch("radd", W.shape))
    return W


def _radd32(W, pairs, out=None):
    """W + Z with Z >= sum_i X_i Y_i exactly (nonnegative stacks; ``upmatmul.sum_matmul_up32``, one
    sgemm); pairs (X, Y, mx, my) with upper bounds mx, my of the per-matrix maxima (None: computed).
    n = 1 and non-finite maxima: ``_radd64``."""
    if pairs[0][0].shape[-1] == 1:
        return _radd64(W, pairs)
    Z = sum_matmul_up32(pairs)
    if Z is None:
        return _radd64(W, pairs)
    if W is None:
        return Z
    W += Z
    return W


def _maxes(b):
    """(bound of max ab, bound of max rad) per matrix of a stack, None where not cached."""
    return (b.abmax if b.ab is not None else None), (b.radmax if b.rad is not None else None)


def _sum_max(x, y, c=1.0):
    """An upper bound of max fl(fl(a c) + r) given bounds x >= max a, y >= max r (monotone rounding)."""
    return None if x is None or y is None else (x * c + y) * _MAXPAD


def _rescale(hi, lo, rad, exp):
    """Scale each matrix by 2^-e so that max(|hi|, rad) lies in [1/2, 1); exact, or radius + 2 eta
    where scaling down rounded a value in the subnormal range (detected exactly: scaling back
    must reproduce it)."""
    m = _permax(np.abs(hi))
    if rad is not None:
        m = np.maximum(m, _permax(rad))
    _, e32 = np.frexp(m)  # int32 exponents: np.ldexp is ~10x slower with int64 ones
    sh = -e32[:, None, None]
    hi2 = np.ldexp(hi, sh)
    lo2 = None if lo is None else np.ldexp(lo, sh)
    rad2 = None if rad is None else np.ldexp(rad, sh)
    down = e32 > 0  # scaling down may round in the subnormal range; scaling up is exact
    if np.any(down):
        idx = np.nonzero(down)[0]
        es = e32[idx][:, None, None]
        lossy = np.ldexp(hi2[idx], es) != hi[idx]
        if lo is not None:
            lossy |= np.ldexp(lo2[idx], es) != lo[idx]
        if rad is not None:
            lossy |= np.ldexp(rad2[idx], es) != rad[idx]
        if np.any(lossy):
            # each rounded value is within eta/2 of the exact one: radius + 2 eta (>= 3 eta / 2)
            if rad2 is None:
                rad2 = np.zeros_like(hi2)
            sub = rad2[idx]
            rad2[idx] = np.where(lossy, inflate(sub, Fraction(0), 2 * _ETA), sub)
    return hi2, lo2, rad2, exp + e32.astype(np.int64)


def _finish_consts(rel: Fraction, tau: Fraction):
    """(f, t2) of ``_finish`` (computed once per size and tier: hashing these Fractions is slow)."""
    return float_up((1 + rel) / (1 - _U) ** 2), float_up(2 * tau)


def _permax(x):
    """Largest entry of each matrix of a stack (n = 1: the entries themselves, no reduction)."""
    if x.shape[1] * x.shape[2] == 1:
        return x[:, 0, 0]
    return np.max(x, axis=(1, 2))


def _finish(mC, mL, K, consts, exp, ab_name=None) -> _Balls:
    r"""Ball <mC + mL, R> 2^exp from a product whose radius is <= K (1 + rel) + tau, rescaled if needed.

    If some max(|mC| + |mL|, K) leaves [2^-64, 2^32], every matrix is scaled by 2^-e, e from that
    maximum (so |hi| <= 1 afterwards). Scaling loses at most eta/2 per value (gradual underflow,
    only when scaling down) in hi, lo and K; it is charged as
    t_e = fl(fl(up(2 tau) 2^-e) + 6 eta) >= tau 2^-e (1 + u) + 2.5 eta, added in the inflation
    R = fl(fl(K_s f) + t_e), f = up((1 + rel) / (1 - u)^2): R >= K_s (1 + rel) + (t_e - eta/2)(1 - u)
    >= (K 2^-e)(1 + rel) + tau 2^-e + 3 eta/2 (proof in ``inflate``; if fl(up(2 tau) 2^-e) is
    subnormal the addition of 6 eta is exact, otherwise the product is exact). Without scaling
    e = 0 and t = fl(up(2 tau) + 6 eta).
    """
    ab = np.abs(mC) if ab_name is None else np.abs(mC, out=_scratch(ab_name, mC.shape))
    if mL is not None:
        ab += np.abs(mL)
    pab = _permax(ab)
    pK = _permax(K)
    m = np.maximum(pab, pK)
    f, t2 = consts
    with np.errstate(over="ignore"):
        if np.all((m >= _LAZY_LO) & (m <= _LAZY_HI)) or not np.all(np.isfinite(m)):
            K *= f  # K is a fresh array of the caller's
            K += t2 + 6 * ETA
            # the same roundings applied to the largest entry give the largest result (monotone)
            return _Balls(mC, mL, K, exp, ab, pab, (pK * f + (t2 + 6 * ETA)) * _MAXPAD)
        _, e32 = np.frexp(m)
        sh = -e32[:, None, None]
        hi = np.ldexp(mC, sh)
        lo = None if mL is None else np.ldexp(mL, sh)
        ab = np.ldexp(ab, sh)  # still >= |hi| + |lo|: rounding is monotone and symmetric
        R = np.ldexp(K, sh)
        R *= f
        t = np.ldexp(np.full(e32.shape, t2), -e32) + 6 * ETA
        R += t[:, None, None]
        radmax = (np.ldexp(pK, -e32) * f + t) * _MAXPAD
        abmax = np.ldexp(pab, -e32) * _MAXPAD
    if lo is not None:
        ab = abmax = None  # |hi| + |lo| after rounding both: recompute when needed
    return _Balls(hi, lo, R, exp + e32.astype(np.int64), ab, abmax, radmax)


def normalise(mid, rad):
    """Balls of a chunk of Jacobian enclosures (mid, rad) (K, n, n); rad None = points.

    Left unscaled (no copy, exponent 0) when every max(|mid|, rad) already lies in the lazy window
    [2^-64, 2^32] (all the bounds need is max |hi| <= 2^33); otherwise scaled by ``_rescale``."""
    K = mid.shape[0]
    ab = np.abs(mid)
    m = _permax(ab)
    mr = None if rad is None else _permax(rad)
    mm = m if mr is None else np.maximum(m, mr)
    if np.all((mm >= _LAZY_LO) & (mm <= _LAZY_HI)):
        return _Balls(mid, None, rad, np.zeros(K, dtype=np.int64), ab, m * _MAXPAD,
                      None if mr is None else mr * _MAXPAD)
    return _Balls(*_rescale(mid, None, rad, np.zeros(K, dtype=np.int64)))


# ----------------------------------------------------------------------------- float tier
@functools.lru_cache(maxsize=None)
def _float_consts(n):
    """(g, rel, tau) for ``_mul_float``; |mA| <= 2^33 bounds the eta term of |mA| (g|mB| + rB)."""
    g = gamma(n)
    rel = 1 / ((1 - g) * (1 - _U) ** 3) - 1
    tau = 2 * n * _ETA / ((1 - g) * (1 - _U) ** 2) + n * _ETA + n * _AMAX * _ETA
    return float_up(g), _finish_consts(rel, tau)


def _mul_float(A: _Balls, B: _Balls, radd=_radd64, pooled=False) -> _Balls:
    """C ⊇ A B for stacks (A newer, B older); see the module docstring for the bound. ``radd``: the
    sum of the nonnegative radius products (``_radd64``, or ``_radd32``: an upper bound by sgemm).
    ``pooled``: the result's arrays are ``_scratch`` arrays, valid until the next pooled product of
    the same shape (``_reduce_chunk``'s inner levels only; results that escape are never pooled)."""
    n = A.hi.shape[-1]
    g, consts = _float_consts(n)
    mC = _mm(A.hi, B.hi) if not pooled or n == 1 else np.matmul(A.hi, B.hi, out=_scratch("fC", A.hi.shape))
    aB = B.absval()
    Y1 = np.multiply(aB, g, out=_scratch("Y1", aB.shape))
    if B.rad is not None:
        Y1 += B.rad
    amA, rmA = _maxes(A)
    amB, rmB = _maxes(B)
    pairs = [(A.absval(), Y1, amA, _sum_max(amB, rmB if B.rad is not None else 0.0, g))]
    if A.rad is not None:
        Y2 = aB if B.rad is None else np.add(aB, B.rad, out=_scratch("Y2", aB.shape))
        pairs.append((A.rad, Y2, rmA, amB if B.rad is None else _sum_max(amB, rmB)))
    K = radd(None, pairs, "fK" if pooled else None)
    return _finish(mC, None, K, consts, A.exp + B.exp, "fab" if pooled else None)


# ----------------------------------------------------------------------------- double-double tier
@functools.lru_cache(maxsize=None)
def _beta(n):
    L = 0
    while 2 ** L < n:
        L += 1
    b = (53 + L + 1) // 2
    assert 2 * b - 53 >= L and b <= 52
    return b


def _split(X, aX, beta, mu=None, names=None):
    """Error-free split X = X1 + X2 of each matrix of a stack, with one scale per matrix.

    aX >= |X| entrywise; s = 2^(E + beta) with max |X| <= max aX < 2^E, E >= -400; X1 = fl((X + s) - s)
    is a multiple of 2^(E + beta - 53) with |X1| <= 2^E (Sterbenz), X2 = X - X1 exactly.
    (Ozaki et al. split by rows of A and columns of B; one scale per matrix is the special case
    E_i = E for all rows, with the same exactness proof, and avoids slow per-row reductions.)
    ``names``: two ``_scratch`` names for X1 and X2 when the caller discards both within its call.
    """
    if mu is None:  # else a cached upper bound of max aX (_Balls.abmax): any mu >= max |X| will do
        mu = _permax(aX)
    _, E = np.frexp(mu)  # mu < 2^E; mu = 0 gives E = 0
    np.maximum(E, _MIN_SPLIT_EXP, out=E)
    sigma = np.ldexp(np.ones(mu.shape), E + beta)[:, None, None]
    if names is None:
        X1 = X + sigma
        X1 -= sigma
        return X1, X - X1
    X1 = np.add(X, sigma, out=_scratch(names[0], X.shape))
    X1 -= sigma
    return X1, np.subtract(X, X1, out=_scratch(names[1], X.shape))


def _rowsums(X):
    """Row sums of a stack as a product with a vector of ones (a dot product: the gamma_n bound)."""
    n = X.shape[-1]
    return X[..., 0] if n == 1 else np.matmul(X, np.ones((n, 1)))[..., 0]


def _colsums(X):
    n = X.shape[-1]
    return X[:, 0, :] if n == 1 else np.matmul(np.ones((1, n)), X)[:, 0, :]


@functools.lru_cache(maxsize=None)
def _dd_consts(n):
    r"""(cm, rel, tau) for ``_mul_dd``: the radius is inflate(W, rel, tau).

    Required radius (module docstring, with the float row/column sums ra, sb, sa, exact <=
    fl / (1 - gamma_n), and c4 = (1 + u)^2 / (1 - gamma_n) from the two radius matmuls):
    Z <= c4 [cm (ra cb + ma sb) + sa mb + K1 + K2] + tau0, any cm >= c / (1 + u)^2 (cm = up(c)),
    tau0 = 2 n eta (1 + u) + 2 n eta c4. The three rank-one terms are one length-3 dot product
    X Y (X = [fl(cm ra), fl(cm ma), sa], Y = [cb; sb; mb] <= 2 n 2^33 each); with the underflow of
    the two products cm ra, cm ma (eta/2 each, times Y) and W = fl(fl(fl(XY) + K1) + K2):
    bracket <= W / ((1 - gamma_3)(1 - u)^3) + (3 eta / (1 - gamma_3) + eta 2 n 2^33) / (1 - u).
    """
    g = gamma(n)
    g3 = gamma(3)
    c_mid = g + 3 * _U + _U * _U + _U * g
    c4 = (1 + _U) ** 2 / (1 - g)
    rel = c4 / ((1 - g3) * (1 - _U) ** 3) - 1
    tau0 = 2 * n * _ETA * (1 + _U) + 2 * n * _ETA * c4
    tau = c4 * (3 * _ETA / (1 - g3) + _ETA * 2 * n * _AMAX) / (1 - _U) + tau0
    return float_up(c_mid), _finish_consts(rel, tau)


def _mul_dd(A: _Balls, B: _Balls, radd=_radd64) -> _Balls:
    """C ⊇ A B with a double-double midpoint hi + lo = A1 B1 + S (module docstring).

    hi = A1 B1 is exact and lo = S is the float remainder; the unevaluated sum is not
    renormalised (no TwoSum per product: its exactness needs no |lo| <= u |hi|); the final
    matrix is renormalised once by ``BallMatrix.float_ball``. ``radd``: the sum of the
    nonnegative radius products (``_radd64``, or ``_radd32``: an upper bound by sgemm; then
    W = fl(fl(XY) + Z) with one rounding fewer than the a priori count).
    """
    n = A.hi.shape[-1]
    beta = _beta(n)
    cm, consts = _dd_consts(n)
    aA = A.absval()
    aB = B.absval()
    # A1, A2, B1, B2, Bs and the second product die within this call: reused work arrays
    A1, A2 = _split(A.hi, aA, beta, A.abmax, ("ddA1", "ddA2"))
    B1, B2 = _split(B.hi, aB, beta, B.abmax, ("ddB1", "ddB2"))
    P1 = _mm(A1, B1)  # exact
    if A.lo is not None:
        A2 += A.lo  # At = fl(A2 + Alo)
    if B.lo is not None:
        B2 += B.lo  # Bt = fl(B2 + Blo)
    At, Bt = A2, B2
    Bs = B.hi if B.lo is None else np.add(B.hi, B.lo, out=_scratch("ddBs", B.hi.shape))  # fl(Bhi + Blo)
    S = _mm(A1, Bt)
    if n == 1:
        S += At * Bs
    else:
        S += np.matmul(At, Bs, out=_scratch("ddP", S.shape))
    # midpoint error, rank-one bounds: |A1||Bt| <= rowsum|A1| max|Bt|, |At||Bs| <= max|At| colsum|Bs|
    # (|Bs| <= (1 + u)^2 aB, folded into c), as one batched product of (K, n, 2) by (K, 2, n)
    np.abs(A1, out=A1)
    X = np.empty(A.hi.shape[:-1] + (2,))
    X[..., 0] = _rowsums(A1) * cm
    X[..., 1] = (_permax(np.abs(At, out=At)) * cm)[:, None]  # At, Bt: temporaries, no longer needed
    Y = np.empty((B.hi.shape[0], 2, n))
    Y[:, 0, :] = _permax(np.abs(Bt, out=Bt))[:, None]
    Y[:, 1, :] = _colsums(aB)
    W = np.matmul(X, Y)
    amA, rmA = _maxes(A)
    amB, rmB = _maxes(B)
    pairs = []
    if B.rad is not None:
        pairs.append((aA, B.rad, amA, rmB))
    if A.rad is not None:
        Y2 = aB if B.rad is None else np.add(aB, B.rad, out=_scratch("ddY2", aB.shape))
        pairs.append((A.rad, Y2, rmA, amB if B.rad is None else _sum_max(amB, rmB)))
    if pairs:
        W = radd(W, pairs)
    return _finish(P1, S, W, consts, A.exp + B.exp)


_MUL = {"float": _mul_float, "dd": _mul_dd}


# ----------------------------------------------------------------------------- tree product
def default_chunk(n: int) -> int:
    """Factors per batch: a power of two with about 2^17 float64 entries per (chunk, n, n) array."""
    k = max(1, (1 << 17) // (n * n))
    return max(2, min(1 << 16, 1 << (k.bit_length() - 1)))


def _reduce_chunk(balls, mul, concat=None, pooled=False):
    """Product of a stack (index 0 = oldest) by pairwise levels, newer @ older, one batch per level
    (any stack type with ``take`` and ``len``; ``concat`` joins two, default ``_concat``).

    ``pooled`` (float tier): the levels' products go to reusable ``_scratch`` arrays keyed by their
    shape. That is safe here: level l + 1 only reads level l, whose stack has twice as many
    matrices (a different shape), or a fresh array made by ``concat``; and the final product is
    copied out before it is returned, so no pooled array ever escapes."""
    concat = _concat if concat is None else concat
    used_pool = pooled and len(balls) > 1  # then the result is a pooled product: copied out below
    while len(balls) > 1:
        K = len(balls)
        even = K - (K % 2)
        A, B = balls.take(slice(1, even, 2)), balls.take(slice(0, even, 2))
        prod = mul(A, B, pooled=True) if pooled else mul(A, B)
        if K % 2:
            prod = concat(prod, balls.take(slice(K - 1, K)))
        balls = prod
    if used_pool:
        balls = _Balls(balls.hi.copy(), None if balls.lo is None else balls.lo.copy(),
                       None if balls.rad is None else balls.rad.copy(), balls.exp.copy(),
                       None if balls.ab is None else balls.ab.copy(), balls.abmax, balls.radmax)
    return balls


def _concat(a: _Balls, b: _Balls) -> _Balls:
    def cat(x, y, like_x, like_y):
        if x is None and y is None:
            return None
        x = np.zeros_like(like_x) if x is None else x
        y = np.zeros_like(like_y) if y is None else y
        return np.concatenate([x, y])

    def both(x, y):
        return None if x is None or y is None else np.concatenate([x, y])

    rm = both(a.radmax, b.radmax) if a.rad is not None and b.rad is not None else None
    return _Balls(np.concatenate([a.hi, b.hi]), cat(a.lo, b.lo, a.hi, b.hi), cat(a.rad, b.rad, a.hi, b.hi),
                  np.concatenate([a.exp, b.exp]), both(a.ab, b.ab), both(a.abmax, b.abmax), rm)


def _width_bits(b: _Balls) -> float:
    """-log2(max radius / max |midpoint|) of a single-matrix block (inf for points)."""
    if b.rad is None:
        return math.inf
    m = float(np.max(b.absval()))
    r = float(np.max(b.rad))
    if math.isnan(r):
        return -math.inf
    if not r > 0:
        return math.inf
    if not (m > 0 and math.isfinite(r)):
        return -math.inf
    return math.log2(m) - math.log2(r)


def _too_wide(history, total, min_bits) -> bool:
    """Heuristic (cost only, never soundness): give up when the block widths already fall short.

    ``history`` holds (factors in the block, width bits) of the blocks built so far. A block wider
    than 2^-(min_bits - 3) can only widen further up the tree; and the width falls by about the
    same number of bits per doubling of the block, so from the first two block sizes the width of
    the whole product is extrapolated, and the tier is abandoned if that is below min_bits - 4.
    """
    if min_bits is None or not history:
        return False
    c, w = history[-1]
    if w < min_bits - 3:
        return True
    sizes = {}
    for cc, ww in history:
        sizes.setdefault(cc, ww)
    ks = sorted(sizes)
    if len(ks) >= 2 and total and total > ks[1]:
        k0, k1 = ks[0], ks[1]
        slope = (sizes[k0] - sizes[k1]) / math.log2(k1 / k0)
        if slope > 0 and sizes[k1] - slope * math.log2(total / k1) < min_bits - 4:
            return True
    return False


def counter_tree(chunks, leaves, mul, concat, width_bits, min_bits=None, total=None, pooled=False):
    """(P, steps): the balanced product of a stream of chunks (mid, rad) of factors, oldest first,
    or None when ``width_bits`` of the blocks show that ``min_bits`` cannot be reached
    (``_too_wide``, a cost heuristic). ``leaves(mid, rad)`` makes a stack of balls, ``mul(A, B)``
    multiplies stacks pairwise (A newer), ``concat`` joins two stacks. Each chunk is reduced by
    pairwise levels (``_reduce_chunk``) and discarded; the chunk products are combined by a
    binary counter (equal-size blocks first): depth ceil(log2 T), memory O(n^2 (chunk + log T))."""
    stack = []  # [(count, stack of one matrix)], older blocks below
    steps = 0
    history = []
    for mid, rad in chunks:
        K = mid.shape[0]
        if K == 0:
            continue
        steps += K
        b = _reduce_chunk(leaves(mid, rad), mul, concat, pooled)
        count = K
        while stack and stack[-1][0] == count:
            c_old, older = stack.pop()
            b = mul(b, older)
            count += c_old
        if min_bits is not None:
            history.append((count, width_bits(b)))
            if _too_wide(history, total, min_bits):
                return None
        stack.append((count, b))
    if not stack:
        raise ValueError("no factors")
    _, P = stack.pop()
    while stack:
        _, older = stack.pop()
        P = mul(P, older)
    return P, steps


def ball_tree_product(chunks, tier: str = "float", min_bits: float | None = None,
                      total: int | None = None, radius32: bool = False) -> BallMatrix | None:
    """Enclosure of J_T ... J_1 from an iterable of chunks (mid, rad) of consecutive factors (oldest first).

    Each chunk is normalised, reduced by a balanced tree (one batched matmul per level) and
    discarded; chunk products are combined by a binary counter (equal-size blocks first), so
    the association is a balanced tree over all T factors and memory is O(n^2 (chunk + log T)).
    The result is scaled exactly so that max(|hi|, rad) lies in [1/2, 1). With ``min_bits``, the
    product is abandoned (None) as soon as the blocks show it cannot reach them (``_too_wide``;
    ``total``: the number of factors, for the extrapolation). ``radius32``: the radius products by
    float32 upper bounds (module docstring; only after ``fpenv.check_float32_kernels`` passed).
    """
    if tier not in _MUL:
        raise ValueError(f"unknown tier {tier!r}")
    mul = functools.partial(_MUL[tier], radd=_radd32) if radius32 else _MUL[tier]
    with np.errstate(under="ignore", invalid="ignore"):
        out = counter_tree(chunks, normalise, mul, _concat, _width_bits, min_bits, total,
                           pooled=tier == "float")
        if out is None:
            return None
        P, steps = out
        hi, lo, rad, exp = _rescale(P.hi, P.lo, P.rad, P.exp)
    hi = hi[0]
    lo = np.zeros_like(hi) if lo is None else lo[0]
    rad = np.zeros_like(hi) if rad is None else rad[0]
    return BallMatrix(hi=hi, lo=lo, rad=rad, exponent2=int(exp[0]), tier=tier, steps=steps)


# ----------------------------------------------------------------------------- spectral norm
@functools.lru_cache(maxsize=256)
def _single_consts(n: int, abound: float):
    g = gamma(n)
    rel = 1 / ((1 - g) * (1 - _U) ** 3) - 1
    tau = 2 * n * _ETA / ((1 - g) * (1 - _U) ** 2) + n * _ETA + n * Fraction(abound) * _ETA
    return float_up(g), rel, tau


def _ball_mul_single(mA, rA, mB, rB, abound):
    """Unscaled float ball product of single matrices with max|mA| <= abound (used by the norm;
    the bound of ``_mul_float`` with the eta term of |mA|(g|mB| + rB) taken as n max(abound, 1) eta)."""
    n = mA.shape[-1]
    g_up, rel, tau = _single_consts(n, max(float(abound), 1.0))
    mC = mA @ mB
    aB = np.abs(mB)
    Y1 = aB * g_up
    if rB is not None:
        Y1 += rB
    K = np.abs(mA) @ Y1
    if rA is not None:
        Y2 = aB if rB is None else aB + rB
        K += rA @ Y2
    return mC, inflate(K, rel, tau)


def _sqrt_up(x: float) -> float:
    return math.nextafter(math.sqrt(x), math.inf) if x > 0 else 0.0


def _sqrt_down(x: float) -> float:
    return max(0.0, math.nextafter(math.sqrt(x), 0.0)) if x > 0 else 0.0


def _simple_bounds(M, R):
    """||X||_2 <= sqrt(||N||_1 ||N||_inf), N = |M| + R; ||X||_2 >= max_ij (|M_ij| - R_ij)."""
    n = M.shape[0]
    N = inflate(np.abs(M) + R, _U, Fraction(0))
    rel = _sum_up_rel(n)
    c1 = float(np.max(inflate(np.sum(N, axis=0), rel, Fraction(0))))
    ci = float(np.max(inflate(np.sum(N, axis=1), rel, Fraction(0))))
    hi = _sqrt_up(float_up(Fraction(c1) * Fraction(ci)))
    D = np.abs(M) - R
    i, j = np.unravel_index(int(np.argmax(D)), D.shape)
    lo = float_down(max(Fraction(0), Fraction(abs(float(M[i, j]))) - Fraction(float(R[i, j]))))
    return lo, hi


def _nonneg_norm_up(R: np.ndarray) -> float:
    """An upper bound of ||R||_2 for R >= 0: the smaller of sqrt(||R||_1 ||R||_inf) and the
    Collatz-Wielandt bound rho(R^T R) <= max_i (R^T R x)_i / x_i for x > 0 (x from four power
    iterations, floored at 2^-40; R x and R^T z rounded upward as dot products)."""
    n = R.shape[0]
    if not np.any(R):
        return 0.0
    if not np.all(np.isfinite(R)):
        return math.inf
    rel = _sum_up_rel(n)
    c1 = float(np.max(inflate(np.sum(R, axis=0), rel, Fraction(0))))
    ci = float(np.max(inflate(np.sum(R, axis=1), rel, Fraction(0))))
    b1 = _sqrt_up(float_up(Fraction(c1) * Fraction(ci)))
    x = np.ones(n)
    for _ in range(4):
        y = R.T @ (R @ x)
        m = float(np.max(y))
        if not (m > 0 and math.isfinite(m)):
            return b1
        x = y / m
    x = np.maximum(x, 2.0 ** -40)
    reld = 1 / (1 - gamma(n)) - 1
    taud = n * _ETA / (1 - gamma(n))
    z = inflate(R @ x, reld, taud)  # >= R x (exact)
    y = inflate(R.T @ z, reld, taud)  # >= R^T R x
    ratio = inflate(y / x, _U, _ETA / 2)  # >= y / x exactly (x normal)
    b2 = _sqrt_up(float(np.max(ratio)))
    return min(b1, b2)


def _point_norm_enclosure(M: np.ndarray):
    """(lo, hi) of ||M||_2 for a float matrix M, |M| <= 1 (Gershgorin-Ostrowski, module docstring), or None."""
    n = M.shape[0]
    try:
        _, _, Vt = np.linalg.svd(M)
    except np.linalg.LinAlgError:
        return None
    V = Vt.T.copy()
    if not np.all(np.isfinite(V)):
        return None
    Wm, Wr = _ball_mul_single(M, None, V, None, float(np.max(np.abs(M))))
    Hm, Hr = _ball_mul_single(Wm.T.copy(), Wr.T.copy(), Wm, Wr, float(np.max(np.abs(Wm))))
    Em, Er = _ball_mul_single(Vt, None, V, None, float(np.max(np.abs(Vt))))
    Ed = Em - np.eye(n)  # only the diagonal rounds: |x - 1 - fl(x - 1)| <= u |fl(x - 1)|
    D = inflate(np.abs(Ed) + Er, 2 * _U + _U * _U, Fraction(0))
    d2 = float(np.sum(D * D))  # n^2 squares and sums: exact <= (fl + n^2 eta) / (1 - k u), k = n^2 + 1
    k = n * n + 1
    if not math.isfinite(d2) or k * _U >= Fraction(1, 2) or not np.all(np.isfinite(Hr)):
        return None
    d2_up = (Fraction(d2) + n * n * _ETA) / (1 - k * _U)
    delta = Fraction(_sqrt_up(float_up(d2_up)))
    if delta >= Fraction(1, 2):
        return None
    # Gershgorin upper bound per row: max(Hm_ii, 0) + Hr_ii + sum_{j != i} (|Hm_ij| + Hr_ij)
    Off = np.abs(Hm) + Hr
    np.fill_diagonal(Off, 0.0)
    diag = np.maximum(np.diag(Hm), 0.0) + np.diag(Hr)
    rows = np.sum(Off, axis=1) + diag  # chain of <= n + 2 nonnegative additions
    up = float(np.max(rows))
    if not math.isfinite(up):
        return None
    lam_hi = Fraction(up) / (1 - (n + 2) * _U) / (1 - delta)
    low_diag = np.diag(Hm) - np.diag(Hr)
    i = int(np.argmax(low_diag))
    lam_lo_h = Fraction(float(Hm[i, i])) - Fraction(float(Hr[i, i]))
    lam_lo = lam_lo_h / (1 + delta) if lam_lo_h > 0 else Fraction(0)
    return _sqrt_down(float_down(lam_lo)), _sqrt_up(float_up(lam_hi))


def norm_enclosure(M: np.ndarray, R: np.ndarray):
    """(lo, hi, method) floats with lo <= ||X||_2 <= hi for every X with |X - M| <= R (M, R finite).

    The tighter of: max |entry| and sqrt(||N||_1 ||N||_inf) (N = |M| + R); and
    ||M||_2 -+ ||R||_2 (triangle inequality) with ||M||_2 enclosed by Gershgorin-Ostrowski and
    ||R||_2 bounded above by ``_nonneg_norm_up``.
    """
    n = M.shape[0]
    with np.errstate(under="ignore", over="ignore", invalid="ignore"):
        if not (np.all(np.isfinite(M)) and np.all(np.isfinite(R))):
            return 0.0, math.inf, "not finite"
        if n == 1:
            m, r = Fraction(abs(float(M[0, 0]))), Fraction(float(R[0, 0]))
            return float_down(max(Fraction(0), m - r)), float_up(m + r), "|m| +- r (n = 1, exact)"
        lo, hi = _simple_bounds(M, R)
        method = "max |entry| and sqrt(||.||_1 ||.||_inf)"
        pe = _point_norm_enclosure(M)
        if pe is None:
            return lo, hi, method
        rho = Fraction(_nonneg_norm_up(R))
        hi2 = float_up(Fraction(pe[1]) + rho)
        lo2 = float_down(max(Fraction(0), Fraction(pe[0]) - rho))
        if hi2 < hi:
            hi, method = hi2, ("Gershgorin discs of V^T M^T M V (V float64 SVD), Ostrowski's theorem, "
                               "+- ||R||_2 (Collatz-Wielandt)")
        lo = max(lo, lo2)
        return lo, hi, method
