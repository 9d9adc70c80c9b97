"""The executor: journal, exactly-once sending, updates + Log rows in one write, uncertain reports."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
from collections.abc import Sequence
from pathlib import Path

import pytest
from smtp_server import TestServer

from addin.actions import AppendRows, Email, LogEntry, Plan, SetCells, Update
from addin.journal import Journal
from addin.mail.message import build_message
from addin.mail.sender import Policy
from addin.mail.transport import OutboxTransport
from addin.model import Book, Settings
from addin.problems import notice
from addin.run import execute
from addin.workbook.store import StoreResult

NOW = dt.datetime(2026, 3, 28, 9, 30, tzinfo=dt.timezone(dt.timedelta(hours=-4)))
SETTINGS = Settings(company_name="Maple Books Ltd", company_email="billing@maple.example", cells={"company_email": "B3"})



class FakeStore:
    """A writer (``run.Writer``) that records: applies pending updates unless 'open in Excel'."""

    def __init__(self) -> None:
        self.open_in_excel = False
        self.written: list = []
        self.calls = 0

    def __call__(self, path: Path, journal: Journal, *, keep_backups: int, derived: Sequence[Update]) -> StoreResult:
        self.calls += 1
        if self.open_in_excel:
            n = len(journal.pending_updates())
            return StoreResult(deferred=True, problems=[notice("", "", f"open: {n} wait")])
        pending = journal.pending_updates()
        self.written.extend([*(u for _, u in pending), *derived])
        journal.mark_updates_applied([i for i, _ in pending])
        return StoreResult(written=True)


def reminder(n: int, **kw: object) -> Email:
    base: dict = dict(key=f"reminder:INV-{n}:1", to=(f"c{n}@customer.example",), subject=f"Invoice INV-{n}",
                      text="Hello", html="<p>Hello</p>", log=LogEntry("reminder 1", f"INV-{n}"),
                      on_sent=(SetCells("Invoices", "Invoice No", f"INV-{n}", (("Status", "Reminder 1 sent 2026-03-28"),
                                                                             ("Last Reminder", dt.date(2026, 3, 28)))),))
    base.update(kw)
    return Email(**base)


@pytest.fixture
def book(tmp_path: Path) -> Book:
    return Book(settings=SETTINGS, path=tmp_path / "book.xlsx")


def test_outbox_run_sends_then_writes_plan_updates_on_sent_and_log_rows_in_one_write(book: Book, tmp_path: Path) -> None:
    store = FakeStore()
    refresh = SetCells("Customers", "Customer ID", "C1", (("Balance", 100.0),))
    plan = Plan(emails=(reminder(1), reminder(2)), updates=(refresh,),
                logs=(LogEntry("reminder 1", "INV-3", "reminder 2 sent instead", status="skipped"),), lines=("2 reminders due",))
    report = execute(plan, book, outbox=tmp_path / "out", now=NOW, writer=store)
    assert [r.state for r in report.sent] == ["sent", "sent"]
    assert store.calls == 1 and report.written and not report.deferred
    assert store.written[0] == refresh
    logs = [u for u in store.written if isinstance(u, AppendRows)]
    assert [dict(u.rows[0])["Status"] for u in logs] == ["skipped", "sent", "sent"]
    first = dict(logs[1].rows[0])
    assert first["Time"] == dt.datetime(2026, 3, 28, 9, 30) and first["Target"] == "INV-1"
    assert first["Message ID"] == report.sent[0].message_id
    assert [u.key for u in store.written if isinstance(u, SetCells) and u.sheet == "Invoices"] == ["INV-1", "INV-2"]
    emls = sorted((tmp_path / "out").glob("*.eml"))
    assert len(emls) == 2
    parsed = email.message_from_bytes(emls[0].read_bytes(), policy=email.policy.default)
    assert parsed["To"] == "c1@customer.example"
    assert report.lines == ["2 reminders due", f"Sending 2 message(s) to the outbox folder {tmp_path / 'out'}",
                            "Messages: 2 sent", "The workbook was updated."]
    assert report.problems == []


def test_running_the_same_plan_twice_sends_nothing_new(book: Book, tmp_path: Path) -> None:
    plan = Plan(emails=(reminder(1),))
    execute(plan, book, outbox=tmp_path / "out", now=NOW, writer=FakeStore())
    second = execute(plan, book, outbox=tmp_path / "out", now=NOW, writer=FakeStore())
    assert second.sent == [] and [r.state for r in second.skipped] == ["skipped"]
    assert len(list((tmp_path / "out").glob("*.eml"))) == 1


def test_an_open_workbook_defers_the_write_and_the_next_run_writes_everything(book: Book, tmp_path: Path) -> None:
    store = FakeStore()
    store.open_in_excel = True
    report = execute(Plan(emails=(reminder(1),)), book, outbox=tmp_path / "out", now=NOW, writer=store)
    assert report.sent and report.deferred and not report.written
    assert report.lines[-1] == "The workbook is open: its updates wait in the journal for the next run."
    assert store.written == []
    store.open_in_excel = False
    later = execute(Plan(), book, outbox=tmp_path / "out", now=NOW, writer=store)
    assert later.written
    assert [type(u).__name__ for u in store.written] == ["SetCells", "AppendRows"]


def test_a_message_left_in_flight_by_a_crash_is_reported_uncertain_and_not_resent(book: Book, tmp_path: Path) -> None:
    crashed = Journal.open(book.path)
    crashed.begin("reminder:INV-1:1", "<x@maple.example>", ["c1@customer.example"])
    crashed.close()
    report = execute(Plan(emails=(reminder(1),)), book, outbox=tmp_path / "out", now=NOW, writer=FakeStore())
    assert report.sent == [] and report.uncertain == ["reminder:INV-1:1"]
    assert [str(p) for p in report.problems] == [
        "message reminder:INV-1:1 may have been sent (uncertain) — check the recipient's mailbox, then run "
        f"`receivables journal release {book.path} reminder:INV-1:1`"]
    assert list((tmp_path / "out").glob("*.eml")) == []


def test_after_a_crash_a_message_the_outbox_holds_whole_is_recorded_sent_and_the_others_stay_uncertain(
        book: Book, tmp_path: Path) -> None:
    """A run stopped after writing its files and before recording them: a file that is there, whole,
    with the message's Message-ID, proves it was handed over; one cut short or gone proves nothing."""
    outbox = OutboxTransport(tmp_path / "out")
    crashed = Journal.open(book.path)
    for n in (1, 2, 3):
        msg = build_message(reminder(n), SETTINGS, now=NOW, base_dir=tmp_path)
        crashed.begin(f"reminder:INV-{n}:1", str(msg["Message-ID"]), [f"c{n}@customer.example"], reminder(n).on_sent)
        if n < 3:  # the third was never written
            outbox.send(msg, SETTINGS.company_email, [f"c{n}@customer.example"], f"reminder:INV-{n}:1")
    crashed.close()
    [cut] = (tmp_path / "out").glob("*INV-2*.eml")
    cut.write_bytes(cut.read_bytes()[:-40])  # a power cut before the disk had all of it
    store = FakeStore()
    report = execute(Plan(), book, outbox=tmp_path / "out", now=NOW, writer=store)
    with Journal.open(book.path) as journal:
        assert [journal.state(f"reminder:INV-{n}:1") for n in (1, 2, 3)] == ["sent", "uncertain", "uncertain"]
    assert report.uncertain == ["reminder:INV-2:1", "reminder:INV-3:1"]
    assert "reminder:INV-1:1: found whole in the outbox after a run stopped — recorded as sent" in report.lines
    assert [u.key for u in store.written if isinstance(u, SetCells)] == ["INV-1"]  # its Status written
    assert [str(p).split(" — ")[0] for p in report.problems] == [
        "message reminder:INV-2:1 may have been sent (uncertain)", "message reminder:INV-3:1 may have been sent (uncertain)"]


