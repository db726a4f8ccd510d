"""``gradproof report``: rebuild every report item into a temporary folder, then swap it in.

Items have stable IDs (``gradproof report --list``). Each is one small function
``build(ctx) -> ItemResult`` (figures in :mod:`reports.figures`, derivations and the claims
audit below); the documents (``report.md``, ``report.html``, ``tex/``) and ``manifest.json``
are assembled afterwards from what the items wrote. Nothing is cached: every selected item is
recomputed from the code on every run, and the progress line says why and whether the output
changed with respect to the previous build.

Safety: output goes to a fresh temporary folder next to ``--out`` and replaces it by two
renames at the end, so a failed or interrupted build (an exception, SIGINT, SIGTERM, SIGHUP:
:mod:`gradproof.reports.signals`) stops the workers, removes the temporary folder and leaves the
previous output untouched. ``--out`` must be empty, absent, or a previous gradproof output (it
has a valid gradproof ``manifest.json``) holding only files gradproof wrote; anything else is
refused with one line (``InputError``, exit 2) naming what is in the way. Nothing outside
``--out`` (and the temporary folder next to it) is ever written or deleted, and a manifest entry
is never followed outside ``--out`` or through a symbolic link (:mod:`gradproof.reports.outdir`).
A symbolic link ``--out`` is followed: its target is updated.

``--check`` builds into a private temporary folder (removed afterwards) and compares the
*content* with ``--out`` without writing anything there: text files (Markdown, HTML, LaTeX, JSON
records, and the figures' data files ``data/<figure>.json``) exactly -- every number in them is
printed at its published digits (``numerics.published``), so the same content gives the same
bytes on any machine; ``manifest.json`` by ``manifest.compare_manifests`` (environment and tool
versions never compared); SVG bytes only when the committed figures were drawn by the same
matplotlib; PNG and PDF bytes never across builds (each committed binary file is checked against
its own hash in the committed manifest). A different dependency release with the same content
exits 0 with a note naming the versions; a content difference exits 1 with a readable diff
(file, which number or line, committed and built values).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from gradproof.numerics.errors import InputError
from gradproof.reports.citation import git_commit
from gradproof.reports.figures.common import ItemContext, ItemResult, Number
from gradproof.reports.outdir import (foreign_entries, inside, load_previous_manifest, resolve_out,
                                      scan_tree)
from gradproof.reports.signals import (WorkerDied, dead_worker, deferred_signals, stop_workers,
                                       termination_signals, worker_init)
from gradproof.reports.manifest import (BINARY_SUFFIXES, MANIFEST_FORMAT, MANIFEST_NAME, compare_manifests,
                              environment, package_version, read_manifest, sha256_file,
                              tool_versions, version_notes, write_manifest)

__all__ = ["Item", "ITEMS", "default_out_dir", "renderer_changed", "ReportOutcome", "build_report", "check_report",
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
    ("derivation-lstm-full-state", "lstm", {"variant": "full-state", "hidden": 1, "steps": 3},
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

Progress = Callable[[str], None]


def _silent(line: str) -> None:
    """The default progress sink: the library prints nothing (the CLI passes its own)."""


@dataclass(frozen=True)
class ReportOutcome:
    """What a build or a check did. ``exit_status``: 0 built / up to date, 1 stale or an item
    not built. ``stale`` lists ``path: reason`` lines (``--check``), ``notes`` informational
    lines (tool versions differ), ``unavailable`` the items whose dependency is missing."""

    out: Path
    check: bool
    stale: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    unavailable: tuple[str, ...] = ()

    @property
    def exit_status(self) -> int:
        return 1 if (self.stale or self.unavailable) else 0

    @property
    def ok(self) -> bool:
        return self.exit_status == 0

    def to_dict(self) -> dict:
        return {"out": str(self.out), "check": self.check, "stale": list(self.stale),
                "notes": list(self.notes), "unavailable": list(self.unavailable),
                "exit_status": self.exit_status}


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
    """Regular files below ``root`` (symbolic links are never followed)."""
    return scan_tree(root)[0]


def _shown(entries: list[str], limit: int = 5) -> str:
    more = f" (+{len(entries) - limit} more)" if len(entries) > limit else ""
    return ", ".join(entries[:limit]) + more


def _validate_out(out: Path, *, for_check: bool) -> dict | None:
    """Refuse a foreign, non-folder or unwritable ``--out``; return its previous manifest
    (validated against the schema in :func:`gradproof.reports.outdir.validate_manifest`)."""
    if os.path.lexists(out) and not out.is_dir():
        raise InputError(f"--out {out} exists and is not a folder")
    previous = None
    if out.is_dir():
        previous = load_previous_manifest(out, {i.id: i.kind for i in ITEMS.values()})
        files, dirs, others = scan_tree(out)
        if previous is None and (files or dirs or others):
            raise InputError(f"refusing to use --out {out}: it is not empty and has no gradproof "
                             f"{MANIFEST_NAME} (choose an empty or new folder)")
        if others:
            raise InputError(f"refusing to use --out {out}: it holds {_shown(others)}, which "
                             "gradproof never writes (remove them or choose another --out)")
        if not for_check:
            foreign = foreign_entries(out, previous)
            if foreign:
                raise InputError(
                    f"refusing to replace --out {out}: it holds {len(foreign)} entr"
                    f"{'y' if len(foreign) == 1 else 'ies'} that gradproof did not write, which "
                    f"the build would delete: {_shown(foreign)} (move them out of the folder "
                    "or choose another --out)")
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

def _build_into(staging: Path, selected: list[Item], previous: dict | None, progress: Progress,
                only: bool, previous_root: Path | None) -> tuple[dict, list[str]]:
    """Build ``selected`` into ``staging`` (which may hold a copy of the previous output),
    then the documents and the manifest. Returns (manifest, unavailable item lines)."""
    from gradproof.reports import determinism
    from gradproof.reports.documents import assemble_documents

    determinism.configure()
    versions = tool_versions()
    prev_items = dict(previous.get("items", {})) if (previous and only) else {}
    for item_id in [i for i in prev_items if i in ITEMS]:  # kept items: names from the registry
        prev_items[item_id] = dict(prev_items[item_id], kind=ITEMS[item_id].kind,
                                   title=ITEMS[item_id].title, command=item_command(item_id))
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
            inside(staging, rel).unlink(missing_ok=True)  # never outside staging, never a link
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
        if item.kind == "figure":
            # which files are which drawing (page: figure*, column: figure), each with its
            # caption and LaTeX file; every file is also in "files" with its SHA-256
            from gradproof.reports.latex import figure_variants

            entry["variants"] = _jsonable(figure_variants(item.id, result))
        prev_items[item.id] = entry
        for num in result.numbers:
            nid = f"{item.id}/{num.key}"
            pub = num.published
            prev_numbers[nid] = {
                "item": item.id,
                "value": _jsonable(num.value),
                "display": pub.text,
                "digits": pub.digits,
                "basis": pub.basis,
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
        "environment": environment(),
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
        if not (env.isascii() and env.isdigit() and len(env) <= 4 and int(env) >= 1):
            raise InputError(f"GRADPROOF_JOBS must be a positive integer (digits 0-9), got {env!r}")
        return int(env)
    return max(1, min(2, os.cpu_count() or 1))


def _run_items(items: list[Item], staging: Path):
    """Yield (item, result, seconds) as items finish; in parallel when there are several.

    On any exception (SIGINT, SIGTERM, a failed item) or when the caller closes the generator,
    the workers are terminated at once; a worker that dies is reported as :class:`WorkerDied`.
    """
    jobs = min(build_jobs(), len(items))
    if jobs <= 1:
        for item in items:
            yield (item, *_run_one(item.id, str(staging)))
        return
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed
    from concurrent.futures.process import BrokenProcessPool

    # longest first (the audit and the figures with many curves), so the two workers finish
    # together; fork: workers share this process's registry and imports
    pool = ProcessPoolExecutor(max_workers=jobs, mp_context=multiprocessing.get_context("fork"),
                               initializer=worker_init)
    processes: list = []
    futures: dict = {}
    _LIVE_POOLS.append((pool, processes))
    try:
        futures = {pool.submit(_run_one, item.id, str(staging)): item
                   for item in sorted(items, key=lambda i: (i.kind != "audit", i.kind != "figure"))}
        processes += list((getattr(pool, "_processes", None) or {}).values())
        for fut in as_completed(futures):
            try:
                result = fut.result()
            except BrokenProcessPool:
                processes += list((getattr(pool, "_processes", None) or {}).values())
                running = sorted(item.id for f, item in futures.items() if not f.done()
                                 or (not f.cancelled() and f.exception() is not None))
                raise WorkerDied(f"a report worker process died ({dead_worker(processes)}) while "
                                 f"building {', '.join(running) or futures[fut].id}; nothing was "
                                 "written and the previous output is unchanged") from None
            yield (futures[fut], *result)
    except BaseException:
        for fut in futures:
            fut.cancel()
        stop_workers(pool, processes)
        raise
    finally:
        _LIVE_POOLS[:] = [entry for entry in _LIVE_POOLS if entry[0] is not pool]
    pool.shutdown(wait=True)


#: pools of builds in progress, so that an interrupted build stops its workers before it removes
#: the temporary folder (even while a generator of :func:`_run_items` is still referenced)
_LIVE_POOLS: list = []


def _stop_live_workers() -> None:
    for pool, processes in list(_LIVE_POOLS):
        stop_workers(pool, processes)
    _LIVE_POOLS.clear()


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


def _prepare_staging(staging: Path, out: Path, previous: dict | None, only: bool,
                     selected: list[Item] = ()) -> Path | None:
    """A fresh staging folder; for --only it starts with the files of the previous output's
    other items, each checked against its SHA-256 in the manifest (a file that is missing or
    was changed after it was built would make the new manifest lie about it)."""
    if only and previous is not None:
        rebuilt = {item.id for item in selected}
        for item_id, entry in previous["items"].items():
            if item_id in rebuilt:
                continue
            if item_id not in ITEMS:
                raise InputError(f"--only cannot keep item {item_id} of the previous output: it is "
                                 "not an item of this gradproof (rebuild everything with "
                                 "`gradproof report`)")
            for rel, digest in entry["files"].items():
                src = inside(out, rel)
                if not src.is_file() or sha256_file(src) != digest:
                    state = "is missing" if not os.path.lexists(src) else \
                        "differs from its SHA-256 in the manifest"
                    raise InputError(f"--only cannot keep item {item_id} of the previous output: "
                                     f"{rel} {state} (rebuild it too, or everything with "
                                     "`gradproof report`)")
                dst = inside(staging, rel)
                dst.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(src, dst, follow_symlinks=False)
    return out if previous is not None else None


def _swap_in(staging: Path, out: Path) -> None:
    """Replace ``out`` by ``staging`` with renames; on failure ``out`` is restored. Signals are
    held back meanwhile, so that an interruption never leaves ``out`` half-swapped."""
    with deferred_signals():
        try:
            if not os.path.lexists(out):
                os.rename(staging, out)
                return
            # a fresh folder of our own holds the old output, so no existing name is clobbered
            holder = Path(tempfile.mkdtemp(prefix=f".{out.name}.previous-", dir=out.parent))
            backup = holder / "old"
            try:
                os.rename(out, backup)
                try:
                    os.rename(staging, out)
                except BaseException:
                    os.rename(backup, out)
                    raise
            except BaseException:
                holder.rmdir()
                raise
        except OSError as exc:
            raise InputError(f"cannot replace --out {out}: {exc.strerror or exc} (the previous "
                             "output is unchanged)") from None
        shutil.rmtree(holder, ignore_errors=True)


def build_report(out: Path, only: list[str] | None = None,
                 progress: Progress = _silent) -> ReportOutcome:
    """Build into a temporary folder next to ``out`` and swap it in; ``progress`` receives one
    line per item. An item whose dependency is missing is listed in ``unavailable``."""
    selected = _select(only)
    out, note = resolve_out(out)
    previous = _validate_out(out, for_check=False)
    if note:
        progress(note)
    start = time.perf_counter()
    staging = None
    with termination_signals():
        try:
            with deferred_signals():
                try:
                    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.building-", dir=out.parent))
                except OSError as exc:
                    raise InputError(f"--out {out} is not writable ({exc.strerror or exc})") from None
            os.chmod(staging, 0o755)
            previous_root = _prepare_staging(staging, out, previous, bool(only), selected)
            _, unavailable = _build_into(staging, selected, previous, progress, bool(only),
                                         previous_root)
            _swap_in(staging, out)
        except BaseException:
            with deferred_signals():
                _stop_live_workers()
                if staging is not None:
                    shutil.rmtree(staging, ignore_errors=True)
            raise
    progress(f"wrote {out} in {time.perf_counter() - start:.1f} s")
    return ReportOutcome(out=out, check=False, unavailable=tuple(unavailable))


def renderer_changed(committed_manifest: dict) -> str | None:
    """A note when the committed figures were drawn by another matplotlib than the one here.

    SVG bytes are matplotlib's own rendering: a different matplotlib release redraws the same
    data with other bytes. In that case ``compare_trees`` does not compare SVG bytes (the data
    behind every figure is still compared: ``data/<figure>.json`` and the manifest numbers).
    """
    recorded = committed_manifest.get("versions", {}).get("matplotlib")
    here = tool_versions().get("matplotlib")
    if recorded and recorded != here:
        return (f"committed figures were drawn with matplotlib {recorded}, this is {here}: "
                "SVG bytes not compared (figure data still compared)")
    return None


def _clip(text: str, width: int = 100) -> str:
    return text if len(text) <= width else text[: width - 3] + "..."


def _json_diffs(a, b, path: str = "") -> list[str]:
    """Where two JSON values differ: ``path: committed X, built Y`` (exact comparison)."""
    if isinstance(a, dict) and isinstance(b, dict):
        out = []
        for k in sorted(set(a) | set(b), key=str):
            p = f"{path}/{k}" if path else str(k)
            if k not in b:
                out.append(f"{p}: not in the committed file")
            elif k not in a:
                out.append(f"{p}: not made by the build")
            else:
                out += _json_diffs(a[k], b[k], p)
        return out
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        return [d for i, (x, y) in enumerate(zip(a, b)) for d in _json_diffs(x, y, f"{path}[{i}]")]
    if a != b or type(a) is not type(b):
        return [f"{path or '(top)'}: committed {_clip(json.dumps(b))}, built {_clip(json.dumps(a))}"]
    return []


def _text_diff(rel: str, built: Path, committed: Path) -> str:
    """``rel: differs`` plus where: the first differing JSON entry or line, old and new."""
    new, old = built.read_text(encoding="utf-8"), committed.read_text(encoding="utf-8")
    if rel.endswith(".json"):
        try:
            diffs = _json_diffs(json.loads(new), json.loads(old))
        except ValueError:
            diffs = []
        if diffs:
            more = f" (+{len(diffs) - 1} more)" if len(diffs) > 1 else ""
            return f"{rel}: differs: {diffs[0]}{more}"
    if rel.endswith(".svg"):
        return f"{rel}: differs"
    new_lines, old_lines = new.splitlines(), old.splitlines()
    changed = [i for i in range(max(len(new_lines), len(old_lines)))
               if (new_lines[i] if i < len(new_lines) else None)
               != (old_lines[i] if i < len(old_lines) else None)]
    if not changed:
        return f"{rel}: differs"
    i = changed[0]
    was = old_lines[i] if i < len(old_lines) else "(end of file)"
    now = new_lines[i] if i < len(new_lines) else "(end of file)"
    # show the part of the line around the first differing character
    j = next((k for k, (x, y) in enumerate(zip(was, now)) if x != y), min(len(was), len(now)))
    lo = max(0, j - 40)
    more = f" (+{len(changed) - 1} more lines)" if len(changed) > 1 else ""
    return (f"{rel}: differs at line {i + 1}: committed {_clip(was[lo:])!r}, "
            f"built {_clip(now[lo:])!r}{more}")


_SVG_NUMBER = re.compile(r"-?\d+(?:\.\d+)?(?:e[-+]?\d+)?")
#: SVG coordinates are printed with 6 decimals: a float64 difference in the last bits of the
#: data can move one of them by one unit of the last decimal
SVG_COORDINATE_TOLERANCE = 1.5e-6


def svg_same_drawing(a: str, b: str) -> bool:
    """True when two SVG texts are the same drawing: identical apart from numbers, and every
    number equal to within ``SVG_COORDINATE_TOLERANCE`` (one unit of the printed 6th
    decimal), so that the last bits of a float64 curve (CPU/SIMD dependent) do not count."""
    if a == b:
        return True
    if _SVG_NUMBER.split(a) != _SVG_NUMBER.split(b):
        return False
    xs, ys = _SVG_NUMBER.findall(a), _SVG_NUMBER.findall(b)
    return len(xs) == len(ys) and all(
        x == y or abs(float(x) - float(y)) <= SVG_COORDINATE_TOLERANCE for x, y in zip(xs, ys))


def compare_trees(built: Path, committed: Path) -> list[str]:
    """Stale files: each line ``path: reason`` (with the first difference). Empty when
    ``committed`` has the same content as ``built`` (see the module docstring)."""
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
                                      committed_manifest, skip_svg=skip_svg)
            if diffs:
                more = f" (+{len(diffs) - 1} more)" if len(diffs) > 1 else ""
                stale.append(f"{rel}: {diffs[0]}{more}")
        elif rel.endswith(BINARY_SUFFIXES):
            # raster/PDF bytes depend on the rasteriser and zlib: never compared across
            # builds; the committed file must match its own recorded hash
            if recorded.get(rel) != sha256_file(committed_files[rel]):
                stale.append(f"{rel}: does not match its SHA-256 in the committed manifest")
        elif rel.endswith(".svg") and skip_svg:
            continue
        elif rel.endswith(".svg"):
            if not svg_same_drawing(built_files[rel].read_text(encoding="utf-8"),
                                    committed_files[rel].read_text(encoding="utf-8")):
                stale.append(f"{rel}: differs (same matplotlib, another drawing)")
        elif built_files[rel].read_bytes() != committed_files[rel].read_bytes():
            stale.append(_text_diff(rel, built_files[rel], committed_files[rel]))
    return stale


def check_report(out: Path, only: list[str] | None = None,
                 progress: Progress = _silent) -> ReportOutcome:
    """Rebuild into a private temporary folder and compare with ``out`` (writes nothing
    there): ``stale`` is empty when the content is the same (``notes`` say when tool versions
    differ)."""
    selected = _select(only)
    out, _ = resolve_out(out)
    previous = _validate_out(out, for_check=True)
    tmp = None
    with termination_signals():
        try:
            with deferred_signals():
                tmp = tempfile.mkdtemp(prefix="gradproof-check-")
            staging = Path(tmp) / "report"
            staging.mkdir()
            previous_root = _prepare_staging(staging, out, previous, bool(only), selected)
            manifest, unavailable = _build_into(staging, selected, previous, progress, bool(only),
                                                previous_root)
            stale = compare_trees(staging, out) if out.is_dir() else [f"{out}: missing"]
        finally:
            with deferred_signals():
                _stop_live_workers()
                if tmp is not None:
                    shutil.rmtree(tmp, ignore_errors=True)
    committed = (previous or {}) if out.is_dir() else {}
    notes = []
    changed = version_notes(manifest, committed) if committed else []
    if changed:
        notes.append("the committed reports were built with other tool versions ("
                     + ", ".join(changed) + "); content compared, not bytes of PNG/PDF "
                     "(reproduce byte for byte with the versions in requirements.lock)")
    svg_note = renderer_changed(committed) if committed else None
    if svg_note:
        notes.append(svg_note)
    if not stale:
        progress(f"--check: {out} is up to date")
    return ReportOutcome(out=out, check=True, stale=tuple(stale), notes=tuple(notes),
                         unavailable=tuple(unavailable))
