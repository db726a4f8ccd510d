"""The independent checker: is a derived expression equal to a reference expression?

The reference is normally SymPy's own derivative of the *unrolled* network, computed by
``sympy.diff``/``Matrix.jacobian`` on the composed cell, never from our hand derivation.

``check_equal`` (commutative symbols), tiers in order (SymPy's own testing habit,
``sympy/core/random.py``):

1. numeric spot check, always: >= 20 random points from ``random.Random(seed)``, drawn by
   ``derivations.sampling``: every assumption SymPy records for a symbol is honoured (integer,
   even, positive, nonnegative, nonzero, real, rational, prime, ...; a symbol with no
   assumptions is complex), three points in five in the core window ``sample_range``, one at a
   large and one at a small magnitude. Both sides are evaluated with mpmath at ``dps`` digits
   (default 50). The residual at a point is |a - b| relative to the largest term evaluated
   there (the sides and their top-level summands), so evaluation noise of large cancelling
   terms is not a difference. A residual above 10^(-dps/2) is re-evaluated at 2, 4, 8 times
   the precision until the decision is stable: it falls below the tolerance (noise), or two
   successive precisions agree to 10% (a stable nonzero difference), else it is unsettled.
   A stable difference is a counterexample only after the canonical-form tiers (2 and 3 below,
   exact and fast) found no proof; a proof and a stable difference contradict each other:
   UNDECIDED, both reported. (simplify/equals are not run first: on the large refuted steps of
   the derivations they take minutes, and they cannot prove what the canonical forms miss
   without the same contradiction.)
2. canonical form modulo function atoms: every non-arithmetic subterm of a - b (applied
   functions sigma(.), tanh(.), but also Derivative, Subs, Integral, Piecewise, ...: anything
   that is not Add, Mul, Pow, a symbol or a number) is replaced by a fresh symbol (the same
   subterm by the same symbol, matched structurally, outermost first), then the zero test in
   the polynomial ring over QQ. Zero here implies a - b = 0 (substitute the atoms back: a
   polynomial identity in independent symbols holds for any values of them). Subterms that
   bind variables (Derivative, Subs, Integral) are replaced whole, never opened.  -> VERIFIED
3. canonical form: ``expand(a - b) == 0`` entry by entry            -> VERIFIED
4. ``simplify(a - b) == 0`` (the sigmoid rewritten as 1/(1 + e^{-z}) first)  -> VERIFIED
5. ``Expr.equals(a, b)``: True -> VERIFIED; False -> REFUTED only when a high-precision
   evaluation of a - b (at 4*dps and 8*dps digits, the two agreeing) confirms a nonzero value,
   else UNDECIDED; None is a real outcome (undecided)
6. otherwise UNDECIDED ("numerically consistent, no symbolic proof").
Tiers 4 and 5 are skipped for entries with more than ``max_ops`` operations.

Noncommutative statements (``commutative=False`` symbols, MatrixSymbols, matrix expressions)
never enter the commutative polynomial ring: ``derivations.noncommutative`` translates them
into the free associative algebra (SymPy's order-preserving noncommutative ``expand`` is the
canonical form) and the numeric tier substitutes random square matrices (3 x 3 mpmath
matrices) for the noncommutative symbols. What the matrix evaluator cannot evaluate
faithfully is UNDECIDED, never verified; simplify/equals are not used there.

Soundness rules: the symbolic tiers work on exact numbers only (every Float, and every
``fixed`` value, is converted to the exact rational it stores *before* a - b is formed). A
VERIFIED verdict needs both a symbolic proof and a passed numeric spot check. A symbol whose
assumptions cannot be sampled faithfully (``transcendental=True``, ...) gives no numeric
verdict. With ``fixed`` values the verdict is CONDITIONAL (``conditions`` lists the pinned
values): the identity is proven only under them.

``check_supremum`` and ``check_inequality`` decide by checkable proofs (``derivations.proofs``:
a chain of lemma instances whose side conditions are decided by ``check_equal`` and exact sign
rules; the supremum of |f| by the calculus certificate of ``proofs.supremum_by_calculus``).
Free-text proofs and claimed values give no verdict: without a proof the outcome is SAMPLED
("no counterexample in N points", with N, domain and seed), never VERIFIED.

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
from gradproof.derivations.sampling import UnsampleableSymbol, domain_text, draw, point_mode
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
    """The one verdict type of the toolkit (checker results, derivation steps, claims).

    VERIFIED: proven (symbolic proof or checked lemma chain, and a passed numeric check).
    REFUTED: false as stated, a counterexample or a confirmed nonzero difference attached.
    CONDITIONAL: proven only under stated conditions (pinned values, hypotheses, a scope).
    SAMPLED: no counterexample in the stated sample (N points, domain, seed): evidence, not proof.
    UNDECIDED: not decided by the available methods (a real outcome, not a checker failure).
    NOT_MATHEMATICAL: the statement names no mathematical quantity.
    """

    VERIFIED = "verified"
    REFUTED = "refuted"
    CONDITIONAL = "conditional"
    SAMPLED = "sampled"
    UNDECIDED = "undecided"
    NOT_MATHEMATICAL = "not-mathematical"


@dataclass(frozen=True)
class CheckResult:
    """A typed verdict with its evidence.

    ``method``: what decided (e.g. "expand(a-b)==0; numeric 20 pts @50 digits, seed 7").
    ``residual``: the largest relative numeric residual seen (mpf as string).
    ``counterexample``: for REFUTED, a mapping symbol name -> value (as strings) where the
    two sides differ, with both values. ``warnings``: disagreements between tiers etc.
    ``conditions``: what a CONDITIONAL verdict assumes (pinned values, hypotheses).
    ``domain``: where the numeric points were drawn. ``proof``: the lemma steps of a checked
    proof (one line each), empty when no proof decided.
    """

    verdict: Verdict
    method: str
    residual: str
    seed: int
    points: int
    dps: int
    counterexample: Mapping[str, str] | None = None
    warnings: tuple[str, ...] = field(default_factory=tuple)
    conditions: tuple[str, ...] = field(default_factory=tuple)
    domain: str = ""
    proof: tuple[str, ...] = field(default_factory=tuple)

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
            "conditions": list(self.conditions),
            "domain": self.domain,
            "proof": list(self.proof),
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




def _flat(v) -> list:
    if isinstance(v, mpmath.matrix):
        return [v[i, j] for i in range(v.rows) for j in range(v.cols)]
    return list(np.asarray(v, dtype=object).ravel())


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
                outs.append(_flat(f(*vals)))
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




def _dag_size(m) -> int:
    """Number of distinct subexpressions of the entries (a DAG walk, cheap)."""
    seen: set = set()
    stack = [e for e in m]
    while stack:
        node = stack.pop()
        if not isinstance(node, sp.Basic) or node in seen:
            continue
        seen.add(node)
        stack.extend(node.args)
    return len(seen)


def _mag(x) -> mpmath.mpf:
    return abs(mpmath.mpmathify(x))


def _finite(x) -> bool:
    x = mpmath.mpmathify(x)
    return bool(mpmath.isfinite(x.real) and mpmath.isfinite(x.imag)) if isinstance(x, mpmath.mpc) \
        else bool(mpmath.isfinite(x))


def _relative(va, vb, scales) -> mpmath.mpf:
    """max over entries of |a - b| / scale (scale: the largest term evaluated for the entry);
    0 where both sides are exactly equal; NaN if a value is not finite."""
    worst = mpmath.mpf(0)
    for x, y, s in zip(va, vb, scales):
        if not (_finite(x) and _finite(y) and _finite(s)):
            return mpmath.nan
        d = _mag(mpmath.mpmathify(x) - mpmath.mpmathify(y))
        if d == 0:
            continue
        if s == 0:
            return mpmath.inf
        worst = max(worst, d / s)
    return worst


class _Sides:
    """Both sides of a commutative statement, evaluable at any precision, with the magnitude
    of the largest term evaluated on demand: the largest |operand| of any sum anywhere in
    either side (every distinct Add node of the DAG, inside function arguments too), and the
    sides themselves. Evaluation error at p digits is at most about 10^-p times that scale (for
    the polynomial parts; function arguments only make it an over-estimate), so a residual
    small against it is noise, never a difference."""

    MAX_OPERANDS = 3000

    def __init__(self, a: sp.Matrix, b: sp.Matrix, syms: list):
        self.a, self.b, self.syms = a, b, syms
        self._fa = self._fb = self._ft = None
        self._operands = None

    def values(self, vals, digits: int, terms: bool):
        with mpmath.workdps(digits):
            if self._fa is None:
                self._fa, self._fb = _mp_evaluator(self.a, self.syms), _mp_evaluator(self.b, self.syms)
            va, vb = _flat(self._fa(*vals)), _flat(self._fb(*vals))
            scales = [max(_mag(x), _mag(y)) for x, y in zip(va, vb)]
            if terms:
                scales = self._term_scales(vals, scales)
            return va, vb, scales

    def _collect(self) -> list:
        seen, operands = set(), set()
        stack = [e for m in (self.a, self.b) for e in m]
        while stack:
            node = stack.pop()
            if not isinstance(node, sp.Basic) or node in seen or node.is_Atom:
                continue
            seen.add(node)
            if isinstance(node, (sp.Derivative, sp.Subs, sp.Lambda, sp.Integral, sp.Sum, sp.Product)):
                continue
            if isinstance(node, sp.Add):
                operands.update(a for a in node.args if not a.is_Number or a != 0)
                if len(operands) > self.MAX_OPERANDS:
                    return [t for x, y in zip(self.a, self.b) for t in sp.Add.make_args(x) + sp.Add.make_args(y)]
            stack.extend(node.args)
        return sorted(operands, key=sp.default_sort_key) if len(operands) < 200 else list(operands)

    def _term_scales(self, vals, scales):
        if self._operands is None:
            self._operands = self._collect()
            self._ft = (_mp_evaluator(sp.Matrix(len(self._operands), 1, self._operands), self.syms)
                        if self._operands else None)
        if self._ft is None:
            return scales
        big = mpmath.mpf(0)
        for v in _flat(self._ft(*vals)):
            if _finite(v):
                big = max(big, _mag(v))
        return [max(s, big) for s in scales]


def _settle(values, vals, dps: int, tol) -> tuple[str, mpmath.mpf, list, list, int]:
    """Decide a suspicious point: re-evaluate at 2, 4, 8 * dps digits (residual relative to the
    largest term) until the residual falls below ``tol`` ("noise") or two successive
    precisions agree to 10% ("nonzero"); otherwise "unsettled". Returns (status, residual,
    va, vb, digits)."""
    prev = None
    digits = dps
    r = mpmath.nan
    va = vb = []
    while digits <= 8 * dps:
        va, vb, scales = values(vals, digits, True)
        r = _relative(va, vb, scales)
        if mpmath.isnan(r):
            return "nonfinite", r, va, vb, digits
        if r <= tol:
            return "noise", r, va, vb, digits
        if prev is not None and abs(r - prev) <= r / 10:
            return "nonzero", r, va, vb, digits
        prev = r
        digits *= 2
    return "unsettled", r, va, vb, digits // 2


@dataclass
class _Scan:
    """Outcome of the numeric tier over all points."""

    worst: mpmath.mpf
    status: str  # "ok" | "nonzero" | "unsettled" | "nonfinite" | "error"
    vals: list | None
    va: list
    vb: list
    digits: int
    skipped: int
    message: str = ""


def _scan(values, draw_point, points: int, dps: int, tol, wide: bool) -> _Scan:
    """Run the numeric tier: ``draw_point(i)`` gives point i, ``values(vals, digits, terms)``
    evaluates both sides. Non-finite values or evaluation errors at a wide (large/small
    magnitude) point skip that point; in the core window they end the scan."""
    worst = _Scan(mpmath.mpf(0), "ok", None, [], [], dps, 0)
    skipped = 0
    for i in range(points):
        mode = point_mode(i, wide)
        vals = draw_point(i, mode)
        try:
            va, vb, scales = values(vals, dps, False)
            r = _relative(va, vb, scales)
        except (ZeroDivisionError, ValueError, OverflowError, ArithmeticError) as exc:
            if mode != "core":
                skipped += 1
                continue
            return _Scan(mpmath.nan, "error", vals, [], [], dps, skipped,
                         f"{type(exc).__name__}: {str(exc).splitlines()[0][:120] if str(exc) else ''}")
        if mpmath.isnan(r):
            if mode != "core":
                skipped += 1
                continue
            return _Scan(r, "nonfinite", vals, va, vb, dps, skipped)
        digits = dps
        if r > tol:
            status, r, va, vb, digits = _settle(values, vals, dps, tol)
            if status == "nonfinite" and mode != "core":
                skipped += 1
                continue
            if status != "noise":
                return _Scan(r, status, vals, va, vb, digits, skipped)
        if r > worst.worst or worst.vals is None:
            worst = _Scan(r, "ok", vals, va, vb, digits, skipped)
    worst.skipped = skipped
    return worst


def _fmt_point(names, vals, va, vb) -> dict:
    with mpmath.workdps(15):
        ce = {name: mpmath.nstr(v, 17) for name, v in zip(names, vals)}
        ce["derived"] = str([mpmath.nstr(mpmath.mpmathify(x), 12) for x in va])
        ce["reference"] = str([mpmath.nstr(mpmath.mpmathify(x), 12) for x in vb])
    return ce


def _pinned_text(fixed) -> tuple[str, ...]:
    return tuple(f"{sy} = {v}" for sy, v in sorted(fixed.items(), key=lambda kv: sp.default_sort_key(kv[0])))


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
    wide: bool = True,
) -> CheckResult:
    """Decide whether ``derived`` equals ``reference`` (scalars, matrices of equal shape, or
    noncommutative / matrix expressions).

    Always runs the numeric spot check; then the symbolic ``tiers`` in order (pass
    ``tiers=()`` to skip them for expressions too large to simplify: the verdict is then
    UNDECIDED unless a counterexample is found). ``fixed`` pins symbols to values (for
    example an initial state of zeros): a proven identity is then CONDITIONAL on those values.
    ``wide=False`` keeps every point in ``sample_range`` (no large/small magnitudes).
    """
    from gradproof.derivations.noncommutative import is_noncommutative

    if is_noncommutative(derived) or is_noncommutative(reference):
        return _check_noncommutative(derived, reference, seed=seed, points=points, dps=dps,
                                     sample_range=sample_range, fixed=fixed, wide=wide)
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
    # rewrite the whole tree once per argument. The plain symbols carry every assumption of
    # the originals; the originals' assumptions decide the sampling.
    plain = {sy: sp.Symbol(f"v{j:04d}", **sy.assumptions0) for j, sy in enumerate(syms)}
    names = [str(sy) for sy in syms]
    a_num, b_num = _dag_xreplace(a, plain), _dag_xreplace(b, plain)
    fixed = {sy: v for sy, v in fixed.items() if sy in plain} if fixed else None
    syms_num = [plain[sy] for sy in syms]
    tol = mpmath.mpf(10) ** (-(dps // 2))
    domain = domain_text(sample_range, wide)
    numeric_tag = f"numeric {points} pts @ {dps} digits ({domain}), seed {seed}"
    conditions = _pinned_text(fixed) if fixed else ()
    if fixed:
        numeric_tag += f"; holds with {', '.join(conditions)} fixed"

    def result(verdict, how, residual, ce=None, warnings=()):
        if verdict is Verdict.VERIFIED and fixed:
            verdict, how = Verdict.CONDITIONAL, f"{how} (conditional on {', '.join(conditions)})"
        return CheckResult(verdict, f"{how}; {numeric_tag}", residual, seed, points, dps,
                           counterexample=ce, warnings=tuple(warnings),
                           conditions=conditions if verdict is Verdict.CONDITIONAL else (),
                           domain=domain)

    rng = random.Random(seed)
    fixed_vals = {}
    if fixed:
        with mpmath.workdps(dps + 10):
            for sy, v in fixed.items():
                fixed_vals[sy] = (mpmath.mpf(v) if isinstance(v, (int, float, mpmath.mpf))
                                  else mpmath.mpmathify(sp.N(_exact_number(v), dps + 10)))

    def draw_point(i, mode):
        with mpmath.workdps(dps):
            return [fixed_vals[sy] if sy in fixed_vals
                    else draw(rng, sy, mode, sample_range, complex_point=bool(i % 2)) for sy in syms]

    sides = _Sides(a_num, b_num, syms_num)
    try:
        scan = _scan(sides.values, draw_point, points, dps, tol, wide)
    except UnsampleableSymbol as exc:
        return result(Verdict.UNDECIDED, f"no faithful numeric spot check ({exc}); no verdict "
                      "without one", "nan")
    except Exception as exc:  # noqa: BLE001 - "not supported" is kept apart from "failed"
        msg = str(exc).splitlines()[0] if str(exc) else ""
        return result(Verdict.UNDECIDED, f"no numeric spot check possible ({type(exc).__name__}: "
                      f"{msg[:120]}); no verdict without one", "nan")
    warnings: list[str] = []
    if scan.skipped:
        warnings.append(f"{scan.skipped} large/small-magnitude point(s) skipped (non-finite or "
                        "not evaluable)")
    if scan.status == "error":
        return result(Verdict.UNDECIDED, f"no numeric spot check possible ({scan.message}); "
                      "no verdict without one", "nan", warnings=warnings)
    if scan.status == "nonfinite":
        return result(Verdict.UNDECIDED, "a side evaluates to a non-finite value at a sample point",
                      "nan", ce=_fmt_point(names, scan.vals, scan.va, scan.vb), warnings=warnings)
    with mpmath.workdps(dps):
        residual = mpmath.nstr(scan.worst, 5)
    # symbolic tiers on exact numbers only: Floats -> the rationals they store, before a - b
    a_ex, b_ex = _exact(a, floats), _exact(b, floats)
    if floats:
        warnings.append("Float coefficients converted to exact rationals for the symbolic tiers")
    diff = a_ex - b_ex
    if fixed:
        diff = _dag_xreplace(diff, {sy: _exact_number(v) for sy, v in fixed.items()})
    if scan.status == "nonzero":
        # a stable difference: the symbolic tiers get their say before it is final
        # the exact canonical forms; expand (which also opens function arguments) only for
        # entries of moderate size: on the large refuted steps of the derivations it costs
        # seconds and the atoms tier has already compared them as polynomials
        small = _dag_size(diff) <= 20 * max_ops
        proof_tiers = tuple(t for t in tiers if t == "atoms" or (t == "expand" and small))
        verdict, how, more = _symbolic_zero(diff, proof_tiers, max_ops)
        warnings += more
        ce = _fmt_point(names, scan.vals, scan.va, scan.vb)
        if verdict is Verdict.VERIFIED:
            return result(Verdict.UNDECIDED, f"tiers disagree: {how}, but a - b is nonzero at a "
                          f"sample point (stable at {scan.digits // 2} and {scan.digits} digits)",
                          residual, ce=ce, warnings=warnings)
        return result(Verdict.REFUTED, f"numeric counterexample (relative to the largest term, stable "
                      f"at {scan.digits // 2} and {scan.digits} digits; no symbolic proof of "
                      f"equality: {', '.join(proof_tiers) or 'no tiers'})", residual, ce=ce,
                      warnings=warnings)
    if scan.status == "unsettled":
        return result(Verdict.UNDECIDED, f"the numeric residual did not settle up to {scan.digits} "
                      "digits (neither below the tolerance nor stable)", residual,
                      ce=_fmt_point(names, scan.vals, scan.va, scan.vb), warnings=warnings)
    verdict, how, more = _symbolic_zero(diff, tiers, max_ops)
    warnings += more
    if verdict is Verdict.REFUTED:
        diff_num = _dag_xreplace(diff, plain)
        if _confirmed_nonzero(diff_num, syms_num, scan.vals, dps):
            return result(verdict, f"{how}, a - b nonzero at the worst sample point (confirmed at "
                          f"{4 * dps} and {8 * dps} digits; below the numeric tolerance "
                          f"{mpmath.nstr(tol, 3)})", residual, warnings=warnings)
        warnings.append(f"{how}, but no nonzero value of a - b confirmed at {4 * dps}/{8 * dps} digits")
        verdict = None
    if verdict is Verdict.VERIFIED:
        return result(verdict, how, residual, warnings=warnings)
    return result(Verdict.UNDECIDED,
                  f"no symbolic proof ({', '.join(tiers) or 'symbolic tiers skipped'}"
                  f"{'; ' + '; '.join(warnings) if warnings else ''}); numerically consistent",
                  residual, warnings=warnings)


def _nc_entries(e) -> list:
    from sympy.matrices.expressions import MatrixExpr

    if isinstance(e, sp.MatrixBase) and not isinstance(e, MatrixExpr):
        return list(e)
    return [e if isinstance(e, sp.Basic) else sp.sympify(e)]


def _check_noncommutative(derived, reference, *, seed, points, dps, sample_range, fixed, wide
                          ) -> CheckResult:
    """``check_equal`` for noncommutative statements (see the module docstring)."""
    from sympy.matrices.expressions import MatrixExpr

    from gradproof.derivations.noncommutative import (DEFAULT_DIM, MatrixEvaluator, Unfaithful,
                                                      noncommutative_leaves, to_free_algebra)

    ea, eb = _nc_entries(derived), _nc_entries(reference)
    domain = (f"noncommutative symbols as random {DEFAULT_DIM}x{DEFAULT_DIM} matrices (entries "
              f"N(0, 1)), commutative symbols: " + domain_text(sample_range, wide))
    tag = f"numeric {points} pts @ {dps} digits ({domain}), seed {seed}"
    conditions = _pinned_text(fixed) if fixed else ()

    def result(verdict, how, residual="nan", ce=None, warnings=()):
        if verdict is Verdict.VERIFIED and fixed:
            verdict, how = Verdict.CONDITIONAL, f"{how} (conditional on {', '.join(conditions)})"
        return CheckResult(verdict, f"{how}; {tag}", residual, seed, points, dps, counterexample=ce,
                           warnings=tuple(warnings),
                           conditions=conditions if verdict is Verdict.CONDITIONAL else (),
                           domain=domain)

    if len(ea) != len(eb):
        return CheckResult(Verdict.REFUTED, f"shape mismatch: {len(ea)} != {len(eb)} entries", "inf",
                           seed, 0, dps)
    for x, y in zip(ea, eb):
        if isinstance(x, MatrixExpr) and isinstance(y, MatrixExpr) and x.shape != y.shape:
            if all(getattr(d, "is_Integer", False) for d in x.shape + y.shape):
                return CheckResult(Verdict.REFUTED, f"shape mismatch {x.shape} != {y.shape}", "inf",
                                   seed, 0, dps,
                                   counterexample={"shape_derived": str(x.shape),
                                                   "shape_reference": str(y.shape)})
            return result(Verdict.UNDECIDED, f"shapes {x.shape} and {y.shape} not comparable")
    leaves = noncommutative_leaves(ea + eb)
    scalars = sorted({s for e in ea + eb for s in e.free_symbols
                      if s.is_Symbol and s.is_commutative}, key=sp.default_sort_key)
    fixed = {s: v for s, v in (fixed or {}).items() if s in scalars}
    tol = mpmath.mpf(10) ** (-(dps // 2))
    rng = random.Random(seed)
    drawn: dict = {}

    def draw_point(i, mode):
        with mpmath.workdps(dps):
            sc = {s: (mpmath.mpmathify(sp.N(_exact_number(fixed[s]), dps + 10)) if s in fixed
                      else draw(rng, s, mode, sample_range, complex_point=bool(i % 2))) for s in scalars}
            mats = MatrixEvaluator.random_matrices(rng, leaves)
        drawn[i] = (sc, mats)
        return i

    def values(i, digits, terms):
        sc, mats = drawn[i]
        with mpmath.workdps(digits):
            ev = MatrixEvaluator(mats, sc, DEFAULT_DIM)
            va, vb, scales = [], [], []
            for x, y in zip(ea, eb):
                vx, vy = ev(x), ev(y)
                mx, my = isinstance(vx, mpmath.matrix), isinstance(vy, mpmath.matrix)
                if mx and not my:
                    vy = mpmath.eye(vx.rows) * vy
                elif my and not mx:
                    vx = mpmath.eye(vy.rows) * vx
                fx, fy = _flat(vx), _flat(vy)
                if len(fx) != len(fy):
                    raise Unfaithful("the two sides evaluate to matrices of different sizes")
                # the largest term: every entry of every top-level summand of either side
                s = max([_mag(v) for v in fx + fy] + [mpmath.mpf(0)])
                for t in (sp.Add.make_args(x) + sp.Add.make_args(y)) if terms else ():
                    vt = ev(t)
                    s = max([s] + [_mag(v) for v in (_flat(vt) if isinstance(vt, mpmath.matrix) else [vt])])
                va += fx
                vb += fy
                scales += [s] * len(fx)
            return va, vb, scales

    npts = min(points, 12)
    tag = f"numeric {npts} pts @ {dps} digits ({domain}), seed {seed}"
    try:
        scan = _scan(values, draw_point, npts, dps, tol, wide)
    except (Unfaithful, UnsampleableSymbol) as exc:
        return result(Verdict.UNDECIDED, f"no faithful numeric evaluation ({exc}); never verified "
                      "without one")
    except Exception as exc:  # noqa: BLE001
        return result(Verdict.UNDECIDED, f"no numeric spot check possible ({type(exc).__name__}); "
                      "no verdict without one")
    if scan.status in ("error", "nonfinite"):
        return result(Verdict.UNDECIDED, f"no numeric spot check possible ({scan.message or 'non-finite value'})")

    def counterexample():
        sc, mats = drawn[scan.vals]
        with mpmath.workdps(15):
            ce = {str(s): mpmath.nstr(v, 17) for s, v in sc.items()}
            for leaf, m in mats.items():
                ce[str(leaf)] = str([[mpmath.nstr(m[i, j], 10) for j in range(m.cols)] for i in range(m.rows)])
            ce["derived"] = str([mpmath.nstr(mpmath.mpmathify(x), 10) for x in scan.va])
            ce["reference"] = str([mpmath.nstr(mpmath.mpmathify(x), 10) for x in scan.vb])
        return ce

    with mpmath.workdps(dps):
        residual = mpmath.nstr(scan.worst, 5)
    atoms: dict = {}
    try:
        diffs = [sp.expand(_exact_nc(to_free_algebra(x, atoms)) - _exact_nc(to_free_algebra(y, atoms)))
                 for x, y in zip(ea, eb)]
        if fixed:
            diffs = [sp.expand(d.xreplace({s: _exact_number(v) for s, v in fixed.items()})) for d in diffs]
        proven = all(d == 0 for d in diffs)
    except Exception:  # noqa: BLE001 - no canonical form, no proof
        proven = False
    how = "noncommutative canonical form: expand(a - b) == 0 in the free associative algebra"
    if scan.status == "nonzero":
        if proven:
            return result(Verdict.UNDECIDED, f"tiers disagree: {how}, but a - b is nonzero for random "
                          "matrices", residual, ce=counterexample())
        return result(Verdict.REFUTED, f"matrix counterexample (random {DEFAULT_DIM}x{DEFAULT_DIM} matrices; "
                      f"stable at {scan.digits // 2} and {scan.digits} digits)", residual, ce=counterexample())
    if scan.status == "unsettled":
        return result(Verdict.UNDECIDED, "the numeric residual did not settle", residual)
    if proven:
        opaque = sorted(str(k) for k in atoms if type(k).__name__ != "MatrixSymbol")
        return result(Verdict.VERIFIED, how, residual,
                      warnings=[f"opaque atoms (sound, not complete): {', '.join(opaque)}"] if opaque else ())
    return result(Verdict.UNDECIDED, "no proof in the free associative algebra (nonzero there; "
                  "simplify/equals are not used for noncommutative symbols); numerically consistent",
                  residual)


def _exact_nc(e: sp.Expr) -> sp.Expr:
    floats = e.atoms(sp.Float)
    return e.xreplace({f: sp.Rational(f) for f in floats}) if floats else e


def check_supremum(
    claimed,
    func: sp.Expr,
    var: sp.Symbol,
    *,
    seed: int = DEFAULT_SEED,
    points: int = 2000,
    dps: int = DEFAULT_DPS,
    sample_range: tuple[float, float] = (-20.0, 20.0),
    proof=None,
) -> CheckResult:
    """Decide the claim sup_var |func| == claimed (over the domain of ``var``: its assumptions).

    Proof: the calculus certificate ``proofs.supremum_by_calculus(func, var)``, derived here
    (a claimed or "derived" value passed as ``proof`` is not a proof and is ignored with a
    warning; a ``SupremumCertificate`` for the same function is accepted). With a certificate
    the claim is VERIFIED when ``check_equal(claimed, certificate value)`` verifies, REFUTED when
    it refutes. Numeric tier: |func| at ``points`` seeded points in ``sample_range``, a grid,
    and 200 points at large magnitudes; a sample above the claim (confirmed at 2*dps digits)
    refutes. Without a certificate and without such a sample the verdict is SAMPLED: a
    supremum outside the window or at a narrow spike is never verified by sampling.
    """
    from gradproof.derivations.proofs import SupremumCertificate, supremum_by_calculus

    # exact: nsimplify would round a claim such as 0.250000000001 to 1/4 and verify it
    claimed = _exact_number(claimed)
    rng = random.Random(seed)
    f = sp.lambdify([var], sp.Abs(func), modules=LAMBDIFY_MODULES_MPMATH)
    lo, hi = sample_range
    warnings: list[str] = []
    with mpmath.workdps(dps):
        c = mpmath.mpf(sp.N(claimed, dps + 5)) if claimed.is_finite else mpmath.inf
        grid = [mpmath.mpf(lo) + (mpmath.mpf(hi) - lo) * i / 400 for i in range(401)]
        xs = grid + [mpmath.mpf(repr(rng.uniform(lo, hi))) for _ in range(points)]
        xs += [mpmath.mpf(repr(rng.choice((-1, 1)) * 10 ** rng.uniform(0, 12))) for _ in range(200)]
        if var.is_nonnegative:
            xs = [abs(x) for x in xs]
        elif var.is_nonpositive:
            xs = [-abs(x) for x in xs]
        if var.is_positive or var.is_negative:
            xs = [x for x in xs if x != 0]
        best_x, best_v = None, mpmath.mpf(-1)
        for x in xs:
            try:
                v = f(x)
            except (ZeroDivisionError, ValueError, ArithmeticError):
                continue
            if mpmath.isfinite(v) and v > best_v:
                best_x, best_v = x, v
        domain = (f"{len(xs)} pts: grid and uniform in [{lo}, {hi}], 200 at |{var}| in [1, 10^12], "
                  f"domain of {var} from its assumptions")
        tag = f"numeric {len(xs)} pts @ {dps} digits, seed {seed}"
        bx, bv = mpmath.nstr(best_x, 15) if best_x is not None else "none", mpmath.nstr(best_v, 15)
        exceeds = best_x is not None and best_v > c * (1 + mpmath.mpf(10) ** (-(dps // 2)))
    if exceeds:
        with mpmath.workdps(2 * dps):
            confirmed = f(best_x) > mpmath.mpf(sp.N(claimed, 2 * dps + 5)) if c != mpmath.inf else False
        if confirmed:
            return CheckResult(Verdict.REFUTED, f"sample exceeds the claimed supremum (confirmed at "
                               f"{2 * dps} digits); {tag}", mpmath.nstr(best_v - c, 5), seed, len(xs),
                               dps, counterexample={str(var): bx, "value": bv, "claimed": str(claimed)},
                               domain=domain)
    cert = None
    if isinstance(proof, SupremumCertificate) and proof.var == var and \
            sp.srepr(proof.func) == sp.srepr(sp.sympify(func)):
        cert = proof
    else:
        if proof is not None:
            warnings.append(f"proof={sp.sstr(proof)!s:.60} is not a proof (a value proves nothing); ignored")
        cert = supremum_by_calculus(sp.sympify(func), var)
    with mpmath.workdps(dps):
        residual = mpmath.nstr(abs(c - best_v), 5) if c != mpmath.inf else "inf"
    if cert is not None:
        lines = (cert.method,) + tuple(f"candidate {w}: |f| = {sp.sstr(v)}" for w, v in cert.candidates)
        if cert.value is sp.oo:
            verdict = Verdict.VERIFIED if claimed is sp.oo else Verdict.REFUTED
            return CheckResult(verdict, f"calculus certificate: sup |f| = oo; {tag}", residual, seed,
                               len(xs), dps, counterexample=None if verdict is Verdict.VERIFIED else
                               {"derived": "oo", "claimed": str(claimed)}, warnings=tuple(warnings),
                               domain=domain, proof=lines)
        with mpmath.workdps(dps):
            above = best_x is not None and best_v > mpmath.mpf(sp.N(cert.value, dps + 5)) * (
                1 + mpmath.mpf(10) ** (-(dps // 2)))
        if above:
            return CheckResult(Verdict.UNDECIDED, f"tiers disagree: the calculus certificate gives "
                               f"{cert.value} but a sample reaches {bv}; {tag}", residual, seed, len(xs),
                               dps, warnings=tuple(warnings), domain=domain, proof=lines)
        eq = check_equal(claimed, cert.value, seed=seed, tiers=("expand", "simplify", "equals"))
        if eq.verdict is Verdict.VERIFIED:
            return CheckResult(Verdict.VERIFIED, f"calculus certificate: sup |f| = {cert.value} "
                               f"(critical points, ends and limits), equal to the claim; {tag}",
                               residual, seed, len(xs), dps, warnings=tuple(warnings), domain=domain,
                               proof=lines)
        if eq.verdict is Verdict.REFUTED:
            return CheckResult(Verdict.REFUTED, f"derived supremum {cert.value} (calculus certificate) "
                               f"differs from the claim; {tag}", residual, seed, len(xs), dps,
                               counterexample={"derived": str(cert.value), "claimed": str(claimed)},
                               warnings=tuple(warnings), domain=domain, proof=lines)
        warnings.append(f"claim vs certificate value: {eq.verdict.value}")
    else:
        warnings.append("no calculus certificate (continuity, finite critical set or limits failed)")
    if best_x is not None and best_v < c * (1 - mpmath.mpf("1e-6")):
        warnings.append(f"no sample approaches the claim (largest sample {bv} at {var} = {bx}); the "
                        "supremum may lie outside the sample or at a narrow peak: not refuted")
    return CheckResult(Verdict.SAMPLED, f"sampled: no sample exceeds the claim in {len(xs)} points "
                       f"({domain}), seed {seed}; no proof", residual, seed, len(xs), dps,
                       warnings=tuple(warnings), domain=domain)


def check_inequality(
    lhs_fn: Callable[[random.Random], tuple[mpmath.mpf, mpmath.mpf]],
    *,
    proof=None,
    claim: sp.Basic | tuple | None = None,
    seed: int = DEFAULT_SEED,
    points: int = DEFAULT_POINTS,
    dps: int = DEFAULT_DPS,
    domain: str | None = None,
) -> CheckResult:
    """Decide an inequality lhs <= rhs.

    Numeric tier: ``lhs_fn(rng)`` draws a random instance and returns (lhs, rhs) at the
    working precision; a violation (replayed at 2*dps digits from the same seed) refutes.
    Proof tier: ``proof`` must be a ``derivations.proofs.Proof`` (a chain of lemma instances
    with checked side conditions) that establishes every relation in ``claim`` (a SymPy
    relational or a tuple of them): VERIFIED, or CONDITIONAL when the chain rests on
    hypotheses (listed in ``conditions``). A string or anything else is not a proof: the
    outcome is then SAMPLED ("no counterexample in N points", with N, domain and seed).
    """
    from gradproof.derivations.proofs import Proof, show

    domain = domain or f"instances drawn by {getattr(lhs_fn, '__qualname__', 'lhs_fn')}"
    warnings: list[str] = []
    rng = random.Random(seed)
    slack = None
    with mpmath.workdps(dps):
        for i in range(points):
            lhs, rhs = lhs_fn(rng)
            if lhs > rhs * (1 + mpmath.mpf(10) ** (-(dps // 2))) + (0 if rhs != 0 else 0):
                with mpmath.workdps(2 * dps):
                    rng2 = random.Random(seed)
                    for _ in range(i + 1):
                        lhs2, rhs2 = lhs_fn(rng2)
                    again = lhs2 > rhs2
                if again:
                    return CheckResult(Verdict.REFUTED, f"violated at random instance {i + 1} (replayed "
                                       f"at {2 * dps} digits); seed {seed}",
                                       mpmath.nstr(lhs - rhs, 5), seed, points, dps,
                                       counterexample={"lhs": mpmath.nstr(lhs, 15),
                                                       "rhs": mpmath.nstr(rhs, 15), "instance": str(i + 1)},
                                       domain=domain)
                warnings.append(f"instance {i + 1} violated at {dps} digits but not at {2 * dps}")
            gap = rhs - lhs
            slack = gap if slack is None else min(slack, gap)
        residual = mpmath.nstr(slack, 5)
    tag = f"numeric {points} random instances @ {dps} digits ({domain}), seed {seed}"
    if isinstance(proof, Proof):
        allowed: set = set()
        body = claim
        if isinstance(claim, sp.Implies):  # the hypotheses are part of the claim
            H, body = claim.args
            allowed = {sp.sstr(h) for h in (H.args if isinstance(H, sp.And) else (H,))}
        if isinstance(body, sp.And):
            claims = tuple(body.args)
        else:
            claims = body if isinstance(body, tuple) else ((body,) if body is not None else ())
        if not claims:
            warnings.append("a proof without a claim to compare it with gives no verdict")
        else:
            reasons, ok = [], True
            for cl in claims:
                got, why = proof.establishes(cl)
                ok = ok and got
                reasons.append(f"{show(cl)}: {why}")
            if ok and proof.valid:
                hyp = tuple(h for h in proof.hypotheses if h not in allowed)
                verdict = Verdict.CONDITIONAL if hyp else Verdict.VERIFIED
                return CheckResult(verdict, f"checked proof ({len(proof.lines())} lemma steps"
                                   + (f", hypotheses of the claim: {', '.join(sorted(allowed))}" if allowed else "")
                                   + (f"; conditional on {', '.join(hyp)}" if hyp else "")
                                   + f"); {tag}", residual, seed, points, dps, warnings=tuple(warnings),
                                   conditions=hyp, domain=domain, proof=proof.lines())
            warnings.append("the proof does not establish the claim: " + "; ".join(reasons))
    elif proof is not None:
        warnings.append(f"free-text proof {str(proof)[:60]!r} gives no verdict")
    return CheckResult(Verdict.SAMPLED, f"sampled: no counterexample in {points} random instances "
                       f"({domain}) @ {dps} digits, seed {seed}; no checked proof", residual, seed,
                       points, dps, warnings=tuple(warnings), domain=domain)
