r"""Per-lag gradient profiles: how far back from the last step does gradient signal reach?

For a network run over x_1..x_T from the zero state (stacked networks: s is every layer's state,
numerics.stacked), with M_t = d s_t / d s_{t-1} and X_t = d s_t / d x_t, for k = 1..T:

* state:  Q_k = d s_T / d s_{T-k} = M_T M_{T-1} ... M_{T-k+1}, reported as log10 ||Q_k||_2;
* input:  d h_T / d x_{T-k} = E Q_{k-1} X_{T-k+1} (Q_0 = I; E picks h of the top layer; inputs
  numbered from 0, so x_{T-k} is row T-k of the inputs array, read at step T-k+1);
* loss:   d L / d s_{T-k} = g^T Q_k with g = d L / d s_T for a loss at the last step: the
  checkpoint's linear head y = W h_T + b if found (L = sum_j y_j, g = W^T 1 on the top layer's h),
  else L = sum_i h_T,i (g = 1 on the top layer's h); reported is log10 of the 2-norm of its h
  entries (every layer), d L / d h_{T-k}.

All suffix products come from one backward sweep, right to left (Q_k = Q_{k-1} M_{T-k+1}), each
product renormalised by an exact power of two (frexp/ldexp) so nothing under- or overflows (fast
engine). The reference and certified engines evaluate the same three series on the network itself
(numerics.network: the step and input Jacobians of the exact trajectory in mpmath / Arb balls, the
head's weights taken exactly), certified: every lag's three norms enclosed.

Formats (float16, bfloat16, float32, float64), simulated as numerics.formats does for products (the
step Jacobians with the framework's derivative formulas s(1-s), 1-t^2 in the format, rounded to the
format; float64 accumulation; one rounding per entry):
* the matrix Q_k in the format, right to left: first lag where it is subnormal, exactly zero, or has
  no correct leading digit (|log10 value - log10 exact| > log10 1.5, the verdicts' threshold);
* the backward pass of training, operation by operation as the framework runs it
  (numerics.framework_backward; one rounding per operation, from (L S).backward()): first lag where
  d L / d s_{T-k} is exactly 0 in every entry, with S = 1, with a given loss scale
  ``--loss-scale S``, and with PyTorch's dynamic rule (torch.amp.GradScaler: init 2^16, backoff 0.5
  on inf/nan, growth 2 every 2000 steps; for one backward pass: start at 2^16 and halve while a
  gradient overflows: GradScaler's test on the parameter gradients, sums over time of the gate
  gradients times the layer inputs, accumulated in the format; a state gradient overflowing counts too).

LSTM path decomposition: the pure cell-state path ("constant error carousel", Hochreiter &
Schmidhuber 1997, with the forget gate of Gers et al. 2000) against everything else that carries
d c_T / d c_{T-k}. For one layer, F_k = prod_{t=T-k+1..T} diag(f_t) (the path c_{t-1} -> c_t through
the forget gate only, the diagonal of the c-to-c block of every step Jacobian) against the rest of the
c-to-c block of Q_k, R_k = Q_k^{cc} - F_k (every path that leaves c through h and the gates).
For a stack of L LSTM layers (state s = (h^0, c^0, ..., h^{L-1}, c^{L-1})), with c = (c^0, ..., c^{L-1}):

* ``log10_cell_path`` = log10 ||F_k||_2, F_k = blockdiag_l prod_t diag(f^l_t): every layer's own carousel
  (no path between layers runs through the forget gates alone; ||F_k||_2 = the largest product of one
  unit's forget gates, over all layers);
* ``log10_rest`` = log10 ||Q_k^{cc} - F_k||_2 over all layers' c: each layer's own rest and the paths
  from a lower layer's c to a higher layer's c (which always run through h^{l-1}_t and the gates);
* per layer l, ``log10_cell_path_layers[l]`` = log10 ||F^l_k||_2 and ``log10_rest_layers[l]`` =
  log10 ||Q_k^{c^l c^l} - F^l_k||_2, the decomposition of layer l's own (c^l, c^l) block.

All of them null for an exact 0 (e.g. the rest at lag 1, Q_1^{cc} = diag(f_T) for one layer). Engines:
fast in float64 (F_k renormalised by exact powers of two); reference and certified evaluate F_k (from
the diagonals of the backend's step Jacobians) and R_k with the network in mpmath / Arb balls (the
float64 values under ``log10_cell_path_fast`` and ``log10_rest_fast``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from gradproof.numerics.engines import LOG10_2, _normalise
from gradproof.numerics.errors import InputError
from gradproof.numerics.formats import FORMATS, round_to_format

__all__ = ["LagProfile", "lag_profile", "format_lags_text", "DYNAMIC_INIT", "suffix_log10_norms"]

DYNAMIC_INIT = 2.0 ** 16
#: seconds per lag and S^3 of the high-precision per-lag norms (state, input, loss; measured on this
#: machine for T = 40, S = 20: reference (two precisions, mpmath SVDs) 5.75 s, certified 0.70 s)
_NORM_SECONDS = {"reference": 1.8e-5, "certified": 2.2e-6}
_LOST = math.log10(1.5)
#: the certified lag profile doubles its precision up to this many times until every lag's three norms
#: have this many certified bits
_CERTIFIED_ATTEMPTS = 3
_CERTIFIED_TARGET_BITS = 53
#: the reference lag profile runs at most this many precisions (p, p + p/2 + 32, ...)
_REFERENCE_ATTEMPTS = 4


def _log10_scaled(v, e):
    n = float(np.linalg.norm(v, 2)) if np.ndim(v) == 2 else float(np.linalg.norm(v))
    return math.log10(n) + e * LOG10_2 if n > 0 else -math.inf


def _num(x):
    return float(x) if x is not None and math.isfinite(x) else None


def suffix_log10_norms(M, X=None, g=None, top_h=None, h_mask=None):
    """One backward sweep over M (T, S, S): (state, input, loss) log10 norms for k = 1..T, and the
    scaled suffix products' c-to-c blocks if asked (see the module docstring)."""
    T, S, _ = M.shape
    state = np.full(T, -np.inf)
    inp = np.full(T, -np.inf) if X is not None else None
    loss = np.full(T, -np.inf) if g is not None else None
    Q, e = np.eye(S), 0  # Q_0
    zero = False
    mants, exps = [], []
    for k in range(1, T + 1):
        if X is not None and not zero:  # E Q_{k-1} X_{T-k+1}
            inp[k - 1] = _log10_scaled(Q[top_h] @ X[T - k], e)
        if not zero:
            Q, de = _normalise(Q @ M[T - k])
            e += de
            zero = not np.any(Q)
        mants.append(Q)
        exps.append(e)
        if zero:
            continue
        state[k - 1] = _log10_scaled(Q, e)
        if g is not None:
            loss[k - 1] = _log10_scaled((g @ Q)[h_mask], e)
    return state, inp, loss, mants, exps


