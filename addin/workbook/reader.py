"""Read a workbook into a Book: typed records plus every problem found (SPEC §2 "Rules for reading").

``load(path)`` parses the sheets with python-calamine in threads while the main thread converts
the sheets already parsed (calamine releases the GIL; see ``_Sheets``) and turns each into a ``Table``: the row
numbers of its records and, per header key, the column of typed values. That generic pass is
driven by the schema's columns and ``cells`` converters; small per-sheet functions then make
the frozen records and run the cross-row checks (duplicates, unknown customers and invoices,
over-applied payments). Problems are values, in sheet and row order; one bad row never stops
the others. Only a file that cannot be read at all raises ``WorkbookUnreadable``.

Any optional column or sheet may be absent: a record reads an absent column as blank cells
(``blank_value``, the one place a blank is decided). Two sheets named alike but for case or
spaces make that sheet unreadable (an error for the whole sheet, cell '').

Policy: a row whose identity or required fields are unusable is dropped (an error); a row with
an error in an optional field is loaded with that field empty (still an error, so the
customer's documents are refused: ``Book.blocked_customers``). A Customers (Vendors) row is
dropped only for an unusable ID, so one bad cell does not orphan the customer's invoices; a
payment applied to an invoice row that was dropped is left out without a second message.

Speed: a large book has 160,000 records, so the work is done a column at a time with
``map``/``zip`` over C-level callables wherever the column is uniform, and records are made
from the columns at C speed (``_build``: ``tuple.__new__`` for the named-tuple records, a
filled ``__dict__`` for the dataclasses) rather than by calling ``__init__`` per row. The
book's ledger is made here too, from the same columns (``Ledger.from_book`` reuses it). The
garbage collector is paused during the load (records hold no cycles).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import difflib
import operator
import re
import zipfile
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from decimal import Decimal
from functools import cache, partial
from itertools import compress, islice, repeat
from pathlib import Path
from typing import Any, NamedTuple, cast

from ..ledger import Columns, Ledger
from ..model import (
    Book,
    Customer,
    Group,
    Invoice,
    Member,
    Origin,
    Payment,
    ReminderStep,
    Rule,
    Schedule,
    Settings,
    User,
    Vendor,
)
from ..money import cents_of_numbers
from ..perf import quiet_gc, settle
from ..problems import Problem, Severity, error, notice, warning
from . import schema
from .cells import (
    NO_MARKS,
    Ahead,
    CellIssue,
    Conv,
    ErrorCells,
    Marks,
    as_text,
    column_index,
    column_letter,
    convert_column,
    converter,
    error_value,
    excel_error,
    impossible_date,
    is_blank,
    label,
    make,
    marked_issue,
    per_cell,
    raw,
    shown,
)

Values = dict[str, Any]


class WorkbookUnreadable(Exception):
    """The file is missing, unreadable or not an .xlsx workbook; the message says what to do."""


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
# Problems are listed in the template's sheet order.
ORDER = {s.key: n for n, s in enumerate(schema.SHEETS)}

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
# Amounts the ledger adds up: kept in whole cents too (column CENTS_OF) when read in bulk.
CENTS = {
    (schema.INVOICES.key, schema.INVOICES.column("Amount").key),
    (schema.PAYMENTS.key, schema.PAYMENTS.column("Amount").key),
}
CENTS_OF = "__cents"
# Sheets whose rows stay when a required cell other than the ID is unusable.
IDENTITY = {
    schema.CUSTOMERS.key: schema.CUSTOMERS.column("Customer ID").key,
    schema.VENDORS.key: schema.VENDORS.column("Vendor ID").key,
}
# Rows of these sheets belong to the customer in their Customer ID column.
CUSTOMER_ROWS = {schema.CUSTOMERS.key, schema.INVOICES.key, schema.PAYMENTS.key}
CUSTOMER_ID = schema.CUSTOMERS.column("Customer ID").key
ROW = "__row"  # the sheet row of a dropped record's values


def load(path: Path) -> Book:
    """Read the workbook at ``path``; raises WorkbookUnreadable when it cannot be read at all."""
    path = Path(path)
    workbook = _open(path)
    fingerprint = _fingerprint(path)  # before reading: a later save shows as a change
    with quiet_gc():
        book = _load(path, workbook, fingerprint)
        settle()  # while paused: the collector would otherwise scan every new record once, for nothing
    return book


def load_settings(path: Path) -> Settings:
    """Only the Settings sheet of the workbook at ``path`` (for commands that need nothing else)."""
    path = Path(path)
    workbook = _open(path)
    names: dict[str, str] = {}
    for name in workbook.sheet_names:
        names.setdefault(schema.normalize(name), name)
    key = schema.SETTINGS_SHEET.key
    sheets = _Sheets(path, workbook, [names[key]] if key in names else [])
    try:
        return _Reader(names, sheets).settings()
    finally:
        sheets.close()


def _load(path: Path, workbook: Any, fingerprint: Any) -> Book:
    names: dict[str, str] = {}
    doubles: dict[str, list[str]] = {}  # sheet key -> the names of two or more sheets sharing it
    for name in workbook.sheet_names:
        key = schema.normalize(name)
        if key in names:
            doubles.setdefault(key, [names[key]]).append(name)
        else:
            names[key] = name
    sheets = _Sheets(path, workbook, [names[s.key] for s in PARSE_ORDER if s.key in names and s.key not in doubles])
    try:
        return _Reader(names, sheets, doubles).read(path, fingerprint)
    finally:
        sheets.close()
        workbook.close()


class _Sheets:
    """The sheets' cells and error cells, made ready in threads while the reader converts.

    One thread parses Invoices, the largest sheet, from the start (with its own calamine
    handle); another parses Settings, Customers, Payments, then the small sheets; a third scans
    the Payments and Invoices XML for error cells (mostly inflating, which leaves the GIL). So
    Customers, then Payments, are ready early and converted while Invoices is parsed, and
    Invoices is ready when the reader comes to it: on a two-core PC the main thread waits least.
    ``get`` hands each result over once (its memory goes with it).
    """

    def __init__(self, path: Path, workbook: Any, order: list[str]) -> None:
        def named(key: str) -> list[str]:
            return [name for name in order if schema.normalize(name) == key]

        settings, customers = named(schema.SETTINGS_SHEET.key), named(schema.CUSTOMERS.key)
        payments, invoices = named(schema.PAYMENTS.key), named(schema.INVOICES.key)
        rest = [name for name in order if name not in (*settings, *customers, *payments, *invoices)]
        # Each thread has its own calamine handle and zip reader.
        self.path = path
        self.parsers = (_Parser(path, workbook), _Parser(path), None)
        self.error_cells = (ErrorCells(path), ErrorCells(path), ErrorCells(path))
        tasks = (
            [*((_BOTH, n) for n in (*settings, *customers)), *((_PARSE, n) for n in payments),
             *((_BOTH, n) for n in rest)],
            [(_PARSE, n) for n in invoices],
            [(_SCAN, n) for n in (*payments, *invoices)],
        )
        self.ahead = {task: ahead for thread, listed in enumerate(tasks)
                      for ahead in [Ahead(listed, partial(self._work, thread)).start()] for task in listed}

    def _work(self, thread: int, task: tuple[str, str]) -> _Ready:
        what, name = task
        parser = self.parsers[thread]
        data = parser(name) if parser is not None and what != _SCAN else None
        return data, (self.error_cells[thread].sheet(name) if what != _PARSE else NO_MARKS)

    def _get(self, task: tuple[str, str]) -> _Ready:
        return cast(_Ready, self.ahead[task].get(task))

    def get(self, name: str) -> tuple[list[list[Any]], Marks]:
        """The sheet's cells (``to_python``) and its marks; raises what calamine raised."""
        if (_PARSE, name) in self.ahead:  # parsed in one thread, scanned in another
            errors = self._get((_SCAN, name))[1]
            return self._get((_PARSE, name))[0] or [], errors
        data, errors = self._get((_BOTH, name))
        return data or [], errors

    def serial_60(self, name: str) -> set[tuple[int, int]]:
        """The sheet's cells holding Excel's date 60 (looked for rarely: in this thread)."""
        scan = ErrorCells(self.path)
        try:
            return scan.serial_60(name)
        finally:
            scan.close()

    def close(self) -> None:
        for ahead in set(self.ahead.values()):
            ahead.stop()
        for cells in self.error_cells:
            cells.close()
        for parser in self.parsers:
            if parser is not None:
                parser.close()


