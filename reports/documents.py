"""The report documents, assembled from what the items wrote and from the manifest.

* ``report.md``  -- GitHub Markdown with ``$...$``/``$$...$$`` math: the RNN, LSTM and GRU
  derivations step by step (the article's LSTM version beside the corrected one), each step
  with its verdict, the figures with captions, the claims audit and the quoted numbers;
* ``report.html`` -- the same, self-contained: equations as MathML (latex2mathml), no script,
  no stylesheet or font from the network; figures are relative links to ``figures/*.svg``;
* ``tex/figures.tex`` (``\\includegraphics`` + caption + label per figure) and
  ``tex/numbers.tex`` (one macro per quoted number). The derivations' ``align`` environments
  are written by the derivation items themselves (``tex/derivation-*.tex``).

All math comes from the derivation records' LaTeX (``DerivationStep.latex``); no equation is
typed here. Captions may contain ``$...$`` math, which each format renders in its own way.
"""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

__all__ = ["assemble_documents", "markdown_report", "html_report", "figures_tex", "numbers_tex",
           "latex_to_mathml", "split_math", "escape_latex_text", "MAX_DISPLAY_LATEX"]

#: Longer equations are not displayed inline (GitHub's renderer gives up); the reader is sent
#: to the LaTeX fragment and the JSON record, which hold them in full.
MAX_DISPLAY_LATEX = 1800

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


def _md_inline(text: str) -> str:
    """Caption/justification text for Markdown: math kept, pipes made table-safe."""
    return text.replace("|", r"\|") if "$" not in text else text


def _md_table_math(latex: str) -> str:
    return "$" + latex.replace(r"\|", r"\Vert ").replace("|", r"\vert ") + "$"


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
        out.append(f"**{i}. {step['name']}** — *{_verdict_badge(step['verdict'])}* "
                   f"({step['method']})")
        out.append("")
        out.append(_md_inline(step["justification"]))
        out.append("")
        if len(step["latex"]) <= MAX_DISPLAY_LATEX:
            out += ["$$", step["latex"], "$$", ""]
        else:
            out += [f"*(equation of {len(step['latex'])} characters, too long to display: see "
                    f"`tex/{item_id}.tex`)*", ""]
    for note in der.get("notes", []):
        out += [f"> Note: {note}", ""]
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


def _md_side_by_side(left_id: str, left: dict, right_id: str, right: dict) -> list[str]:
    out = [f"| article (`{left_id}`) | corrected (`{right_id}`) |", "|---|---|"]
    for pair in _paired_steps(left, right):
        cells = []
        for s in pair:
            if s is None:
                cells.append("—")
            elif len(s["latex"]) <= MAX_DISPLAY_LATEX // 3:
                cells.append(f"`{s['name']}` *{_verdict_badge(s['verdict'])}*: "
                             f"{_md_table_math(s['latex'])}")
            else:
                cells.append(f"`{s['name']}` *{_verdict_badge(s['verdict'])}* (long; in full below)")
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


def markdown_report(root: Path, manifest: dict) -> str:
    ders = _load_derivations(root, manifest)
    figs = _figures(manifest)
    version = manifest["package"]["version"]
    out = ["# gradproof report", "",
           f"Generated by `gradproof report` (gradproof {version}); do not edit by hand. Every "
           "equation is printed from the derivation records, every figure and number is "
           "computed by package functions, and [`manifest.json`](manifest.json) records for each "
           "of them the command that rebuilds it alone, its parameters, seed, engine, precision, "
           "tool versions and the SHA-256 of each file. LaTeX fragments for papers are in "
           "[`tex/`](tex/).", ""]
    for section, heading, ids, side_by_side in _derivation_sections(ders):
        out += [f"## {section}. {heading} derivations", ""]
        if side_by_side:
            out += ["The article's version beside the corrected one (a step `article_X` beside "
                    "`X`; REFUTED marks a step of the article that the checker disproves; the "
                    "shared model definitions are listed in each derivation below):", ""]
            out += _md_side_by_side(_LSTM_PAIR[0], ders[_LSTM_PAIR[0]],
                                    _LSTM_PAIR[1], ders[_LSTM_PAIR[1]])
        for item_id in ids:
            out += _md_derivation(item_id, manifest["items"][item_id], ders[item_id])
    if figs:
        out += ["## 4. Figures", ""]
        for n, (item_id, entry) in enumerate(figs, 1):
            out += [f"### Figure {n}: {entry['title']} (`{item_id}`)", "",
                    f"![{item_id}](figures/{item_id}.svg)", "",
                    f"*Figure {n}.* {_md_inline(entry['caption'])}", "",
                    f"Files: [PDF](figures/{item_id}.pdf), [SVG](figures/{item_id}.svg), "
                    f"[PNG, 300 dpi](figures/{item_id}.png). Reproduce: `{entry['command']}`. "
                    f"Engine: {entry['engine']}; precision: {entry['precision']}.", ""]
    audit = _audit_markdown(root, manifest)
    if audit is not None:
        out += ["## 5. Audit of the article's claims", "",
                f"Reproduce: `{manifest['items']['audit']['command']}`.", "",
                _demote_headings(audit.strip()), ""]
    if manifest["numbers"]:
        out += ["## 6. Quoted numbers", "",
                "Each number is also a LaTeX macro in [`tex/numbers.tex`](tex/numbers.tex); the "
                "manifest holds its full-precision value and provenance.", "",
                "| ID | value | unit | description | macro |", "|---|---|---|---|---|"]
        for nid in sorted(manifest["numbers"]):
            num = manifest["numbers"][nid]
            out.append(f"| `{nid}` | {num['display']} | {num['unit']} | "
                       f"{_md_inline(num['description'])} | `{num['macro']}` |")
        out.append("")
    return "\n".join(out).rstrip("\n") + "\n"