def _c_blocks(sp) -> list:
    """Indices in s of every layer's c (LSTM layers: h first, then c), one array per layer."""
    return [np.arange(sp.offsets[m] + sp.layers[m].h.shape[1], sp.offsets[m] + sp.sizes[m])
            for m in range(len(sp.layers))]


def _cell_decomposition(sp, blocks, mants, exps):
    """The LSTM path decomposition (module docstring) in float64, per lag k: log10 ||F_k||_2,
    log10 ||Q_k^{cc} - F_k||_2 (whole stack) and per layer l the same for F^l_k and the (c^l, c^l)
    block; None for an exact 0. ``mants``/``exps``: the suffix products Q_k = mants 2^exps."""
    T = len(mants)
    c_idx = np.concatenate(blocks)
    cuts = np.cumsum([0] + [len(b) for b in blocks])
    fwd = np.concatenate([lp.forget for lp in sp.layers], axis=1)  # (T, C) forget gates, every layer
    Fm, Fe = np.ones(fwd.shape[1]), np.zeros(fwd.shape[1], dtype=np.int64)  # prod f = Fm 2^Fe, exact scaling
    cell, rest, cell_l, rest_l = [None] * T, [None] * T, [None] * T, [None] * T

    def norm_log10(R, e):
        nr = float(np.linalg.norm(R, 2))
        return math.log10(nr) + e * LOG10_2 if nr > 0 else None

    for k in range(1, T + 1):
        Fm, de = np.frexp(Fm * fwd[T - k])
        Fe = Fe + de
        with np.errstate(divide="ignore"):
            logF = np.log10(Fm) + Fe * LOG10_2
        e = exps[k - 1]
        Qcc = mants[k - 1][np.ix_(c_idx, c_idx)]
        with np.errstate(under="ignore", over="ignore"):
            F = np.ldexp(Fm, Fe - e)
        R = Qcc - np.diag(F)
        cell_l[k - 1] = [float(np.max(logF[cuts[m]:cuts[m + 1]])) for m in range(len(blocks))]
        cell[k - 1] = max(cell_l[k - 1])
        rest[k - 1] = norm_log10(R, e)
        rest_l[k - 1] = [norm_log10(R[cuts[m]:cuts[m + 1], cuts[m]:cuts[m + 1]], e) for m in range(len(blocks))]
    return cell, rest, cell_l, rest_l


