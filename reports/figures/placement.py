"""Labels clear of the data: reference-line labels stand outside the plotting area.

Figures label reference lines (a float format's smallest normal and subnormal number). Inside
the axes such a label sits on a curve wherever the curves are dense (and at 7 pt there is no
free place near the levels of the report's figures: ``clear_labels`` first tries in-plot
places and falls back). So before a figure is saved, :func:`clear_labels` (called by
``common.save_figure``) puts each label just outside the right edge of its axes, at the height
of its line, joined to the line's end by a thin leader; labels of close levels are spread apart
(at least 1.25 line heights per line of a label) so that none covers another. The plotting area then holds data
only; ``tests/reports/test_figures.py`` checks it on the rendered pixels (data drawn alone and labels
drawn alone share no pixel), independently of this module's geometry.
"""

from __future__ import annotations

__all__ = ["LEVEL_LINE_GID", "LEVEL_LABEL_GID", "clear_labels", "spread"]

LEVEL_LINE_GID = "gradproof-level-line"
LEVEL_LABEL_GID = "gradproof-level-label"
_GAP_LINES = 1.25  # minimum distance between label centres, in line heights
_WRAP_EXTRA_LINES = 0.35  # more room between wrapped (multi-line) labels: superscripts
_OFFSET_PT = 12.0  # from the axes' right edge to the labels (the leader stops 3 pt short of it)


def spread(ys: list[float], gap: float, low: float, high: float) -> list[float]:
    """Positions as close as possible to ``ys`` (sorted ascending), at least ``gap`` apart,
    inside [low, high] when they fit there (pushed up from below, then down from above)."""
    out = list(ys)
    for i in range(len(out)):
        lo = low if i == 0 else out[i - 1] + gap
        out[i] = max(out[i], lo)
    for i in range(len(out) - 1, -1, -1):
        hi = high if i == len(out) - 1 else out[i + 1] - gap
        out[i] = min(out[i], hi)
    return out


def clear_labels(fig) -> int:
    """Move every reference-line label of ``fig`` outside its axes (right edge, spread, with a
    leader); returns the number of labels moved."""
    labels = [t for ax in fig.axes for t in ax.texts if t.get_gid() == LEVEL_LABEL_GID]
    if not labels:
        return 0
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    px_per_pt = fig.dpi / 72.0
    moved = 0
    for ax in fig.axes:
        mine = [t for t in ax.texts if t.get_gid() == LEVEL_LABEL_GID]
        if not mine:
            continue
        box = ax.get_window_extent(renderer)
        ys = [ax.transData.transform((0.0, t.xy[1]))[1] for t in mine]
        order = sorted(range(len(mine)), key=lambda i: ys[i])
        size_pt = max(t.get_fontsize() for t in mine)
        lines = max(t.get_text().count("\n") + 1 for t in mine)  # wrapped labels: taller
        gap = (_GAP_LINES * lines + _WRAP_EXTRA_LINES * (lines > 1)) * size_pt * px_per_pt
        placed = spread([ys[i] for i in order], gap, box.y0 + gap / 2, box.y1 - gap / 2)
        for i, y_px in zip(order, placed):
            old = mine[i]
            dy_pt = (y_px - ys[i]) / px_per_pt
            # a wrapped label's leader ends at its left middle, not across its first line
            relpos = {"relpos": (0.0, 0.5)} if "\n" in old.get_text() else {}
            ax.annotate(old.get_text(), xy=(1.0, old.xy[1]), xycoords=("axes fraction", "data"),
                        xytext=(_OFFSET_PT, dy_pt), textcoords="offset points", ha="left",
                        va="center", fontsize=old.get_fontsize(), color=old.get_color(),
                        annotation_clip=False, gid=LEVEL_LABEL_GID, zorder=5,
                        arrowprops={"arrowstyle": "-", "color": old.get_color(),
                                    "linewidth": 0.6, "shrinkA": 0, "shrinkB": 3,
                                    "alpha": 0.8, **relpos})
            old.remove()
            moved += 1
    return moved
