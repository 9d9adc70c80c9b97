"""The books as of a date (SPEC §3), from inline records."""

import datetime as dt
from dataclasses import replace
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from addin.ledger import BUCKETS, Ledger, bucket_index
from addin.model import CREDIT_NOTE, Invoice, Payment
from addin.workbook.schema import normalize

d = dt.date.fromisoformat


def inv(no, amount, date="2026-03-01", due="2026-03-31", customer="C1"):
    return Invoice(no, customer, d(date), d(due), Decimal(amount))


def pay(pid, amount, date, invoice="", customer="C1", type="Payment"):
    return Payment(pid, customer, d(date), Decimal(amount), type, invoice)


def test_partial_payment_leaves_the_rest_due():
    ledger = Ledger([inv("INV-1", "100.00")], [pay("P1", "40.00", "2026-03-10", "INV-1")])
    item = ledger.item(inv("INV-1", "100.00"), d("2026-03-31"))
    assert (item.paid, item.balance) == (Decimal("40.00"), Decimal("60.00"))
    assert ledger.customer_balance("C1", d("2026-03-31")) == Decimal("60.00")


def test_payment_after_the_as_of_date_does_not_count():
    i = inv("INV-1", "100.00")
    ledger = Ledger([i], [pay("P1", "100.00", "2026-04-10", "INV-1")])
    assert ledger.balance(i, d("2026-04-09")) == Decimal("100.00")
    assert ledger.balance(i, d("2026-04-10")) == Decimal("0.00")


def test_invoice_dated_after_the_as_of_date_is_not_owed_yet():
    ledger = Ledger([inv("INV-1", "100.00", date="2026-05-01", due="2026-05-31")], [])
    assert ledger.customer_balance("C1", d("2026-04-30")) == Decimal("0.00")
    assert ledger.open_items("C1", d("2026-04-30")) == []


def test_unapplied_credit_note_reduces_the_customer_balance():
    ledger = Ledger([inv("INV-1", "100.00")], [
        pay("P1", "40.00", "2026-03-10", "INV-1"),
        pay("CN1", "25.00", "2026-03-12", type=CREDIT_NOTE),
    ])
    assert ledger.customer_balance("C1", d("2026-03-31")) == Decimal("35.00")
    [credit] = ledger.credits("C1", d("2026-03-31"))
    assert (credit.amount, credit.reason) == (Decimal("25.00"), "unapplied")


def test_over_application_caps_the_invoice_and_the_excess_is_a_credit():
    i = inv("INV-1", "100.00")
    ledger = Ledger([i, inv("INV-2", "50.00")], [
        pay("P1", "80.00", "2026-03-10", "INV-1"),
        pay("P2", "30.00", "2026-03-11", "INV-1"),
    ])
    item = ledger.item(i, d("2026-03-31"))
    assert (item.paid, item.balance) == (Decimal("100.00"), Decimal("0.00"))
    [credit] = ledger.credits("C1", d("2026-03-31"))
    assert (credit.amount, credit.reason, credit.payment.payment_id) == (Decimal("10.00"), "overpayment", "P2")
    assert ledger.customer_balance("C1", d("2026-03-31")) == Decimal("40.00")


def test_payment_applied_to_a_future_invoice_is_a_prepayment_until_then():
    ledger = Ledger([inv("INV-9", "100.00", date="2026-05-01", due="2026-05-31")],
                    [pay("P1", "30.00", "2026-04-20", "INV-9")])
    assert ledger.customer_balance("C1", d("2026-04-30")) == Decimal("-30.00")
    assert ledger.customer_balance("C1", d("2026-05-01")) == Decimal("70.00")


def test_days_overdue_is_zero_when_paid_and_counts_from_the_due_date():
    i = inv("INV-1", "100.00", due="2026-03-31")
    ledger = Ledger([i], [pay("P1", "100.00", "2026-04-20", "INV-1")])
    assert ledger.item(i, d("2026-03-31")).days_overdue == 0
    assert ledger.item(i, d("2026-04-10")).days_overdue == 10
    assert ledger.item(i, d("2026-04-20")).days_overdue == 0


