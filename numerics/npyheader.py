"""Read .npy / .npz headers without loading the arrays, and load only what the headers promise.

A weights or inputs file may come from anywhere. Before any array is allocated, its header is
read (``np.lib.format.read_magic`` + ``read_array_header_{1,2}_0``, on the file itself or on each
member of the .npz zip archive) and checked: a plain numeric dtype (no objects, no structured
records, no pickles), a shape of non-negative integers, and a data size
``prod(shape) * itemsize`` equal to the bytes that follow the header (the member's declared
uncompressed size in an archive) -- so a header that lies about its shape, a truncated file, a
plain .npy renamed .npz, a zip that is not an .npz, or a broken deflate stream is refused with one
line (``InputError``) instead of an allocation or a traceback. The sizes from the headers are
what the work and memory budgets are checked on (``numerics.models``), before loading.

Archives: at most ``MAX_MEMBERS = 4096`` members (a flattened training checkpoint with optimizer
state and many layers has hundreds), counted from the zip's end-of-central-directory record before
the central directory itself is parsed, so an archive declaring millions of entries costs nothing.
Only the members asked for are read (:func:`load_npz`), after checking that each one's declared data
is at most ``MAX_MEMBER_BYTES`` and their total at most ``MAX_LOAD_BYTES`` and what the process can
still allocate (``numerics.limits.available_bytes``): the budget binds on the sizes the headers
declare (checked equal to the members' declared uncompressed sizes), before any data is read.
"""

from __future__ import annotations

import math
import os
import struct
import zipfile
import zlib
from dataclasses import dataclass

import numpy as np

from gradproof.numerics.errors import InputError
from gradproof.numerics.limits import available_bytes, format_bytes

__all__ = ["ArrayHeader", "read_npy_header", "read_npz_headers", "load_npy", "load_npz",
           "MAX_MEMBERS", "MAX_MEMBER_BYTES", "MAX_LOAD_BYTES", "NPY_MAGIC"]

NPY_MAGIC = b"\x93NUMPY"
ZIP_MAGIC = b"PK\x03\x04"
MAX_MEMBERS = 4096
#: the data one loaded member may declare, and all loaded members together (bytes)
MAX_MEMBER_BYTES = 2 ** 31
MAX_LOAD_BYTES = 2 ** 32
_EOCD = b"PK\x05\x06"
_MAX_HEADER = 10_000
_ERRORS = (OSError, ValueError, EOFError, zipfile.BadZipFile, zlib.error, KeyError,
           NotImplementedError, SyntaxError, TypeError, OverflowError, RuntimeError)


@dataclass(frozen=True)
class ArrayHeader:
    """What a .npy header declares: shape, dtype (as text), memory order, data bytes."""

    name: str
    shape: tuple[int, ...]
    dtype: str
    fortran_order: bool
    data_bytes: int


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _header(fp, name: str, where: str, available: int) -> ArrayHeader:
    fmt = np.lib.format
    try:
        version = fmt.read_magic(fp)
        if version == (1, 0):
            shape, fortran, dtype = fmt.read_array_header_1_0(fp, max_header_size=_MAX_HEADER)
        elif version == (2, 0):
            shape, fortran, dtype = fmt.read_array_header_2_0(fp, max_header_size=_MAX_HEADER)
        else:
            raise InputError(f"{where}: {name} has .npy format version {version}, which is not "
                             "supported (save with numpy.save / numpy.savez)")
    except InputError:
        raise
    except _ERRORS as exc:
        raise InputError(f"{where}: {name} has no valid .npy header ({_first_line(exc)})") from None
    if dtype.hasobject or dtype.fields is not None or dtype.subdtype is not None:
        raise InputError(f"{where}: {name} has dtype {dtype}, not a plain numeric array")
    if dtype.kind not in "fiu":
        raise InputError(f"{where}: {name} is not a numeric array (dtype {dtype})")
    if not (isinstance(shape, tuple) and all(isinstance(s, int) and s >= 0 for s in shape)):
        raise InputError(f"{where}: {name} declares an invalid shape {shape!r}")
    data_bytes = math.prod(shape) * dtype.itemsize
    header_bytes = fp.tell()
    if data_bytes != available - header_bytes:
        raise InputError(f"{where}: {name} declares shape {shape} of {dtype} ({data_bytes} bytes) "
                         f"but {available - header_bytes} bytes follow its header (a lying or "
                         "truncated header)")
    return ArrayHeader(name=name, shape=shape, dtype=str(dtype), fortran_order=bool(fortran),
                       data_bytes=data_bytes)


def _magic(path: str) -> bytes:
    try:
        with open(path, "rb") as fh:
            return fh.read(6)
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror or exc}") from None


