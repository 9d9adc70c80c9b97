"""Any workbook a person keeps (SPEC §2): property-based, built from the schema.

A valid book is made from ``schema.SHEETS`` (every column of every sheet, so a column added to
the schema is covered the day it is added); hypothesis then removes optional columns and
sheets, may remove one required header, and writes cells of any type into any column. On every
such book the real CLI must end with an ordinary exit status (never an internal error), and no
reminder or statement may go out for a customer one of whose Payments rows could not be read,
nor a reminder for an invoice whose own row could not.
"""

from __future__ import annotations

import datetime as dt
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from addin.cli import main
from addin.journal import SENT, Journal
from addin.workbook import schema
from addin.workbook.reader import load

DAY = "2026-04-07"  # reminder 2 (7 days After) is due for the invoices due 2026-03-31
ROWS = 3
S = schema

# What a valid cell holds, where the kind alone does not say it: (sheet key, header key) -> row -> value.
SPECIAL: dict[tuple[str, str], Callable[[int], Any]] = {
    (S.CUSTOMERS.key, "customer id"): lambda i: f"C{i + 1}",
    (S.CUSTOMERS.key, "language"): lambda i: "en",
    (S.CUSTOMERS.key, "no reminders"): lambda i: False,
    (S.CUSTOMERS.key, "reminders paused until"): lambda i: None,
    (S.INVOICES.key, "invoice no"): lambda i: f"INV-{i + 1}",
    (S.INVOICES.key, "customer id"): lambda i: f"C{i + 1}",
    (S.INVOICES.key, "invoice date"): lambda i: dt.date(2026, 3, 1),
    (S.INVOICES.key, "due date"): lambda i: dt.date(2026, 3, 31),
    (S.INVOICES.key, "amount"): lambda i: 100 + i,
    (S.INVOICES.key, "status"): lambda i: "",
    (S.INVOICES.key, "last reminder"): lambda i: None,
    (S.PAYMENTS.key, "payment id"): lambda i: f"P{i + 1}",
    (S.PAYMENTS.key, "customer id"): lambda i: f"C{i + 1}",
    (S.PAYMENTS.key, "invoice no"): lambda i: f"INV-{i + 1}",
    (S.PAYMENTS.key, "amount"): lambda i: 40,
    (S.PAYMENTS.key, "date"): lambda i: dt.date(2026, 4, 1),
    (S.GROUPS.key, "group"): lambda i: f"G{i + 1}",
    (S.GROUP_RULES.key, "group"): lambda i: f"G{i + 1}",
    (S.GROUP_RULES.key, "field"): lambda i: "Status",
    (S.GROUP_RULES.key, "operator"): lambda i: "is",
    (S.GROUP_RULES.key, "value"): lambda i: "Active",
    (S.GROUP_RULES.key, "value 2"): lambda i: None,
    (S.GROUP_MEMBERS.key, "group"): lambda i: "G1",
    (S.GROUP_MEMBERS.key, "customer id"): lambda i: f"C{i + 1}",
    (S.GROUP_MEMBERS.key, "source"): lambda i: "Removed" if i == 1 else "Added",
    (S.REMINDERS.key, "reminder"): lambda i: i + 1,
    (S.REMINDERS.key, "days"): lambda i: (3, 7, 30)[i],
    (S.REMINDERS.key, "when"): lambda i: "Before" if i == 0 else "After",
    (S.REMINDERS.key, "group"): lambda i: None,
    (S.STATEMENT_SCHEDULES.key, "customer id"): lambda i: f"C{i + 1}",
    (S.STATEMENT_SCHEDULES.key, "group"): lambda i: None,
    (S.STATEMENT_SCHEDULES.key, "day"): lambda i: 1,
    (S.STATEMENT_SCHEDULES.key, "exclude zero balance"): lambda i: False,
    (S.VENDORS.key, "vendor id"): lambda i: f"V{i + 1}",
}
BY_KIND: dict[schema.Kind, Callable[[schema.Column, int], Any]] = {
    schema.Kind.TEXT: lambda c, i: f"{c.header} {i + 1}",
    schema.Kind.DATE: lambda c, i: dt.date(2026, 3, 1),
    schema.Kind.DATETIME: lambda c, i: dt.datetime(2026, 3, 1, 9, 30),
    schema.Kind.MONEY: lambda c, i: 10,
    schema.Kind.NUMBER: lambda c, i: 1,
    schema.Kind.INT: lambda c, i: 1,
    schema.Kind.BOOL: lambda c, i: True,
    schema.Kind.CHOICE: lambda c, i: c.choices[0],
    schema.Kind.EMAILS: lambda c, i: f"person{i + 1}@example.com",
}
# Sheets left with their headers only: a Users row would leave this machine's user without
# access, the add-in's own sheets are written, not read.
HEADERS_ONLY = {S.USERS.key, S.LOG.key}
SETTINGS_ROWS = [["company_name", "Maple Books Ltd"], ["company_email", "billing@maple.example"],
                 ["reminders_enabled", True], ["catch_up_days", 30]]


