"""Horizon predictions from a sequence, validated on the same models over sequences 4x longer.

The estimate (numerics.horizon) extrapolates the decay rate measured on T = 100 steps; its range comes
from the rates over 4 windows. Oracles on the 4x longer run (same seeded inputs, extended): (a) the
step where the float64 product ||P_t||_2 (exactly rescaled, log10_norm_series) first falls below the
format's rounding-to-zero threshold min_subnormal / 2, which is what the estimate predicts, and (b) the
format's simulated zero step. A sample of seeded random models: sampling, not a proof."""

from __future__ import annotations

import math

import numpy as np
import pytest

from gradproof.numerics.engines import log10_norm_series
from gradproof.numerics.formats import FORMATS
from gradproof.numerics.horizon import horizon_report, window_rates
from gradproof.numerics.models import model_jacobians

T = 100


def _check(model, seed, kw):
    est = horizon_report(model=model, hidden=6, steps=T, seed=seed, **kw)
    long = horizon_report(model=model, hidden=6, steps=4 * T, seed=seed, **kw)
    series = log10_norm_series(model_jacobians(model, hidden=6, steps=4 * T, seed=seed, **kw).jacobians)
    exact_in = exact_all = sim_in = sim_all = 0
    for name in ("float16", "bfloat16", "float32"):
        lo, hi = est.format(name).estimated_first_zero_step_range
        inside = (lambda z: (lo is None or lo <= z) and (hi is None or z <= hi))
        thr = math.log10(FORMATS[name].min_subnormal / 2)
        below = np.nonzero(series < thr)[0]
        if below.size and below[0] + 1 > T:  # crossing beyond the estimate's own sequence
            exact_all += 1
            exact_in += inside(int(below[0]) + 1)
        z = long.format(name).first_zero_step
        if z is not None and z > T:
            sim_all += 1
            sim_in += inside(z)
    return exact_in, exact_all, sim_in, sim_all


CASES = [("gru", 0, {"spectral_norm": 0.9}), ("gru", 1, {"spectral_norm": 0.9}), ("lstm", 2, {}),
         ("lstm", 3, {})]


def test_estimated_range_contains_the_steps_of_a_4x_longer_run():
    totals = np.zeros(4, dtype=int)
    for model, seed, kw in CASES:
        totals += _check(model, seed, kw)
    exact_in, exact_all, sim_in, sim_all = totals
    assert exact_all >= 5 and exact_in == exact_all
    # the format's own zero step: lstm seed 3 in float16 is a miss (predicted <= 104, simulated 160): the
    # float16 product sticks at a subnormal while the exact product is 10^-9 below float16's smallest number
    assert sim_all >= 5 and sim_in >= sim_all - 1


@pytest.mark.slow
def test_estimated_range_on_a_larger_sample():
    totals = np.zeros(4, dtype=int)
    for model, kw in (("gru", {"spectral_norm": 0.9}), ("lstm", {}), ("rnn", {"spectral_norm": 1.0}),
                      ("lstm", {"forget_bias": 2.0}), ("gru", {})):
        for seed in range(4):
            totals += _check(model, seed, kw)
    exact_in, exact_all, sim_in, sim_all = totals
    assert exact_in >= 0.9 * exact_all and sim_in >= 0.9 * sim_all


def test_window_rates_of_a_constant_factor():
    J = np.tile(np.diag([0.5, 0.001]), (40, 1, 1))  # aligned with e_1 within about 6 steps
    rates = window_rates(J)
    assert len(rates) == 4
    np.testing.assert_allclose(rates[1:], math.log(0.5), rtol=1e-12)  # aligned after the first window
