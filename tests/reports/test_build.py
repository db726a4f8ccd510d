"""``gradproof report``: item registry, temporary folder + swap, --only, --check, -q, bad input.

Most tests build one cheap item (``derivation-rnn-sigmoid``, about 2 s) or the small figure
``lstm-terms``; the full default build runs only in the slow test of test_reports_generated.py.
"""

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from gradproof.reports.determinism import FIGURE_FORMATS
from gradproof.reports.figures.style import COLUMN_WIDTH_IN, PAGE_WIDTH_IN

from gradproof.numerics.errors import InputError
from gradproof.reports import build as rb
from gradproof.reports.cli import report_command
from gradproof.reports.manifest import compare_manifests, numbers_agree, package_version

ROOT = next(p for p in Path(__file__).resolve().parents if (p / "pyproject.toml").is_file())
CHEAP = "derivation-rnn-sigmoid"
ISSUE_FIGURES = ("rnn-bound", "underflow-vs-vanishing", "lstm-forget-bias", "lstm-terms",
                 "lstm-missing-path", "horizon", "phase")


def _cli(*args, cwd=ROOT):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, "-m", "gradproof.reports.cli", "report", *args], cwd=cwd,
                          env=env, capture_output=True, text=True, timeout=300)


def _tree(folder: Path) -> dict:
    return {p.relative_to(folder).as_posix(): p.read_bytes()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    out = tmp_path_factory.mktemp("report") / "out"
    assert report_command(out=str(out), only=[CHEAP, "lstm-terms"], quiet=True) == 0
    return out


@pytest.fixture
def tiny(monkeypatch):
    """A registry holding one instant item (for tests of the build machinery only)."""
    from gradproof.reports.figures.common import ItemResult, Number

    def build(ctx):
        ctx.write_text("data/tiny.txt", "tiny\n")
        return ItemResult(files=["data/tiny.txt"], parameters={"p": 1}, seed=3, engine="test",
                          precision="exact", caption="tiny",
                          numbers=[Number("answer", 0.1 + 0.2, "a float", "1")])

    monkeypatch.setattr(rb, "ITEMS", {"tiny": rb.Item("tiny", "derivation", "Tiny", build)})
    monkeypatch.setattr("gradproof.reports.documents._load_derivations", lambda root, manifest: {})
    return "tiny"


# ----------------------------------------------------------------------------- registry

def test_registry_has_the_issue_figures_and_derivations_and_audit():
    ids = list(rb.ITEMS)
    for fid in ISSUE_FIGURES:
        assert rb.ITEMS[fid].kind == "figure"
    assert "audit" in ids
    assert {"rnn", "lstm", "gru"} <= {spec[1] for spec in rb.DERIVATION_SPECS}
    assert len(ids) == len(set(ids))


def test_list_prints_every_id(capsys):
    assert report_command(list_items=True) == 0
    listed = [line.split()[0] for line in capsys.readouterr().out.splitlines()]
    assert listed == list(rb.ITEMS)


def test_item_command_reproduces_one_item():
    assert rb.item_command("phase") == "gradproof report --only phase"


def test_macro_names_are_letters_only_and_distinct():
    names = {rb.macro_name(i) for i in ("horizon/float32-gradual-exact-zero-step-rho-0p9",
                                        "horizon/float16-gradual-exact-zero-step-rho-0p9",
                                        "a/b1", "a/b2")}
    assert len(names) == 4
    for n in names:
        assert n.startswith("\\gp") and n[1:].isalpha()
    assert rb.macro_name("x/float32") == "\\gpXFloatThreeTwo"


# ----------------------------------------------------------------------------- bad input

def test_unknown_id_is_one_line_exit_2_and_writes_nothing(tmp_path):
    out = tmp_path / "never"
    res = _cli("--only", "no-such-figure", "--out", str(out))
    assert res.returncode == 2
    assert res.stderr.count("\n") == 1 and res.stderr.startswith("gradproof: error: ")
    assert "no-such-figure" in res.stderr and "Traceback" not in res.stderr
    assert not out.exists()


def test_foreign_non_empty_out_is_refused_and_untouched(tmp_path):
    out = tmp_path / "thesis"
    out.mkdir()
    (out / "chapter1.tex").write_text("precious")
    with pytest.raises(InputError, match="no gradproof manifest"):
        report_command(out=str(out), only=[CHEAP], quiet=True)
    assert _tree(out) == {"chapter1.tex": b"precious"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["thesis"]  # no temp folder left


def test_out_that_is_a_file_or_below_a_file_is_refused(tmp_path):
    afile = tmp_path / "file.txt"
    afile.write_text("x")
    with pytest.raises(InputError, match="not a folder"):
        report_command(out=str(afile), only=[CHEAP], quiet=True)
    with pytest.raises(InputError, match="cannot create"):
        report_command(out=str(afile / "sub" / "out"), only=[CHEAP], quiet=True)
    assert afile.read_text() == "x"


def test_foreign_out_via_cli_is_exit_2(tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    res = _cli("--only", CHEAP, "--out", str(tmp_path))
    assert res.returncode == 2 and res.stderr.count("\n") == 1
    assert (tmp_path / "notes.txt").read_text() == "mine"


# ----------------------------------------------------------------------------- output

def test_manifest_records_command_parameters_versions_and_hashes(built):
    text = (built / "manifest.json").read_text()
    manifest = json.loads(text)
    assert text == json.dumps(manifest, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    assert manifest["package"]["version"] == package_version()
    assert set(manifest["items"]) == {CHEAP, "lstm-terms"}
    for item_id, entry in manifest["items"].items():
        assert entry["command"] == f"gradproof report --only {item_id}"
        for key in ("parameters", "seed", "engine", "precision", "versions", "caption"):
            assert key in entry
        assert entry["versions"]["numpy"] and entry["versions"]["python"]
        for rel, digest in entry["files"].items():
            assert hashlib.sha256((built / rel).read_bytes()).hexdigest() == digest
    for rel, digest in manifest["documents"].items():
        assert hashlib.sha256((built / rel).read_bytes()).hexdigest() == digest
    fig = manifest["items"]["lstm-terms"]
    assert sorted(fig["files"]) == ["data/lstm-terms.json", "figures/lstm-terms.pdf",
                                    "figures/lstm-terms.png", "figures/lstm-terms.svg"]
    assert "float64" in fig["precision"] and fig["seed"] == 0


def test_every_quoted_number_is_a_macro_with_its_provenance(built):
    manifest = json.loads((built / "manifest.json").read_text())
    numbers_tex = (built / "tex/numbers.tex").read_text()
    assert manifest["numbers"]
    for nid, num in manifest["numbers"].items():
        assert num["item"] == nid.split("/")[0]
        assert num["command"] == f"gradproof report --only {num['item']}"
        assert f"\\newcommand{{{num['macro']}}}{{\\ensuremath{{{num['display']}}}}}" in numbers_tex
        assert "parameters" in num and "precision" in num and "engine" in num
        assert num["versions"]["sympy"] and num["files"] == manifest["items"][num["item"]]["files"]


def test_quoted_number_matches_the_derivation_record(built):
    """The count of verified steps quoted for the derivation is what its record says."""
    manifest = json.loads((built / "manifest.json").read_text())
    record = json.loads((built / f"data/{CHEAP}.json").read_text())
    verified = sum(s["verdict"] == "verified" for s in record["derivation"])
    assert manifest["numbers"][f"{CHEAP}/steps-verified"]["value"] == verified
    from gradproof.derivations import derive_model

    der = derive_model("rnn", activation="sigmoid", hidden=1, steps=3)
    assert verified == sum(r.verdict == "verified" for r in der.records)


def test_check_is_clean_then_reports_each_stale_file(tiny, tmp_path, capsys):
    out = tmp_path / "out"
    assert report_command(out=str(out), quiet=True) == 0
    assert report_command(out=str(out), check=True, quiet=True) == 0
    # a stale text output
    md = out / "report.md"
    md.write_text(md.read_text() + "hand edit\n")
    # a number changed beyond 12 significant digits is stale; within them it is not
    manifest = json.loads((out / "manifest.json").read_text())
    manifest["numbers"]["tiny/answer"]["value"] = 0.3 + 1e-15
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True))
    capsys.readouterr()
    assert report_command(out=str(out), check=True, quiet=True) == 1
    err = capsys.readouterr().err
    assert "report.md: differs" in err and "manifest.json" not in err
    manifest["numbers"]["tiny/answer"]["value"] = 0.3000001
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True))
    (out / "extra.txt").write_text("x")
    (out / "data/tiny.txt").unlink()
    assert report_command(out=str(out), check=True, quiet=True) == 1
    err = capsys.readouterr().err
    assert "manifest.json: numbers/tiny/answer/value" in err
    assert "extra.txt: not made by the build" in err
    assert "data/tiny.txt: missing" in err
    # --check never writes into the checked folder
    assert md.read_text().endswith("hand edit\n") and (out / "extra.txt").exists()


