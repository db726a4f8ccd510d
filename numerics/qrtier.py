r"""A non-wrapping certified tier for long products: blocked float64 balls in a moving QR frame (Lohner).

Problem. The float64 ball tiers of :mod:`gradproof.numerics.midrad` enclose P_T = J_T ... J_1 by
entrywise balls; every product of two balls adds |A| r_B + r_A |B|, and |A||B| >> |AB| (the
wrapping effect), so a balanced tree loses about 1 + log2(0.8 sqrt n) bits per level and no bits
are left at 32 x 1e4 or 256 x 1000. Lohner's QR method (R. Lohner, "Einschliessung der Loesung
gewoehnlicher Anfangs- und Randwertaufgaben und Anwendungen", Diss. Karlsruhe 1988; N. S. Nedialkov
and K. R. Jackson, "A new perspective on the wrapping effect in interval methods for initial
value problems for ordinary differential equations", 2001) avoids it: the error of the running
product is kept in a moving orthogonal frame B_i, in which the propagation matrices are nearly
upper triangular with Lyapunov-ordered diagonals, so that, once the product has become nearly
rank one along its leading Lyapunov direction, the error bounds grow like the product itself
times a slowly growing factor, not exponentially faster (see Limits below).

Scheme (this module). Blocks M_i = product of m consecutive factors are enclosed as entrywise
balls <Mh_i, r_i> 2^(e_i) by midrad's float tier (balanced tree inside the block: log2 m levels of
wrapping only, one batched matmul per level over many blocks; lazily scaled as there, so
max |Mh_i| <= 2^33; input factors already inside midrad's window [2^-64, 2^32] are used as they
are). The state is

    P_i 2^(-E_i) in { Ph_i + B_i Delta : |Delta| <= D_i entrywise },   Ph_0 = I, B_0 = I, D_0 = 0,

Ph_i, B_i float matrices (max(|Ph_i|, D_i) in [1/2, 1) after each step, |B_i| <= 2 entrywise,
checked), D_i >= 0 float. With
M the exact block (|M - Mh| <= r) one step is, exactly,

    M P_i = Ph' + z + C Delta,  Ph' = fl(Mh Ph_i),  z = M Ph_i - Ph',  C = M B_i,
    z + C Delta = Q (Q^-1 z + (Q^-1 C) Delta)   for any invertible float Q,

so P_{i+1} lies in { Ph' + Q Delta' : |Delta'| <= D' } whenever D' >= |Q^-1| Z + |A| D_i with
|z| <= Z, |Q^-1 C| <= |A| entrywise. Q is the float Q factor of a Householder QR of mid(C)
(numpy.linalg.qr, LAPACK); it is never assumed orthogonal: with Y = Q^T and the rigorous bound
e >= ||I - Y Q||_inf (< 1/4, else the step falls back to Q = I), Q^-1 = (I - E)^-1 Y = Y + F Y,
F = sum_{k>=1} E^k, ||F||_inf <= e / (1 - e) =: f, hence |Q^-1 - Y|_ij <= f max_k |Y_kj| (a rank-one
radius Yr = f 1 c^T, c_j = max_k |Q_jk|). The bounds, all with round-to-nearest only (numpy cannot
round upward) and u = 2^-53, eta = 2^-1074, gamma_k = k u / (1 - k u) (Higham, "Accuracy and
Stability of Numerical Algorithms", 2nd ed., sec. 2-3: |fl(x.y) - x.y| <= gamma_k |x|.|y| + k eta
for a length-k dot product in any order; a nonnegative product therefore satisfies
x.y <= (fl(x.y) + k eta) / (1 - gamma_k); fl(a op b) = (a op b)(1 + d) + a', |d| <= u,
|a'| <= eta/2 for *, 0 for +):

* Z >= g|Mh||Ph| + r|Ph| + n eta and Cr >= g|Mh||B| + r|B| + n eta (so C in <fl(Mh B), Cr>) from
  G = fl(fl(up(g)|Mh|) + r), for which g|Mh| + r <= G / (1-u)^2 + eta; then, W = [Ph | B],
  |W| <= 2 = a: exact <= fl(G |W|) (1 + rel1) + tau1, rel1 = 1/((1-g)(1-u)^2) - 1,
  tau1 = n eta (1 + rel1) + n a eta + n eta (one matmul of n x 2n, inflated: ``midrad.inflate``).
* e: with Em = fl(Y Q), |Y Q - I| <= (1 + u)|fl(Em - I)| + g |Y||Q| + n eta (the diagonal
  subtraction x - 1 errs by at most u |fl(x - 1)|), so e = (1+u) max_i rowsum_i / (1-g) +
  g (max_i (|Y| v)_i + n eta) / (1-g) + n^2 eta with v >= |Q| 1 rounded up, evaluated exactly in
  Fractions and rounded up.
* A = Q^-1 C in <Am, Ar>: Am = fl(Y Cm), |A - Am| <= g|Y||Cm| + n eta + |Y| Cr + Yr(|Cm| + Cr);
  the first three terms as for Z (H = fl(fl(up(g)|Cm|) + Cr), same rel1, tau1), the rank-one term
  as f times the row vector c^T (|Cm| + Cr), rounded up.
* D' >= (|Am| + Ar) D + (|Y| + Yr) Z: one nonnegative matmul [fl(|Am| + Ar), |Y|] [D; Z] of length
  2n and a rank-one term f 1 (c^T Z), each rounded up.
* Rescaling by 2^-s, s from max(|Ph'|, D'): Ph' is scaled exactly unless gradual underflow rounds
  an entry (detected by scaling back; then |d| <= eta/2 at that entry and D' gets
  |Q^-1| (eta/2) <= (2 n + n f) eta/2 + eta more); D' is scaled and moved up by one ulp
  (np.nextafter), which covers its rounding.
* End: ||P_T 2^-E||_2 in ||Ph||_2 -+ ||B Delta||_2, ||B Delta||_2 <= ||B||_2 ||D||_2 (the
  spectral norm is monotone on nonnegative matrices, |Delta| <= D), ||B||_2^2 = ||B^T B||_2 <=
  1 + e (E symmetric: ||E||_2 <= ||E||_inf); ||Ph||_2 by midrad's Gershgorin-Ostrowski enclosure
  and ||D||_2 by its Collatz-Wielandt bound.

Why it keeps bits (heuristic, checked by measurement in benchmarks/README.md): the error enters
once per block (the block's own wrapping, ~log2(m)(1 + log2(0.8 sqrt n)) bits, plus rounding) and
is then propagated by |R_i|-like matrices in the QR frame; after a transient of a few blocks
(about 10 bits at n = 32, while the isotropic first errors are summed over all frame
directions) the relative width grows roughly linearly with the number of blocks, not like
(0.8 sqrt n)^N.

Cost: per block about 2.5 matmuls of the block tree per factor times m, plus ~10 n x n matmul
equivalents for the step (two n x 2n products, QR, Y Q, Y Cm, |Y| H, one 2n-long product), so m
is chosen by n (``block_size``) to keep the step cost a small fraction. Memory O(n^2 batch).

Limits (measured, benchmarks/README.md): the bound still sums |R_1j| D_j over the frame
directions at every step, so the width grows about linearly with the number of blocks only when
the product has a Lyapunov gap (P_i nearly rank one in a few blocks): 11 bits at 32 x 1e4 where
the plain tree has 0, 21 at 8 x 1e4 (tree: 13); at 256 x 1000 the top exponents of a Gaussian
product are too close (gap ~1/(2n) per factor), the frame never settles and the tier certifies
0 bits (the driver predicts this and goes to ``dd``).

Assumptions: those of :mod:`gradproof.numerics.fpenv` (round-to-nearest, gradual underflow,
classical matmul in numpy/BLAS); LAPACK's QR needs none: Q is any float matrix and its inverse is
enclosed a posteriori.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from gradproof.numerics import midrad
from gradproof.numerics.midrad import float_up, gamma, inflate

__all__ = ["QRProduct", "qr_product", "block_size", "predicted_bits"]

_U = Fraction(1, 2 ** 53)
_ETA = Fraction(1, 2 ** 1074)
_AMAX = 2  # |Ph| < 1 and |B| <= 2 entrywise (checked)
_E_MAX = Fraction(1, 4)  # fall back to B = I when ||I - Q^T Q||_inf cannot be shown below this


@dataclass(frozen=True)
class QRProduct:
    """Enclosure of ||P_T||_2 = 2^exponent2 [lower, upper] from the QR-frame tier."""

    lower: float
    upper: float
    exponent2: int
    method: str
    steps: int
    block: int
    blocks: int
    fallbacks: int  # steps whose Q could not be certified nearly orthogonal (frame reset to I)


def block_size(n: int, T: int) -> int:
    """Factors per block (a power of two): large enough that the per-block QR step is a small part
    of the cost, small enough that the block's own wrapping stays small (measured, README)."""
    if n == 1:
        m = 4096  # scalars do not wrap: the float tree is the right tool, few frame steps here
    elif n <= 2:
        m = 256
    elif n <= 16:
        m = 128
    elif n <= 64:
        m = 64
    else:
        m = 16
    while m > 2 and m > T:
        m //= 2
    return m


