"""Limits checked before any work: parameter magnitudes and the memory a request needs.

Magnitude. Spectral norms are computed from Gram matrices W^T W, whose entries are sums of up
to N products of two entries; with every entry (and every scale such as ``--spectral-norm``) at
most ``MAX_MAGNITUDE = 1e150`` in absolute value, N |w|^2 <= 1.8e308 (the float64 maximum) holds
for N up to 1.7e8, far beyond any state size the budget admits. Larger values overflowed to inf
in the SVD ("Eigenvalues did not converge") or in a bias sum (1e308 + 1e308); they are now
refused with the limit named.

Memory. A product or horizon run keeps about ``JACOBIAN_COPIES = 8`` arrays of T N^2 float64
at its peak (the Jacobians, their per-format roundings and products, the Lyapunov QR series;
measured: 0.90-0.98 GB peak resident for T N^2 = 1.6e7 entries = 128 MB per array with the RNN,
LSTM and GRU, i.e. about 7 arrays, plus 64 MB for the interpreter and libraries), plus the
weights and their temporaries. :func:`check_memory` estimates this before allocating and
compares it with what the process may still get: the smallest of the address-space and data
rlimits (``ulimit -v``/``-d``) minus what is in use, the cgroup limit minus its usage, and the
kernel's ``MemAvailable``. This also binds with ``--force`` (which lifts the work budget, not
the machine's memory).
"""

from __future__ import annotations

import math

import numpy as np

from gradproof.numerics.errors import InputError

__all__ = ["MAX_MAGNITUDE", "JACOBIAN_COPIES", "check_magnitude", "check_array_magnitude",
           "estimated_bytes", "available_bytes", "check_memory", "format_bytes"]

MAX_MAGNITUDE = 1e150
JACOBIAN_COPIES = 8
_BASELINE_BYTES = 64 * 2 ** 20
GATES = {"rnn": 1, "lstm": 4, "gru": 3}


def check_magnitude(name: str, value) -> float:
    """``value`` as a float if finite and |value| <= MAX_MAGNITUDE, else InputError."""
    v = float(value)
    if not math.isfinite(v):
        raise InputError(f"{name} must be finite, got {value!r}")
    if abs(v) > MAX_MAGNITUDE:
        raise InputError(f"{name} = {value!r} exceeds the limit |{name}| <= {MAX_MAGNITUDE:.0e} "
                         "(larger values overflow float64 in the spectral norm)")
    return v


def check_array_magnitude(name: str, a: np.ndarray, where: str) -> None:
    """Every entry of ``a`` finite and at most MAX_MAGNITUDE in absolute value."""
    if a.size == 0:
        return
    if not np.all(np.isfinite(a)):
        raise InputError(f"{name} in {where} contains NaN or infinite values")
    big = float(np.max(np.abs(a)))
    if big > MAX_MAGNITUDE:
        raise InputError(f"{name} in {where} has an entry of magnitude {big:.3g}, beyond the limit "
                         f"{MAX_MAGNITUDE:.0e} (larger values overflow float64 in the spectral norm)")


def format_bytes(n: float) -> str:
    for unit, size in (("TB", 1e12), ("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n >= size:
            return f"{n / size:.3g} {unit}"
    return f"{int(n)} bytes"


def estimated_bytes(model: str, hidden: int, input_size: int, steps: int) -> int:
    """Peak memory estimate of a product/horizon run (see the module docstring)."""
    g = GATES.get(model, 4)
    n, d, t = int(hidden), int(input_size), int(steps)
    state = 2 * n if model == "lstm" else n
    jac = JACOBIAN_COPIES * 8 * t * state * state
    weights = 4 * 8 * g * n * (n + d + 2)  # the weights, a scaled copy and SVD workspace
    inputs = 2 * 8 * t * (d + g * n)  # the inputs and the pre-activations
    return jac + weights + inputs


def _status(field: str) -> int | None:
    try:
        with open("/proc/self/status", encoding="ascii", errors="replace") as fh:
            for line in fh:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def _read_int(path: str) -> int | None:
    try:
        with open(path, encoding="ascii") as fh:
            text = fh.read().strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None


def available_bytes() -> tuple[int | None, str]:
    """(bytes this process can still allocate, which limit that is), or (None, '') if unknown."""
    limits: list[tuple[int, str]] = []
    try:
        import resource

        for rlim, field, label in ((resource.RLIMIT_AS, "VmSize", "address-space limit (ulimit -v)"),
                                   (resource.RLIMIT_DATA, "VmData", "data limit (ulimit -d)")):
            soft = resource.getrlimit(rlim)[0]
            if soft != resource.RLIM_INFINITY:
                used = _status(field) or 0
                limits.append((max(0, soft - used), label))
    except (ImportError, OSError, ValueError):
        pass
    cg_max, cg_cur = _read_int("/sys/fs/cgroup/memory.max"), _read_int("/sys/fs/cgroup/memory.current")
    if cg_max is not None and cg_cur is not None:
        limits.append((max(0, cg_max - cg_cur), "cgroup memory limit"))
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    limits.append((int(line.split()[1]) * 1024, "available memory (MemAvailable)"))
    except (OSError, ValueError, IndexError):
        pass
    if not limits:
        return None, ""
    return min(limits)


def check_memory(model: str, hidden: int, input_size: int, steps: int) -> int:
    """InputError before allocating when the estimate exceeds what the process can get."""
    need = estimated_bytes(model, hidden, input_size, steps)
    have, label = available_bytes()
    if have is not None and need + _BASELINE_BYTES > have:
        raise InputError(f"{model} with hidden {hidden} over {steps} steps needs about "
                         f"{format_bytes(need)} of memory (estimate), more than the "
                         f"{format_bytes(have)} left under the {label}; reduce --steps or "
                         "--hidden (memory grows as steps x state size^2)")
    return need
