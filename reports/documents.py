"""The report documents, assembled from what the items wrote and from the manifest.

* ``report.md``  -- GitHub Markdown with ``$...$``/``$$...$$`` math: the RNN, LSTM and GRU
  derivations step by step (the article's LSTM version beside the corrected one), each step
  with its verdict, the figures with captions (one drawing per figure, the page one; the
  provenance line links the column version), the claims audit and the quoted numbers;
* ``report.html`` -- the same, self-contained: equations as MathML (latex2mathml), no script,
  no stylesheet or font from the network; figures are relative links to ``figures/*.svg``;
* ``tex/gradproof.sty`` (what the fragments need, and the path rule: ``reports.latex``),
  ``tex/figure-<id>.tex`` (one float per figure, to ``\\input`` alone; a figure drawn for
  the page width also has its one-column version, panels stacked, in
  ``tex/figure-<id>-column.tex``), ``tex/figures.tex`` (all of them, one drawing each),
  ``tex/numbers.tex`` (one macro per quoted number, math-mode values) and
  ``tex/gradproof.bib`` (the toolkit and each figure, ``reports.citation``). The derivations'
  ``align`` environments are written by the derivation items themselves
  (``tex/derivation-*.tex``).

Every derivation step is shown in full: its display rows (``derivations.layout``, stored as
``display`` in each step's JSON record) break long expressions so that each row fits a column;
nothing is elided. Markdown math is written in the forms GitHub renders and CommonMark leaves
alone: display math in ```math fences, inline math as $`...`$.

All math comes from the derivation records' LaTeX (``DerivationStep.latex``); no equation is
typed here. Captions may contain ``$...$`` math, which each format renders in its own way.
"""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

__all__ = ["assemble_documents", "markdown_report", "html_report", "figures_tex", "numbers_tex",
           "latex_to_mathml", "split_math", "escape_latex_text", "step_rows", "step_anchor",
           "md_math_block", "TABLE_CELL_WIDTH"]

#: Markdown: steps of one row at most this wide (glyph units, ``layout.visible_width``) are
#: shown in the side-by-side table, others linked to their full display below (a Markdown
#: table cell holds one line); the HTML table shows every step in full.
TABLE_CELL_WIDTH = 36.0

_MATH = re.compile(r"(\$[^$]+\$)")


def split_math(text: str) -> list[tuple[bool, str]]:
    """Split ``text`` into (is_math, piece) at ``$...$`` delimiters."""
    out = []
    for piece in _MATH.split(text):
        if not piece:
            continue
        if piece.startswith("$") and piece.endswith("$") and len(piece) > 1:
            out.append((True, piece[1:-1]))
        else:
            out.append((False, piece))
    return out


_LATEX_SPECIALS = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "#": r"\#", "_": r"\_",
                   "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}"}


def escape_latex_text(text: str) -> str:
    """Escape LaTeX specials outside ``$...$``; math pieces are kept as they are."""
    parts = []
    for is_math, piece in split_math(text):
        if is_math:
            parts.append(f"${piece}$")
        else:
            parts.append("".join(_LATEX_SPECIALS.get(c, c) for c in piece))
    return "".join(parts)


def latex_to_mathml(latex: str, display: bool = False) -> str | None:
    """MathML for ``latex`` (latex2mathml), or None when the converter cannot parse it."""
    from latex2mathml.converter import convert

    try:
        return convert(latex, display="block" if display else "inline")
    except Exception:  # latex2mathml raises assorted exceptions on unsupported commands
        return None


def _md_inline(text: str, table: bool = False) -> str:
    """Caption/justification text for Markdown: ``$x$`` becomes GitHub's $`x`$ (a code span
    that CommonMark passes through untouched); in a table cell pipes are made safe."""
    parts = []
    for is_math, piece in split_math(text):
        if is_math:
            parts.append(_md_table_math(piece) if table else f"$`{piece}`$")
        else:
            parts.append(piece.replace("|", r"\|") if table else piece)
    return "".join(parts)


def _md_table_math(latex: str) -> str:
    return "$`" + latex.replace(r"\|", r"\Vert ").replace("|", r"\vert ") + "`$"


def step_rows(step: dict) -> tuple[list, list]:
    """(rows, where rows) of a step record: its ``display`` layout, or one row of its LaTeX
    for records written before layouts existed."""
    display = step.get("display")
    if not display:
        return [["", "", step["latex"]]], []
    return display["rows"], display.get("where", [])


