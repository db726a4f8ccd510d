"""A battery of FALSE statements that the checker must refute.

A checker that accepts a false claim is the worst defect gradproof can have. Every case below
is a plausible mistake (several are in the tutorial or in the literature); each is fed to the
lead's checker (``check_equal`` / ``check_supremum`` / ``check_inequality``) against an
independent reference (SymPy's own derivative of the unrolled network, mpmath sampling), and
must come back REFUTED. Each false case has a true twin that must come back VERIFIED, so the
battery cannot pass by a checker that refutes everything.
"""

from __future__ import annotations

import random

import mpmath
import pytest
import sympy as sp

from gradproof.derivations.activations import sigmoid
from gradproof.derivations.checker import Verdict, check_equal, check_inequality, check_supremum

SEED = 1994


def _mat(name, r, c):
    return sp.Matrix(r, c, lambda i, j: sp.Symbol(f"{name}_{i}{j}", real=True))


def _vec(name, n):
    return sp.Matrix(n, 1, lambda i, _: sp.Symbol(f"{name}_{i}", real=True))


def sp_sig_prime(z):
    return sigmoid(z) * (1 - sigmoid(z))


def sp_tanh_prime(z):
    return 1 - sp.tanh(z) ** 2


def rnn_cell(act, n=2):
    W_rec, W_in = _mat("W_rec", n, n), _mat("W_in", n, 1)
    c_prev, x = _vec("c_prev", n), sp.Matrix([sp.Symbol("x", real=True)])
    z = W_rec * c_prev + W_in * x
    return W_rec, c_prev, z, z.applyfunc(act)


def one_step_cases():
    """(label, derived, reference) for the RNN one-step Jacobian; references by Matrix.jacobian."""
    W, c_prev, z, c_sig = rnn_cell(sigmoid)
    ref_sig = c_sig.jacobian(c_prev)
    _, _, _, c_tanh = rnn_cell(sp.tanh)
    ref_tanh = c_tanh.jacobian(c_prev)
    D_sig = sp.diag(*[sp_sig_prime(zi) for zi in z])
    D_tanh = sp.diag(*[sp_tanh_prime(zi) for zi in z])
    false = {
        "W_rec transposed (Pascanu erratum)": (D_sig * W.T, ref_sig),
        "missing act' (dc_t/dc_{t-1} = W_rec)": (W, ref_sig),
        "act' on the right (W_rec diag(act'))": (W * D_sig, ref_sig),
        "tanh' in a sigmoid model": (D_tanh * W, ref_sig),
        "sigma' in a tanh model": (D_sig * W, ref_tanh),
        "sigma' = sigma(1 + sigma)": (sp.diag(*[sigmoid(zi) * (1 + sigmoid(zi)) for zi in z]) * W, ref_sig),
        "tanh' = 1 - tanh": (sp.diag(*[1 - sp.tanh(zi) for zi in z]) * W, ref_tanh),
        "act' evaluated at the state, not the pre-activation":
            (sp.diag(*[sp_sig_prime(ci) for ci in c_prev]) * W, ref_sig),
    }
    true = {"sigmoid": (D_sig * W, ref_sig), "tanh": (D_tanh * W, ref_tanh)}
    return false, true


FALSE_ONE_STEP, TRUE_ONE_STEP = one_step_cases()


@pytest.mark.parametrize("label", sorted(FALSE_ONE_STEP))
def test_false_one_step_jacobian_is_refuted(label):
    derived, reference = FALSE_ONE_STEP[label]
    r = check_equal(derived, reference, seed=SEED)
    assert r.verdict is Verdict.REFUTED, (label, r.method)
    assert r.counterexample  # a replayable point is attached
    assert f"seed {SEED}" in r.method


@pytest.mark.parametrize("label", sorted(TRUE_ONE_STEP))
def test_true_one_step_jacobian_is_verified(label):
    derived, reference = TRUE_ONE_STEP[label]
    assert check_equal(derived, reference, seed=SEED).verdict is Verdict.VERIFIED


