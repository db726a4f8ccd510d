"""Jacobian sequences of the models for the product and horizon commands.

``model_jacobians`` builds the weights (seeded random, scheme in numerics.cells, or a
PyTorch-layout .npz via numerics.weights), the inputs ((T, d) .npy or seeded N(0,1) with
d = n, or the file's d with imported weights) and zero initial states, and returns the one-step
Jacobians. With ``inputs_path`` the horizon T is the number of rows of the file.

Work budget (beyond it InputError unless ``force``): a measured cost model per engine,
seconds = passes * T (a + b N^2 + c N^3), N the state size (n for RNN/GRU, 2n for the LSTM's
(h, c)), constants in ``COST_MODEL``; a run estimated above ``MAX_SECONDS`` (10 minutes) is
refused with the estimate in the message. And at most 10^6 steps, N <= 2048 and T N^2 <= 2e7
stored Jacobian entries (about 160 MB per array; the LSTM keeps several such arrays). The sizes a
weights or inputs file sets are read from its headers and checked before anything is loaded; the
memory the request needs is estimated and compared with what the process can get even with
``force`` (``numerics.limits``), and ``--spectral-norm``/``--forget-bias`` are limited to
|x| <= 1e150.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

import numpy as np

from gradproof.numerics.cells import (
    RNNParams,
    gru_jacobians,
    lstm_jacobians,
    random_gru_params,
    random_inputs,
    random_lstm_params,
    random_rnn_params,
    rnn_jacobians,
    rnn_jacobians_scaled,
)
from gradproof.numerics.errors import InputError
from gradproof.numerics.formats import FORMATS

__all__ = ["ModelJacobians", "model_jacobians", "budgeted_model_jacobians", "check_budget", "state_size",
           "estimate_seconds", "engine_budgets", "COST_MODEL", "MAX_SECONDS", "MAX_STEPS", "MAX_STATE",
           "FORMAT_TABLE_PRODUCTS"]

MODELS = ("rnn", "lstm", "gru")
#: seconds per step and pass = a + b N^2 + c N^3 (N the state size), fitted to wall-clock timings of
#: benchmarks/bench_cost_model.py on this machine (2 shared cores; RNN; fast: the whole per-format
#: table measured and divided by its passes). reference and certified include the network's forward
#: pass at their starting precision; precision raised for chaos costs more (engine_budgets' passes).
COST_MODEL = {"fast": (1.8e-5, 0.0, 1.5e-9), "reference": (8.6e-5, 5.5e-6, 5.4e-8),
              "certified": (2.1e-5, 3.4e-7, 1.0e-8)}
#: the gated cells' scalar forward pass does more work per N^2 than the RNN's (high-precision engines)
_MODEL_FACTOR = {"rnn": 1.0, "gru": 2.0, "lstm": 3.0}
MAX_SECONDS = 600.0  # refuse (without --force) what would take more than ~10 minutes
MAX_STEPS = 1_000_000
MAX_STATE = 2048
MAX_ENTRIES = 2e7
# fast-engine passes of a per-format table: gradual and FTZ simulation per format, plus two more
# float64 passes over the sequence (the Lyapunov exponent and the product or norm series)
FORMAT_TABLE_PRODUCTS = 2 * len(FORMATS) + 2


@dataclass
class ModelJacobians:
    model: str
    hidden: int
    steps: int
    input_size: int
    jacobians: np.ndarray  # (T, N, N): d state_t / d state_{t-1}
    params: object
    weights_source: str
    inputs_source: str
    cell_path: np.ndarray | None = None  # LSTM only
    article_cell_path: np.ndarray | None = None  # LSTM only
    bound_log10: float | None = None
    bound_factor: float | None = None
    bound_statement: str | None = None
    notes: list = field(default_factory=list)
    inputs: np.ndarray | None = None  # (T, d): the inputs the Jacobians were computed on
    exponents2: np.ndarray | None = None  # RNN: J_t = scaled_jacobians[t] 2^exponents2[t]
    scaled_jacobians: np.ndarray | None = None
    #: a stacked network (numerics.checkpoint / numerics.stacked): the layers analysed and how
    layers: dict | None = None
    stack: tuple | None = None  # every layer's params when the whole stack is analysed (L > 1)
    head: tuple | None = None  # (name, W (m, n), b (m,) or None): the checkpoint's read-out head
    #: ``--layer K`` with K > 0: the params of layers 0..K-1, the network's inputs x (``inputs`` then
    #: holds the float64 outputs of layer K-1, what the fast engine and the format simulations read),
    #: and the largest Lyapunov exponent of those lower layers (their chaos reaches layer K's inputs)
    below: tuple | None = None
    stack_inputs: np.ndarray | None = None
    below_lyapunov: float | None = None
    below_wrapping_bits: float = 0.0  # numerics.network.wrapping_estimate, largest over the layers below

    def truth_wrapping_bits(self) -> float:
        """log2 ||prod |J_t| ||_2 (numerics.network.wrapping_estimate): the bits the radii of a ball
        forward pass grow by, over the Jacobians analysed and (``--layer K``) the layers below."""
        from gradproof.numerics.network import wrapping_estimate

        return max(wrapping_estimate(self.jacobians), self.below_wrapping_bits)

    def truth_network(self):
        """(params, inputs) for the high-precision engines (numerics.network): for ``--layer K`` a
        :class:`~gradproof.numerics.network.LayerOfStack` on the network's inputs, so layers 0..K-1
        are evaluated in the engine's own arithmetic too; else the params and inputs themselves."""
        if self.below:
            from gradproof.numerics.network import LayerOfStack

            return LayerOfStack(below=tuple(self.below), layer=self.params), self.stack_inputs
        return self.params, self.inputs

    def truth_lyapunov(self, lyapunov: float) -> float:
        """The Lyapunov exponent that sets the precision the truth needs: ``lyapunov`` (of the
        Jacobians analysed) or, for ``--layer K``, the larger one of the layers below."""
        if self.below_lyapunov is not None and math.isfinite(self.below_lyapunov):
            return max(lyapunov, self.below_lyapunov) if math.isfinite(lyapunov) else self.below_lyapunov
        return lyapunov

    def framework_jacobians(self, fmt) -> np.ndarray:
        """The Jacobians with every activation derivative computed as a framework does in the training
        format ``fmt`` (s (1 - s), 1 - t^2 rounded to fmt; numerics.activations.framework_derivative),
        the rest in float64: what the per-format simulation multiplies."""
        if self.stack is not None:
            from gradproof.numerics.stacked import stack_pass

            return stack_pass(self.stack, self.inputs, derivative=fmt).M
        if self.model == "rnn":
            return rnn_jacobians(self.params, self.inputs, derivative=fmt)
        if self.model == "lstm":
            return lstm_jacobians(self.params, self.inputs, derivative=fmt).full
        return gru_jacobians(self.params, self.inputs, derivative=fmt)


