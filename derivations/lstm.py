r"""LSTM derivations term by term: the article's version, the corrected one, the full state Jacobian.

Model (PyTorch ``nn.LSTMCell``; Hochreiter & Schmidhuber 1997, Gers, Schmidhuber & Cummins 2000
for the forget gate), hidden size n, input size d, for q in {i, f, g, o}:

    a_{q,t} = W_q x_t + U_q h_{t-1} + b_q
    i_t = \sigma(a_{i,t}),  f_t = \sigma(a_{f,t}),  g_t = \tanh(a_{g,t}),  o_t = \sigma(a_{o,t})
    c_t = f_t \odot c_{t-1} + i_t \odot g_t
    h_t = o_t \odot \tanh(c_t)

(the article's candidate \tilde c_t is g_t, its W_q acts on [h_{t-1}, x_t] = [U_q, W_q]).

Corrected one-step terms of dc_t/dc_{t-1}, with h_{t-1} = o_{t-1} \odot \tanh(c_{t-1}) and
o_{t-1} held fixed, \eta_{t-1} = o_{t-1} \odot \tanh'(c_{t-1}):

    A_t = diag(\sigma'(a_{f,t}) \odot c_{t-1}) U_f diag(\eta_{t-1})    (through f_t)
    B_t = diag(f_t)                                                    (direct)
    C_t = diag(\sigma'(a_{i,t}) \odot g_t) U_i diag(\eta_{t-1})        (through i_t)
    D_t = diag(\tanh'(a_{g,t}) \odot i_t) U_g diag(\eta_{t-1})         (through g_t)

The article writes \sigma' in D_t, the whole W_q in place of its h-block U_q, and the vector f_t
for B_t. Its product \prod_t (A_t + B_t + C_t + D_t) also drops the output-gate path
h_{t-2} -> o_{t-1} -> h_{t-1} -> c_t, whose one-step term is

    M_t = \partial c_t / \partial h_{t-1} \cdot diag(\tanh(c_{t-1}) \odot \sigma'(a_{o,t-1})) U_o ,

so that dc_t = K_t dc_{t-1} + M_t dh_{t-2} with K_t = A_t + B_t + C_t + D_t.

The true recurrent state is s_t = (h_t, c_t); its 2n x 2n one-step Jacobian is

    J_t = [[dh_t/dh_{t-1}, dh_t/dc_{t-1}], [dc_t/dh_{t-1}, dc_t/dc_{t-1}]]
    dc_t/dc_{t-1} = diag(f_t),   dc_t/dh_{t-1} = G_t = \sum_{q=f,i,g} diag(.) U_q,
    dh_t/dc_{t-1} = diag(o_t \odot \tanh'(c_t)) diag(f_t),
    dh_t/dh_{t-1} = diag(\tanh(c_t) \odot \sigma'(a_{o,t})) U_o + diag(o_t \odot \tanh'(c_t)) G_t.

Every derived expression is checked against SymPy's own ``jacobian`` of the unrolled cell
(``derivations.checker.check_equal``): numeric spot check at 20 points, 50 digits (``derivations.checker``), then a
symbolic proof ``expand(a - b) == 0`` after each sigmoid/tanh atom is replaced by a fresh symbol,
expanded in SymPy's sparse polynomial ring over QQ (a polynomial identity in the atoms implies
the identity; sigma' = sigma(1 - sigma) and tanh' = 1 - tanh^2 keep both sides polynomial in the
atoms, so this canonical form decides in well under a second where ``expand`` takes minutes).

Sizes: the symbolic work grows fast with n and k; ``MAX_STEPS`` is the documented budget
(the largest allowed derivations take about 20-30 s on one core).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Mapping

import sympy as sp

from gradproof.derivations.activations import sigmoid
from gradproof.derivations.checker import check_equal
from gradproof.numerics.errors import InputError
from gradproof.derivations.records import Derivation, DerivationStep
from gradproof.derivations.symbolic import diag_of as _diag
from gradproof.derivations.symbolic import elementwise as _map
from gradproof.derivations.symbolic import frozen_copy as _frozen
from gradproof.derivations.symbolic import hadamard as _had
from gradproof.derivations.symbolic import symbol_matrix as _mat
from gradproof.derivations.symbolic import symbol_vector as _vec

__all__ = [
    "GATES",
    "LSTM_VARIANTS",
    "MAX_STEPS",
    "PEEPHOLE_MAX_STEPS",
    "LSTMSymbols",
    "LSTMGates",
    "LSTMTerms",
    "ArticleCorrection",
    "lstm_symbols",
    "lstm_cell",
    "lstm_unrolled",
    "start_state",
    "term_references",
    "sigmoid_prime",
    "tanh_prime",
    "corrected_terms",
    "cell_path_terms",
    "truncated_cell_path_reference",
    "article_terms",
    "article_terms_as_written",
    "article_minus_corrected",
    "hidden_to_cell_jacobian",
    "lstm_state_jacobian",
    "missing_output_gate_path",
    "state_entry_column",
    "cell_path_reference",
    "lstm_derivation",
    "validate_sizes",
    "peephole_cell_terms",
    "peephole_state_jacobian",
    "peephole_derivation",
]

#: gate order of PyTorch's weight rows: input, forget, cell candidate, output.
GATES = ("i", "f", "g", "o")
LSTM_VARIANTS = ("article", "corrected", "full-state", "no-forget")
#: documented budget: largest number of unrolled steps k per hidden size n. Measured with
#: `gradproof derive lstm --variant full-state --format json` (the slowest variant, all checks)
#: on the idle 2-core machine, 2026-11-26: n=1,k=5 21 s; n=2,k=3 3 s; n=3,k=3 21 s; n=4,k=2 6 s.
MAX_STEPS = {1: 5, 2: 3, 3: 3, 4: 2}
#: peephole budget: n=1,k=4 9 s on the idle machine (k=5 took ~2 min); n=2,k=3 ~4 s; n=3,k=3 ~12 s.
PEEPHOLE_MAX_STEPS = {1: 4, 2: 3, 3: 3}


# --------------------------------------------------------------------------- symbols
@dataclass(frozen=True)
class LSTMSymbols:
    r"""Symbols of an LSTM with hidden size n, input size d, unrolled over steps 1..k.

    ``W[q]`` (n x d), ``U[q]`` (n x n), ``b[q]`` (n x 1) for q in i, f, g, o;
    ``x[t-1]`` is x_t (d x 1), t = 1..k. ``c1`` is the cell state c_1 where the unrolled chain
    starts and ``a_o1`` the output-gate pre-activation at step 1, so o_1 = \sigma(a_{o,1}) and
    h_1 = o_1 \odot \tanh(c_1). ``h_prev``, ``c_prev``, ``a_o_prev``, ``x_t``, ``h_prev2``,
    ``x_prev`` are generic one-step symbols (h_{t-1}, c_{t-1}, a_{o,t-1}, x_t, h_{t-2}, x_{t-1}).
    ``forget=False`` is the 1997 LSTM without forget gate (f_t = 1).
    """

    n: int
    d: int
    k: int
    W: Mapping[str, sp.Matrix]
    U: Mapping[str, sp.Matrix]
    b: Mapping[str, sp.Matrix]
    x: tuple[sp.Matrix, ...]
    c1: sp.Matrix
    h1: sp.Matrix
    a_o1: sp.Matrix
    h_prev: sp.Matrix
    c_prev: sp.Matrix
    a_o_prev: sp.Matrix
    x_t: sp.Matrix
    h_prev2: sp.Matrix
    x_prev: sp.Matrix
    forget: bool = True
    P: Mapping[str, sp.Matrix] = field(default_factory=dict)

    def with_recurrent(self, gate: str, value: sp.Matrix | int) -> "LSTMSymbols":
        """A copy with U_gate replaced (e.g. 0 to cut the output-gate path)."""
        if isinstance(value, int):
            value = sp.zeros(self.n, self.n) if value == 0 else value * sp.eye(self.n)
        U = dict(self.U)
        U[gate] = sp.Matrix(value)
        return replace(self, U=U)


def lstm_symbols(n: int, k: int, d: int = 1, *, forget: bool = True, peephole: bool = False) -> LSTMSymbols:
    """Fresh real symbols for an LSTM of hidden size ``n``, input size ``d``, ``k`` steps;
    ``peephole`` adds the diagonal peephole weights p_i, p_f, p_o (Gers & Schmidhuber 2000)."""
    gates = GATES if forget else tuple(q for q in GATES if q != "f")
    return LSTMSymbols(
        n=n,
        d=d,
        k=k,
        W={q: _mat("W", q, n, d) for q in gates},
        U={q: _mat("U", q, n, n) for q in gates},
        b={q: _vec("b", q, n) for q in gates},
        x=tuple(_vec("x", str(t), d) for t in range(1, k + 1)),
        c1=_vec("c", "1", n),
        h1=_vec("h", "1", n),
        a_o1=_vec("a", "o,1", n),
        h_prev=_vec("h", "t-1", n),
        c_prev=_vec("c", "t-1", n),
        a_o_prev=_vec("a", "o,t-1", n),
        x_t=_vec("x", "t", d),
        h_prev2=_vec("h", "t-2", n),
        x_prev=_vec("x", "t-1", d),
        forget=forget,
        P={q: _vec("p", q, n) for q in ("i", "f", "o")} if peephole else {},
    )


# --------------------------------------------------------------------------- model
def sigmoid_prime(a: sp.Matrix) -> sp.Matrix:
    r"""\sigma'(a) = \sigma(a)(1 - \sigma(a)), elementwise (hand-written, not SymPy's diff)."""
    return a.applyfunc(lambda z: sigmoid(z) * (1 - sigmoid(z)))


def tanh_prime(a: sp.Matrix) -> sp.Matrix:
    r"""\tanh'(a) = 1 - \tanh(a)^2, elementwise (hand-written)."""
    return a.applyfunc(lambda z: 1 - sp.tanh(z) ** 2)


