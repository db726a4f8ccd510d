"""``gradproof report``: rebuild every report item into a temporary folder, then swap it in.

Items have stable IDs (``gradproof report --list``). Each is one small function
``build(ctx) -> ItemResult`` (figures in :mod:`reports.figures`, derivations and the claims
audit below); the documents (``report.md``, ``report.html``, ``tex/``) and ``manifest.json``
are assembled afterwards from what the items wrote. Nothing is cached: every selected item is
recomputed from the code on every run, and the progress line says why and whether the output
changed with respect to the previous build.

Safety: output goes to a fresh temporary folder next to ``--out`` and replaces it by two
renames at the end, so a failed or interrupted build leaves the previous output untouched.
``--out`` must be empty, absent, or a previous gradproof output (it has a gradproof
``manifest.json``); anything else is refused with one line (``InputError``, exit 2).

``--check`` builds into a temporary folder and compares with ``--out`` without writing there:
text files exactly, ``manifest.json`` with numbers to 12 significant digits (tool versions
and hashes of binary PNG/PDF files are environment-dependent and not compared; the binary
files are instead checked against the hashes recorded in the committed manifest). Exit 1 with
the list of stale files.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from gradproof.numerics.errors import InputError
from gradproof.reports.citation import git_commit
from gradproof.reports.figures.common import ItemContext, ItemResult, Number
from gradproof.reports.manifest import (BINARY_SUFFIXES, MANIFEST_FORMAT, MANIFEST_NAME, compare_manifests,
                              package_version, read_manifest, sha256_file, tool_versions,
                              write_manifest)

__all__ = ["Item", "ITEMS", "default_out_dir", "renderer_changed", "build_command", "build_report", "check_report",
           "compare_trees", "item_command", "DERIVATION_SPECS"]



def default_out_dir() -> Path:
    """The default output folder, ``reports/generated``.

    From a source checkout (editable install, or ``python -m`` in the repository) it is the
    checkout's own ``reports/generated``; from an installed wheel it is ``reports/generated``
    under the current directory (the README runs ``gradproof report`` at the repository root).
    """
    package_dir = Path(__file__).resolve().parent
    if (package_dir.parent / "pyproject.toml").is_file():
        return package_dir / "generated"
    return Path.cwd() / "reports" / "generated"



@dataclass(frozen=True)
class Item:
    """A report item: stable ``id``, ``kind`` (figure | derivation | audit), the function that
    builds it, and the modules it needs (an item whose module is missing is reported, not
    silently dropped)."""

    id: str
    kind: str
    title: str
    build: Callable[[ItemContext], ItemResult]
    requires: tuple[str, ...] = ()


def item_command(item_id: str) -> str:
    """The exact command that rebuilds one item alone (into the default output folder)."""
    return f"gradproof report --only {item_id}"


# --------------------------------------------------------------------------- derivations

#: (ID, model, keyword arguments of derivations.derive_model). Sizes are the smallest that
#: show the structure (scalar n = 1, and n = 2 for the matrix form) so the build stays fast.
DERIVATION_SPECS: tuple[tuple[str, str, dict, str], ...] = (
    ("derivation-rnn-sigmoid", "rnn", {"activation": "sigmoid", "hidden": 1, "steps": 3},
     "Vanilla RNN, sigmoid hidden layer (the article's model), scalar state"),
    ("derivation-rnn-tanh", "rnn", {"activation": "tanh", "hidden": 1, "steps": 3},
     "Vanilla RNN, tanh hidden layer, scalar state"),
    ("derivation-rnn-sigmoid-n2", "rnn", {"activation": "sigmoid", "hidden": 2, "steps": 2},
     "Vanilla RNN, sigmoid hidden layer, 2-dimensional state (matrix form)"),
    ("derivation-lstm-article", "lstm", {"variant": "article", "hidden": 1, "steps": 2},
     "LSTM, the article's derivation as written"),
    ("derivation-lstm-corrected", "lstm", {"variant": "corrected", "hidden": 1, "steps": 2},
     "LSTM, corrected one-step cell terms"),
    ("derivation-lstm-full-state", "lstm", {"variant": "full-state", "hidden": 1, "steps": 2},
     "LSTM, the true recurrent state (h_t, c_t)"),
    ("derivation-gru", "gru", {"hidden": 1, "steps": 2}, "GRU, scalar state"),
)

_DERIVATION_MODULES = {"rnn": "gradproof.derivations.rnn", "lstm": "gradproof.derivations.lstm", "gru": "gradproof.derivations.gru"}


def _derivation_builder(item_id: str, model: str, kwargs: dict) -> Callable[[ItemContext], ItemResult]:
    def build(ctx: ItemContext) -> ItemResult:
        from gradproof.derivations import derive_model
        from gradproof.derivations.records import derivation_to_json, derivation_to_latex

        der = derive_model(model, **kwargs)
        data = derivation_to_json(der)
        data["notes"] = list(der.notes)
        data["id"] = item_id
        files = [ctx.write_text(f"data/{item_id}.json",
                                json.dumps(data, indent=2, sort_keys=True) + "\n")]
        files.append(ctx.write_text(f"tex/{item_id}.tex",
                                    f"% {item_command(item_id)}\n"
                                    + derivation_to_latex(der, label_prefix=f"eq:{item_id}") + "\n"))
        verdicts = [r.verdict for r in der.records]
        seeds = sorted({r.check.seed for r in der.records
                        if r.check is not None and r.check.seed is not None})
        methods = sorted({r.method for r in der.records if r.check is not None})
        dps = sorted({m.split("@")[1].split()[0] for m in methods if "@" in m})
        precision = ("exact symbolic (SymPy); numeric spot checks with mpmath at "
                     + (", ".join(dps) + " digits" if dps else "the precision stated per step"))
        numbers = [Number(f"steps-{v}", verdicts.count(v), f"steps whose verdict is {v}", "steps")
                   for v in ("verified", "refuted", "undecided", "definition")]
        return ItemResult(files=files, parameters={"model": model, **kwargs},
                          seed=seeds[0] if len(seeds) == 1 else (seeds or None),
                          engine="sympy derivation + derivations.checker", precision=precision,
                          caption=f"{der.model} derivation, {len(der.records)} steps", numbers=numbers)

    return build


# --------------------------------------------------------------------------- audit

def _build_audit(ctx: ItemContext) -> ItemResult:
    """The claims audit (``reports.audit``): its Markdown section and its outcomes as JSON,
    without the deciders' wall-clock seconds (they differ from run to run)."""
    from gradproof.reports.audit import audit_markdown, run_audit

    outcomes = run_audit()
    md = audit_markdown(outcomes)
    files = [ctx.write_text("data/audit.md", md.rstrip("\n") + "\n")]
    rows = []
    for o in outcomes:
        row = o.to_json(full=True)
        row.pop("seconds", None)
        rows.append(row)
    files.append(ctx.write_text("data/audit.json",
                                json.dumps(rows, indent=2, sort_keys=True, default=str) + "\n"))
    verdicts = [o.verdict.value for o in outcomes]
    numbers = [Number("claims", len(outcomes), "claims of the article audited", "claims"),
               Number("claims-as-expected", sum(bool(o.as_expected) for o in outcomes),
                      "claims whose verdict equals its registered expectation", "claims")]
    for v in sorted(set(verdicts)):
        numbers.append(Number(f"claims-{v}", verdicts.count(v), f"claims whose verdict is {v}",
                              "claims"))
    return ItemResult(files=files, parameters={"claims": [o.id for o in outcomes]}, seed=None,
                      engine="gradproof.reports.audit.run_audit",
                      precision="as stated per claim (method and residual columns)",
                      caption="The article's claims, each with its verdict and evidence",
                      numbers=numbers)


