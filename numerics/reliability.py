r"""How far the fast (float64) engine can be trusted, stated by the engine itself.

The fast engine runs the forward pass in float64 and multiplies float64 Jacobians. Its value of
log10 ||P_T||_2 deviates from the truth (numerics.network.TRUTH) for three reasons, each
estimated here from quantities the report computes anyway:

* chaos: a float64 trajectory with largest Lyapunov exponent lambda > 0 carries a relative error
  ~ 2^-53 e^{lambda t} at step t (Benettin et al. 1980), so it has no correct digit left past
  step t* = 53 ln 2 / lambda: beyond it the Jacobians are those of another trajectory;
* transient growth: even with lambda <= 0 a perturbation can grow over a stretch of steps
  (non-normal W); the largest growth of ||P_t|| over any stretch [s, t] of the run is used with
  the chaos term;
* saturation: sigma'(z) ~ e^{-|z|} inherits the absolute error of z as a relative error, so
  large pre-activations cost about |z| units of 2^-53 each (sum over the steps of max |z_t|);
* rounding in the product: about T N units of 2^-53 relative to ||P_T|| (errors grow at the
  product's own rate, so they stay relative); the condition number sigma_1 / sigma_N of P_T is
  reported for information (it does not affect ||P_T||_2's accuracy, only the small singular
  values');
* range: activation derivatives that fall below the float64 range (|z| > ~745 for the sigmoid)
  are kept in scaled form for the RNN, but rows far below the step's largest row, and LSTM/GRU
  entries, can still underflow to 0 in float64 (counted; they are not exact zeros).

Saturated factors (act'(z) < 2^-53, where the framework formula s (1 - s) or 1 - t^2 cancels in
float64) are counted too: the fast engine evaluates them cancellation-free, the formats' framework
simulation does not. The estimate err ~ 2^-53 (T N + sum_t max|z_t| + max(e^{lambda T}, transient growth)) is an estimate, not a
bound; only ``--engine certified`` bounds the error.
"""

from __future__ import annotations

import math

import numpy as np

from gradproof.numerics.activations import np_derivative, np_sigmoid
from gradproof.numerics.cells import derivative_arguments

__all__ = ["fast_reliability", "SATURATION_LOG2"]

SATURATION_LOG2 = -53  # act' below 2^-53: s (1 - s) and 1 - t^2 lose every digit in float64
_RELIABLE_LOG10_ERROR = -10.0  # the fast value is called reliable below this estimated relative error


def _transient_growth_log10(J, exponents2=None) -> float:
    """max over t of log10 ||P_t|| - min over s <= t of log10 ||P_s|| (P_0 = I): how much a
    perturbation of the state can grow over a stretch of the run, read off the product series
    (exact for rank-one-dominated products; an indicator otherwise)."""
    from gradproof.numerics.engines import log10_norm_series

    series = log10_norm_series(J)
    if exponents2 is not None:  # J_t = M_t 2^k_t: add the exact powers of two back
        series = series + np.cumsum(np.asarray(exponents2, dtype=np.float64)) * math.log10(2.0)
    series = np.concatenate([[0.0], series])
    finite = np.isfinite(series)
    if not np.all(finite):  # P_t = 0 from some step on: only the stretch before it
        series = series[:int(np.argmin(finite))]
    running_min = np.minimum.accumulate(series)
    return float(max(0.0, np.max(series - running_min)))


def _log10_condition(M) -> float | None:
    """log10 sigma_1 / sigma_N of the product's scaled mantissa (informational; None if singular)."""
    if M is None or np.ndim(M) != 2:
        return None
    s = np.linalg.svd(np.asarray(M, dtype=np.float64), compute_uv=False)
    return float(math.log10(s[0] / s[-1])) if s[-1] > 0 else None