@dataclass(frozen=True)
class LSTMGates:
    """Pre-activations ``a[q]`` and gate values ``i, f, g, o`` of one LSTM step."""

    a: Mapping[str, sp.Matrix]
    i: sp.Matrix
    f: sp.Matrix
    g: sp.Matrix
    o: sp.Matrix


def _cell_paths(p: LSTMSymbols, x_t, h_by_gate: Mapping[str, sp.Matrix], c_direct,
                c_peep: Mapping[str, sp.Matrix] | None = None):
    """One LSTM step where each gate q reads its own copy ``h_by_gate[q]`` of h_{t-1} and the
    direct term reads ``c_direct``: differentiating with respect to one copy gives the
    derivative along that path only (used to build path-restricted references). With
    peepholes, gates i and f read ``c_peep[q]`` (default ``c_direct``) through p_q * c_{t-1},
    and o reads the new c_t through p_o * c_t."""
    a = {q: p.W[q] * x_t + p.U[q] * h_by_gate[q] + p.b[q] for q in p.W}
    for q in ("i", "f"):
        if q in p.P and q in a:
            a[q] = a[q] + _had(p.P[q], (c_peep or {}).get(q, c_direct))
    i = _map(sigmoid, a["i"])
    f = _map(sigmoid, a["f"]) if p.forget else sp.ones(p.n, 1)
    g = _map(sp.tanh, a["g"])
    c = _had(f, c_direct) + _had(i, g)
    if "o" in p.P:
        a["o"] = a["o"] + _had(p.P["o"], c)
    o = _map(sigmoid, a["o"])
    h = _had(o, _map(sp.tanh, c))
    return h, c, LSTMGates(a, i, f, g, o)


def lstm_cell(p: LSTMSymbols, x_t: sp.Matrix, h_prev: sp.Matrix, c_prev: sp.Matrix):
    r"""One step (h_t, c_t, gates) of the LSTM cell (PyTorch nn.LSTMCell equations)."""
    return _cell_paths(p, x_t, {q: h_prev for q in p.W}, c_prev)


def lstm_unrolled(p: LSTMSymbols, h1: sp.Matrix, c1: sp.Matrix, k: int | None = None):
    """The network unrolled from state (h_1, c_1) over steps 2..k.

    Returns lists ``hs``, ``cs``, ``gates`` indexed by t (index 0 unused, index 1 the start;
    ``gates[1]`` is None).
    """
    k = p.k if k is None else k
    hs, cs, gs = [None, h1], [None, c1], [None, None]
    for t in range(2, k + 1):
        h, c, g = lstm_cell(p, p.x[t - 1], hs[t - 1], cs[t - 1])
        hs.append(h)
        cs.append(c)
        gs.append(g)
    return hs, cs, gs


def start_state(p: LSTMSymbols) -> tuple[sp.Matrix, sp.Matrix, sp.Matrix]:
    r"""(o_1, h_1, c_1) with o_1 = \sigma(a_{o,1}) and h_1 = o_1 \odot \tanh(c_1)."""
    o1 = _map(sigmoid, p.a_o1)
    return o1, _had(o1, _map(sp.tanh, p.c1)), p.c1


