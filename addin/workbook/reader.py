"""Read a workbook into a Book: typed records plus every problem found (SPEC §2 "Rules for reading").

``load(path)`` is a pipeline, each stage its own module:

1. ``sheets``: the file opened (or refused: ``WorkbookUnreadable``), each sheet parsed by
   python-calamine into a grid (in threads), and what its XML says beyond the values (error
   cells, formulas with no saved value, date-styled columns, the 1904 date system, date 60);
2. ``table``: each sheet's cells converted a column at a time by the one converter of each
   kind (``cells``), the cells that did not convert told, blank and unusable rows left out;
3. ``records``: the rows made into the model's records through their constructors, with the
   checks that decide which rows become records (repeated IDs, unknown customers, invoices);
4. ``validation.VALIDATIONS``: the checks of the records together, listed in one place.

Problems are values, in sheet and row order (``problems.in_sheet_order``); one bad row never
stops the others. Only a file that cannot be read at all raises ``WorkbookUnreadable``. The
book's ledger is the ledger's to make (``Ledger.from_book``), not the reader's.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from ..model import Book, Settings
from ..perf import quiet_gc, settle
from ..problems import in_sheet_order
from . import records, schema
from .sheets import Sheets, WorkbookUnreadable, open_workbook
from .table import Found, Tables, blank_value
from .validation import VALIDATIONS

__all__ = ["READ", "WorkbookUnreadable", "blank_value", "load", "load_settings"]

# Sheets read, in reading order (Settings first: its language decides how amounts typed as text read).
READ = (
    schema.SETTINGS_SHEET, schema.CUSTOMERS, schema.INVOICES, schema.PAYMENTS, schema.GROUPS,
    schema.GROUP_RULES, schema.GROUP_MEMBERS, schema.REMINDERS, schema.STATEMENT_SCHEDULES,
    schema.USERS, schema.VENDORS,
)
# Sheets parsed in this order: Payments before Invoices, so that its cells are converted while
# Invoices, the largest sheet, is still being parsed.
PARSE_ORDER = (
    schema.SETTINGS_SHEET, schema.CUSTOMERS, schema.PAYMENTS, schema.INVOICES, *READ[4:],
)


def load(path: Path) -> Book:
    """Read the workbook at ``path``; raises WorkbookUnreadable when it cannot be read at all."""
    path = Path(path)
    workbook = open_workbook(path)
    names, doubles = _sheet_names(workbook)
    order = [names[s.key] for s in PARSE_ORDER if s.key in names and s.key not in doubles]
    with quiet_gc():  # records hold no cycles: the collector would rescan the growing heap for nothing
        sheets = Sheets(path, workbook, order)
        try:
            book = _read(Tables(names, sheets, Found(), doubles), path)
        finally:
            sheets.close()
            workbook.close()
        settle()  # while paused: the collector would otherwise scan every new record once, for nothing
    return book


def load_settings(path: Path) -> Settings:
    """Only the Settings sheet of the workbook at ``path`` (for commands that need nothing else)."""
    path = Path(path)
    workbook = open_workbook(path)
    names, doubles = _sheet_names(workbook)
    key = schema.SETTINGS_SHEET.key
    sheets = Sheets(path, workbook, [names[key]] if key in names and key not in doubles else [])
    try:
        return records.settings(Tables(names, sheets, Found(), doubles))
    finally:
        sheets.close()
        workbook.close()


def _sheet_names(workbook: Any) -> tuple[dict[str, str], dict[str, list[str]]]:
    """Each sheet key's sheet name, and the keys two or more sheets share (with their names: neither is read)."""
    names: dict[str, str] = {}
    doubles: dict[str, list[str]] = {}
    for name in workbook.sheet_names:
        key = schema.normalize(name)
        if key in names:
            doubles.setdefault(key, [names[key]]).append(name)
        else:
            names[key] = name
    return names, doubles


def _read(tables: Tables, path: Path) -> Book:
    settings = records.settings(tables)
    tables.language = settings.language
    accounts = records.Accounts(tables)
    customers = accounts.customers()
    pending = accounts.payments(customers)  # while Invoices is still parsed
    invoices = accounts.invoices(customers)
    payments = accounts.link(pending, invoices)
    accounts.attribute_payments(pending, invoices, customers)
    book = Book(
        settings=settings,
        customers=tuple(customers.values()),
        invoices=tuple(invoices.values()),
        payments=payments,
        groups=records.groups(tables),
        rules=records.rules(tables),
        members=records.members(tables, customers),
        reminders=records.reminders(tables),
        schedules=records.schedules(tables, customers, settings),
        users=records.users(tables),
        vendors=records.vendors(tables),
        path=path,
        sheet_names=dict(tables.names),
        as_read=accounts.as_read,
    )
    read = {spec.key for spec in READ}
    for key in tables.doubles:
        if key not in read and key in schema.SHEETS_BY_KEY:  # Log, Dashboard: written to, never read
            tables.double(key)
    problems = tables.found.problems
    for check in VALIDATIONS:
        problems.extend(check(book))
    return dataclasses.replace(book, problems=tuple(in_sheet_order(problems)))
