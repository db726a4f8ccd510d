"""The report's LaTeX compiles in a paper as documented: a two-column article that loads
gradproof.sty, inputs two figure files, one derivation and three number macros builds with
pdflatex without errors and without an overfull box above 5 pt.

Oracle: pdflatex itself (TeX's own line breaking measures every box). CI installs TeX Live
(texlive-latex-base) when pdflatex is absent (.ci/run); the test fails, never skips, without it.
"""

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from gradproof.reports.figures.style import COLUMN_WIDTH_IN, PAGE_WIDTH_IN

ROOT = next(p for p in Path(__file__).resolve().parents if (p / "pyproject.toml").is_file())
GENERATED = ROOT / "reports" / "generated"
MAX_OVERFULL_PT = 5.0


def _pdflatex() -> str:
    path = shutil.which("pdflatex")
    assert path, ("pdflatex is not installed (apt-get install -y --no-install-recommends "
                  "texlive-latex-base); .ci/run installs it in CI")
    return path


def _compile(folder: Path, body: str, env_texinputs: str | None = None,
             bibtex: bool = False) -> str:
    (folder / "paper.tex").write_text(body, encoding="utf-8")
    env = None
    if env_texinputs is not None:
        import os
        env = dict(os.environ, TEXINPUTS=env_texinputs)
    runs = 3 if bibtex else 2  # cross-references (\eqref of the model equations), citations
    for n in range(runs):
        res = subprocess.run([_pdflatex(), "-interaction=nonstopmode", "-halt-on-error",
                              "paper.tex"], cwd=folder, capture_output=True, text=True,
                             timeout=300, env=env)
        if bibtex and n == 0:
            bib = subprocess.run([shutil.which("bibtex") or "bibtex", "paper"], cwd=folder,
                                 capture_output=True, text=True, timeout=120)
            assert "error message" not in bib.stdout, bib.stdout[-2000:]
    log = (folder / "paper.log").read_text(encoding="latin-1")
    assert res.returncode == 0, log[-3000:]
    return log


def _check_log(log: str) -> None:
    errors = [line for line in log.splitlines() if line.startswith("!")]
    assert not errors, errors
    assert "File `" not in log or "not found" not in log
    overfull = [float(x) for x in re.findall(r"Overfull \\[hv]box \(([\d.]+)pt too", log)]
    assert max(overfull, default=0.0) <= MAX_OVERFULL_PT, sorted(overfull)[-5:]
    assert "undefined" not in log.lower().replace("undefined references", "") or \
        "Reference" not in log  # no undefined reference left after the second run


def test_two_column_paper_with_two_figures_a_derivation_and_three_numbers(tmp_path):
    """As documented in tex/gradproof.sty: the report folder copied next to the main file
    (as gradproof/), gradproof.sty next to the main file, \\gpfiguredir relative to the main
    file. One figure drawn for the page (figure*, both columns), one for a column, and the
    column version (figure-<id>-column.tex) of a two-panel page figure; the LSTM full-state
    derivation is the widest of the report."""
    shutil.copytree(GENERATED, tmp_path / "gradproof")
    shutil.copy(GENERATED / "tex/gradproof.sty", tmp_path / "gradproof.sty")
    numbers = (GENERATED / "tex/numbers.tex").read_text()
    macros = re.findall(r"\\newcommand\{(\\gp[A-Za-z]+)\}\{\\ensuremath\{-", numbers)[:2]
    macros += re.findall(r"\\newcommand\{(\\gp[A-Za-z]+)\}\{\\ensuremath\{\d", numbers)[:1]
    assert len(macros) == 3
    body = "\n".join([
        r"\documentclass[twocolumn]{article}", r"\usepackage{gradproof}",
        r"\renewcommand{\gpfiguredir}{gradproof/figures}", r"\begin{document}",
        r"\input{gradproof/tex/numbers}",
        "Quoted: " + ", ".join(macros) + ".",
        r"\input{gradproof/tex/figure-underflow-vs-vanishing}",
        r"\input{gradproof/tex/figure-lstm-terms}",
        # the column version of a two-panel page figure (panels stacked), and its natural
        # width measured by TeX against the column
        r"\input{gradproof/tex/figure-rnn-bound-column}",
        r"\sbox0{\includegraphics{\gpfiguredir/rnn-bound-column.pdf}}"
        r"\typeout{GPWIDTH \the\wd0{} COLUMN \the\columnwidth}",
        r"\sbox1{\includegraphics{\gpfiguredir/underflow-vs-vanishing.pdf}}"
        r"\typeout{GPPAGE \the\wd1{} TEXT \the\textwidth}",
        r"\input{gradproof/tex/derivation-lstm-full-state}",
        r"\nocite{*}", r"\bibliographystyle{plain}", r"\bibliography{gradproof/tex/gradproof}",
        r"\end{document}"])
    log = _compile(tmp_path, body, bibtex=True)  # every BibTeX entry typeset too
    _check_log(log)
    assert "gradproof/figures/underflow-vs-vanishing.pdf" in log  # the figures were found
    assert "gradproof/figures/lstm-terms.pdf" in log
    assert "gradproof/figures/rnn-bound-column.pdf" in log
    # TeX's own measure: the column PDF is 3.17 in = 229.1 pt wide, the standard article class's
    # two-column \\columnwidth is 229.5 pt (measured here), so \\includegraphics[width=\\columnwidth]
    # prints it at >= 100 % (a 7 pt text at >= 7 pt), and wider columns (ACM acmart's documented
    # 241 pt, IEEEtran's 252 pt) print it larger
    natural, column = (float(v) for v in re.search(r"GPWIDTH ([\d.]+)pt[{} ]*COLUMN ([\d.]+)pt", log).groups())
    assert natural == pytest.approx(COLUMN_WIDTH_IN * 72.27, abs=0.05)
    assert column == 229.5 and 1 <= column / natural < 1.01
    # and a page figure (figure*, \\textwidth = 469 pt here) prints at >= 100 % too
    page, text = (float(v) for v in re.search(r"GPPAGE ([\d.]+)pt[{} ]*TEXT ([\d.]+)pt", log).groups())
    assert page == pytest.approx(PAGE_WIDTH_IN * 72.27, abs=0.05)
    assert 1 <= text / page < 1.01


