"""The results folder of a sweep: an append-only journal, the sorted table, the sweep's plan.

Layout of ``RESULTS/`` (all UTF-8 text):

* ``journal.jsonl`` -- one JSON object (a row, see :mod:`.point`) per line, appended by the
  process that runs the sweep as points finish: each line is written whole with one
  ``os.write`` and the file is ``fsync``-ed before the points count as done. A crash can at
  worst leave a partial last line; it is ignored when read and cut off before the next append.
  Rows are keyed by the point key (:mod:`.grid`), so rows of an older grid, option set or
  gradproof version stay in the journal but are never taken for a different point.
* ``results.jsonl`` -- the table: the rows of the current plan's finished points, one per
  point, sorted by (engine, activation, hidden, steps, spectral_norm, forget_bias, seed), keys
  of each row sorted; written to a temporary file and moved into place with ``os.replace``.
  ``pandas.read_json("RESULTS/results.jsonl", lines=True)`` reads it.
* ``sweep.json`` -- the plan (model, grid SPECs and values, fixed options, version, point
  count, whether the table is complete), for ``gradproof sweep plot`` and for people.
* ``.lock`` -- an ``fcntl`` lock held while a sweep writes, so two sweeps never share a folder.

A folder that exists, is not empty and has no ``sweep.json`` is refused (InputError), so a
mistyped ``--out`` never writes into an unrelated folder.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import tempfile
from pathlib import Path

from gradproof.numerics.errors import InputError
from gradproof.reports.sweep.grid import OPTION_ORDER, Plan

__all__ = ["JOURNAL", "TABLE", "PLAN", "Store", "row_sort_key", "dumps_row", "read_table",
           "read_plan", "table_path"]

JOURNAL = "journal.jsonl"
TABLE = "results.jsonl"
PLAN = "sweep.json"
LOCK = ".lock"


def dumps_row(row: dict) -> str:
    """One row as one line of canonical JSON (sorted keys, no NaN)."""
    return json.dumps(row, sort_keys=True, separators=(",", ":"), allow_nan=False)


def row_sort_key(row: dict) -> tuple:
    """Rows sorted by the options in the canonical order; None before any value."""
    out = []
    for name in OPTION_ORDER:
        v = row.get(name)
        out.append((0, 0) if v is None else (1, v))
    return tuple(out) + (row.get("key", ""),)


def _atomic_write(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


@contextlib.contextmanager
def _signals_deferred():
    """Block SIGINT and SIGTERM in this thread (delivered when the block ends)."""
    if not hasattr(signal, "pthread_sigmask"):  # pragma: no cover - not POSIX
        yield
        return
    old = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


def _ours(name: str) -> bool:
    """A file a sweep writes (a folder being set up has these before its ``sweep.json``)."""
    return name in (LOCK, JOURNAL, TABLE) or name.startswith((f".{PLAN}.", f".{TABLE}."))


def _read_journal(path: Path) -> tuple[dict, int]:
    """Rows by key from a journal, and the byte length of its complete lines."""
    rows: dict = {}
    if not path.exists():
        return rows, 0
    data = path.read_bytes()
    good = data.rfind(b"\n") + 1  # bytes after the last newline: a partial line, ignored
    for lineno, line in enumerate(data[:good].splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            key = row["key"]
        except (ValueError, KeyError, TypeError):
            raise InputError(f"{path}: line {lineno} is not a sweep row; remove the line or the "
                             "folder") from None
        rows.setdefault(key, row)
    return rows, good


class Store:
    """An open results folder (use as a context manager: it holds the folder's lock)."""

    def __init__(self, out) -> None:
        self.root = Path(out)
        self._lock_fh = None
        self._fd = None
        self.rows: dict = {}

    # -- opening ---------------------------------------------------------------------------
    def __enter__(self) -> "Store":
        import fcntl

        root = self.root
        if root.exists() and not root.is_dir():
            raise InputError(f"--out {root} exists and is not a folder")
        if (root.is_dir() and not (root / PLAN).exists()
                and any(not _ours(f.name) for f in root.iterdir())):
            raise InputError(f"--out {root} is a folder with other files and no {PLAN}; "
                             "give a new or empty folder (or a previous sweep's)")
        try:
            root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise InputError(f"cannot create --out {root}: {exc.strerror}") from None
        self._lock_fh = open(root / LOCK, "a+")
        try:
            fcntl.flock(self._lock_fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            self._lock_fh.close()
            self._lock_fh = None
            raise InputError(f"another sweep is writing to {root}") from None
        journal = root / JOURNAL
        self.rows, good = _read_journal(journal)
        self._fd = os.open(journal, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        if os.fstat(self._fd).st_size != good:
            os.truncate(journal, good)  # cut a partial last line left by a crash
        return self

    def __exit__(self, *exc) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        if self._lock_fh is not None:
            self._lock_fh.close()  # releases the lock
            self._lock_fh = None

    # -- writing ---------------------------------------------------------------------------
    def commit(self, rows: list) -> None:
        """Append finished rows (whole lines, one write) and fsync: from now on they are done."""
        new = [r for r in rows if r["key"] not in self.rows]
        if not new:
            return
        data = "".join(dumps_row(r) + "\n" for r in new).encode("utf-8")
        # Marked done first: an interrupt inside this method can then never make the caller
        # commit the rows a second time (at worst they miss the journal and are recomputed on
        # resume). Ctrl-C / SIGTERM are held back while the lines are written and synced.
        for r in new:
            self.rows[r["key"]] = r
        with _signals_deferred():
            view = memoryview(data)
            while view:
                n = os.write(self._fd, view)
                view = view[n:]
            os.fsync(self._fd)

    def write_plan(self, plan: Plan, *, complete: bool, done: int) -> None:
        obj = {"gradproof_sweep": 1, **plan.to_dict(), "complete": complete, "points_done": done,
               "table": TABLE, "journal": JOURNAL}
        _atomic_write(self.root / PLAN, json.dumps(obj, indent=2, sort_keys=True, allow_nan=False) + "\n")

    def write_table(self, plan: Plan) -> int:
        """Write the sorted table of the plan's finished points; returns how many rows."""
        rows = [self.rows[p.key] for p in plan.points if p.key in self.rows]
        rows.sort(key=row_sort_key)
        _atomic_write(self.root / TABLE, "".join(dumps_row(r) + "\n" for r in rows))
        return len(rows)


def table_path(results) -> Path:
    """RESULTS (the folder or its ``results.jsonl``) -> the table's path (InputError if absent)."""
    p = Path(results)
    if p.is_dir():
        p = p / TABLE
    if not p.is_file():
        raise InputError(f"no sweep table at {p}")
    return p


def read_table(results) -> list[dict]:
    """The rows of a results table (folder or file)."""
    p = table_path(results)
    rows = []
    for lineno, line in enumerate(p.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except ValueError:
            raise InputError(f"{p}: line {lineno} is not JSON") from None
        if not isinstance(row, dict):
            raise InputError(f"{p}: line {lineno} is not a JSON object")
        rows.append(row)
    if not rows:
        raise InputError(f"{p} has no rows")
    return rows


def read_plan(results) -> dict | None:
    """``sweep.json`` next to a table, if there is one (None otherwise)."""
    p = Path(results)
    folder = p if p.is_dir() else p.parent
    f = folder / PLAN
    if not f.is_file():
        return None
    try:
        obj = json.loads(f.read_text(encoding="utf-8"))
    except ValueError:
        raise InputError(f"{f} is not JSON") from None
    return obj if isinstance(obj, dict) else None
