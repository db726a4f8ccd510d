r"""Lyapunov exponents of a Jacobian sequence by the QR method (Benettin et al. 1980; Eckmann & Ruelle 1985).

For P_T = J_T ... J_1 and Q_0 with orthonormal columns, iterate J_t Q_{t-1} = Q_t R_t (thin QR,
diag(R_t) made positive); then lambda_i ~ (1/T) sum_t ln R_t[i, i], in natural log per step,
and lambda_1 = lim (1/T) ln ||P_T||_2 (Oseledets). Each step is normalised, so nothing
under- or overflows at any length (the fast, float64 engine).

Relation to the bound: for the RNN, ||J_t||_2 <= gamma ||W_rec||_2, hence
lambda_1 <= ln(gamma ||W_rec||_2): the measured rate can only be at or below the bound's rate.
"""

from __future__ import annotations

import math

import numpy as np

from gradproof.numerics.engines import as_jacobian_stack

__all__ = ["lyapunov_spectrum", "largest_lyapunov"]


def lyapunov_spectrum(jacobians, k: int | None = None, seed: int = 0) -> np.ndarray:
    """The k largest Lyapunov exponents (natural log per step), k = n by default.

    Q_0 = first k columns of a fixed random orthogonal matrix (default_rng(seed)), so that the
    start is not aligned with a special subspace. Returns -inf where a column collapsed to 0.
    """
    J = as_jacobian_stack(jacobians)
    T, n, _ = J.shape
    k = n if k is None else int(k)
    if not 1 <= k <= n:
        raise ValueError(f"k must be in 1..{n}, got {k}")
    if n == 1:
        with np.errstate(divide="ignore"):
            return np.array([float(np.mean(np.log(np.abs(J[:, 0, 0]))))])
    Q, _ = np.linalg.qr(np.random.default_rng(seed).standard_normal((n, n)))
    Q = Q[:, :k]
    sums = np.zeros(k)
    qr = np.linalg.qr
    with np.errstate(divide="ignore"):
        for t in range(T):
            Q, R = qr(J[t] @ Q)
            d = np.diag(R)
            sums += np.log(np.abs(d))
            Q = Q * np.where(d < 0, -1.0, 1.0)
            if not np.all(np.isfinite(sums)):
                break
    return sums / T


def largest_lyapunov(jacobians, seed: int = 0) -> float:
    """lambda_1 (natural log per step) of the sequence, by the QR method with one column."""
    J = as_jacobian_stack(jacobians)
    T, n, _ = J.shape
    if n == 1:
        return float(lyapunov_spectrum(J)[0])
    v = np.random.default_rng(seed).standard_normal(n)
    v /= np.linalg.norm(v)
    total = 0.0
    norm = np.linalg.norm
    for t in range(T):
        v = J[t] @ v
        s = norm(v)
        if s == 0.0:
            return -math.inf
        total += math.log(s)
        v = v / s
    return total / T
