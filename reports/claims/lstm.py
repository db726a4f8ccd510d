"""The LSTM: the one-step cell Jacobian, the product, the forget gate (Hochreiter & Schmidhuber 1997; Gers et al. 2000)."""

from __future__ import annotations

import random

import mpmath
import sympy as sp
from gradproof.derivations.activations import mp_sigmoid, sigmoid
from gradproof.derivations.bounds import forget_gate_lower_bound
from gradproof.derivations.checker import (
    Verdict,
    check_equal,
    check_inequality,
)
from gradproof.reports.claims.common import (
    _apply,
    _fro,
    _mp_act,
    _mp_diag,
    _mp_gauss_matrix,
    _mp_hadamard,
    _mp_map,
    _nstr,
    _res,
    _sigma_prime,
    _sub_json,
    _sym_matrix,
    _sym_vector,
    _tanh_prime,
)
from gradproof.reports.claims.registry import (
    AUDIT_DPS,
    AUDIT_SEED,
    SECTION_LSTM_GRAD,
    SECTION_PREVENT,
    ClaimVerdict,
    Decision,
    claim,
)

# ---------------------------------------------------------------------------------------------
# 3. LSTM: the one-step cell Jacobian, the product, the forget gate
# ---------------------------------------------------------------------------------------------


def _lstm_cell_symbols(n: int):
    """Symbols of one LSTM step without biases (the article folds them away): recurrent
    blocks U_f, U_i, U_c (n x n), input blocks V_f, V_i, V_c (n x 1), x, o_{t-1}, c_{t-1}."""
    U = {g: _sym_matrix(f"U_{g}", n, n) for g in ("f", "i", "c")}
    V = {g: _sym_matrix(f"V_{g}", n, 1) for g in ("f", "i", "c")}
    x = sp.Matrix([sp.Symbol("x", real=True)])
    o_prev, c_prev = _sym_vector("o_prev", n), _sym_vector("c_prev", n)
    h_prev = _sym_hadamard(o_prev, _apply(sp.tanh, c_prev))
    z = {g: U[g] * h_prev + V[g] * x for g in ("f", "i", "c")}
    f_t, i_t, g_t = _apply(sigmoid, z["f"]), _apply(sigmoid, z["i"]), _apply(sp.tanh, z["c"])
    c_t = _sym_hadamard(f_t, c_prev) + _sym_hadamard(i_t, g_t)
    return U, V, x, o_prev, c_prev, z, f_t, i_t, g_t, c_t


def _sym_hadamard(a: sp.Matrix, b: sp.Matrix) -> sp.Matrix:
    return sp.Matrix(a.rows, 1, lambda r, _: a[r] * b[r])


def _lstm_terms(n, U, o_prev, c_prev, z, f_t, i_t, g_t, *, candidate_prime):
    """A_t + B_t + C_t + D_t as matrices with the h-blocks U_* of the gate weights:
    A = diag(c_{t-1} sigma'(z_f)) U_f P, B = diag(f_t), C = diag(g_t sigma'(z_i)) U_i P,
    D = diag(i_t act'(z_c)) U_c P, with P = diag(o_{t-1} tanh'(c_{t-1})) = dh_{t-1}/dc_{t-1}.
    ``candidate_prime`` is tanh' (correct) or sigma' (the article's D_t)."""
    P = sp.diag(*[o_prev[r] * _tanh_prime(c_prev[r]) for r in range(n)])
    A = sp.diag(*[c_prev[r] * _sigma_prime(z["f"][r]) for r in range(n)]) * U["f"] * P
    B = sp.diag(*f_t)
    C = sp.diag(*[g_t[r] * _sigma_prime(z["i"][r]) for r in range(n)]) * U["i"] * P
    D = sp.diag(*[i_t[r] * candidate_prime(z["c"][r]) for r in range(n)]) * U["c"] * P
    return A, B, C, D


