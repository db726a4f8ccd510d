"""The public API: the README's example as a doctest, and each function against the CLI."""

from __future__ import annotations

import doctest
import json
import re
from pathlib import Path

import pytest

import gradproof
from gradproof.reports.cli import main

README = next(p for p in Path(__file__).resolve().parents if (p / "pyproject.toml").is_file()) / "README.md"


def _readme_python_blocks() -> str:
    text = README.read_text(encoding="utf-8")
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    return "\n".join(b for b in blocks if ">>>" in b)


def test_readme_api_example_runs_as_a_doctest():
    source = _readme_python_blocks()
    assert source.count(">>>") >= 3
    test = doctest.DocTestParser().get_doctest(source, {}, "README.md", str(README), 0)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    runner.run(test)
    assert runner.failures == 0 and runner.tries == source.count(">>>")


def test_public_names():
    for name in ("derive", "product", "horizon", "verify", "build_report", "load_weights",
                 "InputError", "__version__"):
        assert name in gradproof.__all__ and hasattr(gradproof, name)
    with pytest.raises(AttributeError):
        gradproof.no_such_function  # noqa: B018


def test_derive_to_dict_equals_cli_json(capsys):
    d = gradproof.derive("rnn", activation="tanh", hidden=1, steps=2)
    assert main(["derive", "rnn", "--activation", "tanh", "--hidden", "1", "--steps", "2",
                 "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out) == json.loads(json.dumps(d.to_dict()))


def test_derive_result_is_frozen():
    d = gradproof.derive("gru", hidden=1, steps=2)
    with pytest.raises(Exception):
        d.model = "lstm"


def test_bad_input_raises_input_error():
    with pytest.raises(gradproof.InputError):
        gradproof.derive("transformer")
    with pytest.raises(gradproof.InputError):
        gradproof.verify(["no-such-claim"])


def test_verify_outcome_matches_cli(capsys):
    res = gradproof.verify(["sigmoid-derivative-bound"])
    assert res.all_as_expected
    assert main(["verify", "--json", "--claim", "sigmoid-derivative-bound"]) == 0
    (row,) = json.loads(capsys.readouterr().out)
    assert row["verdict"] == res.outcome("sigmoid-derivative-bound").verdict.value
    with pytest.raises(KeyError):
        res.outcome("other")


def test_product_to_dict_equals_cli_json(capsys):
    """The done-when check of the package issue: the API's number is the CLI's."""
    r = gradproof.product("lstm", hidden=4, steps=100)
    assert main(["product", "lstm", "--hidden", "4", "--steps", "100", "--json"]) == 0
    cli = json.loads(capsys.readouterr().out)
    assert cli == json.loads(json.dumps(r.to_dict()))
    assert cli["log10_norm"] == r.log10_norm
    with pytest.raises(Exception):
        r.log10_norm = 0.0


@pytest.mark.parametrize("call", [
    lambda: gradproof.product("lstm", hiden=4),
    lambda: gradproof.horizon("rnn", engine="fast"),
    lambda: gradproof.horizon(factor=0.5, hidden=4),
    lambda: gradproof.lags("rnn", bits=10),
])
def test_an_unknown_option_is_one_input_error_naming_it(call):
    with pytest.raises(gradproof.InputError) as e:
        call()
    message = str(e.value)
    assert "unknown option" in message and "\n" not in message


def test_model_spec_is_the_same_network_in_api_and_cli(capsys):
    """One ModelSpec: the API's keyword options and the CLI's flags give the same product."""
    from gradproof.numerics.spec import ModelSpec

    spec, rest = ModelSpec.from_options("gru", {"hidden": 3, "steps": 40, "seed": 2, "engine": "fast"})
    assert spec == ModelSpec(model="gru", hidden=3, steps=40, seed=2) and rest == {"engine": "fast"}
    assert ModelSpec.from_options("rnn", {}, steps=200)[0].steps == 200
    r = gradproof.horizon("gru", hidden=3, steps=40, seed=2)
    assert main(["horizon", "gru", "--hidden", "3", "--steps", "40", "--seed", "2", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == json.loads(json.dumps(r.to_dict()))
