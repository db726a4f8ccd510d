"""Random points for the checker's numeric tier, honouring every assumption SymPy records.

A numeric spot check can refute a statement only at a point of its domain: a symbol declared
``integer=True`` must be drawn from the integers, a ``positive`` one from (0, oo), a symbol
with no assumptions from the complex numbers. ``draw`` produces such a value for a symbol and
then *validates* it: the drawn number, as an exact SymPy number, must have every assumption
``symbol.assumptions0`` records (``integer``, ``even``, ``positive``, ``nonzero``, ``real``,
``rational``, ``prime``, ...), with the same truth value. A symbol whose assumptions no draw
satisfies (``transcendental=True``, ``irrational=True``, an ``infinite`` symbol, ...) raises
``UnsampleableSymbol``: the checker then gives no numeric verdict (UNDECIDED), never one from
points outside the domain.

The domain is sampled as a whole: of every five points, three lie in the caller's core window
``sample_range``, one at a large magnitude (|v| = 10^u, u uniform in [0.5, 12]) and one at a
small magnitude (u in [-12, -0.5]); integers at large magnitudes are drawn up to 10^12.
Symbols that are not declared real get an imaginary part at every other point (complex
symbols are complex). Each real draw is a 17-digit decimal string, exact at any working
precision; every draw comes from the caller's ``random.Random(seed)``.
"""

from __future__ import annotations

import random

import mpmath
import sympy as sp

__all__ = ["UnsampleableSymbol", "draw", "point_mode", "MODES", "domain_text"]

#: the cycle of sampling modes, one per point
MODES = ("core", "core", "large", "core", "small")

_SMALL_PRIMES = (2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47, 53, 59, 61, 67, 71,
                 73, 79, 83, 89, 97, 1000003, 998244353, 2147483647)

_validated: dict = {}


class UnsampleableSymbol(ValueError):
    """No value satisfying every recorded assumption of the symbol could be drawn."""


def point_mode(i: int, wide: bool = True) -> str:
    """Sampling mode of point i: 'core', 'large' or 'small' (all 'core' when not ``wide``)."""
    return MODES[i % len(MODES)] if wide else "core"


def domain_text(sample_range, wide: bool) -> str:
    lo, hi = sample_range
    core = f"core window [{lo}, {hi}]"
    return core + (", 1 in 5 points at |v| in [10^0.5, 10^12], 1 in 5 at |v| in [10^-12, 10^-0.5]"
                   if wide else "")


def _magnitude(rng: random.Random, mode: str, lo: float, hi: float) -> float:
    if mode == "large":
        return rng.choice((-1.0, 1.0)) * 10.0 ** rng.uniform(0.5, 12)
    if mode == "small":
        return rng.choice((-1.0, 1.0)) * 10.0 ** rng.uniform(-12, -0.5)
    return rng.uniform(lo, hi)


def _sign_fold(sym, v):
    if sym.is_nonnegative:
        v = abs(v)
    elif sym.is_nonpositive:
        v = -abs(v)
    return v


def _raw(rng: random.Random, sym, mode: str, lo: float, hi: float, complex_point: bool):
    """(exact SymPy number, mpmath value) before validation."""
    if sym.is_zero:
        return sp.Integer(0), mpmath.mpf(0)
    if sym.is_prime:
        p = rng.choice(_SMALL_PRIMES[:25] if mode != "large" else _SMALL_PRIMES)
        return sp.Integer(p), mpmath.mpf(p)
    if sym.is_integer:
        if mode == "large":
            v = int(rng.choice((-1, 1)) * 10 ** rng.uniform(0.5, 12))
        else:
            span = max(20, int(max(abs(lo), abs(hi))) + 1)
            v = rng.randint(-span, span)
        v = _sign_fold(sym, v)
        if sym.is_positive and v == 0:
            v = 1
        if sym.is_negative and v == 0:
            v = -1
        if sym.is_even and v % 2:
            v += 1 if v >= 0 or sym.is_nonpositive else -1
            if sym.is_negative and v == 0:
                v = -2
        if sym.is_odd and not v % 2:
            v += 1 if (v >= 0 and not sym.is_nonpositive) else -1
        if sym.is_nonzero and v == 0:
            v = 2 if sym.is_even else (1 if not sym.is_nonpositive else -1)
        return sp.Integer(v), mpmath.mpf(v)
    x = _sign_fold(sym, _magnitude(rng, mode, lo, hi))
    if (sym.is_nonzero or sym.is_positive or sym.is_negative) and x == 0:
        x = 0.5 if not sym.is_nonpositive else -0.5
    text = repr(float(x))
    re_exact = sp.Rational(text)
    if sym.is_imaginary:
        return sp.I * re_exact if re_exact != 0 else sp.I, mpmath.mpc(0, mpmath.mpf(text) or 1)
    if complex_point and sym.is_real is None and sym.is_commutative:
        y = repr(float(_magnitude(rng, mode, lo, hi)))
        return re_exact + sp.I * sp.Rational(y), mpmath.mpc(mpmath.mpf(text), mpmath.mpf(y))
    if sym.is_real is False:  # declared non-real but not imaginary: a genuinely complex value
        y = repr(float(_magnitude(rng, mode, lo, hi)) or 0.5)
        return re_exact + sp.I * sp.Rational(y), mpmath.mpc(mpmath.mpf(text), mpmath.mpf(y))
    return re_exact, mpmath.mpf(text)


def _kind(exact) -> tuple:
    if exact.is_integer:
        return ("int", exact > 0, exact < 0, int(exact) % 2)
    if exact.is_real:
        return ("real", exact > 0, exact < 0)
    re, im = exact.as_real_imag()
    return ("complex", re == 0, re > 0, im > 0)


def _satisfies(sym, exact) -> bool:
    facts = sym.assumptions0
    if "prime" in facts or "composite" in facts:
        return all(getattr(exact, f"is_{k}") == v for k, v in facts.items())
    key = (tuple(sorted(facts.items())), _kind(exact))
    got = _validated.get(key)
    if got is None:
        got = _validated[key] = all(getattr(exact, f"is_{k}") == v for k, v in facts.items())
    return got


def draw(rng: random.Random, sym, mode: str, sample_range: tuple[float, float],
         complex_point: bool = False):
    """A value of ``sym`` satisfying every assumption SymPy records for it (mpf or mpc).

    Raises ``UnsampleableSymbol`` when 8 draws in a row violate a recorded assumption."""
    lo, hi = sample_range
    for _ in range(8):
        exact, value = _raw(rng, sym, mode, lo, hi, complex_point)
        if _satisfies(sym, exact):
            return value
        mode = "core"
    raise UnsampleableSymbol(f"no value satisfying the assumptions of {sym} "
                             f"({', '.join(k for k, v in sorted(sym.assumptions0.items()) if v)})")