# --------------------------------------------------------------------------- registry

def _registry() -> dict[str, Item]:
    from gradproof.reports.figures import FIGURES

    items: dict[str, Item] = {}
    for fig in FIGURES:
        items[fig.ID] = Item(fig.ID, "figure", fig.TITLE, fig.build, tuple(fig.REQUIRES))
    for item_id, model, kwargs, title in DERIVATION_SPECS:
        items[item_id] = Item(item_id, "derivation", title,
                              _derivation_builder(item_id, model, kwargs),
                              ("gradproof.derivations.records", _DERIVATION_MODULES[model]))
    items["audit"] = Item("audit", "audit", "Audit of the article's claims", _build_audit,
                          ("gradproof.reports.audit",))
    return items


ITEMS = _registry()


# --------------------------------------------------------------------------- helpers

class _Progress:
    def __init__(self, quiet: bool):
        self.quiet = quiet

    def __call__(self, line: str) -> None:
        if not self.quiet:
            print(f"gradproof report: {line}", file=sys.stderr, flush=True)


def _jsonable(value):
    """Plain JSON types for the manifest: numpy scalars/arrays become int/float/list, tuples
    lists, sets sorted lists, anything else its ``str``. (``reports.audit._jsonable``
    differs on purpose: it keeps the audit's evidence as text.)"""
    return json.loads(json.dumps(value, default=_json_default))


