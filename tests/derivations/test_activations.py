"""Activations: derivatives and gamma derived from the definitions, checked independently."""

import random

import mpmath
import pytest
import sympy as sp

from gradproof.derivations.activations import (
    ACTIVATIONS, LAMBDIFY_MODULES_MPMATH, derive_gamma, generic_activation, get_activation,
    mp_sigmoid, sigmoid,
)
from gradproof.numerics.errors import InputError

z = sp.Symbol("z", real=True)


def test_sigmoid_fdiff_is_derivative_of_closed_form_symbolically_and_numerically():
    closed = 1 / (1 + sp.exp(-z))
    ours = sp.diff(sigmoid(z), z).rewrite(sp.exp)
    assert sp.simplify(ours - sp.diff(closed, z)) == 0
    rng = random.Random(11)
    with mpmath.workdps(50):
        f = sp.lambdify(z, sp.diff(sigmoid(z), z), modules=LAMBDIFY_MODULES_MPMATH)
        for _ in range(20):
            x = mpmath.mpf(repr(rng.uniform(-8, 8)))
            fd = mpmath.diff(lambda u: 1 / (1 + mpmath.exp(-u)), x)  # mpmath's own differentiation
            assert abs(f(x) - fd) < mpmath.mpf(10) ** -40


def test_sigmoid_special_values_and_evalf():
    assert sigmoid(0) == sp.Rational(1, 2)
    assert sigmoid(sp.oo) == 1 and sigmoid(-sp.oo) == 0
    with mpmath.workdps(30):
        assert abs(mpmath.mpf(sp.N(sigmoid(sp.Rational(3, 7)), 30)) - mp_sigmoid(mpmath.mpf(3) / 7)) < 1e-28


@pytest.mark.parametrize("name,gamma,argmax", [("sigmoid", sp.Rational(1, 4), 0), ("tanh", 1, 0)])
def test_gamma_derived_matches_published_values(name, gamma, argmax):
    """oracles.md: max sigma' = 1/4 at 0, max tanh' = 1 at 0 (Hochreiter & Schmidhuber 1997)."""
    g = derive_gamma(ACTIVATIONS[name])
    assert g.gamma == gamma
    assert g.argmax == argmax
    assert all(t < 0 for t in g.third_derivative)  # second-order test: a maximum of act'
    assert g.limits == (0, 0)


def test_gamma_numeric_sampling_never_exceeds_derived_value():
    rng = random.Random(5)
    for name in ("sigmoid", "tanh"):
        act = ACTIVATIONS[name]
        g = float(act.gamma)
        d = sp.lambdify(z, act.derivative(z), modules=LAMBDIFY_MODULES_MPMATH)
        samples = [abs(d(mpmath.mpf(repr(rng.uniform(-10, 10))))) for _ in range(500)]
        assert max(samples) <= g
        assert abs(d(0)) == g


def test_identity_gamma_is_one_without_critical_points():
    g = derive_gamma(ACTIVATIONS["identity"])
    assert g.gamma == 1 and g.critical_points == ()


def test_activation_derivatives_in_terms_of_themselves():
    assert sp.expand(ACTIVATIONS["tanh"].derivative(z) - (1 - sp.tanh(z) ** 2)) == 0
    assert sp.expand(ACTIVATIONS["sigmoid"].derivative(z) - sigmoid(z) * (1 - sigmoid(z))) == 0


def test_unknown_activation_is_input_error():
    with pytest.raises(InputError, match="unknown activation 'relu6'"):
        get_activation("relu6")


def test_generic_activation_is_undefined_function():
    act = generic_activation()
    expr = sp.diff(act(2 * z), z)
    assert expr.has(sp.Derivative) or expr.has(sp.Subs)


@pytest.mark.parametrize("name", ["sigmoid", "tanh", "identity"])
def test_numeric_gamma_equals_the_derived_one(name):
    """numerics.activations.GAMMA (used by the numeric bound, which may not import SymPy) is
    exactly the supremum SymPy derives."""
    from fractions import Fraction

    from gradproof.numerics.activations import GAMMA

    g = sp.nsimplify(derive_gamma(ACTIVATIONS[name]).gamma)
    assert g.is_Rational and Fraction(int(g.p), int(g.q)) == GAMMA[name]
