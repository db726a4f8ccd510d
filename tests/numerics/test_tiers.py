"""The float64 and double-double ball tiers against Arb, the run-time checks, and the tier driver.

Oracle: python-flint Arb balls (the driver's Arb tier at 80 target bits), an independent
implementation of ball arithmetic; exact rationals (fractions.Fraction) for the error-free split and
for ``inflate``; mpmath SVD for the norm enclosure. Containment: the tier's enclosure of
log10 ||P_T||_2 must intersect Arb's (a necessary condition for containing the truth, which lies in
Arb's); when Arb proves P_T = 0 the tier must not claim a positive lower bound. Cases are drawn by
hypothesis with ``derandomize=True`` (deterministic), families: Gaussian, ill-conditioned,
near-singular, nilpotent, wide dynamic range (1e-300..1e300), subnormal entries, long products,
exact powers of two; point matrices and balls (a point inside each ball is the one Arb multiplies).
Each tier runs twice, with float64 radius products and with float32 upper bounds of them
(``float32_radii=True``, numerics.upmatmul). The default suite runs 200 cases x 2 tiers x 2;
``-m slow`` runs 1,200 more.
"""

from __future__ import annotations

import math
from fractions import Fraction

import mpmath
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gradproof.numerics import midrad
from gradproof.numerics.errors import InputError
from gradproof.numerics.fpenv import check_float_environment
from tier_cases import arb_reference, ball_around, consistent, long_sizes, make_case  # tests/helpers

from gradproof.numerics.tiers import certify_product, source_from_arrays, source_from_chunks

FAMILIES = ("gaussian", "illcond", "nearsingular", "nilpotent", "widerange", "subnormal", "long", "pow2")


def _arb(J):
    return arb_reference(J)


def _consistent(ours, ref):
    """The tier's enclosure can contain the truth, which lies in Arb's enclosure."""
    return consistent(ours.log10_norm_lower, ours.log10_norm_upper, ref)


case_strategy = st.tuples(st.sampled_from(FAMILIES), st.sampled_from([1, 2, 3, 5, 8]),
                          st.integers(1, 40), st.integers(0, 2 ** 31))


def _check_case(family, n, T, seed, ball):
    n, T = long_sizes(family, n, T)
    J = make_case(family, n, T, seed)
    ref = _arb(J)
    src = source_from_arrays(*ball_around(J, seed)) if ball else source_from_arrays(J)
    for tier in ("float", "dd"):
        for r32 in (False, True):  # float64 radius products, and float32 upper bounds (numerics.upmatmul)
            res = certify_product(src, bits=1, tiers=(tier,), float32_radii=r32)
            assert res.tier == tier
            assert res.extra["radius_products"].startswith("float32" if r32 and n > 1 else "float64")
            assert _consistent(res, ref), (family, n, T, seed, ball, tier, r32, res.log10_norm_lower,
                                           res.log10_norm_upper, ref.log10_norm_lower, ref.log10_norm_upper)


@settings(max_examples=100, deadline=None, derandomize=True)
@given(case_strategy)
def test_point_cases_contained_in_both_tiers(case):
    _check_case(*case, ball=False)


@settings(max_examples=100, deadline=None, derandomize=True)
@given(case_strategy)
def test_ball_cases_contain_a_member(case):
    _check_case(*case, ball=True)


@pytest.mark.slow
@settings(max_examples=600, deadline=None, derandomize=True, database=None)
@given(case_strategy, st.booleans())
def test_sweep_1200_cases(case, ball):
    fam, n, T, seed = case
    _check_case(fam, n, T, seed ^ 0x5EED, ball)


@pytest.mark.slow
@settings(max_examples=600, deadline=None, derandomize=True, database=None)
@given(st.sampled_from(("gaussian", "illcond", "widerange", "subnormal")), st.sampled_from([16, 24, 33]),
       st.integers(2, 24), st.integers(0, 2 ** 31), st.booleans())
def test_sweep_larger_n(family, n, T, seed, ball):
    _check_case(family, n, T, seed, ball)


# ----------------------------------------------------------------------------- specific cases
def test_600_quarters_scalar_interval():
    exact = -1200 * math.log10(2)
    for tier in ("float", "dd"):
        r = certify_product(np.full(600, 0.25), bits=30, tiers=(tier,))
        assert r.log10_norm_lower <= exact <= r.log10_norm_upper
        assert r.certified_bits >= 40  # exact products: only the a priori inflation remains


def test_scalar_long_product_matches_arb_and_is_certified():
    rng = np.random.default_rng(0)
    j = rng.uniform(0.5, 1.0, size=20_000)
    ref = _arb(j)
    r = certify_product(j, bits=30)
    assert r.tier == "float" and r.certified_bits >= 30
    assert _consistent(r, ref)
    naive = np.prod(j)
    assert naive == 0.0 or naive < 1e-300  # the naive float64 product underflows


