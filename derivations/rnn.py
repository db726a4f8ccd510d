r"""The vanilla RNN of the article, derived term by term and checked against the unrolled network.

Model (Arbel 2018, with a bias; Bengio, Simard & Frasconi 1994; Pascanu, Mikolov & Bengio 2013):

    z_t = W_rec c_{t-1} + W_in x_t + b,      c_t = act(z_t),        t = 1..k
    h_k = V c_k (linear read-out g = id),    E_k = 1/2 ||h_k - y_k||^2

Derived here (every result a SymPy expression; n = 1 is the scalar form):

    one-step Jacobian     dc_t/dc_{t-1} = diag(act'(z_t)) W_rec
    BPTT (Werbos 1990)    dE_k/dW_rec = sum_{t=1..k} diag(act'(z_t)) (P_{k,t})^T delta_k c_{t-1}^T,
                          P_{k,t} = prod_{j=t+1..k} dc_j/dc_{j-1} (later factors on the left),
                          delta_k = dE_k/dc_k = V^T (h_k - y_k);   likewise W_in with x_t^T.
    bound                 ||P_{k,t}||_2 <= (gamma ||W_rec||_2)^{k-t},  gamma = sup |act'|
    Pascanu et al. 2013   sigma_max(W_rec) < 1/gamma is sufficient for vanishing,
                          sigma_max(W_rec) > 1/gamma is necessary for exploding.

The article's single long-path term (dE/dh)(dh/dc_k)(prod_{t=2..k} dc_t/dc_{t-1})(dc_1/dW) is
the t = 1 term of the sum, not the gradient. Each BPTT term is checked against an independent
reference: the derivative with respect to a per-step *copy* W_rec^{(t)} of the unrolled
network with untied weights, evaluated at W_rec^{(t)} = W_rec (weight sharing makes the true
gradient the sum of these).
"""

from __future__ import annotations

import random
from dataclasses import dataclass

import mpmath
import sympy as sp

from gradproof.derivations.activations import ACTIVATIONS, Activation, derive_gamma, get_activation
from gradproof.derivations.bounds import (pascanu_exploding_necessary_all_k,
                                          pascanu_norm_bound_all_k, pascanu_vanishing_all_k)
from gradproof.derivations.checker import check_equal, check_inequality, check_supremum
from gradproof.numerics.errors import InputError
from gradproof.derivations.records import Derivation, DerivationStep
from gradproof.derivations.symbolic import dag_xreplace

__all__ = [
    "RNNSymbols",
    "rnn_symbols",
    "rnn_preactivation",
    "rnn_cell",
    "rnn_unrolled",
    "squared_error",
    "rnn_one_step_jacobian",
    "jacobian_product",
    "rnn_output_gradient",
    "rnn_bptt_terms",
    "rnn_gradient",
    "article_long_path_term",
    "rnn_norm_bound",
    "spectral_norm_mp",
    "rnn_derivation",
    "RNN_BUDGET",
]

#: Largest sizes ``rnn_derivation`` accepts (derivation + all checks in well under a minute).
RNN_BUDGET = {"hidden": 3, "steps": 6, "hidden*steps": 12}


def _mat(name: str, rows: int, cols: int, scalar: bool) -> sp.Matrix:
    if scalar:
        return sp.Matrix([[sp.Symbol(name, real=True)]])
    base, _, sub = name.partition("_")
    sub = sub.strip("{}")
    def entry(i, j):
        idx = f"{i + 1}{j + 1}" if cols > 1 else f"{i + 1}"
        inner = f"{sub},{idx}" if sub else idx
        return sp.Symbol(f"{base}_{{{inner}}}", real=True)
    return sp.Matrix(rows, cols, entry)


