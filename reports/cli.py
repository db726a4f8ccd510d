"""The ``gradproof`` command line. It parses arguments and calls package functions; nothing else.

Subcommands:
  derive   MODEL   print a derivation term by term with each step's verdict
  product  MODEL   long Jacobian products: engines, formats, verdicts
  horizon          underflow steps per float format for a per-step factor or a model
  lags     MODEL   per-lag gradient profile: how far back from the last step signal reaches
  report           regenerate every report and figure (the README's main job)
  verify           run the claims audit and the derivation checks
  sweep    MODEL   product/horizon over a grid (resumable, parallel); `sweep plot` draws it

Bad input gives one line on stderr, ``gradproof: error: ...``, and exit status 2: also an
unwritable (closed, full) standard output, an allocation that fails (MemoryError, with the size
asked for) and a numeric option that is not plain ASCII decimal (``٣``, ``1_000``). A
closed pipe (``| head``) ends with exit 0. SIGINT exits 130, SIGTERM/SIGHUP 128 + the signal
number, each with one line; a report worker that dies exits 1 with one line. Warnings from
dependencies are captured and summarised on one line (:mod:`gradproof.reports.streams`).
"""

from __future__ import annotations

import argparse
import errno
import json
import re
import sys

from gradproof.numerics.errors import InputError
from gradproof.reports.manifest import package_version

MODELS_DERIVE = ("rnn", "lstm", "gru")
MODELS_PRODUCT = ("rnn", "lstm", "gru")
ACTIVATION_CHOICES = ("sigmoid", "tanh")
RNN_ACTIVATION_CHOICES = ("tanh", "sigmoid", "relu", "identity")
LSTM_VARIANTS = ("article", "corrected", "full-state", "no-forget", "peephole")
ENGINES = ("fast", "reference", "certified")


class _Parser(argparse.ArgumentParser):
    """ArgumentParser whose errors are one line on stderr and exit status 2."""

    def error(self, message):  # noqa: D401 - argparse API
        self.exit(2, f"gradproof: error: {self.prog}: {message}\n")


def _int_at_least(minimum: int, what: str):
    """An argparse type: an integer >= ``minimum``, else a one-line error naming the value."""

    def parse(text: str) -> int:
        # ASCII digits only: int() also takes '1_000', ' 3' and other scripts' digits ('٣')
        if not re.fullmatch(r"[0-9]{1,30}", text):
            raise argparse.ArgumentTypeError(f"expected a {what} integer written with the digits "
                                             f"0-9, got {text!r}")
        v = int(text)
        if v < minimum:
            raise argparse.ArgumentTypeError(f"expected a {what} integer, got {v}")
        return v

    return parse


_positive_int = _int_at_least(1, "positive")
_nonneg_int = _int_at_least(0, "non-negative")


_DECIMAL = re.compile(r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]{1,4})?")


def _finite_float(text: str) -> float:
    import math

    if not _DECIMAL.fullmatch(text):
        raise argparse.ArgumentTypeError(f"expected a number written in ASCII decimal (e.g. 0.9, "
                                         f"1e-3), got {text!r}")
    v = float(text)
    if not math.isfinite(v):
        raise argparse.ArgumentTypeError(f"expected a finite number, got {text!r}")
    return v


def _parameter_float(text: str) -> float:
    """A finite number within the parameter limit |x| <= 1e150 (numerics.limits)."""
    from gradproof.numerics.limits import MAX_MAGNITUDE

    v = _finite_float(text)
    if abs(v) > MAX_MAGNITUDE:
        raise argparse.ArgumentTypeError(f"{text!r} exceeds the limit |x| <= {MAX_MAGNITUDE:.0e} "
                                         "(larger values overflow float64 in the spectral norm)")
    return v


