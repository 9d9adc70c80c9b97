"""Exactly-once sending: the journal says 'sending' before the server hears of a message.

For each message: skip it when the journal knows it (sent, being sent, uncertain); commit
'sending'; hand it to the transport; record 'sent' (with its workbook updates and Log row, in
one transaction) once the server accepts. A temporary refusal (4xx, lost connection) is retried
with exponential backoff and jitter, then left for the next run; a permanent one (5xx) is
recorded with the server's words and not retried automatically. A crash between hand-over and
'sent' leaves 'sending', which the next run turns into 'uncertain': never resent by itself.

To the outbox (a transport whose ``send`` does not wait for the disk) messages go in groups of
``GROUP``: 'sending' committed for the whole group at once, the files written, then made
durable (``sync``: the files, the outbox folder, the sent archive's links), and only then
'sent' recorded for the group. 'sent' is never on disk before the message is; a crash leaves
at most a group 'sending' (uncertain at the next run), never one sent twice.
"""

from __future__ import annotations

import collections
import dataclasses
import datetime as dt
import queue
import random
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from typing import TYPE_CHECKING

from ..journal import FAILED, SENDING, SENT, UNCERTAIN, Journal, LogLine, SendRecord
from .archive import Archive, folder_of
from .message import MessageError, build_message, clean, domain_of
from .message import message_id as message_id_of
from .transport import (
    ConnectFailure,
    PermanentFailure,
    SetupError,
    TemporaryFailure,
    Transport,
    UncertainDelivery,
)

if TYPE_CHECKING:
    from ..actions import Email
    from ..model import Settings

# Result states.
SKIPPED, RETRY = "skipped", "retry"  # with SENT, FAILED, UNCERTAIN from the journal
ATTEMPTS = 4
BASE_DELAY = 1.0
MAX_DELAY = 30.0
GIVE_UP_AFTER = 3  # messages in a row that exhausted their retries: the server is unwell, stop
GROUP = 50  # outbox messages begun, written and made durable together (one disk wait each step)


@dataclass(frozen=True)
class SendResult:
    """What happened to one message.

    Attributes:
      key: the idempotency key (a copy-to-me message: the email's key + ":copy").
      state: sent, skipped (already sent), failed (refused for good), retry (not sent now, will
        be tried at the next run), uncertain (may have been sent: a person must check).
      message_id: the Message-ID header ('' when the message could not be built).
      error: why it was not sent, in the server's words where there are some.
      recipients: the addresses it was for.
      refused: recipients the server refused while accepting the others (address -> words).
      attempted: False when the batch stopped before this message was tried.
      action / target: from the email's Log entry, for reports.
      kept: the file in the sent archive ('' when none was kept).
      keep_error: why no copy could be kept of a message that was sent ('' when kept or not asked).
    """

    key: str
    state: str
    message_id: str = ""
    error: str = ""
    recipients: tuple[str, ...] = ()
    refused: tuple[tuple[str, str], ...] = ()
    attempted: bool = True
    action: str = ""
    target: str = ""
    kept: str = ""
    keep_error: str = ""


@dataclass
class Policy:
    """How a batch is sent: retries and pacing; ``sleep`` and ``random`` are injectable so tests
    run without waiting; ``should_stop`` ends the batch early (after the message in flight)."""

    attempts: int = ATTEMPTS
    base_delay: float = BASE_DELAY
    max_delay: float = MAX_DELAY
    give_up_after: int = GIVE_UP_AFTER
    sleep: Callable[[float], None] = time.sleep
    random: Callable[[], float] = random.random
    clock: Callable[[], float] = time.monotonic
    pipeline: bool = True  # prepare the next message while the current one is sent (no throttle)
    should_stop: Callable[[], bool] = lambda: False

    def backoff(self, attempt: int) -> None:
        """Wait before try ``attempt + 1``: exponential, bounded, with jitter (half to full)."""
        delay = min(self.max_delay, self.base_delay * 2 ** (attempt - 1))
        self.sleep(delay * (0.5 + self.random() / 2))


class _Stop(Exception):
    """The whole batch stops (settings wrong, server unreachable)."""


COPY_WORDS = {
    "en": ("Copy", "Copy of the message sent to {whom} ({to})."),
    "fr": ("Copie", "Copie du message envoyé à {whom} ({to})."),
}