@dataclass(frozen=True)
class RNNSymbols:
    """Named symbols of an RNN unrolled for k steps: sizes n (hidden), d (input), m (output).

    ``xs[t-1]`` is x_t (t = 1..k); ``c0`` the initial state; ``y`` the target y_k.
    Scalar form (n = d = m = 1) uses plain names W_rec, W_in, b, V, c_0, x_t, y_k.
    """

    n: int
    d: int
    m: int
    k: int
    W_rec: sp.Matrix
    W_in: sp.Matrix
    b: sp.Matrix
    V: sp.Matrix
    c0: sp.Matrix
    xs: tuple
    y: sp.Matrix

    @property
    def scalar(self) -> bool:
        return self.n == 1 and self.d == 1 and self.m == 1


def rnn_symbols(n: int, k: int, d: int = 1, m: int = 1) -> RNNSymbols:
    """Symbols for an n-unit RNN unrolled k steps, input size d, output size m (all real)."""
    scalar = n == 1 and d == 1 and m == 1
    return RNNSymbols(
        n=n, d=d, m=m, k=k,
        W_rec=_mat("W_{rec}", n, n, scalar),
        W_in=_mat("W_{in}", n, d, scalar),
        b=_mat("b", n, 1, scalar),
        V=_mat("V", m, n, scalar),
        c0=_mat("c_{0}", n, 1, scalar),
        xs=tuple(_mat(f"x_{{{t}}}", d, 1, scalar) for t in range(1, k + 1)),
        y=_mat("y_{k}", m, 1, scalar),
    )


def rnn_preactivation(W_rec: sp.Matrix, W_in: sp.Matrix, b: sp.Matrix, c_prev: sp.Matrix,
                      x_t: sp.Matrix) -> sp.Matrix:
    """z_t = W_rec c_{t-1} + W_in x_t + b."""
    return W_rec * c_prev + W_in * x_t + b


def rnn_cell(act: Activation, W_rec, W_in, b, c_prev, x_t) -> sp.Matrix:
    """c_t = act(z_t), applied entrywise."""
    return rnn_preactivation(W_rec, W_in, b, c_prev, x_t).applyfunc(act.apply)


def rnn_unrolled(act: Activation, s: RNNSymbols, W_rec_per_step=None, W_in_per_step=None) -> list[sp.Matrix]:
    """[c_0, c_1, ..., c_k] of the unrolled network (optionally with untied W_rec^{(t)}, W_in^{(t)})."""
    cs = [s.c0]
    for t in range(1, s.k + 1):
        W = s.W_rec if W_rec_per_step is None else W_rec_per_step[t - 1]
        U = s.W_in if W_in_per_step is None else W_in_per_step[t - 1]
        cs.append(rnn_cell(act, W, U, s.b, cs[-1], s.xs[t - 1]))
    return cs


def squared_error(h: sp.Matrix, y: sp.Matrix) -> sp.Expr:
    """E = 1/2 ||h - y||^2."""
    r = h - y
    return sp.Rational(1, 2) * (r.T * r)[0, 0]


def rnn_one_step_jacobian(act: Activation, W_rec: sp.Matrix, z_t: sp.Matrix) -> sp.Matrix:
    """dc_t/dc_{t-1} = diag(act'(z_t)) W_rec  (Pascanu et al. 2013, eq. 7, with W, not W^T)."""
    return sp.diag(*[act.derivative(z) for z in z_t]) * W_rec


def jacobian_product(jacobians: list[sp.Matrix], n: int) -> sp.Matrix:
    """J_k J_{k-1} ... J_{t+1} for ``jacobians`` = [J_{t+1}, ..., J_k] (identity if empty)."""
    P = sp.eye(n)
    for J in jacobians:
        P = J * P
    return P


def rnn_output_gradient(s: RNNSymbols, c_k: sp.Matrix) -> sp.Matrix:
    """delta_k = dE_k/dc_k = V^T (V c_k - y_k), a column (linear read-out, squared error)."""
    return s.V.T * (s.V * c_k - s.y)