def test_wide_dynamic_range_product_far_outside_float64():
    J = np.stack([np.diag([1e300, 3e299, 2e300]) if t % 2 == 0 else np.diag([1e300, 1e-300, 7e299])
                  for t in range(40)])
    J[:, 0, 1] = 1e-300
    ref = _arb(J)
    assert ref.log10_norm > 8000  # 10^8000: no float64 could hold it
    for tier in ("float", "dd"):
        r = certify_product(J, bits=20, tiers=(tier,))
        assert _consistent(r, ref) and r.certified_bits >= 20


def test_nilpotent_product_is_zero_only_in_arb():
    rng = np.random.default_rng(3)
    J = np.triu(rng.standard_normal((8, 4, 4)), 1)
    r = certify_product(J, bits=10)
    assert r.tier == "arb" and r.log10_norm == -math.inf and r.log10_norm_upper == -math.inf
    assert [a.tier for a in r.attempts] == ["float", "qr", "ddnorm", "dd", "arb"]
    assert r.attempts[0].note.startswith("abandoned")  # the float balls already contain 0 midway
    for tier in ("float", "ddnorm", "dd"):
        f = certify_product(J, bits=10, tiers=(tier,))
        assert f.log10_norm_lower == -math.inf and not f.certified


def test_driver_takes_the_cheapest_tier_that_certifies():
    rng = np.random.default_rng(1)
    J = 0.9 * rng.standard_normal((200, 8, 8)) / math.sqrt(8)
    low = certify_product(J, bits=10)
    assert low.tier == "float" and low.certified and [a.tier for a in low.attempts] == ["float"]
    mid = certify_product(J, bits=min(40, int(low.certified_bits) + 8))
    assert mid.tier == "ddnorm" and mid.certified and [a.tier for a in mid.attempts] == ["float", "qr", "ddnorm"]
    assert mid.attempts[1].certified_bits is None or mid.attempts[1].certified_bits < mid.requested_bits
    assert mid.attempts[0].certified_bits is None or mid.attempts[0].certified_bits < mid.requested_bits
    high = certify_product(J, bits=70)
    assert high.tier == "arb" and high.certified_bits >= 70
    assert high.attempts[0].certified_bits is None  # 70 bits: beyond the float tiers' reach, not run
    ref = _arb(J)
    for r in (low, mid, high):
        assert _consistent(r, ref)
    assert low.assumptions and "round-to-nearest" in low.assumptions[0]


def test_driver_goes_on_to_dd_where_the_normwise_bound_falls_short():
    rng = np.random.default_rng(2)
    J = 0.9 * rng.standard_normal((600, 32, 32)) / math.sqrt(32)
    dn = certify_product(J, bits=1, tiers=("ddnorm",)).certified_bits
    dd = certify_product(J, bits=1, tiers=("dd",)).certified_bits
    assert dd >= dn + 2  # entrywise radii wrap less than the Frobenius bound at n = 32
    r = certify_product(J, bits=int(dd))
    assert r.tier == "dd" and r.certified and [a.tier for a in r.attempts] == ["float", "qr", "ddnorm", "dd"]
    assert r.attempts[2].certified_bits is None or r.attempts[2].certified_bits < r.requested_bits


def test_failed_environment_check_falls_back_to_arb():
    real = check_float_environment(4)
    assert real.ok and not real.failed

    def rounding_up(a, b):  # a matmul that rounds upward (as under a changed rounding mode)
        return np.nextafter(np.matmul(a, b), np.inf)

    env = check_float_environment(4, matmul=rounding_up)
    assert not env.ok and any("round-to-nearest (matmul" in f for f in env.failed)
    J = np.random.default_rng(2).standard_normal((16, 4, 4)) / 2
    r = certify_product(J, bits=10, environment=env)
    assert r.tier == "arb" and r.certified
    assert r.attempts[0].certified_bits is None and "environment check failed" in r.attempts[0].note


def _strassen_once(a, b):
    """One level of Strassen's algorithm on the 2 x 2 block partition (not a classical product)."""
    if a.ndim == 3:
        return np.stack([_strassen_once(x, y) for x, y in zip(a, b)])
    n = a.shape[0]
    k = n // 2
    A11, A12, A21, A22 = a[:k, :k], a[:k, k:], a[k:, :k], a[k:, k:]
    B11, B12, B21, B22 = b[:k, :k], b[:k, k:], b[k:, :k], b[k:, k:]
    M1 = (A11 + A22) @ (B11 + B22)
    M2 = (A21 + A22) @ B11
    M3 = A11 @ (B12 - B22)
    M4 = A22 @ (B21 - B11)
    M5 = (A11 + A12) @ B22
    M6 = (A21 - A11) @ (B11 + B12)
    M7 = (A12 - A22) @ (B21 + B22)
    return np.block([[M1 + M4 - M5 + M7, M3 + M5], [M2 + M4, M1 - M2 + M3 + M6]])


