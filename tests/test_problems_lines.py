"""Alike problems of one column are printed as one line naming the range (SPEC §2), while the
book keeps one problem per cell: what a problem blocks (its customer, its row) is untouched."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys

from addin.problems import Problem, Severity, error, lines, warning
from addin.workbook.reader import load

NUMBERS = "{n} dates are numbers — format the column as a date"


def number_date(row: int, value: int = 46082) -> Problem:
    return Problem(Severity.WARNING, "Invoices", f"C{row}", f'invoice date "{value}" is a number, read as 2026-03-01',
                   "format the cell as a date", f"C{row % 4}", plural=NUMBERS)


def test_several_alike_problems_in_one_column_are_one_line_naming_the_range():
    problems = [number_date(row, 46080 + row) for row in range(2, 234)]

    assert lines(problems) == ["warning: Invoices!C2:C233: 232 dates are numbers — format the column as a date"]


def test_rows_between_without_the_problem_are_in_the_range_and_the_number_says_how_many():
    other = error("Invoices", "E5", 'amount "ten" is not an amount', "type it as a number, e.g. 1234.56", "C1")
    problems = [number_date(2), number_date(3), other, number_date(40)]

    assert lines(problems) == [
        "warning: Invoices!C2:C40: 3 dates are numbers — format the column as a date",
        'Invoices!E5: amount "ten" is not an amount — type it as a number, e.g. 1234.56',
    ]


def test_two_alike_problems_stay_two_lines():
    assert lines([number_date(2), number_date(3)]) == [str(number_date(2)), str(number_date(3))]


def test_problems_alike_but_for_their_values_are_told_by_the_first_when_they_have_no_plural():
    problems = [error("Invoices", f"D{row}", f'due date "{row}/02/2026" is not a date',
                      f"type it as a date, e.g. 2026-02-{row:02}") for row in (7, 3, 12)]
    problems.append(error("'Group Rules'", "D4", "never mind", ""))

    assert lines(problems) == [
        'Invoices!D3:D12: 3 cells like D7: due date "7/02/2026" is not a date — type it as a date, e.g. 2026-02-07',
        str(problems[-1]),
    ]


def test_other_columns_sheets_severities_or_messages_are_not_merged():
    problems = [
        number_date(2), number_date(3),
        warning("Invoices", "D4", 'due date "46082" is a number, read as 2026-03-01', "format the cell as a date"),
        warning("Payments", "C4", 'date "46082" is a number, read as 2026-03-01', "format the cell as a date"),
        error("Invoices", "C5", 'invoice date "x" is not a date', "type it as a date, e.g. 2026-03-15"),
        error("Invoices", "1:1", 'missing column "Amount"'), error("Invoices", "1:1", 'missing column "Amount"'),
        error("Invoices", "1:1", 'missing column "Amount"'),
    ]

    assert lines(problems) == [str(p) for p in problems]


def test_the_book_keeps_a_problem_per_cell_and_check_prints_one_line(make_workbook):
    rows = [[f"INV-{n}", "C1" if n % 2 else "C2", 46082 + n, dt.date(2027, 12, 31), 10] for n in range(1, 233)]
    path = make_workbook({
        "Customers": [["Customer ID", "Name", "Status", "Email"], ["C1", "Acme", "Active", "a@acme.example.com"],
                      ["C2", "Bolt", "Active", "b@bolt.example.com"]],
        "Invoices": [["Invoice No", "Customer ID", "Invoice Date", "Due Date", "Amount"], *rows],
    })

    book = load(path)
    dated = [p for p in book.problems if p.severity is Severity.WARNING]
    assert len(dated) == 232 and {p.customer_id for p in dated} == {"C1", "C2"}
    assert dated[0].cell == "C2" and dated[-1].cell == "C233"

    result = subprocess.run([sys.executable, "-m", "addin", "check", str(path)], capture_output=True, text=True,
                            encoding="utf-8", timeout=120)
    printed = [line for line in result.stdout.splitlines() if not line.startswith("notice:")]
    assert printed == ["warning: Invoices!C2:C233: 232 dates are numbers — format the column as a date",
                       "232 warnings, 8 notices"]
    assert result.returncode == 0
