"""The reader's checks of the records together, listed in one place (beancount's ``VALIDATIONS``).

Each is ``f(book) -> problems`` over the records as read, and leaves them as they are: what a
row means alone, and which rows become records, is decided while the records are made
(``records``). ``load`` runs these, so their problems are the book's (``Book.problems``); the
features' own checks (rules, texts, what sending needs) are ``addin.checks.CHECKS``. Adding a
check is adding a line.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from decimal import Decimal
from itertools import compress

from ..ledger import Ledger
from ..model import Book, Payment
from ..problems import Problem, error, warning
from . import schema


def due_before_invoice_date(book: Book) -> list[Problem]:
    """A warning on each invoice due before its own date."""
    invoices = book.invoices
    early = map(operator.lt, map(_DUE, invoices), map(_DATE, invoices))  # a large book has 100,000
    return [warning(i.origin.sheet, i.origin.cell("Due Date"),
                    f"due date {i.due_date.isoformat()} is before the invoice date {i.invoice_date.isoformat()}",
                    "correct one of the two dates", i.customer_id)
            for i in compress(invoices, early)]


_DUE, _DATE = operator.attrgetter("due_date"), operator.attrgetter("invoice_date")


def over_applied(book: Book) -> list[Problem]:
    """A warning on each payment row that takes an invoice's applied total past its amount."""
    over = {i.number: i.amount for i in Ledger.from_book(book).overapplied()}
    if not over:
        return []
    by_invoice: dict[str, list[Payment]] = {}
    for payment in book.payments:  # invoice numbers are spelled as on Invoices ('' when not applied)
        if payment.invoice_no in over:
            by_invoice.setdefault(payment.invoice_no, []).append(payment)
    found = []
    for number, payments in by_invoice.items():
        amount = over[number]
        total = Decimal(0)
        for payment in sorted(payments, key=lambda p: (p.date, p.origin.row)):
            before, total = total, total + payment.amount
            excess = total - max(before, amount)
            if excess > 0:
                found.append(warning(
                    payment.origin.sheet, payment.origin.cell("Amount"),
                    f'payments applied to invoice "{number}" reach {total:,.2f}, more than its amount {amount:,.2f}',
                    f"the excess {excess:,.2f} counts as an unapplied credit; "
                    "correct the amount or the invoice number if that is not intended", payment.customer_id))
    return found


def limited_users_have_a_group(book: Book) -> list[Problem]:
    """An error on each Limited user with no group (they would see no customers)."""
    limited = schema.ROLES[-1]
    return [error(u.origin.sheet, u.origin.cell("Group"), f"a {limited} user has no group",
                  "fill in the group this user may see, or choose another role")
            for u in book.users if u.role == limited and not u.group]


VALIDATIONS: tuple[Callable[[Book], list[Problem]], ...] = (
    due_before_invoice_date, over_applied, limited_users_have_a_group,
)