def _two_step():
    """c_2 of a 2-d tanh RNN and the one-step Jacobians J_1, J_2 (non-commuting)."""
    n = 2
    W, U = _mat("W", n, n), _mat("U", n, 1)
    c0 = _vec("c0", n)
    x1, x2 = sp.symbols("x1 x2", real=True)
    z1 = W * c0 + U * x1
    c1 = z1.applyfunc(sp.tanh)
    z2 = W * c1 + U * x2
    c2 = z2.applyfunc(sp.tanh)
    J1 = sp.diag(*[sp_tanh_prime(z) for z in z1]) * W
    J2 = sp.diag(*[sp_tanh_prime(z) for z in z2]) * W
    return c0, c2, J1, J2


def test_product_in_wrong_order_is_refuted_and_right_order_verified():
    c0, c2, J1, J2 = _two_step()
    reference = c2.jacobian(c0)
    # the two factors do not commute: the order matters
    assert check_equal(J1 * J2, J2 * J1, seed=SEED, tiers=()).verdict is Verdict.REFUTED
    assert check_equal(J1 * J2, reference, seed=SEED, tiers=()).verdict is Verdict.REFUTED
    assert check_equal(J2 * J1, reference, seed=SEED, tiers=("expand",)).verdict is Verdict.VERIFIED


def test_bptt_single_chain_is_refuted_sum_verified():
    """The article's one chain through dc_1/dW misses the short-range terms."""
    w, u, c0, y, x1, x2 = sp.symbols("w u c0 y x1 x2", real=True)
    z1 = w * c0 + u * x1
    c1 = sigmoid(z1)
    z2 = w * c1 + u * x2
    c2 = sigmoid(z2)
    reference = sp.diff((c2 - y) ** 2 / 2, w)
    chain = (c2 - y) * sp_sig_prime(z2) * w * sp_sig_prime(z1) * c0
    full = chain + (c2 - y) * sp_sig_prime(z2) * c1
    assert check_equal(chain, reference, seed=SEED).verdict is Verdict.REFUTED
    assert check_equal(full, reference, seed=SEED).verdict is Verdict.VERIFIED


z = sp.Symbol("z", real=True)
SIG_PRIME = sp.diff(1 / (1 + sp.exp(-z)), z)
TANH_PRIME = sp.diff(sp.tanh(z), z)


@pytest.mark.parametrize("label,claimed,func", [
    ("sigmoid' bound 1/2", sp.Rational(1, 2), SIG_PRIME),
    ("sigmoid' bound 1", sp.Integer(1), SIG_PRIME),
    ("sigmoid' bound 1/8 (too small)", sp.Rational(1, 8), SIG_PRIME),
    ("tanh' gamma 1/4", sp.Rational(1, 4), TANH_PRIME),
    ("tanh' gamma 1/2", sp.Rational(1, 2), TANH_PRIME),
    ("tanh' strictly below 0.999", sp.Rational(999, 1000), TANH_PRIME),
    ("sigmoid' max at z = 1", SIG_PRIME.subs(z, 1), SIG_PRIME),
    ("tanh' max at z = 1/2", TANH_PRIME.subs(z, sp.Rational(1, 2)), TANH_PRIME),
])
def test_false_supremum_is_refuted(label, claimed, func):
    r = check_supremum(claimed, func, z, seed=SEED, points=300)
    assert r.verdict is Verdict.REFUTED, (label, r.method)


@pytest.mark.parametrize("claimed,func", [(sp.Rational(1, 4), SIG_PRIME), (sp.Integer(1), TANH_PRIME)])
def test_true_supremum_is_not_refuted(claimed, func):
    r = check_supremum(claimed, func, z, seed=SEED, points=300)
    assert r.verdict is Verdict.VERIFIED


def _lstm_scalar():
    Uf, Ui, Uc, Vf, Vi, Vc, x, o, c = sp.symbols("U_f U_i U_c V_f V_i V_c x o c", real=True)
    h = o * sp.tanh(c)
    zf, zi, zc = Uf * h + Vf * x, Ui * h + Vi * x, Uc * h + Vc * x
    f, i, g = sigmoid(zf), sigmoid(zi), sp.tanh(zc)
    c_t = f * c + i * g
    P = o * sp_tanh_prime(c)
    A = c * sp_sig_prime(zf) * Uf * P
    C = g * sp_sig_prime(zi) * Ui * P
    D = i * sp_tanh_prime(zc) * Uc * P
    return dict(ref=sp.diff(c_t, c), A=A, B=f, C=C, D=D, f=f, zc=zc, i=i, Uc=Uc, P=P)


