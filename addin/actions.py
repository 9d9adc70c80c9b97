"""What the pure core asks the edges to do: emails to send and workbook cells to write.

Features (groups, reminders, statements, dashboard) are pure functions that return these
values; ``addin.run`` carries them out (journal, transport, guarded writer). Nothing here
does I/O.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import NamedTuple, Union

from .problems import Problem

Cell = Union[str, int, float, bool, dt.date, dt.datetime, None]  # noqa: UP007 - runtime alias
# Money is written as float: the only place floats appear, at the very edge (STYLE lesson 1).


class SetCells(NamedTuple):
    """Set add-in cells of one existing record, found by its key column (a named tuple: a
    refresh makes 100,000 of them).

    Attributes:
      sheet: schema sheet name (e.g. "Invoices").
      key_header: the column that identifies the row ("Invoice No").
      key: its value (compared trimmed and case-insensitively).
      values: header -> value to write.
    """

    sheet: str
    key_header: str
    key: str
    values: tuple[tuple[str, Cell], ...]


class SetColumn(NamedTuple):
    """Set one add-in column of many existing records: what a ``SetCells(sheet, key_header,
    keys[j], ((header, values[j]),))`` for each j does, as one update (a refresh sets the Paid,
    Balance and Status of 100,000 invoices with three; the writer and the open workbook then
    take a column at once).

    Attributes:
      sheet: schema sheet name (e.g. "Invoices").
      key_header: the column that identifies the rows ("Invoice No").
      header: the column to set ("Paid").
      keys: the rows' keys (compared trimmed and case-insensitively).
      values: the value of each key's row, in the same order.
    """

    sheet: str
    key_header: str
    header: str
    keys: tuple[str, ...]
    values: tuple[Cell, ...]


@dataclass(frozen=True)
class AppendRows:
    """Append rows at the end of a sheet's records (and grow its Excel table)."""

    sheet: str
    rows: tuple[tuple[tuple[str, Cell], ...], ...]


@dataclass(frozen=True)
class ReplaceRows:
    """Delete every row whose cells equal ``where`` (trimmed, case-insensitive), then append ``rows``.

    With no ``rows`` this is a delete. Used for Group Members ``Rule`` rows and group deletion.
    """

    sheet: str
    where: tuple[tuple[str, str], ...]
    rows: tuple[tuple[tuple[str, Cell], ...], ...] = ()


@dataclass(frozen=True)
class SetAt:
    """Set cells of a sheet laid out by position (the Dashboard), by address: ``("B5", 1234.5)``.

    Each cell keeps its style (number format, font); a missing cell is created. Used only on
    sheets the add-in owns, where a cell's place is the contract (dashboard_layout.py).
    """

    sheet: str
    cells: tuple[tuple[str, Cell], ...]


Update = Union[SetCells, SetColumn, AppendRows, ReplaceRows, SetAt]  # noqa: UP007


def row(**values: Cell) -> tuple[tuple[str, Cell], ...]:
    """``row(Group="VIP", Customer_ID="C1")`` -> header/value pairs; ``_`` stands for a space."""
    return tuple((k.replace("_", " "), v) for k, v in values.items())


@dataclass(frozen=True)
class Attachment:
    filename: str
    content: bytes
    mime: str  # "application/pdf", "text/csv"


@dataclass(frozen=True)
class LogEntry:
    """A Log sheet row (Time, Status and Message ID are filled in when it happens)."""

    action: str  # "reminder 2", "manual reminder", "statement", "group email", ...
    target: str  # invoice number, customer ID, group name
    detail: str = ""
    status: str = ""  # for rows not tied to a send: "skipped", "refused"… ('' = "done")


@dataclass(frozen=True)
class Email:
    """One message to send, exactly once per ``key``.

    Attributes:
      key: idempotency key, e.g. ``reminder:INV-001:2``, ``statement:C1:2026-05-01..2026-05-31``.
      to / cc: addresses (already validated).
      text / html: rendered bodies.
      on_sent: workbook updates to make once the message is sent.
      log: the Log row written when it is sent (or fails).
      copy_to: when set, a separate copy of the message goes to this address (key + ":copy").
      language: the customer's language, for dates in headers if any.
      customer / customer_name: whom it is for (the sent archive's file name, a copy's banner).
    """

    key: str
    to: tuple[str, ...]
    subject: str
    text: str
    html: str
    cc: tuple[str, ...] = ()
    attachments: tuple[Attachment, ...] = ()
    on_sent: tuple[Update, ...] = ()
    log: LogEntry | None = None
    copy_to: str = ""
    language: str = "en"
    customer: str = ""
    customer_name: str = ""


@dataclass(frozen=True)
class Plan:
    """What one command would do: messages, updates regardless of sending, skipped steps, problems.

    Attributes:
      emails: messages to send (each exactly once).
      updates: workbook updates to make whether or not anything is sent (queued in the journal
        until they are written).
      derived: updates computed again at every run (the Dashboard's figures and the add-in
        columns): written with the others, never queued — while the workbook is open they are
        dropped, and the next refresh computes them again.
      logs: Log rows to append (e.g. a reminder step recorded as skipped).
      problems: problems found while planning (a refused document, a missing address).
      lines: human lines describing the plan, for previews and summaries.
    """

    emails: tuple[Email, ...] = ()
    updates: tuple[Update, ...] = ()
    derived: tuple[Update, ...] = ()
    logs: tuple[LogEntry, ...] = ()
    problems: tuple[Problem, ...] = ()
    lines: tuple[str, ...] = field(default=())


def merge(*plans: Plan) -> Plan:
    """One plan doing everything the given plans do, in order."""
    return Plan(
        emails=tuple(e for p in plans for e in p.emails),
        updates=tuple(u for p in plans for u in p.updates),
        derived=tuple(u for p in plans for u in p.derived),
        logs=tuple(entry for p in plans for entry in p.logs),
        problems=tuple(x for p in plans for x in p.problems),
        lines=tuple(line for p in plans for line in p.lines),
    )
