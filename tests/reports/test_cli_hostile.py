"""Hostile input (issue 17): each case asserts the exit status, exactly one stderr line
(``gradproof: error: ...``; none for the cases that must succeed quietly) and that nothing
outside the output folder changed (every byte of the test's folder is snapshotted before and
after; for refused builds the output folder itself must be byte-identical too).

Report-folder cases run ``gradproof.reports.cli.main`` in-process on a registry of instant
items (the folder-safety code is the same for every item); the signal, standard-output,
encoding and matplotlib cases need their own process and use a small driver script.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
import types
import zipfile
from pathlib import Path

import numpy as np
import pytest

from gradproof.reports import build as rb
from gradproof.reports import cli



# ----------------------------------------------------------------------------- helpers

def snapshot(folder: Path) -> dict:
    """Every entry below ``folder``: file bytes' SHA-256, link targets, folders (no following)."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(folder, followlinks=False):
        for name in dirnames + filenames:
            p = Path(dirpath) / name
            rel = p.relative_to(folder).as_posix()
            if p.is_symlink():
                out[rel] = "link:" + os.readlink(p)
            elif p.is_dir():
                out[rel] = "dir"
            elif p.is_file():
                out[rel] = hashlib.sha256(p.read_bytes()).hexdigest()
            else:
                out[rel] = "special"
    return out


def run(capsys, *argv) -> tuple[int, list[str]]:
    capsys.readouterr()
    try:
        rc = cli.main([str(a) for a in argv])
    except SystemExit as exc:  # argparse errors
        rc = exc.code
    return rc, capsys.readouterr().err.splitlines()


def assert_one_error(rc, err, expected_rc=2, match=None):
    assert rc == expected_rc, err
    assert len(err) == 1, err
    assert err[0].startswith("gradproof: error: "), err
    if match is not None:
        assert match in err[0], err


def _instant(item_id):
    from gradproof.reports.figures.common import ItemResult, Number

    def build(ctx):
        rel = ctx.write_text(f"data/{item_id}.txt", f"{item_id}\n")
        return ItemResult(files=[rel], parameters={"p": 1}, seed=0, engine="test",
                          precision="exact", caption=f"caption of {item_id}",
                          numbers=[Number("n", 1.5, "a number", "1")])

    return build


@pytest.fixture
def fast_items(monkeypatch):
    """Two instant items (kind figure: the documents then read no item file)."""
    items = {i: rb.Item(i, "figure", f"Title {i}", _instant(i)) for i in ("alpha", "beta")}
    monkeypatch.setattr(rb, "ITEMS", items)
    monkeypatch.setenv("GRADPROOF_JOBS", "1")
    return items


@pytest.fixture
def world(tmp_path, fast_items, capsys):
    """tmp/out: a previous output of both items; tmp/sibling: files that must never change."""
    sib = tmp_path / "sibling"
    sib.mkdir()
    (sib / "keep.txt").write_text("precious\n")
    (sib / "data").mkdir()
    (sib / "data" / "alpha.json").write_text('{"stolen": true}\n')
    out = tmp_path / "out"
    rc, err = run(capsys, "report", "--out", out, "-q")
    assert rc == 0 and err == []
    return tmp_path


def edit_manifest(out: Path, change) -> None:
    m = json.loads((out / "manifest.json").read_text())
    change(m)
    (out / "manifest.json").write_text(json.dumps(m))


# ----------------------------------------------------------------------------- tampered manifests

def _files(m):
    return m["items"]["alpha"]["files"]


TAMPERED = {
    "absolute-path-in-files": lambda m, t: _files(m).update({str(t / "sibling/keep.txt"): "0" * 64}),
    "dotdot-path-in-files": lambda m, t: _files(m).update({"../sibling/keep.txt": "0" * 64}),
    "dotdot-inside-path": lambda m, t: _files(m).update({"data/../../sibling/keep.txt": "0" * 64}),
    "backslash-path": lambda m, t: _files(m).update({"..\\sibling\\keep.txt": "0" * 64}),
    "control-char-path": lambda m, t: _files(m).update({"data/a\nb.txt": "0" * 64}),
    "empty-path": lambda m, t: _files(m).update({"": "0" * 64}),
    "files-not-a-dict": lambda m, t: m["items"]["alpha"].update(files=["data/alpha.txt"]),
    "hash-not-hex": lambda m, t: _files(m).update({"data/alpha.txt": "zz"}),
    "manifest-lists-itself": lambda m, t: _files(m).update({"manifest.json": "0" * 64}),
    "documents-absolute": lambda m, t: m["documents"].update({str(t / "sibling/keep.txt"): "0" * 64}),
    "number-files-dotdot": lambda m, t: m["numbers"]["alpha/n"]["files"].update({"../sibling/keep.txt": "0" * 64}),
    "html-in-item-id": lambda m, t: m["items"].update({"<i>gp-injected</i>": dict(m["items"]["alpha"])}),
    "path-in-item-id": lambda m, t: m["items"].update({"../../sibling/data/alpha": dict(m["items"]["alpha"])}),
    "items-not-a-dict": lambda m, t: m.update(items=[1, 2]),
    "item-entry-a-number": lambda m, t: m["items"].update(alpha=3),
    "numbers-not-a-dict": lambda m, t: m.update(numbers="x"),
    "number-entry-a-number": lambda m, t: m["numbers"].update({"alpha/n": 7}),
    "number-of-unknown-item": lambda m, t: m["numbers"].update({"zeta/n": dict(m["numbers"]["alpha/n"], item="zeta")}),
    "latex-in-macro": lambda m, t: m["numbers"]["alpha/n"].update(macro="\\input{/etc/passwd}"),
    "newline-in-display": lambda m, t: m["numbers"]["alpha/n"].update(display="1\n\\input{/etc/passwd}"),
    "kind-changed": lambda m, t: m["items"]["alpha"].update(kind="derivation"),
    "title-not-a-string": lambda m, t: m["items"]["alpha"].update(title={"a": 1}),
    "package-not-a-dict": lambda m, t: m.update(package=[]),
}


