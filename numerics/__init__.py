"""Numerics: long Jacobian products (reference, fast, certified), float formats, verdicts, horizons.

Modules: network (the truth: the network's forward pass, derivatives and Jacobian product in
mpmath for the reference engine and in Arb balls for the certified one), engines (the product
engines on given Jacobians, the Arb norm enclosure and tree product), reliability (the fast
engine's own reliability statement), activations (cancellation-free derivatives), formats (float16/bfloat16/float32/float64 and
step-by-step simulation), verdicts (representable / cancellation / underflow / absorbed / vanishing / undecided), horizon
(steps to subnormal and to 0), lyapunov (QR method), models (Jacobians of the models and the work
budget), product_report (the ``gradproof product`` report).
"""

from gradproof.numerics.engines import (  # noqa: F401
    ProductResult,
    jacobian_product,
    log10_norm_series,
    product_certified,
    product_fast,
    product_reference,
)
from gradproof.numerics.formats import FORMATS, simulate_matrix_product, simulate_product  # noqa: F401
from gradproof.numerics.horizon import horizon_steps  # noqa: F401
from gradproof.numerics.lyapunov import largest_lyapunov, lyapunov_spectrum  # noqa: F401
from gradproof.numerics.verdicts import FormatVerdict, classify  # noqa: F401
