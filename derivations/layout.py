r"""Display layout of derivation steps: every step shown in full, in rows that fit a column.

A step ``lhs = expr`` whose printed LaTeX is wider than :data:`ROW_WIDTH` is broken into rows
(an ``align``'s ``lhs &= ...`` then ``&\quad + ...``), never elided:

* a matrix is shown whole when it fits, else entry by entry
  (``[lhs]_{ij} = ...``); a 1x1 matrix is shown as its entry;
* a sum is split between its terms, a product between its factors (``\cdot`` starts a
  continued product), greedily, as many pieces per row as fit;
* a subexpression that cannot be split there (a long function argument, a parenthesised sum
  inside a product, the base of a power) is *named* ``\zeta_{j}`` once per derivation: the step
  where it first occurs defines it in a ``where`` list, and every later step of the same
  derivation uses the name (the name stands for exactly that SymPy expression; substitution is
  ``xreplace``, so the shown rows are the same expression).

Widths are estimated in *glyph units* (about one math-italic letter; subscripts count 0.7),
from the LaTeX text alone (:func:`visible_width`). :data:`ROW_WIDTH` = 36 units was chosen so
that a row with its equation number fits ``\columnwidth`` of a two-column 10 pt article
(241 pt), checked with pdflatex in ``tests/reports/test_latex_paper.py``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import sympy as sp

__all__ = ["Row", "StepLayout", "DerivationLayout", "layout_derivation", "visible_width",
           "aligned_lines", "left_aligned",
           "ROW_WIDTH", "NAME_SYMBOL"]

#: target width of one row, in glyph units (see the module docstring)
ROW_WIDTH = 36.0
#: the letter used for named subexpressions (absent from every derivation's own symbols)
NAME_SYMBOL = r"\zeta"
#: indentation of a continuation row (``\quad``), in glyph units
_INDENT = 2.0

_SYMBOL_COMMANDS = {"left", "right", "Big", "big", "Bigl", "Bigr", "bigl", "bigr", "quad",
                    "qquad", "begin", "end", "mathrm", "text", "operatorname", "displaystyle",
                    "limits", "mathit", "mathbf"}
_FUNCTION_COMMANDS = {"tanh": 3.0, "sin": 2.5, "cos": 2.5, "log": 2.5, "exp": 2.5,
                      "max": 2.5, "min": 2.5, "sup": 2.5, "diag": 3.0, "prod": 1.5, "sum": 1.5,
                      "cdots": 2.0, "ldots": 2.0}
_TOKEN = re.compile(r"\\[A-Za-z]+|\\.|[_^]|[{}]|\s+|.")


def visible_width(latex: str) -> float:
    """Approximate printed width of ``latex`` in glyph units (letters and digits 1, binary
    operators 2.6 and relations 3.2 with their spacing, sub/superscripts 0.85, ``\\frac`` the
    wider of its parts, grouping and sizing commands 0); the weights were fitted to the widths
    pdflatex measures for the report's rows (one unit is about 4.6 pt at 10 pt)."""
    return _width(_TOKEN.findall(latex), 0, 1.0)[0]


def _group(tokens: list[str], i: int, scale: float) -> tuple[float, int]:
    """Width of the group or single token at ``i``; returns (width, next index)."""
    while i < len(tokens) and tokens[i].isspace():
        i += 1
    if i >= len(tokens):
        return 0.0, i
    if tokens[i] == "{":
        depth, j = 1, i + 1
        while j < len(tokens) and depth:
            depth += {"{": 1, "}": -1}.get(tokens[j], 0)
            j += 1
        return _width(tokens[i + 1:j - 1], 0, scale)[0], j
    return _width(tokens[i:i + 1], 0, scale)[0], i + 1


