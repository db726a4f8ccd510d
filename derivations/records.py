"""Derivation records: each step of a derivation is (name, expression, LaTeX, justification,
check), so that reports and the CLI print a derivation term by term with its verdict.

JSON shape (stable, documented in README): ``derivation_to_json`` returns
{"model", "activation", "hidden", "steps", "gamma", "variant", "derivation": [{"name",
"latex", "srepr", "verdict", "expected", "method", "justification"}]}; ``gamma`` is a string
such as "1/4" (or null for models without a single gamma). ``expected`` is the verdict the
step should receive: "refuted" for the steps that restate a published error
(``EXPECTED_REFUTED``), "verified" for every other checked step, null for definitions.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import sympy as sp
from sympy.printing.latex import LatexPrinter
from sympy.printing.repr import ReprPrinter
from sympy.printing.str import StrPrinter

from gradproof.derivations.checker import CheckResult

__all__ = ["DerivationStep", "Derivation", "EXPECTED_REFUTED", "expected_verdict", "derivation_to_json", "derivation_to_json_text",
           "derivation_to_text", "derivation_to_latex", "step_srepr"]


#: steps that restate an error of the article (or of a truncation) and are therefore expected
#: to be refuted, with the smallest number of steps k from which they are wrong; keyed by
#: (model, variant). Every other checked step is expected to be verified.
EXPECTED_REFUTED: dict[tuple[str, str | None], dict[str, int]] = {
    ("rnn", None): {"article_long_path_is_gradient": 2},
    ("lstm", "article"): {"article_A_t_as_written": 1, "article_D_t": 1, "article_K_t": 1,
                          "article_product": 2},
    ("lstm", "corrected"): {"product_of_terms": 3},
    ("lstm", "full-state"): {"product_of_terms": 3},
    ("lstm", "no-forget"): {"cec_without_truncation": 2},
}


def expected_verdict(model: str, variant: str | None, steps: int, name: str) -> str:
    """"refuted" for a registered finding at this k, else "verified"."""
    min_k = EXPECTED_REFUTED.get((model, variant), {}).get(name)
    return "refuted" if min_k is not None and steps >= min_k else "verified"


@dataclass(frozen=True)
class DerivationStep:
    """One step: ``lhs_latex <relation> expr`` with a one-line ``justification``.

    ``relation`` is the LaTeX relation between the two sides ("=" by default, "\\le" for a
    bound); with an empty ``lhs_latex`` only the right side is printed.

    ``check`` is the independent checker's verdict for this step (None for definitions,
    which state the model and are not claims). ``latex`` defaults to ``sympy.latex(expr)``
    (printed memoised, byte-identical).
    """

    name: str
    expr: object
    justification: str
    lhs_latex: str = ""
    check: CheckResult | None = None
    latex_override: str | None = None
    relation: str = "="

    @property
    def rhs_latex(self) -> str:
        return self.latex_override if self.latex_override is not None else _SharedLatexPrinter().doprint(self.expr)

    @property
    def latex(self) -> str:
        rhs = self.rhs_latex
        return f"{self.lhs_latex} {self.relation} {rhs}" if self.lhs_latex else rhs

    @property
    def verdict(self) -> str:
        return self.check.verdict.value if self.check else "definition"

    @property
    def method(self) -> str:
        return self.check.method if self.check else "definition (model statement)"


@dataclass(frozen=True)
class Derivation:
    """A derivation: model, activation, hidden size n, steps k and the ordered steps."""

    model: str
    activation: str | None
    hidden: int
    steps: int
    gamma: sp.Expr | None
    records: tuple[DerivationStep, ...]
    variant: str | None = None
    notes: tuple[str, ...] = field(default_factory=tuple)

    def expected(self, r: DerivationStep) -> str | None:
        """The verdict step ``r`` should get (None for definitions)."""
        return None if r.check is None else expected_verdict(self.model, self.variant, self.steps, r.name)

    def step(self, name: str) -> DerivationStep:
        for r in self.records:
            if r.name == name:
                return r
        raise KeyError(name)

    def to_dict(self) -> dict:
        """The ``gradproof derive --format json`` object (see the README)."""
        return derivation_to_json(self)

    @property
    def all_checks_as_expected(self) -> bool:
        """True when no checked step is undecided (refuted steps are article findings)."""
        return all(r.check is None or r.check.verdict.value != "undecided" for r in self.records)


class _Shared:
    """Printer mixin: each distinct subexpression printed once (memoised). Output identical to
    the base printer; unrolled networks repeat c_{t-1} inside every later step, and printing
    that tree node by node dominated ``derive`` (minutes for n = 3, k = 4)."""

    def __init__(self, settings=None):
        super().__init__(settings)
        self._memo: dict = {}

    def _print(self, expr, **kwargs):
        if kwargs or not isinstance(expr, sp.Basic):
            return super()._print(expr, **kwargs)
        out = self._memo.get(expr)
        if out is None:
            out = self._memo[expr] = super()._print(expr)
        return out


class _SharedReprPrinter(_Shared, ReprPrinter):
    """``sympy.srepr``, memoised."""


class _SharedStrPrinter(_Shared, StrPrinter):
    """``sympy.sstr``, memoised."""


class _SharedLatexPrinter(_Shared, LatexPrinter):
    """``sympy.latex``, memoised (it was the slowest part of ``derive`` for the larger sizes)."""


def step_srepr(expr) -> str:
    """``sympy.srepr`` of a step's expression (scalars and matrices alike: evaluable with
    ``from sympy import *`` and ``derivations.activations.sigmoid`` in scope); plain Python
    values (numbers, tuples) fall back to ``repr``."""
    if isinstance(expr, (sp.Basic, sp.MatrixBase)):
        return _SharedReprPrinter().doprint(expr)
    return repr(expr)


def derivation_to_json(d: Derivation) -> dict:
    from gradproof.derivations.layout import layout_derivation

    layout = layout_derivation(d)
    return {
        "model": d.model,
        "variant": d.variant,
        "activation": d.activation,
        "hidden": d.hidden,
        "steps": d.steps,
        "gamma": None if d.gamma is None else str(d.gamma),
        "derivation": [
            {
                "name": r.name,
                "latex": r.latex,
                "srepr": step_srepr(r.expr),
                "verdict": r.verdict,
                "expected": d.expected(r),
                "method": r.method,
                "justification": r.justification,
                "display": step_layout.to_json(),
            }
            for r, step_layout in zip(d.records, layout.steps)
        ],
        "names": [[name, srepr] for name, srepr in layout.names],
    }


def derivation_to_json_text(d: Derivation) -> str:
    return json.dumps(derivation_to_json(d), indent=2, sort_keys=True)


def derivation_to_text(d: Derivation) -> str:
    head = f"{d.model}" + (f" ({d.variant})" if d.variant else "")
    head += f", activation={d.activation}, hidden n={d.hidden}, steps k={d.steps}"
    if d.gamma is not None:
        head += f", gamma={d.gamma}"
    lines = [head, "=" * len(head)]
    for i, r in enumerate(d.records, 1):
        exp = d.expected(r)
        note = (" (expected)" if exp == "refuted" == r.verdict else
                f" (expected {exp})" if exp and exp != r.verdict else "")
        lines.append(f"[{i}] {r.name}  [{r.verdict}]{note}")
        lines.append(f"    {r.justification}")
        expr = r.expr
        text = _SharedStrPrinter().doprint(expr) if isinstance(expr, (sp.Basic, sp.MatrixBase)) else str(expr)
        if len(text) > 600:
            text = text[:600] + f" ... ({len(text)} characters)"
        lines.append(f"    = {text}")
        lines.append(f"    check: {r.method}")
    for n in d.notes:
        lines.append(f"note: {n}")
    return "\n".join(lines)


def _latex_text(text: str) -> str:
    """Plain text for LaTeX: the specials escaped (step names contain underscores)."""
    specials = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "#": r"\#", "_": r"\_",
                "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}",
                "$": r"\$"}
    return "".join(specials.get(c, c) for c in text)


def _align(lines: list[str], label: str | None, star: bool = False) -> list[str]:
    """An ``align`` (one number, on its last row, with ``label``) or ``align*``."""
    env = "align*" if star else "align"
    out = [rf"\begin{{{env}}}"]
    for k, line in enumerate(lines):
        last = k == len(lines) - 1
        tail = "" if star else (rf" \label{{{label}}}" if last else r" \notag")
        out.append(f"  {line}{tail}" + ("" if last else r" \\"))
    out.append(rf"\end{{{env}}}")
    return out


def derivation_to_latex(d: Derivation, label_prefix: str | None = None) -> str:
    r"""The derivation as LaTeX that needs only ``amsmath`` (and ``\allowdisplaybreaks`` in the
    preamble to let long steps break across pages; ``gradproof.sty`` sets both).

    Each step is a line ``Step i, name: verdict`` and its own ``align`` with one equation
    number (on its last row, ``\label{<prefix>-<name>}``); long steps are broken into rows
    (``derivations.layout``: sums and products split, matrices entry by entry, long
    subexpressions named ``\zeta_j`` in a ``where`` list). The model definitions that open a
    derivation are typeset once per document: they are guarded by a key made of the model and a
    hash of their LaTeX, so a paper that inputs three LSTM derivations numbers the shared LSTM
    equations once (labels ``eq:<key>-<name>``) and the later derivations refer to them.
    """
    import hashlib

    from gradproof.derivations.layout import aligned_lines, layout_derivation

    prefix = label_prefix or f"eq:{d.model}" + (f"-{d.variant}" if d.variant else "")
    layout = layout_derivation(d)
    steps = list(zip(d.records, layout.steps))
    n_defs = 0
    while n_defs < len(steps) and steps[n_defs][0].check is None:
        n_defs += 1
    def_text = "\n".join(r.latex for r, _ in steps[:n_defs])
    key = f"{d.model.lower()}-{hashlib.sha256(def_text.encode()).hexdigest()[:8]}"

    def step_lines(i: int, r: DerivationStep, lay, label: str) -> list[str]:
        out = [rf"\par\noindent Step~{i}, \texttt{{{_latex_text(r.name)}}}: "
               rf"\emph{{{_latex_text(r.verdict)}}}."]
        out += _align(aligned_lines(lay.rows), label)
        if lay.where:
            out += [r"\noindent where"] + _align(aligned_lines(lay.where), None, star=True)
        return out

    out = [f"% {d.model}" + (f" ({d.variant})" if d.variant else "")
           + f" derivation, n = {d.hidden}, k = {d.steps}: needs amsmath (\\usepackage{{gradproof}}"
           " loads it and \\allowdisplaybreaks)"]
    if n_defs:
        first = f"eq:{key}-{steps[0][0].name}"
        last = f"eq:{key}-{steps[n_defs - 1][0].name}"
        out += [rf"\ifcsname gpdefinitions@{key}\endcsname",
                rf"\par\noindent Model equations \eqref{{{first}}}--\eqref{{{last}}} above.",
                r"\else",
                rf"\expandafter\gdef\csname gpdefinitions@{key}\endcsname{{}}%"]
        for i, (r, lay) in enumerate(steps[:n_defs], 1):
            out += step_lines(i, r, lay, f"eq:{key}-{r.name}")
        out.append(r"\fi")
    for i, (r, lay) in enumerate(steps[n_defs:], n_defs + 1):
        out += step_lines(i, r, lay, f"{prefix}-{r.name}")
    return "\n".join(out)
