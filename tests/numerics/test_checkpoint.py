"""Checkpoints saved the usual ways (tests/data/make_torch_checkpoints.py, PyTorch 2.13 and safetensors 0.8)
analyse without hand conversion; stacked products agree with PyTorch autograd in float64.

Oracles: the .safetensors files were written by the safetensors library itself (not by our reader's
author), the stacked Jacobian norms by torch.autograd.functional.jacobian (stacked_oracle.npz)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from gradproof.numerics.checkpoint import load_stack, stack_sizes
from gradproof.numerics.engines import product_fast
from gradproof.numerics.errors import InputError
from gradproof.numerics.safetensors_io import load_safetensors, read_safetensors_header
from gradproof.numerics.stacked import stack_pass
from gradproof.numerics.weights import load_inputs, load_weights
from gradproof.reports.cli import main

DATA = next(p for p in Path(__file__).resolve().parents if (p / "pyproject.toml").is_file()) / "tests" / "data" / "checkpoints"
ORACLE = np.load(DATA / "stacked_oracle.npz")
X = np.load(DATA / "inputs_batch.npy")[1]
STACKS = [("lstm2", "lstm", "lstm2_wrapped.npz"), ("lstm2", "lstm", "lstm2_wrapped.safetensors"),
          ("gru2", "gru", "gru2.npz"), ("rnn2", "rnn", "rnn2.npz")]


def _has_torch() -> bool:
    try:
        import torch  # noqa: F401
    except ImportError:
        return False
    return True


def _rel(a, b):
    return abs(a - b) / max(abs(b), 1e-300)


@pytest.mark.parametrize("name, model, fname", STACKS)
def test_stacked_fast_matches_torch_autograd_at_every_lag(name, model, fname):
    st = load_stack(DATA / fname, model)
    assert st.num_layers == 2 and st.hidden_sizes == (5, 5)
    M = stack_pass(st.layers, X).M
    T = X.shape[0]
    want = ORACLE[f"{name}.log10_state"]
    for k in range(1, T + 1):
        got = product_fast(M[T - k:]).log10_norm
        assert _rel(got, want[k - 1]) < 1e-10, (k, got, want[k - 1])


@pytest.mark.parametrize("name, model, fname", STACKS[1:])
@pytest.mark.parametrize("engine", ["reference", "certified"])
def test_stacked_high_precision_engines_match_torch(name, model, fname, engine):
    from gradproof.numerics.network import network_certified, network_reference

    st = load_stack(DATA / fname, model)
    want = float(ORACLE[f"{name}.log10_state"][-1])
    if engine == "reference":
        got = network_reference(st.layers, X).log10_norm
        assert _rel(got, want) < 1e-10
    else:
        r = network_certified(st.layers, X)
        assert r.certified_bits >= 53
        # the float64 autograd value lies within a few float64 ulps of the certified enclosure
        assert r.log10_norm_lower - 1e-13 <= want <= r.log10_norm_upper + 1e-13
        assert _rel(r.log10_norm, want) < 1e-10


def test_cli_stacked_product_is_the_whole_stack_and_says_so(capsys):
    rc = main(["product", "lstm", "--weights", str(DATA / "lstm2_wrapped.npz"), "--inputs",
               str(DATA / "inputs_batch.npy"), "--batch-index", "1", "--json"])
    d = json.loads(capsys.readouterr().out)
    assert rc == 0
    assert _rel(d["log10_norm"], float(ORACLE["lstm2.log10_state"][-1])) < 1e-10
    assert d["layers"]["analysed"] == [0, 1] and d["layers"]["count"] == 2
    assert any("stacked network of 2 layers" in n for n in d["notes"])
    rc = main(["product", "lstm", "--weights", str(DATA / "lstm2_wrapped.npz"), "--inputs",
               str(DATA / "inputs_batch.npy"), "--batch-index", "1", "--layer", "0", "--json"])
    one = json.loads(capsys.readouterr().out)
    assert rc == 0 and one["layers"]["analysed"] == [0]
    assert any("only layer 0 of 2" in n for n in one["notes"])
    assert one["log10_norm"] != d["log10_norm"]


def test_text_headers_name_the_layers_of_a_whole_stack(capsys):
    # hidden of a whole stack is the sum of its layers' (the state also holds c for an LSTM)
    for cmd, model, fname in (("product", "lstm", "lstm2_wrapped.npz"), ("horizon", "gru", "gru2.npz")):
        sizes = [p.hidden for p in load_stack(DATA / fname, model).layers]
        assert main([cmd, model, "--weights", str(DATA / fname), "--steps", "20"]) == 0
        header = f"hidden {' + '.join(map(str, sizes))} ({len(sizes)} layers), 20 steps"
        assert len(sizes) == 2 and header in capsys.readouterr().out.splitlines()[0]
        assert main([cmd, model, "--weights", str(DATA / fname), "--steps", "20", "--layer", "1"]) == 0
        assert f"(hidden {sizes[1]}, 20 steps" in capsys.readouterr().out.splitlines()[0]


def test_layer_one_alone_is_the_diagonal_block_of_the_stack(tmp_path):
    """--layer 1 (layer 1 on the outputs of layer 0) equals the (1, 1) block of the stacked step."""
    from gradproof.numerics.models import model_jacobians

    st = load_stack(DATA / "gru2.npz", "gru")
    M = stack_pass(st.layers, X).M
    np.save(tmp_path / "x.npy", X)
    mj = model_jacobians("gru", weights_path=DATA / "gru2.npz", inputs_path=tmp_path / "x.npy", layer=1)
    assert mj.layers["analysed"] == [1] and mj.jacobians.shape == (40, 5, 5)
    np.testing.assert_allclose(mj.jacobians, M[:, 5:, 5:], rtol=0, atol=1e-15)
    # and the stack is block lower triangular: layer 0 does not read layer 1
    assert not np.any(M[:, :5, 5:])


@pytest.mark.parametrize("fname", ["train.pt", "train.npz"])
def test_full_training_checkpoint(fname):
    if fname.endswith(".pt") and not _has_torch():
        with pytest.raises(InputError, match="need torch"):  # CI: no torch, the refusal says why
            load_stack(DATA / fname, "lstm")
        return
    st = load_stack(DATA / fname, "lstm")
    assert st.module == "model.rnn" and st.head_name == "model.fc" and st.num_layers == 2
    ref = load_stack(DATA / "train.npz", "lstm")
    for a, b in zip(st.layers, ref.layers):
        np.testing.assert_array_equal(a.W_hh, b.W_hh)
    # two Adam steps moved the weights away from the initial ones
    init = load_stack(DATA / "lstm2_wrapped.npz", "lstm")
    assert not np.array_equal(st.layers[0].W_hh, init.layers[0].W_hh)


def test_wrapped_module_finds_the_head_and_npz_equals_safetensors():
    a = load_stack(DATA / "lstm2_wrapped.npz", "lstm")
    b = load_stack(DATA / "lstm2_wrapped.safetensors", "lstm")
    assert a.module == b.module == "rnn" and a.head_name == b.head_name == "fc"
    assert a.head_weight.shape == (1, 5) and a.head_bias.shape == (1,)
    for p, q in zip(a.layers, b.layers):
        np.testing.assert_array_equal(p.W_ih, q.W_ih)
        np.testing.assert_array_equal(p.b, q.b)


def test_bfloat16_is_converted_exactly():
    st = load_stack(DATA / "gru_bf16.safetensors", "gru")
    W = st.layers[0].W_hh
    # every entry is a bfloat16: 8 significant bits, so W * 2^k is an integer below 2^8 for the right k
    m, _ = np.frexp(W[W != 0])
    assert np.all(m * 2 ** 8 == np.round(m * 2 ** 8))
    assert any("bfloat16" in n or "uint16" in n or "float32" in n for n in st.notes)
    import ml_dtypes

    raw = read_safetensors_header(DATA / "gru_bf16.safetensors")
    assert raw["rnn.weight_hh_l0"].dtype == "BF16"
    arr = load_safetensors(DATA / "gru_bf16.safetensors", ["rnn.weight_hh_l0"])["rnn.weight_hh_l0"]
    # independent decoding: the same bytes through ml_dtypes' bfloat16
    h = raw["rnn.weight_hh_l0"]
    with open(DATA / "gru_bf16.safetensors", "rb") as fh:
        fh.seek(h.start)
        ref = np.frombuffer(fh.read(h.stop - h.start), dtype=ml_dtypes.bfloat16).astype(np.float64)
    np.testing.assert_array_equal(arr.astype(np.float64).ravel(), ref)
    np.testing.assert_array_equal(W.ravel(), ref)


def test_bfloat16_pt_equals_safetensors():
    if not _has_torch():
        with pytest.raises(InputError, match="need torch"):
            load_stack(DATA / "gru_bf16.pt", "gru")
        return
    a = load_stack(DATA / "gru_bf16.pt", "gru")
    b = load_stack(DATA / "gru_bf16.safetensors", "gru")
    np.testing.assert_array_equal(a.layers[0].W_hh, b.layers[0].W_hh)


@pytest.mark.parametrize("fname, model, match", [
    ("lstm_proj.safetensors", "lstm", "proj_size"),
    ("lstm_bidir.safetensors", "lstm", "bidirectional"),
    ("two_modules.npz", "gru", "--module"),
    ("lstm2_wrapped.npz", "gru", "use the model lstm"),
])
def test_refusals_name_the_reason_and_list_keys(fname, model, match):
    with pytest.raises(InputError, match=match) as exc:
        load_stack(DATA / fname, model)
    if "module" not in match and "model" not in match:
        assert "keys found" in str(exc.value)


def test_no_recurrent_module_lists_the_keys(tmp_path):
    np.savez(tmp_path / "w.npz", **{"encoder.linear.weight": np.ones((2, 2)), "step": np.array(3)})
    with pytest.raises(InputError, match=r"keys found: encoder.linear.weight, step.*supported"):
        load_stack(tmp_path / "w.npz", "lstm")


def test_module_choice_and_unknown_module():
    st = load_stack(DATA / "two_modules.npz", "gru", module="encoder")
    assert st.module == "encoder" and st.input_size == 3
    with pytest.raises(InputError, match="no recurrent module named 'middle'"):
        load_stack(DATA / "two_modules.npz", "gru", module="middle")


def test_load_weights_refuses_a_silent_layer_zero():
    with pytest.raises(InputError, match="2-layer"):
        load_weights(DATA / "gru2.npz", "gru")
    assert load_weights(DATA / "gru2.npz", "gru", layer=1).input_size == 5


def test_sizes_from_headers_only(monkeypatch):
    import gradproof.numerics.safetensors_io as io

    def no_load(*a, **k):
        raise AssertionError("tensors loaded")

    monkeypatch.setattr(io, "load_safetensors", no_load)
    assert stack_sizes(DATA / "lstm2_wrapped.safetensors", "lstm") == ((5, 5), 3)


def test_batched_inputs():
    x = load_inputs(DATA / "inputs_batch.npy", 3, batch_index=2)
    np.testing.assert_array_equal(x, np.load(DATA / "inputs_batch.npy")[2])
    with pytest.raises(InputError, match="--batch-index"):
        load_inputs(DATA / "inputs_batch.npy", 3)
    with pytest.raises(InputError, match="outside the batch of 3"):
        load_inputs(DATA / "inputs_batch.npy", 3, batch_index=3)


# ----------------------------------------------------------------------------- hostile .safetensors
def _st(header: dict, data: bytes, n_override=None) -> bytes:
    raw = json.dumps(header).encode()
    n = len(raw) if n_override is None else n_override
    return n.to_bytes(8, "little") + raw + data


@pytest.mark.parametrize("case, match", [
    ("short", "shorter than"),
    ("huge-length", "more than"),
    ("lying-length", "lying or truncated"),
    ("not-json", "not UTF-8 JSON"),
    ("list", "not a JSON object"),
    ("bad-dtype", "dtype 'BOOL'"),
    ("bad-shape", "invalid shape"),
    ("size-mismatch", "data offsets span"),
    ("outside", "outside"),
    ("hole", "hole"),
    ("trailing", "follow the last tensor"),
])
def test_hostile_safetensors_are_one_line(tmp_path, capsys, case, match):
    p = tmp_path / "w.safetensors"
    good = {"weight_hh_l0": {"dtype": "F32", "shape": [2, 2], "data_offsets": [0, 16]}}
    data = b"\0" * 16
    if case == "short":
        blob = b"\x01\x02"
    elif case == "huge-length":
        blob = (2 ** 40).to_bytes(8, "little") + b"{}"
    elif case == "lying-length":
        blob = _st(good, data, n_override=10_000)
    elif case == "not-json":
        blob = (5).to_bytes(8, "little") + b"\xff{]x\x00"
    elif case == "list":
        blob = _st([1, 2], b"")
    elif case == "bad-dtype":
        blob = _st({"a": {"dtype": "BOOL", "shape": [1], "data_offsets": [0, 1]}}, b"\0")
    elif case == "bad-shape":
        blob = _st({"a": {"dtype": "F32", "shape": [-1], "data_offsets": [0, 4]}}, b"\0" * 4)
    elif case == "size-mismatch":
        blob = _st({"a": {"dtype": "F32", "shape": [3, 3], "data_offsets": [0, 16]}}, data)
    elif case == "outside":
        blob = _st({"a": {"dtype": "F32", "shape": [2, 2], "data_offsets": [8, 24]}}, data)
    elif case == "hole":
        blob = _st({"a": {"dtype": "F32", "shape": [2], "data_offsets": [8, 16]}}, data)
    else:
        blob = _st(good, data + b"extra")
    p.write_bytes(blob)
    rc = main(["product", "rnn", "--weights", str(p)])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1 and err[0].startswith("gradproof: error:") and match in err[0], err


def test_float16_npz_converted_exactly(tmp_path):
    rng = np.random.default_rng(0)
    sd = {"m.weight_ih_l0": rng.standard_normal((3, 2)).astype(np.float16),
          "m.weight_hh_l0": rng.standard_normal((3, 3)).astype(np.float16) * np.float16(0.3),
          "m.bias_ih_l0": np.zeros(3, np.float16), "m.bias_hh_l0": np.ones(3, np.float16)}
    np.savez(tmp_path / "w.npz", **sd)
    st = load_stack(tmp_path / "w.npz", "rnn")
    np.testing.assert_array_equal(st.layers[0].W_rec, sd["m.weight_hh_l0"].astype(np.float64))
    assert st.module == "m" and math.isclose(float(st.layers[0].b[0]), 1.0)


def test_bias_free_module_equals_explicit_zero_biases(tmp_path):
    rng = np.random.default_rng(5)
    n, d = 3, 2
    w = {"weight_ih_l0": rng.standard_normal((4 * n, d)), "weight_hh_l0": rng.standard_normal((4 * n, n)) * 0.5}
    np.savez(tmp_path / "nobias.npz", **w)
    np.savez(tmp_path / "zeros.npz", **w, bias_ih_l0=np.zeros(4 * n), bias_hh_l0=np.zeros(4 * n))
    a = load_stack(tmp_path / "nobias.npz", "lstm")
    b = load_stack(tmp_path / "zeros.npz", "lstm")
    assert any("bias=False" in note for note in a.notes)
    np.testing.assert_array_equal(a.layers[0].b, b.layers[0].b)
    half = dict(w, bias_ih_l0=np.zeros(4 * n))  # one bias of two: not a bias-free module, refused
    np.savez(tmp_path / "half.npz", **half)
    with pytest.raises(InputError, match="lacks key.*bias_hh_l0.*keys found"):
        load_stack(tmp_path / "half.npz", "lstm")
