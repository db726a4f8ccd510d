"""The ``gradproof product MODEL`` report: one long Jacobian product, its formats and verdicts.

:func:`product_report` returns a frozen :class:`ProductReport`; ``to_dict()`` is the ``--json``
object. JSON keys (sorted on output, deterministic for fixed options):
  model, hidden, steps, seed, engine, precision_bits, precision_statement, state,
  truth                    the definition of the number reported (numerics.network.TRUTH)
  precision                {bits, statement, attempts[, tier]}: the working precision the engine used
                           (tier: float, qr, ddnorm, dd or arb, with --bits on the certified engine)
  log10_norm               log10 ||d s_T / d s_0||_2, s = h (RNN, GRU) or (h, c) (LSTM); null when 0
                           or not certified
  proven_zero              true only when the certified engine proves P_T = 0 (every entry an exact zero ball)
  log10_norm_lower/upper   certified engine: outward-rounded enclosure of the truth (else null)
  certified_bits           certified engine: relative accuracy certified, in bits
  log10_norm_cell_path     LSTM: log10 ||prod_t (A_t + B_t + C_t + D_t)||_2, the article's product of
                           one-step cell terms, with the corrected D_t (tanh'); null otherwise
  log10_norm_article_cell_path  LSTM: the same with the article's D_t as written (sigma')
  log10_bound, bound_factor, bound_statement   RNN: T log10(gamma ||W_rec||_2) (proven); else null
  lyapunov, lyapunov_log10 largest Lyapunov exponent (per step; natural log / log10), QR method
  reliability              the fast engine's own reliability (numerics.reliability)
  engine_check             --check-engines: fast against certified (else null)
  short_range_log10        log10 of the short-range part s used for "absorbed" (0: the lag-0 term I)
  formats: {float16|bfloat16|float32|float64: {value_log10 (null when 0), first_subnormal_step,
            first_zero_step, first_zero_step_ftz, first_overflow_step, verdict, verdict_reason,
            cancelled_derivatives}}
  weights, inputs, input_size, activation (RNN), spectral_norm, forget_bias (LSTM), notes.
  layers                   weights from a file: {count, analysed (the layer indices in the state), hidden
                           (per layer), module (the key prefix), state (in words)}; null otherwise. For a
                           whole stack ``hidden`` is the sum of the layers' hidden sizes
Numbers that are 0 (log10 = -inf) are null in JSON. The budget is in numerics.models.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from gradproof.numerics.engines import ENGINES, LOG10_2, _normalise, jacobian_product, product_fast
from gradproof.numerics.errors import InputError
from gradproof.numerics.formats import FORMATS, simulate_matrix_product
from gradproof.numerics.lyapunov import largest_lyapunov
from gradproof.numerics.models import MODELS, budgeted_model_jacobians, engine_budgets
from gradproof.numerics.network import PRINTED_DIGITS, TRUTH, network_certified, network_reference
from gradproof.numerics.reliability import fast_reliability
from gradproof.numerics.stacked import is_whole_stack, size_phrase
from gradproof.numerics.verdicts import classify_detail

__all__ = ["ProductReport", "FormatRow", "product_report", "format_product_text", "SHORT_RANGE_LOG10"]

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


@dataclass(frozen=True)
class FormatRow:
    """One format's line of the table (keys of ``formats[name]`` in the JSON)."""

    value_log10: float | None
    first_subnormal_step: int | None
    first_zero_step: int | None
    first_zero_step_ftz: int | None
    first_overflow_step: int | None
    verdict: str
    verdict_reason: str
    cancelled_derivatives: int

    def to_dict(self) -> dict:
        return dict(self.__dict__)


