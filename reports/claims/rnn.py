"""The vanilla RNN: one-step Jacobian, BPTT, the vanishing and exploding conditions (Pascanu et al. 2013)."""

from __future__ import annotations

import random

import mpmath
import sympy as sp
from gradproof.derivations.activations import (
    derive_gamma,
    get_activation,
    mp_sigmoid,
    sigmoid,
)
from gradproof.derivations.bounds import (
    pascanu_exploding_necessary_all_k,
    pascanu_norm_bound_all_k,
    pascanu_vanishing_all_k,
)
from gradproof.derivations.checker import (
    Verdict,
    check_equal,
    check_inequality,
)
from gradproof.numerics import published
from gradproof.reports.claims.common import (
    _R,
    _apply,
    _fro,
    _mp_act,
    _mp_diag,
    _mp_gauss_matrix,
    _mp_hadamard,
    _mp_map,
    _mp_sigma_max,
    _noise,
    _nstr,
    _res,
    _sigma_prime,
    _sub_json,
    _sym_matrix,
    _sym_rnn_preactivation,
    _sym_vector,
    _tanh_prime,
)
from gradproof.reports.claims.registry import (
    AUDIT_DPS,
    AUDIT_SEED,
    SECTION_BPTT_LSTM,
    SECTION_BPTT_RNN,
    ClaimVerdict,
    Decision,
    claim,
)

# ---------------------------------------------------------------------------------------------
# 2. RNN Jacobians and BPTT
# ---------------------------------------------------------------------------------------------


@claim(
    id="rnn-one-step-jacobian",
    section=SECTION_BPTT_RNN,
    statement="The derivative of the state with respect to the previous state is act'(z_t) times W_rec.",
    formal_text=r"\partial c_t/\partial c_{t-1} = \mathrm{diag}(act'(z_t))\, W_{rec}",
    methods=("check_equal vs SymPy Matrix.jacobian (n=2, sigmoid and tanh)",),
    conditions="matrix form: diag(act'(z_t)) on the left of W_rec (not W_rec^T)",
    references=_R,
    expected=ClaimVerdict.VERIFIED,
)
def _decide_rnn_one_step() -> Decision:
    """dc_t/dc_{t-1} = diag(act'(z_t)) W_rec for both activations, n = 2, vs Matrix.jacobian."""
    W_rec, c_prev, z_t = _sym_rnn_preactivation(2)
    results = {}
    for name, f, fp in (("sigmoid", sigmoid, _sigma_prime), ("tanh", sp.tanh, _tanh_prime)):
        reference = _apply(f, z_t).jacobian(c_prev)
        derived = sp.diag(*[fp(zi) for zi in z_t]) * W_rec
        results[name] = check_equal(derived, reference, seed=AUDIT_SEED, dps=AUDIT_DPS)
    ok = all(r.verdict is Verdict.VERIFIED for r in results.values())
    worst = max(results.values(), key=lambda r: mpmath.mpf(r.residual))
    return Decision(
        ClaimVerdict.VERIFIED if ok else ClaimVerdict.REFUTED,
        "checker vs SymPy Matrix.jacobian (n=2, sigmoid and tanh): " + worst.method,
        _res(worst),
        {k: _sub_json(v) for k, v in results.items()},
    )