def _rows_latex(rows: list) -> str:
    """Rows as one LaTeX display: a single row plainly, several as ``aligned``."""
    from gradproof.derivations.layout import aligned_lines

    if len(rows) == 1:
        lhs, rel, rhs = rows[0]
        return " ".join(p for p in (lhs, rel, rhs) if p)
    return "\\begin{aligned}\n" + " \\\\\n".join(aligned_lines(rows)) + "\n\\end{aligned}"


def md_math_block(latex: str) -> list[str]:
    """A display equation for GitHub Markdown: a ```math fence (CommonMark keeps its content
    verbatim: no escapes, emphasis or line breaks are applied inside a fence)."""
    return ["```math", latex, "```"]


def step_anchor(item_id: str, name: str) -> str:
    """The HTML id / Markdown anchor of a derivation step."""
    return f"{item_id}-" + re.sub(r"[^A-Za-z0-9_-]", "-", name)


# ----------------------------------------------------------------------------- loading

def _read_inside(root: Path, rel: str) -> str:
    """The text of ``root/rel``: only a regular file inside ``root`` reached without a symbolic
    link (an item ID from an old manifest never pulls a file from elsewhere into a report)."""
    from gradproof.numerics.errors import InputError
    from gradproof.reports.outdir import inside

    path = inside(root, rel)
    if path.is_symlink() or not path.is_file():
        raise InputError(f"{rel} is missing from the output folder (rebuild its item)")
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read {rel} in the output folder: {exc}") from None


_STEP_FIELDS = ("name", "verdict", "method", "justification", "latex")


def _derivation_record(rel: str, text: str) -> dict:
    """A derivation record (``data/<id>.json``) checked for the fields the documents use."""
    from gradproof.numerics.errors import InputError

    try:
        der = json.loads(text)
    except (ValueError, RecursionError):
        der = None
    ok = (isinstance(der, dict) and isinstance(der.get("derivation"), list)
          and all(isinstance(s, dict) and all(isinstance(s.get(k), str) for k in _STEP_FIELDS)
                  for s in der["derivation"])
          and all(isinstance(der.get(k), (int, str)) for k in ("hidden", "steps"))
          and isinstance(der.get("notes", []), list)
          and all(isinstance(n, str) for n in der.get("notes", [])))
    if not ok:
        raise InputError(f"{rel} in the output folder is not a derivation record (rebuild its "
                         "item with `gradproof report --only ID`)")
    return der


def _load_derivations(root: Path, manifest: dict) -> dict[str, dict]:
    out = {}
    for item_id, entry in manifest["items"].items():
        if entry["kind"] == "derivation":
            rel = f"data/{item_id}.json"
            out[item_id] = _derivation_record(rel, _read_inside(root, rel))
    return out


def _figures(manifest: dict) -> list[tuple[str, dict]]:
    return [(i, e) for i, e in manifest["items"].items() if e["kind"] == "figure"]


def _drawing_words(layout: str) -> str:
    from gradproof.reports.figures.style import COLUMN_WIDTH_IN, PAGE_WIDTH_IN

    return (f"One-column version ({COLUMN_WIDTH_IN:g} in, panels stacked)" if layout == "column"
            else f"Page-width version ({PAGE_WIDTH_IN:g} in)")


def _drawing_files(item_id: str, layout: str) -> list[tuple[str, str]]:
    """(kind, path) of another drawing's files and LaTeX file, named by the item ID and the
    layout (``reports.latex.variant_tex``), never by text read from a manifest."""
    from gradproof.reports.latex import drawing_stem, variant_tex

    stem = f"figures/{drawing_stem(item_id, layout, False)}"
    return [("PDF", f"{stem}.pdf"), ("SVG", f"{stem}.svg"), ("PNG", f"{stem}.png"),
            ("LaTeX", variant_tex(item_id, layout, False))]


def _md_other_drawings(item_id: str, entry: dict) -> str:
    """The provenance line's mention of a figure's other drawing (its column version): the
    documents show one drawing per figure, the primary one."""
    from gradproof.reports.latex import extra_variants

    out = ""
    for layout, _ in extra_variants(entry):
        files = _drawing_files(item_id, layout)
        out += (f"{_drawing_words(layout)}: " + ", ".join(f"[{k}]({rel})" for k, rel in files[:3])
                + f"; LaTeX `{files[3][1]}`. ")
    return out


