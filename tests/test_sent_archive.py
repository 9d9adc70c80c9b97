"""What went out: every message accepted is kept exactly as sent in sent_dir/YYYY-MM (SPEC §4)."""

from __future__ import annotations

import datetime as dt
import email
import os
import stat
from email import policy
from pathlib import Path

from openpyxl import load_workbook
from smtp_server import PASSWORD_ENV, USER, TestServer

from addin.actions import Email, LogEntry, Plan
from addin.cli import main
from addin.run import execute
from addin.workbook.reader import load

d = dt.date
NOW = dt.datetime(2026, 5, 7, 9, 15, 30, tzinfo=dt.timezone(dt.timedelta(hours=-4)))


def tables(*settings: list, customers: list | None = None) -> dict:
    return {
        "Settings": [["Key", "Value"], ["company_name", "Maple Books Ltd"], ["company_email", "billing@maple.example"],
                     ["copy_to_me", "me@maple.example"], *settings],
        "Customers": [["Customer ID", "Name", "Status", "Email", "Statement Email"],
                      *(customers or [["C-0007", "Cedar Fitness", "Active", "ap@cedar.example", ""]])],
        "Invoices": [["Invoice No", "Customer ID", "Invoice Date", "Due Date", "Amount", "Status", "Last Reminder"],
                     ["INV-1", "C-0007", d(2026, 4, 1), d(2026, 4, 30), 1000, None, None]],
        "Log": [["Time", "Action", "Target", "Recipients", "Status", "Message ID", "Detail"]],
    }


def smtp_rows(server: TestServer) -> list[list]:
    return [["mail_transport", "smtp"], ["smtp_host", server.host], ["smtp_port", server.port],
            ["smtp_security", "starttls"], ["smtp_username", USER], ["smtp_password_env", PASSWORD_ENV],
            ["smtp_max_per_minute", 0], ["smtp_ca_file", str(server.ca_file)]]


def kept(folder: Path, pattern: str = "*.eml") -> list[Path]:
    return sorted((folder / "sent").glob(f"*/{pattern}"))


def parsed(data: bytes) -> email.message.EmailMessage:
    return email.message_from_bytes(data, policy=policy.default)  # type: ignore[return-value]


def log_rows(path: Path) -> list[list]:
    return [[c.value for c in r] for r in load_workbook(path)["Log"].iter_rows(min_row=2)]


def statement_argv(wb: Path, *more: str) -> list[str]:
    return ["statements", "email", str(wb), "C-0007", "--end", "2026-05-31", "--as-of", "2026-06-01", *more]


# --- kept exactly as sent --------------------------------------------------------------------------

def test_smtp_messages_and_the_copy_to_me_are_kept_as_the_server_received_them(
        smtp_server: TestServer, make_workbook) -> None:  # noqa: ANN001
    wb = make_workbook(tables(*smtp_rows(smtp_server)))
    assert main(statement_argv(wb, "--copy-me")) == 0
    received = {m.message_id: m.data for m in smtp_server.messages}
    files = kept(wb.parent)
    assert len(received) == 2 and len(files) == 2
    assert {str(parsed(p.read_bytes())["Message-ID"]): p.read_bytes() for p in files} == received
    assert [p.name.split("_")[1:3] for p in files] in ([["statement", "C-0007"], ["statement-copy", "C-0007"]],
                                                       [["statement-copy", "C-0007"], ["statement", "C-0007"]])
    assert all(p.parent.name == p.name[:4] + "-" + p.name[4:6] for p in files)  # month of the time in the name
    assert kept(wb.parent, "*.part") == []  # nothing staged is left behind
    umask = os.umask(0)
    os.umask(umask)
    assert {stat.S_IMODE(p.stat().st_mode) for p in files} == {0o666 & ~umask}  # as any program's new file
    # a rerun sends nothing and keeps nothing new
    assert main(statement_argv(wb, "--copy-me")) == 0
    assert len(smtp_server.messages) == 2 and kept(wb.parent) == files


def test_outbox_messages_are_kept_too_as_a_separate_record(make_workbook, tmp_path: Path) -> None:  # noqa: ANN001
    wb = make_workbook(tables())
    outbox = tmp_path / "outbox"
    assert main(statement_argv(wb, "--outbox", str(outbox))) == 0
    (written,) = outbox.glob("*.eml")
    (copy,) = kept(wb.parent)
    data = written.read_bytes()
    assert copy.read_bytes() == data
    written.unlink()  # the program that picks up the outbox takes the file away: the record stays
    assert copy.read_bytes() == data
    assert main(statement_argv(wb, "--outbox", str(outbox))) == 0
    assert kept(wb.parent) == [copy]


