"""Shared pytest fixtures: precision is a context, restored after every test (mpmath habit)."""

import os

import mpmath
import pytest

os.environ.setdefault("MPLBACKEND", "Agg")


@pytest.fixture(autouse=True)
def restore_mpmath_precision():
    """Every test starts at mpmath's default precision and leaves it as it found it."""
    saved = (mpmath.mp.prec, mpmath.iv.prec)
    mpmath.mp.prec = 53
    mpmath.iv.prec = 53
    try:
        yield
    finally:
        mpmath.mp.prec, mpmath.iv.prec = saved
