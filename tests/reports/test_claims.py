"""The claims registry and the audit: verdicts computed at run time match the registered
expectations, and the evidence agrees with oracles computed here independently (numpy float64,
mpmath, exact SymPy, published values from oracles.md).

The derivation re-run claims (``derivation-*``) are exercised by ``test_cli_verify`` (full
``gradproof verify``); here the audit runs the article's claims once per module.
"""

from __future__ import annotations

import json
import math

import mpmath
import numpy as np
import pytest
import sympy as sp

from gradproof.reports import audit, claims
from gradproof.reports.audit import ClaimOutcome, audit_markdown, format_audit_table, run_audit
from gradproof.derivations.checker import CheckResult, Verdict
from gradproof.reports.claims import CLAIMS, EXPECTED, REFERENCES, ClaimVerdict, Decision
from gradproof.numerics.errors import InputError
from gradproof.derivations.records import Derivation, DerivationStep

ARTICLE_IDS = [c for c in CLAIMS if not c.startswith("derivation-")]
ARTICLE_SECTIONS = {claims.SECTION_RNN, claims.SECTION_BPTT_RNN, claims.SECTION_BPTT_LSTM,
                    claims.SECTION_LSTM_GRAD, claims.SECTION_PREVENT, claims.SECTION_FAQ}


@pytest.fixture(scope="module")
def outcomes() -> dict[str, ClaimOutcome]:
    return {o.id: o for o in run_audit(ARTICLE_IDS)}


# --- the registry ---------------------------------------------------------------------------


def test_registry_and_expectations_cover_the_same_ids():
    assert list(CLAIMS) == claims.claim_ids()
    assert set(CLAIMS) == set(EXPECTED)
    assert all(isinstance(v, ClaimVerdict) for v in EXPECTED.values())


def test_issue_claims_are_all_registered():
    required = {"sigmoid-derivative-bound", "tanh-derivative-below-one", "sigmoid-model-tanh-argument",
                "rnn-product-vanishes", "rnn-explosion-threshold", "complete-gradient-vanishes",
                "sum-vanishes-only-if-all", "lstm-cell-jacobian-article", "lstm-cell-jacobian-corrected",
                "lstm-product-is-gradient", "forget-gate-keeps-gradient", "lstm-o1-complexity",
                "no-fine-adjustments", "forget-update-found-by-training"}
    assert required <= set(CLAIMS)


@pytest.mark.parametrize("cid", list(CLAIMS))
def test_each_claim_is_complete(cid):
    c = CLAIMS[cid]
    assert c.id == cid and c.section in ARTICLE_SECTIONS
    assert c.statement and c.formal_text and c.methods and c.conditions
    assert c.references and all(r in REFERENCES for r in c.references)
    assert callable(c.decide)


def test_all_five_verdict_kinds_are_used():
    assert set(EXPECTED.values()) == set(ClaimVerdict)


def test_references_include_the_classical_papers():
    text = " ".join(REFERENCES.values())
    for needle in ("Bengio, P. Simard", "Pascanu", "erratum", "Hochreiter", "Gers"):
        assert needle in text


def test_unknown_claim_id_is_an_input_error():
    with pytest.raises(InputError, match="unknown claim 'nosuch'"):
        claims.get_claim("nosuch")
    with pytest.raises(InputError):
        run_audit(["sigmoid-derivative-bound", "nosuch"])
    with pytest.raises(InputError):
        run_audit([])


# --- verdicts computed at run time ------------------------------------------------------------


@pytest.mark.parametrize("cid", ARTICLE_IDS)
def test_article_claim_gets_its_expected_verdict(outcomes, cid):
    o = outcomes[cid]
    assert o.verdict is EXPECTED[cid], (cid, o.method, o.evidence)
    assert o.as_expected
    assert o.method and o.residual
    assert o.seconds >= 0


def test_verdicts_are_computed_not_stored(monkeypatch):
    """Swap a decider: the outcome follows the computation, and the mismatch is reported."""
    c = CLAIMS["rnn-one-step-jacobian"]
    fake = Decision(ClaimVerdict.REFUTED, "stub", "1")
    monkeypatch.setitem(CLAIMS, c.id, claims.Claim(**{**c.__dict__, "decide": lambda: fake}))
    (o,) = run_audit([c.id])
    assert o.verdict is ClaimVerdict.REFUTED and not o.as_expected
    assert "DIFFERS" in format_audit_table([o])


