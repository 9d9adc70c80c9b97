"""Automatic and manual invoice reminders (SPEC §4), from inline records."""

from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import Decimal

import pytest

from addin.actions import LogEntry, SetCells
from addin.ledger import Ledger
from addin.model import Book, Customer, Group, Invoice, Origin, Payment, ReminderStep, Settings
from addin.problems import error
from addin.reminders import (
    History,
    check,
    decide,
    manual_key,
    parse_group_key,
    plan_automatic,
    plan_manual,
    reminder_key,
    safe_filename,
)
from addin.workbook import schema

d = dt.date.fromisoformat


def letters(sheet: schema.Sheet) -> dict[str, str]:
    """Header key -> column letter, in the template's column order (as the reader gives them)."""
    return {c.key: chr(ord("A") + i) for i, c in enumerate(sheet.columns)}


INV_LETTERS, CUST_LETTERS, REM_LETTERS = letters(schema.INVOICES), letters(schema.CUSTOMERS), letters(schema.REMINDERS)


def customer(cid="C1", row=2, **kw) -> Customer:
    kw.setdefault("emails", ("ap@acme.example",))
    return Customer(cid, kw.pop("name", "Acme Ltd"), kw.pop("status", "Active"),
                    origin=Origin("Customers", row, CUST_LETTERS), **kw)


def invoice(no="INV-1", amount="1000.00", date="2026-03-01", due="2026-03-31", cid="C1", row=2, **kw) -> Invoice:
    return Invoice(no, cid, d(date), d(due), Decimal(amount), origin=Origin("Invoices", row, INV_LETTERS), **kw)


def pay(amount, date, invoice_no="INV-1", cid="C1", pid="P1") -> Payment:
    return Payment(pid, cid, d(date), Decimal(amount), invoice_no=invoice_no)


def step(n, days, when, enabled=True, **kw) -> ReminderStep:
    return ReminderStep(n, enabled, days, when, origin=Origin("Reminders", n + 1, REM_LETTERS), **kw)


SPEC_STEPS = (step(1, 3, "Before"), step(2, 7, "After"), step(3, 30, "After"))


def book(invoices=None, customers=None, payments=(), steps=SPEC_STEPS, problems=(), groups=(), **settings) -> Book:
    settings.setdefault("reminders_enabled", True)
    settings.setdefault("company_name", "Maple Books Ltd")
    settings.setdefault("company_email", "billing@maple.example")
    return Book(
        settings=Settings(**settings),
        customers=tuple(customers if customers is not None else [customer()]),
        invoices=tuple(invoices if invoices is not None else [invoice()]),
        payments=tuple(payments),
        reminders=tuple(steps),
        problems=tuple(problems),
        groups=tuple(groups),
    )


def sent_on(b: Book, day: str, history=(), **kw) -> list[tuple[str, int]]:
    """(invoice, step) pairs the automatic run of ``day`` sends."""
    decision = decide(b, Ledger.from_book(b), b.settings, history, d(day), **kw)
    return [(due.invoice.number, due.step.number) for due in decision.due]


class Journal:
    """A stand-in for the send journal: keys -> day sent."""

    def __init__(self) -> None:
        self.sent: dict[str, dt.date] = {}

    def run(self, b: Book, day: str, **kw) -> list[tuple[str, int]]:
        plan = plan_automatic(b, Ledger.from_book(b), self.sent, d(day), attach_pdf=False, **kw)
        for email in plan.emails:
            self.sent.setdefault(email.key, d(day))
        return [pair for e in plan.emails for pair in pairs(e.key)]


def pairs(key: str) -> list[tuple[str, int]]:
    """(invoice, step) pairs a journal key reminds: ``reminder:INV-1:2`` or a grouped key."""
    grouped = parse_group_key(key)
    if grouped is not None:
        return list(grouped[2])
    return [(key.split(":")[1], int(key.split(":")[2]))]


GROUPINGS = pytest.mark.parametrize("grouping", ["invoice", "customer"])


# --- the worked example of SPEC §4, word for word -----------------------------------------------

@GROUPINGS
def test_spec_worked_example_day_by_day(grouping):
    j = Journal()
    b = book(reminder_grouping=grouping)
    assert j.run(b, "2026-03-27") == []
    assert j.run(b, "2026-03-28") == [("INV-1", 1)]
    assert j.run(b, "2026-03-28") == []
    assert j.run(b, "2026-04-07") == [("INV-1", 2)]
    paid = book(payments=[pay("1000.00", "2026-04-10")], reminder_grouping=grouping)
    assert j.run(paid, "2026-04-30") == []


