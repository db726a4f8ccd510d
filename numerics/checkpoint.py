"""Find the recurrent network in what people save: state_dicts, wrapped modules, training checkpoints.

Accepted files (each read with the checks of its format before any tensor is allocated):

* ``.npz`` (``numerics.npyheader``): flat names, e.g. ``weight_hh_l0`` or, for a wrapped module or a
  nested checkpoint flattened with dotted keys, ``model.rnn.weight_hh_l0``;
* ``.safetensors`` (``numerics.safetensors_io``, no torch needed; F16, BF16, F32, F64);
* ``.pt``/``.pth`` through ``torch.load(weights_only=True)``, torch >= 2.6 only (``numerics.weights``):
  a state_dict or a dict nesting one (``{"model": ..., "optimizer": ...}``, ``state_dict``,
  ``model_state_dict``, any depth up to ``MAX_DEPTH``), flattened to dotted names.

Every tensor is converted exactly to float64 (float16, bfloat16 and float32 are subsets of float64).

The recurrent module is found by its PyTorch key names: ``<prefix>weight_hh_l<k>`` for layers
k = 0..L-1 with ``weight_ih_l<k>``, ``bias_ih_l<k>``, ``bias_hh_l<k>`` (nn.RNN / nn.LSTM / nn.GRU;
``bias=False`` modules have no bias keys: zero biases, with a note). The cell kind follows from the
gate count G = rows / columns of ``weight_hh_l0`` (1 RNN, 4 LSTM, 3 GRU) and must match the model
asked for. Several prefixes: the caller must choose one (``module=``, CLI ``--module NAME``).
Refused by name: bidirectional modules (``*_reverse`` keys) and LSTMs with ``proj_size``
(``weight_hr_l<k>``). Every refusal lists the keys found.

The read-out head: a ``<parent><name>.weight`` of shape (m, n_last) (and optional ``.bias`` (m,))
beside the recurrent module (same parent prefix), e.g. ``fc.weight`` next to ``rnn.weight_hh_l0``.
Exactly one such candidate is used as the head; with none or several, ``head`` is None (a note
says why).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

import numpy as np

from gradproof.numerics.cells import GRUParams, LSTMParams, RNNParams
from gradproof.numerics.errors import InputError
from gradproof.numerics.limits import check_array_magnitude

__all__ = ["Stack", "TensorFile", "open_tensor_file", "load_stack", "stack_sizes", "SUPPORTED", "GATES",
           "MAX_DEPTH"]

GATES = {"rnn": 1, "lstm": 4, "gru": 3}
_KIND = {1: "rnn", 4: "lstm", 3: "gru"}
MAX_DEPTH = 8
SUPPORTED = ("supported: a state_dict of nn.RNN/nn.LSTM/nn.GRU (keys weight_ih_l<k>, weight_hh_l<k>, bias_ih_l<k>, "
             "bias_hh_l<k>, any prefix such as rnn.), or a checkpoint nesting one (e.g. under model, state_dict or "
             "model_state_dict), in .npz (dotted keys), .safetensors or .pt (torch >= 2.6)")
_HH = re.compile(r"^(?P<prefix>(?:.*\.)?)weight_hh_l(?P<layer>[0-9]+)(?P<rev>_reverse)?$")


def _keys_text(keys, limit: int = 24) -> str:
    keys = sorted(keys)
    shown = ", ".join(keys[:limit])
    more = f" (and {len(keys) - limit} more)" if len(keys) > limit else ""
    return f"keys found: {shown or 'none'}{more}"


@dataclass(frozen=True)
class TensorFile:
    """A file's tensor names with their shapes (from headers), and a loader for chosen names."""

    path: str
    shapes: dict  # name -> tuple
    _loader: object

    def load(self, names) -> dict:
        return self._loader(list(names))


def _flatten(obj, prefix: str, out: dict, depth: int) -> None:
    if depth > MAX_DEPTH:
        return
    if isinstance(obj, dict):
        for k, v in obj.items():
            _flatten(v, f"{prefix}{k}.", out, depth + 1)
    elif isinstance(obj, (list, tuple)):
        for i, v in enumerate(obj):
            _flatten(v, f"{prefix}{i}.", out, depth + 1)
    elif hasattr(obj, "detach"):
        out[prefix[:-1]] = obj