def predicted_bits(n: int, T: int, m: int | None = None) -> float:
    """Rough prediction (cost heuristic only, the driver's choice of tiers) of the bits this tier
    certifies on Gaussian factors: the block's own wrapping, log2(m)(1 + log2(0.8 sqrt n)), the
    norm and the frame's summation, ~2.5 log2 n, and a linear growth with the N = T/m blocks
    (measured within 2-4 bits for n <= 128, benchmarks/README.md; optimistic at n = 256, where
    the tier finds no Lyapunov gap and is abandoned early)."""
    m = block_size(n, T) if m is None else m
    w = 1.0 + math.log2(max(0.8 * math.sqrt(n), 1.0))
    N = max(1, math.ceil(T / m))
    return 53 - math.log2(m) * w - 2.5 * math.log2(max(n, 1)) - math.log2(N) - 2


@functools.lru_cache(maxsize=None)
def _consts(n):
    g = gamma(n)
    g2 = gamma(2 * n)
    u = _U
    rel1 = 1 / ((1 - g) * (1 - u) ** 2) - 1
    tau1 = n * _ETA * (1 + rel1) + n * _AMAX * _ETA + n * _ETA
    relv = 1 / (1 - g) - 1  # nonnegative matvec: exact <= (fl + n eta) / (1 - g)
    tauv = n * _ETA / (1 - g)
    relt = 1 / ((1 - g) * (1 - u)) - 1  # c^T fl(|Cm| + Cr): one more rounding of the sum
    taut = n * _ETA / ((1 - g) * (1 - u))
    relk = 1 / ((1 - g2) * (1 - u)) - 1
    tauk = 2 * n * _ETA / ((1 - g2) * (1 - u))
    relsum = 1 / (1 - u) ** 2 - 1
    relS = u / (1 - u)

    ft = midrad._inflate_factors  # the factors of midrad.inflate, computed once

    return dict(g=g, gu=float_up(g), i1=ft(rel1, tau1), iv=ft(relv, tauv), it=ft(relt, taut),
                ik=ft(relk, tauk), isum=ft(relsum, _ETA), iS=ft(relS, Fraction(0)),
                ec=(float_up((1 + u) * (1 + midrad._sum_up_rel(n))), float_up(g / (1 - g)),
                    float_up(g * n * _ETA / (1 - g) + n * n * _ETA)),
                lossy=float_up(n * _AMAX * _ETA + 2 * n * _ETA + _ETA))


