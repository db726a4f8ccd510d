r"""Stacked recurrent networks in float64: the step Jacobian of the whole stack, and its input Jacobian.

A stack of L layers (nn.RNN / nn.LSTM / nn.GRU with ``num_layers = L``, PyTorch conventions, equations
of each cell in numerics.cells): layer 0 reads x_t, layer l >= 1 reads h^{l-1}_t of the same step.
The state of the stack is s_t = (s^0_t, ..., s^{L-1}_t) with s^l = h^l (RNN, GRU) or (h^l, c^l)
(LSTM, h before c), layer 0 first; its size is S = sum_l N_l.

With J^l_t = d s^l_t / d s^l_{t-1} (the layer's own one-step Jacobian at its input) and
X^l_t = d s^l_t / d u^l_t (the Jacobian with respect to the layer's input u^0 = x, u^l = h^{l-1}_t),
the chain rule through the current step gives the block rows of the stack's step Jacobian
M_t = d s_t / d s_{t-1}:

    row block 0:  [J^0_t, 0, ..., 0]
    row block l:  X^l_t E_{l-1} M_t  +  [0, ..., J^l_t (column block l), ..., 0]

where E_{l-1} picks the h rows of block l-1 (block lower triangular: layer l at step t depends on
layers m <= l at step t-1). Likewise the input Jacobian of the stack d s_t / d x_t has block rows
X^0_t and X^l_t E_{l-1} (d s^{l-1}_t / d x_t).

Input Jacobians of the cells (derivatives cancellation-free, or by the framework's formulas in a
training format, as numerics.cells): RNN X = diag(act'(z)) W_in; LSTM, with W_* the input blocks,
  dc/du = diag(c_{t-1} sigma'(a_f)) W_f + diag(g sigma'(a_i)) W_i + diag(i tanh'(a_g)) W_g,
  dh/du = diag(tanh(c_t) sigma'(a_o)) W_o + diag(o tanh'(c_t)) dc/du;
GRU dh/du = diag(1 - z) diag(tanh'(a_n)) [W_n + diag(W_hn h + b_hn) diag(sigma'(a_r)) W_r]
           + diag((h_{t-1} - n) sigma'(a_z)) W_z.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from gradproof.numerics.activations import np_sigmoid
from gradproof.numerics.cells import (
    GRUParams,
    LSTMParams,
    RNNParams,
    _check_inputs,
    _dsigmoid,
    _dtanh,
    gru_jacobians,
    gru_states,
    lstm_jacobians,
    lstm_states,
    rnn_jacobians,
    rnn_states,
)
from gradproof.numerics.errors import InputError

__all__ = ["LayerPass", "StackPass", "layer_pass", "stack_pass", "state_size_of", "size_phrase", "is_whole_stack"]


def size_phrase(hidden, layers) -> str:
    """The size a report header names: ``hidden N`` for one layer (or ``--layer K``); for a whole
    stack, whose ``hidden`` is the sum of its layers' hidden sizes, the layers' sizes as well
    (``hidden 5 + 5 (2 layers)``; the state holds h, and c for an LSTM, of every layer)."""
    sizes = list((layers or {}).get("hidden") or ())
    if not is_whole_stack(layers) or len(sizes) != len(layers["analysed"]):
        return f"hidden {hidden}"
    return f"hidden {' + '.join(str(h) for h in sizes)} ({len(sizes)} layers)"


def is_whole_stack(layers) -> bool:
    """Whether a report's ``layers`` record (None: one layer) says its state is several layers'."""
    return len((layers or {}).get("analysed") or ()) > 1


def state_size_of(params) -> int:
    return 2 * params.hidden if isinstance(params, LSTMParams) else params.hidden


@dataclass(frozen=True)
class LayerPass:
    """One layer over the sequence: h (T, n) its outputs, J (T, N, N) d s_t/d s_{t-1},
    X (T, N, d) d s_t/d u_t; LSTM: forget (T, n) the forget-gate values f_t."""

    h: np.ndarray
    J: np.ndarray
    X: np.ndarray
    forget: np.ndarray | None = None


def _derivative(fmt):
    def dsig(v):
        return _dsigmoid(v, fmt)

    def dtanh(v):
        return _dtanh(v, fmt)

    return dsig, dtanh


def layer_pass(params, inputs, derivative=None) -> LayerPass:
    """Forward pass of one layer (zero initial state) with its state and input Jacobians (the forward
    pass runs once; the Jacobians are computed from its states)."""
    x = _check_inputs(inputs, params.input_size)
    n = params.hidden
    dsig, dtanh = _derivative(derivative)
    if isinstance(params, RNNParams):
        z, h = rnn_states(params, x)
        J = rnn_jacobians(params, x, derivative=derivative, _states=(z, h))
        if derivative is None:
            from gradproof.numerics.activations import np_derivative
            d = np_derivative(params.activation, z)
        else:
            from gradproof.numerics.activations import framework_derivative
            d = framework_derivative(params.activation, z, derivative)
        return LayerPass(h=h[1:], J=J, X=d[:, :, None] * params.W_in[None])
    if isinstance(params, LSTMParams):
        a, h, c = lstm_states(params, x)
        a_i, a_f, a_g, a_o = (a[:, k * n:(k + 1) * n] for k in range(4))
        i, f, o, g = np_sigmoid(a_i), np_sigmoid(a_f), np_sigmoid(a_o), np.tanh(a_g)
        W = {k: params.W_ih[j * n:(j + 1) * n][None] for j, k in enumerate("ifgo")}
        dtc = dtanh(c[1:])
        dc_du = ((c[:-1] * dsig(a_f))[:, :, None] * W["f"] + (g * dsig(a_i))[:, :, None] * W["i"]
                 + (i * dtanh(a_g))[:, :, None] * W["g"])
        dh_du = (np.tanh(c[1:]) * dsig(a_o))[:, :, None] * W["o"] + (o * dtc)[:, :, None] * dc_du
        J = lstm_jacobians(params, x, derivative=derivative, _states=(a, h, c)).full
        return LayerPass(h=h[1:], J=J, X=np.concatenate([dh_du, dc_du], axis=1), forget=f)
    if isinstance(params, GRUParams):
        gi, gh, h = gru_states(params, x)
        a_r, a_z, hn = gi[:, :n] + gh[:, :n], gi[:, n:2 * n] + gh[:, n:2 * n], gh[:, 2 * n:]
        r = np_sigmoid(a_r)
        a_n = gi[:, 2 * n:] + r * hn
        cand = np.tanh(a_n)
        Wr, Wz, Wn = (params.W_ih[k * n:(k + 1) * n][None] for k in range(3))
        dn_du = dtanh(a_n)[:, :, None] * (Wn + (hn * dsig(a_r))[:, :, None] * Wr)
        X = np_sigmoid(-a_z)[:, :, None] * dn_du + ((h[:-1] - cand) * dsig(a_z))[:, :, None] * Wz
        J = gru_jacobians(params, x, derivative=derivative, _states=(gi, gh, h))
        return LayerPass(h=h[1:], J=J, X=X)
    raise InputError(f"unknown parameter type {type(params).__name__}")


@dataclass(frozen=True)
class StackPass:
    """The stack over the sequence: M (T, S, S) = d s_t / d s_{t-1}, X (T, S, d) = d s_t / d x_t,
    the layers' passes, and the offsets of every layer's block in s."""

    M: np.ndarray
    X: np.ndarray
    layers: tuple
    offsets: tuple
    sizes: tuple

    def h_rows(self, layer: int) -> slice:
        """Rows of the h part of ``layer``'s block of s."""
        n = self.layers[layer].h.shape[1]
        return slice(self.offsets[layer], self.offsets[layer] + n)

    def h_mask(self) -> np.ndarray:
        """True at the h entries of every layer of s."""
        mask = np.zeros(sum(self.sizes), dtype=bool)
        for layer in range(len(self.layers)):
            mask[self.h_rows(layer)] = True
        return mask