def _json_default(obj):
    import numpy as np

    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.floating):
        return float(obj)
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, (set, frozenset)):
        return sorted(obj)
    return str(obj)


def _select(only: list[str] | None) -> list[Item]:
    if not only:
        return list(ITEMS.values())
    unknown = [i for i in only if i not in ITEMS]
    if unknown:
        raise InputError(f"unknown report item {unknown[0]!r} (see `gradproof report --list`; "
                         f"known: {', '.join(ITEMS)})")
    wanted = set(only)
    return [item for item in ITEMS.values() if item.id in wanted]


def _missing_requirement(item: Item) -> str | None:
    import importlib

    for mod in item.requires:
        try:
            importlib.import_module(mod)
        except ImportError as exc:
            return f"needs {mod}, which cannot be imported ({exc})"
    return None


def _files_under(root: Path) -> dict[str, Path]:
    return {p.relative_to(root).as_posix(): p for p in sorted(root.rglob("*")) if p.is_file()}


def _validate_out(out: Path, *, for_check: bool) -> dict | None:
    """Refuse a foreign, non-folder or unwritable ``--out``; return its previous manifest."""
    if out.exists() and not out.is_dir():
        raise InputError(f"--out {out} exists and is not a folder")
    previous = read_manifest(out) if out.is_dir() else None
    if out.is_dir() and previous is None and any(out.iterdir()):
        raise InputError(f"refusing to use --out {out}: it is not empty and has no gradproof "
                         f"{MANIFEST_NAME} (choose an empty or new folder)")
    if for_check:
        return previous
    parent = out.parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"cannot create the parent folder of --out {out}: "
                         f"{exc.strerror or exc}") from None
    if not os.access(parent, os.W_OK | os.X_OK) or (out.exists() and not os.access(out, os.W_OK)):
        raise InputError(f"--out {out} is not writable")
    return previous


def _why(item: Item, previous: dict | None, only: bool) -> str:
    base = "selected with --only" if only else "full build, recomputed from the code"
    if previous is None:
        return f"{base}; no previous output"
    prev = previous.get("items", {}).get(item.id)
    if prev is None:
        return f"{base}; new: not in the previous output"
    prev_version = previous.get("package", {}).get("version")
    if prev_version != package_version():
        return f"{base}; gradproof version changed ({prev_version} -> {package_version()})"
    return base


def _outcome(files: list[str], staging: Path, previous_files: dict[str, str]) -> str:
    """How the item's files compare with the previous output: identical / new / changed."""
    if not previous_files:
        return f"{len(files)} files"
    new = [f for f in files if f not in previous_files]
    changed = [f for f in files if f in previous_files
               and previous_files[f] != sha256_file(staging / f)]
    if not new and not changed:
        return f"{len(files)} files, identical to the previous output"
    parts = []
    for word, group in (("new", new), ("changed", changed)):
        if group:
            shown = ", ".join(group[:3]) + (f" (+{len(group) - 3} more)" if len(group) > 3 else "")
            parts.append(f"{word}: {shown}")
    return f"{len(files)} files, " + "; ".join(parts)