def test_check_of_a_missing_folder_is_stale(tiny, tmp_path, capsys):
    assert report_command(out=str(tmp_path / "absent"), check=True, quiet=True) == 1
    assert not (tmp_path / "absent").exists()


def test_check_detects_a_tampered_binary_figure(built, tmp_path, capsys):
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(built, copy)
    assert rb.compare_trees(built, copy) == []
    png = copy / "figures/lstm-terms.png"
    png.write_bytes(png.read_bytes() + b"\0")
    svg = copy / "figures/lstm-terms.svg"
    svg.write_text(svg.read_text().replace("<svg", "<svg data-x='1'", 1))
    assert rb.compare_trees(built, copy) == [
        "figures/lstm-terms.png: does not match its SHA-256 in the committed manifest",
        "figures/lstm-terms.svg: differs (same matplotlib, another drawing)"]


@pytest.fixture(scope="module")
def built_two_panel(tmp_path_factory):
    """A figure drawn twice: lstm-forget-bias, page (6.48 in) and column (3.17 in) versions."""
    out = tmp_path_factory.mktemp("report2") / "out"
    assert report_command(out=str(out), only=["lstm-forget-bias"], quiet=True) == 0
    return out


def test_manifest_lists_the_column_version_with_hashes(built_two_panel):
    manifest = json.loads((built_two_panel / "manifest.json").read_text())
    entry = manifest["items"]["lstm-forget-bias"]
    column = [f"figures/lstm-forget-bias-column.{e}" for e in sorted(FIGURE_FORMATS)]
    page = [f"figures/lstm-forget-bias.{e}" for e in sorted(FIGURE_FORMATS)]
    assert sorted(entry["files"]) == ["data/lstm-forget-bias.json", *column, *page]
    for rel in column:  # hashed like every other file
        assert entry["files"][rel] == hashlib.sha256((built_two_panel / rel).read_bytes()).hexdigest()
    v = entry["variants"]
    assert sorted(v) == ["column", "page"]
    assert v["page"] == {"width_in": PAGE_WIDTH_IN, "files": page, "caption": entry["caption"], "primary": True,
                         "tex": "tex/figure-lstm-forget-bias.tex", "label": "fig:lstm-forget-bias"}
    assert v["column"]["files"] == column and v["column"]["width_in"] == COLUMN_WIDTH_IN
    assert v["column"]["primary"] is False and v["column"]["label"] == "fig:lstm-forget-bias-column"
    assert v["column"]["tex"] == "tex/figure-lstm-forget-bias-column.tex"
    assert "tex/figure-lstm-forget-bias-column.tex" in manifest["documents"]
    tex = (built_two_panel / "tex/figure-lstm-forget-bias-column.tex").read_text()
    assert "\\begin{figure}[tbp]" in tex and "\\begin{figure*}" not in tex
    assert "\\includegraphics[width=\\columnwidth]{\\gpfiguredir/lstm-forget-bias-column.pdf}" in tex
    assert "\\label{fig:lstm-forget-bias-column}" in tex and "Top: the true Jacobian" in tex
    page_tex = (built_two_panel / "tex/figure-lstm-forget-bias.tex").read_text()
    assert "\\begin{figure*}[tbp]" in page_tex and "Left: the true Jacobian" in page_tex
    assert "tex/figure-lstm-forget-bias-column.tex" in page_tex  # points to the column version
    # figures.tex holds one float per figure (the page one), not both
    assert (built_two_panel / "tex/figures.tex").read_text().count("\\label{fig:lstm-forget-bias") == 1
    # the documents show one drawing (the page one) and link the column files
    html = (built_two_panel / "report.html").read_text()
    md = (built_two_panel / "report.md").read_text()
    for doc in (html, md):
        assert doc.count("figures/lstm-forget-bias.svg") >= 1
        assert "figures/lstm-forget-bias-column.pdf" in doc
        assert "tex/figure-lstm-forget-bias-column.tex" in doc
    assert html.count("<img") == 1 and "<img src=\"figures/lstm-forget-bias.svg\"" in html
    assert "![lstm-forget-bias](figures/lstm-forget-bias.svg)" in md and md.count("![") == 1


