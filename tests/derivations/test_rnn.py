"""RNN derivation: every step against SymPy's derivative of the unrolled network, refutations,
and a finite-difference oracle for the BPTT gradient at 50 digits."""

import random

import mpmath
import pytest
import sympy as sp

from gradproof.derivations.activations import LAMBDIFY_MODULES_MPMATH, get_activation
from gradproof.derivations.checker import Verdict, check_equal
from gradproof.numerics.errors import InputError
from gradproof.derivations.rnn import (
    RNN_BUDGET, article_long_path_term, jacobian_product, rnn_bptt_terms, rnn_cell, rnn_derivation,
    rnn_gradient, rnn_norm_bound, rnn_one_step_jacobian, rnn_output_gradient, rnn_preactivation,
    rnn_symbols, rnn_unrolled, spectral_norm_mp, squared_error,
)


@pytest.fixture(scope="module")
def sig():
    return get_activation("sigmoid")


@pytest.mark.parametrize("activation", ["sigmoid", "tanh"])
@pytest.mark.parametrize("n,k", [(1, 3), (2, 2)])
def test_derivation_steps_have_expected_verdicts(activation, n, k):
    d = rnn_derivation(activation, n, k)
    verdicts = {r.name: r.verdict for r in d.records}
    assert verdicts.pop("model") == verdicts.pop("error") == "definition"
    assert verdicts.pop("article_long_path_is_gradient") == "refuted"  # k >= 2
    assert set(verdicts.values()) == {"verified"}, verdicts
    assert d.gamma == (sp.Rational(1, 4) if activation == "sigmoid" else 1)
    assert [f"bptt_term_{t}" for t in range(1, k + 1)] == [
        r.name for r in d.records if r.name.startswith("bptt_term_") and r.name[10:].isdigit()]
    assert [f"bptt_term_W_in_{t}" for t in range(1, k + 1)] == [
        r.name for r in d.records if r.name.startswith("bptt_term_W_in_")]


def test_article_long_path_is_the_gradient_when_k_is_1():
    d = rnn_derivation("tanh", 1, 1)
    assert d.step("article_long_path_is_gradient").verdict == "verified"


def test_one_step_jacobian_with_transpose_is_refuted(sig):
    """Pascanu et al. (2013) erratum: W^T in place of W must be REFUTED for n >= 2."""
    s = rnn_symbols(2, 1)
    z = rnn_preactivation(s.W_rec, s.W_in, s.b, s.c0, s.xs[0])
    c1 = rnn_cell(sig, s.W_rec, s.W_in, s.b, s.c0, s.xs[0])
    wrong = sp.diag(*[sig.derivative(zi) for zi in z]) * s.W_rec.T
    r = check_equal(wrong, c1.jacobian(s.c0))
    assert r.verdict is Verdict.REFUTED and r.counterexample
    assert check_equal(rnn_one_step_jacobian(sig, s.W_rec, z), c1.jacobian(s.c0)).verdict is Verdict.VERIFIED


def test_missing_activation_derivative_is_refuted(sig):
    s = rnn_symbols(2, 1)
    c1 = rnn_cell(sig, s.W_rec, s.W_in, s.b, s.c0, s.xs[0])
    assert check_equal(s.W_rec, c1.jacobian(s.c0)).verdict is Verdict.REFUTED


def test_wrong_order_product_is_refuted(sig):
    s = rnn_symbols(2, 2)
    cs = rnn_unrolled(sig, s)
    Js = [rnn_one_step_jacobian(sig, s.W_rec, rnn_preactivation(s.W_rec, s.W_in, s.b, cs[t], s.xs[t]))
          for t in range(2)]
    assert check_equal(Js[0] * Js[1], cs[2].jacobian(s.c0)).verdict is Verdict.REFUTED
    assert check_equal(jacobian_product(Js, 2), cs[2].jacobian(s.c0)).verdict is Verdict.VERIFIED


def test_sigmoid_gamma_one_half_is_refuted():
    from gradproof.derivations.checker import check_supremum

    z = sp.Symbol("z", real=True)
    act = get_activation("sigmoid")
    r = check_supremum(sp.Rational(1, 2), sp.diff(act.definition(z), z), z)
    assert r.verdict is Verdict.REFUTED


def _assert_matches_finite_differences(act, s, G, W, seed):
    """Independent oracle: mpmath.diff (numerical differentiation, 50 digits) of the unrolled
    error E_k with respect to each entry of W equals that entry of G to 1e-30, at a random point."""
    E = squared_error(s.V * rnn_unrolled(act, s)[-1], s.y)
    syms = sorted(E.free_symbols | G.free_symbols, key=sp.default_sort_key)
    rng = random.Random(seed)
    with mpmath.workdps(50):
        vals = {sy: mpmath.mpf(repr(rng.uniform(-1, 1))) for sy in syms}
        fE = sp.lambdify(syms, E, modules=LAMBDIFY_MODULES_MPMATH)
        g = sp.lambdify(syms, G, modules=LAMBDIFY_MODULES_MPMATH)(*[vals[sy] for sy in syms])
        for a in range(W.rows):
            for b in range(W.cols):
                w = W[a, b]
                fd = mpmath.diff(lambda t, w=w: fE(*[t if sy == w else vals[sy] for sy in syms]), vals[w])
                assert abs(fd - g[a, b]) < mpmath.mpf(10) ** -30


