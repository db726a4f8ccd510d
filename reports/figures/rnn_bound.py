r"""Figure ``rnn-bound``: measured log10 ||J_k ... J_1||_2 of vanilla RNNs beside the bound
(gamma ||W_rec||_2)^k (Bengio, Simard & Frasconi 1994; Pascanu, Mikolov & Bengio 2013, eq. 7).

J_t = diag(act'(z_t)) W_rec (``numerics.cells.rnn_jacobians``); gamma = sup |act'| is
derived by ``derivations.activations.derive_gamma`` (1/4 for the sigmoid, 1 for tanh), the
bound by ``derivations.rnn.rnn_norm_bound`` evaluated in mpmath (no underflow), ||W_rec||_2 by
``derivations.rnn.spectral_norm_mp``, and the measured curve by
``numerics.engines.log10_norm_series``. sigma_max(W_rec) is set below, at and above 1/gamma.
"""

from __future__ import annotations

ID = "rnn-bound"
TITLE = "Vanilla RNN: measured Jacobian products against the bound (gamma ||W_rec||)^k"
REQUIRES = ("gradproof.numerics.cells", "gradproof.derivations.rnn", "gradproof.numerics.engines")
PARAMS = {"hidden": 8, "input_size": 2, "steps": 120, "seed": 0,
          "activations": ["sigmoid", "tanh"], "sigma_max_times_gamma": [0.5, 1.0, 1.5],
          "format_levels": ["float16", "bfloat16", "float32"]}
_COLOURS = ("#0072B2", "#D55E00", "#009E73")  # Okabe-Ito blue, vermillion, bluish green
_MARKERS = ("o", "s", "^")  # a second cue besides colour (greyscale, colour blindness)


def _draw(k, panels, sigmas, layout: str):
    """The figure for ``layout``: "page" (two panels side by side, 6.48 in) or "column" (the
    same panels stacked, 3.17 in; level labels wrapped, the legend in one column below).
    ``panels``: [(activation, gamma, [(colour, rel, measured, bound)])]."""
    import matplotlib.pyplot as plt

    from gradproof.numerics.published import parameter
    from gradproof.reports.figures.common import draw_format_levels, level_legend_entries, two_panels
    from gradproof.reports.figures.numerics_api import FORMATS

    p = PARAMS
    column = layout == "column"
    fig, axes = two_panels(layout, 4.0, 6.0, sharey=True)
    for ax, (act, gamma, curves) in zip(axes, panels):
        for colour, rel, measured, bound in curves:
            marker = _MARKERS[_COLOURS.index(colour)]
            ax.plot(k, measured, color=colour, marker=marker, markevery=0.12, markersize=3.5,
                    markerfacecolor="white", markeredgewidth=0.9)
            # the bound carries its curve's marker too (filled, offset), so that in greyscale
            # each bound is matched to its curve
            ax.plot(k, bound, "--", color=colour, linewidth=1.0, marker=marker,
                    markevery=(0.06, 0.12), markersize=3.0)
        # where a float format would lose the product (the curves are exact: no underflow);
        # page: labelled once, outside the right panel (the panels share the y axis);
        # column: both stacked panels labelled (their right margin is common anyway)
        draw_format_levels(ax, FORMATS, p["format_levels"], colour="dimgrey",
                           labels=column or ax is axes[-1], wrap=column)
        ax.set_title(f"{act}: $\\gamma={gamma}$, $1/\\gamma={1 / gamma}$")
        ax.set_xlabel("steps back in time $k$")
        ax.set_xlim(1, p["steps"])
    for colour, rel in zip(_COLOURS, p["sigma_max_times_gamma"]):
        axes[0].plot([], [], color=colour, linewidth=1.6, marker=_MARKERS[_COLOURS.index(colour)],
                     markersize=3.5, markerfacecolor="white",
                     label=f"$\\sigma_{{max}}(W_{{rec}}) = {parameter(rel)}/\\gamma$ ("
                           + ", ".join(f"{act} {parameter(rel * s)}" for act, s in sigmas.items()) + ")")
    axes[0].plot([], [], color="black", label="measured product norm")
    axes[0].plot([], [], "--", color="black", linewidth=1.0,
                 label="bound $(\\gamma\\|W_{rec}\\|_2)^k$")
    level_legend_entries(axes[0])
    fig.legend(loc="outside lower center", ncol=1 if column else 3, fontsize=7, frameon=False)
    for ax in (axes if column else axes[:1]):
        ax.set_ylabel("$\\log_{10}\\|J_k\\cdots J_1\\|_2$ (decades)")
    return fig


