"""The false-claims battery (issue 12): false statements of every kind the checker once accepted.

Each case is a FALSE statement with a TRUE twin. The false one must never come back VERIFIED
(nor CONDITIONAL, which reads as "proven under conditions"); the kinds say what is expected
instead (REFUTED where a counterexample or a proof of the opposite exists). The twin must
still be VERIFIED, so the battery cannot pass by a checker that refutes everything. Kinds:
noncommutative algebra, assumptions, tiny differences, huge magnitudes, suprema outside the
sampling window, narrow spikes, free-text proofs, fixed values. Independent oracles: the twins
are textbook identities; the false cases fail at explicit points (noted per case).
"""

from __future__ import annotations

import random

import mpmath
import pytest
import sympy as sp

from gradproof.derivations import proofs as L
from gradproof.derivations.activations import get_activation, sigmoid
from gradproof.derivations.checker import Verdict, check_equal, check_inequality, check_supremum

SEED = 1212
NOT_PROVEN = {Verdict.REFUTED, Verdict.UNDECIDED, Verdict.SAMPLED}

A, B, C = sp.symbols("A B C", commutative=False)
M, N = sp.MatrixSymbol("M", 3, 3), sp.MatrixSymbol("N", 3, 3)
n_dim = sp.Symbol("n", integer=True, positive=True)
P, Q = sp.MatrixSymbol("P", n_dim, n_dim), sp.MatrixSymbol("Q", n_dim, n_dim)
x, y = sp.symbols("x y", real=True)
xc = sp.Symbol("xc")  # no assumptions: complex
xp, yp = sp.symbols("xp yp", positive=True)
xn = sp.Symbol("xn", nonnegative=True)
k_int = sp.Symbol("k", integer=True)
z = sp.Symbol("z", real=True)
zp = sp.Symbol("zp", positive=True)


def _comm(a, b):
    return a * b - b * a