def _inf(R, ft):
    """midrad.inflate(R, rel, tau) with its two factors precomputed (``_consts``): R f + t >= R (1 + rel) + tau."""
    f, t = ft
    R *= f
    R += t
    return R


def _scalar_up(x: float) -> float:
    """An upper bound of a nonnegative quantity whose float evaluation x took at most 16 roundings
    (each within a factor 1 +- u and eta/2 absolute): x (1 + 2^-40) + 2^-1000 >= x (1 + 16 u) + 16 eta."""
    return x * (1.0 + 2.0 ** -40) + 2.0 ** -1000


def _leaf_points(A, B):
    r"""<fl(A B), R> for stacks of point factors (radius 0) in midrad's lazy window, or None.

    |A B - fl(A B)| <= g |A||B| + n eta and |A||B| <= (K + n eta) / (1 - g), K = fl(|A||B|), so
    R = K g / (1 - g) + n eta (1 + g / (1 - g)) suffices, computed as ``midrad.inflate`` computes
    (its proof holds for any factor 1 + rel >= 0). One product of absolute values and two passes,
    against midrad's general product (which also scales g |B| and the result). Used only when
    every max K lies in [2^-64, 2^32], so that max |fl(A B)| <= (1 + 2 g) max K <= 2^33 as the next
    products' bounds require; otherwise None (the general product is used)."""
    mC = midrad._mm(A.hi, B.hi)
    K = midrad._mm(A.absval(), B.absval())
    mx = midrad._permax(K)
    if not np.all((mx >= midrad._LAZY_LO) & (mx <= midrad._LAZY_HI)):
        return None
    n = A.hi.shape[-1]
    R = _inf(K, _leaf_consts(n))
    return midrad._Balls(mC, None, R, A.exp + B.exp)