@pytest.mark.parametrize("mode", ["build", "only", "check"])
@pytest.mark.parametrize("case", sorted(TAMPERED))
def test_tampered_manifest_is_refused_and_nothing_changes(world, capsys, case, mode):
    out = world / "out"
    edit_manifest(out, lambda m: TAMPERED[case](m, world))
    before = snapshot(world)
    extra = {"build": [], "only": ["--only", "alpha"], "check": ["--check"]}[mode]
    rc, err = run(capsys, "report", "--out", out, "-q", *extra)
    assert_one_error(rc, err)
    assert snapshot(world) == before


@pytest.mark.parametrize("text", ["{not json", "[1, 2, 3]", "[" * 100000 + "]" * 100000,
                                  '{"gradproof_manifest": NaN}', '"just a string"'])
def test_unreadable_manifest_means_a_foreign_folder(world, capsys, text):
    out = world / "out"
    (out / "manifest.json").write_text(text)
    before = snapshot(world)
    rc, err = run(capsys, "report", "--out", out, "-q")
    assert_one_error(rc, err, match="no gradproof manifest.json")
    assert snapshot(world) == before


def test_oversized_manifest_is_refused(world, capsys, monkeypatch):
    from gradproof.reports import outdir

    monkeypatch.setattr(outdir, "MAX_MANIFEST_BYTES", 100)
    before = snapshot(world)
    rc, err = run(capsys, "report", "--out", world / "out", "-q")
    assert_one_error(rc, err, match="more than a gradproof manifest")
    assert snapshot(world) == before


def test_unknown_item_is_replaced_by_a_full_build_and_refused_by_only(world, capsys):
    out = world / "out"
    edit_manifest(out, lambda m: m["items"].update(gone=dict(m["items"]["alpha"], kind="figure",
                                                             files={})))
    before = snapshot(world)
    rc, err = run(capsys, "report", "--out", out, "-q", "--only", "alpha")
    assert_one_error(rc, err, match="cannot keep item gone")
    assert snapshot(world) == before
    rc, err = run(capsys, "report", "--out", out, "-q")
    assert rc == 0 and err == []
    assert "gone" not in json.loads((out / "manifest.json").read_text())["items"]
    assert {k: v for k, v in snapshot(world).items() if not k.startswith("out")} == \
        {k: v for k, v in before.items() if not k.startswith("out")}


def test_injected_caption_is_escaped_in_html(world, capsys):
    out = world / "out"
    edit_manifest(out, lambda m: m["items"]["beta"].update(caption="<script>alert(1)</script>",
                                                          title="<b>gp-title</b>",
                                                          engine="<i>gp-engine</i>"))
    rc, err = run(capsys, "report", "--out", out, "-q", "--only", "alpha")
    assert rc == 0 and err == []
    html = (out / "report.html").read_text()
    assert "<script>" not in html and "<i>gp-engine</i>" not in html and "<b>gp-title" not in html
    assert "&lt;script&gt;" in html and "Title beta" in html  # title from the registry


# ----------------------------------------------------------------------------- the folder itself

def _make_link_to_sibling(out, t):
    os.symlink(t / "sibling", out / "data" / "evil")


FOLDER = {
    "dangling-link-inside": lambda out, t: os.symlink(t / "nowhere", out / "data" / "dangling"),
    "link-loop-inside": lambda out, t: os.symlink(out / "data" / "loop", out / "data" / "loop"),
    "link-to-sibling-inside": _make_link_to_sibling,
    "manifest-is-a-link": lambda out, t: (os.replace(out / "manifest.json", t / "sibling" / "m.json"),
                                          os.symlink(t / "sibling" / "m.json", out / "manifest.json")),
    "item-file-is-a-link": lambda out, t: ((out / "data" / "alpha.txt").unlink(),
                                           os.symlink(t / "sibling" / "keep.txt", out / "data" / "alpha.txt")),
    "fifo-inside": lambda out, t: os.mkfifo(out / "data" / "pipe"),
}


@pytest.mark.parametrize("mode", ["build", "only", "check"])
@pytest.mark.parametrize("case", sorted(FOLDER))
def test_links_and_special_files_in_out_are_refused(world, capsys, case, mode):
    out = world / "out"
    FOLDER[case](out, world)
    before = snapshot(world)
    extra = {"build": [], "only": ["--only", "alpha"], "check": ["--check"]}[mode]
    rc, err = run(capsys, "report", "--out", out, "-q", *extra)
    assert_one_error(rc, err)
    assert snapshot(world) == before


@pytest.mark.parametrize("what", ["file", "folder", "nested-file"])
def test_files_gradproof_did_not_write_are_named_and_kept(world, capsys, what):
    out = world / "out"
    if what == "file":
        (out / "notes.txt").write_text("mine\n")
    elif what == "folder":
        (out / "drafts").mkdir()
    else:
        (out / "data" / "my-analysis.csv").write_text("1,2\n")
    before = snapshot(world)
    rc, err = run(capsys, "report", "--out", out, "-q", "--only", "alpha")
    assert_one_error(rc, err, match="gradproof did not write")
    assert snapshot(world) == before


