"""The Dashboard figures and the add-in columns (Customers Balance/Overdue; Invoices Paid/Balance/Status).

Pure core: ``figures`` and ``plan_refresh`` are functions of (records, date, a count from the
journal, what the cells hold now). The edge takes two steps: ``plan_book`` settles what a crashed
run left in the journal (``run.recover``), reads it and the Dashboard's cells, and plans;
``carry_out`` has ``addin.run.execute`` carry the plan out (journal, guarded write, deferral
while the workbook is open in Excel), as every other command's plan is. ``refresh(workbook, day)`` reads the workbook and takes both (the daemon
calls it after each tick).

Definitions (as of the date D; money per SPEC §3):

- Total receivable: the sum of every customer's balance (open invoice balances minus unapplied
  credits) — the total of the aged receivables report.
- Overdue: the part of it in the 1–30 … 91+ buckets (``ledger.bucket_index`` decides buckets,
  for the report, statements and this Dashboard alike). % overdue = overdue / total receivable
  (blank when nothing is receivable).
- DSO (90 days) = total receivable / credit sales of the last 90 days × 90, where credit sales
  are the amounts of the invoices dated D − 89 … D (credit notes not deducted). Blank when
  nothing was invoiced in those 90 days. Rounded to 0.1 day.
- Reminders sent (30 days): reminder messages (automatic, manual, and one per customer with
  ``reminder_grouping`` = customer) the journal records as sent on D − 29 … D (in the workbook's
  time zone); Invoices reminded (30 days): the invoices those messages reminded.
- Customers on hold: Active customers that automatic reminders leave alone for a reason a
  person must lift: No Reminders is TRUE, or Reminders Paused Until is on or after D, or a row
  of theirs has an error (``Book.is_blocked``: no document is built for them). Each counted once.
- Top 10 overdue customers: by overdue balance, largest first (then by name); days overdue of
  their oldest unpaid invoice.

Invoice Status reads, for a bookkeeper: ``Paid`` when the balance is 0; otherwise ``On hold until
2026-07-15`` while the invoice's Hold Until is on or after the day; otherwise the reminder
status the invoice has (``Reminder 2 sent 2026-04-07``, ``Manual reminder sent 2026-04-07``) is
kept, so the column says what was done last; otherwise ``Overdue`` once the due date has passed,
else ``Open``. Any other text in the column is replaced (the column is the add-in's).
"""

from __future__ import annotations

import datetime as dt
import operator
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal
from itertools import repeat
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from .actions import Plan, SetAt, SetCells, SetColumn, Update
from .clock import zone
from .holds import held
from .invoice_status import OPEN, OVERDUE, PAID, hold_status, is_reminder
from .ledger import Ageing, CustomerSummary, Ledger
from .model import Book, Customer, Invoice, Settings
from .money import ZERO, cents_where_exact, from_cents, from_number
from .perf import quiet_gc
from .problems import Problem, notice
from .workbook import cellref, guard, schema
from .workbook import dashboard_layout as layout
from .workbook.schema import normalize

if TYPE_CHECKING:
    from .journal import Journal

DSO_DAYS = 90
REMINDER_DAYS = 30
TOP = layout.TOP_COUNT
TENTH = Decimal("0.1")

_INV = schema.INVOICES.column
_CUS = schema.CUSTOMERS.column
INVOICE_NO, INVOICE_PAID, INVOICE_BALANCE, INVOICE_STATUS = (
    _INV("Invoice No").header, _INV("Paid").header, _INV("Balance").header, _INV("Status").header)
CUSTOMER_ID, CUSTOMER_BALANCE, CUSTOMER_OVERDUE = (
    _CUS("Customer ID").header, _CUS("Balance").header, _CUS("Overdue").header)


@dataclass(frozen=True)
class TopRow:
    customer_id: str
    name: str
    overdue: Decimal
    days_overdue: int


