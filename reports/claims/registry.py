"""The claims registry: ``Claim``, ``Decision``, the ``@claim`` decorator and ``register``,
the registry ``CLAIMS`` with its ``EXPECTED`` verdicts, sections, references and the audit's
precision and seed."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Mapping

from gradproof.derivations.checker import (
    Verdict,
)

__all__ = [
    "ClaimVerdict",
    "Decision",
    "Claim",
    "REFERENCES",
    "CLAIMS",
    "EXPECTED",
    "claim_ids",
    "claim",
    "register",
    "get_claim",
    "AUDIT_DPS",
    "AUDIT_SEED",
]

#: working precision (decimal digits) of every mpmath evaluation in the audit
AUDIT_DPS = 50
#: seed of every random instance drawn by the audit (printed in each method string)
AUDIT_SEED = 20180101


#: the outcome of a claim: the toolkit's one verdict type (NOT_MATHEMATICAL is kept apart from
#: REFUTED and UNDECIDED, SAMPLED from VERIFIED)
ClaimVerdict = Verdict


REFERENCES: dict[str, str] = {
    "bengio1994": "Y. Bengio, P. Simard, P. Frasconi (1994), Learning long-term dependencies "
    "with gradient descent is difficult, IEEE Trans. Neural Networks 5(2):157-166.",
    "pascanu2013": "R. Pascanu, T. Mikolov, Y. Bengio (2013), On the difficulty of training "
    "recurrent neural networks, ICML (sec. 3.1; erratum: the one-step Jacobian is "
    "W_rec diag(act'(x_{t-1})), the printed W_rec^T is wrong).",
    "hochreiter1997": "S. Hochreiter, J. Schmidhuber (1997), Long short-term memory, Neural "
    "Computation 9(8):1735-1780 (sec. 3.1 error flow; sec. 4 truncated gradient, O(1) per "
    "weight and time step).",
    "gers2000": "F. Gers, J. Schmidhuber, F. Cummins (2000), Learning to forget: continual "
    "prediction with LSTM, Neural Computation 12(10):2451-2471 (forget gate).",
    "williams1989": "R. J. Williams, D. Zipser (1989), A learning algorithm for continually "
    "running fully recurrent neural networks, Neural Computation 1(2):270-280 (RTRL).",
    "werbos1990": "P. J. Werbos (1990), Backpropagation through time: what it does and how to "
    "do it, Proc. IEEE 78(10):1550-1560.",
}

SECTION_RNN = "RNN and Vanishing Gradient Problem"
SECTION_BPTT_RNN = "Backpropagation Through Time in RNNs"
SECTION_BPTT_LSTM = "Backpropagation Through Time in LSTM"
SECTION_LSTM_GRAD = "The Error Gradients in the LSTM Network"
SECTION_PREVENT = "Preventing the Error Gradient from Vanishing"
SECTION_FAQ = "Frequently Asked Questions"


@dataclass(frozen=True)
class Decision:
    """What ``Claim.decide()`` returns: the verdict with its evidence.

    ``method``: the methods that decided, with seed and precision; ``residual``: the largest
    residual, a gap, or a counterexample size (string, so that mpf values keep their digits);
    ``evidence``: JSON-serialisable numbers and sub-verdicts; ``counterexample``: for refuted
    (parts of) claims, the instance that refutes.
    """

    verdict: ClaimVerdict
    method: str
    residual: str
    evidence: Mapping[str, object] = field(default_factory=dict)
    counterexample: Mapping[str, object] | None = None
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class Claim:
    """One statement of the article, formalised.

    ``formal_text`` states the claim in plain-text LaTeX; ``formal()`` builds the SymPy or
    numeric object (None for statements with no mathematical content); ``decide()`` computes
    the verdict at run time.
    """

    id: str
    section: str
    statement: str
    formal_text: str
    methods: tuple[str, ...]
    conditions: str
    references: tuple[str, ...]
    decide: Callable[[], Decision]
    formal: Callable[[], object] | None = None

    def reference_texts(self) -> list[str]:
        return [REFERENCES[r] for r in self.references]


#: the registry, in the article's order: filled by ``@claim`` (each claim is declared on the
#: function that decides it) and ``register``
CLAIMS: dict[str, Claim] = {}

#: the verdict each claim is expected to receive, declared with the claim (``expected=``) but
#: kept apart from the decider's result, so that a change of outcome shows up as a mismatch in
#: `gradproof verify`
EXPECTED: dict[str, Verdict] = {}


def register(c: Claim, *, expected: Verdict) -> Claim:
    """Add claim ``c`` with its expected verdict (ids are unique)."""
    if c.id in CLAIMS:
        raise ValueError(f"claim {c.id!r} registered twice")
    CLAIMS[c.id] = c
    EXPECTED[c.id] = expected
    return c


def claim(*, id: str, section: str, statement: str, formal_text: str, methods, conditions: str,
          references, expected: Verdict, formal: Callable[[], object] | None = None):
    """Decorator declaring the claim decided by the decorated ``() -> Decision`` function."""

    def declare(decide: Callable[[], Decision]) -> Callable[[], Decision]:
        register(Claim(id, section, statement, formal_text, tuple(methods), conditions,
                       tuple(references), decide, formal), expected=expected)
        return decide

    return declare


def claim_ids() -> list[str]:
    """Registered claim ids, in the article's order."""
    return list(CLAIMS)


def get_claim(claim_id: str) -> Claim:
    """The claim called ``claim_id``; an unknown id raises ``InputError``."""
    from gradproof.numerics.errors import InputError

    try:
        return CLAIMS[claim_id]
    except KeyError:
        raise InputError(
            f"unknown claim {claim_id!r} (run 'gradproof verify' to list the {len(CLAIMS)} claim ids)"
        ) from None