def _html_other_drawings(item_id: str, entry: dict) -> str:
    from gradproof.reports.latex import extra_variants

    out = ""
    for layout, _ in extra_variants(entry):
        files = _drawing_files(item_id, layout)
        out += (f" {_drawing_words(layout)}: "
                + ", ".join(f"<a href=\"{html.escape(rel)}\">{k}</a>" for k, rel in files[:3])
                + f"; LaTeX: <a href=\"{html.escape(files[3][1])}\">{html.escape(files[3][1])}</a>.")
    return out


def _audit_markdown(root: Path, manifest: dict) -> str | None:
    if "audit" not in manifest["items"]:
        return None
    return _read_inside(root, "data/audit.md")


def _verdict_badge(verdict: str) -> str:
    """The verdict as shown: REFUTED in capitals, so that a refuted step stands out."""
    return "REFUTED" if verdict == "refuted" else verdict


def _model_of(der: dict) -> str:
    return str(der.get("model", "")).lower()


def _sizes(der: dict) -> str:
    parts = [f"n = {der['hidden']}", f"k = {der['steps']}"]
    if der.get("activation"):
        parts.insert(0, f"activation {der['activation']}")
    if der.get("gamma"):
        parts.append(f"gamma = {der['gamma']}")
    return ", ".join(parts)


# ----------------------------------------------------------------------------- Markdown

def _md_derivation(item_id: str, entry: dict, der: dict) -> list[str]:
    out = [f"### {entry['title']} (`{item_id}`)", "",
           f"{_sizes(der)}. Reproduce: `{entry['command']}`; LaTeX: [`tex/{item_id}.tex`]"
           f"(tex/{item_id}.tex); record: [`data/{item_id}.json`](data/{item_id}.json).", ""]
    for i, step in enumerate(der["derivation"], 1):
        out.append(f'<a id="{step_anchor(item_id, step["name"])}"></a>')
        out.append(f"**{i}. {step['name']}** — *{_verdict_badge(step['verdict'])}* "
                   f"({step['method']})")
        out.append("")
        out.append(_md_inline(step["justification"]))
        out.append("")
        rows, where = step_rows(step)
        out += md_math_block(_rows_latex(rows)) + [""]
        if where:
            out += ["where", ""] + md_math_block(_rows_latex(where)) + [""]
    for note in der.get("notes", []):
        out += [f"> Note: {_md_inline(note)}", ""]
    return out


#: Step names of the article's record that correspond to a differently named corrected step.
_ARTICLE_ALIASES = {"product": "product_of_terms"}


def _paired_steps(left: dict, right: dict) -> list[tuple[dict | None, dict | None]]:
    """Steps of the article's and the corrected derivation side by side: a step ``article_X``
    pairs with ``X`` (or its alias); definitions common to both (same LaTeX) are left out."""
    rsteps = {s["name"]: s for s in right["derivation"]}
    used, pairs = set(), []
    for s in left["derivation"]:
        base = s["name"].removeprefix("article_")
        other = rsteps.get(_ARTICLE_ALIASES.get(base, base))
        if other is not None:
            used.add(other["name"])
            if s["verdict"] == other["verdict"] == "definition" and s["latex"] == other["latex"]:
                continue
        pairs.append((s, other))
    pairs += [(None, s) for s in right["derivation"] if s["name"] not in used]
    return pairs


def _short_latex(step: dict) -> str | None:
    """The step's LaTeX when it is one short row (fit for a table cell), else None."""
    from gradproof.derivations.layout import visible_width

    rows, where = step_rows(step)
    if len(rows) != 1 or where:
        return None
    latex = _rows_latex(rows)
    return latex if visible_width(latex) <= TABLE_CELL_WIDTH else None


def _md_side_by_side(left_id: str, left: dict, right_id: str, right: dict) -> list[str]:
    out = [f"| article (`{left_id}`) | corrected (`{right_id}`) |", "|---|---|"]
    for pair in _paired_steps(left, right):
        cells = []
        for s, sid in zip(pair, (left_id, right_id)):
            if s is None:
                cells.append("—")
                continue
            short = _short_latex(s)
            head = f"`{s['name']}` *{_verdict_badge(s['verdict'])}*"
            if short is not None:
                cells.append(f"{head}: {_md_table_math(short)}")
            else:
                cells.append(f"{head} ([in full below](#{step_anchor(sid, s['name'])}))")
        out.append(f"| {cells[0]} | {cells[1]} |")
    return out + [""]