def copy_of(email: Email, address: str, language: str = "en") -> Email:
    """The separate copy-to-me message of ``email``: same content, no workbook updates; its
    subject and bodies say whose message it copies (only the copy says so)."""
    from html import escape

    log = email.log and dataclasses.replace(email.log, action=f"{email.log.action} (copy)")
    word, line = COPY_WORDS.get(language, COPY_WORDS["en"])
    whom = " ".join(x for x in (email.customer, email.customer_name) if x) or ", ".join(email.to)
    to = ", ".join((*email.to, *(f"cc {a}" for a in email.cc)))
    banner = line.format(whom=whom, to=to)
    return dataclasses.replace(
        email, key=email.key + ":copy", to=(address,), cc=(), on_sent=(), copy_to="", log=log, mime=b"",
        subject=f"[{word} — {whom}] {email.subject}", text=f"{banner}\n\n{email.text}",
        html=f'<p style="margin:0 0 16px;padding:8px;border:1px solid #999;">{escape(banner)}</p>{email.html}')


@dataclass
class _Prepared:
    """A message ready to go: built, and (in a pipeline) already recorded as 'sending'."""

    email: Email
    msg: EmailMessage | None = None
    data: bytes = b""  # the bytes to hand over, when the message was made ahead (Email.mime)
    message_id: str = ""
    result: SendResult | None = None  # decided without sending (skipped, failed to build)
    before: SendRecord | None = None  # the journal row before this run began it
    begun: bool = False
    needs_sent_original: bool = False  # a copy-to-me: only once the original is sent


def send_all(emails: Sequence[Email], settings: Settings, journal: Journal, transport: Transport, *,
             now: dt.datetime, base_dir: Path | None = None, policy: Policy | None = None) -> list[SendResult]:
    """Send each email exactly once (and its copy-to-me after it); one result per message.

    Each message accepted is kept in the sent archive (Settings sent_dir, relative to
    ``base_dir``, the workbook's folder): see addin.mail.archive for when it is written.

    ``policy.should_stop`` is asked before each message: once it says yes (the daemon got
    SIGTERM), the message in flight is finished and the rest are left for the next run.

    Without a throttle, the next message is built and recorded as 'sending' by a helper thread
    while the current one is with the server (the journal's disk wait overlaps the network's).
    """
    run = _Run(settings, journal, transport, now, base_dir, policy or Policy())
    messages: list[tuple[Email, bool]] = []
    for email in emails:
        messages.append((email, False))
        if email.copy_to:
            messages.append((copy_of(email, email.copy_to, settings.language), True))
    pipeline = run.policy.pipeline and len(messages) > 1 and not getattr(transport, "max_per_minute", 0)
    results: list[SendResult] = []
    prepared: Iterator[_Prepared]
    if run.grouped:
        prepared = _grouped(run, messages, GROUP, lambda: run.settle(results))
    elif pipeline:
        prepared = _pipelined(run, messages)
    else:
        prepared = (run.prepare(e, journal, copy) for e, copy in messages)
    stop = ""
    handed = 0  # messages the preparation gave out
    try:
        for item in prepared:
            handed += 1
            if item.needs_sent_original and not run.went(item.email.key[: -len(":copy")]):
                run.undo(item)
                continue  # no copy of a message that did not go
            if item.result is not None:
                results.append(item.result)
                continue
            if not stop and run.policy.should_stop():
                stop = "stopped on request"
            if stop:
                run.undo(item)
                results.append(_result(item.email, RETRY, error=stop, attempted=False))
                break  # the rest is not prepared: a stop asked for is not kept waiting for it
            try:
                result = run.transmit(item, len(results))
            except _Stop as exc:
                stop = str(exc)
                results.append(_result(item.email, RETRY, error=stop, attempted=False))
                continue
            results.append(result)
            run.exhausted = run.exhausted + 1 if result.state == RETRY else 0
            if run.exhausted >= run.policy.give_up_after:
                stop = f"the mail server keeps refusing for now ({result.error})"
        for email, copy in messages[handed:]:  # left after a stop
            if not copy or run.went(email.key[: -len(":copy")]):
                results.append(_result(email, RETRY, error=stop, attempted=False))
    finally:
        close = getattr(prepared, "close", None)
        if close:
            close()
        run.settle(results)
    not_tried = [r for r in results if not r.attempted]
    if not_tried:
        journal.add_log(LogLine(run.time(), "send", f"{len(not_tried)} messages", "", "not sent", "",
                                f"{stop} — they will be tried at the next run"))
    return results


