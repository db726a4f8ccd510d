"""The public Python API of gradproof, re-exported lazily by ``gradproof/__init__.py``.

Every function validates its arguments (``InputError`` with a one-line message on bad input),
accepts arrays as well as file paths, and returns a typed, frozen result with ``to_dict()``;
the command line prints exactly that dictionary for ``--json``. Imports happen inside the
functions, so ``gradproof.product`` and ``gradproof.horizon`` never import SymPy.

The README's "Python API" section shows an example; ``tests/reports/test_api.py`` runs it as a doctest.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

__all__ = ["derive", "product", "horizon", "lags", "verify", "build_report", "load_weights", "load_inputs",
           "sweep", "AuditResult"]


# --------------------------------------------------------------------------- derivations

def derive(model: str, *, activation: str = "sigmoid", hidden: int = 1, steps: int = 3,
           variant: str | None = None):
    """The SymPy derivation of ``model`` (rnn | lstm | gru), each step checked.

    Returns a frozen :class:`gradproof.derivations.records.Derivation`; ``.to_dict()`` is the
    ``gradproof derive --format json`` object.
    """
    from gradproof.derivations import derive_model

    return derive_model(model, activation=activation, hidden=hidden, steps=steps, variant=variant)


# --------------------------------------------------------------------------- numerics

def load_weights(source, model: str, *, module: str | None = None, layer: int | None = None):
    """One layer of the recurrent module of a weights file (.npz, .safetensors, .pt; any key prefix,
    nested checkpoints) in PyTorch layout; returns a frozen ``RNNParams`` / ``LSTMParams`` /
    ``GRUParams``. A stacked module needs ``layer=K`` (see ``gradproof.numerics.checkpoint.load_stack``
    for the whole stack and its head)."""
    from gradproof.numerics.weights import load_weights as _load

    return _load(source, model, module=module, layer=layer)


def load_inputs(source, input_size: int | None = None, *, batch_index: int | None = None):
    """A (T, d) float64 input sequence from a .npy path (or sequence ``batch_index`` of a (B, T, d) batch)."""
    from gradproof.numerics.weights import load_inputs as _load

    return _load(source, input_size, batch_index=batch_index)


def product(model: str, **options):
    """Long Jacobian product ``||J_T ... J_1||_2`` of ``model`` with one engine, the per-format
    table and the verdicts (``gradproof product``). The network's options are those of
    ``numerics.spec.ModelSpec`` (``weights`` and ``inputs`` each a path or arrays); besides them
    ``engine``, ``force``, ``check_engines``, ``bits``. Returns a frozen ``ProductReport``."""
    from gradproof.numerics.product_report import product_report
    from gradproof.numerics.spec import ModelSpec, check_known

    spec, rest = ModelSpec.from_options(model, options, steps=100)
    check_known("product", rest, ("engine", "force", "check_engines", "bits"))
    return product_report(**spec.jacobian_options(), **rest)


def horizon(model: str | None = None, **options):
    """Steps at which a product goes subnormal and becomes 0 per float format, for a constant
    ``factor=RHO`` (alone) or a model (``ModelSpec`` options and ``force``; ``gradproof
    horizon``). Returns a frozen ``HorizonReport``; ``.to_dict()`` is the ``horizon --json`` object."""
    from gradproof.numerics.horizon import horizon_report
    from gradproof.numerics.spec import ModelSpec, check_known

    if model is None:
        check_known("horizon --factor", {k: v for k, v in options.items() if k != "factor"}, ())
        return horizon_report(factor=options.get("factor"))
    spec, rest = ModelSpec.from_options(model, options, steps=200)
    check_known("horizon", rest, ("force",))
    return horizon_report(**spec.jacobian_options(), **rest)


def lags(model: str, **options):
    """The per-lag gradient profile of ``model`` (``gradproof lags``): ``ModelSpec`` options and
    ``engine``, ``loss_scale``, ``force``, ``compare_torch``. Returns a frozen ``LagProfile``;
    ``.to_dict()`` is the ``--json`` object."""
    from gradproof.numerics.lags import lag_profile
    from gradproof.numerics.spec import ModelSpec, check_known

    spec, rest = ModelSpec.from_options(model, options, steps=100)
    check_known("lags", rest, ("engine", "loss_scale", "force", "compare_torch"))
    jac = spec.jacobian_options()
    return lag_profile(jac.pop("model"), **jac, **rest)


# --------------------------------------------------------------------------- application

@dataclass(frozen=True)
class AuditResult:
    """The claims audit: one ``ClaimOutcome`` per claim, in registry order."""

    outcomes: tuple

    @property
    def all_as_expected(self) -> bool:
        return all(o.as_expected for o in self.outcomes)

    def outcome(self, claim_id: str):
        for o in self.outcomes:
            if o.id == claim_id:
                return o
        raise KeyError(claim_id)

    def to_dict(self) -> dict:
        return {"all_as_expected": self.all_as_expected,
                "claims": [o.to_dict() for o in self.outcomes]}


def verify(claims: Sequence[str] | None = None) -> AuditResult:
    """Run the claims audit of the article (all claims, or the given ids)."""
    from gradproof.reports.audit import run_audit

    return AuditResult(outcomes=tuple(run_audit(claims)))


def build_report(out: str | Path | None = None, *, only: Sequence[str] | None = None,
                 check: bool = False, progress=None):
    """Rebuild every report item (or ``only`` these) into ``out`` (default reports/generated),
    or with ``check=True`` compare a rebuild with ``out`` without writing there. ``progress``
    (a callable taking one line) receives the progress lines. Returns a frozen
    ``ReportOutcome`` (``.ok``, ``.exit_status``, ``.stale``, ``.notes``, ``.to_dict()``)."""
    from gradproof.reports.build import build_report as build, check_report, default_out_dir

    target = Path(out) if out is not None else default_out_dir()
    run = check_report if check else build
    return run(target, list(only) if only else None, progress=progress or (lambda line: None))


def sweep(model: str, grid=None, *, out, **options):
    """``gradproof sweep``: ``product`` (and ``horizon`` with ``horizon=True``) of ``model`` at
    every point of ``grid`` (NAME -> SPEC string such as ``"0.5:1.5:11"`` or a sequence of
    values), each finished point committed to the results folder ``out``; rerunning resumes.
    Options: ``seeds=K``, fixed ``hidden=``, ``steps=``, ``seed=``, ``activation=``,
    ``spectral_norm=``, ``forget_bias=``, ``engine=``; ``workers=N``, ``dask_local=N`` or
    ``scheduler=ADDRESS``; ``force``, ``progress``, ``quiet``. Returns a frozen ``SweepResult``
    (``.rows()`` reads the sorted table)."""
    from gradproof.reports.sweep.run import run_sweep

    return run_sweep(model, grid, out=out, **options)
