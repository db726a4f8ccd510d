r"""Numeric bridge from the symbolic derivations: per-step Jacobians lambdified to float64 / mpmath.

The one-step Jacobians derived (and checked) symbolically in ``derivations.lstm``,
``derivations.gru`` and ``derivations.rnn`` are turned into functions with ``sympy.lambdify``
(the only bridge between the symbolic and numeric code, with ``LAMBDIFY_MODULES_NUMPY`` /
``LAMBDIFY_MODULES_MPMATH`` so that the sigmoid evaluates), then run along the forward
trajectory of a given input sequence (T, d), weights (the dataclasses of
``derivations.bridge``, PyTorch layout) and initial state (zeros by default):

* ``rnn_step_jacobians``  -> J_t = diag(act'(z_t)) W_rec, t = 1..T
* ``lstm_step_jacobians`` -> full (2n x 2n, state order (h, c)), cell path K_t = A+B+C+D and the
  terms A, B, C, D, D_article (\sigma' in D_t, the article's error), article_cell_path
* ``gru_step_jacobians``  -> dh_t/dh_{t-1}

Convention at t = 1 (same as ``derivations.bridge``): h_0 is an independent initial state, not
o_0 \tanh(c_0), so \eta_0 = 0 and A_1 = C_1 = D_1 = 0, K_1 = diag(f_1).

Backends: ``"numpy"`` returns float64 arrays with leading axis t; ``"mpmath"`` returns lists of
``mpmath.matrix`` computed at ``dps`` significant digits (``mpmath.workdps``; weights and
inputs are converted exactly from float64). The expressions are symbolic in every weight, so
this path is meant for checks at small n (``MAX_HIDDEN``), not for speed.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import mpmath
import numpy as np
import sympy as sp

from derivations.activations import LAMBDIFY_MODULES_MPMATH, LAMBDIFY_MODULES_NUMPY, get_activation
from derivations.bridge import GRUParams, LSTMParams, RNNParams
from derivations.errors import InputError
from derivations.gru import gru_cell, gru_step_jacobian, gru_symbols
from derivations.lstm import cell_path_terms, lstm_cell, lstm_state_jacobian, lstm_symbols
from derivations.rnn import rnn_one_step_jacobian, rnn_preactivation

__all__ = [
    "BACKENDS",
    "MAX_HIDDEN",
    "LambdifiedLSTMJacobians",
    "rnn_step_jacobians",
    "lstm_step_jacobians",
    "gru_step_jacobians",
]

BACKENDS = ("numpy", "mpmath")
#: largest hidden size accepted (the symbolic expressions grow like n^2 per gate).
MAX_HIDDEN = 8
DEFAULT_DPS = 50


@dataclass(frozen=True)
class LambdifiedLSTMJacobians:
    """Per-step LSTM Jacobians (index t-1 for step t), float64 arrays or lists of mpmath matrices.

    ``full``: d(h_t, c_t)/d(h_{t-1}, c_{t-1}); ``cell_path`` = A + B + C + D (corrected);
    ``article_cell_path`` = A + B + C + D_article; ``h``, ``c``: states t = 0..T.
    """

    full: object
    cell_path: object
    A: object
    B: object
    C: object
    D: object
    D_article: object
    article_cell_path: object
    h: object
    c: object
    backend: str
    dps: int | None


def _check_backend(backend: str) -> None:
    if backend not in BACKENDS:
        raise InputError(f"unknown backend {backend!r} (choose from {', '.join(BACKENDS)})")


def _check_hidden(n: int) -> None:
    if n > MAX_HIDDEN:
        raise InputError(f"hidden size {n} exceeds the lambdified bridge's limit {MAX_HIDDEN} "
                         "(use derivations.bridge for large n)")


def _inputs(inputs, d: int) -> np.ndarray:
    x = np.asarray(inputs, dtype=np.float64)
    if x.ndim != 2 or x.shape[0] < 1 or x.shape[1] != d:
        raise InputError(f"inputs must have shape (T, {d}) with T >= 1, got {x.shape}")
    if not np.all(np.isfinite(x)):
        raise InputError("inputs contain NaN or infinite values")
    return x


def _state(name: str, v, n: int) -> np.ndarray:
    if v is None:
        return np.zeros(n)
    a = np.asarray(v, dtype=np.float64).reshape(-1)
    if a.shape != (n,) or not np.all(np.isfinite(a)):
        raise InputError(f"{name} must be a finite vector of length {n}")
    return a


def _modules(backend: str):
    return LAMBDIFY_MODULES_NUMPY if backend == "numpy" else LAMBDIFY_MODULES_MPMATH


def _flat(*mats) -> list:
    out = []
    for m in mats:
        out.extend(list(m))
    return out


# --------------------------------------------------------------------------- LSTM
@lru_cache(maxsize=None)
def _lstm_function(n: int, d: int, backend: str):
    """lambdified (weights..., x_t, h_{t-1}, c_{t-1}, o_{t-1}) -> (h_t, c_t, o_t, J, A, B, C, D, D_art)."""
    p = lstm_symbols(n, 1, d)
    o_prev = sp.Matrix(n, 1, lambda j, _: sp.Symbol(f"oprev{j}", real=True))
    eta = o_prev.multiply_elementwise(p.c_prev.applyfunc(lambda c: 1 - sp.tanh(c) ** 2))
    h_t, c_t, gt = lstm_cell(p, p.x_t, p.h_prev, p.c_prev)
    J = lstm_state_jacobian(p, p.x_t, p.h_prev, p.c_prev)
    terms = cell_path_terms(p, p.x_t, p.h_prev, p.c_prev, eta)
    art = cell_path_terms(p, p.x_t, p.h_prev, p.c_prev, eta, article_D=True)
    weights = _flat(*(p.W[q] for q in "ifgo"), *(p.U[q] for q in "ifgo"), *(p.b[q] for q in "ifgo"))
    args = weights + _flat(p.x_t, p.h_prev, p.c_prev, o_prev)
    outs = (h_t, c_t, gt.o, J, terms.A, terms.B, terms.C, terms.D, art.D)
    return sp.lambdify(args, outs, modules=_modules(backend), cse=True)


def _lstm_weight_args(params: LSTMParams) -> list[float]:
    n = params.hidden
    W = [params.W_ih[k * n:(k + 1) * n] for k in range(4)]
    U = [params.W_hh[k * n:(k + 1) * n] for k in range(4)]
    b = [params.b[k * n:(k + 1) * n] for k in range(4)]
    # sympy Matrix iterates row-major, like numpy ravel
    return [float(v) for blk in W + U + b for v in np.asarray(blk).ravel()]


def lstm_step_jacobians(weights: LSTMParams, inputs, h0=None, c0=None, backend: str = "numpy",
                        dps: int = DEFAULT_DPS) -> LambdifiedLSTMJacobians:
    """Per-step LSTM Jacobians from the lambdified symbolic derivation (see module docstring)."""
    if not isinstance(weights, LSTMParams):
        raise InputError("lstm_step_jacobians needs LSTMParams (derivations.bridge)")
    _check_backend(backend)
    n, d = weights.hidden, weights.input_size
    _check_hidden(n)
    x = _inputs(inputs, d)
    f = _lstm_function(n, d, backend)
    w = _lstm_weight_args(weights)
    h, c = _state("h0", h0, n), _state("c0", c0, n)
    if backend == "numpy":
        return _run_lstm(f, w, x, h, c, np.zeros(n), lambda v: float(v), backend, None)
    with mpmath.workdps(dps):
        conv = mpmath.mpf
        return _run_lstm(f, [conv(v) for v in w], x, [conv(v) for v in h], [conv(v) for v in c],
                         [conv(0)] * n, conv, backend, dps)


def _vec_list(v) -> list:
    return [v[j] for j in range(len(v))] if isinstance(v, mpmath.matrix) else list(np.asarray(v).ravel())


def _run_lstm(f, w, x, h, c, o_prev, conv, backend, dps):
    T = x.shape[0]
    hs, cs = [list(h)], [list(c)]
    out = {k: [] for k in ("full", "A", "B", "C", "D", "D_article")}
    for t in range(T):
        xt = [conv(v) for v in x[t]]
        h_t, c_t, o_t, J, A, B, C, D, Da = f(*w, *xt, *hs[-1], *cs[-1], *o_prev)
        for key, val in (("full", J), ("A", A), ("B", B), ("C", C), ("D", D), ("D_article", Da)):
            out[key].append(val)
        hs.append(_vec_list(h_t))
        cs.append(_vec_list(c_t))
        o_prev = _vec_list(o_t)
    if backend == "numpy":
        arr = {k: np.array([np.asarray(m, dtype=np.float64) for m in v]) for k, v in out.items()}
        cell = arr["A"] + arr["B"] + arr["C"] + arr["D"]
        art = arr["A"] + arr["B"] + arr["C"] + arr["D_article"]
        return LambdifiedLSTMJacobians(arr["full"], cell, arr["A"], arr["B"], arr["C"], arr["D"],
                                       arr["D_article"], art, np.array(hs, dtype=np.float64),
                                       np.array(cs, dtype=np.float64), backend, None)
    mats = {k: [mpmath.matrix(m) for m in v] for k, v in out.items()}
    cell = [a + b + cc + dd for a, b, cc, dd in zip(mats["A"], mats["B"], mats["C"], mats["D"])]
    art = [a + b + cc + dd for a, b, cc, dd in zip(mats["A"], mats["B"], mats["C"], mats["D_article"])]
    return LambdifiedLSTMJacobians(mats["full"], cell, mats["A"], mats["B"], mats["C"], mats["D"],
                                   mats["D_article"], art, hs, cs, backend, dps)


# --------------------------------------------------------------------------- GRU
@lru_cache(maxsize=None)
def _gru_function(n: int, d: int, backend: str):
    p = gru_symbols(n, 1, d)
    h_t, _ = gru_cell(p, p.x_t, p.h_prev)
    J = gru_step_jacobian(p, p.x_t, p.h_prev)
    weights = _flat(*(p.W[q] for q in "rzn"), *(p.U[q] for q in "rzn"),
                    *(p.b_i[q] for q in "rzn"), *(p.b_h[q] for q in "rzn"))
    args = weights + _flat(p.x_t, p.h_prev)
    return sp.lambdify(args, (h_t, J), modules=_modules(backend), cse=True)


def _gru_weight_args(params: GRUParams) -> list[float]:
    n = params.hidden
    blocks = [params.W_ih[k * n:(k + 1) * n] for k in range(3)]
    blocks += [params.W_hh[k * n:(k + 1) * n] for k in range(3)]
    blocks += [params.b_ih[k * n:(k + 1) * n] for k in range(3)]
    blocks += [params.b_hh[k * n:(k + 1) * n] for k in range(3)]
    return [float(v) for blk in blocks for v in np.asarray(blk).ravel()]


def gru_step_jacobians(weights: GRUParams, inputs, h0=None, backend: str = "numpy",
                       dps: int = DEFAULT_DPS):
    """dh_t/dh_{t-1}, t = 1..T: float64 array (T, n, n) or a list of mpmath matrices."""
    if not isinstance(weights, GRUParams):
        raise InputError("gru_step_jacobians needs GRUParams (derivations.bridge)")
    _check_backend(backend)
    n, d = weights.hidden, weights.input_size
    _check_hidden(n)
    x = _inputs(inputs, d)
    f = _gru_function(n, d, backend)
    w = _gru_weight_args(weights)
    h = _state("h0", h0, n)
    if backend == "numpy":
        return _run_simple(f, w, x, list(h), float, lambda Js: np.array(
            [np.asarray(J, dtype=np.float64) for J in Js]))
    with mpmath.workdps(dps):
        return _run_simple(f, [mpmath.mpf(v) for v in w], x, [mpmath.mpf(v) for v in h], mpmath.mpf,
                           lambda Js: [mpmath.matrix(J) for J in Js])


def _run_simple(f, w, x, state, conv, pack):
    Js = []
    for t in range(x.shape[0]):
        new, J = f(*w, *[conv(v) for v in x[t]], *state)
        Js.append(J)
        state = _vec_list(new)
    return pack(Js)


# --------------------------------------------------------------------------- RNN
@lru_cache(maxsize=None)
def _rnn_function(n: int, d: int, activation: str, backend: str):
    act = get_activation(activation)
    W_rec = sp.Matrix(n, n, lambda i, j: sp.Symbol(f"Wrec{i}_{j}", real=True))
    W_in = sp.Matrix(n, d, lambda i, j: sp.Symbol(f"Win{i}_{j}", real=True))
    b = sp.Matrix(n, 1, lambda i, _: sp.Symbol(f"b{i}", real=True))
    c_prev = sp.Matrix(n, 1, lambda i, _: sp.Symbol(f"cprev{i}", real=True))
    x_t = sp.Matrix(d, 1, lambda i, _: sp.Symbol(f"x{i}", real=True))
    z = rnn_preactivation(W_rec, W_in, b, c_prev, x_t)
    J = rnn_one_step_jacobian(act, W_rec, z)
    c_t = z.applyfunc(act.apply)
    args = _flat(W_rec, W_in, b, x_t, c_prev)
    return sp.lambdify(args, (c_t, J), modules=_modules(backend), cse=True)


def rnn_step_jacobians(weights: RNNParams, inputs, c0=None, backend: str = "numpy",
                       dps: int = DEFAULT_DPS):
    """J_t = dc_t/dc_{t-1} = diag(act'(z_t)) W_rec, t = 1..T (float64 (T, n, n) or mpmath list)."""
    if not isinstance(weights, RNNParams):
        raise InputError("rnn_step_jacobians needs RNNParams (derivations.bridge)")
    _check_backend(backend)
    n, d = weights.hidden, weights.input_size
    _check_hidden(n)
    x = _inputs(inputs, d)
    f = _rnn_function(n, d, weights.activation, backend)
    w = [float(v) for blk in (weights.W_rec, weights.W_in, weights.b) for v in np.asarray(blk).ravel()]
    c = _state("c0", c0, n)
    if backend == "numpy":
        return _run_simple(f, w, x, list(c), float, lambda Js: np.array(
            [np.asarray(J, dtype=np.float64) for J in Js]))
    with mpmath.workdps(dps):
        return _run_simple(f, [mpmath.mpf(v) for v in w], x, [mpmath.mpf(v) for v in c], mpmath.mpf,
                           lambda Js: [mpmath.matrix(J) for J in Js])