def test_only_refuses_to_keep_a_changed_or_missing_file(world, capsys):
    out = world / "out"
    (out / "data" / "beta.txt").write_text("edited\n")
    before = snapshot(world)
    rc, err = run(capsys, "report", "--out", out, "-q", "--only", "alpha")
    assert_one_error(rc, err, match="data/beta.txt differs")
    assert snapshot(world) == before
    (out / "data" / "beta.txt").unlink()
    before = snapshot(world)
    rc, err = run(capsys, "report", "--out", out, "-q", "--only", "alpha")
    assert_one_error(rc, err, match="data/beta.txt is missing")
    assert snapshot(world) == before


def test_symlinked_out_updates_its_target_and_keeps_the_link(world, capsys):
    out = world / "out"
    link = world / "link"
    os.symlink(out, link)
    (out / "report.md").write_text("stale\n")
    rc, err = run(capsys, "report", "--out", link, "-q")
    assert rc == 0 and err == []
    assert link.is_symlink() and os.readlink(link) == str(out)
    assert (out / "report.md").read_text().startswith("# gradproof report")
    assert sorted(p.name for p in world.iterdir()) == ["link", "out", "sibling"]


@pytest.mark.parametrize("case", ["dangling", "loop", "to-a-file", "empty", "a-file",
                                  "below-a-file", "nul"])
def test_bad_out_argument_is_one_line(world, capsys, case):
    t = world
    target = {"dangling": t / "dl", "loop": t / "lp", "to-a-file": t / "tf", "empty": "",
              "a-file": t / "sibling" / "keep.txt", "below-a-file": t / "sibling" / "keep.txt" / "x",
              "nul": "a\x00b"}[case]
    if case == "dangling":
        os.symlink(t / "nowhere", t / "dl")
    elif case == "loop":
        os.symlink(t / "lp", t / "lp")
    elif case == "to-a-file":
        os.symlink(t / "sibling" / "keep.txt", t / "tf")
    before = snapshot(world)
    rc, err = run(capsys, "report", "--out", target, "-q")
    assert_one_error(rc, err)
    assert snapshot(world) == before


def test_check_writes_nothing_anywhere(world, capsys):
    out = world / "out"
    (out / "report.md").write_text("hand edit\n")
    (out / "extra.txt").write_text("x\n")
    before = snapshot(world)
    rc, err = run(capsys, "report", "--out", out, "-q", "--check")
    assert rc == 1
    assert any(line.startswith("  report.md: differs") for line in err)
    assert "  extra.txt: not made by the build" in err
    assert snapshot(world) == before
    rc, err = run(capsys, "report", "--out", world / "absent", "-q", "--check")
    assert rc == 1 and snapshot(world) == before


@pytest.mark.parametrize("only", ["../../etc/passwd", "<i>x</i>", "alpha/../beta"])
def test_unknown_only_id_is_one_line(world, capsys, only):
    before = snapshot(world)
    rc, err = run(capsys, "report", "--out", world / "out", "-q", "--only", only)
    assert_one_error(rc, err, match="unknown report item")
    assert snapshot(world) == before


def test_documents_never_read_a_file_outside_out(tmp_path):
    from gradproof.numerics.errors import InputError
    from gradproof.reports.documents import _load_derivations

    (tmp_path / "out" / "data").mkdir(parents=True)
    (tmp_path / "secret.json").write_text('{"derivation": []}')
    for item_id in ("../../secret", "/" + str(tmp_path / "secret")):
        with pytest.raises(InputError):
            _load_derivations(tmp_path / "out", {"items": {item_id: {"kind": "derivation"}}})
    os.symlink(tmp_path / "secret.json", tmp_path / "out" / "data" / "x.json")
    with pytest.raises(InputError, match="symbolic link|missing"):
        _load_derivations(tmp_path / "out", {"items": {"x": {"kind": "derivation"}}})


# ----------------------------------------------------------------------------- numeric options

@pytest.mark.parametrize("argv, match", [
    (["product", "rnn", "--spectral-norm", "1e200"], "1e+150"),
    (["horizon", "rnn", "--spectral-norm", "1e308"], "1e+150"),
    (["product", "rnn", "--spectral-norm", "2e150"], "1e+150"),
    (["product", "lstm", "--forget-bias=-1e200"], "1e+150"),
    (["product", "rnn", "--spectral-norm", "1e999"], "finite"),
    (["product", "rnn", "--spectral-norm", "nan"], "ASCII decimal"),
    (["product", "rnn", "--hidden", "\u0663"], "digits 0-9"),
    (["product", "rnn", "--steps", "1_000"], "digits 0-9"),
    (["product", "rnn", "--seed", " 3"], "digits 0-9"),
    (["product", "rnn", "--hidden", "+4"], "digits 0-9"),
    (["product", "rnn", "--steps", "9" * 40], "digits 0-9"),
    (["product", "rnn", "--spectral-norm", "\u0661"], "ASCII decimal"),
    (["product", "rnn", "--spectral-norm", "1_0"], "ASCII decimal"),
    (["horizon", "--factor", "0x1p-1"], "ASCII decimal"),
    (["horizon", "--factor", "0.5", "--hidden", "3"], "no effect with --factor"),
    (["product", "rnn", "--hidden", "100000", "--force"], "memory"),
    (["product", "rnn", "--steps", str(10 ** 12), "--force"], "memory"),
    (["horizon", "lstm", "--steps", str(10 ** 8), "--force"], "memory"),
    (["product", "gru", "--hidden", "3000"], "budget"),
    (["report", "--out", ""], "empty"),
])
def test_bad_numeric_options_are_one_line(tmp_path, capsys, argv, match):
    before = snapshot(tmp_path)
    rc, err = run(capsys, *argv)
    assert_one_error(rc, err, match=match)
    assert snapshot(tmp_path) == before