@GROUPINGS
def test_spec_worked_example_unpaid_gets_reminder_3_on_2026_04_30(grouping):
    j = Journal()
    b = book(reminder_grouping=grouping)
    for day in ("2026-03-28", "2026-04-07"):
        j.run(b, day)
    assert j.run(b, "2026-04-30") == [("INV-1", 3)]


@GROUPINGS
def test_spec_catch_up_after_no_run_sends_reminder_2_only(grouping):
    b = book(reminder_grouping=grouping)
    decision = decide(b, Ledger.from_book(b), b.settings, (), d("2026-04-08"))
    assert [(x.step.number, x.passed_over) for x in decision.due] == [(2, ())]
    assert decision.skipped == ()  # reminder 1's window closed on 2026-04-04
    assert Journal().run(b, "2026-04-08") == [("INV-1", 2)]


@GROUPINGS
def test_spec_catch_up_with_reminder_1_three_days_after_records_reminder_1_as_skipped(grouping):
    b = book(steps=(step(1, 3, "After"), step(2, 7, "After"), step(3, 30, "After")), reminder_grouping=grouping)
    plan = plan_automatic(b, Ledger.from_book(b), (), d("2026-04-08"), attach_pdf=False)
    [email] = plan.emails
    assert email.key == {"invoice": "reminder:INV-1:2", "customer": "reminders:C1:2026-04-08:INV-1=2"}[grouping]
    assert plan.logs == (LogEntry("reminder 1", "INV-1", "passed over: reminder 2 is sent instead (catch-up)",
                                  status="skipped"),)
    # and reminder 1 never comes later: a higher step was sent
    assert sent_on(b, "2026-04-09", {email.key: d("2026-04-08")}) == []


# --- windows and history ------------------------------------------------------------------------

def test_reminder_goes_out_on_the_last_day_of_its_catch_up_window_and_not_after():
    b = book(catch_up_days=7)
    assert sent_on(b, "2026-04-04") == [("INV-1", 1)]  # due 2026-03-28 + 7
    b2 = book(steps=(step(1, 3, "Before"),))
    assert sent_on(b2, "2026-04-05") == []


def test_catch_up_zero_sends_only_on_the_day():
    b = book(catch_up_days=0, steps=(step(1, 3, "Before"),))
    assert sent_on(b, "2026-03-28") == [("INV-1", 1)]
    assert sent_on(b, "2026-03-29") == []


def test_zero_days_after_is_due_on_the_due_date():
    b = book(steps=(step(1, 0, "After"),))
    assert sent_on(b, "2026-03-30") == []
    assert sent_on(b, "2026-03-31") == [("INV-1", 1)]


def test_a_step_already_sent_is_never_sent_again():
    assert sent_on(book(), "2026-03-29", {"reminder:INV-1:1"}) == []


def test_a_lower_step_is_not_sent_after_a_higher_one():
    # reminder 2 sent by hand-made history; reminder 1's window is open: nothing
    assert sent_on(book(), "2026-03-29", {"reminder:INV-1:2"}) == []


def test_history_keys_match_invoice_numbers_ignoring_case_and_spaces():
    assert sent_on(book(), "2026-03-29", {"reminder: inv-1 :1"}) == []


def test_disabled_step_is_not_sent_but_a_later_enabled_one_is():
    b = book(steps=(step(1, 3, "Before", enabled=False), step(2, 7, "After")))
    assert sent_on(b, "2026-03-28") == []
    assert sent_on(b, "2026-04-07") == [("INV-1", 2)]


def test_master_switch_off_sends_nothing_and_says_so():
    b = book(reminders_enabled=False)
    assert sent_on(b, "2026-03-28") == []
    plan = plan_automatic(b, Ledger.from_book(b), (), d("2026-03-28"), attach_pdf=False)
    assert plan.emails == ()
    assert plan.lines == ("Automatic reminders are off (reminders_enabled is FALSE): nothing to send.",)


# --- exclusions -----------------------------------------------------------------------------------

def test_invoice_dated_after_the_run_day_gets_no_reminder():
    b = book([invoice(date="2026-03-29")])
    decision = decide(b, Ledger.from_book(b), b.settings, (), d("2026-03-28"))
    assert decision.due == ()
    assert [s.reason for s in decision.skipped] == ["the invoice is dated 2026-03-29"]