@claim(
    id="pascanu-transpose-erratum",
    section=SECTION_BPTT_RNN,
    statement="(Pascanu et al. 2013, cited for the bound) dx_t/dx_{t-1} = W_rec^T diag(sigma'(x_{t-1})).",
    formal_text=r"x_t = W_{rec}\sigma(x_{t-1}) + W_{in}u_t + b \Rightarrow \partial x_t/\partial x_{t-1} "
        r"\overset{?}{=} W_{rec}^T \mathrm{diag}(\sigma'(x_{t-1}))",
    methods=("check_equal vs SymPy Matrix.jacobian (n=2)",),
    conditions="the correct factor is W_rec; norms agree (||W^T|| = ||W||), so the paper's bounds stand",
    references=("pascanu2013",),
    expected=ClaimVerdict.REFUTED,
)
def _decide_pascanu_transpose() -> Decision:
    """Pascanu et al. write x_t = W_rec sigma(x_{t-1}) + W_in u_t + b and print
    dx_t/dx_{t-1} = W_rec^T diag(sigma'(x_{t-1})); the correct form has W_rec, not W_rec^T."""
    n = 2
    W_rec, W_in = _sym_matrix("W_rec", n, n), _sym_matrix("W_in", n, 1)
    x_prev, u = _sym_vector("x_prev", n), sp.Matrix([sp.Symbol("u", real=True)])
    b = _sym_vector("b", n)
    x_t = W_rec * _apply(sp.tanh, x_prev) + W_in * u + b
    reference = x_t.jacobian(x_prev)
    D = sp.diag(*[_tanh_prime(xi) for xi in x_prev])
    printed = check_equal(W_rec.T * D, reference, seed=AUDIT_SEED, dps=AUDIT_DPS)
    corrected = check_equal(W_rec * D, reference, seed=AUDIT_SEED, dps=AUDIT_DPS)
    ok = printed.verdict is Verdict.REFUTED and corrected.verdict is Verdict.VERIFIED
    return Decision(
        ClaimVerdict.REFUTED if ok else ClaimVerdict.UNDECIDED,
        "checker vs SymPy Matrix.jacobian of Pascanu's cell (n=2, tanh): " + printed.method,
        _res(printed),
        {"printed_WT": _sub_json(printed), "corrected_W": _sub_json(corrected)},
        counterexample=dict(printed.counterexample or {}),
    )


def _scalar_rnn(k: int, act=sigmoid):
    """Scalar RNN c_t = act(w c_{t-1} + u x_t), symbols and states c_0..c_k, pre-activations."""
    w, u, c0, y = sp.symbols("w u c_0 y", real=True)
    xs = sp.symbols(f"x_1:{k + 1}", real=True)
    cs, zs = [c0], [None]
    for t in range(1, k + 1):
        zs.append(w * cs[-1] + u * xs[t - 1])
        cs.append(act(zs[-1]))
    return w, u, y, xs, cs, zs


@claim(
    id="rnn-bptt-single-chain",
    section=SECTION_BPTT_RNN,
    statement="The gradient of E_k is one chain: dE_k/dc_k, the product of one-step derivatives from "
        "step 2 to k, then dc_1/dW.",
    formal_text=r"\partial E_k/\partial W \overset{?}{=} \frac{\partial E_k}{\partial c_k}"
        r"\prod_{t=2}^{k}\frac{\partial c_t}{\partial c_{t-1}}\frac{\partial c_1}{\partial W}",
    methods=("check_equal vs SymPy diff of the unrolled scalar RNN (k=3)",),
    conditions="W is shared by all steps: the gradient is the sum over t of such chains, each ending "
        "in the immediate partial d^+c_t/dW (verified); the article's chain is the t = 1 term",
    references=("werbos1990", "pascanu2013"),
    expected=ClaimVerdict.REFUTED,
)
def _decide_bptt_single_chain() -> Decision:
    """Article: dE_k/dW = dE_k/dc_k (prod_{t=2}^k dc_t/dc_{t-1}) dc_1/dW (one chain).
    True (BPTT): sum over t of dE_k/dc_k (prod_{j=t+1}^k dc_j/dc_{j-1}) d^+c_t/dW."""
    k = 3
    w, u, y, xs, cs, zs = _scalar_rnn(k)
    E = (cs[k] - y) ** 2 / 2
    reference = sp.diff(E, w)
    dE = cs[k] - y
    J = [None, None] + [_sigma_prime(zs[t]) * w for t in range(2, k + 1)]
    direct = [None] + [_sigma_prime(zs[t]) * cs[t - 1] for t in range(1, k + 1)]  # d^+c_t/dw
    article = dE * sp.Mul(*[J[t] for t in range(2, k + 1)]) * direct[1]
    corrected = sum(dE * sp.Mul(*[J[j] for j in range(t + 1, k + 1)]) * direct[t]
                    for t in range(1, k + 1))
    r_article = check_equal(article, reference, seed=AUDIT_SEED, dps=AUDIT_DPS)
    r_corr = check_equal(corrected, reference, seed=AUDIT_SEED, dps=AUDIT_DPS)
    ok = r_article.verdict is Verdict.REFUTED and r_corr.verdict is Verdict.VERIFIED
    return Decision(
        ClaimVerdict.REFUTED if ok else ClaimVerdict.UNDECIDED,
        "checker vs SymPy diff of the unrolled scalar sigmoid RNN (k=3): " + r_article.method,
        _res(r_article),
        {"article_single_chain": _sub_json(r_article), "bptt_sum_over_t": _sub_json(r_corr)},
        counterexample=dict(r_article.counterexample or {}),
    )


