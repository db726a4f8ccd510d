"""Activation functions, their derivatives, and the derived constant gamma = sup_z |act'(z)|.

The vanishing-gradient bound of Bengio, Simard & Frasconi (1994) and Pascanu, Mikolov &
Bengio (2013) uses gamma = sup |act'|: with ||diag(act'(z))||_2 <= gamma the one-step
Jacobian satisfies ||diag(act'(z_t)) W_rec||_2 <= gamma ||W_rec||_2. gamma is *derived*
here from the definition of each activation, never typed in:

    critical points of act'  :  act''(z) = 0            (sympy.solveset over the reals)
    second-order check       :  act'''(z*) < 0          (a maximum of act')
    behaviour at infinity    :  lim_{z -> +-oo} act'(z)
    gamma                    :  max(|act'(z*)|, |limits|)

The sigmoid is a SymPy ``Function`` subclass with its derivative sigma' = sigma (1 - sigma)
(`fdiff`) so that derivatives of unrolled networks stay polynomial in gate values; the
identity of that derivative with d/dz 1/(1 + e^{-z}) is proven in the tests.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import sympy as sp

from gradproof.numerics.activations import mp_sigmoid, np_sigmoid
from gradproof.numerics.errors import InputError

__all__ = [
    "Activation",
    "GammaDerivation",
    "sigmoid",
    "ACTIVATIONS",
    "get_activation",
    "derive_gamma",
    "generic_activation",
    "mp_sigmoid",
    "np_sigmoid",
    "LAMBDIFY_MODULES_MPMATH",
    "LAMBDIFY_MODULES_NUMPY",
]


class sigmoid(sp.Function):  # noqa: N801 - lower case as in the literature
    r"""Logistic sigmoid \sigma(z) = 1 / (1 + e^{-z}), with \sigma'(z) = \sigma(z)(1 - \sigma(z))."""

    nargs = 1

    def fdiff(self, argindex=1):
        if argindex != 1:
            raise sp.ArgumentIndexError(self, argindex)
        s = sigmoid(self.args[0])
        return s * (1 - s)

    @classmethod
    def eval(cls, arg):
        if arg.is_zero:
            return sp.S.Half
        if arg is sp.S.Infinity:
            return sp.S.One
        if arg is sp.S.NegativeInfinity:
            return sp.S.Zero
        return None

    def _eval_rewrite_as_exp(self, arg, **kwargs):
        return 1 / (1 + sp.exp(-arg))

    def _eval_evalf(self, prec):
        return self.rewrite(sp.exp)._eval_evalf(prec)

    def _eval_is_real(self):
        return self.args[0].is_real

    def _latex(self, printer, exp=None):
        arg = printer._print(self.args[0])
        base = r"\sigma\left(%s\right)" % arg
        return base if exp is None else r"%s^{%s}" % (base, exp)


#: modules for ``sympy.lambdify`` so that ``sigmoid`` evaluates in mpmath / numpy.
LAMBDIFY_MODULES_MPMATH = [{"sigmoid": mp_sigmoid}, "mpmath"]
LAMBDIFY_MODULES_NUMPY = [{"sigmoid": np_sigmoid}, "numpy"]


@dataclass(frozen=True)
class GammaDerivation:
    """Record of how gamma = sup_z |act'(z)| was derived.

    ``critical_points``: solutions of act''(z) = 0; ``third_derivative``: act''' at each one
    (negative = maximum of act'); ``limits``: act' at -oo and +oo; ``gamma`` and ``argmax``.
    """

    derivative: sp.Expr
    second_derivative: sp.Expr
    critical_points: tuple
    third_derivative: tuple
    limits: tuple
    gamma: sp.Expr
    argmax: sp.Expr | None


@dataclass(frozen=True)
class Activation:
    """An activation act with its definition, its SymPy function and derivative.

    ``definition(z)`` is the closed form from which everything is derived (for the sigmoid
    1/(1+e^{-z})); ``apply(z)`` is the form used inside networks (the ``sigmoid`` Function,
    ``tanh``, or ``z``); ``derivative(z)`` is act'(z) written in terms of ``apply``.
    """

    name: str
    latex_name: str
    definition_lambda: sp.Lambda
    apply_lambda: sp.Lambda

    def definition(self, z):
        return self.definition_lambda(z)

    def apply(self, z):
        return self.apply_lambda(z)

    def derivative(self, z):
        r"""act'(z) as SymPy derives it from ``apply`` (sigma(1-sigma), 1 - tanh^2, 1)."""
        x = sp.Dummy("x", real=True)
        return sp.diff(self.apply_lambda(x), x).subs(x, z)

    @property
    def gamma(self) -> sp.Expr:
        """sup_z |act'(z)|, derived (see ``derive_gamma``)."""
        return derive_gamma(self).gamma


def _make(name, latex_name, definition, apply):
    z = sp.Symbol("z", real=True)
    return Activation(name, latex_name, sp.Lambda(z, definition(z)), sp.Lambda(z, apply(z)))


ACTIVATIONS: dict[str, Activation] = {
    "sigmoid": _make("sigmoid", r"\sigma", lambda z: 1 / (1 + sp.exp(-z)), sigmoid),
    "tanh": _make("tanh", r"\tanh", sp.tanh, sp.tanh),
    "identity": _make("identity", r"\mathrm{id}", lambda z: z, lambda z: z),
}


def get_activation(name: str) -> Activation:
    """The activation called ``name``; an unknown name raises ``InputError``."""
    try:
        return ACTIVATIONS[name]
    except KeyError:
        raise InputError(
            f"unknown activation {name!r} (choose from {', '.join(sorted(ACTIVATIONS))})"
        ) from None


def generic_activation(name: str = "act") -> sp.FunctionClass:
    """An undefined SymPy function, for statements that hold for any activation."""
    return sp.Function(name, real=True)


@lru_cache(maxsize=None)
def derive_gamma(activation: Activation) -> GammaDerivation:
    """Derive gamma = sup_z |act'(z)| from the activation's closed-form definition.

    Method: act' and act'' by differentiation of the definition; the real solutions of
    act''(z) = 0 (``solveset``); the sign of act''' there (second-order test for a maximum
    of act'); the limits of act' at +-oo. gamma is the largest |act'| among these
    candidates. A constant act' (identity) gives gamma = |act'|.
    """
    z = sp.Symbol("z", real=True)
    expr = activation.definition(z)
    d1 = sp.simplify(sp.diff(expr, z))
    d2 = sp.simplify(sp.diff(d1, z))
    if d2 == 0:
        return GammaDerivation(d1, d2, (), (), (d1, d1), sp.Abs(d1), None)
    sols = sp.solveset(d2, z, domain=sp.S.Reals)
    if not isinstance(sols, sp.FiniteSet):
        raise NotImplementedError(f"critical points of {activation.name}' not finite: {sols}")
    crit = tuple(sorted(sols, key=sp.default_sort_key))
    d3 = sp.diff(d2, z)
    third = tuple(sp.simplify(d3.subs(z, c)) for c in crit)
    limits = (sp.limit(d1, z, -sp.oo), sp.limit(d1, z, sp.oo))
    candidates = [(sp.Abs(sp.simplify(d1.subs(z, c))), c) for c in crit]
    candidates += [(sp.Abs(v), None) for v in limits]
    gamma, argmax = max(candidates, key=lambda vc: float(vc[0]))
    return GammaDerivation(d1, d2, crit, third, limits, sp.nsimplify(gamma), argmax)