_MODEL_SECTIONS = (("rnn", "Vanilla RNN"), ("lstm", "LSTM"), ("gru", "GRU"))
_LSTM_PAIR = ("derivation-lstm-article", "derivation-lstm-corrected")


def _derivation_sections(ders: dict[str, dict]):
    """(section number, heading, item IDs, show the LSTM side by side) per model with
    derivations; both documents number and order their sections from here."""
    for section, (model, heading) in enumerate(_MODEL_SECTIONS, 1):
        ids = [i for i, d in ders.items() if _model_of(d) == model]
        if ids:
            yield section, heading, ids, model == "lstm" and all(i in ders for i in _LSTM_PAIR)


#: The article the report audits, as it was published, and the copy the project works from
#: (shared/README.md, shared/article.txt).
ARTICLE = ("N. Arbel, \u201cHow LSTM networks solve the problem of vanishing gradients\u201d, "
           "Medium (Data Driven Investor), 2018")
ARTICLE_COPY = ("a 2022 copy of it titled \u201cSolving the Vanishing Gradient Problem with "
                "LSTM\u201d (credited there to Soham Medewar, last updated 19 September 2022), "
                "whose equations were images and are missing from its text; they were "
                "reconstructed from the article's derivation")
ARTICLE_NOTE = (f"The audited article is {ARTICLE}. The project works from {ARTICLE_COPY}. "
                "Every statement of the article in this report (claim texts, section names) is "
                "a paraphrase, not the article's wording; only its equations are reproduced, as "
                "the article writes them, so that they can be checked.")


def _sections(ders: dict, figs: list, audit: str | None, manifest: dict) -> list[tuple[str, str, str]]:
    """(number, anchor, heading) of every section, in order; both documents use it for their
    headings and their table of contents."""
    out = [(str(section), f"sec-{model}", f"{heading} derivations")
           for section, heading, _, _ in _derivation_sections(ders)
           for model in [heading.split()[-1].lower()]]
    if figs:
        out.append(("4", "sec-figures", "Figures"))
    if audit is not None:
        out.append(("5", "sec-audit", "Audit of the article's claims"))
    if manifest["numbers"]:
        out.append(("6", "sec-numbers", "Quoted numbers"))
    out.append(("7", "sec-cite", "How to cite"))
    return out


def _cite_lines(manifest: dict) -> list[str]:
    """The citation section's text (Markdown and HTML share it; `` `x` `` marks code)."""
    from gradproof.reports.citation import toolkit_key

    version = manifest["package"]["version"]
    return [f"Cite gradproof {version} as `{toolkit_key(version)}` and each figure by its own "
            "entry in `tex/gradproof.bib` (key: version, figure ID and the first 8 hex digits "
            "of the SHA-256 of what the figure shows, its caption and parameters; the same key "
            "means the same figure). `CITATION.cff` in the repository holds the same data for "
            "GitHub's citation widget.", ARTICLE_NOTE]


