"""Sweep progress: a tqdm bar (rate, ETA) on a terminal, a line every N points otherwise, or
nothing (``-q``). Written to stderr so that stdout carries only results."""

from __future__ import annotations

import sys
import time

__all__ = ["Progress", "format_seconds"]


def format_seconds(s: float) -> str:
    """``42 s``, ``3.5 min``, ``2.1 h``."""
    if s < 90:
        return f"{s:.0f} s" if s >= 10 else f"{s:.2g} s"
    if s < 5400:
        return f"{s / 60:.1f} min"
    return f"{s / 3600:.1f} h"


class Progress:
    """``mode``: "bar" (tqdm), "lines" (one line per ``every`` points), "off"; or "auto":
    bar when ``stream`` is a terminal, lines otherwise."""

    def __init__(self, total: int, done: int, mode: str = "auto", stream=None, every: int | None = None):
        self.stream = sys.stderr if stream is None else stream
        if mode == "auto":
            mode = "bar" if getattr(self.stream, "isatty", lambda: False)() else "lines"
        self.mode = mode
        self.total, self.done = total, done
        self.start_done = done
        self.t0 = time.perf_counter()
        self.every = every or max(1, -(-(total - done) // 10))  # about 10 lines
        self._next = done + self.every
        self._bar = None
        if mode == "bar":
            from tqdm import tqdm

            self._bar = tqdm(total=total, initial=done, unit="pt", file=self.stream, desc="sweep",
                             smoothing=0.1, dynamic_ncols=True)

    def update(self, n: int) -> None:
        self.done += n
        if self._bar is not None:
            self._bar.update(n)
        elif self.mode == "lines" and (self.done >= self._next or self.done == self.total):
            self._next = self.done + self.every
            el = time.perf_counter() - self.t0
            rate = (self.done - self.start_done) / el if el > 0 else float("inf")
            eta = (self.total - self.done) / rate if rate > 0 else float("inf")
            print(f"sweep: {self.done}/{self.total} points ({100 * self.done / self.total:.0f}%), "
                  f"{rate:.3g} points/s, ETA {format_seconds(eta)}", file=self.stream, flush=True)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None
