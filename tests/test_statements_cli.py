"""`receivables statements export|email|run` end to end: a real workbook, the real CLI, .eml files."""

from __future__ import annotations

import datetime as dt
import email
import io
from email import policy
from pathlib import Path

from addin.cli import main

d = dt.date


def tables(**extra: list) -> dict:
    base = {
        "Settings": [["Key", "Value"], ["company_name", "Maple Books Ltd"], ["company_email", "billing@maple.example"],
                     ["copy_to_me", "me@maple.example"]],
        "Customers": [["Customer ID", "Name", "Status", "Email", "Statement Email", "Language"],
                      ["C1", "Maple Café", "Active", "ap@cafe.example", "", ""],
                      ["C2", "Bistro Lune", "Active", "b@bistro.example", "ar@bistro.example", "fr"]],
        "Invoices": [["Invoice No", "Customer ID", "Invoice Date", "Due Date", "Amount"],
                     ["INV-1", "C1", d(2026, 5, 1), d(2026, 5, 31), 100],
                     ["INV-2", "C2", d(2026, 5, 2), d(2026, 6, 1), 250.5]],
        "Payments": [["Payment ID", "Customer ID", "Date", "Amount", "Type", "Invoice No"],
                     ["P1", "C1", d(2026, 5, 10), 40, "Payment", "INV-1"]],
    }
    base.update(extra)
    return base


def messages(outbox: Path) -> list[email.message.EmailMessage]:
    return [email.message_from_bytes(p.read_bytes(), policy=policy.default)  # type: ignore[misc]
            for p in sorted(outbox.glob("*.eml"))]


def attachments(msg: email.message.EmailMessage) -> list[str]:
    return [p.get_filename() for p in msg.iter_attachments()]


# --- export ----------------------------------------------------------------------------------------

def test_export_pdf_into_the_statements_folder_beside_the_workbook(make_workbook, capsys):
    import pypdf
    wb = make_workbook(tables())
    assert main(["statements", "export", str(wb), "C1", "--end", "2026-05-31"]) == 0
    path = Path(capsys.readouterr().out.strip())
    assert path == wb.parent / "statements" / "Statement-C1-2026-05-31.pdf"
    text = pypdf.PdfReader(io.BytesIO(path.read_bytes())).pages[0].extract_text()
    assert "Maple Café" in text and "INV-1" in text and "$60.00" in text


def test_export_activity_csv_to_a_folder(make_workbook, tmp_path, capsys):
    wb = make_workbook(tables())
    out = tmp_path / "out"
    assert main(["statements", "export", str(wb), "C1", "--end", "2026-05-31", "--type", "activity",
                 "--format", "csv", "--out", str(out)]) == 0
    path = Path(capsys.readouterr().out.strip())
    assert path == out / "Statement-C1-2026-05-31.csv"
    assert path.read_bytes().decode("utf-8-sig").splitlines() == [
        "Date,Type,Number,Reference,Due Date,Amount,Balance",
        "2026-05-01,Opening Balance,,,,,0.00",
        "2026-05-01,Invoice,INV-1,,2026-05-31,100.00,100.00",
        "2026-05-10,Payment,P1,INV-1,,-40.00,60.00",
        "2026-05-31,Closing Balance,,,,,60.00",
    ]


def test_export_refuses_a_customer_whose_rows_have_errors(make_workbook, capsys):
    t = tables()
    t["Invoices"].append(["INV-3", "C1", d(2026, 5, 3), d(2026, 6, 2), "abc"])
    wb = make_workbook(t)
    assert main(["statements", "export", str(wb), "C1", "--end", "2026-05-31"]) == 1
    out = capsys.readouterr().out
    assert out.splitlines()[:2] == [  # the workbook's error, then what it holds
        'Invoices!E4: amount "abc" is not an amount — type it as a number, e.g. 1234.56',
        "Customers!A2: no statement for C1 — Invoices!E4 has an error — correct those cells "
        "(see `receivables check`), then run again"]
    assert not (wb.parent / "statements").exists()


def test_export_unknown_customer_and_missing_workbook(make_workbook, tmp_path, capsys):
    wb = make_workbook(tables())
    assert main(["statements", "export", str(wb), "C9", "--end", "2026-05-31"]) == 1
    assert 'no customer "C9" on the Customers sheet' in capsys.readouterr().out
    assert main(["statements", "export", str(tmp_path / "nope.xlsx"), "C1", "--end", "2026-05-31"]) == 2


# --- email -----------------------------------------------------------------------------------------

