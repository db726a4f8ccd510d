r"""The phase-diagram figure of a sweep: one table column over two grid dimensions.

``plot_sweep(RESULTS, x=, y=, value=)`` draws ``value`` (a numeric column such as
``lyapunov``, ``log10_norm``, ``float16_first_zero_step``, ``horizon_float32_estimated_first_zero_step``,
or a text column such as ``float16_verdict``) as a heat map over the grid values of ``x`` and
``y`` (cell edges halfway between grid values, geometric halfway for a log-range dimension).
Without ``y``, ``value`` is drawn against ``x`` (a line through the seed mean, a dot per seed).

Other dimensions: ``seed`` is averaged (arithmetic mean of the seeds' values, said in the colour
bar label); any other dimension that still varies must be fixed with ``where={name: value}``.
A cell whose value is null in any of its seeds (e.g. a first zero step never reached within T
steps) is drawn grey and counted in ``PlotResult.missing``; it is never averaged away. A text
column is drawn as categories (sorted names), one value per cell (fix the seed with ``where``).

Deterministic like the report's figures: ``reports.determinism.configure()`` (Agg, fixed style
and SVG hash salt, SOURCE_DATE_EPOCH) and date-free metadata; the format is the suffix of
``out`` (.pdf, .svg or .png at 300 dpi).
"""

from __future__ import annotations

import math
import os
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path

from gradproof.numerics.errors import InputError
from gradproof.reports.sweep.grid import OPTION_ORDER, OPTIONS, parse_spec
from gradproof.reports.sweep.store import read_plan, read_table

__all__ = ["PlotResult", "plot_sweep", "phase_figure", "LABELS", "VALUE_LABELS"]

LABELS = {
    "spectral_norm": r"$\sigma_{max}(W_{rec})$ (dimensionless)",
    "forget_bias": r"forget-gate bias $b_f$ (dimensionless)",
    "steps": "steps $T$ (count)",
    "hidden": "hidden size $n$ (count)",
    "seed": "seed",
    "activation": "activation",
    "engine": "engine",
}
#: axis / colour-bar words for common value columns (others are named by their column)
VALUE_LABELS = {
    "lyapunov": r"largest Lyapunov exponent $\lambda_1$ (nats per step)",
    "lyapunov_log10": r"$\lambda_1 / \ln 10$ (decades per step)",
    "log10_norm": r"$\log_{10}\|J_T \cdots J_1\|_2$ (decades)",
}


@dataclass(frozen=True)
class PlotResult:
    out: Path | None
    x: str
    y: str | None
    value: str
    cells: int
    missing: int
    averaged_over: tuple
    where: tuple
    x_values: tuple = ()
    y_values: tuple = ()
    values: tuple = ()  # values[j][i]: the drawn value at (x_values[i], y_values[j]); None = null

    def to_dict(self) -> dict:
        return {"out": None if self.out is None else str(self.out), "x": self.x, "y": self.y, "value": self.value,
                "cells": self.cells, "missing": self.missing,
                "averaged_over": list(self.averaged_over), "where": dict(self.where),
                "x_values": list(self.x_values), "y_values": list(self.y_values),
                "values": [list(r) for r in self.values]}


