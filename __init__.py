"""gradproof: prove, check and measure how gradients flow backwards through recurrent networks.

Layers, each importing only the ones below it:

* ``gradproof.numerics`` (numpy, mpmath, python-flint; no SymPy): cells, long Jacobian
  products, float formats, verdicts, horizons;
* ``gradproof.derivations`` (SymPy): derivations term by term and the independent checker;
* ``gradproof.reports`` (application): the claims audit, report building and the CLI.

The public API is imported lazily, so ``import gradproof`` stays as cheap as numpy and the
numeric entry points never import SymPy.
"""

from __future__ import annotations

from gradproof.numerics.errors import InputError
from gradproof.numerics.version import __version__

__all__ = ["__version__", "InputError"]
