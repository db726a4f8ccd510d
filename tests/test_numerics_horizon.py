"""Exact horizons for a constant factor, against hand-derived powers of two and brute force."""

from __future__ import annotations

import json
from fractions import Fraction

import pytest

from numerics.formats import FORMATS, round_scalar
from numerics.horizon import first_step_below, format_horizon_text, horizon_report, horizon_steps
from reports.cli import main

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
    rep = horizon_report(factor=0.5)
    assert rep["formats"]["float16"]["first_zero_step_ftz"] == 15
    assert "float16" in format_horizon_text(rep)
    assert main(["horizon", "--factor", "0.5", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["formats"]["float16"]["first_subnormal_step"] == 15
    assert out["formats"]["float16"]["first_zero_step"] == 25
    assert out["formats"]["float64"]["first_zero_step"] == 1075
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
