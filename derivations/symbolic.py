"""Small symbolic building blocks shared by the LSTM, GRU and lambdified modules and the checker:
named symbol vectors and matrices, elementwise maps, Hadamard products, diag, frozen copies for
path-restricted derivatives, and a memoised xreplace for expressions with shared subtrees."""

from __future__ import annotations

from typing import Mapping

import sympy as sp

__all__ = ["symbol_name", "symbol_vector", "symbol_matrix", "elementwise", "hadamard", "diag_of",
           "frozen_copy", "dag_xreplace"]


def symbol_name(base: str, sub: str, idx: str | None) -> str:
    """LaTeX-style symbol name base_{sub} or base_{sub,idx}."""
    return f"{base}_{{{sub}}}" if idx is None else f"{base}_{{{sub},{idx}}}"


def symbol_vector(base: str, sub: str, n: int) -> sp.Matrix:
    """An n x 1 column of real symbols base_{sub,j} (a single base_{sub} when n = 1)."""
    if n == 1:
        return sp.Matrix([[sp.Symbol(symbol_name(base, sub, None), real=True)]])
    return sp.Matrix(n, 1, lambda j, _: sp.Symbol(symbol_name(base, sub, str(j + 1)), real=True))


def symbol_matrix(base: str, sub: str, rows: int, cols: int) -> sp.Matrix:
    """A rows x cols matrix of real symbols base_{sub,rc} (a single base_{sub} when 1 x 1)."""
    if rows == 1 and cols == 1:
        return sp.Matrix([[sp.Symbol(symbol_name(base, sub, None), real=True)]])
    return sp.Matrix(rows, cols,
                     lambda r, c: sp.Symbol(symbol_name(base, sub, f"{r + 1}{c + 1}"), real=True))


def elementwise(fn, v: sp.Matrix) -> sp.Matrix:
    """fn applied to every entry."""
    return v.applyfunc(fn)


def hadamard(*vs: sp.Matrix) -> sp.Matrix:
    """Elementwise (Hadamard) product v_1 * v_2 * ...."""
    out = vs[0]
    for v in vs[1:]:
        out = out.multiply_elementwise(v)
    return out


def diag_of(v: sp.Matrix) -> sp.Matrix:
    """diag(v) for a vector v."""
    return sp.diag(*list(v))


def frozen_copy(v: sp.Matrix, tag: str) -> sp.Matrix:
    """Fresh Dummies standing for the entries of v (held fixed while differentiating)."""
    return v.applyfunc(lambda s: sp.Dummy(f"{tag}_{s.name}"))


def dag_xreplace(m: sp.Matrix, mapping: Mapping) -> sp.Matrix:
    """``Matrix.xreplace`` that rebuilds each distinct subexpression once (memoised)."""
    if not mapping:
        return m
    memo: dict = {}

    def rep(node):
        if node in mapping:
            return mapping[node]
        if not node.args:
            return node
        got = memo.get(node)
        if got is None:
            args = node.args
            new = tuple(rep(a) if isinstance(a, sp.Basic) else a for a in args)
            got = node.func(*new) if any(x is not y for x, y in zip(new, args)) else node
            memo[node] = got
        return got

    return m.applyfunc(lambda e: rep(sp.sympify(e)))
