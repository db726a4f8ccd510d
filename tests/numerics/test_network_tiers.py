"""The tiered certified engine on the network itself against the all-Arb certified engine.

Oracle: ``network.network_certified`` (forward pass, derivatives and product in Arb), itself tested
against an independent mpmath evaluation of the cell equations in tests/numerics/test_network_truth_oracle.py. The
two enclosures must intersect (both contain the truth); the tiered one must certify the bits asked.
"""

from __future__ import annotations

import numpy as np
import pytest

from gradproof.numerics.cells import random_gru_params, random_rnn_params
from gradproof.numerics.errors import InputError
from gradproof.numerics.network import network_certified, wrapping_estimate
from gradproof.numerics.network_tiers import network_certified_tiered, tier_of


def _intersect(a, b):
    return a.log10_norm_lower <= b.log10_norm_upper and b.log10_norm_lower <= a.log10_norm_upper


@pytest.mark.parametrize("make, n, T, act", [(random_rnn_params, 6, 60, "tanh"), (random_rnn_params, 5, 40, "sigmoid"),
                                             (random_gru_params, 4, 40, None)])
def test_tiered_network_product_agrees_with_arb(make, n, T, act):
    p = make(n, 3, seed=2) if act is None else make(n, 3, seed=2, activation=act)
    x = np.random.default_rng(4).standard_normal((T, 3))
    ref = network_certified(p, x, target_bits=40)
    r = network_certified_tiered(p, x, bits=20)
    assert tier_of(r) in ("float", "dd") and r.certified_bits >= 20 and r.engine == "certified"
    assert _intersect(r, ref)
    assert "tier" in r.precision_statement


def test_tiered_network_falls_back_to_arb_for_many_bits():
    p = random_rnn_params(4, 3, seed=1)
    x = np.random.default_rng(1).standard_normal((30, 3))
    r = network_certified_tiered(p, x, bits=70)
    assert tier_of(r) == "arb" and r.certified_bits >= 70
    assert "could not certify 70 bits" in r.precision_statement
    assert _intersect(r, network_certified(p, x, target_bits=80))


def test_tiered_network_raises_precision_when_the_forward_pass_is_too_wide():
    p = random_rnn_params(16, 3, seed=0)
    x = np.random.default_rng(0).standard_normal((120, 3))
    r = network_certified_tiered(p, x, bits=16)  # the first precision (70 bits) loses the forward pass
    assert r.certified_bits >= 16 and r.precision_bits == 140 and tier_of(r) == "float"
    ref = network_certified(p, x, target_bits=24, wrapping_bits=wrapping_estimate(np.zeros((1, 16, 16))))
    assert _intersect(r, ref)


def test_tiered_network_rejects_bad_bits():
    p = random_rnn_params(2, 2, seed=0)
    with pytest.raises(InputError):
        network_certified_tiered(p, np.zeros((3, 2)), bits=0)


def test_cli_product_bits_uses_the_tiers_and_agrees_with_arb(capsys):
    import json

    from gradproof.reports.cli import main

    argv = ["product", "rnn", "--hidden", "8", "--steps", "80", "--seed", "3", "--engine", "certified", "--json"]
    assert main(argv + ["--bits", "20"]) == 0
    tiered = json.loads(capsys.readouterr().out)
    assert main(argv) == 0
    arb = json.loads(capsys.readouterr().out)
    assert tiered["precision"]["tier"] in ("float", "dd") and tiered["certified_bits"] >= 20
    assert "tier" not in arb["precision"]  # without --bits: the all-Arb engine, unchanged
    assert tiered["log10_norm_lower"] <= arb["log10_norm_upper"] and arb["log10_norm_lower"] <= tiered["log10_norm_upper"]
    assert {k: v["verdict"] for k, v in tiered["formats"].items()} == {k: v["verdict"] for k, v in arb["formats"].items()}


def test_cli_bits_needs_the_certified_engine(capsys):
    from gradproof.reports.cli import main

    assert main(["product", "rnn", "--bits", "20"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("gradproof: error:") and "--bits" in err and err.count("\n") == 1
