"""Read ``.safetensors`` files without torch: the documented format, checked before any data is read.

Format (https://github.com/huggingface/safetensors, "Format"): 8 bytes, an unsigned little-endian
64-bit integer N; N bytes of UTF-8 JSON, an object mapping tensor names to
``{"dtype": D, "shape": [...], "data_offsets": [begin, end]}`` (offsets relative to the byte
buffer after the header), plus an optional ``"__metadata__"`` object of strings; then the byte
buffer, little-endian, row-major. The reference implementation requires the tensors to cover the
buffer without holes or overlaps.

Checks, in the style of ``numerics.npyheader`` (before any tensor is allocated): the header length
is at most ``MAX_HEADER`` bytes and fits in the file; the header is a JSON object (``json.loads``:
no code runs); at most ``MAX_TENSORS`` entries; every dtype is one of ``DTYPES`` (floats and
integers, no booleans, no 8-bit float variants); every shape a list of non-negative integers;
``end - begin == prod(shape) * itemsize``; the offsets sorted, without holes or overlaps, and the
last one equal to the buffer size. Anything else raises ``InputError`` with one line.

BF16 is decoded exactly by bit manipulation (a bfloat16 is the upper half of a float32:
``uint32(bits) << 16`` viewed as float32), F16/F32/F64 by numpy; the caller converts to float64
(exact for all four).
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass

import numpy as np

from gradproof.numerics.errors import InputError

__all__ = ["SafetensorsHeader", "read_safetensors_header", "load_safetensors", "DTYPES", "MAX_HEADER",
           "MAX_TENSORS"]

MAX_HEADER = 16 * 2 ** 20  # bytes of JSON header (the reference implementation allows 100 MB)
MAX_TENSORS = 4096
#: safetensors dtype -> (numpy dtype to read the bytes as, itemsize)
DTYPES = {"F64": ("<f8", 8), "F32": ("<f4", 4), "F16": ("<f2", 2), "BF16": ("<u2", 2),
          "I64": ("<i8", 8), "I32": ("<i4", 4), "I16": ("<i2", 2), "I8": ("i1", 1),
          "U64": ("<u8", 8), "U32": ("<u4", 4), "U16": ("<u2", 2), "U8": ("u1", 1)}


@dataclass(frozen=True)
class SafetensorsHeader:
    """One tensor's entry: name, dtype (safetensors name), shape, absolute byte range in the file."""

    name: str
    dtype: str
    shape: tuple
    start: int
    stop: int


def read_safetensors_header(path) -> dict:
    """name -> SafetensorsHeader for every tensor of the file (nothing but the header is read)."""
    path = os.fspath(path)
    try:
        with open(path, "rb") as fh:
            size = os.fstat(fh.fileno()).st_size
            head = fh.read(8)
            if len(head) < 8:
                raise InputError(f"{path} is not a .safetensors file (shorter than its 8-byte header length)")
            n = int.from_bytes(head, "little")
            if n > MAX_HEADER:
                raise InputError(f"{path}: the .safetensors header declares {n} bytes, more than the "
                                 f"{MAX_HEADER} accepted")
            if 8 + n > size:
                raise InputError(f"{path}: the .safetensors header declares {n} bytes but the file has "
                                 f"{size - 8} after the length (a lying or truncated header)")
            raw = fh.read(n)
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror or exc}") from None
    try:
        header = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise InputError(f"{path}: the .safetensors header is not UTF-8 JSON") from None
    if not isinstance(header, dict):
        raise InputError(f"{path}: the .safetensors header is not a JSON object")
    header.pop("__metadata__", None)
    if len(header) > MAX_TENSORS:
        raise InputError(f"{path} holds {len(header)} tensors, more than the {MAX_TENSORS} accepted")
    buffer = size - 8 - n
    out = {}
    for name, entry in header.items():
        if not isinstance(entry, dict) or set(entry) - {"dtype", "shape", "data_offsets"}:
            raise InputError(f"{path}: tensor {name!r} has a malformed header entry")
        dtype, shape, offs = entry.get("dtype"), entry.get("shape"), entry.get("data_offsets")
        if dtype not in DTYPES:
            raise InputError(f"{path}: tensor {name!r} has dtype {dtype!r}; supported: {', '.join(DTYPES)}")
        if not (isinstance(shape, list) and all(type(s) is int and s >= 0 for s in shape)):
            raise InputError(f"{path}: tensor {name!r} declares an invalid shape {shape!r}")
        if not (isinstance(offs, list) and len(offs) == 2 and all(type(o) is int for o in offs)
                and 0 <= offs[0] <= offs[1] <= buffer):
            raise InputError(f"{path}: tensor {name!r} has data offsets {offs!r} outside the {buffer}-byte buffer")
        nbytes = math.prod(shape) * DTYPES[dtype][1]
        if offs[1] - offs[0] != nbytes:
            raise InputError(f"{path}: tensor {name!r} declares shape {tuple(shape)} of {dtype} ({nbytes} bytes) "
                             f"but its data offsets span {offs[1] - offs[0]} bytes")
        out[name] = SafetensorsHeader(name=name, dtype=dtype, shape=tuple(shape), start=8 + n + offs[0],
                                      stop=8 + n + offs[1])
    pos = 8 + n
    for h in sorted(out.values(), key=lambda h: (h.start, h.stop)):
        if h.start != pos:
            raise InputError(f"{path}: the .safetensors tensors overlap or leave a hole at byte {pos}")
        pos = h.stop
    if pos != size:
        raise InputError(f"{path}: {size - pos} bytes follow the last tensor (a lying or padded file)")
    return out


def _decode(raw: bytes, h: SafetensorsHeader) -> np.ndarray:
    code, _ = DTYPES[h.dtype]
    a = np.frombuffer(raw, dtype=code)
    if h.dtype == "BF16":  # exact: a bfloat16 is the upper 16 bits of a float32
        a = (a.astype(np.uint32) << np.uint32(16)).view(np.float32)
    return a.reshape(h.shape)


def load_safetensors(path, names=None) -> dict:
    """The tensors ``names`` (all when None) as numpy arrays (BF16 as float32, exactly)."""
    path = os.fspath(path)
    headers = read_safetensors_header(path)
    out = {}
    try:
        with open(path, "rb") as fh:
            for name in (headers if names is None else names):
                if name not in headers:
                    continue
                h = headers[name]
                fh.seek(h.start)
                raw = fh.read(h.stop - h.start)
                if len(raw) != h.stop - h.start:
                    raise InputError(f"{path}: tensor {name!r} is truncated")
                out[name] = _decode(raw, h)
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror or exc}") from None
    return out
