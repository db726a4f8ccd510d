r"""Horizons: the step at which a product first goes subnormal and first becomes 0, per format.

Constant factor rho (``horizon --factor RHO``). Which number is "the factor": the given Python
float (the CLI parses RHO with ``float()``, so the float64 nearest to the decimal text, e.g. 0.1 is
0.1000000000000000055511151231257827021181583404541015625, reported as ``factor_exact_decimal``),
rounded once to each format: rho_f = fl(rho) (``factor_in_format``), the number a program in that
format multiplies by. For float64 rho_f is the given float itself. The rounding decimal -> float64
-> format is a double rounding; it differs from rounding the decimal directly only when the
float64 value is exactly a midpoint of the format, and the tests check for 0.1, 0.3, 0.7, 0.9 in
every format that it does not. Both step counts below belong to rho_f (not to the decimal):

* simulated (``first_subnormal_step``, ``first_zero_step``, ``first_zero_step_ftz``): the format's
  own arithmetic, p_0 = 1, p_t = fl(p_{t-1} * rho_f) with rho_f = fl(rho), step by step
  (numerics.formats; a deterministic, exact emulation of IEEE round-to-nearest-even). Stops at 0,
  at a fixed point p_t = p_{t-1} (then the product never reaches 0: reported as null with
  ``stagnates_at_step``), or after ``SIMULATION_CAP`` steps (null, said so).
* exact (``exact_first_subnormal_step``, ``exact_first_zero_step``): the first t for which the
  exact real number rho_f^t, rounded once to the format, is subnormal resp. 0, i.e.
      rho_f^t < min_normal - min_subnormal / 2    resp.    rho_f^t <= min_subnormal / 2
  (midpoints; ties go to the even neighbour: min_normal resp. 0). Found by mpmath logarithms at
  50+ digits and confirmed with exact rational (integer) arithmetic at t and t - 1.
  When rho_f is a power of two the per-step roundings are exact and the two agree; the tests
  check this against powers of two derived by hand.

Model (``horizon MODEL``): the Jacobians over ``steps`` steps, with the activation derivatives
computed as a framework does in each format (s (1 - s), 1 - t^2 in the training dtype, see
numerics.activations.framework_derivative); per format the matrix product is simulated in the format (gradual and FTZ) for those steps, and the measured decay rate (largest
Lyapunov exponent, QR method) extrapolates the steps beyond them: estimated step
= ceil(ln(threshold) / lambda_1) for lambda_1 < 0 (an estimate, labelled so). Its uncertainty: the
rates over 4 consecutive windows of the sequence (``lyapunov_windows``) give
``estimated_first_zero_step_range`` = [ln(threshold) / fastest, ln(threshold) / slowest]; the tests
validate the range on the same models run over sequences 4 times longer than the estimate's.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

import mpmath

from gradproof.numerics.errors import InputError
from gradproof.numerics.formats import FORMATS, get_format, round_scalar, simulate_all_formats, simulate_constant
from gradproof.numerics.stacked import size_phrase

__all__ = ["HorizonSteps", "horizon_steps", "first_step_below", "horizon_report", "format_horizon_text",
           "FactorFormatHorizon", "ModelFormatHorizon", "HorizonReport", "SIMULATION_CAP"]

SIMULATION_CAP = 2_000_000
_EXACT_INT_BITS = 4_000_000  # confirm with integers when rho^t has at most this many bits


@dataclass(frozen=True)
class HorizonSteps:
    format: str
    ftz: bool
    factor_in_format: float
    first_subnormal_step: int | None
    first_zero_step: int | None
    exact_first_subnormal_step: int | None
    exact_first_zero_step: int | None
    stagnates_at_step: int | None
    simulation_capped: bool


def _below(rho: Fraction, t: int, thr: Fraction, strict: bool) -> bool:
    """Exact test rho^t < thr (strict) or rho^t <= thr, by integer arithmetic."""
    lhs = rho.numerator ** t * thr.denominator
    rhs = thr.numerator * rho.denominator ** t
    return lhs < rhs if strict else lhs <= rhs


def first_step_below(rho: Fraction, thr: Fraction, strict: bool = True) -> int:
    """Smallest t >= 1 with rho^t < thr (or <= thr), for 0 < rho < 1 and 0 < thr (exact)."""
    if not (0 < rho < 1) or thr <= 0:
        raise InputError("first_step_below needs 0 < rho < 1 and thr > 0")
    if (rho < thr) if strict else (rho <= thr):
        return 1
    dps = 50
    while True:
        with mpmath.workdps(dps):
            L = mpmath.log(mpmath.mpf(thr.numerator) / thr.denominator) / mpmath.log(
                mpmath.mpf(rho.numerator) / rho.denominator)  # rho^t < thr  <=>  t > L
            fl = int(mpmath.floor(L))
            gap = min(L - fl, fl + 1 - L)
        t = fl + 1
        bits = t * max(rho.numerator.bit_length(), rho.denominator.bit_length())
        if bits <= _EXACT_INT_BITS:
            # exact confirmation and correction (also handles rho^t == thr exactly)
            while t > 1 and _below(rho, t - 1, thr, strict):
                t -= 1
            while not _below(rho, t, thr, strict):
                t += 1
            return t
        if gap > mpmath.mpf(10) ** (-(dps - 10 - len(str(t)))):
            # rho^t == thr needs L to be an integer; L is more than the error bound away from one
            return t
        dps *= 2
        if dps > 2000:  # pragma: no cover - would need L within 1e-1990 of an integer
            raise InputError("could not decide the horizon exactly")


def horizon_steps(factor: float, fmt, ftz: bool = False, cap: int = SIMULATION_CAP) -> HorizonSteps:
    """Exact first subnormal / zero steps of a constant factor's product in the format.

    The factor is the given float's exact binary value rounded once to the format (rho_f, see the
    module docstring); simulated steps use the format's arithmetic, exact steps rho_f^t rounded once.
    """
    f = get_format(fmt)
    if not (isinstance(factor, (int, float)) and math.isfinite(factor) and 0.0 < factor < 1.0):
        raise InputError(f"the per-step factor must satisfy 0 < RHO < 1, got {factor!r}")
    rho_f = round_scalar(float(factor), f, ftz)
    sim = simulate_constant(float(factor), f, ftz=ftz, max_steps=cap)
    capped = sim.first_zero_step is None and sim.stagnation_step is None
    ex_sub = ex_zero = None
    if 0.0 < rho_f < 1.0:
        rho = Fraction(rho_f)
        min_sub = Fraction(f.min_subnormal)
        sub_thr = Fraction(f.min_normal) - min_sub / 2
        ex_sub = first_step_below(rho, sub_thr, strict=True)
        ex_zero = ex_sub if ftz else first_step_below(rho, min_sub / 2, strict=False)
    elif rho_f == 0.0:
        ex_sub = None
        ex_zero = 1
    return HorizonSteps(format=f.name, ftz=ftz, factor_in_format=rho_f,
                        first_subnormal_step=None if ftz else sim.first_subnormal_step,
                        first_zero_step=sim.first_zero_step,
                        exact_first_subnormal_step=None if ftz else ex_sub,
                        exact_first_zero_step=ex_zero,
                        stagnates_at_step=sim.stagnation_step, simulation_capped=capped)


@dataclass(frozen=True)
class FactorFormatHorizon:
    """One format's row of ``horizon --factor RHO`` (module docstring: simulated and exact steps)."""

    factor_in_format: float
    first_subnormal_step: int | None
    first_zero_step: int | None
    first_zero_step_ftz: int | None
    exact_first_subnormal_step: int | None
    exact_first_zero_step: int | None
    exact_first_zero_step_ftz: int | None
    stagnates_at_step: int | None
    simulation_capped: bool

    def to_dict(self) -> dict:
        return _row_dict(self)


