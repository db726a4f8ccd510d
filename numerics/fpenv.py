r"""Run-time checks of the floating-point assumptions behind the float64 ball tiers (numerics.midrad).

The midpoint-radius products of :mod:`gradproof.numerics.midrad` are rigorous only if

1. every numpy elementwise operation (+, -, *, ldexp) and every BLAS product rounds to nearest
   (IEEE 754 roundTiesToEven; numpy cannot switch the rounding mode, so the radii are rounded
   upward by inflation, which is valid only under round-to-nearest);
2. underflow is gradual in numpy and in BLAS (no flush-to-zero, FTZ, of subnormal results and no
   denormals-are-zero, DAZ, on subnormal inputs): the a priori bounds charge at most
   eta/2 = 2^-1075 of absolute error per underflowing product;
3. the matrix product is the classical O(n^3) one (each entry a dot product summed in some order,
   blocked or recursive, with or without FMA), so that |fl(A B) - A B| <= gamma_n |A| |B| + n eta
   (Higham, "Accuracy and Stability of Numerical Algorithms", 2nd ed., sec. 3.1 and 3.5); a
   Strassen/Winograd-type product mixes blocks and is NOT covered.

``check_float_environment(n)`` tests each assumption with exactly known answers, for numpy
elementwise arithmetic and for ``np.matmul`` at the working size n (single and stacked, contiguous
and strided, the calls the tiers make). Passing checks are evidence, not proof (a library could
behave differently on inputs not tried); a failing check is proof that an assumption is violated,
and the tier driver then falls back to Arb. ``check_qr_kernels(n)`` tests the other BLAS products
that the QR-frame tier makes (n x 2n, matrix-vector, X^T X) in the same way. The block test of item
3 is built so that any scheme that adds an O(1) block to a 2^60 block before multiplying (as
Strassen's M1 = (A11 + A22) (B11 + B22) does) loses the small block's product and fails the exact
comparison.

``check_float32_kernels(n)`` tests what :func:`gradproof.numerics.upmatmul.matmul_up32` (float32
upper bounds of the nonnegative radius products) relies on: float64 -> float32 conversion (the fused
scale-and-convert that it calls) and float32 matmul (sgemm) at size n round to nearest, underflow
gradually (no FTZ/DAZ; subnormal float32 inputs and results kept) and are classical (exact integer
and block cases, in float32's 24 bits). If any fails, the tiers keep their float64 radius products.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

__all__ = ["FloatEnvironment", "check_float_environment", "check_qr_kernels", "check_float32_kernels",
           "ASSUMPTIONS", "ASSUMPTIONS_FLOAT32"]

ASSUMPTIONS = (
    "IEEE 754 binary64 with round-to-nearest-even in numpy elementwise operations and in BLAS",
    "gradual underflow (no FTZ/DAZ) in numpy and in BLAS",
    "np.matmul is the classical O(n^3) product (dot products in any order, blocked or recursive, "
    "FMA or not), covered by |fl(AB) - AB| <= gamma_n |A||B| + n eta, gamma_n = n u / (1 - n u), "
    "u = 2^-53, eta = 2^-1074",
)

ASSUMPTIONS_FLOAT32 = (
    "float64 -> float32 conversion and float32 matmul (sgemm) round to nearest, with gradual underflow "
    "(no FTZ/DAZ), and sgemm is the classical O(n^3) product: |fl32(AB) - AB| <= gamma32_n |A||B| + n eta32, "
    "u32 = 2^-24, eta32 = 2^-149 (used for upper bounds of the nonnegative radius products only)",
)


@dataclass(frozen=True)
class FloatEnvironment:
    """Outcome of the run-time checks: ``ok`` only if every check passed."""

    ok: bool
    hidden: int
    checks: tuple  # ((name, passed), ...) in a fixed order

    @property
    def failed(self) -> tuple:
        return tuple(name for name, passed in self.checks if not passed)


def _rounding_numpy() -> bool:
    one = np.array([1.0, -1.0, 1.0 + 2.0 ** -52])
    t = np.array([2.0 ** -60, 2.0 ** -60, 2.0 ** -53])
    up = one + t  # RN: 1, -1 + tiny -> -1, tie -> even (1 + 2^-51)
    dn = one - t
    prod = np.array([1.0 + 2.0 ** -52]) * np.array([1.0 + 2.0 ** -52])  # 1 + 2^-51 + 2^-104 -> 1 + 2^-51
    half_tie = np.array([1.0]) + np.array([2.0 ** -53])  # tie -> even: 1
    return bool(up[0] == 1.0 and up[1] == -1.0 and up[2] == 1.0 + 2.0 ** -51
                and dn[0] == 1.0 and dn[1] == -1.0 and dn[2] == 1.0
                and prod[0] == 1.0 + 2.0 ** -51 and half_tie[0] == 1.0)


def _underflow_numpy() -> bool:
    a = np.array([2.0 ** -1022, 2.0 ** -1074, 3.0 * 2.0 ** -1074])
    ftz = a * 0.5  # 2^-1023 and 2^-1075 -> tie to even 0, 1.5 * 2^-1074 -> 2^-1073 (tie to even)
    daz = a * 2.0 ** 60  # subnormal inputs used as they are
    add = a[1:2] + a[1:2]
    return bool(ftz[0] == 2.0 ** -1023 and ftz[1] == 0.0 and ftz[2] == 2.0 ** -1073
                and daz[1] == 2.0 ** -1014 and daz[2] == 3.0 * 2.0 ** -1014 and add[0] == 2.0 ** -1073
                and np.ldexp(np.array([1.0]), -1074)[0] == 2.0 ** -1074)


def _variants(A, B, mm):
    """The ways the tiers call matmul: single, stacked, stacked with strided batch views."""
    yield mm(A, B)
    SA = np.stack([A, A, A, A])
    SB = np.stack([B, B, B, B])
    yield from mm(SA, SB)
    yield from mm(SA[1::2], SB[0::2])


def _matmul_rounding(n, mm) -> bool:
    A = np.zeros((n, n))
    B = np.ones((n, n))
    A[:, 0] = 1.0
    A[:, -1] = 2.0 ** -60  # every entry of A B is 1 + 2^-60 (n >= 2) -> 1 in RN, 1 + 2^-52 upward
    ok = True
    for C in _variants(A, B, mm):
        ok &= bool(np.all(C == 1.0))
    for C in _variants(-A, B, mm):
        ok &= bool(np.all(C == -1.0))
    return ok


def _matmul_underflow(n, mm) -> bool:
    A = np.eye(n) * 2.0 ** -537
    B = np.full((n, n), 3.0 * 2.0 ** -537)  # exact products 3 * 2^-1074 (subnormal): FTZ gives 0
    D = np.eye(n) * 2.0 ** -1070  # subnormal inputs: DAZ gives 0
    E = np.full((n, n), 2.0 ** 60)
    ok = True
    for C in _variants(A, B, mm):
        ok &= bool(np.all(C == 3.0 * 2.0 ** -1074))
    for C in _variants(D, E, mm):
        ok &= bool(np.all(C == 2.0 ** -1010))
    return ok


@functools.lru_cache(maxsize=8)
def _classical_cases(n):
    """The inputs and exact answers of ``_matmul_classical`` at size n: a pure function of n (fixed
    seed; the answers by numpy's int64 loop, not BLAS), memoised because the int64 products cost
    ~15 ms at n = 256. The BLAS products under test are recomputed at every check."""
    rng = np.random.default_rng(12345)
    # exact integer case: |entries| <= 2^8, n <= 2^20 keeps every partial sum below 2^53
    Ai = rng.integers(-256, 257, size=(n, n))
    Bi = rng.integers(-256, 257, size=(n, n))
    cases = [(Ai.astype(np.float64), Bi.astype(np.float64), (Ai @ Bi).astype(np.float64))]
    if n >= 2:  # block test against Strassen-type schemes: small block and 2^60 block
        k = n // 2
        A = np.zeros((n, n))
        B = np.zeros((n, n))
        A[:k, :k] = rng.integers(1, 64, size=(k, k))
        B[:k, :k] = rng.integers(1, 64, size=(k, k))
        A[k:, k:] = 2.0 ** 60
        B[k:, k:] = 2.0 ** 60
        want = np.zeros((n, n))
        want[:k, :k] = (A[:k, :k].astype(np.int64) @ B[:k, :k].astype(np.int64)).astype(np.float64)
        want[k:, k:] = (n - k) * 2.0 ** 120
        cases.append((A, B, want))
    for case in cases:
        for x in case:
            x.setflags(write=False)
    return tuple(cases)


def _matmul_classical(n, mm) -> bool:
    ok = True
    for A, B, want in _classical_cases(n):
        for C in _variants(A, B, mm):
            ok &= bool(np.array_equal(C, want))
    return ok


def check_float_environment(n: int, matmul=np.matmul) -> FloatEnvironment:
    """Test the three assumptions (module docstring) for numpy and for matmul at size n.

    ``matmul`` is the product under test (np.matmul, which the tiers call; the tests pass
    deliberately wrong products to show that each check can fail). n = 1 uses no matmul (the
    tiers multiply 1 x 1 factors elementwise), so only the numpy checks apply.
    """
    n = int(n)
    with np.errstate(all="ignore"):
        checks = (
            ("round-to-nearest (numpy)", _rounding_numpy()),
            ("gradual underflow, no FTZ/DAZ (numpy)", _underflow_numpy()),
            (f"round-to-nearest (matmul, n = {n})", _matmul_rounding(n, matmul) if n >= 2 else True),
            (f"gradual underflow, no FTZ/DAZ (matmul, n = {n})", _matmul_underflow(n, matmul) if n >= 2 else True),
            (f"classical product (matmul, n = {n}, exact integer and block cases)",
             _matmul_classical(n, matmul) if n >= 2 else True),
        )
    return FloatEnvironment(ok=all(p for _, p in checks), hidden=n, checks=checks)


def check_qr_kernels(n: int, matmul=np.matmul) -> tuple:
    """The products the QR-frame tier (numerics.qrtier) makes beyond n x n matmul: n x 2n and 2n-long
    products, matrix-vector and vector-matrix products (BLAS gemv) and the transposed self product
    X^T X (which numpy may hand to BLAS syrk). Each is tested for round-to-nearest, gradual underflow
    and exactness on integers, as ``check_float_environment`` tests matmul. Returns the names of the
    failed checks (empty: all passed). ``matmul``: the product under test (tests pass wrong ones)."""
    n = int(n)
    if n < 2:
        return ()
    failed = []
    with np.errstate(all="ignore"):
        A = np.zeros((n, n))
        A[:, 0] = 1.0
        A[:, -1] = 2.0 ** -60  # dot products 1 + 2^-60: 1 under round-to-nearest
        X = np.zeros((n, n))
        X[0, :] = 1.0
        X[1, :] = 2.0 ** -30  # (X^T X)_ij = 1 + 2^-60
        rounding = (np.all(matmul(A, np.ones((n, 2 * n))) == 1.0)
                    and np.all(matmul(np.concatenate([A, A], axis=1), np.ones((2 * n, n))) == 2.0)
                    and np.all(matmul(A, np.ones(n)) == 1.0) and np.all(matmul(np.ones(n), A.T) == 1.0)
                    and np.all(matmul(A.T.T, np.ones(n)) == 1.0) and np.all(matmul(X.T, np.ones(n)) == 1.0 + 2.0 ** -30)
                    and np.all(matmul(X.T, X) == 1.0))
        if not rounding:
            failed.append(f"round-to-nearest (qr-tier kernels, n = {n})")
        S = np.eye(n) * 2.0 ** -537
        F = np.full((n, 2 * n), 3.0 * 2.0 ** -537)  # exact products 3 * 2^-1074: FTZ gives 0
        G = np.zeros((n, n))
        G[0, :] = 2.0 ** -537 * 3
        under = (np.all(matmul(S, F) == 3.0 * 2.0 ** -1074)
                 and np.all(matmul(np.full(n, 2.0 ** -1070), np.eye(n) * 2.0 ** 60) == 2.0 ** -1010)
                 and np.all(matmul(np.eye(n) * 2.0 ** 60, np.full(n, 2.0 ** -1070)) == 2.0 ** -1010)
                 and np.all(matmul(G.T, G) == 9.0 * 2.0 ** -1074))
        if not under:
            failed.append(f"gradual underflow, no FTZ/DAZ (qr-tier kernels, n = {n})")
        rng = np.random.default_rng(54321)
        Ai = rng.integers(-256, 257, size=(n, 2 * n))
        Bi = rng.integers(-256, 257, size=(2 * n, n))
        v = rng.integers(-256, 257, size=n)
        exact = (np.array_equal(matmul(Ai.astype(float), Bi.astype(float)), (Ai @ Bi).astype(float))
                 and np.array_equal(matmul(Ai[:, :n].astype(float), v.astype(float)), (Ai[:, :n] @ v).astype(float))
                 and np.array_equal(matmul(v.astype(float), Bi[:n].astype(float)), (v @ Bi[:n]).astype(float))
                 and np.array_equal(matmul(Bi.T.astype(float), Bi.astype(float)), (Bi.T @ Bi).astype(float)))
        if not exact:
            failed.append(f"classical product, exact on integers (qr-tier kernels, n = {n})")
    return tuple(failed)


def _scale_to32(x, s):
    """The conversion that upmatmul makes: fl32(fl64(x s)) by one ufunc call with a float32 output."""
    out = np.empty(np.shape(x), dtype=np.float32)
    np.multiply(x, s, out=out, casting="same_kind")
    return out


def check_float32_kernels(n: int, matmul=np.matmul, to32=_scale_to32) -> tuple:
    """Names of the failed float32 checks at size n (empty: all passed; module docstring).

    Conversion: round-to-nearest-even at 1 +- tiny, ties, subnormal results kept and rounded to
    nearest (2^-149, 3 2^-150 -> 2^-148, 2^-150 -> 0), and the product x s formed in float64 before
    the conversion (2^-160 2^100 = 2^-60, lost if converted first). sgemm, as the tiers call it
    (single, stacked, strided): 1 + 2^-30 sums give 1 (round to nearest), exact subnormal products
    3 2^-148 and subnormal inputs 2^-140 (no FTZ/DAZ), exact integer products and a small block
    beside a 2^30 block (Strassen-type schemes lose the small block). ``matmul``/``to32``: the
    kernels under test (tests pass wrong ones).
    """
    n = int(n)
    f32 = np.float32
    failed = []
    with np.errstate(all="ignore"):
        x = np.array([1.0 + 2.0 ** -30, 1.0 - 2.0 ** -30, 1.0 + 2.0 ** -24, 1.0 + 3 * 2.0 ** -24,
                      2.0 ** -149, 3 * 2.0 ** -150, 2.0 ** -150, 2.0 ** -127 + 2.0 ** -149, 2.0 ** -160])
        want = np.array([1.0, 1.0, 1.0, 1.0 + 2.0 ** -22, 2.0 ** -149, 2.0 ** -148, 0.0,
                         2.0 ** -127 + 2.0 ** -149, 0.0], dtype=f32)
        c1 = to32(x, 1.0)
        c2 = to32(x[8:], 2.0 ** 100)
        if not (np.array_equal(c1, want) and c2[0] == f32(2.0 ** -60) and c1.dtype == f32):
            failed.append("round-to-nearest, gradual underflow (float64 -> float32 conversion)")
        if n < 2:
            return tuple(failed)
        A = np.zeros((n, n), dtype=f32)
        A[:, 0] = 1.0
        A[:, -1] = f32(2.0 ** -30)
        B = np.ones((n, n), dtype=f32)
        ok = all(np.all(C == 1.0) for C in _variants(A, B, matmul))
        ok &= all(np.all(C == -1.0) for C in _variants(-A, B, matmul))
        if not ok:
            failed.append(f"round-to-nearest (float32 matmul, n = {n})")
        S = np.eye(n, dtype=f32) * f32(2.0 ** -70)
        F = np.full((n, n), 3 * 2.0 ** -78, dtype=f32)  # products 3 2^-148: subnormal float32, exact
        D = np.eye(n, dtype=f32) * f32(2.0 ** -140)  # subnormal input
        E = np.full((n, n), 2.0 ** 60, dtype=f32)
        ok = all(np.all(C == f32(3 * 2.0 ** -148)) for C in _variants(S, F, matmul))
        ok &= all(np.all(C == f32(2.0 ** -80)) for C in _variants(D, E, matmul))
        if not ok:
            failed.append(f"gradual underflow, no FTZ/DAZ (float32 matmul, n = {n})")
        rng = np.random.default_rng(2468)
        r = max(1, min(64, int((2.0 ** 23 / n) ** 0.5)))  # n r^2 < 2^24: every partial sum exact
        Ai = rng.integers(-r, r + 1, size=(n, n))
        Bi = rng.integers(-r, r + 1, size=(n, n))
        # reference: the float64 product of the same integers, exact (|partial sums| < 2^53) under the
        # float64 classical-product assumption that check_float_environment tests at this size
        exact = (Ai.astype(np.float64) @ Bi.astype(np.float64)).astype(f32)
        ok = all(np.array_equal(C, exact) for C in _variants(Ai.astype(f32), Bi.astype(f32), matmul))
        k = n // 2
        A = np.zeros((n, n), dtype=f32)
        B = np.zeros((n, n), dtype=f32)
        A[:k, :k] = rng.integers(1, r + 1, size=(k, k))
        B[:k, :k] = rng.integers(1, r + 1, size=(k, k))
        A[k:, k:] = 2.0 ** 30
        B[k:, k:] = 2.0 ** 30
        want = np.zeros((n, n), dtype=f32)
        want[:k, :k] = (A[:k, :k].astype(np.float64) @ B[:k, :k].astype(np.float64)).astype(f32)
        want[k:, k:] = (n - k) * 2.0 ** 60
        ok &= all(np.array_equal(C, want) for C in _variants(A, B, matmul))
        if not ok:
            failed.append(f"classical product, exact integer and block cases (float32 matmul, n = {n})")
    return tuple(failed)
