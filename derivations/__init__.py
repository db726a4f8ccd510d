"""gradproof derivations: SymPy derivations of recurrent-network gradients, each step checked.

``derive_model`` dispatches a model name to its derivation (used by ``gradproof derive``).
"""

from __future__ import annotations

from gradproof.numerics.errors import InputError

__all__ = ["derive_model", "InputError"]


def derive_model(model: str, *, activation: str = "sigmoid", hidden: int = 1, steps: int = 3,
                 variant: str | None = None):
    """The Derivation of ``model`` (rnn | lstm | gru); ``InputError`` on bad input."""
    if model in ("lstm", "gru") and activation not in (None, "sigmoid"):
        # the gates are fixed (sigmoid for the gates, tanh for candidate and output): a
        # different --activation would be silently ignored
        raise InputError(f"--activation applies to rnn only ({model} gates are fixed: sigmoid and tanh)")
    if model in ("rnn", "gru") and variant is not None:
        raise InputError("--variant applies to lstm only")
    if model == "rnn":
        from gradproof.derivations.rnn import rnn_derivation

        return rnn_derivation(activation, hidden, steps)
    if model == "lstm":
        from gradproof.derivations.lstm import lstm_derivation, peephole_derivation

        if variant == "peephole":  # Gers & Schmidhuber (2000)
            return peephole_derivation(hidden, steps)
        return lstm_derivation(variant or "corrected", hidden, steps)
    if model == "gru":
        from gradproof.derivations.gru import gru_derivation

        return gru_derivation(hidden, steps)
    raise InputError(f"unknown model {model!r} (choose from rnn, lstm, gru)")
