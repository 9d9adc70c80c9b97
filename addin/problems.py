"""Problems found in the user's data: values, never exceptions.

A problem is printed as ``Sheet!Cell: what is wrong — how to fix it`` with Excel's quoting of
sheet names (``'Group Rules'!C3``), warnings prefixed ``warning:``.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"
    NOTICE = "notice"


def sheet_ref(sheet: str, cell: str = "") -> str:
    """``Invoices!D12``, ``'Group Rules'!C3``; just the sheet when there is no cell."""
    quoted = sheet if sheet.isidentifier() else "'" + sheet.replace("'", "''") + "'"
    return f"{quoted}!{cell}" if cell else quoted


@dataclass(frozen=True)
class Problem:
    """Something wrong (or worth knowing) about the user's data.

    Attributes:
      severity: error (the row or sheet is not used), warning (used, but look at it),
        notice (information, e.g. an optional sheet is missing).
      sheet: the sheet name as the user knows it ('' for problems not tied to a sheet).
      cell: ``D12``, ``12`` for a whole row, or '' for the whole sheet.
      message: what is wrong, starting with the offending value where there is one.
      fix: how to fix it, an imperative sentence.
      customer_id: the customer whose documents this problem holds, if any (addin.holds).
      also_holds: other customers it holds too (a payment typed with one customer's ID and
        another customer's invoice belongs to one of the two, and nobody can tell which).
    """

    severity: Severity
    sheet: str
    cell: str
    message: str
    fix: str = ""
    customer_id: str | None = None
    also_holds: tuple[str, ...] = ()

    @property
    def is_error(self) -> bool:
        return self.severity is Severity.ERROR

    @property
    def where(self) -> str:
        return sheet_ref(self.sheet, self.cell) if self.sheet else ""

    def __str__(self) -> str:
        text = f"{self.where}: {self.message}" if self.where else self.message
        if self.fix:
            text += f" — {self.fix}"
        if self.severity is Severity.WARNING:
            return f"warning: {text}"
        if self.severity is Severity.NOTICE:
            return f"notice: {text}"
        return text


def error(sheet: str, cell: str, message: str, fix: str = "", customer_id: str | None = None) -> Problem:
    return Problem(Severity.ERROR, sheet, cell, message, fix, customer_id)


def warning(sheet: str, cell: str, message: str, fix: str = "", customer_id: str | None = None) -> Problem:
    return Problem(Severity.WARNING, sheet, cell, message, fix, customer_id)


def notice(sheet: str, cell: str, message: str, fix: str = "") -> Problem:
    return Problem(Severity.NOTICE, sheet, cell, message, fix)