def _trajectory(act: Activation, s: RNNSymbols):
    """(cs, zs, Js) of the unrolled network: states c_0..c_k, pre-activations z_1..z_k and
    one-step Jacobians Js[j-1] = dc_j/dc_{j-1}; computed once and shared by the functions below."""
    cs = rnn_unrolled(act, s)
    zs = [rnn_preactivation(s.W_rec, s.W_in, s.b, cs[t - 1], s.xs[t - 1]) for t in range(1, s.k + 1)]
    return cs, zs, [rnn_one_step_jacobian(act, s.W_rec, z) for z in zs]


def rnn_bptt_terms(act: Activation, s: RNNSymbols, wrt: str = "W_rec", *, trajectory=None) -> list[sp.Matrix]:
    """The k terms of dE_k/dW (W = W_rec or W_in), term t = 1..k:

        T_t = diag(act'(z_t)) P_{k,t}^T delta_k  u_t^T,   u_t = c_{t-1} (W_rec) or x_t (W_in)

    the contribution of the error k - t steps back (the '+' immediate partial d+c_t/dW).
    ``trajectory``: ``_trajectory(act, s)`` when the caller has it already.
    """
    cs, zs, Js = trajectory or _trajectory(act, s)
    delta = rnn_output_gradient(s, cs[-1])
    terms = []
    for t in range(1, s.k + 1):
        P = jacobian_product(Js[t:], s.n)  # J_{t+1} .. J_k
        back = P.T * delta
        dact = sp.diag(*[act.derivative(z) for z in zs[t - 1]])
        u = cs[t - 1] if wrt == "W_rec" else s.xs[t - 1]
        terms.append(dact * back * u.T)
    return terms


def _bptt_sum(terms: list[sp.Matrix]) -> sp.Matrix:
    total = terms[0]
    for T in terms[1:]:
        total = total + T
    return total


def rnn_gradient(act: Activation, s: RNNSymbols, wrt: str = "W_rec") -> sp.Matrix:
    """dE_k/dW as the full BPTT sum over t of ``rnn_bptt_terms``."""
    return _bptt_sum(rnn_bptt_terms(act, s, wrt))


def article_long_path_term(act: Activation, s: RNNSymbols, wrt: str = "W_rec", *, trajectory=None) -> sp.Matrix:
    """The article's single product (dE/dh_k)(dh_k/dc_k)(prod_{t=2..k} dc_t/dc_{t-1})(dc_1/dW).

    Built directly from the article's formula (chain through c_1 only), as a matrix of the
    same shape as W; it is the t = 1 term of BPTT. ``trajectory`` as in ``rnn_bptt_terms``.
    """
    cs, zs, Js = trajectory or _trajectory(act, s)
    chain = (rnn_output_gradient(s, cs[-1])).T  # dE/dh dh/dc_k as a row
    for t in range(s.k, 1, -1):
        chain = chain * Js[t - 1]
    # dc_1/dW_{ab} = e_a act'(z_1)_a u_b
    u = cs[0] if wrt == "W_rec" else s.xs[0]
    shape = (s.n, s.n) if wrt == "W_rec" else (s.n, s.d)
    return sp.Matrix(*shape, lambda a, b_: chain[0, a] * act.derivative(zs[0][a]) * u[b_])


def _reference_gradient(E: sp.Expr, W: sp.Matrix) -> sp.Matrix:
    """SymPy's own derivative of the unrolled error with respect to each entry of W."""
    return W.applyfunc(lambda w: sp.diff(E, w))


def _untied_references(act: Activation, s: RNNSymbols, wrt: str) -> list[sp.Matrix]:
    """Independent reference for each BPTT term t = 1..k: SymPy's derivative of the error of the
    unrolled network with its own copy W^{(t)} of W (= W_rec or W_in) at step t, evaluated at
    W^{(t)} = W (weight sharing makes the true gradient the sum of these)."""
    W = s.W_rec if wrt == "W_rec" else s.W_in
    copies = [W.applyfunc(lambda w, t=t: sp.Symbol(f"{w.name}^({t})", real=True)) for t in range(1, s.k + 1)]
    tie = {cw: w for C in copies for cw, w in zip(C, W)}
    if wrt == "W_rec":
        cs = rnn_unrolled(act, s, W_rec_per_step=copies)
    else:
        cs = rnn_unrolled(act, s, W_in_per_step=copies)
    E = squared_error(s.V * cs[-1], s.y)
    return [dag_xreplace(_reference_gradient(E, C), tie) for C in copies]