# --------------------------------------------------------------------------- terms
@dataclass(frozen=True)
class LSTMTerms:
    """The four one-step terms of dc_t/dc_{t-1} (article labels: A forget, B direct, C input,
    D candidate) and their sum ``K`` = A + B + C + D (only when all four are n x n)."""

    A: sp.Matrix
    B: sp.Matrix
    C: sp.Matrix
    D: sp.Matrix

    @property
    def K(self) -> sp.Matrix:
        B = self.B if self.B.shape == self.A.shape else _diag(self.B)
        return self.A + B + self.C + self.D


def _eta(c_prev: sp.Matrix, o_prev: sp.Matrix) -> sp.Matrix:
    r"""\eta_{t-1} = o_{t-1} \odot \tanh'(c_{t-1}) = \partial h_{t-1} / \partial c_{t-1} (diagonal)."""
    return _had(o_prev, tanh_prime(c_prev))


def _h_from(c_prev, o_prev):
    return _had(o_prev, _map(sp.tanh, c_prev))


def corrected_terms(p: LSTMSymbols, x_t: sp.Matrix, c_prev: sp.Matrix, o_prev: sp.Matrix) -> LSTMTerms:
    r"""Corrected A_t, B_t, C_t, D_t (n x n) at step t with h_{t-1} = o_{t-1} \odot \tanh(c_{t-1}).

    A_t = diag(\sigma'(a_f) c_{t-1}) U_f E, B_t = diag(f_t), C_t = diag(\sigma'(a_i) g_t) U_i E,
    D_t = diag(\tanh'(a_g) i_t) U_g E, with E = diag(o_{t-1} \tanh'(c_{t-1})).
    Without forget gate (f_t = 1) A_t = 0 and B_t = I.
    """
    return cell_path_terms(p, x_t, _h_from(c_prev, o_prev), c_prev, _eta(c_prev, o_prev))


def cell_path_terms(p: LSTMSymbols, x_t, h_prev, c_prev, eta, *, article_D: bool = False) -> LSTMTerms:
    r"""A_t..D_t with the gates read from a given h_{t-1} and a given diagonal factor
    \eta = \partial h_{t-1}/\partial c_{t-1} (o_{t-1} \odot 	anh'(c_{t-1}); zero when h_{t-1} is an
    independent initial state). ``article_D`` puts the article's \sigma' in D_t."""
    _, _, gt = lstm_cell(p, x_t, h_prev, c_prev)
    E = _diag(eta)
    n = p.n
    A = _diag(_had(sigmoid_prime(gt.a["f"]), c_prev)) * p.U["f"] * E if p.forget else sp.zeros(n, n)
    B = _diag(gt.f)
    C = _diag(_had(sigmoid_prime(gt.a["i"]), gt.g)) * p.U["i"] * E
    dg = sigmoid_prime(gt.a["g"]) if article_D else tanh_prime(gt.a["g"])
    D = _diag(_had(dg, gt.i)) * p.U["g"] * E
    return LSTMTerms(A, B, C, D)


def article_terms(p: LSTMSymbols, x_t: sp.Matrix, c_prev: sp.Matrix, o_prev: sp.Matrix) -> LSTMTerms:
    r"""The article's A_t..D_t in its only type-correct reading: W_q restricted to its h-block
    U_q (x_t does not depend on c_{t-1}), B_t = f_t kept as the *vector* the article writes
    (n x 1), and \sigma' in D_t as written:

        D_t^{art} = diag(\sigma'(a_g) \odot i_t) U_g diag(o_{t-1} \odot \tanh'(c_{t-1})).
    """
    art = cell_path_terms(p, x_t, _h_from(c_prev, o_prev), c_prev, _eta(c_prev, o_prev), article_D=True)
    _, _, gt = lstm_cell(p, x_t, _h_from(c_prev, o_prev), c_prev)
    return LSTMTerms(art.A, gt.f, art.C, art.D)


def _full_W(p: LSTMSymbols, q: str) -> sp.Matrix:
    """The article's W_q acting on [h_{t-1}, x_t]: the n x (n + d) block [U_q, W_q]."""
    return p.U[q].row_join(p.W[q])


def article_terms_as_written(p: LSTMSymbols, x_t, c_prev, o_prev) -> LSTMTerms:
    r"""The article's terms literally: the whole W_q = [U_q, W_q] (n x (n+d)) where only its
    h-block belongs, elementwise factors on the rows, vector f_t. A_t, C_t, D_t then have n + d
    columns, not n: they are not blocks of dc_t/dc_{t-1} (refuted by shape)."""
    _, _, gt = lstm_cell(p, x_t, _h_from(c_prev, o_prev), c_prev)
    eta = _eta(c_prev, o_prev)
    A = _diag(_had(sigmoid_prime(gt.a["f"]), eta, c_prev)) * _full_W(p, "f")
    C = _diag(_had(sigmoid_prime(gt.a["i"]), eta, gt.g)) * _full_W(p, "i")
    D = _diag(_had(sigmoid_prime(gt.a["g"]), eta, gt.i)) * _full_W(p, "g")
    return LSTMTerms(A, gt.f, C, D)


@dataclass(frozen=True)
class ArticleCorrection:
    r"""The named difference between the article's terms and the corrected ones (for the audit).

    ``D_difference`` = D_t^{art} - D_t = diag((\sigma'(a_g) - \tanh'(a_g)) \odot i_t) U_g E
    (the only term whose *value* differs). ``B_shape``: the article's B_t = f_t is n x 1, the
    Jacobian block is diag(f_t) (n x n); equal only for n = 1. ``W_block``: the article's W_q
    acts on [h_{t-1}, x_t], only U_q multiplies \partial h_{t-1}/\partial c_{t-1}.
    ``missing_path``: M_t, the output-gate path term that \prod K_t drops.
    """

    D_difference: sp.Matrix
    B_article_shape: tuple[int, int]
    B_corrected_shape: tuple[int, int]
    W_article_shape: tuple[int, int]
    U_block_shape: tuple[int, int]
    missing_path: sp.Matrix
    items: tuple[str, ...] = field(default_factory=tuple)