def _demote_headings(md: str) -> str:
    return re.sub(r"^(#{1,4}) ", lambda m: "#" * min(len(m.group(1)) + 2, 6) + " ", md,
                  flags=re.M)


# ----------------------------------------------------------------------------- HTML

_CSS = """
body{font-family:Georgia,serif;max-width:60rem;margin:2rem auto;padding:0 1rem;line-height:1.45;color:#222}
h1,h2,h3{font-family:Helvetica,Arial,sans-serif}
code,pre{font-family:Menlo,Consolas,monospace;font-size:0.9em}
pre{background:#f6f6f6;padding:0.5em;overflow-x:auto;white-space:pre-wrap}
.step{margin:0.8em 0 1.2em 0}
.verdict{font-family:Helvetica,Arial,sans-serif;font-size:0.85em;padding:0 0.4em;border-radius:0.3em}
.verified{background:#d8f0d8}.refuted{background:#f6d0d0}.undecided{background:#f3ecc8}.conditional{background:#dde8f6}.sampled{background:#f3e0c8}.definition{background:#e4e4ee}
.method{color:#555;font-size:0.85em}
math[display=block]{overflow-x:auto;max-width:100%;padding:0.3em 0}
table{border-collapse:collapse;margin:0.6em 0}td,th{border:1px solid #ccc;padding:0.25em 0.5em;vertical-align:top}
figure{margin:1.5em 0}figure img{width:100%;height:auto}figcaption{font-size:0.92em}
.provenance{display:block;color:#555;font-size:0.85em;margin-top:0.3em}
table.side{table-layout:fixed;width:100%}table.side td{width:50%}
.cell{overflow-x:auto;max-width:100%}
""".strip()


def _html_text(text: str) -> str:
    """Escaped text with ``$...$`` pieces as inline MathML."""
    parts = []
    for is_math, piece in split_math(text):
        mml = latex_to_mathml(piece) if is_math else None
        if is_math and mml is not None:
            parts.append(mml)
        else:
            parts.append(html.escape(f"${piece}$" if is_math else piece))
    return "".join(parts)


def _html_equation(latex: str, item_id: str) -> str:
    if len(latex) > MAX_DISPLAY_LATEX:
        return (f"<p><em>(equation of {len(latex)} characters, too long to display: see "
                f"<a href=\"tex/{item_id}.tex\">tex/{item_id}.tex</a>)</em></p>")
    mml = latex_to_mathml(latex, display=True)
    if mml is None:
        return f"<pre class=\"latex\">{html.escape(latex)}</pre>"
    return mml


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
        out.append(f"<table>{body}</table>")
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
        if m:
            level = min(len(m.group(1)) + 2, 6)
            out.append(f"<h{level}>{_html_inline_md(m.group(2))}</h{level}>")
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
    b = ["<!DOCTYPE html>", "<html lang=\"en\">", "<head>", "<meta charset=\"utf-8\">",
         f"<title>gradproof report (gradproof {html.escape(version)})</title>",
         f"<style>\n{_CSS}\n</style>", "</head>", "<body>", "<h1>gradproof report</h1>",
         f"<p>Generated by <code>gradproof report</code> (gradproof {html.escape(version)}); do "
         "not edit by hand. Equations are printed from the derivation records and shown as "
         "MathML; figures and numbers are computed by package functions. "
         "<a href=\"manifest.json\">manifest.json</a> records how each was made; LaTeX fragments "
         "are in <a href=\"tex/\">tex/</a>.</p>"]
    for section, heading, ids, side_by_side in _derivation_sections(ders):
        b.append(f"<h2>{section}. {heading} derivations</h2>")
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
                b.append(f"<div class=\"step\"><p><strong>{i}. {html.escape(step['name'])}</strong> "
                         f"<span class=\"verdict {html.escape(v)}\">{_verdict_badge(v)}</span> "
                         f"<span class=\"method\">{html.escape(step['method'])}</span><br>"
                         f"{_html_text(step['justification'])}</p>"
                         f"{_html_equation(step['latex'], hid)}</div>")
            for note in der.get("notes", []):
                b.append(f"<p><em>Note:</em> {_html_text(note)}</p>")
    if figs:
        b.append("<h2>4. Figures</h2>")
        for n, (item_id, entry) in enumerate(figs, 1):
            item_id = html.escape(item_id)
            b.append(f"<figure id=\"{item_id}\"><img src=\"figures/{item_id}.svg\" "
                     f"alt=\"{html.escape(entry['title'])}\">"
                     f"<figcaption><strong>Figure {n} ({item_id}).</strong> "
                     f"{_html_text(entry['caption'])}<span class=\"provenance\">Files: "
                     f"<a href=\"figures/{item_id}.pdf\">PDF</a>, "
                     f"<a href=\"figures/{item_id}.svg\">SVG</a>, "
                     f"<a href=\"figures/{item_id}.png\">PNG</a>. Reproduce: "
                     f"<code>{html.escape(entry['command'])}</code>. Engine: "
                     f"{html.escape(entry['engine'])}; precision: "
                     f"{html.escape(entry['precision'])}.</span></figcaption></figure>")
    audit = _audit_markdown(root, manifest)
    if audit is not None:
        b.append("<h2>5. Audit of the article's claims</h2>")
        b.append(_html_markdownish(audit))
    if manifest["numbers"]:
        b.append("<h2>6. Quoted numbers</h2><table><tr><th>ID</th><th>value</th><th>unit</th>"
                 "<th>description</th><th>LaTeX macro</th></tr>")
        for nid in sorted(manifest["numbers"]):
            num = manifest["numbers"][nid]
            b.append(f"<tr><td><code>{html.escape(nid)}</code></td><td>{html.escape(num['display'])}"
                     f"</td><td>{html.escape(num['unit'])}</td><td>{_html_text(num['description'])}"
                     f"</td><td><code>{html.escape(num['macro'])}</code></td></tr>")
        b.append("</table>")
    b += ["</body>", "</html>"]
    return "\n".join(b) + "\n"


