"""The installed gradproof version (package metadata, else this checkout's pyproject.toml)."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

__all__ = ["package_version", "__version__"]


def package_version() -> str:
    """The gradproof version: installed metadata, else ``pyproject.toml`` of this checkout."""
    try:
        return version("gradproof")
    except PackageNotFoundError:
        pass
    import tomllib

    pyproject = Path(__file__).resolve().parent.parent / "pyproject.toml"
    with open(pyproject, "rb") as fh:
        return tomllib.load(fh)["project"]["version"]


__version__ = package_version()
