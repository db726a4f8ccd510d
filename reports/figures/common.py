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

from gradproof.numerics.published import Published, float64, limit_text, publish, rounded
from gradproof.reports.determinism import FIGURE_FORMATS, PNG_DPI, save_metadata
from gradproof.reports.figures.placement import LEVEL_LABEL_GID, LEVEL_LINE_GID

__all__ = ["Number", "ItemResult", "ItemContext", "FigureVariant", "COLUMN_SUFFIX", "DRAWINGS", "figure_size", "two_panels", "save_drawings", "save_figure", "save_figure_data", "format_number",
           "draw_format_levels", "label_format_levels_right", "level_legend_entries", "format_levels", "power_of_two_latex", "FORMAT_COLOURS", "FIGURE_WIDTH_IN"]

from gradproof.reports.figures.style import COLUMN_WIDTH_IN, FORMAT_COLOURS, PAGE_WIDTH_IN  # noqa: E402

FIGURE_WIDTH_IN = PAGE_WIDTH_IN  # inches: \textwidth of a two-column article (figure*), 100 %


def format_number(value, digits: int = 6) -> str:
    """How a quoted number is printed: ``numerics.published`` (integers exactly, floats as
    float64 results at tolerance 1e-9, at most ``digits`` digits). Kept for callers; new code
    uses ``Number`` or ``numerics.published`` directly."""
    return publish(value, max_digits=digits).text


@dataclass(frozen=True)
class Number:
    """A number the report quotes. ``key`` is local to the item (the full ID is item/key).

    Printed by ``numerics.published`` (the README's "Published digits"): ints and None exactly;
    floats by ``basis`` -- ``"float64"`` (default: a float64 result, or one computed from
    float64 inputs; the digits stable under a relative change of 1e-9, at most ``digits``) or
    ``"exact"``; with ``limit`` set, the number is a residual published as ``< limit``. ``atol``
    adds an absolute tolerance (for quantities that may be rounding noise around 0)."""

    key: str
    value: object
    description: str
    unit: str = ""
    digits: int = 6
    basis: str = "float64"
    limit: float | None = None
    atol: float = 0.0

    @property
    def published(self) -> Published:
        if self.atol and self.limit is None and isinstance(self.value, float):
            return float64(self.value, atol=self.atol, max_digits=self.digits)
        return publish(self.value, basis=self.basis, max_digits=self.digits, limit=self.limit)

    @property
    def display(self) -> str:
        return self.published.text


#: file-name suffix of a figure's one-column version (``figures/<id>-column.pdf``) when the
#: figure is also drawn for the page width (``figures/<id>.pdf``)
COLUMN_SUFFIX = "-column"


@dataclass(frozen=True)
class FigureVariant:
    """One drawing of a figure: ``layout`` "page" (``style.PAGE_WIDTH_IN``, a ``figure*``) or
    "column" (``style.COLUMN_WIDTH_IN``, a ``figure``), its files (``figures/...``) and its
    caption (a column version names its panels "top"/"bottom" where the page version says
    "left"/"right"). Both drawings show the same data (one ``data/<id>.json``)."""

    layout: str
    width_in: float
    files: tuple[str, ...]
    caption: str


@dataclass
class ItemResult:
    """What an item made and how: files (relative paths), numbers, and its provenance.

    ``variants``: for a figure drawn twice (page and column), one :class:`FigureVariant` per
    drawing, the page one first (its caption is ``caption``); empty for a figure drawn once
    (its width is the parameter ``width_in``, absent for the page width)."""

    files: list[str]
    parameters: dict
    seed: int | None
    engine: str
    precision: str
    caption: str
    numbers: list[Number] = field(default_factory=list)
    variants: list[FigureVariant] = field(default_factory=list)


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


def save_figure(ctx: ItemContext, fig, item_id: str, suffix: str = "") -> list[str]:
    """Write ``figures/<id><suffix>.{pdf,svg,png}`` (PNG at 300 dpi) with date-free metadata
    (``suffix``: ``""``, or :data:`COLUMN_SUFFIX` for the column version of a page figure)."""
    import matplotlib.pyplot as plt

    from gradproof.reports.figures.placement import clear_labels

    clear_labels(fig)  # reference-line labels outside the plotting area (placement.py)
    files = []
    for fmt in FIGURE_FORMATS:
        rel = f"figures/{item_id}{suffix}.{fmt}"
        kwargs = {"dpi": PNG_DPI} if fmt == "png" else {}
        fig.savefig(ctx.path(rel), format=fmt, metadata=save_metadata(fmt), **kwargs)
        files.append(rel)
    plt.close(fig)
    return files


