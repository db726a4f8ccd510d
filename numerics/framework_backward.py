r"""The backward pass of training in a low-precision format, operation by operation as PyTorch runs it.

Multiplying materialised step Jacobians in a format rounds once per step; a framework rounds after
every operation of the cell's backward pass. Near the bottom of the format's range (the last lags
before a gradient vanishes) the extra roundings into the subnormals decide the lag at which the
gradient becomes exactly 0, so this module replays the operations of the backward pass of
nn.RNNCell / nn.LSTMCell / nn.GRUCell (ATen's rnn_tanh_cell, lstm_cell and gru_cell composites, CPU)
with every tensor rounded to the format (numerics.formats: RNE, gradual underflow):

* elementwise products and sums: one rounding each;
* tanh_backward(g, y) = g (1 - y^2) and sigmoid_backward(g, y) = g y (1 - y): evaluated in a wider
  type and rounded once (ATen's CPU kernels for Half/BFloat16 compute them in float);
* the matrix products of linear's backward (grad @ W): accumulated wide, rounded once per entry.

The forward values the backward pass reads (gates, states) are the float64 trajectory rounded to the
format, the weights are rounded to the format (a model ``.to(dtype)``). (Replaying the forward pass
operation by operation in the format as well was tried: it did not agree better with PyTorch.)

Measured against PyTorch 2.13 on CPU (tests/data/checkpoints/format_lags.json, 7 models x 2 formats x
4 quantities): the zero lags and the dynamic scale agree exactly in 55 of 56 cases; in the last one
(LSTM, float16, fixed scale 1024) the gradient lives on as one or two quanta of 2^-24 for 30 lags
(gradproof: zero at lag 84, PyTorch: 58), where each step's survival is decided by a single rounding
of 2^-24 f (f the forget gate, near 1/2): no simulation short of PyTorch's exact operation order
reproduces such a tail. Tried without closing it (gradproof stays at 84): the forward pass replayed in
the format in the exact order of ATen's CPU ``LSTMCell::operator()`` (``linear_hh(hx).add_(linear_ih(x))``
with the two biases separate, ``sigmoid_``/``tanh_`` rounded, ``(f * cx).add_(i * g)``, ``o * tanh(cy)``);
the matrix products of the backward pass accumulated in float32 (sequentially, and with the four
interleaved partial sums of ATen's ``cpublas`` ``sum``); and accumulated in the format itself (worse:
3 cases differ). In gradproof's replay the tail is one quantum of d L / d c in unit 4 that survives
lags 54..83 because f_t > 1/2 there in float16 (the closest value 0.50195, 4 ulps above 1/2, so no
forward rounding flips it); PyTorch's gradient dies at lag 58, which needs a different quantum in
d L / d h near lag 58, where gradproof has +-1 quantum in three units. The loss enters as PyTorch's ``(loss * S).backward()``
with the loss in float32: the gradient of the head's output is S rounded to the format (inf if S
exceeds the format's range), then linear's backward W^T; without a head the gradient of h_T is S.

Per cell (g_h, g_c the incoming gradients of h_t, c_t; u the layer's input):
  RNN:  g_z = tanh_backward(g_h, h_t);  g_h' = g_z W_hh;  g_u = g_z W_ih
  LSTM: g_o = g_h tanh(c_t);  g_c* = g_c + tanh_backward(g_h o, tanh(c_t));
        g_f = g_c* c_{t-1};  g_i = g_c* g;  g_g = g_c* i;  g_c' = g_c* f;
        gates' gradients via sigmoid/tanh_backward;  g_h' = g_gates W_hh;  g_u = g_gates W_ih
  GRU (h' = n + z (h - n)):  g_z = g_h (h - n);  g_d = g_h z;  g_n = g_h - g_d;
        g_an = tanh_backward(g_n, n);  g_r = g_an hn;  g_hn = g_an r  (hn = W_hn h + b_hn);
        g_h' = [sigmoid_backward(g_r, r), sigmoid_backward(g_z, z), g_hn] W_hh + g_d;  g_u = [.., .., g_an] W_ih
In a stack the gradient of h^{l-1}_t is the sum of its own recurrence's and layer l's g_u (one rounding).
"""

