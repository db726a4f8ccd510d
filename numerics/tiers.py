r"""Tiered certified products: float64 mid-rad balls, then double-double midpoints, then Arb.

Input: ENCLOSURES of the Jacobians, J_t in <mid_t, rad_t> entrywise (|J_t - mid_t| <= rad_t),
as arrays or as a stream of chunks (:class:`JacobianSource`), so the same driver serves an engine
that multiplies float64 Jacobians (radius 0: the float64 matrices are exact rationals) and one
that encloses the network's own Jacobians by a certified forward pass (issue 11).

``certify_product(source, bits)`` tries, in order and each only when the previous one could not
certify ``bits`` bits of ||P_T||_2 (P_T = J_T ... J_1):

1. ``float``: float64 midpoint-radius products (:mod:`gradproof.numerics.midrad`, Rump 1999),
   balanced tree, one batched matmul per level; costs about 3 matmuls per factor;
2. ``qr``: blocks of m factors enclosed by the float tier, chained in a moving QR frame
   (:mod:`gradproof.numerics.qrtier`, Lohner 1988), which does not wrap from block to block: more
   bits than ``float`` on long products (e.g. 11 instead of 0 at 32 x 1e4) at a similar cost;
3. ``ddnorm``: the double-double midpoint of ``dd`` with ONE Frobenius-norm error bound per matrix
   instead of a radius matrix (:mod:`gradproof.numerics.ddnorm`): the three midpoint matmuls and
   O(n^2) more work per product, so about 3.5x the fast engine at n = 256, with nearly the bits of
   ``dd`` there (12 against 15 at 256 x 1000) and fewer at small n, where the entrywise radii
   wrap less than the norm bound does;
4. ``dd``: the float tree with a double-double midpoint (error-free Ozaki split and TwoSum); about 5;
5. ``arb``: python-flint Arb balls with the given radii, tree association, precision doubled
   until ``bits`` are certified (norm by ``engines.spectral_norm_enclosure``).

A float tier that is not the last one allowed is skipped when its bits predictor (Gaussian
factors; ``_predict_float``, ``qrtier.predicted_bits``, ``ddnorm.predicted_bits``) says it
cannot reach ``bits``, and abandoned early when its partial products show that it cannot (``midrad._too_wide``,
``qrtier._hopeless``). Both are cost heuristics; they never affect soundness: every returned
enclosure is rigorous, and a skipped or abandoned tier returns nothing.

"Certified bits" b means sigma_hi / sigma_lo - 1 <= 2^-b for the returned enclosure
sigma_lo <= ||P_T||_2 <= sigma_hi (the same definition as ``engines.product_certified``).
The float tiers run only after :func:`gradproof.numerics.fpenv.check_float_environment` passed
(round-to-nearest, gradual underflow, classical matmul, tested at the working size); otherwise
the driver goes straight to Arb and says why. The nonnegative radius products of the float and
double-double tiers are computed as float32 upper bounds (sgemm, ``upmatmul.matmul_up32``) when
``fpenv.check_float32_kernels`` passes at the working size and ``float32_radii`` allows them (the
default ``None``: at n >= ``FLOAT32_RADII_MIN_N``, where they were measured to pay), else in float64
as before; ``extra["radius_products"]`` says which. (Below n ~ 256 the O(n^2) conversions to
float32 cost more than sgemm saves on this machine: benchmarks/README.md.) n = 1 is the scalar case of the same balls
(|P| in [|m| - r, |m| + r] 2^e, an interval version of the exact exponent-plus-mantissa product).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Callable, Iterable, Iterator

import numpy as np

from gradproof.numerics import ddnorm, midrad, qrtier
from gradproof.numerics.errors import InputError
from gradproof.numerics.fpenv import (ASSUMPTIONS, ASSUMPTIONS_FLOAT32, FloatEnvironment, check_float32_kernels,
                                      check_float_environment, check_qr_kernels)

__all__ = [
    "arb_ball_to_float",
    "JacobianSource",
    "source_from_arrays",
    "source_from_chunks",
    "TierAttempt",
    "TieredProduct",
    "certify_product",
    "DEFAULT_BITS",
    "TIER_ORDER",
    "TIER_CAPS",
    "FLOAT_TIERS",
    "FLOAT32_RADII_MIN_N",
]

TIER_ORDER = ("float", "qr", "ddnorm", "dd", "arb")
FLOAT_TIERS = ("float", "qr", "ddnorm", "dd")  # the tiers that need the float environment (numerics.fpenv)
# a tier is not tried for a request above its reach (measured: float, qr <= ~45, ddnorm, dd <= ~50
# bits; the float64 norm enclosure itself gives at most ~53 - 2 log2 n bits)
TIER_CAPS = {"float": 44, "qr": 44, "ddnorm": 50, "dd": 50}
# 24 bits: ||P||_2 to 6e-8 relative, log10 ||P||_2 to 2.6e-8 absolute (6 printed decimals)
DEFAULT_BITS = 24
# float32 radius products by default only from this size on (measured: a ~5% gain at n = 256, a loss
# of 10-80% at n = 32..128, where the float32 conversions cost more than sgemm saves)
FLOAT32_RADII_MIN_N = 256
LOG10_2 = math.log10(2.0)


@dataclass(frozen=True)
class JacobianSource:
    """T factors J_1..J_T of size n, given by enclosures and read as chunks, oldest first.

    ``chunks(size)`` returns a fresh iterator of (mid, rad) arrays of shape (k, n, n) with
    k <= size (rad None: the factors are the float64 matrices themselves, radius 0). A source
    can be read several times (once per tier). ``arrays`` holds (mid, rad) when in memory.
    """

    hidden: int
    steps: int
    point: bool
    make_chunks: Callable[[int], Iterator]
    arrays: tuple | None = None

    def chunks(self, size: int) -> Iterator:
        if self.arrays is not None:
            # in-memory factors, validated whole by source_from_arrays (and not the caller's to refill):
            # no second pass over the slices
            return self.make_chunks(int(size))
        return _checked(self.make_chunks(int(size)), self.hidden, self.steps, self.point)


def _validate(mid, rad, n=None):
    try:
        mid = np.asarray(mid, dtype=np.float64)
        rad = None if rad is None else np.asarray(rad, dtype=np.float64)
    except (TypeError, ValueError):
        raise InputError("Jacobian enclosures must be numeric arrays") from None
    if mid.ndim == 1:
        mid = mid[:, None, None]
        rad = None if rad is None else rad.reshape(mid.shape)
    if mid.ndim != 3 or mid.shape[1] != mid.shape[2] or (n is not None and mid.shape[1] != n):
        raise InputError(f"Jacobian midpoints must have shape (T, n, n), got {mid.shape}")
    if rad is not None and rad.shape != mid.shape:
        raise InputError(f"radius shape {rad.shape} differs from midpoint shape {mid.shape}")
    if not np.all(np.isfinite(mid)) or (rad is not None and not np.all(np.isfinite(rad))):
        raise InputError("Jacobian enclosures contain NaN or infinite values")
    if rad is not None and np.any(rad < 0):
        raise InputError("Jacobian radii must be >= 0")
    return mid, rad


def _checked(it, n, steps, point):
    """A streamed source's chunks, validated and COPIED: the tiers keep chunks (or views of
    them) alive while the next one is requested, so a source that refills one buffer must not
    be able to change factors already taken (that would make the enclosure wrong)."""
    seen = 0
    for item in it:
        mid, rad = item
        mid, rad = _validate(np.array(mid, dtype=np.float64), None if rad is None else np.array(rad, dtype=np.float64), n)
        if point and rad is not None and np.any(rad):
            raise InputError("a point source yielded a nonzero radius")
        seen += mid.shape[0]
        if seen > steps:
            raise InputError(f"the source yielded more than its {steps} steps")
        yield mid, rad
    if seen != steps:
        raise InputError(f"the source yielded {seen} steps, expected {steps}")


def source_from_arrays(mid, rad=None) -> JacobianSource:
    """A source over in-memory (T, n, n) midpoints and radii (rad None or all zero: points)."""
    mid, rad = _validate(mid, rad)
    if mid.shape[0] < 1 or mid.shape[1] < 1:
        raise InputError("need at least one Jacobian factor of size >= 1")
    if rad is not None and not np.any(rad):
        rad = None
    T = mid.shape[0]

    def make(size):
        for i in range(0, T, size):
            yield mid[i:i + size], None if rad is None else rad[i:i + size]

    return JacobianSource(hidden=mid.shape[1], steps=T, point=rad is None, make_chunks=make, arrays=(mid, rad))


def source_from_chunks(make_chunks: Callable[[int], Iterable], hidden: int, steps: int,
                       point: bool = False) -> JacobianSource:
    """A streaming source: ``make_chunks(size)`` yields (mid, rad) chunks, a fresh pass per call.
    Each chunk is copied as it is read, so the generator may refill one buffer."""
    if int(hidden) < 1 or int(steps) < 1:
        raise InputError("need hidden >= 1 and steps >= 1")
    return JacobianSource(hidden=int(hidden), steps=int(steps), point=bool(point),
                          make_chunks=lambda size: iter(make_chunks(size)))


def arb_ball_to_float(M, flint=None):
    """(mid, rad) float64 arrays with every entry of the arb_mat (or list of rows of arbs) M inside
    the float ball: mid = float(midpoint) (round to nearest), rad = an upper bound of
    |midpoint - mid| + radius, computed in Arb and rounded up. The seam between an Arb forward
    pass (the network's own Jacobians, issue 11) and the float tiers; measured cost ~2 us per
    entry in python-flint 0.9 (1.96 ms for 32 x 32, more than one Arb 32 x 32 product, 1.5 ms)."""
    if flint is None:
        import flint
    rows = [[M[i, j] for j in range(M.ncols())] for i in range(M.nrows())] if hasattr(M, "nrows") else M
    n = len(rows)
    mid = np.empty((n, len(rows[0]) if n else 0))
    rad = np.empty_like(mid)
    for i, row in enumerate(rows):
        for j, x in enumerate(row):
            c = x.mid()
            m = float(c)
            if not math.isfinite(m):
                raise InputError("a Jacobian enclosure does not fit float64 (scale it first)")
            d = (abs(c - m) + x.rad()).upper()
            r = float(d)
            rad[i, j] = math.nextafter(r, math.inf) if r > 0 or d > 0 else 0.0
            mid[i, j] = m
    return mid, rad


@dataclass(frozen=True)
class TierAttempt:
    tier: str
    certified_bits: float | None  # None: not run
    note: str


@dataclass(frozen=True)
class TieredProduct:
    """Which tier certified ||P_T||_2, to how many bits, and the enclosure of log10 ||P_T||_2."""

    tier: str
    requested_bits: int
    certified_bits: float
    certified: bool  # certified_bits >= requested_bits
    log10_norm_lower: float
    log10_norm_upper: float
    log10_norm: float
    scaled_norm_lower: float  # ||P_T||_2 / 2^exponent2 enclosure (floats, outward)
    scaled_norm_upper: float
    exponent2: int
    norm_method: str
    steps: int
    hidden: int
    attempts: tuple
    assumptions: tuple
    environment: FloatEnvironment | None
    statement: str
    extra: dict = field(default_factory=dict)


def _bits(lo: float, hi: float) -> float:
    """-log2(hi / lo - 1) rounded down (inf when hi == lo > 0, 0 when lo == 0)."""
    if not (lo > 0.0) or not math.isfinite(hi):
        return 0.0
    rel = Fraction(hi) / Fraction(lo) - 1
    if rel <= 0:
        return math.inf
    b = -math.log2(midrad.float_up(rel))
    return max(0.0, math.floor(b * 1000.0) / 1000.0 - 0.001)


def _log10_bounds(lo: float, hi: float, exponent2: int):
    """Outward log10(lo 2^e), log10(hi 2^e) computed in Arb (lo, hi exact floats)."""
    import flint

    old = flint.ctx.prec
    try:
        flint.ctx.prec = 96
        l2 = flint.arb(2).log() / flint.arb(10).log()
        if lo > 0:
            x = flint.arb(lo).log() / flint.arb(10).log() + exponent2 * l2
            llo = math.nextafter(float(x.lower()), -math.inf)
        else:
            llo = -math.inf
        if hi > 0 and math.isfinite(hi):
            y = flint.arb(hi).log() / flint.arb(10).log() + exponent2 * l2
            lhi = math.nextafter(float(y.upper()), math.inf)
        elif hi == 0:
            lhi = -math.inf
        else:
            lhi = math.inf
    finally:
        flint.ctx.prec = old
    return llo, lhi


def _predict_float(n, T):
    """The float tier's bits on Gaussian factors, optimistic by 1-8 bits (benchmarks/README.md):
    53 - log2 n - log2 T (1 + log2(0.8 sqrt n))."""
    return 53 - math.log2(n) - math.log2(T) * (1 + math.log2(0.8 * math.sqrt(n)))


_PREDICT = {"float": _predict_float, "qr": qrtier.predicted_bits, "ddnorm": ddnorm.predicted_bits}


def _run_float_tier(src: JacobianSource, tier: str, chunk: int, min_bits, radius32: bool = False):
    ball = midrad.ball_tree_product(src.chunks(chunk), tier, min_bits=min_bits, total=src.steps,
                                    radius32=radius32)
    if ball is None:
        return None
    M, R = ball.float_ball()
    lo, hi, method = midrad.norm_enclosure(M, R)
    return ball, lo, hi, method


def _arb_ball_tree(src: JacobianSource, bits: int, chunk: int):
    """Arb ball product of the enclosures (tree order) and its norm enclosure; doubling precision."""
    import flint

    from gradproof.numerics.engines import spectral_norm_enclosure

    n, T = src.hidden, src.steps
    prec = int(bits + 2 * math.ceil(math.log2(T * n + 1)) + 32)
    arb, arb_mat = flint.arb, flint.arb_mat
    out = None
    for _ in range(4):
        old = flint.ctx.prec
        try:
            flint.ctx.prec = prec
            stack = []
            for mid, rad in src.chunks(chunk):
                for k in range(mid.shape[0]):
                    if rad is None:
                        M = arb_mat(mid[k].tolist())
                    else:
                        M = arb_mat([[arb(float(mid[k, i, j]), float(rad[k, i, j])) for j in range(n)]
                                     for i in range(n)])
                    level = 0
                    while stack and stack[-1][0] == level:
                        _, older = stack.pop()
                        M = M * older
                        level += 1
                    stack.append((level, M))
            _, P = stack.pop()
            while stack:
                _, older = stack.pop()
                P = P * older
            E = None
            for i in range(n):
                for j in range(n):
                    man, ex = P[i, j].mid().man_exp()
                    if man != 0:
                        e = int(ex) + abs(int(man)).bit_length()
                        E = e if E is None or e > E else E
            E = 0 if E is None else E
            Ps = P * arb((1, -E))
            if all(Ps[i, j].is_zero() for i in range(n) for j in range(n)):
                lo2 = hi2 = arb(0)  # every entry is an exact zero ball: P_T = 0 exactly
                method = "exact zero matrix"
            elif n == 1:
                a = abs(Ps[0, 0])
                lo2, hi2, method = a * a, a * a, "absolute value of the ball"
            else:
                try:
                    lo2, hi2, method = spectral_norm_enclosure(Ps, flint)
                except (np.linalg.LinAlgError, ValueError, ZeroDivisionError):
                    # max |entry|^2 <= ||P||_2^2 <= ||P||_F^2 (rigorous, in Arb)
                    ent = [Ps[i, j] for i in range(n) for j in range(n)]
                    fro = sum((x * x for x in ent), arb(0))
                    lo2 = max((abs(x).lower() for x in ent), key=lambda v: float(v)) ** 2
                    hi2, method = fro, "max |entry| and Frobenius norm (eigensolver failed)"
            lo_low, hi_up = lo2.lower(), hi2.upper()
            lo = math.nextafter(float(lo_low.sqrt().lower()), 0.0) if lo_low > 0 else 0.0
            ln10 = arb(10).log()
            l2 = arb(2).log() / ln10
            llo = (math.nextafter(float(((lo_low.log() / ln10) / 2 + E * l2).lower()), -math.inf)
                   if lo_low > 0 else -math.inf)
            if not hi_up.is_finite():
                hi, lhi = math.inf, math.inf
            elif not hi_up > 0:
                hi, lhi = 0.0, -math.inf  # ||P||_2^2 <= 0: P_T = 0 exactly
            else:
                hi = math.nextafter(float(hi_up.sqrt().upper()), math.inf)
                lhi = math.nextafter(float(((hi_up.log() / ln10) / 2 + E * l2).upper()), math.inf)
            # bits from the balls, not from the rounded floats: sigma_hi / sigma_lo - 1 <= (l_hi - l_lo) / (2 l_lo)
            if hi == 0.0:
                b = math.inf
            elif lo_low > 0 and hi_up.is_finite():
                rel = ((hi_up - lo_low) / (2 * lo_low)).upper()
                b = math.inf if not rel > 0 else max(0.0, math.floor(-math.log2(float(rel)) * 1000) / 1000 - 0.001)
            else:
                b = 0.0
        finally:
            flint.ctx.prec = old
        out = (lo, hi, E, method, prec, b, llo, lhi)
        if b >= bits:
            break
        prec *= 2
    return out


def _result(tier, bits, lo, hi, e, method, src, attempts, env, statement, extra=None, arb_logs=None,
            float32=False):
    if arb_logs is None:
        b = _bits(lo, hi) if hi > 0 else math.inf
        llo, lhi = _log10_bounds(lo, hi, e)
    else:  # computed on the Arb balls themselves (more than the ~52 bits two floats can show)
        llo, lhi, b = arb_logs
    if math.isfinite(llo) and math.isfinite(lhi):
        mid = 0.5 * (llo + lhi)
    elif hi == 0:
        mid = -math.inf
    else:
        mid = math.nan
    bc = float(min(b, 999.0))
    return TieredProduct(tier=tier, requested_bits=int(bits), certified_bits=bc, certified=b >= bits,
                         log10_norm_lower=llo, log10_norm_upper=lhi, log10_norm=float(mid),
                         scaled_norm_lower=lo, scaled_norm_upper=hi, exponent2=int(e), norm_method=method,
                         steps=src.steps, hidden=src.hidden, attempts=tuple(attempts),
                         assumptions=(ASSUMPTIONS + (ASSUMPTIONS_FLOAT32 if float32 else ()))
                         if tier in FLOAT_TIERS else (),
                         environment=env, statement=statement, extra=dict(extra or {}))


def certify_product(source, bits: int = DEFAULT_BITS, tiers: tuple = TIER_ORDER, chunk: int | None = None,
                    environment: FloatEnvironment | None = None, float32_radii: bool | None = None) -> TieredProduct:
    """Certify ``bits`` bits of ||J_T ... J_1||_2 with the cheapest tier that can (module docstring).

    ``source``: a :class:`JacobianSource`, a (T, n, n) array of float64 Jacobians (points), or a
    (mid, rad) pair of arrays. ``tiers``: the tiers allowed, in order (e.g. ("arb",) to ask for
    Arb only). ``environment``: a precomputed check (tests use it to simulate a failed check).
    ``float32_radii``: the float32 radius products: True allows them at any n, None (default) at
    n >= ``FLOAT32_RADII_MIN_N``, False never (float64, e.g. to compare the two in a benchmark);
    allowed, they are used only if ``check_float32_kernels`` passes at n.
    If no tier reaches ``bits``, the best enclosure found is returned with ``certified`` False.
    """
    if isinstance(source, JacobianSource):
        src = source
    elif isinstance(source, tuple) and len(source) == 2:
        src = source_from_arrays(*source)
    else:
        src = source_from_arrays(source)
    if isinstance(bits, bool) or int(bits) != bits or not (1 <= bits <= 10000):
        raise InputError(f"bits must be an integer in [1, 10000], got {bits!r}")
    bits = int(bits)
    bad = [t for t in tiers if t not in TIER_ORDER]
    if bad or not tiers:
        raise InputError(f"unknown tiers {bad}; choose from {', '.join(TIER_ORDER)}")
    n = src.hidden
    chunk = int(chunk) if chunk else midrad.default_chunk(n)
    env = None
    if any(t in FLOAT_TIERS for t in tiers):
        env = environment if environment is not None else check_float_environment(n)
    attempts = []
    best = None

    def record(res: TieredProduct, wins_ties: bool = False) -> TieredProduct:
        """Note the tier's attempt on it and keep the best enclosure so far (Arb wins ties)."""
        nonlocal best
        attempts.append(TierAttempt(res.tier, res.certified_bits, "certified" if res.certified else "too few bits"))
        res = _with_attempts(res, attempts)
        if best is None or res.certified_bits > best.certified_bits or (
                wins_ties and res.certified_bits == best.certified_bits):
            best = res
        return res
    r32 = r32_note = None  # float32 radius products: decided (and checked) before the first float/dd tier
    for tier in tiers:
        if tier in FLOAT_TIERS:
            if not env.ok:
                attempts.append(TierAttempt(tier, None, "not run: float environment check failed ("
                                            + "; ".join(env.failed) + ")"))
                continue
            if bits > TIER_CAPS[tier]:
                attempts.append(TierAttempt(tier, None, f"not run: {bits} bits exceed this tier's reach "
                                            f"({TIER_CAPS[tier]})"))
                continue
            last = tier == tiers[-1]
            pred = _PREDICT.get(tier)
            predicted = None if pred is None else pred(n, src.steps)
            if not last and predicted is not None and predicted < bits:
                attempts.append(TierAttempt(tier, None, f"skipped: predicted {predicted:.0f} bits "
                                            f"< {bits} (heuristic, Gaussian factors; the next tier runs)"))
                continue
            if tier == "qr":
                bad = check_qr_kernels(n)
                if bad:
                    attempts.append(TierAttempt(tier, None, "not run: float environment check failed ("
                                                + "; ".join(bad) + ")"))
                    continue
                q = qrtier.qr_product(src.chunks(chunk), n, src.steps, min_bits=None if last else bits)
                if q is None:
                    attempts.append(TierAttempt(tier, None, "abandoned: the frame's error bound already grew "
                                                f"too fast for {bits} bits (heuristic; the next tier runs)"))
                    continue
                statement = (f"float64 mid-rad blocks of {q.block} factors (Rump 1999, balanced tree) chained in "
                             f"a moving QR frame (Lohner 1988), {q.blocks} blocks, {q.fallbacks} frame resets; "
                             f"norm: {q.method}")
                res = _result("qr", bits, q.lower, q.upper, q.exponent2, q.method, src, attempts, env, statement,
                              extra={"block": q.block, "blocks": q.blocks, "frame_resets": q.fallbacks})
                res = record(res)
                if res.certified:
                    return res
                continue
            if tier == "ddnorm":
                nb = ddnorm.norm_ball_tree_product(src.chunks(chunk), min_bits=None if last else bits,
                                                   total=src.steps)
                if nb is None:
                    attempts.append(TierAttempt(tier, None, "abandoned: a partial product's error bound was "
                                                f"already too wide for {bits} bits (heuristic; the next tier runs)"))
                    continue
                lo, hi, e2, method = ddnorm.norm_bounds(nb)
                statement = ("double-double midpoints (Ozaki et al. 2012 error-free split) with one Frobenius-norm "
                             "error bound per matrix (a priori bounds, round-to-nearest, rounded upward), "
                             f"balanced tree, batches of {chunk}; norm: {method}")
                res = _result(tier, bits, lo, hi, e2, method, src, attempts, env, statement,
                              extra={"chunk": chunk, "error_bound": "Frobenius norm, one per matrix"})
                res = record(res)
                if res.certified:
                    return res
                continue
            if r32 is None:
                if float32_radii is False:
                    bad32 = ("not requested: float32_radii=False",)
                elif n == 1:
                    bad32 = ("n = 1: elementwise products",)
                elif float32_radii is None and n < FLOAT32_RADII_MIN_N:
                    bad32 = (f"not used below n = {FLOAT32_RADII_MIN_N}, where it does not pay",)
                else:
                    bad32 = check_float32_kernels(n)
                r32 = not bad32
                r32_note = ("float32 upper bounds (sgemm, a posteriori inflation; numerics.upmatmul)" if r32
                            else "float64 (float32 path: " + "; ".join(bad32) + ")")
            run = _run_float_tier(src, tier, chunk, None if last else bits, radius32=r32)
            if run is None:
                attempts.append(TierAttempt(tier, None, "abandoned: a partial product was already too wide "
                                            f"for {bits} bits (heuristic; the next tier runs)"))
                continue
            ball, lo, hi, method = run
            name = "float64 mid-rad" if tier == "float" else "double-double mid-rad"
            statement = (f"{name} balls (Rump 1999; a priori bounds, round-to-nearest, radii inflated upward), "
                         f"balanced tree, batches of {chunk}; norm: {method}")
            res = _result(tier, bits, lo, hi, ball.exponent2, method, src, attempts, env, statement,
                          extra={"chunk": chunk, "radius_products": r32_note}, float32=r32)
            res = record(res)
            if res.certified:
                return res
        else:  # arb
            # the Arb midpoint's own exponent scales the product (engines.product_certified scales by
            # the float64 pre-pass, which can be off by hundreds of binades for 1e+-300 entries)
            lo, hi, e, method, prec, b, llo, lhi = _arb_ball_tree(src, bits, chunk)
            res = _result("arb", bits, lo, hi, e, method, src, attempts, env,
                          f"Arb ball arithmetic at {prec} bits (tree association, the given radii); "
                          f"norm: {method}", extra={"precision_bits": prec}, arb_logs=(llo, lhi, b))
            res = record(res, wins_ties=True)
            if res.certified:
                return res
    if best is None:
        raise InputError("no tier could run: " + "; ".join(a.note for a in attempts))
    return _with_attempts(best, attempts)


def _with_attempts(res: TieredProduct, attempts) -> TieredProduct:
    from dataclasses import replace

    return replace(res, attempts=tuple(attempts))
