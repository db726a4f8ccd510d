r"""The backward pass of training in a low-precision format, operation by operation as PyTorch runs it.

Multiplying materialised step Jacobians in a format rounds once per step; a framework rounds after
every operation of the cell's backward pass. Near the bottom of the format's range (the last lags
before a gradient vanishes) the extra roundings into the subnormals decide the lag at which the
gradient becomes exactly 0, so this module replays the operations of the backward pass of
nn.RNNCell / nn.LSTMCell / nn.GRUCell (ATen's rnn_tanh_cell, lstm_cell and gru_cell composites, CPU)
with every tensor rounded to the format (numerics.formats: RNE, gradual underflow):

* elementwise products and sums: one rounding each;
* activations (sigmoid, tanh) in the forward pass: computed in float32 and rounded to the format
  (the float32 step decides ties: see ``_activation``);
* sigmoid_backward(g, y) = g (1 - y) y: in float16 EVERY operation rounded to float16 (ATen's CPU
  kernel for Half), in bfloat16 computed in float32 and rounded once; tanh_backward(g, y) =
  g (1 - y^2) in float32, rounded once, for both (measured against torch.ops.aten.*_backward);
* the matrix products of linear (addmm) and of linear's backward (grad @ W): accumulated wide,
  rounded once per entry.

The forward pass is replayed in the format as well, operation by operation in ATen's order
(gates = linear_hh(h) + linear_ih(x), each linear with its own bias, hence ``bias_split`` of the
loaded layers), weights rounded to the format (a model ``.to(dtype)``).

Measured against PyTorch 2.13 on CPU (tests/data/checkpoints/format_lags.json and
framework_ops.npz, written by tests/data/make_torch_*.py): the activation-backward kernels agree
bit for bit on 4,000 random pairs per format; the forward trajectories of all 7 models in float16
and bfloat16 agree bit for bit at every step; the zero lags and dynamic scales agree exactly in
56 of 56 cases (7 models x 2 formats x 4 quantities); the per-lag gradient norms agree exactly at
2190 of 2197 lags (the other 7, in the 2-layer LSTM in float16, by at most 5e-5 in log10): what is
not replayed is the BLAS kernel's float32 summation order inside the matrix products (3 entries in
18,000 random float16 (1 x 24) @ (24 x 6) products differ from a float64 sum rounded once), which
depends on the machine's BLAS. (An earlier replay, with the float64 trajectory rounded to the
format and sigmoid_backward evaluated wide, gave 55 of 56: the LSTM in float16 at S = 1024 ended
at lag 84 instead of PyTorch's 58, its last 30 lags a tail of one or two quanta of 2^-24.)
The loss enters as PyTorch's ``(loss * S).backward()``
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

from dataclasses import dataclass

import numpy as np

from gradproof.numerics.activations import np_activation, np_sigmoid
from gradproof.numerics.cells import LSTMParams, RNNParams, pytorch_layout
from gradproof.numerics.formats import get_format, round_to_format

__all__ = ["framework_backward"]


@dataclass(frozen=True)
class _FormatRounding:
    """R(v): v rounded to the format ``fmt`` (round to nearest even, gradual underflow)."""

    fmt: str

    def __call__(self, v):
        return round_to_format(v, self.fmt)


def _weights_in_format(p, R):
    """(W_hh, W_ih, b_ih, b_hh) of one layer rounded to the format (a model ``.to(dtype)``), the
    biases as stored (``cells.pytorch_layout``)."""
    w_ih, w_hh, b_ih, b_hh = pytorch_layout(p)
    return tuple(R(np.asarray(a, dtype=np.float64)) for a in (w_hh, w_ih, b_ih, b_hh))


def _wide(fmt) -> str:
    """The type ATen's CPU kernels compute float16/bfloat16 activations in (float32), else the format."""
    name = get_format(fmt).name
    return "float32" if name in ("float16", "bfloat16") else name


def _activation(values, R):
    """An activation's value as the framework stores it: computed in float32 (the float64 value
    rounded to float32, i.e. a correctly rounded float32 result) and rounded to the format. The
    float32 step matters at ties: sigmoid(3 * 2^-10) lies 5e-10 below a float16 midpoint, which
    float32 cannot resolve, so PyTorch's float16 sigmoid rounds up where a direct rounding rounds down."""
    return R(round_to_format(values, _wide(R.fmt)))


