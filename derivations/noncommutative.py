r"""Noncommutative statements: ``commutative=False`` symbols and matrix expressions.

A statement about symbols that do not commute (``sp.Symbol("A", commutative=False)``,
``sp.MatrixSymbol("A", n, n)``) holds in an associative algebra, not in a polynomial ring:
``A*B == B*A`` is false for matrices. Two tools, both order-preserving:

* ``to_free_algebra``: the expression in the free associative algebra over the commutative
  symbols. MatrixSymbols become noncommutative symbols, MatAdd/MatMul/MatPow become Add/Mul/Pow
  (SymPy keeps the order of noncommutative factors), Identity is 1 and ZeroMatrix is 0. Every
  other node that involves a noncommutative argument (a transpose, an inverse, exp(A), a power
  with a symbolic exponent, ...) becomes an opaque noncommutative atom, the same node the same
  atom. ``sympy.expand`` is a canonical form there (SymPy's noncommutative expansion: words in
  the noncommutative symbols with commutative coefficients), so ``expand(a - b) == 0``
  proves a - b = 0 for every substitution of the atoms: sound, not complete (A A^{-1} = 1 is
  not seen).
* ``MatrixEvaluator``: the numeric spot check. Each noncommutative symbol or MatrixSymbol is a
  random square matrix (3 x 3 unless the MatrixSymbol has a concrete shape; entries N(0, 1)
  drawn as 17-digit decimals, exact at any precision), commutative symbols are scalars, numbers
  are multiples of the identity. Supported: Add, Mul, integer Pow, MatAdd, MatMul, integer
  MatPow, Transpose, Inverse, Identity, ZeroMatrix and commutative subexpressions (evaluated by
  mpmath). Anything else raises ``Unfaithful``: the checker then gives no numeric verdict.
"""

from __future__ import annotations

import random
from typing import Mapping

import mpmath
import sympy as sp
from sympy.matrices.expressions import (Identity, Inverse, MatAdd, MatMul, MatPow, MatrixExpr,
                                        MatrixSymbol, Transpose, ZeroMatrix)

from gradproof.derivations.activations import LAMBDIFY_MODULES_MPMATH

__all__ = ["is_noncommutative", "noncommutative_leaves", "to_free_algebra", "MatrixEvaluator",
           "Unfaithful", "DEFAULT_DIM"]

#: size of the random square matrices substituted for noncommutative symbols
DEFAULT_DIM = 3


class Unfaithful(ValueError):
    """The numeric evaluator cannot evaluate this node faithfully."""


def _nodes(e):
    return sp.preorder_traversal(e)


def is_noncommutative(e) -> bool:
    """Does ``e`` (an expression, matrix expression, or explicit Matrix of them) involve a
    noncommutative symbol or a matrix expression?"""
    if isinstance(e, sp.MatrixBase) and not isinstance(e, MatrixExpr):
        return any(is_noncommutative(x) for x in e)
    if isinstance(e, MatrixExpr):
        return True
    e = sp.sympify(e)
    if e.is_commutative is False:
        return True
    return any(isinstance(n, MatrixExpr) or (n.is_Symbol and n.is_commutative is False)
               for n in _nodes(e))


def noncommutative_leaves(exprs) -> list:
    """The noncommutative symbols and MatrixSymbols of ``exprs``, in a fixed order."""
    out = set()
    for e in exprs:
        for n in _nodes(e):
            if isinstance(n, MatrixSymbol) or (n.is_Symbol and n.is_commutative is False):
                out.add(n)
    return sorted(out, key=sp.default_sort_key)


def to_free_algebra(e, atoms: dict) -> sp.Expr:
    """``e`` in the free associative algebra (see the module docstring); ``atoms`` collects the
    opaque nodes (node -> noncommutative Dummy) and MatrixSymbols (-> noncommutative Symbol)."""
    if isinstance(e, MatrixSymbol):
        got = atoms.get(e)
        if got is None:
            got = atoms[e] = sp.Symbol(f"M_{e.name}", commutative=False)
        return got
    if isinstance(e, Identity):
        return sp.Integer(1)
    if isinstance(e, ZeroMatrix):
        return sp.Integer(0)
    if not isinstance(e, MatrixExpr) and (e.is_Symbol or e.is_Number or e.is_NumberSymbol):
        return e
    if not isinstance(e, MatrixExpr) and e.is_commutative and not any(
            isinstance(n, MatrixExpr) for n in _nodes(e)):
        return e  # a commutative subexpression: kept as it is
    if isinstance(e, (sp.Add, MatAdd)):
        return sp.Add(*[to_free_algebra(a, atoms) for a in e.args])
    if isinstance(e, (sp.Mul, MatMul)):
        return sp.Mul(*[to_free_algebra(a, atoms) for a in e.args])
    if isinstance(e, (sp.Pow, MatPow)):
        base, ex = e.args
        if ex.is_Integer and ex >= 0:
            return sp.Pow(to_free_algebra(base, atoms), ex)
    got = atoms.get(e)
    if got is None:
        got = atoms[e] = sp.Dummy(f"atom{len(atoms)}", commutative=False)
    return got


