"""report.html in a real browser: every equation, table and figure fits the text column.

Headless Chromium lays out the committed report (a copy with tests/browser_widths.js injected:
the report itself has no script) at five widths -- a desktop window (1000 px, the 60 rem
column), a narrow one (700 px), the narrowest window headless Chromium opens (500 px) and two
phone widths (375 and 320 px, as an iframe of that width in a host page, since the window itself
cannot be narrower than 500 px; the report's media queries apply to the iframe's viewport) --
and checks it twice:

* boxes: the script records each equation, table, figure or pre block whose box extends past
  the column (or past the table cell holding it), or that scrolls;
* pixels (slow test, run with -m slow): a screenshot of the whole page must have no ink
  outside the column (a formula's glyphs could overflow its own box; the screenshot sees what
  a reader sees).

CI installs Chromium when it is absent (.ci/run); the test fails, never skips, without it.
Oracle: the browser's own layout and rasteriser (Blink/Skia), independent of the width estimate
that broke the rows (derivations.layout.visible_width).
"""

import html as htmllib
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = next(p for p in Path(__file__).resolve().parents if (p / "pyproject.toml").is_file())
GENERATED = ROOT / "reports" / "generated"
SCRIPT = Path(__file__).with_name("browser_widths.js")


def _chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    raise AssertionError("Chromium is not installed (apt-get install -y chromium); .ci/run "
                         "installs it in CI")


def _run(page: Path, args: list[str], profile: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [_chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--no-first-run", f"--user-data-dir={profile}", *args, page.as_uri()],
        capture_output=True, text=True, timeout=300)


def _page() -> Path:
    """A copy of report.html with the measuring script, next to the report (relative links)."""
    page = GENERATED / ".browser-test.html"
    text = (GENERATED / "report.html").read_text(encoding="utf-8")
    page.write_text(text.replace("</body>", f"<script>{SCRIPT.read_text()}</script>\n</body>"),
                    encoding="utf-8")
    return page


PHONE_WIDTHS = (375, 320)  # below Chromium's smallest window: measured in an iframe


def _host(page: Path, width: int) -> Path:
    """A page holding ``page`` in an iframe ``width`` px wide; the iframe's script posts its
    measurement, which the host writes on its own body (what --dump-dom prints)."""
    host = page.with_name(f".browser-host-{width}.html")
    host.write_text(
        "<!DOCTYPE html><html><head><meta charset=\"utf-8\"></head><body style=\"margin:0\">"
        f"<iframe src=\"{page.name}\" style=\"width:{width}px;height:2000px;border:0\"></iframe>"
        "<script>window.addEventListener('message',function(e){var b=document.body,d=e.data;"
        "b.setAttribute('data-column',d.column);b.setAttribute('data-checked',d.checked);"
        "b.setAttribute('data-overflow',d.overflow);b.setAttribute('data-overflow-count',d.count);});"
        "</script></body></html>", encoding="utf-8")
    return host


def _measure(page: Path, width: int, tmp: Path) -> dict:
    if width in PHONE_WIDTHS:
        host = _host(page, width)
        try:
            res = _run(host, ["--window-size=1000,2000", "--virtual-time-budget=20000", "--dump-dom"],
                       str(tmp / f"profile-dom-{width}"))
        finally:
            host.unlink(missing_ok=True)
    else:
        res = _run(page, [f"--window-size={width},2000", "--virtual-time-budget=20000",
                          "--dump-dom"], str(tmp / f"profile-dom-{width}"))
    m = re.search(r'<body[^>]*data-column="(\d+),(\d+),(\d+)"[^>]*data-checked="(\d+)"'
                  r'[^>]*data-overflow="([^"]*)"[^>]*data-overflow-count="(\d+)"', res.stdout)
    assert m, f"no measurement (chromium exit {res.returncode}): {res.stderr[-500:]}"
    return {"left": int(m.group(1)), "right": int(m.group(2)), "height": int(m.group(3)),
            "checked": int(m.group(4)), "overflow": json.loads(htmllib.unescape(m.group(5))),
            "count": int(m.group(6))}


def _ink_outside(shot: Path, left: int, right: int) -> list[int]:
    """x positions (CSS px; left of ``left`` or right of ``right``, 4 px of slack) of pixel
    columns of the screenshot that hold ink (Pillow, matplotlib's own dependency)."""
    import numpy as np
    from PIL import Image

    with Image.open(shot) as img:
        grey = np.asarray(img.convert("L"))
    dark = (grey < 215).any(axis=0)  # a pixel column with any non-white pixel
    return [int(x) for x in np.nonzero(dark)[0] if x < left - 4 or x > right + 4]


def _steps() -> int:
    manifest = json.loads((GENERATED / "manifest.json").read_text())
    return sum(len(json.loads((GENERATED / f"data/{i}.json").read_text())["derivation"])
               for i, e in manifest["items"].items() if e["kind"] == "derivation")


@pytest.mark.parametrize("width", [1000, 700, 500, *PHONE_WIDTHS])
def test_every_equation_table_and_figure_box_fits_the_column(width, tmp_path):
    page = _page()
    try:
        out = _measure(page, width, tmp_path)
    finally:
        page.unlink(missing_ok=True)
    assert out["checked"] > _steps()  # the script saw at least one element per step
    assert out["count"] == 0, out["overflow"]
    assert out["right"] - out["left"] > width / 2


@pytest.mark.slow
@pytest.mark.parametrize("width", [1000, 700])
def test_no_ink_outside_the_column_in_a_full_page_screenshot(width, tmp_path):
    """The pixels (about 75 s per width: a 50,000 px tall page is rasterised)."""
    page = _page()
    try:
        out = _measure(page, width, tmp_path)
        shot = tmp_path / f"page-{width}.png"
        res = _run(page, [f"--window-size={width},{out['height']}", f"--screenshot={shot}"],
                   str(tmp_path / "profile-shot"))
        assert shot.exists(), res.stderr[-500:]
    finally:
        page.unlink(missing_ok=True)
    outside = _ink_outside(shot, out["left"], out["right"])
    assert not outside, f"ink outside the column [{out['left']}, {out['right']}] at x = {outside[:10]}"
