"""Figures: IDs, captions, labelled axes, and numbers checked against independent oracles.

Oracles: exact powers of two (shared/oracles.md: float16 min subnormal 2^-24, min normal 2^-14;
bfloat16 2^-133 / 2^-126; float32 2^-149 / 2^-126; float64 2^-1074 / 2^-1022), a plain numpy
float64 loop, and mpmath products written out here.
"""

import json
import math

import mpmath
import numpy as np
import pytest

from gradproof.reports.determinism import FIGURE_FORMATS
from gradproof.reports import figures
from gradproof.reports.figures import common
from gradproof.reports.figures.common import ItemContext

ISSUE_FIGURES = {"rnn-bound", "underflow-vs-vanishing", "lstm-forget-bias", "lstm-terms",
                 "lstm-missing-path", "horizon", "phase", "sweep-phase"}


@pytest.fixture
def captured(monkeypatch):
    """Keep every figure an item saves, to inspect its axes."""
    from gradproof.reports import determinism

    determinism.configure()
    figs = []
    real = common.save_figure

    def keep(ctx, fig, item_id, suffix=""):
        figs.append(fig)  # in saving order: the page drawing, then its column version
        return real(ctx, fig, item_id, suffix)

    monkeypatch.setattr(common, "save_figure", keep)
    return figs


def _assert_labelled(fig, layout=None):
    axes = [ax for ax in fig.axes if ax.get_visible() and ax.get_label() != "<colorbar>"]
    assert axes
    for ax in axes:
        assert ax.get_xlabel().strip()
        assert "(" in ax.get_xlabel() or "$k$" in ax.get_xlabel() or "$t$" in ax.get_xlabel()
    assert any("(" in ax.get_ylabel() and ")" in ax.get_ylabel() for ax in axes)  # units
    _assert_print_ready(fig, layout)