def article_minus_corrected(p: LSTMSymbols, x_t=None, c_prev=None, o_prev=None,
                            h_prev2=None, x_prev=None) -> ArticleCorrection:
    """The article-vs-corrected difference at a generic step (symbols from ``p`` by default)."""
    x_t = p.x_t if x_t is None else x_t
    c_prev = p.c_prev if c_prev is None else c_prev
    o_prev = _map(sigmoid, p.a_o_prev) if o_prev is None else o_prev
    art, corr = article_terms(p, x_t, c_prev, o_prev), corrected_terms(p, x_t, c_prev, o_prev)
    _, _, gt = lstm_cell(p, x_t, _h_from(c_prev, o_prev), c_prev)
    E = _diag(_eta(c_prev, o_prev))
    dD = _diag(_had(sigmoid_prime(gt.a["g"]) - tanh_prime(gt.a["g"]), gt.i)) * p.U["g"] * E
    M = missing_output_gate_path(p, x_t, c_prev, h_prev2 if h_prev2 is not None else p.h_prev2,
                                 x_prev if x_prev is not None else p.x_prev)
    items = (
        "D_t: the article differentiates the tanh candidate with sigma'; the factor is tanh'(a_g)",
        "W_q: the article multiplies the whole W_q = [U_q, W_q] acting on [h_{t-1}, x_t]; only its "
        "h-block U_q belongs (x_t does not depend on c_{t-1})",
        "B_t: the article writes the vector f_t; the Jacobian block is diag(f_t) (equal only for n = 1)",
        "product: prod_t (A_t + B_t + C_t + D_t) drops the output-gate path "
        "h_{t-2} -> o_{t-1} -> h_{t-1} -> c_t (term M_t); it is dc_k/dc_1 only when U_o = 0 or k <= 2",
    )
    return ArticleCorrection(dD, art.B.shape, corr.B.shape, _full_W(p, "g").shape,
                             p.U["g"].shape, M, items)


def hidden_to_cell_jacobian(p: LSTMSymbols, gt: LSTMGates, c_prev: sp.Matrix) -> sp.Matrix:
    r"""G_t = \partial c_t/\partial h_{t-1} = diag(\sigma'(a_f) c_{t-1}) U_f
    + diag(\sigma'(a_i) g_t) U_i + diag(\tanh'(a_g) i_t) U_g (no U_f term without forget gate)."""
    G = _diag(_had(sigmoid_prime(gt.a["i"]), gt.g)) * p.U["i"]
    G += _diag(_had(tanh_prime(gt.a["g"]), gt.i)) * p.U["g"]
    if p.forget:
        G += _diag(_had(sigmoid_prime(gt.a["f"]), c_prev)) * p.U["f"]
    return G


def lstm_state_jacobian(p: LSTMSymbols, x_t: sp.Matrix, h_prev: sp.Matrix, c_prev: sp.Matrix) -> sp.Matrix:
    r"""J_t = \partial (h_t, c_t) / \partial (h_{t-1}, c_{t-1}), the 2n x 2n block matrix
    (state order (h, c)):

        [[diag(\tanh(c_t)\sigma'(a_o)) U_o + diag(o_t \tanh'(c_t)) G_t,  diag(o_t \tanh'(c_t) f_t)],
         [G_t,                                                              diag(f_t)]].
    """
    h_t, c_t, gt = lstm_cell(p, x_t, h_prev, c_prev)
    G = hidden_to_cell_jacobian(p, gt, c_prev)
    out = _diag(_had(gt.o, tanh_prime(c_t)))
    J_hh = _diag(_had(_map(sp.tanh, c_t), sigmoid_prime(gt.a["o"]))) * p.U["o"] + out * G
    J_hc = out * _diag(gt.f)
    return sp.Matrix(sp.BlockMatrix([[J_hh, J_hc], [G, _diag(gt.f)]]))


def missing_output_gate_path(p: LSTMSymbols, x_t, c_prev, h_prev2, x_prev) -> sp.Matrix:
    r"""M_t = \partial c_t / \partial h_{t-2} along h_{t-2} -> o_{t-1} -> h_{t-1} -> c_t
    (c_{t-1} held fixed), o_{t-1} = \sigma(W_o x_{t-1} + U_o h_{t-2} + b_o):

        M_t = G_t diag(\tanh(c_{t-1}) \odot \sigma'(a_{o,t-1})) U_o .
    """
    a_o = p.W["o"] * x_prev + p.U["o"] * h_prev2 + p.b["o"]
    o_prev = _map(sigmoid, a_o)
    _, _, gt = lstm_cell(p, x_t, _h_from(c_prev, o_prev), c_prev)
    G = hidden_to_cell_jacobian(p, gt, c_prev)
    return G * _diag(_had(_map(sp.tanh, c_prev), sigmoid_prime(a_o))) * p.U["o"]


def _missing_path_at(p, gt_t, c_prev, o_prev):
    """M_t along the trajectory, with o_{t-1} given (sigma'(a_o) = o (1 - o))."""
    G = hidden_to_cell_jacobian(p, gt_t, c_prev)
    return G * _diag(_had(_map(sp.tanh, c_prev), o_prev, _map(lambda v: 1 - v, o_prev))) * p.U["o"]


def state_entry_column(o1: sp.Matrix, c1: sp.Matrix) -> sp.Matrix:
    r"""\partial s_1 / \partial c_1 = [diag(o_1 \tanh'(c_1)); I] (2n x n) for h_1 = o_1 \tanh(c_1)."""
    n = c1.shape[0]
    return _diag(_eta(c1, o1)).col_join(sp.eye(n))


def _trajectory_products(p: LSTMSymbols, k: int):
    """Derived quantities along the unrolled chain started at (h_1 = o_1 tanh(c_1), c_1)."""
    o1, h1, c1 = start_state(p)
    hs, cs, gs = lstm_unrolled(p, h1, c1, k)
    os_ = [None, o1] + [gs[t].o for t in range(2, k + 1)]
    n = p.n
    Js = [None, None] + [lstm_state_jacobian(p, p.x[t - 1], hs[t - 1], cs[t - 1]) for t in range(2, k + 1)]
    Ks = [None, None] + [corrected_terms(p, p.x[t - 1], cs[t - 1], os_[t - 1]).K for t in range(2, k + 1)]
    entry = state_entry_column(o1, c1)
    # S_m = J_m ... J_2 (S_1 = I); e_m = dh_m/dc_1, d_m = dc_m/dc_1 from the block product
    S = [None, sp.eye(2 * n)]
    for t in range(2, k + 1):
        S.append(Js[t] * S[t - 1])
    col = [None] + [S[m] * entry for m in range(1, k + 1)]
    e = [None] + [col[m][:n, :] for m in range(1, k + 1)]
    prodK = sp.eye(n)
    for t in range(2, k + 1):
        prodK = Ks[t] * prodK
    # Delta_k = sum_{t=3}^k K_k ... K_{t+1} M_t e_{t-2}
    delta = sp.zeros(n, n)
    for t in range(3, k + 1):
        M = _missing_path_at(p, gs[t], cs[t - 1], os_[t - 1])
        left = sp.eye(n)
        for u in range(k, t, -1):
            left = left * Ks[u]
        delta += left * M * e[t - 2]
    return dict(o1=o1, h1=h1, c1=c1, hs=hs, cs=cs, gs=gs, S=S, col=col, prodK=prodK, delta=delta)


