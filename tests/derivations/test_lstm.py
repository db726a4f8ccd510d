"""LSTM derivations (issue 3, items 1-5): the article's terms, the corrected terms, the full state
Jacobian, the missing output-gate path and the no-forget constant error carousel.

Oracles: SymPy's jacobian of the unrolled cell (inside the derivation's checks), central finite
differences of an mpmath forward pass written here from the PyTorch equations (independent of
derivations.lstm), and the published values max sigma' = 1/4, max tanh' = 1 (oracles.md).
"""

from __future__ import annotations

import json
import random

import mpmath
import pytest
import sympy as sp

from gradproof.derivations.activations import LAMBDIFY_MODULES_MPMATH, sigmoid
from gradproof.derivations.checker import Verdict, atomized, check_equal
from gradproof.derivations.checker import is_zero_polynomial as _polynomial_zero
from gradproof.numerics.errors import InputError
from gradproof.derivations.lstm import (
    MAX_STEPS,
    PEEPHOLE_MAX_STEPS,
    _trajectory_products,
    article_minus_corrected,
    article_terms,
    cell_path_reference,
    corrected_terms,
    lstm_cell,
    lstm_derivation,
    lstm_state_jacobian,
    lstm_symbols,
    peephole_derivation,
    peephole_state_jacobian,
    start_state,
    term_references,
)
from gradproof.derivations.records import derivation_to_json, derivation_to_latex, derivation_to_text

V, R, U = Verdict.VERIFIED, Verdict.REFUTED, Verdict.UNDECIDED


@pytest.fixture(scope="module")
def article1():
    return lstm_derivation("article", hidden=1, steps=3)


@pytest.fixture(scope="module")
def article2():
    return lstm_derivation("article", hidden=2, steps=2)


@pytest.fixture(scope="module")
def corrected1():
    return lstm_derivation("corrected", hidden=1, steps=3)


@pytest.fixture(scope="module")
def fullstate1():
    return lstm_derivation("full-state", hidden=1, steps=3)


def verdict(der, name):
    return der.step(name).check.verdict


# ------------------------------------------------------------------ article version
def test_article_D_t_refuted_with_residual(article1, article2):
    for der in (article1, article2):
        chk = der.step("article_D_t").check
        assert chk.verdict is R
        assert float(chk.residual) > 1e-3  # a real difference, not rounding
        assert chk.counterexample and "derived" in chk.counterexample


def test_article_product_refuted(article1, article2):
    for der in (article1, article2):
        assert verdict(der, "article_product") is R
        assert verdict(der, "article_K_t") is R


def test_article_A_C_verified_in_h_block_reading(article1, article2):
    for der in (article1, article2):
        assert verdict(der, "article_A_t") is V
        assert verdict(der, "article_C_t") is V
        assert verdict(der, "W_f_h_block") is V
        assert verdict(der, "article_minus_corrected_D") is V


def test_article_as_written_has_wrong_shapes(article1, article2):
    # the whole W_f acting on [h, x] gives n + d columns
    assert verdict(article1, "article_A_t_as_written") is R
    assert article1.step("article_A_t_as_written").expr.shape == (1, 2)
    assert article2.step("article_A_t_as_written").expr.shape == (2, 3)
    # the vector f_t is the Jacobian block only for n = 1
    assert verdict(article1, "article_B_t") is V
    assert verdict(article2, "article_B_t") is R


def test_article_D_is_exactly_a_quarter_of_true_D_at_zero_preactivation():
    """Oracle: sigma'(0) = 1/4, tanh'(0) = 1, so where a_g = 0 the article's D_t is D_t / 4."""
    p = lstm_symbols(1, 1)
    o_prev = sp.Matrix([[sigmoid(p.a_o_prev[0])]])
    art, corr = article_terms(p, p.x_t, p.c_prev, o_prev), corrected_terms(p, p.x_t, p.c_prev, o_prev)
    # choose b_g so that a_g = W_g x + U_g h + b_g = 0
    h_prev = o_prev[0] * sp.tanh(p.c_prev[0])
    zero_ag = {p.b["g"][0]: -(p.W["g"][0] * p.x_t[0] + p.U["g"][0] * h_prev)}
    ratio = sp.simplify((art.D[0] / corr.D[0]).subs(zero_ag))
    assert ratio == sp.Rational(1, 4)


