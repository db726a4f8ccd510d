r"""Figure ``phase``: the largest Lyapunov exponent of the Jacobian products of sigmoid and tanh
RNNs against sigma_max(W_rec), with the boundary sigma_max = 1/gamma.

lambda_1 = lim (1/T) ln ||J_T ... J_1|| (QR method, Benettin et al. 1980) from
``numerics.lyapunov.largest_lyapunov``; lambda_1 < 0 means products shrink geometrically
(vanishing), > 0 that they grow. sigma_max(W_rec) < 1/gamma is sufficient for lambda_1 < 0
(Pascanu, Mikolov & Bengio 2013), but not necessary: the boundary is where the *bound* stops
forcing decay. Since ||J_t||_2 <= gamma ||W_rec||_2, lambda_1 <= ln(gamma sigma_max(W_rec)) (the
per-step bound, ``derivations.rnn.rnn_norm_bound`` with lag 1), drawn dotted: the measured
exponent can only become positive at or to the right of 1/gamma.
"""

from __future__ import annotations

ID = "phase"
TITLE = "Largest Lyapunov exponent against sigma_max(W_rec)"
REQUIRES = ("gradproof.numerics.cells", "gradproof.numerics.lyapunov")
PARAMS = {"hidden": 8, "input_size": 2, "steps": 300, "seeds": [0, 1, 2],
          "sigma_max_times_gamma": {"start": 0.1, "stop": 6.0, "count": 30},
          "activations": ["sigmoid", "tanh"]}


#: absolute tolerance of a published Lyapunov exponent (nats per step). Where lambda_1 > 0 the
#: trajectory is chaotic and the last bits of the weights are amplified like e^{lambda_1 T}:
#: at the grid's tanh point sigma_max = 6 (lambda_1 = 0.052, T = 300) a one-ulp change of the
#: weights moves lambda_1 by 1.7e-8 (tests/numerics/test_published.py), elsewhere by < 1e-12.
LYAPUNOV_ATOL = 1e-5


def _crossing_text(act, crossing, at_boundary) -> str:
    where = ("first becomes positive at $\\sigma_{max} = " + crossing.display + "$"
             if crossing.value is not None else "stays negative on the whole grid")
    return (f"{act}: the seed mean of $\\lambda_1$ is {at_boundary.display} nats per step at the "
            f"boundary and {where}.")


def _draw(panels, layout: str):
    """The figure for ``layout``: "page" (sigmoid left, tanh right, ``PAGE_WIDTH_IN``, legends inside)
    or "column" (the same panels stacked, ``COLUMN_WIDTH_IN``, each legend in two columns below its panel).
    ``panels``: [(activation, gamma, colour, sigmas, lambda_1 per seed, mean, per-step bound)]."""
    from gradproof.reports.figures.common import two_panels

    p = PARAMS
    column = layout == "column"
    fig, axes = two_panels(layout, 3.3, 5.6)
    for ax, (act, gamma, colour, sigmas, lam, mean, per_step_bound) in zip(axes, panels):
        for i, seed in enumerate(p["seeds"]):
            ax.plot(sigmas, lam[i], ".", color=colour, markersize=3, alpha=0.6,
                    label="single seed" if i == 0 else None)
        ax.plot(sigmas, mean, "-", color=colour, label=f"mean of {len(p['seeds'])} seeds")
        ax.plot(sigmas, per_step_bound, ":", color="grey", linewidth=1.2,
                label="bound $\\ln(\\gamma\\,\\sigma_{max})$")
        ax.axvline(1 / float(gamma), color="black", linestyle="--", linewidth=0.9,
                   label=f"$1/\\gamma = {1 / gamma}$")
        ax.axhline(0.0, color="grey", linewidth=0.7)
        ax.set_title(f"{act} RNN ($\\gamma = {gamma}$)")
        ax.set_xlabel("$\\sigma_{max}(W_{rec})$ (dimensionless)")
        ax.set_ylim(min(-3.6, float(lam.min()) - 0.2), 1.0)
        if column:  # below its panel, off the data
            ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.3), ncol=2, fontsize=7,
                      frameon=False)
            ax.set_ylabel("$\\lambda_1$ (nats per step)")
        else:
            ax.legend(loc="lower right", fontsize=7, framealpha=0.9)
    if not column:
        axes[0].set_ylabel("largest Lyapunov exponent $\\lambda_1$ (nats per step)")
    return fig