@dataclass(frozen=True)
class ProductReport:
    """The ``gradproof product`` report; ``to_dict()`` is the ``--json`` object (module docstring)."""

    model: str
    hidden: int
    steps: int
    seed: int
    engine: str
    truth: str
    precision_bits: int
    precision_statement: str
    precision: dict
    state: str
    log10_norm: float | None
    proven_zero: bool
    log10_norm_lower: float | None
    log10_norm_upper: float | None
    certified_bits: float | None
    log10_norm_cell_path: float | None
    log10_norm_article_cell_path: float | None
    log10_bound: float | None
    bound_factor: float | None
    bound_statement: str | None
    lyapunov: float | None
    lyapunov_log10: float | None
    reliability: dict
    engine_check: dict | None
    short_range_log10: float
    formats: dict  # name -> FormatRow
    weights: str
    inputs: str
    input_size: int
    spectral_norm: float | None
    notes: tuple
    format_method: str
    activation: str | None = None  # RNN only (omitted from the JSON otherwise)
    forget_bias: float | None = None  # LSTM only
    layers: dict | None = None  # weights from a file: {count, analysed, hidden, module, state}

    def to_dict(self) -> dict:
        d = dict(self.__dict__)
        d["formats"] = {k: r.to_dict() for k, r in self.formats.items()}
        d["notes"] = list(self.notes)
        if self.model != "rnn":
            d.pop("activation")
        if self.model != "lstm":
            d.pop("forget_bias")
        return d

    def __getitem__(self, key):  # dict-style access for callers of the former dict report
        return self.to_dict()[key]


def _cancellation(mj, Jfw, fmt: str, sim_value, exact_log10) -> tuple[bool, int]:
    """(the format's loss is caused by the derivative formula, number of cancelled derivatives).

    A derivative is cancelled when the framework's formula gives 0 in the format while the
    cancellation-free value rounded to the format is not 0. The loss is attributed to the formula
    when the product simulated with the cancellation-free derivatives (rounded to the same format,
    same arithmetic) keeps a correct leading digit where the framework's product does not."""
    from gradproof.numerics.formats import round_to_format

    Jcf = round_to_format(mj.jacobians, fmt)
    cancelled = int(np.count_nonzero((Jfw == 0.0) & (Jcf != 0.0)))
    if cancelled == 0 or exact_log10 is None or not math.isfinite(exact_log10):
        return False, cancelled
    lost = sim_value is None or abs(sim_value - exact_log10) > math.log10(1.5)
    if not lost:
        return False, cancelled
    alt = simulate_matrix_product(mj.jacobians, fmt)
    alt_value = _format_value_log10(alt.final_value) if alt.first_zero_step is None else None
    kept = alt_value is not None and math.isfinite(alt_value) and abs(alt_value - exact_log10) <= math.log10(1.5)
    return kept, cancelled


def _truth(mj, engine, lyap, target_bits=53, bits=None):
    """The engine's result in one record: (log10, lower, upper, bits, proven_zero, established,
    precision dict, statement, cell, article)."""
    if engine == "fast":
        if mj.exponents2 is not None:
            res = product_fast(mj.scaled_jacobians, exponents2=mj.exponents2)
        else:
            res = product_fast(mj.jacobians)
        cell = article = None
        if mj.model == "lstm" and mj.cell_path is not None:
            cell = jacobian_product(mj.cell_path, "fast").log10_norm
            article = jacobian_product(mj.article_cell_path, "fast").log10_norm
        return dict(log10=res.log10_norm, lower=None, upper=None, bits=None, proven_zero=False, established=True,
                    precision={"bits": 53, "statement": res.precision_statement, "attempts": [53]},
                    statement=res.precision_statement, cell=cell, article=article)
    s0 = None
    params, inputs = mj.truth_network()  # --layer K: layers 0..K-1 in the engine's arithmetic too
    lyap = mj.truth_lyapunov(lyap)
    if engine == "reference":
        r = network_reference(params, inputs, s0, lyapunov=lyap, cell_paths=True)
        return dict(log10=r.log10_norm, lower=None, upper=None, bits=None, proven_zero=False,
                    established=True, precision={"bits": r.precision_bits, "statement": r.precision_statement,
                                                 "attempts": list(r.attempts)},
                    statement=r.precision_statement, cell=r.paths.get("cell_path"),
                    article=r.paths.get("article_cell_path"))
    tier = None
    if bits is not None:  # --bits: the tiered engine (numerics.network_tiers), Arb only when needed
        from gradproof.numerics.network_tiers import network_certified_tiered, tier_of

        r = network_certified_tiered(params, inputs, s0, bits=bits, lyapunov=lyap,
                                     wrapping_bits=mj.truth_wrapping_bits(), cell_paths=True)
        tier = tier_of(r)
    else:
        r = network_certified(params, inputs, s0, target_bits=target_bits, lyapunov=lyap,
                              wrapping_bits=mj.truth_wrapping_bits(), cell_paths=True)
    cp = r.paths.get("cell_path")
    ap = r.paths.get("article_cell_path")
    return dict(log10=r.log10_norm, lower=r.log10_norm_lower, upper=r.log10_norm_upper, bits=r.certified_bits,
                proven_zero=r.proven_zero,
                established=r.proven_zero or (r.log10_norm_lower is not None and math.isfinite(r.log10_norm_lower)),
                precision={"bits": r.precision_bits, "statement": r.precision_statement,
                           "attempts": [list(a) for a in r.attempts], **({"tier": tier} if tier else {})},
                statement=r.precision_statement, cell=None if cp is None else cp["log10_norm"],
                article=None if ap is None else ap["log10_norm"])


