r"""Long products P_T = J_T ... J_1 of *given* n x n Jacobians with three engines, one interface.

These functions multiply the factors they are given, exactly or rigorously; they do not know
the network. When the factors are float64 Jacobians computed from a float64 trajectory, the
exact product of those factors is not the network's Jacobian product (chaos, cancelled
derivatives): the ``product`` report's reference and certified engines therefore evaluate the
network itself (numerics.network, which uses :class:`TreeProduct` and :func:`enclose_log10_norm`
from here). ``product_fast`` is the fast engine of the report.

Every engine returns a :class:`ProductResult`: log10 ||P_T||_2, the product in scaled form
P_T = mantissa * 2^exponent2 (mantissa's largest entry in [1/2, 1), so nothing under- or
overflows whatever T is), and a statement of the working precision and how it was obtained.

* ``product_reference`` -- mpmath matrices at ``dps`` digits. mpf numbers have an unbounded
  exponent, so 600 factors 1/4 give exactly 2^-1200 (mpmath does not emulate underflow). The
  float64 factors are converted to mpf exactly. This is the oracle of the tests.
* ``product_fast`` -- float64 numpy, plain ``J_t @ P`` products, with the running product rescaled
  by an exact power of two (frexp/ldexp) at the end of every chunk of steps. A chunk ends before
  the sum of log2 ||J_s||_F over it exceeds 400 (so no entry can exceed 2^401: no overflow) and is
  at most 512 steps. If a chunk ends with a largest entry below 2^-500 (strong contraction) it is
  redone with every factor and every partial product normalised, and later chunks are shortened;
  a chunk that was accepted never had an intermediate product below 2^-900 (sub-multiplicativity),
  far above the subnormal range, so no digit is lost to underflow. Scaling by powers of two is
  exact, so the result equals the float64 product computed with an unbounded exponent.
  n = 1 is vectorised: log2|P_T| = sum_t e_t + sum_t log2 m_t with |j_t| = m_t 2^{e_t}
  (integer exponents summed exactly, mantissa logs by a compensated sum: an error-free split into
  a high part whose sum is exact and a tiny remainder, see _fast_scalar; the integer part is split
  off exactly so the mantissa keeps all its digits).
  The norm is always taken of the scaled mantissa, never of an unscaled tiny matrix.
* ``product_certified`` -- Arb ball arithmetic (python-flint ``arb_mat``). Working precision is
  chosen adaptively: target_bits + (log2 ||prod |J_t| ||_2 - log2 ||prod J_t||_2) + log2(T n) + 32
  guard bits, the two logs from a float64 pre-pass (the radii grow like prod |J_t| while the
  midpoint shrinks like prod J_t). The spectral norm is enclosed rigorously (see
  :func:`spectral_norm_enclosure`) and the precision doubled until the enclosure of ||P_T||_2 has
  the requested relative accuracy. An enclosure that contains 0 has lower bound -inf.

References: Pascanu, Mikolov & Bengio (2013) for the product of Jacobians; Johansson (2017),
"Arb: efficient arbitrary-precision midpoint-radius interval arithmetic"; Kato (1949) and
Temple (1928) for the eigenvalue bound used in the enclosure.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import mpmath
import numpy as np

from gradproof.numerics.errors import InputError

__all__ = [
    "ProductResult",
    "as_jacobian_stack",
    "product_fast",
    "product_reference",
    "product_certified",
    "jacobian_product",
    "log10_norm_series",
    "spectral_norm_enclosure",
    "enclose_log10_norm",
    "NormEnclosure",
    "ball_tree_product",
    "TreeProduct",
    "ENGINES",
]

LOG10_2 = math.log10(2.0)
ENGINES = ("fast", "reference", "certified")
_CHUNK_MAX = 512  # at most this many steps between two rescalings
_CHUNK_GROWTH_BITS = 400.0  # sum of log2 ||J_s||_F over a chunk (so no overflow: entries <= 2^401)
_TINY_EXP = -500  # redo a chunk stepwise if its product's largest entry ends below 2^-500


@dataclass(frozen=True)
class ProductResult:
    """P_T = mantissa * 2^exponent2 and log10 ||P_T||_2 (-inf when P_T = 0 exactly)."""

    engine: str
    log10_norm: float
    mantissa: Any
    exponent2: int
    precision_bits: int
    precision_statement: str
    steps: int = 0
    hidden: int = 0
    log10_norm_lower: float | None = None
    log10_norm_upper: float | None = None
    certified_bits: float | None = None
    extra: dict = field(default_factory=dict)

    @property
    def is_zero(self) -> bool:
        return self.log10_norm == -math.inf

    @property
    def log2_norm(self) -> float:
        return self.log10_norm / LOG10_2


def as_jacobian_stack(jacobians, check_finite: bool = True) -> np.ndarray:
    """Validate and return a (T, n, n) float64 array; (T,) scalars become (T, 1, 1)."""
    try:
        J = np.asarray(jacobians, dtype=np.float64)
    except (TypeError, ValueError):
        raise InputError("Jacobians must be a numeric (T, n, n) array") from None
    if J.ndim == 1:
        J = J[:, None, None]
    if J.ndim != 3 or J.shape[1] != J.shape[2]:
        raise InputError(f"Jacobians must have shape (T, n, n), got {J.shape}")
    if J.shape[0] < 1:
        raise InputError("need at least one Jacobian factor (T >= 1)")
    if J.shape[1] < 1:
        raise InputError("Jacobians must be at least 1 x 1 (n >= 1)")
    if check_finite and not np.all(np.isfinite(J)):
        raise InputError("Jacobians contain NaN or infinite values")
    return J


def _zero_result(engine, T, n, bits, statement):
    return ProductResult(engine=engine, log10_norm=-math.inf, mantissa=np.zeros((n, n)), exponent2=0,
                         precision_bits=bits, precision_statement=statement, steps=T, hidden=n,
                         log10_norm_lower=-math.inf, log10_norm_upper=-math.inf)


def _normalise(P):
    """(P * 2^-e, e) with the largest |entry| of the result in [1/2, 1); exact."""
    amax = float(np.max(np.abs(P)))
    if amax == 0.0:
        return P, 0
    _, e = math.frexp(amax)
    return np.ldexp(P, -e), e


_FAST_STATEMENT = ("float64 (53-bit significand) with exact power-of-two rescaling (frexp/ldexp), "
                   "so no underflow or overflow at any length; rounding error of a float64 product "
                   "(tested against the mpmath reference to 1e-12 relative in log10 ||P_T||)")


_SPLIT = 2.0 ** 26  # log2 mantissas split at multiples of 2^-26 (see _fast_scalar)
_SPLIT_MAX_T = 2 ** 26  # sums of up to 2^26 high parts (multiples of 2^-26, |.| <= 1) are exact


def _fast_scalar(j: np.ndarray, T: int) -> ProductResult:
    r"""n = 1: |P_T| = 2^(sum_t e_t) 2^(sum_t log2 m_t) with |j_t| = m_t 2^{e_t}, m_t in [1/2, 1).

    The exponents are summed as integers (exact). Each l_t = log2 m_t in [-1, 0) is split without
    error into h_t = round(l_t 2^26) / 2^26 and r_t = l_t - h_t (|r_t| <= 2^-27, exact by
    Sterbenz-type alignment); sum_t h_t is exact in float64 in any order (integer multiples of
    2^-26 below 2^26 in size) and sum_t r_t is pairwise-summed (error <= log2(T) 2^-53 T 2^-27).
    The integer part of the exact sum of the h_t is split off before the one rounding of the
    fraction, so the mantissa keeps all its digits: a compensated sum of logs, vectorised.
    Beyond 2^26 factors the sums fall back to math.fsum.
    """
    if np.any(j == 0.0):
        return _zero_result("fast", T, 1, 53, _FAST_STATEMENT)
    m, e = np.frexp(np.abs(j))
    logs = np.log2(m)  # each in [-1, 0): absolute error about 2^-53 per term
    if T <= _SPLIT_MAX_T:
        hi = np.round(logs * _SPLIT) / _SPLIT
        H = float(np.sum(hi))  # exact
        L = float(np.sum(logs - hi))
        k = math.floor(H)
        frac = (H - k) + L  # H - k exact; one rounding
    else:
        lst = logs.tolist()
        k = math.floor(math.fsum(lst))
        frac = math.fsum(lst + [-float(k)])
    exponent2 = int(e.sum(dtype=np.int64)) + k
    sign = -1.0 if np.count_nonzero(j < 0) % 2 else 1.0
    _, e2 = math.frexp(2.0 ** frac)
    mant = sign * 2.0 ** (frac - e2)
    exponent2 += e2
    return ProductResult(engine="fast", log10_norm=exponent2 * LOG10_2 + (frac - e2) * LOG10_2,
                         mantissa=np.array([[mant]]), exponent2=int(exponent2), precision_bits=53,
                         precision_statement=_FAST_STATEMENT + "; n = 1: exact exponent sum + compensated "
                         "(error-free split) sum of log2 mantissas",
                         steps=T, hidden=1)


def _step_growth_bits(J) -> np.ndarray:
    """log2 ||J_t||_F for every t (an upper bound of log2 ||J_t||_2); raises InputError on NaN/inf."""
    with np.errstate(over="ignore", under="ignore", invalid="ignore"):
        fro2 = np.einsum("tij,tij->t", J, J)
    if not np.all(np.isfinite(fro2)):
        if not np.all(np.isfinite(J)):
            raise InputError("Jacobians contain NaN or infinite values")
        amax = np.max(np.abs(J), axis=(1, 2))  # huge entries: square after scaling
        safe = np.where(amax > 0, amax, 1.0)
        fro2 = np.einsum("tij,tij->t", J / safe[:, None, None], J / safe[:, None, None])
        with np.errstate(divide="ignore"):
            return np.log2(safe) + 0.5 * np.log2(fro2)
    with np.errstate(divide="ignore"):
        return 0.5 * np.log2(fro2)


def _fast_matrix_core(J):
    """Chunked product with exact power-of-two rescaling; returns (mantissa, exponent) or None if 0."""
    T, n, _ = J.shape
    growth = np.maximum(_step_growth_bits(J), 0.0).tolist()
    P = np.eye(n)
    exp2 = 0
    t = 0
    max_len = _CHUNK_MAX
    while t < T:
        acc, stop, lim = 0.0, t, min(T, t + max_len)
        while stop < lim and acc + growth[stop] <= _CHUNK_GROWTH_BITS:
            acc += growth[stop]
            stop += 1
        ok = False
        if stop > t:
            Q = P
            for s in range(t, stop):
                Q = J[s] @ Q
            Q, eq = _normalise(Q)
            ok = eq >= _TINY_EXP and bool(np.any(Q))
        else:
            stop = t + 1  # one step with huge growth: normalise that factor first
        if ok:
            P = Q
            exp2 += eq
        else:  # strong contraction (or huge factor): redo with every factor and product normalised
            if stop - t > 1:
                max_len = max(1, (stop - t) // 2)
            for s in range(t, stop):
                Js, ej = _normalise(J[s])
                P, es = _normalise(Js @ P)
                if not np.any(P):
                    return None
                exp2 += ej + es
        t = stop
    return P, exp2


def product_fast(jacobians, exponents2=None) -> ProductResult:
    """float64 product with exact power-of-two rescaling; see the module docstring.

    ``exponents2`` (optional, integers k_t): the factors are J_t 2^{k_t} (scaled form, for factors
    whose entries lie outside the float64 range, e.g. saturated derivatives); the powers of two
    are summed exactly into the result's exponent."""
    if exponents2 is not None:
        k = np.asarray(exponents2, dtype=np.int64).ravel()
        res = product_fast(jacobians)
        if res.is_zero:
            return res
        shift = int(k.sum())
        return ProductResult(engine="fast", log10_norm=res.log10_norm + shift * LOG10_2, mantissa=res.mantissa,
                             exponent2=res.exponent2 + shift, precision_bits=53,
                             precision_statement=res.precision_statement + "; factors in scaled form J_t 2^k_t "
                             "(powers of two summed exactly)", steps=res.steps, hidden=res.hidden)
    J = as_jacobian_stack(jacobians, check_finite=False)
    T, n, _ = J.shape
    if n == 1:
        j = J[:, 0, 0]
        if not np.all(np.isfinite(j)):
            raise InputError("Jacobians contain NaN or infinite values")
        return _fast_scalar(j, T)
    core = _fast_matrix_core(J)  # validates finiteness on the way
    if core is None:
        return _zero_result("fast", T, n, 53, _FAST_STATEMENT)
    M, exp2 = core
    M, e2 = _normalise(M)
    exp2 += e2
    norm = float(np.linalg.norm(M, 2))
    return ProductResult(engine="fast", log10_norm=math.log10(norm) + exp2 * LOG10_2, mantissa=M,
                         exponent2=int(exp2), precision_bits=53,
                         precision_statement=_FAST_STATEMENT + "; spectral norm by LAPACK SVD of the scaled mantissa",
                         steps=T, hidden=n)