def test_memory_estimate_refuses_before_allocating(tmp_path, capsys, monkeypatch):
    from gradproof.numerics import limits

    monkeypatch.setattr(limits, "available_bytes", lambda: (50 * 2 ** 20, "test limit"))
    rc, err = run(capsys, "product", "rnn", "--steps", "200000")
    assert_one_error(rc, err, match="left under the test limit")
    assert "reduce --steps or --hidden" in err[0]


def test_memory_error_is_one_line_with_the_size(tmp_path, capsys, monkeypatch):
    import gradproof.numerics.product_report as pr

    def oom(**kwargs):
        raise MemoryError("Unable to allocate 9.54 GiB for an array with shape (80000, 4, 4)")

    monkeypatch.setattr(pr, "product_report", oom)
    rc, err = run(capsys, "product", "rnn", "--steps", "80000")
    assert_one_error(rc, err, match="out of memory: Unable to allocate 9.54 GiB")
    assert "steps 80000" in err[0] and "reduce --steps" in err[0]


@pytest.mark.parametrize("jobs", ["\u0663", "0", "1_0", "-1", "two"])
def test_bad_gradproof_jobs_is_one_line(world, capsys, monkeypatch, jobs):
    monkeypatch.setenv("GRADPROOF_JOBS", jobs)
    before = snapshot(world)
    rc, err = run(capsys, "report", "--out", world / "out", "-q", "--only", "alpha", "beta")
    assert_one_error(rc, err, match="GRADPROOF_JOBS")
    assert snapshot(world) == before


def test_dependency_warnings_become_one_summary_line(capsys, monkeypatch):
    import warnings

    import gradproof.numerics.horizon as hz

    original = hz.horizon_report

    def noisy(**kwargs):
        warnings.warn("overflow encountered in multiply\nsecond line", RuntimeWarning)
        warnings.warn("another one", UserWarning)
        return original(**kwargs)

    monkeypatch.setattr(hz, "horizon_report", noisy)
    rc, err = run(capsys, "horizon", "--factor", "0.5")
    assert rc == 0
    assert err == ["gradproof: warning: RuntimeWarning from a dependency: overflow encountered in "
                   "multiply second line (+1 more)"]


# ----------------------------------------------------------------------------- weights and inputs

def _state(model="rnn", n=3, d=2, scale=0.5):
    g = {"rnn": 1, "lstm": 4, "gru": 3}[model]
    rng = np.random.default_rng(0)
    return {"weight_ih_l0": rng.normal(size=(g * n, d)) * scale,
            "weight_hh_l0": rng.normal(size=(g * n, n)) * scale,
            "bias_ih_l0": np.zeros(g * n), "bias_hh_l0": np.zeros(g * n)}


def _npy_bytes(a) -> bytes:
    import io

    buf = io.BytesIO()
    np.save(buf, a)
    return buf.getvalue()


def _lying_npy(declared: tuple, a) -> bytes:
    """A well-formed .npy header declaring ``declared`` followed by the (smaller) data of ``a``."""
    import io

    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, {"descr": np.lib.format.dtype_to_descr(a.dtype),
                                                "fortran_order": False, "shape": declared})
    return buf.getvalue() + a.tobytes()


def make_weights(t: Path, case: str) -> tuple[str, Path]:
    p = t / "w.npz"
    if case == "broken-deflate":
        np.savez_compressed(p, **_state())
        raw = bytearray(p.read_bytes())
        raw[60:80] = b"\xff" * 20
        p.write_bytes(bytes(raw))
    elif case == "npy-renamed-npz":
        p.write_bytes(_npy_bytes(np.ones((3, 3))))
    elif case == "lying-member-header":
        sd = _state()
        with zipfile.ZipFile(p, "w") as zf:
            for k, v in sd.items():
                data = _lying_npy((9999, 3), v) if k == "weight_hh_l0" else _npy_bytes(v)
                zf.writestr(k + ".npy", data)
    elif case == "not-a-zip":
        p.write_bytes(b"PK\x03\x04 definitely not a zip archive")
    elif case == "truncated-zip":
        np.savez(p, **_state())
        p.write_bytes(p.read_bytes()[:300])
    elif case == "foreign-member":
        with zipfile.ZipFile(p, "w") as zf:
            zf.writestr("payload.sh", "rm -rf /")
    elif case == "object-dtype":
        sd = _state()
        with zipfile.ZipFile(p, "w") as zf:
            for k, v in sd.items():
                arr = np.array([None] * v.size, dtype=object).reshape(v.shape) if k == "bias_ih_l0" else v
                import io
                buf = io.BytesIO()
                np.save(buf, arr, allow_pickle=True)
                zf.writestr(k + ".npy", buf.getvalue())
    elif case == "huge-rnn-weights":
        sd = _state()
        sd["weight_hh_l0"][:] = 1e308
        np.savez(p, **sd)
    elif case == "lstm-bias-overflow":
        sd = _state("lstm")
        sd["bias_ih_l0"][:] = 1e308
        sd["bias_hh_l0"][:] = 1e308
        np.savez(p, **sd)
        return "lstm", p
    elif case == "nan-weights":
        sd = _state()
        sd["weight_hh_l0"][0, 0] = np.nan
        np.savez(p, **sd)
    elif case == "string-dtype":
        sd = _state()
        sd["bias_hh_l0"] = np.array(["a", "b", "c"])
        np.savez(p, **sd)
    elif case == "missing-key":
        sd = _state()
        del sd["bias_hh_l0"]
        np.savez(p, **sd)
    elif case == "wrong-shape":
        sd = _state()
        sd["weight_hh_l0"] = np.ones((3, 4))
        np.savez(p, **sd)
    elif case == "empty-file":
        p.write_bytes(b"")
    elif case == "too-many-members":
        with zipfile.ZipFile(p, "w") as zf:
            for i in range(4097):  # numerics.npyheader.MAX_MEMBERS + 1
                zf.writestr(f"m{i}.npy", _npy_bytes(np.zeros(1)))
    elif case == "missing-file":
        p = t / "absent \u00fc.npz"
    else:  # pragma: no cover
        raise AssertionError(case)
    return "rnn", p