def _add_model_options(p: argparse.ArgumentParser, *, steps_default: int) -> None:
    """Options shared by ``product`` and ``horizon MODEL`` (seeded random weights by default)."""
    # None = not given: a file that sets the value refuses an explicit one (_file_overrides)
    p.add_argument("--hidden", type=_positive_int, default=None,
                   help="hidden size n (default 4; set by --weights)")
    p.add_argument("--steps", type=_positive_int, default=None,
                   help=f"horizon T, number of Jacobian factors (default {steps_default}; set by --inputs)")
    p.add_argument("--seed", type=_nonneg_int, default=None,
                   help="seed of the random weights and inputs (default 0)")
    p.add_argument("--activation", choices=RNN_ACTIVATION_CHOICES, default="tanh",
                   help="RNN hidden activation (default tanh; relu' (0) = 0 as in PyTorch). A state_dict does "
                   "not record the nonlinearity: with --weights it must match the saved module "
                   "(nn.RNN(nonlinearity=...))")
    p.add_argument("--spectral-norm", type=_parameter_float, default=None, metavar="R",
                   help="scale W_rec (or each U block) to this largest singular value")
    p.add_argument("--forget-bias", type=_parameter_float, default=None, metavar="B",
                   help="LSTM effective forget-gate bias (default 1.0)")
    p.add_argument("--weights", metavar="FILE", default=None,
                   help="weights in PyTorch layout: a state_dict (any key prefix, e.g. rnn.weight_hh_l0) or a "
                   "checkpoint nesting one, as .npz, .safetensors or .pt (torch >= 2.6); every layer is read")
    p.add_argument("--module", metavar="NAME", default=None,
                   help="the recurrent module to analyse when the weights hold several (its key prefix, e.g. encoder)")
    p.add_argument("--layer", type=_nonneg_int, default=None, metavar="K",
                   help="analyse layer K of a stacked network alone (default: the whole stack, every layer's state)")
    p.add_argument("--inputs", metavar="FILE.npy", default=None,
                   help="inputs, a (T, d) array or a (B, T, d) batch with --batch-index")
    p.add_argument("--batch-index", type=_nonneg_int, default=None, metavar="I",
                   help="sequence I of a (B, T, d) inputs batch (batch_first layout)")
    p.add_argument("--force", action="store_true",
                   help="allow work beyond the budget (about 10 minutes by the measured cost model)")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="gradproof",
        description="Prove, check and measure how gradients flow backwards through recurrent networks.",
    )
    parser.add_argument("--version", action="version", version=f"gradproof {package_version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True

    d = sub.add_parser("derive", help="print a derivation term by term, each step with its verdict",
                       description="Derive the one-step Jacobian, the BPTT gradient and the bounds "
                       "of a recurrent model with SymPy, each step checked against SymPy's "
                       "derivative of the unrolled network.")
    d.add_argument("model", choices=MODELS_DERIVE)
    d.add_argument("--activation", choices=ACTIVATION_CHOICES, default="sigmoid",
                   help="RNN hidden activation (default sigmoid, as in the article)")
    d.add_argument("--variant", choices=LSTM_VARIANTS, default=None,
                   help="LSTM: article | corrected | full-state | no-forget | peephole (default corrected)")
    d.add_argument("--hidden", type=_positive_int, default=1, help="hidden size n (default 1: scalar form)")
    d.add_argument("--steps", type=_positive_int, default=3, help="unrolled steps k (default 3)")
    d.add_argument("--format", choices=("text", "latex", "json"), default="text")

    p = sub.add_parser("product", help="long Jacobian products, float formats and verdicts",
                       description="Evaluate ||J_T ... J_1||_2 = ||d s_T / d s_0||_2 of a model with the fast, "
                       "reference (mpmath) or certified (Arb ball) engine and say, per float format, whether the "
                       "product is representable, underflows, cancels in the derivative formula, is absorbed or "
                       "provably vanishes. The truth is the exact Jacobian product of the network on its weights "
                       "and inputs taken as exact binary numbers.")
    p.add_argument("model", choices=MODELS_PRODUCT)
    _add_model_options(p, steps_default=100)
    p.add_argument("--engine", choices=ENGINES, default="fast",
                   help="fast: float64; reference: the network in mpmath, precision raised until two agree to "
                   "the printed digits; certified: the network in Arb balls, a rigorous enclosure of the truth")
    p.add_argument("--check-engines", action="store_true",
                   help="also run the certified engine and report how well fast agrees with it")
    p.add_argument("--bits", type=_positive_int, default=None,
                   help="with --engine certified: certify this many bits of ||P_T||_2 with the cheapest tier "
                   "(float64 balls, then float64 blocks in a QR frame (Lohner), then double-double midpoints with a "
                   "Frobenius-norm error bound, then double-double balls, then Arb; "
                   "24 bits = 6 printed decimals of log10); "
                   "default: Arb at 53 bits")
    p.add_argument("--json", action="store_true", help="print one JSON object")

    h = sub.add_parser("horizon", help="steps at which a product goes subnormal and becomes 0",
                       description="Per float format, the first step where a product of per-step "
                       "factors goes subnormal and becomes exactly 0 (gradual underflow and FTZ). "
                       "Either a constant factor (--factor, exact) or a model's measured decay rate.")
    h.add_argument("model", nargs="?", choices=MODELS_PRODUCT, default=None)
    h.add_argument("--factor", type=_finite_float, default=None, metavar="RHO",
                   help="constant per-step factor 0 < RHO < 1")
    _add_model_options(h, steps_default=200)
    h.add_argument("--json", action="store_true", help="print one JSON object")

    g = sub.add_parser("lags", help="per-lag gradient profile, formats and loss scaling",
                       description="For k = 1..T: ||d s_T / d s_{T-k}||_2 (s the whole state), ||d h_T / d x_{T-k}||_2 "
                       "and ||d L / d h_{T-k}||_2 for a loss at the last step (the checkpoint's linear head if found, "
                       "else the sum of h_T); per float format the lag where the product goes subnormal, zero or "
                       "loses its digits, and where training's backward pass (replayed operation by operation in "
                       "the format) gives exactly 0, without and with loss scaling (--loss-scale, and PyTorch's "
                       "dynamic rule); for the LSTM the cell-state path against the rest.")
    g.add_argument("model", choices=MODELS_PRODUCT)
    _add_model_options(g, steps_default=100)
    g.add_argument("--engine", choices=ENGINES, default="fast",
                   help="engine of the three per-lag norms (fast: float64; reference: mpmath; certified: Arb balls, "
                   "every lag enclosed); the per-format simulations use the float64 trajectory")
    g.add_argument("--loss-scale", type=_finite_float, default=None, metavar="S",
                   help="also simulate (L S).backward() with this fixed loss scale")
    g.add_argument("--figure", default=None, metavar="FILE",
                   help="also draw the profile into FILE (.pdf, .svg or .png; deterministic)")
    g.add_argument("--compare-torch", action="store_true",
                   help="also run the same model in PyTorch (if installed) and print its per-lag values and "
                   "float16/bfloat16 zero lags beside gradproof's")
    g.add_argument("--json", action="store_true", help="print one JSON object")

    r = sub.add_parser("report", help="regenerate every report and figure (deterministic)",
                       description="Rebuild the Markdown/HTML/LaTeX reports, the figures and the "
                       "manifest into --out (default reports/generated) through a temporary folder.")
    r.add_argument("--out", default=None, metavar="DIR", help="output folder (default reports/generated)")
    r.add_argument("--only", nargs="+", default=None, metavar="ID", help="build only these item IDs")
    r.add_argument("--check", action="store_true",
                   help="rebuild into a temporary folder and compare with --out; exit 1 if stale")
    r.add_argument("-q", "--quiet", action="store_true", help="no progress lines")
    r.add_argument("--list", action="store_true", help="list the item IDs and exit")

    v = sub.add_parser("verify", help="run the claims audit and the derivation checks",
                       description="Check every claim of the article; exit 0 when each verdict "
                       "matches its registered expectation, 1 otherwise.")
    v.add_argument("--json", action="store_true")
    v.add_argument("--claim", nargs="+", default=None, metavar="ID", help="only these claims")

    from gradproof.reports.sweep.cli import add_sweep_parser

    add_sweep_parser(sub, _Parser)
    return parser


PARSER = build_parser()


def _cmd_derive(args) -> int:
    from gradproof.derivations import derive_model
    from gradproof.derivations.records import derivation_to_json, derivation_to_latex, derivation_to_text

    der = derive_model(args.model, activation=args.activation, hidden=args.hidden,
                       steps=args.steps, variant=args.variant)
    if args.format == "json":
        print(json.dumps(derivation_to_json(der), indent=2, sort_keys=True))
    elif args.format == "latex":
        print(derivation_to_latex(der))
    else:
        print(derivation_to_text(der))
    return 0


def _file_overrides(args, steps_default: int) -> None:
    """Refuse options that a file would silently override; fill in the defaults."""
    if args.weights is not None and args.hidden is not None:
        raise InputError(f"--hidden {args.hidden} conflicts with --weights: the weights file sets "
                         "the hidden size (drop --hidden)")
    if args.inputs is not None and args.steps is not None:
        raise InputError(f"--steps {args.steps} conflicts with --inputs: the number of steps is the "
                         "number of rows of the inputs file (drop --steps)")
    if args.weights is not None and args.inputs is not None and args.seed is not None:
        raise InputError(f"--seed {args.seed} has no effect with --weights and --inputs: nothing "
                         "is random (drop --seed)")
    args.hidden = 4 if args.hidden is None else args.hidden
    args.steps = steps_default if args.steps is None else args.steps
    args.seed = 0 if args.seed is None else args.seed


def _model_spec(args, steps_default: int):
    """The network the shared model options describe (``numerics.spec.ModelSpec``)."""
    from gradproof.numerics.spec import ModelSpec

    _file_overrides(args, steps_default)
    return ModelSpec(model=args.model, hidden=args.hidden, steps=args.steps, seed=args.seed,
                     activation=args.activation, spectral_norm=args.spectral_norm,
                     forget_bias=args.forget_bias, weights=args.weights, inputs=args.inputs,
                     module=args.module, layer=args.layer, batch_index=args.batch_index)


def _cmd_product(args) -> int:
    from gradproof.numerics.product_report import format_product_text, product_report

    spec = _model_spec(args, 100)
    rep = product_report(**spec.jacobian_options(), engine=args.engine, force=args.force,
                         check_engines=args.check_engines, bits=args.bits)
    print(json.dumps(rep.to_dict(), indent=2, sort_keys=True) if args.json else format_product_text(rep))
    return 0


def _cmd_horizon(args) -> int:
    from gradproof.numerics.horizon import format_horizon_text, horizon_report

    if (args.factor is None) == (args.model is None):
        raise InputError("horizon needs exactly one of --factor RHO or a MODEL")
    if args.factor is not None:
        given = [f"--{name.replace('_', '-')}" for name in
                 ("hidden", "steps", "seed", "spectral_norm", "forget_bias", "weights", "inputs", "module",
                  "layer", "batch_index")
                 if getattr(args, name) is not None] + (["--force"] if args.force else [])
        if given:
            raise InputError(f"{', '.join(given)} {'has' if len(given) == 1 else 'have'} no effect "
                             "with --factor (they describe a MODEL; drop them)")
    if args.factor is not None:
        rep = horizon_report(factor=args.factor)
    else:
        rep = horizon_report(**_model_spec(args, 200).jacobian_options(), force=args.force)
    print(json.dumps(rep.to_dict(), indent=2, sort_keys=True) if args.json else format_horizon_text(rep))
    return 0


def _cmd_lags(args) -> int:
    from gradproof.numerics.lags import format_lags_text, lag_profile

    options = _model_spec(args, 100).jacobian_options()
    rep = lag_profile(options.pop("model"), **options, engine=args.engine, loss_scale=args.loss_scale,
                      force=args.force, compare_torch=args.compare_torch)
    if args.figure is not None:
        from gradproof.reports.lagplot import save_lag_figure

        save_lag_figure(rep, args.figure)
    print(json.dumps(rep.to_dict(), indent=2, sort_keys=True) if args.json else format_lags_text(rep))
    return 0


def report_command(out: str | None = None, only: list[str] | None = None, check: bool = False,
                   quiet: bool = False, list_items: bool = False) -> int:
    """``gradproof report``: build (or ``check``) and print the outcome; the exit status."""
    from gradproof.reports.build import ITEMS, build_report, check_report, default_out_dir

    if list_items:
        for item in ITEMS.values():
            print(f"{item.id:28s} {item.kind:10s} {item.title}")
        return 0

    def progress(line: str) -> None:
        if not quiet:
            print(f"gradproof report: {line}", file=sys.stderr, flush=True)

    target = default_out_dir() if out is None else out  # '' is refused by resolve_out
    outcome = (check_report if check else build_report)(target, only, progress=progress)
    for note in outcome.notes:
        print(f"gradproof report --check: note: {note}", file=sys.stderr)
    if outcome.stale:
        print(f"gradproof report --check: {len(outcome.stale)} stale file(s) in {outcome.out} "
              f"(rebuild with `gradproof report`):", file=sys.stderr)
        for line in outcome.stale:
            print(f"  {line}", file=sys.stderr)
    elif outcome.unavailable:
        print(f"gradproof report: {len(outcome.unavailable)} item(s) not built: "
              + "; ".join(outcome.unavailable), file=sys.stderr)
    return outcome.exit_status


def _cmd_report(args) -> int:
    return report_command(out=args.out, only=args.only, check=args.check, quiet=args.quiet,
                          list_items=args.list)


def _cmd_verify(args) -> int:
    from gradproof.reports.api import verify
    from gradproof.reports.audit import audit_json, format_audit_table

    result = verify(args.claim)  # unknown ids raise InputError before any claim is decided
    print(audit_json(result.outcomes) if args.json else format_audit_table(result.outcomes))
    return 0 if result.all_as_expected else 1


def _cmd_sweep(args) -> int:
    from gradproof.reports.sweep.cli import sweep_command

    return sweep_command(args)


COMMANDS = {
    "derive": _cmd_derive,
    "product": _cmd_product,
    "horizon": _cmd_horizon,
    "lags": _cmd_lags,
    "report": _cmd_report,
    "verify": _cmd_verify,
    "sweep": _cmd_sweep,
}


def _err(line: str) -> None:
    try:
        print(line, file=sys.stderr, flush=True)
    except Exception:  # stderr closed or full as well: the exit status still tells
        pass


def _memory_line(exc: MemoryError, args) -> str:
    asked = " ".join(str(exc).split()) or "an allocation failed"
    sizes = [f"{k} {getattr(args, k)}" for k in ("hidden", "steps") if getattr(args, k, None) is not None]
    request = f" (the request: {', '.join(sizes)})" if sizes else ""
    return (f"gradproof: error: out of memory: {asked}{request}; reduce --steps or --hidden, or "
            "free memory")


def main(argv: list[str] | None = None) -> int:
    from gradproof.reports.signals import Terminated, WorkerDied, signal_name
    from gradproof.reports.streams import (GuardedStdout, StdoutError, captured_warnings,
                                           prepare_environment, silence_stdout, warning_summary)

    prepare_environment()
    real_stdout = sys.stdout
    guard = GuardedStdout(real_stdout)
    sys.stdout = guard
    args = None
    try:
        with captured_warnings() as caught:
            try:
                args = PARSER.parse_args(argv)
                status = COMMANDS[args.command](args)
                guard.flush()
            except SystemExit:  # argparse: --help, --version, a usage error
                guard.flush()
                raise
        summary = warning_summary(caught)
        if summary:
            _err(summary)
        return status
    except InputError as exc:
        _err(f"gradproof: error: {' '.join(str(exc).split())}")
        return 2
    except StdoutError as exc:
        silence_stdout(guard.real)
        if exc.errno == errno.EPIPE:  # e.g. `gradproof derive rnn | head`
            return 0
        _err(f"gradproof: error: cannot write to standard output: {exc.reason}")
        return 2
    except BrokenPipeError:
        silence_stdout(guard.real)
        return 0
    except MemoryError as exc:
        _err(_memory_line(exc, args))
        return 2
    except WorkerDied as exc:
        _err(f"gradproof: error: {' '.join(str(exc).split())}")
        return 1
    except KeyboardInterrupt:
        _err("gradproof: interrupted (SIGINT); stopped, nothing was left half-written")
        return 130
    except Terminated as exc:
        _err(f"gradproof: interrupted ({signal_name(exc.signum)}); stopped, nothing was left "
             "half-written")
        return 128 + exc.signum
    finally:
        guard.restore()
        sys.stdout = real_stdout


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
