""".npz archives with many members (flattened training checkpoints: optimizer state, many layers) load;
more than MAX_MEMBERS, or members whose declared data exceed the budgets, are refused with one line
before any data is read."""

from __future__ import annotations

import io
import struct
import zipfile

import numpy as np
import pytest

from gradproof.numerics import npyheader
from gradproof.numerics.checkpoint import load_stack
from gradproof.numerics.errors import InputError
from gradproof.numerics.npyheader import MAX_MEMBERS, load_npz, read_npz_headers
from gradproof.reports.cli import main

N, D = 3, 2


def _npy(a) -> bytes:
    buf = io.BytesIO()
    np.save(buf, a)
    return buf.getvalue()


def _module(prefix, layers=2):
    rng = np.random.default_rng(0)
    sd = {}
    for L in range(layers):
        sd[f"{prefix}weight_ih_l{L}"] = rng.normal(size=(4 * N, D if L == 0 else N))
        sd[f"{prefix}weight_hh_l{L}"] = rng.normal(size=(4 * N, N))
        sd[f"{prefix}bias_ih_l{L}"] = rng.normal(size=4 * N)
        sd[f"{prefix}bias_hh_l{L}"] = rng.normal(size=4 * N)
    return sd


def _checkpoint(path, members):
    """A flattened training checkpoint: the model's LSTM and head, and optimizer state filling the
    archive up to ``members`` members."""
    sd = _module("model.rnn.")
    sd["model.fc.weight"] = np.ones((1, N))
    sd["model.fc.bias"] = np.zeros(1)
    k = 0
    while len(sd) < members:
        sd[f"optimizer.state.{k}.exp_avg"] = np.full(4, float(k))
        k += 1
    with zipfile.ZipFile(path, "w") as zf:
        for name, a in sd.items():
            zf.writestr(name + ".npy", _npy(a))
    return sd


def test_a_checkpoint_of_max_members_loads(tmp_path):
    p = tmp_path / "train.npz"
    sd = _checkpoint(p, MAX_MEMBERS)
    assert len(read_npz_headers(p)) == MAX_MEMBERS
    st = load_stack(p, "lstm")
    assert st.num_layers == 2 and st.module == "model.rnn" and st.head_name == "model.fc"
    np.testing.assert_array_equal(st.layers[1].W_hh, sd["model.rnn.weight_hh_l1"])
    assert load_npz(p, ["optimizer.state.7.exp_avg"])["optimizer.state.7.exp_avg"].tolist() == [7.0] * 4


def test_one_member_over_the_limit_is_one_line(tmp_path, capsys):
    p = tmp_path / "train.npz"
    _checkpoint(p, MAX_MEMBERS + 1)
    rc = main(["product", "lstm", "--weights", str(p)])
    err = capsys.readouterr().err.splitlines()
    assert rc == 2 and len(err) == 1 and err[0].startswith("gradproof: error: ")
    assert f"holds {MAX_MEMBERS + 1} members" in err[0] and f"{MAX_MEMBERS} at most" in err[0]


def test_member_count_is_read_before_the_directory_is_parsed(tmp_path, monkeypatch):
    """An end-of-central-directory record declaring 65535 entries is refused before zipfile reads it."""
    p = tmp_path / "w.npz"
    np.savez(p, **_module(""))
    raw = bytearray(p.read_bytes())
    at = raw.rfind(b"PK\x05\x06")
    raw[at + 8:at + 12] = struct.pack("<HH", 0xFFFF, 0xFFFF)
    p.write_bytes(bytes(raw))

    def boom(*a, **k):  # pragma: no cover - must not be reached
        raise AssertionError("zipfile.ZipFile was called")

    monkeypatch.setattr(npyheader.zipfile, "ZipFile", boom)
    with pytest.raises(InputError, match="65535 or more members"):
        read_npz_headers(p)


def test_member_and_total_budgets_bind_before_reading(tmp_path, monkeypatch):
    p = tmp_path / "w.npz"
    sd = _module("")
    np.savez(p, **sd)
    read = []
    orig = np.lib.format.read_array
    monkeypatch.setattr(np.lib.format, "read_array", lambda *a, **k: read.append(1) or orig(*a, **k))
    big = 4 * N * N * 8  # weight_hh_l0: (4n, n) float64
    monkeypatch.setattr(npyheader, "MAX_MEMBER_BYTES", big - 1)
    with pytest.raises(InputError, match=f"weight_hh_l0 declares {big} bytes"):
        load_npz(p, ["bias_ih_l0", "weight_hh_l0"])
    monkeypatch.setattr(npyheader, "MAX_MEMBER_BYTES", big)
    monkeypatch.setattr(npyheader, "MAX_LOAD_BYTES", big + 4 * N * 8 - 1)
    with pytest.raises(InputError, match=f"the 2 arrays needed declare {big + 4 * N * 8} bytes"):
        load_npz(p, ["bias_ih_l0", "weight_hh_l0"])
    assert read == []  # nothing was read
    monkeypatch.setattr(npyheader, "MAX_LOAD_BYTES", big + 4 * N * 8)
    out = load_npz(p, ["bias_ih_l0", "weight_hh_l0"])
    np.testing.assert_array_equal(out["weight_hh_l0"], sd["weight_hh_l0"])
    assert len(read) == 2
    monkeypatch.setattr(npyheader, "available_bytes", lambda: (100, "test limit"))
    with pytest.raises(InputError, match="left under the test limit"):
        load_npz(p, ["weight_hh_l0"])
    assert len(read) == 2