WEIGHT_CASES = ["broken-deflate", "npy-renamed-npz", "lying-member-header", "not-a-zip",
                "truncated-zip", "foreign-member", "object-dtype", "huge-rnn-weights",
                "lstm-bias-overflow", "nan-weights", "string-dtype", "missing-key", "wrong-shape",
                "empty-file", "too-many-members", "missing-file"]


@pytest.mark.parametrize("command", ["product", "horizon", "lags"])
@pytest.mark.parametrize("case", WEIGHT_CASES)
def test_hostile_weights_are_one_line(tmp_path, capsys, case, command):
    model, path = make_weights(tmp_path, case)
    before = snapshot(tmp_path)
    rc, err = run(capsys, command, model, "--weights", path)
    assert_one_error(rc, err)
    assert "Warning" not in err[0]
    assert snapshot(tmp_path) == before


def make_inputs(t: Path, case: str) -> Path:
    p = t / "x.npy"
    if case == "lying-header":
        p.write_bytes(_lying_npy((300000, 2), np.ones((3, 2))))
    elif case == "truncated":
        p.write_bytes(_npy_bytes(np.ones((30, 2)))[:-16])
    elif case == "an-npz":
        np.savez(t / "x.npz", a=np.ones((3, 2)))
        os.replace(t / "x.npz", p)
    elif case == "huge-values":
        np.save(p, np.full((4, 2), 1e308))
    elif case == "object-dtype":
        np.save(p, np.array([[None, None]], dtype=object), allow_pickle=True)
    elif case == "one-dimensional":
        np.save(p, np.ones(5))
    elif case == "wrong-columns":
        np.save(p, np.ones((5, 7)))
    elif case == "text-file":
        p.write_text("1,2\n3,4\n")
    elif case == "header-only":
        p.write_bytes(_npy_bytes(np.ones((3, 2)))[:20])
    else:  # pragma: no cover
        raise AssertionError(case)
    return p


INPUT_CASES = ["lying-header", "truncated", "an-npz", "huge-values", "object-dtype",
               "one-dimensional", "wrong-columns", "text-file", "header-only"]


@pytest.mark.parametrize("case", INPUT_CASES)
def test_hostile_inputs_are_one_line(tmp_path, capsys, case):
    np.savez(tmp_path / "w.npz", **_state())
    x = make_inputs(tmp_path, case)
    before = snapshot(tmp_path)
    rc, err = run(capsys, "product", "rnn", "--weights", tmp_path / "w.npz", "--inputs", x)
    assert_one_error(rc, err)
    assert snapshot(tmp_path) == before


def test_budget_from_headers_before_loading_weights(tmp_path, capsys, monkeypatch):
    """A weights file declaring hidden 3000 is refused from its headers; nothing is loaded."""
    import gradproof.numerics.weights as w

    n = 3000
    zeros = {"weight_ih_l0": np.zeros((n, 1), np.float32), "weight_hh_l0": np.zeros((n, n), np.float32),
             "bias_ih_l0": np.zeros(n, np.float32), "bias_hh_l0": np.zeros(n, np.float32)}
    np.savez_compressed(tmp_path / "big.npz", **zeros)
    del zeros

    def no_load(*a, **k):
        raise AssertionError("arrays loaded before the budget check")

    monkeypatch.setattr(w, "load_npz", no_load)
    rc, err = run(capsys, "horizon", "rnn", "--weights", tmp_path / "big.npz")
    assert_one_error(rc, err, match="state size 3000 exceeds the budget")


def test_budget_from_headers_before_loading_inputs(tmp_path, capsys, monkeypatch):
    """An inputs header declaring 3 million rows (a sparse file) is refused unread."""
    import gradproof.numerics.weights as w

    import io

    rows, d = 3_000_000, 4
    p = tmp_path / "big.npy"
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, {"descr": "<f8", "fortran_order": False, "shape": (rows, d)})
    with open(p, "wb") as fh:
        fh.write(buf.getvalue())
        fh.truncate(len(buf.getvalue()) + 8 * rows * d)

    def no_load(*a, **k):
        raise AssertionError("inputs loaded before the budget check")

    monkeypatch.setattr(w, "load_npy", no_load)
    rc, err = run(capsys, "product", "rnn", "--inputs", p)
    assert_one_error(rc, err, match="exceed the budget")