def log10_norm_series(jacobians) -> np.ndarray:
    """log10 ||J_t ... J_1||_2 for t = 1..T (fast engine, rescaled every step; -inf once P_t = 0)."""
    J = as_jacobian_stack(jacobians)
    T, n, _ = J.shape
    if n == 1:
        j = J[:, 0, 0]
        out = np.full(T, -np.inf)
        nz = np.nonzero(j == 0.0)[0]
        last = T if nz.size == 0 else int(nz[0])
        m, e = np.frexp(np.abs(j[:last]))
        out[:last] = (np.cumsum(e.astype(np.float64)) + np.cumsum(np.log2(m))) * LOG10_2
        return out
    mants = np.zeros((T, n, n))
    exps = np.zeros(T, dtype=np.int64)
    P, exp2 = np.eye(n), 0
    for t in range(T):
        Jt, ej = _normalise(J[t])
        P, es = _normalise(Jt @ P)
        exp2 += ej + es
        if not np.any(P):
            break
        mants[t] = P
        exps[t] = exp2
    norms = np.linalg.norm(mants, ord=2, axis=(1, 2))
    with np.errstate(divide="ignore"):
        return np.where(norms > 0, np.log10(norms) + exps * LOG10_2, -np.inf)


# ----------------------------------------------------------------------------- reference (mpmath)
def product_reference(jacobians, dps: int = 50) -> ProductResult:
    """mpmath product at ``dps`` decimal digits (unbounded exponent); float64 inputs converted exactly."""
    J = as_jacobian_stack(jacobians)
    if int(dps) != dps or dps < 15:
        raise InputError(f"reference precision must be an integer >= 15 digits, got {dps!r}")
    T, n, _ = J.shape
    with mpmath.workdps(int(dps)):
        prec = mpmath.mp.prec
        statement = (f"mpmath at {int(dps)} digits ({prec}-bit significand), unbounded exponent; "
                     "float64 factors converted exactly; one rounding per multiply-add")
        if n == 1:
            p = mpmath.mpf(1)
            for v in J[:, 0, 0].tolist():
                p *= v
            P = mpmath.matrix([[p]])
        else:
            P = mpmath.eye(n)
            for t in range(T):
                P = mpmath.matrix(J[t].tolist()) * P
        amax = max(abs(P[i, j]) for i in range(n) for j in range(n))
        if amax == 0:
            return _zero_result("reference", T, n, prec, statement)
        _, e = mpmath.frexp(amax)
        e = int(e)
        M = P * mpmath.ldexp(mpmath.mpf(1), -e)
        if n == 1:
            norm = abs(M[0, 0])
        else:
            norm = max(mpmath.svd_r(M, compute_uv=False))
        log10_norm = mpmath.log10(norm) + e * mpmath.log10(2)
        return ProductResult(engine="reference", log10_norm=float(log10_norm), mantissa=M, exponent2=e,
                             precision_bits=prec, precision_statement=statement + "; norm by mpmath SVD",
                             steps=T, hidden=n, extra={"log10_norm_mpf": str(log10_norm)})