def test_paid_invoice_gets_nothing_but_a_payment_after_the_day_does_not_count():
    assert sent_on(book(payments=[pay("1000.00", "2026-03-28")]), "2026-03-28") == []
    assert sent_on(book(payments=[pay("1000.00", "2026-03-29")]), "2026-03-28") == [("INV-1", 1)]


def test_partly_paid_invoice_gets_its_reminder_with_the_balance():
    b = book(payments=[pay("400.00", "2026-03-20")])
    [due] = decide(b, Ledger.from_book(b), b.settings, (), d("2026-03-28")).due
    assert due.item.balance == Decimal("600.00")


@pytest.mark.parametrize(("change", "reason"), [
    ({"status": "Inactive"}, "customer C1 is Inactive"),
    ({"no_reminders": True}, "customer C1 is marked No Reminders"),
    ({"reminders_paused_until": d("2026-03-28")}, "reminders for customer C1 are paused until 2026-03-28"),
    ({"reminders_paused_until": d("2026-04-30")}, "reminders for customer C1 are paused until 2026-04-30"),
])
def test_customer_conditions_exclude_and_say_why(change, reason):
    b = book(customers=[customer(**change)])
    decision = decide(b, Ledger.from_book(b), b.settings, (), d("2026-03-28"))
    assert decision.due == ()
    assert [(s.step, s.reason) for s in decision.skipped] == [(1, reason)]


def test_pause_that_ended_the_day_before_lets_reminders_through():
    b = book(customers=[customer(reminders_paused_until=d("2026-03-27"))])
    assert sent_on(b, "2026-03-28") == [("INV-1", 1)]


def test_step_with_a_group_goes_only_to_its_members():
    steps = (step(1, 3, "Before", group="VIP"),)
    b = book([invoice(), invoice("INV-2", cid="C2", row=3)], [customer(), customer("C2", row=3)], steps=steps,
             groups=[Group("VIP")])
    decision = decide(b, Ledger.from_book(b), b.settings, (), d("2026-03-28"), groups={"vip": {"c2"}})
    assert [x.invoice.number for x in decision.due] == ["INV-2"]
    assert [s.reason for s in decision.skipped] == ['customer C1 is not in group "VIP"']


def test_group_step_passed_over_for_non_members_falls_back_to_a_lower_step():
    steps = (step(1, 3, "After"), step(2, 5, "After", group="VIP"))
    b = book(steps=steps, groups=[Group("VIP")])
    decision = decide(b, Ledger.from_book(b), b.settings, (), d("2026-04-05"), groups={"vip": set()})
    assert [(x.step.number, x.passed_over) for x in decision.due] == [(1, ())]


def test_step_naming_a_group_that_does_not_exist_is_a_problem_and_goes_to_nobody():
    b = book(steps=(step(1, 3, "Before", group="Ghosts"),))
    decision = decide(b, Ledger.from_book(b), b.settings, (), d("2026-03-28"))
    assert decision.due == ()
    assert [str(p) for p in decision.problems] == [
        'Reminders!I2: group "Ghosts" does not exist — create it on the Groups sheet, or clear the cell so '
        "every customer gets this reminder"]


def test_customer_blocked_by_errors_gets_nothing_and_a_problem_names_the_cells():
    bad = error("Payments", "D7", "amount is not a number", "type a number", customer_id="C1")
    b = book(problems=[bad])
    decision = decide(b, Ledger.from_book(b), b.settings, (), d("2026-03-28"))
    assert decision.due == ()
    assert [str(p) for p in decision.problems] == [
        "Invoices!A2: invoice INV-1: reminder 1 not sent — Payments!D7 has an error — correct those "
        "cells (see `receivables check`), then run again"]


def test_no_valid_address_is_a_problem_naming_the_invoice_and_the_cells():
    b = book([invoice("INV-1042", cid="C-0007", row=12)], [customer("C-0007", row=7, emails=())])
    plan = plan_automatic(b, Ledger.from_book(b), (), d("2026-03-28"), attach_pdf=False)
    assert plan.emails == ()
    assert [str(p) for p in plan.problems] == [
        "Invoices!F12: invoice INV-1042 has no valid email address (nor does customer C-0007) — add an address "
        "in Customers!D7 or Invoices!F12"]