def _engine_check(mj, fast_log10, lyap) -> dict:
    """fast against certified: the difference in decades and whether fast lies in the enclosure."""
    t = _truth(mj, "certified", lyap)
    lo, hi = t["lower"], t["upper"]
    inside = (lo is not None and hi is not None and math.isfinite(fast_log10) and lo <= fast_log10 <= hi)
    diff = None
    if t["log10"] is not None and math.isfinite(t["log10"]) and math.isfinite(fast_log10):
        diff = fast_log10 - t["log10"]
    return {"certified_lower": _num(lo), "certified_upper": _num(hi), "certified_bits": t["bits"],
            "fast": _num(fast_log10), "fast_minus_certified_log10": diff, "fast_inside_enclosure": bool(inside),
            "agree_to_printed_digits": bool(inside and diff is not None
                                            and abs(diff) <= 0.5 * 10.0 ** (math.floor(math.log10(max(abs(fast_log10), 1.0)))
                                                                           - (PRINTED_DIGITS - 1))),
            "certified_precision_bits": t["precision"]["bits"]}


def product_report(model: str, hidden: int = 4, steps: int = 100, seed: int = 0, activation: str = "tanh",
                   spectral_norm: float | None = None, forget_bias: float | None = None, weights_path=None,
                   inputs_path=None, engine: str = "fast", force: bool = False,
                   check_engines: bool = False, bits: int | None = None, module: str | None = None,
                   layer: int | None = None, batch_index: int | None = None) -> ProductReport:
    """Evaluate the model's long Jacobian product with ``engine`` and classify it per format.

    ``bits`` (certified engine only): certify that many bits of ||P_T||_2 with the tiered engine
    (float64 / double-double balls on the Arb forward pass's Jacobians, Arb when those cannot;
    numerics.network_tiers); None keeps the all-Arb engine at 53 bits. ``module``, ``layer``,
    ``batch_index``: which recurrent module of a checkpoint, which layer of a stack (default: the
    whole stack), which sequence of a (B, T, d) batch."""
    if engine not in ENGINES:
        raise InputError(f"unknown engine {engine!r}; choose fast, reference or certified")
    if bits is not None and engine != "certified":
        raise InputError("--bits applies to --engine certified only")
    if bits is not None and (isinstance(bits, bool) or int(bits) != bits or not (1 <= bits <= 10000)):
        raise InputError(f"bits must be an integer in [1, 10000], got {bits!r}")
    if model not in MODELS:
        raise InputError(f"unknown model {model!r}; choose rnn, lstm or gru")
    mj = budgeted_model_jacobians(
        model, engine_budgets(model, engine, check_engines), force=force,
        precheck=weights_path is None and inputs_path is None,  # check before building anything large
        hidden=hidden, steps=steps, seed=seed, activation=activation, spectral_norm=spectral_norm,
        forget_bias=forget_bias, weights_path=weights_path, inputs_path=inputs_path, module=module, layer=layer,
        batch_index=batch_index)
    J = mj.jacobians
    T = J.shape[0]
    lyap = largest_lyapunov(J)
    t = _truth(mj, engine, lyap, bits=bits)
    exact_log10 = t["log10"]
    reliability = fast_reliability(mj, mj.truth_lyapunov(lyap), engine)  # --layer K: chaos below reaches K
    if engine == "fast" and not reliability["fast_reliable"]:
        t["established"] = False  # an unreliable float64 value establishes no verdict
    check = None
    if check_engines:
        fast_log10 = exact_log10 if engine == "fast" else _truth(mj, "fast", lyap)["log10"]
        check = _engine_check(mj, fast_log10, lyap)
    bound_nonincreasing = mj.bound_factor is not None and mj.bound_factor < 1.0

    not_certified = engine == "certified" and not t["established"]
    formats = {}
    for name in FORMATS:  # one format's framework Jacobians in memory at a time
        Jfw = mj.framework_jacobians(name)
        g, z = simulate_matrix_product(Jfw, name, ftz=False), simulate_matrix_product(Jfw, name, ftz=True)
        value = _format_value_log10(g.final_value) if g.first_zero_step is None else None
        cancel, n_cancel = _cancellation(mj, Jfw, name, value, exact_log10)
        del Jfw
        cls = classify_detail(exact_log10 if not (isinstance(exact_log10, float) and math.isnan(exact_log10)) else None,
                              value, name, short_range_log10=SHORT_RANGE_LOG10,
                              bound_log10=mj.bound_log10, bound_nonincreasing=bound_nonincreasing,
                              proven_zero=t["proven_zero"], established=t["established"], cancellation=cancel)
        reason = cls.reason
        if not_certified:
            reason += " (the certified enclosure contains 0: magnitude not certified)"
        elif engine != "certified" and cls.verdict.value in ("underflow", "cancellation"):
            reason += f" (magnitude from the {engine} engine, not certified)"
        formats[name] = FormatRow(value_log10=_num(value), first_subnormal_step=g.first_subnormal_step,
                                  first_zero_step=g.first_zero_step, first_zero_step_ftz=z.first_zero_step,
                                  first_overflow_step=g.first_overflow_step, verdict=cls.verdict.value,
                                  verdict_reason=reason, cancelled_derivatives=n_cancel)
    return ProductReport(
        model=model, hidden=mj.hidden, steps=T, seed=seed, engine=engine, truth=TRUTH,
        precision_bits=int(t["precision"]["bits"]), precision_statement=t["statement"], precision=t["precision"],
        state=("(h, c)" if model == "lstm" else "h") + (" of every layer" if mj.stack is not None else ""),
        log10_norm=_num(exact_log10), proven_zero=bool(t["proven_zero"]),
        log10_norm_lower=_num(t["lower"]) if engine == "certified" else None,
        log10_norm_upper=_num(t["upper"]) if engine == "certified" else None,
        certified_bits=t["bits"], log10_norm_cell_path=_num(t["cell"]),
        log10_norm_article_cell_path=_num(t["article"]), log10_bound=_num(mj.bound_log10),
        bound_factor=mj.bound_factor, bound_statement=mj.bound_statement, lyapunov=_num(lyap),
        lyapunov_log10=_num(lyap / math.log(10.0)) if math.isfinite(lyap) else None,
        reliability=reliability, engine_check=check, short_range_log10=SHORT_RANGE_LOG10, formats=formats,
        weights=mj.weights_source, inputs=mj.inputs_source, input_size=mj.input_size,
        spectral_norm=spectral_norm, notes=tuple(mj.notes),
        format_method=("format values: the product simulated step by step in the format (activation derivatives "
                       "as the framework computes them in the format, s(1-s) and 1-t^2; Jacobians rounded to the "
                       "format, float64 accumulation, one rounding per entry; see numerics.formats); verdicts: "
                       "numerics.verdicts against the engine's magnitude"),
        activation=activation if model == "rnn" else None, layers=mj.layers,
        forget_bias=(1.0 if (forget_bias is None and weights_path is None) else forget_bias) if model == "lstm" else None)


