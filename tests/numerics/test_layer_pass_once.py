"""numerics.stacked.layer_pass runs each layer's forward pass once, with the same outputs as the
separate forward pass and Jacobian functions (numerics.cells)."""

from __future__ import annotations

import numpy as np
import pytest

from gradproof.numerics import cells, stacked
from gradproof.numerics.cells import (gru_jacobians, gru_states, lstm_jacobians, lstm_states, random_gru_params,
                                      random_inputs, random_lstm_params, random_rnn_params, rnn_jacobians, rnn_states)

CASES = [("rnn", random_rnn_params, rnn_states, rnn_jacobians),
         ("lstm", random_lstm_params, lstm_states, lstm_jacobians),
         ("gru", random_gru_params, gru_states, gru_jacobians)]


@pytest.mark.parametrize("name, make, states, jacobians", CASES)
@pytest.mark.parametrize("derivative", [None, "float16"])
def test_one_forward_pass_same_values(monkeypatch, name, make, states, jacobians, derivative):
    p = make(4, 3, seed=5)
    x = random_inputs(9, 3, seed=5)
    want_J = jacobians(p, x, derivative=derivative)
    want_J = want_J.full if name == "lstm" else want_J
    want_h = states(p, x)[-1 if name != "lstm" else 1][1:]
    calls = []
    fname = f"{name}_states"
    orig = getattr(cells, fname)

    def counted(*a, **k):
        calls.append(1)
        return orig(*a, **k)

    monkeypatch.setattr(stacked, fname, counted)
    monkeypatch.setattr(cells, fname, counted)
    lp = stacked.layer_pass(p, x, derivative=derivative)
    assert len(calls) == 1
    np.testing.assert_array_equal(lp.J, want_J)
    np.testing.assert_array_equal(lp.h, want_h)
