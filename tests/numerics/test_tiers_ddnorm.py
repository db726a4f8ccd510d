"""The normwise double-double tier (numerics.ddnorm) against Arb and against exact rationals.

Oracles: python-flint Arb balls (the driver's Arb tier at 80 target bits), an independent ball
arithmetic, for the whole product; exact rationals (fractions.Fraction) for a single product's
Frobenius error bound, for members of the input balls, and for ``frobenius_up``. Containment: the
tier's enclosure of log10 ||P_T||_2 must intersect Arb's, and when Arb proves P_T = 0 the tier must
not claim a positive lower bound. Cases by hypothesis (derandomized) over the families of
tests/helpers/tier_cases.py, points and balls: 200 in the default suite, 1,200 more with -m slow.
Deliberately weakened bounds must be caught by the exact check (the test has teeth).
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gradproof.numerics import ddnorm
from gradproof.numerics.tiers import certify_product, source_from_arrays
from tier_cases import arb_reference, ball_around, consistent, long_sizes, make_case  # tests/helpers

FAMILIES = ("gaussian", "illcond", "nearsingular", "nilpotent", "widerange", "subnormal", "long", "pow2", "lstm")


def _consistent(ours, ref):
    return consistent(ours.log10_norm_lower, ours.log10_norm_upper, ref)


def _check_case(family, n, T, seed, ball):
    n, T = long_sizes(family, n, T)
    J = make_case(family, n, T, seed)
    ref = arb_reference(J)
    src = source_from_arrays(*ball_around(J, seed)) if ball else source_from_arrays(J)
    res = certify_product(src, bits=1, tiers=("ddnorm",))
    assert res.tier == "ddnorm" and res.assumptions
    assert _consistent(res, ref), (family, n, T, seed, ball, res.log10_norm_lower, res.log10_norm_upper,
                                   ref.log10_norm_lower, ref.log10_norm_upper)
    return res


case_strategy = st.tuples(st.sampled_from(FAMILIES), st.sampled_from([1, 2, 3, 5, 8]),
                          st.integers(1, 40), st.integers(0, 2 ** 31))


@settings(max_examples=100, deadline=None, derandomize=True)
@given(case_strategy)
def test_point_cases_are_contained(case):
    _check_case(*case, ball=False)


@settings(max_examples=100, deadline=None, derandomize=True)
@given(case_strategy)
def test_ball_cases_contain_a_member(case):
    _check_case(*case, ball=True)


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("seed", range(5))
def test_uniformly_drawn_cases_are_contained(family, seed):
    # hypothesis favours small examples; these are drawn uniformly (n in 2..8, T in 1..40, both kinds)
    rng = np.random.default_rng(1000 * seed + FAMILIES.index(family))
    n, T = int(rng.integers(2, 9)), int(rng.integers(1, 41))
    for ball in (False, True):
        _check_case(family, n, T, int(rng.integers(2 ** 31)), ball)


@pytest.mark.slow
@settings(max_examples=800, deadline=None, derandomize=True, database=None)
@given(case_strategy, st.booleans())
def test_sweep_800_cases(case, ball):
    fam, n, T, seed = case
    _check_case(fam, n, T, seed ^ 0xD0D0, ball)


@pytest.mark.slow
@settings(max_examples=400, deadline=None, derandomize=True, database=None)
@given(st.sampled_from(("gaussian", "illcond", "widerange", "subnormal", "lstm")), st.sampled_from([16, 24, 33]),
       st.integers(2, 24), st.integers(0, 2 ** 31), st.booleans())
def test_sweep_larger_n(family, n, T, seed, ball):
    _check_case(family, n, T, seed, ball)


# ----------------------------------------------------------------------------- exact rationals
def _F(x):
    return Fraction(float(x))


def _fro_sq(M):
    return sum((v * v for row in M for v in row), Fraction(0))


def _exact(X):
    return [[_F(v) for v in row] for row in X]


def _matmul(A, B):
    n, k, m = len(A), len(B), len(B[0])
    return [[sum((A[i][t] * B[t][j] for t in range(k)), Fraction(0)) for j in range(m)] for i in range(n)]


def _add(A, B):
    return [[a + b for a, b in zip(ra, rb)] for ra, rb in zip(A, B)]


def _member(stack, k, rng, scale):
    """A real matrix of ball k (exact rationals): (hi + lo) + E with ||E||_F <= scale * err."""
    hi, lo = stack.hi[k], (np.zeros_like(stack.hi[k]) if stack.lo is None else stack.lo[k])
    M = _add(_exact(hi), _exact(lo))
    e = _F(stack.err[k]) * scale
    if e == 0:
        return M
    G = rng.standard_normal(hi.shape)
    s = sum(abs(_F(g)) for g in G.ravel())  # ||G||_F <= sum |G_ij|
    return [[m + e * _F(g) / s for m, g in zip(rm, rg)] for rm, rg in zip(M, G)]


def _stack(rng, n, K, with_lo, err_scale, mag=0):
    hi = rng.standard_normal((K, n, n)) * 2.0 ** mag
    lo = (hi * 2.0 ** -40 * rng.uniform(-1, 1, size=hi.shape)) if with_lo else None
    err = np.abs(hi).sum(axis=(1, 2)) * err_scale
    return ddnorm._Stack(hi, lo, err, np.zeros(K, dtype=np.int64))


def _product_bound_holds(mul, n, seed, with_lo, err_scale, mag=0):
    """||X Y - (hi + lo) 2^e||_F <= err 2^e (exact) for members X, Y of the two input balls."""
    rng = np.random.default_rng(seed)
    A = _stack(rng, n, 2, with_lo, err_scale, mag)
    B = _stack(rng, n, 2, with_lo, err_scale, mag)
    C = mul(A, B)
    for k in range(2):
        for scale in (Fraction(1), Fraction(1, 2)):
            X, Y = _member(A, k, rng, scale), _member(B, k, rng, scale)
            Z = _matmul(X, Y)
            f = Fraction(2) ** int(C.exp[k])
            hi = _exact(C.hi[k])
            lo = _exact(C.lo[k]) if C.lo is not None else [[Fraction(0)] * n for _ in range(n)]
            D = [[z - (h + l) * f for z, h, l in zip(rz, rh, rl)] for rz, rh, rl in zip(Z, hi, lo)]
            if _fro_sq(D) > (_F(C.err[k]) * f) ** 2:
                return False
    return True


@pytest.mark.parametrize("n", [1, 2, 3, 5])
@pytest.mark.parametrize("with_lo", [False, True])
@pytest.mark.parametrize("err_scale", [0.0, 2.0 ** -30, 2.0 ** -8])
def test_one_product_bound_holds_in_exact_arithmetic(n, with_lo, err_scale):
    for seed in range(6):
        assert _product_bound_holds(ddnorm._mul, n, seed, with_lo, err_scale)


def test_product_bound_holds_across_rescaling():
    # products outside [2^-64, 2^32] are rescaled by powers of two (2^40 and 2^-80 here)
    for seed in range(4):
        for mag in (20, -40):
            rng = np.random.default_rng(seed)
            A, B = _stack(rng, 3, 2, True, 0.0, mag), _stack(rng, 3, 2, True, 0.0, mag)
            assert np.all(ddnorm._mul(A, B).exp != 0)  # the rescaling path ran
            assert _product_bound_holds(ddnorm._mul, 3, seed, True, 2.0 ** -20, mag=mag)


def _weakened(kind):
    real = ddnorm._mul

    def mul(A, B):
        if kind == "no_propagation":  # forget the inputs' errors
            A2 = ddnorm._Stack(A.hi, A.lo, np.zeros_like(A.err), A.exp, A.mu)
            B2 = ddnorm._Stack(B.hi, B.lo, np.zeros_like(B.err), B.exp, B.mu)
            return real(A2, B2)
        C = real(A, B)
        if kind == "no_midpoint_error":  # keep only what the inputs' errors contribute
            Z = real(ddnorm._Stack(A.hi, A.lo, np.zeros_like(A.err), A.exp, A.mu),
                     ddnorm._Stack(B.hi, B.lo, np.zeros_like(B.err), B.exp, B.mu))
            C.err = np.maximum(C.err - Z.err, 0.0)
        return C

    return mul


@pytest.mark.parametrize("kind,err_scale", [("no_propagation", 2.0 ** -8), ("no_midpoint_error", 0.0)])
def test_a_weakened_bound_is_caught(kind, err_scale):
    bad = [not _product_bound_holds(_weakened(kind), n, seed, True, err_scale) for n in (2, 3) for seed in range(4)]
    assert any(bad)


@settings(max_examples=200, deadline=None, derandomize=True)
@given(st.integers(1, 6), st.integers(1, 6), st.integers(0, 2 ** 31), st.sampled_from(["normal", "subnormal", "huge"]))
def test_frobenius_up_is_an_upper_bound(K, n, seed, kind):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((K, n, n))
    if kind == "subnormal":
        X = np.round(X * 2 ** 20) * 2.0 ** -1074
    elif kind == "huge":
        X = X * 2.0 ** 500
    ub = ddnorm.frobenius_up(X)
    for k in range(K):
        exact = sum((_F(v) ** 2 for v in X[k].ravel()), Fraction(0))
        assert _F(ub[k]) ** 2 >= exact
        if kind == "normal":
            assert _F(ub[k]) ** 2 <= exact * (1 + Fraction(1, 2 ** 40))  # and tight


# ----------------------------------------------------------------------------- the driver
def test_driver_takes_ddnorm_where_float_and_qr_cannot():
    rng = np.random.default_rng(5)
    n, T = 256, 64
    J = 0.9 * rng.standard_normal((T, n, n)) / math.sqrt(n)
    r = certify_product(J, bits=20)
    assert r.tier == "ddnorm" and r.certified and r.certified_bits >= 20
    assert [a.tier for a in r.attempts] == ["float", "qr", "ddnorm"]
    assert all(a.note.startswith("skipped: predicted") for a in r.attempts[:2])
    dd = certify_product(J, bits=1, tiers=("dd",))  # entrywise radii: a different bound, the same product
    assert _consistent(r, dd) and _consistent(dd, r)
    assert "Frobenius" in r.statement and r.extra["error_bound"].startswith("Frobenius")


def test_exactly_zero_product_gets_no_positive_lower_bound():
    J = np.triu(np.random.default_rng(3).standard_normal((8, 4, 4)), 1)  # nilpotent: P_8 = 0
    r = certify_product(J, bits=10, tiers=("ddnorm",))
    assert r.log10_norm_lower == -math.inf and not r.certified
