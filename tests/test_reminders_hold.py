"""A hold on one invoice (Invoices Hold Until / Hold Reason, SPEC §4): no automatic reminder while
Hold Until is on or after the day, recorded as skipped once, resumed after; its Status; a manual
reminder sent with a warning; a Hold Until that is not a date holds the invoice as an error."""

from __future__ import annotations

import datetime as dt
import email
from decimal import Decimal
from email import policy
from pathlib import Path

import pytest

from addin.actions import LogEntry
from addin.cli import main
from addin.dashboard import invoice_statuses
from addin.invoice_status import hold_status, hold_until, hold_words
from addin.ledger import Ledger
from addin.model import Book, Customer, Invoice, Origin, ReminderStep, Settings
from addin.problems import warning
from addin.reminders import History, decide, hold_key, plan_automatic, plan_manual
from addin.workbook import schema

d = dt.date.fromisoformat
LETTERS = {c.key: chr(ord("A") + i) for i, c in enumerate(schema.INVOICES.columns)}
STEPS = (ReminderStep(1, True, 3, "Before"), ReminderStep(2, True, 7, "After"), ReminderStep(3, True, 30, "After"))


def invoice(no="INV-1", due="2026-03-31", until=None, reason="", row=2) -> Invoice:
    return Invoice(no, "C1", d("2026-03-01"), d(due), Decimal("1000.00"), origin=Origin("Invoices", row, LETTERS),
                   hold_until=d(until) if until else None, hold_reason=reason)


def book(*invoices: Invoice, grouping="invoice") -> Book:
    return Book(settings=Settings(reminders_enabled=True, company_email="billing@maple.example",
                                  reminder_grouping=grouping),
                customers=(Customer("C1", "Acme Ltd", "Active", ("ap@acme.example",)),),
                invoices=invoices or (invoice(),), reminders=STEPS)


def due(b: Book, day: str, history=()) -> list[tuple[str, int]]:
    decision = decide(b, Ledger.from_book(b), b.settings, history, d(day))
    return [(x.invoice.number, x.step.number) for x in decision.due]


def test_a_held_invoice_is_skipped_with_the_reason_until_and_on_its_hold_until_day():
    b = book(invoice(until="2026-04-07", reason="disputed delivery"))
    decision = decide(b, Ledger.from_book(b), b.settings, (), d("2026-04-07"))
    assert decision.due == ()
    [skip] = decision.skipped
    assert (skip.invoice.number, skip.step, skip.reason) == ("INV-1", 2, "on hold until 2026-04-07: disputed delivery")
    assert due(b, "2026-04-08") == [("INV-1", 2)]  # the hold is over: the step goes, within its catch-up window


def test_steps_go_on_after_the_hold_a_missed_window_stays_missed():
    b = book(invoice(until="2026-04-20"))  # reminder 2's window (04-07 … 04-14) passes during the hold
    assert [due(b, day) for day in ("2026-04-07", "2026-04-14", "2026-04-21")] == [[], [], []]
    assert due(b, "2026-04-30") == [("INV-1", 3)]


def test_a_hold_without_a_reason_and_a_hold_that_ended_before_the_day():
    b = book(invoice(until="2026-07-15"), invoice("INV-2", until="2026-04-06", row=3))
    decision = decide(b, Ledger.from_book(b), b.settings, (), d("2026-04-07"))
    assert [(s.invoice.number, s.reason) for s in decision.skipped] == [("INV-1", "on hold until 2026-07-15")]
    assert [x.invoice.number for x in decision.due] == ["INV-2"]


@pytest.mark.parametrize("grouping", ["invoice", "customer"])
def test_the_hold_is_logged_once_and_shown_in_the_preview_and_never_grouped(grouping):
    b = book(invoice(until="2026-07-15", reason="promised to pay on the 15th"), invoice("INV-2", row=3),
             grouping=grouping)
    plan = plan_automatic(b, Ledger.from_book(b), (), d("2026-04-07"), attach_pdf=False)
    assert [e.key for e in plan.emails] == [{"invoice": "reminder:INV-2:2",
                                             "customer": "reminders:C1:2026-04-07:INV-2=2"}[grouping]]
    assert plan.logs == (LogEntry("reminder 2", "INV-1", "on hold until 2026-07-15: promised to pay on the 15th",
                                  status="skipped"),)
    assert plan.lines[-1] == "INV-1: reminder 2 skipped — on hold until 2026-07-15: promised to pay on the 15th"
    again = plan_automatic(b, Ledger.from_book(b), {hold_key("INV-1", 2, d("2026-07-15")): None}, d("2026-04-08"),
                           attach_pdf=False)
    assert again.logs == ()  # recorded once, not at every run
    assert History.of([hold_key("inv-1", 2, d("2026-07-15"))]).holds_logged == {("inv-1", 2, d("2026-07-15"))}


def test_status_while_held_then_as_before():
    invoices = [invoice(until="2026-07-15"), invoice("INV-2", until="2026-07-15")]
    statuses = invoice_statuses(invoices, [True, False], d("2026-04-07"), ["Reminder 1 sent 2026-03-28", ""])
    assert statuses == ["On hold until 2026-07-15", "Paid"]
    after = invoice_statuses(invoices[:1], [True], d("2026-07-16"), ["On hold until 2026-07-15"])
    assert after == ["Overdue"]
    assert hold_status(d("2026-07-15")) == "On hold until 2026-07-15"
    assert hold_words(d("2026-07-15"), "  a   dispute ") == "on hold until 2026-07-15: a dispute"