def _tensor_to_numpy(name, v, path):
    try:
        t = v.detach().cpu()
        try:
            return np.asarray(t.numpy())
        except TypeError:  # numpy has no bfloat16: widen to float32 first (exact)
            return np.asarray(t.float().numpy())
    except Exception:
        raise InputError(f"{name} in {path} is not a tensor") from None


def _open_torch(path: str) -> TensorFile:
    from gradproof.numerics.weights import read_torch_object

    obj = read_torch_object(path)
    if not isinstance(obj, dict):
        raise InputError(f"{path} does not hold a state_dict or a checkpoint dict (a mapping of names to tensors); "
                         + SUPPORTED)
    flat = {}
    _flatten(obj, "", flat, 0)
    arrays = {k: _tensor_to_numpy(k, v, path) for k, v in flat.items()}
    shapes = {k: tuple(np.shape(a)) for k, a in arrays.items()}
    return TensorFile(path=path, shapes=shapes, _loader=lambda names: {k: arrays[k] for k in names if k in arrays})


def open_tensor_file(path) -> TensorFile:
    """Names and shapes of the tensors of a .npz / .safetensors / .pt file (nothing large loaded
    for .npz and .safetensors)."""
    from gradproof.numerics import weights as w

    path = os.fspath(path)
    if not os.path.isfile(path):
        raise InputError(f"weights file not found: {path}")
    if path.endswith((".pt", ".pth")):
        return _open_torch(path)
    if path.endswith(".safetensors"):
        from gradproof.numerics.safetensors_io import load_safetensors, read_safetensors_header

        try:
            headers = read_safetensors_header(path)
        except InputError as exc:
            raise InputError(f"cannot read weights file: {exc}") from None
        return TensorFile(path=path, shapes={k: h.shape for k, h in headers.items()},
                          _loader=lambda names: load_safetensors(path, names))
    try:
        headers = w.read_npz_headers(path)
    except InputError as exc:
        raise InputError(f"cannot read weights file: {exc}") from None

    def load(names):
        try:
            return w.load_npz(path, names)
        except InputError as exc:
            raise InputError(f"cannot read weights file: {exc}") from None

    return TensorFile(path=path, shapes={k: h.shape for k, h in headers.items()}, _loader=load)


@dataclass(frozen=True)
class Stack:
    """A stacked recurrent network read from a file: layers 0..L-1 (layer 0 reads the inputs,
    layer l reads h of layer l-1 at the same step), the module's name, the head if found."""

    model: str
    layers: tuple  # RNNParams | LSTMParams | GRUParams per layer
    module: str  # the key prefix without its final dot ("" = top level)
    head_name: str | None
    head_weight: np.ndarray | None  # (m, n_last)
    head_bias: np.ndarray | None  # (m,)
    notes: tuple
    source: str

    @property
    def num_layers(self) -> int:
        return len(self.layers)

    @property
    def input_size(self) -> int:
        return self.layers[0].input_size

    @property
    def hidden_sizes(self) -> tuple:
        return tuple(p.hidden for p in self.layers)

    @property
    def state_sizes(self) -> tuple:
        return tuple((2 if self.model == "lstm" else 1) * p.hidden for p in self.layers)

    @property
    def state_size(self) -> int:
        return sum(self.state_sizes)


def _module_name(prefix: str) -> str:
    return prefix[:-1] if prefix.endswith(".") else prefix


def _find_modules(shapes: dict, path: str) -> dict:
    """prefix -> sorted layer indices, refusing bidirectional and proj_size modules by name."""
    found: dict = {}
    for k in shapes:
        m = _HH.match(k)
        if not m:
            continue
        if m.group("rev"):
            raise InputError(f"{path}: {k} belongs to a bidirectional module ({_module_name(m.group('prefix')) or 'top level'}); "
                             "bidirectional recurrent networks are not supported (their backward direction reads the "
                             "sequence in reverse); " + _keys_text(shapes))
        found.setdefault(m.group("prefix"), []).append(int(m.group("layer")))
    for k in shapes:
        if re.search(r"(^|\.)weight_hr_l[0-9]+$", k):
            raise InputError(f"{path}: {k} is the projection of an LSTM with proj_size; LSTMs with proj_size are not "
                             "supported; " + _keys_text(shapes))
    if not found:
        raise InputError(f"{path}: no recurrent module found (no key named weight_hh_l0 with any prefix); "
                         f"{_keys_text(shapes)}; {SUPPORTED}")
    return {p: sorted(v) for p, v in found.items()}


