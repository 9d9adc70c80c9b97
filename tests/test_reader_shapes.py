"""Any shape of workbook reads without an internal error (SPEC §2 "The workbook is the user's").

Driven by the schema: every optional column of every sheet read, every optional sheet and every
required header, so that a column or sheet added to the schema is covered the day it is added.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re

import pytest

from addin.model import NOWHERE
from addin.problems import Severity, sheet_ref
from addin.workbook import reader, schema
from addin.workbook.reader import blank_value, load, load_settings

D1 = dt.date(2026, 3, 1)
# Values that are valid together, by (sheet, header); other columns get one by their kind (KIND).
GIVEN: dict[tuple[str, str], list[object]] = {
    ("Settings", "Key"): ["company_name", "language"],
    ("Settings", "Value"): ["Maple Books", "en"],
    ("Customers", "Customer ID"): ["C1", "C2"],
    ("Invoices", "Invoice No"): ["INV-1", "INV-2"],
    ("Invoices", "Customer ID"): ["C1", "C2"],
    ("Invoices", "Amount"): [100.0, 250.5],
    ("Payments", "Customer ID"): ["C1", "C2"],
    ("Payments", "Invoice No"): ["INV-1", None],
    ("Payments", "Amount"): [40.0, 10.0],
    ("Groups", "Group"): ["VIP", "Late"],
    ("Group Rules", "Group"): ["VIP", "Late"],
    ("Group Rules", "Field"): ["Status", "Balance"],
    ("Group Rules", "Operator"): ["is", "greater than"],
    ("Group Rules", "Value"): ["Active", 100.0],
    ("Group Members", "Group"): ["VIP", "VIP"],
    ("Group Members", "Customer ID"): ["C1", "C2"],
    ("Group Members", "Source"): ["Added", "Removed"],
    ("Reminders", "Reminder"): [1, 2],
    ("Statement Schedules", "Customer ID"): ["C1", None],
    ("Statement Schedules", "Group"): [None, "VIP"],
    ("Users", "Role"): ["Admin", "Limited"],
    ("Users", "Group"): [None, "VIP"],
    ("Vendors", "Vendor ID"): ["V1", "V2"],
}
KIND = {
    schema.Kind.DATE: [D1, dt.date(2026, 3, 31)],
    schema.Kind.DATETIME: [dt.datetime(2026, 3, 1, 9, 30), dt.datetime(2026, 3, 2, 10, 0)],
    schema.Kind.MONEY: [12.5, 30.0],
    schema.Kind.BOOL: [True, False],
    schema.Kind.INT: [3, 5],
    schema.Kind.NUMBER: [1.5, 2.0],
    schema.Kind.EMAILS: ["ap@acme.example.com", "a@bolt.example.com; b@bolt.example.com"],
}
RECORDS = {  # sheet key -> the Book attribute holding its records
    "settings": "settings", "customers": "customers", "invoices": "invoices", "payments": "payments",
    "groups": "groups", "group rules": "rules", "group members": "members", "reminders": "reminders",
    "statement schedules": "schedules", "users": "users", "vendors": "vendors",
}
RENAMED = {"email": "emails", "statement email": "statement_emails", "value 2": "value2"}  # header key -> attribute
# Attributes a record fills from elsewhere when the cell is blank (SPEC: blank Type = Settings' statement_type).
FILLED_ELSEWHERE = {("statement schedules", "type")}


def sample(column: schema.Column, sheet: schema.Sheet) -> list[object]:
    given = GIVEN.get((sheet.name, column.header))
    if given is not None:
        return given
    if column.choices:
        return [column.choices[0], column.choices[-1]]
    return KIND.get(column.kind, [f"{column.header} one", f"{column.header} two"])


def tables(*, drop: tuple[str, str] | None = None, blank: tuple[str, str] | None = None,
           without: str | None = None) -> dict[str, list[list[object]]]:
    """Every sheet read, with every column and two valid rows; one column dropped or blanked, one sheet left out."""
    out = {}
    for sheet in reader.READ:
        if sheet.name == without:
            continue
        columns = [c for c in sheet.columns if (sheet.name, c.header) != drop]
        values = [[None, None] if (sheet.name, c.header) == blank else sample(c, sheet) for c in columns]
        out[sheet.name] = [[c.header for c in columns], *map(list, zip(*values, strict=True))]
    return out


def comparable(record):
    """A record without where it came from (column letters move when a column is dropped)."""
    if hasattr(record, "_replace"):
        return record._replace(origin=NOWHERE)
    return dataclasses.replace(record, origin=NOWHERE) if hasattr(record, "origin") else record


def records(book, key):
    found = getattr(book, RECORDS[key])
    return [comparable(r) for r in found] if isinstance(found, tuple) else comparable(found)


def problems(book):
    """Problems with the row, not the column letter, of their cell."""
    return [(p.severity, p.sheet, re.sub(r"^[A-Z]+(?=\d)", "", p.cell), p.message, p.fix, p.customer_id)
            for p in book.problems if p.severity is not Severity.NOTICE]


OPTIONAL = [(sheet, column) for sheet in reader.READ for column in sheet.columns if not column.required]
REQUIRED = [(sheet, column) for sheet in reader.READ for column in sheet.columns if column.required]


def test_the_full_workbook_reads_without_problems(make_workbook):
    book = load(make_workbook(tables()))

    assert problems(book) == []
    assert all(records(book, key) for key in RECORDS)


@pytest.mark.parametrize(("sheet", "column"), OPTIONAL, ids=[f"{s.name}-{c.header}" for s, c in OPTIONAL])
def test_an_optional_column_left_out_reads_as_a_column_of_blank_cells(make_workbook, sheet, column):
    where = (sheet.name, column.header)
    left_out = load(make_workbook(tables(drop=where), name="without.xlsx"))
    blanked = load(make_workbook(tables(blank=where), name="blank.xlsx"))

    for key in RECORDS:
        assert records(left_out, key) == records(blanked, key), key
    assert problems(left_out) == problems(blanked)
    attr = RENAMED.get(column.key, column.key.replace(" ", "_"))
    found = records(left_out, sheet.key) if sheet.key != "settings" else []
    if found and hasattr(found[0], attr) and (sheet.key, attr) not in FILLED_ELSEWHERE:
        assert {getattr(r, attr) for r in found} == {blank_value(sheet, column)}


OPTIONAL_SHEETS = [s for s in reader.READ if not s.required]


@pytest.mark.parametrize("sheet", OPTIONAL_SHEETS, ids=[s.name for s in OPTIONAL_SHEETS])
def test_an_optional_sheet_left_out_reads_as_empty_with_a_notice(make_workbook, sheet):
    book = load(make_workbook(tables(without=sheet.name)))

    assert records(book, sheet.key) == []
    notices = [str(p) for p in book.problems if p.severity is Severity.NOTICE]
    assert notices == [f'notice: {sheet_ref(sheet.name)}: no such sheet; read as empty — '
                       f'add a sheet named "{sheet.name}" to use it']


@pytest.mark.parametrize(("sheet", "column"), REQUIRED, ids=[f"{s.name}-{c.header}" for s, c in REQUIRED])
def test_a_required_header_left_out_is_an_error_for_the_whole_sheet(make_workbook, sheet, column):
    book = load(make_workbook(tables(drop=(sheet.name, column.header))))

    missing = [p for p in book.problems if p.sheet == sheet.name]
    assert [(p.severity, p.cell, p.message) for p in missing] == [
        (Severity.ERROR, "1:1", f'missing column "{column.header}"')]
    if sheet.key != "settings":
        assert records(book, sheet.key) == []


# --- two sheets of one name ---------------------------------------------------------------------

PAYMENTS = [["Payment ID", "Customer ID", "Date", "Amount"], ["P1", "C1", D1, 40.0]]


def test_two_sheets_whose_names_differ_by_case_or_spaces_make_the_sheet_unreadable(make_workbook):
    full = tables()
    book = load(make_workbook({**full, "payments ": PAYMENTS, " log": [["Time"]], "LOG": [["Time"]]}))

    doubled = [p for p in book.problems if p.severity is Severity.ERROR]
    assert [str(p) for p in doubled] == [
        'Payments: the sheets "Payments" and "payments " have the same name but for case or spaces — '
        "rename or delete one of them; until then neither is used",
        "' log': the sheets \" log\" and \"LOG\" have the same name but for case or spaces — "
        "rename or delete one of them; until then neither is used",
    ]
    assert [(p.sheet, p.cell) for p in doubled] == [("Payments", ""), (" log", "")]
    assert book.payments == ()
    assert len(book.invoices) == 2  # the other sheets are read


def test_a_doubled_required_sheet_is_unreadable_too(make_workbook):
    full = tables()
    book = load(make_workbook({**full, " invoices  ": full["Invoices"]}))  # Excel itself refuses case alone

    assert [str(p) for p in book.errors if p.sheet == "Invoices"] == [
        'Invoices: the sheets "Invoices" and " invoices  " have the same name but for case or spaces — '
        "rename or delete one of them; until then neither is used"]
    assert book.invoices == () and len(book.customers) == 2


def test_settings_alone_are_read_as_the_whole_load_reads_them_when_two_sheets_share_the_name(make_workbook):
    # The sent command reads Settings alone (load_settings): two sheets named alike mean neither, as for load.
    full = tables()
    book_file = make_workbook({**full, "Settings": [["Key", "Value"], ["Language", "fr"]],
                               "settings ": [["Key", "Value"], ["Language", "fr"]]})

    assert load(book_file).settings.language == "en"  # neither sheet is used: the defaults
    assert load_settings(book_file) == load(book_file).settings
