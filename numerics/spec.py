"""``ModelSpec``: which network a numeric command is about, named once.

A recurrent model (rnn | lstm | gru) with either seeded random weights (``hidden``, ``seed``,
``spectral_norm``, ``forget_bias``; the scheme of ``numerics.cells``) or weights from a file or
arrays (``weights``, with ``module`` and ``layer`` for checkpoints and stacks), and either a
random input sequence of ``steps`` steps or ``inputs`` (with ``batch_index`` for a (B, T, d)
batch). ``product``, ``horizon``, ``lags`` and ``sweep`` take these same options; the CLI builds
one ``ModelSpec`` from its shared model options and the API from its keyword arguments, so an
unknown option is one ``InputError`` naming it instead of a ``TypeError``.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

from gradproof.numerics.errors import InputError

__all__ = ["ModelSpec", "check_known"]


@dataclass(frozen=True)
class ModelSpec:
    """The network: model, weights and inputs (see the module docstring)."""

    model: str
    hidden: int = 4
    steps: int = 100
    seed: int = 0
    activation: str = "tanh"
    spectral_norm: float | None = None
    forget_bias: float | None = None
    weights: object = None
    inputs: object = None
    module: str | None = None
    layer: int | None = None
    batch_index: int | None = None

    @classmethod
    def from_options(cls, model: str, options: dict, *, steps: int = 100) -> tuple["ModelSpec", dict]:
        """Split keyword ``options`` into this spec (the network's options; ``steps`` defaults
        to the command's own) and the rest (engine, force, ...), which the caller checks."""
        names = {f.name for f in fields(cls)} - {"model"}
        mine = {k: v for k, v in options.items() if k in names}
        mine.setdefault("steps", steps)
        return cls(model=model, **mine), {k: v for k, v in options.items() if k not in names}

    def jacobian_options(self) -> dict:
        """The keyword arguments of ``numerics.models.model_jacobians`` (and of the reports)."""
        return {"model": self.model, "hidden": self.hidden, "steps": self.steps, "seed": self.seed,
                "activation": self.activation, "spectral_norm": self.spectral_norm,
                "forget_bias": self.forget_bias, "weights_path": self.weights,
                "inputs_path": self.inputs, "module": self.module, "layer": self.layer,
                "batch_index": self.batch_index}


def check_known(command: str, rest: dict, allowed: tuple[str, ...]) -> None:
    """One InputError naming the first option ``command`` does not take."""
    unknown = sorted(set(rest) - set(allowed))
    if unknown:
        names = sorted({f.name for f in fields(ModelSpec)} - {"model"} | set(allowed))
        raise InputError(f"{command}: unknown option {unknown[0]!r} (options: {', '.join(names)})")
