"""manifest.json: how every figure, document and quoted number in a report was made.

Shape (keys sorted when written)::

    {"gradproof_manifest": 1,
     "package": {"name": "gradproof", "version": "0.1.0"},
     "versions": {"python": ..., "numpy": ..., "sympy": ..., ...},
     "reproduce": "gradproof report",
     "source": {"git_commit": "<git rev-parse HEAD, or unknown>"},   (informational)
     "items": {ID: {"kind", "title", "caption", "command", "parameters", "seed",
                    "engine", "precision", "versions", "files": {relpath: sha256}}},
     "numbers": {NUMBER_ID: {"item", "value", "display", "unit", "description", "macro",
                             "command", "parameters", "seed", "engine", "precision",
                             "versions", "files"}},
     "documents": {relpath: sha256}}

``compare_manifests`` is what ``gradproof report --check`` uses: strings exactly, numbers to 12
significant digits, the environment-dependent parts (tool versions, the source git commit,
hashes of binary PNG/PDF files, which depend on the rasteriser and zlib builds) excluded -- binary files are checked
separately against their own recorded hash.
"""

from __future__ import annotations

import hashlib
import json
import math
import sys
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from gradproof.numerics.version import package_version

__all__ = ["MANIFEST_NAME", "MANIFEST_FORMAT", "TRACKED_PACKAGES", "package_version",
           "tool_versions", "sha256_file", "read_manifest", "write_manifest", "dumps_manifest",
           "is_gradproof_manifest", "compare_manifests", "numbers_agree", "BINARY_SUFFIXES"]

MANIFEST_NAME = "manifest.json"
MANIFEST_FORMAT = 1
TRACKED_PACKAGES = ("numpy", "sympy", "mpmath", "matplotlib", "ml_dtypes", "python-flint",
                    "latex2mathml")
BINARY_SUFFIXES = (".png", ".pdf")
SIGNIFICANT_DIGITS = 12


def tool_versions() -> dict:
    """Versions of Python and of every library whose output enters a report."""
    out = {"python": ".".join(str(v) for v in sys.version_info[:3]), "gradproof": package_version()}
    for name in TRACKED_PACKAGES:
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = "not installed"
    return out


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


def numbers_agree(a: float, b: float, digits: int = SIGNIFICANT_DIGITS) -> bool:
    """True when a and b agree to ``digits`` significant digits.

    Equal when their ``.{digits}g`` renderings coincide, or (for values that straddle a
    rounding boundary) when |a - b| <= 10^-digits max(|a|, |b|).
    """
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    if a == b:
        return True
    fa, fb = float(a), float(b)
    if math.isnan(fa) and math.isnan(fb):
        return True
    if not (math.isfinite(fa) and math.isfinite(fb)):
        return False
    if format(fa, f".{digits}g") == format(fb, f".{digits}g"):
        return True
    return abs(fa - fb) <= 10.0 ** (-digits) * max(abs(fa), abs(fb))


def _is_number(x) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool)


def _ignored(path: tuple) -> bool:
    """Environment-dependent manifest entries that --check does not compare."""
    if "versions" in path:
        return True
    if path[:1] == ("source",):  # the git commit of the build: informational only
        return True
    # hashes of binary files (rasteriser/zlib dependent); checked against the files instead
    if len(path) >= 2 and path[-2] in ("files", "documents") and \
            str(path[-1]).endswith(BINARY_SUFFIXES):
        return True
    return False


def compare_manifests(built: dict, committed: dict) -> list[str]:
    """Differences between two manifests as readable lines (empty list: they agree)."""
    diffs: list[str] = []

    def walk(a, b, path: tuple):
        if _ignored(path):
            return
        where = "/".join(str(p) for p in path) or "(top)"
        if isinstance(a, dict) and isinstance(b, dict):
            for key in sorted(set(a) | set(b)):
                if _ignored(path + (key,)):
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
        elif _is_number(a) and _is_number(b):
            if not numbers_agree(a, b):
                diffs.append(f"{where}: {a!r} != {b!r} (12 significant digits)")
        elif a != b:
            diffs.append(f"{where}: {a!r} != {b!r}")

    walk(built, committed, ())
    return diffs
