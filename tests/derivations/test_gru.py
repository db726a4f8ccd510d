"""GRU one-step Jacobian term by term (issue 3, item 4), PyTorch nn.GRUCell equations.

Oracles: SymPy's jacobian of the unrolled cell (inside the derivation), the float64 forward
step of numerics.cells (PyTorch's equations written separately), and mpmath central finite
differences of a forward pass written in this file.
"""

from __future__ import annotations

import random

import mpmath
import numpy as np
import pytest
import sympy as sp

from gradproof.derivations.activations import LAMBDIFY_MODULES_MPMATH, LAMBDIFY_MODULES_NUMPY
from gradproof.numerics.cells import GRUParams, gru_step
from gradproof.derivations.checker import Verdict, atomized, check_equal
from gradproof.derivations.checker import is_zero_polynomial as _polynomial_zero
from gradproof.numerics.errors import InputError
from gradproof.derivations.gru import (
    GRU_MAX_STEPS,
    gru_cell,
    gru_derivation,
    gru_step_jacobian,
    gru_symbols,
    gru_term_references,
    gru_terms,
    gru_unrolled,
)
from gradproof.derivations.lstm import sigmoid_prime
from gradproof.derivations.records import derivation_to_json

V, R = Verdict.VERIFIED, Verdict.REFUTED


@pytest.mark.parametrize("n,k", [(1, 3), (2, 2)])
def test_gru_derivation_all_verified(n, k):
    der = gru_derivation(hidden=n, steps=k)
    assert der.model == "gru" and der.activation is None and der.gamma is None
    checked = [r for r in der.records if r.check is not None]
    assert {r.name for r in checked} == {"Z_t", "Zg_t", "N_t", "R_t", "J_t", "product"}
    for r in checked:
        assert r.check.verdict is V, r.name
        assert "expand(a - b) == 0" in r.check.method


def test_gru_terms_sum_to_sympy_jacobian_and_each_term_is_needed():
    p = gru_symbols(2, 1)
    terms = gru_terms(p, p.x_t, p.h_prev)
    refs = gru_term_references(p, p.x_t, p.h_prev)
    assert _polynomial_zero(atomized(refs["Z"] + refs["Zg"] + refs["N"] + refs["R"] - refs["J"]))
    # the same identity through the checker: symbolic proof plus the 50-digit mpmath spot check
    chk = check_equal(refs["Z"] + refs["Zg"] + refs["N"] + refs["R"], refs["J"])
    assert chk.verdict is V and "20 pts @ 50 digits" in chk.method
    # dropping any one path is a false Jacobian
    for drop in ("Z", "Zg", "N", "R"):
        partial = sum((getattr(terms, k) for k in ("Z", "Zg", "N", "R") if k != drop), sp.zeros(2, 2))
        assert check_equal(partial, refs["J"]).verdict is R, drop


def test_gru_reset_inside_versus_outside_b_hn_is_distinguished():
    """PyTorch puts b_hn inside r * (U_n h + b_hn); the Jacobian of the variant with b_hn outside
    differs in the reset-gate term (refuted), so the model statement matters."""
    from gradproof.derivations.activations import sigmoid

    p = gru_symbols(1, 1)
    h, x = p.h_prev, p.x_t
    a_r = p.W["r"] * x + p.b_i["r"] + p.U["r"] * h + p.b_h["r"]
    a_z = p.W["z"] * x + p.b_i["z"] + p.U["z"] * h + p.b_h["z"]
    rr, zz = a_r.applyfunc(sigmoid), a_z.applyfunc(sigmoid)
    a_n_out = p.W["n"] * x + p.b_i["n"] + p.b_h["n"] + rr.multiply_elementwise(p.U["n"] * h)
    variant = (sp.ones(1, 1) - zz).multiply_elementwise(a_n_out.applyfunc(sp.tanh)) + zz.multiply_elementwise(h)
    assert check_equal(gru_step_jacobian(p, x, h), variant.jacobian(h)).verdict is R


def test_gru_forward_matches_bridge_pytorch_step():
    n, d = 2, 1
    p = gru_symbols(n, 1, d)
    h_t, _ = gru_cell(p, p.x_t, p.h_prev)
    syms = [v for group in (p.W, p.U, p.b_i, p.b_h) for q in "rzn" for v in group[q]]
    f = sp.lambdify(syms + list(p.x_t) + list(p.h_prev), h_t, modules=LAMBDIFY_MODULES_NUMPY)
    rng = np.random.default_rng(11)
    W_ih, W_hh = rng.standard_normal((3 * n, d)), rng.standard_normal((3 * n, n))
    b_ih, b_hh = rng.standard_normal(3 * n), rng.standard_normal(3 * n)
    x, h = rng.standard_normal(d), rng.standard_normal(n)
    # symbol order: W_r, W_z, W_n (row blocks of W_ih), U_r.. (W_hh blocks), b_i*, b_h*
    args = list(W_ih.ravel()) + [v for k in range(3) for v in W_hh[k * n:(k + 1) * n].ravel()]
    args += list(b_ih) + list(b_hh) + list(x) + list(h)
    ours = np.asarray(f(*args), dtype=float).ravel()
    ref = gru_step(GRUParams(W_ih, W_hh, b_ih, b_hh), h, x)
    np.testing.assert_allclose(ours, ref, rtol=1e-14, atol=1e-15)


