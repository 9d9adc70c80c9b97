"""Numbers beyond money.LIMIT are errors at their cell, never an internal error (SPEC §2)."""

from __future__ import annotations

import datetime as dt

from addin.problems import Severity
from addin.workbook.reader import load

D1 = dt.date(2026, 3, 1)
CUSTOMERS = [["Customer ID", "Name", "Status", "Email"], ["C1", "Acme Ltd", "Active", "ap@acme.example.com"]]
INVOICES = ["Invoice No", "Customer ID", "Invoice Date", "Due Date", "Amount"]


def shown(book) -> list[str]:
    return [str(p) for p in book.problems if p.severity is not Severity.NOTICE]


def test_an_amount_beyond_the_limit_is_an_error_at_its_cell(make_workbook):
    book = load(make_workbook({
        "Customers": CUSTOMERS,
        "Invoices": [INVOICES, ["INV-1", "C1", D1, D1, 100], ["INV-2", "C1", D1, D1, 50],
                     ["INV-3", "C1", D1, D1, 25], ["INV-4", "C1", D1, D1, 1e300], ["INV-5", "C1", D1, D1, 1e12]],
        "Payments": [["Payment ID", "Customer ID", "Date", "Amount"], ["P1", "C1", D1, "$5,000,000,000,000"]],
    }))

    assert shown(book) == [
        "Invoices!E5: amount 1E+300 is beyond 1,000,000,000,000 — check the amount",
        'Payments!D2: amount "$5,000,000,000,000" is beyond 1,000,000,000,000 — check the amount',
    ]
    assert [i.number for i in book.invoices] == ["INV-1", "INV-2", "INV-3", "INV-5"]
    assert book.is_blocked("C1")


def test_infinity_written_by_another_program_is_an_error_too(make_workbook, rewrite_part):
    path = make_workbook({"Customers": CUSTOMERS, "Invoices": [INVOICES, ["INV-1", "C1", D1, D1, 123456]],
                          "Reminders": [["Reminder", "Enabled", "Days", "When"], [1, True, 654321, "After"]]})
    rewrite_part(path, "xl/worksheets/sheet2.xml", b"<v>123456</v>", b"<v>inf</v>")
    rewrite_part(path, "xl/worksheets/sheet3.xml", b"<v>654321</v>", b"<v>NaN</v>")

    book = load(path)

    assert shown(book) == [
        "Invoices!E2: amount INF is beyond 1,000,000,000,000 — check the amount",
        'Reminders!C2: days "NAN" is not a whole number — type a whole number from 0 to 90',
    ]


def test_huge_whole_numbers_and_rule_values_are_errors(make_workbook):
    book = load(make_workbook({
        "Settings": [["Key", "Value"], ["smtp_port", 1e300], ["catch_up_days", 1e20], ["backups_keep", 1e15]],
        "Customers": CUSTOMERS,
        "Reminders": [["Reminder", "Enabled", "Days", "When"], [1, True, 1e300, "After"]],
        "Statement Schedules": [["Customer ID", "Enabled", "Day"], ["C1", True, -1e300]],
        "Group Rules": [["Group", "Field", "Operator", "Value", "Value 2"],
                        ["Big", "Balance", "between", 0, 1e300], ["Big", "Balance", "greater than", 1e12, None]],
    }))

    assert shown(book) == [
        'Settings!B2: smtp_port "1E+300" is out of range — type a whole number from 1 to 65535',
        'Settings!B3: catch_up_days "1E+20" is out of range — type a whole number from 0 to 90',
        "Settings!B4: backups_keep 1E+15 is beyond 1,000,000,000,000 — check the number",
        "'Group Rules'!E2: value 2 1E+300 is beyond 1,000,000,000,000 — check the number",
        'Reminders!C2: days "1E+300" is out of range — type a whole number from 0 to 90',
        "'Statement Schedules'!C2: day \"-1E+300\" is out of range — type a whole number from 1 to 31",
    ]
    assert book.settings.smtp_port == 587 and book.reminders == () and book.schedules == ()
    assert [r.value for r in book.rules] == [0, 10**12]