def _param_change(item_id: str, parameters: dict, previous: dict | None) -> str:
    if not previous or item_id not in previous.get("items", {}):
        return ""
    old = previous["items"][item_id].get("parameters", {})
    keys = sorted(k for k in set(old) | set(parameters) if old.get(k) != parameters.get(k))
    if not keys:
        return ""
    k = keys[0]
    more = f" (+{len(keys) - 1} more)" if len(keys) > 1 else ""
    return f"; parameters changed: {k} {old.get(k)!r} -> {parameters.get(k)!r}{more}"


# --------------------------------------------------------------------------- the build

def _build_into(staging: Path, selected: list[Item], previous: dict | None, progress: _Progress,
                only: bool, previous_root: Path | None) -> tuple[dict, list[str]]:
    """Build ``selected`` into ``staging`` (which may hold a copy of the previous output),
    then the documents and the manifest. Returns (manifest, unavailable item lines)."""
    from gradproof.reports import determinism
    from gradproof.reports.documents import assemble_documents

    determinism.configure()
    versions = tool_versions()
    prev_items = dict(previous.get("items", {})) if (previous and only) else {}
    prev_numbers = dict(previous.get("numbers", {})) if (previous and only) else {}
    prev_hashes: dict[str, str] = {}
    if previous_root is not None:
        prev_hashes = {rel: sha256_file(p) for rel, p in _files_under(previous_root).items()}
    unavailable: list[str] = []
    total = len(selected)
    runnable: list[Item] = []
    for index, item in enumerate(selected, 1):
        # an item's old files go first, so a rebuilt item never keeps stale files
        for rel in (prev_items.pop(item.id, {}) or {}).get("files", {}):
            (staging / rel).unlink(missing_ok=True)
        for key in [k for k, v in prev_numbers.items() if v.get("item") == item.id]:
            del prev_numbers[key]
        missing = _missing_requirement(item)
        if missing:
            unavailable.append(f"{item.id}: {missing}")
            progress(f"[{index}/{total}] {item.id}: NOT BUILT, {missing}")
        else:
            runnable.append(item)
    for item, result, elapsed in _run_items(runnable, staging):
        tag = f"[{selected.index(item) + 1}/{total}] {item.id}"
        why = _why(item, previous, only)
        params = _jsonable(result.parameters)
        entry = {
            "kind": item.kind,
            "title": item.title,
            "caption": result.caption,
            "command": item_command(item.id),
            "parameters": params,
            "seed": _jsonable(result.seed),
            "engine": result.engine,
            "precision": result.precision,
            "versions": versions,
            "files": {rel: sha256_file(staging / rel) for rel in result.files},
        }
        prev_items[item.id] = entry
        for num in result.numbers:
            nid = f"{item.id}/{num.key}"
            prev_numbers[nid] = {
                "item": item.id,
                "value": _jsonable(num.value),
                "display": num.display,
                "unit": num.unit,
                "description": num.description,
                "macro": macro_name(nid),
                "command": item_command(item.id),
                "parameters": params,
                "seed": entry["seed"],
                "engine": result.engine,
                "precision": result.precision,
                "versions": versions,
                "files": entry["files"],
            }
        progress(f"{tag}: rebuilt ({why}{_param_change(item.id, params, previous)}) in "
                 f"{elapsed:.1f} s; {_outcome(result.files, staging, prev_hashes)}")

    manifest = {
        "gradproof_manifest": MANIFEST_FORMAT,
        "package": {"name": "gradproof", "version": package_version()},
        "versions": versions,
        "reproduce": "gradproof report",
        # informational, never compared by --check (a fresh clone has another or no commit)
        "source": {"git_commit": git_commit()},
        "items": {k: prev_items[k] for k in sorted(prev_items, key=_registry_order)},
        "numbers": prev_numbers,
    }
    start = time.perf_counter()
    documents = assemble_documents(staging, manifest)
    manifest["documents"] = {rel: sha256_file(staging / rel) for rel in documents}
    write_manifest(staging, manifest)
    progress(f"documents: {', '.join(documents)} assembled from {len(prev_items)} items in "
             f"{time.perf_counter() - start:.1f} s; "
             f"{_outcome(documents, staging, prev_hashes)}")
    return manifest, unavailable