def estimate_seconds(engine: str, state_size: int, steps: int, products: float = 1.0) -> float:
    """Estimated wall time (s) of ``products`` passes of ``engine`` over T steps of N x N Jacobians:
    T (a + b N^2 + c N^3) with the per-engine constants of ``COST_MODEL`` (measured, see there)."""
    a, b, c = COST_MODEL[engine]
    N, T = float(state_size), float(steps)
    return float(products) * T * (a + b * N * N + c * N ** 3)


def check_budget(state_size: int, steps: int, engine: str, force: bool, products: float = 1) -> float:
    """Raise InputError if the estimated time exceeds ``MAX_SECONDS`` (or the step/size/memory
    limits) unless force; returns the estimate in seconds."""
    if engine not in COST_MODEL:
        raise InputError(f"unknown engine {engine!r}; choose fast, reference or certified")
    seconds = estimate_seconds(engine, state_size, steps, products)
    if force:
        return seconds
    if steps > MAX_STEPS:
        raise InputError(f"{steps} steps exceed the budget of {MAX_STEPS} steps (use --force)")
    if state_size > MAX_STATE:
        raise InputError(f"state size {state_size} exceeds the budget of {MAX_STATE} (use --force)")
    if float(steps) * float(state_size) ** 2 > MAX_ENTRIES:
        raise InputError(f"{steps} steps of {state_size} x {state_size} Jacobians exceed the memory budget of "
                         f"{MAX_ENTRIES:.0e} entries (use --force)")
    if seconds > MAX_SECONDS:
        raise InputError(f"the {engine} engine would take about {seconds:.3g} s here (N = {state_size}, "
                         f"T = {steps}; cost model T (a + b N^2 + c N^3), numerics.models.COST_MODEL), more than "
                         f"the budget of {MAX_SECONDS:.0f} s (use --force)")
    return seconds


