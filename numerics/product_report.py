"""The ``gradproof product MODEL`` report: one long Jacobian product, its formats and verdicts.

JSON keys (sorted on output, deterministic for fixed options):
  model, hidden, steps, seed, engine, precision_bits, precision_statement, state,
  log10_norm               log10 ||d s_T / d s_0||_2, s = h (RNN, GRU) or (h, c) (LSTM)
  log10_norm_lower/upper   certified engine: outward-rounded enclosure (else null)
  log10_norm_cell_path     LSTM: log10 ||prod_t (A_t + B_t + C_t + D_t)||_2, the article's product of
                           one-step cell terms, with the corrected D_t (tanh'); null otherwise
  log10_norm_article_cell_path  LSTM: the same with the article's D_t as written (sigma')
  log10_bound, bound_factor, bound_statement   RNN: T log10(gamma ||W_rec||_2) (proven); else null
  lyapunov, lyapunov_log10 largest Lyapunov exponent (per step; natural log / log10), QR method
  short_range_log10        log10 of the short-range part s used for "absorbed" (0: the lag-0 term I)
  formats: {float16|bfloat16|float32|float64: {value_log10 (null when 0), first_subnormal_step,
            first_zero_step, first_zero_step_ftz, verdict, verdict_reason}}
  weights, inputs, input_size, activation (RNN), spectral_norm, forget_bias (LSTM), notes.
Numbers that are 0 (log10 = -inf) are null in JSON. The budget is in numerics.models.
"""

from __future__ import annotations

import math

import numpy as np

from gradproof.numerics.errors import InputError
from gradproof.numerics.engines import ENGINES, LOG10_2, _normalise, jacobian_product
from gradproof.numerics.formats import simulate_all_formats
from gradproof.numerics.lyapunov import largest_lyapunov
from gradproof.numerics.models import FORMAT_TABLE_PRODUCTS, MODELS, budgeted_model_jacobians
from gradproof.numerics.verdicts import classify_detail

__all__ = ["product_report", "format_product_text", "SHORT_RANGE_LOG10"]

SHORT_RANGE_LOG10 = 0.0


def _num(x):
    if x is None:
        return None
    x = float(x)
    return x if math.isfinite(x) else None


def _format_value_log10(P: np.ndarray):
    """log10 ||P||_2 of a format's final product, scaled by a power of two (None: P = 0; inf: overflow)."""
    with np.errstate(invalid="ignore", over="ignore"):
        if not np.all(np.isfinite(P)):
            return math.inf
        if not np.any(P):
            return None
        M, e = _normalise(P)
        return math.log10(float(np.linalg.norm(M, 2))) + e * LOG10_2


