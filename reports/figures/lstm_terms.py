r"""Figure ``lstm-terms``: sizes of the LSTM cell-path terms A_t, B_t, C_t, D_t over t.

The article splits dc_t/dc_{t-1} into A_t + B_t + C_t + D_t (forget, direct, input and
candidate paths; Arbel 2018). With the U-blocks and diagonal gate matrices the corrected terms
are (``numerics.cells``): A_t = diag(c_{t-1} sigma'(a_f)) U_f K_t, B_t = diag(f_t),
C_t = diag(g_t sigma'(a_i)) U_i K_t, D_t = diag(i_t tanh'(a_g)) U_g K_t with
K_t = diag(o_{t-1} tanh'(c_{t-1})). The article's D_t uses sigma'(a_g); it is drawn dashed.
Sizes are spectral norms ||.||_2 (numpy SVD, float64) of the bridge's matrices.

The raw norms jump from step to step with the random inputs, and five such lines cross each
other; the figure draws, per window of ``window`` steps, the median of each term (a line with
markers), so that the order of the terms is readable. The raw per-step norms are written to ``data/lstm-terms.json`` (recorded, with its
SHA-256, in the manifest).
"""

from __future__ import annotations

ID = "lstm-terms"
TITLE = "Sizes of the LSTM cell-path terms over time"
REQUIRES = ("gradproof.numerics.cells",)
PARAMS = {"hidden": 4, "input_size": 2, "steps": 120, "seed": 0, "forget_bias": 1.0,
          "spectral_norm": 1.0, "window": 10}

# (key, label, series style index); Okabe-Ito colours, line styles and markers (style.py)
_TERMS = (("A", "$A_t$ (forget-gate path)", 0),
          ("B", "$B_t = \\mathrm{diag}(f_t)$ (direct path)", 1),
          ("C", "$C_t$ (input-gate path)", 2),
          ("D", "$D_t$ (candidate path, $\\tanh'$)", 3),
          ("D_article", "$D_t$ as the article writes it ($\\sigma'$)", 4))


def build(ctx):

    import matplotlib.pyplot as plt
    import numpy as np

    from gradproof.numerics.cells import lstm_jacobians, random_inputs, random_lstm_params
    from gradproof.numerics.published import parameter
    from gradproof.reports.figures.common import ItemResult, Number, save_figure, save_figure_data
    from gradproof.reports.figures.style import COLUMN_WIDTH_IN, SERIES_STYLES

    p = PARAMS
    params = random_lstm_params(p["hidden"], p["input_size"], seed=p["seed"],
                                spectral_norm=p["spectral_norm"], forget_bias=p["forget_bias"])
    jac = lstm_jacobians(params, random_inputs(p["steps"], p["input_size"], seed=p["seed"]))
    t = np.arange(1, p["steps"] + 1)
    # one panel: drawn for a column (3.17 in), printed at 100 % there
    fig, ax = plt.subplots(figsize=(COLUMN_WIDTH_IN, 3.9), layout="constrained")
    numbers, data = [], {}
    # windows over t = 2..steps (A_1 = C_1 = D_1 = 0: h_0 does not depend on c_0)
    w = p["window"]
    starts = list(range(2, p["steps"] + 1, w))
    for name, label, style in _TERMS:
        norms = np.linalg.norm(getattr(jac, name), ord=2, axis=(1, 2))
        # the raw per-step norms behind the medians, at their published digits
        data[name] = {"t": t[1:], "spectral_norm": norms[1:]}
        colour, linestyle, marker = SERIES_STYLES[style]
        mids, med = [], []
        for s in starts:
            block = norms[s - 1:min(s - 1 + w, p["steps"])]
            mids.append(s + (len(block) - 1) / 2)
            med.append(float(np.median(block)))
        ax.semilogy(mids, med, color=colour, linestyle=linestyle, marker=marker, markersize=4,
                    markerfacecolor="white", markeredgewidth=1.0, linewidth=1.3, label=label)
        numbers.append(Number(f"median-norm-{name.lower().replace('_', '-')}",
                              float(np.median(norms[1:])),
                              f"median over t = 2..{p['steps']} of the spectral norm of the "
                              f"{name.replace('_', ' ')} term", "1 (dimensionless)"))
    ax.set_xlabel("time step $t$")
    ax.set_ylabel("spectral norm $\\|\\cdot\\|_2$ (dimensionless)")
    ax.set_xlim(1, p["steps"])
    ax.set_title(f"LSTM cell-path terms (median per {w} steps)", fontsize=8)
    fig.legend(loc="outside lower center", ncol=1, frameon=False, fontsize=7)
    files = save_figure(ctx, fig, ID)
    files.append(save_figure_data(ctx, ID, data))
    med = {n.key: n for n in numbers}
    caption = (f"Spectral norms of the four terms of the article's split "
               f"$\\partial c_t/\\partial c_{{t-1}} = A_t + B_t + C_t + D_t$ along one trajectory "
               f"of a random LSTM (hidden size {p['hidden']}, seed {p['seed']}, forget-gate bias "
               f"{parameter(p['forget_bias'])}, every $U$ block scaled to spectral norm "
               f"{parameter(p['spectral_norm'])}); from $t=2$, since $A_1=C_1=D_1=0$. Each point is the "
               f"median of a term over a window of {w} steps (raw per-step values in "
               f"data/{ID}.json). Median norms over all steps: "
               f"$B_t=\\mathrm{{diag}}(f_t)$ {med['median-norm-b'].display}, $A_t$ "
               f"{med['median-norm-a'].display}, $C_t$ {med['median-norm-c'].display}, $D_t$ "
               f"{med['median-norm-d'].display}. Down triangles: the article's $D_t$, with $\\sigma'$ "
               f"in place of $\\tanh'$.")
    return ItemResult(files=files, parameters={**p, "width_in": COLUMN_WIDTH_IN}, seed=p["seed"],
                      engine="gradproof.numerics.cells.lstm_jacobians + numpy.linalg.norm",
                      precision="float64 (IEEE 754 binary64, 53-bit significand)",
                      caption=caption, numbers=numbers)
