"""The command line's surroundings: standard output, encodings, matplotlib, dependency warnings.

* :func:`prepare_environment`: gradproof chooses its own non-interactive matplotlib backend
  (``MPLBACKEND=Agg``, so a bogus ``MPLBACKEND`` cannot break an import) and drops matplotlib's
  log lines about an unusable config/cache folder (an unwritable ``HOME``: matplotlib then uses
  a temporary folder, which changes nothing in the output).
* :class:`GuardedStdout`: writes to standard output that fail -- closed (``>&-``), full
  (``>/dev/full``), any I/O error -- become :class:`StdoutError` (one line, exit 2), a closed
  pipe (``| head``) ends quietly with exit 0; afterwards the descriptor is pointed at /dev/null so
  that the interpreter's final flush cannot print a traceback. Characters the output encoding
  cannot hold (``PYTHONIOENCODING=ascii`` and a unicode path) are written as backslash escapes.
* :func:`captured_warnings`: warnings raised by dependencies while a command runs are recorded;
  the command line prints at most one summary line instead of their raw text.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import sys
import warnings

__all__ = ["prepare_environment", "GuardedStdout", "StdoutError", "captured_warnings",
           "warning_summary", "silence_stdout"]


class StdoutError(Exception):
    """Standard output cannot be written (closed, full, I/O error)."""

    def __init__(self, exc: OSError | None):
        self.errno = getattr(exc, "errno", None)
        self.reason = (exc.strerror if exc is not None and exc.strerror else str(exc)) or "closed"
        super().__init__(self.reason)


class _MatplotlibConfigFilter(logging.Filter):
    _NOISE = ("mkdir -p failed for path", "created a temporary cache directory",
              "is not a writable directory", "Matplotlib is building the font cache")

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        return not any(n in message for n in self._NOISE)


_FILTER = _MatplotlibConfigFilter()


def prepare_environment() -> None:
    """Agg backend for matplotlib and no raw config-folder log lines (idempotent)."""
    os.environ["MPLBACKEND"] = "Agg"
    logger = logging.getLogger("matplotlib")
    if _FILTER not in logger.filters:
        logger.addFilter(_FILTER)


class _Closed:
    """Stands in for ``sys.stdout`` when descriptor 1 was closed before Python started."""

    encoding = "utf-8"
    errors = "strict"

    def write(self, text):
        if text:
            raise OSError(errno.EBADF, "standard output is closed")
        return 0

    def flush(self):
        return None

    def isatty(self):
        return False


class GuardedStdout:
    """A proxy for ``sys.stdout`` whose failing writes raise :class:`StdoutError`."""

    def __init__(self, stream):
        self._stream = stream if stream is not None else _Closed()
        self._restore_errors = None
        errors = getattr(self._stream, "errors", None)
        if errors == "strict" and hasattr(self._stream, "reconfigure"):
            with contextlib.suppress(Exception):
                self._stream.reconfigure(errors="backslashreplace")
                self._restore_errors = errors

    def write(self, text):
        try:
            return self._stream.write(text)
        except OSError as exc:
            raise StdoutError(exc) from None

    def flush(self):
        try:
            return self._stream.flush()
        except OSError as exc:
            raise StdoutError(exc) from None

    def restore(self) -> None:
        if self._restore_errors is not None:
            with contextlib.suppress(Exception):
                self._stream.reconfigure(errors=self._restore_errors)

    @property
    def real(self):
        return self._stream

    def __getattr__(self, name):
        return getattr(self._stream, name)


def silence_stdout(stream) -> None:
    """After a failed write: drop what is buffered by pointing fd 1 at /dev/null (only for the
    process's real standard output, never for a replacement such as a test's capture)."""
    if stream is None or stream is not sys.__stdout__:
        return
    with contextlib.suppress(Exception):
        fd = stream.fileno()
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, fd)
        os.close(devnull)


@contextlib.contextmanager
def captured_warnings():
    """Record every warning raised within the block (none is printed)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("default")
        yield caught


def warning_summary(caught) -> str | None:
    """One line for the recorded warnings, or None."""
    if not caught:
        return None
    first = caught[0]
    text = " ".join(str(first.message).split())[:300]
    more = f" (+{len(caught) - 1} more)" if len(caught) > 1 else ""
    return f"gradproof: warning: {first.category.__name__} from a dependency: {text}{more}"
