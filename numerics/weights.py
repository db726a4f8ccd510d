"""Import weights saved from PyTorch (layer 0 of nn.RNN / nn.LSTM / nn.GRU) and input arrays.

Expected file: ``np.savez(path, **{k: v.detach().numpy() for k, v in model.state_dict().items()})``
with keys ``weight_ih_l0`` (G n x d), ``weight_hh_l0`` (G n x n), ``bias_ih_l0``, ``bias_hh_l0``
(G n), G = 1 (RNN), 4 (LSTM, row blocks i, f, g, o) or 3 (GRU, row blocks r, z, n).

* RNN: W_rec = weight_hh, W_in = weight_ih, b = bias_ih + bias_hh (nn.RNN adds both).
* LSTM: the effective bias is bias_ih + bias_hh (both forget biases 1 give an effective 2).
* GRU: the biases stay separate, because b_hn sits inside r * (W_hn h + b_hn).

Every problem (unreadable file, missing key, wrong shape, NaN/inf, an entry beyond
``numerics.limits.MAX_MAGNITUDE``) raises ``InputError`` with a one-line message. Headers are read
and checked before any array is loaded (``numerics.npyheader``); :func:`weights_sizes` and
:func:`inputs_shape` give the sizes from the headers alone, for the budgets.

``.pt``/``.pth`` files are read only with torch >= 2.6: before 2.6,
``torch.load(weights_only=True)`` could be made to run code (CVE-2025-32434); an older torch is
refused with that reason. torch's own warnings are captured, not printed.
"""

from __future__ import annotations

import os
import re
import warnings

import numpy as np

from gradproof.numerics.cells import GRUParams, LSTMParams, RNNParams
from gradproof.numerics.errors import InputError
from gradproof.numerics.limits import check_array_magnitude
from gradproof.numerics.npyheader import load_npy, load_npz, read_npy_header, read_npz_headers

__all__ = ["load_weights", "load_inputs", "weights_sizes", "inputs_shape", "torch_usable",
           "REQUIRED_KEYS", "GATES", "MIN_TORCH"]

REQUIRED_KEYS = ("weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0")
GATES = {"rnn": 1, "lstm": 4, "gru": 3}


#: first torch whose ``torch.load(weights_only=True)`` has no known bypass (CVE-2025-32434)
MIN_TORCH = (2, 6)


def torch_usable(torch) -> None:
    """InputError unless ``torch`` (a module) is at least MIN_TORCH."""
    text = str(getattr(torch, "__version__", ""))
    m = re.match(r"(\d+)\.(\d+)", text)
    if m is None:
        raise InputError(f"cannot tell the version of torch ({text!r}); .pt files need torch >= "
                         f"{MIN_TORCH[0]}.{MIN_TORCH[1]}")
    if (int(m.group(1)), int(m.group(2))) < MIN_TORCH:
        raise InputError(f"refusing to read .pt files with torch {text}: before "
                         f"{MIN_TORCH[0]}.{MIN_TORCH[1]}, torch.load(weights_only=True) can be made "
                         "to run code (CVE-2025-32434); upgrade torch or save the state_dict with "
                         "numpy.savez")


def _is_torch_file(path: str) -> bool:
    return path.endswith((".pt", ".pth"))


def _read_torch(path: str) -> dict:
    try:
        import torch  # optional dependency
    except ImportError:
        raise InputError(f"cannot read {path}: .pt files need torch; save the state_dict with np.savez") from None
    torch_usable(torch)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # e.g. the legacy-format UserWarning
            sd = torch.load(path, map_location="cpu", weights_only=True)
    except MemoryError:
        raise
    except Exception as exc:
        msg = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        raise InputError(f"cannot read {path}: torch refused it ({type(exc).__name__}"
                         f"{': ' + msg[:200] if msg else ''})") from None
    if not isinstance(sd, dict):
        raise InputError(f"{path} does not hold a state_dict (a mapping of names to tensors)")
    out = {}
    for k, v in sd.items():
        if k in REQUIRED_KEYS:
            try:
                out[k] = np.asarray(v.detach().cpu().numpy())
            except Exception:
                raise InputError(f"{k} in {path} is not a tensor") from None
    return out


