"""The derivations behind `gradproof derive`, rerun and compared with their registered findings; registered after the article's claims."""

from __future__ import annotations

from typing import Callable

import mpmath
from gradproof.derivations.checker import (
    Verdict,
)
from gradproof.reports.claims.common import (
    _R,
    _noise,
)
from gradproof.reports.claims.registry import (
    AUDIT_DPS,
    SECTION_BPTT_RNN,
    SECTION_LSTM_GRAD,
    Claim,
    ClaimVerdict,
    Decision,
    register,
)

# ---------------------------------------------------------------------------------------------
# 5. the derivations behind `gradproof derive`, rerun and compared with registered findings
# ---------------------------------------------------------------------------------------------

#: steps of each derivation rerun here that are *expected* to be refuted (they restate the
#: article's errors), from the derivations' own registry ``records.EXPECTED_REFUTED`` at the
#: rerun size k = RERUN_STEPS. Every other checked step must be verified; an undecided step is
#: a failure.
def _findings(model: str, variant: str | None, k: int) -> frozenset[str]:
    from gradproof.derivations.records import EXPECTED_REFUTED

    return frozenset(n for n, min_k in EXPECTED_REFUTED.get((model, variant), {}).items() if k >= min_k)


def _derivation_decider(kind: str, build: Callable[[], object]) -> Callable[[], Decision]:
    def decide() -> Decision:
        der = build()
        findings = DERIVATION_FINDINGS[kind]
        steps, mismatches, undecided = {}, [], []
        for r in der.records:
            if r.check is None:
                continue
            v = r.check.verdict
            steps[r.name] = v.value
            want = Verdict.REFUTED if r.name in findings else Verdict.VERIFIED
            if v is Verdict.UNDECIDED:
                undecided.append(r.name)
            elif v is not want:
                mismatches.append(f"{r.name}: {v.value}, expected {want.value}")
        missing = sorted(findings - set(steps))
        if missing:
            mismatches.append(f"registered finding(s) not in the derivation: {', '.join(missing)}")
        if mismatches:
            verdict = ClaimVerdict.REFUTED
        elif undecided:
            verdict = ClaimVerdict.UNDECIDED
        else:
            verdict = ClaimVerdict.VERIFIED
        worst = max((mpmath.mpf(r.check.residual) for r in der.records
                     if r.check is not None and r.name not in findings
                     and r.check.residual not in ("inf", "nan")), default=mpmath.mpf(0))
        return Decision(
            verdict,
            f"rerun of the {der.model} derivation ({der.variant or der.activation}, n={der.hidden}, "
            f"k={der.steps}): {len(steps)} checked steps against SymPy's derivative of the "
            "unrolled network; registered findings must be refuted, all other steps verified",
            _noise(worst, AUDIT_DPS, 3),
            {"steps": steps, "registered_findings": sorted(findings),
             "mismatches": mismatches, "undecided": undecided},
        )

    return decide


#: sizes of the derivations rerun by the ``derivation-*`` claims (hidden n, steps k)
RERUN_HIDDEN, RERUN_STEPS = 1, 3

#: the registered findings of each rerun derivation (kind -> step names expected refuted)
DERIVATION_FINDINGS: dict[str, frozenset[str]] = {
    "rnn": _findings("rnn", None, RERUN_STEPS),
    "lstm-article": _findings("lstm", "article", RERUN_STEPS),
    "lstm-corrected": _findings("lstm", "corrected", RERUN_STEPS),
}


def _formal_tex(model: str, option: str, value: str, n: int, k: int, expectation: str) -> str:
    r"""The claim's formal statement in TeX (the audit shows formal statements as math): prose in
    ``\text`` pieces joined by ``,\ `` so that an HTML line may wrap between them."""
    words = [rf"\text{{each checked step of}}\ \mathtt{{derive}}(\text{{{model}}}, "
             rf"\text{{{option.replace('_', ' ')}}} = \text{{{value}}}, n = {n}, k = {k})"]
    words += [rf"\text{{{part.strip()}}}" for part in expectation.split(",")]
    return r",\ ".join(words)


def _derivation_claim(section: str, model: str, option: str, value: str, checked: str,
                      kind: str, expectation: str, references: tuple[str, ...]) -> Claim:
    """The claim ``derivation-<model>-<value>``: rerun ``gradproof derive <model> --<option>
    <value>`` (n = RERUN_HIDDEN, k = RERUN_STEPS) and compare each checked step with the
    registered findings ``DERIVATION_FINDINGS[kind]``. Nothing is derived until it is decided."""
    n, k = RERUN_HIDDEN, RERUN_STEPS

    def build():
        from gradproof.derivations import derive_model

        return derive_model(model, hidden=n, steps=k, **{option: value})

    return Claim(
        f"derivation-{model}-{value}", section,
        f"(toolkit) `gradproof derive {model} --{option} {value}`: {checked}.",
        _formal_tex(model, option, value, n, k, expectation),
        ("rerun of the derivation's own checks",), f"n = {n}, k = {k}", references,
        _derivation_decider(kind, build))




# the derivation claims, registered after the article's claims (toolkit-numerics-agree above)
for _act in ("sigmoid", "tanh"):
    register(_derivation_claim(SECTION_BPTT_RNN, "rnn", "activation", _act, "every step checked", "rnn",
                               "verified, registered findings refuted", _R), expected=Verdict.VERIFIED)
register(_derivation_claim(SECTION_LSTM_GRAD, "lstm", "variant", "article", "the article's terms checked",
                           "lstm-article", "as registered", ("hochreiter1997", "gers2000")),
         expected=Verdict.VERIFIED)
register(_derivation_claim(SECTION_LSTM_GRAD, "lstm", "variant", "corrected", "every step checked",
                           "lstm-corrected", "as registered", ("hochreiter1997", "gers2000")),
         expected=Verdict.VERIFIED)