def _forward(p, u, R, weights):
    """One layer's forward pass as PyTorch's CPU cell composites run it in the format (ATen
    RNN.cpp: SimpleCell, LSTMCell, GRUCell), every operation rounded by R: a linear layer (addmm:
    wide accumulation, bias added, one rounding), the sum of the two linears, each activation
    (computed wide, rounded once), each product and sum of the state update. Checked bit for bit
    against PyTorch 2.13's float16 forward pass (100 steps, tests/numerics/test_framework_ops.py).
    Returns (h (T, n), caches)."""
    T, n = u.shape[0], p.hidden
    W_hh, W_ih, b_ih, b_hh = weights
    caches = []
    h = np.zeros(n)
    c = np.zeros(n)
    hs = np.empty((T, n))
    for t in range(T):
        if isinstance(p, RNNParams):
            z = R(R(W_hh @ h + b_hh) + R(W_ih @ u[t] + b_ih))
            h = _activation(np_activation(p.activation, z), R)
            caches.append({"z": z, "y": h})
        elif isinstance(p, LSTMParams):
            a = R(R(W_hh @ h + b_hh) + R(W_ih @ u[t] + b_ih))
            i, f, o = (_activation(np_sigmoid(a[k * n:(k + 1) * n]), R) for k in (0, 1, 3))
            g = _activation(np.tanh(a[2 * n:3 * n]), R)
            c_new = R(R(f * c) + R(i * g))
            tc = _activation(np.tanh(c_new), R)
            caches.append({"i": i, "f": f, "g": g, "o": o, "c_prev": c, "tc": tc})
            c = c_new
            h = R(o * tc)
        else:
            gi = R(W_ih @ u[t] + b_ih)
            gh = R(W_hh @ h + b_hh)
            r = _activation(np_sigmoid(R(gh[:n] + gi[:n])), R)
            z = _activation(np_sigmoid(R(gh[n:2 * n] + gi[n:2 * n])), R)
            hn = gh[2 * n:]
            nn_ = _activation(np.tanh(R(gi[2 * n:] + R(hn * r))), R)
            caches.append({"r": r, "z": z, "n": nn_, "hn": hn, "h_prev": h})
            h = R(R(R(h - nn_) * z) + nn_)
        hs[t] = h
    return hs, caches


def _opmath(fmt) -> str:
    """The type ATen's CPU kernels compute sigmoid_backward in for ``fmt`` (measured on PyTorch
    2.13 against torch.ops.aten.sigmoid_backward on 200,000 random pairs: float16 in float16,
    every operation rounded; bfloat16 in float32; tanh_backward in float32 for both)."""
    name = get_format(fmt).name
    return {"float16": "float16", "bfloat16": "float32"}.get(name, name)


def _sigmoid_backward(g, y, fmt):
    """ATen's sigmoid_backward(g, y) = g (1 - y) y, evaluated left to right in its opmath type
    (:func:`_opmath`) and rounded to ``fmt``."""
    W = _opmath(fmt)
    return round_to_format(round_to_format(round_to_format(g * round_to_format(1.0 - y, W), W) * y, W), fmt)


def _tanh_backward(g, y, fmt):
    """ATen's tanh_backward(g, y) = g (1 - y^2), in float32 for the 16-bit formats (in the format
    itself for float32 and float64), rounded to ``fmt``."""
    W = _wide(fmt)
    return round_to_format(round_to_format(g * round_to_format(1.0 - round_to_format(y * y, W), W), W), fmt)


def _cell_backward(p, cache, gh, gc, R, Wh, Wx):
    """(g_h', g_c', g_u) of one step, every operation rounded by R (sigmoid_backward and
    tanh_backward as ATen's CPU kernels evaluate them: :func:`_sigmoid_backward`)."""
    fmt = R.fmt
    if isinstance(p, RNNParams):
        y, z = cache["y"], cache["z"]
        act = p.activation
        if act == "tanh":
            gz = _tanh_backward(gh, y, fmt)
        elif act == "sigmoid":
            gz = _sigmoid_backward(gh, y, fmt)
        elif act == "relu":
            gz = R(gh * (z > 0))
        else:
            gz = gh
        return R(gz @ Wh), None, R(gz @ Wx), gz, gz
    if isinstance(p, LSTMParams):
        i, f, g, o, cp, tc = (cache[k] for k in ("i", "f", "g", "o", "c_prev", "tc"))
        g_o = R(gh * tc)
        g_tc = R(gh * o)
        g_c = R(gc + _tanh_backward(g_tc, tc, fmt))
        g_f = R(g_c * cp)
        g_i = R(g_c * g)
        g_g = R(g_c * i)
        g_cprev = R(g_c * f)
        gates = np.concatenate([_sigmoid_backward(g_i, i, fmt), _sigmoid_backward(g_f, f, fmt),
                                _tanh_backward(g_g, g, fmt), _sigmoid_backward(g_o, o, fmt)])
        return R(gates @ Wh), g_cprev, R(gates @ Wx), gates, gates
    r, z, nn_, hn, hp = (cache[k] for k in ("r", "z", "n", "hn", "h_prev"))
    g_z = R(gh * R(hp - nn_))
    g_d = R(gh * z)
    g_n = R(gh - g_d)
    g_an = _tanh_backward(g_n, nn_, fmt)
    g_r = R(g_an * hn)
    g_hn = R(g_an * r)
    a_r = _sigmoid_backward(g_r, r, fmt)
    a_z = _sigmoid_backward(g_z, z, fmt)
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
    R = _FormatRounding(fmt)
    x = np.asarray(inputs, dtype=np.float64)
    T = x.shape[0]
    caches, us, outs = [], [], []
    weights = [_weights_in_format(p, R) for p in layers]
    u = R(x)
    for p, w in zip(layers, weights):
        us.append(u)
        u, cache = _forward(p, u, R, w)
        outs.append(u)
        caches.append(cache)
    Wh = [w[0] for w in weights]
    Wx = [w[1] for w in weights]
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