def test_a_raising_decider_is_recorded_as_undecided(monkeypatch):
    c = CLAIMS["no-fine-adjustments"]

    def boom():
        raise ZeroDivisionError("x")

    monkeypatch.setitem(CLAIMS, c.id, claims.Claim(**{**c.__dict__, "decide": boom}))
    (o,) = run_audit([c.id])
    assert o.verdict is ClaimVerdict.UNDECIDED and not o.as_expected
    assert "ZeroDivisionError" in o.evidence["error"]


# --- evidence against independent oracles ---------------------------------------------------------


def test_sigmoid_bound_evidence_matches_published_value(outcomes):
    ev = outcomes["sigmoid-derivative-bound"].evidence
    assert ev["gamma_derived"] == "1/4" and ev["argmax"] == "0"
    # oracle: mpmath maximises sigma'(z) = e^{-z}/(1+e^{-z})^2 from its closed form
    with mpmath.workdps(30):
        f = lambda t: mpmath.exp(-t) / (1 + mpmath.exp(-t)) ** 2  # noqa: E731
        zstar = mpmath.findroot(lambda t: mpmath.diff(f, t), 0.3)
        assert abs(zstar) < mpmath.mpf("1e-20")
        assert mpmath.almosteq(f(zstar), mpmath.mpf(1) / 4, rel_eps=mpmath.mpf("1e-25"))


def test_tanh_is_conditional_because_equality_at_zero(outcomes):
    o = outcomes["tanh-derivative-below-one"]
    assert o.evidence["tanh_prime_at_0"] == "1"
    assert o.evidence["any_bound_below_1_refuted"]["verdict"] == "refuted"
    assert math.isclose(1 - math.tanh(0.0) ** 2, 1.0) and 1 - math.tanh(1e-3) ** 2 < 1


def test_sigmoid_model_thresholds(outcomes):
    ev = outcomes["sigmoid-model-tanh-argument"].evidence
    assert ev["gamma_sigmoid"] == "1/4" and ev["gamma_tanh"] == "1"
    assert ev["vanishing_threshold_sigmoid_model"].endswith("< 4")
    assert ev["sigma_prime_form"]["verdict"] == "verified"
    # oracle: tanh'(u) = 4 sigma'(2u) in float64
    u = np.linspace(-3, 3, 13)
    s = 1 / (1 + np.exp(-2 * u))
    assert np.allclose(1 - np.tanh(u) ** 2, 4 * s * (1 - s), rtol=1e-13, atol=1e-15)


def test_growth_above_threshold_matches_float64(outcomes):
    ev = outcomes["rnn-product-vanishes"].evidence["above_threshold"]
    assert ev["grows"] is True
    k = ev["steps"]
    # oracle: numpy float64 rerun of the sigmoid construction (W_rec = 6 I, x_t = -3, c_0 = 1/2)
    W, c, P = 6 * np.eye(2), np.full(2, 0.5), np.eye(2)
    for _ in range(k):
        zz = W @ c - 3
        s = 1 / (1 + np.exp(-zz))
        P = np.diag(s * (1 - s)) @ W @ P
        c = s
    assert np.linalg.norm(P, 2) == pytest.approx(1.5 ** k, rel=1e-12)
    assert sp.Rational(ev["sigmoid_product_norm"]) == sp.Rational(3, 2) ** k


def test_explosion_counterexample_matches_numpy(outcomes):
    ev = outcomes["rnn-explosion-threshold"].evidence
    N = np.array([[0.0, 10.0], [0.0, 0.0]])
    assert np.linalg.svd(N, compute_uv=False)[0] == pytest.approx(float(ev["sigma_max_nilpotent"]))
    rng = np.random.default_rng(7)
    P = np.eye(2)
    for _ in range(6):
        P = np.diag(rng.uniform(0.01, 1, 2)) @ N @ P
    assert not P.any()  # exactly zero for every choice of act'(z_t)
    M = np.array([[0.5, 5.0], [0.0, 0.5]])
    assert float(ev["sigma_max_nonnormal"]) == pytest.approx(np.linalg.svd(M, compute_uv=False)[0], rel=1e-7)
    assert max(abs(np.linalg.eigvals(M))) == 0.5
    assert np.linalg.norm(np.linalg.matrix_power(M, 120), 2) == pytest.approx(
        float(ev["norm_of_M^k"]["120"]), rel=1e-5)


