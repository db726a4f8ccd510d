r"""Floating-point formats and step-by-step simulation of products in them.

``FORMATS`` describes float16, bfloat16, float32 and float64 by their bit layouts (exponent and
fraction bits, IEEE 754-2008 sec. 3.6; bfloat16: 8 and 7, as in ml_dtypes and Google's TPU
format); every constant (min normal, min subnormal, epsilon, max, significand bits, min exponent)
is computed exactly from the layout, and the tests check each one against ``numpy.finfo`` and
``ml_dtypes.finfo`` (independent implementations). ml_dtypes is not imported here: its import
alone costs about 0.5 s, more than a whole ``gradproof product`` run.

How rounding is emulated (round to nearest, ties to even, the IEEE default):

* Values of float16, bfloat16 and float32 are held in float64. A value x is rounded to a format
  with p significand bits and minimum normal exponent emin by
      E = max(floor(log2|x|), emin),  q = 2^(E - p + 1),  round(x) = rint(x / q) * q
  with rint ties-to-even; x / q and the product by q are exact power-of-two scalings, so this is
  exactly one correct IEEE rounding, subnormals included (the quantum stops shrinking at emin).
  Results above the format's max become +-inf.
* Scalar products: the factor is rounded to the format once; at each step the product of two
  format numbers is formed in float64 (exact: at most 2 x 24 significand bits) and rounded once.
  This is exactly the format's own multiplication.
* Matrix products: J_t is rounded to the format, the matrix product is accumulated in float64
  (a wide accumulator, as in mixed-precision GEMM kernels; products of float16/bfloat16 entries
  are exact in float64) and each entry of the result is rounded once to the format.
* float64 itself uses the hardware's float64 arithmetic (IEEE, gradual underflow).
* Flush to zero (``ftz=True``, as on GPUs): factors that are subnormal are read as 0 (DAZ) and any
  result whose rounded value is subnormal is replaced by 0 (tininess after rounding).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from gradproof.numerics.errors import InputError

__all__ = ["FormatInfo", "FORMATS", "get_format", "round_to_format", "round_scalar",
           "simulate_product", "simulate_matrix_product", "simulate_all_formats", "ProductSimulation"]


@dataclass(frozen=True)
class FormatInfo:
    """A binary floating-point format: p significand bits (with the hidden bit), emin, limits."""

    name: str
    exponent_bits: int
    fraction_bits: int
    significand_bits: int  # p
    min_exponent: int  # emin: min normal = 2^emin
    min_normal: float
    min_subnormal: float
    eps: float  # 2^(1-p), the gap between 1 and the next number
    max: float


def _info(name: str, exponent_bits: int, fraction_bits: int) -> FormatInfo:
    """The limits of the IEEE binary format with these field widths, computed exactly:
    bias = 2^(w-1) - 1, emin = 1 - bias, min normal 2^emin, min subnormal 2^(emin - f),
    eps 2^-f, max (2 - 2^-f) 2^bias."""
    bias = 2 ** (exponent_bits - 1) - 1
    emin = 1 - bias
    return FormatInfo(name=name, exponent_bits=exponent_bits, fraction_bits=fraction_bits,
                      significand_bits=fraction_bits + 1, min_exponent=emin,
                      min_normal=math.ldexp(1.0, emin), min_subnormal=math.ldexp(1.0, emin - fraction_bits),
                      eps=math.ldexp(1.0, -fraction_bits),
                      max=math.ldexp(2.0 - math.ldexp(1.0, -fraction_bits), bias))


FORMATS: dict[str, FormatInfo] = {
    "float16": _info("float16", 5, 10),
    "bfloat16": _info("bfloat16", 8, 7),
    "float32": _info("float32", 8, 23),
    "float64": _info("float64", 11, 52),
}


def get_format(fmt) -> FormatInfo:
    if isinstance(fmt, FormatInfo):
        return fmt
    try:
        return FORMATS[fmt]
    except (KeyError, TypeError):
        raise InputError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}") from None


def round_to_format(x, fmt, ftz: bool = False) -> np.ndarray:
    """Round float64 values to the format (RNE, gradual underflow; FTZ flushes subnormal results)."""
    f = get_format(fmt)
    x = np.asarray(x, dtype=np.float64)
    if f.name == "float64":
        y = x.copy()
    else:
        _, e = np.frexp(x)
        E = np.maximum(e - 1, f.min_exponent)
        q = E - (f.significand_bits - 1)
        with np.errstate(over="ignore"):
            y = np.ldexp(np.rint(np.ldexp(x, -q)), q)
            y = np.where(np.abs(y) > f.max, np.copysign(np.inf, x), y)
    if ftz:
        y = np.where(np.abs(y) < f.min_normal, 0.0, y)
    return y


def round_scalar(x: float, fmt, ftz: bool = False) -> float:
    """Scalar version of :func:`round_to_format` (pure Python, for long step-by-step loops)."""
    f = get_format(fmt)
    if f.name != "float64" and x != 0.0 and math.isfinite(x):
        _, e = math.frexp(x)
        q = max(e - 1, f.min_exponent) - (f.significand_bits - 1)
        x = math.ldexp(round(math.ldexp(x, -q)), q)
        if abs(x) > f.max:
            x = math.copysign(math.inf, x)
    if ftz and abs(x) < f.min_normal:
        x = 0.0
    return x


@dataclass(frozen=True)
class ProductSimulation:
    """Result of a step-by-step product in a format (steps counted from 1; None = not reached)."""

    format: str
    ftz: bool
    steps: int
    first_subnormal_step: int | None
    first_zero_step: int | None
    first_overflow_step: int | None
    final_value: object  # float (scalar) or ndarray (matrix), in float64 holding format values
    stagnation_step: int | None = None  # scalar: step after which the value stopped changing


def simulate_product(factors, fmt, ftz: bool = False, p0: float = 1.0, stop_at_zero: bool = True) -> ProductSimulation:
    """p_t = fl(p_{t-1} * fl(r_t)) for scalar per-step factors r_1..r_T, with p_0 = fl(p0).

    Returns the first step with 0 < |p_t| < min normal (never reported in FTZ mode, where such a
    value is flushed), the first step with p_t = 0, and the first step with |p_t| = inf.
    """
    f = get_format(fmt)
    r = np.asarray(factors, dtype=np.float64).ravel()
    if r.size < 1:
        raise InputError("need at least one factor")
    if not np.all(np.isfinite(r)):
        raise InputError("factors contain NaN or infinite values")
    rf = round_to_format(r, f, ftz=ftz).tolist()
    p = round_scalar(float(p0), f, ftz)
    sub = zero = over = None
    mn = f.min_normal
    native = f.name == "float64"
    t = 0
    for t, ft in enumerate(rf, start=1):
        new = p * ft if native else round_scalar(p * ft, f)
        if ftz and abs(new) < mn:
            new = 0.0
        if sub is None and 0.0 < abs(new) < mn:
            sub = t
        if zero is None and new == 0.0:
            zero = t
        if over is None and math.isinf(new):
            over = t
        p = new
        if zero is not None and stop_at_zero:
            break
    return ProductSimulation(format=f.name, ftz=ftz, steps=t, first_subnormal_step=sub, first_zero_step=zero,
                             first_overflow_step=over, final_value=p)


def simulate_constant(factor: float, fmt, ftz: bool = False, max_steps: int = 2_000_000) -> ProductSimulation:
    """Like :func:`simulate_product` for a constant factor, with a stagnation check.

    Stops at the first exact 0, or when p_t = p_{t-1} (a fixed point of the rounded map: the
    product never changes again), or after ``max_steps`` steps.
    """
    f = get_format(fmt)
    rho = round_scalar(float(factor), f, ftz)
    p = round_scalar(1.0, f, ftz)
    sub = zero = stag = None
    mn = f.min_normal
    native = f.name == "float64"
    t = 0
    while t < max_steps:
        t += 1
        new = p * rho if native else round_scalar(p * rho, f)
        if ftz and abs(new) < mn:
            new = 0.0
        if sub is None and 0.0 < abs(new) < mn:
            sub = t
        if new == 0.0:
            zero = t
            p = new
            break
        if new == p:
            stag = t
            break
        p = new
    return ProductSimulation(format=f.name, ftz=ftz, steps=t, first_subnormal_step=sub, first_zero_step=zero,
                             first_overflow_step=None, final_value=p, stagnation_step=stag)


def simulate_matrix_product(jacobians, fmt, ftz: bool = False) -> ProductSimulation:
    """P_t = fl(fl(J_t) P_{t-1}), P_0 = I, accumulation in float64, one rounding per entry.

    first_subnormal_step: first t where P_t != 0 and its largest |entry| is below min normal
    (every entry is then subnormal or 0); first_zero_step: first t with P_t = 0 exactly.
    """
    from gradproof.numerics.engines import as_jacobian_stack

    f = get_format(fmt)
    J = as_jacobian_stack(jacobians)
    T, n, _ = J.shape
    Jf = round_to_format(J, f, ftz=ftz)
    P = np.eye(n)
    sub = zero = over = None
    mn = f.min_normal
    t = 0
    with np.errstate(over="ignore", invalid="ignore", under="ignore"):
        for t in range(1, T + 1):
            P = round_to_format(Jf[t - 1] @ P, f, ftz=ftz)
            amax = float(np.max(np.abs(P)))
            if over is None and not math.isfinite(amax):
                over = t
                break
            if sub is None and 0.0 < amax < mn:
                sub = t
            if amax == 0.0:
                zero = t
                break
    return ProductSimulation(format=f.name, ftz=ftz, steps=t, first_subnormal_step=sub, first_zero_step=zero,
                             first_overflow_step=over, final_value=P)


def simulate_all_formats(jacobians) -> dict[str, tuple[ProductSimulation, ProductSimulation]]:
    """{format: (gradual underflow, flush to zero)} :func:`simulate_matrix_product` for every format
    in ``FORMATS`` (the per-format table of the ``product`` and ``horizon MODEL`` reports).

    ``jacobians`` is one (T, N, N) array for every format, or a function fmt -> array giving the
    Jacobians as that format's framework computes them (ModelJacobians.framework_jacobians: the
    derivative formulas s (1 - s), 1 - t^2 evaluated in the training format)."""
    get = jacobians if callable(jacobians) else (lambda name: jacobians)
    out = {}
    for name in FORMATS:
        J = get(name)
        out[name] = (simulate_matrix_product(J, name, ftz=False), simulate_matrix_product(J, name, ftz=True))
    return out
