"""Exactly-once sending against a real SMTP server with faults injected."""

from __future__ import annotations

import collections
import datetime as dt
from pathlib import Path

import pytest
from smtp_server import TestServer

from addin.actions import Email, LogEntry, SetCells
from addin.journal import Journal
from addin.mail.sender import Policy, send_all
from addin.mail.transport import SmtpTransport, smtp_password

NOW = dt.datetime(2026, 3, 28, 9, 30, tzinfo=dt.UTC)



def mail(n: int, **kw: object) -> Email:
    base: dict = dict(key=f"reminder:INV-{n}:1", to=(f"c{n}@customer.example",), subject=f"Invoice INV-{n}",
                      text="Hello", html="<p>Hello</p>", log=LogEntry("reminder 1", f"INV-{n}"),
                      on_sent=(SetCells("Invoices", "Invoice No", f"INV-{n}", (("Status", "Reminder 1 sent"),)),))
    base.update(kw)
    return Email(**base)


class Waits:
    def __init__(self) -> None:
        self.slept: list[float] = []

    def policy(self) -> Policy:
        return Policy(sleep=self.slept.append, random=lambda: 0.5)


@pytest.fixture
def journal(tmp_path: Path):
    with Journal.open(tmp_path / "book.xlsx") as j:
        yield j


def run(server: TestServer, journal: Journal, emails: list[Email], waits: Waits | None = None, **settings: object):
    s = server.settings(**settings)
    with SmtpTransport(s, smtp_password(s)) as transport:
        return send_all(emails, s, journal, transport, now=NOW, policy=(waits or Waits()).policy())


def test_each_message_is_sent_once_and_a_second_run_sends_nothing(smtp_server: TestServer, journal: Journal) -> None:
    emails = [mail(i) for i in range(3)]
    assert [r.state for r in run(smtp_server, journal, emails)] == ["sent"] * 3
    assert [r.state for r in run(smtp_server, journal, emails)] == ["skipped"] * 3
    assert len(smtp_server.messages) == 3
    assert {journal.state(e.key) for e in emails} == {"sent"}


def test_451_twice_then_accepted_is_retried_with_backoff_and_sent_once(smtp_server: TestServer, journal: Journal) -> None:
    smtp_server.faults.data_replies.extend(["451 4.3.0 Try again later", "451 4.3.0 Try again later"])
    waits = Waits()
    (result,) = run(smtp_server, journal, [mail(1)], waits)
    assert result.state == "sent"
    assert len(smtp_server.messages) == 1 and smtp_server.handler.datas == 3
    assert waits.slept == [0.75, 1.5]  # 1 s then 2 s, times the jitter (0.5 + 0.5/2)
    assert journal.record(result.key).attempts == 3


def test_550_fails_with_the_server_words_and_is_not_retried(smtp_server: TestServer, journal: Journal) -> None:
    smtp_server.faults.data_replies.append("550 5.1.1 Mailbox does not exist")
    waits = Waits()
    (result,) = run(smtp_server, journal, [mail(1)], waits)
    assert (result.state, result.error) == ("failed", "the message was refused: 550 5.1.1 Mailbox does not exist")
    assert waits.slept == [] and smtp_server.handler.datas == 1
    record = journal.record(result.key)
    assert (record.state, record.permanent, record.last_error) == ("failed", True, result.error)
    (again,) = run(smtp_server, journal, [mail(1)])
    assert again.state == "failed" and again.error.startswith("refused earlier: ")
    assert smtp_server.handler.datas == 1  # not tried again
    (fixed,) = run(smtp_server, journal, [mail(1, to=("right@customer.example",))])
    assert fixed.state == "sent"  # a corrected address is tried


