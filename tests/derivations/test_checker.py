"""The independent checker: verifies true identities, refutes false ones, reports undecided."""

import mpmath
import pytest
import sympy as sp

from gradproof.derivations.activations import sigmoid
from gradproof.derivations.checker import Verdict, check_equal, check_inequality, check_supremum

x, y = sp.symbols("x y", real=True)


def test_true_identity_verified_by_canonical_form():
    r = check_equal((x + y) ** 2, x**2 + 2 * x * y + y**2)
    assert r.verdict is Verdict.VERIFIED
    assert "expand" in r.method and "seed" in r.method and r.points == 20 and r.dps == 50


def test_identity_needing_simplify():
    r = check_equal(sp.sin(x) ** 2 + sp.cos(x) ** 2, 1)
    assert r.verdict is Verdict.VERIFIED and "simplify" in r.method


def test_function_atom_canonical_form_proves_chain_rule():
    e = sigmoid(x * sigmoid(y))
    r = check_equal(sp.diff(e, y), sigmoid(x * sigmoid(y)) * (1 - sigmoid(x * sigmoid(y))) * x
                    * sigmoid(y) * (1 - sigmoid(y)))
    assert r.verdict is Verdict.VERIFIED and "function atoms" in r.method


def test_false_identity_refuted_with_replayable_counterexample():
    r = check_equal(sp.sin(x + y), sp.sin(x) + sp.sin(y), seed=3)
    assert r.verdict is Verdict.REFUTED
    assert "x" in r.counterexample and "y" in r.counterexample
    with mpmath.workdps(50):
        xv, yv = mpmath.mpf(r.counterexample["x"]), mpmath.mpf(r.counterexample["y"])
        assert abs(mpmath.sin(xv + yv) - mpmath.sin(xv) - mpmath.sin(yv)) > 1e-3


def test_tiny_difference_below_numeric_tolerance_is_still_refuted_symbolically():
    r = check_equal(sp.tanh(x) + sp.Rational(1, 10**30) * x**2, sp.tanh(x))
    assert r.verdict is Verdict.REFUTED


def test_transposed_matrix_refuted():
    a, b, c, d = sp.symbols("a b c d", real=True)
    W = sp.Matrix([[a, b], [c, d]])
    assert check_equal(W.T, W).verdict is Verdict.REFUTED
    assert check_equal(W * 2, W + W).verdict is Verdict.VERIFIED


def test_shape_mismatch_refuted():
    r = check_equal(sp.Matrix([x, y]), sp.Matrix([[x, y]]))
    assert r.verdict is Verdict.REFUTED and "shape" in r.method


def test_undecided_when_symbolic_tiers_skipped():
    r = check_equal(sp.sin(x) ** 2 + sp.cos(x) ** 2, 1, tiers=())
    assert r.verdict is Verdict.UNDECIDED and "numerically consistent" in r.method


def test_seed_changes_points_but_not_verdict():
    r1 = check_equal(sp.exp(x + y), sp.exp(x) * sp.exp(y), seed=1)
    r2 = check_equal(sp.exp(x + y), sp.exp(x) * sp.exp(y), seed=2)
    assert r1.verdict is r2.verdict is Verdict.VERIFIED and r1.seed != r2.seed


def test_supremum_true_and_false_claims():
    z = sp.Symbol("z", real=True)
    dsig = sp.diff(1 / (1 + sp.exp(-z)), z)
    # the checker derives the supremum itself (calculus certificate); a value is not a proof
    true = check_supremum(sp.Rational(1, 4), dsig, z)
    assert true.verdict is Verdict.VERIFIED and "calculus certificate" in true.method and true.proof
    half = check_supremum(sp.Rational(1, 2), dsig, z)
    assert half.verdict is Verdict.REFUTED and half.counterexample["derived"] == "1/4"
    eighth = check_supremum(sp.Rational(1, 8), dsig, z)
    assert eighth.verdict is Verdict.REFUTED and "value" in eighth.counterexample
    # no certificate (|sin| has infinitely many critical points): sampling only, never verified
    s = check_supremum(1, sp.sin(z), z, points=200)
    assert s.verdict is Verdict.SAMPLED and "no proof" in s.method