def _simulate_matrix(Jf, fmt):
    """Q_k in the format, right to left; per-lag log10 norms and the first subnormal / zero lag."""
    f = FORMATS[fmt]
    T, S, _ = Jf.shape
    Q = np.eye(S)
    vals = [None] * T
    sub = zero = over = None
    with np.errstate(over="ignore", invalid="ignore", under="ignore"):
        for k in range(1, T + 1):
            Q = round_to_format(Q @ Jf[T - k], f)
            amax = float(np.max(np.abs(Q)))
            if not math.isfinite(amax):
                over = over or k
                break
            if amax == 0.0:
                zero = k
                break
            if sub is None and amax < f.min_normal:
                sub = k
            M, ee = _normalise(Q)
            vals[k - 1] = math.log10(float(np.linalg.norm(M, 2))) + ee * LOG10_2
    return vals, sub, zero, over


def _backward(layers, x, fmt, scale, head_w):
    from gradproof.numerics.framework_backward import framework_backward

    return framework_backward(layers, x, fmt, scale, head_w)


def _dynamic(layers, x, fmt, head_w):
    """PyTorch's GradScaler rule for one backward pass: S = 2^16, halved while the pass overflows."""
    S = DYNAMIC_INIT
    for _ in range(200):
        lag, over, vals = _backward(layers, x, fmt, S, head_w)
        if not over:
            return S, lag, vals
        S *= 0.5
    return S, None, vals


@dataclass(frozen=True)
class LagProfile:
    """``gradproof lags``; ``to_dict()`` is the ``--json`` object (keys: model, engine, steps, state,
    layers, loss, loss_scale, lags [{lag, log10_norm, log10_input, log10_loss, formats{...}, and for the
    LSTM log10_cell_path, log10_rest, log10_cell_path_layers, log10_rest_layers (one per layer; see the module
    docstring), with reference/certified also *_fast}], formats {summary per format}, precision, weights,
    inputs, notes)."""

    model: str
    engine: str
    steps: int
    state: str
    layers: dict | None
    loss: str
    loss_scale: float | None
    lags: tuple
    formats: dict
    precision: str
    weights: str
    inputs: str
    notes: tuple
    method: str
    torch: dict | None = None  # --compare-torch: PyTorch's values (numerics.torch_compare)

    def to_dict(self) -> dict:
        d = dict(self.__dict__)
        d["lags"] = [dict(x) for x in self.lags]
        d["notes"] = list(self.notes)
        return d


def _square(rows, zero):
    """A rectangular matrix (rows of scalars) padded with zeros to a square one (same 2-norm)."""
    m = max(len(rows), len(rows[0]))
    return [list(r) + [zero] * (m - len(r)) for r in rows] + [[zero] * m for _ in range(m - len(rows))]


