"""The outbox in groups: 'sending' for a group in one commit, the files written, made durable,
then 'sent' — never 'sent' before the message is on disk, never a message twice (even killed)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import email
import email.policy
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from email.message import EmailMessage
from pathlib import Path

import pytest

from addin.actions import Attachment, Email, LogEntry, SetCells
from addin.journal import Journal
from addin.mail import sender
from addin.mail.message import build_bytes, build_message
from addin.mail.sender import Policy, send_all
from addin.mail.transport import OutboxTransport
from addin.model import Settings

ROOT = Path(__file__).resolve().parents[1]
NOW = dt.datetime(2026, 4, 15, 9, 0, tzinfo=dt.UTC)
SETTINGS = Settings(company_name="Maple", company_email="billing@maple.example", sent_dir="sent")


def statement(n: int, **kw: object) -> Email:
    base: dict = dict(key=f"statement-email:C-{n:03d}:outstanding", to=(f"c{n}@customer.example",),
                      subject=f"Statement C-{n:03d}", text="Hello\nYour statement is attached.",
                      html="<p>Hello</p>", log=LogEntry("statement email", f"C-{n:03d}"), customer=f"C-{n:03d}",
                      attachments=(Attachment("Statement.pdf", b"%PDF-1.4 " + bytes(range(256)) * 20,
                                              "application/pdf"),),
                      on_sent=(SetCells("Customers", "Customer ID", f"C-{n:03d}", (("Notes", "sent"),)),))
    base.update(kw)
    return Email(**base)


class Watched(OutboxTransport):
    """The outbox, noting which key's file was written and which files were made durable."""

    def __init__(self, folder: Path, events: list[tuple[str, object]]) -> None:
        super().__init__(folder)
        self.events = events
        self.file_of: dict[str, Path] = {}

    def send(self, msg: EmailMessage, sender: str, recipients: Sequence[str], key: str,
             data: bytes | None = None) -> dict[str, str]:
        refused = super().send(msg, sender, recipients, key, data)
        assert self.written is not None
        self.file_of[key] = self.written
        return refused

    def sync(self) -> None:
        files = list(self._unsynced)
        super().sync()
        self.events.append(("durable", set(files)))


def test_sent_is_recorded_only_once_its_group_is_on_disk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    events: list[tuple[str, object]] = []
    real = Journal.mark_sent_many

    def mark_sent_many(self: Journal, sends):  # noqa: ANN001, ANN202
        events.append(("sent", [key for key, *_ in sends]))
        return real(self, sends)

    monkeypatch.setattr(Journal, "mark_sent_many", mark_sent_many)
    emails = [statement(n) for n in range(2 * sender.GROUP + 7)]
    with Journal.open(tmp_path / "book.xlsx") as journal, Watched(tmp_path / "outbox", events) as outbox:
        results = send_all(emails, SETTINGS, journal, outbox, now=NOW, base_dir=tmp_path)
        assert [r.state for r in results] == ["sent"] * len(emails)
        assert {journal.state(e.key) for e in emails} == {"sent"}
        durable: set[Path] = set()
        for what, value in events:
            if what == "durable":
                durable |= value  # type: ignore[arg-type]
            else:
                assert all(outbox.file_of[key] in durable for key in value)  # type: ignore[union-attr]
        recorded = [value for what, value in events if what == "sent"]
        assert len(recorded) == 3 and sum(map(len, recorded)) == len(emails)  # noqa: PLR2004 - one commit a group
    assert len(list((tmp_path / "outbox").glob("*.eml"))) == len(emails)
    assert len(list((tmp_path / "sent").glob("*/*.eml"))) == len(emails)