def test_check_detects_a_changed_column_file_as_a_page_file(built_two_panel, tmp_path, capsys):
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(built_two_panel, copy)
    assert rb.compare_trees(built_two_panel, copy) == []
    for name in ("lstm-forget-bias-column.pdf", "lstm-forget-bias.pdf"):
        pdf = copy / "figures" / name
        pdf.write_bytes(pdf.read_bytes() + b"\0")
    svg = copy / "figures/lstm-forget-bias-column.svg"
    svg.write_text(svg.read_text().replace("<svg", "<svg data-x='1'", 1))
    (copy / "figures/lstm-forget-bias-column.png").unlink()
    assert rb.compare_trees(built_two_panel, copy) == [
        "figures/lstm-forget-bias-column.pdf: does not match its SHA-256 in the committed manifest",
        "figures/lstm-forget-bias-column.png: missing (the build makes it)",
        "figures/lstm-forget-bias-column.svg: differs (same matplotlib, another drawing)",
        "figures/lstm-forget-bias.pdf: does not match its SHA-256 in the committed manifest"]
    # and through `gradproof report --check` itself (a rebuild compared with the folder)
    capsys.readouterr()
    assert report_command(out=str(copy), only=["lstm-forget-bias"], check=True, quiet=True) == 1
    err = capsys.readouterr().err
    assert "figures/lstm-forget-bias-column.pdf: does not match its SHA-256" in err


