"""Float formats: constants, rounding and step counts against the bit layouts of oracles.md.

The expected step counts are derived here by hand from each format's layout (exponent bits ->
emin, fraction bits -> p), not from the code: with emin = 2 - 2^(k-1) for k exponent bits and
p = fraction bits + 1, min normal = 2^emin and min subnormal = 2^(emin - p + 1). A product of
factors 1/2 equals 2^-t exactly, is subnormal from t = -emin + 1 on, and rounds to 0 at
t = -emin + p (2^(emin-p) is exactly half the min subnormal: a tie, rounded to the even 0).
"""

from __future__ import annotations

import ml_dtypes
import numpy as np
import pytest

from gradproof.numerics.errors import InputError
from gradproof.numerics.formats import (
    FORMATS,
    round_scalar,
    round_to_format,
    simulate_matrix_product,
    simulate_product,
)

# (exponent bits, fraction bits) from shared/oracles.md
LAYOUT = {"float16": (5, 10), "bfloat16": (8, 7), "float32": (8, 23), "float64": (11, 52)}


def emin_p(name):
    k, frac = LAYOUT[name]
    return 2 - 2 ** (k - 1), frac + 1


@pytest.mark.parametrize("name", list(LAYOUT))
def test_constants_match_bit_layout(name):
    emin, p = emin_p(name)
    f = FORMATS[name]
    assert f.min_normal == 2.0 ** emin
    assert f.min_subnormal == 2.0 ** (emin - p + 1)
    assert f.eps == 2.0 ** (1 - p)
    assert f.significand_bits == p and f.min_exponent == emin


NATIVE_FINFO = {"float16": (np.finfo, np.float16), "bfloat16": (ml_dtypes.finfo, ml_dtypes.bfloat16),
                "float32": (np.finfo, np.float32), "float64": (np.finfo, np.float64)}


@pytest.mark.parametrize("name", list(NATIVE_FINFO))
def test_constants_match_numpy_and_ml_dtypes_finfo(name):
    """The layouts' limits equal the independent implementations' (numpy, ml_dtypes)."""
    finfo, dtype = NATIVE_FINFO[name]
    fi, f = finfo(dtype), FORMATS[name]
    assert f.min_normal == float(fi.smallest_normal)
    assert f.min_subnormal == float(fi.smallest_subnormal)
    assert f.eps == float(fi.eps)
    assert f.max == float(fi.max)
    assert f.significand_bits == int(fi.nmant) + 1 and f.min_exponent == int(fi.minexp)


def test_oracle_values():
    assert FORMATS["float16"].min_normal == 2.0 ** -14 and FORMATS["float16"].min_subnormal == 2.0 ** -24
    assert FORMATS["bfloat16"].min_subnormal == 2.0 ** -133
    assert FORMATS["float32"].min_subnormal == 2.0 ** -149
    assert FORMATS["float64"].min_subnormal == 2.0 ** -1074


def test_rounding_equals_numpy_casts_including_subnormals():
    rng = np.random.default_rng(0)
    x = rng.standard_normal(20000) * np.exp2(rng.integers(-160, 20, 20000).astype(float))
    for name, dt in (("float16", np.float16), ("float32", np.float32)):
        with np.errstate(over="ignore"):
            ref = x.astype(dt).astype(np.float64)
        np.testing.assert_array_equal(round_to_format(x, name), ref)
        np.testing.assert_array_equal([round_scalar(v, name) for v in x[:2000]], ref[:2000])
    x32 = x.astype(np.float32).astype(np.float64)  # float32 -> bfloat16 is a single rounding in ml_dtypes
    with np.errstate(over="ignore"):
        ref = x32.astype(np.float32).astype(ml_dtypes.bfloat16).astype(np.float64)
    np.testing.assert_array_equal(round_to_format(x32, "bfloat16"), ref)


def test_bfloat16_rounding_is_single_not_double():
    """1 + 2^-8 + 2^-30 is just above the midpoint of 1 and 1 + 2^-7: RNE gives 1 + 2^-7.

    Going through float32 first (1 + 2^-8 exactly, a tie, then to even 1) gives 1: a double
    rounding; ml_dtypes' float64 -> bfloat16 cast does that, which is why the package rounds itself.
    """
    x = 1 + 2.0 ** -8 + 2.0 ** -30
    assert round_scalar(x, "bfloat16") == 1 + 2.0 ** -7
    assert float(round_to_format(np.array([x]), "bfloat16")[0]) == 1 + 2.0 ** -7
    assert float(np.float32(x).astype(ml_dtypes.bfloat16)) == 1.0


@pytest.mark.parametrize("name", list(LAYOUT))
def test_half_steps_gradual_and_ftz(name):
    emin, p = emin_p(name)
    T = -emin + p + 5
    g = simulate_product(np.full(T, 0.5), name)
    assert g.first_subnormal_step == -emin + 1
    assert g.first_zero_step == -emin + p
    z = simulate_product(np.full(T, 0.5), name, ftz=True)
    assert z.first_subnormal_step is None
    assert z.first_zero_step == -emin + 1  # flushed when it would go subnormal


def test_float16_half_literal_values():
    g = simulate_product(np.full(40, 0.5), "float16")
    assert (g.first_subnormal_step, g.first_zero_step) == (15, 25)


@pytest.mark.parametrize("name", ["float16", "bfloat16", "float32"])
def test_quarter_steps(name):
    # (1/4)^t = 2^-2t: subnormal once 2t > -emin; zero once 2^-2t <= 2^(emin-p) (half min subnormal)
    emin, p = emin_p(name)
    g = simulate_product(np.full(200, 0.25), name)
    assert g.first_subnormal_step == (-emin) // 2 + 1
    assert g.first_zero_step == -((emin - p) // 2)


def test_gradual_underflow_stagnates_at_min_subnormal():
    """In the subnormal range p = k ulps (ulp = 2^-24); k * rho rounds back to k when k (1 - rho) < 1/2.

    rho = fl16(0.9) = 1843/2048 (0.9 * 2^11 = 1843.2 -> 1843): fixed points are k <= 4, and from
    k = 5 one step gives 4.4995 -> 4. So the product stalls at 4 * 2^-24 and never reaches 0.
    """
    assert round_scalar(0.9, "float16") == 1843 / 2048
    g = simulate_product(np.full(400, 0.9), "float16")
    assert g.first_zero_step is None
    assert g.final_value == 4 * 2.0 ** -24
    z = simulate_product(np.full(400, 0.9), "float16", ftz=True)
    assert z.first_zero_step is not None and z.final_value == 0.0


def test_matrix_simulation_steps():
    T = 40
    J = np.zeros((T, 2, 2))
    J[:, 0, 0] = 0.5
    J[:, 1, 1] = 0.25
    g = simulate_matrix_product(J, "float16")
    assert (g.first_subnormal_step, g.first_zero_step) == (15, 25)
    z = simulate_matrix_product(J, "float16", ftz=True)
    assert z.first_zero_step == 15
    big = simulate_matrix_product(np.full((30, 1, 1), 16.0), "float16")
    assert big.first_overflow_step == 4  # 16^4 = 65536 > max 65504


def test_bad_format_and_factors():
    with pytest.raises(InputError):
        simulate_product([0.5], "float8")
    with pytest.raises(InputError):
        simulate_product([np.nan], "float16")
    with pytest.raises(InputError):
        simulate_product([], "float16")