def test_limited_user_reminds_only_the_customers_they_see():
    b = book([invoice(), invoice("INV-2", cid="C2", row=3)], [customer(), customer("C2", row=3)])
    assert sent_on(b, "2026-03-28", visible=frozenset({"C2"})) == [("INV-2", 1)]
    plan = plan_manual(b, Ledger.from_book(b), ["INV-1"], d("2026-04-07"), visible=frozenset({"C2"}), attach_pdf=False)
    assert plan.emails == ()
    assert str(plan.problems[0]) == ("Invoices!B2: invoice INV-1 is for customer C1, who is not in your group: "
                                     "no reminder sent — ask someone with Full or Admin access")


def test_invoice_email_overrides_the_customer_email():
    b = book([invoice(emails=("billing@client.example",))])
    [due] = decide(b, Ledger.from_book(b), b.settings, (), d("2026-03-28")).due
    assert due.recipients == ("billing@client.example",)


# --- one reminder per invoice per day ----------------------------------------------------------

def test_no_automatic_reminder_on_the_day_of_a_manual_one_and_it_stays_due():
    history = {manual_key("INV-1", d("2026-03-28"))}
    b = book()
    decision = decide(b, Ledger.from_book(b), b.settings, history, d("2026-03-28"))
    assert decision.due == ()
    assert [s.reason for s in decision.skipped] == ["the invoice already got a reminder today"]
    assert sent_on(b, "2026-03-29", history) == [("INV-1", 1)]


def test_no_automatic_reminder_when_last_reminder_is_today():
    b = book([invoice(last_reminder=d("2026-03-28"))])
    assert sent_on(b, "2026-03-28") == []


def test_a_manual_reminder_does_not_change_which_steps_are_to_come():
    history = {manual_key("INV-1", d("2026-03-20")): d("2026-03-20")}
    assert sent_on(book(), "2026-03-28", history) == [("INV-1", 1)]


def test_history_of_keys_with_days():
    h = History.of({"reminder:INV-1:2": d("2026-04-07"), "manual-reminder:a:b:2026-04-01": None, "other:x": None})
    assert h.steps == {"inv-1": frozenset({2})}
    assert h.days == {"inv-1": frozenset({d("2026-04-07")}), "a:b": frozenset({d("2026-04-01")})}


# --- messages -----------------------------------------------------------------------------------

def test_email_of_an_automatic_reminder_status_update_and_log():
    b = book(payments=[pay("250.00", "2026-04-01")])
    plan = plan_automatic(b, Ledger.from_book(b), (), d("2026-04-07"))
    [email] = plan.emails
    assert email.key == "reminder:INV-1:2"
    assert email.to == ("ap@acme.example",)
    assert email.subject == "Reminder: invoice INV-1 is past due"
    assert email.text.startswith("Dear Acme Ltd,\n\nOur records show that invoice INV-1, due on Mar 31, 2026, "
                                 "is now 7 days past due, with a balance of $750.00 outstanding. A copy of the "
                                 "invoice is attached for your reference.")
    assert "Kind regards,\nMaple Books Ltd" in email.text
    assert email.text.endswith("Paid: $250.00\nBalance due: $750.00")
    assert email.html.index(">$750.00</td>") < email.html.index("<p>Dear Acme Ltd,</p>")
    [att] = email.attachments
    assert (att.filename, att.mime, att.content[:5]) == ("Invoice-INV-1.pdf", "application/pdf", b"%PDF-")
    assert email.on_sent == (SetCells("Invoices", "Invoice No", "INV-1", (
        ("Status", "Reminder 2 sent 2026-04-07"), ("Last Reminder", d("2026-04-07")),
        ("Paid", 250.0), ("Balance", 750.0))),)
    assert email.log == LogEntry("reminder 2", "INV-1", "C1 · balance $750.00")
    assert plan.lines == ("INV-1: reminder 2 to ap@acme.example — customer C1 Acme Ltd, balance $750.00",)


def test_before_due_wording_and_due_today_wording():
    b = book(steps=(step(1, 3, "Before"), step(2, 0, "After")))
    [before] = plan_automatic(b, Ledger.from_book(b), (), d("2026-03-28"), attach_pdf=False).emails
    assert before.subject == "Reminder: invoice INV-1 is due on Mar 31, 2026"
    assert "is due on Mar 31, 2026. The balance due is $1,000.00." in before.text
    [today] = plan_automatic(b, Ledger.from_book(b), {"reminder:INV-1:1"}, d("2026-03-31"), attach_pdf=False).emails
    assert today.subject == "Reminder: invoice INV-1 is due today"
    assert "A copy of the invoice" not in today.text  # nothing attached, nothing promised


