"""Reading the sheet XML: the stream of rows, the cells of a row and what each shows.

A sheet is read in blocks as HEAD (up to ``<sheetData>``), then ROWS (rows one after another,
as Excel writes them), ROW and GAP chunks (the text between rows), then TAIL (from
``</sheetData>`` on); joined, the chunks give the file back byte for byte (``split_rows``
gives the rows of a ROWS chunk). Sheets whose main namespace has a prefix (``<x:row>``) are
read the same way.
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
HEAD, GAP, ROW, TAIL, ROWS = range(5)


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
        self.numbers_first = re.compile(rb"<" + p + rb"row r=\"(\d+)\"").findall  # rows whose tag starts with r
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


def split_rows(rows: bytes, close: bytes) -> list[bytes]:
    """The rows of a ROWS chunk, each without its end tag ``close``."""
    out = rows.split(close)
    out.pop()  # b"" after the last end tag
    return out


def row_numbers(rows: bytes, count: int, rx: Rx) -> list[int] | None:
    """The numbers of the ``count`` rows of a ROWS chunk when each row's tag starts with it
    (``<row r="12"``, as Excel, openpyxl and xlsxwriter write), else None."""
    found = rx.numbers_first(rows)
    return list(map(int, found)) if len(found) == count else None


def chunks(stream: BinaryIO, block: int = BLOCK) -> Iterator[tuple[int, bytes]]:
    """The sheet XML as HEAD, then ROWS, ROW and GAP chunks, then TAIL; joined they give the file back.

    A ROWS chunk is rows one after another, each with its start and end tag and nothing between
    them (as Excel, openpyxl and xlsxwriter write them): a block's rows, read in one piece. The
    rest (text between rows, empty rows ``<row/>``) comes as GAP and ROW chunks. Rows are cut at
    their end tags, a block at a time (``bytes.split``)."""
    buf = stream.read(block)
    rx = rx_of(buf)  # the first block tells the namespace prefix
    m = rx.sheet_data.search(buf)
    while m is None:
        data = stream.read(block)
        if not data:
            raise BadWorkbook("a sheet has no <sheetData> element")
        buf += data
        m = rx.sheet_data.search(buf)
    yield HEAD, buf[:m.end()]
    rest = buf[m.end():]
    if m.group(1) != b"/":  # <sheetData/> has no rows
        close, end_data, open_tag = rx.close_row, rx.end_data, rx.row_open
        ended = False
        while not ended:
            end = rest.find(end_data)
            if end >= 0:
                text, rest, ended = rest[:end], rest[end:], True
            else:
                data = stream.read(block)
                if not data:
                    raise BadWorkbook("a sheet ends inside <sheetData>")
                text = rest + data
            i = text.rfind(close)
            cut = i + len(close) if i >= 0 else 0
            rows, last = text[:cut], text[cut:]  # the text after the last end tag waits for the next block
            if not ended:
                rest = last
            count = rows.count(close)
            if count and rows.startswith(open_tag) and rows.count(open_tag) == count == rows.count(close + open_tag) + 1:
                yield ROWS, rows
            else:
                pieces = rows.split(close)
                pieces.pop()
                one_each = rows.count(open_tag) == len(pieces)  # a piece that starts with its row holds no other
                for piece in pieces:
                    if one_each and piece.startswith(open_tag):
                        yield ROW, piece + close
                    else:
                        yield from _piece(piece, rx, close)
        yield from _piece(last, rx, b"")
    yield TAIL, rest + stream.read()


def _piece(piece: bytes, rx: Rx, close: bytes) -> Iterator[tuple[int, bytes]]:
    """The chunks of the text before a row's end tag ``close`` (b"": the text after the last row)."""
    open_tag, pos = rx.row_open, 0
    while (i := piece.find(open_tag, pos)) >= 0:
        if i > pos:
            yield GAP, piece[pos:i]
        k = piece.find(b">", i)
        if k > 0 and piece[k - 1] == 47:  # "/>": an empty row
            yield ROW, piece[i:k + 1]
            pos = k + 1
        elif close and piece.find(open_tag, i + 1) < 0:
            yield ROW, piece[i:] + close
            return
        else:
            raise BadWorkbook("a row of a sheet is not closed")
    if close:
        raise BadWorkbook("a sheet closes a row it did not open")
    if pos < len(piece):
        yield GAP, piece[pos:]


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
