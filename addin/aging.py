"""Aged receivables as of a date: one row per customer, or every open item under it. Pure.

The buckets come from ``ledger.bucket_index`` — the one place that decides them, shared with
statements and the Dashboard.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from .ledger import BUCKETS, Ageing, Ledger, bucket_index
from .model import Book, Customer
from .money import ZERO


@dataclass(frozen=True)
class DetailLine:
    """An open invoice (positive) or an unapplied credit (negative) of a customer."""

    reference: str
    date: dt.date
    due_date: dt.date | None
    days_overdue: int
    amount: Decimal
    bucket: int


@dataclass(frozen=True)
class CustomerRow:
    customer: Customer
    ageing: Ageing
    details: tuple[DetailLine, ...] = ()

    @property
    def total(self) -> Decimal:
        return self.ageing.total


@dataclass(frozen=True)
class AgingReport:
    """Rows sorted by total, largest first, with the totals and each bucket's share of the total."""

    as_of: dt.date
    rows: tuple[CustomerRow, ...]
    totals: Ageing
    group: str = ""

    @property
    def shares(self) -> tuple[Decimal, ...]:
        total = self.totals.total
        if total == 0:
            return tuple(ZERO for _ in BUCKETS)
        return tuple((amount / total).quantize(Decimal("0.0001")) for amount in self.totals.amounts)


def aging_report(book: Book, ledger: Ledger, as_of: dt.date, *, customers: Iterable[Customer] | None = None,
                 detail: bool = False, group: str = "") -> AgingReport:
    rows = []
    totals = Ageing()
    for customer in customers if customers is not None else book.customers:
        summary = ledger.summary(customer.id, as_of)
        if summary.balance == 0 and summary.open_invoices == 0:
            continue
        details: tuple[DetailLine, ...] = ()
        if detail:
            details = tuple(_details(ledger, customer.id, as_of))
        rows.append(CustomerRow(customer, summary.ageing, details))
        totals = totals + summary.ageing
    rows.sort(key=lambda r: (-r.total, r.customer.name.casefold()))
    return AgingReport(as_of, tuple(rows), totals, group)


def _details(ledger: Ledger, customer_id: str, as_of: dt.date) -> list[DetailLine]:
    lines = [
        DetailLine(it.invoice.number, it.invoice.invoice_date, it.invoice.due_date, it.days_overdue, it.balance,
                   bucket_index(it.invoice.due_date, as_of))
        for it in ledger.open_items(customer_id, as_of)
    ]
    lines += [
        DetailLine(c.payment.payment_id, c.date, None, 0, -c.amount, 0)
        for c in ledger.credits(customer_id, as_of)
    ]
    return lines