def engine_budgets(model: str, engine: str, check_engines: bool = False) -> list:
    """(engine, passes) pairs the ``product`` report costs: the chosen engine (a reference run is two
    or more passes, the LSTM adds its two cell-path products), the fast per-format table, and the
    certified cross-check of ``--check-engines``."""
    f = _MODEL_FACTOR.get(model, 1.0)
    passes = {"fast": 1.0, "reference": 3.5 * f, "certified": 4.0 * f}  # attempts at rising precision
    out = [("fast", FORMAT_TABLE_PRODUCTS)]
    if engine != "fast":
        out.append((engine, passes[engine]))
    if check_engines and engine != "certified":
        out.append(("certified", passes["certified"]))
    return out


def state_size(model: str, hidden: int) -> int:
    """N, the size of the state the Jacobians act on: 2n for the LSTM's (h, c), else n."""
    return 2 * hidden if model == "lstm" else hidden


def budgeted_model_jacobians(model: str, budgets, force: bool = False, precheck: bool = True, hidden: int = 4,
                             steps: int = 100, **options) -> ModelJacobians:
    """:func:`model_jacobians` within the work budget of every (engine, products) pair in ``budgets``.

    The budget is checked before anything is built, on the sizes the run will have: ``hidden``
    and ``steps``, or those a weights / inputs file declares in its headers (``precheck`` is kept
    for compatibility; the check is always made), then again on the actual sizes N, T of the
    Jacobians. The memory estimate is checked before allocating, also with ``force``.
    """
    from gradproof.numerics.limits import check_memory
    from gradproof.numerics.weights import inputs_shape

    if model not in MODELS:
        raise InputError(f"unknown model {model!r}; choose rnn, lstm or gru")
    from gradproof.numerics.checkpoint import stack_sizes

    n, d, t = hidden, hidden, steps
    if options.get("weights_path") is not None:
        sizes = stack_sizes(options["weights_path"], model, options.get("module"))
        if sizes is not None:
            hs, d = sizes
            layer = options.get("layer")
            n = hs[layer] if layer is not None and 0 <= layer < len(hs) else sum(hs)
    if options.get("inputs_path") is not None:
        shape = inputs_shape(options["inputs_path"])
        if len(shape) == 2 and shape[0] >= 1:
            t = shape[0]
        elif len(shape) == 3 and shape[1] >= 1:
            t = shape[1]
    for engine, products in budgets:
        check_budget(state_size(model, n), t, engine, force, products=products)
    check_memory(model, n, d, t)
    mj = model_jacobians(model, hidden=hidden, steps=steps, **options)
    T, N, _ = mj.jacobians.shape
    for engine, products in budgets:
        check_budget(N, T, engine, force, products=products)
    return mj


def _rnn_bound(params: RNNParams, T: int):
    """Proven bound ||P_T||_2 <= (gamma ||W_rec||_2)^T, ||W_rec||_2 enclosed by Arb (rigorous)."""
    import flint

    from gradproof.numerics.activations import GAMMA
    from gradproof.numerics.engines import spectral_norm_enclosure

    gamma = float(GAMMA[params.activation])
    old = flint.ctx.prec
    try:
        flint.ctx.prec = 128
        W = flint.arb_mat(params.W_rec.tolist())
        _, hi, _ = spectral_norm_enclosure(W, flint)
        sigma_up = float(np.nextafter(float(hi.upper().sqrt().upper()), np.inf))
    finally:
        flint.ctx.prec = old
    factor = float(np.nextafter(gamma * sigma_up, np.inf))
    if factor == 0.0:
        return -math.inf, 0.0
    return T * math.log10(factor), factor


