"""One sweep point -> one flat table row; the function workers run on a chunk of points.

A row is the ``gradproof product MODEL --json`` object of the point flattened to one level
(``formats.float16.first_zero_step`` -> ``float16_first_zero_step``, any other nested object
``a.b`` -> ``a_b``), plus, when the sweep asks for it, the ``gradproof horizon MODEL --json``
object under ``horizon_*`` (its identity keys -- model, sizes, seed, sources -- are those of the
product and are not repeated), plus the provenance: ``key`` (see :mod:`.grid`),
``gradproof_version`` (of the process that computed the row) and ``sweep_schema``. Non-finite
floats are stored as null (JSON has no inf/nan; the reports use null for log10 0 already).

The results of ``product``/``horizon`` are read through :func:`as_dict`, which accepts a dict
or any object with ``to_dict()`` (the frozen report dataclasses), so both shapes work.
"""

from __future__ import annotations

import math

__all__ = ["as_dict", "flatten", "compute_point", "compute_chunk", "init_worker"]

_HORIZON_IDENTITY = {"mode", "model", "hidden", "steps", "seed", "weights", "inputs", "activation",
                     "input_size", "spectral_norm", "forget_bias"}


def as_dict(report) -> dict:
    """A report as a plain dict, whether it is a dict or a frozen object with ``to_dict()``."""
    return report.to_dict() if hasattr(report, "to_dict") else dict(report)


def _clean(v):
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if isinstance(v, (list, tuple)):
        return [_clean(x) for x in v]
    return v


def flatten(d: dict, prefix: str = "") -> dict:
    """Nested report dict -> one level; ``formats`` contributes ``<format>_<field>`` columns."""
    out = {}
    for k, v in d.items():
        if k == "formats" and isinstance(v, dict):
            for fmt, sub in v.items():
                for kk, vv in (sub.items() if isinstance(sub, dict) else [("value", sub)]):
                    out[f"{prefix}{fmt}_{kk}"] = _clean(vv)
        elif isinstance(v, dict):
            out.update(flatten(v, prefix=f"{prefix}{k}_"))
        else:
            out[f"{prefix}{k}"] = _clean(v)
    return out


def compute_point(point: dict) -> dict:
    """The row of one point (``Point.to_dict()`` form: key, model, options, horizon)."""
    from gradproof.numerics.version import package_version
    from gradproof.reports.api import horizon, product
    from gradproof.reports.sweep.grid import SCHEMA

    model, opts = point["model"], dict(point["options"])
    row = flatten(as_dict(product(model, **opts)))
    if point.get("horizon"):
        h = as_dict(horizon(model, **{k: v for k, v in opts.items() if k != "engine"}))
        row.update(flatten({k: v for k, v in h.items() if k not in _HORIZON_IDENTITY},
                           prefix="horizon_"))
    # the resolved options are the row's coordinates (product echoes most of them already)
    row.update(opts)
    row["model"] = model
    row["key"] = point["key"]
    row["gradproof_version"] = package_version()
    row["sweep_schema"] = SCHEMA
    row["with_horizon"] = bool(point.get("horizon"))
    return row


def compute_chunk(points: list) -> list:
    """Rows of a chunk of points, in the chunk's order (what a worker process or task runs)."""
    return [compute_point(p) for p in points]


def init_worker() -> None:
    """Worker-process initializer: leave Ctrl-C to the parent, which stops the sweep cleanly."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)