def _plain(v):
    """A JSON value: tuples as lists."""
    return list(v) if isinstance(v, tuple) else v


def _row_dict(row) -> dict:
    return {k: _plain(v) for k, v in row.__dict__.items()}


@dataclass(frozen=True)
class ModelFormatHorizon:
    """One format's row of ``horizon MODEL``: simulated steps within the sequence, and the
    extrapolated estimates from the largest Lyapunov exponent with their window range."""

    first_subnormal_step: int | None
    first_zero_step: int | None
    first_zero_step_ftz: int | None
    estimated_first_subnormal_step: int | None
    estimated_first_zero_step: int | None
    estimated_first_zero_step_range: tuple  # (low, high), each int or None

    def to_dict(self) -> dict:
        return _row_dict(self)


@dataclass(frozen=True)
class HorizonReport:
    """The ``gradproof horizon`` report; ``to_dict()`` is the ``--json`` object.

    ``mode`` is ``"factor"`` (fields ``factor``, ``factor_exact_decimal``; rows
    :class:`FactorFormatHorizon`) or ``"model"`` (the model fields; rows :class:`ModelFormatHorizon`).
    ``formats`` is a tuple of (format name, row) pairs in the order of ``numerics.formats.FORMATS``;
    :meth:`format` looks one up. Fields that do not belong to the mode are None and are left out
    of ``to_dict()``."""

    mode: str
    formats: tuple
    method: str
    factor: float | None = None
    factor_exact_decimal: str | None = None
    model: str | None = None
    hidden: int | None = None
    steps: int | None = None
    seed: int | None = None
    weights: str | None = None
    inputs: str | None = None
    lyapunov: float | None = None
    decay_rate_log10_per_step: float | None = None
    lyapunov_windows: tuple | None = None
    log10_norm_final: float | None = None
    activation: str | None = None  # RNN only
    layers: dict | None = None  # weights from a file with several layers
    notes: tuple | None = None

    _FACTOR_KEYS = ("factor", "factor_exact_decimal")
    _MODEL_KEYS = ("model", "hidden", "steps", "seed", "weights", "inputs", "lyapunov",
                   "decay_rate_log10_per_step", "lyapunov_windows", "log10_norm_final")

    def format(self, name: str):
        """The row of format ``name`` (KeyError if absent)."""
        for key, row in self.formats:
            if key == name:
                return row
        raise KeyError(name)

    def to_dict(self) -> dict:
        d = {"mode": self.mode, "method": self.method,
             "formats": {name: row.to_dict() for name, row in self.formats}}
        mode_keys = self._FACTOR_KEYS if self.mode == "factor" else self._MODEL_KEYS
        for key in mode_keys + ("activation", "layers", "notes"):
            v = getattr(self, key)
            if key in mode_keys or v is not None:  # the mode's own fields always, the optional ones when set
                d[key] = _plain(v)
        return d