@pytest.mark.parametrize("edit, why", [
    (lambda v: v.update(poster=dict(v["column"])), "variants/poster: not a layout"),
    (lambda v: v["column"].update(primary=True), "exactly one primary"),
    (lambda v: v["column"].update(width_in="wide"), "width_in: expected a width"),
    (lambda v: v["column"].update(files=["../outside.pdf"]), "variants/column/files"),
])
def test_manifest_variants_are_validated(built_two_panel, tmp_path, edit, why):
    import shutil

    from gradproof.reports.outdir import validate_manifest

    manifest = json.loads((built_two_panel / "manifest.json").read_text())
    known = {i.id: i.kind for i in rb.ITEMS.values()}
    assert validate_manifest(manifest, known) is manifest
    edit(manifest["items"]["lstm-forget-bias"]["variants"])
    with pytest.raises(InputError, match=why):
        validate_manifest(manifest, known)
    copy = tmp_path / "copy"
    shutil.copytree(built_two_panel, copy)
    (copy / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(InputError, match=why):  # a build refuses the folder, one line
        rb.build_report(copy, only=["lstm-forget-bias"])


def test_only_keeps_the_other_items_of_a_previous_output(built, tmp_path):
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(built, copy)
    before = _tree(copy)
    assert report_command(out=str(copy), only=[CHEAP], quiet=True) == 0
    after = _tree(copy)
    assert after == before  # deterministic rebuild of one item, everything else kept


def test_failed_build_leaves_previous_output_untouched(built, tmp_path, monkeypatch):
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(built, copy)
    before = _tree(copy)

    def broken(ctx):
        ctx.write_text("report.md", "half-written")
        raise RuntimeError("simulated crash in the middle of a build")

    item = rb.ITEMS[CHEAP]
    # a full build (no --only) whose registry is this one crashing item
    monkeypatch.setattr(rb, "ITEMS", {CHEAP: rb.Item(item.id, item.kind, item.title, broken)})
    with pytest.raises(RuntimeError, match="simulated crash"):
        report_command(out=str(copy), quiet=True)
    assert _tree(copy) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["copy"]  # temp folder removed


def test_progress_one_line_per_item_says_why_and_what_changed(tiny, tmp_path, capsys):
    out = tmp_path / "o"
    assert report_command(out=str(out)) == 0
    lines = capsys.readouterr().err.splitlines()
    item_lines = [line for line in lines if "] tiny:" in line]
    assert len(item_lines) == 1
    assert "rebuilt (full build, recomputed from the code; no previous output)" in item_lines[0]
    assert report_command(out=str(out)) == 0
    assert "identical to the previous output" in capsys.readouterr().err
    assert report_command(out=str(out), only=["tiny"]) == 0
    assert "(selected with --only)" in capsys.readouterr().err
    assert report_command(out=str(out), quiet=True) == 0
    assert capsys.readouterr().err == ""


def test_quiet_run_prints_nothing_at_all(tmp_path):
    """In a fresh process (so library warnings would show): no output with -q."""
    res = _cli("--only", CHEAP, "--out", str(tmp_path / "q"), "-q")
    assert res.returncode == 0, res.stderr
    assert res.stderr == "" and res.stdout == ""
    assert (tmp_path / "q" / "manifest.json").is_file()


def test_numbers_agree_within_the_float64_tolerance():
    assert numbers_agree(1.0, 1.0 + 1e-14)
    assert numbers_agree(-323.30621534311577, -323.306215343116)
    assert numbers_agree(-880.8940040105372, -880.8940040105375)  # issue 9: two CPUs
    assert not numbers_agree(1.0, 1.0 + 1e-8)
    assert not numbers_agree(412, 413)
    assert numbers_agree(float("nan"), float("nan"))
    assert not numbers_agree(float("inf"), 1e308)


def test_compare_manifests_ignores_versions_but_not_values():
    a = {"versions": {"numpy": "1"}, "numbers": {"x": {"value": 0.1}},
         "items": {"f": {"files": {"figures/f.png": "aa", "figures/f.svg": "bb"}}}}
    b = json.loads(json.dumps(a))
    b["versions"]["numpy"] = "2"
    b["items"]["f"]["files"]["figures/f.png"] = "cc"  # binary hash: environment-dependent
    assert compare_manifests(a, b) == []
    b["items"]["f"]["files"]["figures/f.svg"] = "dd"  # SVG files are compared as drawings
    assert compare_manifests(a, b) == []
    b["numbers"]["x"]["value"] = 0.1000001
    diffs = compare_manifests(a, b)
    assert diffs == ["numbers/x/value: committed 0.1000001, built 0.1"]
    b["environment"] = {"cpu_model": "another CPU"}  # informational, never compared
    assert compare_manifests(a, b) == diffs


def test_compare_manifests_by_published_digits_and_basis():
    """float64 numbers: display exactly, value within 1e-9 relative; bounds: display only."""
    num = {"value": -880.8940040105375, "display": "-880.894", "basis": "float64, tolerance 1e-9"}
    res = {"value": 2.220446049250313e-16, "display": "< 1e-12",
           "basis": "bound: float64 residual checked < 1e-12"}
    a = {"numbers": {"n": dict(num), "r": dict(res)}}
    b = json.loads(json.dumps(a))
    b["numbers"]["n"]["value"] = -880.8940040105372  # another CPU's last bits
    b["numbers"]["r"]["value"] = 1.1368683772161603e-13
    assert compare_manifests(a, b) == []
    b["numbers"]["n"]["value"] = -880.8941
    b["numbers"]["n"]["display"] = "-880.895"
    assert compare_manifests(a, b) == [
        "numbers/n/display: committed '-880.895', built '-880.894'",
        "numbers/n/value: committed -880.8941, built -880.8940040105375 (beyond the tolerance 1e-9)"]


def test_default_out_dir_follows_checkout_or_cwd(tmp_path, monkeypatch):
    """From a checkout: the checkout's reports/generated; from an installed wheel: ./reports/generated."""
    import gradproof.reports.build as rb
    from pathlib import Path

    here = Path(rb.__file__).resolve().parent
    if (here.parent / "pyproject.toml").is_file():  # editable install / source checkout
        assert rb.default_out_dir() == here / "generated"
    else:  # .ci/run installs a wheel and runs the tests at the repository root
        assert rb.default_out_dir() == Path.cwd() / "reports" / "generated"
    fake_pkg = tmp_path / "site-packages" / "reports"
    fake_pkg.mkdir(parents=True)
    monkeypatch.setattr(rb, "__file__", str(fake_pkg / "build.py"))
    monkeypatch.chdir(tmp_path)
    assert rb.default_out_dir() == tmp_path / "reports" / "generated"


def test_svg_bytes_compared_only_with_the_same_matplotlib(built, tmp_path, capsys):
    """A different matplotlib redraws the same data with other SVG bytes: those are then not
    compared (with a note), while the figure data in the manifest still is."""
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(built, copy)
    svg = copy / "figures/lstm-terms.svg"
    svg.write_text(svg.read_text().replace("<svg", "<svg data-x='1'", 1))
    assert rb.compare_trees(built, copy) == ["figures/lstm-terms.svg: differs (same matplotlib, "
                                             "another drawing)"]
    manifest = json.loads((copy / "manifest.json").read_text())
    assert rb.renderer_changed(manifest) is None
    manifest["versions"]["matplotlib"] = "0.0.1"
    (copy / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True))
    assert "matplotlib 0.0.1" in rb.renderer_changed(manifest)
    assert rb.compare_trees(built, copy) == []
    # the data behind the figures is still compared
    key = next(k for k in manifest["numbers"] if k.startswith("lstm-terms/"))
    manifest["numbers"][key]["value"] = 1234.5
    (copy / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True))
    stale = rb.compare_trees(built, copy)
    assert len(stale) == 1 and stale[0].startswith("manifest.json:")


