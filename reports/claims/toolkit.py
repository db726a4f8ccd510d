"""The toolkit's own numerics against the audit's independent mpmath evaluation (sampled)."""

from __future__ import annotations

import mpmath
from gradproof.numerics import published
from gradproof.reports.claims.common import (
    _mp_act,
    _mp_sigma_max,
)
from gradproof.reports.claims.lstm import _mp_lstm_cell_jacobian, _mp_lstm_step
from gradproof.reports.claims.registry import (
    AUDIT_SEED,
    SECTION_BPTT_LSTM,
    ClaimVerdict,
    Decision,
    claim,
)
from gradproof.reports.claims.rnn import _mp_product, _rnn_forward

# ---------------------------------------------------------------------------------------------
# 6. the toolkit's numerics against the audit's own mpmath evaluation
# ---------------------------------------------------------------------------------------------


def _toolkit_rnn_weights(rng):
    """(W_rec, W_in, inputs) in float64 for the RNN half of ``toolkit-numerics-agree``: tanh,
    n = 4, d = 2, T = 1500, W_rec scaled to sigma_max = 0.6 (draws from ``rng`` in this order)."""
    import numpy as np

    n, d, T = 4, 2, 1500
    W = rng.standard_normal((n, n))
    W *= 0.6 / np.linalg.svd(W, compute_uv=False)[0]
    U = rng.standard_normal((n, d)) / np.sqrt(d)
    xs = rng.standard_normal((T, d))
    return W, U, xs


