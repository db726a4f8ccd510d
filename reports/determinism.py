"""Byte-for-byte reproducible figures (matplotlib's own recipe, ``tests/reports/test_determinism.py``).

Four sources of run-to-run differences are removed:

* the backend: always Agg (no display, same rasteriser everywhere);
* SVG element ids: matplotlib derives them from a hash salted with ``svg.hashsalt``; a fixed
  salt gives the same ids in every process;
* dates: ``SOURCE_DATE_EPOCH`` is set (PDF ``CreationDate`` falls back to it) and the
  metadata written by :func:`save_metadata` sets every date key to ``None`` (omitted);
* tool versions in file metadata: ``Creator``/``Producer``/``Software`` name gradproof only, so
  a matplotlib patch release does not change a figure's bytes unless the drawing changes.

Style is fixed as well (``rcParams`` below), so a user's ``matplotlibrc`` cannot leak in.
"""

from __future__ import annotations

import logging
import os

__all__ = ["SOURCE_DATE_EPOCH", "SVG_HASHSALT", "PNG_DPI", "configure", "save_metadata",
           "FIGURE_FORMATS"]

SOURCE_DATE_EPOCH = "946684800"  # 2000-01-01T00:00:00Z; any fixed value (0 trips fontTools)
SVG_HASHSALT = "gradproof"
PNG_DPI = 300
FIGURE_FORMATS = ("pdf", "svg", "png")

_RC = {
    "svg.hashsalt": SVG_HASHSALT,
    "svg.fonttype": "path",        # glyphs as paths: no dependence on installed fonts
    "pdf.fonttype": 42,
    "font.family": "DejaVu Sans",  # shipped with matplotlib
    "font.size": 9.0,
    "axes.titlesize": 9.5,
    "axes.labelsize": 9.0,
    "legend.fontsize": 7.5,  # >= style.MIN_FONT_PT (7 pt) everywhere
    "xtick.labelsize": 8.0,
    "ytick.labelsize": 8.0,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "grid.linewidth": 0.5,
    "lines.linewidth": 1.4,
    "savefig.dpi": PNG_DPI,
    "figure.dpi": 100,
    "path.simplify": True,
    "axes.formatter.use_mathtext": True,
}


class _FontTimestampFilter(logging.Filter):
    """Drop fontTools' note that a bundled font's 'head' timestamps predate 1970 (harmless:
    matplotlib subsets the font for PDF; the note would break ``gradproof report -q``)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "timestamp seems very low" not in record.getMessage()


_FILTER = _FontTimestampFilter()


def configure() -> None:
    """Select Agg, fix the SVG hash salt, SOURCE_DATE_EPOCH and the style. Idempotent."""
    os.environ["SOURCE_DATE_EPOCH"] = SOURCE_DATE_EPOCH
    head_logger = logging.getLogger("fontTools.ttLib.tables._h_e_a_d")
    if _FILTER not in head_logger.filters:
        head_logger.addFilter(_FILTER)
    import matplotlib

    matplotlib.use("Agg", force=True)
    matplotlib.rcdefaults()
    matplotlib.rcParams.update(_RC)


def save_metadata(fmt: str) -> dict:
    """Metadata for ``Figure.savefig(..., metadata=)`` with no dates and no tool versions."""
    if fmt == "pdf":
        return {"Creator": "gradproof", "Producer": "gradproof", "CreationDate": None,
                "ModDate": None}
    if fmt == "svg":
        return {"Creator": "gradproof", "Date": None}
    if fmt == "png":
        return {"Software": "gradproof"}
    raise ValueError(f"unknown figure format {fmt!r}")
