"""The checker's sampler: every recorded assumption honoured, the whole domain sampled."""

import random

import mpmath
import pytest
import sympy as sp

from gradproof.derivations.sampling import MODES, UnsampleableSymbol, draw

SYMS = [
    sp.Symbol("n", integer=True), sp.Symbol("e", even=True, positive=True),
    sp.Symbol("o", odd=True, negative=True), sp.Symbol("p", prime=True),
    sp.Symbol("q", integer=True, nonzero=True), sp.Symbol("r", real=True, nonzero=True),
    sp.Symbol("s", nonnegative=True), sp.Symbol("t", nonpositive=True, integer=True),
    sp.Symbol("i", imaginary=True), sp.Symbol("zero", zero=True), sp.Symbol("c"),
]


@pytest.mark.parametrize("sym", SYMS, ids=str)
def test_every_draw_has_every_recorded_assumption(sym):
    rng = random.Random(5)
    with mpmath.workdps(30):
        for i in range(40):
            v = draw(rng, sym, MODES[i % 5], (-1.5, 1.5), complex_point=bool(i % 2))
            # an independent check: the value as an exact SymPy number (the decimal it prints)
            num = sp.nsimplify(sp.Float(mpmath.nstr(v.real, 40), 40), rational=True)
            if isinstance(v, mpmath.mpc) and v.imag:
                num = num + sp.I * sp.nsimplify(sp.Float(mpmath.nstr(v.imag, 40), 40), rational=True)
            for key, want in sym.assumptions0.items():
                got = getattr(num, f"is_{key}")
                assert got is want or (got is None and key in ("algebraic", "transcendental")), (sym, key, v)


def test_large_and_small_magnitudes_are_sampled():
    rng = random.Random(7)
    x = sp.Symbol("x", real=True)
    vals = [abs(draw(rng, x, MODES[i % 5], (-1.5, 1.5))) for i in range(200)]
    assert max(vals) > 10**6 and min(v for v in vals if v) < 10**-6


def test_complex_symbols_get_complex_values():
    rng = random.Random(9)
    c = sp.Symbol("c")
    assert any(isinstance(draw(rng, c, "core", (-1, 1), complex_point=True), mpmath.mpc) for _ in range(5))


def test_unsatisfiable_assumptions_raise():
    with pytest.raises(UnsampleableSymbol):
        draw(random.Random(1), sp.Symbol("t", transcendental=True), "core", (-1, 1))