# (label, false (derived, reference), true twin (derived, reference))
EQUALITIES = {
    # noncommutative: every false case fails for random 3x3 matrices
    "nc: A B = B A": ((A * B, B * A), (A * B + B * A, B * A + A * B)),
    "nc: A B C = C B A": ((A * B * C, C * B * A), (A * (B * C), (A * B) * C)),
    "nc: x A B = x B A": ((x * A * B, x * B * A), (x * A * B, A * x * B)),
    "nc: (A+B)^2 binomial": (((A + B) ** 2, A**2 + 2 * A * B + B**2), ((A + B) ** 2, A**2 + A * B + B * A + B**2)),
    "nc: A B - B A = 0": ((A * B - B * A, 0), (_comm(A, B) + _comm(B, A), 0)),
    "nc: (A+B)(A-B) = A^2 - B^2": (((A + B) * (A - B), A**2 - B**2), ((A + B) * (A - B), A**2 - A * B + B * A - B**2)),
    "nc: (A B)^2 = A^2 B^2": (((A * B) ** 2, A**2 * B**2), ((A * B) ** 2, A * B * A * B)),
    "nc: A B A = A^2 B": ((A * B * A, A**2 * B), (A * B * A, A * (B * A))),
    "nc: (A-B)^2 binomial": (((A - B) ** 2, A**2 - 2 * A * B + B**2), ((A - B) ** 2, A**2 - A * B - B * A + B**2)),
    "nc: Jacobi with a wrong sign": ((_comm(A, _comm(B, C)) - _comm(B, _comm(C, A)) + _comm(C, _comm(A, B)), 0),
                                     (_comm(A, _comm(B, C)) + _comm(B, _comm(C, A)) + _comm(C, _comm(A, B)), 0)),
    "nc: x A y B = x y B A": ((x * A * y * B, x * y * B * A), (x * A * y * B, x * y * A * B)),
    "nc: (A+B)^3 commutative expansion": (((A + B) ** 3, A**3 + 3 * A**2 * B + 3 * A * B**2 + B**3),
                                          ((A + B) ** 3, (A + B) * (A + B) * (A + B))),
    "matrix: M N = N M": ((M * N, N * M), (M * N * M, M * (N * M))),
    "matrix: (M+N)^2 binomial": (((M + N) ** 2, M**2 + 2 * M * N + N**2), ((M + N) ** 2, M**2 + M * N + N * M + N**2)),
    "matrix: (M N)^T = M^T N^T": (((M * N).T, M.T * N.T), ((M * N).T, N.T * M.T)),
    "matrix n x n: P Q = Q P": ((P * Q, Q * P), ((P + Q) * P, P**2 + Q * P)),
    "matrix n x n: (P+Q)^2 binomial": (((P + Q) ** 2, P**2 + 2 * P * Q + Q**2), ((P + Q) ** 2, P**2 + P * Q + Q * P + Q**2)),
    # assumptions: each false case fails inside the declared domain
    "assume: sqrt(x^2) = x, x real (x = -1)": ((sp.sqrt(x**2), x), (sp.sqrt(xp**2), xp)),
    "assume: |x| = x, x real (x = -1)": ((sp.Abs(x), x), (sp.Abs(xn), xn)),
    "assume: sqrt(xy) = sqrt(x) sqrt(y), real (x = y = -1)": ((sp.sqrt(x * y), sp.sqrt(x) * sp.sqrt(y)),
                                                               (sp.sqrt(xp * yp), sp.sqrt(xp) * sp.sqrt(yp))),
    "assume: log(xy) = log x + log y, real (x = y = -1)": ((sp.log(x * y), sp.log(x) + sp.log(y)),
                                                           (sp.log(xp * yp), sp.log(xp) + sp.log(yp))),
    "assume: |x|^2 = x^2, x complex (x = i)": ((sp.Abs(xc) ** 2, xc**2), (sp.Abs(x) ** 2, x**2)),
    "assume: log(exp(x)) = x, x complex (x = 4i)": ((sp.log(sp.exp(xc)), xc), (sp.log(sp.exp(x)), x)),
    "assume: sin(pi k) = 0, k real (k = 1/2)": ((sp.sin(sp.pi * x), 0), (sp.sin(sp.pi * k_int), 0)),
    "assume: cos(2 pi k) = 1, k real (k = 1/2)": ((sp.cos(2 * sp.pi * x), 1), (sp.cos(2 * sp.pi * k_int), 1)),
    "assume: floor(x) = x, x real (x = 1/2)": ((sp.floor(x), x), (sp.floor(k_int), k_int)),
    "assume: (-1)^k = 1, k integer (k = 1)": (((-1) ** k_int, 1), ((-1) ** (2 * k_int), 1)),
    "assume: re(x) = x, x complex": ((sp.re(xc), xc), (sp.re(x), x)),
    "assume: conj(x) = x, x complex": ((sp.conjugate(xc), xc), (sp.conjugate(x), x)),
    "assume: |x y| = x y, y real (y = -1)": ((sp.Abs(xp * y), xp * y), (sp.Abs(xp * yp), xp * yp)),
    "assume: (x^2)^(1/2) ... (x^(3/2))^2 = x^3, x real": (((x**2) ** sp.Rational(3, 2), x**3),
                                                         ((xp**2) ** sp.Rational(3, 2), xp**3)),
    # tiny differences: relative 1e-30 .. 1e-60, below the numeric tolerance in the core window
    "tiny: tanh + 1e-30 x^2": ((sp.tanh(x) + sp.Rational(1, 10**30) * x**2, sp.tanh(x)),
                               (sp.tanh(x) + 0 * x**2, sp.tanh(x))),
    "tiny: sigmoid + 1e-60": ((sigmoid(x) + sp.Rational(1, 10**60), sigmoid(x)), (sigmoid(x) * 1, sigmoid(x))),
    "tiny: 30-digit Float 0.1": ((sp.Float("0.1", 30) * sigmoid(x), sigmoid(x) / 10),
                                 (sp.Float(0.5) * sigmoid(x) * 2, sigmoid(x))),
    "tiny: (1 + 1e-40) exp(x)": (((1 + sp.Rational(1, 10**40)) * sp.exp(x), sp.exp(x)),
                                 (sp.exp(x) * sp.exp(y), sp.exp(x + y))),
    "tiny: sin^2 + cos^2 = 1 + 1e-45": ((sp.sin(x) ** 2 + sp.cos(x) ** 2, 1 + sp.Rational(1, 10**45)),
                                        (sp.sin(x) ** 2 + sp.cos(x) ** 2, 1)),
    "tiny: sqrt(2) = its 50-digit rational": ((sp.sqrt(2), sp.Rational(sp.N(sp.sqrt(2), 50))), (sp.sqrt(2) ** 2, 2)),
    "tiny: x^2 + 1e-35 x": ((x**2 + sp.Rational(1, 10**35) * x, x**2), (x * (x + y), x**2 + x * y)),
    "tiny: sigma(x) sigma(y) + 1e-60 tanh^3": ((sigmoid(x) * sigmoid(y) + sp.Rational(1, 10**60) * sp.tanh(x) ** 3,
                                               sigmoid(x) * sigmoid(y)),
                                              (sigmoid(x) * sigmoid(y), sigmoid(y) * sigmoid(x))),
    "tiny: Float off by 1e-28": ((sp.Float("0.1000000000000000000000000001", 30) * sp.tanh(x), sp.tanh(x) / 10),
                                 (sp.Float("0.25", 30) * 4 * sp.tanh(x), sp.tanh(x))),
    # huge magnitudes: false by 1 against terms of 1e30 .. 1e120; twins cancel huge terms exactly
    "huge: (x + 1e60)^2 expansion off by 1": (((x + 10**60) ** 2 - 10**120 - 2 * 10**60 * x, x**2 + 1),
                                              ((x + 10**60) ** 2 - 10**120 - 2 * 10**60 * x, x**2)),
    "huge: 1e30 sigma(x) + 1": ((10**30 * sigmoid(x) + 1, 10**30 * sigmoid(x)),
                                (10**30 * (sigmoid(x) + sigmoid(-x)), 10**30)),
    "huge: (x + 1e40)(x - 1e40) off by 1": (((x + 10**40) * (x - 10**40), x**2 - 10**80 + 1),
                                            ((x + 10**40) * (x - 10**40), x**2 - 10**80)),
    "huge: exp(x + 100) = exp(x) exp(100) + 1": ((sp.exp(x + 100), sp.exp(x) * sp.exp(100) + 1),
                                                 (sp.exp(x + 100), sp.exp(x) * sp.exp(100))),
    "huge: (x + 1e20)^4 expansion off by x": (((x + 10**20) ** 4, sp.expand((x + 10**20) ** 4) + x),
                                              ((x + 10**20) ** 4, sp.expand((x + 10**20) ** 4))),
    "huge: 1e50 (x+1)^2 - 1e50 x^2 off by 1": ((10**50 * (x + 1) ** 2 - 10**50 * x**2, 10**50 * (2 * x + 1) + 1),
                                               (10**50 * (x + 1) ** 2 - 10**50 * x**2, 10**50 * (2 * x + 1))),
    "huge: tanh(1e30 x) identity off by 1e-30": ((1 - sp.tanh(10**30 * x) ** 2 + sp.Rational(1, 10**30),
                                                  sp.diff(sp.tanh(10**30 * x), x) / 10**30),
                                                 (1 - sp.tanh(10**30 * x) ** 2, sp.diff(sp.tanh(10**30 * x), x) / 10**30)),
}