def _rnn_instance(rng, n, d, k, target_sigma):
    """Random W_rec (scaled to sigma_max = target), W_in, inputs; mpmath at working precision."""
    W = _mp_gauss_matrix(rng, n, n)
    W = W * (mpmath.mpf(target_sigma) / _mp_sigma_max(W))
    U = _mp_gauss_matrix(rng, n, d)
    xs = [_mp_gauss_matrix(rng, d, 1) for _ in range(k)]
    c0 = _mp_gauss_matrix(rng, n, 1, mpmath.mpf("0.5"))
    return W, U, xs, c0


def _rnn_forward(act_name, W, U, xs, c0):
    """States c_0..c_k, pre-activations z_1..z_k and one-step Jacobians diag(act'(z_t)) W."""
    f, fp = _mp_act(act_name)
    cs, zs, Js = [c0], [None], [None]
    for x in xs:
        z = W * cs[-1] + U * x
        zs.append(z)
        cs.append(_mp_map(f, z))
        Js.append(_mp_diag(_mp_map(fp, z)) * W)
    return cs, zs, Js


def _mp_product(Js) -> mpmath.matrix:
    """J_k ... J_1 for ``Js`` = [None, J_1, ..., J_k] as returned by ``_rnn_forward``."""
    P = mpmath.eye(Js[1].rows)
    for J in Js[1:]:
        P = J * P
    return P