def markdown_report(root: Path, manifest: dict) -> str:
    ders = _load_derivations(root, manifest)
    figs = _figures(manifest)
    version = manifest["package"]["version"]
    audit = _audit_markdown(root, manifest)
    sections = _sections(ders, figs, audit, manifest)
    anchors = {num: anchor for num, anchor, _ in sections}
    out = ["# gradproof report", "",
           f"Generated by `gradproof report` (gradproof {version}); do not edit by hand. Every "
           "equation is printed from the derivation records, every figure and number is "
           "computed by package functions, and [`manifest.json`](manifest.json) records for each "
           "of them the command that rebuilds it alone, its parameters, seed, engine, precision, "
           "tool versions and the SHA-256 of each file. LaTeX fragments for papers are in "
           "[`tex/`](tex/) (`\\usepackage{gradproof}`, see `tex/gradproof.sty`).", "",
           ARTICLE_NOTE, "", "Contents:", ""]
    out += [f"- [{num}. {title}](#{anchor})" for num, anchor, title in sections] + [""]
    for section, heading, ids, side_by_side in _derivation_sections(ders):
        out += [f'<a id="{anchors[str(section)]}"></a>', "",
                f"## {section}. {heading} derivations", ""]
        if side_by_side:
            out += ["The article's version beside the corrected one (a step `article_X` beside "
                    "`X`; REFUTED marks a step of the article that the checker disproves; the "
                    "shared model definitions are listed in each derivation below):", ""]
            out += _md_side_by_side(_LSTM_PAIR[0], ders[_LSTM_PAIR[0]],
                                    _LSTM_PAIR[1], ders[_LSTM_PAIR[1]])
        for item_id in ids:
            out += _md_derivation(item_id, manifest["items"][item_id], ders[item_id])
    if figs:
        out += ['<a id="sec-figures"></a>', "", "## 4. Figures", ""]
        for n, (item_id, entry) in enumerate(figs, 1):
            out += [f'<a id="{item_id}"></a>', "",
                    f"### Figure {n}: {entry['title']} (`{item_id}`)", "",
                    f"![{item_id}](figures/{item_id}.svg)", "",
                    f"*Figure {n}.* {_md_inline(entry['caption'])}", "",
                    f"Files: [PDF](figures/{item_id}.pdf), [SVG](figures/{item_id}.svg), "
                    f"[PNG, 300 dpi](figures/{item_id}.png). {_md_other_drawings(item_id, entry)}"
                    f"Reproduce: `{entry['command']}`. "
                    f"Engine: {entry['engine']}; precision: {entry['precision']}.", ""]
    if audit is not None:
        out += ['<a id="sec-audit"></a>', "", "## 5. Audit of the article's claims", "",
                f"Reproduce: `{manifest['items']['audit']['command']}`. Claim texts paraphrase "
                "the article.", "",
                _md_formal_math(_demote_headings(audit.strip())), ""]
    if manifest["numbers"]:
        out += ['<a id="sec-numbers"></a>', "", "## 6. Quoted numbers", "",
                "Each number is also a LaTeX macro in [`tex/numbers.tex`](tex/numbers.tex); the "
                "manifest holds its full-precision value and provenance.", "",
                "| ID | value | unit | description | macro |", "|---|---|---|---|---|"]
        for nid in sorted(manifest["numbers"]):
            num = manifest["numbers"][nid]
            out.append(f"| `{nid}` | {num['display']} | {num['unit']} | "
                       f"{_md_inline(num['description'], table=True)} | `{num['macro']}` |")
        out.append("")
    out += ['<a id="sec-cite"></a>', "", "## 7. How to cite", ""]
    for line in _cite_lines(manifest):
        out += [line, ""]
    return "\n".join(out).rstrip("\n") + "\n"


def _demote_headings(md: str) -> str:
    """The audit's headings one level down (its ``##`` under the report's ``##`` section)."""
    return re.sub(r"^(#{1,5}) ", lambda m: "#" * (len(m.group(1)) + 1) + " ", md, flags=re.M)


_FORMAL = re.compile(r"^(\s*- Formal: )`([^`]+)`\s*$", re.M)


def _md_formal_math(md: str) -> str:
    """The audit's formal statements (TeX in a code span) as inline math, $`...`$."""
    return _FORMAL.sub(lambda m: f"{m.group(1)}$`{m.group(2)}`$", md)


# ----------------------------------------------------------------------------- HTML

from gradproof.reports.html_layout import CSS as _CSS  # noqa: E402  (kept under its old name)


def _html_text(text: str) -> str:
    """Escaped text with ``$...$`` pieces as inline MathML."""
    from gradproof.reports.html_layout import breakable_math

    parts = []
    for is_math, piece in split_math(text):
        mml = breakable_math(piece, latex_to_mathml) if is_math else None
        if is_math and mml is not None:
            parts.append(mml)
        else:
            parts.append(html.escape(f"${piece}$" if is_math else piece))
    return "".join(parts)


def _html_equation(rows: list) -> str:
    """A display equation (its rows, ``html_layout.equation_html``)."""
    from gradproof.reports.html_layout import equation_html

    return equation_html(rows, latex_to_mathml)