def test_complete_gradient_short_vs_long_range(outcomes):
    o = outcomes["complete-gradient-vanishes"]
    ev = o.evidence
    lag = {int(k): float(v) for k, v in ev["lag_term_frobenius"].items()}
    total = float(ev["total_gradient_frobenius"])
    assert lag[0] > 0.05 and total > 0.05  # short range: O(1)
    assert lag[59] < 1e-30 and float(ev["long_range_lags_30_59"]) < 1e-15 * total
    # each term obeys ||g_lag|| <= C (gamma sigma_max)^lag with gamma sigma_max = 1/2
    C = max(lag[L] * 2.0 ** L for L in lag)
    assert all(lag[L] <= C * 0.5 ** L * (1 + 1e-9) for L in lag)
    # a residual is published as the bound it was checked against (numerics.published)
    assert ev["finite_difference_relative_residual"] == "< 1e-30"


def test_sum_counterexample_cancels(outcomes):
    ev = outcomes["sum-vanishes-only-if-all"].evidence
    g1, g2 = float(ev["dE_1/dw"]), float(ev["dE_2/dw"])
    assert abs(g1) > 1e-2 and abs(g2) > 1e-2 and abs(g1 + g2) < 1e-14
    # oracle: float64 finite differences of E = E_1 + E_2 at the registered point
    p = {k: float(sp.Rational(v)) for k, v in ev["point"].items()}
    y2 = float(ev["y_2"])
    sig = lambda v: 1 / (1 + math.exp(-v))  # noqa: E731

    def E(w):
        c1 = sig(w * p["c_0"] + p["u"] * p["x_1"])
        c2 = sig(w * c1 + p["u"] * p["x_2"])
        return 0.5 * (c1 - p["y_1"]) ** 2 + 0.5 * (c2 - y2) ** 2

    h = 1e-5
    assert abs((E(p["w"] + h) - E(p["w"] - h)) / (2 * h)) < 1e-9


def test_lstm_article_vs_corrected(outcomes):
    art = outcomes["lstm-cell-jacobian-article"].evidence
    assert art["scalar_sigma_prime_in_D"]["verdict"] == "refuted"
    assert "shape" in art["vector_B_equals_f_t_n2"]["method"]
    corr = outcomes["lstm-cell-jacobian-corrected"].evidence
    assert all(v["verdict"] == "verified" for v in corr.values())


def test_lstm_omitted_path_size_against_numpy(outcomes):
    """Oracle: float64 finite differences of a numpy LSTM built from the same recipe give the
    same omitted fraction as the audit's 40-digit computation, to float64 FD accuracy."""
    ev = outcomes["lstm-product-is-gradient"].evidence["random_weights"]
    rel = float(ev["relative_omission"])
    assert 1e-3 < rel < 1
    true_norm = float(ev["true_dc_k_dc_1_frobenius"])
    prod_norm = float(ev["product_of_one_step_terms_frobenius"])
    omitted = float(ev["omitted_part_frobenius"])
    assert omitted == pytest.approx(rel * true_norm, rel=1e-4)
    assert abs(true_norm - prod_norm) <= omitted * (1 + 1e-6)  # triangle inequality


def test_forget_gate_bound_against_numpy(outcomes):
    """Oracle: an independent float64 LSTM forward pass with forget bias b_f: the forget-gate
    product respects sigma(b_f - m)^(k-1) with m from the same weights."""
    o = outcomes["forget-gate-keeps-gradient"]
    assert all(float(r["min over t, j of product/bound"]) >= 1 for r in o.evidence["by_forget_bias"])
    needed = {int(k): float(v) for k, v in o.evidence["bias_needed_for_cell_path_>=_0.1_by_k"].items()}
    m = float(o.evidence["margin_m"])
    for k, b in needed.items():  # sigma(b - m)^(k-1) = 0.1 exactly at the needed bias
        assert (1 / (1 + math.exp(-(b - m)))) ** (k - 1) == pytest.approx(0.1, rel=1e-3)
    assert needed[10000] - needed[1000] == pytest.approx(math.log(10), rel=0.01)  # ~ ln k growth
    rng = np.random.default_rng(3)
    n, d, k = 3, 2, 40
    Uf, Vf = rng.normal(size=(n, n)), rng.normal(size=(n, d))
    Ui, Vi, Uc, Vc, Uo, Vo = (rng.normal(size=s) for s in [(n, n), (n, d)] * 3)
    xs = rng.normal(size=(k, d))
    mm = max(np.abs(Uf).sum(1) + np.abs(Vf).sum(1) * np.abs(xs).max())
    for b_f in (0.0, 3.0):
        h, c, prod = np.zeros(n), np.zeros(n), np.ones(n)
        sg = lambda v: 1 / (1 + np.exp(-v))  # noqa: E731
        for t, x in enumerate(xs, 1):
            f = sg(Uf @ h + Vf @ x + b_f)
            c = f * c + sg(Ui @ h + Vi @ x) * np.tanh(Uc @ h + Vc @ x)
            h = sg(Uo @ h + Vo @ x) * np.tanh(c)
            if t >= 2:
                prod *= f
                assert (prod >= sg(b_f - mm) ** (t - 1)).all()