def test_article_minus_corrected_object():
    p = lstm_symbols(2, 1)
    diff = article_minus_corrected(p)
    assert diff.B_article_shape == (2, 1) and diff.B_corrected_shape == (2, 2)
    assert diff.W_article_shape == (2, 3) and diff.U_block_shape == (2, 2)
    assert len(diff.items) == 4
    # D difference vanishes exactly when U_g = 0, not otherwise
    assert any(sp.expand(e) != 0 for e in atomized(diff.D_difference))
    cut = article_minus_corrected(p.with_recurrent("g", 0))
    assert all(e == 0 for e in cut.D_difference)
    # the missing-path term is nonzero, and zero with U_o = 0
    assert any(e != 0 for e in diff.missing_path)
    assert all(e == 0 for e in article_minus_corrected(p.with_recurrent("o", 0)).missing_path)


# ------------------------------------------------------------------ corrected version
def test_corrected_terms_verified(corrected1):
    for name in ("A_t", "B_t", "C_t", "D_t", "K_t", "M_t"):
        chk = corrected1.step(name).check
        assert chk.verdict is V, name
        assert "expand(a - b) == 0" in chk.method and "seed" in chk.method


def test_corrected_product_refuted_missing_path_verified(corrected1):
    assert verdict(corrected1, "product_of_terms") is R
    assert verdict(corrected1, "product_plus_missing_path") is V
    assert verdict(corrected1, "product_output_path_cut") is V
    assert corrected1.all_checks_as_expected  # nothing undecided


def test_corrected_n2_k2_all_verified():
    der = lstm_derivation("corrected", hidden=2, steps=2)
    for r in der.records:
        if r.check is not None:
            # with k = 2 there is no output-gate path yet: even the plain product is exact
            assert r.check.verdict is V, r.name


def test_corrected_terms_sum_equals_sympy_jacobian_n2_direct():
    """The term references are SymPy jacobians; their sum must be the full one-step jacobian."""
    p = lstm_symbols(2, 1)
    o_prev = p.a_o_prev.applyfunc(sigmoid)
    refs = term_references(p, p.x_t, p.c_prev, o_prev)
    total = refs["A"] + refs["B"] + refs["C"] + refs["D"]
    assert _polynomial_zero(atomized(total - refs["K"]))
    chk = check_equal(total, refs["K"])  # symbolic proof AND the 50-digit mpmath spot check
    assert chk.verdict is V and "20 pts @ 50 digits" in chk.method
    assert check_equal(total - refs["C"], refs["K"]).verdict is R  # each path is needed


# ------------------------------------------------------------------ full state
def test_full_state_blocks_and_products(fullstate1):
    for name in ("J_hh", "J_hc", "J_ch", "J_cc", "J_t", "state_product", "cc_block_of_product",
                 "cell_path_via_state_product", "product_plus_missing_path"):
        assert verdict(fullstate1, name) is V, name
    assert verdict(fullstate1, "product_of_terms") is R


def test_state_jacobian_false_variants_rejected():
    """Transposed blocks and the swapped state order (c, h) are rejected for n = 2."""
    p = lstm_symbols(2, 1)
    J = lstm_state_jacobian(p, p.x_t, p.h_prev, p.c_prev)
    h_t, c_t, _ = lstm_cell(p, p.x_t, p.h_prev, p.c_prev)
    ref = h_t.col_join(c_t).jacobian(p.h_prev.col_join(p.c_prev))
    assert check_equal(J, ref).verdict is V
    assert check_equal(J.T, ref).verdict is R
    swapped = c_t.col_join(h_t).jacobian(p.c_prev.col_join(p.h_prev))
    assert check_equal(J, swapped).verdict is R