def build(ctx):
    import math

    import numpy as np

    from gradproof.derivations.activations import derive_gamma, get_activation
    from gradproof.numerics.cells import random_inputs, random_rnn_params, rnn_jacobians
    from gradproof.derivations.rnn import rnn_norm_bound
    from gradproof.reports.figures.common import ItemResult, Number, save_drawings, save_figure_data
    from gradproof.reports.figures.numerics_api import largest_lyapunov_exponent

    from gradproof.numerics.published import float64

    p = PARAMS
    g = p["sigma_max_times_gamma"]
    rel = np.linspace(g["start"], g["stop"], g["count"])
    numbers = []
    data = {}
    panels = []
    for act, colour in zip(p["activations"], ("#E69F00", "#0072B2")):
        gamma = derive_gamma(get_activation(act)).gamma
        sigmas = rel / float(gamma)
        lam = np.empty((len(p["seeds"]), len(sigmas)))
        for i, seed in enumerate(p["seeds"]):
            inputs = random_inputs(p["steps"], p["input_size"], seed=seed)
            for j, s in enumerate(sigmas):
                params = random_rnn_params(p["hidden"], p["input_size"], seed=seed,
                                           activation=act, spectral_norm=float(s))
                lam[i, j] = largest_lyapunov_exponent(rnn_jacobians(params, inputs))
        mean = lam.mean(axis=0)
        per_step_bound = np.array([math.log(rnn_norm_bound(float(gamma), float(s), 1))
                                   for s in sigmas])
        data[act] = {"sigma_max": sigmas, "lambda_1_mean": mean, "per_step_bound": per_step_bound,
                     **{f"lambda_1_seed_{seed}": lam[i] for i, seed in enumerate(p["seeds"])}}
        panels.append((act, gamma, colour, sigmas, lam, mean, per_step_bound))
        numbers.append(Number(f"{act}-max-exponent-minus-bound", float(np.max(lam - per_step_bound)),
                              f"{act} RNN: max over seeds and grid of lambda_1 - "
                              "ln(gamma sigma_max(W_rec)) (<= 0: the per-step bound holds)",
                              "nats per step", atol=LYAPUNOV_ATOL))
        positive = np.nonzero(mean > 0)[0]
        crossing = float(sigmas[positive[0]]) if positive.size else None
        numbers.append(Number(f"{act}-first-sigma-with-positive-exponent", crossing,
                              f"{act} RNN: smallest grid value of sigma_max(W_rec) where the "
                              "seed-mean largest Lyapunov exponent is positive (none: never)",
                              "1 (dimensionless)", digits=4))
        at = int(np.argmin(np.abs(sigmas - 1 / float(gamma))))
        numbers.append(Number(f"{act}-exponent-at-inverse-gamma", float(mean[at]),
                              f"{act} RNN: seed-mean largest Lyapunov exponent at "
                              f"sigma_max(W_rec) = {float64(float(sigmas[at])).text} (grid point nearest 1/gamma)",
                              "nats per step"))
    num = {n.key: n for n in numbers}
    # the caption names no panel position: the same text for both layouts
    caption = ("Largest Lyapunov exponent $\\lambda_1$ of the Jacobian products of random RNNs "
               f"(hidden size {p['hidden']}, {p['steps']} steps, seeds "
               f"{', '.join(str(s) for s in p['seeds'])}) against $\\sigma_{{max}}(W_{{rec}})$; "
               "dashed: the boundary $1/\\gamma$ of the sufficient condition for vanishing; dotted: "
               "the per-step bound $\\ln(\\gamma\\,\\sigma_{max}(W_{rec}))$ on $\\lambda_1$. "
               + " ".join(_crossing_text(act, num[f"{act}-first-sigma-with-positive-exponent"],
                                         num[f"{act}-exponent-at-inverse-gamma"])
                          for act in p["activations"]))
    files, variants = save_drawings(ctx, ID, lambda layout: _draw(panels, layout), lambda layout: caption)
    files.append(save_figure_data(ctx, ID, data, atol={
        "per_step_bound": 1e-9, "lambda_1_mean": LYAPUNOV_ATOL,
        **{f"lambda_1_seed_{s}": LYAPUNOV_ATOL for s in p["seeds"]}}))
    return ItemResult(files=files, parameters=dict(p), seed=list(p["seeds"]),
                      engine="gradproof.numerics.lyapunov.largest_lyapunov (QR iteration)",
                      precision="float64 (IEEE 754 binary64)", caption=caption, numbers=numbers,
                      variants=variants)