def _html_markdownish(md: str) -> str:
    """The audit fragment (Markdown) shown as HTML: tables become tables, headings headings,
    other lines paragraphs; ``$...$`` becomes MathML. Only the constructs the audit uses."""
    out, table = [], []

    def flush_table():
        if not table:
            return
        rows = [r for r in table if not re.fullmatch(r"\|?\s*:?-{2,}.*", r.strip())]
        cells = [[c.strip() for c in _split_row(r)] for r in rows]
        body = "".join(
            "<tr>" + "".join(f"<{'th' if i == 0 else 'td'}>{_html_inline_md(c)}"
                             f"</{'th' if i == 0 else 'td'}>" for c in row) + "</tr>"
            for i, row in enumerate(cells))
        out.append(f'<table class="wide">{body}</table>')
        table.clear()

    for line in md.splitlines():
        anchor = re.fullmatch(r'<a id="([A-Za-z0-9_.:-]+)"></a>', line.strip())
        if anchor:  # the audit's claim anchors: rebuilt, not passed through
            flush_table()
            out.append(f'<a id="{anchor.group(1)}"></a>')
            continue
        if line.strip().startswith("|"):
            table.append(line)
            continue
        flush_table()
        m = re.match(r"^(#{1,6}) (.*)", line)
        formal = re.match(r"^\s*[-*] Formal: `([^`]+)`\s*$", line)
        if m:
            level = min(len(m.group(1)) + 1, 6)
            out.append(f"<h{level}>{_html_inline_md(m.group(2))}</h{level}>")
        elif formal:  # a claim's formal statement: TeX, shown as math that may wrap
            from gradproof.reports.html_layout import breakable_math

            mml = breakable_math(formal.group(1), latex_to_mathml)
            body = mml if mml is not None else f"<code>{html.escape(formal.group(1))}</code>"
            out.append(f"<ul><li>Formal: {body}</li></ul>")
        elif line.strip().startswith(("- ", "* ")):
            out.append(f"<ul><li>{_html_inline_md(line.strip()[2:])}</li></ul>")
        elif line.strip():
            out.append(f"<p>{_html_inline_md(line)}</p>")
    flush_table()
    return "\n".join(out)


def _split_row(row: str) -> list[str]:
    row = row.strip().strip("|")
    return re.split(r"(?<!\\)\|", row)


def _html_inline_md(text: str) -> str:
    text = text.replace(r"\|", "|")
    pieces = re.split(r"(`[^`]+`)", text)
    out = []
    for p in pieces:
        if p.startswith("`") and p.endswith("`") and len(p) > 1:
            out.append(f"<code>{html.escape(p[1:-1])}</code>")
        else:
            h = _html_text(p)
            h = re.sub(r"\*\*([^*]+)\*\*", r"<strong>\1</strong>", h)
            h = re.sub(r"\[([^\]]+)\]\((#[A-Za-z0-9_.:-]+)\)", r'<a href="\2">\1</a>', h)
            out.append(h)
    return "".join(out)


