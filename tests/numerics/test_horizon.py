"""Exact horizons for a constant factor, against hand-derived powers of two and brute force."""

from __future__ import annotations

import json
from fractions import Fraction

import ml_dtypes
import numpy as np
import pytest

from gradproof.numerics.formats import FORMATS, round_scalar
from gradproof.numerics.horizon import first_step_below, format_horizon_text, horizon_report, horizon_steps
from gradproof.reports.cli import main

LAYOUT = {"float16": (5, 10), "bfloat16": (8, 7), "float32": (8, 23), "float64": (11, 52)}


def emin_p(name):
    k, frac = LAYOUT[name]
    return 2 - 2 ** (k - 1), frac + 1


@pytest.mark.parametrize("name", list(LAYOUT))
@pytest.mark.parametrize("k", [1, 3])
def test_powers_of_two_simulated_equals_exact_equals_hand(name, k):
    # factor 2^-k: product 2^-kt; subnormal first when kt > -emin, zero first when kt >= p - emin
    emin, p = emin_p(name)
    h = horizon_steps(2.0 ** -k, name)
    sub = -emin // k + 1
    zero = -((emin - p) // k)
    assert h.first_subnormal_step == h.exact_first_subnormal_step == sub
    assert h.first_zero_step == h.exact_first_zero_step == zero
    z = horizon_steps(2.0 ** -k, name, ftz=True)
    assert z.first_zero_step == z.exact_first_zero_step == sub


def _brute_exact(rho_f, name):
    f = FORMATS[name]
    rho = Fraction(rho_f)
    sub_thr = Fraction(f.min_normal) - Fraction(f.min_subnormal) / 2
    zero_thr = Fraction(f.min_subnormal) / 2
    t, x, sub = 0, Fraction(1), None
    while True:
        t += 1
        x *= rho
        if sub is None and x < sub_thr:
            sub = t
        if x <= zero_thr:
            return sub, t


@pytest.mark.parametrize("factor", [0.9, 0.3, 0.77, 0.995])
def test_exact_steps_against_brute_force_fractions_float16(factor):
    h = horizon_steps(factor, "float16")
    assert h.factor_in_format == round_scalar(factor, "float16")
    assert (h.exact_first_subnormal_step, h.exact_first_zero_step) == _brute_exact(h.factor_in_format, "float16")


def test_exact_steps_bfloat16_brute_force():
    h = horizon_steps(0.6, "bfloat16")
    assert (h.exact_first_subnormal_step, h.exact_first_zero_step) == _brute_exact(h.factor_in_format, "bfloat16")


def test_first_step_below_boundary_cases():
    assert first_step_below(Fraction(1, 2), Fraction(1, 32), strict=True) == 6
    assert first_step_below(Fraction(1, 2), Fraction(1, 32), strict=False) == 5
    # a huge horizon decided by logarithms (rho^t has far too many bits for integers)
    rho = Fraction(0.9999999)
    t = first_step_below(rho, Fraction(1, 2 ** 1074), strict=True)
    import mpmath
    with mpmath.workdps(60):
        L = mpmath.log(mpmath.mpf(2) ** -1074) / mpmath.log(mpmath.mpf(rho.numerator) / rho.denominator)
    assert t == int(mpmath.floor(L)) + 1


def test_factor_rounding_to_one_never_underflows():
    h = horizon_steps(0.9999, "bfloat16")  # rounds to 1 in bfloat16 (8 significand bits)
    assert h.factor_in_format == 1.0
    assert h.first_zero_step is None and h.exact_first_zero_step is None


def test_horizon_report_and_cli(capsys):
    # factor 1/2: 2^-t is subnormal first at t = -emin + 1 and rounds to 0 first at t = -emin + p
    emin16, p16 = emin_p("float16")  # -14, 11: steps 15 and 25
    emin64, p64 = emin_p("float64")  # -1022, 53: zero at 1075
    rep = horizon_report(factor=0.5)
    assert rep.format("float16").first_zero_step_ftz == -emin16 + 1
    assert "float16" in format_horizon_text(rep)
    assert main(["horizon", "--factor", "0.5", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["formats"]["float16"]["first_subnormal_step"] == -emin16 + 1
    assert out["formats"]["float16"]["first_zero_step"] == -emin16 + p16
    assert out["formats"]["float64"]["first_zero_step"] == -emin64 + p64
    assert set(out["formats"]) == set(LAYOUT)
    for bad in (["horizon", "--factor", "1.5"], ["horizon", "--factor", "0"], ["horizon", "--factor", "0.5", "rnn"],
                ["horizon"]):
        assert main(bad) == 2
        err = capsys.readouterr().err
        assert err.startswith("gradproof: error:") and err.count("\n") == 1


def test_horizon_model_report(capsys):
    assert main(["horizon", "rnn", "--hidden", "3", "--steps", "120", "--spectral-norm", "0.5", "--json"]) == 0
    rep = json.loads(capsys.readouterr().out)
    assert rep["mode"] == "model" and rep["lyapunov"] < 0
    f16 = rep["formats"]["float16"]
    assert f16["first_zero_step"] is not None and f16["first_zero_step_ftz"] <= f16["first_zero_step"]
    assert f16["first_subnormal_step"] == f16["first_zero_step_ftz"]


# ----------------------------------------------------------------------------- factors 1/2, 1/4, 3/4, 0.9
# Hand-derived from the layouts in shared/oracles.md (not from the code): min normal 2^emin and
# min subnormal 2^(emin - p + 1). The exact product rho^t, rounded once, is subnormal first at the
# t with rho^t < 2^emin - 2^(emin-p) and rho^(t-1) >= it, and is 0 first when rho^t <= 2^(emin-p)
# (half the min subnormal: the tie goes to the even neighbour 0).
NATIVE = {"float16": np.float16, "bfloat16": ml_dtypes.bfloat16, "float32": np.float32, "float64": np.float64}


def _native_simulation(rho, name, cap=20000):
    """p_t = p_{t-1} * rho in the dtype's own arithmetic (numpy / ml_dtypes, IEEE RNE, gradual underflow).

    An oracle independent of numerics.formats (which rounds in float64 by ldexp/rint): returns
    (first subnormal step, first zero step, step at which the product stops changing).
    """
    dt = NATIVE[name]
    emin, _ = emin_p(name)
    r, p = dt(rho), dt(1.0)
    sub = None
    with np.errstate(under="ignore"):
        for t in range(1, cap):
            new = dt(p * r)
            if sub is None and 0 < float(new) < 2.0 ** emin:
                sub = t
            if float(new) == 0.0:
                return sub, t, None
            if new == p:
                return sub, None, t
            p = new
    raise AssertionError("cap reached")


@pytest.mark.parametrize("name", list(LAYOUT))
@pytest.mark.parametrize("factor", [0.5, 0.25, 0.75, 0.9])
def test_steps_for_common_factors_in_every_format(name, factor):
    emin, p = emin_p(name)
    h = horizon_steps(factor, name)
    z = horizon_steps(factor, name, ftz=True)
    # simulated steps == the dtype's own arithmetic
    sub, zero, stag = _native_simulation(factor, name)
    assert (h.first_subnormal_step, h.first_zero_step, h.stagnates_at_step) == (sub, zero, stag)
    # FTZ: the product is flushed exactly when gradual underflow would first go subnormal
    assert z.first_zero_step == sub and z.first_subnormal_step is None
    # exact steps: defining inequalities checked with Fractions at t and t - 1 (minimality)
    rho = Fraction(h.factor_in_format)
    sub_thr = Fraction(2) ** emin - Fraction(2) ** (emin - p)
    zero_thr = Fraction(2) ** (emin - p)
    ts, tz = h.exact_first_subnormal_step, h.exact_first_zero_step
    assert rho ** ts < sub_thr <= rho ** (ts - 1)
    assert rho ** tz <= zero_thr < rho ** (tz - 1)
    if factor in (0.5, 0.25):  # powers of two: every rounding is exact, simulated == exact == hand
        k = 1 if factor == 0.5 else 2
        assert ts == sub == -emin // k + 1
        assert tz == zero == -((emin - p) // k)


def test_three_quarters_float16_by_hand():
    """(3/4)^33 = 2^-13.70 > 2^-14 > (3/4)^34 = 2^-14.11: subnormal at 34; (3/4)^t <= 2^-25 first at
    t = 61 (25 / log2(4/3) = 60.2). In float16 arithmetic the subnormal product k 2^-24 maps to
    round(0.75 k) 2^-24: 3 -> 2.25 -> 2 and 2 -> 1.5 -> 2 (tie to even), so it sticks at 2^-23."""
    h = horizon_steps(0.75, "float16")
    assert (h.exact_first_subnormal_step, h.exact_first_zero_step) == (34, 61)
    assert h.first_subnormal_step == 34 and h.first_zero_step is None
    assert h.stagnates_at_step is not None


def _round_fraction(x: Fraction, name) -> Fraction:
    """Nearest format number to a positive rational (ties to even), by brute force on the grid."""
    emin, p = emin_p(name)
    E = max(x.numerator.bit_length() - x.denominator.bit_length() - 1, emin)
    while Fraction(2) ** (E + 1) <= x:
        E += 1
    q = Fraction(2) ** (E - p + 1)
    k = x / q
    lo = k.numerator // k.denominator
    cand = lo if (k - lo < Fraction(1, 2) or (k - lo == Fraction(1, 2) and lo % 2 == 0)) else lo + 1
    return cand * q


@pytest.mark.parametrize("name", list(LAYOUT))
@pytest.mark.parametrize("text", ["0.1", "0.9", "0.3", "0.7"])
def test_which_value_is_the_factor(name, text):
    """'The factor' is the given float64 (the CLI parses RHO with float()), rounded once to the format.

    For these decimals the double rounding decimal -> float64 -> format equals the direct rounding
    of the exact decimal to the format (checked with Fractions), and the exact steps belong to
    rho_f = factor_in_format, not to the decimal: (rho_f)^t is what the format multiplies.
    """
    h = horizon_steps(float(text), name)
    assert Fraction(h.factor_in_format) == _round_fraction(Fraction(text), name)
    assert h.factor_in_format == round_scalar(float(text), name)
    if h.factor_in_format < 1:
        emin, p = emin_p(name)
        rho = Fraction(h.factor_in_format)
        assert rho ** h.exact_first_zero_step <= Fraction(2) ** (emin - p) < rho ** (h.exact_first_zero_step - 1)
    if name == "float16":
        rep = horizon_report(factor=float(text))
        assert rep.factor == float(text)
        assert Fraction(rep.factor_exact_decimal) == Fraction(float(text))  # the binary value, written exactly
        assert rep.format(name).factor_in_format == h.factor_in_format


def test_horizon_report_is_frozen_and_its_dict_is_the_cli_json(capsys):
    """The report is a typed frozen object (not a dict); to_dict() is exactly the --json object in
    both modes, and a field cannot be reassigned."""
    import dataclasses

    for args, rep in ((["horizon", "--factor", "0.25", "--json"], horizon_report(factor=0.25)),
                      (["horizon", "rnn", "--hidden", "3", "--steps", "30", "--seed", "1", "--json"],
                       horizon_report(model="rnn", hidden=3, steps=30, seed=1))):
        assert main(args) == 0
        assert json.loads(capsys.readouterr().out) == json.loads(json.dumps(rep.to_dict()))
        with pytest.raises(dataclasses.FrozenInstanceError):
            rep.mode = "other"
        assert not isinstance(rep, dict)
        assert [name for name, _ in rep.formats] == list(rep.to_dict()["formats"])
    assert set(rep.to_dict()) >= {"model", "lyapunov", "lyapunov_windows", "activation"}
    assert "factor" not in rep.to_dict()
    with pytest.raises(KeyError):
        rep.format("float8")
