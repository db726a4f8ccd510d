"""report.html in a real browser: every equation, table and figure fits the text column.

Headless Chromium lays out the committed report (a copy with tests/browser_widths.js injected:
the report itself has no script) at two window widths -- a desktop window (1000 px, the 60 rem
column) and a narrow one (700 px) -- and the script records each element whose box extends past
the column or that scrolls. CI installs Chromium when it is absent (.ci/run); the test fails,
never skips, without it.

Oracle: the browser's own layout engine (Blink), independent of the width estimate that broke
the rows (derivations.layout.visible_width).
"""

import html as htmllib
import json
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
GENERATED = ROOT / "reports" / "generated"
SCRIPT = Path(__file__).with_name("browser_widths.js")


def _chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    raise AssertionError("Chromium is not installed (apt-get install -y chromium); .ci/run "
                         "installs it in CI")


def _layout(width: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        page = GENERATED / ".browser-test.html"
        text = (GENERATED / "report.html").read_text(encoding="utf-8")
        text = text.replace("</body>", f"<script>{SCRIPT.read_text()}</script>\n</body>")
        page.write_text(text, encoding="utf-8")
        try:
            res = subprocess.run(
                [_chromium(), "--headless", "--no-sandbox", "--disable-gpu",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", f"--user-data-dir={tmp}",
                 f"--window-size={width},2000", "--dump-dom", page.as_uri()],
                capture_output=True, text=True, timeout=180)
        finally:
            page.unlink(missing_ok=True)
    m = re.search(r'<body[^>]*data-checked="(\d+)"[^>]*data-overflow="([^"]*)"'
                  r'[^>]*data-overflow-count="(\d+)"', res.stdout)
    assert m, f"no measurement in the dumped DOM (chromium exit {res.returncode}): {res.stderr[-500:]}"
    return {"checked": int(m.group(1)), "overflow": json.loads(htmllib.unescape(m.group(2))),
            "count": int(m.group(3))}


@pytest.mark.parametrize("width", [1000, 700])
def test_every_equation_table_and_figure_fits_the_column(width):
    out = _layout(width)
    manifest = json.loads((GENERATED / "manifest.json").read_text())
    steps = 0
    for item_id, entry in manifest["items"].items():
        if entry["kind"] == "derivation":
            steps += len(json.loads((GENERATED / f"data/{item_id}.json").read_text())["derivation"])
    assert out["checked"] > steps  # the script saw at least one element per step
    assert out["count"] == 0, out["overflow"]
