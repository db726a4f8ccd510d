"""Independent oracle for numerics.formats: PyTorch's own CPU arithmetic (torch 2.13.0) in
float16, bfloat16, float32 and float64, recorded in tests/data/torch_format_steps.json by
tests/data/make_torch_format_steps.py (gradual underflow; FTZ/DAZ for float32 and float64 via
torch.set_flush_denormal). Our step-by-step simulation must reach the same steps."""

import json
from pathlib import Path

import pytest

from gradproof.numerics.formats import simulate_constant

CASES = json.loads((next(p for p in Path(__file__).resolve().parents if (p / "pyproject.toml").is_file()) / "tests" / "data" / "torch_format_steps.json").read_text())["cases"]


def _ids(case):
    return f"{case['format']}-{case['rho']}"


@pytest.mark.parametrize("case", CASES, ids=_ids)
def test_gradual_underflow_steps_equal_torch(case):
    ref = case["gradual"]
    sim = simulate_constant(ref["rho_in_format"], case["format"], ftz=False, max_steps=20000)
    assert sim.first_subnormal_step == ref["first_subnormal_step"]
    assert sim.first_zero_step == ref["first_zero_step"]
    if ref["stagnates_at_step"] is not None:
        # torch's loop stops at the first t with p_t == p_{t-1} != 0: the same fixed point
        assert sim.first_zero_step is None
        assert sim.stagnation_step == ref["stagnates_at_step"]


@pytest.mark.parametrize("case", [c for c in CASES if "ftz" in c], ids=_ids)
def test_flush_to_zero_steps_equal_torch(case):
    ref = case["ftz"]
    sim = simulate_constant(ref["rho_in_format"], case["format"], ftz=True, max_steps=20000)
    assert sim.first_zero_step == ref["first_zero_step"]
    assert sim.first_subnormal_step is None  # FTZ never holds a subnormal
