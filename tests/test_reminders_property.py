"""Random books run day by day for 90 days against a brute-force oracle of SPEC §4."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from addin.ledger import Ledger
from addin.model import Book, Customer, Invoice, Payment, ReminderStep, Settings
from addin.reminders import decide, manual_key, reminder_key

START = dt.date(2026, 1, 1)
DAYS = 90


def day(n: int) -> dt.date:
    return START + dt.timedelta(days=n)


@st.composite
def customers(draw):
    return [
        Customer(f"C{i}", f"Customer {i}", draw(st.sampled_from(["Active", "Active", "Active", "Inactive"])),
                 (f"c{i}@example.com",) if draw(st.integers(0, 5)) else (),
                 no_reminders=draw(st.integers(0, 4)) == 0,
                 reminders_paused_until=draw(st.none() | st.none() | st.integers(0, 60).map(day)))
        for i in range(draw(st.integers(1, 3)))
    ]


@st.composite
def books(draw):
    custs = draw(customers())
    invoices = []
    for n in range(draw(st.integers(1, 6))):
        issued = draw(st.integers(-20, 60))
        term = draw(st.integers(0, 45))
        invoices.append(Invoice(f"INV-{n}", draw(st.sampled_from(custs)).id, day(issued), day(issued + term),
                                Decimal(draw(st.sampled_from(["100.00", "250.50", "1000.00"])))))
    payments = []
    for n in range(draw(st.integers(0, 5))):
        inv = draw(st.sampled_from(invoices))
        payments.append(Payment(f"P{n}", inv.customer_id, day(draw(st.integers(-10, DAYS))),
                                Decimal(draw(st.sampled_from(["50.00", "100.00", "1000.00"]))),
                                invoice_no=inv.number))
    steps = []
    for number in sorted(draw(st.sets(st.integers(1, 3), min_size=1))):
        steps.append(ReminderStep(number, draw(st.booleans() | st.just(True)), draw(st.integers(0, 30)),
                                  draw(st.sampled_from(["Before", "After"])),
                                  group=draw(st.sampled_from(["", "", "G"]))))
    members = draw(st.sets(st.sampled_from([c.id for c in custs])))
    s = Settings(reminders_enabled=draw(st.booleans() | st.just(True)), catch_up_days=draw(st.integers(0, 10)))
    return Book(settings=s, customers=tuple(custs), invoices=tuple(invoices), payments=tuple(payments),
                reminders=tuple(steps)), frozenset(m.casefold() for m in members)


def oracle(book: Book, members: frozenset[str], sent: dict[str, dt.date], today: dt.date):
    """Brute force, straight from the SPEC's sentence: invoice -> step, and invoices with no address."""
    want: dict[str, int] = {}
    no_address: set[str] = set()
    s = book.settings
    if not s.reminders_enabled:
        return want, no_address
    for inv in book.invoices:
        cust = next(c for c in book.customers if c.id == inv.customer_id)
        paid = sum((p.amount for p in book.payments if p.invoice_no == inv.number and p.date <= today), Decimal(0))
        if inv.invoice_date > today or inv.amount - paid <= 0:
            continue
        if cust.status != "Active" or cust.no_reminders:
            continue
        if cust.reminders_paused_until is not None and cust.reminders_paused_until >= today:
            continue
        mine = {k: v for k, v in sent.items() if k.split(":")[1] == inv.number}
        if today in mine.values():
            continue
        done = {int(k.split(":")[2]) for k in mine if k.startswith("reminder:")}
        ok = []
        for step in book.reminders:
            due = inv.due_date + dt.timedelta(days=step.days if step.when == "After" else -step.days)
            if (step.enabled and due <= today <= due + dt.timedelta(days=s.catch_up_days)
                    and (not step.group or cust.id.casefold() in members)
                    and step.number not in done and all(j <= step.number for j in done)):
                ok.append(step.number)
        if ok:
            if cust.emails:
                want[inv.number] = max(ok)
            else:
                no_address.add(inv.number)
    return want, no_address


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(books(), st.lists(st.integers(0, 2), min_size=DAYS, max_size=DAYS),
       st.lists(st.tuples(st.integers(-20, 30), st.integers(0, 5)), max_size=8))
def test_ninety_days_of_runs_match_the_oracle(case, runs_per_day, manual):
    book, members = case
    ledger = Ledger.from_book(book)
    sent: dict[str, dt.date] = {}
    for n in range(DAYS):
        today = day(n)
        for offset, which in manual:  # a person sends a manual reminder in the morning, near a due date
            inv = book.invoices[which % len(book.invoices)]
            if inv.due_date + dt.timedelta(days=offset) == today:
                sent.setdefault(manual_key(inv.number, today), today)
        for _ in range(runs_per_day[n]):
            want, no_address = oracle(book, members, sent, today)
            decision = decide(book, ledger, book.settings, sent, today, groups={"g": members})
            got = {due.invoice.number: due.step.number for due in decision.due}
            assert got == want, today
            flagged = {p.message.split()[1] for p in decision.problems}
            assert flagged == no_address
            for number, k in got.items():
                key = reminder_key(number, k)
                assert key not in sent
                sent[key] = today
    # every invoice: steps strictly increase over time, never two reminders on one day
    for inv in book.invoices:
        days = sorted((v, k) for k, v in sent.items() if k.split(":")[1] == inv.number)
        assert len({v for v, _ in days}) == len(days)
        steps = [int(k.split(":")[2]) for _, k in days if k.startswith("reminder:")]
        assert steps == sorted(steps) and len(set(steps)) == len(steps)
