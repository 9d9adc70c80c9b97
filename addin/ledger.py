"""The books as of a date (SPEC §3): paid, balance, credits, days overdue, ageing. Pure.

As-of semantics: nothing dated after the as-of date counts. A payment applied to an invoice
counts against it only once both exist; until the invoice's date it is a credit (a prepayment).
The part of the payments applied to an invoice beyond its amount is an unapplied credit, dated
by the payment that crossed the amount. Unapplied credits age in Current.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from .model import CREDIT_NOTE, Book, Invoice, Payment
from .money import ZERO
from .workbook.schema import normalize

BUCKETS = ("Current", "1–30", "31–60", "61–90", "91+")


def bucket_index(due_date: dt.date, as_of: dt.date) -> int:
    """0 = Current (due on or after the as-of date), then 1–30, 31–60, 61–90, 91+ days overdue."""
    late = (as_of - due_date).days
    if late <= 0:
        return 0
    if late <= 30:
        return 1
    if late <= 60:
        return 2
    if late <= 90:
        return 3
    return 4


@dataclass(frozen=True)
class Ageing:
    """Balances by ageing bucket (see BUCKETS); ``sum(amounts) == total``."""

    amounts: tuple[Decimal, Decimal, Decimal, Decimal, Decimal] = (ZERO, ZERO, ZERO, ZERO, ZERO)

    @property
    def total(self) -> Decimal:
        return sum(self.amounts, ZERO)

    @property
    def overdue(self) -> Decimal:
        return sum(self.amounts[1:], ZERO)

    def __add__(self, other: Ageing) -> Ageing:
        a, b = self.amounts, other.amounts
        return Ageing((a[0] + b[0], a[1] + b[1], a[2] + b[2], a[3] + b[3], a[4] + b[4]))


@dataclass(frozen=True)
class OpenItem:
    """An invoice as of a date.

    Attributes:
      paid: applied payments and credit notes dated on or before the date, at most the amount.
      balance: amount - paid, never below zero.
      days_overdue: max(0, date - due date) while the balance is above zero, else 0.
    """

    invoice: Invoice
    paid: Decimal
    balance: Decimal
    days_overdue: int


@dataclass(frozen=True)
class Credit:
    """Money the customer has paid that no invoice absorbs (shown negative on statements).

    Attributes:
      payment: the Payments row it comes from.
      amount: the positive amount of credit.
      reason: "unapplied" (no invoice named), "overpayment" (beyond the invoice's amount) or
        "prepayment" (applied to an invoice dated after the as-of date).
    """

    payment: Payment
    amount: Decimal
    reason: str

    @property
    def date(self) -> dt.date:
        return self.payment.date


@dataclass(frozen=True)
class CustomerSummary:
    """A customer's figures as of a date; the computed fields of group rules."""

    customer_id: str
    balance: Decimal
    overdue_balance: Decimal
    days_overdue: int
    open_invoices: int
    last_payment_date: dt.date | None
    ageing: Ageing


class Ledger:
    """Indexes invoices and payments once; answers as-of questions for any date."""

    def __init__(self, invoices: Iterable[Invoice], payments: Iterable[Payment]) -> None:
        self._invoices: dict[str, list[Invoice]] = defaultdict(list)
        self._by_key: dict[str, Invoice] = {}
        ids: dict[str, str] = {}  # customer IDs repeat: normalize each spelling once
        for inv in invoices:
            cid = ids.get(inv.customer_id) or ids.setdefault(inv.customer_id, normalize(inv.customer_id))
            self._invoices[cid].append(inv)
            self._by_key[inv.key] = inv
        self._applied: dict[str, list[Payment]] = defaultdict(list)
        self._payments: dict[str, list[Payment]] = defaultdict(list)
        self._unapplied: dict[str, list[Payment]] = defaultdict(list)
        for pay in payments:
            cid = ids.get(pay.customer_id) or ids.setdefault(pay.customer_id, normalize(pay.customer_id))
            self._payments[cid].append(pay)
            key = normalize(pay.invoice_no) if pay.invoice_no else ""
            if key in self._by_key:
                self._applied[key].append(pay)
            else:
                self._unapplied[cid].append(pay)
        for index in (self._applied, self._payments, self._unapplied):
            for rows in index.values():
                rows.sort(key=lambda p: p.date)  # stable: same-day rows keep sheet order

    @classmethod
    def from_book(cls, book: Book) -> Ledger:
        return cls(book.invoices, book.payments)

    # --- invoices -------------------------------------------------------------------------

    def invoices_of(self, customer_id: str) -> Sequence[Invoice]:
        return self._invoices.get(normalize(customer_id), ())

    def payments_of(self, customer_id: str) -> Sequence[Payment]:
        """The customer's Payments rows (payments and credit notes), in date order."""
        return self._payments.get(normalize(customer_id), ())

    def _settle(self, invoice: Invoice, as_of: dt.date) -> tuple[Decimal, list[Credit]]:
        """What was applied to the invoice by ``as_of``, and the parts beyond its amount (credits)."""
        total = ZERO
        excess: list[Credit] = []
        amount = invoice.amount
        for pay in self._applied.get(invoice.key, ()):
            if pay.date > as_of:
                break
            total += pay.amount
            if total > amount:
                over = total - max(total - pay.amount, amount)
                excess.append(Credit(pay, over, "overpayment"))
        return total, excess

    def applied(self, invoice: Invoice, as_of: dt.date) -> Decimal:
        """Everything applied to the invoice dated on or before ``as_of`` (may exceed its amount)."""
        return self._settle(invoice, as_of)[0]

    def item(self, invoice: Invoice, as_of: dt.date) -> OpenItem:
        paid = min(self.applied(invoice, as_of), invoice.amount)
        balance = max(invoice.amount - paid, ZERO)
        late = (as_of - invoice.due_date).days if balance > 0 else 0
        return OpenItem(invoice, paid, balance, max(late, 0))

    def balance(self, invoice: Invoice, as_of: dt.date) -> Decimal:
        return self.item(invoice, as_of).balance

    def items(self, customer_id: str, as_of: dt.date) -> list[OpenItem]:
        """Every invoice of the customer dated on or before ``as_of``, in date order."""
        invs = sorted(
            (i for i in self.invoices_of(customer_id) if i.invoice_date <= as_of),
            key=lambda i: (i.invoice_date, i.origin.row),
        )
        return [self.item(i, as_of) for i in invs]

    def open_items(self, customer_id: str, as_of: dt.date) -> list[OpenItem]:
        """Invoices dated on or before ``as_of`` with a balance as of then."""
        return [it for it in self.items(customer_id, as_of) if it.balance != 0]

    # --- credits --------------------------------------------------------------------------

    def credits(self, customer_id: str, as_of: dt.date) -> list[Credit]:
        """Unapplied credits dated on or before ``as_of``, in date order."""
        cid = normalize(customer_id)
        found = [Credit(p, p.amount, "unapplied") for p in self._unapplied.get(cid, ()) if p.date <= as_of]
        for inv in self._invoices.get(cid, ()):
            if inv.key not in self._applied:
                continue
            if inv.invoice_date > as_of:
                found.extend(Credit(p, p.amount, "prepayment") for p in self._applied[inv.key] if p.date <= as_of)
            else:
                found.extend(self._settle(inv, as_of)[1])
        found.sort(key=lambda c: (c.date, c.payment.origin.row))
        return found

    # --- customers ------------------------------------------------------------------------

    def summary(self, customer_id: str, as_of: dt.date) -> CustomerSummary:
        """The customer's figures as of the date, in one pass over its rows (hot: keep it lean)."""
        cid = normalize(customer_id)
        buckets = [ZERO, ZERO, ZERO, ZERO, ZERO]
        days = count = 0
        credit = ZERO
        applied_index = self._applied
        for inv in self._invoices.get(cid, ()):
            pays = applied_index.get(inv.key)
            if inv.invoice_date > as_of:
                if pays:
                    credit += sum((p.amount for p in pays if p.date <= as_of), ZERO)  # prepayments
                continue
            applied = ZERO
            if pays:
                applied, excess = self._settle(inv, as_of)
                for c in excess:
                    credit += c.amount
            if applied < inv.amount:
                count += 1
                late = (as_of - inv.due_date).days
                buckets[bucket_index(inv.due_date, as_of)] += inv.amount - applied
                if late > days:
                    days = late
        last = None
        for pay in self._payments.get(cid, ()):
            if pay.date > as_of:
                break
            if pay.type != CREDIT_NOTE:
                last = pay.date
        for pay in self._unapplied.get(cid, ()):
            if pay.date > as_of:
                break
            credit += pay.amount
        buckets[0] -= credit
        ageing = Ageing(tuple(buckets))  # type: ignore[arg-type]
        return CustomerSummary(
            customer_id=customer_id,
            balance=ageing.total,
            overdue_balance=ageing.overdue,
            days_overdue=days,
            open_invoices=count,
            last_payment_date=last,
            ageing=ageing,
        )

    def customer_balance(self, customer_id: str, as_of: dt.date) -> Decimal:
        return self.summary(customer_id, as_of).balance

    def ageing(self, customer_id: str, as_of: dt.date) -> Ageing:
        return self.summary(customer_id, as_of).ageing

    def summaries(self, as_of: dt.date, customer_ids: Iterable[str] | None = None) -> dict[str, CustomerSummary]:
        """Summaries keyed by customer ID as given (default: every customer with invoices or payments)."""
        ids = customer_ids if customer_ids is not None else {
            *(invs[0].customer_id for invs in self._invoices.values() if invs),
            *(pays[0].customer_id for pays in self._payments.values() if pays),
        }
        return {cid: self.summary(cid, as_of) for cid in ids}
