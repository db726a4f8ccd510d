"""gradproof.derivations.symbolic: the shared symbolic building blocks."""

import sympy as sp

from gradproof.derivations.symbolic import (
    dag_xreplace, diag_of, elementwise, frozen_copy, hadamard, symbol_matrix, symbol_name,
    symbol_vector,
)


def test_symbol_names_and_shapes():
    assert symbol_name("W", "f", None) == "W_{f}" and symbol_name("W", "f", "12") == "W_{f,12}"
    v = symbol_vector("h", "t-1", 2)
    assert v.shape == (2, 1) and [s.name for s in v] == ["h_{t-1,1}", "h_{t-1,2}"]
    assert symbol_vector("h", "t-1", 1)[0].name == "h_{t-1}"
    M = symbol_matrix("U", "f", 2, 3)
    assert M.shape == (2, 3) and M[1, 2].name == "U_{f,23}" and M[0, 0].is_real
    assert symbol_matrix("U", "f", 1, 1)[0].name == "U_{f}"


def test_elementwise_hadamard_diag():
    a, b, c, d = sp.symbols("a b c d")
    u, v = sp.Matrix([a, b]), sp.Matrix([c, d])
    assert elementwise(sp.sin, u) == sp.Matrix([sp.sin(a), sp.sin(b)])
    assert hadamard(u, v, u) == sp.Matrix([a * c * a, b * d * b])
    assert diag_of(u) == sp.Matrix([[a, 0], [0, b]])


def test_frozen_copy_gives_fresh_independent_symbols():
    v = symbol_vector("c", "t", 2)
    F = frozen_copy(v, "cF")
    assert all(isinstance(s, sp.Dummy) for s in F) and not (set(F) & set(v))
    assert F[0].name == "cF_c_{t,1}"


def test_dag_xreplace_equals_xreplace_on_shared_subtrees():
    x, y, z = sp.symbols("x y z")
    inner = sp.tanh(x + y)
    e = sp.Matrix([[sp.tanh(inner * x) + inner ** 2, inner * sp.exp(inner)]])
    mapping = {x: z, sp.tanh(z + y): y}
    assert dag_xreplace(e, mapping) == e.xreplace(mapping)
    assert dag_xreplace(e, {}) is e