def _factor_report(factor: float) -> HorizonReport:
    formats = {}
    for name in FORMATS:
        g = horizon_steps(factor, name, ftz=False)
        z = horizon_steps(factor, name, ftz=True)
        formats[name] = FactorFormatHorizon(
            factor_in_format=g.factor_in_format,
            first_subnormal_step=g.first_subnormal_step,
            first_zero_step=g.first_zero_step,
            first_zero_step_ftz=z.first_zero_step,
            exact_first_subnormal_step=g.exact_first_subnormal_step,
            exact_first_zero_step=g.exact_first_zero_step,
            exact_first_zero_step_ftz=z.exact_first_zero_step,
            stagnates_at_step=g.stagnates_at_step,
            simulation_capped=g.simulation_capped or z.simulation_capped,
        )
    return HorizonReport(
        mode="factor",
        factor=float(factor),
        factor_exact_decimal=str(Decimal(float(factor))),
        formats=tuple(formats.items()),
        method=("simulated: step-by-step IEEE round-to-nearest-even in the format (p_0 = 1, factor rounded to "
                "the format); exact: first t with the exact rho_f^t rounding to a subnormal / to 0, by mpmath "
                f"logarithms confirmed with integer arithmetic; simulation cap {SIMULATION_CAP} steps"),
    )


def _estimate(rate: float, ln_threshold: float) -> int | None:
    """ceil(ln(threshold) / rate) for a decaying rate (threshold given by its natural log)."""
    if not (rate < 0.0) or not math.isfinite(rate):
        return None
    return int(math.ceil(ln_threshold / rate))