def test_the_day_a_hold_was_worded_with_is_read_back_from_its_words():
    assert hold_until(hold_words(d("2026-07-15"), "a dispute")) == d("2026-07-15")
    assert hold_until(hold_words(d("2026-07-15"), "")) == d("2026-07-15")
    assert [hold_until(text) for text in ("on hold until soon", "sent 2026-07-15", "")] == [None, None, None]


def test_a_manual_reminder_for_a_held_invoice_is_sent_with_a_warning_naming_the_hold():
    b = book(invoice(until="2026-07-15", reason="disputed delivery"))
    plan = plan_manual(b, Ledger.from_book(b), ["INV-1"], d("2026-04-07"), attach_pdf=False)
    assert [e.key for e in plan.emails] == ["manual-reminder:INV-1:2026-04-07"]
    assert plan.problems == (warning("Invoices", "H2", "invoice INV-1 is on hold until 2026-07-15: disputed delivery: "
                                     "the manual reminder is sent all the same", "clear Hold Until once the hold is over"),)


# --- through the workbook and the CLI ----------------------------------------------------------

def tables(**settings: object) -> dict:
    return {
        "Settings": [["Key", "Value"], ["company_name", "Maple Books Ltd"], ["company_email", "billing@maple.example"],
                     ["reminders_enabled", True], *([k, v] for k, v in settings.items())],
        "Customers": [["Customer ID", "Name", "Status", "Email"], ["C1", "Acme Ltd", "Active", "ap@acme.example"]],
        "Invoices": [["Invoice No", "Customer ID", "Invoice Date", "Due Date", "Amount", "Hold Until", "Hold Reason",
                      "Paid", "Balance", "Status", "Last Reminder"],
                     ["INV-1", "C1", d("2026-03-01"), d("2026-03-31"), 1000, d("2026-07-15"), "disputed delivery"],
                     ["INV-2", "C1", d("2026-03-01"), d("2026-03-31"), 500, "next week", None],
                     ["INV-3", "C1", d("2026-03-01"), d("2026-03-31"), 250, None, None]],
        "Reminders": [["Reminder", "Enabled", "Days", "When"], [1, True, 3, "Before"], [2, True, 7, "After"],
                      [3, True, 30, "After"]],
    }


def sheet(wb: Path, name: str) -> list[dict]:
    from openpyxl import load_workbook

    rows = list(load_workbook(wb)[name].iter_rows(values_only=True))
    return [dict(zip(rows[0], r, strict=False)) for r in rows[1:] if any(r)]


BAD_DATE = 'Invoices!F3: hold until "next week" is not a date — type it as a date, e.g. 2026-03-15'
HELD_BY_ERROR = ("Invoices!A3: invoice INV-2: reminder 2 not sent — Invoices!F3 has an error — correct those cells "
                 "(see `receivables check`), then run again")


def test_check_names_a_hold_until_that_is_not_a_date(make_workbook, capsys):
    wb = make_workbook(tables())
    assert main(["check", str(wb)]) == 1
    assert BAD_DATE in capsys.readouterr().out.splitlines()


def test_due_run_rerun_and_refresh_with_a_held_invoice(make_workbook, tmp_path, capsys):
    wb, outbox = make_workbook(tables()), tmp_path / "out"
    assert main(["reminders", "due", str(wb), "--as-of", "2026-04-07"]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out == [BAD_DATE, "Reminders due on 2026-04-07: 1 to send (preview: nothing is sent)",
                   "INV-3: reminder 2 to ap@acme.example — customer C1 Acme Ltd, balance $250.00",
                   "INV-1: reminder 2 skipped — on hold until 2026-07-15: disputed delivery", HELD_BY_ERROR]
    for _ in range(2):
        assert main(["reminders", "run", str(wb), "--as-of", "2026-04-07", "--outbox", str(outbox)]) == 1
    capsys.readouterr()
    [msg] = [email.message_from_bytes(p.read_bytes(), policy=policy.default) for p in outbox.glob("*.eml")]
    assert msg["Subject"] == "Reminder: invoice INV-3 is past due"
    log = [(r["Action"], r["Target"], r["Status"], r["Detail"]) for r in sheet(wb, "Log")]
    assert log == [("reminder 2", "INV-1", "skipped", "on hold until 2026-07-15: disputed delivery"),
                   ("reminder 2", "INV-3", "sent",
                    'C1 · balance $250.00 · subject "Reminder: invoice INV-3 is past due"')]
    assert main(["refresh", str(wb), "--as-of", "2026-04-07"]) == 1
    assert [r["Status"] for r in sheet(wb, "Invoices")] == ["On hold until 2026-07-15", "Overdue",
                                                            "Reminder 2 sent 2026-04-07"]


def test_manual_reminder_for_a_held_invoice_through_the_cli(make_workbook, tmp_path, capsys):
    wb, outbox = make_workbook(tables()), tmp_path / "out"
    assert main(["reminders", "send", str(wb), "INV-1", "--as-of", "2026-04-07", "--outbox", str(outbox)]) == 1
    out = capsys.readouterr().out
    assert ("warning: Invoices!F2: invoice INV-1 is on hold until 2026-07-15: disputed delivery: the manual reminder "
            "is sent all the same — clear Hold Until once the hold is over") in out.splitlines()
    assert len(list(outbox.glob("*.eml"))) == 1