@claim(
    id="rnn-product-vanishes",
    section=SECTION_BPTT_RNN,
    statement="For large k the product of one-step derivatives tends to zero.",
    formal_text=r"\|\prod_{t=1}^k \partial c_t/\partial c_{t-1}\|_2 \le (\gamma\,\sigma_{max}(W_{rec}))^k "
        r"\to 0 \text{ if } \sigma_{max}(W_{rec}) < 1/\gamma",
    methods=("checked proof for every k (derivations.bounds: submultiplicativity, "
        "||diag(act')|| <= gamma, induction over k)", "numeric spot check on seeded random nets",
        "exact growing counterexample above 1/gamma"),
    conditions="sufficient: sigma_max(W_rec) < 1/gamma (gamma = 1/4 sigmoid, 1 tanh); without it the "
        "product can grow like (3/2)^k",
    references=_R,
    expected=ClaimVerdict.CONDITIONAL,
)
def _decide_product_vanishes() -> Decision:
    """||prod_{t=1}^k J_t||_2 <= (gamma sigma_max(W_rec))^k: vanishes when sigma_max < 1/gamma.
    Above the threshold: an explicit network whose product grows like 1.5^k."""
    k, n = 25, 3
    sub = {}
    for name in ("sigmoid", "tanh"):
        gamma = mpmath.mpf(sp.N(derive_gamma(get_activation(name)).gamma, AUDIT_DPS))

        def draw(rng, name=name, gamma=gamma):
            W, U, xs, c0 = _rnn_instance(rng, n, 2, k, mpmath.mpf("0.9") / gamma)
            _, _, Js = _rnn_forward(name, W, U, xs, c0)
            return _mp_sigma_max(_mp_product(Js)), (gamma * _mp_sigma_max(W)) ** k

        act = get_activation(name)
        bp = pascanu_norm_bound_all_k(act)
        sub[name] = check_inequality(draw, proof=bp.proof, claim=bp.claim, seed=AUDIT_SEED, points=8,
                                     dps=30, domain=f"8 random {name} nets, n={n}, d=2, k={k}, "
                                     "sigma_max(W_rec) = 0.9/gamma")
        vb = pascanu_vanishing_all_k(act)
        sub[name + "_vanishing"] = check_inequality(draw, proof=vb.proof, claim=vb.claim,
                                                    seed=AUDIT_SEED, points=1, dps=30)
    growth = _growth_above_threshold()
    ok = all(r.verdict is Verdict.VERIFIED for r in sub.values()) and growth["grows"]
    return Decision(
        ClaimVerdict.CONDITIONAL if ok else ClaimVerdict.REFUTED,
        f"checked proofs (derivations.bounds: derivative_bound, diag_norm, submultiplicative, "
        f"product_of_bounds, product_norm_induction, scale, geometric_decay) for every k and n, "
        f"spot-checked on 8 random "
        f"nets per activation (n={n}, sigma_max=0.9/gamma); counterexample above the threshold in "
        "exact SymPy arithmetic",
        _res(min(sub.values(), key=lambda r: mpmath.mpf(r.residual))),
        {"bound_sigmoid": _sub_json(sub["sigmoid"]), "bound_tanh": _sub_json(sub["tanh"]),
         "vanishing_sigmoid": _sub_json(sub["sigmoid_vanishing"]),
         "vanishing_tanh": _sub_json(sub["tanh_vanishing"]),
         "proof_steps_tanh": len(sub["tanh"].proof), "above_threshold": growth},
        counterexample=growth["example"],
    )


def _growth_above_threshold() -> dict:
    """Exact instances with sigma_max(W_rec) = 1.5/gamma whose product norm is 1.5^k.

    tanh: W_rec = (3/2) I, x_t = 0, c_0 = 0: z_t = 0, tanh'(0) = 1, J_t = (3/2) I.
    sigmoid: W_rec = 6 I, W_in = I, x_t = -3 * 1, c_0 = 1/2 * 1: z_t = 0, sigma'(0) = 1/4,
    c_t = 1/2 at every step, J_t = (3/2) I. Products computed with SymPy's exact arithmetic.
    """
    n, k = 2, 40
    out = {}
    # tanh
    W = sp.Rational(3, 2) * sp.eye(n)
    c = sp.zeros(n, 1)
    P = sp.eye(n)
    for _ in range(k):
        z = W * c
        P = sp.diag(*[_tanh_prime(zi) for zi in z]) * W * P
        c = z.applyfunc(sp.tanh)
    tanh_norm = max(abs(e) for e in P)  # P is a multiple of I: its 2-norm is that entry
    # sigmoid
    Ws = 6 * sp.eye(n)
    cs = sp.Matrix([sp.Rational(1, 2)] * n)
    Ps = sp.eye(n)
    for _ in range(k):
        z = Ws * cs + sp.Matrix([-3] * n)
        Ps = sp.diag(*[_sigma_prime(zi) for zi in z]) * Ws * Ps
        cs = z.applyfunc(sigmoid)
    sig_norm = max(abs(e) for e in Ps)
    expected = sp.Rational(3, 2) ** k
    grows = (P == expected * sp.eye(n)) and (Ps == expected * sp.eye(n))
    out["grows"] = bool(grows)
    out["steps"] = k
    out["tanh_product_norm"] = str(tanh_norm)
    out["sigmoid_product_norm"] = str(sig_norm)
    out["exact_value"] = f"(3/2)^{k} = {published.rounded(expected, 12).text}"
    out["example"] = {"tanh": "W_rec = 1.5 I, x_t = 0, c_0 = 0",
                      "sigmoid": "W_rec = 6 I, W_in = I, x_t = -3, c_0 = 1/2"}
    return out


