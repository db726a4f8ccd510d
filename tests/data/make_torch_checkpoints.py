"""Regenerate the checkpoint files and PyTorch oracles of tests/test_checkpoints.py and tests/test_lags.py.

Not run by the test suite (torch is not a dependency). Run once with PyTorch and safetensors:

    python -m pip install torch==2.13.0 safetensors
    python tests/data/make_torch_checkpoints.py

Writes into tests/data/checkpoints/ (every file below a few kB):

* models saved the usual ways, seeded (torch.manual_seed(13)), input size D = 3, hidden N = 5:
  - ``lstm2_wrapped.npz`` / ``.safetensors``: ``Net.state_dict()`` of a module with ``rnn = nn.LSTM(3, 5,
    num_layers=2, batch_first=True)`` and a head ``fc = nn.Linear(5, 1)`` (keys ``rnn.weight_hh_l0``, ...,
    ``fc.weight``); float64;
  - ``gru2.npz``, ``rnn2.npz``: top-level ``state_dict()`` of a 2-layer nn.GRU / nn.RNN (tanh), float64;
  - ``train.pt`` (and ``train.npz``, the same dict flattened to dotted keys): a full training checkpoint
    ``{"model": Net.state_dict(), "optimizer": Adam.state_dict(), "epoch": 2}`` after two Adam steps;
  - ``gru_bf16.safetensors`` / ``gru_bf16.pt``: a wrapped 1-layer GRU with head, ``.to(torch.bfloat16)``;
  - ``lstm_proj.safetensors`` (proj_size=2), ``lstm_bidir.safetensors`` (bidirectional),
    ``two_modules.npz`` (an encoder and a decoder GRU): to be refused by name / asked for --module;
  - ``inputs_batch.npy``: a (B, T, D) = (3, 40, 3) float64 batch.
* ``stacked_oracle.npz``: for lstm2_wrapped (head fc), gru2 and rnn2 (no head: L = sum of h_T of the top
  layer) on sequence 1 of the batch, zero initial state, torch.autograd.functional.jacobian in float64:
  ``<m>.log10_state`` (k = 1..T: log10 ||d s_T / d s_{T-k}||_2, s = (h, c) of every layer, layer 0
  first, the LSTM's h before c), ``<m>.log10_input`` (log10 ||d h_T / d x_{T-k}||_2, h_T of the top
  layer), ``<m>.log10_loss`` (log10 ||d L / d h_{T-k}||_2, the h parts of every layer of s_{T-k}).
* ``format_lags.json``: PyTorch float16 and bfloat16 backward passes on CPU (whole model ``.to(dtype)``,
  inputs too; loss L = sum(fc(h_T)) computed in float32, multiplied by the loss scale S in float32;
  backward gives the gradients of every state s_t = (h_t[, c_t]) (``retain_grad``)). The first lag k with
  dL/ds_{T-k} exactly 0 in every entry, for S = 1 and for PyTorch's dynamic rule at one backward pass
  (GradScaler: start at 2^16, halve while a parameter gradient is inf or nan). Models: 1-layer RNN (two
  contraction strengths), LSTM and GRU (two each), a 2-layer LSTM (two LSTMCells, layer 1 reading h of
  layer 0), hidden 6, D = 2, T = 100, also with a fixed scale S = 1024; weights and inputs rounded to bfloat16
  values (exact in float16 too, so both formats see the same numbers), stored in float32 as
  ``fmt_<name>.safetensors`` with ``fmt_inputs.npy``.
"""

import copy
import json
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import save_file

OUT = Path(__file__).with_name("checkpoints")
OUT.mkdir(exist_ok=True)
torch.manual_seed(13)
D, N, T, B = 3, 5, 40, 3


class Net(torch.nn.Module):
    def __init__(self, cls, layers, **kw):
        super().__init__()
        self.rnn = cls(D, N, num_layers=layers, batch_first=True, **kw)
        self.fc = torch.nn.Linear(N, 1)


def save_npz(path, sd):
    np.savez(path, **{k: v.detach().numpy() for k, v in sd.items()})


def flatten(obj, prefix=""):
    out = {}
    if isinstance(obj, dict):
        for k, v in obj.items():
            out.update(flatten(v, f"{prefix}{k}."))
    elif isinstance(obj, (list, tuple)):
        for i, v in enumerate(obj):
            out.update(flatten(v, f"{prefix}{i}."))
    elif torch.is_tensor(obj):
        out[prefix[:-1]] = obj.detach().clone()
    return out


torch.set_default_dtype(torch.float64)
lstm2 = Net(torch.nn.LSTM, 2)
gru2 = torch.nn.GRU(D, N, num_layers=2, batch_first=True)
rnn2 = torch.nn.RNN(D, N, num_layers=2, batch_first=True, nonlinearity="tanh")
with torch.no_grad():
    for p in list(lstm2.parameters()) + list(gru2.parameters()) + list(rnn2.parameters()):
        p.mul_(2.0)  # torch's default init is small: make the dynamics less trivial