def test_blank_sent_dir_keeps_none_and_an_absent_row_keeps_them_in_sent(make_workbook, tmp_path: Path, capsys) -> None:  # noqa: ANN001
    wb = make_workbook(tables(["sent_dir", None]))
    assert load(wb).settings.sent_dir == ""
    assert main(statement_argv(wb, "--outbox", str(tmp_path / "outbox"))) == 0
    assert not (wb.parent / "sent").exists()
    capsys.readouterr()
    assert main(["sent", str(wb)]) == 0
    assert capsys.readouterr().out == ("No copies are kept: sent_dir is blank in Settings (B5) — type a folder "
                                       "(e.g. sent) to keep a copy of every message sent from now on\n")
    other = make_workbook(tables(), name="other.xlsx")
    assert load(other).settings.sent_dir == "sent"


def test_a_refused_message_is_not_kept(smtp_server: TestServer, make_workbook) -> None:  # noqa: ANN001
    smtp_server.faults.data_replies.append("554 5.7.1 Rejected as spam")
    wb = make_workbook(tables(*smtp_rows(smtp_server)))
    assert main(statement_argv(wb)) == 1
    assert smtp_server.messages == []
    assert list((wb.parent / "sent").glob("*/*")) == []  # no .eml, and no staged .part left


def test_a_message_without_an_answer_is_kept_aside_as_uncertain(smtp_server: TestServer, make_workbook,
                                                                 capsys) -> None:  # noqa: ANN001
    smtp_server.faults.lose_answer_at_data.add(1)
    wb = make_workbook(tables(*smtp_rows(smtp_server)))
    assert main(statement_argv(wb)) == 1
    assert kept(wb.parent) == []
    (part,) = kept(wb.parent, "*.part")
    assert part.read_bytes() == smtp_server.messages[0].data  # what may have gone is still on disk
    capsys.readouterr()
    assert main(["sent", str(wb)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "No messages kept in sent"
    assert out[1].startswith(f"uncertain: {part.relative_to(wb.parent)} — handed to the mail server at ")
    # released and sent again: kept, and the uncertain bytes go
    key = next(line.split()[4] for line in _journal(wb, capsys) if "uncertain" in line)
    assert main(["journal", "release", str(wb), key]) == 0
    assert main(statement_argv(wb)) == 0
    assert len(kept(wb.parent)) == 1 and kept(wb.parent, "*.part") == []


def test_an_uncertain_message_confirmed_as_arrived_is_listed_as_sent(smtp_server: TestServer, make_workbook,
                                                                      capsys) -> None:  # noqa: ANN001
    smtp_server.faults.lose_answer_at_data.add(1)
    wb = make_workbook(tables(*smtp_rows(smtp_server)))
    assert main(statement_argv(wb)) == 1
    key = next(line.split()[4] for line in _journal(wb, capsys) if "uncertain" in line)
    assert main(["journal", "confirm", str(wb), key]) == 0
    (part,) = kept(wb.parent, "*.part")
    capsys.readouterr()
    assert main(["sent", str(wb)]) == 0
    (line,) = capsys.readouterr().out.splitlines()
    assert line.split("  ")[1:] == ["statement", "C-0007", "ap@cedar.example",
                                    "Statement from Maple Books Ltd as of May 31, 2026", str(part.relative_to(wb.parent))]


def _journal(wb: Path, capsys) -> list[str]:  # noqa: ANN001
    capsys.readouterr()
    main(["journal", "list", str(wb)])
    return capsys.readouterr().out.splitlines()


def test_a_sent_folder_that_cannot_be_written_never_stops_the_message(make_workbook, tmp_path: Path,
                                                                       capsys) -> None:  # noqa: ANN001
    wb = make_workbook(tables(["sent_dir", "blocked/sent"]))
    (wb.parent / "blocked").write_text("a file where the folder should be")
    outbox = tmp_path / "outbox"
    assert main(statement_argv(wb, "--outbox", str(outbox))) == 1
    assert len(list(outbox.glob("*.eml"))) == 1  # the message went
    out = capsys.readouterr().out
    assert (f"1 message(s) were sent but no copy was kept in the sent folder: {wb.parent / 'blocked' / 'sent'} "
            "(Not a directory) — check that the folder can be written and the disk has room (Settings sent_dir); "
            "the Log rows of these messages say so") in out
    (row,) = log_rows(wb)
    assert row[4] == "sent"
    assert row[6].endswith(f"; no copy kept in the sent folder: {wb.parent / 'blocked' / 'sent'} (Not a directory)")


# --- the Log says what was sent --------------------------------------------------------------------

def test_log_detail_carries_the_subject(make_workbook, tmp_path: Path) -> None:  # noqa: ANN001
    wb = make_workbook(tables())
    assert main(["reminders", "send", str(wb), "INV-1", "--subject", "About {{ invoice.number }}",
                 "--as-of", "2026-05-07", "--outbox", str(tmp_path / "outbox")]) == 0
    assert main(statement_argv(wb, "--outbox", str(tmp_path / "outbox"))) == 0
    rows = log_rows(wb)
    assert [(r[1], r[6]) for r in rows] == [
        ("manual reminder", 'C-0007 · balance $1,000.00 · subject "About INV-1"'),
        ("statement email", 'Outstanding 2026-05-31..2026-05-31 · subject "Statement from Maple Books Ltd as of '
                            'May 31, 2026"'),
    ]


# --- a copy says whose ------------------------------------------------------------------------------

def test_the_copy_to_me_says_which_customer_it_copies_and_the_original_does_not(make_workbook,
                                                                                 tmp_path: Path) -> None:  # noqa: ANN001
    wb = make_workbook(tables())
    outbox = tmp_path / "outbox"
    assert main(statement_argv(wb, "--copy-me", "--outbox", str(outbox))) == 0
    by_to = {m["To"]: m for m in (parsed(p.read_bytes()) for p in outbox.glob("*.eml"))}
    original, copy = by_to["ap@cedar.example"], by_to["me@maple.example"]
    assert original["Subject"] == "Statement from Maple Books Ltd as of May 31, 2026"
    assert copy["Subject"] == "[Copy — C-0007 Cedar Fitness] Statement from Maple Books Ltd as of May 31, 2026"
    banner = "Copy of the message sent to C-0007 Cedar Fitness (ap@cedar.example)."
    assert copy.get_body(("plain",)).get_content().startswith(banner + "\r\n\r\nDear Cedar Fitness,")
    assert banner in copy.get_body(("html",)).get_content()
    for part in ("plain", "html"):
        assert "Copy of the message" not in original.get_body((part,)).get_content()
    rows = log_rows(wb)
    assert [(r[1], r[6].rpartition(" · ")[2]) for r in rows] == [
        ("statement email", 'subject "Statement from Maple Books Ltd as of May 31, 2026"'),
        ("statement email (copy)", 'subject "[Copy — C-0007 Cedar Fitness] Statement from Maple Books Ltd as of '
                                   'May 31, 2026"')]


# --- receivables sent ------------------------------------------------------------------------------

def _mail(key: str, customer: str, subject: str, to: str) -> Email:
    return Email(key=key, to=(to,), subject=subject, text="Hello", html="<p>Hello</p>",
                 log=LogEntry("x", customer), customer=customer)


def _sent_at(wb: Path, when: dt.datetime, *emails: Email) -> None:
    report = execute(Plan(emails=emails), load(wb), outbox=wb.parent / "outbox", now=when)
    assert [r.state for r in report.results] == ["sent"] * len(emails)


def test_sent_lists_what_went_out_with_filters(make_workbook, capsys) -> None:  # noqa: ANN001
    wb = make_workbook(tables(customers=[["C-0007", "Cedar Fitness", "Active", "ap@cedar.example", ""],
                                         ["C-0009", "Pine Co", "Active", "pay@pine.example", ""]]))
    _sent_at(wb, dt.datetime(2026, 4, 30, 23, 59, 58),
             _mail("reminder:INV-1:1", "C-0007", "Invoice INV-1 is due", "ap@cedar.example"))
    _sent_at(wb, dt.datetime(2026, 5, 1, 8, 0, 0),
             _mail("statement:C-0007:2026-04-01..2026-04-30", "C-0007", "Your April statement", "ap@cedar.example"),
             _mail("statement:C-0009:2026-04-01..2026-04-30", "C-0009", "Your April statement", "pay@pine.example"))
    _sent_at(wb, dt.datetime(2026, 5, 20, 14, 5, 0),
             _mail("group:Gym:2026-05-20:C-0007", "C-0007", "We moved", "ap@cedar.example"))
    capsys.readouterr()

    def sent(*args: str) -> list[str]:
        assert main(["sent", str(wb), *args]) == 0
        return capsys.readouterr().out.splitlines()

    everything = sent()
    assert [line.split("  ")[:5] for line in everything] == [
        ["2026-04-30 23:59:58", "reminder", "C-0007", "ap@cedar.example", "Invoice INV-1 is due"],
        ["2026-05-01 08:00:00", "statement", "C-0007", "ap@cedar.example", "Your April statement"],
        ["2026-05-01 08:00:00", "statement", "C-0009", "pay@pine.example", "Your April statement"],
        ["2026-05-20 14:05:00", "group", "C-0007", "ap@cedar.example", "We moved"],
    ]
    first = everything[0].split("  ")[5]
    assert first.startswith("sent/2026-04/20260430-235958_reminder_C-0007_") and (wb.parent / first).is_file()
    may_cedar = sent("--customer", "c-0007", "--since", "2026-05-01", "--until", "2026-05-31")
    assert [line[:19] for line in may_cedar] == ["2026-05-01 08:00:00", "2026-05-20 14:05:00"]
    assert [line.split("  ")[2] for line in sent("--kind", "statement")] == ["C-0007", "C-0009"]
    assert sent("--until", "2026-04-30") == everything[:1]
    assert sent("--customer", "C-0042") == ["No messages kept in sent that match"]
    from addin.journal import journal_path

    journal_path(wb).unlink()  # the files alone are the record
    assert sent() == everything


def test_sent_refuses_a_bad_date_as_usage(make_workbook, capsys) -> None:  # noqa: ANN001
    wb = make_workbook(tables())
    try:
        main(["sent", str(wb), "--since", "May 1"])
    except SystemExit as exc:
        assert exc.code == 2
    else:
        raise AssertionError("a bad date is a usage error")
    assert 'argument --since: "May 1" is not a date — write it as YYYY-MM-DD, e.g. 2026-03-31' in capsys.readouterr().err


def test_the_daemon_files_messages_under_the_workbooks_month_not_utcs(make_workbook) -> None:  # noqa: ANN001
    from addin.daemon import Daemon

    t = tables(["timezone", "America/Toronto"], ["reminders_enabled", True], ["reminder_check_times", "22:00"],
               ["mail_transport", "outbox"])
    t["Reminders"] = [["Reminder", "Enabled", "Days", "When", "Subject", "Greeting", "Salutation", "Message"],
                      [1, True, 0, "After", None, True, None, None]]
    wb = make_workbook(t)
    # 2026-05-01 02:30 UTC is 2026-04-30 22:30 in Toronto: the check of April 30, filed in April
    daemon = Daemon([wb], clock=lambda: dt.datetime(2026, 5, 1, 2, 30, tzinfo=dt.UTC))
    daemon.start()
    try:
        daemon.poll()
    finally:
        daemon.close()
    (copy,) = kept(wb.parent)
    assert copy.parent.name == "2026-04" and copy.name.startswith("20260430-2230")
    assert log_rows(wb)[0][0] == dt.datetime(2026, 4, 30, 22, 30)


# --- the archive's files ---------------------------------------------------------------------------

def test_a_file_system_without_hard_links_gets_a_copy_and_a_second_send_in_the_same_second_its_own_name(
        tmp_path: Path, monkeypatch) -> None:  # noqa: ANN001
    from addin.mail.archive import Archive, listing

    source = tmp_path / "outbox.eml"
    source.write_bytes(b"Subject: Hi\r\nTo: a@x.example\r\n\r\nbody\r\n")
    archive = Archive(tmp_path / "sent")
    when = dt.datetime(2026, 5, 7, 9, 15, 30)
    first = archive.keep_file(when, "group:Gym:t:C.7", "C.7", source, source.read_bytes())
    assert os.path.samefile(first, source)  # linked: the bytes are written once

    def no_links(src, dst):  # noqa: ANN001, ANN202
        raise OSError(95, "Operation not supported")

    monkeypatch.setattr(os, "link", no_links)
    second = archive.keep_file(when, "group:Gym:t:C.7", "C.7", source, source.read_bytes())
    assert second.name == first.name[:-4] + "-2.eml"
    assert not os.path.samefile(second, source) and second.read_bytes() == source.read_bytes()
    assert [(k.kind, k.customer, k.path) for k in listing(tmp_path / "sent", customer="C.7")] == [
        ("group", "C.7", first), ("group", "C.7", second)]
    assert list((tmp_path / "sent" / "2026-05").glob("*.part")) == []


def test_a_reminder_for_several_invoices_is_kept_as_one_reminder_of_its_customer(make_workbook, capsys) -> None:  # noqa: ANN001
    t = tables(["reminders_enabled", True], ["reminder_grouping", "customer"])
    t["Invoices"].append(["INV-2", "C-0007", d(2026, 4, 2), d(2026, 4, 30), 500, None, None])
    t["Reminders"] = [["Reminder", "Enabled", "Days", "When"], [1, True, 7, "After"]]
    wb = make_workbook(t)
    assert main(["reminders", "run", str(wb), "--as-of", "2026-05-07"]) == 0
    capsys.readouterr()
    assert main(["sent", str(wb), "--kind", "reminder", "--customer", "C-0007"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 1 and lines[0].split("  ")[1:3] == ["reminder", "C-0007"]