def _run_one(item_id: str, root: str) -> tuple[ItemResult, float]:
    """Build one item (in a worker process or in this one); returns its result and seconds."""
    from gradproof.reports import determinism

    determinism.configure()
    start = time.perf_counter()
    result = ITEMS[item_id].build(ItemContext(Path(root)))
    return result, time.perf_counter() - start


def build_jobs() -> int:
    """Worker processes for a build: ``GRADPROOF_JOBS`` if set, else min(2, CPUs). Items are
    independent and each is deterministic, so the output does not depend on this number."""
    env = os.environ.get("GRADPROOF_JOBS")
    if env is not None:
        try:
            return max(1, int(env))
        except ValueError:
            raise InputError(f"GRADPROOF_JOBS must be a positive integer, got {env!r}") from None
    return max(1, min(2, os.cpu_count() or 1))


def _run_items(items: list[Item], staging: Path):
    """Yield (item, result, seconds) as items finish; in parallel when there are several."""
    jobs = min(build_jobs(), len(items))
    if jobs <= 1:
        for item in items:
            yield (item, *_run_one(item.id, str(staging)))
        return
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed

    # longest first (the audit and the figures with many curves), so the two workers finish
    # together; fork: workers share this process's registry and imports
    with ProcessPoolExecutor(max_workers=jobs,
                             mp_context=multiprocessing.get_context("fork")) as pool:
        futures = {pool.submit(_run_one, item.id, str(staging)): item
                   for item in sorted(items, key=lambda i: (i.kind != "audit", i.kind != "figure"))}
        try:
            for fut in as_completed(futures):
                yield (futures[fut], *fut.result())
        except BaseException:
            for fut in futures:
                fut.cancel()
            raise


def _registry_order(item_id: str) -> tuple[int, str]:
    order = list(ITEMS)
    return (order.index(item_id), item_id) if item_id in order else (len(order), item_id)


def macro_name(number_id: str) -> str:
    r"""A LaTeX macro name for a number ID: letters only (``\gp`` + CamelCase, digits spelled).

    ``underflow-vs-vanishing/float32-first-zero-step`` -> ``\gpUnderflowVsVanishingFloatThreeTwoFirstZeroStep``.
    """
    digits = ["Zero", "One", "Two", "Three", "Four", "Five", "Six", "Seven", "Eight", "Nine"]
    out = ["gp"]
    for word in "".join(c if c.isalnum() else " " for c in number_id).split():
        piece = ""
        for c in word:
            piece += digits[int(c)] if c.isdigit() else c
        out.append(piece[:1].upper() + piece[1:])
    return "\\" + "".join(out)


def _prepare_staging(staging: Path, out: Path, previous: dict | None, only: bool) -> Path | None:
    """A fresh staging folder; for --only it starts as a copy of the previous output."""
    if only and previous is not None:
        shutil.copytree(out, staging, dirs_exist_ok=True)
    return out if previous is not None else None


def _swap_in(staging: Path, out: Path) -> None:
    """Replace ``out`` by ``staging`` with renames; on failure ``out`` is restored."""
    if not out.exists():
        os.rename(staging, out)
        return
    backup = out.parent / f".{out.name}.previous-{os.getpid()}"
    os.rename(out, backup)
    try:
        os.rename(staging, out)
    except BaseException:
        os.rename(backup, out)
        raise
    shutil.rmtree(backup, ignore_errors=True)


