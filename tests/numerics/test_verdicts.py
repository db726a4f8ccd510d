"""Verdicts: underflow is never called vanishing without a proven bound."""

from __future__ import annotations

import math

from hypothesis import given, settings
from hypothesis import strategies as st

from gradproof.numerics.formats import FORMATS
from gradproof.numerics.product_report import product_report
from gradproof.numerics.verdicts import FormatVerdict, absorption_threshold_log10, classify

L2 = math.log10(2.0)


def test_threshold_is_half_ulp_of_one():
    # half an ulp of 1 is 2^-p: float16 p = 11, float64 p = 53 (from the bit layouts)
    assert absorption_threshold_log10("float16") == -11 * L2
    assert absorption_threshold_log10("float64") == -53 * L2
    assert absorption_threshold_log10("float64", short_range_log10=3 * L2) == -50 * L2


def test_four_verdicts():
    exact = -1200 * L2  # 600 factors 1/4
    assert classify(exact, None, "float64") is FormatVerdict.UNDERFLOW
    assert classify(exact, None, "float64", bound_log10=exact, bound_nonincreasing=True) is FormatVerdict.VANISHING
    # a bound that may grow at longer horizons proves nothing about them
    assert classify(exact, None, "float64", bound_log10=exact, bound_nonincreasing=False) is FormatVerdict.UNDERFLOW
    # a bound above the threshold proves nothing either
    assert classify(exact, None, "float64", bound_log10=-3.0, bound_nonincreasing=True) is FormatVerdict.UNDERFLOW
    assert classify(-20.0, -20.0, "float64") is FormatVerdict.ABSORBED
    assert classify(-3.0, -3.0000001, "float64") is FormatVerdict.REPRESENTABLE
    # 1e-3 is above half an ulp of 1 in float16 (2^-11 ~ 4.9e-4), 1e-4 is below
    assert classify(-3.0, -3.0, "float16") is FormatVerdict.REPRESENTABLE
    assert classify(-4.0, -4.0, "float16") is FormatVerdict.ABSORBED
    # a format value off by a factor 2 keeps no correct digit
    assert classify(-300.0, -300.0 + L2, "float64") is FormatVerdict.UNDERFLOW
    assert classify(-30.0, math.inf, "float16") is FormatVerdict.OVERFLOW


@settings(max_examples=50, deadline=None)
@given(exact=st.floats(-5000, 5, allow_nan=False), fmt=st.sampled_from(list(FORMATS)),
       fmt_zero=st.booleans())
def test_no_bound_never_vanishing(exact, fmt, fmt_zero):
    value = None if fmt_zero else exact
    assert classify(exact, value, fmt) is not FormatVerdict.VANISHING
    assert classify(exact, value, fmt, bound_log10=exact, bound_nonincreasing=False) is not FormatVerdict.VANISHING


def test_lstm_underflow_without_bound_is_not_vanishing():
    rep = product_report("lstm", hidden=4, steps=300, seed=0)
    assert rep["log10_bound"] is None
    f16 = rep["formats"]["float16"]
    assert f16["first_zero_step"] is not None and f16["value_log10"] is None
    assert rep["log10_norm"] is not None  # exactly nonzero
    assert f16["verdict"] == "underflow"
    assert all(r["verdict"] != "vanishing" for r in rep["formats"].values())


def test_rnn_with_contracting_bound_is_vanishing_and_expanding_is_not():
    rep = product_report("rnn", hidden=4, steps=200, seed=1, spectral_norm=0.5)
    assert rep["bound_factor"] < 1 and rep["log10_bound"] <= 200 * math.log10(0.5) + 1e-9
    assert rep["log10_norm"] <= rep["log10_bound"]  # the measured product respects the bound
    assert rep["formats"]["float64"]["verdict"] == "vanishing"
    rep2 = product_report("rnn", hidden=4, steps=200, seed=1, spectral_norm=3.0)
    assert rep2["bound_factor"] > 1
    assert all(r["verdict"] != "vanishing" for r in rep2["formats"].values())


def test_cancellation_undecided_and_proven_zero():
    exact = -17.37
    # the format gives 0: cancellation when the derivative formula is the cause, else underflow
    assert classify(exact, None, "float64", cancellation=True) is FormatVerdict.CANCELLATION
    assert classify(exact, None, "float64", cancellation=False) is FormatVerdict.UNDERFLOW
    assert classify(exact, exact + 1.0, "float32", cancellation=True) is FormatVerdict.CANCELLATION
    # no established magnitude: no verdict (never underflow, never "exact product is 0")
    assert classify(exact, None, "float64", established=False) is FormatVerdict.UNDECIDED
    assert classify(exact, exact, "float64", established=False) is FormatVerdict.UNDECIDED
    assert classify(-math.inf, None, "float64", proven_zero=False) is FormatVerdict.UNDECIDED
    assert classify(-math.inf, None, "float64", proven_zero=True) is FormatVerdict.REPRESENTABLE
    assert classify(None, None, "float64") is FormatVerdict.UNDECIDED
    # a proven bound decides vanishing whatever the magnitude's status
    assert classify(exact, None, "float64", established=False, bound_log10=-400.0,
                    bound_nonincreasing=True) is FormatVerdict.VANISHING


def test_report_dataclass_and_json_agree(capsys):
    import json

    from gradproof.reports.cli import main

    rep = product_report("gru", hidden=3, steps=40, seed=1)
    assert main(["product", "gru", "--hidden", "3", "--steps", "40", "--seed", "1", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == json.loads(json.dumps(rep.to_dict()))
    assert rep.to_dict()["truth"] == rep.truth and "reliability" in rep.to_dict()
    assert "activation" not in rep.to_dict() and "forget_bias" not in rep.to_dict()


def test_chaotic_fast_report_says_unreliable_and_gives_no_verdict():
    rep = product_report("rnn", hidden=20, steps=300, seed=0, spectral_norm=8.0)
    rel = rep.reliability
    assert rel["lyapunov"] > 0 and not rel["fast_reliable"]
    assert "--engine certified" in rel["statement"] and rel["no_correct_digit_after_step"] < 300
    assert all(r.verdict == "undecided" for r in rep.formats.values() if r.verdict != "overflow")
    calm = product_report("rnn", hidden=4, steps=100, seed=0, spectral_norm=0.9)
    assert calm.reliability["fast_reliable"] and calm.reliability["estimated_log10_relative_error"] < -10


def test_check_engines_reports_agreement():
    rep = product_report("lstm", hidden=2, steps=30, seed=3, check_engines=True)
    chk = rep.engine_check
    assert chk["fast_inside_enclosure"] and abs(chk["fast_minus_certified_log10"]) < 1e-12
    assert chk["certified_lower"] <= rep.log10_norm <= chk["certified_upper"]