@pytest.mark.parametrize("argv, match", [
    (["--weights", "W", "--hidden", "8"], "--hidden 8 conflicts with --weights"),
    (["--inputs", "X", "--steps", "10"], "--steps 10 conflicts with --inputs"),
    (["--weights", "W", "--inputs", "X", "--seed", "5"], "--seed 5 has no effect"),
])
@pytest.mark.parametrize("command", ["product", "horizon"])
def test_options_a_file_overrides_are_refused(tmp_path, capsys, argv, match, command):
    np.savez(tmp_path / "w.npz", **_state())
    np.save(tmp_path / "x.npy", np.ones((5, 2)))
    argv = [str(tmp_path / "w.npz") if a == "W" else str(tmp_path / "x.npy") if a == "X" else a
            for a in argv]
    rc, err = run(capsys, command, "rnn", *argv)
    assert_one_error(rc, err, match=match)


# ----------------------------------------------------------------------------- torch (.pt)

class _FakeTensor:
    def __init__(self, a):
        self.a = np.asarray(a)

    def detach(self):
        return self

    def cpu(self):
        return self

    def numpy(self):
        return self.a


def _fake_torch(version, load):
    return types.SimpleNamespace(__version__=version, load=load)


@pytest.mark.parametrize("version", ["2.5.1", "1.13.0+cpu", "2.0", "banana"])
def test_old_or_unknown_torch_is_refused_before_loading(tmp_path, capsys, monkeypatch, version):
    (tmp_path / "w.pt").write_bytes(b"\x80\x02 pretend pickle")

    def load(*a, **k):
        raise AssertionError("torch.load called with a vulnerable torch")

    monkeypatch.setitem(sys.modules, "torch", _fake_torch(version, load))
    before = snapshot(tmp_path)
    rc, err = run(capsys, "product", "rnn", "--weights", tmp_path / "w.pt")
    assert_one_error(rc, err, match="torch")
    if version != "banana":
        assert "CVE-2025-32434" in err[0]
    assert snapshot(tmp_path) == before


def test_new_torch_loads_and_its_warnings_are_captured(tmp_path, capsys, monkeypatch):
    import warnings

    (tmp_path / "w.pt").write_bytes(b"zip")
    sd = {k: _FakeTensor(v) for k, v in _state().items()}
    calls = []

    def load(path, map_location=None, weights_only=False):
        calls.append(weights_only)
        warnings.warn("You are using `torch.load` with a legacy format\nline 2\nline 3", UserWarning)
        return sd

    monkeypatch.setitem(sys.modules, "torch", _fake_torch("2.6.0", load))
    rc, err = run(capsys, "product", "rnn", "--weights", tmp_path / "w.pt")
    assert rc == 0 and err == [] and calls == [True]


def test_torch_refusal_of_a_malicious_file_is_one_line(tmp_path, capsys, monkeypatch):
    import warnings

    (tmp_path / "evil.pth").write_bytes(b"legacy")

    def load(path, map_location=None, weights_only=False):
        warnings.warn("legacy format\nsecond line\nthird line", UserWarning)
        raise RuntimeError("Weights only load failed. Unsupported global: GLOBAL os.system")

    monkeypatch.setitem(sys.modules, "torch", _fake_torch("2.7.1", load))
    rc, err = run(capsys, "product", "rnn", "--weights", tmp_path / "evil.pth")
    assert_one_error(rc, err, match="torch refused it")


def test_pt_without_torch_is_one_line(tmp_path, capsys, monkeypatch):
    (tmp_path / "w.pt").write_bytes(b"zip")
    monkeypatch.setitem(sys.modules, "torch", None)  # import torch -> ImportError
    rc, err = run(capsys, "product", "rnn", "--weights", tmp_path / "w.pt")
    assert_one_error(rc, err, match="need torch")


# ----------------------------------------------------------------------------- own process

def _env(**extra):
    env = dict(os.environ)
    env.pop("MPLBACKEND", None)
    env.update(extra)
    return env


def _gp(*args):
    return [sys.executable, "-m", "gradproof.reports.cli", *args]


@pytest.mark.parametrize("redirect", ["closed", "full"])
def test_closed_or_full_stdout_is_one_line(tmp_path, redirect):
    before = snapshot(tmp_path)
    if redirect == "closed":
        res = subprocess.run(_gp("horizon", "--factor", "0.5"), stdout=None, stderr=subprocess.PIPE,
                             env=_env(), text=True, timeout=120, pass_fds=(),
                             preexec_fn=lambda: os.close(1))
    else:
        with open("/dev/full", "w") as full:
            res = subprocess.run(_gp("horizon", "--factor", "0.5"), stdout=full,
                                 stderr=subprocess.PIPE, env=_env(), text=True, timeout=120)
    err = res.stderr.splitlines()
    assert_one_error(res.returncode, err, match="cannot write to standard output")
    assert snapshot(tmp_path) == before