from __future__ import annotations

import numpy as np

from gradproof.numerics.activations import np_activation, np_sigmoid
from gradproof.numerics.cells import LSTMParams, RNNParams

__all__ = ["framework_backward"]


def _forward(p, u):
    """float64 trajectory of one layer with the caches its backward pass needs; returns (h (T, n), caches)."""
    T, n = u.shape[0], p.hidden
    caches = []
    h = np.zeros(n)
    c = np.zeros(n)
    hs = np.empty((T, n))
    for t in range(T):
        if isinstance(p, RNNParams):
            z = p.W_rec @ h + p.W_in @ u[t] + p.b
            h = np_activation(p.activation, z)
            caches.append({"z": z, "y": h})
        elif isinstance(p, LSTMParams):
            a = p.W_ih @ u[t] + p.W_hh @ h + p.b
            i, f, o = (np_sigmoid(a[k * n:(k + 1) * n]) for k in (0, 1, 3))
            g = np.tanh(a[2 * n:3 * n])
            c_new = f * c + i * g
            tc = np.tanh(c_new)
            caches.append({"i": i, "f": f, "g": g, "o": o, "c_prev": c, "tc": tc})
            c = c_new
            h = o * tc
        else:
            gi = p.W_ih @ u[t] + p.b_ih
            gh = p.W_hh @ h + p.b_hh
            r = np_sigmoid(gi[:n] + gh[:n])
            z = np_sigmoid(gi[n:2 * n] + gh[n:2 * n])
            hn = gh[2 * n:]
            nn_ = np.tanh(gi[2 * n:] + r * hn)
            caches.append({"r": r, "z": z, "n": nn_, "hn": hn, "h_prev": h})
            h = nn_ + z * (h - nn_)
        hs[t] = h
    return hs, caches


def _cell_backward(p, cache, gh, gc, R, Wh, Wx):
    """(g_h', g_c', g_u) of one step, every operation rounded by R."""
    if isinstance(p, RNNParams):
        y, z = cache["y"], cache["z"]
        act = p.activation
        if act == "tanh":
            gz = R(gh * (1.0 - R(y) ** 2))
        elif act == "sigmoid":
            ys = R(y)
            gz = R(gh * ys * (1.0 - ys))
        elif act == "relu":
            gz = R(gh * (z > 0))
        else:
            gz = gh
        return R(gz @ Wh), None, R(gz @ Wx), gz, gz
    if isinstance(p, LSTMParams):
        i, f, g, o, cp, tc = (R(cache[k]) for k in ("i", "f", "g", "o", "c_prev", "tc"))
        g_o = R(gh * tc)
        g_tc = R(gh * o)
        g_c = R(gc + R(g_tc * (1.0 - tc * tc)))
        g_f = R(g_c * cp)
        g_i = R(g_c * g)
        g_g = R(g_c * i)
        g_cprev = R(g_c * f)
        gates = np.concatenate([R(g_i * i * (1.0 - i)), R(g_f * f * (1.0 - f)), R(g_g * (1.0 - g * g)),
                                R(g_o * o * (1.0 - o))])
        return R(gates @ Wh), g_cprev, R(gates @ Wx), gates, gates
    r, z, nn_, hn, hp = (R(cache[k]) for k in ("r", "z", "n", "hn", "h_prev"))
    g_z = R(gh * R(hp - nn_))
    g_d = R(gh * z)
    g_n = R(gh - g_d)
    g_an = R(g_n * (1.0 - nn_ * nn_))
    g_r = R(g_an * hn)
    g_hn = R(g_an * r)
    a_r = R(g_r * r * (1.0 - r))
    a_z = R(g_z * z * (1.0 - z))
    gvh = np.concatenate([a_r, a_z, g_hn])
    gvx = np.concatenate([a_r, a_z, g_an])
    g_hprev = R(R(gvh @ Wh) + g_d)
    g_u = R(gvx @ Wx)
    return g_hprev, None, g_u, gvh, gvx


