"""report.md / report.html / tex/: math printed from the derivation records, self-contained HTML
with MathML, LaTeX fragments with labels and one macro per quoted number."""

import json
import re
from html.parser import HTMLParser

import pytest

from gradproof.reports.figures.style import COLUMN_WIDTH_IN

from gradproof.reports import documents as docs


@pytest.fixture(scope="module")
def lstm_report(tmp_path_factory):
    """Documents assembled from the article's and the corrected LSTM derivation records."""
    from gradproof.derivations import derive_model
    from gradproof.derivations.records import derivation_to_json

    root = tmp_path_factory.mktemp("docs")
    items = {}
    for variant in ("article", "corrected"):
        item_id = f"derivation-lstm-{variant}"
        der = derive_model("lstm", variant=variant, hidden=1, steps=2)
        data = derivation_to_json(der)
        data["notes"] = list(der.notes)
        (root / "data").mkdir(exist_ok=True)
        (root / f"data/{item_id}.json").write_text(json.dumps(data))
        items[item_id] = {"kind": "derivation", "title": f"LSTM {variant}",
                          "command": f"gradproof report --only {item_id}", "caption": "c",
                          "engine": "e", "precision": "p", "files": {}}
    items["fig-x"] = {"kind": "figure", "title": "A figure", "caption": "Decay of 50% at $10^{-3}$ & more_x",
                      "command": "gradproof report --only fig-x", "engine": "e",
                      "precision": "float64", "files": {}}
    manifest = {"package": {"version": "0.1.0"}, "items": items,
                "numbers": {"fig-x/first-zero": {"display": "412", "unit": "steps",
                                                 "description": "first zero | step",
                                                 "macro": "\\gpFigXFirstZero",
                                                 "command": "gradproof report --only fig-x"}}}
    written = docs.assemble_documents(root, manifest)
    return root, manifest, written


def _records(root):
    return {p.stem: json.loads(p.read_text()) for p in (root / "data").glob("*.json")}


def test_markdown_prints_every_step_from_the_records_with_its_verdict(lstm_report):
    root, _, written = lstm_report
    assert written == ["report.md", "report.html", "tex/gradproof.sty", "tex/figures.tex",
                       "tex/figure-fig-x.tex", "tex/numbers.tex", "tex/gradproof.bib"]
    md = (root / "report.md").read_text()
    for item_id, rec in _records(root).items():
        for i, step in enumerate(rec["derivation"], 1):
            assert f"**{i}. {step['name']}**" in md
            rows, where = docs.step_rows(step)
            for lhs, rel, rhs in rows + where:  # every row of every step, in a math fence
                assert rhs in md
    assert "too long to display" not in md and "$$" not in md
    assert "| article (`derivation-lstm-article`) | corrected (`derivation-lstm-corrected`) |" in md
    table = md.split("| article (`derivation-lstm-article`)")[1].split("\n\n")[0]
    assert "| `article_D_t` *REFUTED*" in table and "| `D_t` *verified*" in table.replace("| `article_D_t`", "")
    assert "`i_t`" not in table  # shared definitions are not repeated in the table
    verdicts = {s["verdict"] for r in _records(root).values() for s in r["derivation"]}
    assert "refuted" in verdicts  # the article's LSTM term is refuted by the checker ...
    assert "*REFUTED*" in md      # ... and the report says so
    assert "![fig-x](figures/fig-x.svg)" in md