def test_ageing_bucket_edges_at_30_60_90_days():
    due = d("2026-01-01")
    days = {0: 0, 1: 1, 30: 1, 31: 2, 60: 2, 61: 3, 90: 3, 91: 4}
    for late, expected in days.items():
        assert bucket_index(due, due + dt.timedelta(days=late)) == expected, (late, BUCKETS[expected])
    assert bucket_index(due, due - dt.timedelta(days=5)) == 0


def test_customer_summary_has_the_computed_fields():
    ledger = Ledger(
        [inv("A", "100.00", "2026-01-01", "2026-01-31"), inv("B", "200.00", "2026-03-01", "2026-04-30"),
         inv("C", "50.00", "2026-01-05", "2026-02-04")],
        [pay("P1", "50.00", "2026-02-01", "C"), pay("CN", "10.00", "2026-03-15", type=CREDIT_NOTE)],
    )
    s = ledger.summary("C1", d("2026-03-31"))
    assert s.balance == Decimal("290.00")
    assert s.overdue_balance == Decimal("100.00")
    assert s.days_overdue == 59
    assert s.open_invoices == 2
    assert s.last_payment_date == d("2026-02-01")  # a credit note is not a payment
    assert s.ageing.amounts == (Decimal("190.00"), Decimal("0.00"), Decimal("100.00"), Decimal("0.00"), Decimal("0.00"))


# --- properties --------------------------------------------------------------------------------

START = d("2026-01-01")
days_st = st.integers(min_value=0, max_value=200)
cents_st = st.integers(min_value=1, max_value=500_000).map(lambda c: Decimal(c).scaleb(-2))


@st.composite
def books(draw, invoiced=("C1",), paying=("C1",), amounts=cents_st, due_days=60, unknown=(), invoice_count=6,
          payment_count=8):
    """Invoices and payments of the given customers (as written); payments name an invoice, none,
    or one of ``unknown``."""
    invoices = []
    for n in range(draw(st.integers(0, invoice_count))):
        start = START + dt.timedelta(days=draw(days_st))
        invoices.append(Invoice(f"INV-{n}", draw(st.sampled_from(invoiced)), start,
                                start + dt.timedelta(days=draw(st.integers(0, due_days))), draw(amounts)))
    payments = []
    for n in range(draw(st.integers(0, payment_count))):
        target = draw(st.sampled_from(["", *unknown, *[i.number for i in invoices],
                                       *[i.number.lower() for i in invoices]]))  # spelled otherwise
        payments.append(Payment(f"P{n}", draw(st.sampled_from(paying)), START + dt.timedelta(days=draw(days_st)),
                                draw(amounts), draw(st.sampled_from(["Payment", CREDIT_NOTE])), target))
    return invoices, payments


@settings(max_examples=200, deadline=None)
@given(books(), days_st)
def test_ageing_buckets_always_sum_to_the_balance(book, day):
    invoices, payments = book
    as_of = START + dt.timedelta(days=day)
    s = Ledger(invoices, payments).summary("C1", as_of)
    assert sum(s.ageing.amounts) == s.balance
    expected = sum((i.amount for i in invoices if i.invoice_date <= as_of), Decimal(0)) - sum(
        (p.amount for p in payments if p.date <= as_of), Decimal(0))
    # Balance = what was invoiced minus what was paid, whatever the applications were.
    assert s.balance == expected


@settings(max_examples=200, deadline=None)
@given(books(), days_st)
def test_balance_as_of_a_date_never_counts_a_row_dated_after_it(book, day):
    invoices, payments = book
    as_of = START + dt.timedelta(days=day)
    full = Ledger(invoices, payments).summary("C1", as_of)
    cut = Ledger([i for i in invoices if i.invoice_date <= as_of], [p for p in payments if p.date <= as_of])
    assert cut.summary("C1", as_of) == full


# Two customers (one written two ways), payments applied across them, large amounts too.
shared_books = books(invoiced=("C1", "c1 ", "C2"), paying=("C1", "C2", "C3"), due_days=120, unknown=("INV-404",),
                     amounts=st.one_of(cents_st, st.integers(1, 10**15).map(lambda c: Decimal(c).scaleb(-2))),
                     invoice_count=8, payment_count=10)