def _pipelined(run: _Run, messages: list[tuple[Email, bool]]) -> Iterator[_Prepared]:
    """Prepare messages in a helper thread, at most one 'sending' ahead of the one being sent.

    The helper takes the turn before it begins a message; the turn comes back when the sending
    thread takes that message, or at once when the journal refused to begin it (another process
    is sending it): a turn never waits for a message nobody will send.
    """
    items: queue.Queue[_Prepared | BaseException | None] = queue.Queue()
    turn = threading.Semaphore(1)
    stopping = threading.Event()
    helper = run.journal.sibling()

    def work() -> None:
        try:
            for email, copy in messages:
                item = run.prepare(email, helper, copy, begin=False)
                if item.result is None and not copy:
                    turn.acquire()
                    if stopping.is_set():
                        return
                    item = run.begin(item, helper)
                    if not item.begun:  # another process is sending it: the turn is not used
                        turn.release()
                items.put(item)
                if stopping.is_set():
                    return
        except BaseException as exc:  # noqa: BLE001 - handed to the sending thread
            items.put(exc)
        finally:
            items.put(None)

    thread = threading.Thread(target=work, name="receivables-prepare", daemon=True)
    thread.start()
    try:
        while True:
            got = items.get()
            if got is None:
                return
            if isinstance(got, BaseException):
                raise got
            if got.begun:
                turn.release()  # the helper may begin the next one while this one is sent
            yield got
    finally:
        stopping.set()
        turn.release()
        thread.join()
        while not items.empty():  # begun by the helper but never sent: put back
            left = items.get()
            if isinstance(left, _Prepared):
                run.undo(left)
        helper.close()


def _grouped(run: _Run, messages: list[tuple[Email, bool]], size: int,
             settle: Callable[[], None]) -> Iterator[_Prepared]:
    """Prepare ``size`` messages at a time and begin them in one durable commit (see the module's
    docstring), once ``settle`` has recorded the group before: one group at most is 'sending'.
    Begun messages never handed out (the batch stopped) are put back."""
    left: collections.deque[_Prepared] = collections.deque()
    try:
        for start in range(0, len(messages), size):
            settle()
            items = [run.prepare(e, run.journal, copy) for e, copy in messages[start:start + size]]
            run.begin_many([i for i in items if i.result is None and not i.needs_sent_original])
            left.extend(items)
            while left:
                yield left.popleft()
    finally:
        for item in left:
            run.undo(item)


@dataclass
class _Unsettled:
    """A message the outbox took whose 'sent' waits for the group to be on disk."""

    index: int  # of its result in the run's results
    key: str
    accepted: list[str]
    log: LogLine


