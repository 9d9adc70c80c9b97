"""Statement lines (SPEC §4 Statements): outstanding and activity, credits, split payments, ageing, refusals."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from addin import statements as st
from addin.ledger import Ledger
from addin.model import CREDIT_NOTE, Book, Customer, Invoice, Origin, Payment
from addin.problems import error

D = Decimal
E = dt.date(2026, 5, 31)


def customer(cid: str = "C1", **kw: object) -> Customer:
    values: dict = {"name": "Maple Café", "status": "Active", "emails": ("ap@maple.example",)}
    values.update(kw)
    return Customer(id=cid, origin=Origin("Customers", 2, {"customer id": "A", "email": "D"}), **values)


def invoice(no: str, amount: str, date: dt.date, due: dt.date | None = None, cid: str = "C1", row: int = 2) -> Invoice:
    return Invoice(no, cid, date, due or date + dt.timedelta(days=30), D(amount), origin=Origin("Invoices", row))


def payment(pid: str, amount: str, date: dt.date, invoice_no: str = "", cid: str = "C1", type: str = "Payment",
            row: int = 2, reference: str = "") -> Payment:
    return Payment(pid, cid, date, D(amount), type, invoice_no, reference, origin=Origin("Payments", row))


def book_of(*records: object, customers: tuple[Customer, ...] | None = None, problems: tuple = ()) -> Book:
    return Book(
        customers=customers or (customer(),),
        invoices=tuple(r for r in records if isinstance(r, Invoice)),
        payments=tuple(r for r in records if isinstance(r, Payment)),
        problems=problems,
    )


def make(book: Book, end: dt.date = E, **kw: object) -> st.Statement:
    made = st.build(book, Ledger.from_book(book), "C1", end, **kw)
    assert isinstance(made, st.Statement), made
    return made


# --- outstanding -------------------------------------------------------------------------------------

def test_partly_paid_invoice_shows_paid_and_balance_due():
    book = book_of(invoice("100", "100.00", dt.date(2026, 5, 1)), payment("P1", "40.00", dt.date(2026, 5, 10), "100"))
    s = make(book)
    assert [(ln.number, ln.amount, ln.paid, ln.balance) for ln in s.lines] == [("100", D("100.00"), D("40.00"), D("60.00"))]
    assert s.total == D("60.00")


def test_unapplied_credit_note_is_a_negative_line_and_lowers_the_total():
    book = book_of(invoice("100", "100.00", dt.date(2026, 5, 1)), payment("P1", "40.00", dt.date(2026, 5, 10), "100"),
                   payment("CN1", "25.00", dt.date(2026, 5, 12), type=CREDIT_NOTE, row=3))
    s = make(book)
    credit = s.lines[-1]
    assert (credit.kind, credit.number, credit.amount, credit.balance) == (st.CREDIT_NOTE, "CN1", D("-25.00"), D("-25.00"))
    assert s.total == D("35.00")


def test_paid_invoices_and_later_rows_are_left_out():
    book = book_of(invoice("1", "50.00", dt.date(2026, 4, 1)), payment("P1", "50.00", dt.date(2026, 4, 20), "1"),
                   invoice("2", "70.00", dt.date(2026, 6, 2), row=3), payment("P2", "10.00", dt.date(2026, 6, 1), row=3))
    s = make(book)
    assert s.lines == ()
    assert s.total == D("0.00")


def test_payment_after_the_end_date_does_not_count():
    book = book_of(invoice("1", "80.00", dt.date(2026, 5, 1)), payment("P1", "80.00", dt.date(2026, 6, 1), "1"))
    s = make(book)
    assert [(ln.paid, ln.balance) for ln in s.lines] == [(D("0.00"), D("80.00"))]


def test_overpayment_shows_as_a_credit():
    book = book_of(invoice("1", "80.00", dt.date(2026, 5, 1)), payment("P1", "100.00", dt.date(2026, 5, 3), "1"))
    s = make(book)
    assert [(ln.kind, ln.amount, ln.reference) for ln in s.lines] == [(st.CREDIT, D("-20.00"), "overpayment")]
    assert s.total == D("-20.00")


@pytest.mark.parametrize(("days_late", "bucket"), [
    (0, 0), (-5, 0), (1, 1), (30, 1), (31, 2), (60, 2), (61, 3), (90, 3), (91, 4), (400, 4),
])
def test_ageing_edges_at_30_60_90_days(days_late: int, bucket: int):
    due = E - dt.timedelta(days=days_late)
    book = book_of(invoice("1", "10.00", due - dt.timedelta(days=30), due))
    amounts = make(book).ageing.amounts
    assert amounts[bucket] == D("10.00")
    assert sum(amounts) == D("10.00")


def test_ageing_puts_credits_in_current_and_adds_up_to_the_total():
    book = book_of(invoice("1", "100.00", dt.date(2026, 3, 1), dt.date(2026, 3, 31)),
                   invoice("2", "50.00", dt.date(2026, 5, 20), dt.date(2026, 6, 19), row=3),
                   payment("P9", "30.00", dt.date(2026, 5, 2)))
    s = make(book)
    assert s.ageing.amounts == (D("20.00"), D("0.00"), D("0.00"), D("100.00"), D("0.00"))  # 61 days late
    assert s.ageing.total == s.total == D("120.00")


# --- activity ----------------------------------------------------------------------------------------

def activity_book() -> Book:
    return book_of(
        invoice("1", "100.00", dt.date(2026, 4, 10)),
        invoice("2", "200.00", dt.date(2026, 5, 5), row=3),
        invoice("3", "300.00", dt.date(2026, 5, 6), row=4),
        payment("P1", "100.00", dt.date(2026, 5, 8), "1", row=2, reference="cheque 12"),
        payment("P1", "150.00", dt.date(2026, 5, 8), "2", row=3, reference="cheque 12"),
        payment("CN7", "20.00", dt.date(2026, 5, 9), "3", type=CREDIT_NOTE, row=4),
        payment("P2", "5.00", dt.date(2026, 6, 1), row=5),
    )


def test_activity_opening_running_and_closing_balance():
    s = make(activity_book(), type=st.ACTIVITY)
    assert (s.start, s.end, s.opening) == (dt.date(2026, 5, 1), E, D("100.00"))
    got = [(ln.kind, ln.number, ln.amount, ln.balance) for ln in s.rows()]
    assert got == [
        (st.OPENING, "", D("0.00"), D("100.00")),
        (st.INVOICE, "2", D("200.00"), D("300.00")),
        (st.INVOICE, "3", D("300.00"), D("600.00")),
        (st.PAYMENT, "P1", D("-250.00"), D("350.00")),
        (st.CREDIT_NOTE, "CN7", D("-20.00"), D("330.00")),
        (st.CLOSING, "", D("0.00"), D("330.00")),
    ]
    assert s.total == D("330.00")


def test_a_payment_split_across_invoices_is_one_line():
    s = make(activity_book(), type=st.ACTIVITY)
    payments = [ln for ln in s.lines if ln.kind == st.PAYMENT]
    assert len(payments) == 1
    assert payments[0].reference == "1, 2, cheque 12"


def test_activity_start_can_be_given():
    s = make(activity_book(), type=st.ACTIVITY, start=dt.date(2026, 4, 1))
    assert s.opening == D("0.00")
    assert [ln.number for ln in s.lines] == ["1", "2", "3", "P1", "CN7"]


def test_activity_start_after_end_is_refused():
    book = activity_book()
    made = st.build(book, Ledger.from_book(book), "C1", E, type=st.ACTIVITY, start=dt.date(2026, 6, 5))
    assert str(made) == "the start date 2026-06-05 is after the end date 2026-05-31 — give a start date on or before the end date"


# --- refusals ----------------------------------------------------------------------------------------

def test_no_statement_for_a_customer_whose_rows_have_errors():
    problems = (
        error("Invoices", "E7", '"abc" is not an amount', "type a number", customer_id="C1"),
        error("Payments", "C3", '"31/02" is not a date', "type a date", customer_id="c1"),
        error("Invoices", "E9", "other", customer_id="C2"),
    )
    book = book_of(invoice("1", "10.00", dt.date(2026, 5, 1)), problems=problems)
    made = st.build(book, Ledger.from_book(book), "C1", E)
    assert str(made) == ("Customers!A2: no statement for C1 — Invoices!E7, Payments!C3 have errors"
                         " — correct those cells (see `receivables check`), then run again")


def test_unknown_customer_is_refused():
    book = book_of()
    made = st.build(book, Ledger.from_book(book), "C9", E)
    assert str(made) == 'Customers: no customer "C9" on the Customers sheet — check the Customer ID'


# --- names -------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("cid", "expected"), [
    ("C-001", "Statement-C-001-2026-05-31.pdf"),
    ("../../etc/passwd", "Statement-_.._etc_passwd-2026-05-31.pdf"),
    ("..", "Statement-customer-2026-05-31.pdf"),
    ("A/B\\C:D*?", "Statement-A_B_C_D__-2026-05-31.pdf"),
    ("Café 12", "Statement-Caf__12-2026-05-31.pdf"),
])
def test_file_names_are_safe_whatever_the_customer_id(cid: str, expected: str):
    book = book_of(customers=(customer(cid),))
    made = st.build(book, Ledger.from_book(book), cid, E)
    assert isinstance(made, st.Statement)
    name = st.file_name(made, "pdf")
    assert name == expected
    assert "/" not in name and "\\" not in name


def test_split_addresses():
    assert st.split_addresses(["a@x.example; b@x.example", "c@x.example,a@x.example"]) == (
        "a@x.example", "b@x.example", "c@x.example")
    assert st.split_addresses(None) == ()
