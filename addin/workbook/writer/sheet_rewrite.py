"""Pass two: the sheet XML written again with its planned edits, through the one cell encoder.

Rows that do not change go out as they came (byte for byte); changed rows get their cells
written in column order, keeping every other cell and attribute; deleted rows are dropped and
the rows below renumbered; new rows go in their place below the records. The ``<dimension>``
follows; the ranges that reached the last record grow (``ranges.grown_tail``).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterator, Mapping
from decimal import Decimal
from functools import lru_cache
from typing import BinaryIO

from ...actions import Cell
from ...problems import Problem, warning
from ..cellref import letters, number
from .layout import Layout
from .planner import SheetEdits
from .ranges import grown_tail
from .sheet_xml import (
    ROW,
    ROWS,
    S_ATTR,
    TAIL,
    Rx,
    cells,
    chunks,
    row_number,
    row_numbers,
    split_rows,
)
from .styles import Styles
from .xmltext import REF, escape

MAX_TEXT = 32_767
BLOCK = 1 << 21  # bytes of rows gathered before they go to the compressor
_SPANS = re.compile(rb"\sspans=\"(\d+):(\d+)\"")
_KEEP_OUT = re.compile(rb"\s(?:r|s|t|cm|vm)=\"[^\"]*\"")
_NUMBERS: dict[bytes, int] = {}  # a cell reference's letters -> its column, as met
_letters = lru_cache(maxsize=16_384)(letters)  # a column's letters, remembered


@lru_cache(maxsize=64)
def _in_the_way(p: str, col: int) -> re.Pattern[bytes]:
    """Finds a cell that keeps new cells from going last in a row whose first new cell is in
    column ``col``: one whose reference is in ``col`` or after (``<c r="J12"``, ``<c r="AB3"`` for
    J), or is not a plain one (``<c r="j12"``); ``p``: the namespace prefix."""
    name = letters(col)
    after = [name] + [f"{name[:i]}[{chr(ord(c) + 1)}-Z]" + "[A-Z]" * (len(name) - i - 1)
                      for i, c in enumerate(name) if c != "Z"]
    if len(name) < 3:
        after.append(f"[A-Z]{{{len(name) + 1},3}}")
    return re.compile(f'<{re.escape(p)}c r="(?:(?:{"|".join(after)})\\d|(?![A-Z]{{1,3}}\\d+"))'.encode())


def _number(found: bytes) -> int:
    n = _NUMBERS.get(found)
    if n is None:
        n = _NUMBERS[found] = number(found.decode())
    return n


class CellEncoder:
    """Writes cells into rows: the one place a value becomes a ``<c>`` element."""

    def __init__(self, rx: Rx, layout: Layout, edits: SheetEdits, styles: Styles,
                 serial: Callable[[dt.date], str]) -> None:
        self.rx, self.layout, self.edits, self.styles, self.serial = rx, layout, edits, styles, serial
        self.changed: list[str] = []
        self.problems: list[Problem] = []
        self.formula_removed = False
        p = rx.p
        self.p = p.decode()  # the cells are made as text (one f-string each), then encoded
        self.c_open = b"<" + p + b"c"
        # every cell written by Excel, openpyxl and xlsxwriter starts <c r="..."
        self.ref_start = re.compile(rb"<" + re.escape(p) + rb"c r=\"([A-Z]{1,3})\d+\"")
        self.ref_open = b"<" + p + b'c r="'
        self.texts: dict[str, str] = {}  # see _inline
        self.any_cell = tuple(b"<" + p + b"c" + end for end in (b" ", b">", b"/>", b"\t", b"\n", b"\r"))

    def style_for(self, col: int, row_style: int | None, n: int) -> int | None:
        """A new cell's style: the column's records' style; for cells set by address, the row's or <col>'s."""
        if n in self.edits.at_rows:
            return row_style if row_style is not None else self.layout.col_default.get(col)
        s = self.layout.col_style.get(col)
        return s if s is not None else row_style

    def cell(self, ref: str, value: Cell, style: int | None, keep: bytes = b"") -> bytes:
        """One ``<c>`` element; ``keep`` holds the attributes of the cell it replaces."""
        p = self.p
        if type(value) is float and value - value == 0:  # the usual values first: a refresh writes
            kind, body = "", f"<{p}v>{value!r}</{p}v>"  # 300,000 amounts and statuses
        elif type(value) is str and len(value) < 256:
            kind, body = ' t="inlineStr"', self._inline(value)
        else:
            kind, body, style = self._other(ref, value, style)
        extra = ""
        if keep and keep.count(b"=") > (b' r="' in keep) + (b' s="' in keep) + (b' t="' in keep):
            kept = _KEEP_OUT.sub(b"", keep).strip()
            if kept:
                extra = " " + kept.decode("utf-8")
        self.changed.append(ref)
        s = f' s="{style}"' if style else ""
        if not body:
            return f'<{p}c r="{ref}"{extra}{s}{kind}/>'.encode()
        return f'<{p}c r="{ref}"{extra}{s}{kind}>{body}</{p}c>'.encode()

    def _other(self, ref: str, value: Cell, style: int | None) -> tuple[str, str, int | None]:
        """The type attribute, content and style of a cell of any value but a finite float or a short text."""
        p = self.p
        if value is None:
            return "", "", style
        if isinstance(value, bool):
            return ' t="b"', f"<{p}v>{1 if value else 0}</{p}v>", style
        if isinstance(value, int | float | Decimal):
            if isinstance(value, float) and value - value != 0:  # NaN or an infinity
                raise ValueError(f"{ref}: {value} cannot be written to Excel")
            return "", f"<{p}v>{value!r}</{p}v>" if isinstance(value, float) else f"<{p}v>{value}</{p}v>", style
        if isinstance(value, dt.date):
            style = self.styles.date_style(style or 0, isinstance(value, dt.datetime))
            return "", f"<{p}v>{self.serial(value)}</{p}v>", style
        text = str(value)
        if len(text) > MAX_TEXT:
            text = text[:MAX_TEXT - 1] + "…"
            self.problems.append(warning(self.layout.name, ref, f"a text longer than {MAX_TEXT:,} characters was cut",
                                         "shorten the text it came from: Excel holds no more in one cell, "
                                         "and the rest is not in the workbook"))
        return ' t="inlineStr"', self._inline(text), style

    def _inline(self, text: str) -> str:
        """An inline string's ``<is>`` element (remembered for short texts: statuses repeat)."""
        body = self.texts.get(text)
        if body is None:
            space = ' xml:space="preserve"' if text != text.strip() or "\n" in text else ""
            body = f"<{self.p}is><{self.p}t{space}>{escape(text).decode('utf-8')}</{self.p}t></{self.p}is>"
            if len(text) < 256 and len(self.texts) < 10_000:
                self.texts[text] = body
        return body

    def new_row(self, n: int, sets: Mapping[int, Cell]) -> bytes:
        p = self.rx.p
        body = b"".join(self.cell(f"{_letters(c)}{n}", sets[c], self.style_for(c, None, n)) for c in sorted(sets))
        return b"<" + p + b'row r="' + str(n).encode() + b'">' + body + b"</" + p + b"row>"

    def edit_row(self, chunk: bytes, orig: int, final: int, sets: Mapping[int, Cell], explicit: bool = True) -> bytes:
        """The row with ``sets`` written and renumbered ``final`` (``explicit``: the row says its number)."""
        rx = self.rx
        tag_end = chunk.find(b">") + 1
        start = chunk[:tag_end]
        closed = start.endswith(b"/>")
        body = b"" if closed else chunk[tag_end:len(chunk) - len(rx.close_row)]
        if closed:
            start = start[:-2].rstrip() + b">"
        n = str(final).encode()
        if final != orig or not explicit:
            m = rx.row_r.search(start)
            if m:
                start = start[:m.start(2)] + n + start[m.end(2):]
            else:
                start = start[:len(rx.p) + 4] + b' r="' + n + b'"' + start[len(rx.p) + 4:]
        if final != orig:
            body = rx.cell_r.sub(lambda c: c.group(1) + n + c.group(3), body)
        return self.with_cells(start, body, final, sets) + rx.close_row

    def with_cells(self, start: bytes, body: bytes, n: int, sets: Mapping[int, Cell]) -> bytes:
        """Row ``n``'s start tag and cells (``body``) with ``sets`` written, its ``spans`` grown."""
        if not sets:
            return start + body
        row_s = S_ATTR.search(start) if b"customFormat=\"1\"" in start else None
        body = self._set_cells(body, n, sets, int(row_s.group(1)) if row_s else None)
        spans = _SPANS.search(start)
        if spans:
            lo = min(int(spans.group(1)), *sets)
            hi = max(int(spans.group(2)), *sets)
            start = start[:spans.start()] + f' spans="{lo}:{hi}"'.encode() + start[spans.end():]
        return start + body

    def _all_referenced(self, body: bytes) -> bool:
        """Whether every cell of the row starts with its reference (``<c r="J12"``, as Excel,
        openpyxl and xlsxwriter write them)."""
        found = len(self.ref_start.findall(body))
        return found == body.count(self.c_open) or found == sum(body.count(t) for t in self.any_cell)  # <color> also starts <c

    def _set_cells(self, body: bytes, n: int, sets: Mapping[int, Cell], row_style: int | None) -> bytes:
        cols = sorted(sets)
        if body.count(self.ref_open) == body.count(self.c_open) and not _in_the_way(self.p, cols[0]).search(body):
            row = str(n)  # the usual case: every cell has its reference and the new cells go last
            if n in self.edits.at_rows:
                return body + b"".join([self.cell(_letters(c) + row, sets[c], self.style_for(c, row_style, n))
                                        for c in cols])
            # style_for of a row not set by address, inline: a refresh appends 300,000 cells here
            styles = self.layout.col_style
            return body + b"".join([self.cell(_letters(c) + row, sets[c], styles.get(c, row_style)) for c in cols])
        if not self._all_referenced(body):
            return self._set_cells_any(body, n, sets, row_style)
        starts = [(_number(m.group(1)), m.start()) for m in self.ref_start.finditer(body)]
        rx = self.rx
        out: list[bytes] = []
        pos = i = 0
        for col in cols:
            while i < len(starts) and starts[i][0] < col:
                i += 1
            ref = f"{_letters(col)}{n}"
            if i < len(starts) and starts[i][0] == col:
                m = rx.cell.match(body, starts[i][1])
                if m is None:
                    return self._set_cells_any(body, n, sets, row_style)
                attrs, inner = m.group(1), m.group(2)
                if inner and rx.f.search(inner):
                    self.formula_removed = True
                s = S_ATTR.search(attrs)
                out.append(body[pos:m.start()])
                out.append(self.cell(ref, sets[col], int(s.group(1)) if s else self.style_for(col, row_style, n), attrs))
                pos = m.end()
                i += 1
            else:
                at = starts[i][1] if i < len(starts) else len(body)
                out.append(body[pos:at])
                out.append(self.cell(ref, sets[col], self.style_for(col, row_style, n)))
                pos = at
        out.append(body[pos:])
        return b"".join(out)

    def _set_cells_any(self, body: bytes, n: int, sets: Mapping[int, Cell], row_style: int | None) -> bytes:
        """The general case: cells without references, in any order of attributes."""
        rx = self.rx
        found = cells(body, rx)
        existing = {c.col for c in found}
        pending = sorted(c for c in sets if c not in existing)
        out: list[bytes] = []
        pos = 0
        for c in found:
            while pending and pending[0] < c.col:
                col = pending.pop(0)
                out.append(self.cell(f"{_letters(col)}{n}", sets[col], self.style_for(col, row_style, n)))
            out.append(body[pos:c.start])
            ref = f"{_letters(c.col)}{n}"
            if c.col in sets:
                if c.inner and rx.f.search(c.inner):
                    self.formula_removed = True
                s = S_ATTR.search(c.attrs)
                out.append(self.cell(ref, sets[c.col], int(s.group(1)) if s else self.style_for(c.col, row_style, n),
                                     c.attrs))
            elif not c.has_ref:
                raw = body[c.start:c.end]
                out.append(raw[:len(rx.p) + 2] + b' r="' + ref.encode() + b'"' + raw[len(rx.p) + 2:])
            else:
                out.append(body[c.start:c.end])
            pos = c.end
        out.extend(self.cell(f"{_letters(col)}{n}", sets[col], self.style_for(col, row_style, n)) for col in pending)
        out.append(body[pos:])
        return b"".join(out)