#: the drawings of a figure drawn twice: layout -> (width in inches, file-name suffix), page first
DRAWINGS = {"page": (PAGE_WIDTH_IN, ""), "column": (COLUMN_WIDTH_IN, COLUMN_SUFFIX)}


def figure_size(layout: str, page_height: float, column_height: float) -> tuple[float, float]:
    """(width, height) in inches of a figure's drawing for ``layout`` ("page" or "column")."""
    return DRAWINGS[layout][0], (column_height if layout == "column" else page_height)


def two_panels(layout: str, page_height: float, column_height: float, *, page_kw=None, **kw):
    """(fig, axes) of a two-panel figure: side by side for "page", stacked for "column"
    (constrained layout; ``page_kw``: extra ``plt.subplots`` arguments of the page grid only)."""
    import matplotlib.pyplot as plt

    column = layout == "column"
    extra = {} if column else dict(page_kw or {})
    return plt.subplots(*((2, 1) if column else (1, 2)), figsize=figure_size(layout, page_height, column_height),
                        layout="constrained", **kw, **extra)


def save_drawings(ctx: ItemContext, item_id: str, draw, caption) -> tuple[list[str], list[FigureVariant]]:
    """Draw and save both layouts of a figure (``draw(layout) -> fig``), page first; returns the
    files (page, then column) and one :class:`FigureVariant` per drawing with ``caption(layout)``."""
    files, variants = [], []
    for layout, (width, suffix) in DRAWINGS.items():
        saved = save_figure(ctx, draw(layout), item_id, suffix)
        files += saved
        variants.append(FigureVariant(layout, width, tuple(saved), caption(layout)))
    return files, variants


def save_figure_data(ctx: ItemContext, item_id: str, series: dict, *,
                     atol: dict[str, float] | None = None) -> str:
    """Write ``data/<id>.json``: the data a figure draws, each point as published
    (``numerics.published``: ints exactly, floats at tolerance 1e-9, at most 6 digits), so that
    ``gradproof report --check`` compares a figure by its data on any machine (PNG/PDF bytes
    never, SVG bytes only when drawn by the same matplotlib).

    ``series``: ``{name: {"x": values, "y": values, ...}}`` (arrays or lists); a column named in
    ``atol`` also gets that absolute tolerance: 1e-9 for log10 values and differences of logs
    (rounding noise around 0 prints as ``|x| < 1e-9`` on every machine), more for quantities
    that amplify the last bits (Lyapunov exponents of chaotic trajectories)."""
    import json

    atol = dict(atol or {})

    def column(name, values):
        out = []
        for v in list(getattr(values, "tolist", lambda: values)()):
            if isinstance(v, float):
                out.append(float64(v, atol=atol.get(name, 0.0)).text)
            else:
                out.append(publish(v).text)
        return out

    data = {"id": item_id,
            "basis": "numerics.published: ints exact; floats float64, tolerance 1e-9, at most 6 "
                     "significant digits" + "".join(
                         f"; {col}: also absolute tolerance {limit_text(tol)}"
                         for col, tol in sorted(atol.items())),
            "series": {name: {col: column(col, vals) for col, vals in cols.items()}
                       for name, cols in series.items()}}
    return ctx.write_text(f"data/{item_id}.json", json.dumps(data, indent=1, sort_keys=True) + "\n")


def format_levels(formats, names, which=("min_normal", "min_subnormal")) -> list[tuple]:
    """The distinct levels of ``names``: ``[(level, attr, [format names])]``, highest first.

    Equal levels are merged (bfloat16 and float32 share the smallest normal number 2^-126), so
    one line carries one label naming every format it belongs to.
    """
    merged: dict[tuple, list[str]] = {}
    for name in names:
        for attr in which:
            merged.setdefault((float(getattr(formats[name], attr)), attr), []).append(name)
    return [(level, attr, group) for (level, attr), group in
            sorted(merged.items(), key=lambda kv: (-kv[0][0], kv[0][1]))]


#: how draw_format_levels draws and names a level: min normal dashed, min subnormal dotted
_LEVEL_STYLES = {"min_subnormal": ":", "min_normal": "--"}
_LEVEL_WORDS = {"min_subnormal": "min subnormal", "min_normal": "min normal"}
_LEVEL_LINEWIDTH = 0.8


