"""The independent checker: is a derived expression equal to a reference expression?

The reference is normally SymPy's own derivative of the *unrolled* network, computed by
``sympy.diff``/``Matrix.jacobian`` on the composed cell, never from our hand derivation.
Tiers, in order (SymPy's own testing habit, ``sympy/core/random.py``):

1. numeric spot check, always: >= 20 random points, every free symbol drawn uniformly in
   ``sample_range`` from ``random.Random(seed)``, both sides evaluated with mpmath at
   ``dps`` digits (default 50). A relative residual above 10^(-dps/2) that is confirmed at
   2*dps digits is a counterexample: verdict REFUTED, whatever the symbolic tiers say.
2. canonical form modulo function atoms: every applied function (sigma(.), tanh(.), ...)
   in a - b is replaced by a fresh symbol (the same atom by the same symbol, matched
   structurally, outermost first), then ``expand(.) == 0``. Zero here implies a - b = 0
   (substitute the atoms back); it is the fast proof for unrolled networks, whose
   derivatives are polynomials in the gate values.                   -> VERIFIED
3. canonical form: ``expand(a - b) == 0`` entry by entry            -> VERIFIED
4. ``simplify(a - b) == 0``                                         -> VERIFIED
5. ``Expr.equals(a, b)``: True -> VERIFIED, False -> REFUTED; None is a real outcome (undecided)
6. otherwise UNDECIDED ("numerically consistent, no symbolic proof").
Tiers 4 and 5 are skipped for entries with more than ``max_ops`` operations (they can run
for minutes); the method string then says so.

The seed is printed in the method string so that any failure can be replayed.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from enum import Enum
from typing import Callable, Iterable, Mapping

import mpmath
import sympy as sp

from derivations.activations import LAMBDIFY_MODULES_MPMATH

__all__ = [
    "Verdict",
    "CheckResult",
    "check_equal",
    "check_supremum",
    "check_inequality",
    "is_zero_polynomial",
    "DEFAULT_POINTS",
    "DEFAULT_DPS",
]

DEFAULT_POINTS = 20
DEFAULT_DPS = 50
DEFAULT_SEED = 20130101  # any fixed integer; printed with every verdict


class Verdict(str, Enum):
    """Outcome of a check. UNDECIDED is a real outcome, not a failure of the checker."""

    VERIFIED = "verified"
    REFUTED = "refuted"
    UNDECIDED = "undecided"


@dataclass(frozen=True)
class CheckResult:
    """A typed verdict with its evidence.

    ``method``: what decided (e.g. "expand(a-b)==0; numeric 20 pts @50 digits, seed 7").
    ``residual``: the largest relative numeric residual seen (mpf as string).
    ``counterexample``: for REFUTED, a mapping symbol name -> value (as strings) where the
    two sides differ, with both values. ``warnings``: disagreements between tiers etc.
    """

    verdict: Verdict
    method: str
    residual: str
    seed: int
    points: int
    dps: int
    counterexample: Mapping[str, str] | None = None
    warnings: tuple[str, ...] = field(default_factory=tuple)

    @property
    def ok(self) -> bool:
        return self.verdict is Verdict.VERIFIED

    def to_json(self) -> dict:
        return {
            "verdict": self.verdict.value,
            "method": self.method,
            "residual": self.residual,
            "seed": self.seed,
            "points": self.points,
            "dps": self.dps,
            "counterexample": dict(self.counterexample) if self.counterexample else None,
            "warnings": list(self.warnings),
        }


def _as_matrix(e) -> sp.Matrix:
    if isinstance(e, sp.MatrixBase):
        return sp.Matrix(e)
    return sp.Matrix([[sp.sympify(e)]])


def _free_symbols(*mats: sp.Matrix) -> list[sp.Symbol]:
    syms = set()
    for m in mats:
        syms |= m.free_symbols
    return sorted(syms, key=sp.default_sort_key)


def _mp_evaluator(m: sp.Matrix, syms: list[sp.Symbol]) -> Callable:
    # cse=True: unrolled networks repeat c_{t-1} inside every later step
    return sp.lambdify(syms, m, modules=LAMBDIFY_MODULES_MPMATH, cse=True)


def _polynomial_zero(e: sp.Expr) -> bool:
    """Is ``e`` (a polynomial expression after ``_name_function_atoms``) the zero polynomial?

    Expanded in SymPy's sparse polynomial ring over QQ (``PolyRing.from_expr``): the same
    canonical form as ``expand`` but far faster on unrolled networks; falls back to
    ``expand`` for entries that are not polynomial (non-integer powers, floats).
    """
    gens = sorted(e.free_symbols, key=sp.default_sort_key)
    if not gens:
        return sp.expand(e) == 0
    try:
        return sp.polys.rings.PolyRing(gens, sp.QQ).from_expr(e) == 0
    except (ValueError, TypeError, sp.polys.polyerrors.CoercionFailed, sp.polys.polyerrors.PolynomialError):
        return sp.expand(e) == 0


def is_zero_polynomial(e) -> bool:
    """``_polynomial_zero`` for a scalar or for every entry of a Matrix."""
    if isinstance(e, sp.MatrixBase):
        return all(_polynomial_zero(x) for x in e)
    return _polynomial_zero(sp.sympify(e))


def _name_function_atoms(e: sp.Expr) -> sp.Expr:
    """Replace each applied function in ``e`` by a fresh Dummy (outermost match first)."""
    atoms = e.atoms(sp.Function)
    if not atoms:
        return e
    ordered = sorted(atoms, key=sp.default_sort_key)
    return e.xreplace({f: sp.Dummy(f"a{i}") for i, f in enumerate(ordered)})


def _rel_residual(va, vb) -> mpmath.mpf:
    worst = mpmath.mpf(0)
    for x, y in zip(va, vb):
        x = mpmath.mpmathify(x)
        y = mpmath.mpmathify(y)
        scale = max(mpmath.mpf(1), abs(y))
        worst = max(worst, abs(x - y) / scale)
    return worst


def _flat(v) -> list:
    if isinstance(v, mpmath.matrix):
        return [v[i, j] for i in range(v.rows) for j in range(v.cols)]
    try:
        import numpy as np

        return list(np.asarray(v, dtype=object).ravel())
    except Exception:  # pragma: no cover - scalars
        return [v]


def numeric_residual(
    a: sp.Matrix,
    b: sp.Matrix,
    syms: list[sp.Symbol],
    *,
    seed: int,
    points: int,
    dps: int,
    sample_range: tuple[float, float],
    fixed: Mapping[sp.Symbol, object] | None = None,
):
    """Largest relative residual |a - b| / max(1, |b|) over random points, and the worst point."""
    rng = random.Random(seed)
    lo, hi = sample_range
    worst = (mpmath.mpf(-1), None, None, None)
    with mpmath.workdps(dps):
        fa = _mp_evaluator(a, syms)
        fb = _mp_evaluator(b, syms)
        for _ in range(points):
            vals = []
            for s in syms:
                if fixed and s in fixed:
                    vals.append(mpmath.mpf(fixed[s]))
                else:
                    # a decimal string drawn at 17 digits is exact at any working precision
                    vals.append(mpmath.mpf(repr(rng.uniform(lo, hi))))
            va, vb = _flat(fa(*vals)), _flat(fb(*vals))
            r = _rel_residual(va, vb)
            if r > worst[0]:
                worst = (r, vals, va, vb)
    return worst


def _symbolic_zero(diff: sp.Matrix, tiers: Iterable[str], max_ops: int = 400
                   ) -> tuple[Verdict | None, str, list[str]]:
    warnings: list[str] = []
    big = None
    for tier in tiers:
        if tier in ("simplify", "equals") and big is None:
            big = any(sp.count_ops(e) > max_ops for e in diff)
        if tier in ("simplify", "equals") and big:
            warnings.append(f"{tier} skipped: an entry has more than {max_ops} operations")
            continue
        if tier == "atoms":
            if all(_polynomial_zero(_name_function_atoms(e)) for e in diff):
                return (Verdict.VERIFIED,
                        "canonical form modulo function atoms: expand(a - b) == 0", warnings)
        elif tier == "expand":
            if all(sp.expand(e) == 0 for e in diff):
                return Verdict.VERIFIED, "canonical form: expand(a - b) == 0", warnings
        elif tier == "simplify":
            if all(sp.simplify(e) == 0 for e in diff):
                return Verdict.VERIFIED, "simplify(a - b) == 0", warnings
        elif tier == "equals":
            outcomes = [sp.sympify(e).equals(0) for e in diff]
            if all(o is True for o in outcomes):
                return Verdict.VERIFIED, "Expr.equals(a, b) is True", warnings
            if any(o is False for o in outcomes):
                return Verdict.REFUTED, "Expr.equals(a, b) is False", warnings
        else:  # pragma: no cover - programming error
            raise ValueError(f"unknown tier {tier!r}")
    return None, "", warnings


def check_equal(
    derived,
    reference,
    *,
    seed: int = DEFAULT_SEED,
    points: int = DEFAULT_POINTS,
    dps: int = DEFAULT_DPS,
    sample_range: tuple[float, float] = (-1.5, 1.5),
    tiers: tuple[str, ...] = ("atoms", "expand", "simplify", "equals"),
    fixed: Mapping[sp.Symbol, object] | None = None,
    max_ops: int = 400,
) -> CheckResult:
    """Decide whether ``derived`` equals ``reference`` (scalars or matrices of equal shape).

    Always runs the numeric spot check; then the symbolic ``tiers`` in order (pass
    ``tiers=()`` to skip them for expressions too large to simplify: the verdict is then
    UNDECIDED unless a counterexample is found). ``fixed`` pins symbols to values (for
    example an initial state of zeros).
    """
    a, b = _as_matrix(derived), _as_matrix(reference)
    if a.shape != b.shape:
        return CheckResult(
            Verdict.REFUTED,
            f"shape mismatch {a.shape} != {b.shape}",
            "inf",
            seed,
            0,
            dps,
            counterexample={"shape_derived": str(a.shape), "shape_reference": str(b.shape)},
        )
    syms = _free_symbols(a, b)
    # lambdify on plain identifier names: LaTeX-style names (W_{rec,12}) would make lambdify
    # rewrite the whole tree once per argument. Sampling order follows the original names.
    plain = {sy: sp.Symbol(f"v{j:04d}", real=True) for j, sy in enumerate(syms)}
    names = [str(sy) for sy in syms]
    a_num, b_num = a.xreplace(plain), b.xreplace(plain)
    fixed_num = {plain[sy]: v for sy, v in fixed.items() if sy in plain} if fixed else None
    syms_num = [plain[sy] for sy in syms]
    tol = mpmath.mpf(10) ** (-(dps // 2))
    numeric_tag = f"numeric {points} pts @ {dps} digits, seed {seed}"
    r, vals, va, vb = numeric_residual(
        a_num, b_num, syms_num, seed=seed, points=points, dps=dps, sample_range=sample_range,
        fixed=fixed_num,
    )
    with mpmath.workdps(dps):
        residual = mpmath.nstr(r, 5)
    if r > tol:
        # confirm at twice the precision, at the same point, before calling it a counterexample
        with mpmath.workdps(2 * dps):
            fa, fb = _mp_evaluator(a_num, syms_num), _mp_evaluator(b_num, syms_num)
            va2, vb2 = _flat(fa(*vals)), _flat(fb(*vals))
            r2 = _rel_residual(va2, vb2)
        if r2 > tol:
            with mpmath.workdps(15):
                ce = {name: mpmath.nstr(v, 17) for name, v in zip(names, vals)}
                ce["derived"] = str([mpmath.nstr(x, 12) for x in va2])
                ce["reference"] = str([mpmath.nstr(x, 12) for x in vb2])
            return CheckResult(
                Verdict.REFUTED,
                f"numeric counterexample (confirmed at {2 * dps} digits); {numeric_tag}",
                residual,
                seed,
                points,
                dps,
                counterexample=ce,
            )
    diff = a - b
    if fixed:
        diff = diff.xreplace({sy: sp.sympify(v) for sy, v in fixed.items()})
    verdict, how, warnings = _symbolic_zero(diff, tiers, max_ops)
    if verdict is Verdict.REFUTED:
        return CheckResult(verdict, f"{how} (difference below the numeric tolerance {mpmath.nstr(tol, 3)}); "
                           f"{numeric_tag}", residual, seed, points, dps, warnings=tuple(warnings))
    if verdict is Verdict.VERIFIED:
        return CheckResult(verdict, f"{how}; {numeric_tag}", residual, seed, points, dps,
                           warnings=tuple(warnings))
    return CheckResult(
        Verdict.UNDECIDED,
        f"no symbolic proof ({', '.join(tiers) or 'symbolic tiers skipped'}"
        f"{'; ' + '; '.join(warnings) if warnings else ''}); "
        f"numerically consistent: {numeric_tag}",
        residual,
        seed,
        points,
        dps,
        warnings=tuple(warnings),
    )


def check_supremum(
    claimed,
    func: sp.Expr,
    var: sp.Symbol,
    *,
    seed: int = DEFAULT_SEED,
    points: int = 2000,
    dps: int = DEFAULT_DPS,
    sample_range: tuple[float, float] = (-20.0, 20.0),
    proof: sp.Expr | None = None,
) -> CheckResult:
    """Decide the claim sup_var |func| == claimed.

    Numeric tier: |func| sampled at ``points`` seeded points plus a grid through 0; a sample
    above ``claimed`` refutes (the point is the counterexample); if no sample comes within
    1e-6 relative of ``claimed`` from below, the supremum is smaller (refuted, with the
    largest sample). Symbolic tier: ``proof`` (a derived supremum, e.g. from
    ``derive_gamma``) equal to ``claimed`` by ``simplify`` -> VERIFIED.
    """
    claimed = sp.nsimplify(claimed)
    rng = random.Random(seed)
    f = sp.lambdify([var], sp.Abs(func), modules=LAMBDIFY_MODULES_MPMATH)
    lo, hi = sample_range
    with mpmath.workdps(dps):
        c = mpmath.mpf(sp.N(claimed, dps + 5))
        grid = [mpmath.mpf(lo) + (mpmath.mpf(hi) - lo) * i / 400 for i in range(401)]
        xs = grid + [mpmath.mpf(repr(rng.uniform(lo, hi))) for _ in range(points)]
        best_x, best_v = None, mpmath.mpf(-1)
        for x in xs:
            v = f(x)
            if v > best_v:
                best_x, best_v = x, v
        tag = f"numeric {len(xs)} pts @ {dps} digits in [{lo}, {hi}], seed {seed}"
        bx, bv = mpmath.nstr(best_x, 15), mpmath.nstr(best_v, 15)
        if best_v > c * (1 + mpmath.mpf(10) ** (-(dps // 2))):
            return CheckResult(Verdict.REFUTED, f"sample exceeds the claimed supremum; {tag}",
                               mpmath.nstr(best_v - c, 5), seed, len(xs), dps,
                               counterexample={str(var): bx, "value": bv, "claimed": str(claimed)})
        if best_v < c * (1 - mpmath.mpf("1e-6")):
            return CheckResult(Verdict.REFUTED,
                               f"no sample approaches the claimed supremum; {tag}",
                               mpmath.nstr(c - best_v, 5), seed, len(xs), dps,
                               counterexample={"argmax": bx, "largest": bv, "claimed": str(claimed)})
        residual = mpmath.nstr(abs(c - best_v), 5)
    if proof is not None and sp.simplify(sp.nsimplify(proof) - claimed) == 0:
        return CheckResult(Verdict.VERIFIED, f"derived supremum equals the claim (simplify); {tag}",
                           residual, seed, len(xs), dps)
    return CheckResult(Verdict.UNDECIDED, f"numerically consistent, no symbolic proof; {tag}",
                       residual, seed, len(xs), dps)


def check_inequality(
    lhs_fn: Callable[[random.Random], tuple[mpmath.mpf, mpmath.mpf]],
    *,
    proof: str | None,
    seed: int = DEFAULT_SEED,
    points: int = DEFAULT_POINTS,
    dps: int = DEFAULT_DPS,
) -> CheckResult:
    """Spot-check an inequality lhs <= rhs: ``lhs_fn(rng)`` draws a random instance and
    returns (lhs, rhs) at the current working precision. A violation refutes; otherwise the
    verdict is VERIFIED only if ``proof`` names the lemma that proves it, else UNDECIDED.
    """
    rng = random.Random(seed)
    slack = None
    with mpmath.workdps(dps):
        for _ in range(points):
            lhs, rhs = lhs_fn(rng)
            if lhs > rhs * (1 + mpmath.mpf(10) ** (-(dps // 2))):
                return CheckResult(Verdict.REFUTED, f"violated at a random instance; seed {seed}",
                                   mpmath.nstr(lhs - rhs, 5), seed, points, dps,
                                   counterexample={"lhs": mpmath.nstr(lhs, 15),
                                                   "rhs": mpmath.nstr(rhs, 15)})
            gap = rhs - lhs
            slack = gap if slack is None else min(slack, gap)
        residual = mpmath.nstr(slack, 5)
    tag = f"numeric {points} random instances @ {dps} digits, seed {seed}"
    if proof:
        return CheckResult(Verdict.VERIFIED, f"{proof}; {tag}", residual, seed, points, dps)
    return CheckResult(Verdict.UNDECIDED, f"no proof given; {tag}", residual, seed, points, dps)
