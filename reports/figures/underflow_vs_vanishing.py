r"""Figure ``underflow-vs-vanishing``: one Jacobian product in float16, bfloat16, float32 and
float64, each of which becomes exactly 0 at its own step, against the high-precision curve,
which keeps going: a product that is 0 in a float format has *underflowed*; the quantity it
stands for has not become 0, it has become small (vanishing is a statement about the real
number, underflow about its representation).

The product is that of a tanh RNN with sigma_max(W_rec) < 1 (``derivations.bridge``). Each
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
REQUIRES = ("derivations.bridge", "numerics.engines", "numerics.formats")
PARAMS = {"hidden": 4, "input_size": 2, "steps": 1300, "seed": 0, "activation": "tanh",
          "spectral_norm": 0.6, "formats": ["float16", "bfloat16", "float32", "float64"],
          "reference_dps": 50}


def build(ctx):
    import math

    import matplotlib.pyplot as plt
    import numpy as np

    from derivations.bridge import random_inputs, random_rnn_params, rnn_jacobians
    from reports.figures.common import (FIGURE_WIDTH_IN, FORMAT_COLOURS, ItemResult, Number,
                                        draw_format_levels, save_figure)
    from reports.figures.numerics_api import (FORMATS, fast_statement, log10_norm_series,
                                              reference_log10_norm, simulate)

    p = PARAMS
    params = random_rnn_params(p["hidden"], p["input_size"], seed=p["seed"],
                               activation=p["activation"], spectral_norm=p["spectral_norm"])
    jac = rnn_jacobians(params, random_inputs(p["steps"], p["input_size"], seed=p["seed"]))
    k = np.arange(1, p["steps"] + 1)
    curve = np.asarray(log10_norm_series(jac), dtype=float)
    ref_last, ref_statement = reference_log10_norm(jac, dps=p["reference_dps"])
    floor = math.floor(min(curve.min(), math.log10(float(FORMATS["float64"].min_subnormal))) / 50) * 50 - 20
    fig, ax = plt.subplots(figsize=(FIGURE_WIDTH_IN, 4.8), layout="constrained")
    ax.plot(k, curve, color="black", linewidth=2.0,
            label="true value (no underflow), continues")
    numbers = []
    for name in p["formats"]:
        sim = simulate(jac, name)
        colour = FORMAT_COLOURS[name]
        if sim.first_subnormal_step is not None:
            s = sim.first_subnormal_step
            ax.plot([s], [curve[s - 1]], "o", color=colour, markersize=4, markerfacecolor="white")
        if sim.first_zero_step is not None:
            z = sim.first_zero_step
            ax.plot([z, z], [curve[z - 1], floor], color=colour, linewidth=1.6)
            ax.plot([z], [floor], "v", color=colour, markersize=7, clip_on=False)
        ax.plot([], [], color=colour, linewidth=1.6,
                label=f"{name}: subnormal from step {sim.first_subnormal_step}, "
                      f"exactly 0 from step {sim.first_zero_step}")
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
                          "decades", digits=3))
    for i, name in enumerate(p["formats"]):  # alternate label sides: two levels nearly coincide
        draw_format_levels(ax, FORMATS, [name], which=("min_subnormal",),
                           x_text=0.995 if i % 2 == 0 else 0.3)
    ax.set_xscale("log")
    ax.set_xlabel("steps back in time $k$ (log scale)")
    ax.set_ylabel("$\\log_{10}\\|J_k\\cdots J_1\\|_2$ (decades)")
    ax.set_xlim(1, p["steps"])
    ax.set_ylim(floor, 40)
    ax.set_title(f"tanh RNN, $n={p['hidden']}$, $\\sigma_{{max}}(W_{{rec}})={p['spectral_norm']:g}$: "
                 "the same product in four formats")
    fig.legend(loc="outside lower center", ncol=2, fontsize=6.8, frameon=False)
    files = save_figure(ctx, fig, ID)
    num = {n.key: n for n in numbers}
    last = num[f"log10-norm-at-k{p['steps']}"].display
    caption = ("One Jacobian product of a tanh RNN "
               f"(hidden size {p['hidden']}, seed {p['seed']}, "
               f"$\\sigma_{{max}}(W_{{rec}}) = {p['spectral_norm']:g}$) evaluated in four float "
               "formats (round to nearest even, gradual underflow). Each format's product turns "
               "subnormal (circles) and then exactly 0 at its own step (drops): float16 at step "
               f"{num['float16-first-zero-step'].display}, bfloat16 at "
               f"{num['bfloat16-first-zero-step'].display}, float32 at "
               f"{num['float32-first-zero-step'].display}, float64 at "
               f"{num['float64-first-zero-step'].display}; the true value continues to "
               f"$10^{{{last}}}$ at step {p['steps']}. Dotted lines: each format's smallest "
               "subnormal number. A zero in a float format is underflow of the representation, "
               "not a zero gradient.")
    return ItemResult(files=files, parameters=dict(p), seed=p["seed"],
                      engine="numerics.formats.simulate_matrix_product per format; curve: "
                             "numerics.engines.log10_norm_series; last point: "
                             "numerics.engines.product_reference",
                      precision=f"formats as labelled (round to nearest even, gradual underflow); "
                                f"curve: {fast_statement(jac)}; reference: {ref_statement}",
                      caption=caption, numbers=numbers)
