"""gradproof: prove, check and measure how gradients flow backwards through recurrent networks.

Layers, each importing only the ones below it:

* ``gradproof.numerics`` (numpy, mpmath, python-flint; no SymPy): cells, long Jacobian
  products, float formats, verdicts, horizons;
* ``gradproof.derivations`` (SymPy): derivations term by term and the independent checker;
* ``gradproof.reports`` (application): the claims audit, report building and the CLI.

The public API (``gradproof.reports.api``) is imported lazily: ``import gradproof`` costs no
more than its error class, and ``gradproof.product`` never imports SymPy.
"""

from __future__ import annotations

from gradproof.numerics.errors import InputError
from gradproof.numerics.version import __version__

__all__ = ["__version__", "InputError", "derive", "product", "horizon", "lags", "verify", "build_report",
           "load_weights", "load_inputs", "sweep"]

_API = frozenset(__all__) - {"__version__", "InputError"}


def __getattr__(name: str):
    if name in _API:
        from gradproof.reports import api

        return getattr(api, name)
    raise AttributeError(f"module 'gradproof' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | _API)
