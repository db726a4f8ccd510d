r"""Published digits: the one formatter for every number gradproof prints in a report.

A report quotes a number only with the digits it can stand behind, and says why (``basis``):

* ``exact`` -- integers, rationals, exact decimal inputs (parameters): printed exactly; a
  rational may be rounded to a stated number of digits, correctly (exact arithmetic).
* ``certified`` -- the value is known to lie in an enclosure [lo, hi] (an Arb ball, a rigorous
  bound): the digits printed are the most (at most ``max_digits``) such that *every* point of the
  enclosure rounds to the same string, so the string is certified.
* ``float64, tolerance T`` -- a float64 result (numpy, libm, BLAS) whose last bits differ
  between CPUs (SIMD paths, FMA, BLAS kernels): the digits printed are the most (at most 6)
  such that v (1 - T) and v (1 + T) round to the same string, with T = 1e-9 relative, far above
  the machine-to-machine variation (~1e-13) and far below the 6 printed digits. The choice of
  digits depends only on the interval, so it is the same on every machine except when a
  rounding boundary lies within the machine variation of an end of the interval (probability
  about 1e-7 per number).
* ``mpmath D digits, tolerance 10^-(D/2)`` -- a multiprecision evaluation at working precision
  D from exact inputs: the same rule with T = 10^-(D/2) (digits that survive a precision change).
* ``bound`` -- a residual of a comparison (float64 against a reference, or a numeric spot check
  at working precision) is rounding noise, not a result: it is published as the bound it was
  checked against, ``< 1e-12``, never as its raw value (which differs from machine to machine
  or from precision to precision). A residual that fails its bound is printed with its digits
  and ``(not < bound)``.

Rounding is done in exact rational arithmetic (``fractions.Fraction``; floats, mpmath ``mpf``
and Arb endpoints convert exactly), half to even. Strings follow Python's ``g`` layout
(scientific below 1e-4 and from 10^digits on) but keep trailing zeros, so the number of digits
shown is the number of digits certain: ``-880.894``, ``0.890200``, ``1.63000e-22``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction

__all__ = ["Published", "FLOAT64_RTOL", "FLOAT64_MAX_DIGITS", "CERTIFIED_MAX_DIGITS", "exact",
           "rounded", "float64", "multiprecision", "certified", "bound", "parameter",
           "limit_text", "float64_basis", "publish"]

#: relative tolerance of a published float64 result (machine-to-machine variation is ~1e-13)
FLOAT64_RTOL = 1e-9
#: at most this many significant digits of a float64 result are published
FLOAT64_MAX_DIGITS = 6
#: at most this many significant digits of a certified enclosure are published
CERTIFIED_MAX_DIGITS = 15


@dataclass(frozen=True)
class Published:
    """A number as published: ``text`` is what the report prints; ``value`` the full value
    (JSON-able, informational); ``digits`` the significant digits shown (None: exact or a
    bound); ``basis`` why those digits are certain."""

    value: object
    text: str
    digits: int | None
    basis: str

    def __str__(self) -> str:
        return self.text


def float64_basis(rtol: float = FLOAT64_RTOL, atol: float = 0.0) -> str:
    if atol:
        return f"float64, tolerance {limit_text(rtol)} relative + {limit_text(atol)} absolute"
    return f"float64, tolerance {limit_text(rtol)}"


# ----------------------------------------------------------------------------- exact rounding

def _to_fraction(x) -> Fraction:
    """x as an exact rational: int, Fraction, float, mpmath mpf, Arb (exact), SymPy Rational/Float."""
    if isinstance(x, Fraction):
        return x
    if isinstance(x, bool):
        return Fraction(int(x))
    if isinstance(x, int):
        return Fraction(x)
    if isinstance(x, float):
        return Fraction(x)
    raw = getattr(x, "_mpf_", None)
    if isinstance(raw, tuple):  # mpmath mpf, SymPy Float: (sign, mantissa, exponent, bits)
        import mpmath

        if not mpmath.isfinite(mpmath.mpf(raw)):
            raise ValueError("not a finite number")
        sign, man, exp = raw[0], int(raw[1]), int(raw[2])
        return _scaled(-man if sign else man, exp)
    man_exp = getattr(x, "man_exp", None)
    if callable(man_exp):  # python-flint arb (exact): signed mantissa
        man, exp = man_exp()
        return _scaled(int(man), int(exp))
    if hasattr(x, "p") and hasattr(x, "q"):  # SymPy Rational
        return Fraction(int(x.p), int(x.q))
    if hasattr(x, "_mpf_"):  # SymPy Float, mpmath-compatible values
        import mpmath

        return _to_fraction(mpmath.mpf(x))
    import numpy as np

    if isinstance(x, (np.floating, np.integer)):
        return _to_fraction(x.item())
    raise TypeError(f"cannot publish a number of type {type(x).__name__}")


def _scaled(man: int, exp: int) -> Fraction:
    return Fraction(man * 2 ** exp) if exp >= 0 else Fraction(man, 2 ** -exp)


def _is_finite(x) -> bool:
    try:
        return math.isfinite(float(x))
    except (OverflowError, ValueError):  # beyond the float range (mpf, Fraction): finite
        return True


def _decade(x: Fraction) -> int:
    """floor(log10 |x|) for x != 0, exactly."""
    x = abs(x)
    e = math.floor(math.log10(x.numerator) - math.log10(x.denominator)) if x.numerator else 0
    while Fraction(10) ** e > x:
        e -= 1
    while Fraction(10) ** (e + 1) <= x:
        e += 1
    return e


def _round_sig(x: Fraction, digits: int, mode: str = "even") -> tuple[int, str, int]:
    """(sign, digit string of length ``digits``, decimal exponent of its first digit)."""
    if x == 0:
        return 0, "0" * digits, 0
    sign = -1 if x < 0 else 1
    a = abs(x)
    e = _decade(a)
    scaled = a / Fraction(10) ** (e - digits + 1)
    if mode == "even":
        q = round(scaled)  # Fraction.__round__: half to even
    elif (mode == "up") == (sign > 0):  # away from -inf for "up" on positives, etc.
        q = math.ceil(scaled)
    else:
        q = math.floor(scaled)
    if q >= 10 ** digits:
        q //= 10
        e += 1
    return sign, str(q), e


def _layout(sign: int, digits_str: str, e: int) -> str:
    """Python ``g`` layout, trailing zeros kept."""
    d = len(digits_str)
    s = "-" if sign < 0 else ""
    if sign == 0:
        return "0"
    if -4 <= e < d:
        if e >= 0:
            head, tail = digits_str[:e + 1], digits_str[e + 1:]
            return s + head + ("." + tail if tail else "")
        return s + "0." + "0" * (-e - 1) + digits_str
    mant = digits_str[0] + ("." + digits_str[1:] if d > 1 else "")
    return s + mant + f"e{'-' if e < 0 else '+'}{abs(e):02d}"


def _text(x: Fraction, digits: int, mode: str = "even") -> str:
    return _layout(*_round_sig(x, digits, mode))


def _stable(lo: Fraction, hi: Fraction, max_digits: int) -> tuple[int, str] | None:
    """The most digits (<= max_digits) at which lo and hi print the same, with that string."""
    for d in range(max_digits, 0, -1):
        a, b = _text(lo, d), _text(hi, d)
        if a == b:
            return d, a
    return None


def _jsonable(x):
    if x is None or isinstance(x, (bool, int, str)):
        return x
    if isinstance(x, Fraction):
        return str(x) if x.denominator != 1 else x.numerator
    try:
        return float(x)
    except (TypeError, ValueError, OverflowError):
        return str(x)


def _nonfinite(value, basis: str) -> Published:
    v = float(value)
    return Published(v, "nan" if math.isnan(v) else ("inf" if v > 0 else "-inf"), None, basis)


# ----------------------------------------------------------------------------- the formatter

def limit_text(limit) -> str:
    """A tolerance or bound as written in a report: ``1e-9``, ``0.5``, ``2.5e-13``."""
    s = repr(float(limit))
    if "e" in s:
        mant, exp = s.split("e")
        mant = mant[:-2] if mant.endswith(".0") else mant
        return f"{mant}e{int(exp)}"
    return s[:-2] if s.endswith(".0") else s


def parameter(x) -> str:
    """An exact input (a parameter typed in the code): shortest round-trip text, ``0.6``, ``2``."""
    return exact(x).text


def exact(value) -> Published:
    """Integers, booleans, None, rationals (``p/q``) and exact decimal inputs, printed exactly."""
    if value is None:
        return Published(None, "none", None, "exact")
    if isinstance(value, bool):
        return Published(value, str(value).lower(), None, "exact")
    if isinstance(value, int) or (hasattr(value, "is_Integer") and value.is_Integer):
        return Published(int(value), str(int(value)), None, "exact")
    if isinstance(value, float):
        if not math.isfinite(value):
            return _nonfinite(value, "exact")
        return Published(value, limit_text(value), None, "exact")
    q = _to_fraction(value)
    text = str(q.numerator) if q.denominator == 1 else f"{q.numerator}/{q.denominator}"
    return Published(_jsonable(q), text, None, "exact")


def rounded(value, digits: int) -> Published:
    """An exact value (rational) correctly rounded to ``digits`` significant digits."""
    q = _to_fraction(value)
    return Published(float(q), _text(q, digits), digits,
                     f"exact, correctly rounded to {digits} digits")


def _approximate(value, rtol: float, atol: float, max_digits: int, basis: str) -> Published:
    if not _is_finite(value):
        return _nonfinite(value, basis)
    v = _to_fraction(value)
    width = max(abs(v) * _to_fraction(rtol), _to_fraction(atol))
    lo, hi = v - width, v + width
    if atol and lo <= 0 <= hi:  # indistinguishable from 0 at this tolerance
        return Published(_jsonable(value), f"|x| < {limit_text(atol)}", None,
                         basis + ", below tolerance")
    found = _stable(lo, hi, max_digits)
    if found is None:  # the interval straddles a one-digit rounding boundary: print it
        text = f"[{_text(lo, 2, 'down')}, {_text(hi, 2, 'up')}]"
        return Published(_jsonable(value), text, None, basis + ", interval")
    d, text = found
    return Published(_jsonable(value), text, d, basis)


def float64(value, *, rtol: float = FLOAT64_RTOL, atol: float = 0.0,
            max_digits: int = FLOAT64_MAX_DIGITS) -> Published:
    """A float64 result (or one computed from float64 inputs): the digits on which
    value (1 +- rtol) (and +- atol) agree, at most ``max_digits``."""
    return _approximate(value, rtol, atol, max_digits, float64_basis(rtol, atol))


def multiprecision(value, dps: int, *, max_digits: int = 6) -> Published:
    """An mpmath/SymPy evaluation at ``dps`` working digits from exact inputs: the digits on
    which value (1 +- 10^-(dps/2)) agree, at most ``max_digits``."""
    rtol = Fraction(1, 10 ** (dps // 2))
    return _approximate(value, rtol, 0, max_digits,
                        f"mpmath {dps} digits, tolerance 1e-{dps // 2}")


def certified(lower, upper, *, max_digits: int = CERTIFIED_MAX_DIGITS,
              value=None) -> Published:
    """A value certified to lie in [lower, upper] (Arb ball endpoints, rigorous bounds): the
    most digits (at most ``max_digits``) to which every point of the enclosure rounds alike.
    ``lower``/``upper`` may be an Arb ball's ``lower()``/``upper()``, floats, mpf, rationals."""
    lo, hi = _to_fraction(lower), _to_fraction(upper)
    if lo > hi:
        raise ValueError("certified: lower > upper")
    mid = value if value is not None else float((lo + hi) / 2)
    # every point of [lo, hi] rounds like lo and hi when they round alike (rounding is monotone)
    found = _stable(lo, hi, max_digits)
    if found is None:
        return Published(_jsonable(mid), f"[{_text(lo, 2, 'down')}, {_text(hi, 2, 'up')}]", None,
                         "certified enclosure")
    d, text = found
    return Published(_jsonable(mid), text, d, "certified")