def test_address_space_limit_is_checked_before_allocating(tmp_path):
    """Under ``ulimit -v 1 GB`` an accepted size (T N^2 = 1.6e7 entries) is refused up front."""
    import resource

    def limit():
        resource.setrlimit(resource.RLIMIT_AS, (2 ** 30, 2 ** 30))

    before = snapshot(tmp_path)
    res = subprocess.run(_gp("product", "rnn", "--hidden", "4", "--steps", "1000000"),
                         capture_output=True, text=True, env=_env(), timeout=120, preexec_fn=limit)
    assert_one_error(res.returncode, res.stderr.splitlines(), match="ulimit -v")
    assert snapshot(tmp_path) == before


def test_closed_pipe_is_quiet_exit_0(tmp_path):
    p = subprocess.Popen(_gp("horizon", "--factor", "0.5"), stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, env=_env())
    p.stdout.read(10)
    p.stdout.close()
    err = p.stderr.read().decode()
    assert p.wait(timeout=120) == 0 and err == ""


def test_ascii_output_encoding_with_a_unicode_path(tmp_path):
    folder = tmp_path / "\u00fcber"
    folder.mkdir()
    np.savez(folder / "w.npz", **_state())
    before = snapshot(tmp_path)
    res = subprocess.run(_gp("product", "rnn", "--weights", str(folder / "w.npz")),
                         capture_output=True, env=_env(PYTHONIOENCODING="ascii"), timeout=120)
    assert res.returncode == 0 and res.stderr == b""
    assert b"\\xfcber" in res.stdout
    res = subprocess.run(_gp("product", "rnn", "--weights", str(folder / "absent.npz")),
                         capture_output=True, env=_env(PYTHONIOENCODING="ascii"), timeout=120)
    assert_one_error(res.returncode, res.stderr.decode("ascii").splitlines())
    assert snapshot(tmp_path) == before


def test_undecodable_bytes_in_a_path_are_escaped(tmp_path):
    name = os.fsdecode(b"w\xff.npz")  # not UTF-8: a surrogate escape in argv
    np.savez(tmp_path / name, **_state())
    res = subprocess.run([sys.executable, "-m", "gradproof.reports.cli", "product", "rnn",
                          "--weights", os.fsencode(str(tmp_path / name))],
                         capture_output=True, env=_env(), timeout=120)
    assert res.returncode == 0 and res.stderr == b""
    assert b"w\xff.npz" in res.stdout or b"w\\udcff.npz" in res.stdout  # raw byte or escape


DRIVER = r'''
import os, sys, time
from gradproof.reports import build as rb
from gradproof.reports import cli
from gradproof.reports.figures.common import ItemResult

MODE = os.environ["DRIVER_MODE"]
MARKS = os.environ["DRIVER_MARKS"]

def make(item_id):
    def build(ctx):
        if MODE == "slow":
            open(os.path.join(MARKS, f"{item_id}.{os.getpid()}"), "w").close()
            time.sleep(120)
        if MODE == "plot":
            import matplotlib.pyplot as plt
            fig, ax = plt.subplots()
            ax.plot([0, 1], [0, 1])
            fig.savefig(ctx.path(f"figures/{item_id}.svg"), format="svg")
            plt.close(fig)
            rel = f"figures/{item_id}.svg"
        else:
            rel = ctx.write_text(f"data/{item_id}.txt", item_id + "\n")
        return ItemResult(files=[rel], parameters={}, seed=None, engine="e", precision="p",
                          caption="c")
    return build

rb.ITEMS = {i: rb.Item(i, "figure", i, make(i)) for i in ("alpha", "beta")}
sys.exit(cli.main(sys.argv[1:]))
'''


def _driver(tmp_path, mode, *args, **env):
    script = tmp_path / "driver.py"
    script.write_text(DRIVER)
    marks = tmp_path / "marks"
    marks.mkdir(exist_ok=True)
    return [sys.executable, str(script), *args], _env(DRIVER_MODE=mode, DRIVER_MARKS=str(marks),
                                                      GRADPROOF_JOBS="2", **env)


_SLOW = pytest.mark.slow  # about 3 s each (a process start); two kinds stay in the default run


@pytest.mark.parametrize("how", ["SIGTERM-group", "SIGKILL-worker",
                                 pytest.param("SIGTERM-main", marks=_SLOW),
                                 pytest.param("SIGINT-main", marks=_SLOW),
                                 pytest.param("SIGINT-group", marks=_SLOW),
                                 pytest.param("SIGHUP-main", marks=_SLOW)])
def test_signals_stop_workers_and_leave_the_previous_output(tmp_path, capsys, fast_items, how):
    base = tmp_path / "w"
    base.mkdir()
    out = base / "out"
    rc, err = run(capsys, "report", "--out", out, "-q")  # the previous output, in-process
    assert rc == 0 and err == []
    (base / "sibling.txt").write_text("keep\n")
    before = snapshot(base)
    argv, env = _driver(tmp_path, "slow", "report", "--out", str(out), "-q")
    p = subprocess.Popen(argv, env=env, stderr=subprocess.PIPE, text=True, start_new_session=True)
    marks = tmp_path / "marks"
    deadline = time.monotonic() + 60
    while len(list(marks.iterdir())) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    workers = [int(m.suffix[1:]) for m in marks.iterdir()]
    assert len(workers) == 2
    name, target = how.split("-")
    sig = getattr(signal, name)
    if target == "worker":
        os.kill(workers[0], sig)
    elif target == "group":
        os.killpg(p.pid, sig)
    else:
        os.kill(p.pid, sig)
    err = p.communicate(timeout=60)[1].splitlines()
    expected = {"SIGTERM": 143, "SIGINT": 130, "SIGHUP": 129, "SIGKILL": 1}[name]
    assert p.returncode == expected, err
    assert len(err) == 1, err
    if target == "worker":
        assert "killed by SIGKILL" in err[0]
    time.sleep(0.2)
    for pid in workers:
        assert not os.path.exists(f"/proc/{pid}") or \
            Path(f"/proc/{pid}/stat").read_text().split()[2] == "Z", f"worker {pid} still running"
    assert snapshot(base) == before  # previous output byte-identical, no temporary folder