def test_inequality_checker_refutes_violations():
    def inst(rng):
        a = mpmath.mpf(repr(rng.uniform(0, 1)))
        return a * a, a  # a^2 <= a on [0, 1]
    assert check_inequality(inst, proof="a in [0,1]").verdict is Verdict.SAMPLED  # text: no proof

    def bad(rng):
        a = mpmath.mpf(repr(rng.uniform(0, 1)))
        return a, a * a
    assert check_inequality(bad, proof="wrong").verdict is Verdict.REFUTED


def test_checker_leaves_precision_unchanged():
    before = mpmath.mp.prec
    check_equal(x * y, y * x)
    assert mpmath.mp.prec == before


def test_json_form_is_complete():
    j = check_equal(x, x).to_json()
    assert set(j) == {"verdict", "method", "residual", "seed", "points", "dps", "counterexample", "warnings",
                      "conditions", "domain", "proof"}


# ---------------------------------------------------------------- false positives must not pass
# Each test below is a FALSE identity (or an unprovable one) built to slip through one tier.

def test_atoms_tier_never_opens_binding_constructs():
    """Subs(sigma(y), y, x) = sigma(x), not sigma(y): renaming sigma(y) inside the Subs and
    outside by the same symbol would make the difference vanish."""
    from gradproof.derivations.checker import _name_function_atoms, _polynomial_zero

    bad = sp.Subs(sigmoid(y), y, x) - sigmoid(y)
    assert not _polynomial_zero(_name_function_atoms(bad))
    r = check_equal(sp.Subs(sigmoid(y), y, x), sigmoid(y))
    assert r.verdict is Verdict.REFUTED and r.counterexample


def test_derivative_of_generic_activation_is_not_collapsed_to_zero():
    """act'(2x) * 2 == 0 is false; the atoms tier must not rewrite Derivative(act(u), u) into
    Derivative(<fresh symbol>, u) = 0. Without a numeric evaluation there is no verdict."""
    from gradproof.derivations.activations import generic_activation
    from gradproof.derivations.checker import _name_function_atoms, _polynomial_zero

    act = generic_activation()
    d = sp.diff(act(2 * x), x)
    assert not _polynomial_zero(_name_function_atoms(d))
    r = check_equal(d, 0)
    assert r.verdict is Verdict.UNDECIDED and "no numeric spot check possible" in r.method


def test_structurally_different_equal_atoms_do_not_give_false_positives():
    """sigma(2(x+y)) and sigma(2x+2y) become different atoms: only a missed proof, never a
    wrong one; with a real difference the verdict is REFUTED."""
    a = sigmoid(sp.Mul(2, x + y, evaluate=False))
    assert check_equal(a, sigmoid(2 * x + 2 * y)).verdict is not Verdict.REFUTED
    assert check_equal(a + x * 10**-30, sigmoid(2 * x + 2 * y)).verdict is Verdict.REFUTED


def test_float_rounding_cannot_cancel_a_small_difference():
    """A 30-digit Float is a binary number: 0.1 (30 digits) != 1/10 by ~2e-32, far below the
    numeric tolerance 1e-25. SymPy's Float arithmetic rounds that difference to 0, so the
    checker must compare exact rationals (it did VERIFY this before the fix)."""
    f = sp.Float("0.1", 30)
    assert f - sp.Rational(1, 10) == 0  # SymPy's own Float arithmetic: the trap
    r = check_equal(f * sigmoid(x), sigmoid(x) / 10)
    assert r.verdict is Verdict.REFUTED and any("Float" in w for w in r.warnings)
    g = sp.Float("0.1000000000000000000000000001", 30)  # off by 1e-28
    assert check_equal(g * sp.tanh(x), sp.tanh(x) / 10).verdict is Verdict.REFUTED
    # exact binary Floats still prove what is true
    assert check_equal(sp.Float(0.5) * sp.tanh(x) * 2, sp.tanh(x)).verdict is Verdict.VERIFIED


