"""Regenerate ``torch_reference.npz``: PyTorch autograd Jacobians as an independent oracle.

Not run by the test suite (torch is not a dependency). Run once with PyTorch installed:

    python -m pip install torch==2.13.0
    python tests/data/make_torch_reference.py

For nn.RNNCell (tanh), nn.LSTMCell and nn.GRUCell in float64 with seeded random weights, it
stores each cell's state_dict exactly as ``np.savez(path, **{k: v.detach().numpy() ...})``
would (keys weight_ih, weight_hh, bias_ih, bias_hh, prefixed by the model name), the inputs,
and ``torch.autograd.functional.jacobian`` of the final state with respect to the initial
state after T steps: h for the RNN and GRU, (h, c) stacked in that order for the LSTM.
The forget-gate biases are set to 1 in both bias vectors (effective 2, PyTorch's double bias).
"""

from pathlib import Path

import numpy as np
import torch

T, D, N = 6, 3, 4
torch.manual_seed(20240601)
torch.set_default_dtype(torch.float64)
out = {}
x = torch.randn(T, D)
out["inputs"] = x.numpy()


def unroll(cell, state0, kind):
    def f(s0):
        if kind == "lstm":
            h, c = s0[:N], s0[N:]
            for t in range(T):
                h, c = cell(x[t:t + 1], (h[None], c[None]))
                h, c = h[0], c[0]
            return torch.cat([h, c])
        h = s0
        for t in range(T):
            h = cell(x[t:t + 1], h[None])[0]
        return h
    return torch.autograd.functional.jacobian(f, state0)


for kind, cell in (("rnn", torch.nn.RNNCell(D, N, nonlinearity="tanh")),
                   ("lstm", torch.nn.LSTMCell(D, N)),
                   ("gru", torch.nn.GRUCell(D, N))):
    with torch.no_grad():
        for p in cell.parameters():
            p.uniform_(-0.9, 0.9)
        if kind == "lstm":
            cell.bias_ih[N:2 * N] = 1.0  # gate order i, f, g, o: the forget block
            cell.bias_hh[N:2 * N] = 1.0
    for k, v in cell.state_dict().items():
        out[f"{kind}.{k}_l0"] = v.detach().numpy()
    s0 = torch.randn(2 * N if kind == "lstm" else N) * 0.5
    out[f"{kind}.state0"] = s0.numpy()
    out[f"{kind}.jacobian"] = unroll(cell, s0, kind).numpy()

meta = f"torch {torch.__version__}, float64, T={T}, d={D}, n={N}, seed 20240601"
out["meta"] = np.array(meta)
np.savez(Path(__file__).with_name("torch_reference.npz"), **out)
print("wrote torch_reference.npz:", meta)
