"""The three product engines against each other and against exact values.

Oracles: exact powers of two (600 factors 1/4 = 2^-1200), mpmath at high precision (the
reference engine, whose exponent is unbounded), and Arb balls (containment and width).
Each test also shows the naive float64 product failing where the claim is about underflow.
"""

from __future__ import annotations

import math

import mpmath
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gradproof.numerics.errors import InputError
from gradproof.numerics.engines import (
    as_jacobian_stack,
    jacobian_product,
    log10_norm_series,
    product_certified,
    product_fast,
    product_reference,
)


def close_log(a, b, rel=1e-12):
    return abs(a - b) <= rel * max(1.0, abs(b))


def naive_product(J):
    P = np.eye(J.shape[1])
    with np.errstate(under="ignore"):
        for Jt in J:
            P = Jt @ P
    return P


def test_600_quarters_is_two_to_minus_1200_in_every_engine():
    with mpmath.workdps(40):
        exact = float(mpmath.log10(mpmath.mpf(2) ** -1200))  # independent: -1200 log10 2
    factors = np.full(600, 0.25)
    with np.errstate(under="ignore"):
        assert np.prod(factors) == 0.0  # the naive float64 product underflows to 0
    fast = product_fast(factors)
    assert fast.mantissa[0, 0] == 0.5 and fast.exponent2 == -1199  # exactly 2^-1200
    ref = product_reference(factors, dps=30)
    assert ref.mantissa[0, 0] == mpmath.mpf(0.5) and ref.exponent2 == -1199
    cert = product_certified(factors)
    for r in (fast, ref, cert):
        assert close_log(r.log10_norm, exact, 1e-15)
    assert cert.log10_norm_lower <= exact <= cert.log10_norm_upper


def test_matrix_product_that_underflows_float64():
    rng = np.random.default_rng(7)
    J = 0.1 * rng.standard_normal((400, 5, 5)) / np.sqrt(5)
    naive = naive_product(J)
    assert np.all(naive == 0.0)  # lost entirely in float64
    fast = product_fast(J)
    ref = product_reference(J, dps=40)
    assert fast.log10_norm < -340  # far below float64's range
    assert close_log(fast.log10_norm, ref.log10_norm)
    # the scaled forms agree: mantissa * 2^e is the same matrix
    M_ref = np.array(ref.mantissa.tolist(), dtype=float) * 2.0 ** (ref.exponent2 - fast.exponent2)
    np.testing.assert_allclose(fast.mantissa, M_ref, rtol=1e-9, atol=1e-12)


def test_strong_contraction_triggers_stepwise_redo_and_stays_exact():
    # diag(2^-40, 2^-45) for 100 steps: 2^-4000 overall, a 64-step chunk alone would underflow
    J = np.zeros((100, 2, 2))
    J[:, 0, 0] = 2.0 ** -40
    J[:, 1, 1] = 2.0 ** -45
    J[:, 0, 1] = 2.0 ** -60
    ref = product_reference(J, dps=40)
    fast = product_fast(J)
    assert close_log(fast.log10_norm, ref.log10_norm)
    assert fast.log10_norm == pytest.approx(-4000 * math.log10(2), rel=1e-6)


def test_zero_products():
    J = np.array([[[1.0, 1.0], [1.0, 1.0]], [[1.0, -1.0], [-1.0, 1.0]]])  # J2 J1 = 0 exactly
    for engine in ("fast", "reference", "certified"):
        r = jacobian_product(J, engine)
        assert r.log10_norm == -math.inf, engine
    assert product_fast(np.array([0.5, 0.0, 2.0])).log10_norm == -math.inf


@settings(max_examples=25, deadline=None)
@given(n=st.integers(1, 4), T=st.integers(1, 80), log_scale=st.floats(-12.0, 1.0), seed=st.integers(0, 10_000))
def test_fast_matches_reference_property(n, T, log_scale, seed):
    """Random sequences, many of them far below float64's range (scale down to 2^-12 per step)."""
    rng = np.random.default_rng(seed)
    J = rng.standard_normal((T, n, n)) * 2.0 ** log_scale
    fast = product_fast(J)
    ref = product_reference(J, dps=40)
    if ref.log10_norm == -math.inf:
        assert fast.log10_norm == -math.inf
    else:
        assert close_log(fast.log10_norm, ref.log10_norm)


