"""Numerics: long Jacobian products (reference, fast, certified), float formats, verdicts, horizons.

Modules: engines (the three product engines), formats (float16/bfloat16/float32/float64 and
step-by-step simulation), verdicts (representable / underflow / absorbed / vanishing), horizon
(steps to subnormal and to 0), lyapunov (QR method), models (Jacobians of the models and the work
budget), product_report (the ``gradproof product`` report), cells (forward passes and one-step
Jacobians), weights (PyTorch state_dict import), errors (``InputError``).

Nothing is imported here, so that importing one module does not import them all.
"""

