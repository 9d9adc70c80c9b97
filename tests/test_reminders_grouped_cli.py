"""One reminder per customer end to end: a real workbook, the CLI, .eml files, and the journal's
guarantees for a grouped message (a crash leaves all of its invoices uncertain, none marked)."""

from __future__ import annotations

import datetime as dt
import email
import io
from email import policy
from pathlib import Path

from addin.cli import main
from addin.journal import Journal
from addin.ledger import Ledger
from addin.reminders import plan_automatic
from addin.workbook.reader import load

d = dt.date
KEY = "reminders:C1:2026-04-07:INV-2=3,INV-1=2,INV-3=1"


def tables() -> dict:
    return {
        "Settings": [["Key", "Value"], ["company_name", "Maple Books Ltd"], ["company_email", "billing@maple.example"],
                     ["reminders_enabled", True], ["reminder_grouping", "customer"]],
        "Customers": [["Customer ID", "Name", "Status", "Email", "Contact"],
                      ["C1", "Acme Ltd", "Active", "ap@acme.example", "Jane Doe"],
                      ["C2", "Bolt Inc", "Active", "pay@bolt.example", "Sam Bolt"]],
        "Invoices": [["Invoice No", "Customer ID", "Invoice Date", "Due Date", "Amount", "Memo", "Paid", "Balance",
                      "Status", "Last Reminder"],
                     ["INV-1", "C1", d(2026, 3, 1), d(2026, 3, 31), 1000, None],
                     ["INV-2", "C1", d(2026, 2, 6), d(2026, 3, 8), 250, "Repairs"],
                     ["INV-3", "C1", d(2026, 3, 11), d(2026, 4, 10), 80.5, None],
                     ["INV-4", "C2", d(2026, 3, 1), d(2026, 3, 31), 99, None]],
        "Reminders": [["Reminder", "Enabled", "Days", "When"], [1, True, 3, "Before"], [2, True, 7, "After"],
                      [3, True, 30, "After"]],
    }


def messages(outbox: Path) -> list[email.message.EmailMessage]:
    return [email.message_from_bytes(p.read_bytes(), policy=policy.default)  # type: ignore[misc]
            for p in sorted(outbox.glob("*.eml"))]


def sheet(wb: Path, name: str) -> list[dict]:
    from openpyxl import load_workbook

    book = load_workbook(wb)
    if name not in book.sheetnames:
        return []
    rows = list(book[name].iter_rows(values_only=True))
    return [dict(zip(rows[0], r, strict=False)) for r in rows[1:] if any(r)]


def statuses(wb: Path) -> list[object]:
    return [r["Status"] for r in sheet(wb, "Invoices")]


def run(wb: Path, outbox: Path, day: str = "2026-04-07") -> int:
    return main(["reminders", "run", str(wb), "--as-of", day, "--outbox", str(outbox)])


def test_due_shows_one_line_per_message_and_its_invoices_under_it(make_workbook, capsys):
    wb = make_workbook(tables())
    assert main(["reminders", "due", str(wb), "--as-of", "2026-04-07"]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "Reminders due on 2026-04-07: 2 to send (preview: nothing is sent)",
        "customer C1 Acme Ltd: one message to ap@acme.example — 3 invoices, reminder 3's texts",
        "    INV-2: reminder 3, balance $250.00, 30 days overdue",
        "    INV-1: reminder 2, balance $1,000.00, 7 days overdue",
        "    INV-3: reminder 1, balance $80.50, due 2026-04-10",
        "customer C2 Bolt Inc: one message to pay@bolt.example — 1 invoice, reminder 2's texts",
        "    INV-4: reminder 2, balance $99.00, 7 days overdue",
    ]


def test_one_message_per_customer_each_invoice_marked_and_logged_and_a_rerun_sends_nothing(make_workbook, tmp_path,
                                                                                           capsys):
    import pypdf

    wb, outbox = make_workbook(tables()), tmp_path / "out"
    assert run(wb, outbox) == 0
    acme, bolt = sorted(messages(outbox), key=lambda m: m["To"])
    assert acme["To"] == "ap@acme.example" and bolt["To"] == "pay@bolt.example"
    assert acme["Subject"] == "Reminder: 3 invoices due, $1,330.50 in total"
    pdfs = list(acme.iter_attachments())
    assert [a.get_filename() for a in pdfs] == ["Invoice-INV-2.pdf", "Invoice-INV-1.pdf", "Invoice-INV-3.pdf"]
    first_page = pypdf.PdfReader(io.BytesIO(pdfs[0].get_content())).pages[0].extract_text()
    assert "INV-2" in first_page and "Repairs" in first_page and "$250.00" in first_page
    assert statuses(wb) == ["Reminder 2 sent 2026-04-07", "Reminder 3 sent 2026-04-07", "Reminder 1 sent 2026-04-07",
                            "Reminder 2 sent 2026-04-07"]
    assert {r["Last Reminder"].date() for r in sheet(wb, "Invoices")} == {d(2026, 4, 7)}
    log = [(r["Action"], r["Target"], r["Recipients"], r["Status"], r["Message ID"]) for r in sheet(wb, "Log")]
    mid = acme["Message-ID"]
    assert sorted(log) == sorted([("reminder 3", "INV-2", "ap@acme.example", "sent", mid),
                                  ("reminder 2", "INV-1", "ap@acme.example", "sent", mid),
                                  ("reminder 1", "INV-3", "ap@acme.example", "sent", mid),
                                  ("reminder 2", "INV-4", "pay@bolt.example", "sent", bolt["Message-ID"])])
    capsys.readouterr()
    assert run(wb, outbox) == 0  # the same day again
    assert len(messages(outbox)) == 2
    assert main(["reminders", "due", str(wb), "--as-of", "2026-04-07"]) == 0
    assert "No automatic reminder is due on 2026-04-07." in capsys.readouterr().out
    assert run(wb, outbox, "2026-04-08") == 0  # tomorrow: every step is known, nothing is due
    assert len(messages(outbox)) == 2