class _Run:
    def __init__(self, settings: Settings, journal: Journal, transport: Transport, now: dt.datetime,
                 base_dir: Path | None, policy: Policy) -> None:
        self.settings, self.journal, self.transport = settings, journal, transport
        self.now, self.base_dir, self.policy = now, base_dir, policy
        self.started = policy.clock()
        self.exhausted = 0
        root = folder_of(settings, base_dir)
        self.archive = Archive(root) if root is not None else None
        self.grouped = transport.syncs_later
        self.unsettled: list[_Unsettled] = []

    def went(self, key: str) -> bool:
        """Whether ``key`` was sent (recorded, or taken by the outbox and waiting to be recorded)."""
        return any(u.key == key for u in self.unsettled) or self.journal.state(key) == SENT

    def settle(self, results: list[SendResult]) -> None:
        """Make the messages the outbox took durable, then record them as sent (in one commit).

        When they cannot be made durable they may still go (the files are in the outbox):
        recorded uncertain, for a person to check — never sent again by itself.
        """
        if not self.unsettled:
            return
        group, self.unsettled = self.unsettled, []
        try:
            self.transport.sync()
            if self.archive is not None:
                self.archive.sync()
        except OSError as exc:
            why = f"the file was written but could not be made safe on disk ({_os_reason(exc)}) — check the outbox"
            for u in group:
                r = results[u.index]
                self.journal.mark_uncertain(u.key, why, log=dataclasses.replace(u.log, status="uncertain", detail=why))
                results[u.index] = dataclasses.replace(r, state=UNCERTAIN, error=why)
            return
        self.journal.mark_sent_many([(u.key, u.accepted, u.log) for u in group])

    def begin_many(self, items: Sequence[_Prepared]) -> None:
        """``begin`` for several prepared messages in one durable commit."""
        if not items:
            return
        begun = self.journal.begin_many([(i.email.key, i.message_id, (*i.email.to, *i.email.cc), i.email.on_sent)
                                         for i in items])
        for item, ok in zip(items, begun, strict=True):
            if ok:
                item.begun = True
            else:
                item.result = _result(item.email, SKIPPED, item.message_id, "being sent by another run")

    def time(self) -> dt.datetime:
        """Now as Excel shows it: local wall-clock time of the workbook, to the second."""
        elapsed = dt.timedelta(seconds=self.policy.clock() - self.started)
        return (self.now + elapsed).replace(tzinfo=None, microsecond=0)

    def log(self, email: Email, status: str, recipients: Sequence[str], message_id: str = "",
            detail: str = "") -> LogLine:
        entry = email.log
        action = entry.action if entry else "email"
        target = entry.target if entry else email.key
        about = " · ".join(x for x in ((entry.detail if entry else ""), f'subject "{clean(email.subject)}"') if x)
        text = "; ".join(x for x in (about, detail) if x)
        return LogLine(self.time(), action, target, "; ".join(recipients), status, message_id, text)

    def prepare(self, email: Email, journal: Journal, copy: bool = False, begin: bool = False) -> _Prepared:
        """Decide what the journal already knows, and build the message."""
        key = email.key
        recipients = (*email.to, *email.cc)
        record = journal.record(key)
        item = _Prepared(email, before=record, needs_sent_original=copy)
        if record and record.state in (SENT, SENDING):
            why = "already sent" if record.state == SENT else "being sent by another run"
            journal.add_log(self.log(email, "skipped", recipients, record.message_id, why))
            item.result = _result(email, SKIPPED, record.message_id, why)
        elif record and record.state == UNCERTAIN:
            item.result = _result(email, UNCERTAIN, record.message_id, record.last_error)
        elif (record and record.state == FAILED and record.permanent
              and record.recipients == "; ".join(recipients)):
            item.result = _result(email, FAILED, record.message_id, f"refused earlier: {record.last_error}")
        else:
            sender = self.settings.company_email.strip()
            data = self.transport.wire_built(email.mime, sender, recipients) if email.mime else None
            if data is not None:
                item.data, item.message_id = data, message_id_of(email.key, domain_of(self.settings))
                return self.begin(item, journal) if begin else item
            try:
                item.msg = build_message(email, self.settings, now=self.now, base_dir=self.base_dir)
                item.message_id = str(item.msg["Message-ID"])
            except MessageError as exc:
                journal.add_log(self.log(email, "failed", recipients, "", str(exc)))
                item.result = _result(email, FAILED, error=str(exc))
        return self.begin(item, journal) if begin and item.result is None else item

    def begin(self, item: _Prepared, journal: Journal) -> _Prepared:
        email = item.email
        if journal.begin(email.key, item.message_id, (*email.to, *email.cc), email.on_sent):
            item.begun = True
        else:
            item.result = _result(email, SKIPPED, item.message_id, "being sent by another run")
        return item

    def undo(self, item: _Prepared) -> None:
        if item.begun:
            self.journal.unbegin(item.email.key, item.before)
            item.begun = False

    def transmit(self, item: _Prepared, at: int) -> SendResult:
        """Hand the message to the transport, retrying temporary failures; record the outcome
        (``at``: where its result goes in the run's results, for a 'sent' recorded later)."""
        journal, email, msg = self.journal, item.email, item.msg
        key, recipients = email.key, (*email.to, *email.cc)
        message_id = item.message_id
        sender = self.settings.company_email.strip()
        if item.data:
            data = item.data
        else:
            assert msg is not None
            data = self.transport.wire(msg, sender, recipients)
        keeping = _Keeping(self.archive, email, data, item.before is not None)
        for attempt in range(1, self.policy.attempts + 1):
            try:
                self._ready(attempt)
            except _Stop:
                self.undo(item)
                raise
            if not item.begun:
                self.begin(item, journal)
                if item.result is not None:
                    return item.result
            item.begun = False  # from here on the outcome is recorded below
            if not self.transport.writes_files:
                keeping.stage(self.time())
            try:
                refused = self.transport.send(msg, sender, recipients, key, data)
            except UncertainDelivery as exc:  # the staged bytes stay: what may have gone
                journal.mark_uncertain(key, str(exc), log=self.log(email, "uncertain", recipients, message_id, str(exc)))
                return _result(email, UNCERTAIN, message_id, str(exc))
            except PermanentFailure as exc:
                keeping.discard()
                journal.mark_failed(key, str(exc), True, log=self.log(email, "failed", recipients, message_id, str(exc)))
                return _result(email, FAILED, message_id, str(exc))
            except SetupError as exc:
                keeping.discard()
                journal.mark_failed(key, str(exc), False)
                raise _Stop(str(exc)) from None
            except TemporaryFailure as exc:
                keeping.discard()
                if attempt < self.policy.attempts:
                    journal.mark_failed(key, str(exc), False)
                    self.policy.backoff(attempt)
                    continue
                detail = f"{exc} — it will be tried again at the next run"
                journal.mark_failed(key, str(exc), False, log=self.log(email, "failed", recipients, message_id, detail))
                return _result(email, RETRY, message_id, str(exc))
            keeping.keep(self.time(), self.transport.written)
            accepted = [a for a in recipients if a not in refused]
            detail = "; ".join([*(f"refused {a}: {w}" for a, w in refused.items()),
                                *([f"no copy kept in the sent folder: {keeping.error}"] if keeping.error else [])])
            log = self.log(email, "sent", accepted, message_id, detail)
            if self.grouped:  # recorded once the group is on disk (settle)
                self.unsettled.append(_Unsettled(at, key, accepted, log))
            else:
                journal.mark_sent(key, recipients=accepted, log=log)
            return dataclasses.replace(_result(email, SENT, message_id, refused=tuple(refused.items())),
                                       kept=str(keeping.kept or ""), keep_error=keeping.error)
        raise AssertionError("unreachable")  # pragma: no cover

    def _ready(self, attempt: int) -> None:
        """Connect (retrying a server that does not answer) and wait for the throttle."""
        while True:
            try:
                self.transport.open()
                self.transport.wait_turn()
                return
            except SetupError as exc:
                raise _Stop(str(exc)) from None
            except ConnectFailure as exc:
                if attempt >= self.policy.attempts:
                    raise _Stop(str(exc)) from None
                self.policy.backoff(attempt)
                attempt += 1