def _high_precision(engine, params, x, T, head_w, top_h, h_idx, lyapunov=None, c_blocks=None, wrapping_bits=0.0):
    """(state, input, loss) per-lag series with the reference or certified engine (numerics.network):
    the step and input Jacobians of the network itself in the backend, the suffix products right to left,
    the loss gradient g^T Q_k with g from the head's weights taken exactly. ``params``, ``x``: from
    ``ModelJacobians.truth_network()`` (for ``--layer K`` the layers below run in the backend too);
    ``lyapunov``: the largest Lyapunov exponent of the trajectory (the precision starts lambda T / ln 2
    bits higher, the bits chaos costs, as numerics.network; certified: also ``wrapping_bits`` higher, the
    growth of the ball forward pass's radii, numerics.network.wrapping_estimate). ``c_blocks`` (LSTM: every layer's c indices
    in s): the path decomposition too, appended as (cell, rest, then cell and rest of each layer): F_k
    from the diagonal of the (c^l, c^l) blocks of the step Jacobians, diag(f^l_t) exactly."""
    import flint
    import mpmath

    from gradproof.numerics.engines import enclose_log10_norm
    from gradproof.numerics.network import (ArbBackend, MpBackend, PRINTED_DIGITS, _agree, _chaos_bits,
                                            _initial_state, _mp_log10_norm, _scale_exponent, _steps)

    s0 = _initial_state(params, None)
    S = s0.size
    top = list(range(top_h.start, top_h.stop))

    def run(B, prec, finish):
        old = flint.ctx.prec
        try:
            flint.ctx.prec = prec
            with mpmath.workprec(prec):
                zero = B.point(0.0)
                Js, Xs = [], []
                for out, _ in _steps(B, params, x, s0, input_jacobian=True):
                    Js.append(B.to_arb_rows(out["full"], flint))
                    Xs.append(out["input"])
                g = [zero] * S
                if head_w is not None:
                    W = B.prepare(head_w)
                    rows = [[W[i, j] for j in range(head_w.shape[1])] for i in range(head_w.shape[0])] \
                        if B.name == "arb" else W
                    for j, r in enumerate(top):
                        g[r] = sum((rows[i][j] for i in range(1, head_w.shape[0])), rows[0][j])
                else:
                    for r in top:
                        g[r] = B.point(1.0)
                G = B.to_arb_rows(_square([g], zero), flint)
                E = flint.arb_mat(len(top), S)
                for i, r in enumerate(top):
                    E[i, r] = 1
                states, inputs, losses = [], [], []
                extra = [] if c_blocks is None else [[] for _ in range(2 + 2 * len(c_blocks))]
                c_all = [] if c_blocks is None else [int(i) for b in c_blocks for i in b]
                cuts = [0]
                for b in c_blocks or []:
                    cuts.append(cuts[-1] + len(b))
                F = [flint.arb(1)] * len(c_all)
                Q = None
                for k in range(1, T + 1):
                    if Q is None:
                        Xk = Xs[T - 1]
                        inputs.append(B.to_arb_rows(_square([Xk[r] for r in top], zero), flint))
                    else:
                        rows_q = E * Q  # h rows of the top layer of Q_{k-1}
                        P = finish(rows_q * B.to_arb_rows(Xs[T - k], flint))
                        inputs.append(flint.arb_mat(_square([[P[i, j] for j in range(P.ncols())]
                                                             for i in range(P.nrows())], flint.arb(0))))
                    Q = Js[T - k] if Q is None else finish(Q * Js[T - k])
                    states.append(Q)
                    v = finish(G * Q)
                    vh = [[v[0, j] for j in h_idx]]
                    losses.append(flint.arb_mat(_square(vh, flint.arb(0))))
                    if c_blocks is not None:
                        Jk = Js[T - k]
                        F = [F[i] * Jk[r, r] for i, r in enumerate(c_all)]  # J's (c, c) diagonal: f_t
                        if engine == "reference":
                            F = [flint.arb(v.mid()) for v in F]
                        C = len(c_all)
                        R = flint.arb_mat([[Q[r, q] - (F[i] if i == j else 0) for j, q in enumerate(c_all)]
                                           for i, r in enumerate(c_all)])
                        D = flint.arb_mat(C, C)
                        for i in range(C):
                            D[i, i] = F[i]
                        extra[0].append(D)
                        extra[1].append(R)
                        for m in range(len(c_blocks)):
                            a, b = cuts[m], cuts[m + 1]
                            extra[2 + 2 * m].append(flint.arb_mat([[D[i, j] for j in range(a, b)] for i in range(a, b)]))
                            extra[3 + 2 * m].append(flint.arb_mat([[R[i, j] for j in range(a, b)] for i in range(a, b)]))
                seqs = (states, inputs, losses, *extra)
                if engine == "reference":
                    return [[_mp_log10_norm(P, prec) for P in seq] for seq in seqs]
                return [[enclose_log10_norm(P, _scale_exponent(P), flint) for P in seq] for seq in seqs]
        finally:
            flint.ctx.prec = old

    base = 64 + PRINTED_DIGITS * 4 + 2 * math.ceil(math.log2(T * S + 1)) + _chaos_bits(lyapunov, T)
    if engine == "reference":  # two precisions, raised (at most _REFERENCE_ATTEMPTS runs) until they agree
        p1 = base
        a = run(MpBackend(), p1, lambda M: M.mid())
        tried = [p1]
        while True:
            p2 = p1 + p1 // 2 + 32
            b = run(MpBackend(), p2, lambda M: M.mid())
            tried.append(p2)
            agree = all(_agree(u, v) for sa, sb in zip(a, b) for u, v in zip(sa, sb))
            if agree or len(tried) >= _REFERENCE_ATTEMPTS:
                break
            a, p1 = b, p2
        return b, [[None] * T] * 3, (f"reference: the network in mpmath, suffix products at {p2} bits (radii "
                                     "dropped); " + ("agrees with the run at " if agree else
                                                      "does NOT agree with the run at ")
                                     + f"{p1} bits to {PRINTED_DIGITS} digits at every lag (state, input, loss"
                                     + (", LSTM path decomposition" if c_blocks is not None else "") + ")"
                                     + (f"; precisions tried (bits): {tried}" if len(tried) > 2 else ""))
    prec = base + 64 + int(math.ceil(wrapping_bits))
    tried = []
    for attempt in range(_CERTIFIED_ATTEMPTS):  # too few bits (the forward pass's radii grew): double
        seqs = run(ArbBackend(flint), prec, lambda M: M)
        bits = _min_bits(seqs[:3])  # the decomposition's rest may be 0 without a proof: not a reason to retry
        tried.append((prec, round(bits, 1)))
        if bits >= _CERTIFIED_TARGET_BITS or attempt == _CERTIFIED_ATTEMPTS - 1:
            break
        prec *= 2
    vals, bounds = [], []
    for encs in seqs:
        v, bd = [], []
        for enc in encs:
            lo, hi = enc.log10_lower, enc.log10_upper
            if enc.proven_zero:
                v.append(-math.inf)
            elif math.isfinite(lo) and math.isfinite(hi):
                v.append(0.5 * (lo + hi))
            else:
                v.append(math.nan)
            bd.append((lo, hi, min(enc.bits, 999.0)))
        vals.append(v)
        bounds.append(bd)
    paths = ""
    if len(seqs) > 3:
        held = [enc for encs in seqs[3:] for enc in encs if not enc.proven_zero and math.isfinite(enc.log10_lower)]
        open_ = sum(1 for encs in seqs[3:] for enc in encs if not enc.proven_zero and not math.isfinite(enc.log10_lower))
        paths = ("; the LSTM path decomposition enclosed too" + (f", at least {min(min(e.bits, 999.0) for e in held):.1f} "
                 "bits certified" if held else "") + (f"; {open_} of its enclosures contain 0 (no value: e.g. a rest "
                                                      "that is 0 at lag 1)" if open_ else ""))
    return vals, bounds, (f"certified: the network in Arb balls at {prec} bits, suffix products right to left; "
                          f"every lag's state, input and loss norm enclosed, at least {bits:.1f} bits certified"
                          + (f" (fewer than {_CERTIFIED_TARGET_BITS}: the lags without a certified digit have no "
                             "value)" if bits < _CERTIFIED_TARGET_BITS else "")
                          + paths + f"; attempts (prec, bits): {tried}")