# ----------------------------------------------------------------------------- certified (Arb)
def _arb_lower(x):
    """Float lower bound of an arb ball: float() rounds, one step outward makes it a bound."""
    v = float(x.lower())
    return float(np.nextafter(v, -np.inf))


def _arb_upper(x):
    """Float upper bound of an arb ball (see _arb_lower)."""
    v = float(x.upper())
    return float(np.nextafter(v, np.inf))


def _refine_top_vector(G, v, mu, flint_mod, steps: int = 3, rq_steps: int = 2):
    """Inverse iteration (G_mid - mu' I) w = v at the working precision (approximate solves).

    First ``steps`` solves with the shift mu' = mu (1 + 2^-30) just above the float64 estimate mu
    of lambda_1, then ``rq_steps`` Rayleigh-quotient steps with the shift just above the current
    Rayleigh quotient (computed at the working precision), which converge even when lambda_1 and
    lambda_2 agree to float64 accuracy (nearly repeated top singular values).
    Only improves the trial vector; every bound is computed from it afterwards in ball
    arithmetic, so an inaccurate refinement can cost bits but never correctness.
    """
    arb, arb_mat = flint_mod.arb, flint_mod.arb_mat
    n = G.nrows()
    Gmid = G.mid()
    prec = flint_mod.ctx.prec
    eye = [[1 if i == j else 0 for j in range(n)] for i in range(n)]

    def solve(vb, shift):
        A = Gmid - arb_mat(eye) * shift
        try:
            w = A.solve(vb, algorithm="approx")
        except (ZeroDivisionError, ValueError):
            return None
        s = max(abs(float(w[i, 0].mid())) for i in range(n))
        if not (s > 0.0 and math.isfinite(s)):
            return None
        _, e = math.frexp(s)
        scale = arb((1, -e))
        return arb_mat([[(w[i, 0] * scale).mid()] for i in range(n)])

    vb = arb_mat([[float(x)] for x in v])
    shifts = [arb(mu) * (1 + arb((1, -30)))] * steps + [None] * rq_steps
    for shift in shifts:
        if shift is None:  # Rayleigh quotient of the current vector (midpoints), nudged upward
            rq = ((vb.transpose() * Gmid * vb)[0, 0] / (vb.transpose() * vb)[0, 0]).mid()
            shift = rq + abs(rq) * arb((1, -(prec - 24)))
        w = solve(vb, shift)
        if w is None:
            break
        vb = w
    return vb


