"""Numerics: long Jacobian products (reference, fast, certified), float formats, verdicts, horizons.

Modules: network (the truth: the network's forward pass, derivatives and Jacobian product in
mpmath for the reference engine and in Arb balls for the certified one), engines (the product
engines on given Jacobians, the Arb norm enclosure and tree product), reliability (the fast
engine's own reliability statement), activations (cancellation-free derivatives), formats (float16/bfloat16/float32/float64 and
step-by-step simulation), verdicts (representable / cancellation / underflow / absorbed / vanishing / undecided), horizon
(steps to subnormal and to 0), lyapunov (QR method), models (Jacobians of the models and the work
budget), product_report (the ``gradproof product`` report), cells (forward passes and one-step
Jacobians), weights (PyTorch state_dict import), checkpoint (find the recurrent module, every layer and
the head in state_dicts and checkpoints), safetensors_io (.safetensors without torch), stacked (the step
Jacobian of a stacked network), lags (per-lag gradient profiles), framework_backward (training's backward
pass replayed operation by operation in a format), torch_compare (optional PyTorch comparison),
errors (``InputError``).

Nothing is imported here, so that importing one module does not import them all.
"""