@claim(
    id="lstm-cell-jacobian-article",
    section=SECTION_LSTM_GRAD,
    statement="The cell-state derivative dc_t/dc_{t-1} is the sum of the four terms A_t, B_t, C_t, D_t "
        "as the article writes them.",
    formal_text=r"\partial c_t/\partial c_{t-1} \overset{?}{=} A_t + B_t + C_t + D_t,\ "
        r"D_t = \sigma'(W_c[h_{t-1},x_t]) W_c\, o_{t-1}\tanh'(c_{t-1})\, i_t,\ B_t = f_t",
    methods=("check_equal vs SymPy diff of the LSTM cell (n=1)", "shape check (n=2)"),
    conditions="D_t needs tanh'(z_c) (the candidate is tanh); only the h-blocks U_* of W_* enter; "
        "for n > 1 the terms are matrices (diag(f_t), not f_t)",
    references=("hochreiter1997", "gers2000"),
    expected=ClaimVerdict.REFUTED,
)
def _decide_lstm_article_terms() -> Decision:
    """The article's dc_t/dc_{t-1} = A_t + B_t + C_t + D_t: D_t carries sigma' where the
    candidate tanh(.) needs tanh' (scalar, n = 1), and B_t = f_t is a vector where the
    Jacobian is the matrix diag(f_t) (n = 2)."""
    U, V, x, o_prev, c_prev, z, f_t, i_t, g_t, c_t = _lstm_cell_symbols(1)
    reference = c_t.jacobian(c_prev)
    A, B, C, D = _lstm_terms(1, U, o_prev, c_prev, z, f_t, i_t, g_t, candidate_prime=_sigma_prime)
    r_scalar = check_equal(A + B + C + D, reference, seed=AUDIT_SEED, dps=AUDIT_DPS)
    # vector/matrix form, n = 2: the article's B_t = f_t (a vector) against the 2 x 2 Jacobian
    U2, V2, x2, o2, c2, z2, f2, i2, g2, ct2 = _lstm_cell_symbols(2)
    r_shape = check_equal(f2, ct2.jacobian(c2), seed=AUDIT_SEED, dps=AUDIT_DPS)
    ok = r_scalar.verdict is Verdict.REFUTED and r_shape.verdict is Verdict.REFUTED
    return Decision(
        ClaimVerdict.REFUTED if ok else ClaimVerdict.UNDECIDED,
        "checker vs SymPy diff of the LSTM cell c_t(c_{t-1}) with h_{t-1} = o_{t-1} tanh(c_{t-1}): "
        + r_scalar.method,
        _res(r_scalar),
        {"scalar_sigma_prime_in_D": _sub_json(r_scalar), "vector_B_equals_f_t_n2": _sub_json(r_shape)},
        counterexample=dict(r_scalar.counterexample or {}),
    )


