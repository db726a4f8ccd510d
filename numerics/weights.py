"""Import weights saved from PyTorch (one layer of nn.RNN / nn.LSTM / nn.GRU) and input arrays.

Which files and keys are accepted (any prefix, nested checkpoints, .npz / .safetensors / .pt, every
layer of a stack) is decided in ``numerics.checkpoint``; this module keeps the one-layer entry point
:func:`load_weights`, the torch gate and the inputs. Layout of a layer: ``weight_ih_l<k>`` (G n x d),
``weight_hh_l<k>`` (G n x n), ``bias_ih_l<k>``, ``bias_hh_l<k>`` (G n), G = 1 (RNN), 4 (LSTM, row
blocks i, f, g, o) or 3 (GRU, row blocks r, z, n).

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

from gradproof.numerics.errors import InputError
from gradproof.numerics.limits import check_array_magnitude
# load_npz and read_npz_headers are called through this module by numerics.checkpoint (one
# place where the hostile-input tests check that nothing is loaded before the budget check)
from gradproof.numerics.npyheader import load_npy, load_npz, read_npy_header, read_npz_headers  # noqa: F401

__all__ = ["load_weights", "load_inputs", "weights_sizes", "inputs_shape", "torch_usable", "read_torch_object",
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


def read_torch_object(path: str):
    """``torch.load(path, weights_only=True)`` on the CPU (torch >= MIN_TORCH; warnings captured)."""
    try:
        import torch  # optional dependency
    except ImportError:
        raise InputError(f"cannot read {path}: .pt files need torch; save the state_dict with np.savez "
                         "or as .safetensors") from None
    torch_usable(torch)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # e.g. the legacy-format UserWarning
            return torch.load(path, map_location="cpu", weights_only=True)
    except MemoryError:
        raise
    except Exception as exc:
        msg = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        raise InputError(f"cannot read {path}: torch refused it ({type(exc).__name__}"
                         f"{': ' + msg[:200] if msg else ''})") from None


def weights_sizes(path, model: str, module: str | None = None) -> tuple[int, int] | None:
    """(hidden n of layer 0, input size d) from the file's headers alone, shapes checked; None for
    .pt (see :func:`numerics.checkpoint.stack_sizes` for every layer)."""
    from gradproof.numerics.checkpoint import stack_sizes

    sizes = stack_sizes(path, model, module)
    return None if sizes is None else (sizes[0][0], sizes[1])


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


def load_weights(path, model: str, module: str | None = None, layer: int | None = None):
    """One layer of the recurrent module of a weights file (numerics.checkpoint) as RNNParams |
    LSTMParams | GRUParams (float64). A stacked module needs ``layer`` (never a silent layer 0);
    use :func:`numerics.checkpoint.load_stack` for the whole stack."""
    from gradproof.numerics.checkpoint import load_stack

    stack = load_stack(path, model, module)
    if layer is None:
        if stack.num_layers > 1:
            raise InputError(f"{path} holds a {stack.num_layers}-layer {model}; load_weights returns one layer: "
                             "give layer=K, or use numerics.checkpoint.load_stack for the whole stack")
        layer = 0
    if not (0 <= int(layer) < stack.num_layers):
        raise InputError(f"layer {layer} does not exist: the module has layers 0..{stack.num_layers - 1}")
    return stack.layers[int(layer)]


def load_inputs(path, input_size: int | None = None, batch_index: int | None = None) -> np.ndarray:
    """Read a (T, d) float array from .npy, or sequence ``batch_index`` of a (B, T, d) batch
    (PyTorch's batch_first=True layout); T >= 1, finite, d == input_size when given."""
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise InputError(f"inputs file not found: {path}")
    try:
        x = load_npy(path)
    except InputError as exc:
        raise InputError(f"cannot read inputs file: {exc}") from None
    if x.ndim == 3:
        if batch_index is None:
            raise InputError(f"inputs in {path} have shape {x.shape}: a batch (B, T, d); choose one sequence "
                             f"with --batch-index I (0 <= I < {x.shape[0]}); a (T, B, d) array must be transposed "
                             "first")
        if not (0 <= int(batch_index) < x.shape[0]):
            raise InputError(f"--batch-index {batch_index} is outside the batch of {x.shape[0]} sequences in {path}")
        x = x[int(batch_index)]
    elif batch_index is not None:
        raise InputError(f"--batch-index {batch_index} given but the inputs in {path} have shape {x.shape}, not a "
                         "(B, T, d) batch")
    x = _numeric("inputs", x, path)
    if x.ndim != 2 or x.shape[0] < 1 or x.shape[1] < 1:
        raise InputError(f"inputs in {path} have shape {x.shape}, expected (T, d) with T, d >= 1, or (B, T, d) "
                         "with --batch-index")
    if input_size is not None and x.shape[1] != input_size:
        raise InputError(f"inputs in {path} have {x.shape[1]} columns, the weights expect {input_size}")
    return x