def cell_path_reference(p: LSTMSymbols, k: int | None = None) -> sp.Matrix:
    """SymPy's jacobian dc_k/dc_1 of the unrolled network with h_1 = o_1 tanh(c_1)."""
    k = p.k if k is None else k
    _, h1, c1 = start_state(p)
    _, cs, _ = lstm_unrolled(p, h1, c1, k)
    return cs[k].jacobian(p.c1)


# --------------------------------------------------------------------------- checking
def _jac_path(fn, var: sp.Matrix, back: Mapping):
    """jacobian of fn(var) w.r.t. var, then the frozen dummies substituted back."""
    return fn.jacobian(var).xreplace(back)


def term_references(p: LSTMSymbols, x_t, c_prev, o_prev) -> dict[str, sp.Matrix]:
    r"""Path-restricted references from SymPy's jacobian of the cell: each gate reads its own
    copy of h_{t-1}; the copy on the path is o_{t-1} \tanh(c_{t-1}) as a function of c_{t-1},
    the others (and the direct c_{t-1}) are frozen and substituted back after differentiating.
    Keys A (via f), B (direct), C (via i), D (via g), K (all paths, o_{t-1} fixed)."""
    h_live = _h_from(c_prev, o_prev)
    hF, cF = _frozen(p.h_prev, "hF"), _frozen(c_prev, "cF")
    back = {**dict(zip(hF, h_live)), **dict(zip(cF, c_prev))}
    path_gate = {"A": "f", "C": "i", "D": "g"}
    refs = {}
    for term, gate in path_gate.items():
        if gate not in p.W:
            refs[term] = sp.zeros(p.n, p.n)
            continue
        hb = {q: (h_live if q == gate else hF) for q in p.W}
        _, c, _ = _cell_paths(p, x_t, hb, cF)
        refs[term] = _jac_path(c, c_prev, back)
    _, c, _ = _cell_paths(p, x_t, {q: hF for q in p.W}, c_prev)
    refs["B"] = _jac_path(c, c_prev, back)
    _, c, _ = lstm_cell(p, x_t, h_live, c_prev)
    refs["K"] = c.jacobian(c_prev)
    return refs


# --------------------------------------------------------------------------- derivation
def validate_sizes(hidden, steps, variant: str | None = None, *, budget=MAX_STEPS) -> None:
    """InputError for bad or too large sizes (the documented budget ``MAX_STEPS``)."""
    if variant is not None and variant not in LSTM_VARIANTS:
        raise InputError(f"unknown LSTM variant {variant!r} (choose from {', '.join(LSTM_VARIANTS)})")
    if not isinstance(hidden, int) or isinstance(hidden, bool) or hidden < 1:
        raise InputError(f"hidden size must be a positive integer, got {hidden!r}")
    if not isinstance(steps, int) or isinstance(steps, bool) or steps < 1:
        raise InputError(f"steps must be a positive integer, got {steps!r}")
    limit = budget.get(hidden)
    if limit is None or steps > limit:
        allowed = ", ".join(f"n={n}: k<={kk}" for n, kk in sorted(budget.items()))
        raise InputError(f"hidden={hidden}, steps={steps} exceeds the symbolic budget ({allowed})")


def _defs(p: LSTMSymbols) -> list[DerivationStep]:
    h_t, c_t, gt = lstm_cell(p, p.x_t, p.h_prev, p.c_prev)
    steps = []
    for q, label, act in (("i", "i_t", r"\sigma"), ("f", "f_t", r"\sigma"), ("g", r"g_t", r"\tanh"),
                          ("o", "o_t", r"\sigma")):
        if q not in p.W:
            steps.append(DerivationStep("f_t", sp.ones(p.n, 1), "no forget gate (Hochreiter & "
                                        "Schmidhuber 1997): f_t = 1", "f_t"))
            continue
        # peephole terms (Gers & Schmidhuber 2000): i, f read p_q * c_{t-1}, o reads p_o * c_t
        peep = {"i": " + p_i * c_{t-1}", "f": " + p_f * c_{t-1}", "o": " + p_o * c_t"}.get(q, "") \
            if q in p.P else ""
        source = "peephole LSTM, Gers & Schmidhuber 2000" if p.P else "PyTorch nn.LSTMCell"
        steps.append(DerivationStep(
            label, getattr(gt, q),
            f"gate {q}: {act.lstrip(chr(92))}(W_{q} x_t + U_{q} h_{{t-1}}{peep} + b_{q}) ({source})",
            label))
    steps.append(DerivationStep("c_t", c_t, "cell update c_t = f_t * c_{t-1} + i_t * g_t", "c_t"))
    steps.append(DerivationStep("h_t", h_t, "hidden output h_t = o_t * tanh(c_t)", "h_t"))
    return steps


def _generic(p: LSTMSymbols):
    return p.x_t, p.c_prev, _map(sigmoid, p.a_o_prev)


def _term_steps(p: LSTMSymbols, terms: LSTMTerms, refs, prefix: str, labels: Mapping[str, str]):
    out = []
    for key in ("A", "B", "C", "D"):
        expr = getattr(terms, key)
        out.append(DerivationStep(f"{prefix}{key}_t", expr, labels[key], f"{key}_t",
                                  check_equal(expr, refs[key])))
    return out


_CORR_LABELS = {
    "A": "forget path c_{t-1} -> h_{t-1} -> f_t -> c_t: diag(sigma'(a_f) c_{t-1}) U_f diag(o_{t-1} tanh'(c_{t-1}))",
    "B": "direct path: dc_t/dc_{t-1} at fixed gates = diag(f_t)",
    "C": "input path via i_t: diag(sigma'(a_i) g_t) U_i diag(o_{t-1} tanh'(c_{t-1}))",
    "D": "candidate path via g_t = tanh(a_g): diag(tanh'(a_g) i_t) U_g diag(o_{t-1} tanh'(c_{t-1}))",
}
_ART_LABELS = {
    "A": "article A_t (W_f read as its h-block U_f): sigma'(a_f) U_f o_{t-1} tanh'(c_{t-1}) c_{t-1}",
    "B": "article B_t = f_t, the vector as written (a Jacobian block needs diag(f_t))",
    "C": "article C_t (W_i read as U_i): sigma'(a_i) U_i o_{t-1} tanh'(c_{t-1}) g_t",
    "D": "article D_t: sigma'(a_g) U_g o_{t-1} tanh'(c_{t-1}) i_t -- sigma' where tanh' belongs",
}


