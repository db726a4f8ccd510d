r"""Activation functions and their derivatives in float64 and mpmath, and gamma = sup_z |act'(z)|.

The numeric layer needs the values, not the derivation: ``GAMMA`` holds the suprema that
``gradproof.derivations.activations.derive_gamma`` derives with SymPy (critical points of act'',
a second-order test and the limits at +-inf; Pascanu, Mikolov & Bengio 2013, sec. 3.2:
gamma = 1/4 for the logistic sigmoid, 1 for tanh). ``tests`` prove that the two agree, so the
numbers here are checked against the derivation, not typed in unchecked.

Derivatives without cancellation. PyTorch's backward (and the textbook) writes
sigma'(z) = s (1 - s) with s = sigma(z) and tanh'(z) = 1 - t^2 with t = tanh(z); in a format
with p significand bits, 1 - s and 1 - t^2 cancel to exactly 0 as soon as |z| > about p ln 2
(float64: sigma'(40) = 4.2e-18 becomes 0). gradproof uses the algebraically equal forms
    sigma'(z) = e / (1 + e)^2,      e = exp(-|z|),
    tanh'(z) = sech^2 z = 4 e / (1 + e)^2,   e = exp(-2|z|),
which have no subtraction (full relative accuracy for every z). When e underflows float64
(|z| > ~708) the derivative is returned in scaled form m 2^k (``scaled_dsigmoid``,
``scaled_dtanh``): e^{-a} = exp(-r) 2^{-K} with K = rint(a / ln 2), r = a - K ln 2 computed with
ln 2 split into a short exact head and a tail (Cody & Waite 1980), so |r| <= ln 2 / 2 and exp(-r)
is a normal float64 whatever a is.

``framework_derivative`` evaluates the framework's formula (s (1 - s), 1 - t^2) with every
operation rounded to a training format: what ``loss.backward()`` produces in that dtype.
ReLU (derivative convention of PyTorch: relu'(0) = 0) and the identity complete the RNN choices.
"""

from __future__ import annotations

import math
from fractions import Fraction

import mpmath
import numpy as np

__all__ = ["np_sigmoid", "mp_sigmoid", "GAMMA", "RNN_ACTIVATIONS", "np_activation", "np_derivative",
           "scaled_derivative", "framework_derivative", "scaled_exp_neg"]

#: sup_z |act'(z)| as exact rationals (checked against derive_gamma in the tests; relu' <= 1).
GAMMA: dict[str, Fraction] = {"sigmoid": Fraction(1, 4), "tanh": Fraction(1), "identity": Fraction(1),
                              "relu": Fraction(1)}

#: hidden activations of the vanilla RNN (nn.RNN supports tanh and relu; sigmoid is the article's)
RNN_ACTIVATIONS = ("tanh", "sigmoid", "relu", "identity")

_LN2_HI = 0.693145751953125  # ln 2 rounded to 17 significant bits: K * _LN2_HI is exact for |K| < 2^36
_LN2_LO = 1.4286068203094173e-06  # ln 2 - _LN2_HI (float64)
_A_MAX = 2.0 ** 35  # beyond |z| ~ 3.4e10 the exponent split is no longer exact (the value is clipped)


def mp_sigmoid(x):
    """mpmath sigmoid 1/(1+exp(-x)) at the current working precision."""
    return 1 / (1 + mpmath.exp(-x))


def np_sigmoid(x):
    """Logistic sigmoid 1/(1+e^{-x}) in float64, from e = exp(-|x|) <= 1 (no overflow, and full
    relative accuracy for very negative x, where 1/(1+e^{-x}) = e/(1+e))."""
    x = np.asarray(x, dtype=np.float64)
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def np_activation(name: str, z):
    """act(z) in float64 for an RNN activation name."""
    z = np.asarray(z, dtype=np.float64)
    if name == "tanh":
        return np.tanh(z)
    if name == "sigmoid":
        return np_sigmoid(z)
    if name == "relu":
        return np.maximum(z, 0.0)
    return z.copy()


def scaled_exp_neg(a):
    """e^{-a} = m 2^k for a >= 0 (arrays): m = exp(-r) in [2^-1/2, 2^1/2], k = -rint(a / ln 2).

    r = a - K ln 2 is formed as (a - K ln2_hi) - K ln2_lo: K ln2_hi is exact and the first
    subtraction is exact by Sterbenz's lemma, so r carries the rounding of one product only."""
    a = np.minimum(np.asarray(a, dtype=np.float64), _A_MAX)
    K = np.rint(a / math.log(2.0))
    r = (a - K * _LN2_HI) - K * _LN2_LO
    return np.exp(-r), (-K).astype(np.int64)


def scaled_derivative(name: str, z):
    """act'(z) = m 2^k (float64 arrays m, int64 k), cancellation-free, for every float64 z.

    sigmoid: e / (1 + e)^2 with e = e^{-|z|}; tanh: 4 e / (1 + e)^2 with e = e^{-2|z|};
    relu: 1 for z > 0, else 0 (exact; PyTorch: relu'(0) = 0); identity: 1."""
    z = np.asarray(z, dtype=np.float64)
    if name in ("sigmoid", "tanh"):
        a = np.abs(z) if name == "sigmoid" else 2.0 * np.abs(z)  # 2|z| is exact
        m, k = scaled_exp_neg(a)
        with np.errstate(under="ignore"):
            e = np.ldexp(m, k)  # 0 or subnormal only when e << 2^-53: then 1 + e == 1 anyway
        m = m / ((1.0 + e) * (1.0 + e))
        if name == "tanh":
            m = 4.0 * m
        # renormalise m into [1/2, 1): exact power-of-two shift
        mm, ee = np.frexp(m)
        return mm, k + ee
    if name == "relu":
        return (z > 0.0).astype(np.float64), np.zeros(z.shape, dtype=np.int64)
    return np.ones(z.shape), np.zeros(z.shape, dtype=np.int64)


def np_derivative(name: str, z):
    """act'(z) in float64, cancellation-free (0 only where e^{-|z|} underflows, |z| > ~745)."""
    m, k = scaled_derivative(name, z)
    with np.errstate(under="ignore"):
        return np.ldexp(m, k)


def framework_derivative(name: str, z, fmt) -> np.ndarray:
    """act'(z) as a framework computes it in the training format ``fmt`` (PyTorch's backward):
    s = fl(sigma(z)), fl(s * fl(1 - s)); t = fl(tanh z), fl(1 - fl(t * t)); relu', identity exact.
    The forward value is rounded once from float64 (correct rounding of the float64 value)."""
    from gradproof.numerics.formats import round_to_format

    z = np.asarray(z, dtype=np.float64)
    if name == "sigmoid":
        s = round_to_format(np_sigmoid(z), fmt)
        return round_to_format(s * round_to_format(1.0 - s, fmt), fmt)
    if name == "tanh":
        t = round_to_format(np.tanh(z), fmt)
        return round_to_format(1.0 - round_to_format(t * t, fmt), fmt)
    if name == "relu":
        return (z > 0.0).astype(np.float64)
    return np.ones(z.shape)