@dataclass(frozen=True)
class Figures:
    """The Dashboard as of a date (see the module docstring for each definition).

    Attributes:
      percent_overdue: a fraction (0.25 = 25 %), None when nothing is receivable.
      dso_90: days, None when nothing was invoiced in the last 90 days.
      ageing: the bucket totals (ledger.BUCKETS order); ``ageing.total == total_receivable``.
      top: up to 10 customers with an overdue balance, largest first.
    """

    as_of: dt.date
    total_receivable: Decimal
    overdue: Decimal
    percent_overdue: Decimal | None
    dso_90: Decimal | None
    reminders_sent_30: int
    customers_on_hold: int
    ageing: Ageing
    top: tuple[TopRow, ...]
    invoices_reminded_30: int | None = None
    language: str = "en"

    def cells(self) -> dict[str, layout.Value]:
        """Every Dashboard value cell -> its value (dashboard_layout decides where)."""
        values = {
            "total_receivable": self.total_receivable, "overdue": self.overdue,
            "percent_overdue": self.percent_overdue, "dso_90": self.dso_90,
            "reminders_sent_30": self.reminders_sent_30, "customers_on_hold": self.customers_on_hold,
            "invoices_reminded_30": (self.reminders_sent_30 if self.invoices_reminded_30 is None
                                     else self.invoices_reminded_30),
        }
        top = [(t.customer_id, t.name, t.overdue, t.days_overdue) for t in self.top]
        return layout.cell_values(self.as_of, values, self.ageing.amounts, top, self.language)


# --- the pure core ------------------------------------------------------------------------------


def summaries(book: Book, ledger: Ledger, as_of: dt.date) -> dict[str, CustomerSummary]:
    """Each customer's figures as of the date, keyed by Customer ID as on the sheet."""
    return {c.id: ledger.summary(c.id, as_of) for c in book.customers}


def figures(book: Book, ledger: Ledger, as_of: dt.date, reminders_sent_30d: int | Reminded,
            by_customer: Mapping[str, CustomerSummary] | None = None) -> Figures:
    """The Dashboard's figures as of ``as_of``; the reminders sent come from the journal (a number
    of messages that each reminded one invoice, or ``Reminded``)."""
    sums = by_customer if by_customer is not None else summaries(book, ledger, as_of)
    ageing = Ageing()
    for summary in sums.values():
        ageing = ageing + summary.ageing
    total, overdue = ageing.total, ageing.overdue
    percent = (overdue / total) if total > 0 else None
    start = as_of - dt.timedelta(days=DSO_DAYS - 1)
    sales = sum((i.amount for i in book.invoices if start <= i.invoice_date <= as_of), ZERO)
    dso = (total / sales * DSO_DAYS).quantize(TENTH) if sales > 0 else None
    held = sum(1 for c in book.customers if on_hold(book, c, as_of))
    late = [(s.overdue_balance, c) for c in book.customers if (s := sums.get(c.id)) and s.overdue_balance > 0]
    late.sort(key=lambda x: (-x[0], x[1].name.casefold(), x[1].id))
    top = tuple(TopRow(c.id, c.name, amount, sums[c.id].days_overdue) for amount, c in late[:TOP])
    sent = reminders_sent_30d if isinstance(reminders_sent_30d, Reminded) else Reminded(reminders_sent_30d,
                                                                                          reminders_sent_30d)
    return Figures(as_of, total, overdue, percent, dso, sent.messages, held, ageing, top, sent.invoices,
                   book.settings.language)


def on_hold(book: Book, customer: Customer, as_of: dt.date) -> bool:
    """An Active customer with No Reminders, reminders paused until ``as_of`` or later, or rows with errors."""
    if not customer.active:
        return False
    paused = customer.reminders_paused_until is not None and customer.reminders_paused_until >= as_of
    return customer.no_reminders or paused or book.is_blocked(customer.id)


def invoice_status(invoice: Invoice, balance: Decimal, as_of: dt.date, current: str = "") -> str:
    """``Paid``; else a reminder status the invoice has (``current``); else ``Overdue`` or ``Open``."""
    return invoice_statuses((invoice,), (balance > 0,), as_of, (current,))[0]