def test_check_passes_with_a_note_when_only_tool_versions_differ(built, tmp_path, capsys):
    """Issue 9: committed reports built with another ml_dtypes (and another CPU, recorded in the
    environment) but the same content: exit 0 and a note naming the versions."""
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(built, copy)
    manifest = json.loads((copy / "manifest.json").read_text())
    here = manifest["versions"]["ml_dtypes"]
    manifest["versions"]["ml_dtypes"] = "0.6.0"
    for entry in list(manifest["items"].values()) + list(manifest["numbers"].values()):
        entry["versions"]["ml_dtypes"] = "0.6.0"
    manifest["environment"]["cpu_model"] = "another CPU"
    (copy / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True))
    assert report_command(out=str(copy), only=[CHEAP, "lstm-terms"], check=True, quiet=True) == 0
    err = capsys.readouterr().err
    assert f"ml_dtypes 0.6.0 -> {here}" in err and "note:" in err


def test_check_reports_a_content_difference_with_old_and_new(built, tmp_path, capsys):
    """A changed number: exit 1 and a readable diff naming the file, the number, old and new."""
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(built, copy)
    data = json.loads((copy / "data/lstm-terms.json").read_text())
    old = data["series"]["A"]["spectral_norm"][3]
    data["series"]["A"]["spectral_norm"][3] = "0.123456"
    (copy / "data/lstm-terms.json").write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")
    manifest = json.loads((copy / "manifest.json").read_text())
    key = "lstm-terms/median-norm-b"
    display = manifest["numbers"][key]["display"]
    manifest["numbers"][key]["display"] = "0.5"
    (copy / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True))
    assert report_command(out=str(copy), only=[CHEAP, "lstm-terms"], check=True, quiet=True) == 1
    err = capsys.readouterr().err
    assert (f"data/lstm-terms.json: differs: series/A/spectral_norm[3]: committed \"0.123456\", "
            f"built \"{old}\"") in err
    assert f"numbers/{key}/display: committed '0.5', built '{display}'" in err


