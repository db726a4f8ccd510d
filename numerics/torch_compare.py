"""``gradproof lags --compare-torch``: the same model in PyTorch (when installed), per lag beside gradproof.

The layers are loaded into nn.RNN / nn.LSTM / nn.GRU (``num_layers = L``; RNN and LSTM with
bias_ih = the effective bias, bias_hh = 0, the same function), the inputs given as one sequence.

* float64: for k = 1..T, ``torch.autograd.functional.jacobian`` of s_T as a function of s_{T-k}
  (the module run from step T-k with that state; s = every layer's h (and c), layer 0 first), its
  spectral norm by ``torch.linalg.matrix_norm(ord=2)``: log10 ||d s_T / d s_{T-k}||_2 by autograd.
* float16 / bfloat16 on CPU: the cells (nn.RNNCell / nn.LSTMCell / nn.GRUCell, one per layer, same
  weights) ``.to(dtype)``, the loss L = sum(head(h_T)) (or sum(h_T)) in float32 times the scale S,
  ``backward()``; the first lag with d L / d s_{T-k} exactly 0 (``retain_grad`` on every state), for
  S = 1, the given ``--loss-scale`` and the dynamic rule (2^16, halved while a parameter gradient is
  inf/nan, GradScaler's test).

torch is imported only here and only when asked; without it the request is refused with one line.
"""

from __future__ import annotations

import copy
import math

import numpy as np

from gradproof.numerics.cells import LSTMParams, RNNParams, pytorch_layout
from gradproof.numerics.errors import InputError

__all__ = ["compare_torch", "MAX_COMPARE_STEPS"]

MAX_COMPARE_STEPS = 2000


def _torch():
    try:
        import torch
    except ImportError:
        raise InputError("--compare-torch needs PyTorch (pip install torch); gradproof itself does not") from None
    return torch


def _module(torch, layers, dtype):
    p0 = layers[0]
    d, n, L = p0.input_size, p0.hidden, len(layers)
    if any(p.hidden != n for p in layers):
        raise InputError("--compare-torch: PyTorch's stacked modules need the same hidden size in every layer")
    if isinstance(p0, RNNParams):
        if p0.activation not in ("tanh", "relu"):
            raise InputError(f"--compare-torch: nn.RNN has no {p0.activation} nonlinearity (tanh or relu)")
        mod = torch.nn.RNN(d, n, num_layers=L, nonlinearity=p0.activation, dtype=dtype)
    elif isinstance(p0, LSTMParams):
        mod = torch.nn.LSTM(d, n, num_layers=L, dtype=dtype)
    else:
        mod = torch.nn.GRU(d, n, num_layers=L, dtype=dtype)
    with torch.no_grad():
        for k, p in enumerate(layers):
            t = (lambda a: torch.tensor(np.asarray(a), dtype=dtype))
            w_ih, w_hh, b_ih, b_hh = pytorch_layout(p)
            getattr(mod, f"weight_ih_l{k}").copy_(t(w_ih))
            getattr(mod, f"weight_hh_l{k}").copy_(t(w_hh))
            getattr(mod, f"bias_ih_l{k}").copy_(t(b_ih))
            getattr(mod, f"bias_hh_l{k}").copy_(t(b_hh))
    return mod


def _run_from(mod, lstm, n, L, xs, state, t0):
    if lstm:
        h = state.reshape(L, 2, n)[:, 0].unsqueeze(1).contiguous()
        c = state.reshape(L, 2, n)[:, 1].unsqueeze(1).contiguous()
        _, (hT, cT) = mod(xs[t0:, None], (h, c))
        return __import__("torch").stack([hT[:, 0], cT[:, 0]], dim=1).reshape(-1)
    _, hT = mod(xs[t0:, None], state.reshape(L, 1, n))
    return hT.reshape(-1)


def _float64_lags(torch, layers, x):
    mod = _module(torch, layers, torch.float64)
    lstm = isinstance(layers[0], LSTMParams)
    n, L = layers[0].hidden, len(layers)
    S = (2 if lstm else 1) * n * L
    xs = torch.tensor(x, dtype=torch.float64)
    T = x.shape[0]
    states = [torch.zeros(S, dtype=torch.float64)]
    with torch.no_grad():
        for t in range(1, T + 1):
            states.append(_run_from(mod, lstm, n, L, xs[t - 1:t], states[-1], 0))
    out = []
    for k in range(1, T + 1):
        J = torch.autograd.functional.jacobian(lambda s: _run_from(mod, lstm, n, L, xs, s, T - k), states[T - k])
        nrm = float(torch.linalg.matrix_norm(J, ord=2))
        out.append(math.log10(nrm) if nrm > 0 else None)
    return out


