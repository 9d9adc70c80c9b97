"""The books as of a date (SPEC §3): paid, balance, credits, days overdue, ageing. Pure.

As-of semantics: nothing dated after the as-of date counts. A payment applied to an invoice
counts against it only once both exist; until the invoice's date it is a credit (a prepayment).
The part of the payments applied to an invoice beyond its amount is an unapplied credit, dated
by the payment that crossed the amount. Unapplied credits age in Current.

Speed: customer figures for a date are computed for every customer at once over columns of
whole cents (NumPy; integers add exactly, as Decimal does) and kept for that date, so a run of
5,000 statements or a refresh of 100,000 invoices asks each question once. The per-customer
detail (which invoices, which credits) walks the customer's own rows.
"""

from __future__ import annotations

import datetime as dt
import operator
from bisect import bisect_left
from collections import defaultdict, deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from functools import cached_property
from itertools import count, repeat
from typing import TYPE_CHECKING, Any, NamedTuple

from .model import CREDIT_NOTE, Book, Invoice, Payment
from .money import ZERO, from_cents, to_cents
from .workbook.schema import normalize, normalize_all

if TYPE_CHECKING:
    import numpy as np

_MADE: deque[Ledger] = deque(maxlen=2)  # the ledgers of the last books asked about (Ledger.from_book)
BUCKETS = ("Current", "1–30", "31–60", "61–90", "91+")
# The last day late of each bucket but the last: 0 (not late), 30, 60, 90.
BUCKET_ENDS = (0, 30, 60, 90)