def test_o1_claim_cost_model(outcomes):
    ev = outcomes["lstm-o1-complexity"].evidence
    lim = ev["limit_cost_per_weight_per_step"]
    assert lim["rtrl_full"] == "oo" and lim["lstm_truncated_1997"] != "oo" and lim["bptt"] != "oo"


def test_not_mathematical_is_kept_apart(outcomes):
    o = outcomes["no-fine-adjustments"]
    assert o.verdict is ClaimVerdict.NOT_MATHEMATICAL
    assert o.verdict not in (ClaimVerdict.REFUTED, ClaimVerdict.UNDECIDED)
    assert CLAIMS["no-fine-adjustments"].formal is None


def test_formal_objects_are_sympy_statements():
    z = sp.Symbol("z", real=True)
    f = CLAIMS["sigmoid-derivative-bound"].formal()
    assert isinstance(f, sp.Le)
    # the formal statement holds at sample points, and is tight at z = 0
    assert all(bool(f.subs(z, v)) for v in (-3, -0.5, 0.25, 4))
    assert sp.simplify(f.lhs.subs(z, 0) - sp.Rational(1, 4)) == 0


# --- derivation re-run claims: decision logic on synthetic derivations -----------------------------


def _fake_derivation(verdicts: dict[str, Verdict]) -> Derivation:
    def res(v):
        return CheckResult(v, f"stub {v.value}", "0", 1, 1, 50)

    steps = [DerivationStep("model", sp.Integer(0), "definition")]
    steps += [DerivationStep(name, sp.Integer(0), "x", check=res(v)) for name, v in verdicts.items()]
    return Derivation("rnn", "tanh", 1, 3, sp.Integer(1), tuple(steps))


@pytest.mark.parametrize("verdicts,want", [
    ({"a": Verdict.VERIFIED, "article_long_path_is_gradient": Verdict.REFUTED}, ClaimVerdict.VERIFIED),
    ({"a": Verdict.REFUTED, "article_long_path_is_gradient": Verdict.REFUTED}, ClaimVerdict.REFUTED),
    ({"a": Verdict.VERIFIED, "article_long_path_is_gradient": Verdict.VERIFIED}, ClaimVerdict.REFUTED),
    ({"a": Verdict.UNDECIDED, "article_long_path_is_gradient": Verdict.REFUTED}, ClaimVerdict.UNDECIDED),
    ({"a": Verdict.VERIFIED}, ClaimVerdict.REFUTED),  # a registered finding went missing
])
def test_derivation_decider_logic(verdicts, want):
    d = claims.derivations._derivation_decider("rnn", lambda: _fake_derivation(verdicts))()
    assert d.verdict is want, d.evidence


# --- renderers -------------------------------------------------------------------------------------


def test_table_json_and_markdown(outcomes):
    outs = [outcomes[c] for c in ARTICLE_IDS]
    table = format_audit_table(outs)
    assert table.splitlines()[0].split() == ["claim", "verdict", "expected", "method", "seconds"]
    assert all(c in table for c in ARTICLE_IDS)
    assert f"{len(outs)} claims, {len(outs)} as expected" in table
    data = json.loads(audit.audit_json(outs, full=True))
    assert [d["id"] for d in data] == ARTICLE_IDS
    for d in data:
        assert {"id", "verdict", "expected", "method", "residual", "seconds", "evidence",
                "references", "conditions", "statement", "section"} <= set(d)
    md = audit_markdown(outs)
    assert md.startswith("## Claims audit")
    assert "| claim | section | verdict | expected | method | residual |" in md
    for c in ARTICLE_IDS:
        assert f"[{c}](#claim-{c})" in md and f'<a id="claim-{c}"></a>' in md
    # no timings by default: the same outcomes render to the same bytes
    assert "seconds" not in md and "audit time" not in md
    assert "| seconds |" in audit_markdown(outs, include_seconds=True)


