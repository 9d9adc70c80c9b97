"""``receivables check WB`` run as a real subprocess: problems in sheet order, a count line, exit codes."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from pathlib import Path

ALL_SHEETS = {
    "Customers": [["Customer ID", "Name", "Status", "Email"],
                  ["C1", "Acme Ltd", "Active", "ap@acme.example.com"]],
    "Invoices": [["Invoice No", "Customer ID", "Invoice Date", "Due Date", "Amount"],
                 ["INV-1", "C1", dt.date(2026, 3, 1), dt.date(2026, 3, 31), 100]],
    "Payments": [["Payment ID", "Customer ID", "Date", "Amount", "Type", "Invoice No"]],
    "Groups": [["Group", "Description"]],
    "Group Rules": [["Group", "Field", "Operator", "Value"]],
    "Group Members": [["Group", "Customer ID", "Source"]],
    "Reminders": [["Reminder", "Enabled", "Days", "When"]],
    "Statement Schedules": [["Customer ID", "Group", "Enabled", "Day"]],
    "Users": [["User", "Role"]],
    "Vendors": [["Vendor ID", "Name", "Status", "Email"]],
}


def check(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "addin", "check", str(path)], capture_output=True,
                          text=True, encoding="utf-8", timeout=120)


def test_a_clean_workbook_has_no_problems_and_exits_0(make_workbook):
    result = check(make_workbook(ALL_SHEETS))

    assert (result.returncode, result.stdout, result.stderr) == (0, "No problems found.\n", "")


def test_warnings_and_notices_alone_exit_0(make_workbook):
    tables = {k: v for k, v in ALL_SHEETS.items() if k != "Vendors"}
    tables["Invoices"] = [*ALL_SHEETS["Invoices"][:1], ["INV-1", "C1", "2026-03-01", dt.date(2026, 3, 31), 100]]
    result = check(make_workbook(tables))

    assert result.returncode == 0
    assert result.stdout.splitlines() == [
        'warning: Invoices!C2: invoice date "2026-03-01" is text, read as 2026-03-01 — retype it as a date so '
        "Excel treats it as one",
        'notice: Vendors: no such sheet; read as empty — add a sheet named "Vendors" to use it',
        "1 warning, 1 notice",
    ]


def test_errors_are_listed_in_sheet_and_row_order_and_exit_1(make_workbook):
    tables = dict(ALL_SHEETS)
    tables["Invoices"] = [*ALL_SHEETS["Invoices"],
                          ["INV-2", "C1", dt.date(2026, 3, 1), "31/02/2026", 50],
                          ["inv-1", "C1", dt.date(2026, 3, 1), dt.date(2026, 3, 31), "$1,234.56"]]
    tables["Customers"] = [*ALL_SHEETS["Customers"], ["C2", "Bolt", "Gone", "ap@bolt.example.com"]]
    result = check(make_workbook(tables))

    assert result.returncode == 1, result.stderr
    assert result.stdout.splitlines() == [
        'Customers!C3: status "Gone" is not a valid choice — choose one of: Active, Inactive',
        'Invoices!D3: due date "31/02/2026" is not a date — type it as a date, e.g. 2026-02-28',
        'Invoices!A4: invoice number "inv-1" repeats row 2 ("INV-1") — give each invoice its own number; '
        "this row is not used",
        'warning: Invoices!E4: amount "$1,234.56" is text, read as 1234.56 — type it as a number',
        "3 errors, 1 warning",
    ]
    assert result.stderr == ""


def test_a_missing_workbook_exits_2_with_a_message_and_no_traceback(tmp_path):
    result = check(tmp_path / "nowhere.xlsx")

    assert result.returncode == 2
    assert result.stdout == ""
    assert "nowhere.xlsx: no such workbook" in result.stderr and "Traceback" not in result.stderr


def test_a_file_that_is_not_a_workbook_exits_2(tmp_path):
    path = tmp_path / "book.xlsx"
    path.write_text("name,amount\n", encoding="utf-8")

    result = check(path)

    assert result.returncode == 2
    assert "is not an .xlsx workbook — open it in Excel and save it as Excel Workbook (.xlsx)" in result.stderr
    assert "Traceback" not in result.stderr


def test_problems_from_the_feature_checks_are_included(make_workbook):
    tables = dict(ALL_SHEETS)
    tables["Statement Schedules"] = [["Customer ID", "Group", "Enabled", "Day", "Subject"],
                                     ["C1", None, True, 1, "Statement {{ customer.nme"]]
    result = check(make_workbook(tables))

    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert lines[0].startswith("'Statement Schedules'!E2: ") and lines[-1] == "1 error"
