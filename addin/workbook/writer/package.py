"""The zip package: its parts found through relationships, and the new zip written from it.

Reading: the parts by name (case-insensitive, as OPC compares them), their relationships, a
large part as a stream inflated by ``deflate``. Writing: every entry the write does not change
is copied byte for byte (same compressed bytes, same order, same directory record); changed
parts are deflated anew; the package relationships and content types get the entries a new
sheet needs and lose the calculation chain when it goes.
"""

from __future__ import annotations

import posixpath
import re
import struct
import tempfile
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from .. import deflate
from ..deflate import PartReader
from .report import BadWorkbook
from .xmltext import attrs, unescape

BLOCK = 1 << 21  # bytes copied or spooled at a time
NS_R = b"http://schemas.openxmlformats.org/officeDocument/2006/relationships"
REL_WORKSHEET = NS_R.decode() + "/worksheet"
CT_WORKSHEET = "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"
CONTENT_TYPES = "[Content_Types].xml"


def rels_name(part: str) -> str:
    """The relationships part of ``part`` (``xl/_rels/workbook.xml.rels``)."""
    folder, name = posixpath.split(part)
    return posixpath.join(folder, "_rels", name + ".rels")


def _resolve(source_part: str, target: str) -> str:
    if target.startswith("/"):
        return target[1:]
    return posixpath.normpath(posixpath.join(posixpath.dirname(source_part), target))


@dataclass(frozen=True)
class Rel:
    """One internal relationship: its id, type and the part it targets (resolved)."""

    id: str
    type: str
    target: str


class Package:
    """The zip of the source workbook, read part by part."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.file = open(path, "rb")  # noqa: SIM115 - closed in close()
        try:
            self.zip = zipfile.ZipFile(self.file)
        except zipfile.BadZipFile as exc:
            self.file.close()
            raise BadWorkbook(f"{path.name}: not an .xlsx workbook ({exc})") from None
        self.infos = self.zip.infolist()
        too_large = deflate.oversized(self.infos)
        if too_large is not None:
            self.close()
            raise BadWorkbook(f"{path.name}: {too_large}")
        self.names = {i.filename.casefold(): i.filename for i in self.infos}
        self.by_name = {i.filename: i for i in self.infos}

    def close(self) -> None:
        self.zip.close()
        self.file.close()

    def find(self, part: str) -> str | None:
        """The entry's name as stored, or None."""
        return self.names.get(part.casefold())

    def read(self, part: str) -> bytes:
        name = self.find(part)
        if name is None:
            raise BadWorkbook(f"the workbook has no part {part}")
        return self.zip.read(name)

    def open(self, part: str) -> BinaryIO:
        """A stream of the part, inflated by ``deflate`` on its own handle of the file."""
        name = self.find(part)
        if name is None:
            raise BadWorkbook(f"the workbook has no part {part}")
        return PartReader(self.path, self.by_name[name])  # type: ignore[return-value]

    def rels(self, part: str) -> list[Rel]:
        """The internal relationships of ``part`` ("" for the package's own)."""
        name = self.find(rels_name(part))
        if name is None:
            return []
        out = []
        for m in re.finditer(rb"<(?:\w+:)?Relationship\b[^>]*>", self.zip.read(name)):
            a = attrs(m.group())
            if a.get(b"TargetMode", b"").lower() == b"external":
                continue
            target = _resolve(part, unescape(a.get(b"Target", b"")))
            target = self.find(target) or target  # as stored: zip names compare regardless of case
            out.append(Rel(unescape(a.get(b"Id", b"")), unescape(a.get(b"Type", b"")), target))
        return out


# --- edits of the small parts ----------------------------------------------------------------


class Edits:
    """The small parts a write replaces (whole), and those it drops."""

    def __init__(self, pkg: Package) -> None:
        self.pkg = pkg
        self.parts: dict[str, bytes] = {}
        self.removed: set[str] = set()

    def put(self, part: str, xml: bytes) -> None:
        self.parts[self.pkg.find(part) or part] = xml

    def change(self, part: str, change: Callable[[bytes], bytes]) -> None:
        """``part`` as ``change(xml)`` makes it, from its latest edit."""
        name = self.pkg.find(part)
        if name is None:
            raise BadWorkbook(f"the workbook has no part {part}")
        self.parts[name] = change(self.parts.get(name) or self.pkg.read(name))