def stack_pass(layers, inputs, derivative=None) -> StackPass:
    """Forward pass of the stack (zero initial states) with the block step and input Jacobians."""
    if not layers:
        raise InputError("a stack needs at least one layer")
    passes = []
    u = inputs
    for p in layers:
        lp = layer_pass(p, u, derivative=derivative)
        passes.append(lp)
        u = lp.h
    sizes = tuple(state_size_of(p) for p in layers)
    offsets = tuple(int(v) for v in np.concatenate([[0], np.cumsum(sizes)[:-1]]))
    S = sum(sizes)
    T = passes[0].J.shape[0]
    d = passes[0].X.shape[2]
    M = np.zeros((T, S, S))
    X = np.zeros((T, S, d))
    for L, lp in enumerate(passes):
        o, N = offsets[L], sizes[L]
        if L == 0:
            X[:, o:o + N] = lp.X
        else:
            n_prev = passes[L - 1].h.shape[1]
            po = offsets[L - 1]
            M[:, o:o + N, :] = lp.X @ M[:, po:po + n_prev, :]
            X[:, o:o + N] = lp.X @ X[:, po:po + n_prev]
        M[:, o:o + N, o:o + N] += lp.J
    return StackPass(M=M, X=X, layers=tuple(passes), offsets=offsets, sizes=sizes)