def bucket_index(due_date: dt.date, as_of: dt.date) -> int:
    """0 = Current (due on or after the as-of date), then 1–30, 31–60, 61–90, 91+ days overdue."""
    return bisect_left(BUCKET_ENDS, (as_of - due_date).days)


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
    """Indexes invoices and payments once; answers as-of questions for any date.

    ``invoices`` and ``payments`` are kept as given (tuples); the columns of cents are made on
    first use.
    """

    def __init__(self, invoices: Iterable[Invoice], payments: Iterable[Payment]) -> None:
        self.invoices = tuple(invoices)
        self.payments = tuple(payments)
        self._dates: dict[dt.date, _AsOf] = {}

    @classmethod
    def from_book(cls, book: Book) -> Ledger:
        """The book's ledger, made once per book's invoices and payments (the last few are kept).

        Kept here rather than on the frozen Book: a command asks for it in several places (the
        reader's checks, the plan, the Dashboard), and books that share their invoices and
        payments (``dataclasses.replace``) share it. A kept ledger holds its own invoices and
        payments, so the identity it is found by cannot be reused by other tuples.
        """
        for ledger in _MADE:
            if ledger.invoices is book.invoices and ledger.payments is book.payments:
                return ledger
        ledger = cls(book.invoices, book.payments)
        _MADE.appendleft(ledger)
        return ledger

    @staticmethod
    def forget(book: Book) -> None:
        """Let the kept ledger of ``book`` go, and its records with it: for a door that drops the
        book before a long write (a refresh's 100,000 invoices are ~50 MB held by their ledger)."""
        for ledger in [*_MADE]:
            if ledger.invoices is book.invoices and ledger.payments is book.payments:
                _MADE.remove(ledger)

    @cached_property
    def _rows(self) -> _Rows:
        return _Rows(self.invoices, self.payments)

    @cached_property
    def _columns(self) -> _Columns:
        return _Columns(Columns.of(self.invoices, self.payments))

    def _at(self, as_of: dt.date) -> _AsOf:
        at = self._dates.get(as_of)
        if at is None:
            if len(self._dates) >= 8:  # a run asks about one or two dates: keep a few
                del self._dates[next(iter(self._dates))]
            at = self._dates[as_of] = _AsOf(self._columns, as_of)
        return at

    # --- invoices -------------------------------------------------------------------------

    def invoices_of(self, customer_id: str) -> Sequence[Invoice]:
        return self._rows.invoices.get(normalize(customer_id), ())

    def payments_of(self, customer_id: str) -> Sequence[Payment]:
        """The customer's Payments rows (payments and credit notes), in date order."""
        return self._rows.payments.get(normalize(customer_id), ())

    def _settle(self, invoice: Invoice, as_of: dt.date) -> list[Credit]:
        """The parts of the payments applied to the invoice by ``as_of`` beyond its amount, each
        dated by the payment that crossed it."""
        total = ZERO
        excess: list[Credit] = []
        amount = invoice.amount
        for pay in self._rows.applied.get(invoice.key, ()):
            if pay.date > as_of:
                break
            total += pay.amount
            if total > amount:
                over = total - max(total - pay.amount, amount)
                excess.append(Credit(pay, over, "overpayment"))
        return excess

    def applied(self, invoice: Invoice, as_of: dt.date) -> Decimal:
        """Everything applied to the invoice dated on or before ``as_of`` (may exceed its amount)."""
        return self._at(as_of).applied(invoice.key)

    def item(self, invoice: Invoice, as_of: dt.date) -> OpenItem:
        paid = min(self.applied(invoice, as_of), invoice.amount)
        balance = max(invoice.amount - paid, ZERO)
        late = (as_of - invoice.due_date).days if balance > 0 else 0
        return OpenItem(invoice, paid, balance, max(late, 0))

    def settled(self, invoices: Sequence[Invoice], as_of: dt.date) -> tuple[list[Decimal], list[Decimal]]:
        """Paid and balance as of the date of each invoice, as ``item`` says; computed at once when
        ``invoices`` is the sequence the ledger was made from (``from_book``: the book's)."""
        if invoices is self.invoices:
            return self._at(as_of).settled()
        items = [self.item(i, as_of) for i in invoices]
        return [i.paid for i in items], [i.balance for i in items]

    def settled_cents(self, invoices: Sequence[Invoice], as_of: dt.date) -> tuple[np.ndarray, np.ndarray]:
        """``settled`` in whole cents, as arrays (int64, or Python ints where totals could overflow)."""
        import numpy as np

        if invoices is self.invoices:
            return self._at(as_of).settled_cents()
        paid, balance = self.settled(invoices, as_of)
        return np.array(to_cents(paid), dtype=object), np.array(to_cents(balance), dtype=object)

    def overapplied(self) -> list[Invoice]:
        """Invoices whose applied payments, of any date, add up to more than their amount."""
        import numpy as np

        c = self._columns
        applied = np.zeros(len(c.keys), dtype=c.money)
        linked = c.pay_key >= 0
        np.add.at(applied, c.pay_key[linked], c.pay_cents[linked])
        return [self.invoices[i] for i in np.flatnonzero(applied[c.inv_key] > c.inv_cents).tolist()]

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
        rows = self._rows
        found = [Credit(p, p.amount, "unapplied") for p in rows.unapplied.get(cid, ()) if p.date <= as_of]
        for inv in rows.invoices.get(cid, ()):
            if inv.key not in rows.applied:
                continue
            if inv.invoice_date > as_of:
                found.extend(Credit(p, p.amount, "prepayment") for p in rows.applied[inv.key] if p.date <= as_of)
            else:
                found.extend(self._settle(inv, as_of))
        found.sort(key=lambda c: (c.date, c.payment.origin.row))
        return found

    # --- customers ------------------------------------------------------------------------

    def summary(self, customer_id: str, as_of: dt.date) -> CustomerSummary:
        """The customer's figures as of the date (computed for every customer at once, once a date)."""
        summary = self._at(as_of).summary(normalize(customer_id))
        return summary if summary.customer_id == customer_id else replace(summary, customer_id=customer_id)

    def customer_balance(self, customer_id: str, as_of: dt.date) -> Decimal:
        return self.summary(customer_id, as_of).balance

    def ageing(self, customer_id: str, as_of: dt.date) -> Ageing:
        return self.summary(customer_id, as_of).ageing

    def summaries(self, as_of: dt.date, customer_ids: Iterable[str] | None = None) -> dict[str, CustomerSummary]:
        """Summaries keyed by customer ID as given (default: every customer with invoices or payments)."""
        if customer_ids is None:  # each as first written
            return {s.customer_id: s for s in map(self._at(as_of).summary, self._columns.customers)}
        return {cid: self.summary(cid, as_of) for cid in customer_ids}