@settings(max_examples=10, deadline=None)
@given(n=st.integers(1, 4), T=st.integers(1, 60), seed=st.integers(0, 10_000))
def test_certified_ball_contains_reference_property(n, T, seed):
    rng = np.random.default_rng(seed)
    J = rng.standard_normal((T, n, n)) * 0.1
    cert = product_certified(J, target_bits=53)
    ref = product_reference(J, dps=60)
    assert cert.certified_bits >= 53
    assert cert.log10_norm_lower <= ref.log10_norm <= cert.log10_norm_upper
    # narrower than asked: 53 bits of the norm = about 1e-16 relative, i.e. tiny in log10
    assert cert.log10_norm_upper - cert.log10_norm_lower <= 1e-13 * max(1.0, abs(ref.log10_norm))


def test_certified_reaches_higher_targets_and_restores_flint_precision():
    import flint

    rng = np.random.default_rng(3)
    J = rng.standard_normal((150, 6, 6)) / np.sqrt(6) * 0.4  # cancellation: lambda(|J|) > lambda(J)
    before = flint.ctx.prec
    cert = product_certified(J, target_bits=120)
    assert flint.ctx.prec == before
    assert cert.certified_bits >= 120
    ref = product_reference(J, dps=80)
    lo, hi = cert.log10_norm_lower, cert.log10_norm_upper
    assert lo <= ref.log10_norm <= hi
    # the reference's own digits at 80 digits agree with the ball's midpoint far beyond float64
    assert abs(mpmath.mpf(ref.extra["log10_norm_mpf"]) - cert.log10_norm) < 1e-12


def test_log10_norm_series_matches_products():
    rng = np.random.default_rng(11)
    J = 0.2 * rng.standard_normal((300, 3, 3))
    series = log10_norm_series(J)
    assert series.shape == (300,)
    for t in (1, 17, 150, 300):
        assert close_log(series[t - 1], product_reference(J[:t], dps=30).log10_norm)
    s1 = log10_norm_series(np.full(2000, 0.5))
    np.testing.assert_allclose(s1, -np.arange(1, 2001) * math.log10(2), rtol=1e-14)


def test_bad_input_raises_input_error():
    with pytest.raises(InputError):
        as_jacobian_stack(np.zeros((0, 2, 2)))
    with pytest.raises(InputError):
        as_jacobian_stack(np.zeros((3, 2, 3)))
    with pytest.raises(InputError):
        product_fast(np.array([[[np.nan]]]))
    with pytest.raises(InputError):
        jacobian_product(np.ones((2, 1, 1)), engine="quantum")
    with pytest.raises(InputError):
        product_reference(np.ones(3), dps=5)


def test_sequential_and_tree_association_agree_and_contain_reference():
    rng = np.random.default_rng(5)
    J = 0.9 * rng.standard_normal((120, 5, 5)) / np.sqrt(5)
    ref = product_reference(J, dps=60).log10_norm
    for association in ("tree", "sequential"):
        cert = product_certified(J, association=association)
        assert cert.certified_bits >= 53
        assert cert.log10_norm_lower <= ref <= cert.log10_norm_upper
    # the sequential chain needs far more working precision (wrapping effect) than the tree
    seq = product_certified(J, association="sequential")
    tree = product_certified(J, association="tree")
    assert seq.precision_bits > tree.precision_bits + 50