def test_lstm_false_cell_jacobians_are_refuted():
    L = _lstm_scalar()
    ref = L["ref"]
    D_sigma = L["i"] * sp_sig_prime(L["zc"]) * L["Uc"] * L["P"]  # the article's D_t
    false = {
        "forget term only (dc_t/dc_{t-1} = f_t)": L["B"],
        "forget term multiplicatively: f_t (A + C + D)": L["f"] * (L["A"] + L["C"] + L["D"]),
        "forget term multiplicatively: f_t (1 + A + C + D)": L["f"] * (1 + L["A"] + L["C"] + L["D"]),
        "D_t with sigma' (article)": L["A"] + L["B"] + L["C"] + D_sigma,
        "A_t dropped": L["B"] + L["C"] + L["D"],
        "all gate terms dropped, f_t replaced by 1 (pure CEC)": sp.Integer(1),
    }
    for label, derived in false.items():
        r = check_equal(derived, ref, seed=SEED, tiers=())
        assert r.verdict is Verdict.REFUTED, label
    true = check_equal(L["A"] + L["B"] + L["C"] + L["D"], ref, seed=SEED, tiers=("expand",))
    assert true.verdict is Verdict.VERIFIED


def test_lstm_vector_forget_term_is_refuted_by_shape():
    """n = 2: B_t = f_t (a vector) cannot equal the 2 x 2 Jacobian; diag(f_t) is the term."""
    f = _vec("f", 2)
    r = check_equal(f, sp.diag(*f), seed=SEED)
    assert r.verdict is Verdict.REFUTED
    assert "shape" in r.method


def _mp_prod_instance(rng, scale, steps=20):
    """tanh RNN at its fixed point c = 0 with zero inputs (tanh'(0) = 1) and W_rec = scale * R,
    R a random rotation: J_t = W_rec, so ||prod J|| = scale^steps exactly."""
    a = mpmath.mpf(repr(rng.uniform(0, 6.283)))
    W = mpmath.mpf(scale) * mpmath.matrix([[mpmath.cos(a), -mpmath.sin(a)], [mpmath.sin(a), mpmath.cos(a)]])
    c = mpmath.matrix(2, 1)
    P = mpmath.eye(2)
    for _ in range(steps):
        zz = W * c
        P = mpmath.diag([1 - mpmath.tanh(v) ** 2 for v in zz]) * W * P
        c = mpmath.matrix([mpmath.tanh(v) for v in zz])
    return max(mpmath.svd_r(P, compute_uv=False)), W


def test_false_norm_bound_without_sigma_max_is_refuted():
    """'||prod J|| <= gamma^k' (forgetting sigma_max(W_rec)) fails for a strong W_rec (tanh);
    the true bound is verified only by the checked proof, never by a lemma name."""
    from gradproof.derivations.activations import get_activation
    from gradproof.derivations.bounds import pascanu_norm_bound

    def draw(rng):
        norm, _ = _mp_prod_instance(rng, 3.0)
        return norm, mpmath.mpf(1) ** 20

    r = check_inequality(draw, proof="(false lemma)", seed=SEED, points=5, dps=30)
    assert r.verdict is Verdict.REFUTED
    assert mpmath.almosteq(mpmath.mpf(r.counterexample["lhs"]), mpmath.mpf(3) ** 20, rel_eps=1e-12)

    def draw_true(rng):
        norm, W = _mp_prod_instance(rng, 3.0)
        return norm, max(mpmath.svd_r(W, compute_uv=False)) ** 20

    named = check_inequality(draw_true, proof="submultiplicativity", seed=SEED, points=5, dps=30)
    assert named.verdict is Verdict.SAMPLED and "free-text" in " ".join(named.warnings)
    bp = pascanu_norm_bound(get_activation("tanh"), 20)
    proved = check_inequality(draw_true, proof=bp.proof, claim=bp.claim, seed=SEED, points=5, dps=30)
    assert proved.verdict is Verdict.VERIFIED and proved.proof
    # the same proof does not establish the false bound without sigma_max
    s = bp.symbols
    wrong = sp.Le(bp.claim.lhs, s["gamma"] ** 20)
    assert check_inequality(draw_true, proof=bp.proof, claim=wrong, seed=SEED, points=5,
                            dps=30).verdict is Verdict.SAMPLED


