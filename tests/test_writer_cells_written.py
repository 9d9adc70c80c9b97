"""Cells written: rows found by their keys, each value landing as Excel shows it (dates as dates,
times with their time, text as typed), in column order among the cells already there."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from decimal import Decimal
from pathlib import Path

import pytest
from conftest import (
    ODD_ROWS,
    PLAIN_ROWS,
    SHEET_HEAD,
    SHEET_TAIL,
    TARGET,
    calamine,
    entries,
    inline_text,
    number_cell,
    part,
    rezip,
    rich_status,
    sheet_parts,
    with_shared_strings,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from addin.actions import AppendRows, SetAt, SetCells, SetColumn, row
from addin.journal import Journal, decode_update, encode_update
from addin.workbook.dateformats import is_date_format
from addin.workbook.writer import apply


def test_a_datetime_gets_a_date_and_time_format_and_a_date_a_date_format(make_workbook, tmp_path: Path) -> None:
    src = make_workbook({"Groups": [["Group", "Updated", "Since"], ["VIP", "x", "y"]]})
    out = tmp_path / "out.xlsx"
    apply(src, out, [SetCells("Groups", "Group", "VIP", row(Updated=dt.datetime(2026, 4, 7, 8, 30),
                                                           Since=dt.date(2026, 4, 7)))])
    sheet = part(out, "xl/worksheets/sheet1.xml").decode()
    styles = part(out, "xl/styles.xml").decode()
    xfs = re.findall(r"<xf\b[^>]*?(?:/>|>.*?</xf>)", re.search(r"<cellXfs\b.*?</cellXfs>", styles, re.S).group())
    style_of = {ref: int(s) for ref, s in re.findall(r'<c r="([A-Z]+2)" s="(\d+)"', sheet)}
    fmt_of = {ref: re.search(r'numFmtId="(\d+)"', xfs[s]).group(1) for ref, s in style_of.items()}
    assert fmt_of == {"B2": "22", "C2": "14"}  # Excel's built-in "m/d/yy h:mm" and "m/d/yyyy"
    assert re.search(r'<c r="B2" s="\d+"><v>46119.354166666664</v></c>', sheet)
    import openpyxl

    ws = openpyxl.load_workbook(out)["Groups"]
    assert (ws["B2"].number_format, ws["C2"].number_format) == ("m/d/yy h:mm", "mm-dd-yy")
    assert (ws["B2"].value, ws["C2"].value) == (dt.datetime(2026, 4, 7, 8, 30), dt.datetime(2026, 4, 7))


KEY_CELLS = [  # a key in every shape a program may write it, and what the row holds in B
    (b'<c r="A2" t="inlineStr"><is><t>INV-1</t></is></c>', "INV-1"),
    (b'<c r="A3"><v>1002</v></c>', "1002"),
    (b'<c r="A4" s="0"><v>1003.0</v></c>', "1003"),
    (b'<c r="A5" t="inlineStr"><is><t xml:space="preserve"> Inv  5 </t></is></c>', "inv 5"),
    (b'<c r="A6" t="inlineStr"><is><t>R&amp;D_x002D_6</t></is></c>', "R&D-6"),
    (b'<c t="inlineStr" r="A7"><is><t>INV-7</t></is></c>', "INV-7"),  # r not first
    (b'<c r="A8" t="inlineStr"><is><r><t>INV</t></r><r><t>-8</t></r></is></c>', "INV-8"),  # rich text
    (b'<c r="A9" t="str"><f>"INV-"&amp;9</f><v>INV-9</v></c>', "INV-9"),  # a formula's text
    (b'<c r="A10" t="b"><v>1</v></c>', "TRUE"),
]


@pytest.mark.parametrize("shared", [False, True], ids=["inline", "shared-strings"])
def test_rows_are_found_by_their_key_whatever_shape_its_cell_has(make_workbook, tmp_path: Path, shared: bool) -> None:
    src = make_workbook({"Invoices": [["x"]]}, required=False)
    head = b'<row r="1">' + inline_text("A1", "Invoice No") + inline_text("B1", "Status") + b"</row>"
    rows = b"".join(b'<row r="%d">' % n + cell + b"</row>" for n, (cell, _) in enumerate(KEY_CELLS, 2))
    rezip(src, {TARGET: SHEET_HEAD + head + rows + SHEET_TAIL})
    if shared:
        with_shared_strings(src)
        assert b't="s"><v>2</v>' in part(src, TARGET)  # the plain inline texts became shared
    out = tmp_path / "out.xlsx"
    report = apply(src, out, [SetCells("Invoices", "Invoice No", key, row(Status=f"found {key}")) for _, key in KEY_CELLS])
    assert (report.problems, report.skipped) == ([], [])
    assert [r[1] for r in calamine(out, "Invoices")[1:]] == [f"found {key}" for _, key in KEY_CELLS]


STATUS = rich_status()
UPDATES = [SetCells("Invoices", "Invoice No", f"INV-{k}", row(Paid=float(k), Note=f"n{k}")) for k in range(1, 7)]


@pytest.fixture(params=[PLAIN_ROWS, ODD_ROWS], ids=["r-first", "r-elsewhere"])
def sheet(request: pytest.FixtureRequest, make_workbook) -> Path:
    src = make_workbook({"Invoices": [["x"]]}, required=False)
    rezip(src, {TARGET: SHEET_HEAD + b"".join(request.param) + SHEET_TAIL})
    return src


def test_set_cells_creates_missing_cells_in_column_order(rich: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.xlsx"
    apply(rich, out, [SetCells("Invoices", "Invoice No", "INV-1", row(Status="Overdue", Last_Reminder=None))])
    xml = part(out, "xl/worksheets/sheet1.xml").decode()
    row2 = re.search(r'<row [^>]*\br="2".*?</row>', xml).group()
    refs = re.findall(r'<c r="([A-Z]+)2"', row2)
    assert refs == ["A", "B", "C", "D", "E", "F", "G"]
    assert '<c r="F2" t="inlineStr"><is><t>Overdue</t></is></c>' in row2
    assert '<c r="G2" s="1"/>' in row2  # emptied, its date format kept

def test_keys_headers_and_sheet_names_match_ignoring_case_and_spaces(make_workbook, tmp_path: Path) -> None:
    src = make_workbook({"invoices ": [[" STATUS", "amount", "invoice no"], [None, 10, "inv-7"], [None, 20, 8]]})
    out = tmp_path / "out.xlsx"
    report = apply(src, out, [SetCells("Invoices", "Invoice No", " INV-7 ", row(Status="a")),
                              SetCells("INVOICES", "Invoice No", "8", row(Status="b"))])
    assert report.problems == [] and report.skipped == []
    assert calamine(out, "invoices ") == [[" STATUS", "amount", "invoice no"], ["a", 10, "inv-7"], ["b", 20, 8]]

def test_a_key_not_found_is_a_warning_and_the_other_updates_still_apply(rich: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.xlsx"
    report = apply(rich, out, [SetCells("Invoices", "Invoice No", "INV-404", row(Status="x")), STATUS])
    assert [str(p) for p in report.problems] == [
        'warning: Invoices: Invoice No "INV-404" was not found, so its row was not updated'
        " — check that the row was not deleted or its key changed"]
    assert report.skipped == [0]
    assert calamine(out, "Invoices")[2][5] == "Reminder 1 sent 2026-04-07"

def test_a_missing_column_is_a_warning_and_the_rest_of_the_row_is_written(rich: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.xlsx"
    report = apply(rich, out, [SetCells("Invoices", "Invoice No", "INV-1", row(Status="x", Balance=10))])
    assert [str(p) for p in report.problems] == [
        'warning: Invoices!1: column "Balance" is missing, so it was not written — add the header "Balance" in row 1']
    assert calamine(out, "Invoices")[1][5] == "x"

def test_the_same_updates_apply_onto_a_newer_version_of_the_file(rich: Path, tmp_path: Path) -> None:
    edited = tmp_path / "edited.xlsx"
    apply(rich, edited, [SetCells("Invoices", "Invoice No", "INV-3", row(Amount=999.0, Customer_ID="C9"))])
    out = tmp_path / "out.xlsx"
    apply(edited, out, [STATUS])
    rows = calamine(out, "Invoices")
    assert rows[3][1] == "C9" and rows[3][4] == 999.0
    assert rows[2][5] == "Reminder 1 sent 2026-04-07"

def test_dates_get_a_date_format_booleans_are_booleans_and_none_clears(make_workbook, tmp_path: Path) -> None:
    src = make_workbook({"Groups": [["Group", "Auto Update", "Updated", "Members"], ["VIP", True, None, 3]]})
    out = tmp_path / "out.xlsx"
    apply(src, out, [SetCells("Groups", "Group", "vip", row(Auto_Update=False, Members=None,
                                                           Updated=dt.datetime(2026, 4, 7, 8, 30)))])
    import openpyxl

    ws = openpyxl.load_workbook(out)["Groups"]
    assert [c.value for c in ws[2]] == ["VIP", False, dt.datetime(2026, 4, 7, 8, 30), None]
    assert ws["C2"].is_date
    xml = part(out, "xl/worksheets/sheet1.xml").decode()
    assert '<c r="B2" t="b"><v>0</v></c>' in xml

@pytest.mark.parametrize("code, kept", [("yyyy-mm-dd", True), ("[h]:mm", False), ("ss.0", False), ("0.00", False)])
def test_a_date_keeps_its_cells_format_only_when_the_reader_reads_that_format_as_a_date(
        make_workbook, tmp_path: Path, code: str, kept: bool) -> None:
    # One rule says which formats show dates: what the writer keeps, the reader reads back as a date.
    import openpyxl

    src = make_workbook({"Groups": [["Group", "Updated"], ["VIP", 1.5]]})
    wb = openpyxl.load_workbook(src)
    wb["Groups"]["B2"].number_format = code
    wb.save(src)
    out = tmp_path / "out.xlsx"
    apply(src, out, [SetCells("Groups", "Group", "VIP", row(Updated=dt.datetime(2026, 4, 7, 8, 30)))])
    cell = openpyxl.load_workbook(out)["Groups"]["B2"]
    assert (cell.number_format == code) is kept
    assert is_date_format(cell.number_format)  # the reader reads the column as dates
    assert calamine(out, "Groups")[1][1] == dt.datetime(2026, 4, 7, 8, 30)


def test_text_is_escaped_and_comes_back_as_written(make_workbook, tmp_path: Path) -> None:
    src = make_workbook({"Log": [["Time", "Action", "Detail"]]})
    out = tmp_path / "out.xlsx"
    texts = ["<b> & \"quotes\"", "  leading and trailing  ", "two\nlines", "bell\x07", "_x0041_ stays", "=1+1", "é€😀"]
    apply(src, out, [AppendRows("Log", tuple(row(Action=t) for t in texts))])
    assert [r[1] for r in calamine(out, "Log")[1:]] == texts[:3] + ["bell\x07", "_x0041_ stays", "=1+1", "é€😀"]
    import openpyxl

    ws = openpyxl.load_workbook(out)["Log"]
    assert ws["B7"].data_type == "s"  # text that starts with = stays text

def test_a_column_sets_what_its_cells_would_set_one_after_the_other(make_workbook, tmp_path: Path) -> None:
    """SetColumn: keys trimmed and case-insensitive, a key given twice takes its last value, a
    missing key or column is a warning and the rest is written; the update counts as skipped
    only when nothing of it could be written."""
    src = make_workbook({"Invoices": [["Invoice No", "Customer ID", "Amount", "Paid", "Status"],
                                      ["INV-1", "C1", 10, None, None], ["INV-2", "C1", 20, None, None],
                                      ["INV-3", "C1", 30, None, None]]})
    columns = [SetColumn("Invoices", "Invoice No", "Paid", (" inv-2", "INV-404", "INV-1", "INV-2"), (2.0, 4.0, 1.0, 2.5)),
               SetColumn("Invoices", "Invoice No", "Nope", ("INV-1",), ("x",)),
               SetColumn("Invoices", "Key?", "Paid", ("INV-1", "INV-2"), (9.0, 9.0)),
               SetColumn("Invoices", "Invoice No", "Status", ("INV-404",), ("lost",)),
               SetColumn("Vendors", "Vendor ID", "Name", ("V1",), ("x",))]
    cells = [SetCells(u.sheet, u.key_header, k, ((u.header, v),)) for u in columns[:2]
             for k, v in zip(u.keys, u.values, strict=True)]
    report = apply(src, tmp_path / "columns.xlsx", columns)
    apply(src, tmp_path / "cells.xlsx", cells)

    sheet = sheet_parts(src)["Invoices"]
    assert part(tmp_path / "columns.xlsx", sheet) == part(tmp_path / "cells.xlsx", sheet) != part(src, sheet)
    assert [r[3] for r in calamine(tmp_path / "columns.xlsx", "Invoices")[1:]] == [1.0, 2.5, ""]
    assert report.skipped == [2, 3, 4]
    assert sorted(map(str, report.problems)) == [
        'warning: Invoices!1: column "Key?" is missing, so 2 row(s) could not be updated — add the header "Key?" in row 1',
        'warning: Invoices!1: column "Nope" is missing, so it was not written — add the header "Nope" in row 1',
        'warning: Invoices: Invoice No "INV-404" was not found, so its row was not updated — '
        "check that the row was not deleted or its key changed",
        'warning: Vendors: the sheet is missing, so 1 row(s) were not updated — add a sheet named "Vendors"',
    ]


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

def test_dates_in_runs_still_take_a_date_format(make_workbook, tmp_path: Path) -> None:
    src = make_workbook({"Invoices": [["Invoice No", "Amount", "Paid On"], ["INV-1", 10, None], ["INV-2", 20, None]]})
    out = tmp_path / "out.xlsx"
    apply(src, out, [SetCells("Invoices", "Invoice No", "INV-2", row(Paid_On=dt.date(2026, 4, 1)))])
    assert calamine(out, "Invoices")[2] == ["INV-2", 20.0, dt.date(2026, 4, 1)]


def test_set_at_writes_values_and_keeps_each_cells_number_format_and_font(dashboard_book: Path, tmp_path: Path) -> None:
    import openpyxl

    out = tmp_path / "out.xlsx"
    report = apply(dashboard_book, out, [SetAt("Dashboard", (("B2", dt.date(2026, 4, 30)), ("B5", 1234.5), ("B7", 0.25)))])
    assert report.changed == {"Dashboard": ["B2", "B5", "B7"]}
    ws = openpyxl.load_workbook(out)["Dashboard"]
    assert ws["B2"].value == dt.datetime(2026, 4, 30) and ws["B2"].number_format == "yyyy-mm-dd"
    assert ws["B5"].value == 1234.5 and ws["B5"].number_format == "#,##0.00" and ws["B5"].font.b
    assert ws["B7"].value == 0.25 and ws["B7"].number_format == "0.0%"
    assert [ws["A1"].value, ws["A5"].value, ws["A9"].value] == ["Receivables dashboard", "Total receivable", "kept"]

def test_set_at_creates_missing_cells_and_rows_in_their_place(dashboard_book: Path, tmp_path: Path) -> None:
    import openpyxl

    out = tmp_path / "out.xlsx"
    apply(dashboard_book, out, [SetAt("Dashboard", (("D5", "x"), ("B3", 3), ("C12", "last"), ("A6", None)))])
    xml = entries(out)["xl/worksheets/sheet1.xml"].decode()
    rows = [int(r) for r in re.findall(r'<row [^>]*?r="(\d+)"', xml)]
    assert rows == sorted(rows) and {3, 6, 12} <= set(rows)
    assert re.findall(r'<c r="([A-Z]+)5"', xml) == ["A", "B", "D"]
    assert re.search(r'<dimension ref="A1:D12" ?/>', xml)
    ws = openpyxl.load_workbook(out)["Dashboard"]
    assert (ws["B3"].value, ws["D5"].value, ws["C12"].value, ws["A6"].value) == (3, "x", "last", None)
    assert ws["B5"].number_format == "#,##0.00"

def test_none_clears_a_value_and_keeps_the_style(dashboard_book: Path, tmp_path: Path) -> None:
    import openpyxl

    out = tmp_path / "out.xlsx"
    apply(dashboard_book, out, [SetAt("Dashboard", (("B7", None),))])
    ws = openpyxl.load_workbook(out)["Dashboard"]
    assert ws["B7"].value is None and ws["B7"].number_format == "0.0%"

def test_set_at_survives_the_journal_round_trip(tmp_path: Path) -> None:
    update = SetAt("Dashboard", (("B2", dt.date(2026, 4, 30)), ("B5", 1234.5), ("B9", 3), ("A23", "C-1"),
                                 ("B23", None)))
    assert decode_update(encode_update(update)) == update
    with Journal.open(tmp_path / "book.xlsx") as journal:
        journal.queue_updates([update])
        assert [u for _, u in journal.pending_updates()] == [update]

def test_many_set_cells_land_on_the_right_rows_including_cells_created_between_others(tmp_path: Path) -> None:
    """The fast path (cells carrying their reference) places new cells in column order."""
    import openpyxl

    src = tmp_path / "many.xlsx"
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Invoices"
    ws.append(["Invoice No", "Paid", "Memo", "Balance", "Status"])
    for n in range(1, 501):
        ws.append([f"INV-{n}", None, f"memo {n}" if n % 2 else None, None, "Paid" if n % 3 == 0 else None])
    wb.save(src)
    updates = [SetCells("Invoices", "Invoice No", f"inv-{n}", row(Paid=float(n), Balance=float(-n), Status=f"S{n}"))
               for n in range(500, 0, -1)]
    out = tmp_path / "out.xlsx"
    report = apply(src, out, updates)
    assert len(report.changed["Invoices"]) == 1500 and not report.problems
    got = list(openpyxl.load_workbook(out)["Invoices"].iter_rows(min_row=2, values_only=True))
    assert got == [(f"INV-{n}", n, f"memo {n}" if n % 2 else None, -n, f"S{n}") for n in range(1, 501)]


# --- the bytes of cells written ----------------------------------------------------------------


def test_cells_written_at_the_end_of_rows_and_among_others_are_these_bytes(make_workbook, tmp_path: Path) -> None:
    src = make_workbook({"Invoices": [
        ["Invoice No", "Amount", "Paid", "Status", "Note"],
        ["INV-1", 10, None, None, None],
        ["INV-2", 20, 5, None, None],  # Paid exists: replaced in its place
        ["INV-3", 30, None, None, None],
        ["INV-4", dt.date(2026, 3, 1), None, None, None],
        ["INV-5", 50, None, None, None],
    ]})
    out = tmp_path / "out.xlsx"
    report = apply(src, out, [
        SetCells("Invoices", "Invoice No", "INV-1", row(Paid=1.5, Status="Open")),
        SetCells("Invoices", "Invoice No", "INV-2", row(Paid=2.25, Status=" spaced & <odd> ")),
        SetCells("Invoices", "Invoice No", "INV-3", row(Paid=3, Status="x" * 300, Note=True)),
        SetCells("Invoices", "Invoice No", "INV-4", row(Status="Paid", Note=dt.date(2026, 4, 1))),
        SetCells("Invoices", "Invoice No", "INV-5", row(Paid=-0.0, Status="line\nbreak", Note=None)),
    ])
    xml = part(out, "xl/worksheets/sheet1.xml").decode()
    rows = dict(re.findall(r'<row r="(\d+)"[^>]*>(.*?)</row>', xml, re.S))
    assert rows["2"].endswith('<c r="C2"><v>1.5</v></c><c r="D2" t="inlineStr"><is><t>Open</t></is></c>')
    assert '<c r="C3"><v>2.25</v></c><c r="D3" t="inlineStr"><is><t xml:space="preserve"> spaced &amp; &lt;odd&gt; '\
        '</t></is></c>' in rows["3"]
    assert rows["4"].endswith('<c r="C4"><v>3</v></c><c r="D4" t="inlineStr"><is><t>' + "x" * 300 + '</t></is></c>'
                              '<c r="E4" t="b"><v>1</v></c>')
    assert re.search(r'<c r="D5" t="inlineStr"><is><t>Paid</t></is></c><c r="E5" s="\d+"><v>46113</v></c>$', rows["5"])
    assert rows["6"].endswith('<c r="C6"><v>-0.0</v></c><c r="D6" t="inlineStr"><is><t xml:space="preserve">line\nbreak'
                              '</t></is></c><c r="E6"/>')
    assert report.changed == {"Invoices": ["C2", "D2", "C3", "D3", "C4", "D4", "E4", "D5", "E5", "C6", "D6", "E6"]}


def varied_row(n: int) -> bytes:
    """Row n in one of the shapes a sheet holds: plain, with spans, with its Paid cell already,
    with a cell in or right of the columns set, with cells out of order, with a formatted empty
    cell, with ``r`` not first in the row tag, without ``r`` at all."""
    key = inline_text(f"A{n}", f"INV-{n}")
    shapes = [
        b'<row r="%d">' % n + key + number_cell(f"B{n}", n) + b"</row>",
        b'<row r="%d" spans="1:4">' % n + key + number_cell(f"B{n}", n) + b"</row>",
        b'<row r="%d">' % n + key + number_cell(f"B{n}", n) + number_cell(f"C{n}", 1) + b"</row>",
        b'<row r="%d">' % n + key + inline_text(f"D{n}", "keep") + b"</row>",
        b'<row r="%d">' % n + number_cell(f"B{n}", n) + key + b"</row>",
        b'<row r="%d">' % n + key + f'<c r="C{n}" s="0"/>'.encode() + b"</row>",
        b'<row r="%d">' % n + key + b"</row>",
        b'<row r="%d">' % n + key + number_cell(f"B{n}", n) + inline_text(f"F{n}", "far") + b"</row>",
        b'<row r="%d">' % n + inline_text(f"F{n}", "far") + key + number_cell(f"B{n}", n) + b"</row>",
        b'<row spans="1:4" r="%d">' % n + key + b"</row>",
        b"<row>" + b"<c><v>%d</v></c>" % n + b"</row>",
    ]
    return shapes[n % len(shapes)]


def mixed_values(n: int) -> tuple[tuple[str, object], ...]:
    """What a row may be given: not all the same columns, numbers of every kind, dates and times,
    short and long texts, booleans, blanks."""
    kinds: list[tuple[tuple[str, object], ...]] = [
        row(Paid=n / 4, Note=f"n{n}"), row(Paid=n / 4), row(Note=f"n{n}"),
        row(Paid=n / 4, Note=" spaced & <escaped> "), row(Paid=n, Note="x" * 300),
        row(Paid=Decimal("1.10"), Note=None), row(Paid=dt.date(2026, 1, n % 28 + 1), Note=True),
        row(Paid=dt.datetime(2026, 1, 2, 3, 4, 5), Note="line\nbreak")]
    return kinds[(n // 70) % len(kinds)] if n % 3 else kinds[n % len(kinds)]


STYLES = (b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
          b'<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
          b'<numFmts count="1"><numFmt numFmtId="164" formatCode="0.0"/></numFmts>'
          b'<fonts count="1"><font><sz val="11"/><name val="Calibri"/></font></fonts>'
          b'<fills count="2"><fill><patternFill patternType="none"/></fill><fill><patternFill patternType="gray125"/></fill></fills>'
          b'<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
          b'<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
          b'<cellXfs count="2"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
          b'<xf numFmtId="164" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/></cellXfs>'
          b'<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles></styleSheet>')


def test_rows_of_every_shape_given_values_of_every_kind_are_written_as_they_always_were(
        make_workbook, tmp_path: Path) -> None:
    """The sheet and styles.xml written for 400 rows of varied shapes and values are the very
    bytes the writer wrote before it was rebuilt as a package (their SHA-256, taken with it).
    Both parts are the test's own, so that no other program's version moves them."""
    src = make_workbook({"Invoices": [["x"]]}, required=False)
    header = PLAIN_ROWS[0]
    rezip(src, {TARGET: SHEET_HEAD + header + b"".join(map(varied_row, range(2, 400))) + SHEET_TAIL,
                "xl/styles.xml": STYLES})
    updates = [SetCells("Invoices", "Invoice No", f"INV-{n}", mixed_values(n)) for n in range(2, 400)]
    out = tmp_path / "out.xlsx"
    report = apply(src, out, updates)
    written = entries(out)
    assert hashlib.sha256(written[TARGET]).hexdigest() == \
        "7437f2d06eec6fdfc0f5c143c045ef910d138d45730c54c33380953e92994b14"
    assert hashlib.sha256(written["xl/styles.xml"]).hexdigest() == \
        "af26822f1ed6dcc0c0f3892cf24fbe814597ada81f10415542d96c1a5bea29f2"
    assert (len(report.changed["Invoices"]), len(report.skipped)) == (608, 36)  # rows without r hold no key
    got = calamine(out, "Invoices")
    assert got[10][:4] == ["INV-11", 11.0, 2.75, "n11"]


@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf")])
def test_a_number_excel_cannot_hold_is_refused_as_a_bug(make_workbook, tmp_path: Path, value: float) -> None:
    src = make_workbook({"Invoices": [["Invoice No", "Paid"], ["INV-1", None]]})
    with pytest.raises(ValueError, match=f"^B2: {value} cannot be written to Excel$"):
        apply(src, tmp_path / "out.xlsx", [SetCells("Invoices", "Invoice No", "INV-1", row(Paid=value))])


def test_a_text_longer_than_a_cell_holds_is_cut_with_a_warning_that_says_so(make_workbook, tmp_path: Path) -> None:
    src = make_workbook({"Log": [["Time", "Action", "Detail"], ["t", "sent", None]]})
    out = tmp_path / "out.xlsx"
    report = apply(src, out, [SetCells("Log", "Action", "sent", row(Detail="x" * 40_000))])
    assert calamine(out, "Log")[1][2] == "x" * 32_766 + "…"
    assert [str(p) for p in report.problems] == [
        "warning: Log!C2: a text longer than 32,767 characters was cut — shorten the text it came from: "
        "Excel holds no more in one cell, and the rest is not in the workbook"]


# Rows as Excel writes them (one after another) are located and written a block at a time; rows
# with text between them row by row. Both ways must give the same bytes and the same report.
ROW_TAGS = ['<row r="{n}">', '<row r="{n}" spans="1:4">', '<row spans="1:4" r="{n}">',
            '<row r="{n}" customFormat="1" s="0">']
KEYS = ['<c r="A{n}" t="inlineStr"><is><t>INV-{k}</t></is></c>', '<c r="A{n}"><v>{k}</v></c>',
        '<c r="A{n}" t="inlineStr"><is><t xml:space="preserve"> inv-{k} </t></is></c>',
        '<c r="A{n}" t="inlineStr"><is><t>INV_x002D_{k}</t></is></c>',
        '<c r="A{n}" t="inlineStr"><is><r><t>INV-</t></r><r><t>{k}</t></r></is></c>',
        '<c t="inlineStr" r="A{n}"><is><t>INV-{k}</t></is></c>', '<c r="A{n}" t="str"><f>"INV-"&amp;{k}</f><v>INV-{k}</v></c>',
        '<c r="A{n}" s="0"/>', '']
OTHERS = ['', '<c r="B{n}"><v>{k}0</v></c>', '<c r="C{n}"><v>1</v></c>', '<c r="D{n}" t="inlineStr"><is><t>keep</t></is></c>',
          '<c r="B{n}"><v>5</v></c><c r="AB{n}"><v>7</v></c>', '<c><v>9</v></c>', '<c r="b{n}"><v>3</v></c>']
a_row = st.tuples(st.sampled_from(ROW_TAGS), st.sampled_from(KEYS), st.sampled_from(OTHERS), st.integers(1, 9))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(a_row, min_size=1, max_size=12), gap=st.integers(0, 20),
       set_keys=st.lists(st.integers(1, 9), max_size=6), append=st.booleans(), blank=st.integers(0, 2))
def test_rows_read_together_or_one_by_one_give_the_same_bytes(make_workbook, tmp_path: Path, rows, gap: int,
                                                              set_keys: list[int], append: bool, blank: int) -> None:
    header = b'<row r="1">' + b"".join(inline_text(f"{c}1", h) for c, h in zip("ABCD", ["Invoice No", "Amount", "Paid", "Note"], strict=True)) + b"</row>"
    made = [(tag + key + other).format(n=n, k=k).encode() + b"</row>"
            for n, (tag, key, other, k) in enumerate(rows, 2 + gap)]
    made += [b'<row r="%d"><c r="B%d" s="0"/></row>' % (n, n) for n in range(2 + gap + len(rows), 2 + gap + len(rows) + blank)]
    updates = [SetColumn("Invoices", "Invoice No", "Paid", tuple(f"inv-{k}" for k in set_keys),
                         tuple(float(k) / 4 for k in set_keys)),
               SetCells("Invoices", "Invoice No", "INV-3", row(Note="n3"))]
    if append:
        updates.append(AppendRows("Invoices", (row(Invoice_No="INV-99", Amount=1.0),)))
    outs = []
    for between in (b"", b"\n"):
        src = make_workbook({"Invoices": [["x"]]}, name=f"in{len(between)}.xlsx", required=False)
        rezip(src, {TARGET: SHEET_HEAD + header + between + between.join(made) + SHEET_TAIL})
        out = tmp_path / f"out{len(between)}.xlsx"
        report = apply(src, out, updates)
        outs.append((part(out, TARGET).replace(b"</row>\n", b"</row>"), report.changed, report.problems,
                     report.skipped, report.appended))
    assert outs[0] == outs[1]


def test_a_header_row_written_after_the_records_is_read_the_same_either_way(make_workbook, tmp_path: Path) -> None:
    """Rows out of order break the file format; whichever way they are read, the write is the same."""
    header = b'<row r="1">' + inline_text("A1", "Invoice No") + inline_text("B1", "Paid") + b"</row>"
    records = [b'<row r="%d">' % n + inline_text(f"A{n}", f"INV-{n}") + b"</row>" for n in (2, 3)]
    outs = []
    for between in (b"", b"\n"):
        src = make_workbook({"Invoices": [["x"]]}, name=f"in{len(between)}.xlsx", required=False)
        rezip(src, {TARGET: SHEET_HEAD + between.join([*records, header]) + SHEET_TAIL})
        out = tmp_path / f"out{len(between)}.xlsx"
        report = apply(src, out, [SetColumn("Invoices", "Invoice No", "Paid", ("INV-3",), (5.0,))])
        outs.append((part(out, TARGET).replace(b"</row>\n", b"</row>"), report.changed, report.problems))
    assert outs[0] == outs[1]
    assert [p.message for p in outs[0][2]] == ['Invoice No "INV-3" was not found, so its row was not updated']
