"""The output folder of ``gradproof report`` is gradproof's alone: what may be read, kept or removed.

Rules (issue 17), each enforced here and used by :mod:`gradproof.reports.build`:

* ``--out`` is resolved once (:func:`resolve_out`): a symbolic link to a folder is followed and
  its *target* is updated (the link itself stays); a dangling link, a link loop, an empty
  ``--out`` or a path that is not a folder is refused with one line.
* Anything read back from an earlier output is untrusted. ``manifest.json`` is read with a size
  and nesting limit and validated against the schema in :func:`validate_manifest` before any
  field is used: item IDs must look like registry IDs (an item of this gradproof must have its
  kind; one it does not know is replaced by a full build and refused by ``--only``), file names
  must be plain relative
  paths (:func:`safe_relpath`: no absolute path, no ``..``, no backslash, no control character),
  strings that end up on one line of a document must be one line.
* Every path gradproof deletes, overwrites or copies is joined with :func:`inside` , which
  resolves it and refuses anything that leaves the root or passes through a symbolic link.
* The folder may hold only what gradproof wrote (the files the manifest lists, the folders that
  hold them, ``manifest.json``). Anything else -- a file a user added, a symbolic link, a fifo --
  makes ``report`` refuse and name it (:func:`foreign_entries`): the build replaces the whole
  folder, so keeping silent would delete it. ``report --check`` reports foreign regular files as
  stale and refuses links and special files.
"""

from __future__ import annotations

import json
import os
import re
import stat
from pathlib import Path

from gradproof.numerics.errors import InputError

__all__ = ["resolve_out", "safe_relpath", "inside", "load_previous_manifest", "validate_manifest",
           "scan_tree", "foreign_entries", "recorded_files", "ITEM_ID", "MAX_MANIFEST_BYTES"]

#: item IDs (and the local part of number IDs): what the registry uses, nothing else
ITEM_ID = re.compile(r"[a-z0-9][a-z0-9-]{0,79}")
NUMBER_KEY = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,159}")
SHA256 = re.compile(r"[0-9a-f]{64}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029]")
MAX_MANIFEST_BYTES = 64 * 2 ** 20
MANIFEST_NAME = "manifest.json"


def resolve_out(out) -> tuple[Path, str | None]:
    """The real folder behind ``--out`` and a note when it was reached through a symbolic link.

    Parents are resolved too (the build renames inside the real parent). Refused: an empty
    string, a dangling link, a link loop, a link to something that is not a folder.
    """
    text = os.fspath(out)
    if text == "" or not text.strip():
        raise InputError("--out must name a folder (got an empty string)")
    if "\x00" in text:
        raise InputError("--out contains a NUL character")
    p = Path(os.path.abspath(text))
    note = None
    if p.is_symlink():
        try:
            target = p.resolve(strict=True)
        except (OSError, RuntimeError):
            try:
                dest = os.readlink(p)
            except OSError:
                dest = "?"
            raise InputError(f"--out {p} is a symbolic link to {dest}, which does not exist or "
                             "loops (remove the link or point it at a folder)") from None
        if not target.is_dir():
            raise InputError(f"--out {p} is a symbolic link to {target}, which is not a folder")
        note = f"--out {p} is a symbolic link: updating its target {target}"
        return target, note
    try:
        parent = p.parent.resolve(strict=False)
    except (OSError, RuntimeError) as exc:
        raise InputError(f"cannot resolve the parent folder of --out {p}: {exc}") from None
    return parent / p.name, note


def safe_relpath(rel, what: str = "file name") -> str:
    """``rel`` if it is a plain relative POSIX path inside a folder, else InputError."""
    if not isinstance(rel, str) or not rel:
        raise InputError(f"{what} {rel!r} is not a non-empty string")
    if _CONTROL.search(rel) or "\\" in rel or rel.startswith("/") or len(rel) > 512:
        raise InputError(f"{what} {rel!r} is not a plain relative path")
    parts = rel.split("/")
    if any(part in ("", ".", "..") for part in parts) or re.match(r"^[A-Za-z]:", rel):
        raise InputError(f"{what} {rel!r} leaves the output folder or is not a plain relative path")
    return rel


def inside(root: Path, rel: str) -> Path:
    """``root / rel`` after checking that it stays inside ``root`` without any symbolic link.

    ``rel`` must pass :func:`safe_relpath`; each existing component below ``root`` is checked
    with ``lstat`` (a link is refused, never followed), and the resolved path must lie in the
    resolved root.
    """
    safe_relpath(rel)
    root = Path(root)
    path = root
    for part in rel.split("/"):
        path = path / part
        try:
            st = os.lstat(path)
        except FileNotFoundError:
            break
        except OSError as exc:
            raise InputError(f"cannot inspect {path}: {exc.strerror or exc}") from None
        if stat.S_ISLNK(st.st_mode):
            raise InputError(f"{rel} in {root} passes through a symbolic link; refusing to follow it")
    full = root / rel
    real_root = os.path.realpath(root)
    real = os.path.realpath(full)
    if os.path.commonpath([real_root, real]) != real_root:
        raise InputError(f"{rel} resolves outside {root}; refusing")
    return full