def test_markdown_is_deterministic_across_runs(outcomes):
    """A second audit of the same claims renders the same Markdown (seeded, timings excluded)."""
    quick = ["sigmoid-derivative-bound", "complete-gradient-vanishes", "rnn-explosion-threshold"]
    again = run_audit(quick)
    assert audit_markdown(again) == audit_markdown([outcomes[c] for c in quick])


def test_training_dynamics_claim_is_undecided_with_evidence(outcomes):
    o = outcomes["forget-update-found-by-training"]
    assert o.verdict is ClaimVerdict.UNDECIDED
    ev = o.evidence
    assert ev["d_cell_path_product_d_b_f_positive"] is True
    assert ev["both_signs_occur"] is True
    assert set(ev["sign_of_dE_db_f_by_seed"]) == {-1, 1}


def test_toolkit_numerics_agree_beyond_float64_range(outcomes):
    """Both sides (STYLE 6): the product is far below float64's range, the naive float64
    product of the same factors underflows to exactly 0, and the engines still agree with the
    audit's own 30-digit value."""
    ev = outcomes["toolkit-numerics-agree"].evidence
    # published digits: float64 results at 6 digits, residuals as their bounds
    audit = float(ev["audit_log10_norm"])
    assert audit < -330
    assert all(v == "< 1e-9" for v in ev["abs_log10_difference"].values())
    assert ev["certified_ball_contains_reference"] is True
    lo, hi = (float(x) for x in ev["certified_log10_bounds"])
    assert lo <= audit + 1e-3 and audit - 1e-3 <= hi
    assert ev["lstm_cell_path_max_abs_difference"] == "< 1e-12"
    assert ev["lstm_article_D_differs_from_corrected"] is True
    # naive float64: the decider's own weights (same seed and recipe) multiplied without rescaling
    W, U, xs = claims.toolkit._toolkit_rnn_weights(np.random.default_rng(claims.AUDIT_SEED))
    n = W.shape[0]
    c, P = np.zeros(n), np.eye(n)
    with np.errstate(under="ignore"):
        for x in xs:
            z = W @ c + U @ x
            P = ((1 - np.tanh(z) ** 2)[:, None] * W) @ P
            c = np.tanh(z)
    assert not P.any()  # underflowed to exactly zero


def test_explosion_counterexample_needs_triangular_not_just_nilpotent(outcomes):
    """The zero products come from W_rec being strictly upper triangular; a merely nilpotent
    W_rec (W^2 = 0) can give growing products once act' differs between units (numpy oracle)."""
    ev = outcomes["rnn-explosion-threshold"].evidence
    assert ev["nilpotent_alone_not_enough"]["checked"] is True
    Q = 2.0 * np.array([[1.0, -1.0], [1.0, -1.0]])
    assert not (Q @ Q).any()
    P = np.eye(2)
    for _ in range(30):
        P = np.diag([1.0, 1e-3]) @ Q @ P  # act' of a saturated second unit is small, not 0
    assert np.linalg.norm(P, 2) > 1e6  # grows although W_rec is nilpotent
    assert "strictly upper-triangular" in outcomes["rnn-explosion-threshold"].method


def test_every_formal_statement_is_tex_not_prose_typeset_as_math():
    """Formal statements are shown as math (HTML MathML, Markdown $`...`$, LaTeX): each must
    convert, and prose must sit in \\text{} -- a run of 6+ single-letter identifiers in a row is
    a word set in math italics (the bug this guards: "eachcheckedstepofrnnderivation")."""
    import re

    from gradproof.reports.documents import latex_to_mathml

    claims_list = list(CLAIMS.values()) if isinstance(CLAIMS, dict) else list(CLAIMS)
    assert len(claims_list) > 20
    for claim in claims_list:
        mml = latex_to_mathml(claim.formal_text)
        assert mml is not None, claim.id
        # consecutive single-letter <mi> elements: a word in math italics
        adjacent = re.search(r"(?:<mi>[A-Za-z]</mi>){6,}", mml)
        assert adjacent is None, (claim.id, claim.formal_text)