def spectral_norm_mp(A) -> mpmath.mpf:
    """||A||_2 = largest singular value, by mpmath's SVD at the working precision."""
    return max(mpmath.svd_r(mpmath.matrix(A), compute_uv=False))


def rnn_norm_bound(gamma, W_rec_norm, lag):
    """(gamma ||W_rec||_2)^lag, the bound on ||prod_{j=t+1..k} dc_j/dc_{j-1}||_2 with lag = k - t."""
    return (gamma * W_rec_norm) ** lag


def _scalarize(m: sp.Matrix, scalar: bool):
    return m[0, 0] if scalar and m.shape == (1, 1) else m


def _random_matrix(rng: random.Random, n: int, scale: float = 1.0) -> mpmath.matrix:
    """An n x n matrix of N(0, scale^2) draws (each float draw converted exactly)."""
    W = mpmath.matrix(n, n)
    for i in range(n):
        for j in range(n):
            W[i, j] = mpmath.mpf(repr(rng.gauss(0, scale)))
    return W


def _random_trajectory_product(rng: random.Random, W, k: int, act_mp, dact_mp) -> mpmath.matrix:
    """P_{k,0} = prod_t diag(act'(z_t)) W along k steps from a random c_0 with random inputs
    (entries uniform in [-1, 1]), at the working precision."""
    n = W.rows
    c = mpmath.matrix([mpmath.mpf(repr(rng.uniform(-1, 1))) for _ in range(n)])
    P = mpmath.eye(n)
    for _ in range(k):
        z = W * c + mpmath.matrix([mpmath.mpf(repr(rng.uniform(-1, 1))) for _ in range(n)])
        P = mpmath.diag([dact_mp(zi) for zi in z]) * W * P
        c = mpmath.matrix([act_mp(zi) for zi in z])
    return P


def _mp_activation(act: Activation):
    z = sp.Symbol("z", real=True)
    f = sp.lambdify(z, act.definition(z), "mpmath")
    df = sp.lambdify(z, sp.diff(act.definition(z), z), "mpmath")
    return f, df


