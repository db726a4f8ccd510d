r"""The verdict for (model, weights, horizon, format): underflow is not vanishing.

Notation: P = ||J_T ... J_1||_2 the exact magnitude (from the reference or certified engine),
P_fmt the magnitude the format produces (step-by-step simulation, see numerics.formats), s the
size of the short-range part of the gradient sum (default 1: the lag-0 term dh_T/dh_T = I), and
tau(s) = ulp(s) / 2 = 2^(floor(log2 s) - p) half an ulp of s in a format with p significand
bits. A term smaller than tau(s) added to s is lost (round to nearest), see Higham (2002), 2.1.

The decision order is: vanishing (needs a proof), overflow, then the exact-zero and undecided
cases, then cancellation and underflow, then absorbed, else representable. "exact product is 0"
needs a proof (an exact zero ball or rational, ``proven_zero``); a magnitude that is not
established (an engine's 0 that is not proven, a certified enclosure that contains 0) gives
"undecided", never underflow or vanishing.

Four ways a format loses a long-range gradient, told apart:
* cancellation: the framework's derivative formula (s (1 - s), 1 - t^2 in the training dtype)
  rounded a positive derivative to 0 (or garbage); the same product with the derivative computed
  cancellation-free in the same format would not be 0. An artefact of the formula.
* underflow: the product itself falls below the format's smallest subnormal (or keeps no correct
  digit) while the exact magnitude is > 0 (certified lower bound > 0 with the certified engine).
* absorbed: the product is representable but below half an ulp of the short-range part.
* vanishing: a proven bound shows the term is below that threshold at this and every longer
  horizon: a property of the network, not of the format. A product that merely underflows is never called vanishing: that needs an upper
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

    CANCELLATION = "cancellation"
    """P > 0 but P_fmt = 0 (or no correct digit) because the framework's derivative formula
    (s (1 - s), 1 - t^2 in the training format) cancelled; computed cancellation-free in the same
    format the product would not be lost. An artefact of the formula, not of the range."""

    UNDECIDED = "undecided"
    """The exact magnitude is not established (the engine's 0 is not proven, or the certified
    enclosure contains 0), so no verdict about the format can be given; use --engine certified
    (with more precision)."""


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
                    bound_log10: float | None = None, bound_nonincreasing: bool = False,
                    proven_zero: bool = True, established: bool = True,
                    cancellation: bool = False) -> Classification:
    """Classify one (product, format) pair; arguments are log10 magnitudes (None/-inf for 0).

    ``bound_log10`` is a proven upper bound of log10 ||P_T||_2; ``bound_nonincreasing`` says
    the bound also holds, and does not grow, for every longer horizon. ``proven_zero``: an exact
    magnitude of -inf is a proof of P_T = 0 (else "undecided"); ``established``: a finite exact
    magnitude is established (certified lower bound > 0, or a non-certifying engine whose caller
    accepts its value; False gives "undecided" where the verdict would depend on it);
    ``cancellation``: the format's zero (or garbage) disappears when the derivative is computed
    cancellation-free in the same format.
    """
    tau = absorption_threshold_log10(fmt, short_range_log10)
    fmt_zero = format_log10 is None or format_log10 == -math.inf
    if bound_log10 is not None and bound_nonincreasing and bound_log10 < tau:
        return Classification(FormatVerdict.VANISHING,
                              f"proven bound 10^{bound_log10:.4g} < half-ulp threshold 10^{tau:.4g} "
                              "for this and every longer horizon", tau, None)
    if format_log10 == math.inf:
        return Classification(FormatVerdict.OVERFLOW, "the format overflows to infinity", tau, math.inf)
    if exact_log10 is None or (isinstance(exact_log10, float) and math.isnan(exact_log10)):
        return Classification(FormatVerdict.UNDECIDED, "the exact magnitude is not established", tau, None)
    if exact_log10 == -math.inf:
        if not proven_zero:
            return Classification(FormatVerdict.UNDECIDED, "the engine gives 0 but that is not proven "
                                  "(use --engine certified)", tau, None)
        if fmt_zero:
            return Classification(FormatVerdict.REPRESENTABLE, "exact product is 0 (proven) and the format gives 0",
                                  tau, 0.0)
        return Classification(FormatVerdict.UNDERFLOW, "exact product is 0 (proven) but the format is not", tau,
                              math.inf)
    if not established:
        return Classification(FormatVerdict.UNDECIDED, "the exact magnitude is not established (no certified "
                              "lower bound > 0, or an unreliable fast value): no verdict about the format", tau, None)
    if fmt_zero:
        if cancellation:
            return Classification(FormatVerdict.CANCELLATION,
                                  f"exact magnitude 10^{exact_log10:.6g} > 0 but the framework's derivative formula "
                                  "cancelled to 0 in the format (cancellation-free it is not lost)", tau, 1.0)
        return Classification(FormatVerdict.UNDERFLOW,
                              f"exact magnitude 10^{exact_log10:.6g} > 0 but the format gives 0", tau, 1.0)
    d = format_log10 - exact_log10
    rel = abs(10.0 ** d - 1.0) if abs(d) < 300 else math.inf
    if rel > NO_DIGIT_RELATIVE_ERROR:
        if cancellation:
            return Classification(FormatVerdict.CANCELLATION,
                                  f"format magnitude 10^{format_log10:.6g} keeps no correct digit of "
                                  f"10^{exact_log10:.6g}: the framework's derivative formula cancelled", tau, rel)
        return Classification(FormatVerdict.UNDERFLOW,
                              f"format magnitude 10^{format_log10:.6g} keeps no correct digit of 10^{exact_log10:.6g}",
                              tau, rel)
    if exact_log10 < tau:
        return Classification(FormatVerdict.ABSORBED,
                              f"representable but below half an ulp (10^{tau:.4g}) of the short-range part", tau, rel)
    return Classification(FormatVerdict.REPRESENTABLE, f"format agrees (relative error {rel:.3g})", tau, rel)


def classify(exact_log10: float, format_log10: float | None, fmt, short_range_log10: float = 0.0,
             bound_log10: float | None = None, bound_nonincreasing: bool = False, **status) -> FormatVerdict:
    """The :class:`FormatVerdict` of :func:`classify_detail` (``status``: proven_zero, established,
    cancellation)."""
    return classify_detail(exact_log10, format_log10, fmt, short_range_log10, bound_log10,
                           bound_nonincreasing, **status).verdict