def test_svg_compared_as_a_drawing_to_its_sixth_decimal(built, tmp_path):
    """One coordinate moved by one unit of its 6th decimal (float64 last bits on another CPU)
    is the same drawing; a moved point (1e-3) or another element is not."""
    import re
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(built, copy)
    svg = copy / "figures/lstm-terms.svg"
    text = svg.read_text()
    m = re.search(r'(x|y)="(\d+\.\d{6})"', text)
    assert m
    value = float(m.group(2))

    def moved(delta):
        return text[:m.start(2)] + f"{value + delta:.6f}" + text[m.end(2):]

    assert rb.svg_same_drawing(text, moved(1e-6))
    svg.write_text(moved(1e-6))
    assert rb.compare_trees(built, copy) == []
    assert not rb.svg_same_drawing(text, moved(1e-3))
    assert not rb.svg_same_drawing(text, text.replace("<g ", "<g data-x='1' ", 1))


def test_manifest_records_the_environment_and_number_bases(built):
    manifest = json.loads((built / "manifest.json").read_text())
    env = manifest["environment"]
    for key in ("python", "platform", "cpu_model", "blas", "lock_sha256"):
        assert key in env
    lock = ROOT / "requirements.lock"
    if lock.is_file():  # a source checkout has one
        assert env["lock_sha256"] == hashlib.sha256(lock.read_bytes()).hexdigest()
    nums = manifest["numbers"]
    assert nums["derivation-rnn-sigmoid/steps-verified"]["basis"] == "exact"
    med = nums["lstm-terms/median-norm-b"]
    assert med["basis"] == "float64, tolerance 1e-9" and med["digits"] == 6
    assert med["display"] == "0.890200"
