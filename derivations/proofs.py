r"""Checkable proofs of inequalities: chains of named lemma instances with checked side conditions.

A proof is a tuple of ``Fact`` objects. Each fact ``lhs <rel> rhs`` (rel one of ``<=``, ``<``,
``==``) is produced by one lemma of the small library below, applied to earlier facts; the
lemma function *checks its side conditions* when it is applied (equalities by
``checker.check_equal``, which must return VERIFIED; signs by ``nonnegative``; shapes by
SymPy) and records each check. A fact whose side conditions are not all verified is not
valid, and neither is anything built on it. Free text is not a proof: ``check_inequality``
only accepts a ``Proof`` of this module, and ``Proof.establishes(claim)`` requires a valid fact
whose left side is the claim's left side (structurally) and whose right side equals the
claim's right side (``check_equal`` VERIFIED).

Matrix norms: ``opnorm(X)`` is the operator 2-norm (largest singular value) of a matrix
expression X (SymPy MatrixSymbols, products of them); it is nonnegative by definition.

Lemma library (the side conditions in brackets are checked):

=====================  ==================================================================
hypothesis(rel)        an assumption; everything built on it is conditional on it
norm_nonnegative(X)    0 <= opnorm(X)
submultiplicative      opnorm(A B) <= opnorm(A) opnorm(B)          [A, B conformable]
diag_norm(D, f, bd)    opnorm(D) <= g for D = diag(f(z_1), ..., f(z_n)), from bd: |f(z)| <= g
                       for all real z                               [bd is about f]
derivative_bound(act)  |act'(z)| <= gamma for all real z, gamma = derive_gamma(act)
                       [calculus certificate of sup |act'|; it equals derive_gamma's gamma]
chain(f1, f2)          a <= b, b' <= c  =>  a <= c                  [b == b']
rewrite(f, rhs)        a <= b  =>  a <= rhs                         [b == rhs]
product_of_bounds(fs)  0 <= a_i <= b_i  =>  prod a_i <= prod b_i    [each a_i >= 0]
power_monotone(f, k)   0 <= a <= b  =>  a^k <= b^k                  [a >= 0, k >= 0]
scale(f, c)            a <= b  =>  c a <= c b                       [c >= 0; c > 0 for <]
increasing(F, z, f)    a <= b  =>  F(a) <= F(b)                     [F'(z) > 0 for all real z]
triangle(terms)        |t_1 + ... + t_m| <= |t_1| + ... + |t_m|
sum_of_bounds(fs)      a_i <= b_i  =>  sum a_i <= sum b_i
abs_lower(f, c)        |x - c| <= m  =>  c - m <= x
reflexive(a)           a <= a
sup_bound(f, z)        |f(z)| <= sup|f| for all z in the domain of z [calculus certificate]
instantiate(fact,z,a)  a fact for all real z holds at z = a          [a real, z not in a]
geometric_decay(f, k)  0 <= q < 1  =>  lim_{k -> oo} q^k = 0         [q >= 0, f: q < 1]
product_norm_induction ||J_t|| <= q for a generic step t  =>  ||J_k ... J_1|| <= q^k for all
  (f, P, k)            k >= 0, by induction: base ||I|| = 1 = q^0; step ||J P_j|| <= ||J|| ||P_j||
                       <= q q^j = q^(j+1) under the hypothesis ||P_j|| <= q^j (each checked)
=====================  ==================================================================

Also here: ``supremum_by_calculus(f, z)``, the certificate for sup_z |f(z)| used by
``check_supremum`` and ``derivative_bound``: f continuous and differentiable on the domain of z
(``continuous_domain``), the critical set of f' a finite set (``solveset``), the limits at the
open ends finite; then sup |f| is the largest |f| over the critical points, the closed ends and
the limits (extreme value theorem on compact pieces). Any step that fails gives no certificate.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

import sympy as sp
from sympy.matrices.expressions import MatrixExpr

__all__ = ["opnorm", "Fact", "Proof", "SupremumCertificate", "supremum_by_calculus", "nonnegative",
           "hypothesis", "norm_nonnegative", "submultiplicative", "diag_norm",
           "derivative_bound", "chain", "rewrite", "product_of_bounds", "power_monotone", "scale",
           "increasing", "triangle", "sum_of_bounds", "abs_lower", "reflexive", "sup_bound",
           "instantiate", "geometric_decay", "rewrite_lhs", "product_norm_induction", "LEMMAS"]


class opnorm(sp.Function):  # noqa: N801 - reads like the mathematics
    """Operator 2-norm ||X||_2 of a matrix expression X (nonnegative by definition)."""

    nargs = 1
    is_nonnegative = True
    is_real = True

    def _latex(self, printer, exp=None):
        base = r"\left\|%s\right\|_2" % printer._print(self.args[0])
        return base if exp is None else r"%s^{%s}" % (base, exp)


@dataclass(frozen=True)
class Fact:
    """``lhs rel rhs`` produced by ``lemma`` from ``premises``; ``checks`` are the side
    conditions as (description, verdict value, method); ``hypotheses`` the assumptions it
    rests on (inherited from the premises)."""

    lhs: sp.Expr
    rel: str
    rhs: sp.Expr
    lemma: str
    premises: tuple["Fact", ...] = ()
    checks: tuple[tuple[str, str, str], ...] = ()
    hypotheses: tuple[str, ...] = ()

    @property
    def valid(self) -> bool:
        return all(v == "verified" for _, v, _ in self.checks) and all(p.valid for p in self.premises)

    @property
    def failed(self) -> list[str]:
        out = [f"{self.lemma}: {d} is {v} ({m[:100]})" for d, v, m in self.checks if v != "verified"]
        for p in self.premises:
            out += p.failed
        return out

    def text(self) -> str:
        return f"{show(self.lhs)} {self.rel} {show(self.rhs)}"

    def line(self) -> str:
        checked = "; ".join(f"{d}: {v}" for d, v, _ in self.checks)
        return f"[{self.lemma}] {self.text()}" + (f"  ({checked})" if checked else "")


@dataclass(frozen=True)
class Proof:
    """A chain of facts; the last ones are the conclusions."""

    facts: tuple[Fact, ...]

    @property
    def valid(self) -> bool:
        return bool(self.facts) and all(f.valid for f in self.facts)

    @property
    def hypotheses(self) -> tuple[str, ...]:
        return tuple(sorted({h for f in self.facts for h in f.hypotheses}))

    def lines(self) -> tuple[str, ...]:
        cached = self.__dict__.get("_lines")
        if cached is not None:
            return cached
        seen, out = set(), []

        def visit(f: Fact):
            if id(f) in seen:
                return
            seen.add(id(f))
            for p in f.premises:
                visit(p)
            out.append(f.line())

        for f in self.facts:
            visit(f)
        object.__setattr__(self, "_lines", tuple(out))
        return self.__dict__["_lines"]

    def establishes(self, claim: sp.Basic) -> tuple[bool, str]:
        """Does a valid fact of the chain prove ``claim`` (a SymPy relational lhs <= rhs,
        lhs < rhs or lhs >= rhs / lhs > rhs, read as rhs <= lhs)? (ok, why)."""
        rel, lhs, rhs = _relation(claim)
        for f in reversed(self.facts):
            if not f.valid:
                continue
            if f.rel != rel and not (rel == "<=" and f.rel == "<"):
                continue
            if sp.srepr(f.lhs) != sp.srepr(lhs):
                continue
            r = _equal(f.rhs, rhs)
            if r[0] == "verified":
                return True, f"the chain's bound {show(f.rhs)} equals the claim's {show(rhs)} ({r[0]})"
        bad = [x for f in self.facts for x in f.failed]
        return False, ("a side condition failed: " + "; ".join(bad[:3])) if bad else \
            "no fact of the chain has the claim's left side and right side"


def _mat_text(X) -> str:
    if isinstance(X, sp.MatMul):
        return " ".join(_mat_text(a) for a in X.args)
    if isinstance(X, sp.MatrixSymbol):
        return str(X.name)
    return sp.sstr(X)


def show(e) -> str:
    """``sstr`` with every opnorm(X) printed as ||X|| (SymPy's own printer is very slow on
    long MatMuls: its precedence test negates and re-canonicalises each product)."""
    e = sp.sympify(e)
    norms = e.atoms(opnorm)
    if not norms:
        return sp.sstr(e)
    return sp.sstr(e.xreplace({nm: sp.Symbol(f"||{_mat_text(nm.args[0])}||") for nm in norms}))


def _relation(claim) -> tuple[str, sp.Expr, sp.Expr]:
    if isinstance(claim, sp.LessThan):
        return "<=", claim.lhs, claim.rhs
    if isinstance(claim, sp.StrictLessThan):
        return "<", claim.lhs, claim.rhs
    if isinstance(claim, sp.GreaterThan):
        return "<=", claim.rhs, claim.lhs
    if isinstance(claim, sp.StrictGreaterThan):
        return "<", claim.rhs, claim.lhs
    if isinstance(claim, sp.Equality):
        return "==", claim.lhs, claim.rhs
    raise TypeError(f"not a relation: {claim!r}")


def _equal(a, b) -> tuple[str, str]:
    """(verdict value, method) of a == b: identical trees, else ``check_equal``. Norm atoms
    are opaque symbols to the checker (renamed to nonnegative symbols first)."""
    a, b = sp.sympify(a), sp.sympify(b)
    if sp.srepr(a) == sp.srepr(b):
        return "verified", "identical expressions"
    from gradproof.derivations.checker import check_equal

    norms = sorted((a.atoms(opnorm) | b.atoms(opnorm)), key=sp.default_sort_key)
    names = {nm: sp.Symbol(f"_norm{i}", nonnegative=True) for i, nm in enumerate(norms)}
    r = check_equal(a.xreplace(names), b.xreplace(names))
    return r.verdict.value, r.method


def _check(desc: str, outcome: tuple[str, str]) -> tuple[str, str, str]:
    return (desc, outcome[0], outcome[1])


def nonnegative(e) -> tuple[str, str]:
    """Is ``e >= 0`` for all values of its symbols? Structural rules (sums and products of
    nonnegative terms, even powers, |.|, opnorm, nonnegative numbers and symbols declared
    nonnegative, powers of nonnegative bases), then SymPy's assumption system
    (``is_nonnegative``). (verdict value, method)."""
    e = sp.sympify(e)

    def rule(x) -> bool:
        if x.is_Number:
            return bool(x >= 0)
        if isinstance(x, (opnorm, sp.Abs)):
            return True
        if x.is_Symbol:
            return bool(x.is_nonnegative)
        if isinstance(x, (sp.Add, sp.Mul)):
            return all(rule(a) for a in x.args)
        if isinstance(x, sp.Pow):
            base, ex = x.args
            if ex.is_Integer and ex % 2 == 0 and base.is_real:
                return True
            return rule(base) and bool(ex.is_real)
        return bool(x.is_nonnegative)

    if rule(e):
        return "verified", "sums/products/powers of nonnegative terms"
    if e.is_nonnegative:
        return "verified", "SymPy assumptions: is_nonnegative"
    if e.is_negative:
        return "refuted", "SymPy assumptions: is_negative"
    return "undecided", "no sign rule applies"


def _positive(e) -> tuple[str, str]:
    e = sp.sympify(e)
    if e.is_positive:
        return "verified", "SymPy assumptions: is_positive"
    if e.is_nonpositive:
        return "refuted", "SymPy assumptions: is_nonpositive"
    return "undecided", "no sign rule applies"


def _inherit(*facts: Fact) -> tuple[str, ...]:
    return tuple(sorted({h for f in facts for h in f.hypotheses}))


# ------------------------------------------------------------------------------------------
# the lemmas
# ------------------------------------------------------------------------------------------


def hypothesis(rel) -> Fact:
    """An assumption ``rel`` (a SymPy relational); conclusions built on it are conditional."""
    r, lhs, rhs = _relation(rel)
    return Fact(lhs, r, rhs, "hypothesis", hypotheses=(sp.sstr(rel),))


def norm_nonnegative(X) -> Fact:
    return Fact(sp.Integer(0), "<=", opnorm(X), "norm_nonnegative")


def _conformable(A, B) -> tuple[str, str]:
    if not (isinstance(A, MatrixExpr) and isinstance(B, MatrixExpr)):
        return "refuted", "not matrix expressions"
    eq = sp.simplify(A.shape[1] - B.shape[0]) == 0
    return ("verified", f"cols(A) = rows(B) = {A.shape[1]}") if eq else ("refuted", "shapes differ")


def submultiplicative(A, B) -> Fact:
    """||A B||_2 <= ||A||_2 ||B||_2 (operator norms are submultiplicative)."""
    return Fact(opnorm(sp.MatMul(A, B).doit()), "<=", opnorm(A) * opnorm(B), "submultiplicative",
                checks=(_check("A, B conformable", _conformable(A, B)),))


def diag_norm(D, f: sp.Expr, z: sp.Symbol, bound: Fact) -> Fact:
    """||diag(f(z_1), ..., f(z_n))||_2 = max_i |f(z_i)| <= g, given ``bound``: |f(z)| <= g
    for all real z. ``D`` names the diagonal matrix (a MatrixSymbol standing for diag(f(z_i)))."""
    about = _equal(bound.lhs, sp.Abs(f)) if bound.rel in ("<=", "<") else ("refuted", "not a bound")
    return Fact(opnorm(D), "<=", bound.rhs, f"diag_norm({D} = diag({show(f)} at z_1..z_n))", (bound,),
                (_check(f"the bound is on |{show(f)}|", about),
                 _check("z real (bound holds for all real z)", ("verified" if z.is_real else "undecided",
                                                                "assumption of z"))),
                _inherit(bound))


def derivative_bound(act) -> Fact:
    """|act'(z)| <= gamma for all real z, gamma from ``derive_gamma``; the side conditions: the
    calculus certificate of sup |act'| exists and its value equals derive_gamma's gamma."""
    from gradproof.derivations.activations import derive_gamma

    z = sp.Symbol("z", real=True)
    d1 = sp.diff(act.definition(z), z)
    cert = supremum_by_calculus(d1, z)
    gamma = derive_gamma(act).gamma
    checks = [("calculus certificate of sup|act'|", "verified" if cert else "undecided",
               cert.method if cert else "no certificate")]
    if cert:
        checks.append(_check("certificate value == derive_gamma(act).gamma", _equal(cert.value, gamma)))
    return Fact(sp.Abs(d1), "<=", gamma, f"derivative_bound({act.name})", checks=tuple(checks))


def chain(f1: Fact, f2: Fact) -> Fact:
    """a <= b and b' <= c with b == b' give a <= c (strict if either is strict)."""
    ok = f1.rel in ("<=", "<", "==") and f2.rel in ("<=", "<", "==")
    rel = "<" if "<" in (f1.rel, f2.rel) else ("==" if f1.rel == f2.rel == "==" else "<=")
    return Fact(f1.lhs, rel, f2.rhs, "chain", (f1, f2),
                (_check("middle terms equal", _equal(f1.rhs, f2.lhs) if ok else ("refuted", "relations")),),
                _inherit(f1, f2))


def rewrite(f: Fact, rhs) -> Fact:
    """a <= b and b == rhs give a <= rhs."""
    return Fact(f.lhs, f.rel, sp.sympify(rhs), "rewrite", (f,),
                (_check("b == rhs", _equal(f.rhs, rhs)),), _inherit(f))


def rewrite_lhs(f: Fact, lhs) -> Fact:
    """a <= b and a == lhs give lhs <= b."""
    return Fact(sp.sympify(lhs), f.rel, f.rhs, "rewrite", (f,),
                (_check("a == lhs", _equal(f.lhs, lhs)),), _inherit(f))


def product_of_bounds(facts) -> Fact:
    """0 <= a_i <= b_i for every i give prod a_i <= prod b_i."""
    facts = tuple(facts)
    checks = tuple(_check(f"{show(f.lhs)} >= 0", nonnegative(f.lhs)) for f in facts)
    checks += tuple(_check("a bound", ("verified" if f.rel in ("<=", "<", "==") else "refuted", f.rel))
                    for f in facts)
    return Fact(sp.Mul(*[f.lhs for f in facts]), "<=", sp.Mul(*[f.rhs for f in facts]),
                "product_of_bounds", facts, checks, _inherit(*facts))


def power_monotone(f: Fact, k) -> Fact:
    """0 <= a <= b and k >= 0 give a^k <= b^k (x^k is nondecreasing on x >= 0)."""
    k = sp.sympify(k)
    return Fact(f.lhs ** k, "<=", f.rhs ** k, "power_monotone", (f,),
                (_check("a >= 0", nonnegative(f.lhs)), _check("k >= 0", nonnegative(k)),
                 _check("a bound", ("verified" if f.rel in ("<=", "<") else "refuted", f.rel))),
                _inherit(f))


def scale(f: Fact, c) -> Fact:
    """a <= b and c >= 0 give c a <= c b (c > 0 keeps a strict inequality strict)."""
    c = sp.sympify(c)
    sign = _positive(c) if f.rel == "<" else nonnegative(c)
    return Fact(c * f.lhs, f.rel, c * f.rhs, "scale", (f,),
                (_check(f"{show(c)} {'>' if f.rel == '<' else '>='} 0", sign),), _inherit(f))


def increasing(F, z: sp.Symbol, f: Fact) -> Fact:
    """a <= b and F increasing on the reals (F'(z) > 0 for all real z) give F(a) <= F(b).
    ``F`` is a one-argument callable building SymPy expressions."""
    dF = sp.diff(F(z), z)
    return Fact(F(f.lhs), f.rel, F(f.rhs), "increasing", (f,),
                (_check(f"F'(z) = {show(dF)} > 0 for real z",
                        _positive(dF) if z.is_real else ("undecided", "z not real")),), _inherit(f))


def triangle(terms) -> Fact:
    """|t_1 + ... + t_m| <= |t_1| + ... + |t_m| (triangle inequality for real or complex t_i)."""
    terms = tuple(sp.sympify(t) for t in terms)
    return Fact(sp.Abs(sp.Add(*terms)), "<=", sp.Add(*[sp.Abs(t) for t in terms]), "triangle")


def sum_of_bounds(facts) -> Fact:
    facts = tuple(facts)
    checks = tuple(_check("a bound", ("verified" if f.rel in ("<=", "<", "==") else "refuted", f.rel))
                   for f in facts)
    return Fact(sp.Add(*[f.lhs for f in facts]), "<=", sp.Add(*[f.rhs for f in facts]),
                "sum_of_bounds", facts, checks, _inherit(*facts))


def abs_lower(f: Fact, x, c) -> Fact:
    """|x - c| <= m gives c - m <= x."""
    about = _equal(f.lhs, sp.Abs(sp.sympify(x) - c)) if f.rel in ("<=", "<") else ("refuted", f.rel)
    return Fact(sp.sympify(c) - f.rhs, f.rel, sp.sympify(x), "abs_lower", (f,),
                (_check(f"the bound is on |{show(x)} - {show(c)}|", about),), _inherit(f))


def reflexive(a) -> Fact:
    a = sp.sympify(a)
    return Fact(a, "<=", a, "reflexive")


def sup_bound(f: sp.Expr, z: sp.Symbol) -> Fact:
    """|f(z)| <= sup |f| for every z in the domain of z, sup from ``supremum_by_calculus``."""
    cert = supremum_by_calculus(sp.sympify(f), z)
    if cert is None:
        return Fact(sp.Abs(f), "<=", sp.oo, "sup_bound", checks=(("calculus certificate", "undecided",
                                                                     "no certificate"),))
    return Fact(sp.Abs(f), "<=", cert.value, "sup_bound",
                checks=(("calculus certificate", "verified", cert.method),))


def instantiate(f: Fact, z: sp.Symbol, a) -> Fact:
    """A fact that holds for every z of its domain (z free in it, no hypothesis on z) holds at
    z = a when a satisfies every assumption of z (real, positive, integer, ...)."""
    a = sp.sympify(a)
    needed = [k for k, v in z.assumptions0.items() if v is True and k != "commutative"]
    real = "verified" if all(getattr(a, f"is_{k}") is True for k in needed) else "undecided"
    free = "verified" if z not in a.free_symbols and not any(z.name in h for h in f.hypotheses) \
        else "refuted"
    return Fact(f.lhs.subs(z, a), f.rel, f.rhs.subs(z, a), "instantiate", (f,),
                (("the instance has the assumptions of z", real, ", ".join(sorted(needed))),
                 ("z not in the instance nor in a hypothesis", free, "free symbols")), _inherit(f))


def geometric_decay(f: Fact, k: sp.Symbol) -> Fact:
    """0 <= q < 1 gives lim_{k -> oo} q^k = 0 (the geometric sequence); ``f`` is q < 1."""
    q = f.lhs
    checks = (("q < 1", "verified" if f.rel == "<" and f.rhs == 1 else "refuted", f"{f.rel} {f.rhs}"),
              _check("q >= 0", nonnegative(q)),
              ("k -> oo over the integers", "verified" if k.is_integer else "undecided", "assumption"))
    return Fact(sp.Limit(q ** k, k, sp.oo), "==", sp.Integer(0), "geometric_decay", (f,), checks,
                _inherit(f))


def product_norm_induction(step: Fact, J, P, k: sp.Symbol) -> Fact:
    """From ``step``: ||J|| <= q for the generic one-step matrix ``J`` (no hypotheses), conclude
    ||P|| <= q^k for every integer k >= 0, where the MatrixSymbol ``P`` stands for the product
    J_k ... J_1 of k one-step matrices of that form (P_0 = I). Checked here: the base case
    ||I|| = 1 = q^0, and the induction step ||J P_j|| <= ||J|| ||P_j|| <= q * q^j = q^(j+1)
    under ||P_j|| <= q^j (submultiplicative, product_of_bounds, rewrite with j a symbolic
    nonnegative integer)."""
    q = step.rhs
    j = sp.Symbol("j", integer=True, nonnegative=True)
    Pj = sp.MatrixSymbol(f"{P.name}_j", *P.shape)
    ih = hypothesis(sp.Le(opnorm(Pj), q ** j))
    sm = submultiplicative(J, Pj)
    pb = product_of_bounds([step, ih])
    ind = rewrite(chain(sm, pb), q ** (j + 1))
    checks = [("the one-step bound is ||J|| <= q", "verified" if step.lhs == opnorm(J) and
               step.rel in ("<=", "<") else "refuted", show(step.lhs)),
              ("the one-step bound rests on no hypothesis", "verified" if not step.hypotheses else "refuted",
               ", ".join(step.hypotheses)),
              ("base case ||I||_2 = 1 = q^0", "verified" if sp.simplify(q ** 0 - 1) == 0 else "refuted", "q^0"),
              ("q >= 0", *nonnegative(q)),
              ("k a nonnegative integer", "verified" if k.is_integer and k.is_nonnegative else "undecided",
               "assumptions of k"),
              ("induction step ||J P_j|| <= q^(j+1) from ||P_j|| <= q^j",
               "verified" if ind.valid and ind.lhs == opnorm(sp.MatMul(J, Pj).doit())
               and set(ind.hypotheses) == set(ih.hypotheses) else "refuted",
               "; ".join(ind.failed) or ind.text())]
    return Fact(opnorm(P), "<=", q ** k, f"product_norm_induction({P.name} = J_k ... J_1, P_0 = I)",
                (step,), tuple(checks), _inherit(step))


#: the lemma library by name
LEMMAS = {fn.__name__: fn for fn in (hypothesis, norm_nonnegative, submultiplicative,
                                       diag_norm, derivative_bound, chain, rewrite, rewrite_lhs,
                                       product_of_bounds, power_monotone, scale, increasing,
                                       triangle, sum_of_bounds, abs_lower, reflexive, sup_bound,
                                       instantiate, geometric_decay, product_norm_induction)}


# ------------------------------------------------------------------------------------------
# suprema by calculus
# ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SupremumCertificate:
    """sup_{z in domain} |f(z)| = ``value``, attained at ``argmax`` (None: approached as a limit).

    ``candidates``: (where, |f| there) for every critical point, closed end and limit;
    ``method``: the steps that were checked."""

    func: sp.Expr
    var: sp.Symbol
    domain: sp.Set
    value: sp.Expr
    argmax: sp.Expr | None
    candidates: tuple[tuple[str, sp.Expr], ...] = field(default_factory=tuple)
    method: str = ""


def _domain_of(z: sp.Symbol) -> sp.Set | None:
    if z.is_positive:
        return sp.Interval.open(0, sp.oo)
    if z.is_nonnegative:
        return sp.Interval(0, sp.oo)
    if z.is_negative:
        return sp.Interval.open(-sp.oo, 0)
    if z.is_nonpositive:
        return sp.Interval(-sp.oo, 0)
    if z.is_real and not z.is_integer:
        return sp.S.Reals
    return None


def _largest(cands) -> tuple | None:
    """The candidate with the largest value, decided exactly (None if a comparison is open)."""
    best = None
    for c in cands:
        if best is None:
            best = c
            continue
        d = sp.simplify(c[1] - best[1])
        if d.is_positive:
            best = c
        elif d.is_nonpositive:
            continue
        else:
            num = sp.N(d, 60)
            if not num.is_Number or abs(num) < sp.Float("1e-40"):
                return None
            if num > 0:
                best = c
    return best


@lru_cache(maxsize=256)
def supremum_by_calculus(f: sp.Expr, z: sp.Symbol) -> SupremumCertificate | None:
    """Certificate for sup |f| over the domain of ``z`` (its assumptions: real, positive, ...),
    or None when a step fails (see the module docstring)."""
    dom = _domain_of(z)
    if dom is None:
        return None
    try:
        cont = sp.calculus.util.continuous_domain(f, z, sp.S.Reals)
        if not dom.is_subset(cont):
            return None
        d1 = sp.diff(f, z)
        if sp.simplify(d1) == 0:  # a constant: sup |f| = |f|
            v = sp.Abs(sp.simplify(f))
            return SupremumCertificate(f, z, dom, v, sp.Integer(0), (("constant", v),),
                                       f"calculus certificate on {dom}: f' = 0, f constant; sup |f| = {v}")
        if not dom.is_subset(sp.calculus.util.continuous_domain(d1, z, sp.S.Reals)):
            return None
        crit = sp.solveset(sp.simplify(d1), z, domain=dom)
        if crit is sp.S.EmptySet:
            crit = ()
        elif not isinstance(crit, sp.FiniteSet):
            return None
        cands = []
        for c in sorted(crit, key=sp.default_sort_key):
            cands.append((f"f'({show(c)}) = 0", sp.simplify(sp.Abs(f.subs(z, c))), c))
        lo, hi = dom.inf, dom.sup
        for end, closed, direction in ((lo, dom.left_open is False, "+"), (hi, dom.right_open is False, "-")):
            if closed and end.is_finite:
                cands.append((f"closed end {end}", sp.simplify(sp.Abs(f.subs(z, end))), end))
            else:
                lim = sp.limit(f, z, end, dir=direction) if end.is_finite else sp.limit(f, z, end)
                if lim.has(sp.AccumBounds) or lim is sp.nan or lim.has(sp.Limit):
                    return None
                cands.append((f"limit at {end}", sp.Abs(lim), None))
        if any(v.has(sp.oo, sp.zoo) or v.is_infinite for _, v, _ in cands):
            best = next(c for c in cands if c[1].has(sp.oo, sp.zoo) or c[1].is_infinite)
            value = sp.oo
        else:
            best = _largest(cands)
            if best is None:
                return None
            value = best[1]
    except (NotImplementedError, ValueError, TypeError, AttributeError):
        return None
    ends = [w for w, _, _ in cands if not w.startswith("f'")]
    method = (f"calculus certificate on {dom}: f continuous and differentiable there "
              f"(continuous_domain), critical points of f' = 0 {sorted(crit, key=sp.default_sort_key)} "
              f"(solveset), ends/limits {ends}; sup |f| = {value}")
    return SupremumCertificate(f, z, dom, value, best[2] if value is not sp.oo else None,
                               tuple((w, v) for w, v, _ in cands), method)
