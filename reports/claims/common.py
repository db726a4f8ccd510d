"""Small independent helpers of the claims audit (mpmath, SymPy); nothing here calls the
modules under audit. They deliberately re-implement what derivations.rnn, numerics.cells and
numerics.engines provide: the audit is an INDEPENDENT oracle for those modules, so calling them
here would check them against themselves."""

from __future__ import annotations

import random
from typing import Mapping

import mpmath
import sympy as sp
from gradproof.derivations.activations import mp_sigmoid, sigmoid
from gradproof.derivations.checker import (
    CheckResult,
    Verdict,
)
from gradproof.numerics import published
from gradproof.reports.claims.registry import (
    AUDIT_DPS,
)

_R = ("bengio1994", "pascanu2013")


def _formal_sigma_bound():
    z = sp.Symbol("z", real=True)
    return sp.Le(sp.diff(1 / (1 + sp.exp(-z)), z), sp.Rational(1, 4))


def _formal_tanh_bound():
    z = sp.Symbol("z", real=True)
    return sp.Le(sp.diff(sp.tanh(z), z), 1)


# ---------------------------------------------------------------------------------------------
# small independent helpers (mpmath, SymPy); nothing here calls the modules under audit.
# They deliberately re-implement what derivations.rnn (spectral_norm_mp, the unrolled RNN,
# the one-step Jacobian), numerics.cells (lstm_step, *_jacobians, random_*_params) and
# numerics.engines (the product) provide: the audit is an INDEPENDENT oracle for those modules,
# so calling them here would check them against themselves.
# ---------------------------------------------------------------------------------------------


def _nstr(x, digits: int = 6, dps: int = AUDIT_DPS) -> str:
    """An mpmath/SymPy value computed at ``dps`` digits from exact inputs, as published
    (``numerics.published.multiprecision``: the digits stable at tolerance 10^-(dps/2), at most
    ``digits``)."""
    return published.multiprecision(_mpf(x), dps, max_digits=digits).text


def _mpf(x):
    """x (mpf, SymPy Float, str, int, float) as an mpf without loss (at 60 digits or more)."""
    with mpmath.workdps(max(AUDIT_DPS, 60)):
        return mpmath.mpf(x)


def _noise(x, dps: int = AUDIT_DPS, digits: int = 3, limit=None) -> str:
    """A residual of a comparison at ``dps`` digits: below its tolerance (``limit``, default
    10^-(dps/2), the checker's) it is rounding noise and is published as ``< limit``;
    above it, with its digits."""
    limit = limit if limit is not None else mpmath.mpf(10) ** (-(dps // 2))
    v = _mpf(x)
    if mpmath.isfinite(v) and abs(v) < limit:
        return published.bound(v, float(limit), of=f"mpmath {dps}-digit").text
    return published.multiprecision(v, dps, max_digits=digits).text


def _res(r: CheckResult, digits: int = 5) -> str:
    """A checker residual (string) as published: noise below 10^-(dps/2) as ``< 1e-25``."""
    if r.residual in ("inf", "nan", "-inf"):
        return r.residual
    return _noise(r.residual, r.dps, digits)


def _mp_act(name: str):
    """(act, act') as mpmath functions at the current working precision."""
    if name == "sigmoid":
        return mp_sigmoid, lambda z: mp_sigmoid(z) * (1 - mp_sigmoid(z))
    if name == "tanh":
        return mpmath.tanh, lambda z: 1 - mpmath.tanh(z) ** 2
    raise ValueError(name)  # pragma: no cover - programming error


def _mp_gauss_matrix(rng: random.Random, rows: int, cols: int, scale=1) -> mpmath.matrix:
    """Gaussian entries, drawn as 17-digit decimal strings (exact at any precision)."""
    m = mpmath.matrix(rows, cols)
    for i in range(rows):
        for j in range(cols):
            m[i, j] = mpmath.mpf(repr(rng.gauss(0.0, 1.0))) * scale
    return m


def _mp_sigma_max(a: mpmath.matrix) -> mpmath.mpf:
    """Largest singular value (mpmath SVD at the working precision)."""
    return max(mpmath.svd_r(a, compute_uv=False))


def _mp_diag(v) -> mpmath.matrix:
    n = len(v)
    d = mpmath.matrix(n, n)
    for i in range(n):
        d[i, i] = v[i]
    return d


def _mp_map(f, v) -> mpmath.matrix:
    out = mpmath.matrix(len(v), 1)
    for i in range(len(v)):
        out[i] = f(v[i])
    return out


def _mp_hadamard(a, b) -> mpmath.matrix:
    out = mpmath.matrix(len(a), 1)
    for i in range(len(a)):
        out[i] = a[i] * b[i]
    return out


def _fro(a: mpmath.matrix) -> mpmath.mpf:
    return mpmath.mnorm(a, "F")


def _ok_if(results: Mapping[str, CheckResult], wanted: Mapping[str, Verdict]) -> bool:
    return all(results[k].verdict is v for k, v in wanted.items())


def _sub_json(r: CheckResult) -> dict:
    d = {"verdict": r.verdict.value, "method": r.method, "residual": _res(r)}
    if r.counterexample:
        d["counterexample"] = dict(r.counterexample)
    return d


def _sym_matrix(name: str, rows: int, cols: int) -> sp.Matrix:
    return sp.Matrix(rows, cols, lambda i, j: sp.Symbol(f"{name}_{i}{j}", real=True))


def _sym_vector(name: str, n: int) -> sp.Matrix:
    return sp.Matrix(n, 1, lambda i, _: sp.Symbol(f"{name}_{i}", real=True))


def _sym_rnn_preactivation(n: int):
    """(W_rec, c_{t-1}, z_t = W_rec c_{t-1} + W_in x) of an n-unit cell with a scalar input."""
    W_rec, W_in = _sym_matrix("W_rec", n, n), _sym_matrix("W_in", n, 1)
    c_prev, x = _sym_vector("c_prev", n), sp.Matrix([sp.Symbol("x", real=True)])
    return W_rec, c_prev, W_rec * c_prev + W_in * x


def _apply(f, v: sp.Matrix) -> sp.Matrix:
    return v.applyfunc(f)


def _sigma_prime(z):
    s = sigmoid(z)
    return s * (1 - s)


def _tanh_prime(z):
    return 1 - sp.tanh(z) ** 2