@claim(
    id="rnn-explosion-threshold",
    section=SECTION_BPTT_RNN,
    statement="The gradient explodes when W_rec is strong enough to outweigh the small derivative.",
    formal_text=r"\sigma_{max}(W_{rec}) > 1/\gamma \text{ necessary, not sufficient, for } "
        r"\|\prod J_t\| \to \infty",
    methods=("checked proof of the contrapositive of the norm bound (every k)",
        "exact nilpotent counterexample (SymPy)", "non-normal example with closed form of M^k"),
    conditions="necessary: sigma_max(W_rec) > 1/gamma; not sufficient: the strictly upper-triangular "
        "W_rec = [[0, 10], [0, 0]] (sigma_max = 10) gives exactly zero products of two or more "
        "steps for every activation and input, since diag(d) W_rec stays strictly upper "
        "triangular (nilpotency alone would not do: diag(d) W_rec need not be nilpotent); "
        "M = [[1/2, 5], [0, 1/2]] (sigma_max ~ 5.05, spectral radius 1/2) with act' = 1 "
        "(tanh at z_t = 0) decays like 10 k 2^-k",
    references=_R,
    expected=ClaimVerdict.CONDITIONAL,
)
def _decide_explosion_threshold() -> Decision:
    """sigma_max(W_rec) > 1/gamma is necessary for explosion (contrapositive of the bound),
    not sufficient: W_rec = [[0, 10], [0, 0]] has sigma_max = 10 and every product of two
    or more one-step Jacobians is exactly 0, whatever the activation and inputs, because
    diag(d) W_rec is strictly upper triangular for every d. (Nilpotency of W_rec alone is not
    enough: W = s[[1, -1], [1, -1]] is nilpotent, yet diag(1, 0) W has eigenvalue s.)"""
    d = sp.symbols("d_1:5", real=True)  # act'(z_t) entries, arbitrary
    N = sp.Matrix([[0, 10], [0, 0]])
    J1, J2 = sp.diag(d[0], d[1]) * N, sp.diag(d[2], d[3]) * N
    nilpotent_zero = (J2 * J1).expand() == sp.zeros(2, 2)
    sigma_max_N = max(sp.sqrt(ev) for ev in (N.T * N).eigenvals())
    # nilpotency alone is not enough: Q = 2 [[1, -1], [1, -1]] has Q^2 = 0, yet with
    # act' = (1, 0) (saturated second unit) the one-step Jacobian diag(1, 0) Q has
    # eigenvalue 2 and its powers grow like 2^k
    Q = 2 * sp.Matrix([[1, -1], [1, -1]])
    DQ = sp.diag(1, 0) * Q
    nilpotent_but_grows = (Q ** 2 == sp.zeros(2, 2) and DQ ** 10 == 2 ** 9 * DQ
                           and sp.Integer(2) in DQ.eigenvals())
    # a non-nilpotent example: spectral radius 1/2 < 1 but sigma_max ~ 5.05 > 1 (tanh, z_t = 0)
    kk = sp.Symbol("k", integer=True, positive=True)
    M = sp.Matrix([[sp.Rational(1, 2), 5], [0, sp.Rational(1, 2)]])
    Mk_closed = sp.Matrix([[sp.Rational(1, 2) ** kk, 10 * kk * sp.Rational(1, 2) ** kk],
                           [0, sp.Rational(1, 2) ** kk]])
    closed_ok = all((M ** j - Mk_closed.subs(kk, j)).is_zero_matrix for j in (1, 2, 3, 7, 20))
    limit = sp.limit(10 * kk * sp.Rational(1, 2) ** kk, kk, sp.oo)
    with mpmath.workdps(AUDIT_DPS):
        Mm = mpmath.matrix([[mpmath.mpf(1) / 2, 5], [0, mpmath.mpf(1) / 2]])
        sig_M = _mp_sigma_max(Mm)
        norms = {str(j): _nstr(_mp_sigma_max(Mm ** j), 6) for j in (1, 5, 20, 60, 120)}
    # necessity: the vanishing bound with sigma_max <= 1/gamma gives ||prod|| <= 1, no growth
    gamma = mpmath.mpf(1)

    def draw(rng):
        W, U, xs, c0 = _rnn_instance(rng, 3, 2, 30, 1 / gamma)
        _, _, Js = _rnn_forward("tanh", W, U, xs, c0)
        return _mp_sigma_max(_mp_product(Js)), mpmath.mpf(1)

    bp = pascanu_exploding_necessary_all_k(get_activation("tanh"))
    nec = check_inequality(draw, proof=bp.proof, claim=bp.claim, seed=AUDIT_SEED, points=6, dps=30,
                           domain="6 random tanh nets, n=3, d=2, k=30, sigma_max(W_rec) = 1/gamma")
    ok = (nilpotent_zero and sigma_max_N == 10 and closed_ok and limit == 0 and nilpotent_but_grows
          and sig_M > 1 and nec.verdict is Verdict.VERIFIED)
    return Decision(
        ClaimVerdict.CONDITIONAL if ok else ClaimVerdict.REFUTED,
        "SymPy exact: J_2 J_1 == 0 for strictly upper-triangular W_rec with symbolic act' entries; closed form "
        f"of M^k and its limit; mpmath SVD @ {AUDIT_DPS} digits; necessity by a checked proof of the "
        "contrapositive (tanh, every k and n, by induction over k)",
        "0",
        {"nilpotent_W_rec": "[[0, 10], [0, 0]]", "sigma_max_nilpotent": str(sigma_max_N),
         "product_of_two_jacobians_is_zero": nilpotent_zero,
         "nilpotent_alone_not_enough": {"W_rec": "2 [[1, -1], [1, -1]] (W_rec^2 = 0)",
                                        "act'": "(1, 0)", "(diag(act') W_rec)^10": "2^9 diag(act') W_rec",
                                        "checked": nilpotent_but_grows},
         "nonnormal_W_rec": "[[1/2, 5], [0, 1/2]]", "sigma_max_nonnormal": _nstr(sig_M, 8),
         "spectral_radius_nonnormal": "1/2", "closed_form_M^k_checked": closed_ok,
         "limit_offdiag_M^k": str(limit), "norm_of_M^k": norms,
         "necessity": _sub_json(nec)},
        counterexample={"W_rec": "[[0, 10], [0, 0]]", "sigma_max": "10",
                        "product_J_t...J_1 (t>=2)": "exactly 0"},
    )


