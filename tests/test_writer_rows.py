"""Rows appended and replaced: below the last record, in the table, the sheet made when missing."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
from conftest import (
    PLAIN_ROWS,
    SHEET_HEAD,
    SHEET_TAIL,
    TARGET,
    calamine,
    group_members_book,
    inline_text,
    number_cell,
    part,
    rezip,
    rich_status,
)

from addin.actions import AppendRows, ReplaceRows, SetAt, SetCells, row
from addin.workbook.writer import apply

# openpyxl says it would drop our x14 validation when it reads the result; that is the point
pytestmark = pytest.mark.filterwarnings("ignore:Data Validation extension:UserWarning")

STATUS = rich_status()


def test_append_goes_after_the_last_record_and_grows_the_table(rich: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.xlsx"
    report = apply(rich, out, [AppendRows("Invoices", (
        row(Invoice_No="INV-4", Customer_ID="C1", Invoice_Date=dt.date(2026, 3, 4), Amount=50),
        row(Invoice_No="INV-5", Customer_ID="C2", Amount=60)))])
    assert report.appended == {"Invoices": 2}
    rows = calamine(out, "Invoices")
    assert [r[0] for r in rows] == ["Invoice No", "INV-1", "INV-2", "INV-3", "INV-4", "INV-5"]
    assert rows[4][2] == dt.date(2026, 3, 4)
    table = part(out, "xl/tables/table1.xml").decode()
    assert 'ref="A1:G6"' in table and '<autoFilter ref="A1:G6"/>' in table
    sheet = part(out, "xl/worksheets/sheet1.xml").decode()
    assert '<dimension ref="A1:K6"/>' in sheet
    import openpyxl

    ws = openpyxl.load_workbook(out)["Invoices"]
    assert ws.tables["Invoices"].ref == "A1:G6"
    assert ws["C5"].number_format == "yyyy-mm-dd" and ws["E5"].number_format == "#,##0.00"

def test_append_fills_preformatted_blank_rows_and_keeps_their_style(tmp_path: Path) -> None:
    import xlsxwriter

    src = tmp_path / "book.xlsx"
    wb = xlsxwriter.Workbook(str(src))
    yellow = wb.add_format({"bg_color": "#FFFF00"})
    ws = wb.add_worksheet("Log")
    ws.add_table(0, 0, 5, 2, {"name": "Log", "columns": [{"header": h} for h in ("Time", "Action", "Target")]})
    ws.write_row(1, 0, ["t", "first", "x"])
    for r in range(2, 6):
        ws.write_blank(r, 1, None, yellow)
    wb.close()
    out = tmp_path / "out.xlsx"
    apply(src, out, [AppendRows("Log", (row(Action="second"),))])
    assert calamine(out, "Log")[:3] == [["Time", "Action", "Target"], ["t", "first", "x"], ["", "second", ""]]
    import openpyxl

    ws2 = openpyxl.load_workbook(out)["Log"]
    assert ws2["B3"].fill.fgColor.rgb.endswith("FFFF00")
    assert ws2.tables["Log"].ref == "A1:C6"  # already covered the new row: unchanged

def test_replace_rows_deletes_matches_shifts_later_rows_and_appends(tmp_path: Path) -> None:
    src = group_members_book(tmp_path)
    out = tmp_path / "out.xlsx"
    report = apply(src, out, [ReplaceRows("Group Members", (("Group", "vip"), ("Source", "Rule")),
                                          (row(Group="VIP", Customer_ID="C9", Source="Rule"),))])
    assert report.deleted == {"Group Members": 2} and report.appended == {"Group Members": 1}
    assert calamine(out, "Group Members") == [
        ["Group", "Customer ID", "Source"], ["VIP", "C2", "Added"], ["Small", "C3", "Rule"],
        ["Small", "C5", "Rule"], ["VIP", "C9", "Rule"]]
    assert 'ref="A1:C5"' in part(out, "xl/tables/table1.xml").decode()
    sheet = part(out, "xl/worksheets/sheet1.xml").decode()
    assert re.findall(r'<row r="(\d+)"', sheet) == ["1", "2", "3", "4", "5"]

def test_replace_rows_with_nothing_left_keeps_a_one_row_table(tmp_path: Path) -> None:
    src = group_members_book(tmp_path)
    out = tmp_path / "out.xlsx"
    apply(src, out, [ReplaceRows("Group Members", (("Source", "Rule"),)),
                     ReplaceRows("Group Members", (("Source", "Added"),))])
    assert calamine(out, "Group Members") == [["Group", "Customer ID", "Source"]]
    assert 'ref="A1:C2"' in part(out, "xl/tables/table1.xml").decode()

def test_a_missing_log_sheet_is_created_with_its_headers(rich: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.xlsx"
    report = apply(rich, out, [AppendRows("log", (row(Time=dt.datetime(2026, 4, 7, 9, 0), Action="reminder 1",
                                                      Target="INV-2"),))])
    assert report.created == ["Log"]
    rows = calamine(out, "Log")
    assert rows[0] == ["Time", "Action", "Target", "Recipients", "Status", "Message ID", "Detail"]
    assert rows[1][:3] == [dt.datetime(2026, 4, 7, 9, 0), "reminder 1", "INV-2"]
    import openpyxl

    assert openpyxl.load_workbook(out).sheetnames == ["Invoices", "Lists", "Dash", "Log"]

def test_set_cells_on_a_missing_sheet_is_a_warning(rich: Path, tmp_path: Path) -> None:
    report = apply(rich, tmp_path / "out.xlsx", [SetCells("Groups", "Group", "VIP", row(Members=3))])
    assert [str(p) for p in report.problems] == [
        'warning: Groups: the sheet is missing, so Group "VIP" was not updated — add a sheet named "Groups"']
    assert report.created == []


def test_set_at_on_a_missing_sheet_is_a_warning_and_the_rest_is_written(dashboard_book: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.xlsx"
    report = apply(dashboard_book, out, [SetAt("Charts", (("B5", 1.0), ("B6", 2.0), ("B7", 3.0), ("B8", 4.0))),
                               SetCells("Invoices", "Invoice No", "INV-2", row(Status="Open"))])
    assert [str(p) for p in report.problems] == [
        "warning: Charts: the sheet is missing, so B5, B6, B7, … were not written — "
        'add a sheet named "Charts" (copy it from a workbook made by `receivables init`)']
    assert report.skipped == [0] and report.created == []
    assert report.changed == {"Invoices": ["E3"]}


def blank_text(ref: str) -> bytes:
    return f'<c r="{ref}" t="inlineStr"><is><t> </t></is></c>'.encode()


@pytest.mark.parametrize("blank_tail", [0, 3, 64])
def test_appended_rows_go_below_the_last_record_even_after_blank_looking_rows(make_workbook, tmp_path: Path,
                                                                              blank_tail: int) -> None:
    """Rows holding only spaces below the records are no records: rows go after the last real
    one (blank-looking rows are looked for among the last 64 rows with values)."""
    records = [b'<row r="%d">' % n + inline_text(f"A{n}", f"INV-{n}") + number_cell(f"B{n}", n) + b"</row>"
               for n in range(2, 120)]
    blanks = [b'<row r="%d">' % n + blank_text(f"A{n}") + b"</row>" for n in range(120, 120 + blank_tail)]
    src = make_workbook({"Invoices": [["x"]]}, required=False)
    rezip(src, {TARGET: SHEET_HEAD + PLAIN_ROWS[0] + b"".join(records + blanks) + SHEET_TAIL})
    out = tmp_path / "out.xlsx"
    apply(src, out, [AppendRows("Invoices", (row(Invoice_No="INV-NEW", Amount=1),))])
    assert calamine(out, "Invoices")[119][:2] == ["INV-NEW", 1.0]