@functools.lru_cache(maxsize=None)
def _leaf_consts(n):
    g = gamma(n)
    c = g / (1 - g)
    return midrad._inflate_factors(c - 1, n * _ETA * (1 + c))  # R c + n eta (1 + c), as inflate


def _reduce_blocks(balls, m):
    """Products of consecutive groups of m factors (m a power of two, len a multiple of m)."""
    mul = midrad._mul_float
    if m > 1 and balls.rad is None:
        A, B = balls.take(slice(1, None, 2)), balls.take(slice(0, None, 2))
        leaf = _leaf_points(A, B)
        balls = mul(A, B) if leaf is None else leaf
        m //= 2
    while m > 1:
        balls = mul(balls.take(slice(1, None, 2)), balls.take(slice(0, None, 2)))
        m //= 2
    return balls


def _blocks(chunks, m, batch):
    """Yield (Mh, r, e) per block (the block is in <Mh, r> 2^e, max |Mh| <= 2^33), oldest first, from a
    chunk stream; ``batch`` factors (a multiple of m) are reduced together, one batched matmul per level."""
    buf_m, buf_r = [], []
    have = 0
    point = True

    def emit(mid, rad, full):
        # unscaled (no copy) inside midrad's lazy window, where max |hi| <= 2^33 is all its bounds
        # need; |mid| is computed once and cached for the first products
        b = midrad.normalise(mid, rad)
        if full:
            b = _reduce_blocks(b, m)
        else:
            b = midrad._reduce_chunk(b, midrad._mul_float)
        # lazily scaled (max |hi| <= 2^33, midrad._finish): the step needs no normalised block
        hi, rad2, exp = b.hi, b.rad, b.exp
        if rad2 is None:
            rad2 = np.zeros_like(hi)
        for k in range(hi.shape[0]):
            yield hi[k], rad2[k], int(exp[k])

    def flush(final):
        nonlocal buf_m, buf_r, have
        if not have:
            return
        M = np.concatenate(buf_m) if len(buf_m) > 1 else buf_m[0]
        R = None if point else np.concatenate([np.zeros_like(a) if r is None else r
                                               for a, r in zip(buf_m, buf_r)])
        pos = 0
        while have - pos >= m and (final or have - pos >= batch):
            take = min(batch, ((have - pos) // m) * m)
            yield from emit(M[pos:pos + take], None if R is None else R[pos:pos + take], True)
            pos += take
        if final and pos < have:
            yield from emit(M[pos:], None if R is None else R[pos:], False)
            pos = have
        buf_m = [M[pos:]] if pos < have else []
        buf_r = [None if R is None else R[pos:]] if pos < have else []
        have -= pos

    for mid, rad in chunks:
        if mid.shape[0] == 0:
            continue
        if rad is not None:
            point = False
        buf_m.append(mid)
        buf_r.append(rad)
        have += mid.shape[0]
        if have >= batch:
            yield from flush(False)
    yield from flush(True)


def _up_e(Dm, Q, k):
    """A float e >= ||I - Q^T Q||_inf (exact), Dm = fl(Q^T Q) with 1 subtracted from its diagonal
    (fl(x - 1), error <= u |fl(x - 1)|): e = (1+u)(1+srel) max rowsum|Dm| + g/(1-g) (max |Y| v + n eta)
    + n^2 eta, v >= |Q| 1, |Y| v rounded up as a nonnegative matvec; the scalar formula is evaluated
    in floats and moved up by ``_scalar_up``."""
    n = Q.shape[0]
    rs = float(np.max(np.sum(np.abs(Dm), axis=1)))
    aQ = np.abs(Q)
    v = _inf(aQ @ np.ones(n), k["iv"])
    w = float(np.max(_inf(aQ.T @ v, k["iv"])))  # >= |Q|^T v (exact): a nonnegative matvec rounded up
    if not (math.isfinite(rs) and math.isfinite(w)):
        return math.inf
    c1, c2, c3 = k["ec"]
    return _scalar_up(c1 * rs + c2 * w + c3)


def _step(Mh, Mr, Ph, B, D, k):
    """One Lohner step (module docstring): returns (Ph', Q, D', e, fellback) unscaled."""
    n = Mh.shape[0]
    G = np.abs(Mh)
    G *= k["gu"]
    G += Mr
    W = np.concatenate([Ph, B], axis=1)
    N = Mh @ W
    np.abs(W, out=W)
    K = _inf(G @ W, k["i1"])
    Phn = N[:, :n]
    Cm = N[:, n:]
    Z = K[:, :n]
    Cr = K[:, n:]
    Q = None
    e = math.inf
    if np.all(np.isfinite(Cm)):
        try:
            # (Lohner's column pivoting by the propagated error sizes was tried: no measurable gain)
            Q = np.linalg.qr(Cm, mode="reduced")[0]
        except np.linalg.LinAlgError:
            Q = None
    if Q is not None and np.all(np.isfinite(Q)) and float(np.max(np.abs(Q))) <= _AMAX:
        Em = Q.T @ Q
        Em[np.diag_indices(n)] -= 1.0
        e = _up_e(Em, Q, k)
    if not e <= float(_E_MAX):
        # fallback: B' = I, Delta' = z + C Delta, D' >= Z + (|Cm| + Cr) D
        S = _inf(np.abs(Cm) + Cr, k["iS"])
        T1 = _inf(S @ D, k["iv"])
        T1 += Z
        Dn = _inf(T1, k["isum"])
        return Phn, np.eye(n), Dn, 0.0, True
    f = _scalar_up(e / (1.0 - e))
    Y = Q.T
    aY = np.abs(Y)
    c = np.max(aY, axis=0)  # column maxima of Y = Q^T
    # A = Q^-1 C in <Am, Ar>
    Am = Y @ Cm
    H = np.abs(Cm)
    S = H + Cr  # fl(|Cm| + Cr)
    H *= k["gu"]
    H += Cr
    A1 = _inf(aY @ H, k["i1"])
    t = _inf(c @ S, k["it"])
    t *= f
    A1 += t  # rank-one Yr (|Cm| + Cr); the roundings of f t and of the sum are covered next
    Ar = _inf(A1, k["isum"])
    # D' >= (|Am| + Ar) D + |Y| Z + Yr Z
    L = np.abs(Am)
    L += Ar
    K2 = _inf(np.concatenate([L, aY], axis=1) @ np.concatenate([D, Z], axis=0), k["ik"])
    tz = _inf(c @ Z, k["iv"])
    tz *= f
    K2 += tz
    Dn = _inf(K2, k["isum"])
    return Phn, Q, Dn, e, False


def qr_product(chunks, n: int, steps: int, m: int | None = None, batch: int | None = None,
               min_bits: float | None = None) -> QRProduct | None:
    """Rigorous enclosure of ||J_T ... J_1||_2 (as 2^exponent2 [lower, upper]) by the QR-frame tier.

    ``chunks``: an iterable of (mid, rad) chunks of consecutive factor enclosures, oldest first
    (rad None: points). ``m``: factors per block (default ``block_size``). With ``min_bits`` the
    run is abandoned (None) when the relative width of the state, extrapolated linearly in the
    number of blocks, falls short of them (``_hopeless``: a cost heuristic, never soundness).
    """
    m = block_size(n, steps) if m is None else int(m)
    if m < 1 or m & (m - 1):
        raise ValueError("block size must be a power of two")
    if batch is None:
        batch = max(m, (midrad.default_chunk(n) // m) * m)
    k = _consts(n)
    Ph = np.eye(n)
    B = np.eye(n)
    D = np.zeros((n, n))
    E = 0
    e_last = 0.0
    blocks = 0
    fallbacks = 0
    total_blocks = max(1, -(-int(steps) // m))
    with np.errstate(under="ignore", invalid="ignore", over="ignore"):
        for Mh, Mr, eM in _blocks(chunks, m, batch):
            Phn, B, Dn, e_last, fb = _step(Mh, Mr, Ph, B, D, k)
            blocks += 1
            fallbacks += int(fb)
            E += eM
            mp = float(np.max(np.abs(Phn)))
            md = float(np.max(Dn))
            mx = max(mp, md)
            if min_bits is not None and blocks >= 4 and _hopeless(mp, md, blocks, total_blocks, n, min_bits):
                return None
            if not math.isfinite(mx):
                return QRProduct(0.0, math.inf, E, "not finite", steps, m, blocks, fallbacks)
            if mx == 0.0:
                Ph, D = Phn, Dn  # P is exactly 0 from here on
                continue
            s = math.frexp(mx)[1]
            if s != 0:
                Ph = np.ldexp(Phn, -s)
                D = np.ldexp(Dn, -s)
                if s > 0:
                    np.nextafter(D, np.inf, out=D)  # covers the rounding of gradual underflow
                    if np.any(np.ldexp(Ph, s) != Phn):  # a scaled Ph entry rounded: |d| <= eta/2
                        D += k["lossy"]  # |Q^-1| eta/2 <= (2n + 2n) eta/2; D + lossy rounds up below
                        np.nextafter(D, np.inf, out=D)
                E += s
            else:
                Ph, D = Phn, Dn
        if blocks == 0:
            raise ValueError("no factors")
        lo, hi, method = _norm(Ph, B, D, e_last)
    return QRProduct(lo, hi, E, method, steps, m, blocks, fallbacks)


def _hopeless(mp, md, i, N, n, min_bits) -> bool:
    """Heuristic: the final bits are about log2(max|Ph| / max D) at the end (measured), and that width
    falls at most about linearly with the number of blocks once the frame has settled, so the
    run is abandoned when log2(max|Ph| / max D) - log2(N / i) < min_bits - 3 after block i of N."""
    if not md > 0:
        return False
    if not mp > 0:
        return True
    return math.log2(mp) - math.log2(md) - math.log2(N / i) < min_bits - 3


def _norm(Ph, B, D, e):
    """(lo, hi) of ||Ph + B Delta||_2 over |Delta| <= D, ||B||_2 <= sqrt(1 + e)."""
    n = Ph.shape[0]
    if not np.any(D):
        lo, hi, method = midrad.norm_enclosure(Ph, np.zeros_like(Ph))
        return lo, hi, method + " (no error term)"
    if n == 1:
        m = Fraction(abs(float(Ph[0, 0])))
        r = Fraction(abs(float(B[0, 0]))) * Fraction(float(D[0, 0]))
        return (midrad.float_down(max(Fraction(0), m - r)), float_up(m + r),
                "|m| +- |b| d (n = 1, exact)")
    pe = midrad._point_norm_enclosure(Ph) if np.all(np.isfinite(Ph)) else None
    rd = Fraction(midrad._nonneg_norm_up(D))
    bq = Fraction(midrad._sqrt_up(float_up(1 + Fraction(e))))
    rho = bq * rd
    if pe is None:
        R = inflate(np.abs(B) @ D, midrad._sum_up_rel(n) + _U * 2, n * _ETA * 4)
        lo, hi, method = midrad.norm_enclosure(Ph, R)
        return lo, hi, method + " (ball <Ph, |B| D>)"
    hi = float_up(Fraction(pe[1]) + rho)
    lo = midrad.float_down(max(Fraction(0), Fraction(pe[0]) - rho))
    return lo, hi, ("Gershgorin-Ostrowski enclosure of ||Ph||_2 +- sqrt(1 + e) ||D||_2 "
                    "(Collatz-Wielandt), QR frame")
