"""The independent checker: is a derived expression equal to a reference expression?

The reference is normally SymPy's own derivative of the *unrolled* network, computed by
``sympy.diff``/``Matrix.jacobian`` on the composed cell, never from our hand derivation.
Tiers, in order (SymPy's own testing habit, ``sympy/core/random.py``):

1. numeric spot check, always: >= 20 random points, every free symbol drawn uniformly in
   ``sample_range`` from ``random.Random(seed)``, both sides evaluated with mpmath at
   ``dps`` digits (default 50). A relative residual above 10^(-dps/2) that is confirmed at
   2*dps digits is a counterexample: verdict REFUTED, whatever the symbolic tiers say.
2. canonical form modulo function atoms: every non-arithmetic subterm of a - b (applied
   functions sigma(.), tanh(.), but also Derivative, Subs, Integral, Piecewise, ...: anything
   that is not Add, Mul, Pow, a symbol or a number) is replaced by a fresh symbol (the same
   subterm by the same symbol, matched structurally, outermost first), then
   ``expand(.) == 0``. Zero here implies a - b = 0 (substitute the atoms back: a polynomial
   identity in independent symbols holds for any values of them); it is the fast proof for
   unrolled networks, whose derivatives are polynomials in the gate values. Subterms that
   bind variables (Derivative, Subs, Integral) are replaced whole, never opened, so renaming
   inside them cannot make a nonzero difference vanish.               -> VERIFIED
3. canonical form: ``expand(a - b) == 0`` entry by entry            -> VERIFIED
4. ``simplify(a - b) == 0`` (the sigmoid rewritten as 1/(1 + e^{-z}) first)  -> VERIFIED
5. ``Expr.equals(a, b)``: True -> VERIFIED; False -> REFUTED only when a high-precision
   evaluation of a - b (at 4*dps and 8*dps digits, the two agreeing) confirms a nonzero value,
   else UNDECIDED; None is a real outcome (undecided)
6. otherwise UNDECIDED ("numerically consistent, no symbolic proof").
Tiers 4 and 5 are skipped for entries with more than ``max_ops`` operations (they can run
for minutes); the method string then says so.

Soundness rules: the symbolic tiers work on exact numbers only (every Float in either side,
and every ``fixed`` value, is converted to the exact rational it stores *before* a - b is
formed, because SymPy's Float arithmetic rounds and could cancel a small nonzero difference).
A VERIFIED verdict needs both a symbolic proof and a passed numeric spot check: if the numeric
evaluation is impossible (an unsupported object, a division by zero) or gives a non-finite
value, the verdict is at best UNDECIDED. Symbols declared positive/negative/nonnegative/
nonpositive are sampled with that sign. With ``fixed`` values the method string says which
symbols were pinned: the verdict then holds only under those values.

The seed is printed in the method string so that any failure can be replayed.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from enum import Enum
from typing import Callable, Iterable, Mapping

import mpmath
import numpy as np
import sympy as sp

from gradproof.derivations.activations import LAMBDIFY_MODULES_MPMATH, sigmoid
from gradproof.derivations.symbolic import dag_xreplace as _dag_xreplace

__all__ = [
    "Verdict",
    "CheckResult",
    "check_equal",
    "check_supremum",
    "check_inequality",
    "is_zero_polynomial",
    "atomized",
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


def _dag_leaves(mats) -> tuple[set, set]:
    """(free symbols, Floats) of every entry, visiting each distinct subexpression once.

    Unrolled networks repeat c_{t-1} inside every later step: as trees they are exponentially
    larger than as DAGs, so ``free_symbols``/``atoms`` (tree walks) dominate the run time.
    Nodes that bind variables (Derivative, Subs, Lambda, Integral, Sum, Product) fall back to
    their own ``free_symbols``/``atoms``.
    """
    seen: set = set()
    syms: set = set()
    floats: set = set()
    stack = [e for m in mats for e in m]
    while stack:
        node = stack.pop()
        if not isinstance(node, sp.Basic):
            node = sp.sympify(node)
        if node in seen:
            continue
        seen.add(node)
        if node.is_Symbol:
            syms.add(node)
        elif isinstance(node, sp.Float):
            floats.add(node)
        elif isinstance(node, (sp.Derivative, sp.Subs, sp.Lambda, sp.Integral, sp.Sum, sp.Product)):
            syms |= node.free_symbols
            floats |= node.atoms(sp.Float)
        else:
            stack.extend(a for a in node.args if isinstance(a, sp.Basic))
    return syms, floats


def _mp_evaluator(m: sp.Matrix, syms: list[sp.Symbol]) -> Callable:
    """lambdify to mpmath, with the common subexpressions eliminated *before* lambdify sees
    the expression: lambdify's own ``atoms``/``_imp_namespace`` are tree walks, and the
    unrolled networks (c_{t-1} repeated inside every later step) make them the bottleneck.
    ``use_imps=False``: the sigmoid comes through the modules dict, not implemented_function."""
    repl, reduced = sp.cse(m, list=False, order="none")  # "canonical" order is a tree walk
    return sp.lambdify(syms, reduced, modules=LAMBDIFY_MODULES_MPMATH, use_imps=False,
                       cse=lambda _expr: (repl, reduced))


def _polynomial_zero(e: sp.Expr) -> bool:
    """Is ``e`` (a polynomial expression after ``_name_function_atoms``) the zero polynomial?

    Expanded in SymPy's sparse polynomial ring over QQ (``PolyRing.from_expr``): the same
    canonical form as ``expand`` but far faster on unrolled networks; falls back to
    ``expand`` for entries that are not polynomial (non-integer powers). Floats are first
    replaced by the exact rationals they store (``QQ`` would round 0.1 to 1/10).
    """
    syms, floats = _dag_leaves([[e]])
    if floats:  # QQ.from_sympy rounds a Float to a nearby simple rational: convert exactly
        e = _exact(sp.Matrix([[e]]), floats)[0, 0]
        syms = _dag_leaves([[e]])[0]
    gens = sorted(syms, key=sp.default_sort_key)
    if not gens:
        return sp.expand(e) == 0
    try:
        return sp.polys.rings.PolyRing(gens, sp.QQ).from_expr(e) == 0
    except (ValueError, TypeError, sp.polys.polyerrors.CoercionFailed, sp.polys.polyerrors.PolynomialError):
        return sp.expand(e) == 0


def atomized(e):
    """``_name_function_atoms`` of a scalar, or of every entry of a Matrix."""
    if isinstance(e, sp.MatrixBase):
        return e.applyfunc(_name_function_atoms)
    return _name_function_atoms(e)


def is_zero_polynomial(e) -> bool:
    """``_polynomial_zero`` for a scalar or for every entry of a Matrix."""
    if isinstance(e, sp.MatrixBase):
        return all(_polynomial_zero(x) for x in e)
    return _polynomial_zero(sp.sympify(e))


_ARITHMETIC = (sp.Add, sp.Mul, sp.Pow)


def _name_function_atoms(e: sp.Expr) -> sp.Expr:
    """Replace each non-arithmetic subterm of ``e`` by a fresh Dummy (outermost first).

    Add, Mul and Pow are opened; symbols and numbers are kept; every other node (applied
    functions, Derivative, Subs, Integral, Piecewise, ...) is replaced whole, the same node by
    the same Dummy. Nodes that bind variables are never opened, so the replacement cannot
    turn e.g. ``Subs(sigma(y), y, x) - sigma(y)`` or ``Derivative(act(x), x)`` into zero.
    """
    e = sp.sympify(e)
    names: dict = {}
    memo: dict = {}

    def walk(node):
        if node.is_Symbol or node.is_Number or node.is_NumberSymbol:
            return node
        if isinstance(node, _ARITHMETIC):
            got = memo.get(node)
            if got is None:
                got = memo[node] = node.func(*[walk(a) for a in node.args])
            return got
        if node not in names:
            names[node] = sp.Dummy(f"a{len(names)}")
        return names[node]

    return walk(e)


def _exact(m: sp.Matrix, floats: set | None = None) -> sp.Matrix:
    """Every Float replaced by the exact rational it stores (no rounding, no nsimplify)."""
    if floats is None:
        floats = _dag_leaves([m])[1]
    if not floats:
        return m
    return _dag_xreplace(m, {f: sp.Rational(f) for f in floats})


def _exact_number(v) -> sp.Expr:
    """An exact SymPy number for a pinned value (float/Float/mpf -> the exact rational it stores)."""
    if isinstance(v, mpmath.mpf):
        if not mpmath.isfinite(v):
            raise ValueError(f"fixed value {v} is not finite")
        man, exp = int(v.man), int(v.exp)
        return sp.Integer(man) * sp.Integer(2) ** exp
    if isinstance(v, float):
        return sp.Rational(v)
    v = sp.sympify(v)
    return sp.Rational(v) if isinstance(v, sp.Float) else v


def _rel_residual(va, vb) -> mpmath.mpf:
    """max |a - b| / max(1, |b|) over the entries; a non-finite value on either side makes
    the residual NaN (never silently dropped by ``max``)."""
    worst = mpmath.mpf(0)
    for x, y in zip(va, vb):
        x = mpmath.mpmathify(x)
        y = mpmath.mpmathify(y)
        if not (mpmath.isfinite(x) and mpmath.isfinite(y)):
            return mpmath.nan
        scale = max(mpmath.mpf(1), abs(y))
        worst = max(worst, abs(x - y) / scale)
    return worst


def _sample(rng: random.Random, sym: sp.Symbol, lo: float, hi: float) -> mpmath.mpf:
    """A uniform draw in [lo, hi], folded onto the sign the symbol is declared with."""
    v = rng.uniform(lo, hi)
    if sym.is_positive or sym.is_nonnegative:
        v = abs(v) or 0.5
    elif sym.is_negative or sym.is_nonpositive:
        v = -abs(v) or -0.5
    # a decimal string drawn at 17 digits is exact at any working precision
    return mpmath.mpf(repr(v))


def _flat(v) -> list:
    if isinstance(v, mpmath.matrix):
        return [v[i, j] for i in range(v.rows) for j in range(v.cols)]
    return list(np.asarray(v, dtype=object).ravel())


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
                    v = fixed[s]
                    vals.append(mpmath.mpf(v) if isinstance(v, (int, float, mpmath.mpf))
                                else mpmath.mpf(sp.Float(_exact_number(v), dps + 10)))
                else:
                    vals.append(_sample(rng, s, lo, hi))
            va, vb = _flat(fa(*vals)), _flat(fb(*vals))
            r = _rel_residual(va, vb)
            if mpmath.isnan(r):
                return (r, vals, va, vb)
            if r > worst[0]:
                worst = (r, vals, va, vb)
    return worst


def _confirmed_nonzero(diff: sp.Matrix, syms: list[sp.Symbol], vals: list, dps: int) -> bool:
    """Is some entry of ``diff`` provably nonzero at the point ``vals``? Evaluated at 4*dps and
    8*dps digits: the two values must agree to 10% and exceed 10^(-2*dps) in magnitude (far
    above the evaluation error of either), so an identity that is true cannot pass."""
    if vals is None:
        return False
    try:
        outs = []
        for digits in (4 * dps, 8 * dps):
            with mpmath.workdps(digits):
                f = _mp_evaluator(diff, syms)
                outs.append(_flat(f(*[mpmath.mpf(v) for v in vals])))
        with mpmath.workdps(8 * dps):
            floor = mpmath.mpf(10) ** (-2 * dps)
            for lo, hi in zip(*outs):
                lo, hi = mpmath.mpmathify(lo), mpmath.mpmathify(hi)
                if abs(hi) > floor and abs(lo - hi) < abs(hi) / 10:
                    return True
    except Exception:  # noqa: BLE001 - no confirmation is a confirmation failure
        return False
    return False


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
            if all(sp.simplify(e.rewrite(sigmoid, sp.exp)) == 0 for e in diff):
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
    example an initial state of zeros); the method string names them, since the verdict then
    holds only under those values.
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
    syms_set, floats = _dag_leaves([a, b])
    syms = sorted(syms_set, key=sp.default_sort_key)
    # lambdify on plain identifier names: LaTeX-style names (W_{rec,12}) would make lambdify
    # rewrite the whole tree once per argument. Sampling order follows the original names;
    # the plain symbols carry the sign assumptions of the originals (used when sampling).
    plain = {}
    for j, sy in enumerate(syms):
        sign = {k: True for k in ("positive", "negative", "nonnegative", "nonpositive")
                if getattr(sy, f"is_{k}")}
        plain[sy] = sp.Symbol(f"v{j:04d}", real=True, **sign) if sy.is_real else sp.Symbol(f"v{j:04d}", **sign)
    names = [str(sy) for sy in syms]
    a_num, b_num = _dag_xreplace(a, plain), _dag_xreplace(b, plain)
    fixed = {sy: v for sy, v in fixed.items() if sy in plain} if fixed else None
    fixed_num = {plain[sy]: v for sy, v in fixed.items()} if fixed else None
    syms_num = [plain[sy] for sy in syms]
    tol = mpmath.mpf(10) ** (-(dps // 2))
    numeric_tag = f"numeric {points} pts @ {dps} digits, seed {seed}"
    if fixed:
        pinned = ", ".join(f"{sy} = {v}"
                           for sy, v in sorted(fixed.items(), key=lambda kv: sp.default_sort_key(kv[0])))
        numeric_tag += f"; holds with {pinned} fixed"

    def undecided(why: str, residual: str = "nan", warnings=(), ce=None) -> CheckResult:
        return CheckResult(Verdict.UNDECIDED, f"{why}; {numeric_tag}", residual, seed, points, dps,
                           counterexample=ce, warnings=tuple(warnings))

    try:
        r, vals, va, vb = numeric_residual(
            a_num, b_num, syms_num, seed=seed, points=points, dps=dps, sample_range=sample_range,
            fixed=fixed_num,
        )
    except Exception as exc:  # noqa: BLE001 - "not supported" is kept apart from "failed"
        msg = str(exc).splitlines()[0] if str(exc) else ""
        return undecided(f"no numeric spot check possible ({type(exc).__name__}: {msg[:120]}); "
                         "no verdict without one")
    if mpmath.isnan(r):
        with mpmath.workdps(15):
            ce = {name: mpmath.nstr(v, 17) for name, v in zip(names, vals)}
            ce["derived"] = str([mpmath.nstr(mpmath.mpmathify(x), 12) for x in va])
            ce["reference"] = str([mpmath.nstr(mpmath.mpmathify(x), 12) for x in vb])
        return undecided("a side evaluates to a non-finite value at a sample point", ce=ce)
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
    # symbolic tiers on exact numbers only: Floats -> the rationals they store, before a - b
    a_ex, b_ex = _exact(a, floats), _exact(b, floats)
    warnings0 = ["Float coefficients converted to exact rationals for the symbolic tiers"] \
        if floats else []
    diff = a_ex - b_ex
    if fixed:
        diff = _dag_xreplace(diff, {sy: _exact_number(v) for sy, v in fixed.items()})
    verdict, how, warnings = _symbolic_zero(diff, tiers, max_ops)
    warnings = warnings0 + warnings
    if verdict is Verdict.REFUTED:
        diff_num = _dag_xreplace(diff, plain)
        if _confirmed_nonzero(diff_num, syms_num, vals, dps):
            return CheckResult(verdict, f"{how}, a - b nonzero at the worst sample point (confirmed at "
                               f"{4 * dps} and {8 * dps} digits; below the numeric tolerance "
                               f"{mpmath.nstr(tol, 3)}); {numeric_tag}", residual, seed, points, dps,
                               warnings=tuple(warnings))
        warnings.append(f"{how}, but no nonzero value of a - b confirmed at {4 * dps}/{8 * dps} digits")
        verdict = None
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
    # exact: nsimplify would round a claim such as 0.250000000001 to 1/4 and verify it
    claimed = _exact_number(claimed)
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
    if proof is not None:
        proof = _exact_number(proof)
        if sp.simplify(proof - claimed) == 0:
            return CheckResult(Verdict.VERIFIED, f"derived supremum equals the claim (simplify); {tag}",
                               residual, seed, len(xs), dps)
        if (proof - claimed).is_zero is False:
            return CheckResult(Verdict.REFUTED, f"derived supremum {proof} differs from the claim; {tag}",
                               residual, seed, len(xs), dps,
                               counterexample={"derived": str(proof), "claimed": str(claimed)})
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