def _read_state_dict(path) -> dict:
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise InputError(f"weights file not found: {path}")
    if _is_torch_file(path):
        return _read_torch(path)
    try:
        return load_npz(path, REQUIRED_KEYS)
    except InputError as exc:
        raise InputError(f"cannot read weights file: {exc}") from None


def weights_sizes(path, model: str) -> tuple[int, int] | None:
    """(hidden n, input size d) from the .npz headers alone, shapes checked; None for .pt."""
    path = os.fspath(path)
    if model not in GATES:
        raise InputError(f"unknown model {model!r}; choose rnn, lstm or gru")
    if not os.path.isfile(path):
        raise InputError(f"weights file not found: {path}")
    if _is_torch_file(path):
        return None
    try:
        headers = read_npz_headers(path)
    except InputError as exc:
        raise InputError(f"cannot read weights file: {exc}") from None
    missing = [k for k in REQUIRED_KEYS if k not in headers]
    if missing:
        raise InputError(f"weights file {path} lacks key(s) {', '.join(missing)}")
    shapes = {k: headers[k].shape for k in REQUIRED_KEYS}
    _check_shapes(shapes, model)
    return shapes["weight_hh_l0"][1], shapes["weight_ih_l0"][1]


def _check_shapes(shapes: dict, model: str) -> None:
    G = GATES[model]
    w_hh, w_ih = shapes["weight_hh_l0"], shapes["weight_ih_l0"]
    if len(w_hh) != 2 or w_hh[1] < 1 or w_hh[0] != G * w_hh[1]:
        raise InputError(f"weight_hh_l0 has shape {w_hh}, expected ({G}n, n) for {model}")
    n = w_hh[1]
    if len(w_ih) != 2 or w_ih[0] != G * n or w_ih[1] < 1:
        raise InputError(f"weight_ih_l0 has shape {w_ih}, expected ({G * n}, d) for {model}")
    for name in ("bias_ih_l0", "bias_hh_l0"):
        if tuple(shapes[name]) != (G * n,):
            raise InputError(f"{name} has shape {tuple(shapes[name])}, expected ({G * n},) for {model}")


def inputs_shape(path) -> tuple[int, ...]:
    """The shape an inputs .npy declares (header only, checked against the file size)."""
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise InputError(f"inputs file not found: {path}")
    try:
        return read_npy_header(path).shape
    except InputError as exc:
        raise InputError(f"cannot read inputs file: {exc}") from None


def _numeric(name, arr, path):
    a = np.asarray(arr)
    if a.dtype.kind not in "fiu":
        raise InputError(f"{name} in {path} is not a numeric array (dtype {a.dtype})")
    a = a.astype(np.float64)
    check_array_magnitude(name, a, path)
    return a


def load_weights(path, model: str):
    """Read a PyTorch-layout .npz and return RNNParams | LSTMParams | GRUParams (float64)."""
    if model not in GATES:
        raise InputError(f"unknown model {model!r}; choose rnn, lstm or gru")
    sd = _read_state_dict(path)
    missing = [k for k in REQUIRED_KEYS if k not in sd]
    if missing:
        raise InputError(f"weights file {path} lacks key(s) {', '.join(missing)}")
    _check_shapes({k: np.shape(sd[k]) for k in REQUIRED_KEYS}, model)
    w_ih, w_hh, b_ih, b_hh = (_numeric(k, sd[k], path) for k in REQUIRED_KEYS)
    # each entry is at most MAX_MAGNITUDE = 1e150, so b_ih + b_hh cannot overflow
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
        x = load_npy(path)
    except InputError as exc:
        raise InputError(f"cannot read inputs file: {exc}") from None
    x = _numeric("inputs", x, path)
    if x.ndim != 2 or x.shape[0] < 1 or x.shape[1] < 1:
        raise InputError(f"inputs in {path} have shape {x.shape}, expected (T, d) with T, d >= 1")
    if input_size is not None and x.shape[1] != input_size:
        raise InputError(f"inputs in {path} have {x.shape[1]} columns, the weights expect {input_size}")
    return x
