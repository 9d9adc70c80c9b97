"""Rows read and edited in runs: the same bytes whatever the block size, whatever the rows look like."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal
from pathlib import Path

import pytest
from conftest import calamine, part, rezip

from addin.actions import AppendRows, SetCells, row
from addin.workbook import writer
from addin.workbook.writer import apply

TARGET = "xl/worksheets/sheet1.xml"
HEAD = (b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        b'<dimension ref="A1:C9"/><sheetData>')
TAIL = b'</sheetData><pageMargins left="0.7" right="0.7" top="0.75" bottom="0.75" header="0.3" footer="0.3"/></worksheet>'


def text(ref: str, value: str) -> bytes:
    return f'<c r="{ref}" t="inlineStr"><is><t>{value}</t></is></c>'.encode()


def number(ref: str, value: float) -> bytes:
    return f'<c r="{ref}"><v>{value}</v></c>'.encode()


# Rows as Excel writes them, with what other programs do in between: line breaks between rows,
# empty formatted rows, a row whose Paid cell exists, a row with a cell right of Paid.
PLAIN_ROWS = [
    b'<row r="1">' + text("A1", "Invoice No") + text("B1", "Amount") + text("C1", "Paid") + text("D1", "Note") + b"</row>",
    b'<row r="2">' + text("A2", "INV-1") + number("B2", 10) + b"</row>",
    b"\n  ",
    b'<row r="3" spans="1:4">' + text("A3", "INV-2") + number("B3", 20) + number("C3", 5) + b"</row>",
    b'<row r="4" spans="1:4" customHeight="1" ht="20"/>',
    b'<row r="5">' + text("A5", "INV-3") + number("B5", 30) + b"</row>",
    b'<row r="6"/><row r="7">' + text("A7", "INV-4") + number("B7", 40) + text("D7", "keep") + b"</row>\n",
    b'<row r="8">' + text("A8", "INV-5") + b'<c r="B8" s="0"/>' + b"</row>",
    b'<row r="9">' + text("A9", "INV-6") + number("B9", 60) + b"</row>",
]
# The same rows without ``r`` first in some row tags: pass two takes every row the general way.
ODD_ROWS = [r.replace(b'<row r="5">', b'<row spans="1:4" r="5">') for r in PLAIN_ROWS]

UPDATES = [SetCells("Invoices", "Invoice No", f"INV-{k}", row(Paid=float(k), Note=f"n{k}")) for k in range(1, 7)]


@pytest.fixture(params=[PLAIN_ROWS, ODD_ROWS], ids=["r-first", "r-elsewhere"])
def sheet(request: pytest.FixtureRequest, make_workbook) -> Path:
    src = make_workbook({"Invoices": [["x"]]}, required=False)
    rezip(src, {TARGET: HEAD + b"".join(request.param) + TAIL})
    return src


@pytest.mark.parametrize("block", [1, 7, 64, 300])
def test_rows_come_out_the_same_whatever_the_block_size(sheet: Path, tmp_path: Path, block: int,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    whole = tmp_path / "whole.xlsx"
    whole_report = apply(sheet, whole, UPDATES)
    monkeypatch.setattr(writer, "BLOCK", block)
    small = tmp_path / "small.xlsx"
    small_report = apply(sheet, small, UPDATES)
    assert part(small, TARGET) == part(whole, TARGET)
    assert small_report == whole_report


def test_every_shape_of_row_gets_its_cells(sheet: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.xlsx"
    report = apply(sheet, out, [*UPDATES, AppendRows("Invoices", (row(Invoice_No="INV-7", Amount=70),))])
    assert report.problems == []
    values = calamine(out, "Invoices")
    assert values[1:] == [
        ["INV-1", 10.0, 1.0, "n1"],
        ["INV-2", 20.0, 2.0, "n2"],
        ["", "", "", ""],
        ["INV-3", 30.0, 3.0, "n3"],
        ["", "", "", ""],
        ["INV-4", 40.0, 4.0, "n4"],
        ["INV-5", "", 5.0, "n5"],
        ["INV-6", 60.0, 6.0, "n6"],
        ["INV-7", 70.0, "", ""],
    ]
    xml = part(out, TARGET)
    assert b'<row r="4" spans="1:4" customHeight="1" ht="20"/>' in xml and b"</row>\n  <row" in xml


def test_a_row_that_vanished_between_the_two_passes_is_refused(make_workbook, tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    src = make_workbook({"Invoices": [["x"]]}, required=False)
    rezip(src, {TARGET: HEAD + b"".join(PLAIN_ROWS) + TAIL})
    opened: list[int] = []

    def open_renumbered_the_second_time(self: writer._SheetPlan) -> io.BytesIO:
        opened.append(1)
        xml = part(src, TARGET)
        return io.BytesIO(xml if len(opened) == 1 else xml.replace(b'<row r="5">', b'<row r="50">'))

    monkeypatch.setattr(writer._SheetPlan, "open", open_renumbered_the_second_time)
    with pytest.raises(writer.BadWorkbook, match="row 5 vanished"):
        apply(src, tmp_path / "out.xlsx", UPDATES)


def test_dates_in_runs_still_take_a_date_format(make_workbook, tmp_path: Path) -> None:
    src = make_workbook({"Invoices": [["Invoice No", "Amount", "Paid On"], ["INV-1", 10, None], ["INV-2", 20, None]]})
    out = tmp_path / "out.xlsx"
    apply(src, out, [SetCells("Invoices", "Invoice No", "INV-2", row(Paid_On=dt.date(2026, 4, 1)))])
    assert calamine(out, "Invoices")[2] == ["INV-2", 20.0, dt.date(2026, 4, 1)]


def blank_text(ref: str) -> bytes:
    return f'<c r="{ref}" t="inlineStr"><is><t> </t></is></c>'.encode()


@pytest.mark.parametrize("blank_tail", [0, 3, 64, 65, 66, 90])
@pytest.mark.parametrize("block", [300, 5000, 1 << 21])
def test_runs_noted_at_once_give_what_rows_noted_one_by_one_give(make_workbook, tmp_path: Path, blank_tail: int,
                                                                   block: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """Appended rows go below the last record even when the rows above end in blank-looking ones."""
    records = [b'<row r="%d">' % n + text(f"A{n}", f"INV-{n}") + number(f"B{n}", n) + b"</row>" for n in range(2, 120)]
    blanks = [b'<row r="%d">' % n + blank_text(f"A{n}") + b"</row>" for n in range(120, 120 + blank_tail)]
    src = make_workbook({"Invoices": [["x"]]}, required=False)
    rezip(src, {TARGET: HEAD + PLAIN_ROWS[0] + b"".join(records + blanks) + TAIL})
    monkeypatch.setattr(writer, "BLOCK", block)
    updates = [AppendRows("Invoices", (row(Invoice_No="INV-NEW", Amount=1),))]
    at_once = tmp_path / "at_once.xlsx"
    noted: list[bool] = []
    note_plain = writer._SheetPlan._note_plain
    monkeypatch.setattr(writer._SheetPlan, "_note_plain", lambda self, run: noted.append(note_plain(self, run)) or noted[-1])
    apply(src, at_once, updates)
    assert any(noted) == (block < 1 << 21)  # a single run holds the header: taken row by row
    monkeypatch.setattr(writer._SheetPlan, "_note_plain", lambda self, run: False)
    one_by_one = tmp_path / "one_by_one.xlsx"
    apply(src, one_by_one, updates)
    assert part(at_once, TARGET) == part(one_by_one, TARGET)
    if blank_tail <= writer.RECENT_ROWS:  # blank rows are looked at among the last 64 only
        assert calamine(at_once, "Invoices")[119][0] == "INV-NEW"


def varied_row(n: int) -> bytes:
    """Row n in one of the shapes pass two meets: plain, with spans, with its Paid cell already,
    with a cell in or right of the columns set, with cells out of order, with a formatted empty cell."""
    key = text(f"A{n}", f"INV-{n}")
    shapes = [
        b'<row r="%d">' % n + key + number(f"B{n}", n) + b"</row>",
        b'<row r="%d" spans="1:4">' % n + key + number(f"B{n}", n) + b"</row>",
        b'<row r="%d">' % n + key + number(f"B{n}", n) + number(f"C{n}", 1) + b"</row>",
        b'<row r="%d">' % n + key + text(f"D{n}", "keep") + b"</row>",
        b'<row r="%d">' % n + number(f"B{n}", n) + key + b"</row>",
        b'<row r="%d">' % n + key + f'<c r="C{n}" s="0"/>'.encode() + b"</row>",
        b'<row r="%d">' % n + key + b"</row>",
        b'<row r="%d">' % n + key + number(f"B{n}", n) + text(f"F{n}", "far") + b"</row>",
        b'<row r="%d">' % n + text(f"F{n}", "far") + key + number(f"B{n}", n) + b"</row>",
    ]
    return shapes[n % len(shapes)]


@pytest.mark.parametrize("odd", [b"", b'<row r="90" spans="1:4"/>', b"<row><c><v>1</v></c></row>"],
                         ids=["plain-runs", "an-empty-row", "a-row-without-r"])
@pytest.mark.parametrize("block", [700, 20_000, 1 << 21])
def test_runs_edited_at_once_give_what_rows_edited_one_by_one_give(make_workbook, tmp_path: Path, odd: bytes,
                                                                   block: int, monkeypatch: pytest.MonkeyPatch) -> None:
    rows = [varied_row(n) for n in range(2, 300) if not (odd and n == 90)]
    if odd:
        rows.insert(88, odd)
    src = make_workbook({"Invoices": [["x"]]}, required=False)
    rezip(src, {TARGET: HEAD + PLAIN_ROWS[0] + b"".join(rows) + TAIL})
    monkeypatch.setattr(writer, "BLOCK", block)
    updates = [SetCells("Invoices", "Invoice No", f"INV-{n}", row(Paid=n / 4, Note=f"n{n}"))
               for n in range(2, 300) if n != 90]
    at_once = tmp_path / "at_once.xlsx"
    edited: list[bool] = []
    edit_run = writer._SheetPlan._edit_run
    def spy(self: writer._SheetPlan, *args: object) -> object:
        result = edit_run(self, *args)  # type: ignore[arg-type]
        edited.append(result is not None)
        return result

    monkeypatch.setattr(writer._SheetPlan, "_edit_run", spy)
    at_once_report = apply(src, at_once, updates)
    if not odd and block > 700:  # runs of 64 rows to edit or more, all plain
        assert any(edited)
    monkeypatch.setattr(writer._SheetPlan, "_edit_run", lambda self, *args: None)
    one_by_one = tmp_path / "one_by_one.xlsx"
    assert apply(src, one_by_one, updates) == at_once_report
    assert part(at_once, TARGET) == part(one_by_one, TARGET)
    monkeypatch.setattr(writer._SheetPlan, "_edit_run", edit_run)
    given = tmp_path / "given.xlsx"  # rows given by the reader: each checked in the run edited at once
    where = {("invoices", "invoice no"): {f"INV-{n}": n for n in range(2, 300) if n != 90}}
    assert apply(src, given, updates, where) == at_once_report
    assert part(given, TARGET) == part(one_by_one, TARGET)
    got = calamine(at_once, "Invoices")
    assert got[10][2:4] == [2.75, "n11"] and got[13][2:4] == [3.5, "n14"]


def mixed_values(n: int) -> tuple[tuple[str, object], ...]:
    """Cells a run's rows may set: not all the same columns, not all finite floats and short texts."""
    kinds: list[tuple[tuple[str, object], ...]] = [
        row(Paid=n / 4, Note=f"n{n}"),
        row(Paid=n / 4),  # a row setting fewer columns
        row(Note=f"n{n}"),
        row(Paid=n / 4, Note=" spaced & <escaped> "),
        row(Paid=n, Note="x" * 300),  # an int; a text past the short-text path
        row(Paid=Decimal("1.10"), Note=None),
        row(Paid=dt.date(2026, 1, n % 28 + 1), Note=True),
    ]
    return kinds[(n // 70) % len(kinds)] if n % 3 else kinds[n % len(kinds)]


@pytest.mark.parametrize("shape", ["plain", "varied"])
def test_rows_made_a_column_at_a_time_give_what_rows_made_one_by_one_give(make_workbook, tmp_path: Path, shape: str,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """``_RowWriter.cells_of_rows`` groups rows that set the same columns and makes each
    column at once; rows it cannot (other values) are made one by one: the same bytes and the
    same list of changed cells, in the same order, as making every row one by one."""
    def line(n: int) -> bytes:
        return varied_row(n) if shape == "varied" else b'<row r="%d">' % n + text(f"A{n}", f"INV-{n}") + b"</row>"

    src = make_workbook({"Invoices": [["x"]]}, required=False)
    rezip(src, {TARGET: HEAD + PLAIN_ROWS[0] + b"".join(map(line, range(2, 700))) + TAIL})
    updates = [SetCells("Invoices", "Invoice No", f"INV-{n}", mixed_values(n)) for n in range(2, 700)]
    at_once = tmp_path / "at_once.xlsx"
    made: list[int] = []
    cells_of_rows = writer._RowWriter.cells_of_rows
    def spy(self: writer._RowWriter, rows: list[int], sets: list[dict]) -> list:
        out = cells_of_rows(self, rows, sets)
        made.append(sum(cells is not None for cells in out))
        return out

    monkeypatch.setattr(writer._RowWriter, "cells_of_rows", spy)
    at_once_report = apply(src, at_once, updates)
    assert sum(made) > 150  # many rows were made a column at a time
    monkeypatch.setattr(writer._RowWriter, "cells_of_rows", lambda self, rows, sets: [None] * len(rows))
    one_by_one = tmp_path / "one_by_one.xlsx"
    assert apply(src, one_by_one, updates) == at_once_report
    assert part(at_once, TARGET) == part(one_by_one, TARGET)
    got = calamine(at_once, "Invoices")
    assert got[4][0] == "INV-5" and got[4][2] == 1.25
