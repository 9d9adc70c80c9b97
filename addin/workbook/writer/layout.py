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
    S_ATTR,
    TAIL,
    Rx,
    SharedStrings,
    cell_text,
    cells,
    find_cell,
    row_is_blank,
    row_number,
    rx_of,
    tokens,
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
    chunks = tokens(stream)
    _, head = next(chunks)
    rx = rx_of(head)
    f_tag, (has_v, has_is) = rx.f_tag, rx.has_value
    header: dict[str, int] = {}
    lookup: dict[int, _KeyText] = {}
    looked_for: dict[int, frozenset[str]] = {}
    key_cells: list[tuple[int, int]] = []  # (row, column) of each key cell read, in sheet order
    key_texts: list[str] = []  # its text, normalized all at once below
    present: list[int] = []
    candidates: list[int] = []
    formula_rows: list[int] = []
    recent: deque[tuple[int, bytes]] = deque(maxlen=RECENT_ROWS)
    previous, tail = 0, b""
    for kind, chunk in chunks:
        if kind == TAIL:
            tail = chunk
            break
        if kind != ROW:
            continue
        n, _ = row_number(chunk, rx, previous)
        previous = n
        present.append(n)
        if f_tag in chunk and rx.f.search(chunk):
            formula_rows.append(n)
        if n == 1:
            for c in cells(chunk, rx):
                text = cell_text(c, rx, sst).strip()
                if text and norm(text) not in header:
                    header[norm(text)] = c.col
            looked_for = {header[h]: ks for h, ks in wanted.items() if h in header}
            lookup = {col: _KeyText(rx, col, sst) for col in looked_for}
            continue
        if has_v in chunk or has_is in chunk:
            candidates.append(n)
            recent.append((n, chunk))
            for col, key_text in lookup.items():
                shown = key_text(chunk, n)
                if shown is not None:
                    key_cells.append((n, col))
                    key_texts.append(shown)
    keys: dict[int, dict[int, str]] = {}
    for (n, col), key in zip(key_cells, normalize_all(key_texts), strict=True):
        if key in looked_for[col]:
            keys.setdefault(n, {})[col] = key
    col_style: dict[int, int] = {}
    for _, chunk in reversed(recent):
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
    blank = frozenset(n for n, chunk in recent if row_is_blank(chunk, rx, sst))
    return Layout(name, header, keys, tuple(present), tuple(candidates), blank, tuple(formula_rows),
                  col_style, col_default, head, tail, tables, defined_names)


class _KeyText:
    """The text of a row's cell in ``col`` (None for no cell or an empty one), as ``cell_text`` reads it.

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

    def __call__(self, chunk: bytes, n: int) -> str | None:
        m = self.search(chunk)
        if m is None:
            cell = find_cell(chunk, self.rx, self.col, n)
            return cell_text(cell, self.rx, self.sst) if cell is not None and cell.inner else None
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
