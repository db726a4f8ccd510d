r"""The bounds of the vanishing/exploding-gradient argument, as checked proofs (``derivations.proofs``).

Pascanu, Mikolov & Bengio (2013, sec. 3.1), Bengio, Simard & Frasconi (1994): for the RNN
c_t = act(W_rec c_{t-1} + W_in x_t + b) the one-step Jacobian is J_t = D_t W_rec with
D_t = diag(act'(z_t)), and

    ||J_k ... J_1||_2 <= (gamma ||W_rec||_2)^k,     gamma = sup_z |act'(z)|             (bound)
    ||W_rec||_2 < 1/gamma   =>  the bound -> 0 as k -> oo     (sufficient for vanishing)
    ||W_rec||_2 <= 1/gamma  =>  ||J_k ... J_1||_2 <= 1        (so > 1/gamma is necessary
                                                                 for exploding)

Each is proven for a symbolic hidden size n (W_rec, D_t are n x n MatrixSymbols), either for
a concrete number of steps k (``pascanu_norm_bound(act, k)``, ...: one submultiplicative step
per factor) or for every k >= 0 (``..._all_k``: the lemma product_norm_induction checks the
base case and the induction step), from the lemmas derivative_bound (gamma by derive_gamma,
with its calculus certificate), diag_norm, submultiplicative, product_of_bounds,
power_monotone, scale, geometric_decay; every side condition is decided by the checker.

Gers, Schmidhuber & Cummins (2000) forget gate: for one unit with f_t = sigma(a_t),
a_t = b_f + sum_c U_c h_{t-1,c} + sum_c V_c x_{t,c}, h = o tanh(c) with o = sigma(.):

    prod_{t=2}^{k} f_t >= sigma(b_f - m)^{k-1},   m = sum_c |U_c| + X sum_c |V_c|,
    under |x_{t,c}| <= X,

from sup_bound (|sigma| <= 1, |tanh| <= 1 by calculus certificates), instantiate, triangle,
product_of_bounds, sum_of_bounds, abs_lower, increasing (sigma' > 0) and product_of_bounds.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import sympy as sp

from gradproof.derivations import proofs as L
from gradproof.derivations.activations import Activation, derive_gamma

__all__ = ["BoundProof", "pascanu_norm_bound", "pascanu_vanishing", "pascanu_exploding_necessary",
           "pascanu_norm_bound_all_k", "pascanu_vanishing_all_k", "pascanu_exploding_necessary_all_k",
           "forget_gate_lower_bound"]


@dataclass(frozen=True)
class BoundProof:
    """A checked proof with the claim it establishes (a SymPy relational or Implies) and the
    symbols it is stated in."""

    proof: L.Proof
    claim: sp.Basic
    symbols: dict


def _rnn_setup(k: int):
    n = sp.Symbol("n", integer=True, positive=True)
    W = sp.MatrixSymbol("W_rec", n, n)
    Ds = [sp.MatrixSymbol(f"D_{t}", n, n) for t in range(1, k + 1)]  # D_t = diag(act'(z_t))
    return n, W, Ds


def _product(Ds, W):
    """J_k ... J_1 with J_t = D_t W_rec (later factors on the left)."""
    return sp.MatMul(*[f for D in reversed(Ds) for f in (D, W)]).doit()


@lru_cache(maxsize=32)
def _norm_bound_facts(act: Activation, k: int):
    n, W, Ds = _rnn_setup(k)
    gamma = derive_gamma(act).gamma
    z = sp.Symbol("z", real=True)
    dact = L.derivative_bound(act)                      # |act'(z)| <= gamma
    s = L.opnorm(W)
    facts = [dact]
    P_fact = None
    for t, D in enumerate(Ds, 1):
        dn = L.diag_norm(D, sp.diff(act.definition(z), z), z, dact)     # ||D_t|| <= gamma
        sm = L.submultiplicative(D, W)                                   # ||D_t W|| <= ||D_t|| ||W||
        pb = L.product_of_bounds([dn, L.reflexive(s)])                   # ||D_t|| ||W|| <= gamma ||W||
        jt = L.chain(sm, pb)                                             # ||J_t|| <= gamma ||W||
        facts += [dn, sm, pb, jt]
        if P_fact is None:
            P_fact = L.rewrite(jt, (gamma * s) ** 1)
            P_expr = D * W
        else:
            J = sp.MatMul(D, W)
            sm2 = L.submultiplicative(J, P_expr)                         # ||J_t P|| <= ||J_t|| ||P||
            pb2 = L.product_of_bounds([jt, P_fact])
            P_expr = sp.MatMul(J, P_expr).doit()
            P_fact = L.rewrite(L.chain(sm2, pb2), (gamma * s) ** t)      # ||P_t|| <= (gamma ||W||)^t
            facts += [sm2, pb2]
        facts.append(P_fact)
    return tuple(facts), P_fact, dict(n=n, W=W, Ds=Ds, gamma=gamma, s=s, product=_product(Ds, W))


def pascanu_norm_bound(act: Activation, k: int) -> BoundProof:
    """||J_k ... J_1||_2 <= (gamma ||W_rec||_2)^k for every n (symbolic) and this k."""
    facts, _, sy = _norm_bound_facts(act, k)
    claim = sp.Le(L.opnorm(sy["product"]), (sy["gamma"] * sy["s"]) ** k)
    return BoundProof(L.Proof(tuple(facts)), claim, sy)


def pascanu_vanishing(act: Activation, k: int) -> BoundProof:
    """||W_rec|| < 1/gamma => ||J_k...J_1|| <= q^k with q = gamma ||W_rec|| and lim q^k = 0."""
    facts, P_fact, sy = _norm_bound_facts(act, k)
    gamma, s = sy["gamma"], sy["s"]
    H = sp.StrictLessThan(s, 1 / gamma)
    q_lt = L.rewrite(L.scale(L.hypothesis(H), gamma), 1)                 # gamma ||W|| < 1
    kk = sp.Symbol("k", integer=True, positive=True)
    decay = L.geometric_decay(q_lt, kk)                                   # lim (gamma ||W||)^k = 0
    claim = sp.Implies(H, sp.And(sp.Le(L.opnorm(sy["product"]), (gamma * s) ** k),
                                 sp.StrictLessThan(gamma * s, 1),
                                 sp.Eq(sp.Limit((gamma * s) ** kk, kk, sp.oo), 0, evaluate=False)))
    return BoundProof(L.Proof(tuple(facts) + (q_lt, decay)), claim, sy)


def pascanu_exploding_necessary(act: Activation, k: int) -> BoundProof:
    """Contrapositive of necessity: ||W_rec|| <= 1/gamma => ||J_k ... J_1|| <= 1 (no growth)."""
    facts, P_fact, sy = _norm_bound_facts(act, k)
    gamma, s = sy["gamma"], sy["s"]
    H = sp.LessThan(s, 1 / gamma)
    q_le = L.rewrite(L.scale(L.hypothesis(H), gamma), 1)                 # gamma ||W|| <= 1
    pw = L.rewrite(L.power_monotone(q_le, k), 1)                          # (gamma ||W||)^k <= 1
    final = L.chain(P_fact, pw)                                           # ||P_k|| <= 1
    claim = sp.Implies(H, sp.Le(L.opnorm(sy["product"]), 1))
    return BoundProof(L.Proof(tuple(facts) + (q_le, pw, final)), claim, sy)


def _closed_sigmoid(u):
    return 1 / (1 + sp.exp(-u))


def forget_gate_lower_bound(k: int = 3, n_h: int = 2, d: int = 1) -> BoundProof:
    """prod_{t=2}^{k} f_t >= sigma(b_f - m)^{k-1} for one unit (n_h hidden inputs, d inputs)."""
    b = sp.Symbol("b_f", real=True)
    X = sp.Symbol("X", nonnegative=True)
    U = [sp.Symbol(f"U_{c}", real=True) for c in range(1, n_h + 1)]
    V = [sp.Symbol(f"V_{c}", real=True) for c in range(1, d + 1)]
    w = sp.Symbol("w", real=True)
    sig_sup = L.sup_bound(_closed_sigmoid(w), w)                         # |sigma(w)| <= 1
    tanh_sup = L.sup_bound(sp.tanh(w), w)                                 # |tanh(w)| <= 1
    m = sp.Add(*[sp.Abs(u) for u in U]) + X * sp.Add(*[sp.Abs(v) for v in V])
    facts, lowers, hyps, fs = [sig_sup, tanh_sup], [], [], []
    for t in range(2, k + 1):
        ao = [sp.Symbol(f"a_o{t - 1}{c}", real=True) for c in range(1, n_h + 1)]
        cc = [sp.Symbol(f"c_{t - 1}{c}", real=True) for c in range(1, n_h + 1)]
        xs = [sp.Symbol(f"x_{t}{c}", real=True) for c in range(1, d + 1)]
        h = [_closed_sigmoid(a) * sp.tanh(c) for a, c in zip(ao, cc)]    # h = o tanh(c)
        terms = [u * hc for u, hc in zip(U, h)] + [v * x for v, x in zip(V, xs)]
        a_t = b + sp.Add(*terms)
        bounds = []
        for u, a, c in zip(U, ao, cc):
            hb = L.product_of_bounds([L.instantiate(sig_sup, w, a), L.instantiate(tanh_sup, w, c)])
            bounds.append(L.rewrite(L.product_of_bounds([L.reflexive(sp.Abs(u)), hb]), sp.Abs(u)))
        for v, x in zip(V, xs):
            hx = L.hypothesis(sp.Le(sp.Abs(x), X))
            hyps.append(sp.Le(sp.Abs(x), X))
            bounds.append(L.product_of_bounds([L.reflexive(sp.Abs(v)), hx]))
        tri = L.triangle(terms)                                           # |sum| <= sum |.|
        sob = L.rewrite(L.sum_of_bounds(bounds), m)                       # sum |.| <= m
        margin = L.rewrite_lhs(L.chain(tri, sob), sp.Abs(a_t - b))        # |a_t - b_f| <= m
        low = L.abs_lower(margin, a_t, b)                                 # b_f - m <= a_t
        ft = L.increasing(_closed_sigmoid, w, low)                        # sigma(b_f - m) <= f_t
        facts += bounds + [tri, sob, margin, low, ft]
        lowers.append(ft)
        fs.append(_closed_sigmoid(a_t))
    prod = L.rewrite_lhs(L.product_of_bounds(lowers), _closed_sigmoid(b - m) ** (k - 1))
    facts.append(prod)
    claim = sp.Implies(sp.And(*hyps), sp.Le(_closed_sigmoid(b - m) ** (k - 1), sp.Mul(*fs)))
    return BoundProof(L.Proof(tuple(facts)), claim, dict(b=b, X=X, U=U, V=V, m=m, k=k))


# ------------------------------------------------------------------------------------------
# for every number of steps k (induction over k: lemma product_norm_induction)
# ------------------------------------------------------------------------------------------


@lru_cache(maxsize=8)
def _all_k_facts(act: Activation):
    n = sp.Symbol("n", integer=True, positive=True)
    k = sp.Symbol("k", integer=True, nonnegative=True)
    W = sp.MatrixSymbol("W_rec", n, n)
    D = sp.MatrixSymbol("D_t", n, n)                 # D_t = diag(act'(z_t)), a generic step
    P = sp.MatrixSymbol("P_k", n, n)                 # P_k = J_k ... J_1, J_t = D_t W_rec
    gamma = derive_gamma(act).gamma
    z = sp.Symbol("z", real=True)
    s = L.opnorm(W)
    dact = L.derivative_bound(act)
    dn = L.diag_norm(D, sp.diff(act.definition(z), z), z, dact)
    jt = L.chain(L.submultiplicative(D, W), L.product_of_bounds([dn, L.reflexive(s)]))
    bound = L.product_norm_induction(jt, D * W, P, k)  # ||P_k|| <= (gamma ||W||)^k, all k
    return (dact, dn, jt, bound), bound, dict(n=n, k=k, W=W, D=D, P=P, gamma=gamma, s=s)


def pascanu_norm_bound_all_k(act: Activation) -> BoundProof:
    """||J_k ... J_1||_2 <= (gamma ||W_rec||_2)^k for every k >= 0 and every n."""
    facts, bound, sy = _all_k_facts(act)
    claim = sp.Le(L.opnorm(sy["P"]), (sy["gamma"] * sy["s"]) ** sy["k"])
    return BoundProof(L.Proof(facts), claim, sy)


def pascanu_vanishing_all_k(act: Activation) -> BoundProof:
    """||W_rec|| < 1/gamma => ||P_k|| <= q^k for all k, q = gamma ||W_rec|| < 1, lim q^k = 0."""
    facts, bound, sy = _all_k_facts(act)
    gamma, s, k = sy["gamma"], sy["s"], sy["k"]
    H = sp.StrictLessThan(s, 1 / gamma)
    q_lt = L.rewrite(L.scale(L.hypothesis(H), gamma), 1)
    kk = sp.Symbol("k", integer=True, positive=True)
    decay = L.geometric_decay(q_lt, kk)
    claim = sp.Implies(H, sp.And(sp.Le(L.opnorm(sy["P"]), (gamma * s) ** k),
                                 sp.StrictLessThan(gamma * s, 1),
                                 sp.Eq(sp.Limit((gamma * s) ** kk, kk, sp.oo), 0, evaluate=False)))
    return BoundProof(L.Proof(facts + (q_lt, decay)), claim, sy)


def pascanu_exploding_necessary_all_k(act: Activation) -> BoundProof:
    """||W_rec|| <= 1/gamma => ||J_k ... J_1|| <= 1 for every k >= 0 (no growth)."""
    facts, bound, sy = _all_k_facts(act)
    gamma, s, k = sy["gamma"], sy["s"], sy["k"]
    H = sp.LessThan(s, 1 / gamma)
    q_le = L.rewrite(L.scale(L.hypothesis(H), gamma), 1)
    pw = L.rewrite(L.power_monotone(q_le, k), 1)
    final = L.chain(bound, pw)
    claim = sp.Implies(H, sp.Le(L.opnorm(sy["P"]), 1))
    return BoundProof(L.Proof(facts + (q_le, pw, final)), claim, sy)