def test_false_sufficiency_of_threshold_is_refuted():
    """'sigma_max(W_rec) > 1/gamma implies the product grows' fails: nilpotent W_rec, product 0."""
    def draw(rng):
        N = mpmath.matrix([[0, 10], [0, 0]])
        P = mpmath.eye(2)
        for _ in range(5):
            d = [mpmath.mpf(repr(rng.uniform(0.1, 1))) for _ in range(2)]
            P = mpmath.diag(d) * N * P
        grown = max(mpmath.svd_r(P, compute_uv=False))
        # claim: ||P|| >= 1 (growth), i.e. 1 <= ||P||; pass it as lhs <= rhs
        return mpmath.mpf(1), grown

    assert check_inequality(draw, proof="(false)", seed=SEED, points=5, dps=30).verdict is Verdict.REFUTED


def test_false_forget_bound_without_margin_is_refuted():
    """'prod_t f_t >= sigma(b_f)^k' (ignoring the U_f h + V_f x margin) fails when inputs push
    the forget gate below sigma(b_f); the bound with the margin m is sampled without a proof and
    verified with the checked proof of derivations.bounds."""
    from gradproof.derivations.bounds import forget_gate_lower_bound

    b_f, k = 1.0, 10

    def instance(rng):
        u, v = mpmath.mpf(repr(rng.uniform(0.5, 1.5))), mpmath.mpf(repr(rng.uniform(0.5, 1.5)))
        prod, h = mpmath.mpf(1), mpmath.mpf(0)
        xs = [mpmath.mpf(repr(rng.uniform(-2, -1))) for _ in range(k)]  # negative inputs
        for x in xs:
            f = 1 / (1 + mpmath.exp(-(u * h + v * x + b_f)))
            prod *= f
            h = mpmath.tanh(prod)  # any |h| < 1
        m = abs(u) + abs(v) * max(abs(x) for x in xs)
        return prod, m

    def false_draw(rng):
        prod, _ = instance(rng)
        return 1 / (1 + mpmath.exp(-b_f)) ** k, prod  # claimed: sigma(b_f)^k <= prod

    def true_draw(rng):
        prod, m = instance(rng)
        return 1 / (1 + mpmath.exp(-(b_f - m))) ** k, prod

    assert check_inequality(false_draw, proof="(false)", seed=SEED, points=5, dps=30).verdict is Verdict.REFUTED
    assert check_inequality(true_draw, proof="|h| < 1, sigma increasing", seed=SEED, points=5,
                            dps=30).verdict is Verdict.SAMPLED
    fb = forget_gate_lower_bound(k=3, n_h=1, d=1)
    assert check_inequality(true_draw, proof=fb.proof, claim=fb.claim, seed=SEED, points=5,
                            dps=30).verdict is Verdict.VERIFIED


def test_checker_rejects_a_small_but_real_difference():
    """A relative difference of 1e-20 is above the 50-digit tolerance (1e-25): refuted."""
    x = sp.Symbol("x", real=True)
    r = check_equal(sp.tanh(x) + sp.Float("1e-20", 60) * x ** 2, sp.tanh(x), seed=SEED,
                    sample_range=(0.5, 1.5))
    assert r.verdict is Verdict.REFUTED


def test_checker_never_verifies_a_difference_below_its_tolerance():
    """1e-30 is below the numeric tolerance; the symbolic tiers see a nonzero difference, so
    the verdict must not be VERIFIED (it is UNDECIDED, with Expr.equals returning False)."""
    x = sp.Symbol("x", real=True)
    r = check_equal(sp.tanh(x) + sp.Float("1e-30", 60) * x ** 2, sp.tanh(x), seed=SEED,
                    sample_range=(0.5, 1.5))
    assert r.verdict is not Verdict.VERIFIED


def test_battery_is_reproducible():
    """Same seed, same counterexample: a failure can be replayed."""
    derived, reference = FALSE_ONE_STEP["W_rec transposed (Pascanu erratum)"]
    r1 = check_equal(derived, reference, seed=SEED, tiers=())
    r2 = check_equal(derived, reference, seed=SEED, tiers=())
    assert r1.counterexample == r2.counterexample
    assert r1.residual == r2.residual
    rng_a, rng_b = random.Random(SEED), random.Random(SEED)
    assert rng_a.random() == rng_b.random()
