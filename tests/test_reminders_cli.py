"""`receivables reminders due|run|send` end to end: a real workbook, the real CLI, .eml files."""

from __future__ import annotations

import datetime as dt
import email
import io
from email import policy
from pathlib import Path

import pytest

from addin.cli import main

d = dt.date


def tables(enabled: bool = True, step1: tuple[int, str] = (3, "Before"), **extra: list) -> dict:
    base = {
        "Settings": [["Key", "Value"], ["company_name", "Maple Books Ltd"],
                     ["company_email", "billing@maple.example"], ["reminders_enabled", enabled]],
        "Customers": [["Customer ID", "Name", "Status", "Email", "Contact", "Language"],
                      ["C1", "Acme Ltd", "Active", "ap@acme.example", "Jane Doe", ""],
                      ["C2", "Café Élan", "Active", "compta@elan.example", "Marie Roy", "fr"]],
        "Invoices": [["Invoice No", "Customer ID", "Invoice Date", "Due Date", "Amount", "Email", "Memo", "Paid",
                      "Balance", "Status", "Last Reminder"],
                     ["INV-1", "C1", d(2026, 3, 1), d(2026, 3, 31), 1000, None, "Consulting, March"],
                     ["INV-2", "C2", d(2026, 2, 1), d(2026, 2, 28), 250.5, None, None]],
        "Payments": [["Payment ID", "Customer ID", "Date", "Amount", "Type", "Invoice No"],
                     ["P1", "C2", d(2026, 3, 1), 250.5, "Payment", "INV-2"]],
        "Reminders": [["Reminder", "Enabled", "Days", "When", "Subject", "Greeting", "Salutation", "Message"],
                      [1, True, step1[0], step1[1], None, True, None, None],
                      [2, True, 7, "After", None, True, None, None],
                      [3, True, 30, "After", None, True, None, None]],
    }
    base.update(extra)
    return base


def messages(outbox: Path) -> list[email.message.EmailMessage]:
    return [email.message_from_bytes(p.read_bytes(), policy=policy.default)  # type: ignore[misc]
            for p in sorted(outbox.glob("*.eml"))]


def body(msg: email.message.EmailMessage, kind: str = "plain") -> str:
    return msg.get_body((kind,)).get_content().replace("\r\n", "\n")


def invoice_row(wb: Path, number: str) -> dict:
    from openpyxl import load_workbook

    ws = load_workbook(wb)["Invoices"]
    rows = list(ws.iter_rows(values_only=True))
    return next(dict(zip(rows[0], r, strict=False)) for r in rows[1:] if r[0] == number)


def log_rows(wb: Path) -> list[tuple]:
    from openpyxl import load_workbook

    book = load_workbook(wb)
    if "Log" not in book.sheetnames:
        return []
    return [r[1:5] for r in list(book["Log"].iter_rows(values_only=True))[1:] if any(r)]


def run(wb: Path, outbox: Path, day: str) -> int:
    return main(["reminders", "run", str(wb), "--as-of", day, "--outbox", str(outbox)])


def grouped(t: dict, grouping: str = "customer") -> dict:
    t["Settings"].append(["reminder_grouping", grouping])
    return t