def _s(v, spec=".6g"):
    """A format's value: None is the format's exact 0 (its simulated product is 0)."""
    return "0 (exactly)" if v is None else format(v, spec)


def _log(v):
    """log10 ||P_T|| with the printed digits (15 significant, or 15 decimals below 1 in size)."""
    if v is None:
        return "none"
    return format(v, f".{PRINTED_DIGITS}g") if abs(v) >= 1 else format(v, f".{PRINTED_DIGITS}f")


def _fast_digits(value: float, reliability: dict) -> str:
    """The fast value with only the decimals its estimated error supports (the JSON keeps the float):
    a relative error r of ||P_T|| is an absolute error r / ln 10 of log10 ||P_T||."""
    abs_err_log10 = reliability["estimated_log10_relative_error"] - math.log10(math.log(10.0))
    decimals = math.floor(-abs_err_log10) - 1
    if decimals < 0 or not reliability["fast_reliable"]:
        return f"{value:.4g} (fast engine, unreliable here: see reliability; use --engine certified)"
    decimals = min(decimals, PRINTED_DIGITS - 1 - max(0, math.floor(math.log10(max(abs(value), 1.0)))))
    return f"{value:.{max(decimals, 0)}f} (fast engine; decimals limited by its estimated error)"


def _enclosure_text(lo, hi) -> str:
    """[lo, hi] of a log10 enclosure at 17 digits (None: the unbounded side, -inf / +inf)."""
    return f"[{'-inf' if lo is None else format(lo, '.17g')}, {'+inf' if hi is None else format(hi, '.17g')}]"