@pytest.mark.parametrize("label", sorted(EQUALITIES))
def test_false_equality_is_not_verified(label):
    (fa, fb), _ = EQUALITIES[label]
    r = check_equal(fa, fb, seed=SEED)
    assert r.verdict in NOT_PROVEN, (label, r.method)
    if label.startswith(("nc:", "matrix")) or label.startswith("assume"):
        assert r.verdict is Verdict.REFUTED and r.counterexample, (label, r.method)
    if label.startswith(("tiny", "huge")):
        assert r.verdict is Verdict.REFUTED, (label, r.method)


@pytest.mark.parametrize("label", sorted(EQUALITIES))
def test_true_twin_is_verified(label):
    _, (ta, tb) = EQUALITIES[label]
    r = check_equal(ta, tb, seed=SEED)
    assert r.verdict is Verdict.VERIFIED, (label, r.method)


def test_matrix_counterexample_replays():
    """The counterexample of A B = B A holds the two matrices; multiplying them again (numpy,
    an independent evaluator) shows A B != B A."""
    import numpy as np

    r = check_equal(A * B, B * A, seed=SEED)
    ma, mb = (np.array(eval(r.counterexample[s]), dtype=float) for s in ("A", "B"))  # noqa: S307 - our own repr of numbers
    assert np.abs(ma @ mb - mb @ ma).max() > 1e-3