@pytest.mark.parametrize("case", ["orthogonal", "repeated", "flat"])
def test_certified_norm_for_degenerate_spectra(case):
    rng = np.random.default_rng(2)
    if case == "orthogonal":  # all singular values 1: ||Q||_2 = 1
        Q, _ = np.linalg.qr(rng.standard_normal((4, 4)))
        J = Q[None]
    elif case == "repeated":  # diag(1, 1, 1/2)^5: top singular value 1 twice
        J = np.tile(np.diag([1.0, 1.0, 0.5]), (5, 1, 1))
    else:  # one Gaussian matrix: 2 sigma_1^2 < trace, the trace bound cannot separate lambda_2
        J = rng.standard_normal((1, 12, 12))
    ref = product_reference(J, dps=60).log10_norm
    cert = product_certified(J)
    assert cert.certified_bits >= 53
    assert cert.log10_norm_lower <= ref <= cert.log10_norm_upper


def test_fast_engine_is_bit_identical_to_naive_float64_where_naive_is_in_range():
    """Power-of-two rescaling is exact: without underflow the two products agree bit for bit."""
    rng = np.random.default_rng(9)
    J = 0.95 * rng.standard_normal((700, 4, 4)) / 2.0  # long enough for several chunks, stays in range
    naive = naive_product(J)
    assert np.max(np.abs(naive)) > 1e-200
    fast = product_fast(J)
    np.testing.assert_array_equal(np.ldexp(fast.mantissa, fast.exponent2), naive)


# ----------------------------------------------------------------------------- adversarial certified cases
def _adversarial_cases():
    rng = np.random.default_rng(0)
    Q1, _ = np.linalg.qr(rng.standard_normal((4, 4)))
    Q2, _ = np.linalg.qr(rng.standard_normal((4, 4)))
    orth = np.stack([np.linalg.qr(rng.standard_normal((8, 8)))[0] for _ in range(59)])
    dyn = rng.standard_normal((40, 3, 3))
    dyn[::2] *= 1e150
    dyn[1::2] *= 1e-160
    zero_row = rng.standard_normal((30, 4, 4))
    zero_row[:, 0, :] = 0.0
    return {
        "non-normal": np.tile(np.array([[0.5, 1e6], [0.0, 0.25]]), (50, 1, 1)),
        "near-repeated top singular values": (Q1 @ np.diag([1.0, 1.0 - 2.0 ** -40, 0.5, 0.25]) @ Q2)[None],
        "orthogonal product (gaps ~1e-15)": orth,
        "repeated x3 rotated": (Q1 @ np.diag([1.0, 1.0, 1.0, 0.5]) @ Q2)[None],
        "huge dynamic range": dyn,
        "n = 1 tiny": np.full(3000, 2.0 ** -1000)[:, None, None],
        "zero row": zero_row,
    }


@pytest.mark.parametrize("case", list(_adversarial_cases()))
def test_certified_contains_high_precision_reference_on_adversarial_cases(case):
    J = _adversarial_cases()[case]
    ref = mpmath.mpf(product_reference(J, dps=100).extra["log10_norm_mpf"])
    cert = product_certified(J)
    assert cert.log10_norm_lower <= ref <= cert.log10_norm_upper
    assert cert.certified_bits >= 53  # was 52.1 for the orthogonal product before Rayleigh-quotient refinement
    # the claimed bits are honest: the enclosure's relative width is at most 2^-bits (plus float rounding)
    width = cert.log10_norm_upper - cert.log10_norm_lower
    assert width <= math.log10(1 + 2.0 ** -cert.certified_bits) * 2 + 8 * np.spacing(abs(float(ref)) + 1.0)


def test_certified_proves_nonzero_where_float64_cancels_to_zero():
    """(J_2 J_1)_00 = (1 + 2^-52)^2 - (1 + 2^-51) = 2^-104 exactly; float64 rounds it to 0."""
    a = 1 + 2.0 ** -52
    J = np.array([[[a, 0.0], [1 + 2.0 ** -51, 0.0]], [[a, -1.0], [0.0, 0.0]]])
    assert product_fast(J).log10_norm == -math.inf  # the float64 product is exactly 0 ...
    exact = -104 * math.log10(2.0)
    cert = product_certified(J)
    assert cert.log10_norm_lower <= exact <= cert.log10_norm_upper  # ... the balls prove 2^-104
    assert close_log(cert.log10_norm, exact) and not cert.is_zero