def _level_label(level: float, attr: str, group: list[str], wrap: bool = False) -> str:
    """``bfloat16 & float32 min normal $2^{-126}$``: the formats, the level's kind, its value
    (with ``wrap``, on two lines: the formats, then the kind and value)."""
    return (f"{' & '.join(group)}{chr(10) if wrap else ' '}{_LEVEL_WORDS[attr]} "
            f"${power_of_two_latex(level)}$")


def power_of_two_latex(level: float) -> str:
    """``2^{e}`` for an exact power of two (the format levels are), else the exact value
    correctly rounded to 3 digits (``numerics.published.rounded``)."""
    mantissa, exponent = math.frexp(level)
    return f"2^{{{exponent - 1}}}" if mantissa == 0.5 else rounded(level, 3).text


def draw_format_levels(ax, formats, names, *, log10: bool = True,
                       which=("min_normal", "min_subnormal"), x_text=0.995, ha="right",
                       fontsize: float = 7.0, labels: bool = True, colour: str | None = None,
                       wrap: bool = False) -> None:
    """Labelled horizontal lines at the formats' smallest normal (dashed) and smallest
    subnormal (dotted) magnitudes (``formats`` is ``numerics.formats.FORMATS``).

    With ``log10`` the lines are drawn at log10 of the level (for axes that plot log10 of a
    norm). A min-normal label sits above its line and a min-subnormal label below, so the two
    levels of one format never cover each other; each label states the level as a power of two.
    Before saving, ``placement.clear_labels`` moves every label outside the right edge of its
    axes (at its line's height, spread from its neighbours, with a leader), so that no label
    covers a curve; ``x_text`` and ``ha`` (axes fraction, alignment; dicts keyed by format name
    allowed) only matter for a figure drawn without ``save_figure``. ``colour``
    overrides the formats' colours (for figures whose curves use those colours already);
    ``wrap`` puts each label on two lines (formats; kind and value), for a column-wide figure
    whose right margin is narrow.
    """
    for level, attr, group in format_levels(formats, names, which):
        line_colour = colour or (FORMAT_COLOURS.get(group[0], "grey") if len(group) == 1
                                 else "dimgrey")
        y = math.log10(level) if log10 else level
        ax.axhline(y, color=line_colour, linestyle=_LEVEL_STYLES[attr], linewidth=_LEVEL_LINEWIDTH,
                   alpha=0.9, zorder=1, gid=LEVEL_LINE_GID)
        if not labels:
            continue
        x = x_text.get(group[0], 0.995) if isinstance(x_text, dict) else x_text
        align = ha.get(group[0], "right") if isinstance(ha, dict) else ha
        ax.annotate(_level_label(level, attr, group, wrap), xy=(x, y), xycoords=("axes fraction", "data"), ha=align,
                    va="bottom" if attr == "min_normal" else "top", fontsize=fontsize,
                    color=line_colour, zorder=5, gid=LEVEL_LABEL_GID,
                    bbox={"boxstyle": "square,pad=0.05", "facecolor": "white",
                          "edgecolor": "none", "alpha": 0.75})


def label_format_levels_right(ax, formats, names, *, fontsize: float = 7.0,
                              colour: str = "dimgrey") -> None:
    """Name the levels of ``names`` (log10 axis) as tick labels on the right edge of ``ax``,
    for levels whose in-plot labels would cross the curves; lines are drawn by
    :func:`draw_format_levels`."""
    twin = ax.twinx()
    twin.grid(False)
    twin.set_ylim(ax.get_ylim())
    levels = format_levels(formats, names)
    twin.set_yticks([math.log10(level) for level, _, _ in levels],
                    [_level_label(level, a, g) for level, a, g in levels])
    twin.tick_params(axis="y", labelsize=fontsize, colors=colour, length=2, pad=1)


def level_legend_entries(ax, *, colour: str = "dimgrey", normal: str = "format's smallest normal",
                         subnormal: str = "format's smallest subnormal") -> None:
    """Legend entries (lines without data) for the levels of :func:`draw_format_levels`, in
    its styles: smallest normal dashed, then smallest subnormal dotted."""
    for attr, label in (("min_normal", normal), ("min_subnormal", subnormal)):
        ax.plot([], [], _LEVEL_STYLES[attr], color=colour, linewidth=_LEVEL_LINEWIDTH, label=label)