def test_floor_plus_ceiling_depends_on_the_integer_assumption():
    n_int, n_real = sp.Symbol("n", integer=True), sp.Symbol("n", real=True)
    assert check_equal(sp.floor(n_int / 2) + sp.ceiling(n_int / 2), n_int, seed=SEED).verdict in (
        Verdict.VERIFIED, Verdict.UNDECIDED)
    assert check_equal(sp.floor(n_real / 2) + sp.ceiling(n_real / 2), n_real, seed=SEED).verdict is Verdict.REFUTED


def test_unsampleable_assumption_gives_no_verdict():
    t = sp.Symbol("t", transcendental=True)
    assert check_equal(t - t + sp.sin(t), sp.sin(t)).verdict is Verdict.UNDECIDED


def test_unfaithful_matrix_function_is_undecided():
    """exp(A) of a noncommutative symbol has no faithful matrix evaluation here: never verified."""
    r = check_equal(sp.exp(A) * sp.exp(B), sp.exp(A + B), seed=SEED)
    assert r.verdict is Verdict.UNDECIDED


# ------------------------------------------------------------------ suprema
# (label, function, variable, false claim, true supremum); the false claims are the largest
# value inside the [-20, 20] sampling window or a value that misses a narrow spike
SUPREMA = {
    "window: z e^(-z/50), max at z = 50": (zp * sp.exp(-zp / 50), zp, 20 * sp.exp(-sp.Rational(2, 5)), 50 * sp.exp(-1)),
    "window: z^2 e^(-z/30), max at z = 60": (zp**2 * sp.exp(-zp / 30), zp, 400 * sp.exp(-sp.Rational(2, 3)),
                                             3600 * sp.exp(-2)),
    "window: Lorentzian at z = 100": (1 / (1 + (z - 100) ** 2), z, sp.Rational(1, 6401), 1),
    "window: z/(1 + z^2/10^4), max at |z| = 100": (z / (1 + z**2 / 10**4), z, 20 / sp.Rational(104, 100), 50),
    "window: Gaussian at z = 40": (sp.exp(-(z - 40) ** 2), z, sp.exp(-400), 1),
    "window: sigma' shifted to z = 100": (sp.exp(-(z - 100)) / (1 + sp.exp(-(z - 100))) ** 2, z,
                                         sp.exp(-80) / (1 + sp.exp(-80)) ** 2, sp.Rational(1, 4)),
    "spike: Lorentzian width 1e-6 at 1/3": (1 / (1 + 10**12 * (z - sp.Rational(1, 3)) ** 2), z, sp.Rational(1, 2), 1),
    "spike: Gaussian width 1e-4 at sqrt(2), height 3": (3 * sp.exp(-(10**8) * (z - sp.sqrt(2)) ** 2), z,
                                                         sp.Rational(1, 100), 3),
    "spike: Lorentzian at pi, height 5": (5 / (1 + 10**10 * (z - sp.pi) ** 2), z, sp.Rational(1, 10), 5),
    "spike: Lorentzian at 7.05, claim 0.999 of the height": (2 / (1 + 10**14 * (z - sp.Rational(141, 20)) ** 2), z,
                                                             sp.Rational(1998, 1000), 2),
    "spike: positive variable, peak at 1e-3": (1 / (1 + 10**12 * (zp - sp.Rational(1, 1000)) ** 2), zp,
                                               sp.Rational(9, 10), 1),
}


@pytest.mark.parametrize("label", sorted(SUPREMA))
def test_false_supremum_outside_window_or_at_spike_is_refuted(label):
    f, v, false, _ = SUPREMA[label]
    r = check_supremum(false, f, v, seed=SEED, points=300)
    assert r.verdict is Verdict.REFUTED, (label, r.method)


@pytest.mark.parametrize("label", sorted(SUPREMA))
def test_true_supremum_twin_is_verified(label):
    f, v, _, true = SUPREMA[label]
    r = check_supremum(true, f, v, seed=SEED, points=300)
    assert r.verdict is Verdict.VERIFIED and r.proof, (label, r.method)


def test_claimed_value_is_not_its_own_proof():
    """A supremum claim handed its own value as proof: the value is ignored (warning) and the
    claim is decided by the certificate; without any certificate it is only sampled."""
    f = 1 / (1 + 10**12 * (z - sp.Rational(1, 3)) ** 2)
    r = check_supremum(sp.Rational(1, 2), f, z, seed=SEED, points=300, proof=sp.Rational(1, 2))
    assert r.verdict is Verdict.REFUTED and any("not a proof" in w for w in r.warnings)
    s = check_supremum(1, sp.sin(z) * sp.exp(-z**2 / 1000), z, seed=SEED, points=300, proof=1)
    assert s.verdict in (Verdict.SAMPLED, Verdict.VERIFIED)  # never verified by the value itself
    if s.verdict is Verdict.SAMPLED:
        assert "no proof" in s.method