def _trace(G, arb):
    return sum((G[i, i] for i in range(G.nrows())), arb(0))


def _rotated(G, V, arb):
    """(H, delta): H = V^T G V in ball arithmetic and an exact arb point delta >= ||V^T V - I||_F
    (>= ||V^T V - I||_2), which bounds how far V is from orthogonal (Ostrowski's theorem)."""
    n = G.nrows()
    H = V.transpose() * G * V
    E = V.transpose() * V
    fro2 = arb(0)
    for i in range(n):
        for j in range(n):
            d = E[i, j] - (1 if i == j else 0)
            fro2 += d * d
    return H, arb(fro2.upper()).sqrt().upper()


def _gershgorin_radii(H, arb):
    """sum_{j != i} |H_ij| for every row i (ball arithmetic)."""
    n = H.nrows()
    return [sum((abs(H[i, j]) for j in range(n) if j != i), arb(0)) for i in range(n)]


def _second_eigenvalue_bound(G, V, flint_mod):
    """Upper bound of lambda_2(G) from Gershgorin discs of H = V^T G V (V approximate eigenvectors)
    and Ostrowski's theorem, or None if the top disc is not isolated."""
    arb = flint_mod.arb
    n = G.nrows()
    H, delta = _rotated(G, flint_mod.arb_mat(V.tolist()), arb)
    if float(delta) >= 0.5:
        return None
    radii = _gershgorin_radii(H, arb)
    top = max(range(n), key=lambda i: float(H[i, i].mid()))
    top_low = (H[top, top] - radii[top]).lower()  # exact arb points: compared exactly, no float rounding
    U = arb(0)
    for i in range(n):
        if i != top:
            up = (H[i, i] + radii[i]).upper()
            if up > U:
                U = up
    if not U < top_low:
        return None
    return U / (1 - arb(delta))


