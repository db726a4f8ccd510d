r"""Figure ``lstm-forget-bias``: LSTM Jacobian products against k for several forget-gate biases.

Left: the true recurrent state s_t = (h_t, c_t), ||prod_t d s_t / d s_{t-1}||_2; right: the
article's cell path, ||prod_t (A_t + B_t + C_t + D_t^{article})||_2 (``numerics.cells``).
Biases 0, 1 (the usual initialisation, Gers et al. 2000; Jozefowicz et al. 2015) and 2 (PyTorch
with both bias_ih and bias_hh forget blocks set to 1 gives an effective 2), and 3. Norms by
``numerics.engines.log10_norm_series``.
"""

from __future__ import annotations

ID = "lstm-forget-bias"
TITLE = "LSTM products for several forget-gate biases"
REQUIRES = ("gradproof.numerics.cells", "gradproof.numerics.engines")
PARAMS = {"hidden": 4, "input_size": 2, "steps": 200, "seed": 0, "spectral_norm": 1.0,
          "forget_biases": [0.0, 1.0, 2.0, 3.0], "format_levels": ["float16", "bfloat16", "float32"]}
# Okabe-Ito vermillion, reddish purple, bluish green, blue, each with its own line style
_COLOURS = ("#D55E00", "#CC79A7", "#009E73", "#0072B2")
_LINESTYLES = ("-", (0, (5, 1.5)), (0, (1.5, 1.2)), (0, (5, 1.5, 1.5, 1.5)))


def _draw(k, curves, layout: str):
    """The figure for ``layout``: "page" (true Jacobian left, article's product right, 6.48 in)
    or "column" (the same panels stacked, 3.17 in; level labels wrapped, the legend in one
    column below). ``curves``: [(colour, label, full-state series, article series)]."""
    import matplotlib.pyplot as plt

    from gradproof.reports.figures.common import draw_format_levels, level_legend_entries, two_panels
    from gradproof.reports.figures.numerics_api import FORMATS

    p = PARAMS
    column = layout == "column"
    fig, axes = two_panels(layout, 3.8, 5.9, sharey=True)
    for colour, label, full, article in curves:
        for ax, series in ((axes[0], full), (axes[1], article)):
            ax.plot(k, series, color=colour, label=label,
                    linestyle=_LINESTYLES[_COLOURS.index(colour)])
    axes[0].set_title("true Jacobian $\\partial(h_k,c_k)/\\partial(h_0,c_0)$", fontsize=8.5)
    axes[1].set_title("article: product of $A_t+B_t+C_t+D_t$", fontsize=8.5)
    for ax in axes:
        ax.set_xlabel("steps back in time $k$")
        ax.set_xlim(1, p["steps"])
    axes[0].set_ylabel("$\\log_{10}$ of the product's $\\|\\cdot\\|_2$ (decades)")
    if column:  # stacked: each panel has its own y axis, a shorter label for its height
        for ax in axes:
            ax.set_ylabel("$\\log_{10}$ of $\\|$product$\\|_2$ (decades)")
    # float formats' levels in both panels (shared y axis), labelled once, outside the right
    # panel (placement.clear_labels); stacked, both panels are labelled (wrapped)
    draw_format_levels(axes[0], FORMATS, p["format_levels"], colour="dimgrey", labels=column,
                       wrap=column)
    draw_format_levels(axes[1], FORMATS, p["format_levels"], colour="dimgrey", wrap=column)
    level_legend_entries(axes[1])
    # below the panels, not over the curves
    fig.legend(*axes[1].get_legend_handles_labels(), loc="outside lower center",
               ncol=1 if column else 3, frameon=False, fontsize=7)
    return fig


def _caption(num, layout: str) -> str:
    from gradproof.numerics.published import parameter

    p = PARAMS
    s = p["steps"]
    first, second = ("Top", "bottom") if layout == "column" else ("Left", "right")
    return (f"LSTM Jacobian products over $k$ steps (hidden size {p['hidden']}, seed "
            f"{p['seed']}, every $U$ block scaled to spectral norm {parameter(p['spectral_norm'])}) for "
            f"forget-gate biases {', '.join(f'{parameter(b)}' for b in p['forget_biases'])} (2 is "
            f"PyTorch's effective bias when both forget biases are set to 1). {first}: the true "
            f"Jacobian of the state $(h_t, c_t)$; {second}: the article's product of cell-path "
            f"terms. After {s} steps the true product is "
            + ", ".join(f"$10^{{{num[f'bias-{parameter(b)}-full-log10-norm-at-k{s}'].display}}}$"
                        for b in p["forget_biases"])
            + " respectively. Grey lines: the smallest normal (dashed) and subnormal (dotted) "
            "numbers of " + ", ".join(p["format_levels"]) + "; below them a product is "
            "subnormal or 0 in that format (the curves are computed without underflow).")


def build(ctx):
    import numpy as np

    from gradproof.numerics.cells import lstm_jacobians, random_inputs, random_lstm_params
    from gradproof.numerics.published import parameter
    from gradproof.reports.figures.common import ItemResult, Number, save_drawings, save_figure_data
    from gradproof.reports.figures.numerics_api import fast_statement, log10_norm_series

    p = PARAMS
    k = np.arange(1, p["steps"] + 1)
    inputs = random_inputs(p["steps"], p["input_size"], seed=p["seed"])
    numbers = []
    data = {}
    curves = []
    for colour, bias in zip(_COLOURS, p["forget_biases"]):
        params = random_lstm_params(p["hidden"], p["input_size"], seed=p["seed"],
                                    spectral_norm=p["spectral_norm"], forget_bias=bias)
        jac = lstm_jacobians(params, inputs)
        label = f"forget bias {parameter(bias)}" + (" (PyTorch 1 + 1)" if bias == 2 else "")
        drawn = []
        for field, what in (("full", "full state (h, c)"),
                            ("article_cell_path", "article's cell path")):
            series = np.asarray(log10_norm_series(getattr(jac, field)), dtype=float)
            statement = fast_statement(getattr(jac, field))
            drawn.append(series)
            data[f"forget bias {parameter(bias)}, {what}"] = {"k": k, "log10_norm": series}
            tag = f"bias-{parameter(bias)}-{field.replace('_', '-')}"
            numbers.append(Number(f"{tag}-log10-norm-at-k{p['steps']}", float(series[-1]),
                                  f"forget bias {parameter(bias)}, {what}: log10 of the product norm "
                                  f"after {p['steps']} steps", "log10 (dimensionless)"))
        curves.append((colour, label, *drawn))
    num = {n.key: n for n in numbers}
    files, variants = save_drawings(ctx, ID, lambda layout: _draw(k, curves, layout),
                                    lambda layout: _caption(num, layout))
    files.append(save_figure_data(ctx, ID, data, atol={"log10_norm": 1e-9}))
    caption = variants[0].caption
    return ItemResult(files=files, parameters=dict(p), seed=p["seed"],
                      engine="gradproof.numerics.cells.lstm_jacobians; numerics.engines.log10_norm_series "
                             "(fast engine)",
                      precision=f"float64 one-step Jacobians; products: {statement}",
                      caption=caption, numbers=numbers, variants=variants)