_BOTH, _PARSE, _SCAN = "both", "parse", "scan"
_Ready = tuple[list[list[Any]] | None, Marks]  # a sheet's cells (unless scanned only), its marks


class _Parser:
    """Parses sheets with python-calamine, opening its own handle in the thread that uses it."""

    def __init__(self, path: Path, workbook: Any = None) -> None:
        self.path = path
        self.workbook = workbook
        self.opened = False

    def __call__(self, name: str) -> list[list[Any]]:
        if self.workbook is None:
            from python_calamine import CalamineWorkbook

            self.workbook = CalamineWorkbook.from_path(str(self.path))
            self.opened = True
        return self.workbook.get_sheet_by_name(name).to_python(skip_empty_area=False)

    def close(self) -> None:
        if self.opened:
            self.workbook.close()


def _open(path: Path):
    from python_calamine import CalamineWorkbook

    from .deflate import oversized

    if not path.exists():
        raise WorkbookUnreadable(f"{path}: no such workbook — check the path")
    if path.is_dir():
        raise WorkbookUnreadable(f"{path} is a folder, not a workbook — give the path of an .xlsx file")
    try:
        with path.open("rb") as f:
            head = f.read(8)
    except OSError as exc:
        raise WorkbookUnreadable(f"{path} cannot be read ({exc.strerror or exc}) — "
                                 "check that you may open it and that Excel is not saving it") from None
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        raise WorkbookUnreadable(f"{path} is password-protected or an old .xls file — "
                                 "open it in Excel and save it as Excel Workbook (.xlsx) without a password")
    if not head.startswith(b"PK"):
        raise WorkbookUnreadable(f"{path} is not an .xlsx workbook — "
                                 "open it in Excel and save it as Excel Workbook (.xlsx)")
    try:  # the parts' declared sizes, from the zip's directory (calamine refuses a part that inflates beyond its own)
        with zipfile.ZipFile(path) as archive:
            too_large = oversized(archive.infolist())
    except Exception:  # noqa: BLE001 - a zip Python cannot read: calamine says below what is wrong with it
        too_large = None
    if too_large is not None:
        raise WorkbookUnreadable(f"{path}: {too_large} — this is not a workbook Excel saved; "
                                 "open it in Excel and save it again")
    try:
        return CalamineWorkbook.from_path(str(path))
    except Exception as exc:  # noqa: BLE001 - calamine raises several error types for broken files
        raise WorkbookUnreadable(f"{path} cannot be read as a workbook ({exc}) — "
                                 "open it in Excel and save it again as .xlsx") from None


# --- records from columns -------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class Same:
    """One value for every record (a column absent from the sheet)."""

    value: Any


