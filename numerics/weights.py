"""Import weights saved from PyTorch (layer 0 of nn.RNN / nn.LSTM / nn.GRU) and input arrays.

Expected file: ``np.savez(path, **{k: v.detach().numpy() for k, v in model.state_dict().items()})``
with keys ``weight_ih_l0`` (G n x d), ``weight_hh_l0`` (G n x n), ``bias_ih_l0``, ``bias_hh_l0``
(G n), G = 1 (RNN), 4 (LSTM, row blocks i, f, g, o) or 3 (GRU, row blocks r, z, n).

* RNN: W_rec = weight_hh, W_in = weight_ih, b = bias_ih + bias_hh (nn.RNN adds both).
* LSTM: the effective bias is bias_ih + bias_hh (both forget biases 1 give an effective 2).
* GRU: the biases stay separate, because b_hn sits inside r * (W_hn h + b_hn).

Every problem (unreadable file, missing key, wrong shape, NaN/inf) raises ``InputError`` with a
one-line message. ``.pt``/``.pth`` files are read only when torch is importable.
"""

from __future__ import annotations

import os
import zipfile

import numpy as np

from gradproof.numerics.cells import GRUParams, LSTMParams, RNNParams
from gradproof.numerics.errors import InputError

__all__ = ["load_weights", "load_inputs", "REQUIRED_KEYS", "GATES"]

REQUIRED_KEYS = ("weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0")
GATES = {"rnn": 1, "lstm": 4, "gru": 3}


def _read_state_dict(path) -> dict:
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise InputError(f"weights file not found: {path}")
    if path.endswith((".pt", ".pth")):
        try:
            import torch  # noqa: F401  (optional dependency)
        except ImportError:
            raise InputError(f"cannot read {path}: .pt files need torch; save the state_dict with np.savez") from None
        try:
            sd = torch.load(path, map_location="cpu", weights_only=True)
            return {k: v.detach().numpy() for k, v in sd.items()}
        except Exception as exc:  # pragma: no cover - depends on torch
            raise InputError(f"cannot read {path}: {type(exc).__name__}") from None
    try:
        with np.load(path, allow_pickle=False) as data:
            if not isinstance(data, np.lib.npyio.NpzFile):
                raise InputError(f"{path} is not an .npz archive of named arrays")
            return {k: np.array(data[k]) for k in data.files}
    except InputError:
        raise
    except (OSError, ValueError, zipfile.BadZipFile, EOFError, KeyError) as exc:
        msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise InputError(f"cannot read weights file {path}: {msg}") from None


def _numeric(name, arr, path):
    a = np.asarray(arr)
    if a.dtype.kind not in "fiu":
        raise InputError(f"{name} in {path} is not a numeric array (dtype {a.dtype})")
    a = a.astype(np.float64)
    if not np.all(np.isfinite(a)):
        raise InputError(f"{name} in {path} contains NaN or infinite values")
    return a


def load_weights(path, model: str):
    """Read a PyTorch-layout .npz and return RNNParams | LSTMParams | GRUParams (float64)."""
    if model not in GATES:
        raise InputError(f"unknown model {model!r}; choose rnn, lstm or gru")
    sd = _read_state_dict(path)
    missing = [k for k in REQUIRED_KEYS if k not in sd]
    if missing:
        raise InputError(f"weights file {path} lacks key(s) {', '.join(missing)}")
    w_ih, w_hh, b_ih, b_hh = (_numeric(k, sd[k], path) for k in REQUIRED_KEYS)
    G = GATES[model]
    if w_hh.ndim != 2 or w_hh.shape[1] < 1 or w_hh.shape[0] != G * w_hh.shape[1]:
        raise InputError(f"weight_hh_l0 has shape {w_hh.shape}, expected ({G}n, n) for {model}")
    n = w_hh.shape[1]
    if w_ih.ndim != 2 or w_ih.shape[0] != G * n or w_ih.shape[1] < 1:
        raise InputError(f"weight_ih_l0 has shape {w_ih.shape}, expected ({G * n}, d) for {model}")
    for name, b in (("bias_ih_l0", b_ih), ("bias_hh_l0", b_hh)):
        if b.shape != (G * n,):
            raise InputError(f"{name} has shape {b.shape}, expected ({G * n},) for {model}")
    if model == "rnn":
        return RNNParams(W_rec=w_hh, W_in=w_ih, b=b_ih + b_hh, activation="tanh")
    if model == "lstm":
        return LSTMParams(W_ih=w_ih, W_hh=w_hh, b=b_ih + b_hh)
    return GRUParams(W_ih=w_ih, W_hh=w_hh, b_ih=b_ih, b_hh=b_hh)


def load_inputs(path, input_size: int | None = None) -> np.ndarray:
    """Read a (T, d) float array from .npy; T >= 1, finite, d == input_size when given."""
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise InputError(f"inputs file not found: {path}")
    try:
        x = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError) as exc:
        msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise InputError(f"cannot read inputs file {path}: {msg}") from None
    if not isinstance(x, np.ndarray):
        if hasattr(x, "close"):
            x.close()
        raise InputError(f"inputs file {path} must hold one .npy array, not an archive")
    x = _numeric("inputs", x, path)
    if x.ndim != 2 or x.shape[0] < 1 or x.shape[1] < 1:
        raise InputError(f"inputs in {path} have shape {x.shape}, expected (T, d) with T, d >= 1")
    if input_size is not None and x.shape[1] != input_size:
        raise InputError(f"inputs in {path} have {x.shape[1]} columns, the weights expect {input_size}")
    return x
