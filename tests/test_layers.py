"""The three layers import only downward: numerics <- derivations <- reports (application).

Checked twice, independently: statically, from the import statements of every module of the
installed package (ast), and at run time, from ``sys.modules`` after the numeric commands ran
in a fresh interpreter.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import gradproof

ROOT = Path(gradproof.__file__).resolve().parent
LAYERS = {"numerics": 0, "derivations": 1, "reports": 2}
#: third-party packages a layer may not import (SymPy lives in derivations and above only)
FORBIDDEN = {"numerics": {"sympy"}}


def _modules(layer: str):
    return sorted((ROOT / layer).rglob("*.py"))


def _imported(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


@pytest.mark.parametrize("layer", list(LAYERS))
def test_imports_point_downward(layer):
    bad = []
    for path in _modules(layer):
        for name in _imported(path):
            parts = name.split(".")
            if parts[0] == "gradproof" and len(parts) > 1 and parts[1] in LAYERS:
                if LAYERS[parts[1]] > LAYERS[layer]:
                    bad.append(f"{path.relative_to(ROOT)} imports {name}")
            if parts[0] in FORBIDDEN.get(layer, ()):
                bad.append(f"{path.relative_to(ROOT)} imports {name}")
    assert not bad, bad


def test_the_package_has_all_three_layers():
    assert all(_modules(layer) for layer in LAYERS)


@pytest.mark.parametrize("argv", [
    ["product", "lstm", "--hidden", "2", "--steps", "5"],
    ["product", "rnn", "--hidden", "2", "--steps", "5", "--engine", "certified", "--json"],
    ["horizon", "--factor", "0.5"],
    ["horizon", "gru", "--hidden", "2", "--steps", "5"],
])
def test_numeric_commands_never_import_sympy(argv):
    code = ("import sys\nfrom gradproof.reports.cli import main\n"
            f"status = main({argv!r})\n"
            "sys.stdout.flush()\n"
            "print('SYMPY-LOADED' if 'sympy' in sys.modules else 'SYMPY-ABSENT', status)\n")
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip().splitlines()[-1] == "SYMPY-ABSENT 0"


def test_import_gradproof_is_light():
    code = ("import sys, gradproof\n"
            "heavy = sorted(m for m in ('sympy', 'matplotlib', 'flint', 'mpmath', 'ml_dtypes') if m in sys.modules)\n"
            "print(','.join(heavy) or 'none')\n")
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert p.stdout.strip() == "none", p.stdout + p.stderr


def test_installed_as_one_package():
    """Only ``gradproof`` is importable at the top: the user's folders are its subpackages."""
    import importlib.util

    for name in ("derivations", "numerics", "reports"):
        spec = importlib.util.find_spec(f"gradproof.{name}")
        assert spec is not None and Path(spec.origin).parent == ROOT / name


def test_wheel_installs_only_gradproof(tmp_path):
    """The wheel's top-level entries are ``gradproof/`` and its metadata, nothing else (no
    ``numerics``, ``reports`` or ``derivations`` packages that would shadow PyPI's)."""
    import shutil
    import zipfile

    repo = Path(__file__).resolve().parents[1]
    src = tmp_path / "src"  # a copy, so the build leaves no build/ or egg-info in the checkout
    shutil.copytree(repo, src, ignore=shutil.ignore_patterns(".git", ".venv*", "build", "*.egg-info",
                                                            "generated", "__pycache__", ".hypothesis"))
    p = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path), str(src)],
                       capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, p.stderr
    (wheel,) = tmp_path.glob("gradproof-*.whl")
    tops = {name.split("/")[0] for name in zipfile.ZipFile(wheel).namelist()}
    assert {t for t in tops if not t.endswith((".dist-info", ".data"))} == {"gradproof"}
    names = zipfile.ZipFile(wheel).namelist()
    assert "gradproof/__init__.py" in names and "gradproof/numerics/engines.py" in names
    # every module of every layer is packaged (a new subpackage must be listed in pyproject)
    sources = {f"gradproof/{p.relative_to(src).as_posix()}" for layer in LAYERS
               for p in (src / layer).rglob("*.py")}
    assert sources <= set(names), sorted(sources - set(names))
    assert not any(n.startswith("gradproof/tests/") or "/generated/" in n for n in names)


def test_foreign_numerics_and_reports_in_the_working_folder_do_not_shadow_gradproof(tmp_path):
    """A notebook folder with its own ``numerics.py`` and ``reports/`` package (first on
    sys.path) does not break gradproof: its layers are ``gradproof.numerics`` etc."""
    (tmp_path / "numerics.py").write_text("raise ImportError('the user numerics.py was imported')\n")
    (tmp_path / "reports").mkdir()
    (tmp_path / "reports" / "__init__.py").write_text("raise ImportError('the user reports/ was imported')\n")
    (tmp_path / "derivations.py").write_text("raise ImportError('the user derivations.py was imported')\n")
    code = ("import json, gradproof\n"
            "from gradproof.reports.cli import main\n"
            "r = gradproof.product('lstm', hidden=4, steps=100)\n"
            "print(json.dumps(r.log10_norm))\n")
    p = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    q = subprocess.run([sys.executable, "-m", "gradproof.reports.cli", "product", "lstm", "--hidden", "4",
                        "--steps", "100", "--json"], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert q.returncode == 0, q.stderr
    import json

    assert json.loads(p.stdout) == json.loads(q.stdout)["log10_norm"]
