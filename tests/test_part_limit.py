"""Zip bombs: a part that would inflate beyond 1 GiB makes the workbook unreadable before it is
parsed, and a part whose header understates its size is never inflated past what it declares."""

from __future__ import annotations

import datetime as dt
import struct
import subprocess
import sys
import tracemalloc
import zipfile
import zlib
from pathlib import Path

import pytest

from addin.actions import AppendRows, SetCells, row
from addin.workbook import deflate
from addin.workbook.reader import WorkbookUnreadable, load
from addin.workbook.writer import BadWorkbook, apply

INVOICES_PART = "xl/worksheets/sheet3.xml"  # the book below: Settings, Customers, Invoices, Log
MB = 1 << 20


def bomb(src: Path, dst: Path, part: str, spaces_mb: int, *, lie: bool = False) -> Path:
    """``src`` rezipped by hand with ``part`` followed by ``spaces_mb`` MB of spaces (still its XML),
    deflated in blocks that each restart the stream, so that a 1 GB part is built in a blink and
    takes about 1 KB a MB on disk. ``lie``: its headers declare the size of the part alone."""
    with zipfile.ZipFile(src) as z:
        parts = [(i.filename, z.read(i.filename)) for i in z.infolist()]
    entries = []
    for name, data in parts:
        c = zlib.compressobj(9, zlib.DEFLATED, -15)
        if name != part:
            entries.append((name, c.compress(data) + c.flush(), zlib.crc32(data), len(data), len(data)))
            continue
        spaces = b" " * MB
        head = c.compress(data) + c.flush(zlib.Z_FULL_FLUSH)
        block = c.compress(spaces) + c.flush(zlib.Z_FULL_FLUSH)
        assert c.compress(spaces) + c.flush(zlib.Z_FULL_FLUSH) == block  # a block repeats as it is
        crc = zlib.crc32(data)
        for _ in range(spaces_mb):
            crc = zlib.crc32(spaces, crc)
        size = len(data) + spaces_mb * MB
        entries.append((name, head + block * spaces_mb + c.flush(), crc, size, len(data) if lie else size))
    with open(dst, "wb") as f:
        central = []
        for name, raw, crc, _, declared in entries:
            offset = f.tell()
            encoded = name.encode()
            f.write(struct.pack("<4s5H3L2H", b"PK\x03\x04", 20, 0, 8, 0, 0x21, crc, len(raw), declared,
                                len(encoded), 0) + encoded + raw)
            central.append(struct.pack("<4s6H3L5H2L", b"PK\x01\x02", 20, 20, 0, 8, 0, 0x21, crc, len(raw), declared,
                                       len(encoded), 0, 0, 0, 0, 0, offset) + encoded)
        start = f.tell()
        f.write(b"".join(central))
        f.write(struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, len(central), len(central),
                            f.tell() - start, start, 0))
    return dst


@pytest.fixture
def book(make_workbook) -> Path:
    return make_workbook({
        "Settings": [["Key", "Value"], ["company_name", "Maple Books Ltd"]],
        "Customers": [["Customer ID", "Name", "Status", "Email"], ["C1", "Acme Ltd", "Active", "ap@acme.example"]],
        "Invoices": [["Invoice No", "Customer ID", "Invoice Date", "Due Date", "Amount"],
                     ["INV-1", "C1", dt.date(2026, 3, 1), dt.date(2026, 3, 31), 100]],
        "Log": [["Time", "Action", "Target"]]})


TOO_LARGE = ("part xl/worksheets/sheet3.xml would inflate to 1.1 GB, "
             "beyond the 1 GiB a workbook part may hold")


def test_a_part_that_would_inflate_beyond_1_gib_makes_the_workbook_unreadable_before_it_is_parsed(
        book: Path, tmp_path: Path) -> None:
    path = bomb(book, tmp_path / "books.xlsx", INVOICES_PART, 1050)  # 1.1 GB of XML in 1 MB
    assert path.stat().st_size < 2 * MB
    with zipfile.ZipFile(path) as z:
        assert z.getinfo(INVOICES_PART).file_size > deflate.PART_LIMIT
    result = subprocess.run([sys.executable, "-m", "addin", "check", str(path)], capture_output=True,
                            text=True, encoding="utf-8", timeout=120)
    assert result.returncode == 2
    assert result.stderr.strip().endswith(
        f"{path}: {TOO_LARGE} — this is not a workbook Excel saved; open it in Excel and save it again")
    with pytest.raises(WorkbookUnreadable) as info:
        load(path)
    assert str(info.value) == (
        f"{path}: {TOO_LARGE} — this is not a workbook Excel saved; open it in Excel and save it again")


def test_the_writer_refuses_a_part_declared_beyond_the_limit(book: Path, tmp_path: Path) -> None:
    path = bomb(book, tmp_path / "books.xlsx", INVOICES_PART, 1050)
    with pytest.raises(BadWorkbook) as info:
        apply(path, tmp_path / "out.xlsx", [AppendRows("Log", (row(Action="x"),))])
    assert str(info.value) == f"books.xlsx: {TOO_LARGE}"
    with zipfile.ZipFile(path) as z, open(path, "rb") as f, pytest.raises(zipfile.BadZipFile) as refused:
        next(deflate.read_part(f, z.getinfo(INVOICES_PART)))
    assert str(refused.value) == TOO_LARGE


def test_a_lower_limit_is_the_one_checked(book: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(deflate, "PART_LIMIT", 100)
    with pytest.raises(WorkbookUnreadable, match=r"would inflate to 0\.0 GB, beyond the 1 GiB"):
        load(book)


def test_a_part_whose_header_understates_its_size_is_never_inflated_past_it(book: Path, tmp_path: Path) -> None:
    path = bomb(book, tmp_path / "books.xlsx", INVOICES_PART, 200, lie=True)  # declares a few hundred bytes
    with zipfile.ZipFile(path) as z:
        info = z.getinfo(INVOICES_PART)
    assert info.file_size < 2000
    # python-calamine (the Rust zip crate) stops at the declared size: unreadable, nothing parsed
    with pytest.raises(WorkbookUnreadable) as unreadable:
        load(path)
    assert "larger than its declared uncompressed size" in str(unreadable.value)
    # deflate.read_part, even given the whole part at once (as the error-cell scan does), holds
    # no more than the declared size: 200 MB are never inflated
    tracemalloc.start()
    try:
        with open(path, "rb") as f, pytest.raises(zipfile.BadZipFile) as refused:
            b"".join(deflate.read_part(f, info, block=info.compress_size))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert str(refused.value) == f"{INVOICES_PART}: it inflates beyond the {info.file_size} bytes declared"
    assert peak < 5 * MB
    with pytest.raises(BadWorkbook) as info_writer:
        apply(path, tmp_path / "out.xlsx", [SetCells("Invoices", "Invoice No", "INV-1", row(Amount=5))])
    assert str(info_writer.value) == (
        f"books.xlsx: {INVOICES_PART}: it inflates beyond the {info.file_size} bytes declared")