x = torch.randn(B, T, D)
np.save(OUT / "inputs_batch.npy", x.numpy())
save_npz(OUT / "lstm2_wrapped.npz", lstm2.state_dict())
save_file({k: v.contiguous() for k, v in lstm2.state_dict().items()}, OUT / "lstm2_wrapped.safetensors")
save_npz(OUT / "gru2.npz", gru2.state_dict())
save_npz(OUT / "rnn2.npz", rnn2.state_dict())

# a full training checkpoint after two Adam steps
opt = torch.optim.Adam(lstm2.parameters(), lr=1e-3)
train_model = Net(torch.nn.LSTM, 2)
train_model.load_state_dict(lstm2.state_dict())
opt = torch.optim.Adam(train_model.parameters(), lr=1e-3)
for _ in range(2):
    opt.zero_grad()
    out, _ = train_model.rnn(x)
    train_model.fc(out[:, -1]).pow(2).mean().backward()
    opt.step()
ckpt = {"model": train_model.state_dict(), "optimizer": opt.state_dict(), "epoch": 2}
torch.save(ckpt, OUT / "train.pt")
np.savez(OUT / "train.npz", **{k: v.numpy() for k, v in flatten(ckpt).items()})

# bfloat16 weights, wrapped GRU with a head
bf = Net(torch.nn.GRU, 1).to(torch.bfloat16)
save_file({k: v.contiguous() for k, v in bf.state_dict().items()}, OUT / "gru_bf16.safetensors")
torch.save(bf.state_dict(), OUT / "gru_bf16.pt")

# refused by name / ambiguous
save_file({k: v.contiguous() for k, v in torch.nn.LSTM(D, N, proj_size=2).state_dict().items()},
          OUT / "lstm_proj.safetensors")
save_file({k: v.contiguous() for k, v in torch.nn.LSTM(D, N, bidirectional=True).state_dict().items()},
          OUT / "lstm_bidir.safetensors")
two = {**{f"encoder.{k}": v for k, v in torch.nn.GRU(D, N).state_dict().items()},
       **{f"decoder.{k}": v for k, v in torch.nn.GRU(N, N).state_dict().items()}}
save_npz(OUT / "two_modules.npz", two)


# ------------------------------------------------------------------ float64 stacked oracle
def run_from(module, kind, xs, state, t0):
    """Run the stack from step t0 (state s_{t0} as a flat vector) to T; returns (s_T, h_T of the top)."""
    L = module.num_layers
    if kind == "lstm":
        h = state.reshape(L, 2, N)[:, 0].unsqueeze(1).contiguous()
        c = state.reshape(L, 2, N)[:, 1].unsqueeze(1).contiguous()
        out, (hT, cT) = module(xs[None, t0:], (h, c))
        sT = torch.stack([hT[:, 0], cT[:, 0]], dim=1).reshape(-1)
    else:
        h = state.reshape(L, 1, N)
        out, hT = module(xs[None, t0:], h)
        sT = hT.reshape(-1)
    return sT, out[0, -1]


def states(module, kind, xs):
    """s_t for t = 0..T (flat, zero initial state) by running t steps from zero."""
    L = module.num_layers
    S = 2 * L * N if kind == "lstm" else L * N
    out = [torch.zeros(S)]
    for t in range(1, T + 1):
        out.append(run_from(module, kind, xs[:t], torch.zeros(S), 0)[0])
    return out


def log10_norm(M):
    s = torch.linalg.matrix_norm(M.reshape(M.shape[0], -1) if M.dim() > 1 else M[None], ord=2)
    return float(torch.log10(s)) if s > 0 else float("nan")


oracle = {}
xs = x[1]
for name, module, kind, head in (("lstm2", lstm2.rnn, "lstm", lstm2.fc), ("gru2", gru2, "gru", None),
                                 ("rnn2", rnn2, "rnn", None)):
    st = states(module, kind, xs)
    ls, ll = [], []
    L = module.num_layers
    per = 2 * N if kind == "lstm" else N
    hmask = torch.tensor([(i % per) < N for i in range(L * per)])
    for k in range(1, T + 1):
        t0 = T - k
        J = torch.autograd.functional.jacobian(lambda s: run_from(module, kind, xs, s, t0)[0], st[t0])
        ls.append(log10_norm(J))

        def loss(s):
            hT = run_from(module, kind, xs, s, t0)[1]
            return head(hT).sum() if head is not None else hT.sum()

        g = torch.autograd.functional.jacobian(loss, st[t0])
        ll.append(float(torch.log10(torch.linalg.vector_norm(g[hmask]))))
    Jx = torch.autograd.functional.jacobian(lambda xx: run_from(module, kind, xx, torch.zeros(L * per), 0)[1], xs)
    li = [log10_norm(Jx[:, T - k, :]) for k in range(1, T + 1)]
    oracle[f"{name}.log10_state"] = np.array(ls)
    oracle[f"{name}.log10_input"] = np.array(li)
    oracle[f"{name}.log10_loss"] = np.array(ll)
