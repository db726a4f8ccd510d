"""manifest.json: how every figure, document and quoted number in a report was made.

Shape (keys sorted when written)::

    {"gradproof_manifest": 1,
     "package": {"name": "gradproof", "version": "0.1.0"},
     "versions": {"python": ..., "numpy": ..., "sympy": ..., ...},
     "environment": {"python", "platform", "machine", "cpu_model", "blas", "simd",
                     "threadpools", "lock_file", "lock_sha256"},
     "reproduce": "gradproof report",
     "source": {"git_commit": "<git rev-parse HEAD, or unknown>"},   (informational)
     "items": {ID: {"kind", "title", "caption", "command", "parameters", "seed",
                    "engine", "precision", "versions", "files": {relpath: sha256},
                    "variants": {LAYOUT: {"width_in", "files", "caption", "primary", "tex",
                                          "label"}}}},      (figures only)
     "numbers": {NUMBER_ID: {"item", "value", "display", "digits", "basis", "unit",
                             "description", "macro", "command", "parameters", "seed",
                             "engine", "precision", "versions", "files"}},
     "documents": {relpath: sha256}}

A figure's ``variants`` say which of its files are which drawing: ``page`` (6.48 in, a
``figure*``) and/or ``column`` (3.17 in, a ``figure``; a two-panel page figure's column version
has its panels stacked and its files named ``figures/<id>-column.*``); ``primary`` marks the
drawing report.md and report.html show, whose LaTeX file is ``tex/figure-<id>.tex`` (the other
one's is ``tex/figure-<id>-column.tex``). Each drawing's files are also under ``files``.

``display`` is the number as published (``numerics.published``), ``basis`` why its digits
are certain (``exact``, ``certified``, ``float64, tolerance 1e-9``, ``mpmath ...``, ``bound:
...``), ``value`` the full value (informational).

``compare_manifests`` is what ``gradproof report --check`` uses: content, not the
environment. Strings (captions, displays, commands) and exact numbers (parameters, seeds,
exact values) must be equal; the ``value`` of a float64/mpmath number must agree within its
tolerance (1e-9 relative), that of a residual published as a bound is not compared (its
display is); ``versions``, ``environment`` and ``source`` (the git commit) are never compared (``version_notes`` lists
them), nor the hashes of PNG/PDF files (rasteriser/zlib builds) or, when the committed
figures were drawn by another matplotlib, of SVG files -- binary files are checked against
their own recorded hash instead. SVG hashes are not compared either: the SVG files themselves
are (``reports.build.svg_same_drawing``), when drawn by the same matplotlib.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import platform
import sys
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from gradproof.numerics.published import FLOAT64_RTOL, limit_text
from gradproof.numerics.version import package_version

__all__ = ["MANIFEST_NAME", "MANIFEST_FORMAT", "TRACKED_PACKAGES", "package_version",
           "tool_versions", "sha256_file", "read_manifest", "write_manifest", "dumps_manifest",
           "is_gradproof_manifest", "compare_manifests", "numbers_agree", "BINARY_SUFFIXES",
           "environment", "version_notes", "LOCK_NAME", "lock_file"]

MANIFEST_NAME = "manifest.json"
MANIFEST_FORMAT = 1
TRACKED_PACKAGES = ("numpy", "sympy", "mpmath", "matplotlib", "ml_dtypes", "python-flint",
                    "latex2mathml")
BINARY_SUFFIXES = (".png", ".pdf")
LOCK_NAME = "requirements.lock"


def tool_versions() -> dict:
    """Versions of Python and of every library whose output enters a report."""
    out = {"python": ".".join(str(v) for v in sys.version_info[:3]), "gradproof": package_version()}
    for name in TRACKED_PACKAGES:
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = "not installed"
    return out


def lock_file() -> Path | None:
    """``requirements.lock`` of the source checkout (or of the current folder, for an
    installed wheel run at the repository root, as ``.ci/run`` does); None if absent."""
    here = Path(__file__).resolve().parent.parent
    for folder in (here, Path.cwd()):
        if (folder / LOCK_NAME).is_file():
            return folder / LOCK_NAME
    return None


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as fh:
            for line in fh:
                if line.lower().startswith(("model name", "hardware", "cpu model")):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _numpy_build() -> tuple[dict, dict]:
    try:
        import numpy as np

        config = np.show_config(mode="dicts")
    except Exception:  # older numpy: no dict mode
        return {}, {}
    blas = dict(config.get("Build Dependencies", {}).get("blas", {}))
    blas = {k: blas[k] for k in ("name", "version", "openblas configuration") if k in blas}
    simd = config.get("SIMD Extensions", {})
    return blas, {k: list(simd.get(k, [])) for k in ("baseline", "found", "not found") if k in simd}


def _threadpools() -> list[dict] | str:
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return "threadpoolctl not installed"
    keys = ("internal_api", "version", "architecture", "threading_layer", "num_threads")
    return [{k: info[k] for k in keys if k in info} for info in threadpool_info()]


def environment() -> dict:
    """Where a report was built: Python, platform, CPU model, numpy's BLAS and SIMD paths,
    threadpools (if threadpoolctl is installed) and the lock file's SHA-256. Informational
    only: ``gradproof report --check`` never compares it."""
    blas, simd = _numpy_build()
    lock = lock_file()
    return {
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpu_model": _cpu_model(),
        "cpu_count": os.cpu_count(),
        "blas": blas,
        "simd": simd,
        "npy_disable_cpu_features": os.environ.get("NPY_DISABLE_CPU_FEATURES", ""),
        "threadpools": _threadpools(),
        "lock_file": LOCK_NAME if lock else "not found",
        "lock_sha256": sha256_file(lock) if lock else None,
    }


def version_notes(built: dict, committed: dict) -> list[str]:
    """``name committed -> here`` for every tool whose version differs between two manifests."""
    a, b = built.get("versions", {}), committed.get("versions", {})
    return [f"{k} {b.get(k, 'absent')} -> {a.get(k, 'absent')}"
            for k in sorted(set(a) | set(b)) if a.get(k) != b.get(k)]


def sha256_file(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 16), b""):
            h.update(block)
    return h.hexdigest()


def dumps_manifest(manifest: dict) -> str:
    return json.dumps(manifest, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def write_manifest(folder: Path, manifest: dict) -> None:
    (Path(folder) / MANIFEST_NAME).write_text(dumps_manifest(manifest), encoding="utf-8")


def read_manifest(folder: Path) -> dict | None:
    """The manifest in ``folder``, or None if there is none or it is not a gradproof manifest."""
    path = Path(folder) / MANIFEST_NAME
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if is_gradproof_manifest(data) else None


def is_gradproof_manifest(data) -> bool:
    return isinstance(data, dict) and data.get("gradproof_manifest") == MANIFEST_FORMAT


def numbers_agree(a, b, rtol: float = FLOAT64_RTOL) -> bool:
    """True when a and b agree within the relative tolerance of a published float64 number
    (equal NaNs agree; bools and ints must be equal)."""
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    if a == b:
        return True
    if isinstance(a, int) and isinstance(b, int):
        return False
    fa, fb = float(a), float(b)
    if math.isnan(fa) and math.isnan(fb):
        return True
    if not (math.isfinite(fa) and math.isfinite(fb)):
        return False
    return abs(fa - fb) <= rtol * max(abs(fa), abs(fb))


def _is_number(x) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool)


def _ignored(path: tuple, skip_svg: bool) -> bool:
    """Environment-dependent manifest entries that --check does not compare."""
    if "versions" in path or (path and path[0] == "environment"):
        return True
    if path[:1] == ("source",):  # the git commit of the build: informational only
        return True
    # hashes of binary files (rasteriser/zlib dependent); checked against the files instead
    if len(path) >= 2 and path[-2] in ("files", "documents"):
        name = str(path[-1])
        if name.endswith(BINARY_SUFFIXES) or name.endswith(".svg"):
            return True
    return False


def _value_rule(number: dict) -> str:
    """How a number's ``value`` is compared: "exact", "tolerance" or "display-only"."""
    basis = str(number.get("basis", "exact"))
    if basis == "exact" or basis.startswith("exact,"):
        return "exact"
    if basis.startswith("bound") or "below tolerance" in basis or "interval" in basis:
        return "display-only"
    return "tolerance"