def product_report(model: str, hidden: int = 4, steps: int = 100, seed: int = 0, activation: str = "tanh",
                   spectral_norm: float | None = None, forget_bias: float | None = None, weights_path=None,
                   inputs_path=None, engine: str = "fast", force: bool = False) -> dict:
    """Evaluate the model's long Jacobian product with ``engine`` and classify it per format."""
    if engine not in ENGINES:
        raise InputError(f"unknown engine {engine!r}; choose fast, reference or certified")
    if model not in MODELS:
        raise InputError(f"unknown model {model!r}; choose rnn, lstm or gru")
    lstm_extra = 0.25 if model == "lstm" else 0.0  # two n x n cell-path products next to the 2n x 2n one
    mj = budgeted_model_jacobians(
        model, [(engine, 1 + lstm_extra), ("fast", FORMAT_TABLE_PRODUCTS)], force=force,
        precheck=weights_path is None and inputs_path is None,  # check before building anything large
        hidden=hidden, steps=steps, seed=seed, activation=activation, spectral_norm=spectral_norm,
        forget_bias=forget_bias, weights_path=weights_path, inputs_path=inputs_path)
    J = mj.jacobians
    T = J.shape[0]

    res = jacobian_product(J, engine)
    exact_log10 = res.log10_norm
    cell = article = None
    if model == "lstm":
        cell = jacobian_product(mj.cell_path, engine).log10_norm
        article = jacobian_product(mj.article_cell_path, engine).log10_norm
    lyap = largest_lyapunov(J)
    bound_nonincreasing = mj.bound_factor is not None and mj.bound_factor < 1.0

    not_certified = res.log10_norm_lower == -math.inf and exact_log10 != -math.inf
    formats = {}
    for name, (g, z) in simulate_all_formats(J).items():
        value = _format_value_log10(g.final_value) if g.first_zero_step is None else None
        cls = classify_detail(exact_log10, value, name, short_range_log10=SHORT_RANGE_LOG10,
                              bound_log10=mj.bound_log10, bound_nonincreasing=bound_nonincreasing)
        reason = cls.reason
        if not_certified:
            reason += " (the certified enclosure contains 0: magnitude not certified)"
        formats[name] = {
            "value_log10": _num(value),
            "first_subnormal_step": g.first_subnormal_step,
            "first_zero_step": g.first_zero_step,
            "first_zero_step_ftz": z.first_zero_step,
            "first_overflow_step": g.first_overflow_step,
            "verdict": cls.verdict.value,
            "verdict_reason": reason,
        }
    rep = {
        "model": model,
        "hidden": mj.hidden,
        "steps": T,
        "seed": seed,
        "engine": engine,
        "precision_bits": int(res.precision_bits),
        "precision_statement": res.precision_statement,
        "state": "(h, c)" if model == "lstm" else "h",
        "log10_norm": _num(exact_log10),
        "log10_norm_lower": _num(res.log10_norm_lower) if engine == "certified" else None,
        "log10_norm_upper": _num(res.log10_norm_upper) if engine == "certified" else None,
        "certified_bits": res.certified_bits,
        "log10_norm_cell_path": _num(cell),
        "log10_norm_article_cell_path": _num(article),
        "log10_bound": _num(mj.bound_log10),
        "bound_factor": mj.bound_factor,
        "bound_statement": mj.bound_statement,
        "lyapunov": _num(lyap),
        "lyapunov_log10": _num(lyap / math.log(10.0)) if math.isfinite(lyap) else None,
        "short_range_log10": SHORT_RANGE_LOG10,
        "formats": formats,
        "weights": mj.weights_source,
        "inputs": mj.inputs_source,
        "input_size": mj.input_size,
        "spectral_norm": spectral_norm,
        "notes": list(mj.notes),
        "format_method": ("format values: the product simulated step by step in the format (Jacobians rounded to "
                          "the format, float64 accumulation, one rounding per entry; see numerics.formats); "
                          "verdicts: numerics.verdicts against the engine's magnitude"),
    }
    if model == "rnn":
        rep["activation"] = activation
    if model == "lstm":
        rep["forget_bias"] = 1.0 if (forget_bias is None and weights_path is None) else forget_bias
    return rep


def _s(v, spec=".6g"):
    return "0 (exactly)" if v is None else format(v, spec)


def format_product_text(rep: dict) -> str:
    """Human-readable summary of a product report."""
    lines = [f"{rep['model']} (hidden {rep['hidden']}, {rep['steps']} steps, seed {rep['seed']}), engine {rep['engine']}",
             f"weights: {rep['weights']}; inputs: {rep['inputs']}",
             f"log10 ||d{rep['state']}_T / d{rep['state']}_0||_2 = {_s(rep['log10_norm'], '.15g')}"]
    if rep["engine"] == "certified":
        lines.append(f"  certified enclosure [{_s(rep['log10_norm_lower'], '.17g')}, {_s(rep['log10_norm_upper'], '.17g')}]")
    lines.append(f"precision: {rep['precision_statement']}")
    if rep["model"] == "lstm":
        lines.append(f"log10 ||prod (A+B+C+D)||_2 (cell path, corrected D) = {_s(rep['log10_norm_cell_path'])}")
        lines.append(f"log10 ||prod (A+B+C+D)||_2 (cell path, article's D)  = {_s(rep['log10_norm_article_cell_path'])}")
    if rep["log10_bound"] is not None:
        lines.append(f"bound: log10 (gamma ||W_rec||)^T = {rep['log10_bound']:.6g} (per-step factor {rep['bound_factor']:.6g})")
    if rep["lyapunov"] is not None:
        lines.append(f"largest Lyapunov exponent: {rep['lyapunov']:.6g} per step (log10: {rep['lyapunov_log10']:.6g})")
    lines.append(f"{'format':<9} {'value_log10':>14} {'subnormal':>10} {'zero':>8} {'zero FTZ':>9}  verdict")
    for name, r in rep["formats"].items():
        lines.append(f"{name:<9} {_s(r['value_log10']):>14} {str(r['first_subnormal_step'] or '-'):>10} "
                     f"{str(r['first_zero_step'] or '-'):>8} {str(r['first_zero_step_ftz'] or '-'):>9}  "
                     f"{r['verdict']}: {r['verdict_reason']}")
    for note in rep.get("notes", []):
        lines.append(f"note: {note}")
    return "\n".join(lines)
