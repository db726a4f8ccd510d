"""HTML layout of report.html: the stylesheet, display equations in rows, the table of contents.

Display equations are the derivation steps' rows (``derivations.layout``), one MathML ``<math>``
per row in a two-column table (left side | relation and right side), so that the rows of a step
line up as in LaTeX's ``align`` and no row is wider than the column: the layout keeps every
row within ``layout.ROW_WIDTH`` glyph units (about 34 em at the body size, less than the 60 rem
column). Equation boxes have no scrollers (a scroller hides part of an equation): the browser
test (``tests/reports/test_html_layout_browser.py``) fails if any equation, table or figure is wider than the
column. Narrow screens (media queries below 46 rem): the side-by-side tables stack, paddings
shrink and display math is set smaller in steps (0.82, 0.74, 0.62, 0.54 em), so that the rows
laid out for 34 em still fit a phone's column; the browser test checks 1000, 700, 500, 375 and
320 px windows (the last two in an iframe, as headless Chromium's window is at least 500 px).
"""

from __future__ import annotations

import html
import re

__all__ = ["CSS", "equation_html", "toc_html", "math_pieces", "breakable_math"]

CSS = """
body{font-family:Georgia,serif;max-width:60rem;margin:2rem auto;padding:0 1rem;line-height:1.45;color:#222}
h1,h2,h3,h4{font-family:Helvetica,Arial,sans-serif}
h4{font-size:1.05em;margin:1.4em 0 0.4em 0}
code,pre{font-family:Menlo,Consolas,monospace;font-size:0.9em;overflow-wrap:anywhere}
pre{background:#f6f6f6;padding:0.5em;overflow-x:auto;white-space:pre-wrap}
.step{margin:0.8em 0 1.2em 0}
.verdict{font-family:Helvetica,Arial,sans-serif;font-size:0.85em;padding:0 0.4em;border-radius:0.3em}
.verified{background:#d8f0d8}.refuted{background:#f6d0d0}.undecided{background:#f3ecc8}.conditional{background:#dde8f6}.sampled{background:#f3e0c8}.definition{background:#e4e4ee}
.method{color:#555;font-size:0.85em}
.eq{max-width:100%;margin:0.3em 0 0.3em 1.5em}
table.rows{border-collapse:collapse;margin:0;width:auto}
table.rows td{border:none;padding:0.12em 0.1em;vertical-align:baseline}
table.rows td.l{text-align:right;white-space:nowrap}
table.rows td.r{text-align:left}
table.rows td.c{padding-left:1.5em}
.where{font-style:italic;margin:0.2em 0 0 1.5em}
table{border-collapse:collapse;margin:0.6em 0;max-width:100%}
td,th{border:1px solid #ccc;padding:0.25em 0.5em;vertical-align:top;overflow-wrap:anywhere}
table.wide{width:100%}
figure{margin:1.5em 0}figure img{width:100%;height:auto}figcaption{font-size:0.92em}
figure.column img{width:100%;max-width:32rem;display:block;margin:0 auto}
.provenance{display:block;color:#555;font-size:0.85em;margin-top:0.3em}
table.side{table-layout:fixed;width:100%}table.side>tbody>tr>td,table.side>tbody>tr>th{width:50%}
table.side .eq{margin-left:0.2em}table.side .where{margin-left:0.2em}table.side math{font-size:0.9em}
.cell{max-width:100%}
nav.toc{border:1px solid #ddd;padding:0.3em 1em;margin:1em 0;font-family:Helvetica,Arial,sans-serif;font-size:0.92em}
nav.toc ol{margin:0.2em 0;padding-left:1.4em}
a.anchor{color:#999;text-decoration:none;margin-left:0.3em;font-size:0.8em}
@media (max-width:46rem){body{padding:0 0.5rem}.eq,.where{margin-left:0.4em}table.rows td.c{padding-left:0.6em}td,th{padding:0.2em 0.3em}math{font-size:0.82em}table.side,table.side>tbody,table.side>tbody>tr,table.side>tbody>tr>td,table.side>tbody>tr>th{display:block;width:100%;box-sizing:border-box}}
@media (max-width:34rem){math{font-size:0.74em}}
@media (max-width:27rem){math{font-size:0.62em}.eq,.where{margin-left:0}ul,ol{padding-left:1.1em}}
@media (max-width:22rem){math{font-size:0.54em}}
""".strip()