def test_ball_containing_zero_is_never_reported_as_zero(monkeypatch):
    import flint

    import gradproof.numerics.engines as eng

    def wide(P, flint_mod):  # an enclosure of lambda_max that contains 0
        b = flint_mod.arb(0.5, 0.75)
        return b, b, "test: a ball around 0"

    monkeypatch.setattr(eng, "spectral_norm_enclosure", wide)
    before = flint.ctx.prec
    J = 0.5 * np.random.default_rng(1).standard_normal((30, 3, 3))
    cert = eng.product_certified(J)
    assert flint.ctx.prec == before
    assert cert.log10_norm_lower == -math.inf and cert.certified_bits == 0.0
    assert math.isfinite(cert.log10_norm) and not cert.is_zero  # the float64 estimate, not "0"
    assert len(cert.extra["attempts"]) == 4  # retried at higher precision, then gave up honestly


def test_flint_precision_restored_when_the_enclosure_raises(monkeypatch):
    import flint

    import gradproof.numerics.engines as eng

    def boom(P, flint_mod):
        raise RuntimeError("injected")

    monkeypatch.setattr(eng, "spectral_norm_enclosure", boom)
    before = flint.ctx.prec
    with pytest.raises(RuntimeError):
        eng.product_certified(np.random.default_rng(0).standard_normal((5, 3, 3)))
    assert flint.ctx.prec == before


def test_float64_factors_enter_the_balls_exactly():
    import flint

    old = flint.ctx.prec
    try:
        flint.ctx.prec = 20  # far below 53 bits: a rounding conversion would show a radius
        M = flint.arb_mat(np.array([[0.1, 1 / 3], [2.0 ** -1070, 1e300]]).tolist())
        for i in range(2):
            for j in range(2):
                assert M[i, j].rad() == 0
    finally:
        flint.ctx.prec = old
    assert float(M[0, 0].mid()) == 0.1 and float(M[1, 0].mid()) == 2.0 ** -1070


def test_fast_scalar_compensated_sum_matches_reference_on_long_products():
    rng = np.random.default_rng(4)
    j = rng.uniform(-1, 1, 50_000) * 2.0 ** rng.integers(-60, 60, 50_000)
    fast = product_fast(j)
    ref = product_reference(j, dps=40)
    with mpmath.workdps(40):
        rel = abs(mpmath.mpf(fast.mantissa[0, 0]) * mpmath.mpf(2) ** (fast.exponent2 - ref.exponent2)
                  / ref.mantissa[0, 0] - 1)
    assert rel < 1e-12
    # both sides: summing the rounded log2 |j_t| in plain float64 (|sum| ~ 1e6, ulp ~ 1e-10)
    # loses the mantissa's digits, which is why the engine splits the sum
    with np.errstate(divide="ignore"):
        naive_log2 = float(np.sum(np.log2(np.abs(j))))
    with mpmath.workdps(40):
        exact_log2 = mpmath.log(abs(ref.mantissa[0, 0]), 2) + ref.exponent2
        assert abs(mpmath.mpf(naive_log2) - exact_log2) > 1e-12
        assert abs(mpmath.mpf(fast.log2_norm) - exact_log2) <= 4 * np.spacing(abs(float(exact_log2)))


def test_certified_encloses_products_with_entries_far_outside_float64_range():
    """Entries at 1e+-300: G = P^T P leaves float64's range; the trial vector is taken from
    power-of-two-scaled midpoints (a regression: eigh got inf and raised LinAlgError). Checked
    against an mpmath product and SVD at 60 digits, written here."""
    import mpmath

    rng = np.random.default_rng(1 ^ 0x5EED)
    J = rng.standard_normal((18, 3, 3)) * 10.0 ** rng.uniform(-300, 300, size=(18, 3, 3))
    res = product_certified(J)
    with mpmath.workdps(60):
        P = mpmath.eye(3)
        for t in range(J.shape[0]):
            P = mpmath.matrix(J[t].tolist()) * P
        truth = mpmath.log10(max(mpmath.svd_r(P, compute_uv=False)))
        assert res.log10_norm_lower <= truth <= res.log10_norm_upper