class _Rows:
    """The rows of each customer and of each invoice, for the detail of statements and credits."""

    def __init__(self, invoices: Sequence[Invoice], payments: Sequence[Payment]) -> None:
        self.invoices: dict[str, list[Invoice]] = defaultdict(list)
        keys: set[str] = set()
        ids: dict[str, str] = {}  # customer IDs repeat: normalize each spelling once
        for inv in invoices:
            cid = ids.get(inv.customer_id) or ids.setdefault(inv.customer_id, normalize(inv.customer_id))
            self.invoices[cid].append(inv)
            keys.add(inv.key)
        self.applied: dict[str, list[Payment]] = defaultdict(list)
        self.payments: dict[str, list[Payment]] = defaultdict(list)
        self.unapplied: dict[str, list[Payment]] = defaultdict(list)
        for pay, key in zip(payments, _invoice_keys(payments), strict=True):
            cid = ids.get(pay.customer_id) or ids.setdefault(pay.customer_id, normalize(pay.customer_id))
            self.payments[cid].append(pay)
            if key in keys:
                self.applied[key].append(pay)
            else:
                self.unapplied[cid].append(pay)
        for index in (self.applied, self.payments, self.unapplied):
            for rows in index.values():
                rows.sort(key=_date)  # stable: same-day rows keep sheet order


_date = operator.attrgetter("date")


def _invoice_keys(payments: Sequence[Payment]) -> list[str]:
    """The normalized invoice number each payment is applied to ('' for none)."""
    return normalize_all(list(map(operator.attrgetter("invoice_no"), payments)))


class Columns(NamedTuple):
    """What the ledger needs of the invoices and payments, a list per field, aligned with them."""

    invoice_customers: Sequence[str]
    invoice_keys: Sequence[str]  # normalized numbers
    invoice_dates: Sequence[dt.date]
    due_dates: Sequence[dt.date]
    invoice_amounts: Sequence[Decimal]
    payment_customers: Sequence[str]
    payment_keys: Sequence[str]  # the normalized number of the invoice each is applied to ('' for none)
    payment_dates: Sequence[dt.date]
    payment_amounts: Sequence[Decimal]
    payment_types: Sequence[str]

    @classmethod
    def of(cls, invoices: Sequence[Invoice], payments: Sequence[Payment]) -> Columns:
        def get(rows: Sequence[Any], name: str) -> list[Any]:
            return list(map(operator.attrgetter(name), rows))

        return cls(get(invoices, "customer_id"), get(invoices, "key"), get(invoices, "invoice_date"),
                   get(invoices, "due_date"), get(invoices, "amount"), get(payments, "customer_id"),
                   _invoice_keys(payments), get(payments, "date"), get(payments, "amount"),
                   get(payments, "type"))


class _Columns:
    """Invoices and payments as NumPy columns: customer and invoice indexes, day numbers, cents.

    Customers are numbered by normalized ID (``customers``; ``names`` holds each as first
    written, invoices before payments), invoice numbers by normalized
    number (``keys``); a payment whose invoice number is not among the invoices (or blank) has
    invoice index -1: an unapplied credit of its own customer. Money is int64 cents unless a
    total could pass 2**62, then Python integers (object arrays: slower, still exact).
    """

    def __init__(self, given: Columns) -> None:
        import numpy as np

        customers: dict[str, int] = {}  # normalized ID -> index
        names: list[str] = []  # index -> the ID as first written
        ids: dict[str, int] = {}  # each spelling -> index

        def numbered(written: Sequence[str]) -> list[int]:
            for cid in dict.fromkeys(written):  # each spelling once, in sheet order
                if cid not in ids:
                    norm = normalize(cid)
                    if norm not in customers:
                        customers[norm] = len(names)
                        names.append(cid)
                    ids[cid] = customers[norm]
            return list(map(ids.__getitem__, written))

        inv_keys = given.invoice_keys
        keys = dict(zip(inv_keys, count()))
        if len(keys) == len(inv_keys):  # numbers are unique (as the reader makes them)
            inv_key: Iterable[int] = range(len(inv_keys))
        else:
            keys = dict(zip(dict.fromkeys(inv_keys), count()))
            inv_key = map(keys.__getitem__, inv_keys)
        inv_cents = to_cents(given.invoice_amounts)
        pay_cents = to_cents(given.payment_amounts)
        largest = max(abs(max(c, default=0, key=abs)) for c in (inv_cents, pay_cents))
        money = np.int64 if largest * (len(inv_cents) + len(pay_cents) + 1) < 2**62 else object

        def column(values: Iterable[Any], dtype: Any = np.int64) -> np.ndarray:
            return np.fromiter(values, dtype=dtype) if dtype is not object else np.array(list(values), dtype)

        self.inv_customer = column(numbered(given.invoice_customers))
        self.pay_customer = column(numbered(given.payment_customers))
        self.customers = customers
        self.names = names
        self.keys = keys
        self.inv_key = column(inv_key)
        self.inv_date = column(map(dt.date.toordinal, given.invoice_dates))
        self.inv_due = column(map(dt.date.toordinal, given.due_dates))
        self.inv_cents = column(inv_cents, money)
        self.pay_key = column(map(keys.get, given.payment_keys, repeat(-1)))
        self.pay_date = column(map(dt.date.toordinal, given.payment_dates))
        self.pay_cents = column(pay_cents, money)
        self.pay_counts = column(map(CREDIT_NOTE.__ne__, given.payment_types), bool)
        self.money = money