def _caption(numbers, excess, layout: str) -> str:
    from gradproof.numerics.published import parameter

    p = PARAMS
    first, second = ("top", "bottom") if layout == "column" else ("left", "right")
    return (f"Vanilla RNN (hidden size {p['hidden']}, seed {p['seed']}, random inputs): "
            "log10 of the spectral norm of the Jacobian product over $k$ steps (solid) and the "
            "bound $(\\gamma\\|W_{rec}\\|_2)^k$ (dashed), with $\\sigma_{max}(W_{rec})$ at "
            f"{', '.join(f'{parameter(r)}' for r in p['sigma_max_times_gamma'])} times $1/\\gamma$; "
            f"{first} sigmoid ($\\gamma = 1/4$), {second} tanh ($\\gamma = 1$). The largest excess "
            f"of a measured curve over its bound is {numbers[-1].display} decades"
            + (" (the bound holds at every $k$)." if excess <= 0 else ".")
            + " Grey lines: the smallest normal (dashed) and subnormal (dotted) numbers of "
            + ", ".join(p["format_levels"]) + "; below them a product is subnormal or 0 in "
            "that format, while the curves here are computed without underflow.")


def build(ctx):
    import mpmath
    import numpy as np

    from gradproof.derivations.activations import derive_gamma, get_activation
    from gradproof.numerics.cells import random_inputs, random_rnn_params, rnn_jacobians
    from gradproof.derivations.rnn import rnn_norm_bound, spectral_norm_mp
    from gradproof.reports.figures.common import ItemResult, Number, save_drawings, save_figure_data
    from gradproof.reports.figures.numerics_api import fast_statement, log10_norm_series

    from gradproof.numerics.published import parameter

    p = PARAMS
    k = np.arange(1, p["steps"] + 1)
    inputs = random_inputs(p["steps"], p["input_size"], seed=p["seed"])
    numbers = []
    series = {}
    panels = []
    gammas = {act: derive_gamma(get_activation(act)).gamma for act in p["activations"]}
    for act in p["activations"]:
        gamma = gammas[act]
        curves = []
        for colour, rel in zip(_COLOURS, p["sigma_max_times_gamma"]):
            sigma = rel / float(gamma)
            params = random_rnn_params(p["hidden"], p["input_size"], seed=p["seed"],
                                       activation=act, spectral_norm=sigma)
            jac = rnn_jacobians(params, inputs)
            measured = np.asarray(log10_norm_series(jac), dtype=float)
            statement = fast_statement(jac)
            with mpmath.workdps(30):
                w_norm = spectral_norm_mp(params.W_rec.tolist())
                g = mpmath.mpf(gamma.p) / gamma.q
                bound = np.array([float(mpmath.log10(rnn_norm_bound(g, w_norm, int(j))))
                                  for j in k])
            series[f"{act}, sigma_max(W_rec) = {parameter(rel)}/gamma"] = {
                "k": k, "log10_measured": measured, "log10_bound": bound}
            curves.append((colour, rel, measured, bound))
            tag = f"{act}-sigma-{parameter(rel)}-over-gamma".replace(".", "p")
            numbers.append(Number(f"{tag}-log10-norm-at-k{p['steps']}", float(measured[-1]),
                                  f"{act} RNN, sigma_max(W_rec) = {parameter(sigma)}: log10 of the "
                                  f"product norm after {p['steps']} steps", "log10 (dimensionless)"))
            numbers.append(Number(f"{tag}-max-excess-over-bound", float(np.max(measured - bound)),
                                  f"{act} RNN, sigma_max(W_rec) = {parameter(sigma)}: max over k of "
                                  "log10 measured minus log10 bound (<= 0: the bound holds)",
                                  "decades"))
        panels.append((act, gamma, curves))
    sigmas = {act: 1 / float(gamma) for act, gamma in gammas.items()}
    excess = max(float(n.value) for n in numbers if n.key.endswith("excess-over-bound"))
    numbers.append(Number("max-excess-over-bound", excess,
                          "max over activations, sigma_max(W_rec) and k of log10 measured minus "
                          "log10 bound (<= 0: the bound holds everywhere)", "decades"))
    files, variants = save_drawings(ctx, ID, lambda layout: _draw(k, panels, sigmas, layout),
                                    lambda layout: _caption(numbers, excess, layout))
    files.append(save_figure_data(ctx, ID, series, atol={"log10_measured": 1e-9, "log10_bound": 1e-9}))
    caption = variants[0].caption
    return ItemResult(files=files, parameters=dict(p), seed=p["seed"],
                      engine="gradproof.numerics.engines.log10_norm_series (fast engine); bound: "
                             "gradproof.derivations.rnn.rnn_norm_bound in mpmath",
                      precision=f"product norms: {statement}; bound: mpmath at 30 digits",
                      caption=caption, numbers=numbers, variants=variants)