@settings(max_examples=300, deadline=None)
@given(shared_books, days_st)
def test_customer_figures_agree_with_the_invoice_and_credit_detail(book, day):
    """Each customer's figures (computed for all at once) equal what its open items and credits add up to."""
    invoices, payments = book
    as_of = START + dt.timedelta(days=day)
    ledger = Ledger(invoices, payments)
    sums = ledger.summaries(as_of)
    written = [r.customer_id for r in (*invoices, *payments)]
    firsts: dict[str, str] = {}
    for c in written:
        firsts.setdefault(normalize(c), c)
    assert list(sums) == list(firsts.values())  # every customer with rows, as first written
    for i in invoices:
        assert ledger.applied(i, as_of) == sum(
            (p.amount for p in payments if normalize(p.invoice_no) == i.key and p.date <= as_of), Decimal(0))
    for cid in ("C1", "C2", "C3", "C9"):
        s = ledger.summary(cid, as_of)
        items = [it for it in ledger.items(cid, as_of) if it.balance > 0]
        credits = ledger.credits(cid, as_of)
        buckets = [Decimal(0)] * len(BUCKETS)
        for it in items:
            buckets[bucket_index(it.invoice.due_date, as_of)] += it.balance
        buckets[0] -= sum((c.amount for c in credits), Decimal(0))
        assert s.customer_id == cid
        assert s.ageing.amounts == tuple(buckets)
        assert s.balance == sum(buckets)
        assert s.open_invoices == len(items)
        assert s.days_overdue == max((it.days_overdue for it in items), default=0)
        paid = [p.date for p in ledger.payments_of(cid) if p.date <= as_of and p.type != CREDIT_NOTE]
        assert s.last_payment_date == max(paid, default=None)
        first = next((c for c in written if normalize(c) == normalize(cid)), None)
        if first is not None:
            assert sums[first] == replace(s, customer_id=first)


def test_a_fraction_of_a_cent_is_refused_not_rounded():
    ledger = Ledger([inv("A", "10.005")], [])
    with pytest.raises(ValueError, match="10.005 is not a whole number of cents"):
        ledger.summary("C1", d("2026-03-31"))


@settings(max_examples=200, deadline=None)
@given(shared_books, days_st)
def test_every_invoice_settled_at_once_is_what_item_says_of_each(book, day):
    invoices, payments = book
    as_of = START + dt.timedelta(days=day)
    ledger = Ledger(invoices, payments)
    paid, balance = ledger.settled(ledger.invoices, as_of)  # the vectors
    assert (paid, balance) == ledger.settled(list(invoices), as_of)  # item by item
    items = [ledger.item(i, as_of) for i in invoices]
    assert paid == [it.paid for it in items]
    assert balance == [it.balance for it in items]
    assert all(str(b) == str(it.balance) for b, it in zip(balance, items, strict=True))  # cents, as Decimal("0.00")


def test_a_number_on_two_invoices_takes_its_payments_on_both():
    """The reader refuses a repeated number; a ledger made from such rows still adds up per row."""
    ledger = Ledger([inv("A-1", "100.00"), inv("a-1 ", "50.00", customer="C2"), inv("B", "10.00")],
                    [pay("P1", "30.00", "2026-03-05", invoice="A-1")])
    as_of = d("2026-03-31")
    assert ledger.summary("C1", as_of).balance == Decimal("80.00")
    assert ledger.summary("C2", as_of).balance == Decimal("20.00")
    assert ledger.settled(ledger.invoices, as_of) == ([Decimal("30.00"), Decimal("30.00"), Decimal("0.00")],
                                                     [Decimal("70.00"), Decimal("20.00"), Decimal("10.00")])


def test_an_invoice_keeps_its_key_when_its_number_changes():
    first = inv(" Inv-7 ", "10.00")
    assert first.key == "inv-7"
    assert first._replace(number="INV 8").key == "inv 8"
    assert first._replace(memo="note").key == "inv-7" and first._replace(memo="note").memo == "note"
    assert first == inv(" Inv-7 ", "10.00") and hash(first) == hash(inv(" Inv-7 ", "10.00"))
