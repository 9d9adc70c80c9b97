"""addin.workbook.deflate: parts read as zipfile reads them, their CRC-32 and size checked."""

from __future__ import annotations

import zipfile
import zlib
from pathlib import Path

import pytest

from addin.workbook import deflate
from addin.workbook.deflate import PartReader, read_part

BROKEN = zipfile.BadZipFile  # a bad header, CRC or size, a stream that does not inflate: each said so
TEXT = b"".join(b'<row r="%d"><c r="A%d"><v>%d</v></c></row>' % (n, n, n * 7) for n in range(1, 20_000))


def zip_of(path: Path, method: int = zipfile.ZIP_DEFLATED) -> Path:
    with zipfile.ZipFile(path, "w", method) as z:
        z.writestr("small.xml", b"<a/>")
        z.writestr("xl/worksheets/sheet1.xml", TEXT)
        z.writestr("empty.xml", b"")
    return path


@pytest.mark.parametrize("method", [zipfile.ZIP_DEFLATED, zipfile.ZIP_STORED], ids=["deflated", "stored"])
def test_a_part_reads_as_zipfile_reads_it(tmp_path: Path, method: int) -> None:
    path = zip_of(tmp_path / "a.zip", method)
    with zipfile.ZipFile(path) as z, open(path, "rb") as f:
        for info in z.infolist():
            assert b"".join(read_part(f, info, block=1000)) == z.read(info)
    with zipfile.ZipFile(path) as z:
        info = z.getinfo("xl/worksheets/sheet1.xml")
    with PartReader(path, info) as part:
        pieces = []
        while piece := part.read(777):
            assert len(piece) <= 777
            pieces.append(piece)
    assert b"".join(pieces) == TEXT
    with PartReader(path, info) as part:
        assert part.read(10) + part.read(-1) == TEXT


def test_a_part_written_with_our_deflater_reads_back_with_zlib() -> None:
    comp = deflate.compressor()
    raw = comp.compress(TEXT) + comp.flush()
    assert zlib.decompress(raw, -15) == TEXT
    assert deflate.crc32(TEXT) == zlib.crc32(TEXT)
    assert deflate.crc32(TEXT[100:], deflate.crc32(TEXT[:100])) == zlib.crc32(TEXT)


def corrupt(path: Path, what: str) -> zipfile.ZipInfo:
    """Damage the sheet's entry of the zip at ``path``; its directory entry as it was."""
    with zipfile.ZipFile(path) as z:
        info = z.getinfo("xl/worksheets/sheet1.xml")
    data = bytearray(path.read_bytes())
    start = info.header_offset + 30 + len(info.filename.encode())
    if what == "byte":
        data[start + info.compress_size // 2] ^= 0x55
    elif what == "crc":
        info.CRC ^= 1
    elif what == "size":
        info.file_size += 1
    elif what == "header":
        data[info.header_offset] = 0
    elif what == "cut":
        data = data[:start + info.compress_size // 2]
    path.write_bytes(bytes(data))
    return info


@pytest.mark.parametrize("what", ["byte", "crc", "size", "header", "cut"])
def test_a_damaged_part_is_refused(tmp_path: Path, what: str) -> None:
    path = zip_of(tmp_path / "a.zip")
    info = corrupt(path, what)
    with open(path, "rb") as f, pytest.raises(BROKEN):
        for _ in read_part(f, info):
            pass


def test_encrypted_or_other_methods_are_refused(tmp_path: Path) -> None:
    path = zip_of(tmp_path / "a.zip")
    with zipfile.ZipFile(path) as z:
        info = z.getinfo("small.xml")
    info.flag_bits |= 0x1
    with open(path, "rb") as f, pytest.raises(zipfile.BadZipFile, match="encrypted"):
        list(read_part(f, info))
    info.flag_bits &= ~0x1
    info.compress_type = zipfile.ZIP_BZIP2
    with open(path, "rb") as f, pytest.raises(zipfile.BadZipFile, match="method"):
        list(read_part(f, info))