WINDOWS = 4


def window_rates(jacobians, windows: int = WINDOWS, seed: int = 0) -> list:
    """The decay rate over each of ``windows`` consecutive windows of the sequence: the mean of
    ln ||J_t v_{t-1}|| over the window for the power-iteration vector v (the QR method with one
    column, numerics.lyapunov, run over the whole sequence so that v is aligned)."""
    import numpy as np

    J = np.asarray(jacobians, dtype=np.float64)
    T, n, _ = J.shape
    v = np.random.default_rng(seed).standard_normal(n)
    v /= np.linalg.norm(v)
    logs = np.full(T, -math.inf)
    for t in range(T):
        v = J[t] @ v
        nv = float(np.linalg.norm(v))
        if nv == 0.0:
            break
        logs[t] = math.log(nv)
        v = v / nv
    w = max(1, min(int(windows), T))
    edges = [round(i * T / w) for i in range(w + 1)]
    return [float(np.mean(logs[a:b])) for a, b in zip(edges[:-1], edges[1:]) if b > a]


def _estimate_range(rates, ln_threshold: float):
    """[lo, hi] steps from the fastest and the slowest window rate (hi None: a window did not decay,
    so the extrapolation cannot promise that the product ever vanishes)."""
    finite = [r for r in rates if math.isfinite(r)]
    if not finite:
        return [None, None]
    fastest, slowest = min(finite), max(finite)
    lo = _estimate(fastest, ln_threshold)
    hi = _estimate(slowest, ln_threshold)
    return [lo, hi]


def _model_report(model, hidden, steps, seed, activation, spectral_norm, forget_bias, weights_path,
                  inputs_path, force, module=None, layer=None, batch_index=None) -> HorizonReport:
    from gradproof.numerics.engines import log10_norm_series
    from gradproof.numerics.lyapunov import largest_lyapunov
    from gradproof.numerics.models import FORMAT_TABLE_PRODUCTS, budgeted_model_jacobians

    mj = budgeted_model_jacobians(
        model, [("fast", FORMAT_TABLE_PRODUCTS)], force=force, precheck=weights_path is None, hidden=hidden,
        steps=steps, seed=seed, activation=activation, spectral_norm=spectral_norm, forget_bias=forget_bias,
        weights_path=weights_path, inputs_path=inputs_path, module=module, layer=layer, batch_index=batch_index)
    rate = largest_lyapunov(mj.jacobians)
    rates = window_rates(mj.jacobians)
    series = log10_norm_series(mj.jacobians)
    formats = {}
    for name, (g, z) in simulate_all_formats(mj.framework_jacobians).items():
        f = FORMATS[name]
        formats[name] = ModelFormatHorizon(
            first_subnormal_step=g.first_subnormal_step,
            first_zero_step=g.first_zero_step,
            first_zero_step_ftz=z.first_zero_step,
            estimated_first_subnormal_step=_estimate(rate, math.log(f.min_normal)),
            estimated_first_zero_step=_estimate(rate, math.log(f.min_subnormal) - math.log(2.0)),
            estimated_first_zero_step_range=tuple(_estimate_range(rates, math.log(f.min_subnormal) - math.log(2.0))),
        )
    return HorizonReport(
        mode="model",
        model=model,
        hidden=mj.hidden,
        steps=mj.steps,
        seed=seed,
        weights=mj.weights_source,
        inputs=mj.inputs_source,
        lyapunov=rate,
        decay_rate_log10_per_step=rate / math.log(10.0) if math.isfinite(rate) else rate,
        lyapunov_windows=tuple(rates),
        log10_norm_final=float(series[-1]),
        formats=tuple(formats.items()),
        method=("simulated: the matrix product in each format for the given steps (activation derivatives as the "
                "framework computes them in the format, s(1-s) and 1-t^2; Jacobians rounded to the format, "
                "float64 accumulation, one rounding per entry; null if not reached within the steps); "
                "estimated: ceil(ln(threshold) / lambda_1) from the largest Lyapunov exponent (QR method); its "
                f"uncertainty: the range from the fastest and the slowest of the rates over {WINDOWS} consecutive "
                "windows of the sequence (lyapunov_windows; upper end null when a window does not decay); "
                "an extrapolation, checked in the tests on sequences 4x longer than the estimate's"),
        activation=activation if model == "rnn" else None,
        layers=mj.layers,
        notes=tuple(mj.notes) if mj.notes else None,
    )