# ------------------------------------------------------------------ no forget gate (1997)
def test_no_forget_constant_error_carousel():
    der = lstm_derivation("no-forget", hidden=2, steps=3)
    assert verdict(der, "cec_one_step") is V
    assert der.step("cec_one_step").expr == sp.eye(2)
    assert verdict(der, "cec_k_steps") is V
    assert verdict(der, "cec_without_truncation") is R  # truncation is what makes it exactly 1
    for name in ("A_t", "B_t", "C_t", "D_t", "K_t"):
        assert verdict(der, name) is V, name
    assert der.step("A_t").expr == sp.zeros(2, 2)
    assert der.step("B_t").expr == sp.eye(2)


# ------------------------------------------------------------------ independent numeric oracle
def _mp_lstm_step(w, x, h, c):
    """PyTorch nn.LSTMCell equations in mpmath, written independently of derivations.lstm."""
    n = len(h)
    sig = lambda z: 1 / (1 + mpmath.exp(-z))  # noqa: E731
    out_h, out_c = [], []
    for j in range(n):
        a = {q: w["W"][q][j] * x + sum(w["U"][q][j][m] * h[m] for m in range(n)) + w["b"][q][j]
             for q in "ifgo"}
        i, f, g, o = sig(a["i"]), sig(a["f"]), mpmath.tanh(a["g"]), sig(a["o"])
        cj = f * c[j] + i * g
        out_c.append(cj)
        out_h.append(o * mpmath.tanh(cj))
    return out_h, out_c


def _random_weights(rng, n):
    r = lambda: mpmath.mpf(repr(rng.uniform(-1.5, 1.5)))  # noqa: E731
    return {"W": {q: [r() for _ in range(n)] for q in "ifgo"},
            "U": {q: [[r() for _ in range(n)] for _ in range(n)] for q in "ifgo"},
            "b": {q: [r() for _ in range(n)] for q in "ifgo"}}, r


def _fd_cell_path(w, xs, c1, o1, k, eps):
    """dc_k/dc_1 by central differences, h_1 = o_1 tanh(c_1) with o_1 fixed."""
    n = len(c1)

    def run(c_start):
        h = [o1[j] * mpmath.tanh(c_start[j]) for j in range(n)]
        c = list(c_start)
        for t in range(2, k + 1):
            h, c = _mp_lstm_step(w, xs[t - 1], h, c)
        return c

    cols = []
    for m in range(n):
        up = list(c1)
        dn = list(c1)
        up[m] += eps
        dn[m] -= eps
        cu, cd = run(up), run(dn)
        cols.append([(cu[j] - cd[j]) / (2 * eps) for j in range(n)])
    return mpmath.matrix([[cols[m][j] for m in range(n)] for j in range(n)])


@pytest.mark.parametrize("n,k", [(1, 3), (2, 3)])
def test_cell_path_against_finite_differences(n, k):
    """prod K_t + Delta_k matches central differences (50 digits, eps 1e-20, error ~ eps^2) while
    prod K_t alone is off by far more than the difference error: the missing path is real."""
    p = lstm_symbols(n, k)
    tr = _trajectory_products(p, k)
    rng = random.Random(7)
    with mpmath.workdps(50):
        w, r = _random_weights(rng, n)
        xs = [r() for _ in range(k)]
        c1 = [r() for _ in range(n)]
        a_o1 = [r() for _ in range(n)]
        o1 = [1 / (1 + mpmath.exp(-a)) for a in a_o1]
        values = {}
        for q in "ifgo":
            for j in range(n):
                values[p.W[q][j, 0]] = w["W"][q][j]
                values[p.b[q][j, 0]] = w["b"][q][j]
                for m in range(n):
                    values[p.U[q][j, m]] = w["U"][q][j][m]
        for t in range(k):
            values[p.x[t][0, 0]] = xs[t]
        for j in range(n):
            values[p.c1[j, 0]] = c1[j]
            values[p.a_o1[j, 0]] = a_o1[j]
        syms = sorted(values, key=sp.default_sort_key)
        args = [values[s] for s in syms]
        plain = {s: sp.Symbol(f"v{j}", real=True) for j, s in enumerate(syms)}

        def ev(M):
            f = sp.lambdify(list(plain.values()), M.xreplace(plain), modules=LAMBDIFY_MODULES_MPMATH,
                            cse=True)
            return mpmath.matrix(f(*args))
        fd = _fd_cell_path(w, xs, c1, o1, k, mpmath.mpf("1e-20"))
        exact = ev(tr["prodK"] + tr["delta"])
        prod_only = ev(tr["prodK"])  # a new name: ev reads the symbol map ``plain``
        err_exact = mpmath.mnorm(exact - fd, 1)
        err_plain = mpmath.mnorm(prod_only - fd, 1)
        assert err_exact < mpmath.mpf("1e-30")
        assert err_plain > mpmath.mpf("1e-6")