def _product_steps(p: LSTMSymbols, k: int, *, article: bool, tr: dict | None = None) -> list[DerivationStep]:
    """Steps about the k-step product against dc_k/dc_1 of the unrolled network (``tr``: the
    ``_trajectory_products(p, k)`` of the caller, if it has them)."""
    if k < 2:
        return []
    ref = cell_path_reference(p, k)
    if article:
        o1, h1, c1 = start_state(p)
        _, cs, gs = lstm_unrolled(p, h1, c1, k)
        o = [None, o1] + [gs[t].o for t in range(2, k + 1)]
        prod = sp.eye(p.n)
        for t in range(2, k + 1):
            prod = article_terms(p, p.x[t - 1], cs[t - 1], o[t - 1]).K * prod
        return [DerivationStep(
            "article_product", prod,
            "article's product prod_{t=2}^k (A_t + B_t + C_t + D_t) against SymPy's dc_k/dc_1 of the unrolled net",
            r"\prod_{t=2}^{k} (A_t + B_t + C_t + D_t)^{\mathrm{art}}", check_equal(prod, ref))]
    tr = tr or _trajectory_products(p, k)
    steps = []
    steps.append(DerivationStep(
        "product_of_terms", tr["prodK"],
        "corrected one-step terms multiplied: prod_{t=2}^k K_t, K_t = A_t+B_t+C_t+D_t "
        "(misses the output-gate path when k >= 3)",
        r"\prod_{t=2}^{k} K_t", check_equal(tr["prodK"], ref)))
    steps.append(DerivationStep(
        "missing_path_total", tr["delta"],
        "Delta_k = sum_{t=3}^k K_k...K_{t+1} M_t dh_{t-2}/dc_1 from dc_t = K_t dc_{t-1} + M_t dh_{t-2}; "
        "checked against SymPy's dc_k/dc_1 minus prod K_t",
        r"\Delta_k", check_equal(tr["delta"], ref - tr["prodK"])))
    steps.append(DerivationStep(
        "product_plus_missing_path", tr["prodK"] + tr["delta"],
        "prod K_t + Delta_k equals dc_k/dc_1 of the unrolled network",
        r"\frac{dc_k}{dc_1}", check_equal(tr["prodK"] + tr["delta"], ref)))
    cut = p.with_recurrent("o", 0)
    tr0 = _trajectory_products(cut, k)
    steps.append(DerivationStep(
        "product_output_path_cut", tr0["prodK"],
        "with U_o = 0 (output-gate path cut) prod K_t equals dc_k/dc_1",
        r"\prod_{t=2}^{k} K_t\big|_{U_o=0}", check_equal(tr0["prodK"], cell_path_reference(cut, k))))
    return steps


def _state_blocks(n: int):
    """(name, (rows, cols)) of the four n x n blocks of a 2n x 2n state Jacobian, order (h, c)."""
    h, c = slice(0, n), slice(n, 2 * n)
    return (("J_hh", (h, h)), ("J_hc", (h, c)), ("J_ch", (c, h)), ("J_cc", (c, c)))


def _one_step_reference(p: LSTMSymbols) -> sp.Matrix:
    """SymPy's jacobian of (h_t, c_t) with respect to (h_{t-1}, c_{t-1}) of one cell step."""
    h_t, c_t, _ = lstm_cell(p, p.x_t, p.h_prev, p.c_prev)
    return h_t.col_join(c_t).jacobian(p.h_prev.col_join(p.c_prev))


def _state_product(p: LSTMSymbols, k: int, step_jacobian) -> tuple[sp.Matrix, sp.Matrix]:
    """(J_k ... J_2 with J_t = ``step_jacobian(p, x_t, h_{t-1}, c_{t-1})``, SymPy's ds_k/ds_1)
    along the network unrolled from a free state s_1 = (h_1, c_1)."""
    hs, cs, _ = lstm_unrolled(p, p.h1, p.c1, k)
    prod = sp.eye(2 * p.n)
    for t in range(2, k + 1):
        prod = step_jacobian(p, p.x[t - 1], hs[t - 1], cs[t - 1]) * prod
    return prod, hs[k].col_join(cs[k]).jacobian(p.h1.col_join(p.c1))


_FULL_STATE_BLOCKS = {
    "J_hh": ("dh_t/dh_{t-1}", "through o_t (U_o) plus diag(o_t tanh'(c_t)) G_t through the cell"),
    "J_hc": ("dh_t/dc_{t-1}", "diag(o_t tanh'(c_t) f_t)"),
    "J_ch": ("dc_t/dh_{t-1}", "G_t: the f, i, g paths from h_{t-1}"),
    "J_cc": ("dc_t/dc_{t-1}", "diag(f_t)"),
}


def _full_state_steps(p: LSTMSymbols, k: int, tr: dict | None) -> list[DerivationStep]:
    n = p.n
    J = lstm_state_jacobian(p, p.x_t, p.h_prev, p.c_prev)
    ref = _one_step_reference(p)
    steps = []
    for name, (r, c) in _state_blocks(n):
        lhs, why = _FULL_STATE_BLOCKS[name]
        steps.append(DerivationStep(name, J[r, c], f"block {lhs} = {why}",
                                    r"\frac{\partial %s}{\partial %s}" % tuple(v[1:] for v in lhs.split("/")),
                                    check_equal(J[r, c], ref[r, c])))
    steps.append(DerivationStep("J_t", J, "state Jacobian of s_t = (h_t, c_t), 2n x 2n, order (h, c)",
                                r"J_t", check_equal(J, ref)))
    if k >= 2:
        prod, ref_s = _state_product(p, k, lstm_state_jacobian)
        steps.append(DerivationStep("state_product", prod, "chain rule over the true state: ds_k/ds_1 = J_k ... J_2",
                                    r"\frac{\partial s_k}{\partial s_1}", check_equal(prod, ref_s)))
        steps.append(DerivationStep(
            "cc_block_of_product", prod[n:, n:],
            "dc_k/dc_1 at fixed h_1 is the c-c block of J_k ... J_2",
            r"\frac{\partial c_k}{\partial c_1}\Big|_{h_1}", check_equal(prod[n:, n:], ref_s[n:, n:])))
        total = tr["col"][k][n:, :]
        steps.append(DerivationStep(
            "cell_path_via_state_product", total,
            "with h_1 = o_1 tanh(c_1): dc_k/dc_1 = [0 I] J_k ... J_2 [diag(o_1 tanh'(c_1)); I]",
            r"\frac{dc_k}{dc_1}", check_equal(total, cell_path_reference(p, k))))
    return steps


