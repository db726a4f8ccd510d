"""`gradproof verify`: the whole audit through the CLI entry point (exit status, table, JSON,
bad input). The full run includes re-running the RNN and LSTM derivations."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from gradproof.reports import claims
from gradproof.reports.claims import CLAIMS, EXPECTED, ClaimVerdict
from gradproof.reports.cli import main

REPO = next(p for p in Path(__file__).resolve().parents if (p / "pyproject.toml").is_file())
QUICK = ["sigmoid-derivative-bound", "pascanu-transpose-erratum", "no-fine-adjustments",
         "rnn-explosion-threshold"]


def test_verify_full_run_passes(capsys):
    assert main(["verify"]) == 0
    out, err = capsys.readouterr()
    assert err == ""
    lines = out.splitlines()
    assert lines[0].split() == ["claim", "verdict", "expected", "method", "seconds"]
    for cid in CLAIMS:
        assert any(line.startswith(cid + " ") for line in lines), cid
    assert f"{len(CLAIMS)} claims, {len(CLAIMS)} as expected; audit time" in out
    assert "DIFFERS" not in out


def test_verify_json_parses_with_required_keys(capsys):
    assert main(["verify", "--json", "--claim", *QUICK]) == 0
    data = json.loads(capsys.readouterr().out)
    assert [d["id"] for d in data] == QUICK
    for d in data:
        assert {"id", "verdict", "expected", "method", "residual", "seconds"} <= set(d)
        assert d["verdict"] == d["expected"] == EXPECTED[d["id"]].value
        assert isinstance(d["seconds"], float) and d["seconds"] >= 0
    assert {d["verdict"] for d in data} == {"verified", "refuted", "conditional", "not-mathematical"}


def test_verify_unknown_claim_exits_2_with_one_line(capsys):
    assert main(["verify", "--claim", "nosuch"]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert len(err.strip().splitlines()) == 1
    assert err.startswith("gradproof: error: unknown claim 'nosuch'")


def test_verify_unknown_among_known_does_no_work(capsys):
    assert main(["verify", "--claim", "sigmoid-derivative-bound", "nosuch"]) == 2
    out, _ = capsys.readouterr()
    assert out == ""


def test_verify_claim_without_ids_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["verify", "--claim"])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and err.startswith("gradproof: error:")


def test_verify_exits_1_when_an_outcome_differs(capsys, monkeypatch):
    monkeypatch.setitem(EXPECTED, "no-fine-adjustments", ClaimVerdict.REFUTED)
    assert main(["verify", "--claim", "no-fine-adjustments"]) == 1
    out = capsys.readouterr().out
    assert "DIFFERS" in out and "1 differ: no-fine-adjustments" in out
    assert main(["verify", "--json", "--claim", "no-fine-adjustments"]) == 1
    (d,) = json.loads(capsys.readouterr().out)
    assert d["verdict"] == "not-mathematical" and d["expected"] == "refuted" and d["as_expected"] is False


def test_verify_in_a_fresh_process_bad_id():
    """No traceback from the real entry point: one line on stderr, status 2."""
    p = subprocess.run([sys.executable, "-m", "gradproof.reports.cli", "verify", "--claim", "nosuch"],
                       cwd=REPO, capture_output=True, text=True, timeout=120)
    assert p.returncode == 2
    assert p.stdout == ""
    assert p.stderr.strip().splitlines() == [p.stderr.strip()]
    assert "Traceback" not in p.stderr


def test_registry_module_is_the_one_verify_uses():
    from gradproof.reports import audit

    assert audit.CLAIMS is claims.CLAIMS and audit.EXPECTED is claims.EXPECTED