def framework_backward(layers, inputs, fmt, scale: float, head_weight=None):
    """The backward pass in ``fmt`` from (L S).backward(), L at the last step (module docstring).

    Returns (first lag k with d L / d s_{T-k} exactly 0, overflowed, per-lag log10 ||d L / d h_{T-k}|| / S
    over the h entries of every layer (None when 0)). Overflowed: an inf/nan in a state gradient or in a
    parameter gradient (GradScaler's test: d L / d W = sum_t (gate gradient_t) (input_t)^T, each term and
    each accumulation rounded to the format, for every weight, bias and the head); then the zero lag is
    None."""
    from gradproof.numerics.formats import round_to_format

    def R(v):
        return round_to_format(v, fmt)

    x = np.asarray(inputs, dtype=np.float64)
    T = x.shape[0]
    caches, us, outs = [], [], []
    u = x
    for p in layers:
        us.append(R(u))
        u, cache = _forward(p, u)
        outs.append(R(u))
        caches.append(cache)
    Wh = [R(p.W_rec if isinstance(p, RNNParams) else p.W_hh) for p in layers]
    Wx = [R(p.W_in if isinstance(p, RNNParams) else p.W_ih) for p in layers]
    L = len(layers)
    gh = [np.zeros(p.hidden) for p in layers]
    gc = [np.zeros(p.hidden) for p in layers]
    pg = [[np.zeros_like(Wh[k]), np.zeros_like(Wx[k]), np.zeros(Wh[k].shape[0]), np.zeros(Wx[k].shape[0])]
          for k in range(L)]
    vals = [None] * T
    zero_lag = None
    with np.errstate(over="ignore", invalid="ignore", under="ignore"):
        seed = R(np.array([float(scale)]))
        params_finite = bool(np.isfinite(seed[0]))
        if head_weight is not None:
            Wy = R(np.asarray(head_weight, dtype=np.float64))
            gy = R(np.full(Wy.shape[0], seed[0]))
            gh[-1] = R(gy @ Wy)
            params_finite = params_finite and bool(np.all(np.isfinite(R(np.outer(gy, outs[-1][-1])))))
        else:
            gh[-1] = R(np.full(layers[-1].hidden, seed[0]))
        if not np.all(np.isfinite(gh[-1])) or not params_finite:
            return None, True, vals
        for t in range(T - 1, -1, -1):
            new_h, new_c = [None] * L, [None] * L
            for k in range(L - 1, -1, -1):
                dh, dc, du, gvh, gvx = _cell_backward(layers[k], caches[k][t], gh[k], gc[k], R, Wh[k], Wx[k])
                h_prev = outs[k][t - 1] if t > 0 else np.zeros(layers[k].hidden)
                acc = pg[k]
                acc[0] = R(acc[0] + R(np.outer(gvh, h_prev)))
                acc[1] = R(acc[1] + R(np.outer(gvx, us[k][t])))
                acc[2] = R(acc[2] + gvh)
                acc[3] = R(acc[3] + gvx)
                new_h[k], new_c[k] = dh, (dc if dc is not None else gc[k])
                if k > 0:
                    gh[k - 1] = R(gh[k - 1] + du)
            gh, gc = new_h, new_c
            lag = T - t
            allv = np.concatenate(gh + ([c for c in gc] if isinstance(layers[0], LSTMParams) else []))
            if not np.all(np.isfinite(allv)):
                return None, True, vals
            if not np.any(allv):
                zero_lag = lag  # every later gradient is 0: the parameter gradients are complete
                break
            nrm = float(np.linalg.norm(np.concatenate(gh)))
            vals[lag - 1] = (np.log10(nrm) - np.log10(float(scale))) if nrm > 0 else None
        if not all(np.all(np.isfinite(a)) for acc in pg for a in acc):
            return None, True, vals
    return zero_lag, False, vals