def _width(tokens: list[str], i: int, scale: float) -> tuple[float, int]:
    total = 0.0
    while i < len(tokens):
        t = tokens[i]
        if t in ("_", "^"):
            w, i = _group(tokens, i + 1, 0.85 * scale)
            total += w
            continue
        if t == r"\frac":
            num, i = _group(tokens, i + 1, scale * 0.85)
            den, i = _group(tokens, i, scale * 0.85)
            total += max(num, den) + 0.4 * scale
            continue
        if t in (r"\begin", r"\end"):
            _, i = _group(tokens, i + 1, scale)
            continue
        i += 1
        if t.isspace() or t in "{}&":
            continue
        if t.startswith("\\") and len(t) > 2:
            name = t[1:]
            if name in _SYMBOL_COMMANDS:
                continue
            total += _FUNCTION_COMMANDS.get(name, 1.0) * scale
        elif t in ("\\,", "\\;", "\\!", "\\ "):
            total += 0.3 * scale
        elif t in "+-":
            total += 2.6 * scale
        elif t in "=<>" or t == "\\|":
            total += 3.2 * scale
        elif t in "()[]":
            total += 1.1 * scale
        else:
            total += scale
    return total, i


@dataclass(frozen=True)
class Row:
    r"""One display row: ``lhs rel rhs``; a continuation row has empty ``lhs`` and ``rel``
    (its ``rhs`` starts with ``+``, ``-`` or ``\cdot``)."""

    lhs: str
    rel: str
    rhs: str

    @property
    def continuation(self) -> bool:
        return not self.lhs and not self.rel


@dataclass(frozen=True)
class StepLayout:
    """The rows of one step, and the named subexpressions it introduces (``where``)."""

    rows: tuple[Row, ...]
    where: tuple[Row, ...] = ()

    def to_json(self) -> dict:
        return {"rows": [[r.lhs, r.rel, r.rhs] for r in self.rows],
                "where": [[r.lhs, r.rel, r.rhs] for r in self.where]}


def left_aligned(rows) -> bool:
    """True when a left side is too long to share its row's alignment column: the rows are
    then aligned at their left edge (left side alone, the right side indented below)."""
    return any(_head(lhs) > ROW_WIDTH / 2 for lhs, _, _ in rows)


def _head(lhs: str) -> float:
    """Width of a row's left side and its relation."""
    return visible_width(lhs) + 3.2 if lhs else 0.0


def aligned_lines(rows) -> list[str]:
    r"""The rows (``Row`` or ``[lhs, rel, rhs]``) as lines of an ``align``/``aligned`` body,
    without the ``\\`` separators: ``lhs &rel rhs`` and ``&\quad rhs`` for continuations;
    with a long left side (:func:`left_aligned`) ``&lhs rel`` and ``&\qquad rhs``."""
    rows = [tuple(r) if not isinstance(r, Row) else (r.lhs, r.rel, r.rhs) for r in rows]
    left = left_aligned(rows)
    out = []
    for lhs, rel, rhs in rows:
        if not lhs and not rel:
            out.append(rf"&\{'qquad' if left else 'quad'} {rhs}")
        elif left:
            out.append(f"&{lhs} {rel} {rhs}".rstrip())
        else:
            out.append(f"{lhs} &{rel} {rhs}".rstrip())
    return out


@dataclass(frozen=True)
class DerivationLayout:
    """The layout of every step of a derivation, in order, and the names it introduced."""

    steps: tuple[StepLayout, ...]
    names: tuple[tuple[str, str], ...]  # (name LaTeX, srepr of the expression it stands for)


class _Namer:
    """Named subexpressions of one derivation: expression -> ``\\zeta_{j}`` symbol."""

    def __init__(self):
        self.by_expr: dict = {}   # the expression in full (no names inside) -> its name
        self.by_name: dict = {}   # name -> the expression in full

    def expand(self, expr):
        """``expr`` with every name replaced by what it stands for, recursively."""
        while isinstance(expr, (sp.Basic, sp.MatrixBase)) and \
                expr.free_symbols & set(self.by_name):
            expr = expr.xreplace(self.by_name)
        return expr

    def name(self, expr) -> sp.Symbol:
        full = self.expand(expr)
        sym = self.by_expr.get(full)
        if sym is None:
            sym = sp.Symbol(f"{NAME_SYMBOL}_{{{len(self.by_name) + 1}}}")
            self.by_expr[full] = sym
            self.by_name[sym] = full
        return sym