def valid_tables() -> dict[str, list[list[Any]]]:
    """Every sheet of the schema with every column and a few valid rows."""
    tables: dict[str, list[list[Any]]] = {}
    for sheet in schema.SHEETS:
        header = [c.header for c in sheet.columns]
        if sheet is S.SETTINGS_SHEET:
            rows = [[k, v, ""] for k, v in SETTINGS_ROWS]
        elif sheet.key in HEADERS_ONLY:
            rows = []
        else:
            count = 1 if sheet in (S.GROUPS, S.GROUP_RULES, S.VENDORS) else ROWS
            rows = [[SPECIAL.get((sheet.key, c.key), lambda i, c=c: BY_KIND[c.kind](c, i))(i) for c in sheet.columns]
                    for i in range(count)]
        tables[sheet.name] = [header, *rows]
    return tables


OPTIONAL_COLUMNS = [(s.name, c.header) for s in schema.SHEETS for c in s.columns if not c.required]
REQUIRED_COLUMNS = [(s.name, c.header) for s in schema.SHEETS for c in s.columns if c.required]
OPTIONAL_SHEETS = [s.name for s in schema.SHEETS if not s.required]
ALL_COLUMNS = [(s.name, c.header) for s in schema.SHEETS if s.key not in HEADERS_ONLY for c in s.columns]

ANY_VALUE = st.one_of(
    st.none(),
    # any text a cell can hold: XML 1.0 has no control characters but tab, LF and CR
    st.text(st.characters(exclude_categories=("Cs",), exclude_characters=[
        chr(c) for c in range(32) if chr(c) not in "\t\n\r"]), max_size=12),
    st.sampled_from(["#N/A", "#VALUE!", "=1+1", "2026-02-30", "1.234,56", "$1,234.56", "  ", "TRUE", "oui",
                     "C1", "INV-2", "G1", "a@b", "x@example.com; y@example.com"]),
    st.integers(min_value=-10**15, max_value=10**15),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([1e300, -1e300, 60.0, 0.0, 1e12 + 1]),
    st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2100, 1, 1)),
    st.booleans(),
)


@st.composite
def shapes(draw: st.DrawFn) -> dict[str, Any]:
    return {
        "drop_columns": draw(st.lists(st.sampled_from(OPTIONAL_COLUMNS), max_size=6, unique=True)),
        "drop_sheets": draw(st.lists(st.sampled_from(OPTIONAL_SHEETS), max_size=2, unique=True)),
        "drop_required": draw(st.one_of(st.none(), st.sampled_from(REQUIRED_COLUMNS))),
        "cells": draw(st.lists(st.tuples(st.sampled_from(ALL_COLUMNS), st.integers(0, ROWS - 1), ANY_VALUE),
                               max_size=6)),
    }


def shaped(shape: dict[str, Any]) -> dict[str, list[list[Any]]]:
    tables = valid_tables()
    for (sheet, header), row, value in shape["cells"]:
        rows = tables[sheet]
        if row + 1 < len(rows):
            rows[row + 1][rows[0].index(header)] = value
    dropped = [*shape["drop_columns"], *([shape["drop_required"]] if shape["drop_required"] else [])]
    for sheet, header in dropped:
        rows = tables[sheet]
        if header in rows[0]:
            at = rows[0].index(header)
            for r in rows:
                del r[at]
    for sheet in shape["drop_sheets"]:
        del tables[sheet]
    return tables


def cli(capsys: pytest.CaptureFixture[str], *words: str) -> int:
    status = main(list(words))
    err = capsys.readouterr().err
    assert "internal error" not in err, err
    assert status in (0, 1, 2), status
    return status


