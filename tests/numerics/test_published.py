"""Published digits (issue 9): one formatter, and every published number survives a change of
the last bits of the float64 computations behind it.

The perturbation tests change the float64 Jacobians, weights and trajectories by one ulp (a
seeded random direction per entry, zeros kept), which is what another CPU's SIMD tanh/exp or
BLAS kernel does, and assert that every published string (audit evidence and residuals,
figure numbers, captions, figure data files) is unchanged while the raw values did change.
The slow tests rebuild the whole report that way, and in a subprocess with numpy's SIMD
dispatch and OpenBLAS's kernels switched down (``NPY_DISABLE_CPU_FEATURES``,
``OPENBLAS_CORETYPE``), and run ``--check`` against the committed reports.
"""

import dataclasses
import json
import os
import subprocess
import sys
from decimal import ROUND_HALF_EVEN, Decimal, localcontext
from fractions import Fraction
from pathlib import Path

import mpmath
import numpy as np
import pytest

from gradproof.numerics import published as P

ROOT = next(p for p in Path(__file__).resolve().parents if (p / "pyproject.toml").is_file())


# ----------------------------------------------------------------------------- the formatter

def _decimal_round(x: Fraction, digits: int) -> Decimal:
    """Oracle: Python's decimal module rounds the exact rational to ``digits`` digits."""
    with localcontext() as ctx:
        ctx.prec = 60
        d = Decimal(x.numerator) / Decimal(x.denominator)
        ctx.prec = digits
        ctx.rounding = ROUND_HALF_EVEN
        return +d


@pytest.mark.parametrize("seed", range(5))
def test_float64_digits_are_stable_over_the_tolerance_interval(seed):
    """The printed string is what both ends of v(1 +- 1e-9) round to (decimal module as the
    oracle), with the most digits <= 6 for which that holds."""
    rng = np.random.default_rng(seed)
    for v in rng.standard_normal(200) * 10.0 ** rng.integers(-30, 30, 200):
        pub = P.float64(float(v))
        lo, hi = Fraction(float(v)) * (1 - Fraction(1e-9)), Fraction(float(v)) * (1 + Fraction(1e-9))
        d = pub.digits
        assert 1 <= d <= 6
        assert _decimal_round(lo, d) == _decimal_round(hi, d) == Decimal(pub.text)
        if d < 6:
            assert _decimal_round(lo, d + 1) != _decimal_round(hi, d + 1)
        assert pub.basis == "float64, tolerance 1e-9"


def test_float64_edge_case_drops_a_digit():
    """A value whose tolerance interval straddles a 6-digit rounding boundary gets 5 digits."""
    v = 1.234565  # 6-digit boundary between 1.23456 and 1.23457 within 1e-9 relative
    pub = P.float64(v)
    assert pub.digits == 5 and pub.text == "1.2346"
    assert P.float64(1.2345649).text == "1.23456"


def test_certified_digits_are_those_of_the_whole_enclosure():
    import flint

    x = flint.arb(2).sqrt()
    pub = P.certified(x.lower(), x.upper())
    assert pub.basis == "certified"
    # the true value sqrt(2) (mpmath at 60 digits) rounds to the printed string
    with mpmath.workdps(60):
        assert mpmath.nstr(mpmath.sqrt(2), pub.digits, strip_zeros=False) == pub.text
    assert P.certified(-1.5, -1.4).text.startswith("[")  # no common digit: the interval


def test_exact_rounded_bound_and_parameter():
    assert P.exact(22).text == "22" and P.exact(None).text == "none"
    assert P.exact(Fraction(-3, 4)).text == "-3/4"
    assert P.parameter(0.6) == "0.6" and P.parameter(2.0) == "2"
    assert P.rounded(Fraction(3, 2) ** 40, 12).text == "11057332.3209"
    assert P.bound(2.220446049250313e-16, 1e-12).text == "< 1e-12"
    assert P.bound(1.1368683772161603e-13, 1e-12).text == "< 1e-12"
    failed = P.bound(3e-9, 1e-9)
    assert failed.text == "3.00000e-09 (not < 1e-9)" and "NOT" in failed.basis
    assert P.float64(1.1e-16, atol=1e-9).text == "|x| < 1e-9"
    assert P.multiprecision(mpmath.mpf(-1) / 30, 50).text == "-0.0333333"
    assert P.float64(float("-inf")).text == "-inf"


# ----------------------------------------------------------------------------- perturbation

def _ulp(arr, rng):
    """``arr`` with every nonzero float64 entry moved by one ulp, up or down at random."""
    a = np.asarray(arr)
    if a.dtype != np.float64:
        return arr
    up = rng.random(a.shape) < 0.5
    moved = np.where(up, np.nextafter(a, np.inf), np.nextafter(a, -np.inf))
    return np.where(a == 0.0, a, moved)


def _perturb_fields(obj, rng):
    changes = {f.name: _ulp(getattr(obj, f.name), rng) for f in dataclasses.fields(obj)
               if isinstance(getattr(obj, f.name), np.ndarray)}
    return dataclasses.replace(obj, **changes)


