"""The independent checker: verifies true identities, refutes false ones, reports undecided."""

import random

import mpmath
import sympy as sp

from derivations.activations import sigmoid
from derivations.checker import Verdict, check_equal, check_inequality, check_supremum

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
    assert check_supremum(sp.Rational(1, 4), dsig, z, proof=sp.Rational(1, 4)).verdict is Verdict.VERIFIED
    half = check_supremum(sp.Rational(1, 2), dsig, z)
    assert half.verdict is Verdict.REFUTED and "largest" in half.counterexample
    eighth = check_supremum(sp.Rational(1, 8), dsig, z)
    assert eighth.verdict is Verdict.REFUTED and "value" in eighth.counterexample
    assert check_supremum(sp.Rational(1, 4), dsig, z).verdict is Verdict.UNDECIDED  # no proof given


def test_inequality_checker_refutes_violations():
    def inst(rng):
        a = mpmath.mpf(repr(rng.uniform(0, 1)))
        return a * a, a  # a^2 <= a on [0, 1]
    assert check_inequality(inst, proof="a in [0,1]").verdict is Verdict.VERIFIED

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
    assert set(j) == {"verdict", "method", "residual", "seed", "points", "dps", "counterexample", "warnings"}
