r"""Figure ``underflow-vs-vanishing``: one Jacobian product in float16, bfloat16, float32 and
float64, each of which becomes exactly 0 at its own step, against the high-precision curve,
which keeps going: a product that is 0 in a float format has *underflowed*; the quantity it
stands for has not become 0, it has become small (vanishing is a statement about the real
number, underflow about its representation).

The product is that of a tanh RNN with sigma_max(W_rec) < 1 (``numerics.cells``). Each
format's product is ``numerics.formats.simulate_matrix_product`` (round to nearest even,
gradual underflow), which reports the first subnormal and the first zero step; those steps
are drawn on the curve and as drops to 0. The curve is ``numerics.engines.log10_norm_series``
(float64 with exact power-of-two rescaling, no underflow), its last point cross-checked with
the mpmath reference engine (``product_reference``). Format levels from
``numerics.formats.FORMATS``.
"""

from __future__ import annotations

ID = "underflow-vs-vanishing"
TITLE = "Underflow is not vanishing: one product in four float formats"
REQUIRES = ("gradproof.numerics.cells", "gradproof.numerics.engines", "gradproof.numerics.formats")
PARAMS = {"hidden": 4, "input_size": 2, "steps": 1300, "seed": 0, "activation": "tanh",
          "spectral_norm": 0.6, "formats": ["float16", "bfloat16", "float32", "float64"],
          "reference_dps": 50}


def _draw(k, curve, sims, floor: float, zoom_k: int, layout: str):
    """The figure for ``layout``: "page" (the full range left, the first steps right, 6.48 in)
    or "column" (the same two panels stacked, full range on top, 3.17 in; level labels wrapped,
    the legend in one column below)."""
    import matplotlib.pyplot as plt

    from gradproof.numerics.published import parameter
    from gradproof.reports.figures.common import (FORMAT_COLOURS, draw_format_levels, level_legend_entries,
                                                  two_panels)
    from gradproof.reports.figures.numerics_api import FORMATS
    from gradproof.reports.figures.style import FORMAT_MARKERS

    p = PARAMS
    column = layout == "column"
    # page: the full range on the left, the enlarged first steps on the right, so that the zoom's
    # level labels (outside its right edge, placement.clear_labels) take the figure's margin
    fig, (ax, zoom) = two_panels(layout, 4.4, 6.4, page_kw={"width_ratios": (1.1, 1.0)})
    # right (column: bottom): the first steps, where float16, bfloat16 and float32 reach their
    # levels (on the full axis their levels lie within 41 decades of each other and their labels
    # would collide)
    zoom_top, zoom_floor = 3.0, -52.0
    for a, bottom in ((ax, floor), (zoom, zoom_floor)):
        a.plot(k, curve, color="black", linewidth=2.0 if a is ax else 1.6,
               label="true value (no underflow), continues" if a is ax else None)
    for name in p["formats"]:
        sim = sims[name]
        colour = FORMAT_COLOURS[name]
        for a, bottom, last in ((ax, floor, p["steps"]), (zoom, zoom_floor, zoom_k)):
            if sim.first_subnormal_step is not None and sim.first_subnormal_step <= last:
                s = sim.first_subnormal_step
                a.plot([s], [curve[s - 1]], "o", color=colour, markersize=4, markerfacecolor="white",
                       zorder=6)
            if sim.first_zero_step is not None and sim.first_zero_step <= last:
                z = sim.first_zero_step
                a.plot([z, z], [curve[z - 1], bottom], color=colour, linewidth=1.6, zorder=4)
                a.plot([z], [bottom], FORMAT_MARKERS[name], color=colour, markersize=5,
                       clip_on=False, zorder=6)
        ax.plot([], [], color=colour, linewidth=1.6, marker=FORMAT_MARKERS[name], markersize=5,
                label=f"{name}: subnormal from step {sim.first_subnormal_step}, "
                      f"exactly 0 from step {sim.first_zero_step}")
    small = [n for n in p["formats"] if n != "float64"]
    # full range: float64's levels labelled, the others' lines drawn (labelled in the zoom)
    draw_format_levels(ax, FORMATS, ["float64"], x_text=0.83, wrap=column)  # left of the curve's crossing
    draw_format_levels(ax, FORMATS, small, labels=False)
    # zoom: float16's labels on the right (the curve is far below there), the rest on the left
    draw_format_levels(zoom, FORMATS, small, fontsize=7,
                       x_text={n: (0.98 if n == "float16" else 0.02) for n in small},
                       ha={n: ("right" if n == "float16" else "left") for n in small}, wrap=column)
    zoom.set_xlim(1, zoom_k)
    zoom.set_ylim(zoom_floor, zoom_top)
    zoom.set_title(f"first {zoom_k} steps (linear $k$)")
    zoom.set_xlabel("steps back in time $k$")
    ax.set_ylabel("$\\log_{10}\\|J_k\\cdots J_1\\|_2$ (decades)")
    if column:  # stacked: each panel has its own y axis
        zoom.set_ylabel("$\\log_{10}\\|J_k\\cdots J_1\\|_2$ (decades)")
    ax.set_xscale("log")
    ax.set_xlabel("steps back in time $k$ (log scale)")
    ax.set_xlim(1, p["steps"])
    ax.set_ylim(floor, 40)
    ax.set_title(f"all {p['steps']} steps (log $k$)")
    fig.suptitle(f"tanh RNN, $n={p['hidden']}$, $\\sigma_{{max}}(W_{{rec}})={parameter(p['spectral_norm'])}$: "
                 + ("\n" if column else "") + "the same product in four float formats",
                 fontsize=9.5)
    level_legend_entries(ax, colour="grey", normal="a format's smallest normal number",
                         subnormal="a format's smallest subnormal number")
    fig.legend(loc="outside lower center", ncol=1 if column else 2, fontsize=7, frameon=False, columnspacing=1.2,
               handlelength=1.6 if column else 2.0, handletextpad=0.5 if column else 0.8)
    return fig