def test_check_jacobian_rejects_false_identity():
    x = sp.Symbol("x", real=True)
    s = sigmoid(x)
    assert check_equal(sp.Matrix([[s * (1 - s)]]), sp.Matrix([[sp.diff(s, x)]])).verdict is V
    assert check_equal(sp.Matrix([[s * (1 - s)]]), sp.Matrix([[1 - sp.tanh(x) ** 2]])).verdict is R
    assert check_equal(sp.Matrix([[s]]), sp.Matrix([[s, s]])).verdict is R  # shape
    assert not _polynomial_zero(atomized(sp.Matrix([[s * (1 - s) - s]])))


# ------------------------------------------------------------------ input handling, rendering
@pytest.mark.parametrize("kwargs", [
    {"variant": "peephole"}, {"variant": "Article"}, {"hidden": 0}, {"steps": 0},
    {"hidden": -1}, {"steps": 1.5}, {"hidden": True},
    {"hidden": 1, "steps": MAX_STEPS[1] + 1}, {"hidden": 2, "steps": MAX_STEPS[2] + 1},
    {"hidden": max(MAX_STEPS) + 1, "steps": 1},
])
def test_bad_input_raises_one_line_input_error(kwargs):
    with pytest.raises(InputError) as exc:
        lstm_derivation(**kwargs)
    assert "\n" not in str(exc.value) and str(exc.value)


def test_renderers_and_json_shape(article1):
    js = derivation_to_json(article1)
    assert js["model"] == "lstm" and js["variant"] == "article" and js["gamma"] is None
    assert js["activation"] is None and js["hidden"] == 1 and js["steps"] == 3
    names = [s["name"] for s in js["derivation"]]
    assert names[:6] == ["i_t", "f_t", "g_t", "o_t", "c_t", "h_t"]
    assert {s["verdict"] for s in js["derivation"]} == {"definition", "verified", "refuted"}
    json.dumps(js, sort_keys=True)
    assert "article_D_t  [refuted]" in derivation_to_text(article1)
    assert r"\begin{align}" in derivation_to_latex(article1)


