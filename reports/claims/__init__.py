r"""The claims registry: every statement of the tutorial as a formal claim with a computed verdict.

Each claim is declared where it is decided: ``@claim(id=..., section=..., statement=...,
formal_text=..., methods=..., conditions=..., references=..., expected=...)`` on its decider.
Each ``Claim`` carries the article's statement (paraphrased, with its section), a formal
statement (text, plus a lazily built SymPy/numeric object), the methods that decide it, the
conditions, the references, and a ``decide()`` callable that computes the verdict *at run time*.
The verdict a reader should expect is registered separately in ``EXPECTED`` so that any change
in outcome (a regression, or a checker that starts accepting a false statement) is caught by
``gradproof verify`` and by the tests.

Evidence is computed independently of the modules under audit wherever possible: the
references are SymPy derivatives of small unrolled networks built here, mpmath evaluations at
stated working precision, and central finite differences at high precision. The lead's
``checker`` decides equalities and inequalities; ``activations.derive_gamma`` is cross-checked
against a separate SymPy proof (1/4 - s(1-s) = (s - 1/2)^2, 1 - tanh' = tanh^2).

Verdicts (``ClaimVerdict`` is the toolkit's one ``Verdict`` type, ``derivations.checker``):
  verified          the statement holds (symbolic proof or checked lemma chain + numeric check)
  refuted           false as stated; a counterexample or a nonzero residual is attached
  conditional       holds exactly under the stated conditions, fails without them
  sampled           no counterexample on the stated sample (instances, seed): evidence, no proof
  undecided         not decided by the available methods
  not-mathematical  the statement names no mathematical quantity; nothing to prove

Inequalities are decided by checked proofs (``derivations.proofs``, ``derivations.bounds``):
a chain of named lemma instances whose side conditions the checker decides; free text is
not a proof, and a decider whose only evidence is sampling says ``sampled``.

References: Bengio, Simard & Frasconi (1994); Pascanu, Mikolov & Bengio (2013) with the W^T
erratum; Hochreiter & Schmidhuber (1997); Gers, Schmidhuber & Cummins (2000); Williams &
Zipser (1989) for RTRL; Werbos (1990) for BPTT.

One module per group of claims, each claim declared on its decider (``@claim``):
``activations``, ``rnn``, ``lstm``, ``faq``, ``toolkit``, then ``derivations`` (registered
last); ``registry`` holds the types and the registry, ``common`` the independent helpers.
Importing the package registers every claim, in the article's order.
"""

from __future__ import annotations

from gradproof.reports.claims.registry import (  # noqa: F401
    AUDIT_DPS,
    AUDIT_SEED,
    ClaimVerdict,
    REFERENCES,
    SECTION_RNN,
    SECTION_BPTT_RNN,
    SECTION_BPTT_LSTM,
    SECTION_LSTM_GRAD,
    SECTION_PREVENT,
    SECTION_FAQ,
    Decision,
    Claim,
    CLAIMS,
    EXPECTED,
    register,
    claim,
    claim_ids,
    get_claim,
)
# the groups, imported in the article's order: importing a group registers its claims
from gradproof.reports.claims import activations  # noqa: F401, I001
from gradproof.reports.claims import rnn  # noqa: F401
from gradproof.reports.claims import lstm  # noqa: F401
from gradproof.reports.claims import faq  # noqa: F401
from gradproof.reports.claims import toolkit  # noqa: F401
from gradproof.reports.claims import derivations  # noqa: F401  (registered after the article's claims)

__all__ = ["ClaimVerdict", "Decision", "Claim", "REFERENCES", "CLAIMS", "EXPECTED", "claim_ids", "claim",
           "register", "get_claim", "AUDIT_DPS", "AUDIT_SEED"]
