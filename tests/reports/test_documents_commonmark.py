"""report.md survives a CommonMark pass: every display equation is a ```math fence whose
content the parser hands over verbatim, every inline equation a $`...`$ code span, and no
``$$``/``$`` math is left in text where Markdown would rewrite ``\\,``, ``\\|``, ``\\\\`` or
``_..._`` before the math renderer sees it.

Oracle: markdown-it-py (a CommonMark-compliant parser, with the GFM table extension GitHub
uses), against the report's source text split by hand.
"""

import re
from pathlib import Path

from markdown_it import MarkdownIt

ROOT = next(p for p in Path(__file__).resolve().parents if (p / "pyproject.toml").is_file())
GENERATED = ROOT / "reports" / "generated"


def _tokens(md: str):
    parser = MarkdownIt("commonmark").enable("table")
    for tok in parser.parse(md):
        yield tok
        for child in tok.children or []:
            yield child


def _source_blocks(md: str) -> list[str]:
    return [m.group(1) for m in re.finditer(r"^```math\n(.*?)\n```$", md, re.M | re.S)]


def _check(md: str) -> int:
    fences = [t.content.rstrip("\n") for t in _tokens(md) if t.type == "fence" and t.info == "math"]
    source = _source_blocks(md)
    assert fences == source  # every math block reaches the renderer unaltered, none lost
    inline_src = re.findall(r"\$`([^`]+)`\$", md)
    toks = list(_tokens(md))
    inline = [t.content for k, t in enumerate(toks) if t.type == "code_inline"
              and k > 0 and toks[k - 1].type == "text" and toks[k - 1].content.endswith("$")]
    assert sorted(inline) == sorted(s for s in inline_src)
    for k, t in enumerate(toks):  # no TeX math left where Markdown would rewrite it
        if t.type == "text":
            text = t.content
            if k > 0 and toks[k - 1].type == "code_inline":
                text = text.removeprefix("$")
            if k + 1 < len(toks) and toks[k + 1].type == "code_inline":
                text = text.removesuffix("$")
            assert "$" not in text, t.content[:120]
    return len(fences)


def test_committed_report_md_math_survives_commonmark():
    md = (GENERATED / "report.md").read_text(encoding="utf-8")
    assert _check(md) > 100
    assert "\\begin{aligned}" in md  # long steps are shown in rows, in full


def test_the_check_notices_math_that_markdown_would_alter():
    """The test above can fail: a $$ block with \\, and \\\\ is caught."""
    import pytest

    bad = "text\n\n$$\na\\,b \\\\ c_1 d_2\n$$\n"
    with pytest.raises(AssertionError):
        _check(bad)