@claim(
    id="lstm-cell-jacobian-corrected",
    section=SECTION_LSTM_GRAD,
    statement="(corrected) dc_t/dc_{t-1} = A_t + B_t + C_t + D_t with tanh' in D_t, U-blocks and "
        "diagonal matrices; the forget gate enters additively as B_t = diag(f_t).",
    formal_text=r"\partial c_t/\partial c_{t-1} = \mathrm{diag}(c_{t-1}\sigma'(z_f))U_f P + "
        r"\mathrm{diag}(f_t) + \mathrm{diag}(g_t\sigma'(z_i))U_i P + "
        r"\mathrm{diag}(i_t\tanh'(z_c))U_c P,\ P = \mathrm{diag}(o_{t-1}\tanh'(c_{t-1}))",
    methods=("check_equal vs SymPy Matrix.jacobian (n=1, 2), expand tier",),
    conditions="o_{t-1} held fixed (it depends on h_{t-2}, not on c_{t-1}); no biases (as in the article)",
    references=("hochreiter1997", "gers2000"),
    expected=ClaimVerdict.VERIFIED,
)
def _decide_lstm_corrected_terms() -> Decision:
    """Corrected: D_t with tanh'(z_c), the h-blocks U_* only, diagonal matrices; n = 1 and 2."""
    sub = {}
    for n in (1, 2):
        U, V, x, o_prev, c_prev, z, f_t, i_t, g_t, c_t = _lstm_cell_symbols(n)
        A, B, C, D = _lstm_terms(n, U, o_prev, c_prev, z, f_t, i_t, g_t, candidate_prime=_tanh_prime)
        sub[f"n={n}"] = check_equal(A + B + C + D, c_t.jacobian(c_prev), seed=AUDIT_SEED,
                                    dps=AUDIT_DPS, tiers=("expand",))
        # the forget gate enters additively: removing B_t changes the Jacobian by diag(f_t)
        sub[f"n={n} additive B"] = check_equal(c_t.jacobian(c_prev) - (A + C + D), B,
                                               seed=AUDIT_SEED, dps=AUDIT_DPS, tiers=("expand",))
    ok = all(r.verdict is Verdict.VERIFIED for r in sub.values())
    worst = max(sub.values(), key=lambda r: mpmath.mpf(r.residual))
    return Decision(
        ClaimVerdict.VERIFIED if ok else ClaimVerdict.REFUTED,
        "checker vs SymPy Matrix.jacobian of the LSTM cell (n=1, 2): " + worst.method,
        _res(worst),
        {k: _sub_json(v) for k, v in sub.items()},
    )


def _lstm_step_sym(U, V, x, h_prev, c_prev):
    z = {g: U[g] * h_prev + V[g] * x for g in "fico"}
    f, i, o = (_apply(sigmoid, z[g]) for g in "fio")
    g = _apply(sp.tanh, z["c"])
    c = _sym_hadamard(f, c_prev) + _sym_hadamard(i, g)
    return c, o


@claim(
    id="lstm-product-is-gradient",
    section=SECTION_LSTM_GRAD,
    statement="Multiplying the one-step terms dc_t/dc_{t-1} from t = 2 to k gives the gradient through "
        "time dc_k/dc_1.",
    formal_text=r"\prod_{t=2}^{k}(A_t+B_t+C_t+D_t) \overset{?}{=} \frac{d c_k}{d c_1}",
    methods=("check_equal vs SymPy diff of the unrolled scalar LSTM (k=3)",
        "finite differences at 40 digits on seeded random weights (n=4, k=20)"),
    conditions="the true recurrent state is (h_t, c_t): the product drops the path "
        "c_{t-2} -> h_{t-2} -> o_{t-1} -> h_{t-1} -> c_t; equality needs U_o = 0",
    references=("hochreiter1997", "gers2000"),
    expected=ClaimVerdict.REFUTED,
)
def _decide_lstm_product_is_gradient() -> Decision:
    """prod_{t=2}^k dc_t/dc_{t-1} (each one-step term with o_{t-1} held fixed) is not
    dc_k/dc_1 of the unrolled LSTM: it omits c_{t-2} -> h_{t-2} -> o_{t-1} -> h_{t-1} -> c_t.
    Symbolic refutation on a scalar LSTM (k = 3); size of the omitted part on seeded random
    weights (n = 4, k = 20) against central finite differences at 40 digits."""
    # scalar, symbolic: state (h_1, c_1) with h_1 = o_1 tanh(c_1), o_1 a free symbol
    U = {g: sp.Matrix([[sp.Symbol(f"U_{g}", real=True)]]) for g in "fico"}
    V = {g: sp.Matrix([[sp.Symbol(f"V_{g}", real=True)]]) for g in "fico"}
    x2, x3, c1, o1, O2 = sp.symbols("x_2 x_3 c_1 o_1 O_2", real=True)
    h1 = sp.Matrix([o1 * sp.tanh(c1)])
    c2, o2 = _lstm_step_sym(U, V, sp.Matrix([x2]), h1, sp.Matrix([c1]))
    h2 = sp.Matrix([o2[0] * sp.tanh(c2[0])])
    c3, _ = _lstm_step_sym(U, V, sp.Matrix([x3]), h2, c2)
    true_dc3_dc1 = sp.diff(c3[0], c1)
    # one-step term at t = 3 with o_2 held fixed (the article's dc_t/dc_{t-1})
    C2 = sp.Symbol("C_2", real=True)
    c3_fixed_o, _ = _lstm_step_sym(U, V, sp.Matrix([x3]), sp.Matrix([O2 * sp.tanh(C2)]),
                                   sp.Matrix([C2]))
    J3 = sp.diff(c3_fixed_o[0], C2).subs({O2: o2[0], C2: c2[0]})
    J2 = sp.diff(c2[0], c1)
    r_sym = check_equal(J3 * J2, true_dc3_dc1, seed=AUDIT_SEED, dps=AUDIT_DPS, tiers=())
    size = _lstm_omitted_path_size()
    ok = r_sym.verdict is Verdict.REFUTED and mpmath.mpf(size["relative_omission"]) > 1e-6
    return Decision(
        ClaimVerdict.REFUTED if ok else ClaimVerdict.UNDECIDED,
        "checker vs SymPy diff of the unrolled scalar LSTM (k=3): " + r_sym.method
        + f"; size on random weights by finite differences ({size['method']})",
        _res(r_sym),
        {"symbolic_k3": _sub_json(r_sym), "random_weights": size},
        counterexample=dict(r_sym.counterexample or {}),
    )