def test_gru_product_against_finite_differences():
    """J_k ... J_2 at a random point equals central differences of an mpmath forward pass
    (50 digits, eps = 1e-20: difference error ~1e-40)."""
    n, k = 2, 3
    p = gru_symbols(n, k)
    hs, _ = gru_unrolled(p, p.h1)
    prod = sp.eye(n)
    for t in range(2, k + 1):
        prod = gru_step_jacobian(p, p.x[t - 1], hs[t - 1]) * prod
    rng = random.Random(5)
    with mpmath.workdps(50):
        rnd = lambda: mpmath.mpf(repr(rng.uniform(-1.5, 1.5)))  # noqa: E731
        syms = sorted(prod.free_symbols | hs[k].free_symbols, key=sp.default_sort_key)
        vals = {s: rnd() for s in syms}
        plain = {s: sp.Symbol(f"v{j}") for j, s in enumerate(syms)}
        args = [vals[s] for s in syms]
        J = mpmath.matrix(sp.lambdify(list(plain.values()), prod.xreplace(plain),
                                      modules=LAMBDIFY_MODULES_MPMATH, cse=True)(*args))

        sig = lambda z: 1 / (1 + mpmath.exp(-z))  # noqa: E731
        val = lambda M: [[vals[e] for e in M.row(i)] for i in range(M.rows)]  # noqa: E731

        def step(h, x):
            out = []
            for j in range(n):
                pre = {q: vals[p.W[q][j, 0]] * x + vals[p.b_i[q][j, 0]] + vals[p.b_h[q][j, 0]]
                       + sum(val(p.U[q])[j][m] * h[m] for m in range(n)) for q in "rz"}
                r, z = sig(pre["r"]), sig(pre["z"])
                hn = sum(val(p.U["n"])[j][m] * h[m] for m in range(n)) + vals[p.b_h["n"][j, 0]]
                cand = mpmath.tanh(vals[p.W["n"][j, 0]] * x + vals[p.b_i["n"][j, 0]] + r * hn)
                out.append((1 - z) * cand + z * h[j])
            return out

        def run(h1):
            h = list(h1)
            for t in range(2, k + 1):
                h = step(h, vals[p.x[t - 1][0, 0]])
            return h

        h1 = [vals[p.h1[j, 0]] for j in range(n)]
        eps = mpmath.mpf("1e-20")
        fd = mpmath.matrix(n, n)
        for m in range(n):
            up, dn = list(h1), list(h1)
            up[m] += eps
            dn[m] -= eps
            hu, hd = run(up), run(dn)
            for j in range(n):
                fd[j, m] = (hu[j] - hd[j]) / (2 * eps)
        assert mpmath.mnorm(J - fd, 1) < mpmath.mpf("1e-30")


def test_gru_update_gate_term_uses_sigma_prime():
    p = gru_symbols(1, 1)
    terms = gru_terms(p, p.x_t, p.h_prev)
    _, g = gru_cell(p, p.x_t, p.h_prev)
    expected = (p.h_prev[0] - g.n[0]) * sigmoid_prime(g.a["z"])[0] * p.U["z"][0]
    assert sp.expand(terms.Zg[0] - expected) == 0


@pytest.mark.parametrize("hidden,steps", [(0, 1), (1, 0), (1, GRU_MAX_STEPS[1] + 1),
                                          (max(GRU_MAX_STEPS) + 1, 1), (True, 2), (1, 2.0)])
def test_gru_bad_input(hidden, steps):
    with pytest.raises(InputError) as exc:
        gru_derivation(hidden, steps)
    assert "\n" not in str(exc.value)


def test_gru_json_and_cli(capsys):
    import json

    from gradproof.reports.cli import main

    js = derivation_to_json(gru_derivation(1, 2))
    assert js["model"] == "gru" and js["variant"] is None
    assert main(["derive", "gru", "--hidden", "1", "--steps", "2", "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["model"] == "gru"


@pytest.mark.slow
@pytest.mark.parametrize("n,k", [(2, 3), (1, 5), (3, 3), (4, 2)])
def test_gru_largest_sizes(n, k):
    der = gru_derivation(n, k)
    assert all(r.check.verdict is V for r in der.records if r.check is not None)