def _min_bits(seqs) -> float:
    """The fewest certified bits of the enclosures in ``seqs`` that are not proven zeros (999: none)."""
    bits = [min(enc.bits, 999.0) for encs in seqs for enc in encs if not enc.proven_zero]
    return min(bits) if bits else 999.0


def lag_profile(model: str, engine: str = "fast", loss_scale: float | None = None, force: bool = False,
                compare_torch: bool = False, **options) -> LagProfile:
    """The per-lag profile (module docstring) of ``model`` with weights/inputs as for ``product``
    (``weights_path``, ``inputs_path``, ``module``, ``layer``, ``batch_index``, or seeded random)."""
    from gradproof.numerics.models import budgeted_model_jacobians
    from gradproof.numerics.stacked import stack_pass

    if engine not in ("fast", "reference", "certified"):
        raise InputError(f"unknown engine {engine!r}; choose fast, reference or certified")
    if loss_scale is not None:
        if not (math.isfinite(loss_scale) and loss_scale > 0):
            raise InputError(f"--loss-scale must be a positive finite number, got {loss_scale!r}")
    passes = {"fast": [("fast", 2 * len(FORMATS) + 3)],
              "reference": [("fast", 2 * len(FORMATS) + 3), ("reference", 7.0)],
              "certified": [("fast", 2 * len(FORMATS) + 3), ("certified", 8.0)]}[engine]
    mj = budgeted_model_jacobians(model, passes, force=force, **options)
    if engine != "fast" and not force:
        from gradproof.numerics.models import MAX_SECONDS

        T0, S0 = mj.jacobians.shape[0], mj.jacobians.shape[1]
        est = _NORM_SECONDS[engine] * T0 * float(S0) ** 3
        if est > MAX_SECONDS:
            raise InputError(f"the {engine} engine would take about {est:.3g} s for {T0} per-lag norms of "
                             f"{S0} x {S0} products (numerics.lags._NORM_SECONDS), more than the budget of "
                             f"{MAX_SECONDS:.0f} s (use --force, or --engine fast)")
    layers = mj.stack if mj.stack is not None else (mj.params,)
    x = mj.inputs
    sp = stack_pass(layers, x)
    T, S, _ = sp.M.shape
    top = len(layers) - 1
    top_h = sp.h_rows(top)
    h_mask = sp.h_mask()
    g = np.zeros(S)
    head = mj.head if (mj.head is not None and (options.get("layer") is None
                                                or options.get("layer") == mj.layers["count"] - 1)) else None
    head_w = None
    if head is not None:
        name, W, _b = head
        head_w = W
        g[top_h] = W.T @ np.ones(W.shape[0])
        loss = (f"L = sum of the outputs of the checkpoint's head {name} (y = W h_T + b, W {W.shape[0]} x "
                f"{W.shape[1]}) on h_T of the top layer")
    else:
        g[top_h] = 1.0
        loss = "L = sum of h_T of the top layer (no read-out head found)"
    state, inp, lossv, mants, exps = suffix_log10_norms(sp.M, sp.X, g, top_h, h_mask)
    precision = ("fast: float64 step Jacobians of the float64 trajectory (cancellation-free derivatives), suffix "
                 "products right to left with exact power-of-two rescaling")
    bounds = [None] * T
    fast_state, fast_inp, fast_loss = state, inp, lossv
    blocks = _c_blocks(sp) if model == "lstm" else None
    if engine != "fast":
        tp, tx = mj.truth_network()
        from gradproof.numerics.lyapunov import largest_lyapunov

        hp, allb, precision = _high_precision(engine, tp, tx, T, head_w, top_h, np.nonzero(h_mask)[0].tolist(),
                                              lyapunov=mj.truth_lyapunov(largest_lyapunov(mj.jacobians)),
                                              c_blocks=blocks,
                                              wrapping_bits=mj.truth_wrapping_bits() if engine == "certified" else 0.0)
        state, inp, lossv = (np.array(v, dtype=float) for v in hp[:3])
        bounds = allb[0]
        in_bounds, loss_bounds = allb[1], allb[2]
    is_lstm = model == "lstm"
    cell = rest = cell_layers = rest_layers = None
    if is_lstm:
        cell, rest, cell_layers, rest_layers = _cell_decomposition(sp, blocks, mants, exps)
        if engine != "fast":  # the engine's own values (the float64 ones stay under *_fast)
            fast_cell, fast_rest = cell, rest
            L = len(blocks)
            cell, rest = hp[3], hp[4]
            cell_layers = [[hp[5 + 2 * m][k] for m in range(L)] for k in range(T)]
            rest_layers = [[hp[6 + 2 * m][k] for m in range(L)] for k in range(T)]
    formats, per = {}, {}
    for name in FORMATS:
        Jf = stack_pass(layers, x, derivative=name).M
        vals, sub, zero, over = _simulate_matrix(Jf, name)
        lost = None
        for k in range(1, T + 1):
            ex = state[k - 1]
            v = vals[k - 1]
            if math.isfinite(ex) and (v is None or abs(v - ex) > _LOST):
                lost = k
                break
        z1, o1, lv1 = _backward(layers, x, name, 1.0, head_w)
        row = {"first_subnormal_lag": sub, "first_zero_lag": zero, "first_overflow_lag": over,
               "first_lost_lag": lost, "loss_zero_lag": z1, "loss_overflow": o1}
        lvs = None
        if loss_scale is not None:
            zs, os_, lvs = _backward(layers, x, name, float(loss_scale), head_w)
            row.update({"loss_zero_lag_scaled": zs, "loss_overflow_scaled": os_})
        dS, zd, lvd = _dynamic(layers, x, name, head_w)
        row.update({"dynamic_scale": dS, "loss_zero_lag_dynamic": zd})
        formats[name] = row
        per[name] = (vals, lv1, lvs, lvd, sub, zero, lost)
    lags = []
    for k in range(1, T + 1):
        item = {"lag": k, "log10_norm": _num(state[k - 1]), "log10_input": _num(inp[k - 1]),
                "log10_loss": _num(lossv[k - 1])}
        if engine != "fast":
            item.update({"log10_norm_fast": _num(fast_state[k - 1]), "log10_input_fast": _num(fast_inp[k - 1]),
                         "log10_loss_fast": _num(fast_loss[k - 1])})
        if engine == "certified" and bounds[k - 1] is not None:
            lo, hi, b = bounds[k - 1]
            item.update({"log10_norm_lower": _num(lo), "log10_norm_upper": _num(hi), "certified_bits": b})
            for key, bd in (("log10_input", in_bounds), ("log10_loss", loss_bounds)):
                lo, hi, b = bd[k - 1]
                item.update({f"{key}_lower": _num(lo), f"{key}_upper": _num(hi), f"{key}_certified_bits": b})
        if is_lstm:
            item["log10_cell_path"] = _num(cell[k - 1])
            item["log10_rest"] = _num(rest[k - 1])
            item["log10_cell_path_layers"] = [_num(v) for v in cell_layers[k - 1]]
            item["log10_rest_layers"] = [_num(v) for v in rest_layers[k - 1]]
            if engine != "fast":
                item["log10_cell_path_fast"] = _num(fast_cell[k - 1])
                item["log10_rest_fast"] = _num(fast_rest[k - 1])
        fm = {}
        for name in FORMATS:
            vals, lv1, lvs, lvd, sub, zero, lost = per[name]
            v = vals[k - 1]
            if zero is not None and k >= zero:
                verdict = "zero"
            elif v is None:
                verdict = "overflow"
            elif lost is not None and k >= lost:
                verdict = "no correct digit"
            elif sub is not None and k >= sub and v < math.log10(FORMATS[name].min_normal) + 1:
                verdict = "subnormal"
            else:
                verdict = "representable"
            fm[name] = {"log10_norm": v, "verdict": verdict, "log10_loss": lv1[k - 1],
                        "log10_loss_dynamic": lvd[k - 1]}
            if lvs is not None:
                fm[name]["log10_loss_scaled"] = lvs[k - 1]
        item["formats"] = fm
        lags.append(item)
    notes = list(mj.notes)
    torch_side = None
    if compare_torch:
        from gradproof.numerics.torch_compare import compare_torch as _compare

        torch_side = _compare(layers, x, head_w, loss_scale)
    return LagProfile(torch=torch_side,
        model=model, engine=engine, steps=T,
        state=("(h, c)" if model == "lstm" else "h") + (" of every layer" if len(layers) > 1 else ""),
        layers=mj.layers, loss=loss, loss_scale=None if loss_scale is None else float(loss_scale), lags=tuple(lags),
        formats=formats, precision=precision, weights=mj.weights_source, inputs=mj.inputs_source, notes=tuple(notes),
        method=("lag k: log10_norm = log10 ||d s_T / d s_{T-k}||_2 (engine), log10_input = log10 ||d h_T / d x_{T-k}||_2 "
                "(x numbered from 0), log10_loss = log10 ||d L / d h_{T-k}||_2, all three with the engine (the *_fast keys: "
                "float64); formats: the products "
                "simulated in each format (framework derivative formulas, one rounding per entry), loss_zero_lag*: "
                "the backward pass replayed operation by operation in the format (numerics.framework_backward) from (L S).backward(); dynamic: PyTorch GradScaler, init "
                "2^16, halved while a parameter (or state) gradient of the backward pass overflows (one pass, "
                "GradScaler's test); see numerics.lags"))


