"""The committed default output, reports/generated/: complete, consistent with its manifest,
and (slow test) exactly what `gradproof report` rebuilds today."""

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from gradproof.reports.latex import tex_number

from gradproof.reports import build as rb

ROOT = next(p for p in Path(__file__).resolve().parents if (p / "pyproject.toml").is_file())
GENERATED = ROOT / "reports" / "generated"


def test_committed_output_has_every_item_and_matching_hashes():
    manifest = json.loads((GENERATED / "manifest.json").read_text())
    assert sorted(manifest["items"]) == sorted(rb.ITEMS)
    for item_id, entry in manifest["items"].items():
        if entry["kind"] == "figure":
            figure_files = [f for f in entry["files"] if f.startswith("figures/")]
            assert sorted(figure_files) == [f"figures/{item_id}.{e}" for e in ("pdf", "png", "svg")]
            assert f"data/{item_id}.json" in entry["files"]
        for rel, digest in {**entry["files"]}.items():
            assert hashlib.sha256((GENERATED / rel).read_bytes()).hexdigest() == digest, rel
    for rel, digest in manifest["documents"].items():
        assert hashlib.sha256((GENERATED / rel).read_bytes()).hexdigest() == digest, rel
    on_disk = {p.relative_to(GENERATED).as_posix() for p in GENERATED.rglob("*") if p.is_file()}
    listed = {"manifest.json", *manifest["documents"]}
    for entry in manifest["items"].values():
        listed |= set(entry["files"])
    assert on_disk == listed  # nothing stale lying around


def test_committed_report_quotes_the_manifest_numbers():
    manifest = json.loads((GENERATED / "manifest.json").read_text())
    md = (GENERATED / "report.md").read_text()
    numbers_tex = (GENERATED / "tex/numbers.tex").read_text()
    for nid, num in manifest["numbers"].items():
        assert f"| `{nid}` | {num['display']} |" in md
        if num["value"] is None:  # no value: an en dash and a warning, never "none"
            assert f"\\newcommand{{{num['macro']}}}{{\\gpnovalue{{{nid}}}}}" in numbers_tex
        else:  # math mode: a true minus sign; a bound "< 1e-9" as < 1\times 10^{-9}
            assert f"\\newcommand{{{num['macro']}}}{{\\ensuremath{{{tex_number(num['display'])}}}}}" in numbers_tex
    zero = manifest["numbers"]["underflow-vs-vanishing/float32-first-zero-step"]
    assert f"float32 at {zero['display']}" in manifest["items"]["underflow-vs-vanishing"]["caption"]


@pytest.mark.slow
def test_gradproof_report_check_passes_on_the_committed_output():
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    res = subprocess.run([sys.executable, "-m", "gradproof.reports.cli", "report", "--check", "-q"],
                         cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    assert res.returncode == 0, res.stderr


def test_manifest_records_the_git_commit_as_information_only():
    from gradproof.reports.manifest import compare_manifests

    manifest = json.loads((GENERATED / "manifest.json").read_text())
    commit = manifest["source"]["git_commit"]
    assert commit == "unknown" or len(commit) == 40
    other = json.loads(json.dumps(manifest))
    other["source"]["git_commit"] = "unknown"  # a fresh clone or an installed wheel
    assert compare_manifests(other, manifest) == []
    other["reproduce"] = "something else"  # ... while real differences are still found
    assert compare_manifests(other, manifest)


@pytest.mark.parametrize("display, tex", [
    ("-0.0807", "-0.0807"), ("12", "12"), ("6.736e-07", r"6.736\times 10^{-7}"),
    ("< 1e-9", r"< 1\times 10^{-9}"), ("<= 2.5e+3", r"\le 2.5\times 10^{3}"),
    ("< 1e-9 (log10 norms)", r"\text{\textless{} 1e-9 (log10 norms)}"),
])
def test_number_displays_in_math_mode(display, tex):
    assert tex_number(display) == tex