def _math(latex: str, to_mathml) -> str:
    mml = to_mathml("\\displaystyle " + latex) if latex else ""
    if mml is None:
        return f"<code>{html.escape(latex)}</code>"
    return mml


def equation_html(rows: list, to_mathml) -> str:
    """Rows ``[lhs, rel, rhs]`` as a table of MathML rows (``to_mathml(latex)`` converts one
    row's LaTeX, or returns None; then the LaTeX is shown as code)."""
    from gradproof.derivations.layout import left_aligned

    left = left_aligned(rows)
    out = ['<div class="eq"><table class="rows">']
    for lhs, rel, rhs in rows:
        if not lhs and not rel:
            right = _math(rhs, to_mathml)
            out.append(f'<tr><td class="l"></td><td class="r c">{right}</td></tr>'
                       if not left else f'<tr><td class="r c" colspan="2">{right}</td></tr>')
        elif left:
            out.append(f'<tr><td class="r" colspan="2">'
                       f'{_math(" ".join(p for p in (lhs, rel, rhs) if p), to_mathml)}</td></tr>')
        else:
            out.append(f'<tr><td class="l">{_math(lhs, to_mathml)}</td>'
                       f'<td class="r">{_math(" ".join(p for p in (rel, rhs) if p), to_mathml)}'
                       f'</td></tr>')
    out.append("</table></div>")
    return "".join(out)


def toc_html(entries: list[tuple[str, str, str, list[tuple[str, str]]]]) -> str:
    """``entries``: (number, anchor, heading, [(anchor, title)] sub-entries)."""
    out = ['<nav class="toc" id="contents"><strong>Contents</strong><ol>']
    for num, anchor, heading, subs in entries:
        out.append(f'<li value="{html.escape(num)}"><a href="#{html.escape(anchor)}">'
                   f'{html.escape(heading)}</a>')
        if subs:
            out.append("<ol>" + "".join(f'<li><a href="#{html.escape(a)}">{html.escape(t)}</a></li>'
                                        for a, t in subs) + "</ol>")
        out.append("</li>")
    out.append("</ol></nav>")
    return "".join(out)


_BREAK_BEFORE = re.compile(r"\s*(?:(?<![{(^_])\+|(?<![{(^_\\])<|(?<![{(^_])=|\\Rightarrow\b|\\le\b|\\ge\b|\\to\b|"
                           r"\\overset\{\?\}\{=\})")


def math_pieces(latex: str) -> list[str]:
    r"""``latex`` cut where a line may break: before a top-level ``+``, ``=``, ``\Rightarrow``,
    ``\le``, ``\to`` or ``\overset{?}{=}``, and after a top-level ``,\ `` (outside every brace
    group and ``\left ... \right`` pair), so that a long inline formula wraps as text does."""
    cuts, depth, i = [0], 0, 0
    while i < len(latex):
        c = latex[i]
        if latex.startswith(r"\left", i) and not latex[i + 5:i + 6].isalpha():
            depth += 1
            i += 5
            continue
        if latex.startswith(r"\right", i) and not latex[i + 6:i + 7].isalpha():
            depth -= 1
            i += 6
            continue
        if c == "\\" and i + 1 < len(latex) and latex[i + 1] in "{}":
            i += 2
            continue
        if c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
        elif depth == 0:
            if latex.startswith(r",\ ", i):
                cuts.append(i + 1)  # the next piece starts with "\ ", dropped below
                i += 3
                continue
            m = _BREAK_BEFORE.match(latex, i)
            if m and i > 0 and m.end() > i and not latex[i].isspace() or (
                    m and i > 0 and latex[i].isspace() and m.group(0).strip()):
                if i != cuts[-1]:
                    cuts.append(i)
                i = m.end()
                continue
        i += 1
    cuts.append(len(latex))
    pieces = [latex[a:b].strip().removeprefix("\\ ").strip() for a, b in zip(cuts, cuts[1:])]
    return [p for p in pieces if p]


def breakable_math(latex: str, to_mathml) -> str | None:
    """Inline MathML for ``latex`` in pieces (:func:`math_pieces`) separated by spaces, so the
    browser may wrap between them; None when a piece cannot be converted."""
    out = []
    for piece in math_pieces(latex):
        mml = to_mathml(piece)
        if mml is None:
            return None
        out.append(mml)
    return f'<span class="mathrun">{" ".join(out)}</span>'