def format_lags_text(rep) -> str:
    """A table of the lag profile (every lag up to 10, then every 10th and the last)."""
    d = rep.to_dict() if hasattr(rep, "to_dict") else rep
    lines = [f"{d['model']} lag profile, {d['steps']} steps, engine {d['engine']}; s = {d['state']}",
             f"weights: {d['weights']}; inputs: {d['inputs']}", f"loss: {d['loss']}", f"precision: {d['precision']}"]
    is_lstm = d["model"] == "lstm"
    head = f"{'lag':>5} {'log10|ds_T/ds_T-k|':>19} {'log10|dh_T/dx|':>15} {'log10|dL/dh|':>13}"
    if is_lstm:
        head += f" {'cell path':>10} {'rest':>10}"
    lines.append(head)
    T = d["steps"]

    def f(v):
        return "0" if v is None else f"{v:.6g}"

    for item in d["lags"]:
        k = item["lag"]
        if k <= 10 or k % 10 == 0 or k == T:
            line = f"{k:>5} {f(item['log10_norm']):>19} {f(item['log10_input']):>15} {f(item['log10_loss']):>13}"
            if is_lstm:
                line += f" {f(item['log10_cell_path']):>10} {f(item['log10_rest']):>10}"
            lines.append(line)
    lines.append(f"{'format':<9} {'subnormal':>9} {'zero':>5} {'lost':>5} {'loss zero':>9} "
                 + ("{:>12} ".format("scaled zero") if d["loss_scale"] is not None else "")
                 + f"{'dynamic S':>10} {'dyn. zero':>9}")
    for name, r in d["formats"].items():
        def s(v):
            return "-" if v is None else str(v)
        lines.append(f"{name:<9} {s(r['first_subnormal_lag']):>9} {s(r['first_zero_lag']):>5} {s(r['first_lost_lag']):>5} "
                     f"{s(r['loss_zero_lag']):>9} "
                     + ("{:>12} ".format(s(r.get("loss_zero_lag_scaled"))) if d["loss_scale"] is not None else "")
                     + f"{r['dynamic_scale']:>10g} {s(r['loss_zero_lag_dynamic']):>9}")
    lines.append("(-: not reached within the sequence)")
    tc = d.get("torch")
    if tc is not None:
        lines.append(f"PyTorch {tc['torch_version']} beside gradproof (--compare-torch):")
        lines.append(f"{'lag':>5} {'gradproof':>19} {'torch autograd':>19} {'difference':>11}")
        for item, tv in zip(d["lags"], tc["log10_norm"]):
            k = item["lag"]
            if k <= 10 or k % 10 == 0 or k == T:
                g = item["log10_norm"]
                diff = "-" if g is None or tv is None else f"{g - tv:.2e}"
                lines.append(f"{k:>5} {f(g):>19} {f(tv):>19} {diff:>11}")
        for name, row in tc["formats"].items():
            ours = d["formats"][name]
            def s(v):
                return "-" if v is None else str(v)
            line = (f"{name}: zero lag of dL/ds gradproof {s(ours['loss_zero_lag'])} / torch {s(row['zero_lag'])}; "
                    f"dynamic scale {ours['dynamic_scale']:g} / {row['dynamic_scale']:g}, zero lag "
                    f"{s(ours['loss_zero_lag_dynamic'])} / {s(row['zero_lag_dynamic'])}")
            if "zero_lag_scaled" in row:
                line += f"; with S = {d['loss_scale']:g}: {s(ours.get('loss_zero_lag_scaled'))} / {s(row['zero_lag_scaled'])}"
            lines.append(line)
    for n in d["notes"]:
        lines.append(f"note: {n}")
    return "\n".join(lines)