def _caption(num, layout: str) -> str:
    from gradproof.numerics.published import parameter
    from gradproof.reports.figures.common import format_levels, power_of_two_latex
    from gradproof.reports.figures.numerics_api import FORMATS

    p = PARAMS
    last = num[f"log10-norm-at-k{p['steps']}"].display
    return ("One Jacobian product of a tanh RNN "
            f"(hidden size {p['hidden']}, seed {p['seed']}, "
            f"$\\sigma_{{max}}(W_{{rec}}) = {parameter(p['spectral_norm'])}$) evaluated in four float "
            "formats (each entry of each matrix product accumulated in float64 and rounded once to "
            "the format: round to nearest even, gradual underflow). Each format's product turns "
            "subnormal (circles) and then exactly 0 at its own step (drops): float16 at step "
            f"{num['float16-first-zero-step'].display}, bfloat16 at "
            f"{num['bfloat16-first-zero-step'].display}, float32 at "
            f"{num['float32-first-zero-step'].display}, float64 at "
            f"{num['float64-first-zero-step'].display}; the true value continues to "
            f"$10^{{{last}}}$ at step {p['steps']}. Dashed lines: each format's smallest "
            "normal number; dotted: its smallest subnormal number"
            + "".join(f" ({' and '.join(group)} share the smallest normal "
                      f"${power_of_two_latex(level)}$)"
                      for level, _, group in format_levels(FORMATS, p["formats"], ("min_normal",))
                      if len(group) > 1)
            + f"; {'bottom' if layout == 'column' else 'right'}: the first steps enlarged "
            "(linear $k$). A zero in a float format is underflow of the representation, not a "
            "zero gradient.")


def build(ctx):
    import math

    import numpy as np

    from gradproof.numerics.cells import random_inputs, random_rnn_params, rnn_jacobians
    from gradproof.reports.figures.common import ItemResult, Number, save_drawings, save_figure_data
    from gradproof.reports.figures.numerics_api import (FORMATS, fast_statement, log10_norm_series,
                                                        reference_log10_norm, simulate)

    p = PARAMS
    params = random_rnn_params(p["hidden"], p["input_size"], seed=p["seed"],
                               activation=p["activation"], spectral_norm=p["spectral_norm"])
    jac = rnn_jacobians(params, random_inputs(p["steps"], p["input_size"], seed=p["seed"]))
    k = np.arange(1, p["steps"] + 1)
    curve = np.asarray(log10_norm_series(jac), dtype=float)
    ref_last, ref_statement = reference_log10_norm(jac, dps=p["reference_dps"])
    floor = math.floor(min(curve.min(), math.log10(float(FORMATS["float64"].min_subnormal))) / 50) * 50 - 20
    sims = {name: simulate(jac, name) for name in p["formats"]}
    last_zoom_step = max(s.first_zero_step or 1 for n, s in sims.items() if n != "float64")
    zoom_k = int(min(p["steps"], math.ceil(1.25 * last_zoom_step)))
    numbers = []
    for name in p["formats"]:
        sim = sims[name]
        numbers.append(Number(f"{name}-first-subnormal-step", sim.first_subnormal_step,
                              f"first step at which the {name} product is subnormal (largest "
                              "entry below the smallest normal number)", "steps"))
        numbers.append(Number(f"{name}-first-zero-step", sim.first_zero_step,
                              f"first step at which the {name} product is exactly 0", "steps"))
    numbers.append(Number(f"log10-norm-at-k{p['steps']}", float(ref_last),
                          f"log10 of the true product norm after {p['steps']} steps (mpmath "
                          f"reference engine, {p['reference_dps']} digits)", "log10 (dimensionless)"))
    numbers.append(Number(f"fast-minus-reference-at-k{p['steps']}", float(curve[-1] - ref_last),
                          "fast-engine curve minus the mpmath reference at the last step",
                          "decades", limit=1e-9))
    num = {n.key: n for n in numbers}
    files, variants = save_drawings(ctx, ID, lambda layout: _draw(k, curve, sims, floor, zoom_k, layout),
                                    lambda layout: _caption(num, layout))
    caption = variants[0].caption
    series = {"true value": {"k": k, "log10_norm": curve}}
    for name, sim in sims.items():
        series[name] = {"first_subnormal_step": [sim.first_subnormal_step],
                        "first_zero_step": [sim.first_zero_step]}
    files.append(save_figure_data(ctx, ID, series, atol={"log10_norm": 1e-9}))
    return ItemResult(files=files, parameters=dict(p), seed=p["seed"],
                      engine="gradproof.numerics.formats.simulate_matrix_product per format; curve: "
                             "gradproof.numerics.engines.log10_norm_series; last point: "
                             "gradproof.numerics.engines.product_reference",
                      precision=f"formats as labelled (round to nearest even, gradual underflow); "
                                f"curve: {fast_statement(jac)}; reference: {ref_statement}",
                      caption=caption, numbers=numbers, variants=variants)