def test_cli_derive_lstm(capsys):
    from gradproof.reports.cli import main

    assert main(["derive", "lstm", "--variant", "article", "--hidden", "1", "--steps", "2",
                 "--format", "json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["variant"] == "article"
    assert main(["derive", "lstm", "--hidden", "2", "--steps", "9"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("gradproof: error:") and err.count("\n") == 1


# ------------------------------------------------------------------ the largest sizes
@pytest.mark.slow
@pytest.mark.parametrize("variant,n,k", [("corrected", 2, 3), ("full-state", 2, 3),
                                         ("article", 2, 3), ("full-state", 1, 4),
                                         ("article", 1, 4), ("no-forget", 2, 3),
                                         ("full-state", 1, 5), ("full-state", 3, 3),
                                         ("corrected", 4, 2)])
def test_largest_sizes_nothing_undecided(variant, n, k):
    der = lstm_derivation(variant, hidden=n, steps=k)
    assert der.all_checks_as_expected
    if variant in ("corrected", "full-state"):
        assert verdict(der, "product_plus_missing_path") is V
        # the output-gate path first appears at k = 3
        assert verdict(der, "product_of_terms") is (R if k >= 3 else V)
    if variant == "article":
        assert verdict(der, "article_D_t") is R and verdict(der, "article_product") is R


def test_start_state_is_o1_tanh_c1():
    p = lstm_symbols(1, 2)
    o1, h1, c1 = start_state(p)
    assert h1[0] == sigmoid(p.a_o1[0]) * sp.tanh(p.c1[0])
    assert cell_path_reference(p, 2).shape == (1, 1)


# ------------------------------------------------------------------ peephole (Gers & Schmidhuber 2000)
@pytest.mark.parametrize("n,k", [(1, 3), (2, 2)])
def test_peephole_derivation(n, k):
    der = peephole_derivation(n, k)
    assert der.variant == "peephole" and der.model == "lstm"
    for r in der.records:
        if r.check is None:
            continue
        expected = R if r.name == "plain_formula_on_peephole_cell" else V
        assert r.check.verdict is expected, r.name


def test_peephole_jacobian_reduces_to_plain_lstm_when_peepholes_are_zero():
    p = lstm_symbols(2, 1, peephole=True)
    zero = {s: 0 for q in p.P for s in p.P[q]}
    J_peep = peephole_state_jacobian(p, p.x_t, p.h_prev, p.c_prev).xreplace(zero)
    plain = lstm_symbols(2, 1)
    J_plain = lstm_state_jacobian(plain, plain.x_t, plain.h_prev, plain.c_prev)
    assert _polynomial_zero(atomized(J_peep - J_plain))
    assert check_equal(J_peep, J_plain).verdict is V  # with the mpmath spot check
    J_peep_on = peephole_state_jacobian(p, p.x_t, p.h_prev, p.c_prev)
    assert check_equal(J_peep_on, J_plain).verdict is R


def test_peephole_gate_justifications_name_the_peephole_terms():
    """The model statement must describe the expression it records: with peepholes i_t and f_t
    read p * c_{t-1} and o_t reads p_o * c_t; the candidate g_t has none."""
    der = peephole_derivation(1, 1)
    for gate, term, sym in (("i_t", "p_i * c_{t-1}", "p_{i}"), ("f_t", "p_f * c_{t-1}", "p_{f}"),
                            ("o_t", "p_o * c_t", "p_{o}")):
        step = der.step(gate)
        assert term in step.justification, gate
        assert sp.Symbol(sym, real=True) in step.expr.free_symbols, gate
    g = der.step("g_t")
    assert "p_" not in g.justification and not any(str(s).startswith("p_") for s in g.expr.free_symbols)
    plain = lstm_derivation("corrected", 1, 1)
    assert "p_" not in plain.step("i_t").justification


@pytest.mark.parametrize("n", [1, 2])
def test_missing_path_total_is_checked_and_a_wrong_one_refuted(n):
    """Delta_k is a derived claim (dc_k/dc_1 - prod K_t), not a definition: it carries a verdict;
    a wrong Delta_k (twice the true one) is refuted against the same SymPy reference."""
    der = lstm_derivation("corrected", hidden=n, steps=3)
    step = der.step("missing_path_total")
    assert step.check is not None and step.check.verdict is V
    p = lstm_symbols(n, 3)
    ref = cell_path_reference(p, 3)
    prod = der.step("product_of_terms").expr
    assert check_equal(step.expr * 2, ref - prod).verdict is R


def test_peephole_bad_sizes():
    with pytest.raises(InputError):
        peephole_derivation(1, PEEPHOLE_MAX_STEPS[1] + 1)
    with pytest.raises(InputError):
        peephole_derivation(0, 2)


@pytest.mark.slow
@pytest.mark.parametrize("n,k", [(2, 3), (1, 4), (3, 3)])
def test_peephole_largest_sizes(n, k):
    der = peephole_derivation(n, k)
    assert der.all_checks_as_expected
    assert der.step("state_product").check.verdict is V


@pytest.mark.parametrize("variant", ["article", "corrected", "full-state", "no-forget"])
def test_single_step_derivations_have_no_product_steps(variant):
    der = lstm_derivation(variant, hidden=1, steps=1)
    names = {r.name for r in der.records}
    assert not names & {"article_product", "product_of_terms", "state_product", "cec_k_steps"}
    assert der.all_checks_as_expected
