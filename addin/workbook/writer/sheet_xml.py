"""Reading the sheet XML: the stream of rows, the cells of a row and what each shows.

A sheet is read in blocks as HEAD (up to ``<sheetData>``), then ROW and GAP chunks (the text
between rows), then TAIL (from ``</sheetData>`` on); joined, the chunks give the file back
byte for byte. Sheets whose main namespace has a prefix (``<x:row>``) are read the same way.
Also here: the shared strings a cell may point to, and the XML of a sheet a write creates.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import BinaryIO

from .. import schema
from ..cellref import letters, number
from .package import NS_R
from .report import BadWorkbook
from .xmltext import num_text, rich_text, root_prefix, unescape

BLOCK = 1 << 21  # bytes of a sheet read at a time
S_ATTR = re.compile(rb"\ss=\"(\d+)\"")  # the style of a cell or row, in its start tag
HEAD, GAP, ROW, TAIL = range(4)


class Rx:
    """Patterns for sheet XML whose main namespace uses ``prefix`` (usually none)."""

    def __init__(self, p: bytes) -> None:
        self.p = p
        self.sheet_data = re.compile(rb"<" + p + rb"sheetData(?=[\s/>])[^>]*?(/?)>")
        self.cell = re.compile(rb"<" + p + rb"c(?=[\s/>])([^>]*?)(?:/>|>(.*?)</" + p + rb"c>)", re.S)
        self.v = re.compile(rb"<" + p + rb"v(?:\s[^>]*)?(?:/>|>(.*?)</" + p + rb"v>)", re.S)
        self.is_ = re.compile(rb"<" + p + rb"is(?:\s[^>]*)?>(.*?)</" + p + rb"is>", re.S)
        self.f = re.compile(rb"<" + p + rb"f(?=[\s/>])")
        self.f_tag = b"<" + p + b"f"
        self.has_value = (b"<" + p + b"v", b"<" + p + b"is")
        self.f_text = re.compile(rb"<" + p + rb"f(?:\s[^>]*)?>(.*?)</" + p + rb"f>", re.S)
        self.dimension = re.compile(rb"(<" + p + rb"dimension\b[^>]*?\bref=\")([^\"]*)(\")")
        self.col = re.compile(rb"<" + p + rb"col\b([^>]*?)/?>")
        self.row_r = re.compile(rb"(\sr=\")(\d+)(\")")
        self.cell_r = re.compile(rb"(<" + p + rb"c\b[^>]*?\sr=\"[A-Z]{1,3})(\d+)(\")")
        self.close_row = b"</" + p + b"row>"
        self.row_open = b"<" + p + b"row"
        self.end_data = b"</" + p + b"sheetData>"


@lru_cache(maxsize=8)
def rx(prefix: bytes) -> Rx:
    return Rx(prefix)


class SharedStrings:
    """``sharedStrings.xml``, decoded in one pass when first needed."""

    # a plain string (one <t>, no entity) in group 1, anything else in group 2
    _SI = re.compile(rb"<(?:\w+:)?si(?:\s[^>]*)?(?:/>|>(?:<(?:\w+:)?t(?: xml:space=\"preserve\")?>([^<&]*)</(?:\w+:)?t>"
                     rb"(?=</(?:\w+:)?si>)|(.*?))</(?:\w+:)?si>)", re.S)

    def __init__(self, data: bytes) -> None:
        self.data = data
        self._texts: list[str] | None = None

    @property
    def texts(self) -> list[str]:
        if self._texts is None:
            self._texts = [(plain.decode("utf-8") if b"_x" not in plain else unescape(plain))
                           if plain or not other else rich_text(other)
                           for plain, other in self._SI.findall(self.data)]
            self.data = b""
        return self._texts

    def __getitem__(self, i: int) -> str:
        texts = self.texts
        return texts[i] if 0 <= i < len(texts) else ""


class SheetStream:
    """The sheet XML read ``block`` bytes at a time: the head, then rows one by one, then the tail."""

    def __init__(self, stream: BinaryIO, block: int = BLOCK) -> None:
        self.stream, self.block = stream, block
        self.buf = stream.read(block)
        self.rx = rx_of(self.buf)  # the first block tells the namespace prefix
        self.pos = 0
        self.eof = not self.buf
        self.end_at = self.buf.find(self.rx.end_data)
        self.empty = False

    def _more(self) -> None:
        data = self.stream.read(self.block)
        self.eof = not data
        self.buf = self.buf[self.pos:] + data
        self.pos = 0
        self.end_at = self.buf.find(self.rx.end_data)

    def _rest(self, start: int) -> bytes:
        parts = [self.buf[start:]]
        while chunk := self.stream.read(self.block):
            parts.append(chunk)
        self.buf, self.pos = b"", 0
        return b"".join(parts)

    def head(self) -> bytes:
        """Everything up to and including the ``<sheetData>`` start tag (``<sheetData/>`` ends the rows)."""
        m = self.rx.sheet_data.search(self.buf)
        while m is None:
            if self.eof:
                raise BadWorkbook("a sheet has no <sheetData> element")
            self._more()
            m = self.rx.sheet_data.search(self.buf)
        self.pos = m.end()
        self.end_at = self.buf.find(self.rx.end_data, self.pos)
        self.empty = m.group(1) == b"/"
        return self.buf[:m.end()]

    def next(self) -> tuple[int, bytes]:
        """The next GAP (text between rows), ROW, or at last the TAIL (from ``</sheetData>`` on)."""
        if self.empty:
            return TAIL, self._rest(self.pos)
        open_tag, close = self.rx.row_open, self.rx.close_row
        while True:
            buf, pos = self.buf, self.pos
            i = buf.find(open_tag, pos)
            if self.end_at >= 0 and (i < 0 or self.end_at < i):
                if self.end_at > pos:
                    self.pos = self.end_at
                    return GAP, buf[pos:self.end_at]
                return TAIL, self._rest(self.end_at)
            if i >= 0:
                if i > pos:
                    self.pos = i
                    return GAP, buf[pos:i]
                k = buf.find(b">", i)
                if k >= 0:
                    if buf[k - 1] == 47:  # "/>": an empty row
                        e = k + 1
                    else:
                        e = buf.find(close, k)
                        e = e + len(close) if e >= 0 else -1
                    if e > 0:
                        self.pos = e
                        return ROW, buf[i:e]
            if self.eof:
                raise BadWorkbook("a sheet ends inside <sheetData>")
            self._more()


def tokens(stream: BinaryIO, block: int = BLOCK) -> Iterator[tuple[int, bytes]]:
    """The sheet XML as HEAD, ROW and GAP chunks, then TAIL; joined they give the file back."""
    reader = SheetStream(stream, block)
    yield HEAD, reader.head()
    while True:
        kind, chunk = reader.next()
        yield kind, chunk
        if kind == TAIL:
            return


def rx_of(start: bytes) -> Rx:
    """The patterns for a sheet that starts with ``start``."""
    return rx(root_prefix(start, b"worksheet"))


def row_number(chunk: bytes, rx: Rx, previous: int) -> tuple[int, bool]:
    """(row number, whether the row says it) — ``r`` is optional in the file format."""
    end = chunk.find(b">")
    i = chunk.find(b' r="', 0, end)
    if i >= 0:
        return int(chunk[i + 4:chunk.find(b'"', i + 4)]), True
    m = rx.row_r.search(chunk, 0, end)
    return (int(m.group(2)), True) if m else (previous + 1, False)


@dataclass(frozen=True)
class CellMatch:
    """A ``<c>`` element of a row: its column, where it is in the row, its attributes and content."""

    col: int
    start: int
    end: int
    attrs: bytes
    inner: bytes | None
    has_ref: bool


_CELL_REF = re.compile(rb"\sr=\"([A-Z]{1,3})\d+\"")


def cells(body: bytes, rx: Rx) -> list[CellMatch]:
    """Every cell of a row, a cell without ``r`` taking the column after the one before."""
    out: list[CellMatch] = []
    col = 0
    for m in rx.cell.finditer(body):
        a = m.group(1)
        rm = _CELL_REF.search(a)
        col = number(rm.group(1).decode()) if rm else col + 1
        out.append(CellMatch(col, m.start(), m.end(), a, m.group(2), rm is not None))
    return out


_SIMPLE_IS = re.compile(rb"<(?:\w+:)?is><(?:\w+:)?t(?: xml:space=\"preserve\")?>([^<]*)</(?:\w+:)?t></(?:\w+:)?is>")


def cell_text(cell: CellMatch, rx: Rx, sst: SharedStrings) -> str:
    """What a cell shows, as text ('' for an empty cell); numbers as typed (``1001``)."""
    attrs, inner = cell.attrs, cell.inner
    if not inner:
        return ""
    i = attrs.find(b' t="')
    kind = attrs[i + 4:attrs.find(b'"', i + 4)] if i >= 0 else b"n"
    if kind == b"inlineStr":
        m = _SIMPLE_IS.match(inner)
        if m:
            raw = m.group(1)
            return unescape(raw) if b"&" in raw or b"_x" in raw else raw.decode("utf-8")
        m = rx.is_.search(inner)
        return rich_text(m.group(1)) if m else ""
    m = rx.v.search(inner)
    if not m or m.group(1) is None:
        return ""
    v = m.group(1)
    if kind == b"s":
        try:
            return sst[int(v)]
        except ValueError:
            return ""
    if kind == b"b":
        return "TRUE" if v.strip() in (b"1", b"true") else "FALSE"
    if kind in (b"str", b"e", b"d"):
        return unescape(v)
    return num_text(v.decode())


@lru_cache(maxsize=256)
def _ref_prefix(col: int) -> bytes:
    return b' r="' + letters(col).encode()


def find_cell(chunk: bytes, rx: Rx, col: int, row: int) -> CellMatch | None:
    """The cell of ``col`` in a row chunk; fast when cells carry their ``r`` (as Excel writes)."""
    i = chunk.find(_ref_prefix(col) + str(row).encode() + b'"')
    if i >= 0:
        start = chunk.rfind(b"<", 0, i)
        m = rx.cell.match(chunk, start)
        if m:
            return CellMatch(col, m.start(), m.end(), m.group(1), m.group(2), True)
    return next((c for c in cells(chunk, rx) if c.col == col), None)


def row_is_blank(chunk: bytes, rx: Rx, sst: SharedStrings) -> bool:
    return all(not cell_text(c, rx, sst).strip() for c in cells(chunk, rx))


def new_sheet_xml(name: str) -> bytes:
    """A new, empty sheet with a frozen header row and the schema's column widths."""
    cols = b""
    if schema.normalize(name) in schema.SHEETS_BY_KEY:
        cols = b"".join(f'<col min="{i}" max="{i}" width="{c.width}" customWidth="1"/>'.encode()
                        for i, c in enumerate(schema.sheet(name).columns, 1))
        cols = b"<cols>" + cols + b"</cols>" if cols else b""
    return (b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\r\n'
            b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="'
            + NS_R + b'"><dimension ref="A1"/><sheetViews><sheetView workbookViewId="0">'
            b'<pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" state="frozen"/>'
            b'<selection pane="bottomLeft" activeCell="A2" sqref="A2"/></sheetView></sheetViews>'
            b'<sheetFormatPr defaultRowHeight="15"/>' + cols + b'<sheetData/>'
            b'<pageMargins left="0.7" right="0.7" top="0.75" bottom="0.75" header="0.3" footer="0.3"/>'
            b"</worksheet>")
