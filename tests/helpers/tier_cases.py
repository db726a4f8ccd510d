"""Generated factor sequences for the certified-tier tests (test_tiers.py, test_tiers_qr.py).

Families: Gaussian, ill-conditioned, near-singular, nilpotent, wide dynamic range
(1e-300..1e300), subnormal entries, long products, LSTM Jacobians (numerics.cells), exact powers
of two; and balls around point factors. Deterministic in the seed. On ``sys.path`` through
pytest's ``pythonpath = ["tests/helpers"]`` (pyproject.toml).
"""

from __future__ import annotations

import math

import numpy as np

from gradproof.numerics.cells import lstm_jacobians, random_inputs, random_lstm_params

__all__ = ["make_case", "ball_around", "arb_reference", "consistent", "long_sizes"]


def _orth(rng, n):
    q, r = np.linalg.qr(rng.standard_normal((n, n)))
    return q * np.sign(np.diag(r))


def make_case(family, n, T, seed):
    """T float64 factors of size n from a family (deterministic in seed; lstm: size 2 ceil(n / 2))."""
    rng = np.random.default_rng(seed)
    if family == "gaussian":
        rho = rng.choice([0.3, 0.9, 1.0, 1.7])
        return rho * rng.standard_normal((T, n, n)) / math.sqrt(n)
    if family == "illcond":
        k = rng.uniform(2, 14)
        out = np.empty((T, n, n))
        for t in range(T):
            s = np.logspace(0, -k, n) if n > 1 else np.array([10.0 ** -k])
            out[t] = (_orth(rng, n) * s) @ _orth(rng, n).T
        return out
    if family == "nearsingular":
        out = np.empty((T, n, n))
        for t in range(T):
            u, v = rng.standard_normal((n, 1)), rng.standard_normal((1, n))
            out[t] = u @ v + 1e-14 * rng.standard_normal((n, n))
        return out
    if family == "nilpotent":  # strictly upper triangular: the product of >= n factors is exactly 0
        J = np.triu(rng.standard_normal((T, n, n)), 1)
        if n == 1:
            J[rng.integers(T)] = 0.0
        return J
    if family == "widerange":
        J = rng.standard_normal((T, n, n)) * 10.0 ** rng.uniform(-300, 300, size=(T, n, n))
        return J
    if family == "subnormal":
        J = rng.standard_normal((T, n, n))
        mask = rng.random((T, n, n)) < 0.4
        J[mask] = rng.integers(-2 ** 20, 2 ** 20, size=int(mask.sum())) * 2.0 ** -1074
        return J
    if family == "long":
        return rng.standard_normal((T, n, n)) / math.sqrt(n)
    if family == "lstm":  # an LSTM's own Jacobians (state size 2 * ceil(n / 2))
        h = max(1, (n + 1) // 2)
        p = random_lstm_params(h, 3, seed=int(seed % 2 ** 31), spectral_norm=float(rng.uniform(0.5, 1.5)))
        return lstm_jacobians(p, random_inputs(T, 3, seed=int(seed % 2 ** 31))).full
    if family == "pow2":  # signed permutation-like matrices of powers of two: exact products
        out = np.zeros((T, n, n))
        for t in range(T):
            p = rng.permutation(n)
            out[t, np.arange(n), p] = rng.choice([-1.0, 1.0], n) * 2.0 ** rng.integers(-60, 61, n)
        return out
    raise ValueError(family)


def ball_around(J, seed):
    """(mid, rad) with |J - mid| <= rad exactly: mid is J perturbed, rad >= 2 fl(|J - mid|)."""
    rng = np.random.default_rng(seed + 1)
    k = rng.integers(20, 50)
    with np.errstate(under="ignore"):
        mid = J + J * (2.0 ** -k) * rng.uniform(-1, 1, size=J.shape)
        rad = np.nextafter(2.0 * np.abs(J - mid), np.inf)  # >= 2 (1 - u) |J - mid| >= |J - mid|
    return mid, rad


def long_sizes(family, n, T):
    """(n, T) of a drawn case: the ``long`` family turns the draws into a long product of small
    factors (n in 2..4, T = 300 + 40 T); other families keep them."""
    if family == "long":
        return min(n, 3) + 1, 300 + 40 * T
    return n, T


def arb_reference(J):
    """The oracle: Arb at 80 bits on the point factors (the driver's Arb tier: an Arb ball tree and
    engines.spectral_norm_enclosure, scaled by the Arb midpoint's own exponent)."""
    from gradproof.numerics.tiers import certify_product

    return certify_product(J, bits=80, tiers=("arb",))


def consistent(lo, hi, ref):
    """An enclosure [lo, hi] of log10 ||P_T||_2 can contain the truth, which lies in Arb's enclosure
    ``ref``; when Arb proves P_T = 0 it must not claim a positive lower bound."""
    if ref.log10_norm_upper == -math.inf:
        return lo == -math.inf
    return lo <= ref.log10_norm_upper and ref.log10_norm_lower <= hi

