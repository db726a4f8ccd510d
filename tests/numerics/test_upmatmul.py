"""Float32 upper bounds of nonnegative products (numerics.upmatmul) against exact rationals.

Oracle: fractions.Fraction products of the float64 inputs (exact). Inputs are drawn by hypothesis
(derandomized) with entries spanning float64's whole range and, after the per-matrix scaling,
float32's edges: exact small integers, values that scale into float32's subnormal range or below
it (flushed to 0 by the conversion), near float64's overflow, float64 subnormals. Teeth: on
crafted cases, the bound with the (1 - gamma32_k) factor dropped, with the conversion factor
(1 - u32)^-2 dropped, or with the eta32 terms dropped, falls below the exact product (with a
sequential float32 summation, one of the orders the proof covers). The fallback: when the float32
environment check fails, the tiers use float64 radius products and never call sgemm.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gradproof.numerics import midrad, tiers, upmatmul
from gradproof.numerics.fpenv import check_float32_kernels
from gradproof.numerics.upmatmul import matmul_up32, sum_matmul_up32, up32_constants


def _exact(X, Y):
    n, k = X.shape
    m = Y.shape[1]
    return [[sum((Fraction(float(X[i, l])) * Fraction(float(Y[l, j])) for l in range(k)), Fraction(0))
             for j in range(m)] for i in range(n)]


def _assert_upper(Z, E, scale=None):
    """Z >= E entrywise; +inf only if the exact value or ``scale`` (max X * max Y: the absolute term
    is ~2^-200 of it) exceeds 2^1000."""
    for i, row in enumerate(E):
        for j, e in enumerate(row):
            z = float(Z[i, j])
            assert not np.isnan(z)
            if z == np.inf:  # overflow to +inf: an upper bound, allowed only when the exact value is huge
                assert max(e, scale or 0) > Fraction(2) ** 1000, (i, j)
                continue
            assert Fraction(z) >= e, (i, j, z, e)


_EXPS = st.one_of(st.integers(-1074, 1023), st.integers(-200, 200), st.integers(-40, 5), st.just(0))


@st.composite
def _entry(draw):
    kind = draw(st.sampled_from(["int", "pow2", "any", "zero", "tie32"]))
    if kind == "int":
        return float(draw(st.integers(0, 2 ** 24 + 3)))
    if kind == "zero":
        return 0.0
    if kind == "tie32":  # just below / at / above a float32 rounding tie
        return 1.0 + 2.0 ** -24 + draw(st.sampled_from([-2.0 ** -40, 0.0, 2.0 ** -40]))
    e = draw(_EXPS)
    if kind == "pow2":
        return float(np.ldexp(1.0, e))
    m = draw(st.floats(0.5, 1.0, exclude_max=True))
    v = float(np.ldexp(m, e))
    return v if np.isfinite(v) else 1.0


@st.composite
def _matrix(draw, rows, cols):
    return np.array([[draw(_entry()) for _ in range(cols)] for _ in range(rows)], dtype=np.float64)


@settings(max_examples=150, deadline=None, derandomize=True, database=None)
@given(st.data())
def test_float32_bound_is_above_the_exact_product(data):
    n, k, m = (data.draw(st.integers(1, 4)) for _ in range(3))
    X = data.draw(_matrix(n, k))
    Y = data.draw(_matrix(k, m))
    Z = matmul_up32(X, Y)
    assert Z.dtype == np.float64
    _assert_upper(Z, _exact(X, Y), Fraction(float(np.max(X))) * Fraction(float(np.max(Y))))


@settings(max_examples=60, deadline=None, derandomize=True, database=None)
@given(st.data())
def test_float32_bound_of_a_sum_of_two_products(data):
    n, k1, k2, m = (data.draw(st.integers(1, 3)) for _ in range(4))
    X1, Y1 = data.draw(_matrix(n, k1)), data.draw(_matrix(k1, m))
    X2, Y2 = data.draw(_matrix(n, k2)), data.draw(_matrix(k2, m))
    # cached maxima bounds, as the tiers pass them (here exact maxima), and None (computed)
    b = [None if data.draw(st.booleans()) else np.array([np.max(A)]) for A in (X1, Y1, X2, Y2)]
    Z = sum_matmul_up32([(X1[None], Y1[None], b[0], b[1]), (X2[None], Y2[None], b[2], b[3])])[0]
    E1, E2 = _exact(X1, Y1), _exact(X2, Y2)
    scale = max(Fraction(float(np.max(X1))) * Fraction(float(np.max(Y1))),
                Fraction(float(np.max(X2))) * Fraction(float(np.max(Y2))))
    _assert_upper(Z, [[a + c for a, c in zip(r1, r2)] for r1, r2 in zip(E1, E2)], scale)


def test_edges_of_float32_range_and_stacks():
    # per matrix of a stack: max 1 with entries that scale below float32's subnormal range, the
    # largest float64, float64 subnormals, exact integers
    X = np.array([[[1.0, 2.0 ** -230, 2.0 ** -190]], [[np.finfo(float).max, 2.0 ** 1000, 1.0]],
                  [[5e-324, 2.0 ** -1060, 0.0]], [[3.0, 7.0, 2.0 ** 24 + 1]]])
    Y = np.array([[[0.0], [1.0], [1.0]], [[1e-300], [1e-300], [0.5]], [[1.0], [2.0 ** 1000], [1.0]],
                  [[5.0], [11.0], [1.0]]])
    Z = matmul_up32(X, Y)
    for j in range(4):
        _assert_upper(Z[j], _exact(X[j], Y[j]), Fraction(float(np.max(X[j]))) * Fraction(float(np.max(Y[j]))))
    # tight where float32 is exact: relative excess ~ k 2^-24 at most
    assert Fraction(float(Z[3, 0, 0])) / _exact(X[3], Y[3])[0][0] - 1 < Fraction(8, 2 ** 24)
    assert matmul_up32(np.array([[np.inf]]), np.array([[1.0]])) is None  # non-finite: callers use float64


def _sequential32(X, Y):
    """A float32 product summed left to right (one of the orders the bound covers)."""
    acc = np.zeros(X.shape[:-1] + (Y.shape[-1],), dtype=np.float32)
    for l in range(X.shape[-1]):
        acc = (acc + X[..., :, l:l + 1] * Y[..., l:l + 1, :]).astype(np.float32)
    return acc


def _consts_without(monkeypatch, what):
    """Patch up32_constants to drop one ingredient of the bound (the teeth)."""
    real = up32_constants.__wrapped__
    U32, U, ETA32 = Fraction(1, 2 ** 24), Fraction(1, 2 ** 53), Fraction(1, 2 ** 149)

    def fake(k):
        M, f, t2 = real(k)
        g = k * U32 / (1 - k * U32)
        if what == "gamma":
            f = upmatmul._float_up(1 / ((1 - U32) ** 2 * (1 - U) ** 2))
        elif what == "conversion":
            f = upmatmul._float_up(1 / ((1 - g) * (1 - U) ** 2))
        elif what == "eta32":
            t2 = 0.0
        return M, f, t2

    monkeypatch.setattr(upmatmul, "up32_constants", fake)


@pytest.mark.parametrize("what", ["gamma", "conversion", "eta32"])
def test_teeth_each_ingredient_of_the_bound_is_needed(monkeypatch, what):
    if what == "gamma":  # 1 + 63 terms of 2^-25, summed left to right in float32: every small term lost
        X = np.ones((1, 1, 64))
        Y = np.full((1, 64, 1), 2.0 ** -25)
        Y[0, 0, 0] = 1.0
    elif what == "conversion":  # 1 + 2^-24 - 2^-40 rounds down to 1: ~2^-24 lost per factor
        X = np.full((1, 1, 1), 1.0 + 2.0 ** -24 - 2.0 ** -40)
        Y = X.copy()
    else:  # 2^-230 next to 1: scaled below float32's range, flushed to 0 by the conversion
        X = np.array([[[1.0, 2.0 ** -230]]])
        Y = np.array([[[0.0], [1.0]]])
    exact = _exact(X[0], Y[0])[0][0]
    good = sum_matmul_up32([(X, Y, None, None)], matmul=_sequential32)
    assert Fraction(float(good[0, 0, 0])) >= exact
    _consts_without(monkeypatch, what)
    bad = sum_matmul_up32([(X, Y, None, None)], matmul=_sequential32)
    assert Fraction(float(bad[0, 0, 0])) < exact


def test_float32_check_detects_wrong_kernels():
    assert check_float32_kernels(1) == () and check_float32_kernels(8) == () and check_float32_kernels(33) == ()

    def up(A, B):  # float64 product rounded up to float32: not round-to-nearest
        C = np.matmul(A.astype(np.float64), B.astype(np.float64))
        C32 = C.astype(np.float32)
        return np.where(C32.astype(np.float64) < C, np.nextafter(C32, np.float32(np.inf)), C32)

    def ftz(A, B):
        C = np.matmul(A, B)
        return np.where(np.abs(C) < np.finfo(np.float32).tiny, np.float32(0), C)

    def convert_first(x, s):  # converts to float32 before scaling: loses 2^-160 2^100
        return (np.asarray(x).astype(np.float32) * np.float32(s)).astype(np.float32)

    assert any("round-to-nearest (float32 matmul" in f for f in check_float32_kernels(8, matmul=up))
    assert any("gradual underflow" in f for f in check_float32_kernels(8, matmul=ftz))
    assert any("conversion" in f for f in check_float32_kernels(8, to32=convert_first))


def _gaussian(n, T, seed=3):
    rng = np.random.default_rng(seed)
    return 0.9 * rng.standard_normal((T, n, n)) / np.sqrt(n)


def test_tiers_fall_back_to_float64_radii_when_the_float32_check_fails(monkeypatch):
    J = _gaussian(8, 64)
    real = tiers.certify_product(J, bits=1, tiers=("dd",), float32_radii=True)
    assert real.extra["radius_products"].startswith("float32")
    assert any("float32" in a for a in real.assumptions)
    calls = []
    monkeypatch.setattr(midrad, "sum_matmul_up32", lambda pairs: calls.append(1))
    monkeypatch.setattr(tiers, "check_float32_kernels", lambda n: ("gradual underflow, no FTZ/DAZ (float32 matmul)",))
    for tier in ("float", "dd"):
        r = tiers.certify_product(J, bits=1, tiers=(tier,), float32_radii=True)
        assert r.extra["radius_products"].startswith("float64") and "FTZ" in r.extra["radius_products"]
        assert not any("float32" in a for a in r.assumptions)
    assert calls == []
    f64 = tiers.certify_product(J, bits=1, tiers=("dd",), float32_radii=False)
    assert f64.extra["radius_products"].startswith("float64")
    # float32 radii enclose the same norm, with about the same bits
    assert real.log10_norm_lower <= f64.log10_norm_upper and f64.log10_norm_lower <= real.log10_norm_upper
    assert abs(real.certified_bits - f64.certified_bits) < 0.5


def test_float32_radii_in_the_tiers_contain_the_float64_answer_on_balls():
    rng = np.random.default_rng(11)
    n, T = 16, 300
    mid = _gaussian(n, T, 5)
    rad = np.abs(rng.standard_normal((T, n, n))) * 2.0 ** -40
    for tier in ("float", "dd"):
        a = tiers.certify_product((mid, rad), bits=1, tiers=(tier,), float32_radii=True)
        b = tiers.certify_product((mid, rad), bits=1, tiers=(tier,), float32_radii=False)
        assert a.extra["radius_products"].startswith("float32")
        assert a.log10_norm_lower <= b.log10_norm_upper and b.log10_norm_lower <= a.log10_norm_upper
        assert abs(a.certified_bits - b.certified_bits) < 0.5


@pytest.mark.parametrize("scale", [1.0, 2.0 ** -80, 2.0 ** 16])
def test_cached_maxima_bound_the_arrays(scale):
    """The maxima that _finish caches (used to scale the float32 copies) bound the arrays they
    describe, also when the product is rescaled (scale far from 1)."""
    rng = np.random.default_rng(7)
    seen = set()  # whether the products were rescaled (nonzero exponent)
    for mul in (midrad._mul_float, midrad._mul_dd):
        mid = scale * rng.standard_normal((8, 6, 6))
        rad = np.abs(rng.standard_normal((8, 6, 6))) * scale * 2.0 ** -30
        with np.errstate(under="ignore"):
            # unnormalised (|hi| <= 2^33 still holds): the products leave [2^-64, 2^32] for scales
            # 2^-80 and 2^16, so _finish takes its rescaling branch
            b = midrad._Balls(mid, None, rad, np.zeros(8, dtype=np.int64))
            for _ in range(3):
                b = mul(b.take(slice(1, None, 2)), b.take(slice(0, None, 2)), radd=midrad._radd32)
                am, rm = midrad._maxes(b)
                if am is not None:
                    assert np.all(am >= midrad._permax(b.absval()))
                assert rm is not None and np.all(rm >= midrad._permax(b.rad))
                seen.add(int(b.exp[0]) != 0)
    assert seen == ({False} if scale == 1.0 else {True})