def rewrite(stream: BinaryIO, write: CellEncoder) -> Iterator[bytes]:
    """Pass two over one sheet: its XML read from ``stream`` with the encoder's edits made, in
    chunks of about BLOCK bytes; the encoder then says what it wrote (cells, problems, whether
    a formula went)."""
    layout, edits, rx = write.layout, write.edits, write.rx
    parts = chunks(stream)
    _, head = next(parts)
    opened = head.endswith(b"/>") and bool(edits.new_rows)
    yield _head(head, rx, layout, edits, opened)
    rows = _Rows(write)
    size = 0
    batch: list[bytes] = []
    for kind, chunk in parts:
        if kind == ROWS:
            chunk = rows.block(chunk)
        elif kind == ROW:
            chunk = rows.row(chunk)
        elif kind == TAIL:
            pending = rows.rest()
            if opened:
                pending += rx.end_data  # <sheetData/> was opened in _head
            if edits.grow is not None:
                chunk = grown_tail(chunk, *edits.grow)
            batch.append(pending + chunk)
            break
        batch.append(chunk)
        size += len(chunk)
        if size > BLOCK:
            yield b"".join(batch)
            batch, size = [], 0
    yield b"".join(batch)


class _Rows:
    """The rows of a sheet as pass two writes them: edited, renumbered, dropped, with the new
    rows put in below the records."""

    def __init__(self, write: CellEncoder) -> None:
        self.write, self.rx, self.edits = write, write.rx, write.edits
        self.new_rows, self.row_sets, self.deleted = self.edits.new_rows, self.edits.row_sets, set(self.edits.deleted)
        self.k = self.previous = 0  # the next new row; the number of the row before

    def block(self, chunk: bytes) -> bytes:
        """A ROWS chunk. When no row of it moves and no new row goes between them (every
        refresh), only the rows with cells to set are touched; else row by row."""
        rx, new_rows = self.rx, self.new_rows
        rows = split_rows(chunk, rx.close_row)
        numbers = row_numbers(chunk, len(rows), rx)
        if numbers is None or self.deleted or (self.k < len(new_rows) and new_rows[self.k][0] <= max(numbers)):
            return b"".join([self.row(row + rx.close_row) for row in rows])
        self.previous = numbers[-1]
        row_sets = self.row_sets
        hits = [i for i, n in enumerate(numbers) if n in row_sets]
        if not hits:
            return chunk
        with_cells = self.write.with_cells
        for i in hits:
            row = rows[i]
            tag_end = row.find(b">") + 1
            rows[i] = with_cells(row[:tag_end], row[tag_end:], numbers[i], row_sets[numbers[i]])
        rows.append(b"")
        return rx.close_row.join(rows)

    def row(self, chunk: bytes) -> bytes:
        """A ROW chunk, with the new rows that go before it."""
        write, rx, new_rows, edits = self.write, self.rx, self.new_rows, self.edits
        orig, explicit = row_number(chunk, rx, self.previous)
        self.previous = orig
        if orig in self.deleted:
            if rx.f.search(chunk):
                write.formula_removed = True
            return b""
        final = edits.shift(orig) if self.deleted else orig
        before = []
        while self.k < len(new_rows) and new_rows[self.k][0] < final:
            before.append(write.new_row(*new_rows[self.k]))
            self.k += 1
        sets = self.row_sets.get(orig)
        if self.k < len(new_rows) and new_rows[self.k][0] == final:
            sets = {**(sets or {}), **new_rows[self.k][1]}
            self.k += 1
        if sets or final != orig or not explicit:
            chunk = write.edit_row(chunk, orig, final, sets or {}, explicit)
        return b"".join(before) + chunk if before else chunk

    def rest(self) -> bytes:
        """The new rows below the last row."""
        out = b"".join(self.write.new_row(*r) for r in self.new_rows[self.k:])
        self.k = len(self.new_rows)
        return out


def _head(head: bytes, rx: Rx, layout: Layout, edits: SheetEdits, opened: bool) -> bytes:
    """The XML before the rows, ``<sheetData/>`` opened when rows go in, the dimension grown."""
    if opened:
        head = head[:-2].rstrip() + b">"
    m = rx.dimension.search(head)
    if m:
        refs = list(REF.finditer(m.group(2).decode()))
        deleted = set(edits.deleted)
        last_existing = next((edits.shift(n) for n in reversed(layout.present) if n not in deleted), 0)
        new_rows = edits.new_rows
        bottom = max(last_existing, new_rows[-1][0] if new_rows else 0, 1)
        right = max([number(r.group(1)) for r in refs] + [edits.max_col] +
                    [max(s, default=0) for _, s in new_rows] +
                    [max(map(max, filter(None, edits.row_sets.values())), default=0)])
        start = f"{refs[0].group(1)}{refs[0].group(2)}" if refs else "A1"
        new = f"{start}:{_letters(right)}{bottom}" if (right, bottom) != (1, 1) else "A1"
        head = head[:m.start(2)] + new.encode() + head[m.end(2):]
    return head