def _float_midpoints(G, flint_mod) -> np.ndarray:
    """The midpoints of the ball matrix G as float64, scaled by an exact power of two 2^-k so
    that the largest is in [1, 2) (entries far outside float64's range would otherwise become
    inf or 0 and break the eigensolver). Only the trial vector is taken from them, and
    eigenvectors do not change under scaling; the enclosure itself uses G unscaled."""
    arb = flint_mod.arb
    n, m = G.nrows(), G.ncols()
    mids = [[G[i, j].mid() for j in range(m)] for i in range(n)]
    big = arb(0)
    for row in mids:
        for x in row:
            if abs(x) > big:
                big = abs(x)
    if big == 0:
        return np.zeros((n, m))
    k = int(math.floor(float((big.log() / arb(2).log()).mid())))
    scale = arb(2) ** (-k)
    out = np.array([[float((x * scale).mid()) for x in row] for row in mids])
    return np.where(np.isfinite(out), out, 0.0)


def spectral_norm_enclosure(P, flint_mod):
    """Rigorous arb enclosure (lo, hi) of lambda_max(P^T P) = ||P||_2^2 for every P in the ball matrix.

    With G = P^T P (ball), v a trial vector (float64 top eigenvector refined by inverse iteration
    at the working precision), rho = v^T G v / v^T v, r^2 = ||G v - rho v||^2 / ||v||^2 and an
    upper bound a >= lambda_2 (a = trace(G) - rho since G is positive semidefinite, or a
    Gershgorin/Ostrowski bound when the top disc is isolated): if rho > a, the Kato-Temple bound
    gives rho <= lambda_max <= rho + r^2 / (rho - a). Otherwise (repeated or clustered top
    eigenvalues) a Gershgorin/Ostrowski enclosure of lambda_max itself is used.
    Returns arb balls lo <= lambda_max <= hi (endpoints to be taken outward) and the method.
    """
    arb = flint_mod.arb
    n = P.nrows()
    G = P.transpose() * P
    Gm = _float_midpoints(G, flint_mod)
    w, V = np.linalg.eigh(Gm)
    v = V[:, -1]
    if not np.all(np.isfinite(v)) or not np.any(v):
        v = np.ones(n)
    vb = _refine_top_vector(G, v, float(w[-1]), flint_mod)
    vv = (vb.transpose() * vb)[0, 0]
    Gv = G * vb
    rho = (vb.transpose() * Gv)[0, 0] / vv
    resid = Gv - vb * rho
    r2 = (resid.transpose() * resid)[0, 0] / vv
    tr = _trace(G, arb)
    a = tr - rho
    how = "trace"
    if not (rho - a).lower() > 0:
        a2 = _second_eigenvalue_bound(G, V, flint_mod)
        if a2 is not None:
            a, how = a2, "Gershgorin"
    if (rho - a).lower() > 0:
        return rho, rho + r2 / (rho - a), f"Rayleigh quotient and Kato-Temple bound (lambda_2 by {how})"
    return _gershgorin_ostrowski(G, V, rho, tr, flint_mod)


