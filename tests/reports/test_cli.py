"""The CLI: --version, --help, derive output formats, one-line errors with exit status 2."""

import json
import subprocess
import sys

import pytest

from gradproof.reports.cli import PARSER, main, package_version


def test_version(capsys):
    with pytest.raises(SystemExit) as e:
        main(["--version"])
    assert e.value.code == 0
    assert capsys.readouterr().out.strip() == f"gradproof {package_version()}"


@pytest.mark.parametrize("cmd", [[], ["derive"], ["product"], ["horizon"], ["report"], ["verify"]])
def test_help_for_every_subcommand(cmd, capsys):
    with pytest.raises(SystemExit) as e:
        main(cmd + ["--help"])
    assert e.value.code == 0
    assert "usage: gradproof" in capsys.readouterr().out


def test_derive_json_shape(capsys):
    assert main(["derive", "rnn", "--activation", "tanh", "--hidden", "1", "--steps", "2",
                 "--format", "json"]) == 0
    obj = json.loads(capsys.readouterr().out)
    assert set(obj) >= {"model", "activation", "hidden", "steps", "gamma", "derivation"}
    assert obj["gamma"] == "1" and obj["model"] == "rnn" and obj["steps"] == 2
    assert all(set(s) >= {"name", "latex", "srepr", "verdict", "method"} for s in obj["derivation"])
    jac = [s for s in obj["derivation"] if s["name"] == "one_step_jacobian"][0]
    assert jac["verdict"] == "verified" and "tanh" in jac["srepr"]


def test_derive_sigmoid_gamma_string(capsys):
    assert main(["derive", "rnn", "--steps", "1", "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["gamma"] == "1/4"


def test_derive_text_and_latex(capsys):
    assert main(["derive", "rnn", "--steps", "2"]) == 0
    out = capsys.readouterr().out
    assert "one_step_jacobian  [verified]" in out and "seed" in out
    assert main(["derive", "rnn", "--steps", "2", "--format", "latex"]) == 0
    tex = capsys.readouterr().out
    assert tex.startswith("% rnn derivation") and r"\label{eq:rnn-one_step_jacobian}" in tex
    assert tex.count(r"\begin{align}") == tex.count(r"\end{align}") >= 10  # one align per step


@pytest.mark.parametrize("argv,needle", [
    (["derive", "transformer"], "invalid choice"),
    (["derive", "rnn", "--activation", "relu"], "invalid choice"),
    (["derive", "rnn", "--hidden", "0"], "positive integer"),
    (["derive", "rnn", "--steps", "-3"], "positive integer"),
    (["derive", "rnn", "--steps", "abc"], "positive integer"),
    (["derive", "rnn", "--hidden", "50", "--steps", "50"], "beyond the budget"),
    (["derive", "rnn", "--variant", "article"], "lstm only"),
    (["derive", "lstm", "--activation", "tanh"], "applies to rnn only"),
    (["derive", "gru", "--activation", "tanh"], "applies to rnn only"),
    (["derive", "lstm", "--hidden", "x"], "positive integer"),
    (["derive", "gru", "--steps", "1e9"], "positive integer"),
    (["derive", "lstm", "--hidden", "2", "--steps", "40"], "budget"),
    (["derive", "gru", "--hidden", "9"], "budget"),
])
def test_bad_input_one_line_exit_2(argv, needle, capsys):
    try:
        code = main(argv)
    except SystemExit as e:
        code = e.code
    assert code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("gradproof: error:") and needle in err


def test_no_traceback_in_subprocess():
    p = subprocess.run([sys.executable, "-m", "gradproof.reports.cli", "derive", "rnn", "--hidden", "99"],
                       capture_output=True, text=True)
    assert p.returncode == 2 and "Traceback" not in p.stderr and p.stderr.count("\n") == 1


def test_parser_defined_once_at_module_level():
    assert PARSER.prog == "gradproof"


def test_derive_json_srepr_is_sympy_srepr_for_matrices_too(capsys):
    """The documented "srepr" field is sympy.srepr for every step (the matrix steps were
    printed with repr(), which is neither srepr nor re-buildable); evaluating it in SymPy's
    namespace rebuilds the recorded expression exactly."""
    import sympy as sp

    from gradproof.derivations.activations import sigmoid
    from gradproof.derivations.rnn import rnn_derivation

    assert main(["derive", "rnn", "--hidden", "2", "--steps", "2", "--format", "json"]) == 0
    obj = json.loads(capsys.readouterr().out)
    der = rnn_derivation("sigmoid", 2, 2, check=False)
    ns = {**vars(sp), "sigmoid": sigmoid}
    for step, rec in zip(obj["derivation"], der.records):
        assert step["name"] == rec.name
        assert step["srepr"] == sp.srepr(rec.expr), rec.name
        rebuilt = eval(step["srepr"], ns)  # our own output, never user text
        if isinstance(rec.expr, sp.MatrixBase):
            assert rebuilt.shape == rec.expr.shape and (rebuilt - rec.expr).is_zero_matrix, rec.name
        else:
            assert rebuilt == rec.expr, rec.name
    jac = [s for s in obj["derivation"] if s["name"] == "one_step_jacobian"][0]
    assert jac["srepr"].startswith("MutableDenseMatrix(")


def test_memoised_printers_match_sympy_printers():
    """derive prints with memoised srepr/sstr/latex (each distinct subexpression once); the
    output must be byte-identical to sympy.srepr / sympy.sstr / sympy.latex."""
    import sympy as sp

    from gradproof.derivations.lstm import lstm_derivation
    from gradproof.derivations.records import _SharedLatexPrinter, _SharedStrPrinter, step_srepr

    der = lstm_derivation("corrected", 1, 3)
    for rec in der.records:
        assert step_srepr(rec.expr) == sp.srepr(rec.expr), rec.name
        assert _SharedStrPrinter().doprint(rec.expr) == sp.sstr(rec.expr), rec.name
        assert _SharedLatexPrinter().doprint(rec.expr) == sp.latex(rec.expr), rec.name