def test_bptt_gradient_matches_finite_differences_at_50_digits(sig):
    s = rnn_symbols(2, 3)
    _assert_matches_finite_differences(sig, s, rnn_gradient(sig, s, "W_rec"), s.W_rec, seed=99)


def test_bptt_terms_sum_and_article_term(sig):
    s = rnn_symbols(1, 3)
    terms = rnn_bptt_terms(sig, s)
    assert len(terms) == 3
    assert check_equal(article_long_path_term(sig, s), terms[0]).verdict is Verdict.VERIFIED
    assert check_equal(terms[0] + terms[1] + terms[2], rnn_gradient(sig, s)).verdict is Verdict.VERIFIED


def test_output_gradient_against_diff():
    s = rnn_symbols(2, 1)
    ck = sp.Matrix(sp.symbols("p q", real=True))
    E = squared_error(s.V * ck, s.y)
    assert check_equal(rnn_output_gradient(s, ck), sp.Matrix([E.diff(v) for v in ck])).ok


def test_norm_bound_holds_and_is_tight_for_scaled_identity():
    """||prod diag(act') W|| <= (gamma ||W||)^k, with equality when every z_t = 0 and W = rI."""
    with mpmath.workdps(30):
        r = mpmath.mpf(3)
        W = r * mpmath.eye(2)
        P = mpmath.eye(2)
        for _ in range(5):
            P = mpmath.diag([mpmath.mpf(1) / 4] * 2) * W * P  # sigma'(0) = 1/4 at z = 0
        assert abs(spectral_norm_mp(P) - rnn_norm_bound(mpmath.mpf(1) / 4, r, 5)) < 1e-25


def test_spectral_norm_mp_against_known_matrix():
    # by hand: A^T A = [[25, 20], [20, 25]] has eigenvalues 45 and 5, so ||A||_2 = sqrt(45)
    with mpmath.workdps(30):
        assert abs(spectral_norm_mp([[3, 0], [4, 5]]) - mpmath.sqrt(45)) < 1e-25


@pytest.mark.parametrize("kwargs,match", [
    ({"activation": "relu"}, "unknown activation"),
    ({"hidden": 0}, "positive integer"),
    ({"steps": -1}, "positive integer"),
    ({"hidden": RNN_BUDGET["hidden"] + 1}, "beyond the budget"),
    ({"steps": RNN_BUDGET["steps"] + 1}, "beyond the budget"),
])
def test_bad_input_is_input_error(kwargs, match):
    with pytest.raises(InputError, match=match):
        rnn_derivation(**kwargs)


@pytest.mark.slow
@pytest.mark.parametrize("activation", ["sigmoid", "tanh"])
def test_largest_budget_size_n3_k4_verified(activation):
    d = rnn_derivation(activation, 3, 4)
    assert {r.verdict for r in d.records if r.name != "article_long_path_is_gradient"} <= {"verified", "definition"}
    assert d.step("article_long_path_is_gradient").verdict == "refuted"


def test_w_in_bptt_terms_are_named_sum_to_the_gradient_and_match_finite_differences(sig):
    """dE_k/dW_in: each term T_t = diag(act'(z_t)) P_{k,t}^T delta_k x_t^T is a recorded step; the
    sum equals mpmath.diff of the unrolled error (independent oracle, 50 digits); a term with
    c_{t-1} where x_t belongs (the W_rec immediate partial) is refuted."""
    n, k = 2, 2
    s = rnn_symbols(n, k)
    terms = rnn_bptt_terms(sig, s, "W_in")
    G = rnn_gradient(sig, s, "W_in")
    assert check_equal(terms[0] + terms[1], G).verdict is Verdict.VERIFIED
    _assert_matches_finite_differences(sig, s, G, s.W_in, seed=7)  # W_in is n x 1 (d = 1)
    d = rnn_derivation("sigmoid", n, k)
    assert d.step("bptt_term_W_in_2").verdict == "verified"
    wrong = rnn_bptt_terms(sig, s, "W_rec")[1][:, :1]  # first entry of c_1 in place of x_2
    assert check_equal(wrong, d.step("bptt_term_W_in_2").expr).verdict is Verdict.REFUTED


def test_gamma_justification_matches_how_gamma_was_derived():
    assert "act''(z)=0 at z=0" in rnn_derivation("tanh", 1, 1).step("gamma").justification
    ident = rnn_derivation("identity", 1, 1).step("gamma")
    assert "constant 1" in ident.justification and "None" not in ident.justification
    assert ident.verdict == "verified"