def test_a_group_is_recorded_before_the_next_is_begun_even_when_some_of_it_were_skipped(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # At most one group is 'sending' at a time: a crash leaves no more than a group uncertain.
    emails = [statement(n) for n in range(2 * sender.GROUP + 7)]
    waiting: set[str] = set()
    most = 0
    real_begin, real_sent = Journal.begin_many, Journal.mark_sent_many

    def begin_many(self: Journal, items):  # noqa: ANN001, ANN202
        nonlocal most
        assert not waiting, "a group begun while the one before is not recorded"
        waiting.update(key for key, *_ in items)
        most = max(most, len(waiting))
        return real_begin(self, items)

    def mark_sent_many(self: Journal, sends):  # noqa: ANN001, ANN202
        waiting.difference_update(key for key, *_ in sends)
        return real_sent(self, sends)

    with Journal.open(tmp_path / "book.xlsx") as journal:
        with OutboxTransport(tmp_path / "first") as outbox:  # one of the first group went yesterday
            send_all(emails[3:4], SETTINGS, journal, outbox, now=NOW, base_dir=tmp_path)
        monkeypatch.setattr(Journal, "begin_many", begin_many)
        monkeypatch.setattr(Journal, "mark_sent_many", mark_sent_many)
        with OutboxTransport(tmp_path / "outbox") as outbox:
            results = send_all(emails, SETTINGS, journal, outbox, now=NOW, base_dir=tmp_path)
    assert [r.state for r in results].count("skipped") == 1 and not waiting
    assert most == sender.GROUP  # a whole group at most (the first is one less: one was skipped)


def test_files_that_cannot_be_made_durable_are_uncertain_and_never_sent_again(tmp_path: Path,
                                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(self: OutboxTransport) -> None:
        raise OSError(5, "Input/output error")

    emails = [statement(n) for n in range(3)]
    with Journal.open(tmp_path / "book.xlsx") as journal:
        with OutboxTransport(tmp_path / "outbox") as outbox:
            monkeypatch.setattr(OutboxTransport, "sync", broken)
            results = send_all(emails, SETTINGS, journal, outbox, now=NOW, base_dir=tmp_path)
            monkeypatch.undo()
        assert [r.state for r in results] == ["uncertain"] * 3
        assert "could not be made safe on disk (Input/output error)" in results[0].error
        assert {journal.state(e.key) for e in emails} == {"uncertain"}
        assert [line.status for _, line in journal.pending_log()] == ["uncertain"] * 3
        with OutboxTransport(tmp_path / "outbox") as outbox:
            again = send_all(emails, SETTINGS, journal, outbox, now=NOW, base_dir=tmp_path)
        assert [r.state for r in again] == ["uncertain"] * 3
    assert len(list((tmp_path / "outbox").glob("*.eml"))) == 3


def test_an_outbox_folder_removed_during_the_run_is_made_again(tmp_path: Path) -> None:
    with Journal.open(tmp_path / "book.xlsx") as journal, OutboxTransport(tmp_path / "outbox") as outbox:
        outbox.open()
        shutil.rmtree(tmp_path / "outbox")
        results = send_all([statement(1)], SETTINGS, journal, outbox, now=NOW, base_dir=tmp_path,
                           policy=Policy(sleep=lambda _: None))
    assert [r.state for r in results] == ["sent"]
    assert len(list((tmp_path / "outbox").glob("*.eml"))) == 1


def _boundless(data: bytes) -> bytes:
    """The message with its MIME boundaries (random at each flattening) named by their order."""
    names: dict[bytes, bytes] = {}
    for b in re.findall(rb'boundary="([^"]+)"', data):
        names.setdefault(b, b"BOUNDARY-%d" % len(names))
    for b, name in names.items():
        data = data.replace(b, name)
    return data


def test_the_outbox_file_is_the_message_as_built_byte_for_byte(tmp_path: Path) -> None:
    one = statement(7, cc=("ap@customer.example",), subject="Relevé — C-007 « été »")
    with Journal.open(tmp_path / "book.xlsx") as journal, OutboxTransport(tmp_path / "outbox") as outbox:
        [result] = send_all([one], SETTINGS, journal, outbox, now=NOW, base_dir=tmp_path)
    [written] = (tmp_path / "outbox").glob("*.eml")
    built = build_message(one, SETTINGS, now=NOW, base_dir=tmp_path)
    expected = built.as_bytes(policy=email.policy.SMTP)
    assert _boundless(written.read_bytes()) == _boundless(expected)
    assert Path(result.kept).read_bytes() == written.read_bytes()
    back = email.message_from_bytes(written.read_bytes(), policy=email.policy.default)
    pdf = next(back.iter_attachments()).get_content()
    assert pdf == one.attachments[0].content


SCRIPT = """
import datetime as dt, json, sys
from pathlib import Path
from addin.actions import Attachment, Email, LogEntry
from addin.journal import Journal
from addin.mail.sender import send_all
from addin.mail.transport import OutboxTransport
from addin.model import Settings

folder = Path(sys.argv[1])
settings = Settings(company_name="Maple", company_email="billing@maple.example", sent_dir="sent")
pdf = Attachment("Statement.pdf", b"%PDF-1.4 " + bytes(range(256)) * 160, "application/pdf")
emails = [Email(key=f"statement-email:C-{n:03d}:outstanding", to=(f"c{n}@customer.example",),
                subject=f"Statement C-{n:03d}", text="Hello", html="<p>Hello</p>", customer=f"C-{n:03d}",
                log=LogEntry("statement email", f"C-{n:03d}"), attachments=(pdf,))
          for n in range(160)]
with Journal.open(folder / "book.xlsx") as journal:
    journal.recover()
    with OutboxTransport(folder / "outbox") as outbox:
        print("ready", flush=True)
        results = send_all(emails, settings, journal, outbox, now=dt.datetime.now(dt.UTC), base_dir=folder)
print(json.dumps(sorted({r.state for r in results})))
"""


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX only")
def test_runs_killed_mid_group_never_write_a_message_twice_nor_call_sent_one_not_written(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    rng = random.Random(20261207)
    keys = [f"statement-email:C-{n:03d}:outstanding" for n in range(160)]
    kills = 0
    for attempt in range(30):
        proc = subprocess.Popen([sys.executable, "-c", SCRIPT, str(tmp_path)],
                                env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        assert proc.stdout is not None
        proc.stdout.readline()
        if attempt < 8:  # noqa: PLR2004 - then runs to the end
            # killed once it has written a random number more files: mid-run on any machine's speed
            target = len(list((tmp_path / "outbox").glob("*.eml"))) + rng.randint(1, 15)
            deadline = time.monotonic() + 60
            while (proc.poll() is None and time.monotonic() < deadline
                   and len(list((tmp_path / "outbox").glob("*.eml"))) < target):
                time.sleep(0.001)
            if proc.poll() is None:
                proc.send_signal(signal.SIGKILL)
                kills += 1
        out, err = proc.communicate(timeout=120)
        if proc.returncode == 0:
            break
        assert proc.returncode == -signal.SIGKILL, err.decode()
    assert proc.returncode == 0, err.decode()
    assert kills >= 3  # noqa: PLR2004
    with Journal.open(tmp_path / "book.xlsx") as journal:
        states = {key: journal.state(key) for key in keys}
        assert set(states.values()) <= {"sent", "uncertain"}
        uncertain = [k for k, s in states.items() if s == "uncertain"]
        assert len(uncertain) <= kills * sender.GROUP
    files: dict[str, list[Path]] = {}
    for path in (tmp_path / "outbox").glob("*.eml"):
        if path.name.startswith(".tmp-"):
            continue  # a file a kill stopped half-written: never renamed to a message's name
        msg = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        files.setdefault(str(msg["Subject"]), []).append(path)
    assert all(len(paths) == 1 for paths in files.values())  # never written twice
    for n, key in enumerate(keys):
        if states[key] == "sent":
            assert f"Statement C-{n:03d}" in files  # recorded sent: its file is there
    assert json.loads(out.decode().strip().splitlines()[-1])


def test_a_message_made_ahead_is_written_as_made_and_its_copy_to_me_made_anew(tmp_path: Path) -> None:
    one = statement(3, copy_to="me@maple.example")
    ahead = build_bytes(one, SETTINGS, now=NOW, base_dir=tmp_path)
    assert _boundless(ahead) == _boundless(build_message(one, SETTINGS, now=NOW).as_bytes(policy=email.policy.SMTP))
    with Journal.open(tmp_path / "book.xlsx") as journal, OutboxTransport(tmp_path / "outbox") as outbox:
        results = send_all([dataclasses.replace(one, mime=ahead)], SETTINGS, journal, outbox, now=NOW,
                           base_dir=tmp_path)
    assert [r.state for r in results] == ["sent", "sent"]
    assert results[0].message_id == str(build_message(one, SETTINGS, now=NOW)["Message-ID"])
    original, copy = (Path(r.kept).read_bytes() for r in results)
    assert original == ahead  # this process wrote the bytes the worker made, not a message of its own
    back = email.message_from_bytes(copy, policy=email.policy.default)
    assert back["To"] == "me@maple.example" and str(back["Subject"]).startswith("[Copy — C-003]")


def test_a_message_made_ahead_that_smtp_must_send_as_utf8_is_made_anew() -> None:
    from addin.mail.transport import SmtpTransport

    smtp = SmtpTransport(Settings(smtp_host="mail.example", smtp_security="none"), None)
    assert smtp.wire_built(b"X\r\n", "billing@maple.example", ["ann@customer.example"]) == b"X\r\n"
    assert smtp.wire_built(b"X", "billing@maple.example", ["ann@customer.example"]) == b"X\r\n"
    assert smtp.wire_built(b"X\r\n", "billing@maple.example", ["chloé@customer.example"]) is None


def test_a_stop_asked_for_leaves_the_rest_unprepared_and_each_to_retry(tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """The daemon asked to stop (SIGTERM) stops after the message in flight: the groups after it
    are not made (their PDFs, their 'sending'), and every message left is tried at the next run."""
    emails = [statement(n) for n in range(3 * sender.GROUP)]
    prepared: list[str] = []
    real = sender._Run.prepare

    def prepare(self, email, *args, **kw):  # noqa: ANN001, ANN002, ANN003, ANN202
        prepared.append(email.key)
        return real(self, email, *args, **kw)

    monkeypatch.setattr(sender._Run, "prepare", prepare)
    asked = iter(range(10**6))
    with Journal.open(tmp_path / "book.xlsx") as journal, OutboxTransport(tmp_path / "outbox") as outbox:
        results = send_all(emails, SETTINGS, journal, outbox, now=NOW, base_dir=tmp_path,
                           policy=Policy(should_stop=lambda: next(asked) >= 3))
        assert [r.state for r in results] == ["sent"] * 3 + ["retry"] * (len(emails) - 3)
        assert {r.error for r in results[3:]} == {"stopped on request"}
        assert {journal.state(e.key) for e in emails[3:]} == {None}  # none left 'sending'
    assert len(prepared) == sender.GROUP  # the first group only
