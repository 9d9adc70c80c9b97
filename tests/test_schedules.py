"""Monthly statement schedules (SPEC §4 Monthly schedules): run dates, periods, catch-up, exactly once."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from addin import schedules as sc
from addin import statements as st
from addin.actions import SetCells
from addin.ledger import Ledger
from addin.model import Book, Customer, Group, Invoice, Member, Origin, Schedule, Settings
from addin.problems import error

D = Decimal
day = dt.date


def customer(cid: str, **kw: object) -> Customer:
    values: dict = {"name": f"Customer {cid}", "status": "Active", "emails": (f"{cid.lower()}@x.example",)}
    values.update(kw)
    return Customer(id=cid, origin=Origin("Customers", 2, {"customer id": "A", "email": "D"}), **values)


def schedule(cid: str = "C1", group: str = "", d: int = 1, **kw: object) -> Schedule:
    return Schedule(customer_id=cid, group=group, enabled=kw.pop("enabled", True), day=d,
                    origin=Origin("Statement Schedules", 2, {"customer id": "A", "group": "B", "day": "D",
                                                             "subject": "H", "message": "I"}), **kw)


def book_of(*schedules: Schedule, customers: tuple[Customer, ...] = (), invoices: tuple[Invoice, ...] = (),
            **kw: object) -> Book:
    customers = customers or (customer("C1"), customer("C2"))
    if not invoices:
        invoices = tuple(Invoice(f"I-{c.id}", c.id, day(2026, 1, 5), day(2026, 2, 4), D("100.00")) for c in customers)
    return Book(settings=kw.pop("settings", Settings(company_name="Maple", company_email="billing@maple.example")),
                customers=customers, invoices=invoices, schedules=schedules, **kw)


def due(book: Book, as_of: dt.date, sent: set[str] | None = None) -> list[st.Mail]:
    mails, problems, _ = sc.mails_due(book, Ledger.from_book(book), sent or set(), as_of)
    assert not problems, problems
    return mails


# --- run dates and periods -----------------------------------------------------------------------------

@pytest.mark.parametrize(("d", "run", "start", "end"), [
    (1, day(2026, 6, 1), day(2026, 5, 1), day(2026, 5, 31)),            # the previous calendar month
    (1, day(2026, 3, 1), day(2026, 2, 1), day(2026, 2, 28)),
    (1, day(2026, 1, 1), day(2025, 12, 1), day(2025, 12, 31)),
    (10, day(2026, 6, 10), day(2026, 5, 10), day(2026, 6, 9)),
    (31, day(2026, 2, 28), day(2026, 1, 31), day(2026, 2, 27)),
    (31, day(2026, 3, 31), day(2026, 2, 28), day(2026, 3, 30)),
    (30, day(2026, 3, 30), day(2026, 2, 28), day(2026, 3, 29)),
    (29, day(2028, 2, 29), day(2028, 1, 29), day(2028, 2, 28)),          # leap year
])
def test_run_date_and_period(d: int, run: dt.date, start: dt.date, end: dt.date):
    assert sc.run_date(run.year, run.month, d) == run
    assert sc.period(run, d) == (start, end)


def test_day_31_runs_on_the_last_day_of_february():
    assert sc.run_date(2026, 2, 31) == day(2026, 2, 28)
    assert sc.due_runs(31, day(2026, 2, 28), 0) == [day(2026, 2, 28)]
    assert sc.due_runs(31, day(2026, 2, 27), 0) == []


def test_due_runs_with_catch_up_window_inclusive():
    assert sc.due_runs(10, day(2026, 6, 9), 7) == []
    assert sc.due_runs(10, day(2026, 6, 10), 7) == [day(2026, 6, 10)]
    assert sc.due_runs(10, day(2026, 6, 17), 7) == [day(2026, 6, 10)]
    assert sc.due_runs(10, day(2026, 6, 18), 7) == []
    assert sc.due_runs(1, day(2026, 3, 5), 40) == [day(2026, 2, 1), day(2026, 3, 1)]


# --- what goes out --------------------------------------------------------------------------------------

def test_outstanding_schedule_is_as_of_the_day_before_the_run():
    mails = due(book_of(schedule("C1", d=10)), day(2026, 6, 10))
    assert [m.key for m in mails] == ["statement:C1:2026-05-10..2026-06-09"]
    s = mails[0].statement
    assert (s.type, s.end, s.total) == (st.OUTSTANDING, day(2026, 6, 9), D("100.00"))
    assert mails[0].on_sent == (SetCells("Statement Schedules", "Customer ID", "C1", (("Last Sent", day(2026, 6, 10)),)),)
    assert mails[0].to == ("c1@x.example",)


def test_activity_schedule_covers_the_period():
    mails = due(book_of(schedule("C1", d=1, type="Activity")), day(2026, 2, 1))
    s = mails[0].statement
    assert (s.type, s.start, s.end, s.opening, s.total) == (st.ACTIVITY, day(2026, 1, 1), day(2026, 1, 31),
                                                            D("0.00"), D("100.00"))


def test_nothing_before_the_run_date():
    assert due(book_of(schedule("C1", d=10)), day(2026, 6, 9)) == []


def test_exclude_zero_balance_skips_and_can_be_turned_off():
    zero = (Invoice("Z", "C1", day(2026, 1, 5), day(2026, 2, 4), D("0.00")),)
    book = book_of(schedule("C1", d=1), invoices=zero)
    mails, _, lines = sc.mails_due(book, Ledger.from_book(book), set(), day(2026, 3, 1))
    assert mails == []
    assert lines == ["skipped C1: zero balance on 2026-02-28 (Exclude Zero Balance)"]
    assert len(due(book_of(schedule("C1", d=1, exclude_zero_balance=False), invoices=zero), day(2026, 3, 1))) == 1


def test_a_paused_schedule_sends_nothing():
    assert due(book_of(schedule("C1", d=1, enabled=False)), day(2026, 3, 1)) == []


def test_a_missed_run_goes_out_later_keeping_its_period_until_the_window_closes():
    book = book_of(schedule("C1", d=10))
    assert [m.key for m in due(book, day(2026, 6, 17))] == ["statement:C1:2026-05-10..2026-06-09"]
    assert due(book, day(2026, 6, 18)) == []  # catch_up_days = 7: 2026-06-17 was the last day
    later = book_of(schedule("C1", d=10), settings=Settings(catch_up_days=0))
    assert due(later, day(2026, 6, 11)) == []


def test_exactly_once_per_customer_and_period():
    book = book_of(schedule("C1", d=10), schedule("C1", d=10, type="Activity"))
    first = due(book, day(2026, 6, 10))
    assert [m.key for m in first] == ["statement:C1:2026-05-10..2026-06-09"]  # the second row: same key, not twice
    assert due(book, day(2026, 6, 12), {m.key for m in first}) == []


def test_group_schedule_sends_one_statement_per_member():
    group = Group("Monthly")
    members = (Member("Monthly", "C1", source="Added"), Member("Monthly", "C2", source="Added"))
    book = book_of(schedule("", group="Monthly", d=1, to=("boss@x.example",)), groups=(group,), members=members)
    mails = due(book, day(2026, 3, 1))
    assert [(m.key, m.to) for m in mails] == [
        ("statement:C1:2026-02-01..2026-02-28", ("boss@x.example",)),
        ("statement:C2:2026-02-01..2026-02-28", ("boss@x.example",)),
    ]
    assert mails[0].on_sent[0].key_header == "Group" and mails[0].on_sent[0].key == "Monthly"


def test_statement_email_then_email_as_recipients():
    custs = (customer("C1", statement_emails=("ar@c1.example",)), customer("C2"))
    book = book_of(schedule("C1", d=1), schedule("C2", d=1), customers=custs)
    assert [m.to for m in due(book, day(2026, 3, 1))] == [("ar@c1.example",), ("c2@x.example",)]


def test_blocked_customer_is_reported_and_not_sent():
    problems = (error("Invoices", "E3", '"x" is not an amount', customer_id="C2"),)
    book = book_of(schedule("C1", d=1), schedule("C2", d=1), problems=problems)
    mails, found, _ = sc.mails_due(book, Ledger.from_book(book), set(), day(2026, 3, 1))
    assert [m.statement.customer.id for m in mails] == ["C1"]
    assert [str(p) for p in found] == ["Customers!A2: no statement for C2 — Invoices!E3 has an error"
                                       " — correct those cells (see `receivables check`), then run again"]


def test_schedule_rows_are_checked():
    book = book_of(schedule("", d=1), schedule("C9", d=1), schedule("C1", d=40),
                   schedule("C1", d=1, message="Hi {{ customer.name"))
    found = [str(p) for p in sc.check(book)]
    assert found[:3] == [
        "'Statement Schedules'!A2: the schedule has neither a Customer ID nor a Group — fill in one of the two: "
        "Customer ID for one customer, Group for every member",
        "'Statement Schedules'!A2: no customer \"C9\" on the Customers sheet — check the Customer ID",
        "'Statement Schedules'!D2: day 40 is not a day of the month — type a day from 1 to 31 (31 = the last day of every month)",
    ]
    assert found[3].startswith("'Statement Schedules'!I2: the text has a template error")
    assert len(found) == 4


def test_plan_scheduled_attaches_pdf_and_csv_and_renders_texts():
    book = book_of(schedule("C1", d=1, attach_csv=True, subject="Statement {{ statement.end_date }}",
                            cc=("cc@x.example",)))
    plan = sc.plan_scheduled(book, Ledger.from_book(book), set(), day(2026, 3, 1))
    assert not plan.problems
    (email,) = plan.emails
    assert email.subject == "Statement Feb 28, 2026"
    assert email.cc == ("cc@x.example",)
    assert [(a.filename, a.mime) for a in email.attachments] == [
        ("Statement-C1-2026-02-28.pdf", "application/pdf"), ("Statement-C1-2026-02-28.csv", "text/csv")]
    assert email.attachments[0].content.startswith(b"%PDF-")
    assert "The balance due is $100.00." in email.text
    assert email.log is not None and email.log.target == "C1"


def test_a_template_error_in_the_schedule_message_is_reported_with_its_cell():
    book = book_of(schedule("C1", d=1, message="Hello {{ customer.nickname }}"))
    plan = sc.plan_scheduled(book, Ledger.from_book(book), set(), day(2026, 3, 1))
    assert plan.emails == ()
    assert str(plan.problems[0]).startswith("'Statement Schedules'!I2: the text uses an unknown placeholder")