def _mp_number(x: sp.Expr):
    if x.is_Integer:
        return mpmath.mpf(int(x))
    if x.is_Rational:
        return mpmath.mpf(int(x.p)) / int(x.q)
    if isinstance(x, sp.Float):
        return mpmath.mpf(sp.Rational(x).p) / int(sp.Rational(x).q)
    return mpmath.mpmathify(sp.N(x, mpmath.mp.dps + 10))


class MatrixEvaluator:
    """Evaluate expressions with matrices for the noncommutative leaves (see module docstring).

    ``matrices``: leaf -> mpmath.matrix; ``scalars``: commutative symbol -> mpf/mpc.
    """

    def __init__(self, matrices: Mapping, scalars: Mapping, dim: int):
        self.matrices = dict(matrices)
        self.scalars = dict(scalars)
        self.dim = dim
        self._memo: dict = {}
        self._fns: dict = {}

    @staticmethod
    def random_matrices(rng: random.Random, leaves, dim: int = DEFAULT_DIM) -> dict:
        out = {}
        for leaf in leaves:
            rows, cols = (leaf.shape if isinstance(leaf, MatrixSymbol) else (dim, dim))
            rows = int(rows) if getattr(rows, "is_Integer", isinstance(rows, int)) else dim
            cols = int(cols) if getattr(cols, "is_Integer", isinstance(cols, int)) else dim
            m = mpmath.matrix(rows, cols)
            for i in range(rows):
                for j in range(cols):
                    m[i, j] = mpmath.mpf(repr(rng.gauss(0.0, 1.0)))
            out[leaf] = m
        return out

    def _eye(self, scale):
        m = mpmath.eye(self.dim)
        return m * scale

    def _commutative(self, e):
        fn = self._fns.get(e)
        syms = sorted(e.free_symbols, key=sp.default_sort_key)
        if fn is None:
            fn = self._fns[e] = sp.lambdify(syms, e, modules=LAMBDIFY_MODULES_MPMATH)
        try:
            return fn(*[self.scalars[s] for s in syms])
        except KeyError as exc:  # pragma: no cover - every free symbol is sampled
            raise Unfaithful(f"no value for {exc}") from None

    def __call__(self, e):
        e = sp.sympify(e) if not isinstance(e, sp.Basic) else e
        got = self._memo.get(e)
        if got is None:
            got = self._memo[e] = self._eval(e)
        return got

    @staticmethod
    def _is_matrix(v) -> bool:
        return isinstance(v, mpmath.matrix)

    def _eval(self, e):
        if e in self.matrices:
            return self.matrices[e]
        if isinstance(e, Identity):
            return mpmath.eye(self.dim if not e.rows.is_Integer else int(e.rows))
        if isinstance(e, ZeroMatrix):
            r = int(e.rows) if e.rows.is_Integer else self.dim
            c = int(e.cols) if e.cols.is_Integer else self.dim
            return mpmath.zeros(r, c)
        if not isinstance(e, MatrixExpr) and e.is_Number:
            return _mp_number(e)
        if not isinstance(e, MatrixExpr) and e.is_commutative and not any(
                isinstance(n, MatrixExpr) for n in _nodes(e)):
            return self._commutative(e)
        if isinstance(e, (sp.Add, MatAdd)):
            vals = [self(a) for a in e.args]
            total = None
            for v in vals:
                if total is None:
                    total = v
                elif self._is_matrix(v) and not self._is_matrix(total):
                    total = self._eye(total) + v
                elif self._is_matrix(total) and not self._is_matrix(v):
                    total = total + self._eye(v)
                else:
                    total = total + v
            return total
        if isinstance(e, (sp.Mul, MatMul)):
            out = None
            for a in e.args:
                v = self(a)
                out = v if out is None else out * v
            return out
        if isinstance(e, (sp.Pow, MatPow)):
            base, ex = e.args
            b = self(base)
            if not self._is_matrix(b):
                return b ** self(ex)
            if not ex.is_Integer:
                raise Unfaithful(f"matrix power with exponent {ex}")
            if b.rows != b.cols:
                raise Unfaithful("power of a non-square matrix")
            p = int(ex)
            m = b if p >= 0 else mpmath.inverse(b)
            out = mpmath.eye(b.rows)
            for _ in range(abs(p)):
                out = out * m
            return out
        if isinstance(e, Transpose):
            return self(e.arg).T
        if isinstance(e, Inverse):
            return mpmath.inverse(self(e.arg))
        raise Unfaithful(f"{type(e).__name__} of noncommutative arguments has no faithful "
                         "matrix evaluation")