def read_npy_header(path) -> ArrayHeader:
    """The header of a single-array .npy file (checked against the file's size)."""
    path = os.fspath(path)
    head = _magic(path)
    if head[:4] == ZIP_MAGIC:
        raise InputError(f"{path} is a zip (.npz) archive, not a single .npy array")
    if head != NPY_MAGIC:
        raise InputError(f"{path} is not a .npy file (it does not start with the .npy magic)")
    with open(path, "rb") as fh:
        return _header(fh, os.path.basename(path), path, os.fstat(fh.fileno()).st_size)


def _declared_members(path: str) -> int | None:
    """The member count of the zip's end-of-central-directory record (0xFFFF: 65535 or more, zip64),
    or None when there is no such record (zipfile then says what is wrong)."""
    try:
        with open(path, "rb") as fh:
            size = os.fstat(fh.fileno()).st_size
            tail_len = min(size, 22 + 0xFFFF)  # the record (22 bytes) and a comment of at most 64 KiB
            fh.seek(size - tail_len)
            tail = fh.read(tail_len)
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror or exc}") from None
    at = tail.rfind(_EOCD)
    if at < 0 or len(tail) - at < 22:
        return None
    return struct.unpack("<H", tail[at + 10:at + 12])[0]  # total number of entries in the directory


def _too_many(path: str, count: int, atleast: bool = False) -> InputError:
    return InputError(f"{path} holds {count}{' or more' if atleast else ''} members, more than an .npz of "
                      f"weights or a flattened checkpoint may ({MAX_MEMBERS} at most)")


def _archive(path: str) -> zipfile.ZipFile:
    head = _magic(path)
    if head == NPY_MAGIC:
        raise InputError(f"{path} is a single .npy array, not an .npz archive of named arrays "
                         "(save the state_dict with numpy.savez)")
    declared = _declared_members(path)
    if declared is not None and declared > MAX_MEMBERS:  # before zipfile parses the directory
        raise _too_many(path, declared, atleast=declared == 0xFFFF)
    try:
        return zipfile.ZipFile(path)
    except _ERRORS as exc:
        raise InputError(f"{path} is not an .npz archive ({_first_line(exc)})") from None


def _members(zf: zipfile.ZipFile, path: str) -> dict[str, zipfile.ZipInfo]:
    infos = zf.infolist()
    if len(infos) > MAX_MEMBERS:
        raise _too_many(path, len(infos))
    out: dict[str, zipfile.ZipInfo] = {}
    for info in infos:
        if not info.filename.endswith(".npy"):
            raise InputError(f"{path}: member {info.filename!r} is not a .npy array")
        key = info.filename[:-4]
        if key in out:
            raise InputError(f"{path}: member {info.filename!r} appears twice")
        out[key] = info
    return out


def read_npz_headers(path) -> dict[str, ArrayHeader]:
    """Headers of every member of an .npz archive (key -> header), nothing loaded."""
    path = os.fspath(path)
    with _archive(path) as zf:
        headers = {}
        for key, info in _members(zf, path).items():
            try:
                with zf.open(info) as fp:
                    headers[key] = _header(fp, key, path, info.file_size)
            except InputError:
                raise
            except _ERRORS as exc:
                raise InputError(f"{path}: member {key} cannot be read ({_first_line(exc)})") from None
        return headers


def load_npz(path, keys) -> dict[str, np.ndarray]:
    """The arrays ``keys`` of an .npz archive, each read only after its header was checked."""
    path = os.fspath(path)
    headers = read_npz_headers(path)
    wanted = [headers[k] for k in dict.fromkeys(keys) if k in headers]
    for h in wanted:
        if h.data_bytes > MAX_MEMBER_BYTES:
            raise InputError(f"{path}: member {h.name} declares {h.data_bytes} bytes of data (shape {h.shape}), "
                             f"more than the {MAX_MEMBER_BYTES} one array may have")
    total = sum(h.data_bytes for h in wanted)
    if total > MAX_LOAD_BYTES:
        raise InputError(f"{path}: the {len(wanted)} arrays needed declare {total} bytes of data, more than "
                         f"the budget of {MAX_LOAD_BYTES}")
    have, label = available_bytes()
    if have is not None and total > have:
        raise InputError(f"{path}: the {len(wanted)} arrays needed declare {format_bytes(total)} of data, more "
                         f"than the {format_bytes(have)} left under the {label}")
    out = {}
    with _archive(path) as zf:
        for key in keys:
            if key not in headers:
                continue
            try:
                with zf.open(key + ".npy") as fp:
                    out[key] = np.lib.format.read_array(fp, allow_pickle=False)
            except MemoryError:
                raise
            except _ERRORS as exc:
                raise InputError(f"{path}: member {key} cannot be read ({_first_line(exc)})") from None
    return out


def load_npy(path) -> np.ndarray:
    """The array of a .npy file, read only after its header was checked."""
    path = os.fspath(path)
    read_npy_header(path)
    try:
        with open(path, "rb") as fh:
            return np.lib.format.read_array(fh, allow_pickle=False)
    except MemoryError:
        raise
    except _ERRORS as exc:
        raise InputError(f"cannot read {path}: {_first_line(exc)}") from None