def invoice_statuses(invoices: Sequence[Invoice], owing: Sequence[bool], as_of: dt.date,
                     current: Sequence[Any]) -> list[str]:
    """The Status of each invoice (``owing``: its balance is above zero; ``current``: what its
    Status cell holds), at once: ``Paid`` when nothing is owed; else ``On hold until …`` while
    Hold Until is on or after the day; else a reminder status the cell has; else ``Overdue`` once
    the due date has passed, or ``Open`` (texts: addin.invoice_status)."""
    day = as_of.toordinal()
    out = [(OVERDUE if day > due.toordinal() else OPEN) if owes else PAID
           for owes, due in zip(owing, map(operator.attrgetter("due_date"), invoices), strict=True)]
    plain = {PAID, OPEN, OVERDUE, "", None}
    for r, text in enumerate(current):
        if text not in plain and out[r] != PAID and is_reminder(text):
            out[r] = text.strip()
    for r, until in enumerate(map(operator.attrgetter("hold_until"), invoices)):
        if until is not None and out[r] != PAID and until >= as_of:
            out[r] = hold_status(until)
    return out


_MISSING = object()  # no such cell: a record the sheet does not have


@dataclass
class Cells:
    """A sheet's add-in cells as they are: header key -> values, aligned with record ``keys``.

    Columns, not a dict per row: a refresh compares 100,000 rows with the day's figures.
    ``columns`` holds only the add-in columns the sheet has.
    """

    keys: list[str] = field(default_factory=list)
    columns: dict[str, list[Any]] = field(default_factory=dict)
    _index: dict[str, int] | None = field(default=None, repr=False, compare=False)

    @classmethod
    def of_rows(cls, rows: Mapping[str, Mapping[str, Any]], headers: Iterable[str]) -> Cells:
        """From record key -> {header key: value} (headers: the columns the sheet has)."""
        keys = list(rows)
        return cls(keys, {h: [rows[k].get(h, "") for k in keys] for h in headers})

    def along(self, keys: Sequence[str], header: str, default: Any = _MISSING) -> Sequence[Any]:
        """The values under ``header`` for ``keys`` in their order (``default`` for an unknown key)."""
        values = self.columns.get(header)
        if values is None:
            return [default] * len(keys)
        if keys == self.keys:  # made from the same records: the usual case
            return values
        where = self._where()
        return [values[where[k]] if k in where else default for k in keys]

    def set(self, key: str, header: str, value: Any) -> None:
        """The cell of record ``key`` under ``header`` now holds ``value`` (when both exist)."""
        values = self.columns.get(header)
        i = self._where().get(key)
        if values is not None and i is not None:
            values[i] = value

    def _where(self) -> dict[str, int]:
        """Record key -> position (the first, should a key repeat)."""
        if self._index is None:
            self._index = {}
            for i, k in enumerate(self.keys):
                self._index.setdefault(k, i)
        return self._index


@dataclass
class Current:
    """What the add-in cells hold now (the file plus updates still waiting in the journal).

    Attributes:
      invoices: Paid, Balance and Status by normalized Invoice No.
      customers: Balance and Overdue by normalized Customer ID.
      dashboard: cell address -> value (None when the Dashboard sheet is missing).
    """

    invoices: Cells = field(default_factory=Cells)
    customers: Cells = field(default_factory=Cells)
    dashboard: dict[str, Any] | None = None


