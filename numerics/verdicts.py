r"""The verdict for (model, weights, horizon, format): underflow is not vanishing.

Notation: P = ||J_T ... J_1||_2 the exact magnitude (from the reference or certified engine),
P_fmt the magnitude the format produces (step-by-step simulation, see numerics.formats), s the
size of the short-range part of the gradient sum (default 1: the lag-0 term dh_T/dh_T = I), and
tau(s) = ulp(s) / 2 = 2^(floor(log2 s) - p) half an ulp of s in a format with p significand
bits. A term smaller than tau(s) added to s is lost (round to nearest), see Higham (2002), 2.1.

The decision order is: vanishing (needs a proof), then underflow, then absorbed, else
representable. A product that merely underflows is never called vanishing: that needs an upper
bound B_k >= ||P_k|| valid for every k >= T with B_T < tau(s) (e.g. (gamma ||W_rec||_2)^k with
gamma ||W_rec||_2 < 1, Pascanu et al. 2013).
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass

from gradproof.numerics.engines import LOG10_2
from gradproof.numerics.formats import get_format

__all__ = ["FormatVerdict", "Classification", "classify", "classify_detail", "absorption_threshold_log10",
           "NO_DIGIT_RELATIVE_ERROR"]

# "no correct digit": the format's magnitude is off by more than half the exact value,
# i.e. not even the leading binary digit is right.
NO_DIGIT_RELATIVE_ERROR = 0.5


class FormatVerdict(str, enum.Enum):
    """What a format does to a long Jacobian product."""

    REPRESENTABLE = "representable"
    """P > 0 and the format's P_fmt agrees with it, |P_fmt / P - 1| <= 1/2, and P >= tau(s):
    the format holds the product and it survives addition to the short-range part."""

    UNDERFLOW = "underflow"
    """P > 0 (exactly, mathematically) but P_fmt = 0, or |P_fmt / P - 1| > 1/2 (no correct
    leading digit): the zero or the garbage is an artefact of the format, not of the network."""

    ABSORBED = "absorbed"
    """P_fmt agrees with P (as for representable) but P < tau(s): s + P rounds to s in the
    format, so the long-range term is lost in the gradient sum although representable alone."""

    VANISHING = "vanishing"
    """A proven bound B_k >= ||P_k||_2, non-increasing in k, has B_T < tau(s): the term is below
    half an ulp of the short-range part at this and at every longer horizon. A mathematical
    statement about the network, independent of underflow."""

    OVERFLOW = "overflow"
    """(Extension for exploding products.) P_fmt = +-inf: the product exceeds the format's max."""


@dataclass(frozen=True)
class Classification:
    verdict: FormatVerdict
    reason: str
    threshold_log10: float
    relative_error: float | None


def absorption_threshold_log10(fmt, short_range_log10: float = 0.0) -> float:
    """log10 tau(s) = log10(2^(floor(log2 s) - p)) for s = 10^short_range_log10."""
    f = get_format(fmt)
    e = math.floor(short_range_log10 / LOG10_2 + 1e-12)
    e = max(e, f.min_exponent)
    return (e - f.significand_bits) * LOG10_2


def classify_detail(exact_log10: float, format_log10: float | None, fmt, short_range_log10: float = 0.0,
                    bound_log10: float | None = None, bound_nonincreasing: bool = False) -> Classification:
    """Classify one (product, format) pair; arguments are log10 magnitudes (None/-inf for 0).

    ``bound_log10`` is a proven upper bound of log10 ||P_T||_2; ``bound_nonincreasing`` says
    the bound also holds, and does not grow, for every longer horizon.
    """
    tau = absorption_threshold_log10(fmt, short_range_log10)
    fmt_zero = format_log10 is None or format_log10 == -math.inf
    if bound_log10 is not None and bound_nonincreasing and bound_log10 < tau:
        return Classification(FormatVerdict.VANISHING,
                              f"proven bound 10^{bound_log10:.4g} < half-ulp threshold 10^{tau:.4g} "
                              "for this and every longer horizon", tau, None)
    if format_log10 == math.inf:
        return Classification(FormatVerdict.OVERFLOW, "the format overflows to infinity", tau, math.inf)
    if exact_log10 == -math.inf:
        if fmt_zero:
            return Classification(FormatVerdict.REPRESENTABLE, "exact product is 0 and the format gives 0", tau, 0.0)
        return Classification(FormatVerdict.UNDERFLOW, "exact product is 0 but the format is not", tau, math.inf)
    if fmt_zero:
        return Classification(FormatVerdict.UNDERFLOW,
                              f"exact magnitude 10^{exact_log10:.6g} > 0 but the format gives 0", tau, 1.0)
    d = format_log10 - exact_log10
    rel = abs(10.0 ** d - 1.0) if abs(d) < 300 else math.inf
    if rel > NO_DIGIT_RELATIVE_ERROR:
        return Classification(FormatVerdict.UNDERFLOW,
                              f"format magnitude 10^{format_log10:.6g} keeps no correct digit of 10^{exact_log10:.6g}",
                              tau, rel)
    if exact_log10 < tau:
        return Classification(FormatVerdict.ABSORBED,
                              f"representable but below half an ulp (10^{tau:.4g}) of the short-range part", tau, rel)
    return Classification(FormatVerdict.REPRESENTABLE, f"format agrees (relative error {rel:.3g})", tau, rel)


def classify(exact_log10: float, format_log10: float | None, fmt, short_range_log10: float = 0.0,
             bound_log10: float | None = None, bound_nonincreasing: bool = False) -> FormatVerdict:
    """The :class:`FormatVerdict` of :func:`classify_detail`."""
    return classify_detail(exact_log10, format_log10, fmt, short_range_log10, bound_log10,
                           bound_nonincreasing).verdict
