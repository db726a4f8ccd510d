r"""Closed-form one-step Jacobians of RNN, LSTM and GRU cells in numpy float64.

This is the numeric bridge between the derivations (SymPy) and the numerics (long products).
Every function runs the forward pass of the cell over an input sequence, keeps the
pre-activations and gate values, and returns the Jacobians of the state at step t with respect
to the state at step t-1, vectorised over the hidden size n (broadcasting, no Python loop over
units).

Models (PyTorch conventions, Paszke et al. 2019; see shared/oracles.md):

* Vanilla RNN (the article's model, Pascanu, Mikolov & Bengio 2013, eq. 2):
  z_t = W_rec c_{t-1} + W_in x_t + b,  c_t = act(z_t),
  J_t = \partial c_t / \partial c_{t-1} = diag(act'(z_t)) W_rec,
  act in tanh, relu (nn.RNN's two nonlinearities; relu'(0) = 0 as in PyTorch), sigmoid (the
  article's) and the identity. A state_dict does not record the nonlinearity: it must be given.

Every activation derivative is evaluated cancellation-free (numerics.activations), not as
s (1 - s) or 1 - t^2, so a saturated unit keeps its tiny but non-zero derivative.
  (Pascanu et al. print W_rec^T: a known erratum; it is W_rec.)

* LSTM (nn.LSTMCell, gates in row-block order i, f, g, o; Hochreiter & Schmidhuber 1997 with the
  forget gate of Gers et al. 2000):
  a_* = W_* x_t + U_* h_{t-1} + b_*,  f, i, o = sigma(a_*),  g = tanh(a_g),
  c_t = f_t * c_{t-1} + i_t * g_t,  h_t = o_t * tanh(c_t).
  Full state s_t = (h_t, c_t) (in that order), so ``full[t]`` is the 2n x 2n matrix
  [[dh_t/dh_{t-1}, dh_t/dc_{t-1}], [dc_t/dh_{t-1}, dc_t/dc_{t-1}]] with
    dc_t/dc_{t-1} = diag(f_t)
    dc_t/dh_{t-1} = diag(c_{t-1} sigma'(a_f)) U_f + diag(g_t sigma'(a_i)) U_i + diag(i_t tanh'(a_g)) U_g
    dh_t/dc_{t-1} = diag(o_t tanh'(c_t)) diag(f_t)
    dh_t/dh_{t-1} = diag(tanh(c_t) sigma'(a_o)) U_o + diag(o_t tanh'(c_t)) dc_t/dh_{t-1}.

  The article (Arbel 2018) writes dc_t/dc_{t-1} = A_t + B_t + C_t + D_t, i.e. the cell path
  through h_{t-1} = o_{t-1} tanh(c_{t-1}) with o_{t-1} held fixed. Corrected terms, with
  K_t = diag(o_{t-1} tanh'(c_{t-1})):
    A_t = diag(c_{t-1} sigma'(a_f)) U_f K_t,   B_t = diag(f_t),
    C_t = diag(g_t sigma'(a_i)) U_i K_t,       D_t = diag(i_t tanh'(a_g)) U_g K_t.
  Convention at t = 1: h_0 is an independent initial state, not a function of c_0, so
  A_1 = C_1 = D_1 = 0 and ``cell_path[0] = diag(f_1)``.
  The article's D_t as written uses sigma'(a_g) instead of tanh'(a_g) (a known error of the
  article). For numerics we keep the U-blocks and the matrix form (so shapes work) and only
  swap the derivative: D_article_t = diag(i_t sigma'(a_g)) U_g K_t, and
  ``article_cell_path = A + B + C + D_article``. The product of cell_path terms is *not*
  dc_T/dc_0 of the unrolled network (it drops c_{t-2} -> h_{t-2} -> o_{t-1} -> h_{t-1} -> c_t);
  the true Jacobian is the product of ``full``.

* GRU (nn.GRUCell, rows r, z, n; Cho et al. 2014 in PyTorch's variant):
  r = sigma(W_ir x + b_ir + W_hr h + b_hr), z likewise,
  n = tanh(W_in x + b_in + r * (W_hn h + b_hn)),  h' = (1 - z) * n + z * h,
  dh'/dh = diag(1 - z) dn/dh + diag(z) + diag(h - n) diag(sigma'(a_z)) W_hz,
  dn/dh = diag(tanh'(a_n)) [diag(r) W_hn + diag(W_hn h + b_hn) diag(sigma'(a_r)) W_hr].

Random weights (``random_*_params``), the documented scheme:
  rng = numpy.random.default_rng(seed); every recurrent block (W_rec, or each of U_i, U_f, U_g,
  U_o, or each of W_hr, W_hz, W_hn) and every input block is drawn with entries N(0, 1)/sqrt(n)
  (input blocks N(0, 1)/sqrt(d)), in the order: recurrent blocks, input blocks, biases.
  If ``spectral_norm`` is given, each recurrent block is rescaled so that its largest singular
  value is exactly ``spectral_norm`` (up to one float64 rounding); if it is None the draw is
  left unscaled. Biases are N(0, 0.1^2). LSTM: the effective forget-gate bias (block f of b)
  is set to the constant ``forget_bias`` (default 1.0). Inputs (``random_inputs``) are N(0, 1)
  from numpy.random.default_rng([seed, 1]), a stream independent of the weights.
Initial states are zeros unless given.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from gradproof.numerics.activations import (
    RNN_ACTIVATIONS,
    framework_derivative,
    np_activation,
    np_derivative,
    np_sigmoid,
    scaled_derivative,
)
from gradproof.numerics.errors import InputError

__all__ = [
    "pytorch_layout",
    "RNNParams",
    "LSTMParams",
    "GRUParams",
    "LSTMJacobians",
    "rnn_step",
    "lstm_step",
    "gru_step",
    "rnn_states",
    "rnn_jacobians",
    "rnn_jacobians_scaled",
    "lstm_jacobians",
    "gru_jacobians",
    "random_rnn_params",
    "random_lstm_params",
    "random_gru_params",
    "random_inputs",
    "np_sigmoid",
    "derivative_arguments",
]


def _dsigmoid(x, fmt=None):
    """sigma'(x): cancellation-free e^{-|x|}/(1+e^{-|x|})^2 (fmt None), or the framework's
    s (1 - s) rounded to the training format fmt (numerics.activations)."""
    return np_derivative("sigmoid", x) if fmt is None else framework_derivative("sigmoid", x, fmt)


def _dtanh(x, fmt=None):
    """tanh'(x): cancellation-free sech^2 x (fmt None), or the framework's 1 - t^2 in fmt."""
    return np_derivative("tanh", x) if fmt is None else framework_derivative("tanh", x, fmt)


def _check_finite(name: str, arr: np.ndarray) -> None:
    if not np.all(np.isfinite(arr)):
        raise InputError(f"{name} contains NaN or infinite values")


def _as_matrix(name, arr, shape):
    a = np.asarray(arr, dtype=np.float64)
    if a.shape != shape:
        raise InputError(f"{name} has shape {a.shape}, expected {shape}")
    _check_finite(name, a)
    return a


class _Sizes:
    """hidden n and input size d of a cell from its recurrent matrix (G n, n) and input matrix
    (G n, d), G = 1 (RNN), 4 (LSTM) or 3 (GRU) row blocks; _REC and _INP name the two fields."""

    _REC, _INP = "W_hh", "W_ih"

    @property
    def hidden(self) -> int:
        return getattr(self, self._REC).shape[1]

    @property
    def input_size(self) -> int:
        return getattr(self, self._INP).shape[1]


def _set_weights(params, model: str, gates: int) -> int:
    """Validate and store the recurrent (gates*n, n) and input (gates*n, d) matrices on a frozen
    dataclass (float64, finite, n >= 1, d >= 1); returns n."""
    rec, inp = params._REC, params._INP
    rows = "n" if gates == 1 else f"{gates}n"
    W = np.asarray(getattr(params, rec), dtype=np.float64)
    if W.ndim != 2 or W.shape[1] < 1 or W.shape[0] != gates * W.shape[1]:
        raise InputError(f"{model} {rec} must have shape ({rows}, n) with n >= 1, got {W.shape}")
    n = W.shape[1]
    U = np.asarray(getattr(params, inp), dtype=np.float64)
    if U.ndim != 2 or U.shape[0] != gates * n or U.shape[1] < 1:
        raise InputError(f"{model} {inp} must have shape ({gates * n}, d) with d >= 1, got {U.shape}")
    object.__setattr__(params, rec, _as_matrix(rec, W, W.shape))
    object.__setattr__(params, inp, _as_matrix(inp, U, U.shape))
    return n


def _set_bias_split(params, rows: int) -> None:
    """Validate ``bias_split`` = (bias_ih, bias_hh): PyTorch's two bias vectors as stored. The
    model's bias is b = bias_ih + bias_hh (float64); the split is kept for what depends on it:
    a framework adds each bias inside its own linear layer, with its own rounding in a 16-bit
    format (numerics.framework_backward)."""
    if params.bias_split is None:
        return
    if len(params.bias_split) != 2:
        raise InputError("bias_split must be the pair (bias_ih, bias_hh)")
    pair = tuple(_as_matrix(name, v, (rows,)) for name, v in zip(("bias_ih", "bias_hh"), params.bias_split))
    object.__setattr__(params, "bias_split", pair)


@dataclass(frozen=True)
class RNNParams(_Sizes):
    """Vanilla RNN c_t = act(W_rec c_{t-1} + W_in x_t + b); W_rec (n,n), W_in (n,d), b (n,)."""

    _REC, _INP = "W_rec", "W_in"

    W_rec: np.ndarray
    W_in: np.ndarray
    b: np.ndarray
    activation: str = "tanh"
    bias_split: tuple | None = None  # (bias_ih, bias_hh) as stored, when b is their sum (see _set_bias_split)

    def __post_init__(self):
        n = _set_weights(self, "RNN", 1)
        object.__setattr__(self, "b", _as_matrix("b", self.b, (n,)))
        _set_bias_split(self, n)
        if self.activation not in RNN_ACTIVATIONS:
            raise InputError(f"unknown RNN activation {self.activation!r}; choose {', '.join(RNN_ACTIVATIONS)}")


@dataclass(frozen=True)
class LSTMParams(_Sizes):
    """LSTM in nn.LSTMCell layout: W_ih (4n,d), W_hh (4n,n), b (4n,) = bias_ih + bias_hh; rows i,f,g,o."""

    W_ih: np.ndarray
    W_hh: np.ndarray
    b: np.ndarray
    bias_split: tuple | None = None  # (bias_ih, bias_hh) as stored, when b is their sum (see _set_bias_split)

    def __post_init__(self):
        n = _set_weights(self, "LSTM", 4)
        object.__setattr__(self, "b", _as_matrix("b", self.b, (4 * n,)))
        _set_bias_split(self, 4 * n)

    def block(self, name: str) -> np.ndarray:
        """U_name, the (n,n) recurrent block of gate name in 'i','f','g','o'."""
        k = "ifgo".index(name)
        n = self.hidden
        return self.W_hh[k * n:(k + 1) * n]


@dataclass(frozen=True)
class GRUParams(_Sizes):
    """GRU in nn.GRUCell layout: W_ih (3n,d), W_hh (3n,n), b_ih, b_hh (3n,); rows r, z, n."""

    W_ih: np.ndarray
    W_hh: np.ndarray
    b_ih: np.ndarray
    b_hh: np.ndarray

    def __post_init__(self):
        n = _set_weights(self, "GRU", 3)
        object.__setattr__(self, "b_ih", _as_matrix("b_ih", self.b_ih, (3 * n,)))
        object.__setattr__(self, "b_hh", _as_matrix("b_hh", self.b_hh, (3 * n,)))


@dataclass(frozen=True)
class LSTMJacobians:
    """One-step LSTM Jacobians, each with leading axis t = 1..T (index t-1).

    full (T,2n,2n): d(h_t, c_t)/d(h_{t-1}, c_{t-1}); cell_path (T,n,n) = A+B+C+D (corrected);
    A, B, C, D (T,n,n): the corrected terms; article_cell_path = A+B+C+D_article (sigma' in D).
    """

    full: np.ndarray
    cell_path: np.ndarray
    A: np.ndarray
    B: np.ndarray
    C: np.ndarray
    D: np.ndarray
    D_article: np.ndarray
    article_cell_path: np.ndarray


def pytorch_layout(params) -> tuple:
    """(weight_ih, weight_hh, bias_ih, bias_hh) of one layer as PyTorch stores it: the biases as
    read from the file (``bias_split``; GRU: b_ih, b_hh), else the combined bias as bias_ih and
    bias_hh = 0 (the same network; only a framework's separate rounding of the two linears is lost)."""
    if isinstance(params, RNNParams):
        w_ih, w_hh = params.W_in, params.W_rec
    else:
        w_ih, w_hh = params.W_ih, params.W_hh
    if isinstance(params, GRUParams):
        return w_ih, w_hh, params.b_ih, params.b_hh
    if params.bias_split is not None:
        return (w_ih, w_hh) + tuple(params.bias_split)
    return w_ih, w_hh, params.b, np.zeros_like(params.b)


def _check_inputs(inputs, d: int) -> np.ndarray:
    x = np.asarray(inputs, dtype=np.float64)
    if x.ndim != 2 or x.shape[0] < 1 or x.shape[1] != d:
        raise InputError(f"inputs must have shape (T, {d}) with T >= 1, got {x.shape}")
    _check_finite("inputs", x)
    return x


def _initial(name, v, n):
    if v is None:
        return np.zeros(n)
    return _as_matrix(name, v, (n,))


# ----------------------------------------------------------------------------- forward steps
def rnn_step(params: RNNParams, c_prev, x):
    """One RNN step c_t = act(W_rec c_{t-1} + W_in x_t + b) (for finite-difference checks)."""
    return np_activation(params.activation, params.W_rec @ c_prev + params.W_in @ x + params.b)


def lstm_step(params: LSTMParams, h_prev, c_prev, x):
    """One nn.LSTMCell step; returns (h_t, c_t)."""
    n = params.hidden
    a = params.W_ih @ x + params.W_hh @ h_prev + params.b
    i, f, g, o = (a[k * n:(k + 1) * n] for k in range(4))
    c = np_sigmoid(f) * c_prev + np_sigmoid(i) * np.tanh(g)
    h = np_sigmoid(o) * np.tanh(c)
    return h, c


def gru_step(params: GRUParams, h_prev, x):
    """One nn.GRUCell step; returns h_t."""
    n = params.hidden
    gi = params.W_ih @ x + params.b_ih
    gh = params.W_hh @ h_prev + params.b_hh
    r = np_sigmoid(gi[:n] + gh[:n])
    z = np_sigmoid(gi[n:2 * n] + gh[n:2 * n])
    cand = np.tanh(gi[2 * n:] + r * gh[2 * n:])
    return (1.0 - z) * cand + z * h_prev


# ----------------------------------------------------------------------------- Jacobians
def rnn_states(params: RNNParams, inputs, c0=None):
    """Forward pass: (pre-activations z (T,n), states c (T+1,n) with c[0] = c0)."""
    x = _check_inputs(inputs, params.input_size)
    n = params.hidden
    act = params.activation
    T = x.shape[0]
    drive = x @ params.W_in.T + params.b  # (T, n), vectorised input part
    z = np.empty((T, n))
    c = np.empty((T + 1, n))
    c[0] = _initial("c0", c0, n)
    for t in range(T):
        z[t] = params.W_rec @ c[t] + drive[t]
        c[t + 1] = np_activation(act, z[t])
    return z, c


def rnn_jacobians(params: RNNParams, inputs, c0=None, derivative=None, _states=None) -> np.ndarray:
    """J_t = diag(act'(z_t)) W_rec for t = 1..T, shape (T, n, n).

    ``derivative=None``: act' cancellation-free in float64 (entries below the float64 range
    underflow here; :func:`rnn_jacobians_scaled` keeps them). ``derivative=FMT``: act' by the
    framework's formula in the training format FMT (see numerics.activations). ``_states``: the
    result of :func:`rnn_states` for the same arguments, if the caller has it (not recomputed)."""
    z, _ = rnn_states(params, inputs, c0) if _states is None else _states
    if derivative is None:
        M, k = rnn_jacobians_scaled(params, inputs, c0, _z=z)
        with np.errstate(under="ignore"):
            return np.ldexp(M, k[:, None, None])
    return framework_derivative(params.activation, z, derivative)[:, :, None] * params.W_rec[None, :, :]


def rnn_jacobians_scaled(params: RNNParams, inputs, c0=None, _z=None):
    """(M, k) with J_t = M_t 2^{k_t} exactly as in :func:`rnn_jacobians`, for every z_t.

    act'(z_t,i) = m_i 2^{e_i} (numerics.activations.scaled_derivative); k_t = max_i e_i over the
    units with act' != 0 and M_t = diag(m_i 2^{e_i - k_t}) W_rec, so saturated steps whose
    derivatives lie far below the float64 range (sigma'(800) = 10^-347.4) keep their digits.
    A row more than 2^-1074 below the step's largest row still underflows to 0 in M_t; such rows
    are counted by ``numerics.reliability``."""
    z = rnn_states(params, inputs, c0)[0] if _z is None else _z
    m, e = scaled_derivative(params.activation, z)
    big = np.where(m != 0.0, e, np.iinfo(np.int64).min)
    k = np.max(big, axis=1)
    k = np.where(k == np.iinfo(np.int64).min, 0, k)
    with np.errstate(under="ignore"):
        d = np.ldexp(m, np.maximum(e - k[:, None], -1100))
    return d[:, :, None] * params.W_rec[None, :, :], k.astype(np.int64)


def lstm_states(params: LSTMParams, inputs, h0=None, c0=None):
    """Forward pass of nn.LSTMCell: (pre-activations a (T, 4n) in gate order i, f, g, o,
    h (T+1, n), c (T+1, n)) with h[0] = h0, c[0] = c0 (zeros by default)."""
    x = _check_inputs(inputs, params.input_size)
    n = params.hidden
    T = x.shape[0]
    drive = x @ params.W_ih.T + params.b  # (T, 4n), vectorised input part
    h = np.empty((T + 1, n))
    c = np.empty((T + 1, n))
    h[0] = _initial("h0", h0, n)
    c[0] = _initial("c0", c0, n)
    a = np.empty((T, 4 * n))
    for t in range(T):
        a[t] = drive[t] + params.W_hh @ h[t]
        ai, af, ag, ao = (a[t, k * n:(k + 1) * n] for k in range(4))
        c[t + 1] = np_sigmoid(af) * c[t] + np_sigmoid(ai) * np.tanh(ag)
        h[t + 1] = np_sigmoid(ao) * np.tanh(c[t + 1])
    return a, h, c


def gru_states(params: GRUParams, inputs, h0=None):
    """Forward pass of nn.GRUCell: (gi = W_ih x + b_ih (T, 3n), gh = W_hh h_{t-1} + b_hh (T, 3n),
    h (T+1, n)) with h[0] = h0; 1 - z is evaluated as sigma(-a_z), without cancellation."""
    x = _check_inputs(inputs, params.input_size)
    n = params.hidden
    T = x.shape[0]
    gi = x @ params.W_ih.T + params.b_ih  # (T, 3n)
    h = np.empty((T + 1, n))
    h[0] = _initial("h0", h0, n)
    gh = np.empty((T, 3 * n))
    for t in range(T):
        gh[t] = params.W_hh @ h[t] + params.b_hh
        r = np_sigmoid(gi[t, :n] + gh[t, :n])
        a_z = gi[t, n:2 * n] + gh[t, n:2 * n]
        cand = np.tanh(gi[t, 2 * n:] + r * gh[t, 2 * n:])
        h[t + 1] = np_sigmoid(-a_z) * cand + np_sigmoid(a_z) * h[t]
    return gi, gh, h


def lstm_jacobians(params: LSTMParams, inputs, h0=None, c0=None, derivative=None, _states=None) -> LSTMJacobians:
    """One-step LSTM Jacobians (full (h,c) state, corrected and article cell-path terms).

    ``derivative``: None for cancellation-free float64 derivatives, or a format name for the
    framework's formulas in that training format (see :func:`rnn_jacobians`). ``_states``: the result
    of :func:`lstm_states` for the same arguments, if the caller has it (not recomputed)."""
    a, h, c = lstm_states(params, inputs, h0, c0) if _states is None else _states
    n = params.hidden
    T = a.shape[0]
    a_i, a_f, a_g, a_o = (a[:, k * n:(k + 1) * n] for k in range(4))
    i, f, o = np_sigmoid(a_i), np_sigmoid(a_f), np_sigmoid(a_o)
    g = np.tanh(a_g)
    c_prev, c_t = c[:-1], c[1:]
    U_i, U_f, U_g, U_o = (params.block(k)[None] for k in "ifgo")
    tanh_ct = np.tanh(c_t)
    fmt = derivative
    dtanh_ct = _dtanh(c_t, fmt)

    term_f = (c_prev * _dsigmoid(a_f, fmt))[:, :, None] * U_f
    term_i = (g * _dsigmoid(a_i, fmt))[:, :, None] * U_i
    term_g = (i * _dtanh(a_g, fmt))[:, :, None] * U_g
    term_g_article = (i * _dsigmoid(a_g, fmt))[:, :, None] * U_g
    dc_dh = term_f + term_i + term_g
    dc_dc = np.zeros((T, n, n))
    idx = np.arange(n)
    dc_dc[:, idx, idx] = f
    dh_dc = np.zeros((T, n, n))
    dh_dc[:, idx, idx] = o * dtanh_ct * f
    dh_dh = (tanh_ct * _dsigmoid(a_o, fmt))[:, :, None] * U_o + (o * dtanh_ct)[:, :, None] * dc_dh
    full = np.empty((T, 2 * n, 2 * n))
    full[:, :n, :n] = dh_dh
    full[:, :n, n:] = dh_dc
    full[:, n:, :n] = dc_dh
    full[:, n:, n:] = dc_dc

    # K_t = diag(o_{t-1} tanh'(c_{t-1})) for t >= 2; zero at t = 1 (h_0 independent of c_0).
    K = np.zeros((T, n))
    if T > 1:
        K[1:] = o[:-1] * dtanh_ct[:-1]  # tanh'(c_{t-1}) = tanh'(c_t) one step earlier
    A = term_f * K[:, None, :]
    C = term_i * K[:, None, :]
    D = term_g * K[:, None, :]
    D_article = term_g_article * K[:, None, :]
    B = dc_dc
    return LSTMJacobians(full=full, cell_path=A + B + C + D, A=A, B=B, C=C, D=D,
                         D_article=D_article, article_cell_path=A + B + C + D_article)


def gru_jacobians(params: GRUParams, inputs, h0=None, derivative=None, _states=None) -> np.ndarray:
    """dh_t/dh_{t-1} of nn.GRUCell for t = 1..T, shape (T, n, n) (``derivative`` and ``_states``, the
    result of :func:`gru_states`, as in :func:`lstm_jacobians`)."""
    gi, gh, h = gru_states(params, inputs, h0) if _states is None else _states
    n = params.hidden
    a_r = gi[:, :n] + gh[:, :n]
    a_z = gi[:, n:2 * n] + gh[:, n:2 * n]
    hn = gh[:, 2 * n:]  # W_hn h + b_hn
    r = np_sigmoid(a_r)
    z = np_sigmoid(a_z)
    a_n = gi[:, 2 * n:] + r * hn
    cand = np.tanh(a_n)
    W_hr, W_hz, W_hn = (params.W_hh[k * n:(k + 1) * n][None] for k in range(3))
    fmt = derivative
    dn_dh = _dtanh(a_n, fmt)[:, :, None] * (r[:, :, None] * W_hn + (hn * _dsigmoid(a_r, fmt))[:, :, None] * W_hr)
    J = np_sigmoid(-a_z)[:, :, None] * dn_dh + ((h[:-1] - cand) * _dsigmoid(a_z, fmt))[:, :, None] * W_hz
    idx = np.arange(n)
    J[:, idx, idx] += z
    return J


# ----------------------------------------------------------------------------- random weights
def _check_sizes(hidden, input_size, spectral_norm=None):
    if int(hidden) != hidden or hidden < 1:
        raise InputError(f"hidden size must be a positive integer, got {hidden!r}")
    if int(input_size) != input_size or input_size < 1:
        raise InputError(f"input size must be a positive integer, got {input_size!r}")
    if spectral_norm is not None and (not np.isfinite(spectral_norm) or spectral_norm < 0):
        raise InputError(f"spectral norm must be finite and >= 0, got {spectral_norm!r}")


def _recurrent_block(rng, n, spectral_norm):
    U = rng.standard_normal((n, n)) / np.sqrt(n)
    if spectral_norm is not None:
        U = U * (float(spectral_norm) / np.linalg.norm(U, 2))
    return U


def random_rnn_params(hidden: int, input_size: int, seed: int = 0, activation: str = "tanh",
                      spectral_norm: float | None = None) -> RNNParams:
    """Seeded RNN weights (scheme in the module docstring)."""
    _check_sizes(hidden, input_size, spectral_norm)
    rng = np.random.default_rng(seed)
    W_rec = _recurrent_block(rng, hidden, spectral_norm)
    W_in = rng.standard_normal((hidden, input_size)) / np.sqrt(input_size)
    b = 0.1 * rng.standard_normal(hidden)
    return RNNParams(W_rec=W_rec, W_in=W_in, b=b, activation=activation)


def random_lstm_params(hidden: int, input_size: int, seed: int = 0, spectral_norm: float | None = None,
                       forget_bias: float | None = 1.0) -> LSTMParams:
    """Seeded LSTM weights; each U block scaled to spectral_norm; forget-gate bias = forget_bias."""
    _check_sizes(hidden, input_size, spectral_norm)
    rng = np.random.default_rng(seed)
    W_hh = np.concatenate([_recurrent_block(rng, hidden, spectral_norm) for _ in range(4)])
    W_ih = rng.standard_normal((4 * hidden, input_size)) / np.sqrt(input_size)
    b = 0.1 * rng.standard_normal(4 * hidden)
    fb = 1.0 if forget_bias is None else float(forget_bias)
    if not np.isfinite(fb):
        raise InputError(f"forget bias must be finite, got {forget_bias!r}")
    b[hidden:2 * hidden] = fb
    return LSTMParams(W_ih=W_ih, W_hh=W_hh, b=b)


def random_gru_params(hidden: int, input_size: int, seed: int = 0,
                      spectral_norm: float | None = None) -> GRUParams:
    """Seeded GRU weights; each of W_hr, W_hz, W_hn scaled to spectral_norm."""
    _check_sizes(hidden, input_size, spectral_norm)
    rng = np.random.default_rng(seed)
    W_hh = np.concatenate([_recurrent_block(rng, hidden, spectral_norm) for _ in range(3)])
    W_ih = rng.standard_normal((3 * hidden, input_size)) / np.sqrt(input_size)
    b_ih = 0.1 * rng.standard_normal(3 * hidden)
    b_hh = 0.1 * rng.standard_normal(3 * hidden)
    return GRUParams(W_ih=W_ih, W_hh=W_hh, b_ih=b_ih, b_hh=b_hh)


def random_inputs(steps: int, input_size: int, seed: int = 0) -> np.ndarray:
    """Inputs x_t ~ N(0, 1), shape (steps, input_size), from default_rng([seed, 1])."""
    if int(steps) != steps or steps < 1:
        raise InputError(f"steps must be a positive integer, got {steps!r}")
    _check_sizes(1, input_size)
    return np.random.default_rng([seed, 1]).standard_normal((steps, input_size))


# ----------------------------------------------------------------------------- derivative arguments
def derivative_arguments(params, inputs, s0=None) -> list:
    """[(activation, array of arguments)] of every activation derivative the Jacobians use (float64
    forward pass): RNN z_t; LSTM a_i, a_f, a_o (sigmoid), a_g and c_t (tanh); GRU a_r, a_z (sigmoid),
    a_n (tanh). For the reliability statement (saturated and underflowed derivative factors)."""
    x = _check_inputs(inputs, params.input_size)
    n = params.hidden
    if isinstance(params, RNNParams):
        z, _ = rnn_states(params, x, s0)
        return [(params.activation, z)]
    if isinstance(params, LSTMParams):
        s0 = np.zeros(2 * n) if s0 is None else np.asarray(s0, dtype=np.float64)
        h, c = s0[:n].copy(), s0[n:].copy()
        A, C = [], []
        for t in range(x.shape[0]):
            a = params.W_ih @ x[t] + params.W_hh @ h + params.b
            ai, af, ag, ao = (a[k * n:(k + 1) * n] for k in range(4))
            c = np_sigmoid(af) * c + np_sigmoid(ai) * np.tanh(ag)
            h = np_sigmoid(ao) * np.tanh(c)
            A.append(a)
            C.append(c)
        A, C = np.array(A), np.array(C)
        return [("sigmoid", np.concatenate([A[:, :2 * n], A[:, 3 * n:]], axis=1)),
                ("tanh", np.concatenate([A[:, 2 * n:3 * n], C], axis=1))]
    h = np.zeros(n) if s0 is None else np.asarray(s0, dtype=np.float64)
    S, N = [], []
    for t in range(x.shape[0]):
        gi = params.W_ih @ x[t] + params.b_ih
        gh = params.W_hh @ h + params.b_hh
        ar, az = gi[:n] + gh[:n], gi[n:2 * n] + gh[n:2 * n]
        r, z = np_sigmoid(ar), np_sigmoid(az)
        an = gi[2 * n:] + r * gh[2 * n:]
        h = np_sigmoid(-az) * np.tanh(an) + z * h
        S.append(np.concatenate([ar, az]))
        N.append(an)
    return [("sigmoid", np.array(S)), ("tanh", np.array(N))]
