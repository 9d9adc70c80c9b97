"""A faulty text through the real CLI: reported once at its cell, its reminders stay due, the others go."""

from __future__ import annotations

import datetime as dt
import email
from email import policy
from pathlib import Path

import pytest

from addin.cli import main

d = dt.date
BOMB = "Dear {{ customer.name }}, {{ 'x' * 4000000000 }}"


def tables(message: str) -> dict:
    return {
        "Settings": [["Key", "Value"], ["company_name", "Maple Books Ltd"],
                     ["company_email", "billing@maple.example"], ["reminders_enabled", True]],
        "Customers": [["Customer ID", "Name", "Status", "Email"],
                      ["C1", "Acme Ltd", "Active", "ap@acme.example"],
                      ["C2", "Bolt Inc", "Active", "ap@bolt.example"]],
        "Invoices": [["Invoice No", "Customer ID", "Invoice Date", "Due Date", "Amount", "Status", "Last Reminder"],
                     ["INV-1", "C1", d(2026, 3, 1), d(2026, 3, 31), 100],
                     ["INV-2", "C1", d(2026, 3, 2), d(2026, 3, 31), 200],
                     ["INV-3", "C2", d(2026, 3, 3), d(2026, 3, 31), 300],
                     ["INV-4", "C2", d(2026, 2, 1), d(2026, 3, 20), 400]],
        "Reminders": [["Reminder", "Enabled", "Days", "When", "Subject", "Greeting", "Salutation", "Message"],
                      [1, True, 3, "After", None, True, None, message],
                      [2, True, 14, "After", None, True, None, None]],
    }


def sent_numbers(outbox: Path) -> list[str]:
    found = []
    for path in sorted(outbox.glob("*.eml")):
        msg = email.message_from_bytes(path.read_bytes(), policy=policy.default)
        found.append(str(msg["Subject"]).split("invoice ")[1].split()[0])
    return sorted(found)


def set_message(wb: Path, text: str) -> None:
    from openpyxl import load_workbook

    book = load_workbook(wb)
    book["Reminders"]["H2"] = text
    book.save(wb)


@pytest.mark.parametrize("message, problem", [
    (BOMB, "Reminders!H2: the text cannot be rendered: a repetition would exceed 1 MB — make the text shorter: "
           "it may not build more than 1 MB"),
    ("{{ 'x' * 999999 }}{{ customer.name * 99 }}",
     "Reminders!H2: the text cannot be rendered: its result would exceed 1 MB — make the text shorter: "
     "it may not build more than 1 MB"),
    ("Dear {{ customer.nme }}", "Reminders!H2: the text uses an unknown placeholder ('dict object' has no "
                                "attribute 'nme') — correct the text: placeholders are written {{ customer.name }}, "
                                "see the README for the list"),
    ("Dear {{ customer.name }", "Reminders!H2: the text has a template error (unexpected '}', line 1) — correct "
                                "the text: placeholders are written {{ customer.name }}, see the README for the list"),
], ids=["repetition", "over-1-MB", "unknown-placeholder", "syntax"])
def test_a_faulty_text_is_reported_once_and_its_reminders_stay_due(make_workbook, tmp_path, capsys, message,
                                                                   problem):
    wb, outbox = make_workbook(tables(message)), tmp_path / "out"

    assert main(["reminders", "run", str(wb), "--as-of", "2026-04-03", "--outbox", str(outbox)]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out.count(problem) == 1
    assert [line for line in out if "NOT sent" in line] == [
        f"INV-{n}: reminder 1 NOT sent — its text has an error (see below)" for n in (1, 2, 3)]
    assert sent_numbers(outbox) == ["INV-4"]  # the other invoice's reminder went out

    # Nothing was marked sent: the same run again still holds them back, and reports the text once.
    assert main(["reminders", "run", str(wb), "--as-of", "2026-04-03", "--outbox", str(outbox)]) == 1
    assert capsys.readouterr().out.splitlines().count(problem) == 1
    assert sent_numbers(outbox) == ["INV-4"]

    assert main(["check", str(wb)]) == 1
    assert capsys.readouterr().out.splitlines().count(problem) == 1

    # Once the text is corrected, they go out.
    set_message(wb, "Please pay {{ invoice.number }}.")
    assert main(["reminders", "run", str(wb), "--as-of", "2026-04-03", "--outbox", str(outbox)]) == 0
    assert sent_numbers(outbox) == ["INV-1", "INV-2", "INV-3", "INV-4"]


def test_a_faulty_manual_message_is_reported_once(make_workbook, tmp_path, capsys):
    wb, outbox = make_workbook(tables("Fine {{ invoice.number }}")), tmp_path / "out"

    assert main(["reminders", "send", str(wb), "INV-1", "INV-2", "--message", "{{ '%4000000000s' % 1 }}",
                 "--as-of", "2026-04-03", "--outbox", str(outbox)]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out.count("--message: the text cannot be rendered: a formatted value would exceed 1 MB — make the text "
                     "shorter: it may not build more than 1 MB") == 1
    assert [line for line in out if "NOT sent" in line] == [
        "INV-1: manual reminder NOT sent — its text has an error (see below)",
        "INV-2: manual reminder NOT sent — its text has an error (see below)"]
    assert not outbox.exists() or sent_numbers(outbox) == []


def test_a_faulty_schedule_message_is_reported_once_naming_every_customer_it_stops(make_workbook, tmp_path, capsys):
    data = tables("Fine")
    data.update({
        "Groups": [["Group", "Auto Update"], ["Everyone", True]],
        "Group Rules": [["Group", "Field", "Operator", "Value"], ["Everyone", "Status", "is", "Active"]],
        "Statement Schedules": [["Customer ID", "Group", "Enabled", "Day", "Message"],
                                [None, "Everyone", True, 1, BOMB]],
    })
    wb, outbox = make_workbook(data), tmp_path / "out"

    assert main(["statements", "run", str(wb), "--as-of", "2026-06-01", "--outbox", str(outbox)]) == 1
    out = capsys.readouterr().out.splitlines()
    assert [line for line in out if "E2" in line] == [
        "'Statement Schedules'!E2: the text cannot be rendered: a repetition would exceed 1 MB (statements for C1, "
        "C2 not sent) — make the text shorter: it may not build more than 1 MB"]
    assert not outbox.exists() or not list(outbox.glob("*.eml"))
