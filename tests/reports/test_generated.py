"""The committed default output, reports/generated/: complete, consistent with its manifest,
and (slow test) exactly what `gradproof report` rebuilds today."""

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from gradproof.reports.determinism import FIGURE_FORMATS, PNG_DPI
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
            stems = [item_id] + ([f"{item_id}-column"] if "page" in entry["variants"]
                                 and len(entry["variants"]) == 2 else [])
            assert sorted(figure_files) == sorted(f"figures/{stem}.{e}" for stem in stems
                                                  for e in sorted(FIGURE_FORMATS))
            assert sorted(f for v in entry["variants"].values() for f in v["files"]) == \
                sorted(figure_files)  # every figure file belongs to exactly one drawing
            assert [f for f in entry["files"] if f.startswith("data/")] == [f"data/{item_id}.json"]
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


TWO_PANEL = ("rnn-bound", "underflow-vs-vanishing", "lstm-forget-bias", "phase", "sweep-phase")


def _figure_files():
    """(item, layout, width_in, stem) of every committed figure drawing."""
    manifest = json.loads((GENERATED / "manifest.json").read_text())
    out = []
    for item_id, entry in manifest["items"].items():
        if entry["kind"] != "figure":
            continue
        for layout, v in sorted(entry["variants"].items()):
            (pdf,) = [f for f in v["files"] if f.endswith(".pdf")]
            out.append((item_id, layout, v["width_in"], pdf[len("figures/"):-len(".pdf")]))
    return out


def test_every_two_panel_figure_has_a_column_version():
    drawings = {(item, layout) for item, layout, _, _ in _figure_files()}
    for item in TWO_PANEL:
        assert {(item, "page"), (item, "column")} <= drawings, item
    assert ("horizon", "column") in drawings and ("horizon", "page") not in drawings


def _pdf_streams(data: bytes) -> list[bytes]:
    import re
    import zlib

    out = []
    for m in re.finditer(rb"stream\r?\n", data):
        end = data.find(b"endstream", m.end())
        body = data[m.end():end]
        try:
            out.append(zlib.decompress(body))
        except zlib.error:
            out.append(body)
    return out


@pytest.mark.parametrize("item, layout, width_in, stem", _figure_files(),
                         ids=[f"{s}" for _, _, _, s in _figure_files()])
def test_every_figure_file_prints_at_its_width_with_fonts_of_7pt_or_more(item, layout, width_in, stem):
    """Read from the files themselves (not from matplotlib): the PDF page (MediaBox) and the
    SVG are exactly the drawing's width (6.48 in for the page, 3.17 in for a column: 100 % in
    the LaTeX float), the PNG is that width at 300 dpi, and every text the PDF sets (``Tf``
    operators) is at least 7 pt, mathematical sub- and superscripts apart."""
    import re
    import struct

    from gradproof.reports.figures.style import COLUMN_WIDTH_IN, MIN_FONT_PT, PAGE_WIDTH_IN

    assert width_in == (COLUMN_WIDTH_IN if layout == "column" else PAGE_WIDTH_IN)
    assert (layout == "column") == stem.endswith("-column") or item in (
        "horizon", "lstm-terms", "lstm-missing-path")
    pdf = (GENERATED / "figures" / f"{stem}.pdf").read_bytes()
    (box,) = set(re.findall(rb"/MediaBox \[\s*([\d. ]+?)\s*\]", pdf))
    x0, y0, x1, y1 = (float(v) for v in box.split())
    assert (x0, y0) == (0.0, 0.0) and x1 == pytest.approx(width_in * 72, abs=1e-6)
    svg = (GENERATED / "figures" / f"{stem}.svg").read_text()
    svg_width = re.search(r'<svg[^>]* width="([\d.]+)pt"', svg).group(1)
    assert float(svg_width) == pytest.approx(width_in * 72, abs=1e-6)
    png = (GENERATED / "figures" / f"{stem}.png").read_bytes()
    (w,) = struct.unpack(">I", png[16:20])  # IHDR width
    assert w == round(width_in * PNG_DPI)
    sizes = sorted({float(v) for stream in _pdf_streams(pdf)
                    for v in re.findall(rb"/\S+ ([\d.]+) Tf", stream)})
    assert sizes
    # every text run is >= 7 pt, except mathtext's sub- and superscripts (the exponent of
    # 2^{-14}, the "max" of sigma_max), which matplotlib sets at 0.7 of their base size (as
    # TeX sets scripts at 7 pt in 10 pt text): 0.7 x a size >= 7 pt
    base = [v for v in sizes if v >= MIN_FONT_PT]
    for v in sizes:
        assert v >= MIN_FONT_PT or any(abs(v - 0.7 * b) < 0.051 for b in base), (v, sizes)
