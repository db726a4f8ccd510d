"""report.md / report.html / tex/: math printed from the derivation records, self-contained HTML
with MathML, LaTeX fragments with labels and one macro per quoted number."""

import json
import re
from html.parser import HTMLParser

import pytest

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
    assert written == ["report.md", "report.html", "tex/figures.tex", "tex/numbers.tex"]
    md = (root / "report.md").read_text()
    for item_id, rec in _records(root).items():
        for i, step in enumerate(rec["derivation"], 1):
            assert f"**{i}. {step['name']}**" in md
            if len(step["latex"]) <= docs.MAX_DISPLAY_LATEX:
                assert f"$$\n{step['latex']}\n$$" in md
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
    assert "Decay of 50% at <math" in html and "&amp; more_x" in html


def test_html_shows_the_audit_markdown_as_tables_and_anchors():
    md = ("## Claims audit\n\n| claim | verdict |\n|---|---|\n| [c-1](#claim-c-1) | refuted |\n\n"
          '<a id="claim-c-1"></a>\n### c-1: refuted\n\n- Formal: `a | b` and $x^2$\n')
    out = docs._html_markdownish(md)
    assert '<a href="#claim-c-1">c-1</a>' in out and '<a id="claim-c-1"></a>' in out
    assert "<table>" in out and "<h5>c-1: refuted</h5>" in out
    assert "<code>a | b</code>" in out and "<math" in out
    bad = docs._html_markdownish('<a id="x" onclick="evil()"></a>')
    assert "onclick" not in bad or "&quot;" in bad  # never passed through raw


def test_latex_fragments_have_labels_captions_and_macros(lstm_report):
    root, manifest, _ = lstm_report
    figs = (root / "tex/figures.tex").read_text()
    assert "\\includegraphics[width=\\linewidth]{\\gpfiguredir/fig-x.pdf}" in figs
    assert "\\label{fig:fig-x}" in figs
    assert "\\caption{Decay of 50\\% at $10^{-3}$ \\& more\\_x}" in figs
    nums = (root / "tex/numbers.tex").read_text()
    assert "\\newcommand{\\gpFigXFirstZero}{412}" in nums


def test_escape_latex_and_split_math():
    assert docs.split_math("a $x$ b") == [(False, "a "), (True, "x"), (False, " b")]
    assert docs.escape_latex_text("#1 & 2_x $a_1$") == "\\#1 \\& 2\\_x $a_1$"
    assert docs.latex_to_mathml("\\frac{1}{4}").count("<mfrac>") == 1


def test_long_equations_are_referred_to_the_tex_file():
    rec = {"hidden": 2, "steps": 2, "activation": "tanh", "gamma": "1",
           "derivation": [{"name": "big", "latex": "x + " * 1000 + "y", "verdict": "verified",
                           "method": "m", "justification": "j"}]}
    md = "\n".join(docs._md_derivation("derivation-x", {"title": "T", "command": "c"}, rec))
    assert "too long to display" in md and "tex/derivation-x.tex" in md
    assert "$$" not in md
