"""Carry out a Plan: the one executor shared by the command line, the ribbon, the daemon and the
Dashboard's refresh.

``execute`` opens the journal beside the workbook, turns messages a crashed run left in flight
into 'uncertain', queues the plan's workbook updates, sends the plan's emails exactly once
(each sent message queues its on_sent updates and Log row in the same transaction that records
it), then writes everything queued, and the plan's derived updates (never queued), through a
``Writer`` in ONE write — the guarded store, ``workbook.store.flush_pending``, unless a test
gives another. When the workbook is open in Excel the write is deferred: the updates wait in
the journal for the next run.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from .journal import UNCERTAIN, Journal, LogLine
from .problems import Problem, error, warning

if TYPE_CHECKING:
    from .actions import Email, Plan, Update
    from .mail.sender import Policy, SendResult
    from .mail.transport import Transport
    from .model import Book, Settings
    from .workbook.store import StoreResult

NO_SENDER = "no sender address (company_email)"


class Writer(Protocol):
    """Writes what waits in ``journal``, then ``derived`` (written but never queued), into the
    workbook at ``path``, keeping ``keep_backups`` backups, and says what happened
    (``StoreResult``: written, deferred, problems)."""

    def __call__(self, path: Path, journal: Journal, *, keep_backups: int,
                 derived: Sequence[Update]) -> StoreResult: ...


@dataclass
class RunReport:
    """What a run did.

    Attributes:
      results: one SendResult per message tried or skipped, in order.
      uncertain: keys that may have been sent and wait for a person (journal release/confirm).
      problems: what went wrong, as Problems (failed sends, uncertain messages, write trouble).
      deferred: the workbook was open: its updates wait in the journal.
      written: the workbook was written.
      lines: human summary lines (the plan's lines, then what happened).
    """

    results: list[SendResult] = field(default_factory=list)
    uncertain: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    deferred: bool = False
    written: bool = False
    lines: list[str] = field(default_factory=list)

    def _with(self, *states: str) -> list[SendResult]:
        return [r for r in self.results if r.state in states]

    @property
    def sent(self) -> list[SendResult]:
        return self._with("sent")

    @property
    def skipped(self) -> list[SendResult]:
        return self._with("skipped")

    @property
    def failed(self) -> list[SendResult]:
        """Not sent: refused for good, or left to retry at the next run."""
        return self._with("failed", "retry")

    @property
    def retry(self) -> list[SendResult]:
        return self._with("retry")


def execute(plan: Plan, book: Book, *, outbox: Path | None, now: dt.datetime, send: bool = True,
            transport: Transport | None = None, writer: Writer | None = None,
            policy: Policy | None = None) -> RunReport:
    """Send the plan's emails (when ``send``), then write all its updates and Log rows in one write.

    ``transport``, ``writer`` and ``policy`` are for tests; by default the transport comes from
    the Settings (``outbox`` forces the outbox folder) and the writer is the guarded store.
    """
    if book.path is None:
        raise ValueError("execute needs a book read from a workbook file")
    path = Path(book.path)
    from .workbook.files import read_only_reason

    if (reason := read_only_reason(path)) is not None:  # every door refuses it first (commands.common.writable_workbook)
        raise ValueError(reason)
    report = RunReport(lines=list(plan.lines))
    local_now = (now if now.tzinfo is None else now.replace(tzinfo=None)).replace(microsecond=0)
    with Journal.open(path) as journal:
        recovered, lines = recover(journal, book.settings, path, outbox, local_now)
        report.lines.extend(lines)
        journal.queue_updates(plan.updates)  # before on_sent updates: plan first, as read
        if send:
            for entry in plan.logs:
                status = entry.status or "done"
                journal.add_log(LogLine(local_now, entry.action, entry.target, "", status, "", entry.detail))
            if plan.emails:
                report.results = _send(plan.emails, book, journal, outbox, now, transport, policy, report)
        else:
            report.lines.extend(f"not sent (preview): {e.key} to {', '.join(e.to)}" for e in plan.emails)
        report.uncertain = journal.keys(UNCERTAIN)
        report.problems.extend(_uncertain_problems(report, recovered, plan.emails, path))
        report.problems.extend(_send_problems(report.results, path))
        if journal.pending_updates() or plan.derived:
            _write(path, book, plan.derived, journal, writer, report)
    report.lines.extend(_summary(report))
    return report


def _send(emails: Sequence[Email], book: Book, journal: Journal, outbox: Path | None, now: dt.datetime,
          transport: Transport | None, policy: Policy | None, report: RunReport) -> list[SendResult]:
    from .mail.sender import RETRY, SendResult, send_all
    from .mail.transport import SetupError, transport_for

    settings, path = book.settings, Path(book.path or ".")
    stop = ""
    if not settings.company_email.strip():
        report.problems.append(error("Settings", settings.cells.get("company_email", ""),
                                     "company_email is empty: messages need a sender address",
                                     "type the address messages are sent from in Settings (company_email)"))
        stop = NO_SENDER
    elif transport is None:
        try:
            transport = transport_for(settings, path, outbox)
        except SetupError as exc:
            stop = str(exc)
    if stop or transport is None:
        return [SendResult(e.key, RETRY, error=stop, recipients=(*e.to, *e.cc), attempted=False,
                           action=e.log.action if e.log else "email", target=e.log.target if e.log else "")
                for e in emails]
    report.lines.append(f"Sending {len(emails)} message(s) to {transport.describe()}")
    try:
        return send_all(emails, settings, journal, transport, now=now, base_dir=path.resolve().parent,
                        policy=policy)
    finally:
        transport.close()


def _write(path: Path, book: Book, derived: Sequence[Update], journal: Journal, writer: Writer | None,
           report: RunReport) -> None:
    write = writer or _store()
    try:
        result = write(path, journal, keep_backups=book.settings.backups_keep, derived=derived)
    except OSError as exc:
        report.problems.append(error("", "", f"{path.name} could not be written ({exc.strerror or exc})",
                                     "close it in Excel or LibreOffice if it is open and check the folder; the changes "
                                     "wait in the journal and are written at the next run"))
        return
    report.written = result.written
    report.deferred = result.deferred
    report.problems.extend(result.problems)


def _store() -> Writer:
    from .workbook.store import flush_pending

    return flush_pending


def _arg(text: str) -> str:
    return f'"{text}"' if any(c in text for c in " '\"&()") else text


def recover(journal: Journal, settings: Settings, path: Path, outbox: Path | None,
            now: dt.datetime) -> tuple[list[str], list[str]]:
    """Settle the messages a crashed run left 'sending': the keys that became uncertain (SPEC §6),
    and a line for each the outbox folder holds whole — handed over, so recorded as sent, with
    its updates and Log row in one transaction. Every door runs this before it reads the
    journal's waiting updates (``execute``; a refresh's plan, ``dashboard.plan_book``)."""
    recovered = journal.recover()
    if not recovered:  # the usual case: mail.transport (smtplib, ssl, email) is not imported for it
        return recovered, []
    from .mail.transport import found_whole, outbox_folder

    folder = outbox_folder(settings, path, outbox)
    if folder is None:
        return recovered, []
    records = {r.key: r for r in map(journal.record, recovered) if r is not None}
    found = found_whole(folder, [(k, r.message_id) for k, r in records.items()])
    for key in found:
        r = records[key]
        journal.mark_sent(key, log=LogLine(now, "send", key, r.recipients, "sent", r.message_id,
                                           "found whole in the outbox after the run that wrote it stopped"))
    lines = [f"{key}: found whole in the outbox after a run stopped — recorded as sent" for key in found]
    return [k for k in recovered if k not in found], lines


def _uncertain_problems(report: RunReport, recovered: Sequence[str], emails: Sequence[Email],
                        path: Path) -> list[Problem]:
    """Uncertain messages: errors for those of this run, a reminder for older ones."""
    wanted = {e.key for e in emails} | {e.key + ":copy" for e in emails if e.copy_to}
    now_uncertain = set(recovered) | {r.key for r in report.results if r.state == UNCERTAIN}
    out: list[Problem] = []
    for key in report.uncertain:
        if key in now_uncertain or key in wanted:
            out.append(uncertain_problem(key, path))
        elif emails:
            out.append(warning("", "", f"message {key} is still uncertain", _check_mailbox(key, path)))
    return out


def uncertain_problem(key: str, path: Path) -> Problem:
    """The error for a message that became uncertain in this run (``recover``, or no answer from the server)."""
    return error("", "", f"message {key} may have been sent (uncertain)", _check_mailbox(key, path))


def _check_mailbox(key: str, path: Path) -> str:
    return f"check the recipient's mailbox, then run `receivables journal release {_arg(str(path))} {_arg(key)}`"


def _send_problems(results: Sequence[SendResult], path: Path) -> list[Problem]:
    out: list[Problem] = []
    not_tried = [r for r in results if not r.attempted]
    for r in results:
        if not r.attempted:
            continue
        if r.state == "failed":
            fix = ("correct the address and run the command again (a refused message is not retried "
                   f"automatically), or run `receivables journal release {_arg(str(path))} {_arg(r.key)}`")
            if " — " in r.error:
                fix = ""
            out.append(error("", "", f"message {r.key} to {', '.join(r.recipients)} was not sent: {r.error}", fix))
        elif r.state == "retry":
            out.append(error("", "", f"message {r.key} to {', '.join(r.recipients)} was not sent ({r.error})",
                             "it will be tried again at the next run"))
        for address, words in r.refused:
            out.append(error("", "", f"message {r.key} was not delivered to {address}: {words}",
                             "check that address; the other recipients received it"))
    unkept = [r for r in results if r.state == "sent" and r.keep_error]
    if unkept:
        out.append(error("", "", f"{len(unkept)} message(s) were sent but no copy was kept in the sent folder: "
                                 f"{unkept[0].keep_error}",
                         "check that the folder can be written and the disk has room (Settings sent_dir); "
                         "the Log rows of these messages say so"))
    if not_tried and not_tried[0].error != NO_SENDER:
        out.append(error("", "", f"{len(not_tried)} message(s) were not sent: {not_tried[0].error}; "
                                 "they will be tried again at the next run"))
    return out


def _summary(report: RunReport) -> list[str]:
    lines = []
    if report.results:
        counts = [(len(report.sent), "sent"), (len(report.skipped), "already sent (skipped)"),
                  (len(report._with("failed")), "refused"), (len(report.retry), "to retry at the next run"),
                  (len(report._with(UNCERTAIN)), "uncertain")]
        lines.append("Messages: " + ", ".join(f"{n} {what}" for n, what in counts if n))
    if report.written:
        lines.append("The workbook was updated.")
    elif report.deferred:
        lines.append("The workbook is open: its updates wait in the journal for the next run.")
    return lines
