"""``gradproof sweep``: phase diagrams over weights, forget bias, length and seeds.

* :mod:`.grid`     -- ``--grid NAME=SPEC`` parsing, checks and point keys (before any work);
* :mod:`.point`    -- one point -> one flat row (what workers run);
* :mod:`.store`    -- the results folder: append-only journal, sorted JSON-lines table;
* :mod:`.run`      -- cost model, executors (in process, local processes, Dask), resume;
* :mod:`.progress` -- tqdm bar / progress lines;
* :mod:`.plot`     -- the phase-diagram figure from a results table;
* :mod:`.cli`      -- the ``gradproof sweep`` argument parser and command.
"""

from __future__ import annotations

__all__ = ["run_sweep", "SweepResult", "plot_sweep", "PlotResult"]


def __getattr__(name: str):
    if name in ("run_sweep", "SweepResult"):
        from gradproof.reports.sweep import run

        return getattr(run, name)
    if name in ("plot_sweep", "PlotResult"):
        from gradproof.reports.sweep import plot

        return getattr(plot, name)
    raise AttributeError(f"module 'gradproof.reports.sweep' has no attribute {name!r}")