def test_a_file_of_another_message_under_the_name_proves_nothing(book: Book, tmp_path: Path) -> None:
    outbox = OutboxTransport(tmp_path / "out")
    crashed = Journal.open(book.path)
    crashed.begin("reminder:INV-1:1", "<other@maple.example>", ["c1@customer.example"])
    outbox.send(build_message(reminder(1), SETTINGS, now=NOW, base_dir=tmp_path), SETTINGS.company_email,
                ["c1@customer.example"], "reminder:INV-1:1")
    crashed.close()
    report = execute(Plan(), book, outbox=tmp_path / "out", now=NOW, writer=FakeStore())
    assert report.uncertain == ["reminder:INV-1:1"]


def test_no_company_email_names_the_settings_cell_and_sends_nothing(tmp_path: Path) -> None:
    book = Book(settings=Settings(company_name="Maple", cells={"company_email": "B3"}), path=tmp_path / "book.xlsx")
    report = execute(Plan(emails=(reminder(1),)), book, outbox=tmp_path / "out", now=NOW, writer=FakeStore())
    assert [str(p) for p in report.problems] == [
        "Settings!B3: company_email is empty: messages need a sender address — type the address messages are "
        "sent from in Settings (company_email)"]
    assert report.sent == [] and not (tmp_path / "out").exists()


