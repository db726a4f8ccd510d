r"""GRU one-step Jacobian term by term (Cho et al. 2014; equations of PyTorch ``nn.GRUCell``).

Model, hidden size n, input size d (rows r, z, n as in PyTorch's weight_ih / weight_hh):

    a_{r,t} = W_r x_t + b_{ir} + U_r h_{t-1} + b_{hr},   r_t = \sigma(a_{r,t})
    a_{z,t} = W_z x_t + b_{iz} + U_z h_{t-1} + b_{hz},   z_t = \sigma(a_{z,t})
    a_{n,t} = W_n x_t + b_{in} + r_t \odot (U_n h_{t-1} + b_{hn}),   n_t = \tanh(a_{n,t})
    h_t = (1 - z_t) \odot n_t + z_t \odot h_{t-1}

One-step Jacobian dh_t/dh_{t-1} = Z_t + Zg_t + N_t + R_t, one term per path:

    Z_t  = diag(z_t)                                                   (carry, direct)
    Zg_t = diag((h_{t-1} - n_t) \odot \sigma'(a_z)) U_z                (through the update gate)
    N_t  = diag((1 - z_t) \odot \tanh'(a_n) \odot r_t) U_n             (through the candidate)
    R_t  = diag((1 - z_t) \odot \tanh'(a_n) \odot (U_n h_{t-1} + b_{hn}) \odot \sigma'(a_r)) U_r
                                                                        (through the reset gate)

Each term is checked against SymPy's jacobian of the cell along that path only (each use of
h_{t-1} gets its own copy), the sum against the full jacobian, and the product J_k ... J_2
against dh_k/dh_1 of the unrolled network.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

import sympy as sp

from gradproof.derivations.activations import sigmoid
from gradproof.derivations.checker import check_equal
from gradproof.derivations.lstm import sigmoid_prime, tanh_prime, validate_sizes
from gradproof.derivations.symbolic import diag_of as _diag
from gradproof.derivations.symbolic import elementwise as _map
from gradproof.derivations.symbolic import frozen_copy as _frozen
from gradproof.derivations.symbolic import hadamard as _had
from gradproof.derivations.symbolic import symbol_matrix as _mat
from gradproof.derivations.symbolic import symbol_vector as _vec
from gradproof.derivations.records import Derivation, DerivationStep

__all__ = [
    "GRU_GATES",
    "GRU_MAX_STEPS",
    "GRUSymbols",
    "GRUGates",
    "GRUTerms",
    "gru_symbols",
    "gru_cell",
    "gru_unrolled",
    "gru_terms",
    "gru_step_jacobian",
    "gru_term_references",
    "gru_derivation",
]

GRU_GATES = ("r", "z", "n")
#: documented budget (largest k per n), `gradproof derive gru --format json` with all checks on
#: the idle 2-core machine, 2026-11-26: n=1,k=5 19 s; n=2,k=3 1.2 s; n=3,k=3 5 s; n=4,k=2 3.4 s.
#: Outside (earlier, loaded machine): n=2,k=4 ~29 s,
#: n=1,k=6 > 2 min (h_{t-1} enters each step four times, so the unrolled tree grows ~4^k).
GRU_MAX_STEPS = {1: 5, 2: 3, 3: 3, 4: 2}


@dataclass(frozen=True)
class GRUSymbols:
    """Symbols of a GRU: ``W[q]`` (n x d), ``U[q]`` (n x n), ``b_i[q]``, ``b_h[q]`` (n x 1) for
    q in r, z, n; inputs ``x[t-1]`` = x_t, t = 1..k; start ``h1``; generic ``h_prev``, ``x_t``."""

    n: int
    d: int
    k: int
    W: Mapping[str, sp.Matrix]
    U: Mapping[str, sp.Matrix]
    b_i: Mapping[str, sp.Matrix]
    b_h: Mapping[str, sp.Matrix]
    x: tuple[sp.Matrix, ...]
    h1: sp.Matrix
    h_prev: sp.Matrix
    x_t: sp.Matrix


def gru_symbols(n: int, k: int, d: int = 1) -> GRUSymbols:
    """Fresh real symbols for a GRU of hidden size ``n``, input size ``d``, ``k`` steps."""
    return GRUSymbols(
        n=n, d=d, k=k,
        W={q: _mat("W", q, n, d) for q in GRU_GATES},
        U={q: _mat("U", q, n, n) for q in GRU_GATES},
        b_i={q: _vec("b", f"i{q}", n) for q in GRU_GATES},
        b_h={q: _vec("b", f"h{q}", n) for q in GRU_GATES},
        x=tuple(_vec("x", str(t), d) for t in range(1, k + 1)),
        h1=_vec("h", "1", n),
        h_prev=_vec("h", "t-1", n),
        x_t=_vec("x", "t", d),
    )


@dataclass(frozen=True)
class GRUGates:
    """Pre-activations ``a[q]``, gate values r, z, candidate n and U_n h_{t-1} + b_hn."""

    a: Mapping[str, sp.Matrix]
    r: sp.Matrix
    z: sp.Matrix
    n: sp.Matrix
    hn: sp.Matrix


def _gru_paths(p: GRUSymbols, x_t, h: Mapping[str, sp.Matrix]):
    """One GRU step where each use of h_{t-1} reads its own copy: keys 'r', 'z', 'n' (inside
    U_n h + b_hn) and 'carry' (the z * h term)."""
    a_r = p.W["r"] * x_t + p.b_i["r"] + p.U["r"] * h["r"] + p.b_h["r"]
    a_z = p.W["z"] * x_t + p.b_i["z"] + p.U["z"] * h["z"] + p.b_h["z"]
    r, z = _map(sigmoid, a_r), _map(sigmoid, a_z)
    hn = p.U["n"] * h["n"] + p.b_h["n"]
    a_n = p.W["n"] * x_t + p.b_i["n"] + _had(r, hn)
    cand = _map(sp.tanh, a_n)
    h_t = _had(_map(lambda v: 1 - v, z), cand) + _had(z, h["carry"])
    return h_t, GRUGates({"r": a_r, "z": a_z, "n": a_n}, r, z, cand, hn)


def gru_cell(p: GRUSymbols, x_t: sp.Matrix, h_prev: sp.Matrix):
    r"""One GRU step (h_t, gates), PyTorch nn.GRUCell equations."""
    return _gru_paths(p, x_t, {"r": h_prev, "z": h_prev, "n": h_prev, "carry": h_prev})


def gru_unrolled(p: GRUSymbols, h1: sp.Matrix, k: int | None = None):
    """Hidden states h_1..h_k (list index t; index 0 unused) and gates (index >= 2)."""
    k = p.k if k is None else k
    hs, gs = [None, h1], [None, None]
    for t in range(2, k + 1):
        h, g = gru_cell(p, p.x[t - 1], hs[t - 1])
        hs.append(h)
        gs.append(g)
    return hs, gs


@dataclass(frozen=True)
class GRUTerms:
    """Z (carry), Zg (update gate), N (candidate), R (reset gate); ``J`` is their sum."""

    Z: sp.Matrix
    Zg: sp.Matrix
    N: sp.Matrix
    R: sp.Matrix

    @property
    def J(self) -> sp.Matrix:
        return self.Z + self.Zg + self.N + self.R


def gru_terms(p: GRUSymbols, x_t: sp.Matrix, h_prev: sp.Matrix) -> GRUTerms:
    """The four hand-derived path terms of dh_t/dh_{t-1} (module docstring)."""
    _, g = gru_cell(p, x_t, h_prev)
    one_minus_z = _map(lambda v: 1 - v, g.z)
    dn = _had(one_minus_z, tanh_prime(g.a["n"]))
    Z = _diag(g.z)
    Zg = _diag(_had(h_prev - g.n, sigmoid_prime(g.a["z"]))) * p.U["z"]
    N = _diag(_had(dn, g.r)) * p.U["n"]
    R = _diag(_had(dn, g.hn, sigmoid_prime(g.a["r"]))) * p.U["r"]
    return GRUTerms(Z, Zg, N, R)


def gru_step_jacobian(p: GRUSymbols, x_t: sp.Matrix, h_prev: sp.Matrix) -> sp.Matrix:
    """J_t = dh_t/dh_{t-1} = Z_t + Zg_t + N_t + R_t (n x n)."""
    return gru_terms(p, x_t, h_prev).J


def gru_term_references(p: GRUSymbols, x_t: sp.Matrix, h_prev: sp.Matrix) -> dict[str, sp.Matrix]:
    """Path-restricted references: SymPy's jacobian with respect to one copy of h_{t-1}, the
    other copies frozen and substituted back; key 'J' is the full jacobian."""
    frozen = _frozen(h_prev, "hF")
    back = dict(zip(frozen, h_prev))
    refs = {}
    for term, use in (("Z", "carry"), ("Zg", "z"), ("N", "n"), ("R", "r")):
        copies = {u: (h_prev if u == use else frozen) for u in ("r", "z", "n", "carry")}
        h_t, _ = _gru_paths(p, x_t, copies)
        refs[term] = h_t.jacobian(h_prev).xreplace(back)
    refs["J"] = gru_cell(p, x_t, h_prev)[0].jacobian(h_prev)
    return refs


_LABELS = {
    "Z": "carry path z_t * h_{t-1}: diag(z_t)",
    "Zg": "update-gate path: diag((h_{t-1} - n_t) sigma'(a_z)) U_z",
    "N": "candidate path through U_n h_{t-1}: diag((1 - z_t) tanh'(a_n) r_t) U_n",
    "R": "reset-gate path: diag((1 - z_t) tanh'(a_n) (U_n h_{t-1} + b_hn) sigma'(a_r)) U_r",
}


def gru_derivation(hidden: int = 1, steps: int = 3) -> Derivation:
    """GRU derivation: model, the four path terms, J_t, and the k-step product against SymPy's
    dh_k/dh_1 of the unrolled network. Sizes beyond ``GRU_MAX_STEPS`` raise InputError."""
    validate_sizes(hidden, steps, budget=GRU_MAX_STEPS)
    p = gru_symbols(hidden, steps)
    h_t, g = gru_cell(p, p.x_t, p.h_prev)
    records = [
        DerivationStep("r_t", g.r, "reset gate sigma(W_r x_t + b_ir + U_r h_{t-1} + b_hr)", "r_t"),
        DerivationStep("z_t", g.z, "update gate sigma(W_z x_t + b_iz + U_z h_{t-1} + b_hz)", "z_t"),
        DerivationStep("n_t", g.n, "candidate tanh(W_n x_t + b_in + r_t * (U_n h_{t-1} + b_hn)) "
                       "(PyTorch nn.GRUCell)", "n_t"),
        DerivationStep("h_t", h_t, "h_t = (1 - z_t) * n_t + z_t * h_{t-1}", "h_t"),
    ]
    terms = gru_terms(p, p.x_t, p.h_prev)
    refs = gru_term_references(p, p.x_t, p.h_prev)
    for key in ("Z", "Zg", "N", "R"):
        expr = getattr(terms, key)
        records.append(DerivationStep(f"{key}_t", expr, _LABELS[key], f"{key}_t",
                                      check_equal(expr, refs[key])))
    records.append(DerivationStep("J_t", terms.J, "one-step Jacobian: sum of the four path terms",
                                  r"\frac{\partial h_t}{\partial h_{t-1}}", check_equal(terms.J, refs["J"])))
    if steps >= 2:
        hs, _ = gru_unrolled(p, p.h1)
        prod = sp.eye(hidden)
        for t in range(2, steps + 1):
            prod = gru_step_jacobian(p, p.x[t - 1], hs[t - 1]) * prod
        records.append(DerivationStep(
            "product", prod, "chain rule: dh_k/dh_1 = J_k ... J_2 along the unrolled trajectory",
            r"\frac{\partial h_k}{\partial h_1}", check_equal(prod, hs[steps].jacobian(p.h1))))
    notes = ("gates fixed: sigmoid for r and z, tanh for the candidate n (PyTorch nn.GRUCell)",
             "derivatives checked against SymPy jacobian of the unrolled cell")
    return Derivation(model="gru", activation=None, hidden=hidden, steps=steps, gamma=None,
                      records=tuple(records), variant=None, notes=notes)
