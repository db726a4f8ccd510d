"""Figures are byte-for-byte reproducible: two figures (one of them with a page and a column
drawing) rendered in two separate processes give identical PDF, SVG and PNG files, with no dates and no tool versions in their metadata
(matplotlib's own recipe, lib/matplotlib/tests/test_determinism.py)."""

import os
import struct
import subprocess
import sys
import zlib
from pathlib import Path

from gradproof.reports.determinism import FIGURE_FORMATS

ROOT = next(p for p in Path(__file__).resolve().parents if (p / "pyproject.toml").is_file())
FIGURE = "lstm-terms"
#: a two-panel figure: its page and column drawings are both checked
TWO_PANEL = "lstm-forget-bias"
STEMS = (FIGURE, TWO_PANEL, f"{TWO_PANEL}-column")


def _render_in_two_processes(tmp_path):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    env.pop("SOURCE_DATE_EPOCH", None)  # the build must set it itself
    outs = [tmp_path / "a", tmp_path / "b"]
    procs = [subprocess.Popen([sys.executable, "-m", "gradproof.reports.cli", "report", "--only",
                               FIGURE, TWO_PANEL, "--out", str(o), "-q"], cwd=ROOT, env=env,
                              stderr=subprocess.PIPE, text=True) for o in outs]
    for p in procs:
        _, err = p.communicate(timeout=300)
        assert p.returncode == 0, err
    return outs


def _png_chunks(data: bytes):
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, chunks = 8, []
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos:pos + 4])
        kind = data[pos + 4:pos + 8]
        body = data[pos + 8:pos + 8 + length]
        (crc,) = struct.unpack(">I", data[pos + 8 + length:pos + 12 + length])
        assert zlib.crc32(kind + body) == crc
        chunks.append((kind, body))
        pos += 12 + length
    return chunks


def test_figure_bytes_identical_across_processes_and_metadata_date_free(tmp_path):
    a, b = _render_in_two_processes(tmp_path)
    for stem in STEMS:
        for ext in FIGURE_FORMATS:
            fa = (a / "figures" / f"{stem}.{ext}").read_bytes()
            fb = (b / "figures" / f"{stem}.{ext}").read_bytes()
            assert len(fa) > 1000
            assert fa == fb, f"{stem}.{ext} differs between two processes"
    pdf = (a / "figures" / f"{FIGURE}.pdf").read_bytes()
    assert b"/CreationDate" not in pdf and b"/ModDate" not in pdf
    assert b"Matplotlib" not in pdf and b"/Creator (gradproof)" in pdf
    svg = (a / "figures" / f"{FIGURE}.svg").read_text()
    assert "<dc:date>" not in svg and "Matplotlib v" not in svg
    chunks = _png_chunks((a / "figures" / f"{FIGURE}.png").read_bytes())
    kinds = [k for k, _ in chunks]
    assert b"tIME" not in kinds
    texts = [body for k, body in chunks if k in (b"tEXt", b"iTXt", b"zTXt")]
    assert all(b"Matplotlib" not in t for t in texts)
    # 300 dpi = 11811 pixels per metre (pHYs, unit 1 = metre)
    (phys,) = [body for k, body in chunks if k == b"pHYs"]
    x, y, unit = struct.unpack(">IIB", phys)
    assert (x, y, unit) == (11811, 11811, 1)


def test_png_chunk_reader_rejects_a_corrupted_file():
    """The PNG checks above can fail: a flipped byte breaks a chunk's CRC."""
    import pytest

    from gradproof.reports.determinism import configure

    configure()
    import io

    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(1, 1))
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=50)
    plt.close(fig)
    data = bytearray(buf.getvalue())
    data[40] ^= 0xFF
    with pytest.raises(AssertionError):
        _png_chunks(bytes(data))