def plan_refresh(book: Book, ledger: Ledger, as_of: dt.date, reminders_sent_30d: int | Reminded,
                 current: Current | None = None) -> Plan:
    """The updates that bring the Dashboard and the add-in columns up to ``as_of``: a plan whose
    updates are all ``derived`` (computed again at every refresh, never queued in the journal).

    With ``current`` (what the cells hold now) only the cells whose value changes are written;
    without it every Paid, Balance, Customers Balance/Overdue and Dashboard cell is written and
    Status only where it differs from what was read.
    """
    waiting = book.holds.books()
    if waiting:  # figures from books that cannot be read would mislead: the cells keep their values
        return Plan(problems=(held("", "", "the Dashboard and the Paid, Balance, Status and Overdue columns "
                                   "were not refreshed", waiting),))
    sums = summaries(book, ledger, as_of)
    figs = figures(book, ledger, as_of, reminders_sent_30d, sums)
    problems: list[Problem] = []
    updates: list[Update] = []
    lines: list[str] = []

    has_dashboard = schema.DASHBOARD.key in book.sheet_names if book.sheet_names else True
    if current is not None and current.dashboard is None:
        has_dashboard = False
    if has_dashboard:
        old = current.dashboard if current is not None else None
        cells = tuple((ref, v) for ref, v in figs.cells().items() if old is None or not same(old.get(ref), v))
        if cells:
            updates.append(SetAt(schema.DASHBOARD.name, cells))
            lines.append(f"Dashboard: {len(cells)} cell(s) as of {as_of.isoformat()}")
    else:
        problems.append(notice(schema.DASHBOARD.name, "", "no such sheet, so the figures were not written",
                               "copy the Dashboard sheet from a workbook made by `receivables init`"))

    for sheet, order, rows in (
        (schema.CUSTOMERS, (CUSTOMER_BALANCE, CUSTOMER_OVERDUE), _customer_updates(book, sums, current, problems)),
        (schema.INVOICES, (INVOICE_PAID, INVOICE_BALANCE, INVOICE_STATUS),
         _invoice_updates(book, ledger, as_of, current, problems)),
    ):
        written = list(rows)
        if written:
            seen = {u.header for u in written}
            lines.append(f"{sheet.name}: {_rows_in(written)} row(s) ({', '.join(h for h in order if h in seen)})")
        updates += written
    if not updates:
        lines.append(f"Nothing to write: the Dashboard and the add-in columns are up to date for {as_of.isoformat()}.")
    return Plan(derived=tuple(updates), problems=tuple(problems), lines=tuple(lines))


def _columns(sheet: schema.Sheet, headers: Iterable[str], present: frozenset[str] | None,
             problems: list[Problem]) -> list[str]:
    """The add-in headers the sheet has; a notice for each it lacks."""
    out = []
    for h in headers:
        if present is None or normalize(h) in present:
            out.append(h)
        else:
            problems.append(notice(sheet.name, "1", f'no "{h}" column, so it was not written',
                                   f'add a column headed "{h}" in row 1 to see it'))
    return out


def _rows_in(columns: list[SetColumn]) -> int:
    """How many records the columns set (a refresh's columns often share one tuple of keys)."""
    keys = list({id(u.keys): u.keys for u in columns}.values())
    return len(keys[0]) if len(keys) == 1 else len(set().union(*keys))


def _customer_updates(book: Book, sums: Mapping[str, CustomerSummary], current: Current | None,
                      problems: list[Problem]) -> Iterable[SetColumn]:
    present = frozenset(current.customers.columns) if current is not None else None
    headers = _columns(schema.CUSTOMERS, (CUSTOMER_BALANCE, CUSTOMER_OVERDUE), present, problems)
    if not headers:
        return
    keys = [normalize(c.id) for c in book.customers]
    for h in headers:
        olds = current.customers.along(keys, normalize(h)) if current is not None else repeat(_MISSING)
        column = [(c.id, value) for c, was in zip(book.customers, olds, strict=False)
                  for value in ((sums[c.id].balance if h == CUSTOMER_BALANCE else sums[c.id].overdue_balance),)
                  if was is _MISSING or not same(was, value)]
        if column:
            yield SetColumn(schema.CUSTOMERS.name, CUSTOMER_ID, h, tuple(k for k, _ in column),
                            tuple(_float(v) for _, v in column))