def _html_side_by_side(left: dict, right: dict) -> str:
    rows = ["<p>The article's version beside the corrected one (a step <code>article_X</code> "
            "beside <code>X</code>; the shared model definitions are listed below):</p>",
            "<table class=\"side\"><tr><th>article</th><th>corrected</th></tr>"]
    for pair in _paired_steps(left, right):
        cells = []
        for s in pair:
            if s is None:
                cells.append("&#8212;")
                continue
            v = s["verdict"]
            mml = latex_to_mathml(s["latex"]) if len(s["latex"]) <= MAX_DISPLAY_LATEX // 3 else None
            body = mml if mml is not None else "(long; in full below)"
            cells.append(f"<code>{html.escape(s['name'])}</code> "
                         f"<span class=\"verdict {html.escape(v)}\">{_verdict_badge(v)}</span>"
                         f"<div class=\"cell\">{body}</div>")
        rows.append(f"<tr><td>{cells[0]}</td><td>{cells[1]}</td></tr>")
    rows.append("</table>")
    return "\n".join(rows)


# ----------------------------------------------------------------------------- LaTeX

def figures_tex(manifest: dict) -> str:
    out = ["% Figures of the gradproof report: \\input{figures.tex} (needs \\usepackage{graphicx}).",
           "% Generated by `gradproof report`; do not edit. Set \\gpfiguredir to the folder",
           "% holding the PDFs (default ../figures, relative to this file's folder).",
           "\\providecommand{\\gpfiguredir}{../figures}"]
    for item_id, entry in _figures(manifest):
        out += ["", f"% {entry['command']}",
                "\\begin{figure}[htbp]", "  \\centering",
                f"  \\includegraphics[width=\\linewidth]{{\\gpfiguredir/{item_id}.pdf}}",
                f"  \\caption{{{escape_latex_text(entry['caption'])}}}",
                f"  \\label{{fig:{item_id}}}", "\\end{figure}"]
    return "\n".join(out) + "\n"


def numbers_tex(manifest: dict) -> str:
    out = ["% Every number quoted by the gradproof report, one macro each: \\input{numbers.tex}.",
           "% Generated by `gradproof report`; do not edit. Full-precision values and provenance",
           "% (command, parameters, seed, engine, precision) are in manifest.json under \"numbers\"."]
    for nid in sorted(manifest["numbers"]):
        num = manifest["numbers"][nid]
        unit = f" [{num['unit']}]" if num["unit"] else ""
        comment = " ".join(f"{nid}: {num['description']}{unit}; {num['command']}".split())
        out += [f"% {comment}",
                f"\\newcommand{{{num['macro']}}}{{{num['display']}}}"]
    return "\n".join(out) + "\n"


def assemble_documents(root: Path, manifest: dict) -> list[str]:
    """Write report.md, report.html, tex/figures.tex, tex/numbers.tex; return their paths."""
    root = Path(root)
    (root / "tex").mkdir(parents=True, exist_ok=True)
    docs = {
        "report.md": markdown_report(root, manifest),
        "report.html": html_report(root, manifest),
        "tex/figures.tex": figures_tex(manifest),
        "tex/numbers.tex": numbers_tex(manifest),
    }
    for rel, text in docs.items():
        (root / rel).write_text(text, encoding="utf-8")
    return list(docs)
