"""SetAt: cells set by address (the Dashboard), keeping their style; and the writer on many SetCells."""

from __future__ import annotations

import datetime as dt
import re
import zipfile
from pathlib import Path

import pytest

from addin.actions import ReplaceRows, SetAt, SetCells, row
from addin.journal import Journal, decode_update, encode_update
from addin.workbook.writer import WriteRefused, apply


def build(path: Path) -> Path:
    """A Dashboard-like sheet: labels, styled empty value cells, a gap row, and an Invoices sheet."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    wb = Workbook()
    ws = wb.active
    ws.title = "Dashboard"
    ws["A1"] = "Receivables dashboard"
    ws["A2"] = "As of"
    ws["B2"].number_format = "yyyy-mm-dd"
    ws["A5"] = "Total receivable"
    ws["B5"].number_format = "#,##0.00"
    ws["B5"].font = Font(bold=True)
    ws["A7"] = "% overdue"
    ws["B7"].number_format = "0.0%"
    ws["B7"] = 0.5  # a stale value to replace
    ws["A9"] = "kept"
    inv = wb.create_sheet("Invoices")
    inv.append(["Invoice No", "Amount", "Paid", "Balance", "Status"])
    for n in range(1, 6):
        inv.append([f"INV-{n}", n * 100.0])
    wb.save(path)
    return path


@pytest.fixture
def book(tmp_path: Path) -> Path:
    return build(tmp_path / "book.xlsx")


def entries(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as z:
        return {i.filename: z.read(i.filename) for i in z.infolist()}


def test_set_at_writes_values_and_keeps_each_cells_number_format_and_font(book: Path, tmp_path: Path) -> None:
    import openpyxl

    out = tmp_path / "out.xlsx"
    report = apply(book, out, [SetAt("Dashboard", (("B2", dt.date(2026, 4, 30)), ("B5", 1234.5), ("B7", 0.25)))])
    assert report.changed == {"Dashboard": ["B2", "B5", "B7"]}
    ws = openpyxl.load_workbook(out)["Dashboard"]
    assert ws["B2"].value == dt.datetime(2026, 4, 30) and ws["B2"].number_format == "yyyy-mm-dd"
    assert ws["B5"].value == 1234.5 and ws["B5"].number_format == "#,##0.00" and ws["B5"].font.b
    assert ws["B7"].value == 0.25 and ws["B7"].number_format == "0.0%"
    assert [ws["A1"].value, ws["A5"].value, ws["A9"].value] == ["Receivables dashboard", "Total receivable", "kept"]


def test_set_at_creates_missing_cells_and_rows_in_their_place(book: Path, tmp_path: Path) -> None:
    import openpyxl

    out = tmp_path / "out.xlsx"
    apply(book, out, [SetAt("Dashboard", (("D5", "x"), ("B3", 3), ("C12", "last"), ("A6", None)))])
    xml = entries(out)["xl/worksheets/sheet1.xml"].decode()
    rows = [int(r) for r in re.findall(r'<row [^>]*?r="(\d+)"', xml)]
    assert rows == sorted(rows) and {3, 6, 12} <= set(rows)
    assert re.findall(r'<c r="([A-Z]+)5"', xml) == ["A", "B", "D"]
    assert re.search(r'<dimension ref="A1:D12" ?/>', xml)
    ws = openpyxl.load_workbook(out)["Dashboard"]
    assert (ws["B3"].value, ws["D5"].value, ws["C12"].value, ws["A6"].value) == (3, "x", "last", None)
    assert ws["B5"].number_format == "#,##0.00"


def test_none_clears_a_value_and_keeps_the_style(book: Path, tmp_path: Path) -> None:
    import openpyxl

    out = tmp_path / "out.xlsx"
    apply(book, out, [SetAt("Dashboard", (("B7", None),))])
    ws = openpyxl.load_workbook(out)["Dashboard"]
    assert ws["B7"].value is None and ws["B7"].number_format == "0.0%"


def test_set_at_touches_only_its_sheet(book: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.xlsx"
    apply(book, out, [SetAt("dashboard ", (("B5", 1.0),))])
    before, after = entries(book), entries(out)
    assert list(before) == list(after)
    assert {n for n in before if before[n] != after[n]} == {"xl/worksheets/sheet1.xml"}


def test_set_at_on_a_missing_sheet_is_a_warning_and_the_rest_is_written(book: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.xlsx"
    report = apply(book, out, [SetAt("Charts", (("B5", 1.0), ("B6", 2.0), ("B7", 3.0), ("B8", 4.0))),
                               SetCells("Invoices", "Invoice No", "INV-2", row(Status="Open"))])
    assert [str(p) for p in report.problems] == [
        "warning: Charts: the sheet is missing, so B5, B6, B7, … were not written — "
        'add a sheet named "Charts" (copy it from a workbook made by `receivables init`)']
    assert report.skipped == [0] and report.created == []
    assert report.changed == {"Invoices": ["E3"]}


def test_a_bad_address_is_a_bug_not_a_silent_write(book: Path, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="'5B' is not a cell address"):
        apply(book, tmp_path / "out.xlsx", [SetAt("Dashboard", (("5B", 1),))])


def test_set_at_with_rows_deleted_on_the_same_sheet_is_refused(book: Path, tmp_path: Path) -> None:
    with pytest.raises(WriteRefused) as caught:
        apply(book, tmp_path / "out.xlsx", [ReplaceRows("Invoices", (("Invoice No", "INV-1"),)),
                                            SetAt("Invoices", (("G1", "note"),))])
    assert caught.value.index == 1


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
