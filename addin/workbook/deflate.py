"""Deflate and inflate for the parts of a workbook's zip: python-isal where it is installed, else zlib.

python-isal wraps Intel's ISA-L: on a refresh's 40 MB Invoices sheet it deflates about four
times as fast as zlib at level 1 (for a slightly smaller part) and inflates about twice as
fast; like zlib it leaves the GIL while it works. It is a dependency on every platform (wheels
for Windows, macOS and Linux); zlib remains the fallback where it cannot be imported, and the
streams of both are plain deflate, which any zip reader (Excel included) inflates.

``read_part`` reads one member of a zip as ``zipfile`` does (local header, inflate, CRC-32 and
size checked at the end), with this module's inflater: the writer's reads of a large sheet
and the checks that read a written file back use it. It never inflates more than the part's
directory entry declares, nor a part declared beyond ``PART_LIMIT`` (``oversized``), the size
no workbook part may pass (SPEC §2): a zip bomb is refused before it fills the memory.
"""

from __future__ import annotations

import struct
import zipfile
import zlib
from collections.abc import Generator, Iterable
from pathlib import Path
from types import ModuleType
from typing import Any, BinaryIO

_engine: ModuleType
try:
    from isal import isal_zlib as _engine
except ImportError:  # pragma: no cover - isal is a dependency; zlib keeps the add-in working without it
    _engine = zlib

_Error: type[Exception] = _engine.error  # what the inflater raises on a stream that is not deflate (read_part says BadZipFile)
LEVEL = 2 if _engine is not zlib else 1  # isal 2 ≈ zlib 1's size, 4x faster; zlib 1: 3x faster than 6
BLOCK = 1 << 20

PART_LIMIT = 1 << 30  # 1 GiB: a part declared larger makes the workbook unreadable (SPEC §2)

_LOCAL = struct.Struct("<4s2B4HL2L2H")  # zipfile's sizeFileHeader layout


def oversized(infos: Iterable[zipfile.ZipInfo]) -> str | None:
    """What is wrong with the first part whose directory entry declares more than PART_LIMIT
    bytes once inflated, or None. (python-calamine, as this module, stops a part that inflates
    beyond its declared size: the declared sizes are the ones to check.)"""
    for info in infos:
        if info.file_size > PART_LIMIT:
            return (f"part {info.filename} would inflate to {info.file_size / 1e9:.1f} GB, "
                    "beyond the 1 GiB a workbook part may hold")
    return None


def compressor() -> Any:
    """A raw deflate compressor (as zip stores a part): ``compress(data)``, ``flush()``."""
    return _engine.compressobj(LEVEL, zlib.DEFLATED, -15)


def crc32(data: bytes, value: int = 0) -> int:
    return _engine.crc32(data, value)


def read_part(f: BinaryIO, info: zipfile.ZipInfo, block: int = BLOCK) -> Generator[bytes, None, None]:
    """The bytes of one part of the zip open as ``f``, a block at a time, inflated as they are
    read; raises zipfile.BadZipFile when the part is not where its directory entry says, is
    encrypted or compressed otherwise than by deflate, or does not have its CRC-32 and size,
    at once when it is declared beyond PART_LIMIT and as soon as it inflates beyond the size
    declared (never holding more). Other users of ``f`` must not move it while this runs."""
    too_large = oversized((info,))
    if too_large is not None:
        raise zipfile.BadZipFile(too_large)
    f.seek(info.header_offset)
    head = f.read(_LOCAL.size)
    if len(head) != _LOCAL.size or head[:4] != b"PK\x03\x04":
        raise zipfile.BadZipFile(f"{info.filename}: no local header where the directory says")
    fields = _LOCAL.unpack(head)
    f.seek(fields[10] + fields[11], 1)  # the name and the extra field
    if info.flag_bits & 0x1:
        raise zipfile.BadZipFile(f"{info.filename}: encrypted")
    if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        raise zipfile.BadZipFile(f"{info.filename}: compressed with method {info.compress_type}")
    inflate = _engine.decompressobj(-15) if info.compress_type == zipfile.ZIP_DEFLATED else None
    left, crc, size, declared = info.compress_size, 0, 0, info.file_size
    while left > 0:
        raw = f.read(min(block, left))
        if not raw:
            raise zipfile.BadZipFile(f"{info.filename}: the file ends inside it")
        left -= len(raw)
        try:  # at most one byte more than declared: a bomb whose header lies stops here
            data = inflate.decompress(raw, declared - size + 1) if inflate is not None else raw
        except _Error:
            raise zipfile.BadZipFile(f"{info.filename}: its deflate stream is damaged") from None
        if size + len(data) > declared:
            raise zipfile.BadZipFile(f"{info.filename}: it inflates beyond the {declared} bytes declared")
        if data:
            crc = _engine.crc32(data, crc)
            size += len(data)
            yield data
    if inflate is not None:
        try:
            data = inflate.flush()
        except _Error:
            raise zipfile.BadZipFile(f"{info.filename}: its deflate stream is damaged") from None
        if data:
            crc = _engine.crc32(data, crc)
            size += len(data)
            yield data
        if not inflate.eof:
            raise zipfile.BadZipFile(f"{info.filename}: its deflate stream does not end")
    if crc != info.CRC or size != info.file_size:
        raise zipfile.BadZipFile(f"{info.filename}: bad CRC-32 or size")


class PartReader:
    """``read_part`` as a stream over its own handle of the file (so that other readers of the
    zip never move it): ``read(n)`` gives up to n bytes (all that is left for n < 0)."""

    def __init__(self, path: Path, info: zipfile.ZipInfo) -> None:
        self._file = open(path, "rb")  # noqa: SIM115 - closed by close()
        self._blocks = read_part(self._file, info, block=1 << 18)  # about 1-2 MB once inflated
        self._buffer = b""

    def read(self, n: int = -1) -> bytes:
        if n < 0:
            data, self._buffer = self._buffer + b"".join(self._blocks), b""
            return data
        while len(self._buffer) < n:
            block = next(self._blocks, None)
            if block is None:
                break
            self._buffer = self._buffer + block if self._buffer else block
        if len(self._buffer) <= n:
            data, self._buffer = self._buffer, b""
        else:
            data, self._buffer = self._buffer[:n], self._buffer[n:]
        return data

    def close(self) -> None:
        self._blocks.close()
        self._file.close()

    def __enter__(self) -> PartReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