def test_server_down_leaves_the_batch_for_the_next_run(tmp_path: Path, journal: Journal,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    server = TestServer(tmp_path / "srv")  # not started yet
    monkeypatch.setenv("RECEIVABLES_TEST_SMTP_PASSWORD", "s3cret-Pa55word-never-written")
    waits = Waits()
    results = run(server, journal, [mail(i) for i in range(3)], waits)
    assert {r.state for r in results} == {"retry"}
    assert "could not be reached" in results[0].error
    assert len(waits.slept) == 3  # bounded: 4 tries of the connection, then the batch waits
    assert journal.sends() == []
    with server:
        assert [r.state for r in run(server, journal, [mail(i) for i in range(3)])] == ["sent"] * 3
        assert len(server.messages) == 3


def test_a_connection_dropped_mid_batch_reconnects_and_duplicates_nothing(smtp_server: TestServer,
                                                                          journal: Journal) -> None:
    smtp_server.faults.drop_at_mail.update({3, 6})
    results = run(smtp_server, journal, [mail(i) for i in range(6)])
    assert [r.state for r in results] == ["sent"] * 6
    ids = smtp_server.handler.message_ids()
    assert len(ids) == 6 and len(set(ids)) == 6


def test_an_answer_lost_after_the_message_was_handed_over_is_uncertain_and_not_resent(
        smtp_server: TestServer, journal: Journal) -> None:
    smtp_server.faults.lose_answer_at_data.add(2)
    results = run(smtp_server, journal, [mail(i) for i in range(3)])
    assert [r.state for r in results] == ["sent", "uncertain", "sent"]
    assert journal.state(results[1].key) == "uncertain"
    again = run(smtp_server, journal, [mail(i) for i in range(3)])
    assert [r.state for r in again] == ["skipped", "uncertain", "skipped"]
    assert len(smtp_server.messages) == 3  # the uncertain one reached the server once, and only once


def test_partly_refused_recipients_get_the_rest_and_the_refused_are_reported(smtp_server: TestServer,
                                                                             journal: Journal) -> None:
    smtp_server.faults.rcpt_replies["gone@customer.example"] = "550 5.1.1 No such user"
    (result,) = run(smtp_server, journal, [mail(1, to=("ann@customer.example", "gone@customer.example"))])
    assert result.state == "sent"
    assert result.refused == (("gone@customer.example", "550 5.1.1 No such user"),)
    assert smtp_server.messages[0].rcpt_tos == ["ann@customer.example"]
    assert journal.record(result.key).recipients == "ann@customer.example"


def test_every_recipient_refused_temporarily_is_retried_later(smtp_server: TestServer, journal: Journal) -> None:
    smtp_server.faults.rcpt_replies["c1@customer.example"] = "450 4.2.1 Mailbox busy"
    (result,) = run(smtp_server, journal, [mail(1)])
    assert result.state == "retry" and "450 4.2.1 Mailbox busy" in result.error
    assert journal.state(result.key) == "failed" and not journal.record(result.key).permanent
    del smtp_server.faults.rcpt_replies["c1@customer.example"]
    assert run(smtp_server, journal, [mail(1)])[0].state == "sent"


def test_copy_to_me_is_a_separate_message_sent_after_the_original(smtp_server: TestServer, journal: Journal) -> None:
    results = run(smtp_server, journal, [mail(1, copy_to="me@maple.example", cc=("ap@customer.example",))])
    assert [(r.key, r.state) for r in results] == [("reminder:INV-1:1", "sent"), ("reminder:INV-1:1:copy", "sent")]
    original, copy = smtp_server.messages
    assert original.rcpt_tos == ["c1@customer.example", "ap@customer.example"]
    assert copy.rcpt_tos == ["me@maple.example"]
    assert copy.message_id != original.message_id
    # only the original's workbook updates are queued
    statuses = [u for _, u in journal.pending_updates() if getattr(u, "sheet", "") == "Invoices"]
    assert len(statuses) == 1


def test_wrong_password_stops_the_batch_with_one_clear_reason(smtp_server: TestServer, journal: Journal,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RECEIVABLES_TEST_SMTP_PASSWORD", "wrong")
    results = run(smtp_server, journal, [mail(i) for i in range(3)])
    assert {r.state for r in results} == {"retry"}
    assert not any(r.attempted for r in results)
    assert "refused the login of robot@maple.example (535" in results[0].error
    assert smtp_server.messages == []
    assert journal.sends() == []  # nothing was begun: the next run sends them all


def test_log_rows_record_each_send_with_time_status_and_message_id(smtp_server: TestServer, journal: Journal) -> None:
    smtp_server.faults.data_replies.extend(["", "554 5.7.1 Rejected as spam"])
    results = run(smtp_server, journal, [mail(1), mail(2)])
    lines = [line for _, line in journal.pending_log()]
    assert [(x.action, x.target, x.recipients, x.status) for x in lines] == [
        ("reminder 1", "INV-1", "c1@customer.example", "sent"),
        ("reminder 1", "INV-2", "c2@customer.example", "failed")]
    assert lines[0].message_id == results[0].message_id
    assert lines[0].detail == 'subject "Invoice INV-1"'
    assert lines[1].detail == 'subject "Invoice INV-2"; the message was refused: 554 5.7.1 Rejected as spam'
    assert lines[0].time == dt.datetime(2026, 3, 28, 9, 30) or lines[0].time > dt.datetime(2026, 3, 28, 9, 30)


def test_messages_in_flight_elsewhere_are_not_sent_twice(smtp_server: TestServer, journal: Journal, tmp_path: Path) -> None:
    with Journal.open(tmp_path / "book.xlsx") as other_run:
        other_run.begin("reminder:INV-1:1", "<x>", ["c1@customer.example"])
        (result,) = run(smtp_server, journal, [mail(1)])
    assert (result.state, result.error) == ("skipped", "being sent by another run")
    assert smtp_server.messages == []


def test_message_ids_at_the_server_are_unique_over_many_sends(smtp_server: TestServer, journal: Journal) -> None:
    run(smtp_server, journal, [mail(i) for i in range(40)])
    run(smtp_server, journal, [mail(i) for i in range(50)])
    counts = collections.Counter(smtp_server.handler.message_ids())
    assert len(counts) == 50 and max(counts.values()) == 1


def test_no_copy_to_me_of_a_message_that_was_refused(smtp_server: TestServer, journal: Journal) -> None:
    smtp_server.faults.data_replies.append("550 5.1.1 Mailbox does not exist")
    results = run(smtp_server, journal, [mail(1, copy_to="me@maple.example"), mail(2, copy_to="me@maple.example")])
    assert [(r.key, r.state) for r in results] == [
        ("reminder:INV-1:1", "failed"), ("reminder:INV-2:1", "sent"), ("reminder:INV-2:1:copy", "sent")]
    assert [m.rcpt_tos for m in smtp_server.messages] == [["c2@customer.example"], ["me@maple.example"]]


def test_without_the_pipeline_the_results_are_the_same(smtp_server: TestServer, journal: Journal) -> None:
    smtp_server.faults.data_replies.extend(["", "451 4.3.0 later", ""])
    s = smtp_server.settings()
    with SmtpTransport(s, smtp_password(s)) as transport:
        results = send_all([mail(i, copy_to="me@maple.example") for i in range(3)], s, journal, transport, now=NOW,
                           policy=Policy(sleep=lambda _: None, pipeline=False))
    assert [r.state for r in results] == ["sent"] * 6
    assert len(smtp_server.messages) == 6


def test_a_message_another_run_begins_while_it_is_prepared_never_stalls_the_batch(
        smtp_server: TestServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The other run begins INV-2 after this run read the journal and before it begins INV-2: the
    # journal refuses this run's begin, and the helper thread must not wait for a turn nobody gives.
    import threading

    from addin.mail import sender

    build = sender.build_message

    def racing_build(email: Email, *args: object, **kw: object):
        if email.key == "reminder:INV-2:1":
            with Journal.open(tmp_path / "book.xlsx") as other_run:
                other_run.begin(email.key, "<other>", list(email.to))
        return build(email, *args, **kw)

    monkeypatch.setattr(sender, "build_message", racing_build)
    results: list = []

    def batch_run() -> None:
        with Journal.open(tmp_path / "book.xlsx") as this_run:  # sqlite: opened in the thread that uses it
            results.extend(run(smtp_server, this_run, [mail(i) for i in range(1, 5)]))

    batch = threading.Thread(target=batch_run, daemon=True)
    batch.start()
    batch.join(60)
    assert not batch.is_alive(), "the batch hangs"
    assert [(r.key, r.state, r.error) for r in results] == [
        ("reminder:INV-1:1", "sent", ""), ("reminder:INV-2:1", "skipped", "being sent by another run"),
        ("reminder:INV-3:1", "sent", ""), ("reminder:INV-4:1", "sent", "")]
    assert [m.rcpt_tos for m in smtp_server.messages] == [[f"c{i}@customer.example"] for i in (1, 3, 4)]