def _mp_lstm_params(rng, n, d, forget_bias, scale):
    P = {}
    for g in "fico":
        P["U_" + g] = _mp_gauss_matrix(rng, n, n, mpmath.mpf(scale) / mpmath.sqrt(n))
        P["V_" + g] = _mp_gauss_matrix(rng, n, d, mpmath.mpf(scale) / mpmath.sqrt(d))
        P["b_" + g] = mpmath.matrix(n, 1)
    for r in range(n):
        P["b_f"][r] = mpmath.mpf(forget_bias)
    return P


def _mp_lstm_step(P, h, c, x):
    z = {g: P["U_" + g] * h + P["V_" + g] * x + P["b_" + g] for g in "fico"}
    f, i, o = (_mp_map(mp_sigmoid, z[g]) for g in "fio")
    g = _mp_map(mpmath.tanh, z["c"])
    c_new = _mp_hadamard(f, c) + _mp_hadamard(i, g)
    h_new = _mp_hadamard(o, _mp_map(mpmath.tanh, c_new))
    return h_new, c_new, z, f, i, g, o


def _mp_lstm_cell_jacobian(P, c_prev, o_prev, z, f, i, g, candidate_prime) -> mpmath.matrix:
    """A_t + B_t + C_t + D_t in mpmath (o_{t-1} held fixed), the numeric twin of
    ``_lstm_terms``: K = diag(o_{t-1} tanh'(c_{t-1})), A = diag(c_{t-1} sigma'(z_f)) U_f K,
    B = diag(f_t), C = diag(g_t sigma'(z_i)) U_i K, D = diag(i_t act'(z_c)) U_c K with
    ``candidate_prime`` tanh' (correct) or sigma' (the article's D_t)."""
    _, sigma_prime = _mp_act("sigmoid")
    _, tanh_prime = _mp_act("tanh")
    n = len(c_prev)
    K = _mp_diag([o_prev[r] * tanh_prime(c_prev[r]) for r in range(n)])
    return (_mp_diag([c_prev[r] * sigma_prime(z["f"][r]) for r in range(n)]) * P["U_f"] * K
            + _mp_diag(f)
            + _mp_diag([g[r] * sigma_prime(z["i"][r]) for r in range(n)]) * P["U_i"] * K
            + _mp_diag([i[r] * candidate_prime(z["c"][r]) for r in range(n)]) * P["U_c"] * K)