def _install_one_ulp(monkeypatch) -> dict:
    """Move the float64 weights, Jacobians and the audit's float64 weights by one ulp (what
    another CPU's libm/BLAS does); returns a call counter."""
    import gradproof.numerics.cells as cells
    import gradproof.reports.claims as claims

    rng = np.random.default_rng(99)
    calls = {"n": 0}

    def wrap(fn, how):
        def wrapped(*args, **kwargs):
            calls["n"] += 1
            return how(fn(*args, **kwargs))
        return wrapped

    monkeypatch.setattr(cells, "rnn_jacobians", wrap(cells.rnn_jacobians, lambda J: _ulp(J, rng)))
    monkeypatch.setattr(cells, "lstm_jacobians",
                        wrap(cells.lstm_jacobians, lambda J: _perturb_fields(J, rng)))
    for name in ("random_rnn_params", "random_lstm_params"):
        monkeypatch.setattr(cells, name, wrap(getattr(cells, name),
                                              lambda p: _perturb_fields(p, rng)))
    monkeypatch.setattr(claims.toolkit, "_toolkit_rnn_weights",
                        wrap(claims.toolkit._toolkit_rnn_weights,
                             lambda t: tuple(_ulp(a, rng) for a in t)))
    return calls


@pytest.fixture
def one_ulp(monkeypatch):
    return _install_one_ulp(monkeypatch)


def _published_audit(claim_ids):
    from gradproof.reports.audit import audit_json, audit_markdown, run_audit

    outcomes = run_audit(claim_ids)
    return audit_markdown(outcomes), audit_json(outcomes, full=True).replace(
        '"seconds"', '"_"'), outcomes


def _strip_seconds(js: str):
    rows = json.loads(js.replace('"_"', '"seconds"'))
    for r in rows:
        r.pop("seconds")
    return rows


FAST_FIGURES = ("underflow-vs-vanishing", "lstm-terms")


def _build_figure(item_id, tmp: Path):
    from gradproof.reports import determinism
    from gradproof.reports.build import ITEMS
    from gradproof.reports.figures.common import ItemContext

    determinism.configure()
    result = ITEMS[item_id].build(ItemContext(tmp))
    data = (tmp / f"data/{item_id}.json").read_text()
    return result, data


def test_one_ulp_leaves_the_audit_and_figures_published_numbers_unchanged(tmp_path, monkeypatch):
    """Audit (toolkit-numerics-agree: the float64 claim) and two figures, built once as they
    are and once with every float64 weight and Jacobian moved by one ulp: the raw values move,
    every published string stays."""
    claim = ["toolkit-numerics-agree"]
    md0, js0, _ = _published_audit(claim)
    figs0 = {f: _build_figure(f, tmp_path / "a") for f in FAST_FIGURES}

    calls = _install_one_ulp(monkeypatch)

    md1, js1, _ = _published_audit(claim)
    figs1 = {f: _build_figure(f, tmp_path / "b") for f in FAST_FIGURES}
    assert calls["n"] >= 5  # the perturbation reached the audit and both figures

    assert md1 == md0
    assert _strip_seconds(js1) == _strip_seconds(js0)
    raw_moved = 0
    for f in FAST_FIGURES:
        (r0, data0), (r1, data1) = figs0[f], figs1[f]
        assert r1.caption == r0.caption
        assert data1 == data0
        assert [(n.key, n.display, n.published.basis) for n in r1.numbers] == \
               [(n.key, n.display, n.published.basis) for n in r0.numbers]
        raw_moved += sum(n0.value != n1.value for n0, n1 in zip(r0.numbers, r1.numbers))
    assert raw_moved > 0  # the last bits did change: the test is not vacuous


def test_a_float64_residual_is_published_as_its_bound():
    """The residuals of toolkit-numerics-agree are machine noise: printed as their bounds."""
    md, js, outcomes = _published_audit(["toolkit-numerics-agree"])
    o = outcomes[0]
    assert o.residual == "< 1e-9 (log10 norms); < 1e-12 (LSTM terms)"
    assert o.evidence["lstm_cell_path_max_abs_difference"] == "< 1e-12"
    assert set(o.evidence["abs_log10_difference"].values()) == {"< 1e-9"}
    # the log10 norm: -880.894..., 6 digits, agreeing with the audit's own value
    assert o.evidence["audit_log10_norm"] == o.evidence["engine_log10_norm"]["reference"]
    assert o.evidence["audit_log10_norm"].startswith("-880.89")
    assert "-880.8940040105" not in md


@pytest.mark.slow
def test_one_ulp_full_report_has_the_committed_content(tmp_path, one_ulp, monkeypatch):
    """The whole report built with every float64 weight and Jacobian moved by one ulp has the
    content of the committed reports (``compare_trees``: what ``--check`` compares)."""
    from gradproof.reports import build as rb
    from gradproof.reports.cli import report_command

    monkeypatch.setenv("GRADPROOF_JOBS", "1")  # in this process, where the patches are
    out = tmp_path / "perturbed"
    assert report_command(out=str(out), quiet=True) == 0
    assert one_ulp["n"] > 0
    assert rb.compare_trees(out, ROOT / "reports" / "generated") == []


@pytest.mark.slow
def test_check_passes_with_simd_paths_and_blas_kernels_switched_down(tmp_path):
    """``gradproof report --check`` in a process whose numpy runs without its AVX2/AVX512
    dispatch and whose OpenBLAS uses Nehalem kernels: the committed content is reproduced."""
    cfg = np.show_config(mode="dicts").get("SIMD Extensions", {})
    env = dict(os.environ, PYTHONPATH=str(ROOT), NPY_DISABLE_CPU_FEATURES=" ".join(cfg.get("found", [])),
               OPENBLAS_CORETYPE="Nehalem")
    res = subprocess.run([sys.executable, "-m", "gradproof.reports.cli", "report", "--check", "-q"],
                         cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    assert res.returncode == 0, res.stderr