def fast_reliability(mj, lyapunov: float, engine: str, fast_log10: float | None = None) -> dict:
    """The fast engine's reliability record (keys in the module docstring's order), JSON-ready."""
    from gradproof.numerics.engines import product_fast

    J = mj.jacobians
    T, N, _ = J.shape
    saturated = underflowed = 0
    if isinstance(mj.params, tuple):  # a stack: every layer on the inputs it sees (numerics.stacked)
        from gradproof.numerics.stacked import layer_pass

        args, u = [], mj.inputs
        for p in mj.params:
            args += derivative_arguments(p, u)
            u = layer_pass(p, u).h
    else:
        args = derivative_arguments(mj.params, mj.inputs)
    for name, z in args:
        if name not in ("sigmoid", "tanh"):
            continue
        a = np.abs(z) if name == "sigmoid" else 2.0 * np.abs(z)
        saturated += int(np.count_nonzero(a > -SATURATION_LOG2 * math.log(2.0) + 1.5))
        underflowed += int(np.count_nonzero(np_derivative(name, z) == 0.0))
        if name == "sigmoid":  # a gate value sigma(z) itself below the float64 range (z < ~-745)
            underflowed += int(np.count_nonzero(np_sigmoid(z) == 0.0))
    if mj.exponents2 is not None:  # RNN in scaled form: count the rows that still underflowed
        z = args[0][1]
        truly_positive = z > 0 if mj.params.activation == "relu" else np.ones(z.shape, dtype=bool)
        zero_rows = np.all(mj.scaled_jacobians == 0.0, axis=2) & np.any(mj.params.W_rec != 0.0, axis=1)[None, :]
        underflowed = int(np.count_nonzero(zero_rows & truly_positive))
    if fast_log10 is None:
        res = product_fast(mj.scaled_jacobians, mj.exponents2) if mj.exponents2 is not None else product_fast(J)
        fast_log10 = res.log10_norm
        mantissa = res.mantissa
    else:
        mantissa = None
    lam = lyapunov if (lyapunov is not None and math.isfinite(lyapunov)) else 0.0
    chaos_log10 = max(0.0, lam) * T / math.log(10.0)
    growth_log10 = (_transient_growth_log10(J) if mj.exponents2 is None
                    else _transient_growth_log10(mj.scaled_jacobians, mj.exponents2))
    sat_sum = 0.0  # sum over steps of max |z|: a derivative e^-|z| inherits the absolute error of z
    for name, z in args:
        if name in ("sigmoid", "tanh"):
            sat_sum += float(np.sum(np.max(np.abs(z), axis=1) * (2.0 if name == "tanh" else 1.0)))
    cond_log10 = _log10_condition(mantissa)
    amplification = max(chaos_log10, growth_log10)
    if getattr(mj.params, "activation", None) == "identity":
        amplification = 0.0  # J_t = W_rec whatever the trajectory: its errors do not reach the product
    err_log10 = -53 * math.log10(2.0) + math.log10(T * N + sat_sum + 10.0 ** min(amplification, 300.0))
    no_digit_step = int(math.floor(53 * math.log(2.0) / lam)) if lam > 0 else None
    reliable = err_log10 < _RELIABLE_LOG10_ERROR and underflowed == 0
    reasons = []
    if growth_log10 > 8 and growth_log10 >= chaos_log10:
        reasons.append(f"perturbations of the trajectory grow by up to 10^{growth_log10:.3g} over the run "
                       "(transient growth of the Jacobian products)")
    if lam > 0 and chaos_log10 > 0:
        reasons.append(f"positive Lyapunov exponent {lam:.4g}/step: the float64 trajectory loses about "
                       f"{lam * T / math.log(2.0):.0f} bits by step {T} and has no correct digit past step "
                       f"{no_digit_step}")
    if underflowed:
        reasons.append(f"{underflowed} derivative factors or rows underflowed float64 (not exact zeros)")
    if reliable:
        statement = (f"fast engine: estimated relative error 10^{err_log10:.3g} of ||P_T||_2 (an estimate: "
                     "2^-53 (T N + sum_t max|z_t| + max(e^(lambda T), transient growth)))"
                     + (f"; {saturated} saturated derivative factors evaluated cancellation-free" if saturated else ""))
    else:
        statement = ("the float64 trajectory/product is not the exact one (" + "; ".join(reasons)
                     + f"; estimated relative error 10^{err_log10:.3g}): the fast value is unreliable, use "
                     "--engine certified" + (" (this report already does)" if engine == "certified" else ""))
    return {
        "fast_reliable": bool(reliable),
        "estimated_log10_relative_error": err_log10,
        "lyapunov": lam if math.isfinite(lam) else None,
        "chaos_bits_lost": max(0.0, lam) * T / math.log(2.0),
        "no_correct_digit_after_step": no_digit_step,
        "product_condition_log10": cond_log10,
        "transient_growth_log10": growth_log10,
        "saturated_derivatives": saturated,
        "underflowed_derivatives": underflowed,
        "statement": statement,
    }