class _Layouter:
    def __init__(self, width: float):
        from gradproof.derivations.records import _SharedLatexPrinter

        self.width = width
        self.printer = _SharedLatexPrinter()
        self.namer = _Namer()
        self.pending: list = []  # names shown in the current step, not yet defined
        self.defined: set = set()

    # ------------------------------------------------------------------ helpers
    def tex(self, expr) -> str:
        return self.printer.doprint(expr)

    def substitute(self, expr):
        """Every already named subexpression replaced by its name (``xreplace`` is top-down,
        so the largest named subexpression is replaced whole)."""
        if not self.namer.by_expr or not isinstance(expr, (sp.Basic, sp.MatrixBase)):
            return expr
        return expr.xreplace(self.namer.by_expr)

    def use(self, sym) -> None:
        if sym not in self.defined and sym not in self.pending:
            self.pending.append(sym)

    def collect_used(self, expr) -> None:
        if isinstance(expr, (sp.Basic, sp.MatrixBase)):
            for sym in sorted(expr.free_symbols & set(self.namer.by_name), key=lambda s: s.name):
                self.use(sym)

    def name_long_arguments(self, expr, threshold: float):
        """Name every sum that is a function's argument or a power's base and wider than
        ``threshold``, innermost first; returns the expression with the names in."""
        if not isinstance(expr, sp.Basic) or expr.is_Atom:
            return expr
        args = [self.name_long_arguments(a, threshold) for a in expr.args]
        new = expr.func(*args) if args != list(expr.args) else expr
        if isinstance(new, (sp.Function, sp.Pow)):
            inner = new.args[0]
            if isinstance(inner, sp.Add) and visible_width(self.tex(inner)) > threshold:
                sym = self.namer.name(inner)
                self.use(sym)
                new = new.xreplace({inner: sym})
        return new

    # ------------------------------------------------------------------ breaking
    def pieces(self, expr, width: float) -> list[str]:
        """``expr`` in rows of at most ``width`` units: the first row, then continuation rows
        (each beginning with its operator)."""
        latex = self.tex(expr)
        if visible_width(latex) <= width:
            return [latex]
        # long function arguments named first, so that what is split is short pieces
        named = self.name_long_arguments(expr, threshold=min(12.0, width / 2))
        if named != expr:
            return self.pieces(named, width)
        if isinstance(expr, sp.Add):
            return self.pack(self.add_items(expr), width)
        if isinstance(expr, sp.Mul):
            sign, items = self.mul_items(expr)
            if len(items) > 1:
                rows = self.pack(items, width - 1.6 * bool(sign))
                return [f"{sign} {rows[0]}".strip()] + rows[1:]
        return [latex]

    def add_items(self, expr: sp.Add) -> list[tuple[str, str, object]]:
        """(operator at a row start, operator inside a row, term) for each term of a sum."""
        out = []
        for k, term in enumerate(self.printer._as_ordered_terms(expr, order=None)):
            coeff, _ = term.as_coeff_Mul()
            if coeff.is_number and coeff.is_negative:
                out.append(("-", "-", -term))
            else:
                out.append(("+" if k else "", "+" if k else "", term))
        return out

    def mul_items(self, expr: sp.Mul) -> tuple[str, list[tuple[str, str, object]]]:
        """The sign and (operator at a row start, operator inside a row, factor) per factor:
        a continued product starts its row with ``\\cdot``; within a row factors are
        juxtaposed, as SymPy prints them."""
        coeff, _ = expr.as_coeff_Mul()
        sign = ""
        if coeff.is_negative:
            sign, expr = "-", -expr
        factors = expr.as_ordered_factors() if isinstance(expr, sp.Mul) else [expr]
        return sign, [(r"\cdot" if k else "", "", f) for k, f in enumerate(factors)]

    def piece_tex(self, piece, factor: bool) -> str:
        if factor:
            from sympy.printing.precedence import PRECEDENCE

            return self.printer.parenthesize(piece, PRECEDENCE["Mul"], strict=False)
        return self.tex(piece)

    def pack(self, items, width: float) -> list[str]:
        """Greedy rows of items; an item too wide for a row alone is broken inside (a sum
        that is a product's factor cannot be: it is named)."""
        rows: list[str] = []
        current = ""
        for start_op, mid_op, piece in items:
            factor = start_op == r"\cdot" or (not start_op and not mid_op and isinstance(piece, sp.Add))
            if factor and isinstance(piece, sp.Add) and \
                    visible_width(self.tex(piece)) > width - _INDENT - 2.0:
                # a sum inside a product, too wide for a row: named (a \left( \right) pair
                # cannot span rows)
                piece = self.namer.name(piece)
                self.use(piece)
            body = self.piece_tex(piece, factor)
            avail = width if not rows else width - _INDENT
            if current:
                candidate = f"{current} {mid_op} {body}".replace("  ", " ")
                if visible_width(candidate) <= avail:
                    current = candidate
                    continue
                rows.append(current)
                avail = width - _INDENT
            text = f"{start_op} {body}".strip() if rows else f"{mid_op} {body}".strip()
            if visible_width(text) <= avail:
                current = text
                continue
            op = start_op if rows else mid_op
            if factor and isinstance(piece, sp.Add):
                # a sum inside a product never goes to pieces() bare: it would lose its
                # parentheses; too wide for this row with them, it is named
                piece = self.namer.name(piece)
                self.use(piece)
                sub = [self.tex(piece)]
            else:
                sub = self.pieces(piece, avail - 1.6 * bool(op))
            sub = [f"{op} {sub[0]}".strip()] + sub[1:]
            rows += sub[:-1]
            current = sub[-1]
        if current:
            rows.append(current)
        return rows

    # ------------------------------------------------------------------ steps
    def rows_for(self, lhs: str, rel: str, expr, override: str | None) -> list[Row]:
        if override is not None:
            # a compact form typed by the derivation: split only at its ",\quad" joints
            parts = override.split(r",\quad")
            if _head(lhs) + visible_width(override) <= self.width or len(parts) == 1:
                return [Row(lhs, rel, override)]
            return ([Row(lhs, rel, parts[0].strip() + ",")]
                    + [Row("", "", p.strip() + ("," if k < len(parts) - 2 else ""))
                       for k, p in enumerate(parts[1:])])
        head = _head(lhs)
        if isinstance(expr, sp.MatrixBase):
            if expr.shape == (1, 1):
                return self.rows_for(lhs, rel, expr[0, 0], None)
            whole = self.tex(expr)
            if visible_width(whole) <= self.width - head:
                return [Row(lhs, rel, whole)]
            rows = []
            for i in range(expr.rows):
                for j in range(expr.cols):
                    index = f"{i + 1}{j + 1}" if expr.cols > 1 else f"{i + 1}"
                    entry = (rf"\left[{lhs}\right]_{{{index}}}" if lhs
                             else rf"[\,\cdot\,]_{{{index}}}")
                    if visible_width(entry) > self.width / 2:
                        entry = rf"[\,\cdot\,]_{{{index}}}"
                    rows += self.rows_for(entry, rel, expr[i, j], None)
            return rows
        if not isinstance(expr, sp.Basic):
            return [Row(lhs, rel, str(expr))]
        if head > self.width / 2:
            # a long left side: alone on its row, the right side below it
            pieces = self.pieces(expr, self.width - 2 * _INDENT)
            return [Row(lhs, rel, "")] + [Row("", "", p) for p in pieces]
        pieces = self.pieces(expr, self.width - head)
        return [Row(lhs, rel, pieces[0])] + [Row("", "", p) for p in pieces[1:]]

    def step(self, step) -> StepLayout:
        self.pending = []
        override = step.latex_override
        expr = step.expr
        if override is None:
            expr = self.substitute(expr)
            self.collect_used(expr)
        rel = step.relation if step.lhs_latex else ""
        rows = self.rows_for(step.lhs_latex, rel, expr, override)
        where: list[Row] = []
        while self.pending:
            sym = self.pending.pop(0)
            if sym in self.defined:
                continue
            self.defined.add(sym)
            # the definition in terms of the other names
            others = {e: s for e, s in self.namer.by_expr.items() if s != sym}
            body = self.namer.by_name[sym].xreplace(others)
            self.collect_used(body)
            where += self.rows_for(self.tex(sym), "=", body, None)
        return StepLayout(tuple(rows), tuple(where))


def layout_derivation(derivation, width: float = ROW_WIDTH) -> DerivationLayout:
    """Rows for every step of ``derivation`` (a ``records.Derivation``), names shared across
    its steps (see the module docstring)."""
    lay = _Layouter(width)
    steps = tuple(lay.step(r) for r in derivation.records)
    from gradproof.derivations.records import step_srepr

    names = tuple((lay.tex(sym), step_srepr(expr)) for sym, expr in lay.namer.by_name.items())
    return DerivationLayout(steps, names)