@claim(
    id="complete-gradient-vanishes",
    section=SECTION_BPTT_RNN,
    statement="Because the long product vanishes, the complete gradient vanishes and W stops changing.",
    formal_text=r"\|\partial E_k/\partial W_{rec}\| = \|\sum_{t=1}^{k} g_t\| \overset{?}{\to} 0",
    methods=("BPTT terms by lag at 50 digits", "central finite differences at 60 digits"),
    conditions="only the long-range terms (large k - t) vanish; the short-range terms stay O(1), so "
        "learning of short dependencies continues while long ones are not learned",
    references=("bengio1994", "pascanu2013"),
    expected=ClaimVerdict.REFUTED,
)
def _decide_complete_gradient_vanishes() -> Decision:
    """The BPTT gradient dE_k/dW_rec = sum_t g_t with lag k - t; the long-range g_t vanish,
    the short-range ones do not, so the sum does not vanish.

    Network: the article's sigmoid RNN, n = 3, d = 2, k = 60, W_rec scaled to sigma_max = 2
    (so gamma sigma_max = 1/2 and the long-range terms provably decay like 2^-lag),
    E_k = ||c_k - y||^2 / 2. Terms by backpropagation at 50 digits; their sum checked against
    central finite differences of E_k in every entry of W_rec (h = 1e-20, 60 digits).
    """
    n, d, k = 3, 2, 60
    rng = random.Random(AUDIT_SEED)
    with mpmath.workdps(AUDIT_DPS):
        W, U, xs, c0 = _rnn_instance(rng, n, d, k, 2)
        y = _mp_gauss_matrix(rng, n, 1)
        cs, zs, Js = _rnn_forward("sigmoid", W, U, xs, c0)
        _, fp = _mp_act("sigmoid")
        delta = cs[k] - y  # dE_k/dc_k
        terms = {}
        G = mpmath.zeros(n, n)
        for t in range(k, 0, -1):
            local = _mp_hadamard(_mp_map(fp, zs[t]), delta)  # dE_k/dz_t
            g_t = local * cs[t - 1].T  # contribution of W_rec at step t
            terms[k - t] = g_t
            G += g_t
            delta = Js[t].T * delta
        sizes = {lag: _fro(g) for lag, g in terms.items()}
        total = _fro(G)
        short = sum(sizes[lag] for lag in range(0, 3))
        long_range = sum(sizes[lag] for lag in range(30, k))
        bound_long = max(sizes[lag] / mpmath.mpf(2) ** (-lag) for lag in range(30, k))

    def energy(Wp):
        with mpmath.workdps(AUDIT_DPS + 10):
            c = c0
            for x in xs:
                c = _mp_map(mp_sigmoid, Wp * c + U * x)
            r = c - y
            return sum(r[i] ** 2 for i in range(n)) / 2

    with mpmath.workdps(AUDIT_DPS + 10):
        h = mpmath.mpf("1e-20")
        fd_resid = mpmath.mpf(0)
        for i in range(n):
            for j in range(n):
                Wp, Wm = W.copy(), W.copy()
                Wp[i, j] += h
                Wm[i, j] -= h
                fd = (energy(Wp) - energy(Wm)) / (2 * h)
                fd_resid = max(fd_resid, abs(fd - G[i, j]) / max(1, abs(G[i, j])))
    decomposition_ok = fd_resid < mpmath.mpf("1e-30")
    refuted = decomposition_ok and total > mpmath.mpf("1e-3") and long_range < mpmath.mpf("1e-6") * total
    return Decision(
        ClaimVerdict.REFUTED if refuted else ClaimVerdict.UNDECIDED,
        f"BPTT terms at {AUDIT_DPS} digits on a seeded sigmoid RNN (n={n}, k={k}, "
        f"sigma_max(W_rec)=2, seed {AUDIT_SEED}); sum checked by central finite differences "
        f"(h=1e-20, {AUDIT_DPS + 10} digits)",
        _nstr(total),
        {"total_gradient_frobenius": _nstr(total),
         "lag_term_frobenius": {str(lag): _nstr(sizes[lag], 4) for lag in
                                (0, 1, 2, 5, 10, 20, 30, 40, 50, 59)},
         "short_range_lags_0_2": _nstr(short), "long_range_lags_30_59": _nstr(long_range, 4),
         "max_lag_term_times_2^lag_for_lag>=30": _nstr(bound_long, 4),
         "finite_difference_relative_residual": _noise(fd_resid, AUDIT_DPS + 10,
                                                       limit=mpmath.mpf("1e-30")),
         "gamma_sigma_max": "1/2"},
        counterexample={"||dE_k/dW_rec||_F": _nstr(total), "long-range part": _nstr(long_range, 4)},
    )