@claim(
    id="toolkit-numerics-agree",
    section=SECTION_BPTT_LSTM,
    statement="(toolkit) The product engines and the closed-form LSTM terms give the numbers the "
        "audit computes on its own.",
    formal_text=r"|\log_{10}\|\prod J_t\|_{\mathrm{engine}} - \log_{10}\|\prod J_t\|_{\mathrm{audit}}| < 10^{-9};\ "
        r"\max|J^{\mathrm{bridge}}_t - J^{\mathrm{audit}}_t| < 10^{-12}",
    methods=("sampled: independent mpmath forward pass and product at 30 digits on one RNN and one LSTM",
        "containment of the reference in the certified ball"),
    conditions="float64 weights entered exactly; tolerance covers the float64 trajectory's rounding",
    references=("pascanu2013", "hochreiter1997"),
    expected=ClaimVerdict.SAMPLED,
)
def _decide_toolkit_numerics_agree() -> Decision:
    """The product engines (numerics.engines: fast, reference, certified) on the bridge's
    float64 Jacobians against the audit's own mpmath RNN at 30 digits, and the bridge's LSTM
    cell-path terms against the audit's own mpmath terms.

    RNN: tanh, n = 4, d = 2, T = 1500, W_rec with sigma_max = 0.6 (the product falls far below
    the float64 range, about 1e-340, so an engine without rescaling would return 0). Weights are
    float64 (numpy, seeded) and enter mpmath exactly. Agreement: |log10 norm difference| < 1e-9
    (the float64 trajectory differs from the 30-digit one by accumulated rounding); the
    certified ball must contain the reference value. LSTM: n = 3, d = 2, T = 12, gates in
    nn.LSTMCell order (i, f, g, o); J_t = A+B+C+D for t >= 2 must agree to 1e-12, and the
    article's D_t (sigma') must differ."""
    import numpy as np
    from gradproof.numerics.cells import (
        LSTMParams,
        RNNParams,
        lstm_jacobians,
        rnn_jacobians,
    )
    from gradproof.numerics.engines import (
        product_certified,
        product_fast,
        product_reference,
    )

    rng = np.random.default_rng(AUDIT_SEED)
    W, U, xs = _toolkit_rnn_weights(rng)
    n, T = W.shape[0], xs.shape[0]
    params = RNNParams(W_rec=W, W_in=U, b=np.zeros(n), activation="tanh")
    J = rnn_jacobians(params, xs, np.zeros(n))
    with np.errstate(under="ignore"):
        fast, ref, cert = product_fast(J), product_reference(J, dps=30), product_certified(J)
    with mpmath.workdps(30):
        _, _, Js = _rnn_forward("tanh", mpmath.matrix(W.tolist()), mpmath.matrix(U.tolist()),
                                [mpmath.matrix(x.tolist()) for x in xs], mpmath.matrix(n, 1))
        mine = float(mpmath.log10(_mp_sigma_max(_mp_product(Js))))
    diffs = {"fast": abs(fast.log10_norm - mine), "reference": abs(ref.log10_norm - mine),
             "certified": abs(cert.log10_norm - mine)}
    contains = (cert.log10_norm_lower is not None
                and cert.log10_norm_lower <= ref.log10_norm <= cert.log10_norm_upper)
    rnn_ok = all(v < 1e-9 for v in diffs.values()) and contains

    # LSTM cell-path terms
    n2, d2, T2 = 3, 2, 12
    Ug = {g: rng.standard_normal((n2, n2)) / np.sqrt(n2) for g in "ifgo"}
    Vg = {g: rng.standard_normal((n2, d2)) / np.sqrt(d2) for g in "ifgo"}
    bg = {g: (np.ones(n2) if g == "f" else 0.1 * rng.standard_normal(n2)) for g in "ifgo"}
    xs2 = rng.standard_normal((T2, d2))
    lp = LSTMParams(W_ih=np.vstack([Vg[g] for g in "ifgo"]), W_hh=np.vstack([Ug[g] for g in "ifgo"]),
                    b=np.concatenate([bg[g] for g in "ifgo"]))
    LJ = lstm_jacobians(lp, xs2, np.zeros(n2), np.zeros(n2))
    worst, worst_article = 0.0, 0.0
    with mpmath.workdps(30):
        Pm = {}
        for g, name in zip("ifgo", "ifco"):  # the audit's names: c for the candidate
            Pm["U_" + name] = mpmath.matrix(Ug[g].tolist())
            Pm["V_" + name] = mpmath.matrix(Vg[g].tolist())
            Pm["b_" + name] = mpmath.matrix(bg[g].tolist())
        h, c = mpmath.matrix(n2, 1), mpmath.matrix(n2, 1)
        o_prev = None
        _, sigma_prime = _mp_act("sigmoid")
        _, tanh_prime = _mp_act("tanh")
        for t in range(T2):
            h_new, c_new, z, f, i, g, o = _mp_lstm_step(Pm, h, c, mpmath.matrix(xs2[t].tolist()))
            if t >= 1:
                Jt = _mp_lstm_cell_jacobian(Pm, c, o_prev, z, f, i, g, tanh_prime)
                Ja = _mp_lstm_cell_jacobian(Pm, c, o_prev, z, f, i, g, sigma_prime)
                for r in range(n2):
                    for q in range(n2):
                        worst = max(worst, abs(float(Jt[r, q]) - LJ.cell_path[t, r, q]))
                        worst_article = max(worst_article, abs(float(Ja[r, q]) - LJ.article_cell_path[t, r, q]))
            h, c, o_prev = h_new, c_new, o
    article_differs = float(np.abs(LJ.article_cell_path[1:] - LJ.cell_path[1:]).max()) > 1e-6
    lstm_ok = worst < 1e-12 and worst_article < 1e-12 and article_differs
    return Decision(
        ClaimVerdict.SAMPLED if rnn_ok and lstm_ok else ClaimVerdict.REFUTED,
        f"sampled: agreement on 1 seeded RNN and 1 seeded LSTM (not a proof for all inputs); "
        f"gradproof.numerics.engines (fast, reference @30 digits, certified) on bridge.rnn_jacobians vs the "
        f"audit's mpmath product @30 digits (tanh RNN n={n}, T={T}, seed {AUDIT_SEED}); "
        f"bridge.lstm_jacobians cell path vs the audit's mpmath terms (n={n2}, T={T2})",
        # float64 results (numpy tanh/exp, BLAS, LAPACK scaling of W_rec) differ in their last
        # bits between machines: log10 norms at tolerance 1e-9, residuals as their bounds
        f"{published.bound(max(diffs.values()), 1e-9).text} (log10 norms); "
        f"{published.bound(max(worst, worst_article), 1e-12).text} (LSTM terms)",
        {"audit_log10_norm": published.float64(mine).text,
         "engine_log10_norm": {"fast": published.float64(fast.log10_norm).text,
                               "reference": published.float64(ref.log10_norm).text,
                               "certified": published.float64(cert.log10_norm).text},
         "abs_log10_difference": {k: published.bound(v, 1e-9).text for k, v in diffs.items()},
         "certified_ball_contains_reference": bool(contains),
         "certified_log10_bounds": [published.publish(cert.log10_norm_lower).text,
                                    published.publish(cert.log10_norm_upper).text],
         "lstm_cell_path_max_abs_difference": published.bound(worst, 1e-12).text,
         "lstm_article_cell_path_max_abs_difference": published.bound(worst_article, 1e-12).text,
         "lstm_article_D_differs_from_corrected": article_differs},
    )