def test_environment_checks_detect_strassen_and_flush_to_zero():
    C = np.random.default_rng(0).integers(-9, 9, (8, 8)).astype(float)
    assert np.array_equal(_strassen_once(C, C), C @ C)  # Strassen is right on small integers...
    env = check_float_environment(8, matmul=_strassen_once)
    assert not env.ok and any("classical" in f for f in env.failed)  # ...but not in the block test

    def ftz(a, b):
        c = np.matmul(a, b)
        return np.where(np.abs(c) < 2.0 ** -1022, 0.0, c)

    env = check_float_environment(8, matmul=ftz)
    assert not env.ok and any("gradual underflow" in f for f in env.failed)


def test_streaming_source_is_read_in_chunks_and_equals_the_array_source():
    rng = np.random.default_rng(5)
    J = 0.9 * rng.standard_normal((100, 6, 6)) / math.sqrt(6)
    asked = []

    def make(size):
        asked.append(size)
        for i in range(0, 100, size):
            yield J[i:i + size], None

    src = source_from_chunks(make, hidden=6, steps=100, point=True)
    for tier in ("float", "dd"):
        a = certify_product(J, bits=1, tiers=(tier,), chunk=16)
        b = certify_product(src, bits=1, tiers=(tier,), chunk=16)
        assert (a.log10_norm_lower, a.log10_norm_upper) == (b.log10_norm_lower, b.log10_norm_upper)
        c = certify_product(J, bits=1, tiers=(tier,), chunk=2)  # another association: still contained
        assert _consistent(c, _arb(J))
    assert asked == [16, 16]


def test_bad_inputs_raise_input_error():
    with pytest.raises(InputError):
        certify_product(np.full((3, 2, 2), np.nan))
    with pytest.raises(InputError):
        certify_product((np.ones((3, 2, 2)), -np.ones((3, 2, 2))))
    with pytest.raises(InputError):
        certify_product((np.ones((3, 2, 2)), np.ones((3, 2, 3))))
    with pytest.raises(InputError):
        certify_product(np.ones((3, 2, 2)), bits=0)
    with pytest.raises(InputError):
        certify_product(np.ones((3, 2, 2)), tiers=("gpu",))
    with pytest.raises(InputError):  # a stream that yields fewer steps than it announced
        certify_product(source_from_chunks(lambda s: iter([(np.ones((2, 2, 2)), None)]), 2, 5), bits=1)


# ----------------------------------------------------------------------------- building blocks
def test_error_free_split_product_is_exact():
    rng = np.random.default_rng(11)
    for n in (1, 2, 7, 64, 257):
        A = rng.standard_normal((1, n, n)) * 2.0 ** rng.integers(-30, 3, size=(1, n, 1))
        B = rng.standard_normal((1, n, n))
        beta = midrad._beta(n)
        A1, A2 = midrad._split(A, np.abs(A), beta)
        B1, B2 = midrad._split(B, np.abs(B), beta)
        assert np.array_equal(A1 + A2, A) and np.array_equal(B1 + B2, B)
        C = midrad._mm(A1, B1)[0]
        i, k = rng.integers(n, size=2)
        exact = sum(Fraction(float(A1[0, i, j])) * Fraction(float(B1[0, j, k])) for j in range(n))
        assert Fraction(float(C[i, k])) == exact


def test_inflate_is_an_upper_bound_in_exact_arithmetic():
    rng = np.random.default_rng(4)
    R = np.concatenate([rng.random(200), rng.random(50) * 2.0 ** -1060, [0.0, 1.0, 2.0 ** -1074]])
    rel, tau = midrad.gamma(17), 5 * Fraction(1, 2 ** 1074)
    out = midrad.inflate(R, rel, tau)
    for x, y in zip(R.tolist(), out.tolist()):
        assert Fraction(y) >= Fraction(x) * (1 + rel) + tau