def compare_manifests(built: dict, committed: dict, *, skip_svg: bool = False) -> list[str]:
    """Differences between two manifests as readable lines ``where: committed X, built Y``
    (empty list: same content)."""
    diffs: list[str] = []

    def walk(a, b, path: tuple):
        if _ignored(path, skip_svg):
            return
        where = "/".join(str(p) for p in path) or "(top)"
        if isinstance(a, dict) and isinstance(b, dict):
            for key in sorted(set(a) | set(b)):
                if _ignored(path + (key,), skip_svg):
                    continue
                if key not in b:
                    diffs.append(f"{where}/{key}: missing in committed manifest")
                elif key not in a:
                    diffs.append(f"{where}/{key}: not produced by the build")
                else:
                    walk(a[key], b[key], path + (key,))
        elif isinstance(a, list) and isinstance(b, list):
            if len(a) != len(b):
                diffs.append(f"{where}: length {len(a)} != {len(b)}")
            else:
                for i, (x, y) in enumerate(zip(a, b)):
                    walk(x, y, path + (i,))
        elif len(path) == 3 and path[0] == "numbers" and path[2] == "value":
            rule = _value_rule(committed["numbers"][path[1]])
            if rule == "exact" and a != b or rule == "tolerance" and not (
                    _is_number(a) and _is_number(b) and numbers_agree(a, b)) and a != b:
                tol = "" if rule == "exact" else f" (beyond the tolerance {limit_text(FLOAT64_RTOL)})"
                diffs.append(f"{where}: committed {b!r}, built {a!r}{tol}")
        elif a != b or type(a) is not type(b) and not (_is_number(a) and _is_number(b)):
            diffs.append(f"{where}: committed {b!r}, built {a!r}")

    walk(built, committed, ())
    return diffs
