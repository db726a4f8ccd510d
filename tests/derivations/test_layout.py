"""The rows shown for a derivation step are the step's expression, exactly.

derivations.layout breaks long expressions into rows and names long subexpressions
``\\zeta_j``. Oracle: a small reader for the LaTeX that SymPy's printer and the layout write
(symbols, + - \\cdot and juxtaposition, powers, \\frac, \\sigma(..), \\tanh{..}), written here
independently of the layout code; it evaluates the rows (with the ``where`` definitions) at a
random point and must agree with SymPy's evaluation of the step's expression to 1e-9
(relative). A lost parenthesis, a dropped term or a wrong name changes the value: the test
below shows that the reader notices one.
"""

import math
import random
import re

import pytest
import sympy as sp

from gradproof.derivations import derive_model
from gradproof.derivations.layout import layout_derivation

SPECS = [("rnn", {"activation": "sigmoid", "hidden": 1, "steps": 3}),
         ("rnn", {"activation": "tanh", "hidden": 1, "steps": 3}),
         ("rnn", {"activation": "sigmoid", "hidden": 2, "steps": 2}),
         ("lstm", {"variant": "article", "hidden": 1, "steps": 2}),
         ("lstm", {"variant": "corrected", "hidden": 1, "steps": 2}),
         ("lstm", {"variant": "full-state", "hidden": 1, "steps": 2}),
         ("gru", {"hidden": 1, "steps": 2})]


class _Reader:
    """Recursive-descent evaluation of a row's LaTeX; ``names`` maps a symbol's LaTeX (longest
    first) to its value."""

    def __init__(self, text: str, names: dict):
        self.s = text
        self.i = 0
        self.names = sorted(names.items(), key=lambda kv: -len(kv[0]))

    def ws(self):
        while self.i < len(self.s) and self.s[self.i] in " \n\t":
            self.i += 1

    def peek(self, token: str) -> bool:
        self.ws()
        return self.s.startswith(token, self.i)

    def take(self, token: str) -> None:
        assert self.peek(token), (token, self.s[self.i:self.i + 40])
        self.i += len(token)

    def expr(self) -> float:
        self.ws()
        sign = 1.0
        if self.peek("-"):
            self.take("-")
            sign = -1.0
        elif self.peek("+"):
            self.take("+")
        total = sign * self.term()
        while True:
            if self.peek("+"):
                self.take("+")
                total += self.term()
            elif self.peek("-"):
                self.take("-")
                total -= self.term()
            else:
                return total

    def term(self) -> float:
        value = self.power()
        while True:
            self.ws()
            if self.peek(r"\cdot"):
                self.take(r"\cdot")
                value *= self.power()
            elif self.i < len(self.s) and not any(self.peek(t) for t in
                                                   ("+", "-", r"\right", "}", ")")):
                value *= self.power()
            else:
                return value

    def group(self) -> float:
        self.take("{")
        v = self.expr()
        self.take("}")
        return v

    def exponent(self, base: float) -> float:
        if self.peek("^"):
            self.take("^")
            return base ** (self.group() if self.peek("{") else self.digit())
        return base

    def digit(self) -> float:
        self.ws()
        c = self.s[self.i]
        self.i += 1
        return float(c)

    def power(self) -> float:
        return self.exponent(self.atom())

    def atom(self) -> float:
        self.ws()
        if self.peek(r"\left("):
            self.take(r"\left(")
            v = self.expr()
            self.take(r"\right)")
            return v
        if self.peek(r"\frac"):
            self.take(r"\frac")
            return self.group() / self.group()
        if self.peek(r"\sigma\left("):
            self.take(r"\sigma\left(")
            v = self.expr()
            self.take(r"\right)")
            return 1.0 / (1.0 + math.exp(-v))
        if self.peek(r"\tanh"):
            self.take(r"\tanh")
            n = 1.0
            if self.peek("^"):
                self.take("^")
                n = self.group()
            self.take("{")
            self.take(r"\left(")
            v = self.expr()
            self.take(r"\right)")
            self.take("}")
            return math.tanh(v) ** n
        if self.peek("{"):
            return self.group()
        for name, value in self.names:
            if self.s.startswith(name, self.i):
                self.i += len(name)
                return value
        m = re.compile(r"\d+(\.\d+)?").match(self.s, self.i)
        assert m, f"cannot read {self.s[self.i:self.i + 40]!r}"
        self.i = m.end()
        return float(m.group(0))