def _is_num(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _edges(vals: list, log: bool) -> list:
    """Cell edges around sorted grid values (halfway, geometrically for a log dimension)."""
    if log:
        lv = [math.log10(v) for v in vals]
        return [10.0 ** e for e in _edges(lv, False)]
    mids = [(a + b) / 2 for a, b in zip(vals, vals[1:])]
    return [vals[0] - (mids[0] - vals[0])] + mids + [vals[-1] + (vals[-1] - mids[-1])]


def _where(rows: list, where) -> tuple[list, tuple]:
    items = []
    for name, val in (where.items() if isinstance(where, dict) else list(where or [])):
        d = parse_spec(name, val if isinstance(val, str) else [val])
        if len(d.values) != 1:
            raise InputError(f"--where {d.name}: give one value")
        items.append((d.name, d.values[0]))
    for name, v in items:
        rows = [r for r in rows if r.get(name) == v]
        if not rows:
            raise InputError(f"no row of the table has {name} = {v!r}")
    return rows, tuple(items)


def plot_sweep(results, *, out, x: str | None = None, y: str | None = None, value: str = "lyapunov",
               where=None, title: str | None = None) -> PlotResult:
    """Draw the phase diagram of ``value`` over ``x`` (and ``y``) into ``out``."""
    import matplotlib.pyplot as plt

    from gradproof.reports.determinism import PNG_DPI, save_metadata

    out = Path(out)
    fmt = out.suffix.lower().lstrip(".")
    if fmt not in ("pdf", "svg", "png"):
        raise InputError(f"--out {out}: the figure's suffix must be .pdf, .svg or .png")
    fig, res = phase_figure(results, x=x, y=y, value=value, where=where, title=title)
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{out.name}.", suffix=f".{fmt}", dir=out.parent)
    os.close(fd)
    try:
        kwargs = {"dpi": PNG_DPI} if fmt == "png" else {}
        fig.savefig(tmp, format=fmt, metadata=save_metadata(fmt), **kwargs)
        os.replace(tmp, out)
    finally:
        plt.close(fig)
        if os.path.exists(tmp):
            os.unlink(tmp)
    return replace(res, out=out)


def phase_figure(results, *, x: str | None = None, y: str | None = None, value: str = "lyapunov",
                 where=None, title: str | None = None, figsize=None, colorbar: str = "right"):
    """The phase diagram as a matplotlib figure (not saved) and its :class:`PlotResult`
    (``out`` None). ``results``: a results folder or table file. ``colorbar``: where the
    colour bar of a numeric heat map stands, "right" (default) or "bottom" (a column-wide
    figure, where the heat map needs the width)."""
    from gradproof.reports.determinism import configure

    rows, where_items = _where(read_table(results), where)
    plan = read_plan(results) or {}
    logdims = {d["name"] for d in plan.get("grid", []) if d.get("log")}
    order = [d["name"] for d in plan.get("grid", [])] + [n for n in OPTION_ORDER]
    seen = []
    for n in order:
        if n not in seen and n in OPTIONS:
            seen.append(n)
    distinct = {n: sorted({r.get(n) for r in rows if r.get(n) is not None}, key=_sortable) for n in seen}
    varying = [n for n in seen if len(distinct[n]) > 1]
    for name, label in ((x, "--x"), (y, "--y")):
        if name is not None and name not in OPTIONS:
            raise InputError(f"{label} {name!r} is not a sweep parameter; choose one of {', '.join(sorted(OPTIONS))}")
    if x is None:
        cands = [n for n in varying if n != "seed"] or varying
        if not cands:
            raise InputError("the table has no dimension with more than one value")
        x = cands[0]
        if y is None:
            rest = [n for n in varying if n not in (x, "seed")]
            y = rest[0] if rest else None
    for name, label in ((x, "--x"), (y, "--y")):
        if name is not None and len(distinct.get(name, [])) < 2:
            raise InputError(f"{label} {name}: the table has {len(distinct.get(name, []))} value(s) of it; "
                             "choose a dimension that varies")
    if y == x:
        raise InputError("--x and --y must differ")
    others = [n for n in varying if n not in (x, y)]
    averaged = tuple(n for n in others if n == "seed")
    fixme = [n for n in others if n != "seed"]
    if fixme:
        raise InputError(f"the table also varies in {', '.join(fixme)}: fix it with --where "
                         f"{fixme[0]}=VALUE (values {', '.join(map(str, distinct[fixme[0]]))})")
    if not any(value in r for r in rows):
        cols = sorted({k for r in rows for k in r})
        raise InputError(f"--value {value!r} is not a column of the table (columns: {', '.join(cols)})")
    vals = [r.get(value) for r in rows]
    present = [v for v in vals if v is not None]
    if present and all(isinstance(v, str) for v in present):
        categorical = True
    elif all(_is_num(v) for v in present):
        categorical = False
    else:
        raise InputError(f"--value {value}: the column holds neither numbers nor text only")

    xs = distinct[x]
    ys = distinct[y] if y is not None else [None]
    cell: dict = {}
    for r in rows:
        cell.setdefault((r.get(x), r.get(y) if y is not None else None), []).append(r.get(value))
    if categorical and any(len(v) > 1 for v in cell.values()):
        raise InputError(f"--value {value} is text: one value per cell is needed; fix the seed with --where seed=K")
    cats = sorted(set(present)) if categorical else []
    if categorical and y is None:
        raise InputError(f"--value {value} is text: a line plot needs numbers; give --y too")

    configure()
    import matplotlib.pyplot as plt
    import numpy as np
    from matplotlib.colors import BoundaryNorm, ListedColormap
    from matplotlib.patches import Patch

    from gradproof.reports.figures.common import FIGURE_WIDTH_IN

    Z = np.full((len(ys), len(xs)), np.nan)
    missing = 0
    per_seed = []
    for j, yv in enumerate(ys):
        for i, xv in enumerate(xs):
            vs = cell.get((xv, yv))
            if not vs or any(v is None for v in vs):
                missing += 1
                continue
            Z[j, i] = cats.index(vs[0]) if categorical else float(sum(vs)) / len(vs)
            if not categorical:
                per_seed.extend((xv, yv, float(v)) for v in vs)

    def axis_positions(name, values):
        if all(_is_num(v) for v in values):
            return [float(v) for v in values], None
        return list(range(len(values))), [str(v) for v in values]

    px, xlabels = axis_positions(x, xs)
    model = rows[0].get("model", "")
    wnames = {n for n, _ in where_items}
    fixed = [f"{n} {distinct[n][0]}" for n in seen
             if len(distinct[n]) == 1 and n not in (x, y) and n not in wnames]
    mean_note = (f"\n(mean over {len(distinct['seed'])} seeds)" if averaged else "")
    fig, ax = plt.subplots(figsize=figsize or (FIGURE_WIDTH_IN, 4.0), layout="constrained")
    if y is not None:
        py, ylabels = axis_positions(y, ys)
        ex = _edges(px, x in logdims and xlabels is None)
        ey = _edges(py, y in logdims and ylabels is None)
        if categorical:
            colours = plt.get_cmap("tab10").colors
            cmap = ListedColormap([colours[k % len(colours)] for k in range(len(cats))])
            norm = BoundaryNorm([k - 0.5 for k in range(len(cats) + 1)], len(cats))
        else:
            cmap, norm = plt.get_cmap("viridis"), None
        cmap = cmap.with_extremes(bad="lightgrey")
        mesh = ax.pcolormesh(ex, ey, np.ma.masked_invalid(Z), cmap=cmap, norm=norm, shading="flat")
        handles = []
        if categorical:
            handles = [Patch(facecolor=cmap(k), label=c) for k, c in enumerate(cats)]
        else:
            if colorbar == "bottom":
                fig.colorbar(mesh, ax=ax, location="bottom").set_label(
                    f"{VALUE_LABELS.get(value, value)}{mean_note}", fontsize=8)
            else:
                fig.colorbar(mesh, ax=ax).set_label(f"{VALUE_LABELS.get(value, value)}{mean_note}",
                                                    fontsize=8)
        if missing:
            handles.append(Patch(facecolor="lightgrey", label="null" + (" in a seed" if averaged else "")
                                 + " (e.g. not reached within T steps)"))
        if handles:
            ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01 if categorical else 0.0,
                                                                         1.0 if categorical else -0.14),
                      fontsize=6.5, framealpha=0.9)
        if x in logdims and xlabels is None:
            ax.set_xscale("log")
        if y in logdims and ylabels is None:
            ax.set_yscale("log")
        if ylabels is not None:
            ax.set_yticks(py, ylabels)
        ax.set_ylabel(LABELS.get(y, y))
        ax.grid(False)
    else:
        for xv, _, v in per_seed:
            ax.plot(float(xv) if xlabels is None else xs.index(xv), v, ".", color="tab:blue",
                    markersize=3, alpha=0.5)
        ok = ~np.isnan(Z[0])
        ax.plot(np.array(px)[ok], Z[0][ok], "-", color="tab:blue",
                label="mean over seeds" if averaged else value)
        if averaged:
            ax.plot([], [], ".", color="tab:blue", label="single seed")
        ax.legend(fontsize=6.5)
        if x in logdims and xlabels is None:
            ax.set_xscale("log")
        ax.set_ylabel(f"{VALUE_LABELS.get(value, value)}{mean_note}", fontsize=8)
    if xlabels is not None:
        ax.set_xticks(px, xlabels)
    ax.set_xlabel(LABELS.get(x, x))
    where_text = ", ".join(f"{n} = {v}" for n, v in where_items)
    settings = ", ".join(fixed + ([where_text] if where_text else []))
    ax.set_title(title or (f"{model}: {value}" + (f" over {x} x {y}" if y else f" against {x}")
                           + (f"\n{settings}" if settings else "")), fontsize=8)
    drawn = tuple(tuple(None if math.isnan(v) else (cats[int(v)] if categorical else float(v)) for v in r)
                  for r in Z.tolist())
    return fig, PlotResult(out=None, x=x, y=y, value=value, cells=len(xs) * len(ys), missing=missing,
                      averaged_over=averaged, where=where_items, x_values=tuple(xs),
                      y_values=tuple(ys) if y is not None else (), values=drawn)


def _sortable(v):
    return (0, v, "") if _is_num(v) else (1, 0, str(v))
