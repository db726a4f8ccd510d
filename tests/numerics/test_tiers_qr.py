"""The QR-frame tier (numerics.qrtier) against Arb, its honesty, and tests that can catch a broken bound.

Oracle: python-flint Arb balls (the driver's Arb tier at 80 target bits: an Arb ball tree of the
same float64 factors, a separate implementation of ball arithmetic, and
``engines.spectral_norm_enclosure``); for the mutation tests, exact rationals (fractions.Fraction)
of scalar and nonnegative products whose truth sits on the corner of the input balls.
Containment: the tier's enclosure of log10 ||P_T||_2 must intersect Arb's 80-bit one (which
contains the truth); when Arb proves P_T = 0 the tier must not claim a positive lower bound.
Cases are drawn by hypothesis with ``derandomize=True`` (deterministic) across families:
Gaussian, ill-conditioned, near-singular, nilpotent, wide dynamic range (1e-300..1e300),
subnormal entries, long products, LSTM Jacobians (numerics.cells), exact powers of two; point
matrices and balls; the block size m is drawn too (1..16), so that short products still take many
frame steps. Default suite: 180 cases; ``-m slow``: 1,000 more (n up to 64, T up to 3,000).
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gradproof.numerics import qrtier
from gradproof.numerics.fpenv import check_float_environment, check_qr_kernels
from tier_cases import arb_reference, ball_around, consistent, make_case  # tests/helpers (pytest pythonpath)

from gradproof.numerics.tiers import _log10_bounds, certify_product, source_from_arrays

FAMILIES = ("gaussian", "illcond", "nearsingular", "nilpotent", "widerange", "subnormal", "long", "lstm", "pow2")


def _arb(J):
    return arb_reference(J)


def _qr_log10(src, m, chunk=64):
    q = qrtier.qr_product(src.chunks(chunk), src.hidden, src.steps, m=m)
    lo, hi = _log10_bounds(q.lower, q.upper, q.exponent2)
    return lo, hi, q


def _consistent(lo, hi, ref):
    return consistent(lo, hi, ref)


def _sizes(family, n, T):
    if family == "long":
        return min(n, 4), 200 + 40 * T
    return n, T


def _check(family, n, T, seed, ball, m):
    n, T = _sizes(family, n, T)
    J = make_case(family, n, T, seed)
    ref = _arb(J)
    src = source_from_arrays(*ball_around(J, seed)) if ball else source_from_arrays(J)
    lo, hi, q = _qr_log10(src, m)
    assert _consistent(lo, hi, ref), (family, n, T, seed, ball, m, lo, hi, ref.log10_norm_lower,
                                      ref.log10_norm_upper)
    return q


case = st.tuples(st.sampled_from(FAMILIES), st.sampled_from([1, 2, 3, 5, 8]), st.integers(1, 40),
                 st.integers(0, 2 ** 31), st.booleans(), st.sampled_from([1, 2, 4, 8, 16]))


@settings(max_examples=180, deadline=None, derandomize=True)
@given(case)
def test_qr_tier_contains_the_arb_enclosure(c):
    _check(*c)


@pytest.mark.slow
@settings(max_examples=700, deadline=None, derandomize=True, database=None)
@given(case)
def test_qr_tier_sweep_700(c):
    fam, n, T, seed, ball, m = c
    _check(fam, n, T, seed ^ 0x51ED, ball, m)


@pytest.mark.slow
@settings(max_examples=250, deadline=None, derandomize=True, database=None)
@given(st.sampled_from(("gaussian", "illcond", "widerange", "subnormal", "lstm", "nearsingular")),
       st.sampled_from([12, 16, 24, 33]), st.integers(2, 30), st.integers(0, 2 ** 31), st.booleans(),
       st.sampled_from([1, 2, 4, 8]))
def test_qr_tier_larger_n(family, n, T, seed, ball, m):
    _check(family, n, T, seed, ball, m)


@pytest.mark.slow
@settings(max_examples=50, deadline=None, derandomize=True, database=None)
@given(st.sampled_from([(2, 3000), (3, 2000), (48, 12), (64, 8), (8, 600)]), st.integers(0, 2 ** 31),
       st.sampled_from([2, 8, 32]))
def test_qr_tier_long_and_wide(size, seed, m):
    n, T = size
    J = make_case("gaussian", n, T, seed)
    ref = _arb(J)
    lo, hi, q = _qr_log10(source_from_arrays(J), m)
    assert _consistent(lo, hi, ref)
    assert q.blocks == -(-T // m)


# ----------------------------------------------------------------------------- honesty and driver
def _honest(r):
    rel = Fraction(r.scaled_norm_upper) / Fraction(r.scaled_norm_lower) - 1
    return rel <= Fraction(2) ** -Fraction(r.certified_bits)  # the claim is what the floats show


def test_bits_claim_is_honest_and_the_driver_picks_qr_for_long_products():
    rng = np.random.default_rng(7)
    J = 0.9 * rng.standard_normal((6000, 8, 8)) / math.sqrt(8)
    r = certify_product(J, bits=16)
    assert r.tier == "qr" and r.certified and r.extra["blocks"] >= 20
    assert [a.tier for a in r.attempts] == ["float", "qr"]
    assert r.attempts[0].certified_bits is None or r.attempts[0].certified_bits < 16
    assert _honest(r) and r.certified_bits >= 16
    assert _consistent(r.log10_norm_lower, r.log10_norm_upper, _arb(J))
    f = certify_product(J, bits=1, tiers=("float",))
    assert _honest(f) and f.certified_bits < r.certified_bits - 4  # the frame beats the plain tree here


def test_driver_skips_the_float_tier_when_its_predictor_says_so():
    rng = np.random.default_rng(0)
    J = 0.9 * rng.standard_normal((10_000, 32, 32)) / math.sqrt(32)
    r = certify_product(J, bits=10)
    assert r.attempts[0].tier == "float" and r.attempts[0].note.startswith("skipped")
    assert r.tier == "qr" and r.certified and _honest(r)


def test_forced_qr_tier_reports_itself_and_its_assumptions():
    rng = np.random.default_rng(3)
    J = rng.standard_normal((50, 5, 5)) / math.sqrt(5)
    r = certify_product(J, bits=1, tiers=("qr",))
    assert r.tier == "qr" and "QR frame" in r.statement and r.assumptions
    assert _consistent(r.log10_norm_lower, r.log10_norm_upper, _arb(J))


def test_failed_environment_check_falls_back_to_arb():
    def rounding_up(a, b):
        return np.nextafter(np.matmul(a, b), np.inf)

    env = check_float_environment(4, matmul=rounding_up)
    assert not env.ok
    J = np.random.default_rng(2).standard_normal((16, 4, 4)) / 2
    r = certify_product(J, bits=10, tiers=("qr", "arb"), environment=env)
    assert r.tier == "arb" and r.certified
    assert r.attempts[0].tier == "qr" and "environment check failed" in r.attempts[0].note


def test_qr_kernel_checks_pass_here_and_catch_wrong_products(monkeypatch):
    assert check_qr_kernels(8) == () and check_qr_kernels(33) == ()

    def rounding_up(a, b):
        return np.nextafter(np.matmul(a, b), np.inf)

    def ftz(a, b):
        c = np.matmul(a, b)
        return np.where(np.abs(c) < 2.0 ** -1022, 0.0, c)

    up = check_qr_kernels(8, matmul=rounding_up)
    assert any("round-to-nearest" in f for f in up)
    assert check_qr_kernels(8, matmul=ftz) == ("gradual underflow, no FTZ/DAZ (qr-tier kernels, n = 8)",)
    from gradproof.numerics import tiers
    monkeypatch.setattr(tiers, "check_qr_kernels", lambda n: up)
    J = np.random.default_rng(2).standard_normal((16, 4, 4)) / 2
    r = certify_product(J, bits=10, tiers=("qr", "arb"))
    assert r.tier == "arb" and "qr-tier kernels" in r.attempts[0].note


def test_frame_resets_stay_contained(monkeypatch):
    """With the orthogonality threshold at 0 every step resets the frame to I (the fallback path)."""
    monkeypatch.setattr(qrtier, "_E_MAX", Fraction(0))
    for seed, fam in enumerate(("gaussian", "illcond", "widerange", "lstm")):
        J = make_case(fam, 4, 30, seed)
        lo, hi, q = _qr_log10(source_from_arrays(J), 2)
        assert q.fallbacks == q.blocks == 15
        assert _consistent(lo, hi, _arb(J))


def test_hopeless_run_is_abandoned_and_the_next_tier_runs():
    J = make_case("nilpotent", 4, 64, 1)
    assert qrtier.qr_product(source_from_arrays(J).chunks(64), 4, 64, m=2, min_bits=20) is None
    r = certify_product(J, bits=10)
    assert r.tier == "arb" and r.log10_norm_upper == -math.inf
    assert "qr" in [a.tier for a in r.attempts]


# ----------------------------------------------------------------------------- the tests have teeth
def _corner_cases():
    """Products whose truth is the corner mid + rad of every input ball: scalars in (0.5, 1) and
    positive 3 x 3 matrices (for nonnegative factors the largest product is the corner one).
    Returns (mid, rad, q) with q an exact lower bound of ||P||_2^2 of the corner product (for n = 3:
    |P 1|^2 / 3 <= ||P||_2^2), computed in Fractions."""
    rng = np.random.default_rng(0)
    out = []
    for T in (64, 256):
        mid = rng.uniform(0.5, 1.0, size=(T, 1, 1))
        rad = mid * 2.0 ** -12
        x = [Fraction(float(a)) + Fraction(float(b)) for a, b in zip(mid.ravel(), rad.ravel())]
        out.append((mid, rad, math.prod(x) ** 2))
    for T in (16, 48):
        mid = rng.uniform(0.5, 1.0, size=(T, 3, 3)) / 2
        rad = mid * 2.0 ** -12
        v = [Fraction(1)] * 3
        for t in range(T):
            M = [[Fraction(float(mid[t, i, j])) + Fraction(float(rad[t, i, j])) for j in range(3)] for i in range(3)]
            v = [sum(M[i][j] * v[j] for j in range(3)) for i in range(3)]
        out.append((mid, rad, sum(c * c for c in v) / 3))
    return out


def _upper_contains(mid, rad, exact_sq):
    q = qrtier.qr_product(source_from_arrays(mid, rad).chunks(64), mid.shape[1], mid.shape[0], m=4)
    return (Fraction(q.upper) * Fraction(2) ** q.exponent2) ** 2 >= exact_sq


def test_corner_truth_is_inside():
    for mid, rad, exact_sq in _corner_cases():
        assert _upper_contains(mid, rad, exact_sq)


@pytest.mark.parametrize("mutation", ["halve_D", "drop_block_radius"])
def test_a_broken_bound_is_caught(monkeypatch, mutation):
    """A deliberately weakened bound must miss the truth on some corner case (the check has teeth)."""
    real = qrtier._step
    if mutation == "halve_D":
        def broken(Mh, Mr, Ph, B, D, k):
            Phn, Q, Dn, e, fb = real(Mh, Mr, Ph, B, D, k)
            return Phn, Q, Dn * 0.5, e, fb
    else:
        def broken(Mh, Mr, Ph, B, D, k):
            return real(Mh, np.zeros_like(Mr), Ph, B, D, k)
    monkeypatch.setattr(qrtier, "_step", broken)
    missed = [not _upper_contains(mid, rad, exact_sq) for mid, rad, exact_sq in _corner_cases()]
    assert any(missed)