def test_french_customer_gets_french_default_texts():
    b = book(customers=[customer(language="fr", contact="Marie Tremblay")], currency="CAD")
    [email] = plan_automatic(b, Ledger.from_book(b), (), d("2026-04-07"), attach_pdf=False).emails
    assert email.subject == "Rappel : la facture INV-1 est en retard de paiement"
    assert email.text.startswith("Bonjour Marie Tremblay,\n\nSauf erreur de notre part, la facture INV-1, échue le "
                                 "31 mars 2026, présente un retard de 7 jours et un solde impayé de 1 000,00 $.")
    assert email.text.endswith("Payé : 0,00 $\nSolde dû : 1 000,00 $")


def test_step_texts_from_the_sheet_with_placeholders_and_no_greeting():
    s = step(1, 3, "Before", subject="{{ company.name }}: invoice {{ invoice.number }} ({{ invoice.balance }})",
             greeting=False, message="Hello {{ customer.first_name }}, please pay {{ invoice.balance }}.")
    b = book(steps=(s,), customers=[customer(contact="Jane Doe")])
    [email] = plan_automatic(b, Ledger.from_book(b), (), d("2026-03-28"), attach_pdf=False).emails
    assert email.subject == "Maple Books Ltd: invoice INV-1 ($1,000.00)"
    assert email.text.startswith("Hello Jane, please pay $1,000.00.\n\nInvoice No: INV-1\n")


def test_salutation_cell_with_a_placeholder_is_the_whole_greeting():
    s = step(1, 3, "Before", salutation="Hi {{ customer.first_name }}!")
    b = book(steps=(s,), customers=[customer(contact="Jane Doe")])
    [email] = plan_automatic(b, Ledger.from_book(b), (), d("2026-03-28"), attach_pdf=False).emails
    assert email.text.startswith("Hi Jane!\n\nThis is a friendly reminder")


def test_text_with_a_template_error_is_not_sent_stays_due_and_names_its_cell():
    bad = step(2, 7, "After", message="Pay {{ invoice.balanse }} now")
    b = book(steps=(SPEC_STEPS[0], bad, SPEC_STEPS[2]))
    plan = plan_automatic(b, Ledger.from_book(b), (), d("2026-04-07"), attach_pdf=False)
    assert plan.emails == () and plan.logs == ()
    [p] = plan.problems
    assert p.where == "Reminders!H3" and p.is_error
    assert p.message.startswith("the text uses an unknown placeholder")
    fixed = book()
    assert [e.key for e in plan_automatic(fixed, Ledger.from_book(fixed), (), d("2026-04-08"),
                                          attach_pdf=False).emails] == ["reminder:INV-1:2"]


def test_sandbox_blocks_python_internals_in_a_subject():
    s = step(1, 3, "Before", subject="{{ invoice.__class__.__mro__ }}")
    b = book(steps=(s,))
    plan = plan_automatic(b, Ledger.from_book(b), (), d("2026-03-28"), attach_pdf=False)
    assert plan.emails == ()
    assert plan.problems[0].where == "Reminders!E2"


def test_no_pdf_when_settings_say_so():
    b = book(reminders_attach_pdf=False)
    [email] = plan_automatic(b, Ledger.from_book(b), (), d("2026-03-28")).emails
    assert email.attachments == ()


@pytest.mark.parametrize(("number", "name"), [
    ("INV-1042", "Invoice-INV-1042.pdf"),
    ("../../etc/passwd", "Invoice-etc-passwd.pdf"),
    ("A/B\\C:D", "Invoice-A-B-C-D.pdf"),
    ("Fact. 2026 №7", "Invoice-Fact.-2026-7.pdf"),
    ("///", "Invoice-invoice.pdf"),
])
def test_attachment_file_name_is_safe(number, name):
    assert safe_filename(number) == name


# --- manual reminders -----------------------------------------------------------------------------

def test_manual_reminder_is_sent_even_with_automatic_reminders_off():
    b = book(reminders_enabled=False)
    plan = plan_manual(b, Ledger.from_book(b), ["inv-1"], d("2026-04-07"), attach_pdf=False)
    [email] = plan.emails
    assert email.key == "manual-reminder:INV-1:2026-04-07"
    assert email.subject == "Reminder: invoice INV-1, balance due $1,000.00"
    assert email.on_sent[0].values[0] == ("Status", "Manual reminder sent 2026-04-07")
    assert email.log == LogEntry("manual reminder", "INV-1", "C1 · balance $1,000.00")