def _build(cls: type, count: int, values: dict[str, Sequence[Any] | Same]) -> list[Any]:
    """``count`` ``cls`` records from aligned columns (field -> values or Same), at C speed.

    The values are already typed and checked. A named tuple (Invoice, Payment) is made by
    ``tuple.__new__`` from the zipped columns. A frozen dataclass gets its ``__dict__`` from a
    comprehension compiled for its fields (``_filler``), assigned directly instead of running the
    generated ``__init__`` (about three times dearer). Fields not given take their default.
    """
    if issubclass(cls, tuple):
        defaults = cls._field_defaults  # type: ignore[attr-defined]
        columns: list[Iterable[Any]] = []
        for name in cls._fields:  # type: ignore[attr-defined]
            given = values.get(name)
            if given is None and name not in defaults:
                raise TypeError(f"{cls.__name__}.{name} needs a value")  # pragma: no cover - a bug
            fixed = defaults.get(name) if given is None else given.value if isinstance(given, Same) else _VARYING
            columns.append(given if fixed is _VARYING else repeat(fixed))  # type: ignore[arg-type]
        # Fixed fields repeat without end: the varying columns (count long) or count stop it.
        return list(map(tuple.__new__, repeat(cls), islice(zip(*columns, strict=False), count)))
    proto: dict[str, Any] = {}
    varying = {}
    for f in dataclasses.fields(cls):  # type: ignore[arg-type]
        given = values.get(f.name)
        if isinstance(given, Same):
            proto[f.name] = given.value
        elif given is not None:
            proto[f.name] = None
            varying[f.name] = given
        elif f.default is not dataclasses.MISSING:
            proto[f.name] = f.default
        else:
            raise TypeError(f"{cls.__name__}.{f.name} needs a value")  # pragma: no cover - a bug
    if varying:
        fields = _filler(tuple(proto), tuple(varying))(proto, *varying.values())
    else:
        fields = list(map(dict.copy, repeat(proto, count)))
    records: list[Any] = list(map(object.__new__, repeat(cls, count)))
    deque(map(object.__setattr__, records, repeat("__dict__"), fields), maxlen=0)
    return records


_VARYING = object()
_FILLERS: dict[tuple[tuple[str, ...], tuple[str, ...]], Any] = {}


def _filler(names: tuple[str, ...], varying: tuple[str, ...]) -> Any:
    """``fill(proto, *columns)``: one dict per row, keys ``names`` in order, ``varying`` from the columns.

    Compiled once per field list, as ``dataclasses`` compiles ``__init__``: a dict display in a
    comprehension is about twice as fast as copying a prototype and setting each varying field.
    """
    fill = _FILLERS.get((names, varying))
    if fill is None:
        local = {name: f"_v{varying.index(name)}" if name in varying else f"_c{n}" for n, name in enumerate(names)}
        consts = "".join(f"    _c{n} = proto[{name!r}]\n" for n, name in enumerate(names) if name not in varying)
        values = ", ".join(f"_v{n}" for n in range(len(varying)))
        columns = ", ".join(f"_col{n}" for n in range(len(varying)))
        display = ", ".join(f"{name!r}: {local[name]}" for name in names)
        source = (f"def fill(proto, {columns}):\n{consts}"
                  f"    return [{{{display}}} for {values}, in zip({columns})]\n")
        scope: dict[str, Any] = {}
        exec(source, scope)  # noqa: S102 - the field names of our own dataclasses
        fill = _FILLERS[(names, varying)] = scope["fill"]
    return fill


def _origins(table: Table) -> list[Origin]:
    return list(map(tuple.__new__, repeat(Origin), zip(repeat(table.name), table.rows, repeat(table.letters))))


def _keys(texts: Sequence[str]) -> list[str]:
    """``schema.normalize`` of trimmed texts; a C-speed casefold when none holds odd spacing."""
    joined = "\x00".join(texts)  # a line break inside a text is not printable: the slow path
    if "  " not in joined and joined.replace("\x00", "").isprintable():
        return list(map(str.casefold, texts))
    return list(map(schema.normalize, texts))


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

    def field(self, header: str, default: Any = _BLANK) -> Sequence[Any] | Same:
        """Like ``column``, for ``_build``: ``Same(blank value)`` when the sheet lacks the column."""
        key = self.spec.column(header).key
        values = self.columns.get(key)
        return values if values is not None else Same(self.blanks.get(key) if default is _BLANK else default)

    def absent(self, attrs: dict[str, str]) -> dict[str, Same]:
        """For ``_build``: record attribute -> ``Same(blank value)``, for the absent columns."""
        return {attrs[k]: Same(v) for k, v in self.blanks.items() if k in attrs}


@dataclasses.dataclass(frozen=True)
class _Col:
    """A column being read: where it is, its schema column (None for extras) and converters."""

    index: int
    key: str
    conv: Conv
    column: schema.Column | None
    addin: bool
    as_read: bool = False


class _Payments(NamedTuple):
    """Payments read before the invoices: records with invoice numbers as typed (``numbers``),
    aligned with ``rows`` (the sheet rows read, before any is left out)."""

    table: Table
    records: list[Payment]
    mask: list[bool]
    numbers: list[str]
    rows: list[int]