@pytest.mark.parametrize("env", [{"MPLBACKEND": "bogus"},
                                 pytest.param({"HOME": "FILE"}, marks=_SLOW)])  # font cache: 5 s
def test_matplotlib_environment_is_handled(tmp_path, env):
    (tmp_path / "afile").write_text("x")
    env = {k: (str(tmp_path / "afile") if v == "FILE" else v) for k, v in env.items()}
    if "HOME" in env:
        env["XDG_CONFIG_HOME"] = env["XDG_CACHE_HOME"] = str(tmp_path / "afile")
    argv, e = _driver(tmp_path, "plot", "report", "--out", str(tmp_path / "out"), "-q", **env)
    e.pop("MPLCONFIGDIR", None)
    res = subprocess.run(argv, env=e, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0 and res.stderr == ""
    assert (tmp_path / "out" / "figures" / "alpha.svg").is_file()


def test_a_signal_in_a_deferred_block_takes_effect_at_its_end():
    from gradproof.reports.signals import Terminated, deferred_signals, termination_signals

    done = []
    with pytest.raises(Terminated):
        with termination_signals():
            with deferred_signals():
                os.kill(os.getpid(), signal.SIGTERM)
                time.sleep(0.05)
                done.append("finished")
    assert done == ["finished"]
    assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL


@pytest.mark.parametrize("sig", ["SIGTERM", "SIGINT"])
def test_signal_during_an_in_process_build_leaves_the_previous_output(world, capsys, monkeypatch, sig):
    def killed(ctx):
        ctx.write_text("report.md", "half-written\n")
        os.kill(os.getpid(), getattr(signal, sig))
        time.sleep(1)
        raise AssertionError("the signal did not stop the build")

    monkeypatch.setitem(rb.ITEMS, "alpha", rb.Item("alpha", "figure", "Title alpha", killed))
    before = snapshot(world)
    rc, err = run(capsys, "report", "--out", world / "out", "-q")
    assert rc == {"SIGTERM": 143, "SIGINT": 130}[sig] and len(err) == 1 and sig in err[0]
    assert snapshot(world) == before


def test_header_sizes_agree_with_numpys_loader(tmp_path):
    """Oracle: the shapes numpy's own np.load returns for the same files."""
    from gradproof.numerics.npyheader import read_npy_header, read_npz_headers
    from gradproof.numerics.weights import inputs_shape, weights_sizes

    for model, n, d in (("rnn", 3, 2), ("lstm", 5, 1), ("gru", 2, 7)):
        np.savez_compressed(tmp_path / f"{model}.npz", **_state(model, n, d))
        with np.load(tmp_path / f"{model}.npz") as ref:
            headers = read_npz_headers(tmp_path / f"{model}.npz")
            assert {k: h.shape for k, h in headers.items()} == {k: ref[k].shape for k in ref.files}
        assert weights_sizes(tmp_path / f"{model}.npz", model) == (n, d)
    for shape, dtype in (((7, 3), np.float32), ((1, 1), ">f8"), ((4, 2), np.int16)):
        np.save(tmp_path / "x.npy", np.zeros(shape, dtype))
        assert read_npy_header(tmp_path / "x.npy").shape == np.load(tmp_path / "x.npy").shape
        assert inputs_shape(tmp_path / "x.npy") == shape


@pytest.mark.slow
@pytest.mark.parametrize("model", ["rnn", "lstm"])
def test_memory_estimate_is_at_least_the_measured_peak(model):
    """Oracle: the kernel's peak resident size of the child (getrusage RUSAGE_CHILDREN)."""

    from gradproof.numerics.limits import estimated_bytes

    n, steps = (4, 250_000) if model == "rnn" else (2, 250_000)
    code = ("import resource, sys; from gradproof.reports.cli import main; "
            f"rc = main(['product', '{model}', '--hidden', '{n}', '--steps', '{steps}']); "
            "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr)")
    base = ("import resource, sys; import gradproof.numerics.product_report; "
            "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr)")
    peak = int(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                              env=_env(), timeout=300).stderr.split()[-1]) * 1024
    idle = int(subprocess.run([sys.executable, "-c", base], capture_output=True, text=True,
                              env=_env(), timeout=300).stderr.split()[-1]) * 1024
    assert peak - idle <= estimated_bytes(model, n, n, steps)


def test_signal_during_check_removes_its_temporary_folder(world, capsys, monkeypatch):
    import tempfile

    systmp = world.parent / (world.name + "-systmp")
    systmp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(systmp))

    def killed(ctx):
        ctx.write_text("data/alpha.txt", "half\n")
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(1)
        raise AssertionError("the signal did not stop the check")

    monkeypatch.setitem(rb.ITEMS, "alpha", rb.Item("alpha", "figure", "Title alpha", killed))
    before = snapshot(world)
    rc, err = run(capsys, "report", "--out", world / "out", "-q", "--check")
    assert rc == 143 and len(err) == 1
    assert snapshot(world) == before and list(systmp.iterdir()) == []