def format_product_text(rep) -> str:
    """Human-readable summary of a product report (a ProductReport or its dict)."""
    rep = rep.to_dict() if hasattr(rep, "to_dict") else rep
    value = rep["log10_norm"]
    if value is None:
        zero = bool(rep.get("proven_zero"))
        shown = ("0 (proven exactly)" if zero else
                 {"certified": "not established (see the enclosure)",
                  "reference": "0 at two working precisions (not a proof: use --engine certified)"}.get(
                     rep["engine"], "0 (float64 product; not proven: use --engine certified)"))
    elif rep["engine"] == "fast":
        shown = _fast_digits(value, rep["reliability"])
    else:
        shown = _log(value)
    lines = [f"{rep['model']} ({size_phrase(rep['hidden'], rep.get('layers'))}, {rep['steps']} steps, "
             f"seed {rep['seed']}), engine {rep['engine']}",
             f"weights: {rep['weights']}; inputs: {rep['inputs']}",
             (f"log10 ||d{rep['state']}_T / d{rep['state']}_0||_2 = {shown}" if " " not in rep["state"] or
              rep["state"] == "(h, c)" else f"log10 ||ds_T / ds_0||_2 = {shown}, s = {rep['state']}")]
    if rep["engine"] == "certified" and rep.get("proven_zero"):
        lines.append("  certified: P_T = 0 exactly (every entry of the ball product is an exact zero)")
    elif rep["engine"] == "certified":
        lo, hi = rep["log10_norm_lower"], rep["log10_norm_upper"]
        bits = rep["certified_bits"]
        lines.append(f"  certified enclosure {_enclosure_text(lo, hi)}"
                     + ("" if bits is None else f" ({bits:.1f} bits)"))
    lines.append(f"precision: {rep['precision_statement']}")
    if rep["model"] == "lstm":
        if is_whole_stack(rep.get("layers")):
            lines.append("cell path A+B+C+D: defined for one LSTM layer (the article's terms); use --layer K, "
                         "or gradproof lags for the stack's forget-gate path")
        else:
            for label, key in (("corrected D", "log10_norm_cell_path"), ("article's D", "log10_norm_article_cell_path")):
                v = rep[key]
                shown = "none (not available)" if v is None else format(v, ".6g")
                lines.append(f"log10 ||prod (A+B+C+D)||_2 (cell path, {label}){' ' if label[0] == 'a' else ''} = {shown}")
    if rep["log10_bound"] is not None:
        lines.append(f"bound: log10 (gamma ||W_rec||)^T = {rep['log10_bound']:.6g} (per-step factor {rep['bound_factor']:.6g})")
    if rep["lyapunov"] is not None:
        lines.append(f"largest Lyapunov exponent: {rep['lyapunov']:.6g} per step (log10: {rep['lyapunov_log10']:.6g})")
    lines.append(f"reliability: {rep['reliability']['statement']}")
    chk = rep.get("engine_check")
    if chk is not None:
        diff = chk["fast_minus_certified_log10"]
        lo, hi = chk["certified_lower"], chk["certified_upper"]
        fast = "-inf (the float64 product is 0)" if chk["fast"] is None else format(chk["fast"], ".15g")
        lines.append(f"engine check: fast {fast} vs certified {_enclosure_text(lo, hi)}: difference "
                     f"{'n/a' if diff is None else format(diff, '.3g')} decades, "
                     f"{'inside' if chk['fast_inside_enclosure'] else 'OUTSIDE'} the enclosure")
    lines.append(f"{'format':<9} {'value_log10':>14} {'subnormal':>10} {'zero':>8} {'zero FTZ':>9}  verdict")
    for name, r in rep["formats"].items():
        lines.append(f"{name:<9} {_s(r['value_log10']):>14} {str(r['first_subnormal_step'] or '-'):>10} "
                     f"{str(r['first_zero_step'] or '-'):>8} {str(r['first_zero_step_ftz'] or '-'):>9}  "
                     f"{r['verdict']}: {r['verdict_reason']}")
    lines.append("truth: " + rep["truth"])
    for note in rep.get("notes", []):
        lines.append(f"note: {note}")
    return "\n".join(lines)