def _reject_constant(name):
    raise ValueError(f"{name} is not JSON")


def load_previous_manifest(folder: Path, known: dict) -> dict | None:
    """The validated manifest of an earlier output in ``folder``; None if there is none.

    ``known`` maps item ID -> kind (the registry). A manifest that is not a gradproof manifest
    at all (no ``"gradproof_manifest": 1``) gives None (the folder is then foreign); one that
    claims to be a gradproof manifest but breaks the schema is refused with one line.
    """
    path = Path(folder) / MANIFEST_NAME
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror or exc}") from None
    if stat.S_ISLNK(st.st_mode):
        raise InputError(f"{path} is a symbolic link; gradproof never writes one (refusing to follow it)")
    if not stat.S_ISREG(st.st_mode):
        raise InputError(f"{path} is not a regular file")
    if st.st_size > MAX_MANIFEST_BYTES:
        raise InputError(f"{path} has {st.st_size} bytes, more than a gradproof manifest "
                         f"({MAX_MANIFEST_BYTES} at most)")
    try:
        text = path.read_text(encoding="utf-8")
        data = json.loads(text, parse_constant=_reject_constant)
    except (OSError, UnicodeDecodeError, ValueError, RecursionError):
        return None
    if not (isinstance(data, dict) and data.get("gradproof_manifest") == 1):
        return None
    return validate_manifest(data, known, where=str(path))


def _fail(where: str, key: str, why: str):
    raise InputError(f"{where} is not a valid gradproof manifest: {key}: {why} (delete the folder "
                     "or choose another --out)")


def _line(where, key, value, optional=False):
    if value is None and optional:
        return
    if not isinstance(value, str):
        _fail(where, key, f"expected a string, got {type(value).__name__}")
    if _CONTROL.search(value) or len(value) > 4096:
        _fail(where, key, "expected one line of text")


def _text(where, key, value):
    if not isinstance(value, str):
        _fail(where, key, f"expected a string, got {type(value).__name__}")
    if "\x00" in value:
        _fail(where, key, "contains a NUL character")


def _hashes(where, key, value) -> None:
    if not isinstance(value, dict):
        _fail(where, key, f"expected an object of file -> SHA-256, got {type(value).__name__}")
    for rel, digest in value.items():
        try:
            safe_relpath(rel)
        except InputError as exc:
            _fail(where, f"{key}/{rel!r}", str(exc))
        if rel == MANIFEST_NAME:
            _fail(where, f"{key}/{rel}", "the manifest cannot list itself")
        if not (isinstance(digest, str) and SHA256.fullmatch(digest)):
            _fail(where, f"{key}/{rel}", "expected a SHA-256 hex digest")


def validate_manifest(data, known: dict, where: str = MANIFEST_NAME) -> dict:
    """Check the schema of a manifest read from disk (see :mod:`gradproof.reports.manifest`).

    Returns ``data`` unchanged when valid; raises InputError naming the first bad field.
    """
    from gradproof.reports.build import macro_name  # the registry's own naming rule

    if not isinstance(data, dict):
        _fail(where, "(top)", "expected an object")
    if data.get("gradproof_manifest") != 1:
        _fail(where, "gradproof_manifest", "expected 1")
    items = data.get("items")
    if not isinstance(items, dict):
        _fail(where, "items", f"expected an object, got {type(items).__name__}")
    for item_id, entry in items.items():
        key = f"items/{item_id}"
        if not (isinstance(item_id, str) and ITEM_ID.fullmatch(item_id)):
            _fail(where, key, "not an item ID")
        if not isinstance(entry, dict):
            _fail(where, key, f"expected an object, got {type(entry).__name__}")
        # an item this gradproof does not know (renamed or removed since) is allowed: a full
        # build replaces it, ``--only`` refuses to keep it (build._prepare_staging)
        expected = known.get(item_id)
        if expected is not None and entry.get("kind") != expected:
            _fail(where, f"{key}/kind", f"expected {expected!r}")
        _line(where, f"{key}/kind", entry.get("kind"))
        for field in ("title", "command"):
            _line(where, f"{key}/{field}", entry.get(field))
        for field in ("caption", "engine", "precision"):
            _text(where, f"{key}/{field}", entry.get(field))
        if not isinstance(entry.get("parameters", {}), dict):
            _fail(where, f"{key}/parameters", "expected an object")
        if not isinstance(entry.get("versions", {}), dict):
            _fail(where, f"{key}/versions", "expected an object")
        _hashes(where, f"{key}/files", entry.get("files"))
        if "variants" in entry:
            _variants(where, key, item_id, entry)
    numbers = data.get("numbers", {})
    if not isinstance(numbers, dict):
        _fail(where, "numbers", f"expected an object, got {type(numbers).__name__}")
    for nid, num in numbers.items():
        key = f"numbers/{nid}"
        item, _, local = nid.partition("/") if isinstance(nid, str) else ("", "", "")
        if not (ITEM_ID.fullmatch(item) and NUMBER_KEY.fullmatch(local)):
            _fail(where, key, "not a number ID (item/key)")
        if not isinstance(num, dict):
            _fail(where, key, f"expected an object, got {type(num).__name__}")
        if num.get("item") != item or item not in items:
            _fail(where, f"{key}/item", "does not name the item the ID starts with")
        for field in ("display", "unit", "command"):
            _line(where, f"{key}/{field}", num.get(field))
        _text(where, f"{key}/description", num.get("description"))
        if num.get("macro") != macro_name(nid):
            _fail(where, f"{key}/macro", f"expected {macro_name(nid)}")
        if "files" in num:
            _hashes(where, f"{key}/files", num["files"])
    if "documents" in data:
        _hashes(where, "documents", data["documents"])
    package = data.get("package", {})
    if not isinstance(package, dict):
        _fail(where, "package", "expected an object")
    _line(where, "package/version", package.get("version"), optional=True)
    if not isinstance(data.get("versions", {}), dict):
        _fail(where, "versions", "expected an object")
    return data