def html_report(root: Path, manifest: dict) -> str:
    ders = _load_derivations(root, manifest)
    figs = _figures(manifest)
    version = manifest["package"]["version"]
    audit = _audit_markdown(root, manifest)
    sections = _sections(ders, figs, audit, manifest)
    anchors = {num: anchor for num, anchor, _ in sections}
    subs: dict[str, list[tuple[str, str]]] = {}
    for section, _, ids, _ in _derivation_sections(ders):
        subs[str(section)] = [(i, manifest["items"][i]["title"]) for i in ids]
    subs["4"] = [(i, f"Figure {n}: {e['title']}") for n, (i, e) in enumerate(figs, 1)]
    from gradproof.reports.html_layout import toc_html

    b = ["<!DOCTYPE html>", "<html lang=\"en\">", "<head>", "<meta charset=\"utf-8\">",
         "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">",
         f"<title>gradproof report (gradproof {html.escape(version)})</title>",
         f"<style>\n{_CSS}\n</style>", "</head>", "<body>", "<h1 id=\"top\">gradproof report</h1>",
         f"<p>Generated by <code>gradproof report</code> (gradproof {html.escape(version)}); do "
         "not edit by hand. Equations are printed from the derivation records and shown as "
         "MathML; figures and numbers are computed by package functions. "
         "<a href=\"manifest.json\">manifest.json</a> records how each was made; LaTeX fragments "
         "are in <a href=\"tex/\">tex/</a> (<code>\\usepackage{gradproof}</code>, see "
         "<a href=\"tex/gradproof.sty\">tex/gradproof.sty</a>).</p>",
         f"<p id=\"article\">{html.escape(ARTICLE_NOTE)}</p>",
         toc_html([(num, anchor, title, subs.get(num, [])) for num, anchor, title in sections])]
    for section, heading, ids, side_by_side in _derivation_sections(ders):
        b.append(f"<h2 id=\"{anchors[str(section)]}\">{section}. {heading} derivations</h2>")
        if side_by_side:
            b.append(_html_side_by_side(ders[_LSTM_PAIR[0]], ders[_LSTM_PAIR[1]]))
        for item_id in ids:
            entry, der = manifest["items"][item_id], ders[item_id]
            hid = html.escape(item_id)  # registry IDs already; escaped all the same
            b.append(f"<h3 id=\"{hid}\">{html.escape(entry['title'])} "
                     f"(<code>{hid}</code>)</h3>")
            b.append(f"<p>{html.escape(_sizes(der))}. Reproduce: <code>{html.escape(entry['command'])}"
                     f"</code>; LaTeX: <a href=\"tex/{hid}.tex\">tex/{hid}.tex</a>.</p>")
            for i, step in enumerate(der["derivation"], 1):
                v = step["verdict"]
                anchor = step_anchor(item_id, step["name"])
                rows, where = step_rows(step)
                where_html = (f"<p class=\"where\">where</p>{_html_equation(where)}" if where else "")
                b.append(f"<div class=\"step\" id=\"{anchor}\"><p><strong>{i}. "
                         f"{html.escape(step['name'])}</strong> "
                         f"<span class=\"verdict {html.escape(v)}\">{_verdict_badge(v)}</span> "
                         f"<span class=\"method\">{html.escape(step['method'])}</span>"
                         f"<a class=\"anchor\" href=\"#{anchor}\">#</a><br>"
                         f"{_html_text(step['justification'])}</p>"
                         f"{_html_equation(rows)}{where_html}</div>")
            for note in der.get("notes", []):
                b.append(f"<p><em>Note:</em> {_html_text(note)}</p>")
    if figs:
        b.append("<h2 id=\"sec-figures\">4. Figures</h2>")
        for n, (item_id, entry) in enumerate(figs, 1):
            from gradproof.reports.latex import figure_is_column

            item_id = html.escape(item_id)
            size = " class=\"column\"" if figure_is_column(entry) else ""
            b.append(f"<figure id=\"{item_id}\"{size}><img src=\"figures/{item_id}.svg\" "
                     f"alt=\"{html.escape(entry['title'])}\">"
                     f"<figcaption><strong>Figure {n} ({item_id}).</strong> "
                     f"{_html_text(entry['caption'])}<span class=\"provenance\">Files: "
                     f"<a href=\"figures/{item_id}.pdf\">PDF</a>, "
                     f"<a href=\"figures/{item_id}.svg\">SVG</a>, "
                     f"<a href=\"figures/{item_id}.png\">PNG</a>; LaTeX: "
                     f"<a href=\"tex/figure-{item_id}.tex\">tex/figure-{item_id}.tex</a>."
                     f"{_html_other_drawings(item_id, entry)} Reproduce: "
                     f"<code>{html.escape(entry['command'])}</code>. Engine: "
                     f"{html.escape(entry['engine'])}; precision: "
                     f"{html.escape(entry['precision'])}.</span></figcaption></figure>")
    if audit is not None:
        b.append("<h2 id=\"sec-audit\">5. Audit of the article's claims</h2>")
        b.append("<p>Claim texts paraphrase the article.</p>")
        b.append(_html_markdownish(audit))
    if manifest["numbers"]:
        b.append("<h2 id=\"sec-numbers\">6. Quoted numbers</h2><table class=\"wide\"><tr><th>ID</th>"
                 "<th>value</th><th>unit</th><th>description</th><th>LaTeX macro</th></tr>")
        for nid in sorted(manifest["numbers"]):
            num = manifest["numbers"][nid]
            b.append(f"<tr><td><code>{html.escape(nid)}</code></td><td>{html.escape(num['display'])}"
                     f"</td><td>{html.escape(num['unit'])}</td><td>{_html_text(num['description'])}"
                     f"</td><td><code>{html.escape(num['macro'])}</code></td></tr>")
        b.append("</table>")
    b.append("<h2 id=\"sec-cite\">7. How to cite</h2>")
    for line in _cite_lines(manifest):
        b.append(f"<p>{_html_inline_md(line)}</p>")
    b += ["</body>", "</html>"]
    return "\n".join(b) + "\n"


def _html_side_by_side(left: dict, right: dict) -> str:
    ids = {id(left): _LSTM_PAIR[0], id(right): _LSTM_PAIR[1]}
    rows = ["<p>The article's version beside the corrected one (a step <code>article_X</code> "
            "beside <code>X</code>; the shared model definitions are listed below):</p>",
            "<table class=\"side\"><tr><th>article</th><th>corrected</th></tr>"]
    for pair in _paired_steps(left, right):
        cells = []
        for s, item_id in zip(pair, (ids[id(left)], ids[id(right)])):
            if s is None:
                cells.append("&#8212;")
                continue
            v = s["verdict"]
            # the step in full: its rows fit half the column (layout.ROW_WIDTH)
            step_display, where = step_rows(s)
            body = _html_equation(step_display) + (
                f"<p class=\"where\">where</p>{_html_equation(where)}" if where else "")
            cells.append(f"<a href=\"#{step_anchor(item_id, s['name'])}\"><code>"
                         f"{html.escape(s['name'])}</code></a> "
                         f"<span class=\"verdict {html.escape(v)}\">{_verdict_badge(v)}</span>"
                         f"<div class=\"cell\">{body}</div>")
        rows.append(f"<tr><td>{cells[0]}</td><td>{cells[1]}</td></tr>")
    rows.append("</table>")
    return "\n".join(rows)