class _Reader:
    def __init__(self, names: dict[str, str], sheets: _Sheets, doubles: dict[str, list[str]] | None = None) -> None:
        self.names = names
        self.doubles = doubles or {}
        self.unreadable: set[str] = set()  # sheets with an error for the whole sheet
        self.sheets = sheets
        self.tables: dict[str, Table | None] = {}
        self.found: list[tuple[tuple[int, int, int, int], Problem]] = []
        self.language = "en"
        self.dropped_invoices: set[str] = set()
        self.as_read: dict[str, dict[str, list[Any]]] = {}
        self.ledger: dict[str, Any] = {}  # what the ledger needs of the rows read (ledger.Columns)

    # --- problems -------------------------------------------------------------------------

    def add(self, problem: Problem, row: int = 0, col: int = 0) -> None:
        order = ORDER.get(schema.normalize(problem.sheet), len(ORDER)) if problem.sheet else -1
        self.found.append(((order, row, col, len(self.found)), problem))

    def at(self, table: Table, row: int, key: str, severity: Severity, message: str, fix: str,
           customer_id: str | None = None, also_holds: tuple[str, ...] = ()) -> None:
        """A problem about the cell of ``row`` under header ``key``."""
        letter = table.letters.get(key, "A")
        problem = Problem(severity, table.name, f"{letter}{row}", message, fix, customer_id, also_holds)
        self.add(problem, row, column_index(letter) + 1)

    # --- the generic pass -----------------------------------------------------------------

    def table(self, spec: schema.Sheet) -> Table | None:
        """The sheet's typed records; None when the sheet is missing, empty if a required header is."""
        if spec.key not in self.tables:
            self.tables[spec.key] = self._table(spec)
        return self.tables[spec.key]

    def _table(self, spec: schema.Sheet) -> Table | None:
        name = self.names.get(spec.key)
        if name is None:
            if spec.required:
                self.add(error(spec.name, "", "the sheet is missing",
                               f'add a sheet named "{spec.name}" with its headers in row 1, as in the template'))
            else:
                self.add(notice(spec.name, "", "no such sheet; read as empty",
                                f'add a sheet named "{spec.name}" to use it'))
            return None
        if spec.key in self.doubles:
            self._double(spec.key)
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
                self.add(warning(name, f"{column_letter(index)}1", f'column "{text}" appears twice',
                                 f"only column {letters[key]} is read; remove or rename one of them"), 1, index + 1)
                continue
            positions[key] = index
            letters[key] = column_letter(index)
        table = Table(spec, name, letters, blanks={c.key: blank_value(spec, c) for c in spec.columns
                                                    if c.key not in positions})
        if data and marks.cells and max(marks.cells) >= len(data):  # marked cells past calamine's last row
            data = [*data, *([""] * len(data[0]) for _ in range(max(marks.cells) + 1 - len(data)))]
        missing = [c for c in spec.columns if c.required and c.key not in positions]
        for column in missing:
            self.add(error(name, "1:1", f'missing column "{column.header}"',
                           f'add a column headed "{column.header}" in row 1'))
        if missing:
            self.unreadable.add(spec.key)
        elif len(data) > 1:
            self._convert(table, data, self._columns(spec, positions, marks), marks.cells)
        return table

    def _double(self, key: str) -> None:
        """The error for the whole sheet when several sheets have its name but for case or spaces."""
        names = self.doubles[key]
        listed = ", ".join(f'"{n}"' for n in names[:-1]) + f' and "{names[-1]}"'
        self.add(error(names[0], "", f"the sheets {listed} have the same name but for case or spaces",
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
                found.append(_Col(positions[column.key], column.key, per_cell(_extra), column, True, as_read=True))
                if where not in ADDIN_READ:
                    continue
            if column.addin and where not in ADDIN_READ:
                continue
            conv = _conv(spec, column, self.language, date_styled=positions[column.key] in marks.date_columns,
                         date1904=marks.date1904)
            found.append(_Col(positions[column.key], column.key, conv, column, column.addin))
        for key, index in positions.items():
            if key not in spec.by_key:
                found.append(_Col(index, key, per_cell(_extra), None, False))
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
            typed, found = convert_column(col.conv, values)
            table.columns[col.key] = typed
            if (table.spec.key, col.key) in CENTS and not found:
                cents = cents_of_numbers(values)
                if cents is not None:
                    table.columns[CENTS_OF] = cents
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
                self.add(Problem(severity, table.name, f"{column_letter(col.index)}{row}", issue.message, fix,
                                 customer_id, plural=issue.plural if fix == issue.fix else ""), row, col.index + 1)
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

    def read(self, path: Path, fingerprint: object | None = None) -> Book:
        settings = self.settings()
        self.language = settings.language
        customers = self.customers()
        pending = self.payments(customers)  # while Invoices is still parsed
        invoices = self.invoices(customers)
        payments = self.link(pending, invoices)
        self.attribute_payments(pending, invoices, customers)
        # The book's ledger (Ledger.from_book), made from the columns at hand.
        ledger = Ledger(tuple(invoices.values()), payments, Columns.of((), ())._replace(**self.ledger))
        self.over_applied(pending.table if pending else None, ledger)
        book = Book(
            settings=settings,
            customers=tuple(customers.values()),
            invoices=ledger.invoices,
            payments=ledger.payments,
            groups=self.groups(),
            rules=self.rules(),
            members=self.members(customers),
            reminders=self.reminders(),
            schedules=self.schedules(customers, settings),
            users=self.users(),
            vendors=self.vendors(),
            path=path,
            sheet_names=dict(self.names),
            fingerprint=fingerprint,
            as_read=self.as_read,
            memo={"ledger": ledger},
        )
        read = {spec.key for spec in READ}
        for key in self.doubles:
            if key not in read and key in schema.SHEETS_BY_KEY:  # Log, Dashboard: written to, never read
                self._double(key)
        self.found.sort(key=lambda item: item[0])
        return dataclasses.replace(book, problems=tuple(p for _, p in self.found))

    def settings(self) -> Settings:
        table = self.table(schema.SETTINGS_SHEET)
        if table is None:
            return Settings()
        key_col = schema.SETTINGS_SHEET.column("Key").key
        value_col = schema.SETTINGS_SHEET.column("Value").key
        model = {f.name for f in dataclasses.fields(Settings)}
        values: dict[str, Any] = {}
        cells: dict[str, str] = {}
        value_letter = table.letters.get(value_col, "B")
        for row, v in table.records():
            typed = v.get(key_col, "")
            if not typed:
                continue
            setting = schema.SETTINGS_BY_KEY.get(schema.normalize(typed))
            if setting is None:
                close = difflib.get_close_matches(schema.normalize(typed), list(schema.SETTINGS_BY_KEY), n=1)
                hint = f'did you mean "{close[0]}"?' if close else "see the template for the known settings"
                self.at(table, row, key_col, Severity.WARNING, f'unknown setting "{typed}" is ignored', hint)
                continue
            if setting.key in cells:
                self.at(table, row, key_col, Severity.WARNING, f'setting "{setting.key}" appears twice',
                        f"only the first (cell {cells[setting.key]}) is used; delete this row")
                continue
            cells[setting.key] = f"{value_letter}{row}"
            try:
                value = _setting_value(setting, v.get(value_col))
            except CellIssue as issue:
                self.at(table, row, value_col, issue.severity, issue.message, issue.fix)
                value = issue.value
            if value is not None and setting.key in model:
                values[setting.key] = value
        return Settings(**values, cells=cells)

    def customers(self) -> dict[str, Customer]:
        """Customers by normalized ID; a repeated ID is an error (the first row stands)."""
        table = self.table(schema.CUSTOMERS)
        if table is None or not table.rows:
            return {}
        spec = schema.CUSTOMERS
        email_keys = {c.key for c in spec.columns if c.kind is schema.Kind.EMAILS}
        rename = {CUSTOMER_ID: "id", spec.column("Email").key: "emails",
                  spec.column("Statement Email").key: "statement_emails"}
        attrs = _attributes(Customer, spec, rename)
        ids = table.columns[CUSTOMER_ID]
        keys = list(map(schema.normalize, ids))
        mask = [True] * len(keys)
        if len(set(keys)) != len(keys):
            first: dict[str, int] = {}
            for i, key in enumerate(keys):
                if key in first:
                    self.at(table, table.rows[i], CUSTOMER_ID, Severity.ERROR,
                            f'customer ID "{ids[i]}" is already used on row {table.rows[first[key]]}',
                            "give each customer its own ID; this row is not used", ids[i])
                    mask[i] = False
                else:
                    first[key] = i
        table.keep(mask)
        # Every column, addresses joined as typed, for group rules.
        names = list(table.columns)
        texts = [list(map("; ".join, v)) if k in email_keys else v for k, v in table.columns.items()]
        fields = list(map(dict, map(zip, repeat(names), zip(*texts, strict=True))))
        values: dict[str, Sequence[Any] | Same] = {attrs[k]: v for k, v in table.columns.items() if k in attrs}
        values.update(table.absent(attrs))
        records = _build(Customer, len(table.rows), {**values, "fields": fields, "origin": _origins(table)})
        self.as_read[spec.key] = table.as_read
        return dict(zip(compress(keys, mask), records, strict=True))

    def _canonical_customers(self, table: Table, customers: dict[str, Customer],
                             ids: Sequence[str], mask: list[bool], dropped: list[int]) -> list[str]:
        """Each row's customer ID spelled as on Customers; an unknown one is an error and drops the row."""
        exact = {c.id: c.id for c in customers.values()}
        canonical = list(map(exact.get, ids))
        if None in canonical:
            for i, cid in enumerate(ids):
                if canonical[i] is not None or not mask[i]:
                    continue
                customer = customers.get(schema.normalize(cid))
                if customer is not None:
                    canonical[i] = customer.id
                    continue
                self.at(table, table.rows[i], CUSTOMER_ID, Severity.ERROR,
                        f'customer ID "{cid}" is not on the {schema.CUSTOMERS.name} sheet',
                        "add the customer or correct the ID; this row is not used", cid)
                mask[i] = False
                dropped.append(i)
        return canonical  # type: ignore[return-value]

    def invoices(self, customers: dict[str, Customer]) -> dict[str, Invoice]:
        """Invoices by normalized number; a repeated number is an error (the first row stands)."""
        table = self.table(schema.INVOICES)
        if table is None:
            return {}
        numbers = table.column("Invoice No")
        keys = _keys(numbers)
        k_no = table.spec.column("Invoice No").key
        dropped = [v for v in table.dropped if v.get(k_no)]
        self.dropped_invoices = set(_keys([v[k_no] for v in dropped]))
        # A row dropped for an error still owns its number: a later row repeating it is an error too.
        earlier: dict[str, tuple[int, str]] = {}
        for v, key in zip(dropped, _keys([v[k_no] for v in dropped]), strict=True):
            earlier.setdefault(key, (v[ROW], v[k_no]))
        ids = table.column("Customer ID")
        mask = [True] * len(keys)
        if len(set(keys)) != len(keys) or not self.dropped_invoices.isdisjoint(keys):
            first: dict[str, tuple[int, str]] = {}
            for i, key in enumerate(keys):
                row = table.rows[i]
                seen = first.get(key)
                if key in earlier and earlier[key][0] < row and (seen is None or earlier[key][0] < seen[0]):
                    seen = earlier[key]
                if seen is not None:
                    self.at(table, row, k_no, Severity.ERROR,
                            f'invoice number "{numbers[i]}" repeats row {seen[0]} ("{seen[1]}")',
                            "give each invoice its own number; this row is not used", ids[i] or None)
                    mask[i] = False
                else:
                    first[key] = (row, numbers[i])
        unknown: list[int] = []
        canonical = self._canonical_customers(table, customers, ids, mask, unknown)
        self.dropped_invoices.update(keys[i] for i in unknown)
        dates, dues = table.column("Invoice Date"), table.column("Due Date")
        if any(map(operator.lt, dues, dates)):
            due_key = table.spec.column("Due Date").key
            for i, (date, due) in enumerate(zip(dates, dues, strict=True)):
                if due < date and mask[i]:
                    self.at(table, table.rows[i], due_key, Severity.WARNING,
                            f"due date {due.isoformat()} is before the invoice date {date.isoformat()}",
                            "correct one of the two dates", canonical[i])
        table.columns[CUSTOMER_ID] = canonical
        table.columns["__key"] = keys
        table.keep(mask)
        records = _build(Invoice, len(table.rows), {
            "number": table.column("Invoice No"), "customer_id": table.column("Customer ID"),
            "invoice_date": table.column("Invoice Date"), "due_date": table.column("Due Date"),
            "amount": table.column("Amount"), "emails": table.field("Email"),
            "memo": table.field("Memo"), "status": table.field("Status"),
            "last_reminder": table.field("Last Reminder"), "origin": _origins(table),
            "key": table.columns["__key"],  # what Invoice.__post_init__ would compute
            "hold_until": table.field("Hold Until"), "hold_reason": table.field("Hold Reason"),
        })
        self.as_read[table.spec.key] = table.as_read
        self.ledger.update(invoice_customers=table.column("Customer ID"), invoice_keys=table.columns["__key"],
                           invoice_dates=table.column("Invoice Date"), due_dates=table.column("Due Date"),
                           invoice_amounts=table.column("Amount"), invoice_cents=table.columns.get(CENTS_OF))
        return dict(zip(table.columns["__key"], records, strict=True))

    def payments(self, customers: dict[str, Customer]) -> _Payments | None:
        """Payment records, made while Invoices is still being parsed; ``link`` ties them to invoices."""
        table = self.table(schema.PAYMENTS)
        if table is None:
            return None
        mask = [True] * len(table.rows)
        canonical = self._canonical_customers(table, customers, table.column("Customer ID"), mask, [])
        table.columns[CUSTOMER_ID] = canonical
        numbers = list(table.column("Invoice No", ""))
        records = _build(Payment, len(table.rows), {
            "payment_id": table.column("Payment ID"), "customer_id": canonical,
            "date": table.column("Date"), "amount": table.column("Amount"),
            "type": table.field("Type", schema.PAYMENTS.column("Type").default), "invoice_no": numbers,
            "reference": table.field("Reference", ""), "origin": _origins(table),
        })
        return _Payments(table, records, mask, numbers, list(table.rows))

    def link(self, pending: _Payments | None, invoices: dict[str, Invoice]) -> tuple[Payment, ...]:
        """The payments with their invoice numbers as on Invoices; unknown or foreign invoices reported."""
        if pending is None:
            return ()
        table, records, mask, numbers, _ = pending
        canonical = table.columns[CUSTOMER_ID]
        k_inv = table.spec.column("Invoice No").key
        keys = _keys(numbers)
        applied = list(map(invoices.get, keys))
        # Rows whose invoice is found and is the same customer's need no look; the others do.
        matched = list(map(operator.eq, map(getattr, applied, repeat("customer_id"), repeat(None)), canonical))
        suspects = [] if matched.count(False) == numbers.count("") else \
            [i for i, ok in enumerate(matched) if not ok and numbers[i]]
        for i in suspects:
            number = numbers[i]
            if not mask[i]:
                continue
            invoice = applied[i]
            if invoice is None:
                if schema.INVOICES.key in self.unreadable:
                    continue  # every number would be unknown: the sheet's own error says it (addin.holds)
                if keys[i] in self.dropped_invoices:
                    mask[i] = False  # the invoice row has an error already; this payment waits for it
                    continue
                self.at(table, table.rows[i], k_inv, Severity.ERROR,
                        f'invoice number "{number}" is not on the {schema.INVOICES.name} sheet',
                        "correct the number, or leave it blank for an unapplied payment", canonical[i])
            elif invoice.customer_id != canonical[i]:
                self.at(table, table.rows[i], k_inv, Severity.ERROR,
                        f'invoice "{invoice.number}" belongs to customer "{invoice.customer_id}", not "{canonical[i]}"',
                        "correct the invoice number or the customer ID", canonical[i],
                        also_holds=(invoice.customer_id,))
                applied[i] = None
        linked = list(map(getattr, applied, repeat("number"), repeat("")))
        for i in compress(range(len(linked)), map(operator.ne, linked, numbers)):
            records[i] = records[i]._replace(invoice_no=linked[i])  # spelled as on Invoices
        table.columns[k_inv] = linked
        table.columns["__invoice"] = applied
        table.keep(mask)
        kept = tuple(compress(records, mask))
        self.ledger.update(payment_customers=table.column("Customer ID"),
                           payment_keys=list(map(getattr, table.columns["__invoice"], repeat("key"), repeat(""))),
                           payment_dates=table.column("Date"), payment_amounts=table.column("Amount"),
                           payment_types=table.column("Type", schema.PAYMENTS.column("Type").default),
                           payment_cents=table.columns.get(CENTS_OF))
        return kept

    def attribute_payments(self, pending: _Payments | None, invoices: dict[str, Invoice],
                           customers: dict[str, Customer]) -> None:
        """A Payments error whose customer cannot be told (blank, unknown or error Customer ID)
        belongs to the customer of the invoice the row names, when it names one (addin.holds:
        that customer's reminders and statements wait; a row naming none holds everyone's)."""
        if pending is None:
            return
        table = pending.table
        named = dict(zip(pending.rows, pending.numbers, strict=True))
        k_inv = table.spec.column("Invoice No").key
        named.update((v[ROW], v.get(k_inv) or "") for v in table.dropped)
        for n, (order, problem) in enumerate(self.found):
            if problem.sheet != table.name or not problem.is_error or order[1] < 2:
                continue
            if problem.customer_id and schema.normalize(problem.customer_id) in customers:
                continue
            invoice = invoices.get(schema.normalize(named.get(order[1]) or ""))
            if invoice is not None:
                self.found[n] = (order, dataclasses.replace(problem, customer_id=invoice.customer_id))

    def over_applied(self, table: Table | None, ledger: Ledger) -> None:
        """A warning on each payment row that takes an invoice's applied total past its amount."""
        over = {i.number for i in ledger.overapplied()}
        if table is None or not over:
            return
        by_invoice: dict[str, list[tuple[Payment, Invoice]]] = {}
        applied = table.columns["__invoice"]
        numbers = table.column("Invoice No")  # as on Invoices ('' when not applied)
        for i in compress(range(len(numbers)), map(over.__contains__, numbers)):
            by_invoice.setdefault(numbers[i], []).append((ledger.payments[i], applied[i]))
        amount_key = table.spec.column("Amount").key
        for pairs in by_invoice.values():
            total = Decimal(0)
            for payment, invoice in sorted(pairs, key=lambda pair: (pair[0].date, pair[0].origin.row)):
                before, total = total, total + payment.amount
                excess = total - max(before, invoice.amount)
                if excess > 0:
                    self.at(table, payment.origin.row, amount_key, Severity.WARNING,
                            f'payments applied to invoice "{invoice.number}" reach {total:,.2f}, '
                            f"more than its amount {invoice.amount:,.2f}",
                            f"the excess {excess:,.2f} counts as an unapplied credit; "
                            "correct the amount or the invoice number if that is not intended", payment.customer_id)

    def _unique(self, table: Table, key: str, what: str, cls: type, attrs: dict[str, str]) -> list[Any]:
        """Records of ``cls``, one per distinct value under ``key`` (a later repeat is an error)."""
        seen: dict[str, int] = {}
        out = []
        for row, v in table.records():
            ident = v[key]
            norm = schema.normalize(str(ident))
            if norm in seen:
                self.at(table, row, key, Severity.ERROR, f'{what} "{shown(ident)}" is already on row {seen[norm]}',
                        f"give each {what} its own row; this row is not used")
                continue
            seen[norm] = row
            out.append(_record(table, row, v, cls, attrs))
        return out

    def groups(self) -> tuple[Group, ...]:
        table = self.table(schema.GROUPS)
        if table is None:
            return ()
        key = schema.GROUPS.column("Group").key
        return tuple(self._unique(table, key, "group", Group, _attributes(Group, schema.GROUPS, {key: "name"})))

    def rules(self) -> tuple[Rule, ...]:
        table = self.table(schema.GROUP_RULES)
        if table is None:
            return ()
        attrs = _attributes(Rule, schema.GROUP_RULES, {schema.GROUP_RULES.column("Value 2").key: "value2"})
        return tuple(_record(table, row, v, Rule, attrs) for row, v in table.records())

    def members(self, customers: dict[str, Customer]) -> tuple[Member, ...]:
        table = self.table(schema.GROUP_MEMBERS)
        if table is None:
            return ()
        attrs = _attributes(Member, schema.GROUP_MEMBERS, {})
        out = []
        for row, v in table.records():
            customer = customers.get(schema.normalize(v[CUSTOMER_ID]))
            extra = {"customer_id": customer.id} if customer else {}
            out.append(_record(table, row, v, Member, attrs, **extra))
        return tuple(out)

    def reminders(self) -> tuple[ReminderStep, ...]:
        table = self.table(schema.REMINDERS)
        if table is None:
            return ()
        key = schema.REMINDERS.column("Reminder").key
        attrs = _attributes(ReminderStep, schema.REMINDERS, {key: "number"})
        return tuple(self._unique(table, key, "reminder", ReminderStep, attrs))

    def schedules(self, customers: dict[str, Customer], settings: Settings) -> tuple[Schedule, ...]:
        """Statement Schedules rows naming exactly one of a customer and a group."""
        table = self.table(schema.STATEMENT_SCHEDULES)
        if table is None:
            return ()
        spec = schema.STATEMENT_SCHEDULES
        k_group, k_type = spec.column("Group").key, spec.column("Type").key
        attrs = _attributes(Schedule, spec, {})
        out = []
        for row, v in table.records():
            cid, group = v.get(CUSTOMER_ID, ""), v.get(k_group, "")
            if cid and group:
                self.at(table, row, CUSTOMER_ID, Severity.ERROR,
                        f'both customer ID "{cid}" and group "{group}" are filled in',
                        "keep one of the two (one row per customer or per group); this row is not used")
                continue
            if not cid and not group:
                self.at(table, row, CUSTOMER_ID, Severity.ERROR, "neither customer ID nor group is filled in",
                        "fill in one of the two; this row is not used")
                continue
            extra: dict[str, Any] = {"type": v.get(k_type) or settings.statement_type}
            if cid:
                customer = customers.get(schema.normalize(cid))
                if customer is None:
                    self.at(table, row, CUSTOMER_ID, Severity.ERROR,
                            f'customer ID "{cid}" is not on the {schema.CUSTOMERS.name} sheet',
                            "add the customer or correct the ID; this row is not used")
                    continue
                extra["customer_id"] = customer.id
            out.append(_record(table, row, v, Schedule, attrs, **extra))
        return tuple(out)

    def users(self) -> tuple[User, ...]:
        """Users rows; a Limited user needs a group."""
        table = self.table(schema.USERS)
        if table is None:
            return ()
        spec = schema.USERS
        k_role, k_group = spec.column("Role").key, spec.column("Group").key
        limited = schema.ROLES[-1]
        attrs = _attributes(User, spec, {})
        out = []
        for row, v in table.records():
            if v.get(k_role) == limited and not v.get(k_group):
                self.at(table, row, k_group, Severity.ERROR, f"a {limited} user has no group",
                        "fill in the group this user may see, or choose another role")
            out.append(_record(table, row, v, User, attrs))
        return tuple(out)

    def vendors(self) -> tuple[Vendor, ...]:
        table = self.table(schema.VENDORS)
        if table is None:
            return ()
        spec = schema.VENDORS
        key = spec.column("Vendor ID").key
        attrs = _attributes(Vendor, spec, {key: "id", spec.column("Email").key: "emails"})
        email_keys = [c.key for c in spec.columns if c.kind is schema.Kind.EMAILS]
        seen: dict[str, int] = {}
        out = []
        for row, v in table.records():
            norm = schema.normalize(v[key])
            if norm in seen:
                self.at(table, row, key, Severity.ERROR, f'vendor ID "{v[key]}" is already used on row {seen[norm]}',
                        "give each vendor its own ID; this row is not used")
                continue
            seen[norm] = row
            fields = {k: val for k, val in v.items() if k not in table.blanks}
            for k in email_keys:
                if k in fields:
                    fields[k] = "; ".join(fields[k])
            out.append(_record(table, row, v, Vendor, attrs, fields=fields))
        return tuple(out)


def _conv(spec: schema.Sheet, column: schema.Column, language: str = "en", *, blank_allowed: bool = False,
          date_styled: bool = False, date1904: bool = False) -> Conv:
    """How the reader converts the cells of ``column`` on ``spec`` (``blank_allowed``: even if
    required; ``date_styled``: the column's style is a date format; ``date1904``: the workbook's
    date system)."""
    where = (spec.key, column.key)
    if where in RAW:
        return per_cell(partial(raw, name=label(column.header)))
    if where in AS_IS:
        return per_cell(_extra)
    low, high = RANGES.get(where, (None, None))
    return converter(column, language=language, minimum=low, maximum=high, positive=where in POSITIVE,
                     addin=column.addin or blank_allowed, date_styled=date_styled, date1904=date1904)


@cache
def blank_value(spec: schema.Sheet, column: schema.Column) -> Any:
    """What a record holds for a blank cell of ``column`` (as the column's converter reads a blank),
    for an absent column and for a cell with an error too: the one place this is decided."""
    return _conv(spec, column, blank_allowed=True).cell("")


def _record(table: Table, row: int, v: Values, cls: type, attrs: dict[str, str], **extra: Any) -> Any:
    kwargs = {attrs[k]: val for k, val in v.items() if k in attrs}
    kwargs.update(extra)
    return cls(**kwargs, origin=Origin(table.name, row, table.letters))


def _extra(value: Any) -> Any:
    """Extra columns are kept as typed (text trimmed)."""
    return value.strip() if type(value) is str else value


def _attributes(cls: type, spec: schema.Sheet, rename: dict[str, str]) -> dict[str, str]:
    """Header key -> record attribute: ``postal code`` -> ``postal_code`` unless renamed."""
    names = {f.name for f in dataclasses.fields(cls)}
    out = {}
    for column in spec.columns:
        attr = rename.get(column.key, column.key.replace(" ", "_"))
        if attr in names:
            out[column.key] = attr
    return out


def _fingerprint(path: Path) -> object | None:
    try:
        from .guard import fingerprint  # type: ignore[attr-defined]
    except ImportError:
        return None
    try:
        return fingerprint(path)
    except OSError:
        return None


# --- settings -------------------------------------------------------------------------------

_TIME = re.compile(r"(\d{1,2})[:h](\d{2})(?::(\d{2}))?")
_COLOR = re.compile(r"#[0-9A-Fa-f]{6}")
_INT_RANGES = {"smtp_port": (1, 65535), "smtp_max_per_minute": (0, None), "catch_up_days": (0, 90),
               "backups_keep": (0, None)}


def _setting_value(setting: schema.Setting, value: Any) -> Any:
    """The typed value of one Settings row (None: blank, use the default); raises CellIssue."""
    if is_blank(value):
        return setting.blank
    code = error_value(value)
    if code:
        raise excel_error(setting.key, code)
    key = setting.key
    if key == "reminder_check_times":
        return _check_times(value)
    if setting.kind is schema.Kind.EMAILS:
        found = make(schema.Kind.EMAILS, key).cell(value)
        if len(found) > 1:  # type: ignore[arg-type]
            raise CellIssue(Severity.ERROR, f'{key} "{as_text(value)}" holds several addresses', "keep one address")
        return found[0]  # type: ignore[index]
    if setting.kind is schema.Kind.INT:
        low, high = _INT_RANGES.get(key, (0, None))
        return make(schema.Kind.INT, key, minimum=low, maximum=high).cell(value)
    if setting.kind in (schema.Kind.BOOL, schema.Kind.CHOICE):
        return make(setting.kind, key, choices=setting.choices, default=setting.default).cell(value)
    text = as_text(value)
    if key == "timezone":
        _check_zone(text)
    elif key == "brand_color" and not _COLOR.fullmatch(text):
        raise CellIssue(Severity.ERROR, f'brand_color "{text}" is not a colour', "type it as #RRGGBB, e.g. #1F6FB2")
    elif key == "currency":
        if not re.fullmatch(r"[A-Za-z]{3}", text):
            raise CellIssue(Severity.ERROR, f'currency "{text}" is not an ISO currency code',
                            "type a code such as USD, CAD or EUR")
        return text.upper()
    return text


def _check_times(value: Any) -> tuple[dt.time, ...] | None:
    if isinstance(value, dt.datetime):
        return (value.time(),)
    if isinstance(value, dt.time):
        return (value,)
    text = as_text(value)
    times = []
    for part in re.split(r"[;,]", text):
        part = part.strip()
        if not part:
            continue
        m = _TIME.fullmatch(part)
        if not m or int(m.group(1)) > 23 or int(m.group(2)) > 59 or int(m.group(3) or 0) > 59:
            raise CellIssue(Severity.ERROR, f'reminder_check_times "{text}" is not a list of times',
                            "type times as HH:MM separated by commas, e.g. 08:00, 12:00, 16:00")
        times.append(dt.time(int(m.group(1)), int(m.group(2)), int(m.group(3) or 0)))
    return tuple(sorted(set(times))) or None


def _check_zone(name: str) -> None:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise CellIssue(Severity.ERROR, f'timezone "{name}" is not a known time zone',
                        "type an IANA name such as America/Toronto or Europe/Paris") from None
