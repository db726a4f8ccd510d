"""The activation bounds: sigma' <= 1/4 and tanh' <= 1, each decided by a calculus certificate."""

from __future__ import annotations

import sympy as sp
from gradproof.derivations.activations import derive_gamma, get_activation, sigmoid
from gradproof.derivations.checker import (
    Verdict,
    check_equal,
    check_supremum,
)
from gradproof.reports.claims.common import (
    _R,
    _apply,
    _formal_sigma_bound,
    _formal_tanh_bound,
    _res,
    _sigma_prime,
    _sub_json,
    _sym_rnn_preactivation,
    _tanh_prime,
)
from gradproof.reports.claims.registry import (
    AUDIT_DPS,
    AUDIT_SEED,
    SECTION_BPTT_RNN,
    SECTION_RNN,
    ClaimVerdict,
    Decision,
    claim,
)

# ---------------------------------------------------------------------------------------------
# 1. activation bounds
# ---------------------------------------------------------------------------------------------


@claim(
    id="sigmoid-derivative-bound",
    section=SECTION_RNN,
    statement="The hidden layer uses the logistic sigmoid, whose derivative stays small (at most 1/4).",
    formal_text=r"\sup_z \sigma'(z) = 1/4,\ \text{attained only at } z = 0",
    methods=("derive_gamma (critical points, 2nd-order test, limits)", "SymPy identity",
        "check_supremum at 50 digits"),
    conditions="none (all real z)",
    references=("hochreiter1997", "pascanu2013"),
    formal=_formal_sigma_bound,
    expected=ClaimVerdict.VERIFIED,
)
def _decide_sigmoid_bound() -> Decision:
    z = sp.Symbol("z", real=True)
    s = sp.Symbol("s", real=True)
    act = get_activation("sigmoid")
    derived = derive_gamma(act)
    # independent proof: 1/4 - s(1-s) = (s - 1/2)^2 >= 0, zero iff s = 1/2 iff z = 0
    identity = sp.expand(sp.Rational(1, 4) - s * (1 - s) - (s - sp.Rational(1, 2)) ** 2) == 0
    # sigma' from the closed form, not from the Function's fdiff
    closed = sp.diff(1 / (1 + sp.exp(-z)), z)
    sup = check_supremum(sp.Rational(1, 4), closed, z, seed=AUDIT_SEED, dps=AUDIT_DPS)
    at_zero = sp.simplify(closed.subs(z, 0)) == sp.Rational(1, 4)
    ok = identity and at_zero and sup.verdict is Verdict.VERIFIED and derived.gamma == sp.Rational(1, 4)
    return Decision(
        ClaimVerdict.VERIFIED if ok else ClaimVerdict.REFUTED,
        "SymPy: expand(1/4 - s(1-s) - (s-1/2)^2) == 0; derive_gamma; " + sup.method,
        _res(sup),
        {"gamma_derived": str(derived.gamma), "argmax": str(derived.argmax),
         "square_identity": identity, "sigma_prime_at_0": str(closed.subs(z, 0).simplify()),
         "supremum_check": _sub_json(sup)},
    )


@claim(
    id="tanh-derivative-below-one",
    section=SECTION_BPTT_RNN,
    statement="The product shrinks for large k because the derivative of tanh is smaller than 1.",
    formal_text=r"|\tanh'(z)| < 1 \text{ for all } z;\ \text{in fact } 1 - \tanh'(z) = \tanh^2 z \ge 0",
    methods=("SymPy identity", "solveset for the equality case", "check_supremum at 50 digits"),
    conditions="strict inequality only for z != 0; tanh'(0) = 1, so gamma = 1 and the bound by itself "
        "gives no contraction: vanishing needs sigma_max(W_rec) < 1 as well",
    references=_R,
    formal=_formal_tanh_bound,
    expected=ClaimVerdict.CONDITIONAL,
)
def _decide_tanh_below_one() -> Decision:
    z = sp.Symbol("z", real=True)
    d = sp.diff(sp.tanh(z), z)
    identity = sp.simplify(1 - d - sp.tanh(z) ** 2) == 0  # 1 - tanh' = tanh^2 >= 0
    equality_set = sp.solveset(sp.Eq(sp.tanh(z) ** 2, 0), z, domain=sp.S.Reals)
    sup = check_supremum(1, d, z, seed=AUDIT_SEED, dps=AUDIT_DPS)
    strict_claim = check_supremum(sp.Rational(99, 100), d, z, seed=AUDIT_SEED, dps=AUDIT_DPS)
    holds_off_zero = identity and equality_set == sp.FiniteSet(0)
    ok = holds_off_zero and sup.verdict is Verdict.VERIFIED
    return Decision(
        ClaimVerdict.CONDITIONAL if ok else ClaimVerdict.REFUTED,
        "SymPy: simplify(1 - tanh' - tanh^2) == 0, solveset(tanh^2 = 0) = {0}; " + sup.method,
        _res(sup),
        {"identity_1_minus_dtanh_eq_tanh2": identity, "equality_set": str(equality_set),
         "tanh_prime_at_0": str(d.subs(z, 0)), "gamma_tanh": "1",
         "supremum_is_1": _sub_json(sup),
         "any_bound_below_1_refuted": _sub_json(strict_claim)},
        counterexample={"z": "0", "tanh'(z)": "1"},
    )