@claim(
    id="sum-vanishes-only-if-all",
    section=SECTION_BPTT_LSTM,
    statement="The error gradient is a sum of T sub-gradients, and it vanishes only if all of them vanish.",
    formal_text=r"\partial E/\partial W = \sum_{k=1}^{T}\partial E_k/\partial W;\ "
        r"\sum_k g_k = 0 \overset{?}{\Rightarrow} g_k = 0\ \forall k",
    methods=("check_equal (linearity)", "explicit cancelling counterexample (SymPy at 50 digits)"),
    conditions="the sum decomposition holds; the 'only if' fails: sub-gradients can cancel (any "
        "stationary point of E); the converse (all vanish => sum vanishes) holds for fixed T",
    references=("werbos1990",),
    expected=ClaimVerdict.REFUTED,
)
def _decide_sum_vanishes_only_if_all() -> Decision:
    """(a) E = sum_k E_k gives dE/dW = sum_k dE_k/dW (verified, SymPy on the unrolled net);
    (b) 'the sum vanishes only if every sub-gradient does' is false: on a scalar sigmoid RNN
    with T = 2 the target y_2 is chosen so that dE/dw = 0 while dE_1/dw != 0 != dE_2/dw
    (a stationary point of E; the terms cancel)."""
    k = 2
    w, u, y, xs, cs, zs = _scalar_rnn(k)
    ys = sp.symbols("y_1:3", real=True)
    Es = [(cs[t] - ys[t - 1]) ** 2 / 2 for t in range(1, k + 1)]
    r_sum = check_equal(sum(sp.diff(e, w) for e in Es), sp.diff(sum(Es), w),
                        seed=AUDIT_SEED, dps=AUDIT_DPS)
    point = {w: sp.Rational(3, 2), u: sp.Rational(-1, 2), cs[0]: sp.Rational(1, 3),
             xs[0]: sp.Rational(1, 1), xs[1]: sp.Rational(-2, 1), ys[0]: sp.Rational(1, 10)}
    g1 = sp.diff(Es[0], w)
    dc2 = sp.diff(cs[2], w)
    # choose y_2 so that (c_2 - y_2) dc_2/dw = -dE_1/dw at the point (exact expressions)
    y2_value = (cs[2] + g1 / dc2).subs(point)
    full_point = dict(point)
    full_point[ys[1]] = y2_value
    with mpmath.workdps(AUDIT_DPS):
        # the total gradient comes from SymPy's derivative of E, not from the construction
        total = sp.N(sp.diff(sum(Es), w).subs(full_point), AUDIT_DPS)
        part1 = sp.N(g1.subs(full_point), AUDIT_DPS)
        part2 = sp.N(sp.diff(Es[1], w).subs(full_point), AUDIT_DPS)
        tol = sp.Float(10) ** (-(AUDIT_DPS - 5))
    cancels = abs(total) < tol and abs(part1) > sp.Rational(1, 100) and abs(part2) > sp.Rational(1, 100)
    ok = r_sum.verdict is Verdict.VERIFIED and cancels
    return Decision(
        ClaimVerdict.REFUTED if ok else ClaimVerdict.UNDECIDED,
        "(a) checker: sum_k dE_k/dw vs diff(sum_k E_k, w); (b) explicit cancellation on a "
        f"scalar sigmoid RNN (T=2), SymPy diff evaluated at {AUDIT_DPS} digits",
        _nstr(min(abs(part1), abs(part2)), 6),
        {"sum_of_subgradients": _sub_json(r_sum), "dE_1/dw": _nstr(part1, 15),
         "dE_2/dw": _nstr(part2, 15), "dE/dw": _noise(total, limit=tol),
         "y_2": _nstr(sp.N(y2_value, AUDIT_DPS), 20),
         "point": {str(s): str(v) for s, v in point.items()}},
        counterexample={"dE_1/dw": _nstr(part1, 12), "dE_2/dw": _nstr(part2, 12),
                        "dE/dw": _noise(total, limit=tol)},
    )