# ------------------------------------------------------------------ inequalities and proofs

def _draw(expr_l, expr_r, syms, lo=-3.0, hi=3.0):
    fl = sp.lambdify(syms, expr_l, "mpmath")
    fr = sp.lambdify(syms, expr_r, "mpmath")

    def draw(rng):
        vals = [mpmath.mpf(repr(rng.uniform(lo if not s.is_nonnegative else 0, hi))) for s in syms]
        return fl(*vals), fr(*vals)

    return draw


a_r, b_r = sp.symbols("a b", real=True)
a_p, b_p = sp.symbols("a_p b_p", positive=True)


def _triangle_proof():
    return L.Proof((L.triangle([a_r, b_r]),)), sp.Le(sp.Abs(a_r + b_r), sp.Abs(a_r) + sp.Abs(b_r))


def _power_proof():
    H = sp.Le(a_p, b_p)
    return L.Proof((L.power_monotone(L.hypothesis(H), 3),)), sp.Implies(H, sp.Le(a_p**3, b_p**3))


def _sigmoid_proof():
    H = sp.Le(a_r, b_r)
    sig = lambda u: 1 / (1 + sp.exp(-u))  # noqa: E731
    w = sp.Symbol("w", real=True)
    return L.Proof((L.increasing(sig, w, L.hypothesis(H)),)), sp.Implies(H, sp.Le(sig(a_r), sig(b_r)))


def _pascanu_proof():
    from gradproof.derivations.bounds import pascanu_norm_bound

    bp = pascanu_norm_bound(get_activation("sigmoid"), 2)
    return bp.proof, bp.claim


def _sum_proof():
    f1, f2 = L.hypothesis(sp.Le(a_r, 1)), L.hypothesis(sp.Le(b_r, 2))
    H = sp.And(sp.Le(a_r, 1), sp.Le(b_r, 2))
    return L.Proof((L.rewrite(L.sum_of_bounds([f1, f2]), 3),)), sp.Implies(H, sp.Le(a_r + b_r, 3))


def _sorted_draw(expr_l, expr_r, lo, hi):
    """Instances of a <= b (a, b uniform in [lo, hi], sorted) for the implication a <= b => ..."""
    fl = sp.lambdify([a_r, b_r], expr_l, "mpmath")
    fr = sp.lambdify([a_r, b_r], expr_r, "mpmath")

    def draw(rng):
        u, v = sorted(mpmath.mpf(repr(rng.uniform(lo, hi))) for _ in range(2))
        return fl(u, v), fr(u, v)

    return draw


def _bounded_draw(rng):
    return (mpmath.mpf(repr(rng.uniform(-3, 1))) + mpmath.mpf(repr(rng.uniform(-3, 2))), mpmath.mpf(3))


_TRIANGLE = (_draw(sp.Abs(a_r + b_r), sp.Abs(a_r) + sp.Abs(b_r), [a_r, b_r]), _triangle_proof)
_POWER = (_sorted_draw(a_r**3, b_r**3, 0.01, 3), _power_proof)
_SIGMOID = (_sorted_draw(1 / (1 + sp.exp(-a_r)), 1 / (1 + sp.exp(-b_r)), -5, 5), _sigmoid_proof)
_SUM = (_bounded_draw, _sum_proof)
_PASCANU = (None, _pascanu_proof)