def _invoice_updates(book: Book, ledger: Ledger, as_of: dt.date, current: Current | None,
                     problems: list[Problem]) -> Iterable[SetColumn]:
    """Paid, Balance and Status of the invoices whose cells must change, a column each,
    compared column by column (100,000 invoices: in bulk, cell by cell only for what is not a
    plain amount)."""
    present = frozenset(current.invoices.columns) if current is not None else None
    headers = _columns(schema.INVOICES, (INVOICE_PAID, INVOICE_BALANCE, INVOICE_STATUS), present, problems)
    if not headers:
        return
    invoices = book.invoices
    paid, balance = ledger.settled_cents(invoices, as_of)
    if current is None:  # every amount is written; Status where it differs from what was read
        old_paid: Sequence[Any] | None = None
        old_balance: Sequence[Any] | None = None
        old_status: Sequence[Any] = [i.status for i in invoices]
    else:
        keys = [i.key for i in invoices]
        old_paid = current.invoices.along(keys, normalize(INVOICE_PAID))
        old_balance = current.invoices.along(keys, normalize(INVOICE_BALANCE))
        old_status = current.invoices.along(keys, normalize(INVOICE_STATUS), "")
    columns: list[tuple[str, Sequence[Any], Any]] = []  # header, values to write, which rows
    if INVOICE_PAID in headers:
        columns.append((INVOICE_PAID, *_amounts_to_write(old_paid, paid)))
    if INVOICE_BALANCE in headers:
        columns.append((INVOICE_BALANCE, *_amounts_to_write(old_balance, balance)))
    if INVOICE_STATUS in headers:
        statuses = invoice_statuses(invoices, (balance > 0).tolist(), as_of, old_status)
        columns.append((INVOICE_STATUS, statuses, list(map(operator.ne, statuses, old_status))))
    import numpy as np

    numbers = [i.number for i in invoices]
    every: tuple[str, ...] | None = None  # the keys of a column written whole, shared by all such columns
    for h, values, write in columns:
        rows = np.flatnonzero(np.asarray(write, dtype=bool))
        if len(rows) == len(numbers):  # the first refresh: every cell of the column
            if every is None:
                every = tuple(numbers)
            yield SetColumn(schema.INVOICES.name, INVOICE_NO, h, every, tuple(values))
        elif len(rows):
            picked = rows.tolist()
            yield SetColumn(schema.INVOICES.name, INVOICE_NO, h, tuple([numbers[r] for r in picked]),
                            tuple([values[r] for r in picked]))


_BLANK = frozenset(("", None))  # an empty cell: an amount is always written there


def _amounts_to_write(old: Sequence[Any] | None, cents: Any) -> tuple[list[float], Any]:
    """The cells' floats for amounts in whole ``cents``, and where they differ from ``old`` (the
    cells as they are; None: write them all). Plain amounts are compared in bulk; others, such
    as an amount typed with more decimals, the way ``same`` does."""
    import numpy as np

    floats = (cents / 100).tolist()  # correctly rounded, as float(Decimal) is: the same float
    if old is None:
        return floats, np.ones(len(floats), dtype=bool)
    old_cents, exact = cents_where_exact(old)
    write = ~exact | (old_cents != cents)
    blank = np.fromiter(map(_BLANK.__contains__, old), dtype=bool, count=len(old))
    for r in np.flatnonzero(~exact & ~blank).tolist():  # text, missing rows, odd numbers
        write[r] = old[r] is _MISSING or not same(old[r], from_cents(int(cents[r])))
    return floats, write


_floats: dict[Decimal, float] = {}


def _float(value: Decimal) -> float:
    """Money as the float written into a cell (cached: books repeat amounts)."""
    f = _floats.get(value)
    if f is None:
        f = float(value)
        if len(_floats) < 200_000:
            _floats[value] = f
    return f


def same(old: Any, new: Any) -> bool:
    """Whether a cell holding ``old`` already shows ``new`` (money to the cent; '' is empty)."""
    if type(old) is float and type(new) is Decimal:  # the common case, first
        return from_number(old) == new
    if old == "":
        old = None
    if new is None or old is None:
        return new is None and old is None
    if isinstance(new, str) or isinstance(old, str):
        return isinstance(new, str) and isinstance(old, str) and old == new
    if isinstance(new, dt.date) or isinstance(old, dt.date):
        return _day(old) == _day(new)
    if isinstance(old, bool) or isinstance(new, bool):
        return old is new
    if isinstance(new, Decimal):
        return isinstance(old, int | float | Decimal) and _cents(old) == new
    return old == new