@claim(
    id="sigmoid-model-tanh-argument",
    section=SECTION_BPTT_RNN,
    statement="The model is built with the sigmoid, but the one-step derivative is written with tanh'.",
    formal_text=r"c_t = \sigma(W_{rec} c_{t-1} + W_{in} x_t) \Rightarrow \partial c_t/\partial c_{t-1} "
        r"\overset{?}{=} \mathrm{diag}(\tanh'(z_t)) W_{rec}",
    methods=("check_equal vs SymPy Matrix.jacobian (n=2)", "derive_gamma for both activations"),
    conditions="for the sigmoid model the factor is sigma'(z_t) and gamma = 1/4 (vanishing threshold "
        "sigma_max(W_rec) < 4); the tanh' form and gamma = 1 belong to a tanh model",
    references=_R,
    expected=ClaimVerdict.REFUTED,
)
def _decide_sigmoid_model_tanh_argument() -> Decision:
    """The model is c_t = sigma(W_rec c_{t-1} + W_in x_t); the text differentiates it with tanh'."""
    W_rec, c_prev, z_t = _sym_rnn_preactivation(2)
    reference = _apply(sigmoid, z_t).jacobian(c_prev)  # SymPy's derivative of the sigmoid cell
    with_tanh = sp.diag(*[_tanh_prime(zi) for zi in z_t]) * W_rec
    with_sigma = sp.diag(*[_sigma_prime(zi) for zi in z_t]) * W_rec
    r_tanh = check_equal(with_tanh, reference, seed=AUDIT_SEED, dps=AUDIT_DPS)
    r_sigma = check_equal(with_sigma, reference, seed=AUDIT_SEED, dps=AUDIT_DPS)
    u = sp.Symbol("u", real=True)
    # tanh(u) = 2 sigma(2u) - 1, hence tanh'(u) = 4 sigma'(2u): the two gammas differ by 4
    rel = check_equal(sp.diff(sp.tanh(u), u), 4 * _sigma_prime(2 * u).rewrite(sp.exp),
                      seed=AUDIT_SEED, dps=AUDIT_DPS)
    g_sig = derive_gamma(get_activation("sigmoid")).gamma
    g_tanh = derive_gamma(get_activation("tanh")).gamma
    ok = (r_tanh.verdict is Verdict.REFUTED and r_sigma.verdict is Verdict.VERIFIED
          and rel.verdict is not Verdict.REFUTED)
    return Decision(
        ClaimVerdict.REFUTED if ok else ClaimVerdict.UNDECIDED,
        "checker vs SymPy Matrix.jacobian of the sigmoid cell (n=2): " + r_tanh.method,
        _res(r_tanh),
        {"tanh_prime_form": _sub_json(r_tanh), "sigma_prime_form": _sub_json(r_sigma),
         "tanh_prime_eq_4_sigma_prime_2u": _sub_json(rel),
         "gamma_sigmoid": str(g_sig), "gamma_tanh": str(g_tanh),
         "vanishing_threshold_sigmoid_model": f"sigma_max(W_rec) < {1 / g_sig}",
         "vanishing_threshold_tanh_model": f"sigma_max(W_rec) < {1 / g_tanh}"},
        counterexample=dict(r_tanh.counterexample or {}),
    )