# ----------------------------------------------------------------------------- LaTeX

def figure_file_tex(item_id: str, entry: dict) -> str:
    """``tex/figure-<id>.tex``: the figure's float alone (``reports.latex.figure_tex``)."""
    from gradproof.reports.latex import figure_tex

    return figure_tex(item_id, entry, escape_latex_text(entry["caption"]))


def figures_tex(manifest: dict) -> str:
    out = ["% Figures of the gradproof report, all of them: \\input{figures.tex}; each alone is in",
           "% figure-<id>.tex. Needs \\usepackage{gradproof} (tex/gradproof.sty: graphicx, and",
           "% \\gpfiguredir, default figures). Generated by `gradproof report`; do not edit.",
           "% Path rule: LaTeX resolves \\includegraphics paths from the folder of the MAIN .tex file",
           "% (where pdflatex runs), not from this file's folder: set \\gpfiguredir to the path from",
           "% your main file to the report's figures/ folder.",
           "% One drawing per figure here; a page-width figure (figure*) also has a one-column",
           "% version (figure, panels stacked) in figure-<id>-column.tex, to \\input instead.",
           "\\providecommand{\\gpfiguredir}{figures}"]
    for item_id, entry in _figures(manifest):
        out += [""] + figure_file_tex(item_id, entry).rstrip("\n").splitlines()[2:]
    return "\n".join(out) + "\n"


def numbers_tex(manifest: dict) -> str:
    from gradproof.reports.latex import number_macro

    out = ["% Every number quoted by the gradproof report, one macro each: \\input{numbers.tex}.",
           "% Generated by `gradproof report`; do not edit. Full-precision values and provenance",
           "% (command, parameters, seed, engine, precision) are in manifest.json under \"numbers\".",
           "% Values are typeset in math mode (a true minus sign); a number without a value prints",
           "% an en dash and warns.",
           "\\providecommand{\\gpnovalue}[1]{\\PackageWarning{gradproof}{number #1 has no value}\\textendash}"]
    for nid in sorted(manifest["numbers"]):
        num = manifest["numbers"][nid]
        unit = f" [{num['unit']}]" if num["unit"] else ""
        comment = " ".join(f"{nid}: {num['description']}{unit}; {num['command']}".split())
        out += [f"% {comment}",
                number_macro(num["macro"], nid, num["display"])]
    return "\n".join(out) + "\n"


def assemble_documents(root: Path, manifest: dict) -> list[str]:
    """Write report.md, report.html and the tex/ files (gradproof.sty, figures.tex, one
    figure-<id>.tex per figure and a figure-<id>-column.tex per column version of a page
    figure, numbers.tex, gradproof.bib); return their paths."""
    from gradproof.reports.citation import bibtex
    from gradproof.reports.latex import GRADPROOF_STY

    root = Path(root)
    (root / "tex").mkdir(parents=True, exist_ok=True)
    docs = {
        "report.md": markdown_report(root, manifest),
        "report.html": html_report(root, manifest),
        "tex/gradproof.sty": GRADPROOF_STY,
        "tex/figures.tex": figures_tex(manifest),
    }
    from gradproof.reports.latex import extra_variants, figure_tex, variant_tex

    for item_id, entry in _figures(manifest):
        docs[f"tex/figure-{item_id}.tex"] = figure_file_tex(item_id, entry)
        for layout, variant in extra_variants(entry):  # the column version of a page figure
            docs[variant_tex(item_id, layout, False)] = figure_tex(
                item_id, entry, escape_latex_text(variant["caption"]), layout)
    docs["tex/numbers.tex"] = numbers_tex(manifest)
    docs["tex/gradproof.bib"] = bibtex(manifest)
    for rel, text in docs.items():
        (root / rel).write_text(text, encoding="utf-8")
    return list(docs)
