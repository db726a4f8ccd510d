"""Regenerate ``torch_format_steps.json``: step-by-step products p_t = p_{t-1} * rho computed by
PyTorch's own CPU arithmetic in float16, bfloat16, float32 and float64, as an independent
oracle for ``numerics.formats`` (gradual underflow; and flush-to-zero for float32/float64 via
``torch.set_flush_denormal(True)``, which sets the x86 FTZ/DAZ bits).

Not run by the test suite. Run once with ``python -m pip install torch==2.13.0``.
For each (format, rho) it records rho as held in the format (a float64 value, exact), the first
step with 0 < |p_t| < min normal, the first step with p_t == 0, and the first step with
p_t == p_{t-1} != 0 (stagnation), capped at ``CAP`` steps.
"""

import json
from pathlib import Path

import torch

CAP = 20000
RHOS = [0.5, 0.25, 0.75, 0.3, 0.9, 0.1]
DTYPES = {"float16": torch.float16, "bfloat16": torch.bfloat16, "float32": torch.float32,
          "float64": torch.float64}


def run(dtype, rho, ftz):
    torch.set_flush_denormal(ftz)
    tiny = torch.finfo(dtype).tiny
    r = torch.tensor(rho, dtype=dtype)
    p = torch.tensor(1.0, dtype=dtype)
    sub = zero = stag = None
    for t in range(1, CAP + 1):
        q = p * r
        v = float(q)
        if sub is None and 0 < abs(v) < tiny:
            sub = t
        if v == 0.0:
            zero = t
            break
        if v == float(p):
            stag = t
            break
        p = q
    torch.set_flush_denormal(False)
    return {"rho_in_format": float(r), "first_subnormal_step": sub, "first_zero_step": zero,
            "stagnates_at_step": stag}


out = {"meta": f"torch {torch.__version__} CPU, cap {CAP} steps", "cases": []}
for name, dt in DTYPES.items():
    for rho in RHOS:
        case = {"format": name, "rho": rho, "gradual": run(dt, rho, False)}
        if name in ("float32", "float64"):
            case["ftz"] = run(dt, rho, True)
        out["cases"].append(case)
Path(__file__).with_name("torch_format_steps.json").write_text(json.dumps(out, indent=1, sort_keys=True) + "\n")
print(out["meta"], len(out["cases"]), "cases")
