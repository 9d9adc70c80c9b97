"""One reminder per customer (SPEC §4 "One reminder per customer"), from inline records: the
grouping, the journal key, what templates see, and what History learns from a grouped key."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from addin.actions import AppendRows, LogEntry, SetCells
from addin.ledger import Ledger
from addin.mail.message import domain_of, message_id
from addin.model import Book, Customer, Invoice, Origin, Payment, ReminderStep, Settings
from addin.problems import error
from addin.reminders import History, decide, group_key, messages, parse_group_key, plan_automatic
from addin.workbook import schema

d = dt.date.fromisoformat
LETTERS = {c.key: chr(ord("A") + i) for i, c in enumerate(schema.INVOICES.columns)}
NOW = dt.datetime(2026, 4, 7, 8, 0, 5)


def customer(cid="C1", **kw) -> Customer:
    kw.setdefault("emails", ("ap@acme.example",))
    return Customer(cid, kw.pop("name", "Acme Ltd"), "Active", contact=kw.pop("contact", "Jane Doe"), **kw)


def invoice(no, due, amount="1000.00", cid="C1", row=2, **kw) -> Invoice:
    return Invoice(no, cid, d(due) - dt.timedelta(days=30), d(due), Decimal(amount),
                   origin=Origin("Invoices", row, LETTERS), **kw)


STEPS = (ReminderStep(1, True, 3, "Before", origin=Origin("Reminders", 2)),
         ReminderStep(2, True, 7, "After", origin=Origin("Reminders", 3)),
         ReminderStep(3, True, 30, "After", origin=Origin("Reminders", 4)))

# On 2026-04-07: INV-1 gets reminder 2 (due 03-31), INV-2 reminder 3 (due 03-08), INV-3 reminder 1
# (due 04-10), all for C1; INV-4 reminder 2 for C2.
INVOICES = (invoice("INV-1", "2026-03-31", row=2), invoice("INV-2", "2026-03-08", "250.00", row=3, memo="Repairs"),
            invoice("INV-3", "2026-04-10", "80.50", row=4), invoice("INV-4", "2026-03-31", cid="C2", row=5))


def book(invoices=INVOICES, customers=None, payments=(), steps=STEPS, problems=(), **settings) -> Book:
    settings.setdefault("reminders_enabled", True)
    settings.setdefault("reminder_grouping", "customer")
    settings.setdefault("company_name", "Maple Books Ltd")
    settings.setdefault("company_email", "billing@maple.example")
    return Book(settings=Settings(**settings),
                customers=tuple(customers or (customer(), customer("C2", name="Bolt Inc", emails=("pay@bolt.example",)))),
                invoices=tuple(invoices), payments=tuple(payments), reminders=tuple(steps), problems=tuple(problems))


def plan(b: Book, day="2026-04-07", history=(), **kw):
    return plan_automatic(b, Ledger.from_book(b), history, d(day), now=NOW, **kw)


def test_invoices_due_are_grouped_per_customer_most_overdue_first():
    b = book()
    decision = decide(b, Ledger.from_book(b), b.settings, (), d("2026-04-07"))
    assert [[(x.invoice.number, x.step.number) for x in m.dues] for m in messages(decision)] == [
        [("INV-2", 3), ("INV-1", 2), ("INV-3", 1)], [("INV-4", 2)]]
    assert [m.step.number for m in messages(decision)] == [3, 2]


def test_the_grouped_message_its_key_updates_and_log_rows():
    b = book(payments=[Payment("P1", "C1", d("2026-04-01"), Decimal("400.00"), invoice_no="INV-1")])
    p = plan(b)
    first, second = p.emails
    assert first.key == "reminders:C1:2026-04-07:INV-2=3,INV-1=2,INV-3=1"
    assert second.key == "reminders:C2:2026-04-07:INV-4=2"
    assert first.to == ("ap@acme.example",)
    assert first.subject == "Reminder: 3 invoices due, $930.50 in total"
    assert first.text.startswith("Dear Jane Doe,\n\nThis is a reminder about the 3 invoices listed below, for a "
                                 "total of $930.50. The oldest, invoice INV-2, is 30 days past due. A copy of each "
                                 "invoice is attached for your reference.")
    assert first.text.endswith(
        "Invoice INV-2 (Repairs) — dated Feb 6, 2026, due Mar 8, 2026, amount $250.00, balance $250.00, "
        "30 days overdue\n"
        "Invoice INV-1 — dated Mar 1, 2026, due Mar 31, 2026, amount $1,000.00, balance $600.00, 7 days overdue\n"
        "Invoice INV-3 — dated Mar 11, 2026, due Apr 10, 2026, amount $80.50, balance $80.50, not yet overdue\n"
        "Total balance due: $930.50")
    assert first.html.index(">INV-2</td>") < first.html.index(">INV-1</td>") < first.html.index("<p>Dear Jane Doe,</p>")
    assert [a.filename for a in first.attachments] == ["Invoice-INV-2.pdf", "Invoice-INV-1.pdf", "Invoice-INV-3.pdf"]
    assert all(a.content.startswith(b"%PDF-") for a in first.attachments)
    mid = message_id(first.key, domain_of(b.settings))
    assert first.log == LogEntry("reminder 3", "INV-2", "C1 · balance $250.00 · one message with INV-1, INV-3")
    assert first.on_sent == (
        SetCells("Invoices", "Invoice No", "INV-2", (("Status", "Reminder 3 sent 2026-04-07"),
                                                     ("Last Reminder", d("2026-04-07")), ("Paid", 0.0),
                                                     ("Balance", 250.0))),
        SetCells("Invoices", "Invoice No", "INV-1", (("Status", "Reminder 2 sent 2026-04-07"),
                                                     ("Last Reminder", d("2026-04-07")), ("Paid", 400.0),
                                                     ("Balance", 600.0))),
        SetCells("Invoices", "Invoice No", "INV-3", (("Status", "Reminder 1 sent 2026-04-07"),
                                                     ("Last Reminder", d("2026-04-07")), ("Paid", 0.0),
                                                     ("Balance", 80.5))),
        AppendRows("Log", (
            (("Time", NOW), ("Action", "reminder 2"), ("Target", "INV-1"), ("Recipients", "ap@acme.example"),
             ("Status", "sent"), ("Message ID", mid), ("Detail", "C1 · balance $600.00 · one message with INV-2, INV-3")),
            (("Time", NOW), ("Action", "reminder 1"), ("Target", "INV-3"), ("Recipients", "ap@acme.example"),
             ("Status", "sent"), ("Message ID", mid), ("Detail", "C1 · balance $80.50 · one message with INV-2, INV-1")),
        )),
    )
    assert p.lines == (
        "customer C1 Acme Ltd: one message to ap@acme.example — 3 invoices, reminder 3's texts",
        "    INV-2: reminder 3, balance $250.00, 30 days overdue",
        "    INV-1: reminder 2, balance $600.00, 7 days overdue",
        "    INV-3: reminder 1, balance $80.50, due 2026-04-10",
        "customer C2 Bolt Inc: one message to pay@bolt.example — 1 invoice, reminder 2's texts",
        "    INV-4: reminder 2, balance $1,000.00, 7 days overdue",
    )


def test_a_message_of_one_invoice_reads_as_a_reminder_for_it_alone():
    [_, email] = plan(book()).emails
    assert email.subject == "Reminder: invoice INV-4 is past due"
    assert email.text.startswith("Dear Jane Doe,\n\nThis is a reminder about invoice INV-4, dated Mar 1, 2026 and due "
                                 "on Mar 31, 2026, now 7 days past due. The balance due is $1,000.00. A copy of the "
                                 "invoice is attached for your reference.")
    assert "If there is any question about this invoice," in email.text
    assert email.text.endswith("Invoice No: INV-4\nInvoice date: Mar 1, 2026\nDue date: Mar 31, 2026\n"
                               "Amount: $1,000.00\nPaid: $0.00\nBalance due: $1,000.00")


def test_french_grouped_message():
    b = book(customers=(customer(language="fr", contact="Marie Roy"), customer("C2")))
    email = plan(b).emails[0]
    assert email.subject == "Rappel : 3 factures à régler, 1 330,50 $ au total"
    assert email.text.startswith("Bonjour Marie Roy,\n\nNous vous rappelons les 3 factures ci-dessous, pour un total "
                                 "de 1 330,50 $. La plus ancienne, la facture INV-2, présente un retard de 30 jours. "
                                 "Vous trouverez chacune des factures en pièce jointe.")
    assert "Facture INV-3 — du 11 mars 2026, échéance 10 avr. 2026, montant 80,50 $, solde 80,50 $, " \
           "pas encore échue\nSolde dû total : 1 330,50 $" in email.text


def test_invoices_with_their_own_email_go_in_a_message_of_their_own():
    invoices = (*INVOICES[:2], INVOICES[2]._replace(emails=("projects@acme.example",)))
    keys = [(e.key, e.to) for e in plan(book(invoices=invoices)).emails]
    assert keys == [("reminders:C1:2026-04-07:INV-2=3,INV-1=2", ("ap@acme.example",)),
                    ("reminders:C1:2026-04-07:INV-3=1", ("projects@acme.example",))]


def test_templates_see_the_invoices_the_step_and_the_customer_balances():
    text = ("{{ step }} {{ invoices|length }} {{ invoice.number }} {{ customer.balance }} "
            "{{ customer.overdue_balance }} {% for i in invoices %}{{ i.number }}={{ i.days_overdue }} {% endfor %}")
    steps = (*STEPS[:2], ReminderStep(3, True, 30, "After", subject="{{ invoices|length }} for {{ customer.name }}",
                                      message=text, greeting=False, origin=Origin("Reminders", 4)))
    extra = invoice("INV-9", "2026-04-30", "5.00")  # not due: in the balance, not in the message
    email = plan(book(invoices=(*INVOICES, extra), steps=steps)).emails[0]
    assert email.subject == "3 for Acme Ltd"
    assert email.text.startswith("3 3 INV-2 $1,335.50 $1,250.00 INV-2=30 INV-1=7 INV-3=0")


def test_a_faulty_text_is_reported_once_and_nothing_is_sent_for_that_customer():
    steps = (*STEPS[:2], ReminderStep(3, True, 30, "After", message="{{ nope }}", origin=Origin("Reminders", 4)))
    p = plan(book(steps=steps))
    assert [e.key for e in p.emails] == ["reminders:C2:2026-04-07:INV-4=2"]
    assert p.problems == (error("Reminders", "A4", "the text uses an unknown placeholder ('nope' is undefined)",
                                "correct the text: placeholders are written {{ customer.name }}, see the README "
                                "for the list"),)
    assert "customer C1: reminder message (INV-2, INV-1, INV-3) NOT sent — its text has an error (see below)" in p.lines


def test_an_invoice_held_for_errors_is_left_out_and_reported_as_today():
    bad = error("Invoices", "D3", "due date is not a date", "type a date", "C1")
    p = plan(book(problems=[bad]))
    assert [e.key for e in p.emails] == ["reminders:C1:2026-04-07:INV-1=2,INV-3=1", "reminders:C2:2026-04-07:INV-4=2"]
    [held] = p.problems
    assert str(held) == ("Invoices!A3: invoice INV-2: reminder 3 not sent — Invoices!D3 has an error — correct those "
                         "cells (see `receivables check`), then run again")


def test_history_learns_every_invoice_step_from_the_grouped_key():
    key = "reminders:C1:2026-04-07:INV-2=3,INV-1=2,INV-3=1"
    h = History.of({key: d("2026-04-07")})
    assert h.steps == {"inv-2": frozenset({3}), "inv-1": frozenset({2}), "inv-3": frozenset({1})}
    assert h.days["inv-1"] == frozenset({d("2026-04-07")})
    assert h.messages == {"c1": frozenset({d("2026-04-07")})}
    assert History.of([key]).steps == h.steps  # the day is in the key


@pytest.mark.parametrize("number", ["A:1", "B,2", "C=3", "D%4", " e f "])
def test_grouped_keys_carry_any_invoice_number(number):
    key = group_key("C:1", d("2026-04-07"), [(number, 2), ("X", 1)])
    assert parse_group_key(key) == ("C:1", d("2026-04-07"), ((number.strip(), 2), ("X", 1)))


def test_a_rerun_the_same_day_sends_nothing_and_a_new_invoice_waits_for_the_next_day():
    sent = {e.key: d("2026-04-07") for e in plan(book(), attach_pdf=False).emails}
    assert plan(book(), history=sent, attach_pdf=False).emails == ()
    late = invoice("INV-5", "2026-03-31", "42.00", row=6)  # typed in after the morning run
    p = plan(book(invoices=(*INVOICES, late)), history=sent, attach_pdf=False)
    assert p.emails == ()
    assert p.lines == ("customer C1: INV-5 waits — the customer already got a reminder message on 2026-04-07 "
                       "(one a day); it goes at the next run on another day",)
    [email] = plan(book(invoices=(*INVOICES, late)), "2026-04-08", history=sent, attach_pdf=False).emails
    assert email.key == "reminders:C1:2026-04-08:INV-5=2"


def test_invoice_grouping_is_the_default_and_sends_one_reminder_per_invoice():
    b = book(reminder_grouping="invoice")
    default = Book(**{**b.__dict__, "settings": Settings(reminders_enabled=True, company_name="Maple Books Ltd",
                                                          company_email="billing@maple.example")})
    assert Settings().reminder_grouping == "invoice"
    keys = [e.key for e in plan(b, attach_pdf=False).emails]
    assert keys == ["reminder:INV-1:2", "reminder:INV-2:3", "reminder:INV-3:1", "reminder:INV-4:2"]
    assert plan(default, attach_pdf=False) == plan(b, attach_pdf=False)


def test_check_knows_the_placeholders_of_grouped_messages_only_when_grouping_is_on():
    from addin.reminders import check

    text = "{{ invoices|length }} invoices, {{ customer.overdue_balance }} overdue (step {{ step }})"
    steps = (ReminderStep(1, True, 3, "Before", message=text, origin=Origin("Reminders", 2)),)
    assert check(book(steps=steps)) == []
    [problem] = check(book(steps=steps, reminder_grouping="invoice"))
    assert problem.message == "the text uses an unknown placeholder ('invoices' is undefined)"