def crash_while_sending(wb: Path) -> None:
    """A run that recorded 'sending' for the grouped message and died before the server answered."""
    book = load(wb)
    plan = plan_automatic(book, Ledger.from_book(book), (), d(2026, 4, 7), attach_pdf=False)
    email_ = next(e for e in plan.emails if e.key == KEY)
    crashed = Journal.open(wb)
    assert crashed.begin(email_.key, "<x@maple.example>", email_.to, email_.on_sent)
    crashed.close()


def test_a_crash_while_sending_leaves_the_whole_message_uncertain_and_no_invoice_marked(make_workbook, tmp_path,
                                                                                        capsys):
    wb, outbox = make_workbook(tables()), tmp_path / "out"
    crash_while_sending(wb)
    assert run(wb, outbox) == 1
    out = capsys.readouterr().out
    assert (f"message {KEY} may have been sent (uncertain) — check the recipient's mailbox, then run "
            f"`receivables journal release {wb} {KEY}`") in out.splitlines()
    assert [m["To"] for m in messages(outbox)] == ["pay@bolt.example"]  # C2 is not held by C1's doubt
    assert statuses(wb) == [None, None, None, "Reminder 2 sent 2026-04-07"]
    assert run(wb, outbox, "2026-04-08") == 0  # never resent by itself, nor its invoices one by one
    assert len(messages(outbox)) == 1
    assert statuses(wb)[:3] == [None, None, None]


def test_released_the_same_message_goes_and_marks_every_invoice(make_workbook, tmp_path, capsys):
    wb, outbox = make_workbook(tables()), tmp_path / "out"
    crash_while_sending(wb)
    run(wb, outbox)
    assert main(["journal", "release", str(wb), KEY]) == 0
    assert run(wb, outbox) == 0
    assert sorted(m["To"] for m in messages(outbox)) == ["ap@acme.example", "pay@bolt.example"]
    assert statuses(wb)[:3] == ["Reminder 2 sent 2026-04-07", "Reminder 3 sent 2026-04-07",
                                "Reminder 1 sent 2026-04-07"]


def test_confirmed_every_invoice_is_marked_at_once(make_workbook, tmp_path, capsys):
    wb, outbox = make_workbook(tables()), tmp_path / "out"
    crash_while_sending(wb)
    run(wb, outbox)
    assert main(["journal", "confirm", str(wb), KEY]) == 0
    assert run(wb, outbox) == 0  # writes what the confirmation queued; sends nothing new
    assert [m["To"] for m in messages(outbox)] == ["pay@bolt.example"]
    assert statuses(wb)[:3] == ["Reminder 2 sent 2026-04-07", "Reminder 3 sent 2026-04-07",
                                "Reminder 1 sent 2026-04-07"]
    # the others' Log rows come with the message's updates; the lead's row is the sender's, which a
    # confirmation does not write (as for any confirmed message)
    assert sorted(r["Target"] for r in sheet(wb, "Log") if r["Status"] == "sent") == ["INV-1", "INV-3", "INV-4"]


def test_the_ribbon_preview_shows_the_grouping_as_reminders_due_does(make_workbook, capsys):
    from addin.excel import handlers
    from addin.excel.port import FilePort

    wb = make_workbook(tables())
    port = FilePort(wb, as_of=d(2026, 4, 7))
    assert handlers.dispatch("preview_due", port) == 0
    [(title, lines)] = port.summaries
    assert title == "Reminders due"
    assert lines[1:5] == ["customer C1 Acme Ltd: one message to ap@acme.example — 3 invoices, reminder 3's texts",
                          "    INV-2: reminder 3, balance $250.00, 30 days overdue",
                          "    INV-1: reminder 2, balance $1,000.00, 7 days overdue",
                          "    INV-3: reminder 1, balance $80.50, due 2026-04-10"]