def _day(value: Any) -> dt.date | None:
    if isinstance(value, dt.datetime):
        return value.date() if value.time() == dt.time(0) else None
    return value if isinstance(value, dt.date) else None


def _cents(value: int | float | Decimal) -> Decimal:
    return from_number(value) if not isinstance(value, Decimal) else value.quantize(Decimal("0.01"))


# --- the edge -----------------------------------------------------------------------------------


class Reminded(NamedTuple):
    """Reminders sent over a period: messages, and the invoices they reminded (a message of
    ``reminder_grouping`` = customer reminds several)."""

    messages: int
    invoices: int


def reminders_sent(journal: Journal, day: dt.date, zone: dt.tzinfo | None = None,
                   days: int = REMINDER_DAYS) -> Reminded:
    """Reminder messages (automatic, grouped and manual) the journal records as sent on
    ``day - days + 1`` … ``day``, and the invoices they reminded."""
    from .journal import SENT
    from .reminders import AUTO_PREFIX, MANUAL_PREFIX, parse_group_key

    tz = zone or dt.datetime.now().astimezone().tzinfo
    start = dt.datetime.combine(day - dt.timedelta(days=days - 1), dt.time(0), tzinfo=tz)
    end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(0), tzinfo=tz)
    messages = invoices = 0
    for r in journal.sends_between(start, end, SENT):
        if r.key.startswith((AUTO_PREFIX, MANUAL_PREFIX)):
            messages, invoices = messages + 1, invoices + 1
        elif (grouped := parse_group_key(r.key)) is not None:
            messages, invoices = messages + 1, invoices + len(grouped[2])
    return Reminded(messages, invoices)


def current_cells(book: Book, dashboard: dict[str, Any] | None) -> Current:
    """What the add-in cells hold: the columns the reader kept as read, and the Dashboard's cells."""
    def cells(sheet: schema.Sheet, keys: list[str]) -> Cells:
        return Cells(keys, {h: list(v) for h, v in book.as_read.get(sheet.key, {}).items()})

    return Current(
        invoices=cells(schema.INVOICES, [i.key for i in book.invoices]),
        customers=cells(schema.CUSTOMERS, [normalize(c.id) for c in book.customers]),
        dashboard=dashboard,
    )


def read_dashboard(path: Path) -> dict[str, Any] | None:
    """The Dashboard's value cells as the file holds them (None when it has no Dashboard sheet)."""
    from python_calamine import CalamineWorkbook

    with CalamineWorkbook.from_path(str(path)) as workbook:
        name = next((n for n in workbook.sheet_names if normalize(n) == schema.DASHBOARD.key), None)
        if name is None:
            return None
        return _dashboard_cells(workbook.get_sheet_by_name(name).to_python(skip_empty_area=False))


def read_dashboard_later(path: Path) -> Callable[[], dict[str, Any] | None]:
    """Start reading the Dashboard's cells in a thread, beside the reader."""
    from concurrent.futures import ThreadPoolExecutor

    pool = ThreadPoolExecutor(1, thread_name_prefix="refresh-dashboard")
    future = pool.submit(read_dashboard, Path(path))
    pool.shutdown(wait=False)
    return future.result


