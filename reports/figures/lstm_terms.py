r"""Figure ``lstm-terms``: sizes of the LSTM cell-path terms A_t, B_t, C_t, D_t over t.

The article splits dc_t/dc_{t-1} into A_t + B_t + C_t + D_t (forget, direct, input and
candidate paths; Arbel 2018). With the U-blocks and diagonal gate matrices the corrected terms
are (``numerics.cells``): A_t = diag(c_{t-1} sigma'(a_f)) U_f K_t, B_t = diag(f_t),
C_t = diag(g_t sigma'(a_i)) U_i K_t, D_t = diag(i_t tanh'(a_g)) U_g K_t with
K_t = diag(o_{t-1} tanh'(c_{t-1})). The article's D_t uses sigma'(a_g); it is drawn dashed.
Sizes are spectral norms ||.||_2 (numpy SVD, float64) of the bridge's matrices.
"""

from __future__ import annotations

ID = "lstm-terms"
TITLE = "Sizes of the LSTM cell-path terms over time"
REQUIRES = ("gradproof.numerics.cells",)
PARAMS = {"hidden": 4, "input_size": 2, "steps": 120, "seed": 0, "forget_bias": 1.0,
          "spectral_norm": 1.0}

_TERMS = (("A", "$A_t$ (forget-gate path)", "tab:blue", "-"),
          ("B", "$B_t = \\mathrm{diag}(f_t)$ (direct path)", "black", "-"),
          ("C", "$C_t$ (input-gate path)", "tab:green", "-"),
          ("D", "$D_t$ (candidate path, $\\tanh'$)", "tab:red", "-"),
          ("D_article", "$D_t$ as the article writes it ($\\sigma'$)", "tab:red", "--"))


def build(ctx):
    import matplotlib.pyplot as plt
    import numpy as np

    from gradproof.numerics.cells import lstm_jacobians, random_inputs, random_lstm_params
    from gradproof.reports.figures.common import (FIGURE_WIDTH_IN, ItemResult, Number, save_figure,
                                                  save_figure_data)

    from gradproof.numerics.published import parameter

    p = PARAMS
    params = random_lstm_params(p["hidden"], p["input_size"], seed=p["seed"],
                                spectral_norm=p["spectral_norm"], forget_bias=p["forget_bias"])
    jac = lstm_jacobians(params, random_inputs(p["steps"], p["input_size"], seed=p["seed"]))
    t = np.arange(1, p["steps"] + 1)
    fig, ax = plt.subplots(figsize=(FIGURE_WIDTH_IN, 4.0), layout="constrained")
    numbers = []
    data = {}
    for name, label, colour, style in _TERMS:
        norms = np.linalg.norm(getattr(jac, name), ord=2, axis=(1, 2))
        # A_1 = C_1 = D_1 = 0 (h_0 does not depend on c_0): drawn from t = 2
        data[name] = {"t": t[1:], "spectral_norm": norms[1:]}
        ax.semilogy(t[1:], norms[1:], style, color=colour, label=label, linewidth=1.1)
        numbers.append(Number(f"median-norm-{name.lower().replace('_', '-')}",
                              float(np.median(norms[1:])),
                              f"median over t = 2..{p['steps']} of the spectral norm of the "
                              f"{name.replace('_', ' ')} term", "1 (dimensionless)"))
    ax.set_xlabel("time step $t$")
    ax.set_ylabel("spectral norm $\\|\\cdot\\|_2$ (dimensionless)")
    ax.set_xlim(1, p["steps"])
    ax.set_title(f"LSTM cell-path terms, $n={p['hidden']}$, forget bias {parameter(p['forget_bias'])}, "
                 f"$\\sigma_{{max}}(U_\\ast)={parameter(p['spectral_norm'])}$")
    fig.legend(loc="outside lower center", ncol=3, fontsize=6.8, frameon=False)
    files = save_figure(ctx, fig, ID)
    files.append(save_figure_data(ctx, ID, data))
    med = {n.key: n for n in numbers}
    caption = (f"Spectral norms of the four terms of the article's split "
               f"$\\partial c_t/\\partial c_{{t-1}} = A_t + B_t + C_t + D_t$ along one trajectory "
               f"of a random LSTM (hidden size {p['hidden']}, seed {p['seed']}, forget-gate bias "
               f"{parameter(p['forget_bias'])}, every $U$ block scaled to spectral norm "
               f"{parameter(p['spectral_norm'])}); from $t=2$, since $A_1=C_1=D_1=0$. Median norms: "
               f"$B_t=\\mathrm{{diag}}(f_t)$ {med['median-norm-b'].display}, $A_t$ "
               f"{med['median-norm-a'].display}, $C_t$ {med['median-norm-c'].display}, $D_t$ "
               f"{med['median-norm-d'].display}. Dashed: the article's $D_t$ with $\\sigma'$ in place of "
               f"$\\tanh'$.")
    return ItemResult(files=files, parameters=dict(p), seed=p["seed"],
                      engine="gradproof.numerics.cells.lstm_jacobians + numpy.linalg.norm",
                      precision="float64 (IEEE 754 binary64, 53-bit significand)",
                      caption=caption, numbers=numbers)