@pytest.mark.parametrize("tiny", [sp.Rational(1, 10**30), sp.Rational(1, 10**60)])
def test_wrong_expression_with_tiny_values_everywhere_is_refuted_not_verified(tiny):
    """In the core window the numeric tier cannot see a 1e-60 difference (tolerance 1e-25): the
    verdict comes from an exact symbolic tier with a high-precision confirmation, or (wide
    sampling, sigmoid(y) ~ e^(-10^12)) from a point where the difference dominates."""
    r = check_equal(sigmoid(x) * sigmoid(y) + tiny * sp.tanh(x) ** 3, sigmoid(x) * sigmoid(y))
    assert r.verdict is Verdict.REFUTED and ("stable at" in r.method or "confirmed at 200" in r.method)
    core = check_equal(sigmoid(x) * sigmoid(y) + tiny * sp.tanh(x) ** 3, sigmoid(x) * sigmoid(y),
                       wide=False)
    assert core.verdict is Verdict.REFUTED and "confirmed at 200 and 400 digits" in core.method


def test_relative_tolerance_does_not_hide_an_absolute_difference_on_large_values():
    r = check_equal(10**30 * sigmoid(x) + 1, 10**30 * sigmoid(x))
    assert r.verdict is Verdict.REFUTED


def test_fixed_values_are_stated_and_exact():
    """With c = 0 pinned, c*x == 0 holds only under that value: the method must say so."""
    c = sp.Symbol("c", real=True)
    r = check_equal(c * x, 0, fixed={c: 0})
    assert r.verdict is Verdict.CONDITIONAL and "c = 0 fixed" in r.method and r.conditions == ("c = 0",)
    assert check_equal(c * x, 0).verdict is Verdict.REFUTED
    # a pinned binary float is used exactly in both tiers: 0.1 * 10 != 1 exactly
    r = check_equal(10 * c * sigmoid(x), sigmoid(x), fixed={c: 0.1})
    assert r.verdict is Verdict.REFUTED


def test_non_finite_values_never_count_as_agreement():
    """mpmath's inf - inf is nan, and max() silently drops nan; a side that is nan at a sample
    point must not be 'numerically consistent'."""
    inf_minus_inf = sp.Add(sp.oo * sp.Abs(x), -sp.oo * sp.Abs(x), evaluate=False)
    r = check_equal(sp.Matrix([[x, inf_minus_inf]]), sp.Matrix([[x, 0]]))
    assert r.verdict is Verdict.UNDECIDED and "non-finite" in r.method


def test_positive_symbols_are_sampled_positive():
    """sqrt(s^2) = s holds for s > 0; sampling s < 0 would refute a true statement."""
    s_pos = sp.Symbol("s", positive=True)
    assert check_equal(sp.sqrt(s_pos**2), s_pos).verdict is Verdict.VERIFIED
    s_real = sp.Symbol("s", real=True)
    assert check_equal(sp.sqrt(s_real**2), s_real).verdict is Verdict.REFUTED


def test_sigmoid_closed_form_is_proven_not_left_undecided():
    r = check_equal(sigmoid(x + y), 1 / (1 + sp.exp(-x - y)))
    assert r.verdict is Verdict.VERIFIED
    assert check_equal(sigmoid(x + y), 1 / (1 + sp.exp(-x + y))).verdict is Verdict.REFUTED


def test_supremum_claim_is_not_rounded_to_the_true_value():
    """nsimplify(0.250000000001) is 1/4: the claim sup sigma' = 0.250000000001 is false and
    must not be VERIFIED by rounding it onto the derived 1/4."""
    z = sp.Symbol("z", real=True)
    dsig = sp.diff(1 / (1 + sp.exp(-z)), z)
    r = check_supremum(0.250000000001, dsig, z, proof=sp.Rational(1, 4))
    assert r.verdict is Verdict.REFUTED and "derived supremum" in r.method
    assert check_supremum(0.25, dsig, z, proof=sp.Rational(1, 4)).verdict is Verdict.VERIFIED
