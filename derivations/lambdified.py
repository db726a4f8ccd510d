r"""Numeric bridge from the symbolic derivations: per-step Jacobians lambdified to float64 / mpmath.

The one-step Jacobians derived (and checked) symbolically in ``derivations.lstm``,
``derivations.gru`` and ``derivations.rnn`` are turned into functions with ``sympy.lambdify``
(the only bridge between the symbolic and numeric code, with ``LAMBDIFY_MODULES_NUMPY`` /
``LAMBDIFY_MODULES_MPMATH`` so that the sigmoid evaluates), then run along the forward
trajectory of a given input sequence (T, d), weights (the dataclasses of
``numerics.cells``, PyTorch layout) and initial state (zeros by default):

* ``rnn_step_jacobians``  -> J_t = diag(act'(z_t)) W_rec, t = 1..T
* ``lstm_step_jacobians`` -> full (2n x 2n, state order (h, c)), cell path K_t = A+B+C+D and the
  terms A, B, C, D, D_article (\sigma' in D_t, the article's error), article_cell_path
* ``gru_step_jacobians``  -> dh_t/dh_{t-1}

Convention at t = 1 (same as ``numerics.cells``): h_0 is an independent initial state, not
o_0 \tanh(c_0), so \eta_0 = 0 and A_1 = C_1 = D_1 = 0, K_1 = diag(f_1).

Backends: ``"numpy"`` returns float64 arrays with leading axis t; ``"mpmath"`` returns lists of
``mpmath.matrix`` computed at ``dps`` significant digits (``mpmath.workdps``; weights and
inputs are converted exactly from float64). The expressions are symbolic in every weight, so
this path is meant for checks at small n (``MAX_HIDDEN``), not for speed.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from functools import lru_cache

import mpmath
import numpy as np
import sympy as sp

from gradproof.derivations.activations import LAMBDIFY_MODULES_MPMATH, LAMBDIFY_MODULES_NUMPY, get_activation
from gradproof.numerics.cells import GRUParams, LSTMParams, RNNParams
from gradproof.numerics.errors import InputError
from gradproof.derivations.gru import gru_cell, gru_step_jacobian, gru_symbols
from gradproof.derivations.lstm import _eta, cell_path_terms, lstm_cell, lstm_state_jacobian, lstm_symbols
from gradproof.derivations.rnn import rnn_cell, rnn_one_step_jacobian, rnn_preactivation

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


def _validated(weights, kind: type, caller: str, inputs, backend: str) -> tuple[int, np.ndarray]:
    """(n, x): the checks shared by the three entry points, InputError on bad input."""
    if not isinstance(weights, kind):
        raise InputError(f"{caller} needs {kind.__name__} (numerics.cells)")
    if backend not in BACKENDS:
        raise InputError(f"unknown backend {backend!r} (choose from {', '.join(BACKENDS)})")
    n, d = weights.hidden, weights.input_size
    if n > MAX_HIDDEN:
        raise InputError(f"hidden size {n} exceeds the lambdified bridge's limit {MAX_HIDDEN} "
                         "(use numerics.cells for large n)")
    x = np.asarray(inputs, dtype=np.float64)
    if x.ndim != 2 or x.shape[0] < 1 or x.shape[1] != d:
        raise InputError(f"inputs must have shape (T, {d}) with T >= 1, got {x.shape}")
    if not np.all(np.isfinite(x)):
        raise InputError("inputs contain NaN or infinite values")
    return n, x


def _state(name: str, v, n: int) -> np.ndarray:
    if v is None:
        return np.zeros(n)
    a = np.asarray(v, dtype=np.float64).reshape(-1)
    if a.shape != (n,) or not np.all(np.isfinite(a)):
        raise InputError(f"{name} must be a finite vector of length {n}")
    return a


def _backend(backend: str, dps: int):
    """(precision context, number conversion, matrix conversion, stacking over t) of a backend:
    float64 arrays with leading axis t, or lists of mpmath matrices at ``dps`` digits (float64
    weights, inputs and states converted exactly)."""
    if backend == "numpy":
        return contextlib.nullcontext(), float, lambda M: np.asarray(M, dtype=np.float64), np.array
    return mpmath.workdps(dps), mpmath.mpf, mpmath.matrix, list


def _lambdify(args, outs, backend: str):
    modules = LAMBDIFY_MODULES_NUMPY if backend == "numpy" else LAMBDIFY_MODULES_MPMATH
    return sp.lambdify(args, outs, modules=modules, cse=True)


def _flat(*mats) -> list:
    """The entries of each sympy matrix in turn, row-major (like numpy's ravel)."""
    return [v for m in mats for v in m]


def _weight_args(*mats) -> list[float]:
    """PyTorch-layout weights flattened row-major: the row blocks of W_ih etc. are the gates in
    PyTorch order (i, f, g, o; r, z, n), the order of the symbols in ``_flat``."""
    return [float(v) for m in mats for v in np.asarray(m).ravel()]


def _vec_list(v) -> list:
    return [v[j] for j in range(len(v))] if isinstance(v, mpmath.matrix) else list(np.asarray(v).ravel())


# --------------------------------------------------------------------------- LSTM
@lru_cache(maxsize=None)
def _lstm_function(n: int, d: int, backend: str):
    """lambdified (weights..., x_t, h_{t-1}, c_{t-1}, o_{t-1}) -> (h_t, c_t, o_t, J, A, B, C, D, D_art)."""
    p = lstm_symbols(n, 1, d)
    o_prev = sp.Matrix(n, 1, lambda j, _: sp.Symbol(f"oprev{j}", real=True))
    eta = _eta(p.c_prev, o_prev)
    h_t, c_t, gt = lstm_cell(p, p.x_t, p.h_prev, p.c_prev)
    J = lstm_state_jacobian(p, p.x_t, p.h_prev, p.c_prev)
    terms = cell_path_terms(p, p.x_t, p.h_prev, p.c_prev, eta)
    art = cell_path_terms(p, p.x_t, p.h_prev, p.c_prev, eta, article_D=True)
    weights = _flat(*(p.W[q] for q in "ifgo"), *(p.U[q] for q in "ifgo"), *(p.b[q] for q in "ifgo"))
    args = weights + _flat(p.x_t, p.h_prev, p.c_prev, o_prev)
    outs = (h_t, c_t, gt.o, J, terms.A, terms.B, terms.C, terms.D, art.D)
    return _lambdify(args, outs, backend)


def lstm_step_jacobians(weights: LSTMParams, inputs, h0=None, c0=None, backend: str = "numpy",
                        dps: int = DEFAULT_DPS) -> LambdifiedLSTMJacobians:
    """Per-step LSTM Jacobians from the lambdified symbolic derivation (see module docstring)."""
    n, x = _validated(weights, LSTMParams, "lstm_step_jacobians", inputs, backend)
    f = _lstm_function(n, x.shape[1], backend)
    w = _weight_args(weights.W_ih, weights.W_hh, weights.b)
    h, c = _state("h0", h0, n), _state("c0", c0, n)
    ctx, num, mat, stack = _backend(backend, dps)
    with ctx:
        w = [num(v) for v in w]
        hs, cs, o_prev = [[num(v) for v in h]], [[num(v) for v in c]], [num(0)] * n
        out = {key: [] for key in ("full", "A", "B", "C", "D", "D_article")}
        for xt in x:
            h_t, c_t, o_t, *mats = f(*w, *[num(v) for v in xt], *hs[-1], *cs[-1], *o_prev)
            for key, M in zip(out, mats):
                out[key].append(mat(M))
            hs.append(_vec_list(h_t))
            cs.append(_vec_list(c_t))
            o_prev = _vec_list(o_t)
        cell = [a + b + cc + dd for a, b, cc, dd in zip(out["A"], out["B"], out["C"], out["D"])]
        art = [a + b + cc + dd for a, b, cc, dd in zip(out["A"], out["B"], out["C"], out["D_article"])]
        return LambdifiedLSTMJacobians(
            cell_path=stack(cell), article_cell_path=stack(art), h=stack(hs), c=stack(cs),
            backend=backend, dps=None if backend == "numpy" else dps,
            **{key: stack(v) for key, v in out.items()})


# --------------------------------------------------------------------------- GRU and RNN
def _step_jacobians(f, w, x, state, backend: str, dps: int):
    """J_t, t = 1..T, of a lambdified one-step map (weights..., x_t, state) -> (new state, J_t)
    run along the inputs ``x``: float64 (T, n, n) or a list of mpmath matrices."""
    ctx, num, mat, stack = _backend(backend, dps)
    with ctx:
        w, state = [num(v) for v in w], [num(v) for v in state]
        Js = []
        for xt in x:
            new, J = f(*w, *[num(v) for v in xt], *state)
            Js.append(mat(J))
            state = _vec_list(new)
        return stack(Js)


@lru_cache(maxsize=None)
def _gru_function(n: int, d: int, backend: str):
    p = gru_symbols(n, 1, d)
    h_t, _ = gru_cell(p, p.x_t, p.h_prev)
    J = gru_step_jacobian(p, p.x_t, p.h_prev)
    weights = _flat(*(p.W[q] for q in "rzn"), *(p.U[q] for q in "rzn"),
                    *(p.b_i[q] for q in "rzn"), *(p.b_h[q] for q in "rzn"))
    return _lambdify(weights + _flat(p.x_t, p.h_prev), (h_t, J), backend)


def gru_step_jacobians(weights: GRUParams, inputs, h0=None, backend: str = "numpy",
                       dps: int = DEFAULT_DPS):
    """dh_t/dh_{t-1}, t = 1..T: float64 array (T, n, n) or a list of mpmath matrices."""
    n, x = _validated(weights, GRUParams, "gru_step_jacobians", inputs, backend)
    f = _gru_function(n, x.shape[1], backend)
    w = _weight_args(weights.W_ih, weights.W_hh, weights.b_ih, weights.b_hh)
    return _step_jacobians(f, w, x, _state("h0", h0, n), backend, dps)


@lru_cache(maxsize=None)
def _rnn_function(n: int, d: int, activation: str, backend: str):
    # plain identifier names, not rnn_symbols' LaTeX names: lambdify keeps them as arguments,
    # and SymPy's term order (by name) fixes the float64 summation order of the results
    act = get_activation(activation)
    W_rec = sp.Matrix(n, n, lambda i, j: sp.Symbol(f"Wrec{i}_{j}", real=True))
    W_in = sp.Matrix(n, d, lambda i, j: sp.Symbol(f"Win{i}_{j}", real=True))
    b = sp.Matrix(n, 1, lambda i, _: sp.Symbol(f"b{i}", real=True))
    c_prev = sp.Matrix(n, 1, lambda i, _: sp.Symbol(f"cprev{i}", real=True))
    x_t = sp.Matrix(d, 1, lambda i, _: sp.Symbol(f"x{i}", real=True))
    J = rnn_one_step_jacobian(act, W_rec, rnn_preactivation(W_rec, W_in, b, c_prev, x_t))
    c_t = rnn_cell(act, W_rec, W_in, b, c_prev, x_t)
    return _lambdify(_flat(W_rec, W_in, b, x_t, c_prev), (c_t, J), backend)


def rnn_step_jacobians(weights: RNNParams, inputs, c0=None, backend: str = "numpy",
                       dps: int = DEFAULT_DPS):
    """J_t = dc_t/dc_{t-1} = diag(act'(z_t)) W_rec, t = 1..T (float64 (T, n, n) or mpmath list)."""
    n, x = _validated(weights, RNNParams, "rnn_step_jacobians", inputs, backend)
    f = _rnn_function(n, x.shape[1], weights.activation, backend)
    w = _weight_args(weights.W_rec, weights.W_in, weights.b)
    return _step_jacobians(f, w, x, _state("c0", c0, n), backend, dps)
