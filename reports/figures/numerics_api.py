"""The one place where figures call ``numerics``: thin adapters from what a figure needs to the
numerics package's functions (so an API change touches one file). No arithmetic of its own
beyond taking logs and norms of what the engines return."""

from __future__ import annotations

import math

__all__ = ["FORMATS", "log10_norm_series", "fast_statement", "reference_log10_norm",
           "simulate", "horizon", "largest_lyapunov_exponent",
           "log10_block_norm_series", "product_engine"]


def __getattr__(name):
    if name == "FORMATS":
        from gradproof.numerics.formats import FORMATS

        return FORMATS
    raise AttributeError(name)


def log10_norm_series(jacobians):
    """log10 ||J_t ... J_1||_2 for t = 1..T (``numerics.engines.log10_norm_series``)."""
    from gradproof.numerics.engines import log10_norm_series as series

    return series(jacobians)


def fast_statement(jacobians) -> str:
    """The fast engine's own statement of its working precision for these factors."""
    from gradproof.numerics.engines import product_fast

    return product_fast(jacobians).precision_statement


def reference_log10_norm(jacobians, dps: int = 50):
    """(log10 ||J_T ... J_1||_2, precision statement) from the mpmath reference engine."""
    from gradproof.numerics.engines import product_reference

    res = product_reference(jacobians, dps=dps)
    return res.log10_norm, res.precision_statement


def simulate(jacobians, fmt: str, ftz: bool = False):
    """The matrix product in float format ``fmt`` (``numerics.formats.simulate_matrix_product``)."""
    from gradproof.numerics.formats import simulate_matrix_product

    return simulate_matrix_product(jacobians, fmt, ftz=ftz)


def horizon(factor: float, fmt: str, ftz: bool, simulate: bool = True):
    """``numerics.horizon.horizon_steps``; with ``simulate=False`` the step-by-step simulation
    is skipped (cap=1) and only the exact steps are meaningful."""
    from gradproof.numerics.horizon import horizon_steps

    return horizon_steps(factor, fmt, ftz) if simulate else horizon_steps(factor, fmt, ftz, cap=1)


def largest_lyapunov_exponent(jacobians, seed: int = 0) -> float:
    from gradproof.numerics.lyapunov import largest_lyapunov

    return float(largest_lyapunov(jacobians, seed=seed))


def log10_block_norm_series(jacobians, rows=None, cols=None):
    """log10 of ||[J_t ... J_1]_{rows, cols}||_2 for t = 1..T.

    Each prefix product comes from ``numerics.engines.product_fast`` as mantissa * 2^exponent2
    (exact power-of-two scaling, no under/overflow); the block norm is that of the mantissa's
    block plus exponent2 log10 2. Quadratic in T: meant for the few hundred steps of a figure.
    """
    import numpy as np

    from gradproof.numerics.engines import product_fast

    J = np.asarray(jacobians, dtype=np.float64)
    rows = slice(None) if rows is None else rows
    cols = slice(None) if cols is None else cols
    out = np.empty(J.shape[0])
    for t in range(1, J.shape[0] + 1):
        res = product_fast(J[:t])
        block = np.asarray(res.mantissa, dtype=np.float64)[rows, cols]
        norm = float(np.linalg.norm(block, 2))
        out[t - 1] = (math.log10(norm) + res.exponent2 * math.log10(2.0)) if norm > 0 else -math.inf
    return out


def product_engine() -> str:
    return "gradproof.numerics.engines.product_fast (prefix products)"