def _dashboard_cells(grid: list[list[Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for ref in layout.cell_values(dt.date.min, {}, (), ()):
        column, row = cellref.split(ref)
        r, c = row - 1, column - 1
        out[ref] = grid[r][c] if r < len(grid) and c < len(grid[r]) else None
    return out


def overlay(current: Current, pending: Iterable[Update]) -> None:
    """Updates queued but not yet in the file count as written."""
    for u in pending:
        key = normalize(u.sheet)
        if isinstance(u, SetAt) and key == schema.DASHBOARD.key and current.dashboard is not None:
            current.dashboard.update(u.cells)
        elif isinstance(u, SetCells) and key in (schema.INVOICES.key, schema.CUSTOMERS.key):
            cells = current.invoices if key == schema.INVOICES.key else current.customers
            for h, v in u.values:
                cells.set(normalize(u.key), normalize(h), v)
        elif isinstance(u, SetColumn) and key in (schema.INVOICES.key, schema.CUSTOMERS.key):
            cells = current.invoices if key == schema.INVOICES.key else current.customers
            for k, v in zip(u.keys, u.values, strict=True):
                cells.set(normalize(k), normalize(u.header), v)


@dataclass
class Refreshed:
    """What a refresh did: summary lines, problems, whether the write waits (workbook open)."""

    lines: list[str]
    problems: list[Problem]
    written: bool = False
    deferred: bool = False


def plan_book(book: Book, day: dt.date, dashboard: Callable[[], dict[str, Any] | None] | None = None) -> Plan:
    """The refresh's plan for a workbook already read, from its records, the journal (reminders
    sent, updates still waiting: once a crashed run's messages are settled, ``run.recover``) and
    what the Dashboard's cells hold (``dashboard``; default: read them now). The add-in columns
    are compared as the reader kept them (``Book.as_read``)."""
    if book.path is None:
        raise ValueError("plan_book needs a book read from a file")
    from .journal import Journal
    from .run import recover, uncertain_problem

    path = Path(book.path)
    with quiet_gc():  # a burst of records (ledger, current cells, 100,000 updates): see addin.perf
        ledger = Ledger.from_book(book)
        with Journal.open(path) as journal:
            # a crashed run's messages first: one found sent queues its Status, which the plan must see
            uncertain, recovered = recover(journal, book.settings, path, None, dt.datetime.now().replace(microsecond=0))
            count = reminders_sent(journal, day, zone(book.settings.timezone))
            cells = current_cells(book, dashboard() if dashboard is not None else read_dashboard(path))
            overlay(cells, (u for _, u in journal.pending_updates()))
        plan = plan_refresh(book, ledger, day, count, cells)
    return replace(plan, lines=(*recovered, *plan.lines),
                   problems=(*(uncertain_problem(k, path) for k in uncertain), *plan.problems))


def carry_out(plan: Plan, path: Path, settings: Settings,
              into_open: Callable[[Sequence[Update]], list[Problem] | None] | None = None) -> Refreshed:
    """Have ``run.execute`` carry out a refresh's plan for the workbook at ``path``, and say what happened.

    The figures are derived data: they go through the guarded store in one write (after any
    updates waiting in the journal) but are not queued; while the workbook is open in Excel
    nothing is written and the next refresh computes them again — unless ``into_open`` can write
    them into the workbook as Excel has it open (the ribbon's button, pressed in that Excel).
    """
    from .run import execute

    path = Path(path)
    if into_open is not None and plan.derived and guard.find_owner(path)[0] is not None:
        problems = into_open(plan.derived)
        if problems is not None:
            return Refreshed([*plan.lines, "Written into the workbook open in Excel, and saved."],
                             [*plan.problems, *problems], written=True)
    with quiet_gc():  # 100,000 updates handed to the writer
        report = execute(Plan(derived=plan.derived), Book(settings=settings, path=path), outbox=None,
                         now=dt.datetime.now())
    lines = list(plan.lines)
    if report.written:
        lines.append("The workbook was updated.")
    elif (owner := guard.find_owner(path)[0]) is not None:
        lines.append(f"The workbook is {guard.open_in(owner)}: the figures will be refreshed at the next run "
                     "after it is closed.")
    elif report.deferred:
        lines.append("Another receivables process is writing the workbook: the figures will be refreshed at the "
                     "next run.")
    return Refreshed(lines, [*plan.problems, *report.problems], report.written, report.deferred)


def refresh(workbook: Path, day: dt.date) -> list[str]:
    """Read, plan and write the refresh (the daemon's door); returns the lines and problems as text."""
    from .workbook.reader import load

    path = Path(workbook)
    dashboard = read_dashboard_later(path)
    book = load(path)
    plan, settings = plan_book(book, day, dashboard), book.settings
    Ledger.forget(book)
    del book  # the plan is all the write needs: the records (~200 MB for 100,000 invoices) go first
    done = carry_out(plan, path, settings)
    return [*done.lines, *map(str, done.problems)]
