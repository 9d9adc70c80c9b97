"""Locating rows: one pass over a sheet gives its frozen ``Layout``.

The pass reads the header (row 1), the rows that hold a key some update looks for, the rows
with formulas, the last rows with values (to know the last record and the style of each
column's cells) and the XML around the rows; the sheet's Excel tables come from its
relationships. The planner decides from the layout alone.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import BinaryIO

from ..cellref import MAX_COLUMN, letters, number
from ..schema import normalize_all
from .package import Package
from .sheet_xml import (
    ROW,
    ROWS,
    S_ATTR,
    TAIL,
    Rx,
    SharedStrings,
    cell_text,
    cells,
    chunks,
    find_cell,
    row_is_blank,
    row_number,
    row_numbers,
    rx_of,
    split_rows,
)
from .xmltext import REF, attrs, norm, num_text, unescape

RECENT_ROWS = 64  # last rows with values looked at for blank-looking records and each column's style


@dataclass(frozen=True)
class Table:
    """An Excel table of the sheet: its part, its XML and its range (``totals`` rows at the bottom)."""

    part: str
    xml: bytes
    top: int
    left: int
    bottom: int
    right: int
    totals: int

    @property
    def display_name(self) -> str | None:
        m = re.search(rb"<(?:\w+:)?table\b[^>]*?\sdisplayName=\"([^\"]+)\"", self.xml)
        return unescape(m.group(1)) if m else None


@dataclass(frozen=True)
class Layout:
    """A sheet as the planner needs it.

    Attributes:
      name: the sheet's name as the workbook gives it.
      header: normalized header -> its column (the first of two alike).
      keys: row -> {column: normalized key} for the rows holding a key an update looks for.
      present: every row the sheet has, in order.
      candidates: the rows holding a value (row 1 aside), in order.
      blank: among the last RECENT_ROWS candidates, those whose values are all blank text.
      formula_rows: rows holding a formula.
      col_style: column -> the style of its cells in the last records, else of its ``<col>``.
      col_default: column -> the style of its ``<col>``.
      head / tail: the XML before and after the rows.
      tables: the sheet's Excel tables.
      defined_names: the workbook's defined names, (name, text).
    """

    name: str
    header: Mapping[str, int]
    keys: Mapping[int, Mapping[int, str]] = field(default_factory=dict)
    present: tuple[int, ...] = ()
    candidates: tuple[int, ...] = ()
    blank: frozenset[int] = frozenset()
    formula_rows: tuple[int, ...] = ()
    col_style: Mapping[int, int] = field(default_factory=dict)
    col_default: Mapping[int, int] = field(default_factory=dict)
    head: bytes = b""
    tail: bytes = b""
    tables: tuple[Table, ...] = ()
    defined_names: tuple[tuple[str, str], ...] = ()


def locate(stream: BinaryIO, name: str, wanted: Mapping[str, frozenset[str]], sst: SharedStrings,
           tables: tuple[Table, ...] = (), defined_names: tuple[tuple[str, str], ...] = ()) -> Layout:
    """The layout of the sheet read from ``stream``; ``wanted``: normalized header -> the
    normalized keys looked for in its column."""
    parts = chunks(stream)
    _, head = next(parts)
    rows = _Rows(rx_of(head), wanted, sst)
    tail = b""
    for kind, chunk in parts:
        if kind == ROWS:
            rows.block(chunk)
        elif kind == ROW:
            rows.row(chunk)
        elif kind == TAIL:
            tail = chunk
    return rows.layout(name, head, tail, tables, defined_names)


class _Rows:
    """What locate gathers from the rows, a block of rows at a time or row by row."""

    def __init__(self, rx: Rx, wanted: Mapping[str, frozenset[str]], sst: SharedStrings) -> None:
        self.rx, self.wanted, self.sst = rx, wanted, sst
        self.header: dict[str, int] = {}
        self.lookup: dict[int, _KeyText] = {}
        self.looked_for: dict[int, frozenset[str]] = {}
        self.key_rows: dict[int, list[int]] = {}  # column -> the rows whose key cell shows a text
        self.key_texts: dict[int, list[str]] = {}  # column -> that text, normalized all at once at the end
        self.present: list[int] = []
        self.candidates: list[int] = []
        self.formula_rows: list[int] = []
        self.recent: deque[tuple[int, bytes]] = deque(maxlen=RECENT_ROWS)
        self.previous = 0

    def block(self, chunk: bytes) -> None:
        """A ROWS chunk: when each row starts ``<row r="..."``, its rows are read together (a
        sheet's 100,000 rows cost a few calls a block), else one by one."""
        rx = self.rx
        rows = split_rows(chunk, rx.close_row)
        numbers = row_numbers(chunk, len(rows), rx)
        if numbers is None or 1 in numbers[1:]:  # a number not first in its row's tag; a header out of place
            for row in rows:
                self.row(row)
            return
        if numbers[0] == 1:  # the header
            self.row(rows[0])
            numbers, rows = numbers[1:], rows[1:]
            if not rows:
                return
        self.previous = numbers[-1]
        self.present += numbers
        f_tag, (has_v, has_is) = rx.f_tag, rx.has_value
        if f_tag in chunk:
            self.formula_rows += [n for n, row in zip(numbers, rows, strict=True) if f_tag in row and rx.f.search(row)]
        held = [(n, row) for n, row in zip(numbers, rows, strict=True) if has_v in row or has_is in row]
        self.candidates += [n for n, _ in held]
        self.recent.extend(held[-RECENT_ROWS:])
        for col, key_text in self.lookup.items():
            key_text.read_into(held, self.key_rows[col], self.key_texts[col])

    def row(self, chunk: bytes) -> None:
        rx = self.rx
        n, _ = row_number(chunk, rx, self.previous)
        self.previous = n
        self.present.append(n)
        if rx.f_tag in chunk and rx.f.search(chunk):
            self.formula_rows.append(n)
        if n == 1:
            for c in cells(chunk, rx):
                text = cell_text(c, rx, self.sst).strip()
                if text and norm(text) not in self.header:
                    self.header[norm(text)] = c.col
            self.looked_for = {self.header[h]: ks for h, ks in self.wanted.items() if h in self.header}
            self.lookup = {col: _KeyText(rx, col, self.sst) for col in self.looked_for}
            self.key_rows = {col: [] for col in self.lookup}
            self.key_texts = {col: [] for col in self.lookup}
            return
        has_v, has_is = rx.has_value
        if has_v in chunk or has_is in chunk:
            self.candidates.append(n)
            self.recent.append((n, chunk))
            for col, key_text in self.lookup.items():
                key_text.read_into([(n, chunk)], self.key_rows[col], self.key_texts[col])

    def layout(self, name: str, head: bytes, tail: bytes, tables: tuple[Table, ...],
               defined_names: tuple[tuple[str, str], ...]) -> Layout:
        rx = self.rx
        keys: dict[int, dict[int, str]] = {}
        for col, numbers in self.key_rows.items():
            looked_for = self.looked_for[col]
            for n, key in zip(numbers, normalize_all(self.key_texts[col]), strict=True):
                if key in looked_for:
                    keys.setdefault(n, {})[col] = key
        if len(self.key_rows) > 1:  # in sheet order
            keys = {n: keys[n] for n in self.present if n in keys}
        col_style: dict[int, int] = {}
        for _, chunk in reversed(self.recent):
            for c in cells(chunk, rx):
                s = S_ATTR.search(c.attrs)
                if s and c.col not in col_style:
                    col_style[c.col] = int(s.group(1))
        col_default: dict[int, int] = {}
        for m in rx.col.finditer(head):
            a = attrs(m.group(1))
            if b"style" in a and b"min" in a:
                for col in range(int(a[b"min"]), min(int(a.get(b"max", a[b"min"])), MAX_COLUMN) + 1):
                    col_style.setdefault(col, int(a[b"style"]))
                    col_default.setdefault(col, int(a[b"style"]))
        blank = frozenset(n for n, chunk in self.recent if row_is_blank(chunk, rx, self.sst))
        return Layout(name, self.header, keys, tuple(self.present), tuple(self.candidates), blank,
                      tuple(self.formula_rows), col_style, col_default, head, tail, tables, defined_names)


class _KeyText:
    """The text of the cell in ``col`` of rows (none for no cell or an empty one), as ``cell_text`` reads it.

    The usual shapes of a key cell (a number, a shared string, a plain inline string) are
    read with one regex; any other cell the way every cell is read.
    """

    def __init__(self, rx: Rx, col: int, sst: SharedStrings) -> None:
        self.rx, self.col, self.sst = rx, col, sst
        p = re.escape(rx.p)
        self.search = re.compile(
            rb"<" + p + rb"c r=\"" + letters(col).encode() + rb"\d+\"(?: s=\"\d+\")?(?: t=\"(s|n|inlineStr)\")?>"
            rb"(?:<" + p + rb"v>([^<&]*)</" + p + rb"v>|<" + p + rb"is><" + p + rb"t(?: xml:space=\"preserve\")?>([^<&]*)</"
            + p + rb"t></" + p + rb"is>)</" + p + rb"c>").search

    def read_into(self, rows: list[tuple[int, bytes]], numbers: list[int], texts: list[str]) -> None:
        """Add to ``numbers`` and ``texts`` the number and text of each of ``rows`` (number, XML)
        whose cell shows a text."""
        for (n, chunk), m in zip(rows, map(self.search, [chunk for _, chunk in rows]), strict=True):
            if m is None:
                shown = self._slow(chunk, n)
            else:
                text = m.group(3)
                if text is not None and b"_x" not in text:  # a plain inline string, the usual key
                    numbers.append(n)
                    texts.append(text.decode("utf-8"))
                    continue
                shown = self._shown(m)
            if shown is not None:
                numbers.append(n)
                texts.append(shown)

    def _slow(self, chunk: bytes, n: int) -> str | None:
        cell = find_cell(chunk, self.rx, self.col, n)
        return cell_text(cell, self.rx, self.sst) if cell is not None and cell.inner else None

    def _shown(self, m: re.Match[bytes]) -> str | None:
        kind, value, text = m.groups()
        if kind == b"s":
            return self.sst[int(value)] if value.isdigit() else None
        raw = value if text is None else text
        shown = raw.decode("utf-8") if b"_x" not in raw else unescape(raw)
        return num_text(shown) if text is None else shown


def tables_of(pkg: Package, sheet_part: str) -> tuple[Table, ...]:
    """The Excel tables of a sheet, from its relationships."""
    out = []
    for rel in pkg.rels(sheet_part):
        if rel.type.endswith("/table") and pkg.find(rel.target):
            xml = pkg.read(rel.target)
            m = re.search(rb"<(?:\w+:)?table\b[^>]*>", xml)
            if not m:
                continue
            a = attrs(m.group())
            refs = list(REF.finditer(unescape(a.get(b"ref", b""))))
            if len(refs) != 2:
                continue
            (c1, r1), (c2, r2) = [(number(x.group(1)), int(x.group(2))) for x in refs]
            totals = int(a.get(b"totalsRowCount", b"0") or 0)
            out.append(Table(rel.target, xml, r1, c1, r2, c2, totals))
    return tuple(out)