def untrusted(tables: dict[str, list[list[Any]]], path: Path) -> tuple[bool, set[str], set[str]]:
    """What the mutated book does not let anyone know, judged from the rows as the test wrote
    them: (everything, customers whose payments could not all be read, invoices whose row
    could not be read)."""
    book = load(path)
    errors = [p for p in book.problems if p.is_error]
    sheet_level = {schema.normalize(p.sheet) for p in errors if p.cell in ("", "1:1")}
    if sheet_level & {S.SETTINGS_SHEET.key, S.CUSTOMERS.key, S.INVOICES.key, S.PAYMENTS.key}:
        return True, set(), set()
    original = valid_tables()
    customers: set[str] = set()
    invoices: set[str] = set()
    for p in errors:
        row = int("".join(ch for ch in p.cell if ch.isdigit()) or 0)
        sheet = schema.normalize(p.sheet)
        if sheet == S.PAYMENTS.key and 2 <= row <= ROWS + 1:
            header = original["Payments"][0]
            values = dict(zip(header, original["Payments"][row - 1], strict=True))
            customers.add(values["Customer ID"])
            customers.add({"INV-1": "C1", "INV-2": "C2", "INV-3": "C3"}[values["Invoice No"]])
        elif sheet == S.INVOICES.key and 2 <= row <= ROWS + 1:
            invoices.add(f"INV-{row - 1}")
    return False, customers, invoices


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow])
@given(shape=shapes())
def test_any_shape_never_crashes_and_never_acts_on_what_cannot_be_read(shape, capsys, write_tables):
    with tempfile.TemporaryDirectory() as folder:
        tables = shaped(shape)
        wb = write_tables(Path(folder) / "books.xlsx", tables, required=False)
        outbox = Path(folder) / "out"
        cli(capsys, "check", str(wb))
        cli(capsys, "reminders", "due", str(wb), "--as-of", DAY)
        cli(capsys, "reminders", "run", str(wb), "--as-of", DAY, "--outbox", str(outbox))
        cli(capsys, "statements", "run", str(wb), "--as-of", "2026-04-01", "--outbox", str(outbox))
        if schema.PAYMENTS.name in shape["drop_sheets"]:
            return  # no Payments sheet: the person says nobody paid (a missing sheet reads as empty)
        everything, customers, invoices = untrusted(tables, wb)
        if not Journal.exists(wb):
            return
        with Journal.open(wb) as journal:
            sent = [r.key for r in journal.sends(SENT)]
        for key in sent:
            kind, _, rest = key.partition(":")
            assert not everything, f"{key} went out from books that cannot be read"
            if kind == "reminder":
                number = rest.split(":")[0]
                owner = {"INV-1": "C1", "INV-2": "C2", "INV-3": "C3"}.get(number)
                assert owner not in customers, f"{key}: a payment of {owner} could not be read"
                assert number not in invoices, f"{key}: the invoice's own row could not be read"
            elif kind == "statement":
                customer = rest.split(":")[0]
                assert customer not in customers, f"{key}: a payment of {customer} could not be read"


def test_the_valid_book_made_from_the_schema_reads_without_errors_and_sends(tmp_path, capsys, write_tables):
    """The property above starts from a book that works: it sends, so a hold would show."""
    wb = write_tables(tmp_path / "books.xlsx", valid_tables(), required=False)
    book = load(wb)
    assert [str(p) for p in book.problems if p.is_error] == []
    assert cli(capsys, "reminders", "run", str(wb), "--as-of", DAY, "--outbox", str(tmp_path / "out")) == 0
    assert cli(capsys, "statements", "run", str(wb), "--as-of", "2026-04-01", "--outbox", str(tmp_path / "out")) == 0
    with Journal.open(wb) as journal:
        kinds = sorted({r.key.split(":")[0] for r in journal.sends(SENT)})
    assert kinds == ["reminder", "statement"]


@pytest.mark.parametrize(("sheet", "header"), OPTIONAL_COLUMNS)
def test_every_optional_column_may_be_absent(tmp_path, capsys, write_tables, sheet, header):
    wb = write_tables(tmp_path / "books.xlsx", shaped({"drop_columns": [(sheet, header)], "drop_sheets": [],
                                                "drop_required": None, "cells": []}), required=False)
    assert cli(capsys, "check", str(wb)) in (0, 1)
    assert cli(capsys, "reminders", "run", str(wb), "--as-of", DAY, "--outbox", str(tmp_path / "out")) in (0, 1)


@pytest.mark.parametrize("sheet", OPTIONAL_SHEETS)
def test_every_optional_sheet_may_be_absent(tmp_path, capsys, write_tables, sheet):
    wb = write_tables(tmp_path / "books.xlsx", shaped({"drop_columns": [], "drop_sheets": [sheet],
                                                "drop_required": None, "cells": []}), required=False)
    assert cli(capsys, "check", str(wb)) == 0
    assert cli(capsys, "reminders", "run", str(wb), "--as-of", DAY, "--outbox", str(tmp_path / "out")) == 0