def _to_arb_exact(x, arb):
    """An mpmath mpf or float as an exact arb."""
    if isinstance(x, mpmath.mpf):
        sign, man, exp, _ = x._mpf_  # value = (-1)^sign * man * 2^exp
        if man == 0:
            return arb(0)
        return arb((-int(man) if sign else int(man), int(exp)))
    return arb(float(x))


def _gershgorin_ostrowski(G, V64, rho, tr, flint_mod):
    """Fallback enclosure of lambda_max(G) for flat or repeated top spectra.

    With V approximate eigenvectors of G (mpmath.eigsy at the working precision when n <= 64,
    else V64, the float64 ones of the caller), H = V^T G V and E = V^T V - I computed in ball
    arithmetic, delta >= ||E||_2 (Frobenius bound): by Ostrowski's theorem
    lambda_max(G) = theta lambda_max(H) with theta in [1/(1+delta), 1/(1-delta)], and by
    Gershgorin max_i H_ii <= lambda_max(H) <= max_i (H_ii + sum_{j != i} |H_ij|).
    """
    arb, arb_mat = flint_mod.arb, flint_mod.arb_mat
    n = G.nrows()
    prec = flint_mod.ctx.prec
    if n <= 64:
        with mpmath.workprec(prec):
            Gmp = mpmath.matrix(n, n)
            for i in range(n):
                for j in range(n):
                    man, exp = G[i, j].mid().man_exp()
                    Gmp[i, j] = mpmath.ldexp(mpmath.mpf(int(man)), int(exp))
            _, Vmp = mpmath.eigsy(Gmp)
            V = arb_mat([[_to_arb_exact(Vmp[i, j], arb) for j in range(n)] for i in range(n)])
        how = f"mpmath eigenvectors at {prec} bits"
    else:
        V = arb_mat(V64.tolist())
        how = "float64 eigenvectors"
    H, delta = _rotated(G, V, arb)
    if float(delta) >= 0.5:
        return rho, tr, "Rayleigh quotient and trace bound"
    radii = _gershgorin_radii(H, arb)
    g_hi = None
    g_lo = None
    for i in range(n):  # exact arb points compared exactly (no rounding to float)
        up = (H[i, i] + radii[i]).upper()
        dn = H[i, i].lower()
        g_hi = up if g_hi is None or up > g_hi else g_hi
        g_lo = dn if g_lo is None or dn > g_lo else g_lo
    hi = g_hi / (1 - arb(delta))
    lo_h = g_lo / (1 + arb(delta))
    lo = lo_h if lo_h.lower() > rho.lower() else rho
    return lo, hi, f"Gershgorin and Ostrowski bounds with {how}"


def _certified_scalar(j, flint_mod):
    arb = flint_mod.arb
    p = arb(1)
    for v in j.tolist():
        p = p * v
    return p


def _ball_product_sequential(J, arb_mat):
    P = arb_mat(J[0].tolist())
    for t in range(1, J.shape[0]):
        P = arb_mat(J[t].tolist()) * P
    return P


class TreeProduct:
    """M_T ... M_1 of ball matrices pushed one at a time (M_1 first), associated as a balanced
    binary tree: a binary counter holding O(log T) partial products, so the factors can be
    generated on the fly. ``finish`` (optional) is applied to every partial product (the
    reference engine drops the radii there: plain p-bit floating point).

    Ball arithmetic over-estimates |A B| by |A| |B| at every multiplication (the wrapping
    effect); along the sequential chain that happens T times, along a tree only log2 T times
    per leaf, and products of long blocks are close to rank one, where |A| |B| ~ |A B|.
    """

    def __init__(self, finish=None):
        self._stack = []  # (level, product of a block of consecutive factors)
        self._finish = finish

    def _mul(self, newer, older):
        M = newer * older
        return M if self._finish is None else self._finish(M)

    def push(self, M) -> None:
        level = 0
        while self._stack and self._stack[-1][0] == level:
            _, older = self._stack.pop()
            M = self._mul(M, older)
            level += 1
        self._stack.append((level, M))

    def result(self):
        if not self._stack:
            raise InputError("need at least one Jacobian factor (T >= 1)")
        _, P = self._stack[-1]
        for _, older in reversed(self._stack[:-1]):
            P = self._mul(P, older)
        return P


def ball_tree_product(factors, finish=None):
    """M_T ... M_1 for an iterable M_1, M_2, ... of ball matrices (see :class:`TreeProduct`)."""
    tree = TreeProduct(finish)
    for M in factors:
        tree.push(M)
    return tree.result()


def _ball_product_tree(J, arb_mat):
    """J_T ... J_1 of float64 factors (exact balls of radius 0), see :func:`ball_tree_product`."""
    return ball_tree_product(arb_mat(J[t].tolist()) for t in range(J.shape[0]))


