r"""Sweep grids: ``--grid NAME=SPEC`` parsed, checked and expanded into points, before any work.

A sweep evaluates ``gradproof product MODEL`` (and, with ``horizon=True``, ``gradproof horizon
MODEL``) at every point of the Cartesian product of its grid dimensions. NAME is one of the
options of those commands:

=================  =============  ==================================================
NAME               values         applies to
=================  =============  ==================================================
``hidden``         integer >= 1   every model
``steps``          integer >= 1   every model (the horizon T)
``seed``           integer >= 0   every model (random weights and inputs)
``spectral_norm``  number >= 0    every model (sigma_max of W_rec / each U block)
``forget_bias``    number         LSTM only (effective forget-gate bias)
``activation``     sigmoid, tanh  RNN only
``engine``         fast, ...      every model (``numerics.engines.ENGINES``)
=================  =============  ==================================================

SPEC is one of

* a list ``0,1,2`` or ``tanh,sigmoid`` (one value: ``0.9``);
* a linear range ``START:STOP:COUNT``, COUNT >= 2 values, both ends included:
  v_i = START (1 - i/(COUNT-1)) + STOP i/(COUNT-1), so the ends are exactly START and STOP;
* a log range ``log:START:STOP:COUNT`` (0 < START, STOP): v_i = 10^(log10 START (1 - f) +
  log10 STOP f), f = i/(COUNT-1), ends exactly START and STOP. Integer options round a log range
  to the nearest integer; a linear range of an integer option must hit integers exactly.

``seeds=K`` adds ``seed = 0..K-1``. Every point is checked here (domain, the model it applies
to, the engines' work budget of ``numerics.models``) and a grid of more than ``MAX_POINTS``
points needs ``force``; any failure is an ``InputError`` with a one-line message, raised before
a single point is computed.

Each point has a key: the SHA-256 of the canonical JSON of (model, every resolved option, the
gradproof version, the sweep schema). A changed option, engine or version changes the key, so
stored rows are reused only for exactly the same computation.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
from dataclasses import dataclass
from fractions import Fraction
from typing import Mapping

from gradproof.numerics.errors import InputError

__all__ = ["OPTIONS", "OPTION_ORDER", "DEFAULTS", "MAX_POINTS", "HARD_MAX_POINTS", "SCHEMA",
           "Dimension", "Point", "Plan", "parse_spec", "make_plan"]

SCHEMA = 1
MAX_POINTS = 10_000          # without force
HARD_MAX_POINTS = 1_000_000  # even with force (the plan is held in memory)
MAX_SPEC_CHARS = 10_000
MODELS = ("rnn", "lstm", "gru")
ACTIVATIONS = ("sigmoid", "tanh")


def _engines() -> tuple[str, ...]:
    from gradproof.numerics.engines import ENGINES

    return tuple(ENGINES)


#: option -> (kind, models it applies to or None for all)
OPTIONS = {
    "hidden": ("int1", None),
    "steps": ("int1", None),
    "seed": ("int0", None),
    "spectral_norm": ("float0", None),
    "forget_bias": ("float", ("lstm",)),
    "activation": ("activation", ("rnn",)),
    "engine": ("engine", None),
}
#: the canonical order of the options (row sorting, keys, column order)
OPTION_ORDER = ("engine", "activation", "hidden", "steps", "spectral_norm", "forget_bias", "seed")
DEFAULTS = {"hidden": 4, "steps": 100, "seed": 0, "spectral_norm": None, "forget_bias": None,
            "activation": "tanh", "engine": "fast"}


@dataclass(frozen=True)
class Dimension:
    """One grid dimension: the option, the SPEC text it came from and its values in order."""

    name: str
    spec: str
    values: tuple
    log: bool = False


@dataclass(frozen=True)
class Point:
    """One point: its key and the resolved keyword arguments of product/horizon."""

    key: str
    model: str
    options: tuple  # sorted (name, value) pairs: hidden, steps, seed, ... (hashable, frozen)
    horizon: bool

    @property
    def kwargs(self) -> dict:
        return dict(self.options)

    def to_dict(self) -> dict:
        return {"key": self.key, "model": self.model, "options": self.kwargs, "horizon": self.horizon}


@dataclass(frozen=True)
class Plan:
    """A checked sweep: the model, the grid, the fixed options and every point."""

    model: str
    dimensions: tuple[Dimension, ...]
    fixed: tuple  # sorted (name, value) pairs given as fixed options
    horizon: bool
    points: tuple[Point, ...]
    version: str

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(len(d.values) for d in self.dimensions)

    def to_dict(self) -> dict:
        return {"model": self.model, "horizon": self.horizon, "version": self.version,
                "points": len(self.points), "fixed": dict(self.fixed),
                "grid": [{"name": d.name, "spec": d.spec, "values": list(d.values), "log": d.log}
                         for d in self.dimensions]}


def _norm_name(name: str) -> str:
    n = name.strip().lower().replace("-", "_")
    if n not in OPTIONS:
        raise InputError(f"unknown sweep parameter {name.strip()!r}; choose one of "
                         f"{', '.join(sorted(OPTIONS))}")
    return n


def _number(text: str, name: str) -> float:
    t = text.strip()
    try:
        v = float(t)
    except ValueError:
        raise InputError(f"{name}: expected a number, got {t!r}") from None
    if not math.isfinite(v):
        raise InputError(f"{name}: expected a finite number, got {t!r}")
    return v


def _integer(text: str, name: str) -> int:
    t = text.strip()
    try:
        return int(t)
    except ValueError:
        raise InputError(f"{name}: expected an integer, got {t!r}") from None


def _count(text: str, name: str) -> int:
    t = text.strip()
    try:
        n = int(t)
    except ValueError:
        raise InputError(f"{name}: the range COUNT must be an integer, got {t!r}") from None
    if n < 1:
        raise InputError(f"{name}: empty range (COUNT {n})")
    if n == 1:
        raise InputError(f"{name}: a range needs COUNT >= 2 (give a single value as NAME=VALUE)")
    if n > HARD_MAX_POINTS:
        raise InputError(f"{name}: a range of {n} values exceeds {HARD_MAX_POINTS}")
    return n


def _check_domain(name: str, v):
    kind = OPTIONS[name][0]
    if kind == "int1" and v < 1:
        raise InputError(f"{name} must be >= 1, got {v}")
    if kind == "int0" and v < 0:
        raise InputError(f"{name} must be >= 0, got {v}")
    if kind == "float0" and v < 0:
        raise InputError(f"{name} must be >= 0, got {v!r}")
    if kind == "activation" and v not in ACTIVATIONS:
        raise InputError(f"activation: unknown value {v!r}; choose {', '.join(ACTIVATIONS)}")
    if kind == "engine" and v not in _engines():
        raise InputError(f"engine: unknown value {v!r}; choose {', '.join(_engines())}")
    return v


def _linear(name: str, kind: str, a: str, b: str, n: int) -> list:
    if kind.startswith("int"):
        lo, hi = _integer(a, name), _integer(b, name)
        vals = []
        for i in range(n):
            v = Fraction(lo) + Fraction(hi - lo) * Fraction(i, n - 1)
            if v.denominator != 1:
                raise InputError(f"{name}={a}:{b}:{n} gives non-integer values (e.g. {float(v):g}); "
                                 "choose COUNT so that (STOP - START)/(COUNT - 1) is an integer")
            vals.append(int(v))
        return vals
    lo, hi = _number(a, name), _number(b, name)
    vals = [lo if i == 0 else hi if i == n - 1 else lo * (1 - i / (n - 1)) + hi * (i / (n - 1))
            for i in range(n)]
    return vals


def _logrange(name: str, kind: str, a: str, b: str, n: int) -> list:
    lo, hi = _number(a, name), _number(b, name)
    if lo <= 0 or hi <= 0:
        raise InputError(f"{name}: a log range needs START > 0 and STOP > 0, got {a.strip()}:{b.strip()}")
    la, lb = math.log10(lo), math.log10(hi)
    vals = []
    for i in range(n):
        f = i / (n - 1)
        vals.append(lo if i == 0 else hi if i == n - 1 else 10.0 ** (la * (1 - f) + lb * f))
    if kind.startswith("int"):
        if lo != int(lo) or hi != int(hi):
            raise InputError(f"{name}: expected integer ends, got {a.strip()}:{b.strip()}")
        vals = [int(round(v)) for v in vals]
    return vals


def parse_spec(name: str, spec) -> Dimension:
    """A grid dimension from ``NAME`` and its SPEC (a string, or a sequence of values)."""
    name = _norm_name(name)
    kind = OPTIONS[name][0]
    log = False
    if isinstance(spec, str):
        text = spec.strip()
        if not text:
            raise InputError(f"{name}: empty SPEC")
        if len(text) > MAX_SPEC_CHARS:
            raise InputError(f"{name}: SPEC longer than {MAX_SPEC_CHARS} characters")
        parts = text.split(":")
        numeric = kind not in ("activation", "engine")
        if len(parts) > 1 and not numeric:
            raise InputError(f"{name}: ranges need a numeric parameter; list the values with commas")
        if len(parts) == 4 and parts[0].strip().lower() == "log":
            values = _logrange(name, kind, parts[1], parts[2], _count(parts[3], name))
            log = True
        elif len(parts) == 3:
            values = _linear(name, kind, parts[0], parts[1], _count(parts[2], name))
        elif len(parts) == 1:
            items = text.split(",")
            if any(not it.strip() for it in items):
                raise InputError(f"{name}: empty value in the list {text!r}")
            if kind.startswith("int"):
                values = [_integer(it, name) for it in items]
            elif numeric:
                values = [_number(it, name) for it in items]
            else:
                values = [it.strip() for it in items]
        else:
            raise InputError(f"{name}: cannot read SPEC {text!r}; use a list 0,1,2, a range "
                             "START:STOP:COUNT or log:START:STOP:COUNT")
        spec_text = text
    else:
        try:
            raw = list(spec)
        except TypeError:
            raise InputError(f"{name}: expected a SPEC string or a sequence of values, got {spec!r}") from None
        if not raw:
            raise InputError(f"{name}: empty list of values")
        values = [_coerce(name, kind, v) for v in raw]
        spec_text = ",".join(repr(v) if isinstance(v, float) else str(v) for v in values)
    values = [_check_domain(name, v) for v in values]
    if len(set(values)) != len(values):
        dup = next(v for v in values if values.count(v) > 1)
        raise InputError(f"{name}: the value {dup!r} appears more than once in {spec_text!r}")
    return Dimension(name=name, spec=spec_text, values=tuple(values), log=log)


def _coerce(name: str, kind: str, v):
    """A value given from Python (sequence form of a SPEC), checked like parsed text."""
    if kind.startswith("int"):
        if isinstance(v, bool) or not isinstance(v, int):
            if isinstance(v, float) and v.is_integer():
                return int(v)
            raise InputError(f"{name}: expected an integer, got {v!r}")
        return int(v)
    if kind.startswith("float"):
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise InputError(f"{name}: expected a number, got {v!r}")
        if not math.isfinite(v):
            raise InputError(f"{name}: expected a finite number, got {v!r}")
        return float(v)
    if not isinstance(v, str):
        raise InputError(f"{name}: expected a string, got {v!r}")
    return v


def _budget_check(model: str, hidden: int, steps: int, engine: str, force: bool, horizon: bool) -> None:
    """The work budget of ``product`` (and ``horizon``) at one size, checked up front.

    The same (engine, passes) pairs ``numerics.product_report`` passes to
    ``budgeted_model_jacobians`` (``numerics.models.engine_budgets``) and, for the horizon,
    the fast per-format table; the computation itself checks them again.
    """
    from gradproof.numerics.models import FORMAT_TABLE_PRODUCTS, check_budget, engine_budgets, state_size

    N = state_size(model, hidden)
    for name, passes in engine_budgets(model, engine):
        check_budget(N, steps, name, force, products=passes)
    if horizon:
        check_budget(N, steps, "fast", force, products=FORMAT_TABLE_PRODUCTS)


def _key(model: str, options: dict, horizon: bool, version: str) -> str:
    canon = json.dumps({"gradproof_sweep_schema": SCHEMA, "model": model, "options": options,
                        "horizon": horizon, "gradproof_version": version},
                       sort_keys=True, separators=(",", ":"), allow_nan=False)
    return hashlib.sha256(canon.encode("utf-8")).hexdigest()[:32]


def make_plan(model: str, grid: Mapping | None = None, *, seeds: int | None = None,
              fixed: Mapping | None = None, horizon: bool = False, force: bool = False,
              version: str | None = None) -> Plan:
    """Check a sweep and list its points (InputError on anything wrong, nothing computed).

    ``grid`` maps NAME to a SPEC string or a sequence of values (order kept: the first
    dimension varies slowest); ``fixed`` maps NAME to one value (None: the default).
    """
    from gradproof.numerics.version import package_version

    version = package_version() if version is None else version
    if model not in MODELS:
        raise InputError(f"unknown model {model!r}; choose rnn, lstm or gru")
    dims: list[Dimension] = []
    seen = set()
    items = list(grid.items()) if isinstance(grid, Mapping) else list(grid or [])
    for name, spec in items:
        d = parse_spec(name, spec)
        if d.name in seen:
            raise InputError(f"{d.name} appears in more than one --grid")
        seen.add(d.name)
        dims.append(d)
    if seeds is not None:
        if isinstance(seeds, bool) or not isinstance(seeds, int) or seeds < 1:
            raise InputError(f"--seeds must be a positive integer, got {seeds!r}")
        if "seed" in seen:
            raise InputError("give the seeds either as --seeds K or as --grid seed=SPEC, not both")
        dims.append(Dimension(name="seed", spec=f"0:{seeds - 1}:{seeds}" if seeds > 1 else "0",
                              values=tuple(range(seeds))))
        seen.add("seed")
    fixed_opts = {}
    for name, v in (fixed or {}).items():
        if v is None:
            continue
        n = _norm_name(name)
        if n in seen:
            raise InputError(f"{n} is given both as a fixed option and in the grid")
        fixed_opts[n] = _check_domain(n, _coerce(n, OPTIONS[n][0], v))
    for n in list(seen) + list(fixed_opts):
        applies = OPTIONS[n][1]
        if applies is not None and model not in applies:
            raise InputError(f"{n} applies to {' and '.join(applies)} only, not {model}")
    if not dims:
        raise InputError("a sweep needs at least one --grid NAME=SPEC (or --seeds K)")
    count = math.prod(len(d.values) for d in dims)
    if count > HARD_MAX_POINTS:
        raise InputError(f"the grid has {count} points, more than {HARD_MAX_POINTS}")
    if count > MAX_POINTS and not force:
        raise InputError(f"the grid has {count} points, more than {MAX_POINTS} (use --force)")
    base = {k: v for k, v in DEFAULTS.items()}
    base.update(fixed_opts)
    sizes = set()
    points = []
    for combo in itertools.product(*(d.values for d in dims)):
        opts = dict(base)
        opts.update({d.name: v for d, v in zip(dims, combo)})
        opts = _resolve(model, opts)
        sizes.add((opts["hidden"], opts["steps"], opts["engine"]))
        points.append(Point(key=_key(model, opts, horizon, version), model=model,
                            options=tuple(sorted(opts.items())), horizon=horizon))
    for hidden, steps, engine in sorted(sizes):
        _budget_check(model, hidden, steps, engine, force, horizon)
    return Plan(model=model, dimensions=tuple(dims), fixed=tuple(sorted(fixed_opts.items())),
                horizon=horizon, points=tuple(points), version=version)


def _resolve(model: str, opts: dict) -> dict:
    """The options exactly as product/horizon use them: defaults made explicit, options that do
    not apply to the model dropped (so equal computations get equal keys)."""
    out = {k: opts[k] for k in OPTION_ORDER if OPTIONS[k][1] is None or model in OPTIONS[k][1]}
    if model == "lstm" and out["forget_bias"] is None:
        out["forget_bias"] = 1.0  # product_report's and model_jacobians' default
    return out
