"""Problems found in the user's data: values, never exceptions.

A problem is printed as ``Sheet!Cell: what is wrong — how to fix it`` with Excel's quoting of
sheet names (``'Group Rules'!C3``), warnings prefixed ``warning:``. Problems stay one per cell
(what a problem blocks is decided per row); ``lines`` tells alike problems of one column in one
line where they are printed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum

from .workbook.cellref import number


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
      plural: how several such problems of one column are told in one line, ``{n}`` their
        number (``{n} dates are numbers — format the column as a date``); '' for the plain way.
    """

    severity: Severity
    sheet: str
    cell: str
    message: str
    fix: str = ""
    customer_id: str | None = None
    also_holds: tuple[str, ...] = ()
    plural: str = field(default="", compare=False, repr=False)

    @property
    def is_error(self) -> bool:
        return self.severity is Severity.ERROR

    @property
    def position(self) -> tuple[int, int]:
        """(row, column number) of the cell, 0 where it names none: ``D12`` -> (12, 4),
        ``1:1`` (the header row) -> (1, 0), the whole sheet -> (0, 0)."""
        letters, digits = _PLACE.match(self.cell).groups()  # type: ignore[union-attr]  # always matches
        return int(digits or 0), number(letters) if letters else 0

    @property
    def where(self) -> str:
        return sheet_ref(self.sheet, self.cell) if self.sheet else ""

    def __str__(self) -> str:
        text = f"{self.where}: {self.message}" if self.where else self.message
        if self.fix:
            text += f" — {self.fix}"
        return _prefix(self.severity) + text


_PLACE = re.compile(r"([A-Z]*)(\d*)")
SEVERAL = 3  # alike problems in one column from which they are told in one line
_CELL = re.compile(r"([A-Z]{1,3})(\d+)")
_VALUES = re.compile(r'"[^"]*"|\d[\d,.:-]*')


def _shape(text: str) -> str:
    """A message without its values (quoted text, numbers, dates): what alike problems share."""
    return _VALUES.sub("…", text)


def lines(problems: Iterable[Problem]) -> list[str]:
    """The problems as printed, in the order given: one line each, except that SEVERAL or more alike
    problems in one column (same sheet, column, severity, and message and fix but for their values)
    are one line, at the first one's place, naming the range from the first cell to the last and
    their number (``Invoices!C2:C233: 232 dates are numbers — format the column as a date``);
    the range may hold rows without the problem: the number says how many have it."""
    listed = list(problems)
    alike: dict[tuple[object, ...], list[int]] = {}
    for n, p in enumerate(listed):
        m = _CELL.fullmatch(p.cell)
        if m and p.sheet:
            key = (p.severity, p.sheet, m.group(1), _shape(p.message), _shape(p.fix), p.plural)
            alike.setdefault(key, []).append(n)
    told: dict[int, str] = {}
    skipped: set[int] = set()
    for (_, _, letters, *_), where in alike.items():
        if len(where) < SEVERAL:
            continue
        rows = [int(_CELL.fullmatch(listed[n].cell).group(2)) for n in where]  # type: ignore[union-attr]
        first = listed[where[0]]
        cells = f"{letters}{min(rows)}:{letters}{max(rows)}"
        if first.plural:
            text = first.plural.format(n=len(where))
        else:
            text = f"{len(where)} cells like {first.cell}: {first.message}" + (f" — {first.fix}" if first.fix else "")
        told[where[0]] = _prefix(first.severity) + f"{sheet_ref(first.sheet, cells)}: {text}"
        skipped.update(where[1:])
    return [told.get(n) or str(p) for n, p in enumerate(listed) if n not in skipped]


def _prefix(severity: Severity) -> str:
    return {Severity.WARNING: "warning: ", Severity.NOTICE: "notice: "}.get(severity, "")


def error(sheet: str, cell: str, message: str, fix: str = "", customer_id: str | None = None) -> Problem:
    return Problem(Severity.ERROR, sheet, cell, message, fix, customer_id)


def warning(sheet: str, cell: str, message: str, fix: str = "", customer_id: str | None = None) -> Problem:
    return Problem(Severity.WARNING, sheet, cell, message, fix, customer_id)


def notice(sheet: str, cell: str, message: str, fix: str = "") -> Problem:
    return Problem(Severity.NOTICE, sheet, cell, message, fix)


def in_sheet_order(problems: Iterable[Problem]) -> list[Problem]:
    """Problems by sheet (the template's order), row, column, then as found; problems without a
    sheet last. The one order in which problems are listed, by the reader and by ``check``."""
    from .workbook import schema

    order = {s.key: n for n, s in enumerate(schema.SHEETS)}

    def key(problem: Problem) -> tuple[int, int, int]:
        if not problem.sheet:
            return (len(order) + 1, 0, 0)
        return (order.get(schema.normalize(problem.sheet), len(order)), *problem.position)

    return sorted(problems, key=key)