def _missing_path_step(p: LSTMSymbols) -> DerivationStep:
    M = missing_output_gate_path(p, p.x_t, p.c_prev, p.h_prev2, p.x_prev)
    a_o = p.W["o"] * p.x_prev + p.U["o"] * p.h_prev2 + p.b["o"]
    h_prev = _h_from(p.c_prev, _map(sigmoid, a_o))
    _, c_t, _ = lstm_cell(p, p.x_t, h_prev, p.c_prev)
    return DerivationStep(
        "M_t", M, "missing output-gate path h_{t-2} -> o_{t-1} -> h_{t-1} -> c_t: "
        "G_t diag(tanh(c_{t-1}) sigma'(a_{o,t-1})) U_o", "M_t",
        check_equal(M, c_t.jacobian(p.h_prev2)))


def _no_forget_steps(p: LSTMSymbols, k: int) -> list[DerivationStep]:
    x_t, c_prev, o_prev = _generic(p)
    _, c_t, _ = lstm_cell(p, x_t, p.h_prev, c_prev)
    trunc = sp.eye(p.n)
    steps = [DerivationStep(
        "cec_one_step", trunc,
        "1997 truncation (errors into the gates via h_{t-1} cut): dc_t/dc_{t-1} = f_t = 1, the "
        "constant error carousel", r"\frac{\partial c_t}{\partial c_{t-1}}\Big|_{h_{t-1}}",
        check_equal(trunc, c_t.jacobian(c_prev)))]
    terms = corrected_terms(p, x_t, c_prev, o_prev)
    refs = term_references(p, x_t, c_prev, o_prev)
    steps += _term_steps(p, terms, refs, "", _CORR_LABELS)
    steps.append(DerivationStep("K_t", terms.K, "untruncated one-step factor I + C_t + D_t (o_{t-1} fixed)",
                                "K_t", check_equal(terms.K, refs["K"])))
    if k >= 2:
        steps.append(DerivationStep(
            "cec_k_steps", sp.eye(p.n),
            "truncated cell path over k steps (every gate input h_{t-1} under stop-gradient): "
            "prod_t diag(f_t) = I", r"\frac{\partial c_k}{\partial c_1}\Big|_{\mathrm{trunc}}",
            check_equal(sp.eye(p.n), truncated_cell_path_reference(p, k))))
        steps.append(DerivationStep(
            "cec_without_truncation", sp.eye(p.n),
            "claim dc_k/dc_1 = I in the untruncated network (h_{t-1} feeds the gates): false, the "
            "C_t, D_t and output-gate paths add to the carousel", r"\frac{dc_k}{dc_1}",
            check_equal(sp.eye(p.n), cell_path_reference(p, k))))
    return steps


def truncated_cell_path_reference(p: LSTMSymbols, k: int | None = None) -> sp.Matrix:
    """SymPy's jacobian dc_k/dc_1 when every gate reads h_{t-1} through a stop-gradient (a fresh
    symbol per step): the Hochreiter & Schmidhuber (1997) truncation, cell path only."""
    k = p.k if k is None else k
    c = p.c1
    for t in range(2, k + 1):
        frozen = _frozen(p.h_prev, f"hstop{t}")
        _, c, _ = _cell_paths(p, p.x[t - 1], {q: frozen for q in p.W}, c)
    return c.jacobian(p.c1)


def lstm_derivation(variant: str = "corrected", hidden: int = 1, steps: int = 3) -> Derivation:
    """The LSTM derivation ``variant`` (article | corrected | full-state | no-forget) for hidden
    size n = ``hidden`` over k = ``steps`` unrolled steps, every step checked against SymPy's
    jacobian of the unrolled cell. Sizes beyond ``MAX_STEPS`` raise InputError."""
    validate_sizes(hidden, steps, variant)
    k = steps
    p = lstm_symbols(hidden, k, forget=(variant != "no-forget"))
    records = _defs(p)
    notes = ["gates fixed: sigmoid for i, f, o; tanh for the candidate g and the cell output",
             "state order (h, c); derivatives checked against SymPy jacobian of the unrolled cell"]
    x_t, c_prev, o_prev = _generic(p)
    if variant == "no-forget":
        records += _no_forget_steps(p, k)
        notes.append("Hochreiter & Schmidhuber (1997): without forget gate and with their truncation "
                     "the cell's one-step factor is exactly 1 (constant error carousel)")
    else:
        refs = term_references(p, x_t, c_prev, o_prev)
        if variant == "article":
            literal = article_terms_as_written(p, x_t, c_prev, o_prev)
            records.append(DerivationStep(
                "article_A_t_as_written", literal.A,
                "article's A_t with the whole W_f acting on [h_{t-1}, x_t]: n x (n+d), not a Jacobian block",
                r"A_t^{\mathrm{written}}", check_equal(literal.A, refs["A"])))
            eta = _diag(_eta(c_prev, o_prev))
            padded = eta.col_join(sp.zeros(p.d, p.n))
            hx = _h_from(c_prev, o_prev).col_join(x_t)
            W_f_padded = _full_W(p, "f") * padded
            records.append(DerivationStep(
                "W_f_h_block", W_f_padded,
                "W_f [dh_{t-1}/dc_{t-1}; dx_t/dc_{t-1}] = W_f [diag(o tanh'(c)); 0] = U_f diag(o tanh'(c)): "
                "only the h-block of W_f enters", r"W_f \frac{\partial [h_{t-1}; x_t]}{\partial c_{t-1}}",
                check_equal(W_f_padded, (_full_W(p, "f") * hx).jacobian(c_prev))))
            art = article_terms(p, x_t, c_prev, o_prev)
            records += _term_steps(p, art, refs, "article_", _ART_LABELS)
            records.append(DerivationStep(
                "article_K_t", art.K, "article's sum A_t + B_t + C_t + D_t (B_t read as diag(f_t))",
                r"(A_t + B_t + C_t + D_t)^{\mathrm{art}}", check_equal(art.K, refs["K"])))
            diff = article_minus_corrected(p)
            records.append(DerivationStep(
                "article_minus_corrected_D", diff.D_difference,
                "D_t^art - D_t = diag((sigma'(a_g) - tanh'(a_g)) i_t) U_g diag(o_{t-1} tanh'(c_{t-1}))",
                r"D_t^{\mathrm{art}} - D_t",
                check_equal(diff.D_difference, art.D - refs["D"])))
            records += _product_steps(p, k, article=True)
            notes += list(diff.items)
        else:
            corr = corrected_terms(p, x_t, c_prev, o_prev)
            records += _term_steps(p, corr, refs, "", _CORR_LABELS)
            records.append(DerivationStep(
                "K_t", corr.K, "one-step cell factor with o_{t-1} held fixed: K_t = A_t + B_t + C_t + D_t",
                r"\frac{dc_t}{dc_{t-1}}\Big|_{o_{t-1}}", check_equal(corr.K, refs["K"])))
            tr = _trajectory_products(p, k) if k >= 2 else None  # shared by the two blocks of steps
            if variant == "full-state":
                records += _full_state_steps(p, k, tr)
            records.append(_missing_path_step(p))
            records += _product_steps(p, k, article=False, tr=tr)
    return Derivation(model="lstm", activation=None, hidden=hidden, steps=k, gamma=None,
                      records=tuple(records), variant=variant, notes=tuple(notes))