def insert_before_close(xml: bytes, local: bytes, item: bytes) -> bytes:
    """``item`` put just before the closing tag of ``local``."""
    m = re.search(rb"</(?:\w+:)?" + local + rb">", xml)
    if m is None:
        raise BadWorkbook(f"no </{local.decode()}> element where one is required")
    return xml[:m.start()] + item + xml[m.start():]


def add_sheet(edits: Edits, workbook_part: str, rel_id: str, sheet_part: str) -> None:
    """The relationship and content type of a new sheet part."""
    target = posixpath.relpath(sheet_part, posixpath.dirname(workbook_part))
    rel = f'<Relationship Id="{rel_id}" Type="{REL_WORKSHEET}" Target="{target}"/>'.encode()
    edits.change(rels_name(workbook_part), lambda x: insert_before_close(x, b"Relationships", rel))
    ct = f'<Override PartName="/{sheet_part}" ContentType="{CT_WORKSHEET}"/>'.encode()
    edits.change(CONTENT_TYPES, lambda x: insert_before_close(x, b"Types", ct))


def drop_calc_chain(edits: Edits, workbook_part: str, calc_chain_part: str) -> None:
    """The calculation chain removed, with its relationship and content type."""
    edits.removed.add(edits.pkg.find(calc_chain_part) or calc_chain_part)
    part_name = re.escape(("/" + calc_chain_part).encode())
    edits.change(CONTENT_TYPES, lambda x: re.sub(
        rb"<(?:\w+:)?Override\b[^>]*\bPartName=\"" + part_name + rb"\"[^>]*/>", b"", x, flags=re.I))
    edits.change(rels_name(workbook_part), lambda x: re.sub(
        rb"<(?:\w+:)?Relationship\b[^>]*\bType=\"[^\"]*/calcChain\"[^>]*/>", b"", x))


# --- the new zip -----------------------------------------------------------------------------

_LOCAL = struct.Struct("<IHHHHHIIIHH")
_CENTRAL = struct.Struct("<IHHHHHHIIIHHHHHII")
_END = struct.Struct("<IHHHHIIH")


@dataclass
class Deflated:
    """A part compressed ahead of time, so the zip can be assembled in the original order."""

    data: BinaryIO
    crc: int
    size: int
    csize: int


def deflated(chunks: Iterable[bytes], what: str) -> Deflated:
    """``chunks`` deflated into a spooled file (in memory up to 64 MB); ``what``: the part, as a
    message names it. A part beyond ``deflate.PART_LIMIT`` is refused: the add-in would not read
    the workbook again."""
    spool = tempfile.SpooledTemporaryFile(max_size=64 << 20)  # noqa: SIM115 - closed by write_zip
    try:
        comp = deflate.compressor()
        crc = size = 0
        for chunk in chunks:
            crc = deflate.crc32(chunk, crc)
            size += len(chunk)
            spool.write(comp.compress(chunk))
        spool.write(comp.flush())
        csize = spool.tell()
        if size > deflate.PART_LIMIT:  # the reader would refuse the workbook (SPEC §2); a zip without zip64 holds 4 GB
            raise BadWorkbook(f"{what} would pass 1 GiB, the most a workbook's part may hold: "
                              "move old rows to another workbook")
    except BaseException:
        spool.close()
        raise
    spool.seek(0)
    return Deflated(spool, crc, size, csize)  # type: ignore[arg-type]


def _central_records(f: BinaryIO) -> tuple[list[bytes], bytes]:
    """The raw central directory records of a zip, and its comment."""
    f.seek(0, 2)
    size = f.tell()
    f.seek(max(0, size - 65_557))
    tail = f.read()
    i = tail.rfind(b"PK\x05\x06")
    if i < 0:
        raise BadWorkbook("not a zip file")
    _, _, _, _, count, cd_size, cd_offset, clen = _END.unpack_from(tail, i)
    if count == 0xFFFF or cd_offset == 0xFFFFFFFF:
        raise BadWorkbook("zip64 workbooks (over 4 GB) are not supported")
    comment = tail[i + 22:i + 22 + clen]
    f.seek(cd_offset)
    cd = f.read(cd_size)
    records = []
    pos = 0
    while pos + 46 <= len(cd) and cd[pos:pos + 4] == b"PK\x01\x02":
        nlen, elen, clen2 = struct.unpack_from("<HHH", cd, pos + 28)
        end = pos + 46 + nlen + elen + clen2
        records.append(cd[pos:end])
        pos = end
    return records, comment


