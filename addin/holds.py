"""What must wait because something it depends on could not be read (SPEC §2). Pure.

A reminder to a customer who paid is the worst thing this product can do, so every decision
that sends or writes figures asks here first. ``Holds.of(book)`` sorts the reader's errors once:

- a sheet with an error for the whole sheet (a missing required header, two sheets with one
  name) is unreadable, and holds everything that depends on it: Settings → nothing is sent;
  Customers, Invoices or Payments → no reminder, statement, balance-based group or figure for
  anyone; Groups, Group Rules or Group Members → nothing addressed to a group (so does a Group
  Rules or Group Members row: which group it belongs to may be what cannot be read); Reminders →
  no automatic reminder;
- an error on a Settings row holds every message too (a setting decides who gets what, when and from whom), and one on a Reminders row holds the automatic reminders (the steps decide
  together: a step that cannot be read would change which one is due);
- an invoice waits for a reminder while its own row, its customer's row or any Payments row of
  its customer has an error;
- a Payments row whose customer cannot be told (the reader names the customer of the invoice
  it is applied to when it can) holds every reminder and statement;
- a statement or a group email waits while any row of the customer has an error.

Each answer is the tuple of problems that cause the hold (empty: go ahead), so the message
can name the cells to fix. ``held(...)`` words the problem reported for what was held.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TypeVar

from .problems import Problem, error
from .workbook import schema
from .workbook.schema import normalize

if TYPE_CHECKING:
    from .model import Book, Invoice

Causes = tuple[Problem, ...]

_BOOKS = (schema.CUSTOMERS.key, schema.INVOICES.key, schema.PAYMENTS.key)
_GROUPS = (schema.GROUPS.key, schema.GROUP_RULES.key, schema.GROUP_MEMBERS.key)


def is_sheet_level(problem: Problem) -> bool:
    """An error about the whole sheet (cell '' or the header row), not one of its rows."""
    return problem.is_error and bool(problem.sheet) and problem.cell in ("", "1:1")


@dataclass(frozen=True)
class Holds:
    """The reader's errors, sorted by what they hold.

    Attributes:
      sheets: sheet key -> its errors (sheet-level and row errors alike), in the book's order.
      unreadable: sheet key -> its sheet-level errors.
      customers: customer key -> errors on any of its rows (Customers, Invoices, Payments).
      customer_rows: customer key -> errors on its Customers row.
      payments: customer key -> errors on its Payments rows.
      invoice_rows: (sheet, row) -> errors on that Invoices row.
      unattributed: Payments errors whose customer cannot be told.
    """

    sheets: Mapping[str, Causes] = field(default_factory=dict)
    unreadable: Mapping[str, Causes] = field(default_factory=dict)
    customers: Mapping[str, Causes] = field(default_factory=dict)
    customer_rows: Mapping[str, Causes] = field(default_factory=dict)
    payments: Mapping[str, Causes] = field(default_factory=dict)
    invoice_rows: Mapping[tuple[str, int], Causes] = field(default_factory=dict)
    unattributed: Causes = ()

    @classmethod
    def of(cls, book: Book) -> Holds:
        known = set(book.customers_by_id)
        sheets: dict[str, list[Problem]] = {}
        unreadable: dict[str, list[Problem]] = {}
        customers: dict[str, list[Problem]] = {}
        customer_rows: dict[str, list[Problem]] = {}
        payments: dict[str, list[Problem]] = {}
        invoice_rows: dict[tuple[str, int], list[Problem]] = {}
        unattributed: list[Problem] = []
        for p in book.problems:
            if not p.is_error or not p.sheet:
                continue
            sheet = normalize(p.sheet)
            sheets.setdefault(sheet, []).append(p)
            if is_sheet_level(p):
                unreadable.setdefault(sheet, []).append(p)
                continue
            owners = [normalize(c) for c in (p.customer_id, *p.also_holds) if c]
            for owner in dict.fromkeys(owners):
                customers.setdefault(owner, []).append(p)
                if sheet == schema.PAYMENTS.key:
                    payments.setdefault(owner, []).append(p)
                elif sheet == schema.CUSTOMERS.key:
                    customer_rows.setdefault(owner, []).append(p)
            if sheet == schema.PAYMENTS.key and not any(o in known for o in owners):
                unattributed.append(p)
            elif sheet == schema.INVOICES.key:
                invoice_rows.setdefault((sheet, p.position[0]), []).append(p)
        return cls(_frozen(sheets), _frozen(unreadable), _frozen(customers), _frozen(customer_rows),
                   _frozen(payments), _frozen(invoice_rows), tuple(unattributed))

    # --- what waits --------------------------------------------------------------------------

    def sending(self) -> Causes:
        """Nothing is sent: Settings cannot be read, or one of its values cannot. (What sending
        needs and Settings lacks, a blank company_email, stops the sending itself: run.py.)"""
        return self.sheets.get(schema.SETTINGS_SHEET.key, ())

    def books(self) -> Causes:
        """No balance can be trusted for anyone: Customers, Invoices or Payments unreadable, or a
        Payments row that belongs to nobody known."""
        return (*(p for key in _BOOKS for p in self.unreadable.get(key, ())), *self.unattributed)

    def groups(self) -> Causes:
        """Nothing addressed to a group: a group sheet is unreadable, or a Group Members row (a
        person's Added/Removed choice) cannot be read."""
        return (*(p for key in _GROUPS for p in self.unreadable.get(key, ())),
                *(p for key in (schema.GROUP_RULES.key, schema.GROUP_MEMBERS.key)
                  for p in self.sheets.get(key, ()) if not is_sheet_level(p)))

    def automatic(self) -> Causes:
        """No automatic reminder for anyone (nothing sent, the books, or the Reminders sheet)."""
        return (*self.sending(), *self.books(), *self.sheets.get(schema.REMINDERS.key, ()))

    def reminder(self, invoice: Invoice) -> Causes:
        """What holds a reminder (automatic or manual) for this invoice besides ``automatic``:
        its own row, its customer's row, its customer's Payments rows."""
        key = normalize(invoice.customer_id)
        return (*self.invoice_rows.get((normalize(invoice.origin.sheet or schema.INVOICES.name), invoice.origin.row), ()),
                *self.customer_rows.get(key, ()), *self.payments.get(key, ()))

    def customer(self, customer_id: str) -> Causes:
        """What holds a statement or a group email for this customer: any of its rows."""
        return self.customers.get(normalize(customer_id), ())

    def statements(self) -> Causes:
        """No statement built for anyone (emailing one waits for ``sending`` too)."""
        return self.books()


K = TypeVar("K")


def _frozen(found: Mapping[K, list[Problem]]) -> dict[K, Causes]:
    return {k: tuple(v) for k, v in found.items()}


def cells(causes: Iterable[Problem], most: int = 3) -> str:
    """``Payments!C9, Payments!D9 and 2 more`` (or the sheet when the whole sheet is at fault)."""
    refs = list(dict.fromkeys(p.where for p in causes if p.where))
    shown = ", ".join(refs[:most])
    return shown + (f" and {len(refs) - most} more" if len(refs) > most else "")


def held(sheet: str, cell: str, what: str, causes: Causes, customer_id: str | None = None) -> Problem:
    """The problem reported for something held: ``Invoices!A5: invoice INV-1: reminder 2 not
    sent — Payments!C9 has an error — correct those cells …, then run again``."""
    where = cells(causes)
    many = len({p.where for p in causes}) > 1
    return error(sheet, cell, f"{what} — {where} {'have errors' if many else 'has an error'}" if where else what,
                 "correct those cells (see `receivables check`), then run again", customer_id)