# (label, false draw + free-text proof, (true draw, checked proof builder))
INEQUALITIES = {
    "free text: x^3 <= x^2 'obvious' (x = 2)": (_draw(x**3, x**2, [x]), "obvious", _POWER),
    "free text: sin x <= x for all x 'Taylor' (x = -1)": (_draw(sp.sin(x), x, [x]), "Taylor", _TRIANGLE),
    "free text: (a+b)^2 <= a^2 + b^2 'trivial' (a = b = 1)": (_draw((a_r + b_r) ** 2, a_r**2 + b_r**2, [a_r, b_r]),
                                                              "trivial", _POWER),
    "free text: sigma(x) <= 1/2 'bounded' (x = 1)": (_draw(1 / (1 + sp.exp(-x)), sp.Rational(1, 2), [x]),
                                                     "sigmoid is bounded", _SIGMOID),
    "free text: |a + b| <= |a| 'triangle' (a = 0, b = 1)": (_draw(sp.Abs(a_r + b_r), sp.Abs(a_r), [a_r, b_r]),
                                                            "triangle inequality", _TRIANGLE),
    "free text: e^x <= 1 + x 'convexity' (x = 1)": (_draw(sp.exp(x), 1 + x, [x]), "convexity", _SUM),
    "free text: a + b <= 2 given a <= 1, b <= 2 (a = 1, b = 2)": (
        _draw(a_r + b_r, 2, [a_r, b_r], 0.9, 2.0), "add the bounds", _SUM),
    "free text: ||J_2 J_1|| <= gamma^2 (sigmoid)": (None, "submultiplicativity", _PASCANU),
}


def _norm_bound_draw(rng):
    """||diag(s'(z_2)) W diag(s'(z_1)) W|| vs gamma^2 = 1/16 for a strong W (2x2, ||W|| ~ 8)."""
    W = mpmath.matrix([[mpmath.mpf(repr(rng.uniform(6, 10))), 0], [0, mpmath.mpf(repr(rng.uniform(6, 10)))]])
    d = lambda: mpmath.diag([mpmath.mpf(1) / 4, mpmath.mpf(1) / 4])  # noqa: E731 - z = 0
    P = d() * W * d() * W
    return max(mpmath.svd_r(P, compute_uv=False)), mpmath.mpf(1) / 16


@pytest.mark.parametrize("label", sorted(INEQUALITIES))
def test_false_inequality_with_free_text_proof_is_refuted(label):
    draw, text, _ = INEQUALITIES[label]
    draw = draw or _norm_bound_draw
    r = check_inequality(draw, proof=text, seed=SEED, points=30, dps=30)
    assert r.verdict is Verdict.REFUTED, (label, r.method)


@pytest.mark.parametrize("label", sorted(INEQUALITIES))
def test_true_inequality_needs_a_checked_proof(label):
    _, _, (draw, build) = INEQUALITIES[label]
    proof, claim = build()
    if draw is None:
        draw = lambda rng: (mpmath.mpf(0), mpmath.mpf(1))  # noqa: E731 - the proof decides
    text = check_inequality(draw, proof="it is well known", claim=claim, seed=SEED, points=5, dps=30)
    assert text.verdict is Verdict.SAMPLED and "no checked proof" in text.method
    r = check_inequality(draw, proof=proof, claim=claim, seed=SEED, points=5, dps=30)
    assert r.verdict is Verdict.VERIFIED and r.proof, (label, r.method, r.warnings)


def test_proof_with_a_failed_side_condition_gives_no_verdict():
    """power_monotone needs a >= 0: for a real (possibly negative) a the lemma's side
    condition is undecided, so a <= b => a^2 <= b^2 (false: a = -3, b = 1) is not proven."""
    H = sp.Le(a_r, b_r)
    proof = L.Proof((L.power_monotone(L.hypothesis(H), 2),))
    assert not proof.valid
    r = check_inequality(_draw(a_r**2, b_r**2, [a_r, b_r]), proof=proof,
                         claim=sp.Implies(H, sp.Le(a_r**2, b_r**2)), seed=SEED, points=30)
    assert r.verdict in (Verdict.REFUTED, Verdict.SAMPLED)


def test_chain_with_mismatched_middle_terms_is_invalid():
    f1 = L.hypothesis(sp.Le(a_r, 1))
    f2 = L.hypothesis(sp.Le(2, b_r + 1))
    assert not L.chain(f1, f2).valid  # 1 != 2: a <= 1, 2 <= b + 1 says nothing about a <= b + 1


def test_hypotheses_not_in_the_claim_make_it_conditional():
    f = L.hypothesis(sp.Le(a_p, b_p))
    proof = L.Proof((L.power_monotone(f, 3),))
    r = check_inequality(lambda rng: (mpmath.mpf(0), mpmath.mpf(1)), proof=proof,
                         claim=sp.Le(a_p**3, b_p**3), seed=SEED, points=2)
    assert r.verdict is Verdict.CONDITIONAL and r.conditions == ("a_p <= b_p",)