def _variants(where: str, key: str, item_id: str, entry: dict) -> None:
    """A figure's ``variants`` (``reports.latex.figure_variants``): known layouts, exactly one
    primary, a width, files as safe relative paths, one-line LaTeX file and label. (The
    documents never take a file name from here: they name a drawing's files and LaTeX file
    from the item ID and the layout, ``reports.latex.variant_tex``.)"""
    from gradproof.reports.latex import LAYOUTS

    variants = entry["variants"]
    if not isinstance(variants, dict) or not variants:
        _fail(where, f"{key}/variants", "expected a non-empty object")
    primaries = 0
    for layout, v in variants.items():
        vkey = f"{key}/variants/{layout}"
        if layout not in LAYOUTS:
            _fail(where, vkey, f"not a layout ({', '.join(LAYOUTS)})")
        if not isinstance(v, dict):
            _fail(where, vkey, f"expected an object, got {type(v).__name__}")
        primary = v.get("primary")
        if not isinstance(primary, bool):
            _fail(where, f"{vkey}/primary", "expected true or false")
        primaries += primary
        width = v.get("width_in")
        if isinstance(width, bool) or not isinstance(width, (int, float)) or not 0 < width < 100:
            _fail(where, f"{vkey}/width_in", "expected a width in inches")
        files = v.get("files")
        if not isinstance(files, list) or not all(isinstance(f, str) for f in files):
            _fail(where, f"{vkey}/files", "expected a list of file names")
        for rel in files:
            try:
                safe_relpath(rel)
            except InputError as exc:
                _fail(where, f"{vkey}/files/{rel!r}", str(exc))
        _text(where, f"{vkey}/caption", v.get("caption"))
        _line(where, f"{vkey}/tex", v.get("tex"))
        _line(where, f"{vkey}/label", v.get("label"))
    if primaries != 1:
        _fail(where, f"{key}/variants", f"expected exactly one primary drawing, got {primaries}")


def recorded_files(manifest: dict) -> set[str]:
    """Every file a (validated) manifest says gradproof wrote, plus the manifest itself."""
    files = {MANIFEST_NAME}
    files.update(manifest.get("documents", {}))
    for entry in manifest["items"].values():
        files.update(entry["files"])
    return files


def scan_tree(root: Path) -> tuple[dict[str, Path], set[str], list[str]]:
    """(regular files, folders, other entries) below ``root``, relative POSIX paths.

    Never follows a symbolic link: links (to anything, dangling, looping) and special files
    are listed in the third element with what they are.
    """
    files: dict[str, Path] = {}
    dirs: set[str] = set()
    others: list[str] = []

    def walk(folder: Path, prefix: str):
        try:
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError as exc:
            raise InputError(f"cannot list {folder}: {exc.strerror or exc}") from None
        for entry in entries:
            rel = prefix + entry.name
            if entry.is_symlink():
                others.append(f"{rel} (symbolic link)")
            elif entry.is_dir(follow_symlinks=False):
                dirs.add(rel)
                walk(Path(entry.path), rel + "/")
            elif entry.is_file(follow_symlinks=False):
                files[rel] = Path(entry.path)
            else:
                others.append(f"{rel} (special file)")

    walk(Path(root), "")
    return files, dirs, others


def foreign_entries(root: Path, manifest: dict | None) -> list[str]:
    """What ``root`` holds that gradproof did not write (according to ``manifest``)."""
    files, dirs, others = scan_tree(root)
    if manifest is None:
        return sorted(others + list(files) + list(dirs))
    mine = recorded_files(manifest)
    parents = {"/".join(rel.split("/")[:i]) for rel in mine for i in range(1, rel.count("/") + 1)}
    foreign = [rel for rel in files if rel not in mine]
    foreign += [rel + "/" for rel in dirs if rel not in parents]
    return sorted(others + foreign)