def rnn_derivation(activation: str = "sigmoid", hidden: int = 1, steps: int = 3,
                   *, check: bool = True, seed: int | None = None) -> Derivation:
    """The RNN derivation term by term, each claim checked against the unrolled network.

    Raises ``InputError`` for unknown activations or sizes outside ``RNN_BUDGET``.
    """
    act = get_activation(activation) if isinstance(activation, str) else activation
    if act.name not in ACTIVATIONS:
        raise InputError(f"unknown activation {act.name!r}")
    for label, v in (("hidden", hidden), ("steps", steps)):
        if not isinstance(v, int) or isinstance(v, bool) or v < 1:
            raise InputError(f"--{label} must be a positive integer, got {v!r}")
    if hidden > RNN_BUDGET["hidden"] or steps > RNN_BUDGET["steps"] or hidden * steps > RNN_BUDGET["hidden*steps"]:
        raise InputError(
            f"rnn derivation with hidden={hidden}, steps={steps} is beyond the budget "
            f"(hidden <= {RNN_BUDGET['hidden']}, steps <= {RNN_BUDGET['steps']}, "
            f"hidden*steps <= {RNN_BUDGET['hidden*steps']})"
        )
    kw = {} if seed is None else {"seed": seed}
    n, k = hidden, steps
    s = rnn_symbols(n, k)
    sc = s.scalar
    gd = derive_gamma(act)
    gamma = gd.gamma
    records: list[DerivationStep] = []

    def add(name, expr, why, lhs, chk=None, compact=None, relation="="):
        """Record a step; ``compact`` is the LaTeX shown when the full expression is long."""
        big = compact is not None and (n * k > 3 or len(sp.sstr(expr)) > 300)
        records.append(DerivationStep(name, expr, why, lhs, chk, compact if big else None, relation))

    # 1. model -------------------------------------------------------------------------
    c_prev = _mat("c_{t-1}", n, 1, sc)
    x_t = _mat("x_{t}", 1 if sc else s.d, 1, sc)
    z_t = rnn_preactivation(s.W_rec, s.W_in, s.b, c_prev, x_t)
    c_t = z_t.applyfunc(act.apply)
    add("model", _scalarize(c_t, sc), "state update of the article, with a bias b", "c_t")
    traj = _trajectory(act, s)  # shared by steps 4, 6 and 8
    cs, _, Js = traj
    E = squared_error(s.V * cs[-1], s.y)
    h_k, y_k = sp.symbols("h_k y_k", real=True)
    # output size m = 1 in both forms, so E_k is the scalar square
    add("error", sp.Rational(1, 2) * (h_k - y_k) ** 2,
        "linear read-out h_k = V c_k (one output) at the last step, squared error", "E_k")

    # 2. activation derivative and gamma ------------------------------------------------
    z = sp.Symbol("z", real=True)
    d_apply = act.derivative(z)
    d_def = sp.diff(act.definition(z), z)
    add("activation_derivative", d_apply,
        f"{act.name}' written in terms of {act.name} itself; checked against d/dz of its closed form",
        r"%s'(z)" % act.latex_name,
        check_equal(d_apply.rewrite(sp.exp) if act.name == "sigmoid" else d_apply, d_def, **kw) if check else None)
    if gd.critical_points:
        gamma_why = ("sup_z |act'(z)|: act''(z)=0 at z=%s, act'''<0 there, act' -> %s at +-oo "
                     "(derive_gamma; check_supremum re-derives it by its calculus certificate)"
                     % (gd.argmax, gd.limits[1]))
    else:
        gamma_why = "sup_z |act'(z)|: act'' = 0 everywhere, act' is the constant %s" % gd.derivative
    add("gamma", gamma, gamma_why,
        r"\gamma = \sup_z |%s'(z)|" % act.latex_name,
        check_supremum(gamma, d_def, z, **kw) if check else None)

    # 3. one-step Jacobian ------------------------------------------------------------------
    J_t = rnn_one_step_jacobian(act, s.W_rec, z_t)
    ref_J = c_t.jacobian(c_prev)
    add("one_step_jacobian", _scalarize(J_t, sc),
        "chain rule through z_t = W_rec c_{t-1} + ...: diag(act'(z_t)) W_rec (W, not W^T)",
        r"\frac{\partial c_t}{\partial c_{t-1}}",
        check_equal(J_t, ref_J, **kw) if check else None)

    # 4. the long product equals dc_k/dc_0 of the unrolled network -------------------------
    P = jacobian_product(Js, n)
    add("jacobian_product", _scalarize(P, sc),
        f"product of the {k} one-step Jacobians along the trajectory (later factors left)",
        r"\frac{\partial c_k}{\partial c_0} = \prod_{t=1}^{k} \frac{\partial c_t}{\partial c_{t-1}}",
        check_equal(P, cs[-1].jacobian(s.c0), **kw) if check else None,
        compact=r"J_%d \cdots J_1,\quad J_t = \mathrm{diag}(%s'(z_t))\, W_{rec}" % (k, act.latex_name))

    # 5. output gradient -------------------------------------------------------------------------
    ck_sym = _mat("c_{k}", n, 1, sc)
    delta = rnn_output_gradient(s, ck_sym)
    add("output_gradient", _scalarize(delta, sc), "E_k = 1/2||V c_k - y_k||^2 gives V^T (V c_k - y_k)",
        r"\frac{\partial E_k}{\partial c_k}",
        check_equal(delta, sp.Matrix([sp.diff(squared_error(s.V * ck_sym, s.y), c) for c in ck_sym]), **kw)
        if check else None)

    # 6. BPTT terms, each against the untied-weights reference: W_rec (immediate partial through
    # W_rec c_{t-1}), then W_in (through W_in x_t) --------------------------------------------------
    terms = {}
    for wrt, prefix, u_t in (("W_rec", "bptt_term_", lambda t: "c_{%d}" % (t - 1)),
                             ("W_in", "bptt_term_W_in_", lambda t: "x_{%d}" % t)):
        terms[wrt] = rnn_bptt_terms(act, s, wrt, trajectory=traj)
        refs = _untied_references(act, s, wrt) if check else None
        for t, T in enumerate(terms[wrt], 1):
            add(f"{prefix}{t}", _scalarize(T, sc),
                f"error from step k={k} reaching {wrt} through step t={t} ({k - t} one-step Jacobians)",
                r"\left.\frac{\partial E_k}{\partial W_{%s}}\right|_{t=%d}" % (wrt[2:], t),
                check_equal(T, refs[t - 1], **kw) if check else None,
                compact=r"\mathrm{diag}(%s'(z_{%d}))\, P_{%d,%d}^{T} \delta_{%d}\, %s^{T}"
                % (act.latex_name, t, k, t, k, u_t(t)))

    # 7. full gradients ---------------------------------------------------------------------------
    G = _bptt_sum(terms["W_rec"])
    ref_G = _reference_gradient(E, s.W_rec) if check else None  # used twice below
    add("gradient_W_rec", _scalarize(G, sc),
        "weights are shared across steps: the gradient is the sum of the k terms",
        r"\frac{\partial E_k}{\partial W_{rec}}",
        check_equal(G, ref_G, **kw) if check else None,
        compact=r"\sum_{t=1}^{k} T_t")
    G_in = _bptt_sum(terms["W_in"])
    add("gradient_W_in", _scalarize(G_in, sc),
        "same sum with the immediate partial through W_in x_t",
        r"\frac{\partial E_k}{\partial W_{in}}",
        check_equal(G_in, _reference_gradient(E, s.W_in), **kw) if check else None,
        compact=r"\sum_{t=1}^{k} \mathrm{diag}(%s'(z_t))\, P_{k,t}^{T} \delta_k\, x_t^{T}" % act.latex_name)

    # 8. the article's single long path ---------------------------------------------------------
    L = article_long_path_term(act, s, "W_rec", trajectory=traj)
    add("article_long_path_is_term_1", _scalarize(L, sc),
        "the article's product from c_1 to c_k is exactly the t=1 term of the sum",
        r"\frac{\partial E_k}{\partial h_k}\frac{\partial h_k}{\partial c_k}"
        r"\prod_{t=2}^{k}\frac{\partial c_t}{\partial c_{t-1}}\frac{\partial c_1}{\partial W_{rec}}",
        check_equal(L, terms["W_rec"][0], **kw) if check else None, compact="T_1")
    add("article_long_path_is_gradient", _scalarize(G, sc),
        "the article equates that single term with the gradient; for k >= 2 the short-range terms are missing",
        r"\frac{\partial E_k}{\partial h_k}\cdots\frac{\partial c_1}{\partial W_{rec}}",
        check_equal(L, ref_G, **kw) if check else None,
        compact=r"\sum_{t=1}^{k} T_t", relation=r"\overset{?}{=}")

    # 9. norm bound and Pascanu et al. (2013) conditions ------------------------------------------
    act_mp, dact_mp = _mp_activation(act)
    sigma_max = sp.Symbol(r"\sigma_{max}(W_{rec})", positive=True)
    lag = sp.Symbol("k - t", positive=True)
    bound_expr = rnn_norm_bound(gamma, sigma_max, lag)

    def bound_instance(rng):
        W = _random_matrix(rng, n, scale=1.5 / max(1, n) ** 0.5 / float(gamma))
        P_ = _random_trajectory_product(rng, W, k, act_mp, dact_mp)
        return spectral_norm_mp(P_), (mpmath.mpf(sp.N(gamma, 60)) * spectral_norm_mp(W)) ** k

    def proved(builder, draw, what):
        bp = builder(act)
        return check_inequality(draw, proof=bp.proof, claim=bp.claim, domain=what, **kw)

    add("norm_bound", bound_expr,
        "checked proof for every lag k - t and every n (lemmas derivative_bound, diag_norm, "
        "submultiplicative, product_of_bounds, product_norm_induction); spot-checked on random "
        "trajectories",
        r"\left\|\prod_{j=t+1}^{k}\frac{\partial c_j}{\partial c_{j-1}}\right\|_2",
        proved(pascanu_norm_bound_all_k, bound_instance,
               f"random W_rec (N(0, (1.5/(sqrt(n) gamma))^2)), inputs and c_0 in [-1, 1], n={n}, k={k}")
        if check else None, relation=r"\le")
    threshold = sp.nsimplify(1 / gamma)

    def vanishing_instance(rng):
        # sigma_max(W_rec) drawn below 1/gamma: ||P|| <= (gamma sigma_max)^k < 1
        target = mpmath.mpf(repr(rng.uniform(0.05, 0.95))) * mpmath.mpf(sp.N(threshold, 60))
        Pn, bound = _scaled_instance(rng, n, k, act_mp, dact_mp, target, gamma)
        return Pn, min(bound, mpmath.mpf(1))

    add("pascanu_sufficient_vanishing", sp.StrictLessThan(sigma_max, threshold),
        f"checked proof: then ||P_(k,t)||_2 <= (gamma sigma_max)^(k-t) -> 0 geometrically "
        f"(1/gamma = {threshold})",
        r"\text{sufficient for vanishing}",
        proved(pascanu_vanishing_all_k, vanishing_instance,
               f"random W_rec rescaled to sigma_max in [0.05, 0.95]/gamma, n={n}, k={k}")
        if check else None,
        relation=r"\;:\;")

    def exploding_instance(rng):
        # contrapositive: with sigma_max <= 1/gamma no product can exceed 1
        target = mpmath.mpf(repr(rng.uniform(0.5, 1.0))) * mpmath.mpf(sp.N(threshold, 60))
        Pn, _ = _scaled_instance(rng, n, k, act_mp, dact_mp, target, gamma)
        return Pn, mpmath.mpf(1)

    add("pascanu_necessary_exploding", sp.StrictGreaterThan(sigma_max, threshold),
        "checked proof of the contrapositive: sigma_max <= 1/gamma keeps every product norm <= 1",
        r"\text{necessary for exploding}",
        proved(pascanu_exploding_necessary_all_k, exploding_instance,
               f"random W_rec rescaled to sigma_max in [0.5, 1]/gamma, n={n}, k={k}")
        if check else None, relation=r"\;:\;")

    notes = (f"n={n}, k={k}, d=1, m=1; checks: numeric at 50 digits, seed printed per step",)
    return Derivation("rnn", act.name, n, k, gamma, tuple(records), None, notes)


def _scaled_instance(rng, n, k, act_mp, dact_mp, target_norm, gamma):
    """Random trajectory with W_rec rescaled to spectral norm ``target_norm``.

    Returns (||P_{k,0}||_2, (gamma * target_norm)^k) at the working precision.
    """
    W = _random_matrix(rng, n)
    W = W * (target_norm / spectral_norm_mp(W))
    P = _random_trajectory_product(rng, W, k, act_mp, dact_mp)
    return spectral_norm_mp(P), (mpmath.mpf(sp.N(gamma, 60)) * target_norm) ** k