@dataclass(frozen=True)
class NormEnclosure:
    """Rigorous enclosure of log10 ||P||_2 for a ball matrix P (see :func:`enclose_log10_norm`)."""

    scaled: Any  # P 2^-e, the ball matrix whose norm was enclosed
    scale_exponent2: int
    log10_lower: float  # -inf when the enclosure contains 0
    log10_upper: float  # -inf when P = 0 is proven, +inf when unbounded
    bits: float  # certified relative accuracy of ||P||_2 in bits (inf for a proven zero)
    proven_zero: bool
    method: str
    scaled_norm_lower: float
    scaled_norm_upper: float


def enclose_log10_norm(Pb, e: int, flint) -> NormEnclosure:
    """Enclose ||Pb||_2 for an arb_mat Pb at the current precision, after scaling by the exact
    power of two 2^-e (so that midpoints fit a float64); outward-rounded float bounds.

    The ball P = 0 (every entry an exact zero, upper bound 0) is the only proof of P_T = 0; a
    ball that merely contains 0 gives lower bound -inf and 0 certified bits."""
    arb = flint.arb
    n = Pb.nrows()
    Ps = Pb * arb((1, -e))
    if not all(Ps[i, j].is_finite() for i in range(n) for j in range(n)):
        return NormEnclosure(scaled=Ps, scale_exponent2=int(e), log10_lower=-math.inf, log10_upper=math.inf,
                             bits=0.0, proven_zero=False, method="not finite: the balls overflowed their exponent "
                             "range or grew without bound", scaled_norm_lower=0.0, scaled_norm_upper=math.inf)
    if n == 1:
        absp = abs(Ps[0, 0])
        lo2 = absp * absp
        hi2 = lo2
        method = "absolute value of the ball"
    else:
        lo2, hi2, method = spectral_norm_enclosure(Ps, flint)
    ln10 = arb(10).log()
    ln2 = arb(2).log()
    lo_low = lo2.lower()  # exact arb point: a lower bound of ||P_T / 2^e||_2^2
    hi_up = hi2.upper()  # exact arb point (+inf or nan if the ball is not finite)
    hi_finite = hi_up.is_finite()
    proven_zero = bool(hi_finite and not hi_up > 0)  # ||P||_2^2 <= 0: P_T = 0 exactly
    if lo_low > 0:
        log10_lo = _arb_lower((lo_low.log() / ln10) / 2 + e * (ln2 / ln10))
    else:  # the enclosure contains 0: no lower bound, never a claim of vanishing
        log10_lo = -math.inf
    if not hi_finite:
        log10_hi = math.inf
    elif proven_zero:
        log10_hi = -math.inf
    else:
        log10_hi = _arb_upper((hi_up.log() / ln10) / 2 + e * (ln2 / ln10))
    sn_lo = _arb_lower(lo_low.sqrt()) if lo_low > 0 else 0.0
    sn_hi = (_arb_upper(hi_up.sqrt()) if hi_finite else math.inf) if not proven_zero else 0.0
    # relative accuracy of the norm, computed on the balls (not on rounded floats):
    # sigma_hi / sigma_lo - 1 <= (lambda_hi - lambda_lo) / (2 lambda_lo)
    if proven_zero:
        bits = math.inf  # the zero matrix, exactly
    elif log10_lo == -math.inf or not hi_finite:
        bits = 0.0
    else:
        rel = (hi_up - lo_low) / (2 * lo_low)
        rel_up = _arb_upper(rel.upper())  # rounded up: the bits are never overstated
        bits = math.inf if rel_up <= 0 else -math.log2(rel_up)
    return NormEnclosure(scaled=Ps, scale_exponent2=int(e), log10_lower=log10_lo, log10_upper=log10_hi,
                         bits=bits, proven_zero=proven_zero, method=method, scaled_norm_lower=max(sn_lo, 0.0),
                         scaled_norm_upper=sn_hi)