def _cells(torch, layers, dtype):
    out = []
    for p in layers:
        d, n = p.input_size, p.hidden
        if isinstance(p, RNNParams):
            c = torch.nn.RNNCell(d, n, nonlinearity=p.activation, dtype=torch.float64)
        elif isinstance(p, LSTMParams):
            c = torch.nn.LSTMCell(d, n, dtype=torch.float64)
        else:
            c = torch.nn.GRUCell(d, n, dtype=torch.float64)
        w = pytorch_layout(p)
        with torch.no_grad():
            for name, a in zip(("weight_ih", "weight_hh", "bias_ih", "bias_hh"), w):
                getattr(c, name).copy_(torch.tensor(np.asarray(a)))
        out.append(c.to(dtype))
    return out


def _zero_lag(torch, layers, x, head_w, dtype, scale):
    cells = [copy.deepcopy(c) for c in _cells(torch, layers, dtype)]
    lstm = isinstance(layers[0], LSTMParams)
    T = x.shape[0]
    u = torch.tensor(x).to(dtype)
    cur = []
    for p in layers:
        h = torch.zeros(p.hidden, dtype=dtype, requires_grad=True)
        c = torch.zeros(p.hidden, dtype=dtype, requires_grad=True) if lstm else None
        cur.append((h, c))
    states = [cur]
    for t in range(T):
        inp, nxt = u[t], []
        for k, cell in enumerate(cells):
            h, c = cur[k]
            if lstm:
                h2, c2 = cell(inp[None], (h[None], c[None]))
                h2, c2 = h2[0], c2[0]
                c2.retain_grad()
            else:
                h2, c2 = cell(inp[None], h[None])[0], None
            h2.retain_grad()
            nxt.append((h2, c2))
            inp = h2
        cur = nxt
        states.append(cur)
    top = cur[-1][0]
    extra = []
    if head_w is not None:
        Wy = torch.tensor(np.asarray(head_w)).to(dtype).requires_grad_(True)
        extra.append(Wy)
        y = top @ Wy.T
    else:
        y = top
    (y.float().sum() * scale).backward()
    grads = []
    for t in range(T + 1):
        parts = [v.grad if v.grad is not None else torch.zeros(v.shape, dtype=dtype)
                 for pair in states[t] for v in pair if v is not None]
        grads.append(torch.cat(parts).double())
    params = [p for c in cells for p in c.parameters()] + extra  # GradScaler's test: parameter gradients
    finite = all(p.grad is None or bool(torch.isfinite(p.grad).all()) for p in params)
    lag = next((k for k in range(1, T + 1) if not bool(grads[T - k].abs().max() > 0)), None)
    return lag, finite


def compare_torch(layers, x, head_w=None, loss_scale=None) -> dict:
    """PyTorch's per-lag values for the same model (module docstring), JSON-ready."""
    torch = _torch()
    x = np.asarray(x, dtype=np.float64)
    if x.shape[0] > MAX_COMPARE_STEPS:
        raise InputError(f"--compare-torch runs T autograd Jacobians (cost T^2): at most {MAX_COMPARE_STEPS} "
                         f"steps, got {x.shape[0]}")
    layers = tuple(layers)
    f64 = _float64_lags(torch, layers, x)
    formats = {}
    for dtype, name in ((torch.float16, "float16"), (torch.bfloat16, "bfloat16")):
        row = {"zero_lag": _zero_lag(torch, layers, x, head_w, dtype, 1.0)[0]}
        if loss_scale is not None:
            row["zero_lag_scaled"] = _zero_lag(torch, layers, x, head_w, dtype, float(loss_scale))[0]
        S = 2.0 ** 16
        while True:
            lag, finite = _zero_lag(torch, layers, x, head_w, dtype, S)
            if finite or S < 2.0 ** -60:
                break
            S /= 2
        row.update({"dynamic_scale": S, "zero_lag_dynamic": lag})
        formats[name] = row
    return {"torch_version": str(torch.__version__), "log10_norm": f64, "formats": formats,
            "method": ("float64: torch.autograd.functional.jacobian of s_T in s_{T-k} (nn.RNN/LSTM/GRU, num_layers = L), "
                       "matrix_norm(ord=2); float16/bfloat16: the cells .to(dtype) on CPU, (L S).backward() with L "
                       "in float32, first lag with d L / d s_{T-k} == 0 (numerics.torch_compare)")}
