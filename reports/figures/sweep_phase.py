r"""Figure ``sweep-phase``: an LSTM phase diagram made by ``gradproof sweep``: the seed mean of
the largest Lyapunov exponent of the (h, c) Jacobian products over sigma_max of the recurrent
blocks x the effective forget-gate bias.

lambda_1 = (1/T) ln of the growth of ||J_T ... J_1|| by the QR method (Benettin et al. 1980),
``numerics.lyapunov.largest_lyapunov`` over T steps: a finite-T estimate. lambda_1 < 0 means
the products shrink geometrically (vanishing); a forget gate held open (large bias, Gers et al.
2000; Jozefowicz et al. 2015) keeps lambda_1 near 0 whatever sigma_max. The grid is run through
the sweep machinery itself (``reports.sweep.run.run_sweep`` in a temporary folder, in process)
and drawn by ``reports.sweep.plot.phase_figure``: the same as the two commands in the caption.
"""

from __future__ import annotations

ID = "sweep-phase"
TITLE = "LSTM phase diagram: largest Lyapunov exponent over sigma_max and forget bias (gradproof sweep)"
REQUIRES = ("gradproof.reports.sweep.run", "gradproof.reports.sweep.plot")
PARAMS = {"model": "lstm", "hidden": 8, "steps": 100, "seeds": 2,
          "grid": {"spectral_norm": "0.25:2.5:10", "forget_bias": "-2:4:7"}, "value": "lyapunov"}


def command() -> str:
    """The two commands that make the same figure from the command line."""
    p = PARAMS
    grid = " ".join(f"--grid {k}={v}" for k, v in p["grid"].items())
    return (f"gradproof sweep {p['model']} {grid} --seeds {p['seeds']} --hidden {p['hidden']} "
            f"--steps {p['steps']} --out RESULTS && gradproof sweep plot RESULTS --x spectral_norm "
            f"--y forget_bias --value {p['value']} --out FIG.pdf")


def build(ctx):
    import tempfile
    from pathlib import Path

    from gradproof.reports.figures.common import (DRAWINGS, FigureVariant, ItemResult, Number, figure_size,
                                                  save_figure, save_figure_data)
    from gradproof.reports.figures.phase import LYAPUNOV_ATOL
    from gradproof.reports.sweep.plot import phase_figure
    from gradproof.reports.sweep.run import run_sweep

    p = PARAMS
    with tempfile.TemporaryDirectory(prefix="gradproof-sweep-") as tmp:
        res = run_sweep(p["model"], dict(p["grid"]), out=Path(tmp) / "sweep", seeds=p["seeds"],
                        hidden=p["hidden"], steps=p["steps"], quiet=True)
        title = (f"LSTM (hidden {p['hidden']}, {p['steps']} steps): largest Lyapunov "
                 f"exponent, mean of {p['seeds']} seeds")
        # the page drawing, and the column one (colour bar below, title wrapped) of the same table
        saved, drawn = {}, None
        for layout, (_, suffix) in DRAWINGS.items():
            column = layout == "column"
            fig, drawn_here = phase_figure(res.out, x="spectral_norm", y="forget_bias", value=p["value"],
                                           figsize=figure_size(layout, 3.8, 4.2),
                                           title=title.replace(": ", ":\n", 1) if column else title,
                                           colorbar="bottom" if column else "right")
            drawn = drawn if drawn is not None else drawn_here  # the page drawing's grid
            saved[layout] = save_figure(ctx, fig, ID, suffix)
    files = [f for layout in DRAWINGS for f in saved[layout]]
    # the drawn grid, cell by cell: what --check compares (Lyapunov exponents of chaotic
    # trajectories amplify the last bits, hence the absolute tolerance of the phase figure)
    grid = [(xv, yv, drawn.values[j][i]) for j, yv in enumerate(drawn.y_values)
            for i, xv in enumerate(drawn.x_values)]
    files.append(save_figure_data(ctx, ID, {"seed-mean lambda_1": {
        "spectral_norm": [g[0] for g in grid], "forget_bias": [g[1] for g in grid],
        "lyapunov": [g[2] for g in grid]}}, atol={"lyapunov": LYAPUNOV_ATOL}))
    cells = [(v, xv, yv) for j, yv in enumerate(drawn.y_values)
             for i, xv in enumerate(drawn.x_values) for v in [drawn.values[j][i]] if v is not None]
    top = max(cells)
    low = min(cells)
    negative = sum(1 for v, _, _ in cells if v < 0)
    numbers = [
        Number("max-mean-exponent", top[0], "largest seed-mean lambda_1 on the grid", "nats per step",
               atol=LYAPUNOV_ATOL),
        Number("max-mean-exponent-sigma", top[1], "sigma_max of the cell with the largest seed-mean lambda_1",
               "1 (dimensionless)", digits=4),
        Number("max-mean-exponent-forget-bias", top[2], "forget bias of the cell with the largest seed-mean "
               "lambda_1", "1 (dimensionless)", digits=4),
        Number("min-mean-exponent", low[0], "smallest seed-mean lambda_1 on the grid", "nats per step",
               atol=LYAPUNOV_ATOL),
        Number("cells-with-negative-exponent", negative, f"cells (of {len(cells)}) whose seed-mean lambda_1 < 0",
               "cells"),
        Number("cells", drawn.cells, "cells of the grid", "cells"),
        Number("null-cells", drawn.missing, "cells with a null lambda_1 in a seed", "cells"),
    ]
    num = {n.key: n for n in numbers}
    caption = (f"Seed mean of the largest Lyapunov exponent $\\lambda_1$ (QR method, finite-T estimate over "
               f"{p['steps']} steps) of the LSTM's $(h, c)$ Jacobian products, hidden size {p['hidden']}, "
               f"seeds 0..{p['seeds'] - 1}, over $\\sigma_{{max}}$ of the recurrent blocks and the effective "
               f"forget-gate bias; {num['cells'].display} grid points per seed computed by `gradproof sweep`. "
               f"{num['cells-with-negative-exponent'].display} of {num['cells'].display} cells have "
               f"$\\lambda_1 < 0$; the largest mean, {num['max-mean-exponent'].display} nats per step, is at "
               f"$\\sigma_{{max}} = {num['max-mean-exponent-sigma'].display}$, bias "
               f"{num['max-mean-exponent-forget-bias'].display}; the smallest is "
               f"{num['min-mean-exponent'].display} (the two commands that make the same figure are "
               "in the manifest, parameters.command).")
    variants = [FigureVariant(layout, DRAWINGS[layout][0], tuple(saved[layout]), caption) for layout in DRAWINGS]
    return ItemResult(files=files, parameters={**p, "grid": dict(p["grid"]), "command": command()},
                      seed=list(range(p["seeds"])), variants=variants,
                      engine="gradproof sweep (in process) of gradproof product: "
                             "numerics.lyapunov.largest_lyapunov (QR iteration)",
                      precision="float64 (IEEE 754 binary64)", caption=caption, numbers=numbers)
