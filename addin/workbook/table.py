"""One sheet read into a ``Table``: the columns of typed values its records are made from.

Owns the generic pass over a sheet, driven by the schema: finding the headers (a header
repeated is a warning; a required one missing, or two sheets named alike but for case or
spaces, make the sheet unreadable), choosing the columns read and the converter of each
(``cells``), converting them a column at a time, telling each cell that did not convert (an
error cell or a formula with no saved value as the XML marks it, Excel's date 60), leaving out
blank rows, and dropping the rows whose required cells are unusable. Any optional column or
sheet may be absent: a record reads an absent column as blank cells (``blank_value``, the one
place a blank is decided). What the rows mean together is decided by ``records``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterator, Sequence
from functools import cache, partial
from itertools import compress, repeat
from typing import Any

from ..model import Origin
from ..problems import Problem, Severity, error, notice, warning
from . import schema
from .cellref import letters as column_letters
from .cells import (
    CellIssue,
    Rule,
    as_text,
    converter,
    each,
    impossible_date,
    is_blank,
    label,
    marked_issue,
    one,
    raw,
)
from .sheets import NO_MARKS, Marks, Sheets, WorkbookUnreadable

Values = dict[str, Any]

# Whole-number ranges the schema states in its notes (SPEC: Days 0–90, Day 1–31).
RANGES: dict[tuple[str, str], tuple[int, int]] = {
    (schema.REMINDERS.key, schema.REMINDERS.column("Days").key): (0, 90),
    (schema.STATEMENT_SCHEDULES.key, schema.STATEMENT_SCHEDULES.column("Day").key): (1, 31),
}
# Amounts that may not be negative.
POSITIVE = {
    (schema.INVOICES.key, schema.INVOICES.column("Amount").key),
    (schema.PAYMENTS.key, schema.PAYMENTS.column("Amount").key),
}
# Cells kept as typed (group rule values are text, numbers or dates depending on the field; its
# field and operator are checked by groups.compile_rule, so that a bad rule keeps its group as it was).
RAW = {
    (schema.GROUP_RULES.key, schema.GROUP_RULES.column("Field").key),
    (schema.GROUP_RULES.key, schema.GROUP_RULES.column("Operator").key),
    (schema.GROUP_RULES.key, schema.GROUP_RULES.column("Value").key),
    (schema.GROUP_RULES.key, schema.GROUP_RULES.column("Value 2").key),
}
# Cells read as they are: a setting's kind depends on its key.
AS_IS = {(schema.SETTINGS_SHEET.key, schema.SETTINGS_SHEET.column("Value").key)}
# Add-in columns a record carries (the others, e.g. Balance, are only written).
ADDIN_READ = {
    (schema.INVOICES.key, schema.INVOICES.column("Status").key),
    (schema.INVOICES.key, schema.INVOICES.column("Last Reminder").key),
    (schema.GROUPS.key, schema.GROUPS.column("Members").key),
    (schema.GROUPS.key, schema.GROUPS.column("Updated").key),
    (schema.STATEMENT_SCHEDULES.key, schema.STATEMENT_SCHEDULES.column("Last Sent").key),
}
# Add-in columns kept as the file holds them (Book.as_read), unconverted and unchecked: the
# refresh compares them with the figures of the day and writes only the cells that change.
AS_READ = {
    (schema.INVOICES.key, schema.INVOICES.column("Paid").key),
    (schema.INVOICES.key, schema.INVOICES.column("Balance").key),
    (schema.INVOICES.key, schema.INVOICES.column("Status").key),  # read as a record's status too
    (schema.CUSTOMERS.key, schema.CUSTOMERS.column("Balance").key),
    (schema.CUSTOMERS.key, schema.CUSTOMERS.column("Overdue").key),
}
# Sheets whose rows stay when a required cell other than the ID is unusable.
IDENTITY = {
    schema.CUSTOMERS.key: schema.CUSTOMERS.column("Customer ID").key,
    schema.VENDORS.key: schema.VENDORS.column("Vendor ID").key,
}
# Rows of these sheets belong to the customer in their Customer ID column.
CUSTOMER_ROWS = {schema.CUSTOMERS.key, schema.INVOICES.key, schema.PAYMENTS.key}
CUSTOMER_ID = schema.CUSTOMERS.column("Customer ID").key
ROW = "__row"  # the sheet row of a dropped record's values

# --- the generic pass -----------------------------------------------------------------------

_BLANK: Any = object()  # Table.column's default: the column's blank value
_FEB_28_1900 = dt.date(1900, 2, 28)  # how calamine reads Excel's date 60 too


@dataclasses.dataclass
class Table:
    """One sheet as read.

    Attributes:
      spec: the schema sheet.
      name: the sheet's name in the workbook.
      letters: header key -> column letter (extra columns included).
      rows: row numbers of the records kept, in sheet order.
      columns: header key -> typed values, aligned with ``rows`` (only columns present).
      as_read: header key -> cell values as read, for the AS_READ columns present (aligned too).
      dropped: the typed values of rows dropped for an unusable required cell.
      blanks: header key -> the blank value, for the schema's columns the sheet lacks: a record
        reads an absent column as a column of blank cells.
    """

    spec: schema.Sheet
    name: str
    letters: dict[str, str]
    rows: list[int] = dataclasses.field(default_factory=list)
    columns: dict[str, list[Any]] = dataclasses.field(default_factory=dict)
    as_read: dict[str, list[Any]] = dataclasses.field(default_factory=dict)
    dropped: list[Values] = dataclasses.field(default_factory=list)
    blanks: dict[str, Any] = dataclasses.field(default_factory=dict)

    def records(self) -> Iterator[tuple[int, Values]]:
        """(row number, {header key: typed value}) for each record, absent columns blank."""
        keys = list(self.columns)
        for row, values in zip(self.rows, zip(*self.columns.values(), strict=True), strict=True):
            yield row, {**self.blanks, **dict(zip(keys, values, strict=True))}

    def keep(self, mask: Sequence[bool]) -> None:
        """Keep only the records where ``mask`` is true."""
        if all(mask):
            return
        self.rows = list(compress(self.rows, mask))
        self.columns = {k: list(compress(v, mask)) for k, v in self.columns.items()}
        self.as_read = {k: list(compress(v, mask)) for k, v in self.as_read.items()}

    def column(self, header: str, default: Any = _BLANK) -> Sequence[Any]:
        """The typed values under ``header`` (a schema header), or ``default`` (by default the
        column's blank value) on every row."""
        key = self.spec.column(header).key
        values = self.columns.get(key)
        return values if values is not None else [self.blanks.get(key) if default is _BLANK else default] * len(self.rows)

    def origins(self) -> list[Origin]:
        """Where each record was read."""
        return list(map(Origin, repeat(self.name), self.rows, repeat(self.letters)))


@dataclasses.dataclass(frozen=True)
class _Col:
    """A column being read: where it is, its schema column (None for extras) and converter."""

    index: int
    key: str
    convert: Rule
    column: schema.Column | None
    addin: bool
    as_read: bool = False



class Found:
    """The problems found while reading, in the order found (``problems.in_sheet_order`` sorts them)."""

    def __init__(self) -> None:
        self.problems: list[Problem] = []

    def add(self, problem: Problem) -> None:
        self.problems.append(problem)

    def at(self, table: Table, row: int, key: str, severity: Severity, message: str, fix: str,
           customer_id: str | None = None, also_holds: tuple[str, ...] = ()) -> None:
        """A problem about the cell of ``row`` under header ``key``."""
        letter = table.letters.get(key, "A")
        self.add(Problem(severity, table.name, f"{letter}{row}", message, fix, customer_id, also_holds))


class Tables:
    """The sheets of one workbook read as Tables, each once, in the order asked for.

    Attributes:
      names: sheet key -> the sheet's name in the workbook.
      doubles: sheet key -> the names of two or more sheets sharing it (unreadable).
      unreadable: keys of the sheets with an error for the whole sheet.
      language: how amounts typed as text read (Settings' language, once Settings is read).
    """

    def __init__(self, names: dict[str, str], sheets: Sheets, found: Found,
                 doubles: dict[str, list[str]] | None = None) -> None:
        self.names = names
        self.doubles = doubles or {}
        self.unreadable: set[str] = set()
        self.sheets = sheets
        self.found = found
        self.tables: dict[str, Table | None] = {}
        self.language = "en"

    def table(self, spec: schema.Sheet) -> Table | None:
        """The sheet's typed records; None when the sheet is missing, empty if a required header is."""
        if spec.key not in self.tables:
            self.tables[spec.key] = self._table(spec)
        return self.tables[spec.key]

    def _table(self, spec: schema.Sheet) -> Table | None:
        name = self.names.get(spec.key)
        if name is None:
            if spec.required:
                self.found.add(error(spec.name, "", "the sheet is missing",
                                     f'add a sheet named "{spec.name}" with its headers in row 1, as in the template'))
            else:
                self.found.add(notice(spec.name, "", "no such sheet; read as empty",
                                      f'add a sheet named "{spec.name}" to use it'))
            return None
        if spec.key in self.doubles:
            self.double(spec.key)
            self.unreadable.add(spec.key)
            return Table(spec, name, {})  # unreadable: no records, like a sheet missing a required header
        try:
            data, marks = self.sheets.get(name)
        except Exception as exc:  # noqa: BLE001 - calamine raises several error types for broken sheets
            raise WorkbookUnreadable(f'sheet "{name}" cannot be read ({exc}) — '
                                     "open the workbook in Excel and save it again as .xlsx") from None
        positions: dict[str, int] = {}
        letters: dict[str, str] = {}
        for index, cell in enumerate(data[0] if data else ()):
            text = as_text(cell)
            if not text:
                continue
            key = schema.normalize(text)
            if key in positions:
                self.found.add(warning(name, f"{column_letters(index + 1)}1", f'column "{text}" appears twice',
                                       f"only column {letters[key]} is read; remove or rename one of them"))
                continue
            positions[key] = index
            letters[key] = column_letters(index + 1)
        table = Table(spec, name, letters, blanks={c.key: blank_value(spec, c) for c in spec.columns
                                                    if c.key not in positions})
        if data and marks.cells and max(marks.cells) >= len(data):  # marked cells past calamine's last row
            data = [*data, *([""] * len(data[0]) for _ in range(max(marks.cells) + 1 - len(data)))]
        missing = [c for c in spec.columns if c.required and c.key not in positions]
        for column in missing:
            self.found.add(error(name, "1:1", f'missing column "{column.header}"',
                                 f'add a column headed "{column.header}" in row 1'))
        if missing:
            self.unreadable.add(spec.key)
        elif len(data) > 1:
            self._convert(table, data, self._columns(spec, positions, marks), marks.cells)
        return table

    def double(self, key: str) -> None:
        """The error for the whole sheet when several sheets have its name but for case or spaces."""
        names = self.doubles[key]
        listed = ", ".join(f'"{n}"' for n in names[:-1]) + f' and "{names[-1]}"'
        self.found.add(error(names[0], "", f"the sheets {listed} have the same name but for case or spaces",
                             "rename or delete one of them; until then neither is used"))

    def _columns(self, spec: schema.Sheet, positions: dict[str, int], marks: Marks = NO_MARKS) -> list[_Col]:
        """The columns read: the schema's (except add-in columns no record carries) and extras
        (``marks``: which columns are styled as dates, and the workbook's date system)."""
        found = []
        for column in spec.columns:
            if column.key not in positions:
                continue
            where = (spec.key, column.key)
            if where in AS_READ:
                found.append(_Col(positions[column.key], column.key, _EXTRA, column, True, as_read=True))
                if where not in ADDIN_READ:
                    continue
            if column.addin and where not in ADDIN_READ:
                continue
            conv = _conv(spec, column, self.language, date_styled=positions[column.key] in marks.date_columns,
                         date1904=marks.date1904)
            found.append(_Col(positions[column.key], column.key, conv, column, column.addin))
        for key, index in positions.items():
            if key not in spec.by_key:
                found.append(_Col(index, key, _EXTRA, None, False))
        return found

    def _convert(self, table: Table, data: list[list[Any]], cols: list[_Col],
                 errors: dict[int, dict[int, str]]) -> None:
        """Fill ``table`` from the sheet's rows (``data[0]`` is the header row)."""
        body = data[1:]
        columns = list(zip(*body, strict=True))
        kept = [c for c in cols if c.as_read]
        cols = [c for c in cols if not c.as_read]
        read: list[Sequence[Any]] = [columns[c.index] for c in cols]
        as_read: dict[str, Sequence[Any]] = {c.key: columns[c.index] for c in kept}
        del columns
        # A blank row has nothing in any column read; none is blank if the first column is full.
        full = "" not in read[0]
        mask = [True] * len(body) if full else list(map(any, zip(*read, strict=True)))
        indexes = {c.index for c in cols}
        errors = {r0: {i: code for i, code in cells.items() if i in indexes}
                  for r0, cells in errors.items() if r0 >= 1}
        errors = {r0: cells for r0, cells in errors.items() if cells}
        for r0 in errors:
            mask[r0 - 1] = True
        rows = list(compress(range(2, len(body) + 2), mask))
        if len(rows) != len(body):
            read = [list(compress(values, mask)) for values in read]
            as_read = {k: list(compress(values, mask)) for k, values in as_read.items()}
        table.as_read = {k: values if isinstance(values, list) else list(values) for k, values in as_read.items()}
        table.rows = rows
        issues: dict[int, list[tuple[_Col, CellIssue]]] = {}
        for col, values in zip(cols, read, strict=True):
            typed, found = col.convert(values)
            table.columns[col.key] = typed
            for i, issue in found.items():
                issues.setdefault(i, []).append((col, issue))
            if col.column is not None and col.column.kind is schema.Kind.DATE and _FEB_28_1900 in typed:
                self._serial_60(table, col, issues)
        if errors:
            where = {row: i for i, row in enumerate(rows)}
            by_index = {c.index: c for c in cols}
            for r0, cells in errors.items():
                for index, code in sorted(cells.items()):
                    at = by_index.get(index)
                    if at is not None:
                        name = label(at.column.header) if at.column else at.key
                        found_here = issues.setdefault(where[r0 + 1], [])
                        found_here[:] = [(c, issue) for c, issue in found_here if c is not at]  # calamine read ''
                        found_here.append((at, marked_issue(name, code)))
        if issues:
            self._issues(table, read, cols, issues, {r0 + 1: set(cells) for r0, cells in errors.items()})

    def _serial_60(self, table: Table, col: _Col, issues: dict[int, list[tuple[_Col, CellIssue]]]) -> None:
        """Date cells holding Excel's 60 (1900-02-29, which calamine reads as 1900-02-28) are errors."""
        where = {row: i for i, row in enumerate(table.rows)}
        for r0, c0 in self.sheets.serial_60(table.name):
            i = where.get(r0 + 1)
            if c0 == col.index and i is not None:
                found_here = issues.setdefault(i, [])
                found_here[:] = [(c, issue) for c, issue in found_here if c is not col]
                found_here.append((col, impossible_date(label(col.column.header) if col.column else col.key)))

    def _issues(self, table: Table, read: list[Sequence[Any]], cols: list[_Col],
                issues: dict[int, list[tuple[_Col, CellIssue]]], marked: dict[int, set[int]]) -> None:
        """Report the cells that did not convert; drop the rows they make unusable (``marked``: row
        -> indexes of its cells the XML marks: an error, a formula with no saved value)."""
        mask = [True] * len(table.rows)
        identity = IDENTITY.get(table.spec.key)
        cid_at = next((n for n, c in enumerate(cols) if c.key == CUSTOMER_ID), None)
        for i in sorted(issues):
            row = table.rows[i]
            found = issues[i]
            marks = marked.get(row)
            if marks is None:
                if all(is_blank(values[i]) for values in read):
                    mask[i] = False  # only spaces: a blank row
                    continue
            elif all(is_blank(values[i]) for values, c in zip(read, cols, strict=True) if c.index not in marks):
                # Nothing but marked cells (a formula copied down past the data): those alone are told.
                found = [(c, issue) for c, issue in found if c.index in marks]
                mask[i] = False
            customer_id = None
            if cid_at is not None and table.spec.key in CUSTOMER_ROWS:
                customer_id = as_text(read[cid_at][i]) or None
            drop = not mask[i]
            for col, issue in found:
                severity, fix = issue.severity, issue.fix
                if col.addin and severity is Severity.ERROR:
                    severity, fix = Severity.WARNING, f"{fix}; the add-in rewrites this column"
                self.found.add(Problem(severity, table.name, f"{column_letters(col.index + 1)}{row}", issue.message,
                                       fix, customer_id, plural=issue.plural if fix == issue.fix else ""))
                if issue.severity is Severity.ERROR:
                    table.columns[col.key][i] = blank_value(table.spec, col.column) if col.column else ""
                    if col.column is not None and col.column.required and not col.addin \
                            and identity in (None, col.key):
                        drop = True
            if drop:
                mask[i] = False
                table.dropped.append({**{k: v[i] for k, v in table.columns.items()}, ROW: table.rows[i]})
        table.keep(mask)

    # --- the book -------------------------------------------------------------------------


def _conv(spec: schema.Sheet, column: schema.Column, language: str = "en", *, blank_allowed: bool = False,
          date_styled: bool = False, date1904: bool = False) -> Rule:
    """How the reader converts the cells of ``column`` on ``spec`` (``blank_allowed``: even if
    required; ``date_styled``: the column's style is a date format; ``date1904``: the workbook's
    date system)."""
    where = (spec.key, column.key)
    if where in RAW:
        return each(partial(raw, name=label(column.header)))
    if where in AS_IS:
        return _EXTRA
    low, high = RANGES.get(where, (None, None))
    return converter(column, language=language, minimum=low, maximum=high, positive=where in POSITIVE,
                     addin=column.addin or blank_allowed, date_styled=date_styled, date1904=date1904)


@cache
def blank_value(spec: schema.Sheet, column: schema.Column) -> Any:
    """What a record holds for a blank cell of ``column`` (as the column's converter reads a blank),
    for an absent column and for a cell with an error too: the one place this is decided."""
    return one(_conv(spec, column, blank_allowed=True), "")


def _extra(value: Any) -> Any:
    """Extra columns are kept as typed (text trimmed)."""
    return value.strip() if type(value) is str else value


_EXTRA = each(_extra)
