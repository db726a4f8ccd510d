"""Regenerate tests/data/checkpoints/framework_ops.npz, the PyTorch oracle of
tests/numerics/test_framework_ops.py (not run by the test suite; torch is not a dependency):

    python -m pip install torch==2.13.0 safetensors
    python tests/data/make_torch_framework_ops.py

Contents (PyTorch on CPU, every tensor in the format):

* ``kernel.<fmt>.g``, ``kernel.<fmt>.y``, ``kernel.<fmt>.yt``: 4,000 random gradients and
  sigmoid/tanh outputs in float16 and bfloat16 (seeded), stored as float64 (exact);
  ``kernel.<fmt>.sigmoid_backward`` = torch.ops.aten.sigmoid_backward(g, y) and
  ``kernel.<fmt>.tanh_backward`` = torch.ops.aten.tanh_backward(g, yt), as float64 (exact);
* for each model of format_lags.json (fmt_<name>.safetensors, fmt_inputs.npy: the cells stepped
  as make_torch_checkpoints.py steps them) and fmt in float16, bfloat16:
  ``<name>.<fmt>.h`` (T, L n): the forward pass's h_t of every layer, as float64 (exact), and
  ``<name>.<fmt>.S<scale>.log10_h_grad`` (T,): log10 ||dL/dh_{T-k}||_2 / S for k = 1..T over the
  h entries of every layer, h^l_{T-k} as a coordinate of the stack's state s_{T-k} (the gradient of
  the copy of h^l_t that the next step's recurrence reads; for a stack this leaves out the path
  through layer l+1 at the same step, as d L / d s_t does), retained as float16/bfloat16, the norm
  taken in float64;
  NaN where the gradient is exactly 0), for S = 1 and S = 1024, L = sum(fc(h_T)) in float32 times S.
"""

import json
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import load_file

DATA = Path(__file__).with_name("checkpoints")
META = json.loads((DATA / "format_lags.json").read_text())
x = torch.from_numpy(np.load(DATA / "fmt_inputs.npy"))
T, D = x.shape
out = {}
gen = torch.Generator().manual_seed(11)
for dtype, fmt in ((torch.float16, "float16"), (torch.bfloat16, "bfloat16")):
    g = (torch.randn(4000, generator=gen) * 10).to(dtype)
    y = torch.rand(4000, generator=gen).to(dtype)
    yt = (torch.rand(4000, generator=gen) * 2 - 1).to(dtype)
    out[f"kernel.{fmt}.g"], out[f"kernel.{fmt}.y"], out[f"kernel.{fmt}.yt"] = (v.double().numpy() for v in (g, y, yt))
    out[f"kernel.{fmt}.sigmoid_backward"] = torch.ops.aten.sigmoid_backward(g, y).double().numpy()
    out[f"kernel.{fmt}.tanh_backward"] = torch.ops.aten.tanh_backward(g, yt).double().numpy()

CELLS = {"rnn": torch.nn.RNNCell, "lstm": torch.nn.LSTMCell, "gru": torch.nn.GRUCell}
for name in sorted(k for k in META if k != "meta"):
    kind = name.split("_")[0].rstrip("2")
    sd = load_file(DATA / f"fmt_{name}.safetensors")
    layers = sorted({int(k.rsplit("_l", 1)[1]) for k in sd if k.startswith("cell.")})
    n = sd["cell.weight_hh_l0"].shape[1]
    for dtype, fmt in ((torch.float16, "float16"), (torch.bfloat16, "bfloat16")):
        for scale in (1.0, 1024.0):
            cells = []
            for L in layers:
                cell = CELLS[kind](D if L == 0 else n, n)
                with torch.no_grad():
                    for w in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
                        getattr(cell, w).copy_(sd[f"cell.{w}_l{L}"])
                cells.append(cell.to(dtype))
            fc = torch.nn.Linear(n, 1)
            with torch.no_grad():
                fc.weight.copy_(sd["fc.weight"])
                fc.bias.copy_(sd["fc.bias"])
            fc = fc.to(dtype)
            u = x.to(dtype)
            cur = [(torch.zeros(n, dtype=dtype), torch.zeros(n, dtype=dtype) if kind == "lstm" else None)
                   for _ in layers]
            hs = []
            for t in range(T):
                inp = u[t]
                nxt = []
                for cell, (h, c) in zip(cells, cur):
                    if kind == "lstm":
                        h2, c2 = cell(inp[None], (h[None], c[None]))
                        h2, c2 = h2[0], c2[0]
                    else:
                        h2, c2 = cell(inp[None], h[None])[0], None
                    rec = h2.clone()  # the copy the next step's recurrence reads: its gradient is
                    rec.retain_grad()  # dL/dh as a coordinate of the stack's state s_t (not via layer l+1 at t)
                    nxt.append((rec, c2))
                    inp = h2
                cur = nxt
                hs.append([h for h, _ in cur])
            loss = fc(cur[-1][0]).float().sum() * scale
            loss.backward()
            logs = np.full(T, np.nan)
            for k in range(1, T):  # dL/dh_{T-k}, k = 1..T-1 (h_0 = 0 is no tensor of the graph)
                gr = torch.cat([h.grad if h.grad is not None else torch.zeros(n, dtype=dtype)
                                for h in hs[T - 1 - k]]).double().numpy()
                nrm = float(np.linalg.norm(gr))
                logs[k - 1] = np.log10(nrm) - np.log10(scale) if nrm > 0 else np.nan
            out[f"{name}.{fmt}.S{int(scale)}.log10_h_grad"] = logs
            if scale == 1.0:
                out[f"{name}.{fmt}.h"] = np.array([torch.cat(hh).detach().double().numpy() for hh in hs])
np.savez_compressed(DATA / "framework_ops.npz", **out)
print(f"wrote {DATA / 'framework_ops.npz'}: {len(out)} arrays")