# --------------------------------------------------------------------------- peephole LSTM
def peephole_cell_terms(p: LSTMSymbols, x_t, h_prev, c_prev) -> dict[str, sp.Matrix]:
    r"""Terms of F_t = \partial c_t/\partial c_{t-1} (h_{t-1} fixed) with peepholes
    a_i += p_i c_{t-1}, a_f += p_f c_{t-1} (Gers & Schmidhuber 2000):
    direct diag(f_t), forget peephole diag(c_{t-1} \sigma'(a_f) p_f), input peephole
    diag(g_t \sigma'(a_i) p_i)."""
    _, _, gt = lstm_cell(p, x_t, h_prev, c_prev)
    return {
        "direct": _diag(gt.f),
        "forget_peephole": _diag(_had(c_prev, sigmoid_prime(gt.a["f"]), p.P["f"])),
        "input_peephole": _diag(_had(gt.g, sigmoid_prime(gt.a["i"]), p.P["i"])),
    }


def peephole_state_jacobian(p: LSTMSymbols, x_t, h_prev, c_prev) -> sp.Matrix:
    r"""J_t of the peephole LSTM, state order (h, c). With F_t = sum of ``peephole_cell_terms``,
    G_t = ``hidden_to_cell_jacobian`` and Q_t = diag(o_t \tanh'(c_t) + \tanh(c_t) \sigma'(a_o) p_o)
    (dh_t/dc_t through tanh and through the output peephole p_o c_t):

        J_t = [[diag(\tanh(c_t) \sigma'(a_o)) U_o + Q_t G_t,  Q_t F_t], [G_t, F_t]].
    """
    _, c_t, gt = lstm_cell(p, x_t, h_prev, c_prev)
    F = sum(peephole_cell_terms(p, x_t, h_prev, c_prev).values(), sp.zeros(p.n, p.n))
    G = hidden_to_cell_jacobian(p, gt, c_prev)
    s_o = sigmoid_prime(gt.a["o"])
    Q = _diag(_had(gt.o, tanh_prime(c_t)) + _had(_map(sp.tanh, c_t), s_o, p.P["o"]))
    J_hh = _diag(_had(_map(sp.tanh, c_t), s_o)) * p.U["o"] + Q * G
    return sp.Matrix(sp.BlockMatrix([[J_hh, Q * F], [G, F]]))


def peephole_derivation(hidden: int = 1, steps: int = 2) -> Derivation:
    """Peephole LSTM (Gers & Schmidhuber 2000): the c-c block term by term, the four blocks of
    J_t, the product J_k ... J_2 against SymPy's jacobian of the unrolled cell, and the check
    that the plain LSTM formula is wrong for this cell. Same size budget as ``lstm_derivation``."""
    validate_sizes(hidden, steps, budget=PEEPHOLE_MAX_STEPS)
    k = steps
    p = lstm_symbols(hidden, k, peephole=True)
    n = p.n
    records = _defs(p)
    x_t, h_prev, c_prev = p.x_t, p.h_prev, p.c_prev
    terms = peephole_cell_terms(p, x_t, h_prev, c_prev)
    cF = _frozen(c_prev, "cF")
    back = dict(zip(cF, c_prev))
    paths = {"direct": (c_prev, {"i": cF, "f": cF}),
             "forget_peephole": (cF, {"i": cF, "f": c_prev}),
             "input_peephole": (cF, {"i": c_prev, "f": cF})}
    why = {"direct": "direct path f_t * c_{t-1}: diag(f_t)",
           "forget_peephole": "forget peephole p_f c_{t-1}: diag(c_{t-1} sigma'(a_f) p_f)",
           "input_peephole": "input peephole p_i c_{t-1}: diag(g_t sigma'(a_i) p_i)"}
    for name, (c_direct, c_peep) in paths.items():
        _, c, _ = _cell_paths(p, x_t, {q: h_prev for q in p.W}, c_direct, c_peep)
        records.append(DerivationStep(f"peephole_{name}", terms[name], why[name], name.replace("_", r"\_"),
                                      check_equal(terms[name], c.jacobian(c_prev).xreplace(back))))
    J = peephole_state_jacobian(p, x_t, h_prev, c_prev)
    ref = _one_step_reference(p)
    for name, (r, c) in _state_blocks(n):
        records.append(DerivationStep(name, J[r, c], f"block {name} of the peephole state Jacobian",
                                      name, check_equal(J[r, c], ref[r, c])))
    records.append(DerivationStep("J_t", J, "peephole state Jacobian, 2n x 2n, order (h, c)", "J_t",
                                  check_equal(J, ref)))
    plain = lstm_state_jacobian(p, x_t, h_prev, c_prev)
    records.append(DerivationStep(
        "plain_formula_on_peephole_cell", plain,
        "claim: the LSTM J_t without peephole terms is the peephole cell's Jacobian (false)",
        r"J_t^{\mathrm{no\ peephole}}", check_equal(plain, ref)))
    if k >= 2:
        prod, ref_s = _state_product(p, k, peephole_state_jacobian)
        records.append(DerivationStep("state_product", prod, "ds_k/ds_1 = J_k ... J_2",
                                      r"\frac{\partial s_k}{\partial s_1}", check_equal(prod, ref_s)))
    notes = ("peephole LSTM (Gers & Schmidhuber 2000): a_i, a_f read p * c_{t-1}, a_o reads p_o * c_t",
             "state order (h, c); derivatives checked against SymPy jacobian of the unrolled cell")
    return Derivation(model="lstm", activation=None, hidden=hidden, steps=k, gamma=None,
                      records=tuple(records), variant="peephole", notes=notes)
