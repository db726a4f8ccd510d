r"""Figure ``lstm-missing-path``: how far the article's cell-path product is from the true
d c_k / d c_0 of the unrolled LSTM.

The true Jacobian of the cell state is the c-block of the product of full-state Jacobians,
[prod_t d(h_t,c_t)/d(h_{t-1},c_{t-1})]_{cc}; the article multiplies the one-step cell terms
A_t + B_t + C_t + D_t instead, which drops the path c_{t-2} -> h_{t-2} -> o_{t-1} -> h_{t-1}
-> c_t (and its D_t uses sigma' in place of tanh'). Plotted: log10 of
||prod cell terms||_2 / ||[prod full]_{cc}||_2 for the article's terms and for the corrected
terms (which isolate the missing path). The products are
``numerics.engines.product_matrix`` -- see ``reports.figures.numerics_api``.
"""

from __future__ import annotations

ID = "lstm-missing-path"
TITLE = "LSTM: the article's cell-path product against the true dc_k/dc_0"
REQUIRES = ("gradproof.numerics.cells", "gradproof.numerics.engines")
PARAMS = {"hidden": 4, "input_size": 2, "steps": 150, "seeds": [0, 1, 2], "forget_bias": 1.0,
          "spectral_norm": 1.0}


def build(ctx):
    import matplotlib.pyplot as plt
    import numpy as np

    from gradproof.numerics.cells import lstm_jacobians, random_inputs, random_lstm_params
    from gradproof.reports.figures.common import ItemResult, Number, save_figure, save_figure_data
    from gradproof.reports.figures.numerics_api import log10_block_norm_series, product_engine

    from gradproof.numerics.published import parameter

    p = PARAMS
    n = p["hidden"]
    k = np.arange(1, p["steps"] + 1)
    from gradproof.reports.figures.style import COLUMN_WIDTH_IN

    # one panel: drawn for a column (3.17 in), printed at 100 % there
    fig, ax = plt.subplots(figsize=(COLUMN_WIDTH_IN, 3.9), layout="constrained")
    numbers = []
    data = {}
    for j, seed in enumerate(p["seeds"]):
        params = random_lstm_params(n, p["input_size"], seed=seed,
                                    spectral_norm=p["spectral_norm"], forget_bias=p["forget_bias"])
        jac = lstm_jacobians(params, random_inputs(p["steps"], p["input_size"], seed=seed))
        true_cc = log10_block_norm_series(jac.full, slice(n, 2 * n), slice(n, 2 * n))
        # Okabe-Ito vermillion squares (article) and blue circles (corrected); seeds by style
        for field, colour, marker, what in (("article_cell_path", "#D55E00", "s", "article's terms"),
                                            ("cell_path", "#0072B2", "o", "corrected terms")):
            ratio = log10_block_norm_series(getattr(jac, field)) - true_cc
            data[f"{what}, seed {seed}"] = {"k": k, "log10_ratio": ratio}
            ax.plot(k, ratio, color=colour, linestyle=("-", "--", ":")[j % 3], linewidth=1.1,
                    marker=marker, markevery=(0.05 * j, 0.15), markersize=3.5,
                    markerfacecolor="white", markeredgewidth=0.9, label=f"{what}, seed {seed}")
            numbers.append(Number(f"seed-{seed}-{field.replace('_', '-')}-log10-ratio-at-k{p['steps']}",
                                  float(ratio[-1]),
                                  f"seed {seed}: log10 of ||product of {what}|| / ||true dc_k/dc_0|| "
                                  f"after {p['steps']} steps", "decades"))
    # named in the legend, not by a label over the curves
    ax.axhline(0.0, color="black", linewidth=0.8, label="ratio 1 (no error)")
    ax.set_xlabel("steps back in time $k$")
    ax.set_ylabel("$\\log_{10}$ (product norm / true norm)\n(decades)")
    ax.set_xlim(1, p["steps"])
    ax.set_title("cell-term product vs. true $\\partial c_k/\\partial c_0$")
    fig.legend(loc="outside lower center", fontsize=7, ncol=2, frameon=False,
               handlelength=2.2, columnspacing=0.8)
    files = save_figure(ctx, fig, ID)
    files.append(save_figure_data(ctx, ID, data, atol={"log10_ratio": 1e-9}))
    s = p["steps"]
    num = {x.key: x for x in numbers}
    s0 = p["seeds"][0]
    caption = ("Ratio of the norm of the product of one-step cell-path terms to the norm of "
               "the true $\\partial c_k/\\partial c_0$ (the cell block of the product of "
               f"full-state Jacobians), for a random LSTM (hidden size {n}, forget bias "
               f"{parameter(p['forget_bias'])}, $U$ blocks at spectral norm {parameter(p['spectral_norm'])}, seeds "
               f"{', '.join(str(x) for x in p['seeds'])}; line style per seed). Red squares: the article's terms (its $D_t$ with "
               "$\\sigma'$ in place of $\\tanh'$; the $U$ blocks kept so that shapes agree); blue circles: the "
               "corrected terms, whose only error is the dropped path through the previous "
               f"output gate. At $k={s}$, seed {s0}: $10^{{"
               f"{num[f'seed-{s0}-article-cell-path-log10-ratio-at-k{s}'].display}}}$ (article) "
               f"and $10^{{{num[f'seed-{s0}-cell-path-log10-ratio-at-k{s}'].display}}}$ "
               "(corrected).")
    return ItemResult(files=files, parameters={**p, "width_in": COLUMN_WIDTH_IN}, seed=list(p["seeds"]),
                      engine=f"gradproof.numerics.cells.lstm_jacobians; {product_engine()}",
                      precision="float64 one-step Jacobians; products as stated by the engine",
                      caption=caption, numbers=numbers)