def model_jacobians(model: str, hidden: int = 4, steps: int = 100, seed: int = 0, activation: str = "tanh",
                    spectral_norm: float | None = None, forget_bias: float | None = None,
                    weights_path=None, inputs_path=None, module: str | None = None, layer: int | None = None,
                    batch_index: int | None = None) -> ModelJacobians:
    """One-step Jacobians of the model over its input sequence (zero initial state).

    A weights file with L > 1 layers gives the Jacobians of the whole stack's state (every layer's
    h and c, numerics.stacked), or with ``layer=K`` those of layer K alone on the inputs it sees in
    the stack (``inputs``: the float64 outputs of layers 0..K-1, for the fast engine and the format
    simulations; ``truth_network()``: the same layer on the network's inputs with the lower layers,
    so the reference and certified engines evaluate layers 0..K-1 in their own arithmetic);
    ``layers`` says which was done."""
    from gradproof.numerics.checkpoint import load_stack
    from gradproof.numerics.weights import load_inputs

    if model not in MODELS:
        raise InputError(f"unknown model {model!r}; choose rnn, lstm or gru")
    if int(hidden) != hidden or hidden < 1:
        raise InputError(f"hidden size must be >= 1, got {hidden!r}")
    if int(steps) != steps or steps < 1:
        raise InputError(f"steps must be >= 1, got {steps!r}")
    if spectral_norm is not None and (not math.isfinite(spectral_norm) or spectral_norm < 0):
        raise InputError(f"spectral norm must be finite and >= 0, got {spectral_norm!r}")
    from gradproof.numerics.limits import check_magnitude

    if spectral_norm is not None:
        check_magnitude("spectral norm", spectral_norm)
    if forget_bias is not None:
        check_magnitude("forget bias", forget_bias)
    notes = []
    stack_layers = None
    if layer is not None and weights_path is None:
        raise InputError("--layer needs --weights (a stacked network from a file)")
    if module is not None and weights_path is None:
        raise InputError("--module needs --weights")
    if weights_path is not None:
        stack = load_stack(weights_path, model, module)
        stack_layers = stack.layers
        if model == "rnn":
            stack_layers = tuple(replace(p, activation=activation) for p in stack_layers)
        notes.extend(stack.notes)
        if layer is not None and not (0 <= layer < stack.num_layers):
            raise InputError(f"--layer {layer} does not exist: the module has layers 0..{stack.num_layers - 1}")
        params = stack_layers[0 if layer is None else layer]
        weights_source = f"file {weights_path}" + (f", module {stack.module!r}" if stack.module else "")
        if spectral_norm is not None or forget_bias is not None:
            notes.append("--spectral-norm/--forget-bias ignored: weights come from a file")
    else:
        if model == "rnn":
            params = random_rnn_params(hidden, hidden, seed=seed, activation=activation, spectral_norm=spectral_norm)
        elif model == "lstm":
            params = random_lstm_params(hidden, hidden, seed=seed, spectral_norm=spectral_norm,
                                        forget_bias=1.0 if forget_bias is None else forget_bias)
        else:
            params = random_gru_params(hidden, hidden, seed=seed, spectral_norm=spectral_norm)
        weights_source = (f"random, seed {seed}, N(0,1)/sqrt(n) entries, recurrent blocks scaled to spectral norm "
                          f"{spectral_norm}" if spectral_norm is not None else
                          f"random, seed {seed}, N(0,1)/sqrt(n) entries, unscaled")
    n, d = params.hidden, params.input_size
    if stack_layers is not None:
        d = stack_layers[0].input_size
    if batch_index is not None and inputs_path is None:
        raise InputError("--batch-index needs --inputs (a (B, T, d) batch)")
    if inputs_path is not None:
        x = load_inputs(inputs_path, input_size=d, batch_index=batch_index)
        inputs_source = f"file {inputs_path}" + (f", sequence {batch_index} of the batch" if batch_index is not None else "")
    else:
        x = random_inputs(int(steps), d, seed=seed)
        inputs_source = f"random N(0,1), default_rng([{seed}, 1])"
    T = x.shape[0]
    layers_info = None
    if stack_layers is not None:
        L = len(stack_layers)
        layers_info = {"count": L, "analysed": list(range(L)) if layer is None else [int(layer)],
                       "hidden": [p.hidden for p in stack_layers], "module": stack.module,
                       "state": ("the whole stack: " + ", ".join(f"{'(h, c)' if model == 'lstm' else 'h'} of layer {k}"
                                                                 for k in range(L))) if layer is None else
                       (f"layer {layer} only, on the inputs it sees in the stack (the outputs of layers "
                        f"0..{layer - 1})" if layer > 0 else "layer 0 only")}
        below, raw, below_lyap = None, x, None
        if layer is not None and L > 1:
            from gradproof.numerics.lyapunov import largest_lyapunov
            from gradproof.numerics.network import wrapping_estimate
            from gradproof.numerics.stacked import layer_pass

            below_wrap = 0.0
            for p in stack_layers[:layer]:
                lp = layer_pass(p, x)
                below_wrap = max(below_wrap, wrapping_estimate(lp.J))
                lam = largest_lyapunov(lp.J)
                if math.isfinite(lam):
                    below_lyap = lam if below_lyap is None else max(below_lyap, lam)
                x = lp.h
            if layer > 0:
                below = tuple(stack_layers[:layer])
            notes.append(f"--layer {layer}: only layer {layer} of {L} is analysed" + (
                f"; its inputs are the outputs of layers 0..{layer - 1}: in float64 for the fast engine and the "
                f"format simulations, computed in the engine's own arithmetic by reference and certified"
                if layer > 0 else ""))
    out = ModelJacobians(model=model, hidden=n, steps=T, input_size=d, jacobians=None, params=params,
                         weights_source=weights_source, inputs_source=inputs_source, notes=notes, inputs=x,
                         layers=layers_info)
    if stack_layers is not None and below is not None:
        out.below, out.stack_inputs, out.below_lyapunov = below, raw, below_lyap
        out.below_wrapping_bits = below_wrap
    if stack_layers is not None and stack.head_name is not None:
        out.head = (stack.head_name, stack.head_weight, stack.head_bias)
    if stack_layers is not None and len(stack_layers) > 1 and layer is None:
        from gradproof.numerics.stacked import stack_pass

        out.stack = stack_layers
        out.params = stack_layers
        out.hidden = sum(p.hidden for p in stack_layers)
        out.jacobians = stack_pass(stack_layers, x).M
        notes.append(f"stacked network of {len(stack_layers)} layers: the state is every layer's "
                     f"{'(h, c)' if model == 'lstm' else 'h'} ({out.jacobians.shape[1]} numbers); use --layer K for one layer")
        return out
    if model == "rnn":
        out.scaled_jacobians, out.exponents2 = rnn_jacobians_scaled(params, x)
        with np.errstate(under="ignore"):
            out.jacobians = np.ldexp(out.scaled_jacobians, out.exponents2[:, None, None])
        out.bound_log10, out.bound_factor = _rnn_bound(params, T)
        out.bound_statement = ("||J_T...J_1||_2 <= (gamma ||W_rec||_2)^T, gamma = sup|act'| (numerics.activations.GAMMA, "
                               "proven equal to SymPy's derive_gamma in the tests), ||W_rec||_2 enclosed with Arb (Pascanu et al. 2013)")
    elif model == "lstm":
        jac = lstm_jacobians(params, x)
        out.jacobians = jac.full
        out.cell_path = jac.cell_path
        out.article_cell_path = jac.article_cell_path
    else:
        out.jacobians = gru_jacobians(params, x)
    return out