oracle["meta"] = np.array(f"torch {torch.__version__}, float64, T={T}, D={D}, N={N}, sequence 1 of inputs_batch")
np.savez(OUT / "stacked_oracle.npz", **oracle)


# ------------------------------------------------------------------ float16 / bfloat16 zero lags
def bf16_values(t):
    return t.to(torch.bfloat16).to(torch.float32)


torch.set_default_dtype(torch.float32)
TF, DF, NF = 100, 2, 6
gen = torch.Generator().manual_seed(7)
xf = bf16_values(torch.randn(TF, DF, generator=gen))
np.save(OUT / "fmt_inputs.npy", xf.numpy())
SCALE = 1024.0
cells = {"rnn": ("rnn", torch.nn.RNNCell, 1.0, 1), "rnn_fast": ("rnn", torch.nn.RNNCell, 0.35, 1),
         "lstm": ("lstm", torch.nn.LSTMCell, 1.0, 1), "lstm_fast": ("lstm", torch.nn.LSTMCell, 0.45, 1),
         "gru": ("gru", torch.nn.GRUCell, 1.0, 1), "gru_fast": ("gru", torch.nn.GRUCell, 0.3, 1),
         "lstm2": ("lstm", torch.nn.LSTMCell, 0.6, 2)}
result = {"meta": {"torch": torch.__version__, "T": TF, "D": DF, "N": NF, "fixed_scale": SCALE,
                   "rule": "dynamic: S = 2^16, halved while any parameter gradient is inf or nan (GradScaler)",
                   "zero_lag": "first k with dL/ds_{T-k} == 0 in every entry of every layer (null: not within T)"}}


def zero_lag(kind, cells_, fc, dtype, scale):
    cs_ = [c.to(dtype) for c in cells_]
    head = fc.to(dtype)
    u = xf.to(dtype)
    L = len(cs_)
    states = []  # states[t] = list over layers of (h, c)
    cur = []
    for _ in range(L):
        h = torch.zeros(NF, dtype=dtype, requires_grad=True)
        c = torch.zeros(NF, dtype=dtype, requires_grad=True) if kind == "lstm" else None
        cur.append((h, c))
    states.append(cur)
    for t in range(TF):
        inp = u[t]
        nxt = []
        for layer, cell in enumerate(cs_):
            h, c = cur[layer]
            if kind == "lstm":
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
    loss = head(cur[-1][0]).float().sum() * scale
    loss.backward()
    grads = []
    for t in range(TF + 1):
        parts = []
        for h, c in states[t]:
            for v in (h, c):
                if v is not None:
                    parts.append(torch.zeros(NF, dtype=dtype) if v.grad is None else v.grad)
        grads.append(torch.cat(parts).double())
    # GradScaler's test: inf/nan in any parameter gradient (cells and head)
    params = [p for c in cs_ for p in c.parameters()] + list(head.parameters())
    finite = all(p.grad is None or bool(torch.isfinite(p.grad).all()) for p in params)
    lag = next((k for k in range(1, TF + 1) if not bool(grads[TF - k].abs().max() > 0)), None)
    return lag, finite


for name, (kind, cls, gain, layers) in cells.items():
    cell_list = [cls(DF if k == 0 else NF, NF) for k in range(layers)]
    fc = torch.nn.Linear(NF, 1)
    with torch.no_grad():
        for cell in cell_list:
            for p in cell.parameters():
                p.copy_(bf16_values(p * (3.0 * gain)))
        for p in fc.parameters():
            p.copy_(bf16_values(p))
    sd = {}
    for k, cell in enumerate(cell_list):
        sd.update({f"cell.{key}_l{k}": v.detach().clone().contiguous() for key, v in cell.state_dict().items()})
    sd.update({f"fc.{k}": v.detach().clone().contiguous() for k, v in fc.state_dict().items()})
    save_file(sd, OUT / f"fmt_{name}.safetensors")
    row = {}
    for dtype, label in ((torch.float16, "float16"), (torch.bfloat16, "bfloat16")):
        def run(scale):
            return zero_lag(kind, copy.deepcopy(cell_list), copy.deepcopy(fc), dtype, scale)
        plain, ok = run(1.0)
        fixed, ok_fixed = run(SCALE)
        S = 2.0 ** 16
        while True:
            lag, finite = run(S)
            if finite or S < 2.0 ** -30:
                break
            S /= 2
        row[label] = {"zero_lag": plain, "finite": ok, "zero_lag_fixed_scale": fixed, "finite_fixed_scale": ok_fixed,
                      "dynamic_scale": S, "zero_lag_dynamic": lag}
    result[name] = row
(OUT / "format_lags.json").write_text(json.dumps(result, indent=1, sort_keys=True) + "\n")
print(json.dumps(result, indent=1, sort_keys=True))
