"""What every report item returns, and the helpers figures share.

An item is one small function ``build(ctx) -> ItemResult``. It writes its files through
``ctx`` (relative to the output folder), and returns the parameters, seed, engine and
precision it used plus every number it quotes, so that the manifest can say how each file
and each number was made. Numbers are ``Number`` records computed by package functions; a
caption quotes them through ``Number.display`` so text and manifest never disagree.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

from reports.determinism import FIGURE_FORMATS, PNG_DPI, save_metadata

__all__ = ["Number", "ItemResult", "ItemContext", "save_figure", "format_number",
           "draw_format_levels", "FORMAT_COLOURS", "FIGURE_WIDTH_IN"]

FIGURE_WIDTH_IN = 6.4  # inches; fits a one-column paper at 100 % and an A4 text width
FORMAT_COLOURS = {"float16": "tab:red", "bfloat16": "tab:orange", "float32": "tab:green",
                  "float64": "tab:blue"}


def format_number(value, digits: int = 6) -> str:
    """How a quoted number is printed in text: integers exactly, floats to ``digits`` digits."""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int):
        return str(value)
    if value is None:
        return "none"
    v = float(value)
    if not math.isfinite(v):
        return str(v)
    return format(v, f".{digits}g")


@dataclass(frozen=True)
class Number:
    """A number the report quotes. ``key`` is local to the item (the full ID is item/key)."""

    key: str
    value: object
    description: str
    unit: str = ""
    digits: int = 6

    @property
    def display(self) -> str:
        return format_number(self.value, self.digits)


@dataclass
class ItemResult:
    """What an item made and how: files (relative paths), numbers, and its provenance."""

    files: list[str]
    parameters: dict
    seed: int | None
    engine: str
    precision: str
    caption: str
    numbers: list[Number] = field(default_factory=list)


@dataclass
class ItemContext:
    """The output folder being built (a temporary folder, swapped in at the end)."""

    root: Path

    def path(self, rel: str) -> Path:
        p = self.root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        return p

    def write_text(self, rel: str, text: str) -> str:
        self.path(rel).write_text(text, encoding="utf-8")
        return rel


def save_figure(ctx: ItemContext, fig, item_id: str) -> list[str]:
    """Write ``figures/<id>.{pdf,svg,png}`` (PNG at 300 dpi) with date-free metadata."""
    import matplotlib.pyplot as plt

    files = []
    for fmt in FIGURE_FORMATS:
        rel = f"figures/{item_id}.{fmt}"
        kwargs = {"dpi": PNG_DPI} if fmt == "png" else {}
        fig.savefig(ctx.path(rel), format=fmt, metadata=save_metadata(fmt), **kwargs)
        files.append(rel)
    plt.close(fig)
    return files


def draw_format_levels(ax, formats, names, *, log10: bool = True, which=("min_subnormal",
                       "min_normal"), x_text: float = 0.995) -> None:
    """Labelled horizontal lines at the formats' smallest subnormal/normal magnitudes.

    ``formats`` is ``numerics.formats.FORMATS``; with ``log10`` the lines are drawn at
    log10 of the level (for axes that plot log10 of a norm).
    """
    styles = {"min_subnormal": ":", "min_normal": "--"}
    words = {"min_subnormal": "min subnormal", "min_normal": "min normal"}
    for name in names:
        fmt = formats[name]
        for attr in which:
            level = float(getattr(fmt, attr))
            y = math.log10(level) if log10 else level
            ax.axhline(y, color=FORMAT_COLOURS.get(name, "grey"), linestyle=styles[attr],
                       linewidth=0.8, alpha=0.9)
            ax.annotate(f"{name} {words[attr]}", xy=(x_text, y), xycoords=("axes fraction", "data"),
                        ha="right", va="bottom", fontsize=6.5,
                        color=FORMAT_COLOURS.get(name, "grey"))
