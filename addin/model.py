"""Immutable domain records, each carrying where it came from (sheet and row).

The reader makes these from the workbook; everything else only reads them. Identifiers are
canonical after reading: an invoice's ``customer_id`` is spelled exactly as on the Customers
sheet, a payment's ``invoice_no`` exactly as on the Invoices sheet, so plain ``==`` works.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from .problems import Problem, sheet_ref
from .workbook.schema import normalize

if TYPE_CHECKING:
    from .holds import Holds

_NO_LETTERS: Mapping[str, str] = {}  # shared and never changed (a mappingproxy would not pickle)


class Origin(NamedTuple):
    """Where a record was read: ``Origin("Invoices", 12, letters)``.

    A named tuple: a large book has 160,000 of them, light and quick to make.
    Equal and hashed by sheet and row; ``letters`` is left out, as it is of the repr.

    Attributes:
      sheet: the sheet name as it is in the workbook.
      row: the 1-based row number.
      letters: header key -> column letter for that sheet (shared by all rows of a sheet).
    """

    sheet: str
    row: int
    letters: Mapping[str, str] = _NO_LETTERS

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Origin):
            return NotImplemented
        return self.row == other.row and self.sheet == other.sheet

    def __ne__(self, other: object) -> bool:
        return not self == other

    def __hash__(self) -> int:
        return hash((self.sheet, self.row))

    def __repr__(self) -> str:
        return f"Origin(sheet={self.sheet!r}, row={self.row!r})"

    def cell(self, header: str | None = None) -> str:
        """``D12`` for a header, ``A12`` when the header is absent or not given."""
        letter = self.letters.get(normalize(header), "A") if header else "A"
        return f"{letter}{self.row}"

    def ref(self, header: str | None = None) -> str:
        return sheet_ref(self.sheet, self.cell(header))


NOWHERE = Origin("", 0)


@dataclass(frozen=True)
class Customer:
    """A row of Customers.

    Attributes:
      id: Customer ID as typed (trimmed).
      fields: every Customers header key (normalized) -> typed value, for group rules.
      emails / statement_emails: validated addresses, in order.
      language: 'en' or 'fr' ('' = Settings language).
    """

    id: str
    name: str
    status: str
    emails: tuple[str, ...]
    type: str = ""
    contact: str = ""
    phone: str = ""
    address: str = ""
    city: str = ""
    state: str = ""
    postal_code: str = ""
    country: str = ""
    statement_emails: tuple[str, ...] = ()
    statement_contact: str = ""
    statement_address: str = ""
    no_reminders: bool = False
    reminders_paused_until: dt.date | None = None
    language: str = ""
    notes: str = ""
    fields: Mapping[str, object] = field(default_factory=dict, compare=False, repr=False)
    origin: Origin = NOWHERE

    @property
    def active(self) -> bool:
        return self.status.casefold() == "active"

    @property
    def first_name(self) -> str:
        who = self.contact or self.name
        return who.split()[0] if who.split() else ""


class _InvoiceRow(NamedTuple):
    number: str
    customer_id: str
    invoice_date: dt.date
    due_date: dt.date
    amount: Decimal
    emails: tuple[str, ...] = ()
    memo: str = ""
    status: str = ""
    last_reminder: dt.date | None = None
    origin: Origin = NOWHERE
    key: str = ""
    hold_until: dt.date | None = None
    hold_reason: str = ""


class Invoice(_InvoiceRow):
    """A row of Invoices. ``status`` and ``last_reminder`` are the add-in's columns as read;
    ``hold_until`` / ``hold_reason``: no automatic reminder until after that date (SPEC §4).

    Invoices and payments are named tuples, as ``Origin`` is: a large book has 160,000 of them,
    light and quick to make. ``key`` is the number as compared
    (``normalize(number)``), worked out when an invoice is made; ``_replace`` keeps it right.
    """

    __slots__ = ()

    def __new__(cls, number: str, customer_id: str, invoice_date: dt.date, due_date: dt.date, amount: Decimal,
                emails: tuple[str, ...] = (), memo: str = "", status: str = "", last_reminder: dt.date | None = None,
                origin: Origin = NOWHERE, key: str | None = None, hold_until: dt.date | None = None,
                hold_reason: str = "") -> Invoice:
        return tuple.__new__(cls, (number, customer_id, invoice_date, due_date, amount, emails, memo, status,
                                   last_reminder, origin, normalize(number) if key is None else key,
                                   hold_until, hold_reason))

    def held_on(self, day: dt.date) -> bool:
        """Whether the invoice is on hold on ``day`` (Hold Until on or after it)."""
        return self.hold_until is not None and self.hold_until >= day

    def _replace(self, **changes: Any) -> Invoice:
        if "number" in changes and "key" not in changes:
            changes["key"] = None
        return Invoice(**{**self._asdict(), **changes})


PAYMENT = "Payment"
CREDIT_NOTE = "Credit Note"


class Payment(NamedTuple):
    """A row of Payments: a payment or a credit note, applied to an invoice or not (a named
    tuple, as ``Invoice`` is).

    Attributes:
      invoice_no: the invoice it is applied to ('' = unapplied: a prepayment or credit).
      type: PAYMENT or CREDIT_NOTE.
    """

    payment_id: str
    customer_id: str
    date: dt.date
    amount: Decimal
    type: str = PAYMENT
    invoice_no: str = ""
    reference: str = ""
    origin: Origin = NOWHERE

    @property
    def is_credit_note(self) -> bool:
        return self.type == CREDIT_NOTE


@dataclass(frozen=True)
class Group:
    name: str
    description: str = ""
    kind: str = "Customer"
    auto_update: bool = True
    members: int | None = None
    updated: dt.datetime | None = None
    origin: Origin = NOWHERE


@dataclass(frozen=True)
class Rule:
    """A row of Group Rules. ``value`` and ``value2`` are the cells as typed (text, number, date)."""

    group: str
    field: str
    operator: str
    value: object = None
    value2: object = None
    origin: Origin = NOWHERE


@dataclass(frozen=True)
class Member:
    """A row of Group Members; ``source`` is Rule (the add-in's), Added or Removed (people's)."""

    group: str
    customer_id: str
    name: str = ""
    source: str = "Rule"
    origin: Origin = NOWHERE


@dataclass(frozen=True)
class ReminderStep:
    """A row of Reminders: step ``number`` goes ``days`` days ``when`` (Before/After) the due date."""

    number: int
    enabled: bool
    days: int
    when: str
    subject: str = ""
    greeting: bool = True
    salutation: str = ""
    message: str = ""
    group: str = ""
    origin: Origin = NOWHERE

    @property
    def offset(self) -> int:
        """Signed days from the due date."""
        return -self.days if self.when == "Before" else self.days


@dataclass(frozen=True)
class Schedule:
    """A row of Statement Schedules, for one customer or every member of a group."""

    customer_id: str
    group: str
    enabled: bool
    day: int
    type: str = ""
    to: tuple[str, ...] = ()
    cc: tuple[str, ...] = ()
    subject: str = ""
    message: str = ""
    exclude_zero_balance: bool = True
    attach_csv: bool = False
    last_sent: dt.date | None = None
    origin: Origin = NOWHERE


@dataclass(frozen=True)
class User:
    user: str
    role: str
    group: str = ""
    origin: Origin = NOWHERE


@dataclass(frozen=True)
class Vendor:
    id: str
    name: str
    status: str
    emails: tuple[str, ...]
    type: str = ""
    city: str = ""
    state: str = ""
    country: str = ""
    fields: Mapping[str, object] = field(default_factory=dict, compare=False, repr=False)
    origin: Origin = NOWHERE

    @property
    def active(self) -> bool:
        return self.status.casefold() == "active"


@dataclass(frozen=True)
class Settings:
    """The Settings sheet, typed, with defaults applied (see schema.SETTINGS).

    Attributes:
      cells: setting key -> cell of its Value (``B7``), for messages.
    """

    company_name: str = ""
    company_email: str = ""
    company_phone: str = ""
    company_address: str = ""
    brand_color: str = "#1F6FB2"
    logo_path: str = ""
    language: str = "en"
    currency: str = "USD"
    timezone: str = ""
    mail_transport: str = "outbox"
    outbox_dir: str = "outbox"
    smtp_host: str = ""
    smtp_port: int = 587
    smtp_security: str = "starttls"
    smtp_username: str = ""
    smtp_password_env: str = ""
    smtp_max_per_minute: int = 30
    smtp_ca_file: str = ""
    copy_to_me: str = ""
    reminders_enabled: bool = False
    reminders_attach_pdf: bool = True
    reminder_check_times: tuple[dt.time, ...] = (dt.time(8), dt.time(12), dt.time(16))
    catch_up_days: int = 7
    reminder_grouping: str = "invoice"
    statements_dir: str = "statements"
    statement_type: str = "Outstanding"
    backups_keep: int = 5
    sent_dir: str = "sent"
    cells: Mapping[str, str] = field(default_factory=dict, compare=False, repr=False)

    @property
    def copy_address(self) -> str:
        return self.copy_to_me or self.company_email


@dataclass(frozen=True)
class Book:
    """Everything read from one workbook, with the problems found while reading.

    Attributes:
      path: the workbook file (None for books built in tests).
      sheet_names: sheet key (normalized) -> the sheet's name as it is in the workbook.
      problems: every problem found, in sheet and row order.
      as_read: the add-in's computed columns as the file holds them (cell values as read, not
        checked), by sheet key and header key, aligned with ``customers`` or ``invoices``; only
        the columns present. A refresh compares them with the day's figures to write only what
        changes.
    """

    settings: Settings = field(default_factory=Settings)
    customers: tuple[Customer, ...] = ()
    invoices: tuple[Invoice, ...] = ()
    payments: tuple[Payment, ...] = ()
    groups: tuple[Group, ...] = ()
    rules: tuple[Rule, ...] = ()
    members: tuple[Member, ...] = ()
    reminders: tuple[ReminderStep, ...] = ()
    schedules: tuple[Schedule, ...] = ()
    users: tuple[User, ...] = ()
    vendors: tuple[Vendor, ...] = ()
    problems: tuple[Problem, ...] = ()
    path: Path | None = None
    sheet_names: Mapping[str, str] = field(default_factory=dict, compare=False, repr=False)
    as_read: Mapping[str, Mapping[str, Sequence[Any]]] = field(default_factory=dict, compare=False, repr=False)

    @cached_property
    def customers_by_id(self) -> dict[str, Customer]:
        return {normalize(c.id): c for c in self.customers}

    def customer(self, customer_id: str) -> Customer | None:
        return self.customers_by_id.get(normalize(customer_id))

    @cached_property
    def invoices_by_key(self) -> dict[str, Invoice]:
        return {i.key: i for i in self.invoices}

    def invoice(self, number: str) -> Invoice | None:
        return self.invoices_by_key.get(normalize(number))

    @cached_property
    def holds(self) -> Holds:
        """What waits because something it depends on could not be read (addin.holds).

        Worked out from the book's own problems and customers when first asked, as the indexes
        above are: derived, never changed, so the Book stays a value (a copy made with other
        problems works out its own). The ledger, dearer and asked for by several layers, is
        kept by the ledger (``Ledger.from_book``)."""
        from .holds import Holds

        return Holds.of(self)

    def is_blocked(self, customer_id: str) -> bool:
        """Whether a row of the customer has an error: no statement or group email for them."""
        return bool(self.holds.customer(customer_id))

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.is_error]
