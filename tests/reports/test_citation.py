"""CITATION.cff: valid CFF 1.2 essentials, and its version is the package version."""

import re
import tomllib
from pathlib import Path

ROOT = next(p for p in Path(__file__).resolve().parents if (p / "pyproject.toml").is_file())


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


def test_citation_names_date_repository_and_matches_the_bibtex_data():
    from gradproof.reports import citation

    text = (ROOT / "CITATION.cff").read_text(encoding="utf-8")
    fields = _cff_fields(text)
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", fields["date-released"])
    assert fields["date-released"] == citation.RELEASE_DATE
    # no invented address: the field is present exactly when the package knows the repository
    assert fields.get("repository-code") == citation.REPOSITORY_URL
    for author in citation.AUTHORS:
        assert f'- name: "{author}"' in text
    assert "Arbel" in text  # the audited article is named


def test_figure_bibtex_keys_are_stable_and_change_with_the_content():
    from gradproof.reports import citation

    entry = {"kind": "figure", "title": "T", "caption": "c", "parameters": {"a": 1},
             "command": "gradproof report --only f"}
    key = citation.figure_key("0.1.0", "f", entry)
    assert key == citation.figure_key("0.1.0", "f", dict(entry))
    assert re.fullmatch(r"gradproof-0\.1\.0-f-[0-9a-f]{8}", key)
    assert key != citation.figure_key("0.1.0", "f", {**entry, "caption": "d"})
    bib = citation.bibtex({"package": {"version": "0.1.0"}, "items": {"f": entry}})
    assert "@software{gradproof-0.1.0," in bib and f"@misc{{{key}," in bib
    assert "year = {" in bib and "version = {0.1.0}" in bib
