r"""Figure ``horizon``: the step at which a product of a constant per-step factor rho becomes
exactly 0, per float format, with gradual underflow and with flush-to-zero (FTZ).

Lines: the exact step at which the real number rho_f^k (rho_f = rho rounded to the format),
rounded once to the format, is 0 (gradual underflow: rho_f^k <= min_subnormal / 2) or, under
FTZ, subnormal and hence flushed (``numerics.horizon.horizon_steps``, exact rational
arithmetic). Markers: the format's own step-by-step product fl(p_{t-1} rho_f) with gradual
underflow at a few factors (same function, simulated): for rho_f > 1/2 it stops at a subnormal
fixed point (p rho_f rounds back to p) and never reaches 0 -- a product that "stagnates".
"""

from __future__ import annotations

ID = "horizon"
TITLE = "Underflow horizon against the per-step factor"
REQUIRES = ("gradproof.numerics.horizon", "gradproof.numerics.formats")
PARAMS = {"factors": {"one_minus_rho_start": 0.95, "one_minus_rho_stop": 0.02, "count": 22},
          "simulated_factors": [0.3, 0.5, 0.6, 0.7, 0.8, 0.9],
          "formats": ["float16", "bfloat16", "float32", "float64"], "quoted_factor": 0.9}


def factor_grid(spec: dict):
    """Per-step factors rho with 1 - rho log-spaced (denser towards rho = 1)."""
    import numpy as np

    return 1.0 - np.geomspace(spec["one_minus_rho_start"], spec["one_minus_rho_stop"], spec["count"])


def build(ctx):
    import matplotlib.pyplot as plt
    import numpy as np
    from matplotlib.ticker import NullFormatter

    from gradproof.reports.figures.common import FORMAT_COLOURS, ItemResult, Number, save_figure, save_figure_data
    from gradproof.reports.figures.numerics_api import horizon
    from gradproof.reports.figures.style import FORMAT_MARKERS

    from gradproof.numerics.published import parameter

    p = PARAMS
    rho = factor_grid(p["factors"])
    from gradproof.reports.figures.style import COLUMN_WIDTH_IN

    # one panel: drawn for a column (3.17 in), printed at 100 % there
    fig, ax = plt.subplots(figsize=(COLUMN_WIDTH_IN, 4.1), layout="constrained")
    numbers = []
    data = {}
    tag = f"{parameter(p['quoted_factor'])}".replace(".", "p")
    for name in p["formats"]:
        colour = FORMAT_COLOURS[name]
        for ftz, style in ((False, "-"), (True, "--")):
            steps = [horizon(float(r), name, ftz, simulate=False).exact_first_zero_step for r in rho]
            data[f"{name}, {'flush to zero' if ftz else 'gradual underflow'}, exact"] = {
                "rho": rho, "first_zero_step": steps}
            ax.plot(rho, np.array([np.nan if s is None else s for s in steps], dtype=float), style,
                    color=colour, linewidth=1.2, marker=FORMAT_MARKERS[name], markevery=0.1,
                    markersize=3.5, markerfacecolor="white", markeredgewidth=0.9)
            q = horizon(p["quoted_factor"], name, ftz, simulate=False).exact_first_zero_step
            mode = "ftz" if ftz else "gradual"
            numbers.append(Number(f"{name}-{mode}-exact-zero-step-rho-{tag}", q,
                                  f"first k at which the exact rho^k rounds to 0 in {name} "
                                  f"({'flush to zero' if ftz else 'gradual underflow'}), "
                                  f"rho = {parameter(p['quoted_factor'])}", "steps"))
        simulated = {"rho": [], "first_zero_step": [], "stagnates_at_step": []}
        for r in p["simulated_factors"]:
            h = horizon(float(r), name, False, simulate=True)
            for col, v in (("rho", r), ("first_zero_step", h.first_zero_step),
                           ("stagnates_at_step", h.stagnates_at_step)):
                simulated[col].append(v)
            if h.first_zero_step is not None:
                ax.plot([r], [h.first_zero_step], "o", color=colour, markersize=4.5)
            elif h.stagnates_at_step is not None:
                ax.plot([r], [h.stagnates_at_step], "x", color=colour, markersize=6,
                        markeredgewidth=1.4)
            if r == p["quoted_factor"]:
                numbers.append(Number(f"{name}-simulated-stagnation-step-rho-{tag}",
                                      h.stagnates_at_step,
                                      f"step from which the step-by-step {name} product of "
                                      f"rho = {parameter(r)} (gradual underflow) stops changing at a "
                                      "subnormal value without reaching 0 (none: it reaches 0)",
                                      "steps"))
        data[f"{name}, gradual underflow, simulated"] = simulated
        ax.plot([], [], color=colour, linewidth=1.6, marker=FORMAT_MARKERS[name], markersize=3.5,
                markerfacecolor="white", label=name)
    ax.plot([], [], "-", color="black", label="exact $\\rho^k$, gradual")
    ax.plot([], [], "--", color="black", label="exact $\\rho^k$, FTZ")
    ax.plot([], [], "o", color="black", label="product reaches 0")
    ax.plot([], [], "x", color="black", markeredgewidth=1.4,
            label="product stagnates")
    ax.set_xscale("logit")
    ticks = [0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 0.8, 0.9, 0.95, 0.98]
    ax.set_xticks(ticks, [f"{parameter(t)}" for t in ticks])
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_xlim(0.04, 0.985)
    ax.set_yscale("log")
    ax.set_xlabel("per-step factor $\\rho$ (logit scale)")
    ax.set_ylabel("first step $k$ at which the product is 0 (steps)")
    ax.set_title("underflow horizon of $\\rho^k$")
    fig.legend(loc="outside lower center", ncol=2, frameon=False, fontsize=7,
               handlelength=1.8, columnspacing=0.8)
    files = save_figure(ctx, fig, ID)
    files.append(save_figure_data(ctx, ID, data))
    num = {n.key: n for n in numbers}
    caption = ("First step $k$ at which the product of a constant per-step factor $\\rho$ is "
               "exactly 0 in each float format. Lines: the exact $\\rho^k$ (with $\\rho$ rounded "
               "to the format) rounded once to the format, with gradual underflow (solid) and "
               "flush to zero as on many GPU kernels (dashed); open markers tell the formats apart. "
               "Filled circles and crosses: the format's own "
               "step-by-step product with gradual underflow, which for $\\rho > 1/2$ stops at a "
               "subnormal value and never reaches 0 (crosses). For $\\rho = "
               f"{parameter(p['quoted_factor'])}$ the exact horizons are "
               + ", ".join(f"{name} {num[f'{name}-gradual-exact-zero-step-rho-{tag}'].display} "
                           f"(FTZ {num[f'{name}-ftz-exact-zero-step-rho-{tag}'].display})"
                           for name in p["formats"]) + " steps.")
    return ItemResult(files=files, parameters={**p, "width_in": COLUMN_WIDTH_IN}, seed=None,
                      engine="gradproof.numerics.horizon.horizon_steps (exact and simulated)",
                      precision="exact: rational (integer) arithmetic confirming mpmath "
                                "logarithms; simulated: the format's round-to-nearest-even "
                                "arithmetic emulated exactly",
                      caption=caption, numbers=numbers)
