"""CITATION.cff: valid CFF 1.2 essentials, and its version is the package version."""

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _cff_fields(text: str) -> dict:
    """Top-level ``key: value`` pairs of the CFF file (a YAML subset; quotes stripped)."""
    out = {}
    for line in text.splitlines():
        m = re.match(r"^([A-Za-z][A-Za-z0-9-]*):\s*(.*)$", line)
        if m:
            out[m.group(1)] = m.group(2).strip().strip('"').strip("'")
    return out


def test_citation_version_equals_package_version():
    with open(ROOT / "pyproject.toml", "rb") as fh:
        version = tomllib.load(fh)["project"]["version"]
    fields = _cff_fields((ROOT / "CITATION.cff").read_text(encoding="utf-8"))
    assert fields["version"] == version


def test_citation_has_required_cff_keys():
    text = (ROOT / "CITATION.cff").read_text(encoding="utf-8")
    fields = _cff_fields(text)
    for key in ("cff-version", "message", "title", "authors", "version", "type"):
        assert key in fields, key
    assert fields["cff-version"] == "1.2.0"
    assert re.search(r"^authors:\n  - name: \S", text, re.M)


def test_cff_parser_would_notice_a_different_version():
    """The check above can fail: a CFF text with another version is read as such."""
    fields = _cff_fields('cff-version: 1.2.0\nversion: "9.9.9"\n')
    assert fields["version"] == "9.9.9"