class _Collect(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags, self.urls, self.stack_errors = [], [], 0

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        for k, v in attrs:
            if k in ("src", "href") and v:
                self.urls.append(v)


def test_html_is_self_contained_with_mathml(lstm_report):
    root, _, _ = lstm_report
    html = (root / "report.html").read_text()
    parser = _Collect()
    parser.feed(html)
    assert "script" not in parser.tags and "link" not in parser.tags
    for url in parser.urls:  # only relative links and in-page anchors
        assert not re.match(r"^[a-z]+:|^//", url), url
    steps = sum(len(r["derivation"]) for r in _records(root).values())
    assert parser.tags.count("math") >= steps
    assert '<pre class="latex">' not in html  # every equation converted to MathML
    assert "<mfrac>" in html
    # the caption's $10^{-3}$ became MathML, its text was escaped
    assert "Decay of 50% at <span class=\"mathrun\"><math" in html and "&amp; more_x" in html
    assert '<nav class="toc"' in html and 'id="sec-lstm"' in html
    for item_id, rec in _records(root).items():  # an id on every step
        for step in rec["derivation"]:
            assert f'id="{docs.step_anchor(item_id, step["name"])}"' in html


def test_html_shows_the_audit_markdown_as_tables_and_anchors():
    md = ("## Claims audit\n\n| claim | verdict |\n|---|---|\n| [c-1](#claim-c-1) | refuted |\n\n"
          '<a id="claim-c-1"></a>\n### c-1: refuted\n\n- Formal: `\\sup_z x^2 = 1`\n'
          "- Method: `a | b` and $x^2$\n")
    out = docs._html_markdownish(md)
    assert '<a href="#claim-c-1">c-1</a>' in out and '<a id="claim-c-1"></a>' in out
    assert "<table" in out and "<h4>c-1: refuted</h4>" in out  # a claim heading under h3
    assert "Formal: <span class=\"mathrun\"><math" in out  # the formal statement as math
    assert "<code>a | b</code>" in out and "<msup>" in out
    bad = docs._html_markdownish('<a id="x" onclick="evil()"></a>')
    assert "onclick" not in bad or "&quot;" in bad  # never passed through raw


def test_latex_fragments_have_labels_captions_and_macros(lstm_report):
    root, manifest, _ = lstm_report
    figs = (root / "tex/figures.tex").read_text()
    # no width recorded: drawn for the page, so both columns of a two-column paper
    assert "\\includegraphics[width=\\textwidth]{\\gpfiguredir/fig-x.pdf}" in figs
    assert "\\begin{figure*}" in figs
    assert "\\label{fig:fig-x}" in figs
    assert "\\caption{Decay of 50\\% at $10^{-3}$ \\& more\\_x}" in figs
    nums = (root / "tex/numbers.tex").read_text()
    assert "\\newcommand{\\gpFigXFirstZero}{\\ensuremath{412}}" in nums
    alone = (root / "tex/figure-fig-x.tex").read_text()
    assert alone.count("\\begin{figure*}") == 1 and "\\label{fig:fig-x}" in alone
    from gradproof.reports.latex import figure_tex

    column = figure_tex("c", {"command": "c", "parameters": {"width_in": COLUMN_WIDTH_IN}}, "cap")
    assert "\\begin{figure}[tbp]" in column and "width=\\columnwidth" in column
    bib = (root / "tex/gradproof.bib").read_text()
    assert "@software{gradproof-0.1.0," in bib and "@misc{gradproof-0.1.0-fig-x-" in bib


def test_number_macros_use_math_minus_and_never_none():
    from gradproof.reports.latex import number_macro, tex_number

    assert number_macro("\\gpA", "a/b", "-0.08") == "\\newcommand{\\gpA}{\\ensuremath{-0.08}}"
    assert tex_number("1.5e-05") == "1.5\\times 10^{-5}"
    assert "none" not in number_macro("\\gpB", "a/c", "none")
    assert "\\gpnovalue{a/c}" in number_macro("\\gpB", "a/c", "none")


def test_escape_latex_and_split_math():
    assert docs.split_math("a $x$ b") == [(False, "a "), (True, "x"), (False, " b")]
    assert docs.escape_latex_text("#1 & 2_x $a_1$") == "\\#1 \\& 2\\_x $a_1$"
    assert docs.latex_to_mathml("\\frac{1}{4}").count("<mfrac>") == 1


def test_long_equations_are_shown_in_rows_not_elided():
    """A sum of 1001 terms is shown in full, in rows that each fit the row width."""
    import sympy as sp

    from gradproof.derivations.layout import ROW_WIDTH, layout_derivation, visible_width
    from gradproof.derivations.records import Derivation, DerivationStep

    xs = sp.symbols("x_1:1002")
    der = Derivation("rnn", "tanh", 2, 2, None,
                     (DerivationStep("big", sp.Add(*xs), "j", lhs_latex="S"),))
    rows = layout_derivation(der).steps[0].rows
    text = " ".join(r.rhs for r in rows)
    assert all(f"x_{{{i}}}" in text for i in range(1, 1002))  # every term is there
    assert all(visible_width(" ".join((r.lhs, r.rel, r.rhs))) <= ROW_WIDTH + 0.01 for r in rows)
    assert len(rows) > 50


def test_long_function_arguments_are_named_once_and_reused():
    import sympy as sp

    from gradproof.derivations.layout import layout_derivation
    from gradproof.derivations.records import Derivation, DerivationStep

    a, b, c, d, e = sp.symbols("a_{long} b_{long} c_{long} d_{long} e_{long}")
    arg = a * b + c * d + e * a + b * c + d * e
    steps = (DerivationStep("s1", sp.tanh(arg) * sp.tanh(arg + 1) * a, "j", lhs_latex="u"),
             DerivationStep("s2", sp.tanh(arg) + b, "j", lhs_latex="v"))
    lay = layout_derivation(Derivation("rnn", "tanh", 1, 1, None, steps))
    assert lay.steps[0].where and "\\zeta_{1}" in lay.steps[0].where[0].lhs
    assert "\\zeta_{1}" in lay.steps[1].rows[0].rhs and not lay.steps[1].where  # reused