@settings(max_examples=40, deadline=None, derandomize=True)
@given(st.integers(2, 12), st.integers(0, 2 ** 31), st.sampled_from([0.0, 2.0 ** -40, 2.0 ** -20]))
def test_norm_enclosure_contains_the_mpmath_norm_and_is_narrow(n, seed, r):
    rng = np.random.default_rng(seed)
    M = rng.standard_normal((n, n))
    M /= 2 * np.max(np.abs(M))
    R = np.full((n, n), r)
    lo, hi, _ = midrad.norm_enclosure(M, R)
    with mpmath.workdps(40):
        s = max(mpmath.svd_r(mpmath.matrix(M.tolist()), compute_uv=False))
    assert lo <= s <= hi
    if r == 0.0:
        assert hi / lo - 1 < 2.0 ** -38  # the float64 enclosure is narrow for points
    else:
        assert float(hi) <= float(s) + 4 * n * r  # ||R||_2 = n r for a constant R: within a factor 4


def test_subnormal_entry_lost_by_scaling_is_kept_in_the_radius():
    """Scaling [[2^1000, 0], [0, 3 eta]] down by 2^-1001 flushes 3 eta to 0 (gradual underflow);
    the next factor multiplies that entry by 2^1000, so the product's norm, 3 * 2^-74, comes
    entirely through the lost entry: the radius must carry it."""
    J = np.zeros((2, 2, 2))
    J[0] = np.diag([2.0 ** 1000, 3 * 2.0 ** -1074])
    J[1] = np.diag([0.0, 2.0 ** 1000])
    truth = math.log10(3) - 74 * math.log10(2)
    ref = _arb(J)
    assert ref.log10_norm_lower <= truth <= ref.log10_norm_upper
    for tier in ("float", "dd"):
        r = certify_product(J, bits=1, tiers=(tier,))
        assert r.log10_norm_lower <= truth <= r.log10_norm_upper


def test_arb_ball_to_float_contains_the_arb_balls():
    import flint

    from gradproof.numerics.tiers import arb_ball_to_float

    old = flint.ctx.prec
    try:
        flint.ctx.prec = 200
        third = flint.arb(1) / 3  # not a float: midpoint rounded, radius ~2^-200
        M = flint.arb_mat([[third, flint.arb(0.5)], [flint.arb(2.0, 1e-3), -third * 7]])
        mid, rad = arb_ball_to_float(M)
        for i in range(2):
            for j in range(2):
                lo = flint.arb(float(mid[i, j])) - flint.arb(float(rad[i, j]))
                hi = flint.arb(float(mid[i, j])) + flint.arb(float(rad[i, j]))
                assert lo <= M[i, j].lower() and M[i, j].upper() <= hi  # ball inside the float ball
        assert rad[0, 1] == 0.0 and 0 < rad[0, 0] < 1e-16 and rad[1, 0] >= 1e-3
    finally:
        flint.ctx.prec = old


@pytest.mark.parametrize("chunk", [3, 5, 8, 13, 64])
def test_reused_work_arrays_change_no_bit(chunk, monkeypatch):
    # the float tier's inner levels write into reusable arrays (midrad._scratch); with every pooled
    # array replaced by a fresh one the bounds must be bit-identical, and a second run after other
    # products of other shapes must repeat the first exactly
    cases = [make_case(fam, n, T, seed) for fam, n, T, seed in
             (("gaussian", 5, 37, 1), ("widerange", 3, 29, 2), ("subnormal", 4, 23, 3), ("lstm", 6, 41, 4))]

    def bounds():
        out = []
        for J in cases:
            for src in (J, ball_around(J, 7)):
                for tier in ("float", "dd", "qr"):
                    r = certify_product(src, bits=1, tiers=(tier,), chunk=chunk)
                    out.append((r.log10_norm_lower, r.log10_norm_upper))
        return out

    first = bounds()
    assert bounds() == first
    monkeypatch.setattr(midrad, "_scratch", lambda name, shape: np.empty(tuple(shape)))
    assert bounds() == first


@pytest.mark.parametrize("size", [1, 3])
def test_a_stream_that_refills_one_buffer_gives_the_same_enclosure(size):
    # the tiers keep earlier chunks (or views of them) while reading the next one: a generator
    # that reuses its output buffer must not change factors already taken
    rng = np.random.default_rng(11)
    J = rng.standard_normal((12, 3, 3))
    ref = arb_reference(J)

    def refill(chunk):
        buf = np.empty((chunk, 3, 3))
        for i in range(0, len(J), chunk):
            k = min(chunk, len(J) - i)
            buf[:k] = J[i:i + k]
            yield buf[:k], None

    src = source_from_chunks(refill, hidden=3, steps=len(J), point=True)
    for tier in ("float", "qr", "ddnorm", "dd"):
        streamed = certify_product(src, bits=1, tiers=(tier,), chunk=size)
        whole = certify_product(J, bits=1, tiers=(tier,), chunk=size)
        assert (streamed.log10_norm_lower, streamed.log10_norm_upper) == (whole.log10_norm_lower,
                                                                          whole.log10_norm_upper), tier
        assert _consistent(streamed, ref), tier