def test_every_derivation_fragment_fits_a_column_and_numbers_model_equations_once(tmp_path):
    """All seven derivations in one two-column paper (with TEXINPUTS, the other documented
    way to find gradproof.sty): no overfull box above 5 pt, and the LSTM model equations,
    shared by three derivations, are typeset (and numbered) once."""
    tex = GENERATED / "tex"
    ders = sorted(p.stem for p in tex.glob("derivation-*.tex"))
    assert len(ders) == 7
    body = "\n".join([r"\documentclass[twocolumn]{article}", r"\usepackage{gradproof}",
                      r"\begin{document}"] + [rf"\input{{{tex / d}}}" for d in ders]
                     + [r"\end{document}"])
    log = _compile(tmp_path, body, env_texinputs=f"{tex}:")
    _check_log(log)
    aux = (tmp_path / "paper.aux").read_text()
    lstm_defs = re.findall(r"\\newlabel\{eq:lstm-[0-9a-f]{8}-i_t\}", aux)
    assert len(lstm_defs) == 1, lstm_defs


@pytest.mark.parametrize("hidden", [1])
def test_derive_lstm_latex_compiles(tmp_path, hidden, capsys):
    """`gradproof derive lstm --hidden 1 --format latex` (amsmath only) compiles with no
    overfull box above 5 pt; its lines stay short."""
    from gradproof.reports.cli import main

    assert main(["derive", "lstm", "--hidden", str(hidden), "--format", "latex"]) == 0
    out = capsys.readouterr().out
    assert max(len(line) for line in out.splitlines()) < 400
    (tmp_path / "derivation.tex").write_text(out)
    body = "\n".join([r"\documentclass{article}", r"\usepackage{amsmath}", r"\allowdisplaybreaks",
                      r"\begin{document}", r"\input{derivation}", r"\end{document}"])
    _check_log(_compile(tmp_path, body))


@pytest.mark.slow
def test_derive_lstm_hidden_2_latex_has_short_lines_and_compiles(tmp_path, capsys):
    """n = 2 (about 20 s): every entry of the 2x2 blocks broken into rows; before the layout the
    output was 622 KB with a 235,768-character line."""
    from gradproof.reports.cli import main

    assert main(["derive", "lstm", "--hidden", "2", "--format", "latex"]) == 0
    out = capsys.readouterr().out
    assert max(len(line) for line in out.splitlines()) < 400 and len(out) < 200_000
    (tmp_path / "derivation.tex").write_text(out)
    body = "\n".join([r"\documentclass[twocolumn]{article}", r"\usepackage{amsmath}",
                      r"\allowdisplaybreaks", r"\begin{document}", r"\input{derivation}",
                      r"\end{document}"])
    _check_log(_compile(tmp_path, body))
