"""The claims audit: run every registered claim's decider, compare with its expected verdict.

``run_audit`` times each ``Claim.decide()`` and returns one ``ClaimOutcome`` per claim;
``gradproof verify`` (reports/cli.py) prints them and exits 0 when every outcome matches its
registered expectation, 1 otherwise (unknown ids raise ``InputError``, exit 2);
``format_audit_table`` and ``audit_markdown`` render the outcomes for the terminal and for the
generated reports. A decider that raises is recorded as ``undecided`` with the error in its
evidence, so that one broken claim cannot hide the others (and makes the run exit 1).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Iterable, Sequence

from gradproof.reports.claims import CLAIMS, EXPECTED, ClaimVerdict, Decision, get_claim
from gradproof.numerics.errors import InputError
from gradproof.numerics.published import publish

__all__ = ["ClaimOutcome", "run_audit", "format_audit_table", "audit_markdown", "audit_json"]


@dataclass(frozen=True)
class ClaimOutcome:
    """The audited result of one claim: its computed verdict next to the expected one."""

    id: str
    section: str
    statement: str
    formal: str
    verdict: ClaimVerdict
    expected: ClaimVerdict
    method: str
    residual: str
    conditions: str
    references: tuple[str, ...]
    evidence: dict
    seconds: float
    counterexample: dict | None = None
    warnings: tuple[str, ...] = field(default_factory=tuple)

    @property
    def as_expected(self) -> bool:
        return self.verdict is self.expected

    def to_dict(self) -> dict:
        """Every field as plain JSON types (``to_json(full=True)``)."""
        return self.to_json(full=True)

    def to_json(self, *, full: bool = False) -> dict:
        """{"id", "verdict", "expected", "method", "residual", "seconds"}, plus "as_expected";
        ``full=True`` adds section, statement, formal, conditions, references, evidence and
        counterexample."""
        out = {
            "id": self.id,
            "verdict": self.verdict.value,
            "expected": self.expected.value,
            "method": self.method,
            "residual": self.residual,
            "seconds": round(self.seconds, 3),
            "as_expected": self.as_expected,
        }
        if full:
            out.update({
                "section": self.section,
                "statement": self.statement,
                "formal": self.formal,
                "conditions": self.conditions,
                "references": list(self.references),
                "evidence": self.evidence,
                "counterexample": self.counterexample,
                "warnings": list(self.warnings),
            })
        return out


def _resolve(claim_ids: Iterable[str] | None) -> list[str]:
    if claim_ids is None:
        return list(CLAIMS)
    ids = list(claim_ids)
    if not ids:
        raise InputError("no claim id given")
    for cid in ids:
        get_claim(cid)  # InputError for an unknown id
    return list(dict.fromkeys(ids))  # keep order, drop repeats


def _jsonable(obj):
    """Evidence as plain JSON types (bools, numbers, strings, lists, dicts with str keys).

    Floats are printed by ``numerics.published`` (float64 basis); deciders format their own
    numbers through it (``reports.claims._nstr``/``_noise``). Anything else becomes its ``str``. Not the same as
    ``reports.build._jsonable``, which turns numpy numbers into JSON numbers for the manifest."""
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, float):  # a stray float: published as a float64 result (6 digits at most)
        return publish(obj).text
    if obj is None or isinstance(obj, (bool, int, str)):
        return obj
    return str(obj)


def run_audit(claim_ids: Iterable[str] | None = None) -> list[ClaimOutcome]:
    """Decide the given claims (all registered claims by default), timing each decider."""
    outcomes = []
    for cid in _resolve(claim_ids):
        claim = CLAIMS[cid]
        start = time.perf_counter()
        try:
            d: Decision = claim.decide()
        except Exception as exc:  # recorded, never hidden: the outcome will not match
            d = Decision(ClaimVerdict.UNDECIDED, f"decider raised {type(exc).__name__}", "n/a",
                         {"error": f"{type(exc).__name__}: {exc}"})
        seconds = time.perf_counter() - start
        outcomes.append(ClaimOutcome(
            id=cid, section=claim.section, statement=claim.statement, formal=claim.formal_text,
            verdict=d.verdict, expected=EXPECTED[cid], method=d.method, residual=d.residual,
            conditions=claim.conditions, references=tuple(claim.reference_texts()),
            evidence=_jsonable(dict(d.evidence)), seconds=seconds,
            counterexample=_jsonable(dict(d.counterexample)) if d.counterexample else None,
            warnings=tuple(d.warnings)))
    return outcomes


def _short(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 3] + "..."


def format_audit_table(outcomes: Sequence[ClaimOutcome], *, method_width: int = 70) -> str:
    """Plain-text table: claim, verdict, expected, method, seconds; a summary line at the end."""
    head = ("claim", "verdict", "expected", "method", "seconds")
    rows = [(o.id, o.verdict.value, o.expected.value + ("" if o.as_expected else "  <-- DIFFERS"),
             _short(o.method, method_width), f"{o.seconds:.2f}") for o in outcomes]
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(4)]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths) + "  {:>7}"
    lines = [fmt.format(*head), fmt.format(*("-" * w for w in widths), "-------")]
    lines += [fmt.format(*r) for r in rows]
    total = sum(o.seconds for o in outcomes)
    bad = [o.id for o in outcomes if not o.as_expected]
    lines.append("")
    lines.append(f"{len(outcomes)} claims, {len(outcomes) - len(bad)} as expected"
                 + (f", {len(bad)} differ: {', '.join(bad)}" if bad else "")
                 + f"; audit time {total:.2f} s")
    return "\n".join(lines)


def _md_cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _md_text(text: str) -> str:
    return str(text).replace("\n", " ")


def _md_value(v, limit: int = 10) -> str:
    if isinstance(v, dict):
        if "verdict" in v:
            return f"{v['verdict']} (residual {v.get('residual')})"
        items = list(v.items())
        body = ", ".join(f"{k}: {_md_value(x, limit)}" for k, x in items[:limit])
        return "{" + body + (", ..." if len(items) > limit else "") + "}"
    if isinstance(v, list):
        body = "; ".join(_md_value(x, limit) for x in v[:limit])
        return "[" + body + ("; ..." if len(v) > limit else "") + "]"
    return str(v)


def _md_evidence(o: ClaimOutcome) -> list[str]:
    """One Markdown bullet per evidence item (sub-verdicts, numbers, small tables)."""
    return [f"  - {k}: {_md_text(_md_value(v))}" for k, v in o.evidence.items()]


def audit_markdown(outcomes: Sequence[ClaimOutcome], *, include_seconds: bool = False) -> str:
    """A Markdown section: summary table (claim, section, verdict, expected, method, residual
    [, seconds]) and, per claim, the statement, formal statement, conditions, evidence,
    counterexample and references. Claim ids are anchors (``#claim-<id>``) so the table links
    to the evidence. Timings are left out by default so that a rebuilt report is byte-identical;
    ``include_seconds=True`` adds them."""
    ok = sum(o.as_expected for o in outcomes)
    summary = f"{len(outcomes)} claims; {ok} with the expected verdict"
    if include_seconds:
        summary += f"; audit time {sum(o.seconds for o in outcomes):.2f} s"
    out = ["## Claims audit", "",
           summary + ". Verdicts are computed when the report is built (`gradproof verify` "
           "recomputes them).", "",
           "| claim | section | verdict | expected | method | residual |"
           + (" seconds |" if include_seconds else ""),
           "|---|---|---|---|---|---|" + ("---:|" if include_seconds else "")]
    for o in outcomes:
        flag = "" if o.as_expected else " **(differs)**"
        out.append(f"| [{o.id}](#claim-{o.id}) | {_md_cell(o.section)} | {o.verdict.value}{flag} | "
                   f"{o.expected.value} | {_md_cell(_short(o.method, 90))} | {_md_cell(o.residual)} |"
                   + (f" {o.seconds:.2f} |" if include_seconds else ""))
    out.append("")
    for o in outcomes:
        out += [f'<a id="claim-{o.id}"></a>', f"### {o.id}: {o.verdict.value}", "",
                f"- Article ({_md_text(o.section)}): {_md_text(o.statement)}",
                f"- Formal: `{_md_text(o.formal)}`",
                f"- Conditions: {_md_text(o.conditions)}",
                f"- Method: {_md_text(o.method)}",
                f"- Residual: {_md_text(o.residual)}",
                "- Evidence:", *_md_evidence(o)]
        if o.counterexample:
            ce = ", ".join(f"{k} = {v}" for k, v in o.counterexample.items())
            out.append(f"- Counterexample: {_md_text(ce)}")
        out.append("- References:")
        out += [f"  - {_md_text(r)}" for r in o.references]
        out.append("")
    return "\n".join(out)


def audit_json(outcomes: Sequence[ClaimOutcome], *, full: bool = False) -> str:
    """The outcomes as a JSON list (sorted keys)."""
    return json.dumps([o.to_json(full=full) for o in outcomes], indent=2, sort_keys=True)