def test_manual_reminder_with_custom_subject_and_message():
    b = book()
    plan = plan_manual(b, Ledger.from_book(b), ["INV-1"], d("2026-04-07"), subject="About {{ invoice.number }}",
                       message="Please call us about {{ invoice.balance }}.", attach_pdf=False)
    [email] = plan.emails
    assert email.subject == "About INV-1"
    assert email.text.startswith("Dear Acme Ltd,\n\nPlease call us about $1,000.00.\n\nInvoice No: INV-1")


def test_manual_reminder_refused_for_paid_and_unknown_invoices_the_others_still_sent():
    b = book([invoice(), invoice("INV-2", row=3)], payments=[pay("1000.00", "2026-04-01", "INV-2")])
    plan = plan_manual(b, Ledger.from_book(b), ["INV-9", "INV-2", "INV-1"], d("2026-04-07"), attach_pdf=False)
    assert [e.key for e in plan.emails] == ["manual-reminder:INV-1:2026-04-07"]
    assert [str(p) for p in plan.problems] == [
        'Invoices: invoice "INV-9" is not on the Invoices sheet — check the invoice number',
        "Invoices!A3: invoice INV-2 is paid (balance 0.00 as of 2026-04-07): no reminder sent — choose an invoice "
        "with a balance due",
    ]


def test_manual_reminder_twice_the_same_day_sends_nothing_new():
    b = book()
    history = {manual_key("INV-1", d("2026-04-07"))}
    plan = plan_manual(b, Ledger.from_book(b), ["INV-1"], d("2026-04-07"), history=history, attach_pdf=False)
    assert plan.emails == () and plan.problems == ()
    assert plan.lines == ("INV-1: a manual reminder was already sent on 2026-04-07 — nothing new sent",)
    again = plan_manual(b, Ledger.from_book(b), ["INV-1"], d("2026-04-08"), history=history, attach_pdf=False)
    assert [e.key for e in again.emails] == ["manual-reminder:INV-1:2026-04-08"]


def test_manual_reminder_after_an_automatic_one_the_same_day_is_held_back():
    b = book()
    history = {reminder_key("INV-1", 2): d("2026-04-07")}
    plan = plan_manual(b, Ledger.from_book(b), ["INV-1"], d("2026-04-07"), history=history, attach_pdf=False)
    assert plan.emails == ()
    assert [p.severity for p in plan.problems] == ["warning"]


def test_manual_reminder_with_a_bad_placeholder_names_the_option():
    b = book()
    plan = plan_manual(b, Ledger.from_book(b), ["INV-1"], d("2026-04-07"), message="{{ nope }}", attach_pdf=False)
    assert plan.emails == ()
    assert str(plan.problems[0]).startswith("--message: the text uses an unknown placeholder")


def test_manual_reminder_refused_for_a_blocked_customer():
    b = book(problems=[error("Customers", "D2", "bad address", "fix it", customer_id="C1")])
    plan = plan_manual(b, Ledger.from_book(b), ["INV-1"], d("2026-04-07"), attach_pdf=False)
    assert plan.emails == ()
    assert "manual reminder not sent — Customers!D2 has an error" in str(plan.problems[0])


# --- check --------------------------------------------------------------------------------------

def test_check_reports_text_errors_and_unknown_groups_with_their_cells():
    steps = (
        step(1, 3, "Before", subject="Invoice {{ invoice.number"),
        step(2, 7, "After", message="{{ customer.nmae }}", group="VIP"),
        step(3, 30, "After", salutation="Dear {{ customer.first_name }},", group="Nobody"),
    )
    problems = check(book(steps=steps, groups=[Group("VIP")]))
    assert [p.where for p in problems] == ["Reminders!E2", "Reminders!H3", "Reminders!I4"]
    assert problems[0].message.startswith("the text has a template error")
    assert problems[2].message == 'group "Nobody" does not exist'


def test_check_is_quiet_for_good_texts():
    steps = tuple(dataclasses.replace(s, subject="{{ invoice.number }} {{ invoice.days_overdue }}") for s in SPEC_STEPS)
    assert check(book(steps=steps)) == []