class _Keeping:
    """The sent-archive copy of one message: staged before hand-over, kept once accepted.

    A copy that cannot be written never stops the message: ``error`` says why none was kept.
    """

    def __init__(self, archive: Archive | None, email: Email, data: bytes, seen_before: bool) -> None:
        self.archive, self.email, self.data = archive, email, data
        self.seen_before = seen_before  # an earlier try may have left an uncertain .part
        self.staged: Path | None = None
        self.kept: Path | None = None
        self.error = ""

    def stage(self, when: dt.datetime) -> None:
        if self.archive is None or self.staged is not None:
            return
        try:
            self.staged = self.archive.stage(when, self.email.key, self.email.customer, self.data)
        except OSError as exc:
            self.error = _os_reason(exc)  # tried again once the server accepts

    def discard(self) -> None:
        if self.archive is not None:
            self.archive.discard(self.staged)
        self.staged = None

    def keep(self, when: dt.datetime, written: Path | None) -> None:
        archive, email = self.archive, self.email
        if archive is None:
            return
        try:
            if self.staged is not None:
                self.kept = archive.keep(self.staged)
            elif written is not None:
                self.kept = archive.keep_file(when, email.key, email.customer, written, self.data)
            else:
                self.kept = archive.keep_bytes(when, email.key, email.customer, self.data)
            self.error = ""
            if self.seen_before:
                archive.forget_uncertain(email.key)
        except OSError as exc:
            self.discard()
            self.error = f"{archive.root} ({_os_reason(exc)})"


def _os_reason(exc: OSError) -> str:
    return exc.strerror or str(exc)


def _result(email: Email, state: str, message_id: str = "", error: str = "", *,
            refused: tuple[tuple[str, str], ...] = (), attempted: bool = True) -> SendResult:
    return SendResult(email.key, state, message_id, error, (*email.to, *email.cc), refused, attempted,
                      email.log.action if email.log else "email", email.log.target if email.log else "")
