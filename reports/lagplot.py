"""The figure of ``gradproof lags --figure FILE``: log10 norms against the lag, byte-for-byte reproducible
(reports.determinism: Agg, fixed SVG salt, no dates or versions in the metadata)."""

from __future__ import annotations

import math
import os

from gradproof.numerics.errors import InputError
from gradproof.numerics.formats import FORMATS

__all__ = ["save_lag_figure", "FIGURE_SUFFIXES"]

FIGURE_SUFFIXES = (".pdf", ".svg", ".png")


def save_lag_figure(profile, path) -> str:
    """Draw the lag profile (a LagProfile or its dict) into ``path`` (.pdf, .svg or .png); returns the path."""
    from gradproof.reports.determinism import configure, save_metadata

    path = os.fspath(path)
    ext = os.path.splitext(path)[1].lower()
    if ext not in FIGURE_SUFFIXES:
        raise InputError(f"--figure {path!r}: the name must end in {', '.join(FIGURE_SUFFIXES)}")
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise InputError(f"--figure {path!r}: the folder {folder} does not exist")
    if os.path.isdir(path):
        raise InputError(f"--figure {path!r} is a folder")
    d = profile.to_dict() if hasattr(profile, "to_dict") else profile
    configure()
    import matplotlib.pyplot as plt

    lags = [x["lag"] for x in d["lags"]]

    def series(key):
        return [math.nan if x.get(key) is None else x[key] for x in d["lags"]]

    fig, ax = plt.subplots(figsize=(6.4, 3.8))
    ax.plot(lags, series("log10_norm"), label=r"$\|\partial s_T/\partial s_{T-k}\|_2$ (" + d["engine"] + ")")
    ax.plot(lags, series("log10_input"), label=r"$\|\partial h_T/\partial x_{T-k}\|_2$")
    ax.plot(lags, series("log10_loss"), label=r"$\|\partial L/\partial h_{T-k}\|_2$")
    if d["model"] == "lstm":
        ax.plot(lags, series("log10_cell_path"), ls="--", label=r"cell path $\prod f_t$")
        ax.plot(lags, series("log10_rest"), ls=":", label="rest of the c-to-c block")
    for name, color in (("float16", "tab:red"), ("bfloat16", "tab:purple")):
        tiny = math.log10(FORMATS[name].min_subnormal)
        ax.axhline(tiny, color=color, lw=0.8, ls="-.", label=f"{name} smallest subnormal")
        z = d["formats"][name].get("loss_zero_lag")
        if z is not None:
            ax.axvline(z, color=color, lw=0.8, ls=":")
    ax.set_xlabel("lag k (steps back from the last step)")
    ax.set_ylabel(r"$\log_{10}$ norm")
    ax.set_title(f"{d['model']} lag profile, T = {d['steps']}")
    ax.legend(loc="lower left", ncol=2)
    fig.tight_layout()
    try:
        fig.savefig(path, format=ext[1:], metadata=save_metadata(ext[1:]))
    except OSError as exc:
        raise InputError(f"cannot write the figure {path}: {exc.strerror or exc}") from None
    finally:
        plt.close(fig)
    return path