def _lstm_omitted_path_size(n=4, d=3, k=20, dps=40) -> dict:
    rng = random.Random(AUDIT_SEED + 1)
    with mpmath.workdps(dps):
        P = _mp_lstm_params(rng, n, d, 1, 1)
        xs = [_mp_gauss_matrix(rng, d, 1) for _ in range(k)]
        h0 = _mp_gauss_matrix(rng, n, 1, mpmath.mpf("0.3"))
        c0 = _mp_gauss_matrix(rng, n, 1, mpmath.mpf("0.3"))
        # step 1 gives (h_1, c_1) and o_1; afterwards h_1 = o_1 tanh(c_1) follows c_1
        _, c1, _, _, _, _, o1 = _mp_lstm_step(P, h0, c0, xs[0])

        def run(c_start):
            h = _mp_hadamard(o1, _mp_map(mpmath.tanh, c_start))
            c = c_start
            for x in xs[1:]:
                h, c, *_ = _mp_lstm_step(P, h, c, x)
            return c

        # product of one-step terms (o_{t-1} fixed) along the trajectory: corrected A+B+C+D
        prod = mpmath.eye(n)
        h = _mp_hadamard(o1, _mp_map(mpmath.tanh, c1))
        c, o_prev = c1, o1
        _, tanh_prime = _mp_act("tanh")
        for x in xs[1:]:
            h_new, c_new, z, f, i, g, o = _mp_lstm_step(P, h, c, x)
            prod = _mp_lstm_cell_jacobian(P, c, o_prev, z, f, i, g, tanh_prime) * prod
            h, c, o_prev = h_new, c_new, o
        step = mpmath.mpf(10) ** (-(dps // 3))
        true = mpmath.matrix(n, n)
        for j in range(n):
            e = mpmath.matrix(n, 1)
            e[j] = step
            col = (run(c1 + e) - run(c1 - e)) / (2 * step)
            for r in range(n):
                true[r, j] = col[r]
        omitted = true - prod
        rel = _fro(omitted) / _fro(true)
        return {"hidden": n, "input": d, "steps": k, "seed": AUDIT_SEED + 1,
                "weights": "N(0, 1/fan_in), forget bias 1", "dps": dps,
                "method": f"central differences h=1e-{dps // 3} @ {dps} digits",
                "true_dc_k_dc_1_frobenius": _nstr(_fro(true), 6, dps),
                "product_of_one_step_terms_frobenius": _nstr(_fro(prod), 6, dps),
                "omitted_part_frobenius": _nstr(_fro(omitted), 6, dps),
                "relative_omission": _nstr(rel, 6, dps)}


#: number of steps k of the checked forget-gate proof (its size grows linearly in k)
PROOF_FORGET_STEPS = 4


@claim(
    id="forget-gate-keeps-gradient",
    section=SECTION_PREVENT,
    statement="At a later step a suitable update of the forget gate's parameters keeps the gradient "
        "from vanishing.",
    formal_text=r"\prod_{t=2}^{k}\mathrm{diag}(f_t) \ge \sigma(b_f - m)^{k-1},\ "
        r"m = \max_j(\|U_f[j,:]\|_1 + \|V_f[j,:]\|_1 \max_t\|x_t\|_\infty)",
    methods=("checked proof (|h| <= 1, triangle inequality, monotone sigma; k = 4, symbolic weights)",
        "numeric check at every step of a seeded LSTM (k = 50) at 30 digits"),
    conditions="holds for the cell (B_t) path only; W_f, U_f, b_f are shared by all time steps, so "
        "an 'update at step k+1' is one change of shared weights that moves every f_t; the "
        "bias that keeps the path above eps grows like ln k; the A, C, D and output-gate paths "
        "are not bounded below by this",
    references=("gers2000", "hochreiter1997"),
    expected=ClaimVerdict.CONDITIONAL,
)
def _decide_forget_gate_bound() -> Decision:
    r"""Cell path (B_t terms): prod_{t=2}^k diag(f_t) >= sigma(b_f - m)^{k-1} entrywise, where
    m = max_j (||U_f[j,:]||_1 + ||V_f[j,:]||_1 max_t ||x_t||_inf), because |h_{t-1}| < 1
    (h = o tanh(c)) and sigma is increasing. Conditions: only the B path; the weights and the
    bias b_f are shared by all steps (one update moves every f_t); the bias that keeps the path
    above eps grows like ln k: b_f >= m + logit(eps^{1/(k-1)})."""
    n, d, k, dps = 4, 3, 50, 30
    rows = []
    holds = True
    rng = random.Random(AUDIT_SEED + 2)
    with mpmath.workdps(dps):
        base = _mp_lstm_params(rng, n, d, 0, 1)
        xs = [_mp_gauss_matrix(rng, d, 1) for _ in range(k)]
        xmax = max(abs(x[r]) for x in xs for r in range(d))
        m = max(sum(abs(base["U_f"][j, c]) for c in range(n))
                + sum(abs(base["V_f"][j, c]) for c in range(d)) * xmax for j in range(n))
        for b_f in (0, 2, 5):
            P = dict(base)
            P["b_f"] = mpmath.matrix([[mpmath.mpf(b_f)] for _ in range(n)])
            h, c = mpmath.matrix(n, 1), mpmath.matrix(n, 1)
            prods = [mpmath.mpf(1)] * n
            min_ratio = mpmath.inf
            for t, x in enumerate(xs, start=1):
                h, c, z, f, *_ = _mp_lstm_step(P, h, c, x)
                if t >= 2:
                    prods = [prods[r] * f[r] for r in range(n)]
                    bound = mp_sigmoid(mpmath.mpf(b_f) - m) ** (t - 1)
                    for r in range(n):
                        min_ratio = min(min_ratio, prods[r] / bound)
            holds = holds and min_ratio >= 1
            rows.append({"b_f": b_f, "min_j prod_t f_t,j": _nstr(min(prods), 4, dps),
                         "bound sigma(b_f - m)^(k-1)": _nstr(mp_sigmoid(mpmath.mpf(b_f) - m) ** (k - 1), 4, dps),
                         "min over t, j of product/bound": _nstr(min_ratio, 4, dps)})
        eps = mpmath.mpf("0.1")
        needed = {}
        for kk in (10, 100, 1000, 10000):
            q = eps ** (mpmath.mpf(1) / (kk - 1))
            needed[str(kk)] = _nstr(m + mpmath.log(q / (1 - q)), 5, dps)
    fb = forget_gate_lower_bound(k=PROOF_FORGET_STEPS, n_h=2, d=2)
    fsyms = sorted(fb.claim.free_symbols, key=str)
    conclusion = fb.claim.args[1]  # Implies(|x| <= X, sigma(b_f - m)^(k-1) <= prod f_t)
    f_l = sp.lambdify(fsyms, conclusion.lhs, "mpmath")
    f_r = sp.lambdify(fsyms, conclusion.rhs, "mpmath")

    def draw_forget(r):
        # the proof's statement at random values: x within X = 2, any U, V, b_f, gate inputs
        vals = [mpmath.mpf(2) if s_ == fb.symbols["X"] else mpmath.mpf(repr(r.uniform(-2, 2)))
                for s_ in fsyms]
        return f_l(*vals), f_r(*vals)

    proof_check = check_inequality(draw_forget, proof=fb.proof, claim=fb.claim, seed=AUDIT_SEED + 3,
                                   points=5, dps=dps, domain="weights, bias, gate inputs uniform in "
                                   "[-2, 2], |x| <= X = 2")
    holds = holds and proof_check.verdict is Verdict.VERIFIED
    return Decision(
        ClaimVerdict.CONDITIONAL if holds else ClaimVerdict.REFUTED,
        f"checked proof (derivations.bounds.forget_gate_lower_bound: sup_bound, triangle, "
        f"abs_lower, increasing sigma, product_of_bounds) for k={PROOF_FORGET_STEPS}, 2 hidden and "
        f"2 inputs, symbolic weights; numeric spot check at every step t <= {k} on a "
        f"seeded LSTM (n={n}, d={d}, seed {AUDIT_SEED + 2}) @ {dps} digits",
        min((r["min over t, j of product/bound"] for r in rows), key=lambda s: mpmath.mpf(s)),
        {"proof": _sub_json(proof_check), "proof_steps": len(proof_check.proof),
         "margin_m": _nstr(m, 6, dps), "steps": k, "by_forget_bias": rows,
         "bias_needed_for_cell_path_>=_0.1_by_k": needed,
         "scope": "cell path prod diag(f_t) only; A_t, C_t, D_t and the output-gate path are "
                  "not bounded below by this"},
    )



@claim(
    id="forget-update-found-by-training",
    section=SECTION_PREVENT,
    statement="Because f_t appears additively, the LSTM can find such a forget-gate update at every "
        "time step, and the gradient then does not vanish.",
    formal_text=r"\exists\, \Delta b_f \text{ found by } -\alpha\,\partial E/\partial b_f "
        r"\text{ with } \prod_t f_t \not\to 0",
    methods=("finite differences of E and of prod f_t w.r.t. b_f",),
    conditions="a direction exists (d prod f_t / d b_f > 0); whether gradient descent takes it "
        "depends on dE/db_f, i.e. on data and targets: not decided",
    references=("gers2000",),
    expected=ClaimVerdict.UNDECIDED,
)
def _decide_forget_update_found_by_training() -> Decision:
    """'The additive structure lets the LSTM identify such a forget-gate update at each step.'
    Computed: (a) d/db_f of the cell-path product prod_t f_t is positive (a direction that
    keeps the path exists); (b) the sign of dE/db_f, which is what gradient descent follows,
    on seeded LSTMs (n = 2, k = 20, E = ||h_k - y||^2 / 2, shared scalar bias b_f = 1),
    by central differences at 30 digits. Both signs occur, so whether training moves b_f
    towards a non-vanishing cell path depends on the data: a statement about learning
    dynamics that these methods do not decide."""
    n, d, k, dps = 2, 2, 20, 30
    signs, dprod_pos = [], True
    with mpmath.workdps(dps):
        for seed in range(AUDIT_SEED + 10, AUDIT_SEED + 18):
            rng = random.Random(seed)
            P = _mp_lstm_params(rng, n, d, 0, 1)
            xs = [_mp_gauss_matrix(rng, d, 1) for _ in range(k)]
            y = _mp_gauss_matrix(rng, n, 1, mpmath.mpf("0.5"))

            def run(b):
                Q = dict(P)
                Q["b_f"] = mpmath.matrix([[b] for _ in range(n)])
                h, c = mpmath.matrix(n, 1), mpmath.matrix(n, 1)
                prod = mpmath.mpf(1)
                for t, x in enumerate(xs, start=1):
                    h, c, z, f, *_ = _mp_lstm_step(Q, h, c, x)
                    if t >= 2:
                        prod *= f[0]
                r = h - y
                return sum(r[j] ** 2 for j in range(n)) / 2, prod

            b0, step = mpmath.mpf(1), mpmath.mpf("1e-10")
            (ep, pp), (em, pm) = run(b0 + step), run(b0 - step)
            signs.append(int(mpmath.sign((ep - em) / (2 * step))))
            dprod_pos = dprod_pos and (pp - pm) > 0
    both = 1 in signs and -1 in signs
    return Decision(
        ClaimVerdict.UNDECIDED,
        f"central differences @ {dps} digits on 8 seeded LSTMs (n={n}, k={k}, seeds "
        f"{AUDIT_SEED + 10}..{AUDIT_SEED + 17}); statement about training dynamics, not decided",
        "n/a",
        {"d_cell_path_product_d_b_f_positive": bool(dprod_pos),
         "sign_of_dE_db_f_by_seed": signs, "both_signs_occur": bool(both),
         "reading": "increasing b_f always lengthens the cell path, but gradient descent moves "
                    "b_f by -dE/db_f, whose sign depends on the data; nothing here proves "
                    "that training finds the update"},
    )


