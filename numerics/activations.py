"""Activation functions in float64 and mpmath, and their gamma = sup_z |act'(z)|.

The numeric layer needs the values, not the derivation: ``GAMMA`` holds the suprema that
``gradproof.derivations.activations.derive_gamma`` derives with SymPy (critical points of act'',
a second-order test and the limits at +-inf; Pascanu, Mikolov & Bengio 2013, sec. 3.2:
gamma = 1/4 for the logistic sigmoid, 1 for tanh). ``tests`` prove that the two agree, so the
numbers here are checked against the derivation, not typed in unchecked.
"""

from __future__ import annotations

from fractions import Fraction

import mpmath
import numpy as np

__all__ = ["np_sigmoid", "mp_sigmoid", "GAMMA"]

#: sup_z |act'(z)| as exact rationals (checked against derive_gamma in the tests).
GAMMA: dict[str, Fraction] = {"sigmoid": Fraction(1, 4), "tanh": Fraction(1), "identity": Fraction(1)}


def mp_sigmoid(x):
    """mpmath sigmoid 1/(1+exp(-x)) at the current working precision."""
    return 1 / (1 + mpmath.exp(-x))


def np_sigmoid(x):
    """Logistic sigmoid 1/(1+e^{-x}) in float64, from e = exp(-|x|) <= 1 (no overflow, and full
    relative accuracy for very negative x, where 1/(1+e^{-x}) = e/(1+e))."""
    x = np.asarray(x, dtype=np.float64)
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))