def _choose_module(modules: dict, module: str | None, path: str, shapes) -> str:
    names = {_module_name(p): p for p in modules}
    if module is not None:
        if module not in names:
            raise InputError(f"{path}: no recurrent module named {module!r}; modules found: "
                             f"{', '.join(repr(n) for n in sorted(names))}")
        return names[module]
    if len(names) > 1:
        raise InputError(f"{path} holds {len(names)} recurrent modules ({', '.join(repr(n) for n in sorted(names))}); "
                         "choose one with --module NAME")
    return next(iter(modules))


def _check_layer_shapes(shapes, prefix, layers, model, path):
    """Shapes of every layer; returns (hidden sizes, input size, has_bias)."""
    G = GATES[model]
    if layers != list(range(len(layers))):
        raise InputError(f"{path}: layers {layers} of module {_module_name(prefix) or 'top level'} are not 0..L-1; "
                         + _keys_text(shapes))
    hh0 = shapes[f"{prefix}weight_hh_l0"]
    if len(hh0) == 2 and hh0[1] >= 1 and hh0[0] % hh0[1] == 0 and hh0[0] // hh0[1] in _KIND \
            and hh0[0] // hh0[1] != G:
        kind = _KIND[hh0[0] // hh0[1]]
        raise InputError(f"{path}: {prefix}weight_hh_l0 has shape {tuple(hh0)}: {hh0[0] // hh0[1]}n rows, the layout "
                         f"of a {kind.upper()}, not of a {model.upper()} ({G}n rows); use the model {kind}")
    biases = [k for L in layers for k in (f"{prefix}bias_ih_l{L}", f"{prefix}bias_hh_l{L}")]
    present = [k for k in biases if k in shapes]
    has_bias = bool(present)
    need = [f"{prefix}{w}_l{L}" for L in layers for w in ("weight_ih", "weight_hh")] + (biases if has_bias else [])
    missing = [k for k in need if k not in shapes]
    if missing:
        raise InputError(f"weights file {path} lacks key(s) {', '.join(missing)}; {_keys_text(shapes)}")
    hidden, d = [], None
    prev = None
    for L in layers:
        w_hh, w_ih = tuple(shapes[f"{prefix}weight_hh_l{L}"]), tuple(shapes[f"{prefix}weight_ih_l{L}"])
        if len(w_hh) != 2 or w_hh[1] < 1 or w_hh[0] != G * w_hh[1]:
            raise InputError(f"{prefix}weight_hh_l{L} has shape {w_hh}, expected ({G}n, n) for {model}")
        n = w_hh[1]
        want_d = prev
        if len(w_ih) != 2 or w_ih[0] != G * n or w_ih[1] < 1 or (want_d is not None and w_ih[1] != want_d):
            expect = f"({G * n}, {'d' if want_d is None else want_d})"
            raise InputError(f"{prefix}weight_ih_l{L} has shape {w_ih}, expected {expect} for {model}")
        if has_bias:
            for name in (f"{prefix}bias_ih_l{L}", f"{prefix}bias_hh_l{L}"):
                if tuple(shapes[name]) != (G * n,):
                    raise InputError(f"{name} has shape {tuple(shapes[name])}, expected ({G * n},) for {model}")
        if d is None:
            d = w_ih[1]
        hidden.append(n)
        prev = n
    return hidden, d, has_bias


def _head_candidates(shapes, prefix, n_last):
    inner = prefix[:-1] if prefix.endswith(".") else prefix
    parent = inner.rsplit(".", 1)[0] + "." if "." in inner else ""
    out = []
    for k, s in shapes.items():
        if not k.endswith(".weight") or not k.startswith(parent) or (prefix and k.startswith(prefix)):
            continue
        name = k[:-len(".weight")]
        if "." in name[len(parent):]:
            continue
        if len(s) == 2 and s[1] == n_last and s[0] >= 1:
            bias = name + ".bias"
            if bias in shapes and tuple(shapes[bias]) != (s[0],):
                continue
            out.append(name)
    return sorted(out)


def stack_sizes(path, model: str, module: str | None = None) -> tuple | None:
    """(hidden sizes per layer, input size d) from the headers alone; None for .pt files."""
    path = os.fspath(path)
    if model not in GATES:
        raise InputError(f"unknown model {model!r}; choose rnn, lstm or gru")
    if not os.path.isfile(path):
        raise InputError(f"weights file not found: {path}")
    if path.endswith((".pt", ".pth")):
        return None
    tf = open_tensor_file(path)
    modules = _find_modules(tf.shapes, path)
    prefix = _choose_module(modules, module, path, tf.shapes)
    hidden, d, _ = _check_layer_shapes(tf.shapes, prefix, modules[prefix], model, path)
    return tuple(hidden), d


def _numeric(name, arr, path):
    a = np.asarray(arr)
    if a.dtype.kind not in "fiu":
        raise InputError(f"{name} in {path} is not a numeric array (dtype {a.dtype})")
    a = a.astype(np.float64)  # float16/bfloat16/float32 -> float64 is exact
    check_array_magnitude(name, a, path)
    return a


def load_stack(path, model: str, module: str | None = None) -> Stack:
    """Read every layer of the recurrent module (and its head) of a weights file; see the module
    docstring for what is accepted and refused."""
    if model not in GATES:
        raise InputError(f"unknown model {model!r}; choose rnn, lstm or gru")
    tf = open_tensor_file(path)
    path = tf.path
    modules = _find_modules(tf.shapes, path)
    prefix = _choose_module(modules, module, path, tf.shapes)
    layers = modules[prefix]
    hidden, d, has_bias = _check_layer_shapes(tf.shapes, prefix, layers, model, path)
    heads = _head_candidates(tf.shapes, prefix, hidden[-1])
    names = [f"{prefix}{w}_l{L}" for L in layers for w in ("weight_ih", "weight_hh")
             + (("bias_ih", "bias_hh") if has_bias else ())]
    if len(heads) == 1:
        names += [k for k in (heads[0] + ".weight", heads[0] + ".bias") if k in tf.shapes]
    arrays = tf.load(names)
    missing = [k for k in names if k not in arrays]
    if missing:
        raise InputError(f"weights file {path} lacks key(s) {', '.join(missing)}; {_keys_text(tf.shapes)}")
    vals = {k: _numeric(k, arrays[k], path) for k in names}
    dtypes = sorted({str(np.asarray(arrays[k]).dtype) for k in names})
    notes = []
    if not has_bias:
        notes.append("the module has no biases (bias=False): zero biases used")
    if dtypes != ["float64"]:
        notes.append(f"weights stored as {', '.join(dtypes)}, converted exactly to float64")
    params = []
    for L in layers:
        w_ih, w_hh = vals[f"{prefix}weight_ih_l{L}"], vals[f"{prefix}weight_hh_l{L}"]
        zeros = np.zeros(w_hh.shape[0])
        b_ih = vals.get(f"{prefix}bias_ih_l{L}", zeros)
        b_hh = vals.get(f"{prefix}bias_hh_l{L}", zeros)
        # each entry is at most MAX_MAGNITUDE = 1e150, so b_ih + b_hh cannot overflow
        if model == "rnn":
            params.append(RNNParams(W_rec=w_hh, W_in=w_ih, b=b_ih + b_hh, activation="tanh",
                                    bias_split=(b_ih, b_hh)))
        elif model == "lstm":
            params.append(LSTMParams(W_ih=w_ih, W_hh=w_hh, b=b_ih + b_hh, bias_split=(b_ih, b_hh)))
        else:
            params.append(GRUParams(W_ih=w_ih, W_hh=w_hh, b_ih=b_ih, b_hh=b_hh))
    head_name = head_w = head_b = None
    if len(heads) == 1:
        head_name = heads[0]
        head_w = vals[head_name + ".weight"]
        head_b = vals.get(head_name + ".bias")
    elif len(heads) > 1:
        notes.append(f"several possible read-out heads ({', '.join(heads)}): none used")
    if len(modules) > 1 or module is not None:
        notes.append(f"recurrent module {_module_name(prefix) or '(top level)'!r} of "
                     f"{', '.join(repr(_module_name(p) or '(top level)') for p in sorted(modules))}")
    return Stack(model=model, layers=tuple(params), module=_module_name(prefix), head_name=head_name,
                 head_weight=head_w, head_bias=head_b, notes=tuple(notes), source=path)