@pytest.mark.parametrize("grouping", ["invoice", "customer"])
def test_spec_worked_example_end_to_end(make_workbook, tmp_path, capsys, grouping):
    wb, outbox = make_workbook(grouped(tables(), grouping)), tmp_path / "out"
    assert run(wb, outbox, "2026-03-27") == 0
    assert messages(outbox) == []
    assert run(wb, outbox, "2026-03-28") == 0
    assert [m["Subject"] for m in messages(outbox)] == ["Reminder: invoice INV-1 is due on Mar 31, 2026"]
    assert run(wb, outbox, "2026-03-28") == 0  # the same day again: nothing new
    assert len(messages(outbox)) == 1
    assert run(wb, outbox, "2026-04-07") == 0
    assert len(messages(outbox)) == 2
    row = invoice_row(wb, "INV-1")
    assert row["Status"] == "Reminder 2 sent 2026-04-07"
    assert row["Last Reminder"].date() == d(2026, 4, 7)
    assert (row["Paid"], row["Balance"]) == (0, 1000)
    assert [r[:2] for r in log_rows(wb)] == [("reminder 1", "INV-1"), ("reminder 2", "INV-1")]
    paid = grouped(tables(), grouping)
    paid["Payments"].append(["P2", "C1", d(2026, 4, 10), 1000, "Payment", "INV-1"])
    wb2 = make_workbook(paid, name="paid.xlsx")
    assert run(wb2, outbox, "2026-04-30") == 0
    assert len(messages(outbox)) == 2


def test_the_reminder_message_as_the_customer_receives_it(make_workbook, tmp_path):
    import pypdf
    wb, outbox = make_workbook(tables()), tmp_path / "out"
    assert run(wb, outbox, "2026-04-07") == 0
    [msg] = messages(outbox)
    assert msg["To"] == "ap@acme.example"
    assert msg["From"] == "Maple Books Ltd <billing@maple.example>"
    assert msg["Subject"] == "Reminder: invoice INV-1 is past due"
    text = body(msg)
    assert text.startswith("Dear Jane Doe,\n\nOur records show that invoice INV-1 (Consulting, March), due on "
                           "Mar 31, 2026, is now 7 days past due")
    assert "Balance due: $1,000.00" in text
    assert "$1,000.00" in body(msg, "html")
    [att] = list(msg.iter_attachments())
    assert att.get_filename() == "Invoice-INV-1.pdf"
    pdf = pypdf.PdfReader(io.BytesIO(att.get_content()))
    page = pdf.pages[0].extract_text()
    for expected in ("INVOICE", "INV-1", "Acme Ltd", "Consulting, March", "$1,000.00", "Page 1 of 1"):
        assert expected in page


def test_catch_up_records_the_passed_over_step_in_the_log(make_workbook, tmp_path):
    wb, outbox = make_workbook(tables(step1=(3, "After"))), tmp_path / "out"
    assert run(wb, outbox, "2026-04-08") == 0
    assert [m["Subject"] for m in messages(outbox)] == ["Reminder: invoice INV-1 is past due"]
    assert log_rows(wb) == [
        ("reminder 1", "INV-1", "", "skipped"),
        ("reminder 2", "INV-1", "ap@acme.example", "sent"),
    ]


