"""The ``gradproof`` command line. It parses arguments and calls package functions; nothing else.

Subcommands:
  derive   MODEL   print a derivation term by term with each step's verdict
  product  MODEL   long Jacobian products: engines, formats, verdicts
  horizon          underflow steps per float format for a per-step factor or a model
  report           regenerate every report and figure (the README's main job)
  verify           run the claims audit and the derivation checks
  sweep    MODEL   product/horizon over a grid (resumable, parallel); `sweep plot` draws it

Bad input gives one line on stderr, ``gradproof: error: ...``, and exit status 2.
"""

from __future__ import annotations

import argparse
import json
import sys

from gradproof.numerics.errors import InputError
from gradproof.reports.manifest import package_version

MODELS_DERIVE = ("rnn", "lstm", "gru")
MODELS_PRODUCT = ("rnn", "lstm", "gru")
ACTIVATION_CHOICES = ("sigmoid", "tanh")
LSTM_VARIANTS = ("article", "corrected", "full-state", "no-forget", "peephole")
ENGINES = ("fast", "reference", "certified")


class _Parser(argparse.ArgumentParser):
    """ArgumentParser whose errors are one line on stderr and exit status 2."""

    def error(self, message):  # noqa: D401 - argparse API
        self.exit(2, f"gradproof: error: {self.prog}: {message}\n")


def _int_at_least(minimum: int, what: str):
    """An argparse type: an integer >= ``minimum``, else a one-line error naming the value."""

    def parse(text: str) -> int:
        try:
            v = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a {what} integer, got {text!r}") from None
        if v < minimum:
            raise argparse.ArgumentTypeError(f"expected a {what} integer, got {v}")
        return v

    return parse


_positive_int = _int_at_least(1, "positive")
_nonneg_int = _int_at_least(0, "non-negative")


def _finite_float(text: str) -> float:
    import math

    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not math.isfinite(v):
        raise argparse.ArgumentTypeError(f"expected a finite number, got {text!r}")
    return v


def _add_model_options(p: argparse.ArgumentParser, *, steps_default: int) -> None:
    """Options shared by ``product`` and ``horizon MODEL`` (seeded random weights by default)."""
    p.add_argument("--hidden", type=_positive_int, default=4, help="hidden size n (default 4)")
    p.add_argument("--steps", type=_positive_int, default=steps_default,
                   help=f"horizon T, number of Jacobian factors (default {steps_default})")
    p.add_argument("--seed", type=_nonneg_int, default=0, help="seed of the random weights and inputs")
    p.add_argument("--activation", choices=ACTIVATION_CHOICES, default="tanh",
                   help="RNN hidden activation (default tanh)")
    p.add_argument("--spectral-norm", type=_finite_float, default=None, metavar="R",
                   help="scale W_rec (or each U block) to this largest singular value")
    p.add_argument("--forget-bias", type=_finite_float, default=None, metavar="B",
                   help="LSTM effective forget-gate bias (default 1.0)")
    p.add_argument("--weights", metavar="FILE.npz", default=None,
                   help="weights in PyTorch layout (weight_ih_l0, weight_hh_l0, bias_ih_l0, bias_hh_l0)")
    p.add_argument("--inputs", metavar="FILE.npy", default=None, help="inputs, a (T, d) array")
    p.add_argument("--force", action="store_true", help="allow work beyond the documented budget")


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
                       description="Evaluate ||J_T ... J_1||_2 for a model with the fast, reference "
                       "(mpmath) or certified (Arb ball) engine and say, per float format, whether the "
                       "product is representable, underflows, is absorbed or provably vanishes.")
    p.add_argument("model", choices=MODELS_PRODUCT)
    _add_model_options(p, steps_default=100)
    p.add_argument("--engine", choices=ENGINES, default="fast")
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


def _cmd_product(args) -> int:
    from gradproof.numerics.product_report import format_product_text, product_report

    rep = product_report(
        model=args.model, hidden=args.hidden, steps=args.steps, seed=args.seed,
        activation=args.activation, spectral_norm=args.spectral_norm,
        forget_bias=args.forget_bias, weights_path=args.weights, inputs_path=args.inputs,
        engine=args.engine, force=args.force,
    )
    print(json.dumps(rep, indent=2, sort_keys=True) if args.json else format_product_text(rep))
    return 0


def _cmd_horizon(args) -> int:
    from gradproof.numerics.horizon import format_horizon_text, horizon_report

    if (args.factor is None) == (args.model is None):
        raise InputError("horizon needs exactly one of --factor RHO or a MODEL")
    rep = horizon_report(
        factor=args.factor, model=args.model, hidden=args.hidden, steps=args.steps,
        seed=args.seed, activation=args.activation, spectral_norm=args.spectral_norm,
        forget_bias=args.forget_bias, weights_path=args.weights, inputs_path=args.inputs,
        force=args.force,
    )
    print(json.dumps(rep, indent=2, sort_keys=True) if args.json else format_horizon_text(rep))
    return 0


def _cmd_report(args) -> int:
    from gradproof.reports.build import build_command

    return build_command(out=args.out, only=args.only, check=args.check, quiet=args.quiet,
                         list_items=args.list)


def _cmd_verify(args) -> int:
    from gradproof.reports.audit import verify_command

    return verify_command(claim_ids=args.claim, as_json=args.json)


def _cmd_sweep(args) -> int:
    from gradproof.reports.sweep.cli import sweep_command

    return sweep_command(args)


COMMANDS = {
    "derive": _cmd_derive,
    "product": _cmd_product,
    "horizon": _cmd_horizon,
    "report": _cmd_report,
    "verify": _cmd_verify,
    "sweep": _cmd_sweep,
}


def main(argv: list[str] | None = None) -> int:
    args = PARSER.parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except InputError as exc:
        msg = " ".join(str(exc).split())
        print(f"gradproof: error: {msg}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("gradproof: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # e.g. `gradproof derive rnn | head`
        return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