def _dos_time(date_time: tuple[int, ...]) -> tuple[int, int]:
    y, mo, d, h, mi, s = date_time[:6]
    return (h << 11) | (mi << 5) | (s // 2), ((max(y, 1980) - 1980) << 9) | (mo << 5) | d


class _ZipOut:
    """Writes a zip: raw copies of entries of another zip, and new deflated entries."""

    def __init__(self, f: BinaryIO) -> None:
        self.f = f
        self.central: list[bytes] = []

    def copy(self, src: BinaryIO, info: zipfile.ZipInfo, record: bytes) -> None:
        offset = self.f.tell()
        src.seek(info.header_offset)
        header = src.read(30)
        sig, *_, nlen, elen = _LOCAL.unpack(header)
        if sig != 0x04034B50:
            raise BadWorkbook(f"damaged zip entry {info.filename}")
        length = nlen + elen + info.compress_size
        self.f.write(header)
        while length:
            data = src.read(min(length, BLOCK))
            if not data:
                raise BadWorkbook(f"truncated zip entry {info.filename}")
            self.f.write(data)
            length -= len(data)
        if info.flag_bits & 0x08:  # a data descriptor follows the data
            desc = src.read(16)
            self.f.write(desc if desc[:4] == b"PK\x07\x08" else desc[:12])
        if struct.unpack_from("<I", record, 42)[0] == 0xFFFFFFFF:
            raise BadWorkbook("zip64 workbooks are not supported")
        self.central.append(record[:42] + struct.pack("<I", offset) + record[46:])

    def write(self, name: str, part: Deflated, date_time: tuple[int, ...]) -> None:
        offset = self.f.tell()
        raw_name = name.encode("utf-8")
        flags = 0x0800 if not name.isascii() else 0
        t, d = _dos_time(date_time)
        self.f.write(_LOCAL.pack(0x04034B50, 20, flags, 8, t, d, part.crc, part.csize, part.size,
                                 len(raw_name), 0) + raw_name)
        while data := part.data.read(BLOCK):
            self.f.write(data)
        part.data.close()
        self.central.append(_CENTRAL.pack(0x02014B50, 20, 20, flags, 8, t, d, part.crc, part.csize,
                                          part.size, len(raw_name), 0, 0, 0, 0, 0, offset) + raw_name)

    def finish(self, comment: bytes) -> None:
        start = self.f.tell()
        cd = b"".join(self.central)
        self.f.write(cd)
        n = len(self.central)
        if n > 0xFFFF:
            raise BadWorkbook("too many parts in the workbook")
        self.f.write(_END.pack(0x06054B50, 0, 0, n, n, len(cd), start, len(comment)) + comment)


def write_zip(pkg: Package, dst: Path, sheets: dict[str, Deflated], edits: Edits,
              now: tuple[int, ...]) -> None:
    """``dst``: the package's entries in their order, copied byte for byte unless ``sheets``
    (deflated) or ``edits`` replace them or ``edits`` drops them; then the new sheets."""
    records, comment = _central_records(pkg.file)
    if len(records) != len(pkg.infos):
        raise BadWorkbook("the zip directory cannot be read")
    with open(dst, "wb") as f:
        out = _ZipOut(f)
        for info, record in zip(pkg.infos, records, strict=True):
            name = info.filename
            if name in edits.removed:
                continue
            if name in sheets:
                out.write(name, sheets.pop(name), info.date_time)
            elif name in edits.parts:
                out.write(name, deflated((edits.parts[name],), name), info.date_time)
            else:
                out.copy(pkg.file, info, record)
        for name, part in sheets.items():  # sheets this write created
            out.write(name, part, now)
        out.finish(comment)