# ------------------------------------------------------------------ fixed values
c_s, w_s, e_s = sp.symbols("c w e", real=True)
FIXED = {
    "fixed: x y = x with y = 1": ((x * y, x, {y: 1}), (x * 1, x)),
    "fixed: c x = 0 with c = 0": ((c_s * x, 0, {c_s: 0}), ((c_s - c_s) * x, 0)),
    "fixed: sigma(w x) = sigma(x) with w = 1": ((sigmoid(w_s * x), sigmoid(x), {w_s: 1}), (sigmoid(1 * x), sigmoid(x))),
    "fixed: x^e = x with e = 1": ((x**e_s, x, {e_s: 1}), (x**1, x)),
    "fixed: c A B = A B with c = 1": ((c_s * A * B, A * B, {c_s: 1}), (1 * A * B, A * B)),
    "fixed: tanh(x + c) = tanh(x) with c = 0": ((sp.tanh(x + c_s), sp.tanh(x), {c_s: 0}), (sp.tanh(x + 0), sp.tanh(x))),
}


@pytest.mark.parametrize("label", sorted(FIXED))
def test_fixed_values_make_a_claim_conditional_not_verified(label):
    (fa, fb, fixed), _ = FIXED[label]
    r = check_equal(fa, fb, seed=SEED, fixed=fixed)
    assert r.verdict is Verdict.CONDITIONAL and r.conditions, (label, r.method)
    assert check_equal(fa, fb, seed=SEED).verdict is Verdict.REFUTED, label


@pytest.mark.parametrize("label", sorted(FIXED))
def test_fixed_twin_substituted_is_verified(label):
    _, (ta, tb) = FIXED[label]
    assert check_equal(ta, tb, seed=SEED).verdict is Verdict.VERIFIED, label


def test_a_fixed_value_that_breaks_the_identity_refutes():
    r = check_equal(10 * c_s * sigmoid(x), sigmoid(x), fixed={c_s: 0.1}, seed=SEED)
    assert r.verdict is Verdict.REFUTED


def test_battery_size():
    """At least 80 false cases, each with a true twin."""
    pairs = len(EQUALITIES) + len(SUPREMA) + len(INEQUALITIES) + len(FIXED)
    assert pairs >= 70  # plus the cases of test_false_claims.py (one-step Jacobians, suprema, LSTM, ...)


def test_same_seed_same_matrix_counterexample():
    r1 = check_equal(A * B * C, C * B * A, seed=SEED)
    r2 = check_equal(A * B * C, C * B * A, seed=SEED)
    assert r1.counterexample == r2.counterexample and random.Random(SEED).random() == random.Random(SEED).random()


def test_instantiate_respects_the_domain_of_the_variable():
    """|1/(1+z)| <= 1 holds for z > 0 (calculus certificate); instantiating it at a real x
    (x = -1/2 gives 2) must not be valid."""
    fact = L.sup_bound(1 / (1 + zp), zp)
    assert fact.valid and fact.rhs == 1
    assert not L.instantiate(fact, zp, x).valid
    assert L.instantiate(fact, zp, xp).valid


def test_square_of_a_complex_symbol_is_not_nonnegative():
    assert L.nonnegative(x**2)[0] == "verified"
    assert L.nonnegative(xc**2)[0] != "verified"  # xc = i gives -1


def test_induction_needs_a_hypothesis_free_step_and_the_right_bound():
    from gradproof.derivations.bounds import pascanu_norm_bound_all_k

    nn = sp.Symbol("n", integer=True, positive=True)
    kk = sp.Symbol("k", integer=True, nonnegative=True)
    W, D, Pk = (sp.MatrixSymbol(s, nn, nn) for s in ("W", "D", "P"))
    assumed = L.hypothesis(sp.Le(L.opnorm(D * W), sp.Rational(1, 2)))  # not proven: a hypothesis
    assert not L.product_norm_induction(assumed, D * W, Pk, kk).valid
    bp = pascanu_norm_bound_all_k(get_activation("tanh"))
    wrong = sp.Le(bp.claim.lhs, bp.symbols["s"] ** (bp.symbols["k"] + 1))  # ||W||^(k+1): not the chain's bound
    assert not bp.proof.establishes(wrong)[0]
    assert bp.proof.establishes(bp.claim)[0]