def test_due_previews_and_writes_nothing(make_workbook, tmp_path, capsys):
    wb = make_workbook(tables())
    before = wb.read_bytes()
    assert main(["reminders", "due", str(wb), "--as-of", "2026-04-07"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines() == [
        "Reminders due on 2026-04-07: 1 to send (preview: nothing is sent)",
        "INV-1: reminder 2 to ap@acme.example — customer C1 Acme Ltd, balance $1,000.00",
    ]
    assert wb.read_bytes() == before
    assert sorted(p.name for p in wb.parent.iterdir()) == [wb.name]


def test_due_says_when_automatic_reminders_are_off(make_workbook, capsys):
    wb = make_workbook(tables(enabled=False))
    assert main(["reminders", "due", str(wb), "--as-of", "2026-04-07"]) == 0
    assert "Automatic reminders are off (Settings!B4 reminders_enabled is FALSE)" in capsys.readouterr().out


def test_manual_send_with_reminders_off_refuses_paid_and_unknown_and_sends_the_rest(make_workbook, tmp_path,
                                                                                   capsys):
    wb, outbox = make_workbook(tables(enabled=False)), tmp_path / "out"
    argv = ["reminders", "send", str(wb), "INV-1", "INV-2", "INV-404", "--subject", "Invoice {{ invoice.number }}",
            "--message", "Please pay {{ invoice.balance }} this week.", "--as-of", "2026-04-07", "--outbox",
            str(outbox)]
    assert main(argv) == 1
    out = capsys.readouterr().out
    assert "Invoices!A3: invoice INV-2 is paid (balance 0.00 as of 2026-04-07): no reminder sent" in out
    assert 'Invoices: invoice "INV-404" is not on the Invoices sheet — check the invoice number' in out
    [msg] = messages(outbox)
    assert msg["Subject"] == "Invoice INV-1"
    assert body(msg).startswith("Dear Jane Doe,\n\nPlease pay $1,000.00 this week.")
    assert invoice_row(wb, "INV-1")["Status"] == "Manual reminder sent 2026-04-07"
    assert main(argv) == 1  # again the same day: nothing new
    assert len(messages(outbox)) == 1
    assert "INV-1: a manual reminder was already sent on 2026-04-07 — nothing new sent" in capsys.readouterr().out


def test_automatic_run_holds_back_on_the_day_of_a_manual_reminder(make_workbook, tmp_path):
    wb, outbox = make_workbook(tables()), tmp_path / "out"
    assert main(["reminders", "send", str(wb), "INV-1", "--as-of", "2026-03-28", "--outbox", str(outbox)]) == 0
    assert run(wb, outbox, "2026-03-28") == 0
    assert len(messages(outbox)) == 1
    assert run(wb, outbox, "2026-03-29") == 0  # reminder 1 is still due the next day
    assert [m["Subject"] for m in messages(outbox)][-1] == "Reminder: invoice INV-1 is due on Mar 31, 2026"


def test_french_customer_gets_a_french_reminder(make_workbook, tmp_path):
    t = tables()
    t["Invoices"].append(["INV-3", "C2", d(2026, 3, 1), d(2026, 3, 31), 1234.5, None, None])
    wb, outbox = make_workbook(t), tmp_path / "out"
    assert main(["reminders", "send", str(wb), "INV-3", "--as-of", "2026-04-02", "--outbox", str(outbox)]) == 0
    [msg] = messages(outbox)
    assert msg["Subject"] == "Rappel : facture INV-3, solde dû 1 234,50 $"
    assert body(msg).startswith("Bonjour Marie Roy,\n\nSauf erreur de notre part")


def test_empty_message_option_is_bad_usage(make_workbook, capsys):
    wb = make_workbook(tables())
    assert main(["reminders", "send", str(wb), "INV-1", "--message", " "]) == 2
    assert "--message is empty" in capsys.readouterr().err


def test_step_with_a_group_reaches_only_the_group_members(make_workbook, tmp_path):
    t = tables(Groups=[["Group", "Auto Update"], ["French", True]],
               **{"Group Rules": [["Group", "Field", "Operator", "Value"], ["French", "Language", "is", "fr"]]})
    t["Reminders"][0].append("Group")
    t["Reminders"][2].append("French")  # reminder 2 only for the French group
    t["Invoices"].append(["INV-3", "C2", d(2026, 3, 1), d(2026, 3, 31), 500, None, None, None, None, None, None])
    wb, outbox = make_workbook(t), tmp_path / "out"
    assert run(wb, outbox, "2026-04-07") == 0
    assert [m["To"] for m in messages(outbox)] == ["compta@elan.example"]


def test_workbook_open_in_excel_sends_now_and_writes_the_status_at_the_next_run(make_workbook, tmp_path, capsys):
    wb, outbox = make_workbook(tables()), tmp_path / "out"
    owner = wb.with_name("~$" + wb.name)
    owner.write_bytes(b"someone")
    before = wb.read_bytes()
    assert run(wb, outbox, "2026-04-07") == 0
    assert len(messages(outbox)) == 1 and wb.read_bytes() == before
    owner.unlink()
    assert run(wb, outbox, "2026-04-07") == 0
    assert len(messages(outbox)) == 1
    assert invoice_row(wb, "INV-1")["Status"] == "Reminder 2 sent 2026-04-07"