def build_report(out: Path, only: list[str] | None = None, quiet: bool = False) -> int:
    """Build into a temporary folder next to ``out`` and swap it in; 0 on success, 1 if an
    item could not be built (its dependency is missing)."""
    selected = _select(only)
    out = Path(out).absolute()
    previous = _validate_out(out, for_check=False)
    progress = _Progress(quiet)
    start = time.perf_counter()
    try:
        staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.building-", dir=out.parent))
    except OSError as exc:
        raise InputError(f"--out {out} is not writable ({exc.strerror or exc})") from None
    try:
        os.chmod(staging, 0o755)
        previous_root = _prepare_staging(staging, out, previous, bool(only))
        _, unavailable = _build_into(staging, selected, previous, progress, bool(only), previous_root)
        _swap_in(staging, out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    progress(f"wrote {out} in {time.perf_counter() - start:.1f} s")
    return _report_unavailable(unavailable)


def _report_unavailable(unavailable: list[str]) -> int:
    if not unavailable:
        return 0
    print(f"gradproof report: {len(unavailable)} item(s) not built: "
          + "; ".join(unavailable), file=sys.stderr)
    return 1


def renderer_changed(committed_manifest: dict) -> str | None:
    """A note when the committed figures were drawn by another matplotlib than the one here.

    SVG bytes are matplotlib's own rendering: a different matplotlib release redraws the same
    data with other bytes. In that case ``compare_trees`` does not compare SVG bytes (the data
    behind every figure is still compared, as manifest numbers to 12 significant digits).
    """
    recorded = committed_manifest.get("versions", {}).get("matplotlib")
    here = tool_versions().get("matplotlib")
    if recorded and recorded != here:
        return (f"committed figures were drawn with matplotlib {recorded}, this is {here}: "
                "SVG bytes not compared (figure data still compared through the manifest)")
    return None


def compare_trees(built: Path, committed: Path) -> list[str]:
    """Stale files: each line ``path: reason``. Empty when ``committed`` is up to date."""
    built_files, committed_files = _files_under(built), _files_under(committed)
    committed_manifest = read_manifest(committed) or {}
    skip_svg = renderer_changed(committed_manifest) is not None
    recorded: dict[str, str] = dict(committed_manifest.get("documents", {}))
    for entry in committed_manifest.get("items", {}).values():
        recorded.update(entry.get("files", {}))
    stale = []
    for rel in sorted(set(built_files) | set(committed_files)):
        if rel not in committed_files:
            stale.append(f"{rel}: missing (the build makes it)")
        elif rel not in built_files:
            stale.append(f"{rel}: not made by the build")
        elif rel == MANIFEST_NAME:
            diffs = compare_manifests(json.loads(built_files[rel].read_text(encoding="utf-8")),
                                      committed_manifest)
            if diffs:
                more = f" (+{len(diffs) - 1} more)" if len(diffs) > 1 else ""
                stale.append(f"{rel}: {diffs[0]}{more}")
        elif rel.endswith(BINARY_SUFFIXES):
            if recorded.get(rel) != sha256_file(committed_files[rel]):
                stale.append(f"{rel}: does not match its SHA-256 in the committed manifest")
        elif rel.endswith(".svg") and skip_svg:
            continue
        elif built_files[rel].read_bytes() != committed_files[rel].read_bytes():
            stale.append(f"{rel}: differs")
    return stale


def check_report(out: Path, only: list[str] | None = None, quiet: bool = False) -> int:
    """Rebuild into a temporary folder and compare with ``out``: 0 up to date, 1 stale."""
    selected = _select(only)
    out = Path(out).absolute()
    previous = _validate_out(out, for_check=True)
    progress = _Progress(quiet)
    with tempfile.TemporaryDirectory(prefix="gradproof-check-") as tmp:
        staging = Path(tmp) / "report"
        staging.mkdir()
        previous_root = _prepare_staging(staging, out, previous, bool(only))
        _, unavailable = _build_into(staging, selected, previous, progress, bool(only), previous_root)
        stale = compare_trees(staging, out) if out.is_dir() else [f"{out}: missing"]
    note = renderer_changed(read_manifest(out) or {}) if out.is_dir() else None
    if note:
        print(f"gradproof report --check: note: {note}", file=sys.stderr)
    if stale:
        print(f"gradproof report --check: {len(stale)} stale file(s) in {out} "
              f"(rebuild with `gradproof report`):", file=sys.stderr)
        for line in stale:
            print(f"  {line}", file=sys.stderr)
        return 1
    progress(f"--check: {out} is up to date")
    return max(_report_unavailable(unavailable), 0)


def build_command(out: str | None = None, only: list[str] | None = None, check: bool = False,
                  quiet: bool = False, list_items: bool = False) -> int:
    """Entry point of ``gradproof report`` (see the module docstring)."""
    if list_items:
        for item in ITEMS.values():
            print(f"{item.id:28s} {item.kind:10s} {item.title}")
        return 0
    target = Path(out) if out else default_out_dir()
    if check:
        return check_report(target, only, quiet)
    return build_report(target, only, quiet)