def _ink(fig, show) -> np.ndarray:
    """Boolean mask of the pixels drawn when only the artists for which ``show(artist)`` is
    true are visible (Agg rendering of the whole figure at 100 dpi)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    artists = [a for ax in fig.axes for a in (*ax.get_lines(), *ax.texts, *ax.collections,
                                              *ax.patches)]
    # titles and figure texts are neither data nor labels: hidden in both renderings
    hidden = [t for ax in fig.axes for t in (ax.title, ax._left_title, ax._right_title)]
    hidden += list(fig.texts) + ([fig._suptitle] if fig._suptitle is not None else [])
    hidden_state = {t: t.get_visible() for t in hidden}
    state = {a: a.get_visible() for a in artists}
    frame = {ax: (ax.axison, ax.patch.get_visible()) for ax in fig.axes}
    fig_patch = fig.patch.get_visible()
    legends = [(lg, lg.get_visible()) for lg in fig.legends + [ax.get_legend() for ax in fig.axes
                                                             if ax.get_legend()]]
    engine = fig.get_layout_engine()
    fig.set_layout_engine("none")  # keep the saved layout: hiding artists must not move axes
    try:
        for t in hidden:
            t.set_visible(False)
        for a in artists:
            a.set_visible(state[a] and show(a))
        for ax in fig.axes:
            ax.set_axis_off()
            ax.patch.set_visible(False)
        for lg, _ in legends:
            lg.set_visible(False)
        fig.patch.set_visible(False)
        canvas = FigureCanvasAgg(fig)
        canvas.draw()
        rgba = np.asarray(canvas.buffer_rgba())
        return rgba[..., 3] > 40
    finally:
        for a, v in {**state, **hidden_state}.items():
            a.set_visible(v)
        for ax, (on, patch) in frame.items():
            ax.set_axis_on() if on else ax.set_axis_off()
            ax.patch.set_visible(patch)
        for lg, v in legends:
            lg.set_visible(v)
        fig.patch.set_visible(fig_patch)
        fig.set_layout_engine(engine)


def _assert_labels_clear_of_data(fig):
    """No reference-line label covers data: the pixels of the data lines drawn alone and of
    the labels drawn alone are disjoint (the rendering is the oracle, not the placement code)."""
    from gradproof.reports.figures.placement import LEVEL_LABEL_GID, LEVEL_LINE_GID

    labels = [t for ax in fig.axes for t in ax.texts if t.get_gid() == LEVEL_LABEL_GID]
    if not labels:
        return
    data = _ink(fig, lambda a: a in {l for ax in fig.axes for l in ax.get_lines()}
                and a.get_gid() != LEVEL_LINE_GID)
    text = _ink(fig, lambda a: a.get_gid() == LEVEL_LABEL_GID and a in labels)
    assert data.any() and text.any()
    overlap = int(np.count_nonzero(data & text))
    assert overlap == 0, f"{overlap} pixels of labels over data"
    # and no label over another (wrapped two-line labels of close levels in a column figure):
    # each label drawn alone, no pixel inked by two of them
    count = sum(_ink(fig, lambda a, t=t: a is t).astype(int) for t in labels)
    shared = int(np.count_nonzero(count > 1))
    assert shared == 0, f"{shared} pixels where two labels overlap"


def _assert_inside_canvas(fig):
    """Every visible text and legend lies inside the figure (nothing cut at the paper's edge):
    their rendered extents against the canvas, to within one pixel."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = FigureCanvasAgg(fig)  # the saved figure is closed: draw it on a fresh Agg canvas
    canvas.draw()
    renderer = canvas.get_renderer()
    w, h = canvas.get_width_height()
    # each axes with what it draws (ticks in view, labels, titles, annotations, its legend),
    # the figure's legends and texts (suptitle)
    boxes = [(ax.get_title() or ax.get_ylabel(), ax.get_tightbbox(renderer)) for ax in fig.axes
             if ax.get_visible()]
    boxes += [("legend", lg.get_window_extent(renderer)) for lg in fig.legends]
    boxes += [(t.get_text(), t.get_window_extent(renderer))
              for t in list(fig.texts) + ([fig._suptitle] if fig._suptitle is not None else [])
              if t.get_visible() and t.get_text().strip()]
    for text, box in boxes:
        assert box.x0 >= -1 and box.y0 >= -1 and box.x1 <= w + 1 and box.y1 <= h + 1, (text, box)


def _assert_print_ready(fig, layout=None):
    """Drawn at the page width of a two-column article or at one column (printed at 100 %),
    every text at least 7 pt and inside the figure, every line in an Okabe-Ito colour or a
    grey (colour-blind safe). ``layout``: "page" or "column" for the width it must have."""
    import matplotlib.colors as mcolors
    from matplotlib.text import Text

    from gradproof.reports.figures import style

    width = fig.get_size_inches()[0]
    if layout is None:
        assert width == pytest.approx(style.PAGE_WIDTH_IN) or width == pytest.approx(style.COLUMN_WIDTH_IN)
    else:
        assert width == pytest.approx({"page": style.PAGE_WIDTH_IN,
                                       "column": style.COLUMN_WIDTH_IN}[layout])
    _assert_labels_clear_of_data(fig)
    fig.canvas.draw()
    sizes = [t.get_fontsize() for t in fig.findobj(Text) if t.get_visible() and t.get_text().strip()]
    assert sizes and min(sizes) >= style.MIN_FONT_PT, min(sizes)
    _assert_inside_canvas(fig)
    allowed = {mcolors.to_hex(c) for c in style.OKABE_ITO.values()}
    for ax in fig.axes:
        for line in ax.get_lines():
            r, g, b, _ = mcolors.to_rgba(line.get_color())
            grey = abs(r - g) < 1e-6 and abs(g - b) < 1e-6
            assert grey or mcolors.to_hex(line.get_color()) in allowed, line.get_color()


def _assert_page_and_column(res, item_id, figs):
    """A two-panel figure is drawn twice from the same data: the page version (6.48 in,
    ``figures/<id>.*``) and the column version (3.17 in, panels stacked, ``figures/<id>-column.*``),
    both print-ready with labels clear of data; the column caption says top/bottom where the
    page caption says left/right, and is otherwise the same text."""
    import re

    from gradproof.reports.figures.style import COLUMN_WIDTH_IN, PAGE_WIDTH_IN

    assert [v.layout for v in res.variants] == ["page", "column"]
    page, column = res.variants
    assert page.width_in == PAGE_WIDTH_IN and column.width_in == COLUMN_WIDTH_IN
    assert sorted(page.files) == [f"figures/{item_id}.{e}" for e in sorted(FIGURE_FORMATS)]
    assert sorted(column.files) == [f"figures/{item_id}-column.{e}" for e in sorted(FIGURE_FORMATS)]
    assert [f for f in res.files if f.startswith("data/")] == [f"data/{item_id}.json"]  # one data file
    assert set(res.files) == {*page.files, *column.files, f"data/{item_id}.json"}
    assert page.caption == res.caption
    assert not re.search(r"\b(left|right)\b", column.caption, re.I), column.caption
    swapped = {"left": "top", "Left": "Top", "right": "bottom", "Right": "Bottom"}
    assert column.caption == re.sub(r"\b(left|Left|right|Right)\b",
                                    lambda m: swapped[m.group(1)], page.caption)
    assert len(figs) == 2
    _assert_labelled(figs[0], "page")
    _assert_labelled(figs[1], "column")
    # stacked: the panels sit one above the other, each the figure's full plotting width
    boxes = sorted((ax.get_position() for ax in figs[1].axes if ax.get_visible()
                    and ax.get_label() != "<colorbar>"), key=lambda b: -b.y0)
    for upper, lower in zip(boxes, boxes[1:]):
        assert upper.y0 > lower.y1 - 1e-9


def test_the_figure_registry_is_the_issue_list_with_unique_ids():
    ids = [m.ID for m in figures.FIGURES]
    assert set(ids) == ISSUE_FIGURES and len(ids) == len(set(ids))
    for m in figures.FIGURES:
        assert m.TITLE and callable(m.build) and isinstance(m.REQUIRES, tuple)
        assert m.__doc__ and len(m.__doc__) > 100


def test_horizon_numbers_equal_powers_of_two_oracle(tmp_path, monkeypatch, captured):
    """rho = 1/2: rho^k is exact, so the horizons are exponent arithmetic. Gradual underflow:
    2^-k rounds to 0 once 2^-k <= min_subnormal / 2; FTZ: once 2^-k < min_normal (minus half a
    subnormal, the rounding midpoint)."""
    from gradproof.reports.figures import horizon

    small = dict(horizon.PARAMS, quoted_factor=0.5, simulated_factors=[0.5],
                 factors={"one_minus_rho_start": 0.9, "one_minus_rho_stop": 0.5, "count": 3})
    monkeypatch.setattr(horizon, "PARAMS", small)
    res = horizon.build(ItemContext(tmp_path))
    num = {n.key: n.value for n in res.numbers}
    oracle = {"float16": (24, 14), "bfloat16": (133, 126), "float32": (149, 126),
              "float64": (1074, 1022)}
    for name, (sub, norm) in oracle.items():
        assert num[f"{name}-gradual-exact-zero-step-rho-0p5"] == sub + 1
        assert num[f"{name}-ftz-exact-zero-step-rho-0p5"] == norm + 1
        assert num[f"{name}-simulated-stagnation-step-rho-0p5"] is None  # it reaches 0
    assert "float32 150 (FTZ 127)" in res.caption
    assert sorted(res.files) == ["data/horizon.json", "figures/horizon.pdf", "figures/horizon.png",
                                 "figures/horizon.svg"]
    _assert_labelled(captured[0])
    assert captured[0].axes[0].get_yscale() == "log"


def _level_lines(ax) -> set[int]:
    """Exponents e of the horizontal lines at log10(2^e) drawn across ``ax`` (axhline)."""
    found = set()
    for line in ax.get_lines():
        y = np.asarray(line.get_ydata(), dtype=float)
        if len(y) == 2 and y[0] == y[1] and list(line.get_xdata()) == [0, 1]:
            e = y[0] / math.log10(2.0)
            if abs(e - round(e)) < 1e-9:
                found.add(int(round(e)))
    return found


def _float32_scalar_loop_zero_step(J) -> int | None:
    """First t with J_t ... J_1 == 0 in IEEE float32 scalar arithmetic (numpy float32 scalars,
    gradual underflow, one rounding per multiply and per add): an oracle independent of
    numerics.formats."""
    n = J.shape[1]
    Jf = J.astype(np.float32)
    P = np.eye(n, dtype=np.float32)
    with np.errstate(under="ignore"):
        for t in range(J.shape[0]):
            Q = np.zeros_like(P)
            for i in range(n):
                for j in range(n):
                    acc = np.float32(0)
                    for m in range(n):
                        acc = np.float32(acc + np.float32(Jf[t, i, m] * P[m, j]))
                    Q[i, j] = acc
            P = Q
            if not P.any():
                return t + 1
    return None


def test_underflow_figure_zero_step_and_reference_against_independent_loops(tmp_path, monkeypatch,
                                                                            captured):
    from gradproof.numerics.cells import random_inputs, random_rnn_params, rnn_jacobians
    from gradproof.reports.figures import underflow_vs_vanishing as uv

    p = dict(uv.PARAMS, steps=560, reference_dps=30)
    monkeypatch.setattr(uv, "PARAMS", p)
    res = uv.build(ItemContext(tmp_path))
    num = {n.key: n.value for n in res.numbers}
    params = random_rnn_params(p["hidden"], p["input_size"], seed=p["seed"],
                               activation=p["activation"], spectral_norm=p["spectral_norm"])
    J = rnn_jacobians(params, random_inputs(p["steps"], p["input_size"], seed=p["seed"]))
    # oracle 1: plain float64 numpy loop (hardware gradual underflow), first all-zero product
    P, zero = np.eye(p["hidden"]), None
    with np.errstate(under="ignore"):
        for t in range(p["steps"]):
            P = J[t] @ P
            if not P.any():
                zero = t + 1
                break
    assert zero is not None and num["float64-first-zero-step"] == zero
    # lower-precision formats give 0 earlier: the ordering the figure shows
    assert num["float16-first-zero-step"] < num["bfloat16-first-zero-step"] <= \
        num["float32-first-zero-step"] < num["float64-first-zero-step"]
    # oracle 2: mpmath product written out here, no underflow at any length
    with mpmath.workdps(30):
        M = mpmath.eye(p["hidden"])
        for t in range(p["steps"]):
            M = mpmath.matrix(J[t].tolist()) * M
        ref = float(mpmath.log10(max(mpmath.svd_r(M, compute_uv=False))))
    assert num[f"log10-norm-at-k{p['steps']}"] == pytest.approx(ref, abs=1e-9)
    assert ref < math.log10(2.0 ** -1074)  # the true value is below every format's range
    assert f"float64 at {zero}" in res.caption
    # oracle 3: float32 scalar arithmetic (rounding per operation rather than per entry)
    assert num["float32-first-zero-step"] == _float32_scalar_loop_zero_step(J)
    # every format's min-normal AND min-subnormal level is drawn (oracles.md powers of two)
    full, zoom = captured[0].axes[:2]  # the full range left, the first steps right
    assert _level_lines(full) >= {-14, -24, -126, -133, -149, -1022, -1074}
    assert _level_lines(zoom) >= {-14, -24, -126, -133, -149}
    texts = [t.get_text() for ax in (zoom, full) for t in ax.texts]
    for words, e in (("float16 min normal", -14), ("float16 min subnormal", -24),
                     ("bfloat16 & float32 min normal", -126), ("bfloat16 min subnormal", -133),
                     ("float32 min subnormal", -149), ("float64 min normal", -1022),
                     ("float64 min subnormal", -1074)):
        assert f"{words} $2^{{{e}}}$" in texts, words
    _assert_labelled(captured[0])
    _assert_page_and_column(res, "underflow-vs-vanishing", captured)
    full, zoom = captured[1].axes[:2]  # stacked: the full range on top, the first steps below
    assert full.get_position().y0 > zoom.get_position().y1
    assert _level_lines(full) >= {-14, -24, -126, -133, -149, -1022, -1074}
    assert _level_lines(zoom) >= {-14, -24, -126, -133, -149}
    wrapped = [t.get_text() for ax in (zoom, full) for t in ax.texts]
    assert sorted(t.replace("\n", " ") for t in wrapped) == sorted(texts)  # the same labels
    assert all("\n" in t for t in wrapped)  # on two lines, for the column's narrow margin
    assert "; bottom: the first steps enlarged" in res.variants[1].caption


def test_rnn_bound_figure_bound_holds_and_gamma_is_derived(tmp_path, monkeypatch, captured):
    from gradproof.reports.figures import rnn_bound

    monkeypatch.setattr(rnn_bound, "PARAMS", dict(rnn_bound.PARAMS, steps=40, hidden=4))
    res = rnn_bound.build(ItemContext(tmp_path))
    excess = [n for n in res.numbers if n.key.endswith("-max-excess-over-bound")]
    assert len(excess) == 6
    for n in excess:
        assert n.value <= 1e-9, n  # ||J_k...J_1|| <= (gamma ||W_rec||)^k
    overall = {n.key: n for n in res.numbers}["max-excess-over-bound"]
    assert overall.value == max(n.value for n in excess)
    assert f"is {overall.display} decades" in res.caption  # the caption quotes the Number
    for ax in captured[0].axes:  # float16, bfloat16 and float32 levels in both panels
        assert _level_lines(ax) >= {-14, -24, -126, -133, -149}
    titles = [ax.get_title() for ax in captured[0].axes]
    assert titles == ["sigmoid: $\\gamma=1/4$, $1/\\gamma=4$", "tanh: $\\gamma=1$, $1/\\gamma=1$"]
    _assert_labelled(captured[0])
    _assert_page_and_column(res, "rnn-bound", captured)
    assert [ax.get_title() for ax in captured[1].axes] == titles  # sigmoid on top, tanh below
    assert "top sigmoid" in res.variants[1].caption and "bottom tanh" in res.variants[1].caption
    for ax in captured[1].axes:  # every level drawn and named (wrapped) in both stacked panels
        assert _level_lines(ax) >= {-14, -24, -126, -133, -149}
        named = [t.get_text().replace("\n", " ") for t in ax.texts]
        assert "bfloat16 & float32 min normal $2^{-126}$" in named and len(named) == 5


def test_lstm_terms_numbers_and_svg_text(tmp_path, captured):
    from gradproof.numerics.cells import lstm_jacobians, random_inputs, random_lstm_params
    from gradproof.reports.figures import lstm_terms

    res = lstm_terms.build(ItemContext(tmp_path))
    p = lstm_terms.PARAMS
    jac = lstm_jacobians(random_lstm_params(p["hidden"], p["input_size"], seed=p["seed"],
                                            spectral_norm=p["spectral_norm"],
                                            forget_bias=p["forget_bias"]),
                         random_inputs(p["steps"], p["input_size"], seed=p["seed"]))
    # B_t = diag(f_t): its spectral norm is the largest forget-gate value, in (0, 1)
    b_norm = {n.key: n.value for n in res.numbers}["median-norm-b"]
    diag_max = np.median(np.max(np.abs(np.diagonal(jac.B, axis1=1, axis2=2)), axis=1)[1:])
    assert b_norm == pytest.approx(float(diag_max), rel=1e-12) and 0 < b_norm < 1
    svg = (tmp_path / "figures/lstm-terms.svg").read_text()
    assert "time step" in svg  # matplotlib keeps text as comments beside the glyph paths
    json.dumps([n.value for n in res.numbers])  # every number is JSON-serialisable
    _assert_labelled(captured[0])


def test_phase_exponents_respect_the_per_step_bound(tmp_path, monkeypatch, captured):
    """lambda_1 <= ln(gamma sigma_max(W_rec)) because ||J_t||_2 <= gamma ||W_rec||_2 (a fact of
    the model, Pascanu et al. 2013); at sigma_max = 1/gamma / 2 the exponent is below ln(1/2)."""
    from gradproof.reports.figures import phase

    monkeypatch.setattr(phase, "PARAMS", dict(phase.PARAMS, steps=60, seeds=[0], hidden=4,
                                              sigma_max_times_gamma={"start": 0.5, "stop": 2.0,
                                                                     "count": 4}))
    res = phase.build(ItemContext(tmp_path))
    num = {n.key: n.value for n in res.numbers}
    for act in ("sigmoid", "tanh"):
        assert num[f"{act}-max-exponent-minus-bound"] <= 1e-12
    assert "stays negative" in res.caption or "first becomes positive" in res.caption
    _assert_labelled(captured[0])
    _assert_page_and_column(res, "phase", captured)
    for ax in captured[1].axes:  # each legend below its panel, off the data
        legend = ax.get_legend().get_window_extent(captured[1].canvas.get_renderer())
        assert legend.y1 <= ax.get_window_extent(captured[1].canvas.get_renderer()).y0


def test_lstm_forget_bias_draws_and_names_the_format_levels(tmp_path, monkeypatch, captured):
    from gradproof.reports.figures import lstm_forget_bias as lfb

    monkeypatch.setattr(lfb, "PARAMS", dict(lfb.PARAMS, steps=30))
    res = lfb.build(ItemContext(tmp_path))
    left, right = captured[0].axes
    for ax in (left, right):
        assert _level_lines(ax) >= {-14, -24, -126, -133, -149}
    named = [t.get_text() for t in right.texts]  # labelled once, outside the right panel
    for words in ("float16 min normal $2^{-14}$", "float16 min subnormal $2^{-24}$",
                  "bfloat16 & float32 min normal $2^{-126}$", "float32 min subnormal $2^{-149}$"):
        assert words in named, words
    assert left.get_ylim() == right.get_ylim()  # shared axis: the labels name both panels
    assert "smallest normal (dashed) and subnormal (dotted)" in res.caption
    _assert_page_and_column(res, "lstm-forget-bias", captured)
    top, bottom = captured[1].axes
    assert top.get_title() == left.get_title() and bottom.get_title() == right.get_title()
    assert "Top: the true Jacobian" in res.variants[1].caption
    assert [len(l.get_ydata()) for l in top.get_lines()][:4] == [30] * 4  # the same curves


def test_sweep_phase_column_version_draws_the_same_grid(tmp_path, monkeypatch, captured):
    """The sweep-phase heat map drawn for a column: the same table and cells (one data file),
    colour bar below the map so that the map keeps the column's width."""
    from gradproof.reports.figures import sweep_phase

    monkeypatch.setattr(sweep_phase, "PARAMS", dict(
        sweep_phase.PARAMS, hidden=2, steps=20, seeds=1,
        grid={"spectral_norm": "0.5,1.5", "forget_bias": "-1,3"}))
    res = sweep_phase.build(ItemContext(tmp_path))
    _assert_page_and_column(res, "sweep-phase", captured)
    page, column = captured
    meshes = [[c for ax in f.axes for c in ax.collections if c.get_array() is not None][0]
              for f in (page, column)]
    assert np.array_equal(meshes[0].get_array(), meshes[1].get_array())  # the same cells
    bars = [ax for ax in column.axes if ax.get_label() == "<colorbar>"]
    assert len(bars) == 1 and bars[0].get_position().y1 < column.axes[0].get_position().y0


#: every figure drawn for the page width also has a column version (figures/<id>-column.*)
TWO_PANEL = ("rnn-bound", "underflow-vs-vanishing", "lstm-forget-bias", "phase", "sweep-phase")
DRAWINGS = sorted([m.ID for m in figures.FIGURES] + [f"{i}-column" for i in TWO_PANEL])


@pytest.fixture(scope="module")
def every_drawing(tmp_path_factory):
    """Every figure built at its report parameters; {file stem: (matplotlib figure, result)}."""
    from gradproof.reports import determinism

    determinism.configure()
    root = tmp_path_factory.mktemp("drawings")
    drawn = {}
    real = common.save_figure
    with pytest.MonkeyPatch.context() as mp:
        def keep(ctx, fig, item_id, suffix=""):
            drawn[item_id + suffix] = fig
            return real(ctx, fig, item_id, suffix)

        mp.setattr(common, "save_figure", keep)
        results = {m.ID: m.build(ItemContext(root)) for m in figures.FIGURES}
    return {stem: (fig, results[stem.removesuffix("-column")]) for stem, fig in drawn.items()}


@pytest.mark.slow
@pytest.mark.parametrize("stem", DRAWINGS)
def test_every_drawing_at_report_parameters_is_print_ready_with_labels_clear_of_data(every_drawing,
                                                                                       stem):
    """Each of the 13 drawings the report ships (8 figures, 5 column versions), at the report's
    own parameters: its width, fonts >= 7 pt, texts inside the figure, no level label over data
    (pixels), colour-blind-safe colours."""
    assert set(every_drawing) == set(DRAWINGS)
    fig, res = every_drawing[stem]
    column = stem.endswith("-column") or stem not in TWO_PANEL
    _assert_labelled(fig, "column" if column else "page")
    if stem.removesuffix("-column") in TWO_PANEL:
        assert [v.layout for v in res.variants] == ["page", "column"]


def test_the_column_file_suffix_is_the_latex_drawing_stem():
    # save_figure names the column files <id>-column; the LaTeX and the documents link <id>-<layout>
    from gradproof.reports.latex import drawing_stem

    assert "x" + common.COLUMN_SUFFIX == drawing_stem("x", "column", primary=False)
    assert common.DRAWINGS["column"][1] == common.COLUMN_SUFFIX and common.DRAWINGS["page"][1] == ""