class _AsOf:
    """The books as of one date, for every invoice and customer at once (SPEC §3)."""

    def __init__(self, c: _Columns, as_of: dt.date) -> None:
        import numpy as np

        self.as_of = as_of
        day = as_of.toordinal()
        n = len(c.customers)
        zero = np.zeros(n, dtype=c.money)
        # Applied to each invoice number: the payments dated by the as-of date.
        paid = (c.pay_date <= day) & (c.pay_key >= 0)
        applied = np.zeros(len(c.keys), dtype=c.money)
        np.add.at(applied, c.pay_key[paid], c.pay_cents[paid])
        self._applied = applied.tolist()
        # Invoices dated by then owe amount - applied; applied beyond the amount is a credit.
        on_invoice = self._on_invoice = applied[c.inv_key]
        self._cents = c.inv_cents
        dated = c.inv_date <= day
        owing = dated & (on_invoice < c.inv_cents)
        late = day - c.inv_due
        buckets = np.zeros((n, len(BUCKETS)), dtype=c.money)
        np.add.at(buckets, (c.inv_customer[owing], np.searchsorted(BUCKET_ENDS, late[owing])),
                  (c.inv_cents - on_invoice)[owing])
        credit = zero.copy()
        over = dated & (on_invoice > c.inv_cents)
        np.add.at(credit, c.inv_customer[over], (on_invoice - c.inv_cents)[over])
        ahead = ~dated  # payments applied to an invoice not dated yet: prepayments
        np.add.at(credit, c.inv_customer[ahead], on_invoice[ahead])
        unapplied = (c.pay_date <= day) & (c.pay_key < 0)
        np.add.at(credit, c.pay_customer[unapplied], c.pay_cents[unapplied])
        buckets[:, 0] -= credit
        days = np.zeros(n, dtype=np.int64)
        np.maximum.at(days, c.inv_customer[owing], late[owing])
        last = np.zeros(n, dtype=np.int64)
        payment = (c.pay_date <= day) & c.pay_counts
        np.maximum.at(last, c.pay_customer[payment], c.pay_date[payment])
        self._customers = c.customers
        self._names = c.names
        self._keys = c.keys
        self._buckets = buckets.tolist()
        self._open = np.bincount(c.inv_customer[owing], minlength=n).tolist()
        self._days = days.tolist()
        self._last = last.tolist()
        self._summaries: dict[str, CustomerSummary] = {}

    def settled(self) -> tuple[list[Decimal], list[Decimal]]:
        """Paid (applied, at most the amount) and balance (the rest) of each invoice."""
        paid, balance = self.settled_cents()
        return list(map(from_cents, paid.tolist())), list(map(from_cents, balance.tolist()))

    def settled_cents(self) -> tuple[np.ndarray, np.ndarray]:
        """``settled`` in whole cents."""
        import numpy as np

        paid = np.minimum(self._on_invoice, self._cents)
        return paid, self._cents - paid

    def applied(self, key: str) -> Decimal:
        index = self._keys.get(key)
        return ZERO if index is None else from_cents(self._applied[index])

    def summary(self, cid: str) -> CustomerSummary:
        """The figures of the customer with normalized ID ``cid`` (zeros for one with no rows)."""
        found = self._summaries.get(cid)
        if found is not None:
            return found
        i = self._customers.get(cid)
        if i is None:
            return CustomerSummary(cid, ZERO, ZERO, 0, 0, None, Ageing())
        ageing = Ageing(tuple(map(from_cents, self._buckets[i])))  # type: ignore[arg-type]
        last = self._last[i]
        found = self._summaries[cid] = CustomerSummary(
            customer_id=self._names[i],
            balance=ageing.total,
            overdue_balance=ageing.overdue,
            days_overdue=self._days[i],
            open_invoices=self._open[i],
            last_payment_date=dt.date.fromordinal(last) if last else None,
            ageing=ageing,
        )
        return found