def horizon_report(factor=None, model=None, hidden=4, steps=200, seed=0, activation="tanh", spectral_norm=None,
                   forget_bias=None, weights_path=None, inputs_path=None, force=False, module=None, layer=None,
                   batch_index=None) -> HorizonReport:
    """The ``gradproof horizon`` report (a frozen :class:`HorizonReport`): constant factor (exact)
    or a model (simulated + estimated)."""
    if (factor is None) == (model is None):
        raise InputError("horizon needs exactly one of --factor RHO or a MODEL")
    if factor is not None:
        if not (math.isfinite(factor) and 0.0 < factor < 1.0):
            raise InputError(f"the per-step factor must satisfy 0 < RHO < 1, got {factor!r}")
        return _factor_report(float(factor))
    return _model_report(model, hidden, steps, seed, activation, spectral_norm, forget_bias, weights_path,
                         inputs_path, force, module=module, layer=layer, batch_index=batch_index)


def _fmt(v):
    return "never" if v is None else str(v)


def format_horizon_text(report: HorizonReport) -> str:
    """Plain-text table of a horizon report."""
    rep = report.to_dict()
    lines = []
    if rep["mode"] == "factor":
        lines.append(f"horizon for a constant per-step factor rho = {rep['factor']!r}")
        lines.append(f"{'format':<9} {'rho in fmt':>14} {'subnormal':>10} {'zero':>10} {'zero FTZ':>10}"
                     f" {'exact sub':>10} {'exact zero':>10}")
        for name, r in rep["formats"].items():
            lines.append(f"{name:<9} {r['factor_in_format']:>14.8g} {_fmt(r['first_subnormal_step']):>10} "
                         f"{_fmt(r['first_zero_step']):>10} {_fmt(r['first_zero_step_ftz']):>10} "
                         f"{_fmt(r['exact_first_subnormal_step']):>10} {_fmt(r['exact_first_zero_step']):>10}")
            if r["stagnates_at_step"] is not None:
                lines.append(f"          ({name}: the rounded product stops changing at step {r['stagnates_at_step']})")
            if r["simulation_capped"]:
                lines.append(f"          ({name}: simulation stopped at the cap of {SIMULATION_CAP} steps)")
    else:
        size = size_phrase(rep["hidden"], rep.get("layers"))
        lines.append(f"horizon for {rep['model']} ({size}, {rep['steps']} steps, seed {rep['seed']})")
        lines.append(f"largest Lyapunov exponent {rep['lyapunov']:.6g} per step "
                     f"(log10 rate {rep['decay_rate_log10_per_step']:.6g}); log10 ||P_T|| = {rep['log10_norm_final']:.6g}")
        lines.append(f"{'format':<9} {'subnormal':>10} {'zero':>10} {'zero FTZ':>10} {'est. sub':>10} {'est. zero':>10}"
                     f" {'est. zero range':>16}")
        for name, r in rep["formats"].items():
            lo, hi = r.get("estimated_first_zero_step_range", [None, None])
            rng = "-" if lo is None else f"{lo}..{'?' if hi is None else hi}"
            lines.append(f"{name:<9} {_fmt(r['first_subnormal_step']):>10} {_fmt(r['first_zero_step']):>10} "
                         f"{_fmt(r['first_zero_step_ftz']):>10} {_fmt(r['estimated_first_subnormal_step']):>10} "
                         f"{_fmt(r['estimated_first_zero_step']):>10} {rng:>16}")
        if rep.get("lyapunov_windows"):
            lines.append("decay rate per window (ln per step): " + ", ".join(f"{v:.4g}" for v in rep["lyapunov_windows"]))
        lines.append("('never' = not reached within the simulated steps, or no decay for the estimate)")
    lines.append("method: " + rep["method"])
    return "\n".join(lines)