def test_a_refused_message_is_a_problem_with_the_server_words(book: Book, smtp_server: TestServer) -> None:
    smtp_server.faults.data_replies.append("550 5.1.1 Mailbox does not exist")
    smtp_book = Book(settings=smtp_server.settings(), path=book.path)
    store = FakeStore()
    report = execute(Plan(emails=(reminder(1), reminder(2))), smtp_book, outbox=None, now=NOW, writer=store,
                     policy=Policy(sleep=lambda s: None))
    assert [r.state for r in report.results] == ["failed", "sent"]
    assert str(report.problems[0]) == (
        "message reminder:INV-1:1 to c1@customer.example was not sent: the message was refused: 550 5.1.1 Mailbox "
        "does not exist — correct the address and run the command again (a refused message is not retried "
        f"automatically), or run `receivables journal release {book.path} reminder:INV-1:1`")
    statuses = [dict(u.rows[0])["Status"] for u in store.written if isinstance(u, AppendRows)]
    assert statuses == ["failed", "sent"]


def test_smtp_settings_that_cannot_work_send_nothing_and_say_why(book: Book, smtp_server: TestServer,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RECEIVABLES_TEST_SMTP_PASSWORD")
    smtp_book = Book(settings=smtp_server.settings(), path=book.path)
    report = execute(Plan(emails=(reminder(1), reminder(2))), smtp_book, outbox=None, now=NOW, writer=FakeStore())
    assert [r.state for r in report.results] == ["retry", "retry"]
    (problem,) = report.problems
    assert str(problem).startswith("2 message(s) were not sent: no SMTP password for robot@maple.example")
    assert smtp_server.messages == []


def test_preview_sends_nothing_but_writes_the_plan_updates(book: Book, tmp_path: Path) -> None:
    store = FakeStore()
    refresh = SetCells("Customers", "Customer ID", "C1", (("Balance", 100.0),))
    report = execute(Plan(emails=(reminder(1),), updates=(refresh,)), book, outbox=tmp_path / "out", now=NOW,
                     send=False, writer=store)
    assert report.results == [] and store.written == [refresh]
    assert not (tmp_path / "out").exists()


def test_end_to_end_the_workbook_gets_status_and_log_rows(make_workbook, tmp_path: Path) -> None:  # noqa: ANN001
    from openpyxl import load_workbook

    from addin.workbook.reader import load

    path = make_workbook({
        "Customers": [["Customer ID", "Name", "Status", "Email"], ["C1", "Ann Co", "Active", "ann@customer.example"]],
        "Invoices": [["Invoice No", "Customer ID", "Invoice Date", "Due Date", "Amount", "Status", "Last Reminder"],
                     ["INV-1", "C1", dt.date(2026, 3, 1), dt.date(2026, 3, 31), 1000, None, None]],
        "Log": [["Time", "Action", "Target", "Recipients", "Status", "Message ID", "Detail"]],
    })
    book = load(path)
    report = execute(Plan(emails=(reminder(1, to=("ann@customer.example",)),)), book, outbox=tmp_path / "out", now=NOW)
    assert report.written, [str(p) for p in report.problems]
    wb = load_workbook(path)
    assert [c.value for c in wb["Invoices"][2]][5] == "Reminder 1 sent 2026-03-28"
    log = [[c.value for c in r] for r in wb["Log"].iter_rows(min_row=2)]
    assert [(r[1], r[2], r[3], r[4]) for r in log] == [("reminder 1", "INV-1", "ann@customer.example", "sent")]
    again = execute(Plan(emails=(reminder(1, to=("ann@customer.example",)),)), load(path), outbox=tmp_path / "out",
                    now=NOW)
    assert again.sent == []
    assert len(list((tmp_path / "out").glob("*.eml"))) == 1


def test_journal_commands_list_and_release(book: Book, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from addin.cli import main

    with Journal.open(book.path) as j:
        j.begin("reminder:INV-9:2", "<m@x>", ["z@customer.example"])
        j.mark_uncertain("reminder:INV-9:2", "the connection was lost after the message was handed over")
    assert main(["journal", "list", str(book.path)]) == 0
    out = capsys.readouterr().out
    assert "uncertain" in out and "reminder:INV-9:2" in out and "z@customer.example" in out
    assert main(["journal", "release", str(book.path), "reminder:INV-9:2"]) == 0
    assert capsys.readouterr().out == "reminder:INV-9:2: released (was uncertain) — the next run that plans it sends it again\n"
    assert main(["journal", "release", str(book.path), "reminder:INV-9:2"]) == 1
    assert capsys.readouterr().out == ("error: message reminder:INV-9:2 is released, not uncertain — there is "
                                       "nothing to release\n")
    assert main(["journal", "list", str(tmp_path / "other.xlsx")]) == 2