def _evaluate(rows, names) -> float:
    text = " ".join(rhs for _, _, rhs in rows)
    reader = _Reader(text, names)
    value = reader.expr()
    reader.ws()
    assert reader.i == len(text), f"unread: {text[reader.i:reader.i + 60]!r}"
    return value


def _entries(rows):
    """Group rows by the entry (left side) they start: [(lhs, [rows])]."""
    groups = []
    for lhs, rel, rhs in rows:
        if lhs or rel:
            groups.append((lhs, [(lhs, rel, rhs)]))
        else:
            groups[-1][1].append((lhs, rel, rhs))
    return groups


def _check_derivation(der, layout, rng) -> int:
    printer = sp.latex
    symbols = set()
    for r in der.records:
        if isinstance(r.expr, (sp.Basic, sp.MatrixBase)):
            symbols |= r.expr.free_symbols
    # one value per printed name (distinct SymPy symbols such as y_k and y_{k} print alike)
    names = {printer(s): None for s in sorted(symbols, key=str)}
    names = {n: rng.uniform(0.15, 0.85) for n in sorted(names)}
    values = {s: names[printer(s)] for s in symbols}
    # the named subexpressions: evaluated from their own where rows, in order of definition
    pending = {}
    for step in layout.steps:
        for lhs, rows in _entries([(w.lhs, w.rel, w.rhs) for w in step.where]):
            pending[lhs] = rows
    resolved = 0
    while pending:
        progress = False
        for lhs in list(pending):
            try:
                names[lhs] = _evaluate(pending[lhs], names)
            except AssertionError:
                continue
            del pending[lhs]
            progress = True
        assert progress, f"unresolvable names {sorted(pending)}"
    checked = 0
    for record, step in zip(der.records, layout.steps):
        expr = record.expr
        if record.latex_override is not None or not isinstance(expr, (sp.Basic, sp.MatrixBase)):
            continue
        if isinstance(expr, sp.Basic) and expr.is_Relational:
            continue
        rows = [(r.lhs, r.rel, r.rhs) for r in step.rows]
        if any(r"\begin{matrix}" in rhs for _, _, rhs in rows):
            continue  # a whole matrix on one row: SymPy's own printing, not broken
        entries = list(expr) if isinstance(expr, sp.MatrixBase) else [expr]
        groups = _entries(rows)
        assert len(groups) == len(entries), record.name
        for (lhs, grows), entry in zip(groups, entries):
            want = complex(sp.N(entry.xreplace(values), 30))
            got = _evaluate(grows, names)
            assert abs(got - want.real) <= 1e-9 * max(1.0, abs(want.real)), (record.name, lhs)
            checked += 1
    return checked


@pytest.mark.parametrize("model,kwargs", SPECS)
def test_rows_evaluate_to_the_steps_expression(model, kwargs):
    der = derive_model(model, **kwargs)
    checked = _check_derivation(der, layout_derivation(der), random.Random(20180101))
    assert checked >= 5


def test_the_reader_notices_a_lost_parenthesis():
    x, y, z = sp.symbols("x y z")
    names = {"x": 0.3, "y": 0.5, "z": 0.7}
    good = [("u", "=", r"x \left(y + z\right)")]
    bad = [("u", "=", r"x \cdot y + z")]  # what a lost pair of parentheses prints
    assert _evaluate(good, names) == pytest.approx(0.3 * 1.2)
    assert _evaluate(bad, names) != pytest.approx(0.3 * 1.2)


@pytest.mark.slow
def test_rows_of_the_two_dimensional_lstm_evaluate_to_the_expression():
    """n = 2: 2x2 blocks shown entry by entry, many names (about 15 s)."""
    der = derive_model("lstm", variant="full-state", hidden=2, steps=2)
    assert _check_derivation(der, layout_derivation(der), random.Random(7)) >= 40
