"""Lyapunov exponents by the QR method, checked on the Henon map (shared/oracles.md)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from gradproof.numerics.cells import random_inputs, random_rnn_params, rnn_jacobians
from gradproof.numerics.engines import product_fast
from gradproof.numerics.lyapunov import largest_lyapunov, lyapunov_spectrum

A, B = 1.4, 0.3


def henon_jacobians(T, burn=1000, x=0.1, y=0.1):
    for _ in range(burn):
        x, y = 1 - A * x * x + y, B * x
    xs = np.empty(T)
    for t in range(T):
        xs[t] = x
        x, y = 1 - A * x * x + y, B * x
    J = np.zeros((T, 2, 2))
    J[:, 0, 0] = -2 * A * xs
    J[:, 0, 1] = 1.0
    J[:, 1, 0] = B
    return J


def test_henon_exponents():
    J = henon_jacobians(20000)
    spec = lyapunov_spectrum(J)
    # det J_t = -b at every step, so lambda_1 + lambda_2 = ln 0.3 exactly (up to rounding)
    assert spec.sum() == pytest.approx(math.log(0.3), abs=1e-12)
    # published lambda_1 ~ 0.419-0.420; a 2e4-step orbit has a statistical error of a few 1e-3
    assert 0.412 < spec[0] < 0.427
    assert -1.632 < spec[1] < -1.615
    assert largest_lyapunov(J) == pytest.approx(spec[0], abs=2e-3)
    # a wrong base (log10) or a missing normalisation would land far outside these windows
    assert abs(spec[0] / math.log(10) - 0.4195) > 0.1


def test_constant_triangular_matrix():
    # J = [[1/2, 1], [0, 1/4]]: exponents are ln 1/2 and ln 1/4 exactly in the limit
    J = np.tile(np.array([[0.5, 1.0], [0.0, 0.25]]), (3000, 1, 1))
    spec = lyapunov_spectrum(J)
    assert spec[0] == pytest.approx(math.log(0.5), abs=2e-3)
    assert spec[1] == pytest.approx(math.log(0.25), abs=2e-3)
    assert spec.sum() == pytest.approx(math.log(0.125), abs=1e-12)


def test_rnn_rate_below_bound_and_matches_product():
    p = random_rnn_params(6, 6, seed=2, activation="tanh", spectral_norm=0.8)
    J = rnn_jacobians(p, random_inputs(2000, 6, seed=2))
    lam = largest_lyapunov(J)
    assert lam <= math.log(0.8) + 1e-12  # gamma = 1 for tanh
    rate_from_product = product_fast(J).log10_norm * math.log(10) / 2000
    assert lam == pytest.approx(rate_from_product, abs=5e-3)