def test_email_goes_to_the_statement_email_with_cc_and_a_separate_copy(make_workbook, tmp_path):
    wb = make_workbook(tables())
    outbox = tmp_path / "outbox"
    argv = ["statements", "email", str(wb), "C2", "--end", "2026-05-31", "--cc", "boss@bistro.example",
            "--copy-me", "--as-of", "2026-06-01", "--outbox", str(outbox)]
    main(argv)
    sent = messages(outbox)
    assert sorted((m["To"], m["Cc"]) for m in sent) == [("ar@bistro.example", "boss@bistro.example"),
                                                       ("me@maple.example", None)]
    for m in sent:
        copy = "[Copy — C2 Bistro Lune] " if m["To"] == "me@maple.example" else ""  # only the copy says whose
        assert m["Subject"] == copy + "Relevé de compte de Maple Books Ltd au 31 mai 2026"
        assert attachments(m) == ["Statement-C2-2026-05-31.pdf"]
        assert "Le solde dû est de 250,50 $." in m.get_body(("plain",)).get_content()
    main(argv)  # the same command the same day sends nothing new
    assert len(messages(outbox)) == 2


def test_email_to_and_message_override(make_workbook, tmp_path):
    wb = make_workbook(tables())
    outbox = tmp_path / "outbox"
    main(["statements", "email", str(wb), "C1", "--end", "2026-05-31", "--to", "x@cafe.example; y@cafe.example",
          "--message", "Hi {{ customer.name }}, you owe {{ statement.balance }}.", "--as-of", "2026-06-01",
          "--outbox", str(outbox)])
    (m,) = messages(outbox)
    assert m["To"] == "x@cafe.example, y@cafe.example"
    assert m.get_body(("plain",)).get_content().startswith("Hi Maple Café, you owe $60.00.")


# --- run -------------------------------------------------------------------------------------------

def test_run_sends_scheduled_statements_once_per_period(make_workbook, tmp_path):
    schedules = [["Customer ID", "Group", "Enabled", "Day", "Type", "Attach CSV", "Exclude Zero Balance"],
                 ["C1", "", True, 1, "Activity", True, True],
                 ["C2", "", False, 1, "", False, True]]
    wb = make_workbook(tables(**{"Statement Schedules": schedules}))
    outbox = tmp_path / "outbox"
    assert main(["statements", "run", str(wb), "--as-of", "2026-05-31", "--outbox", str(outbox)]) == 0
    assert messages(outbox) == []
    main(["statements", "run", str(wb), "--as-of", "2026-06-01", "--outbox", str(outbox)])
    (m,) = messages(outbox)
    assert m["To"] == "ap@cafe.example"
    assert attachments(m) == ["Statement-C1-2026-05-31.pdf", "Statement-C1-2026-05-31.csv"]
    main(["statements", "run", str(wb), "--as-of", "2026-06-03", "--outbox", str(outbox)])
    assert len(messages(outbox)) == 1


def test_run_writes_last_sent_back(make_workbook, tmp_path):
    from openpyxl import load_workbook

    schedules = [["Customer ID", "Group", "Enabled", "Day", "Last Sent"], ["C1", "", True, 10, None]]
    wb = make_workbook(tables(**{"Statement Schedules": schedules}))
    assert main(["statements", "run", str(wb), "--as-of", "2026-06-12", "--outbox", str(tmp_path / "o")]) == 0
    ws = load_workbook(wb)["Statement Schedules"]
    value = ws["E2"].value
    assert (value.date() if isinstance(value, dt.datetime) else value) == d(2026, 6, 12)


def test_progress_bar_only_on_a_terminal():
    from addin.commands.statements import Progress

    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    tty, pipe = Tty(), io.StringIO()
    for stream in (tty, pipe):
        bar = Progress("statements", stream, lines=Tty())
        bar(1, 4)
        bar(4, 4)
    assert pipe.getvalue() == ""
    assert "\rstatements [##############################] 4/4" in tty.getvalue()
    assert tty.getvalue().endswith("/s)\n")


def test_run_reports_schedule_rows_it_cannot_use(make_workbook, tmp_path, capsys):
    schedules = [["Customer ID", "Group", "Enabled", "Day"], ["C1", "", True, 1], ["", "", True, 1]]
    wb = make_workbook(tables(**{"Statement Schedules": schedules}))
    assert main(["statements", "run", str(wb), "--as-of", "2026-06-01", "--outbox", str(tmp_path / "o")]) == 1
    out = capsys.readouterr().out
    assert "'Statement Schedules'!A3: " in out
    assert len(messages(tmp_path / "o")) == 1  # the good row still runs
