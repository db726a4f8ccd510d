"""The ``gradproof sweep`` subcommand: argument parsing and printing only.

  gradproof sweep MODEL --grid NAME=SPEC [--grid ...] [--seeds K] [options] --out RESULTS
        [--workers N | --dask-local N | --scheduler ADDRESS] [-q] [--force]
  gradproof sweep plot RESULTS [--x NAME] [--y NAME] [--value COLUMN] [--where NAME=VALUE] --out FIG
"""

from __future__ import annotations

import argparse
import json
import signal

from gradproof.numerics.errors import InputError

__all__ = ["add_sweep_parser", "sweep_command"]

MODELS = ("rnn", "lstm", "gru")
_FIXED = ("hidden", "steps", "seed", "activation", "spectral_norm", "forget_bias", "engine")


def _positive_int(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if v < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {v}")
    return v


def _add_run_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--grid", action="append", default=[], metavar="NAME=SPEC",
                   help="a grid dimension: NAME one of hidden, steps, seed, spectral_norm, forget_bias "
                   "(LSTM), activation (RNN), engine; SPEC a list 0,1,2, a range START:STOP:COUNT "
                   "(ends included) or log:START:STOP:COUNT")
    p.add_argument("--seeds", type=_positive_int, default=None, metavar="K", help="add seed = 0..K-1")
    p.add_argument("--out", required=True, metavar="RESULTS",
                   help="results folder (journal.jsonl, results.jsonl, sweep.json); rerun to resume")
    for name in _FIXED:
        p.add_argument(f"--{name.replace('_', '-')}", dest=f"fixed_{name}", default=None,
                       metavar="VALUE", help=f"fixed {name} of every point (default: as gradproof product)")
    p.add_argument("--with-horizon", action="store_true",
                   help="also run gradproof horizon per point (horizon_* columns: estimated steps)")
    ex = p.add_mutually_exclusive_group()
    ex.add_argument("--workers", type=_positive_int, default=1, metavar="N",
                    help="N local worker processes (default 1: in this process)")
    ex.add_argument("--dask-local", type=_positive_int, default=None, metavar="N",
                    help="a local Dask cluster of N worker processes on 127.0.0.1")
    ex.add_argument("--scheduler", default=None, metavar="ADDRESS",
                    help="an existing Dask scheduler, e.g. tcp://127.0.0.1:8786")
    p.add_argument("--chunk-size", type=_positive_int, default=None, metavar="N",
                   help="points per task, or per commit in process (default: tasks of about 0.5 s of "
                   "estimated work, >= 8 per worker; in process a commit every 0.5 s)")
    p.add_argument("--progress", choices=("auto", "bar", "lines", "off"), default="auto",
                   help="auto: a bar on a terminal, a line every 5%% otherwise")
    p.add_argument("-q", "--quiet", action="store_true", help="no cost line, progress or summary")
    p.add_argument("--json", action="store_true", help="print the summary as one JSON object")
    p.add_argument("--force", action="store_true", help="allow more than 10000 points and work beyond the budget")


def add_sweep_parser(sub, parser_class) -> None:
    """Register ``sweep`` on the top-level subparsers ``sub``."""
    s = sub.add_parser("sweep", help="phase diagrams: product/horizon over a grid, resumable, parallel",
                       description="Evaluate gradproof product (and horizon) at every point of a grid "
                       "of options, commit each finished point, resume after an interrupt, run on "
                       "local processes or Dask; 'sweep plot' draws a phase diagram from the table.")
    ssub = s.add_subparsers(dest="sweep_target", metavar="MODEL|plot", parser_class=parser_class)
    ssub.required = True
    for model in MODELS:
        m = ssub.add_parser(model, help=f"sweep the {model} model",
                            description=f"Sweep gradproof product {model} over a grid.")
        _add_run_options(m)
    p = ssub.add_parser("plot", help="phase-diagram figure from a results table",
                        description="Draw a table column over one or two grid dimensions "
                        "(seeds averaged; other dimensions fixed with --where).")
    p.add_argument("results", metavar="RESULTS", help="a sweep folder or its results.jsonl")
    p.add_argument("--x", default=None, metavar="NAME", help="grid dimension on the x axis")
    p.add_argument("--y", default=None, metavar="NAME", help="grid dimension on the y axis (heat map)")
    p.add_argument("--value", default="lyapunov", metavar="COLUMN",
                   help="column to draw (default lyapunov), e.g. log10_norm, float16_first_zero_step")
    p.add_argument("--where", action="append", default=[], metavar="NAME=VALUE",
                   help="keep only rows with this value (for dimensions not drawn)")
    p.add_argument("--title", default=None)
    p.add_argument("--out", required=True, metavar="FIG", help="figure file: .pdf, .svg or .png")
    p.add_argument("-q", "--quiet", action="store_true")


def _raise_interrupt(signum, frame):
    raise KeyboardInterrupt


def _pairs(items, what, form="NAME=VALUE"):
    out = []
    for text in items:
        if "=" not in text:
            raise InputError(f"{what} expects {form}, got {text!r}")
        out.append(tuple(text.split("=", 1)))
    return out


def sweep_command(args) -> int:
    if args.sweep_target == "plot":
        from gradproof.reports.sweep.plot import plot_sweep

        res = plot_sweep(args.results, out=args.out, x=args.x, y=args.y, value=args.value,
                         where=_pairs(args.where, "--where"), title=args.title)
        if not args.quiet:
            avg = f", mean over {' and '.join(res.averaged_over)}" if res.averaged_over else ""
            print(f"sweep plot: {res.value} over {res.x}" + (f" x {res.y}" if res.y else "")
                  + f" ({res.cells} cells, {res.missing} null{avg}) -> {res.out}")
        return 0

    from gradproof.reports.sweep.grid import parse_spec
    from gradproof.reports.sweep.run import run_sweep

    fixed = {}
    for name in _FIXED:
        text = getattr(args, f"fixed_{name}")
        if text is not None:
            d = parse_spec(name, text)
            if len(d.values) != 1:
                raise InputError(f"--{name.replace('_', '-')} takes one value; use --grid {name}=SPEC for several")
            fixed[name] = d.values[0]
    previous = signal.signal(signal.SIGTERM, _raise_interrupt)
    try:
        res = run_sweep(args.sweep_target, _pairs(args.grid, "--grid", "NAME=SPEC"), out=args.out, seeds=args.seeds,
                        horizon=args.with_horizon, workers=args.workers, dask_local=args.dask_local,
                        scheduler=args.scheduler, force=args.force, progress=args.progress,
                        quiet=args.quiet, chunk_size=args.chunk_size, **fixed)
    finally:
        signal.signal(signal.SIGTERM, previous)
    if args.json:
        print(json.dumps(res.to_dict(), indent=2, sort_keys=True))
    elif not args.quiet:
        print(f"sweep: {res.points} points ({res.computed} computed now, {res.reused} reused; "
              f"{res.executor}) -> {res.table}")
    return 0 if res.complete else 1