def product_certified(jacobians, target_bits: int = 53, max_attempts: int = 8,
                      association: str = "tree") -> ProductResult:
    """Arb ball product with adaptive precision until ||P_T||_2 is enclosed to ``target_bits`` bits.

    ``association="sequential"`` multiplies J_t into the running product one by one and starts
    at the precision target + T (lambda(|J|) - lambda(J)) / ln 2 + log2(T n) + 32 (estimated by
    a float64 pre-pass, as the radii grow like prod |J_t|). ``association="tree"`` (default)
    multiplies balanced blocks, where the wrapping loss is about log2 T multiplications per
    factor instead of T; it starts at target + 2 log2(T n) + 32. In both cases the enclosure's
    accuracy is checked and the precision doubled until it has ``target_bits`` bits (at most
    ``max_attempts`` tries, at most 4 while the enclosure still contains 0; the result states the
    bits actually certified).

    Guarantees: the float64 factors enter the balls exactly (radius 0); flint's global precision
    is restored on every path, exceptions included; log10_norm_lower <= log10 ||P_T||_2 <=
    log10_norm_upper (outward-rounded floats). An enclosure that contains 0 has lower bound -inf
    and certified_bits 0; its log10_norm is then the float64 estimate (never -inf), so it is
    never reported as 0 or as vanishing. log10_norm = -inf only when the balls prove P_T = 0.
    """
    import flint

    J = as_jacobian_stack(jacobians)
    if int(target_bits) != target_bits or not (1 <= target_bits <= 10000):
        raise InputError(f"target bits must be an integer in [1, 10000], got {target_bits!r}")
    if association not in ("tree", "sequential"):
        raise InputError(f"association must be tree or sequential, got {association!r}")
    T, n, _ = J.shape
    fast = product_fast(J)
    log_tn = math.ceil(math.log2(T * n + 1))
    if association == "sequential" and n > 1:
        if fast.is_zero:
            loss_bits = 64.0  # a zero float64 product is no proof of zero: evaluate the balls anyway
        else:
            fast_abs = product_fast(np.abs(J))
            loss_bits = max(0.0, (fast_abs.log10_norm - fast.log10_norm) / LOG10_2)
        loss_bits += log_tn
    else:
        loss_bits = 2.0 * log_tn
    prec = int(target_bits + math.ceil(loss_bits) + 32)
    multiply = _ball_product_tree if association == "tree" else _ball_product_sequential
    arb_mat = flint.arb_mat
    attempts = []
    result = None
    for _ in range(max_attempts):
        old = flint.ctx.prec
        try:
            flint.ctx.prec = prec
            if n == 1:
                Pb = arb_mat([[_certified_scalar(J[:, 0, 0], flint)]])
            else:
                Pb = multiply(J, arb_mat)
            # scale by an exact power of two (from the float64 pre-pass) so midpoints fit a float64
            e = fast.exponent2 if not fast.is_zero else 0
            enc = enclose_log10_norm(Pb, e, flint)
            Ps, method, proven_zero = enc.scaled, enc.method, enc.proven_zero
            log10_lo, log10_hi, bits = enc.log10_lower, enc.log10_upper, enc.bits
            sn_lo, sn_hi = enc.scaled_norm_lower, enc.scaled_norm_upper
        finally:
            flint.ctx.prec = old
        attempts.append((prec, bits))
        if log10_lo != -math.inf and log10_hi != math.inf:
            mid = 0.5 * (log10_lo + log10_hi)
        elif proven_zero:
            mid = -math.inf
        else:
            # not certified (the ball contains 0 or is unbounded): the float64 estimate, but never
            # -inf (a zero that the balls do not prove), so no caller can mistake it for P_T = 0
            mid = fast.log10_norm if math.isfinite(fast.log10_norm) else log10_hi
            if not math.isfinite(mid):
                mid = math.nan
        result = ProductResult(
            engine="certified", log10_norm=float(mid), mantissa=Ps, exponent2=int(e), precision_bits=prec,
            precision_statement=(f"Arb ball arithmetic at {prec} bits ({association if n > 1 else 'scalar'} "
                                 f"association; adaptive: target "
                                 f"{int(target_bits)} bits + {math.ceil(loss_bits)} bits estimated loss + 32 guard); "
                                 f"norm enclosure: {method}; "
                                 f"certified relative accuracy of ||P_T||_2: {min(bits, 999):.1f} bits; "
                                 f"attempts (prec, bits): {attempts}"),
            steps=T, hidden=n, log10_norm_lower=log10_lo, log10_norm_upper=log10_hi,
            certified_bits=float(min(bits, 999.0)),
            extra={"scaled_norm_lower": max(sn_lo, 0.0), "scaled_norm_upper": sn_hi, "scale_exponent2": int(e),
                   "association": association, "attempts": list(attempts)})
        if bits >= target_bits:
            break
        if bits > 0 and len(attempts) >= 2 and bits <= attempts[-2][1] + 1.0:
            break  # more precision does not help: the norm-enclosure method limits the accuracy
        if bits == 0 and len(attempts) >= 4:
            break  # still contains 0 at 8x the precision: reported as not certified (lower bound -inf)
        prec *= 2
    return result


def jacobian_product(jacobians, engine: str = "fast", **kwargs) -> ProductResult:
    """Dispatch to product_fast / product_reference / product_certified by name."""
    if engine == "fast":
        return product_fast(jacobians)
    if engine == "reference":
        return product_reference(jacobians, **kwargs)
    if engine == "certified":
        return product_certified(jacobians, **kwargs)
    raise InputError(f"unknown engine {engine!r}; choose fast, reference or certified")