def bound(value, limit, *, of: str = "float64") -> Published:
    """A residual checked against ``limit``: published as ``< limit`` (its raw value is rounding
    noise that differs between machines or precisions). ``of`` names what the residual is of."""
    lim = limit_text(limit)
    if _is_finite(value) and abs(_to_fraction(value)) < _to_fraction(limit):
        return Published(_jsonable(value), f"< {lim}", None,
                         f"bound: {of} residual checked < {lim}")
    shown = float64(value) if _is_finite(value) else _nonfinite(value, "")
    return Published(_jsonable(value), f"{shown.text} (not < {lim})", shown.digits,
                     f"bound: {of} residual NOT < {lim}")


def publish(value, *, basis: str = "float64", max_digits: int = FLOAT64_MAX_DIGITS,
            limit=None) -> Published:
    """Dispatch used by report items: ints/None/bool exact; a ``limit`` makes a bound;
    other numbers by ``basis`` ("float64" or "exact")."""
    if limit is not None:
        return bound(value, limit)
    if value is None or isinstance(value, (bool, int)) or basis == "exact":
        return exact(value)
    import numpy as np

    if isinstance(value, np.integer):
        return exact(int(value))
    if basis == "float64":
        return float64(value, max_digits=max_digits)
    raise ValueError(f"unknown basis {basis!r}")
