"""The article's FAQ: cost per step, and the statement that names no quantity."""

from __future__ import annotations

import sympy as sp
from gradproof.reports.claims.registry import (
    SECTION_FAQ,
    ClaimVerdict,
    Decision,
    claim,
)

# ---------------------------------------------------------------------------------------------
# 4. the FAQ
# ---------------------------------------------------------------------------------------------


@claim(
    id="lstm-o1-complexity",
    section=SECTION_FAQ,
    statement="The FAQ says that with an LSTM the cost of a weight update comes down to O(1).",
    formal_text=r"\text{cost per weight and time step} = O(1)",
    methods=("literature cost model", "SymPy limits of cost per weight"),
    conditions="true per weight and time step for the truncated gradient of Hochreiter & Schmidhuber "
        "(1997) (and equally for BPTT); a reduction only relative to full RTRL (O(n^2) per "
        "weight); not the cost of a whole update. Attribution: the O(1) is Hochreiter & "
        "Schmidhuber's statement about their learning algorithm, not a property of the LSTM "
        "architecture",
    references=("hochreiter1997", "williams1989", "werbos1990"),
    expected=ClaimVerdict.CONDITIONAL,
)
def _decide_o1_complexity() -> Decision:
    """Cost model per time step (multiply-adds, leading order in the hidden size n, input size
    d = n): W = 4 n (n + d + 1) weights for an LSTM layer. Full RTRL (Williams & Zipser 1989)
    carries dh/dW, n * W numbers, updated with an n x n Jacobian: n^2 W per step. BPTT
    (Werbos 1990): forward + backward pass, a constant number of operations per weight: c W.
    Hochreiter & Schmidhuber (1997, sec. 4) truncate the error flow at the cell, so each
    weight keeps O(1) traces: c' W per step. The claim 'O(1)' is the per-weight, per-step cost
    of that truncated algorithm; it is no reduction compared with BPTT."""
    n = sp.Symbol("n", positive=True, integer=True)
    W = 4 * n * (2 * n + 1)
    costs = {"rtrl_full": n ** 2 * W, "bptt": 3 * W, "lstm_truncated_1997": 3 * W}
    per_weight = {k: sp.limit(v / W, n, sp.oo) for k, v in costs.items()}
    bounded = {k: bool(v.is_finite) for k, v in per_weight.items()}
    ok = bounded["lstm_truncated_1997"] and bounded["bptt"] and not bounded["rtrl_full"]
    return Decision(
        ClaimVerdict.CONDITIONAL if ok else ClaimVerdict.UNDECIDED,
        "literature cost model (Hochreiter & Schmidhuber 1997 sec. 4; Williams & Zipser 1989; "
        "Werbos 1990); SymPy limit of cost per weight and step as n -> oo",
        "n/a",
        {"weights_W(n)": str(W), "cost_per_step": {k: str(v) for k, v in costs.items()},
         "limit_cost_per_weight_per_step": {k: str(v) for k, v in per_weight.items()},
         "reading": "O(1) per weight and time step holds for the 1997 truncated algorithm "
                    "(and for BPTT); it is a reduction only relative to full RTRL, not a "
                    "property of LSTMs trained by full BPTT; what the truncated algorithm "
                    "saves against BPTT is storage (local in time: no stored history of "
                    "length T), not operations per weight and step"},
    )


@claim(
    id="no-fine-adjustments",
    section=SECTION_FAQ,
    statement="LSTMs expose many parameters (biases, learning rates), so they need no fine adjustments.",
    formal_text=r"\text{(none: no quantity to bound)}",
    methods=("classification: no formal content",),
    conditions="none",
    references=("hochreiter1997",),
    expected=ClaimVerdict.NOT_MATHEMATICAL,
)
def _decide_no_fine_adjustments() -> Decision:
    return Decision(
        ClaimVerdict.NOT_MATHEMATICAL,
        "no formal statement: 'fine adjustments' names no quantity, norm or condition that "
        "could be proven or refuted",
        "n/a",
        {"note": "the parameters the FAQ lists (input and output biases, learning rates) are "
                 "themselves hyperparameters; whether they need tuning is an empirical question"},
    )


