"""The one way the product writes to the user's workbook: the journal's pending updates, in plain steps.

``flush_pending`` (``run.execute``'s writer) takes them in order: refuse a read-only format;
leave a workbook open in Excel or LibreOffice alone (the updates wait); take the lock file (two
of our processes never write at once); finish a replace a crash interrupted (the intent file);
fingerprint the workbook; write a copy (``writer.apply``); read the copy back
(``guard.verify``); start again should someone have saved the workbook meanwhile; record the
intent, keep a backup, replace the workbook atomically; mark the updates applied.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import socket
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from .. import procs
from ..actions import Update
from ..problems import Problem, error, notice
from . import guard
from .files import read_only_reason
from .writer import BadWorkbook, WriteRefused, apply

LOCK_SUFFIX = ".receivables.lock"
INTENT_SUFFIX = ".receivables.intent"
LOCK_WAIT = 60.0  # seconds to wait for another of our processes to finish its write
SAY_AFTER = 2.0  # seconds of waiting after which a person is told who holds the lock (SPEC §4)
LOCK_STALE = dt.timedelta(hours=1)  # a lock older than this is stale even if its pid lives (pid reuse)
CHANGE_RETRIES = 3  # times to start over when someone saves the workbook during our write


class Journal(Protocol):
    """The part of addin.journal.Journal the store uses."""

    def queue_updates(self, updates: Sequence[Update]) -> object: ...
    def pending_updates(self) -> list[tuple[int, Update]]: ...
    def mark_updates_applied(self, ids: Sequence[int]) -> None: ...


@dataclass
class StoreResult:
    """What happened to the updates.

    Attributes:
      written: the workbook was replaced with one holding the pending updates.
      deferred: the updates wait in the journal (workbook open, or another write in progress).
      problems: notices (deferred), warnings (a key not found) and errors (a refused write).
    """

    written: bool = False
    deferred: bool = False
    problems: list[Problem] = field(default_factory=list)


def write_updates(path: Path, updates: Sequence[Update], journal: Journal, keep_backups: int = 5,
                  derived: Sequence[Update] = ()) -> StoreResult:
    """Queue ``updates`` and write every pending update into the workbook if it is not open (one
    call for tests and benches; the program's doors write through ``run.execute``)."""
    if updates:
        journal.queue_updates(list(updates))
    return flush_pending(path, journal, keep_backups=keep_backups, derived=derived)


def flush_pending(path: Path, journal: Journal, keep_backups: int = 5, derived: Sequence[Update] = ()) -> StoreResult:
    """Write the journal's pending updates (and ``derived`` ones) into the workbook (``run.Writer``).

    ``derived`` updates (Dashboard figures, Paid/Balance columns) are computed again at every
    run: they are written after the pending ones in the same write, but never queued — when the
    workbook is open they are simply dropped, and the next refresh recomputes them.

    The write starts from the file as it is now, whatever the caller read: updates are keyed by
    content, so they are applied onto a version someone saved since, and the person's edits
    are kept.
    """
    path = Path(path)
    result = StoreResult()
    reason = read_only_reason(path)
    if reason is not None:  # the doors refuse it before anything is done; this is the last guard
        result.problems.append(error("", "", reason))
        return result
    owner, stale = guard.find_owner(path)
    result.problems += stale
    if owner is not None:
        return _defer(result, journal, path, guard.open_in(owner), bool(derived))
    lock = WorkbookLock(path)
    if not lock.acquire(LOCK_WAIT):
        return _defer(result, journal, path, BUSY, bool(derived))
    try:
        _recover_intent(path, journal)
        _write_pending(path, journal, keep_backups, result, derived)
    finally:
        lock.release()
    return result


BUSY = "busy"

# The commands that write what waits in the journal whenever they run on the closed workbook: each
# ends in flush_pending through run.execute, which they always call (refresh through
# dashboard.carry_out). The notice below names them; tests/test_pending_notice.py runs every command
# and proves these are the ones. Commands that send (reminders send, statements email and run,
# groups email) and groups delete write them only when they send or delete something; check,
# reminders due, groups show and export, statements export and report never write the workbook.
WRITERS = ("refresh", "reminders run", "groups build")


def _defer(result: StoreResult, journal: Journal, path: Path, why: str, derived: bool) -> StoreResult:
    """``why``: BUSY, or how the workbook is open (``guard.open_in``). Derived updates, never
    queued, are deferred too (their door says so: they are computed again at its next run)."""
    n = len(journal.pending_updates())
    result.deferred = n > 0 or derived
    if n:
        updates = "1 update" if n == 1 else f"{n} updates"
        if why != BUSY:
            commands = [f"`receivables {c}`" for c in WRITERS]
            message = f"the workbook is {why}: {updates} will be written at the next run after it is closed"
            fix = (f"close {path.name}, then run {', '.join(commands[:-1])} or {commands[-1]} on it "
                   "(or let the daemon run)")
        else:
            message = f"another receivables process is writing the workbook: {updates} will be written at the next run"
            fix = "nothing to do; run the command again later to write them now"
        result.problems.append(notice("", "", message, fix))
    return result


def _write_pending(path: Path, journal: Journal, keep: int, result: StoreResult,
                   derived: Sequence[Update] = ()) -> None:
    """Apply the pending and derived updates onto the current file, in plain steps: fingerprint
    it, write a copy, read the copy back, then (if nobody opened or saved the workbook meanwhile)
    record the intent, back up, replace. The write always starts from the current file: updates
    are keyed by content, so a version someone saved meanwhile is written again from the start."""
    pending: list[tuple[int | None, Update]] = [*journal.pending_updates(), *((None, u) for u in derived)]
    refused: set[int | None] = set()  # None: the derived updates, refused together
    changes = 0
    while changes < CHANGE_RETRIES:
        todo = [(i, u) for i, u in pending if i not in refused]
        if not todo:
            return
        before = guard.fingerprint(path)
        tmp = path.with_name(f".{path.stem}.{os.getpid()}.receivables-tmp{path.suffix}")
        try:
            try:
                report = apply(path, tmp, [u for _, u in todo])
            except WriteRefused as exc:
                refused.add(todo[exc.index][0])
                result.problems.append(exc.problem())
                continue
            except (BadWorkbook, OSError) as exc:
                result.problems.append(error("", "", f"{path.name} could not be updated ({exc})",
                                             "check the file opens in Excel; the updates wait in the journal"))
                return
            problems = guard.verify(tmp, report.sheets, report.had)
            if problems:
                result.problems += problems
                return
            owner, _ = guard.find_owner(path)
            if owner is not None:  # opened while we wrote: leave it alone
                _defer(result, journal, path, guard.open_in(owner), bool(derived))
                return
            if guard.fingerprint(path) != before:
                changes += 1
                continue  # saved by someone while we wrote: start again from their version
            ids = [i for i, _ in todo if i is not None]
            _write_intent(path, ids, tmp)
            guard.backup(path, keep)
            try:
                guard.replace_atomically(tmp, path)
            except PermissionError as exc:
                _clear_intent(path)
                result.problems.append(error("", "", f"{path.name} could not be replaced ({exc})",
                                             "close the workbook in every program; the updates wait in the journal"))
                return
            journal.mark_updates_applied(ids)
            _clear_intent(path)
            result.written = True
            result.problems += report.problems
            return
        finally:
            if tmp.exists():
                tmp.unlink()
    result.problems.append(notice("", "", f"{path.name} kept changing while it was written",
                                      "the updates wait in the journal and are written at the next run"))


# --- intent: exactly once across a crash ----------------------------------------------------


def _intent_path(path: Path) -> Path:
    return path.with_name(path.name + INTENT_SUFFIX)


def _write_intent(path: Path, ids: list[int], tmp: Path) -> None:
    """Before the replace: which updates the new file holds, and its hash."""
    data = json.dumps({"ids": ids, "sha256": guard.fingerprint(tmp).sha256})
    p = _intent_path(path)
    with open(p, "w", encoding="utf-8") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())


def _clear_intent(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        _intent_path(path).unlink()


def _recover_intent(path: Path, journal: Journal) -> None:
    """After a crash between the replace and the journal: the file tells whether it happened."""
    p = _intent_path(path)
    try:
        intent = json.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return
    except (OSError, ValueError):
        _clear_intent(path)
        return
    if path.exists() and guard.fingerprint(path).sha256 == intent.get("sha256"):
        pending = {i for i, _ in journal.pending_updates()}
        done = [i for i in intent.get("ids", []) if i in pending]
        if done:
            journal.mark_updates_applied(done)
    _clear_intent(path)


# --- the lock -----------------------------------------------------------------------------


class WorkbookLock:
    """``<workbook>.receivables.lock``: created exclusively, holds ``host pid`` and, on a second
    line, what the process does (``reminders run``); stale when the pid is dead."""

    def __init__(self, path: Path) -> None:
        self.workbook = Path(path)
        self.path = self.workbook.with_name(self.workbook.name + LOCK_SUFFIX)
        self.held = False
        self.me = f"{socket.gethostname()} {os.getpid()}"
        if procs.doing():
            self.me += "\n" + procs.doing()

    def acquire(self, wait: float = LOCK_WAIT, say: Callable[[str], None] | None = None) -> bool:
        """Take the lock, waiting up to ``wait`` seconds; after ``SAY_AFTER`` seconds of waiting,
        ``say`` (default: a line on stderr) once who holds it."""
        start = time.monotonic()
        deadline = start + wait
        pause = 0.05
        said = False
        while True:
            try:
                fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileExistsError:
                if self._break_stale():
                    continue
                now = time.monotonic()
                if now >= deadline:
                    return False
                if not said and now - start >= SAY_AFTER:
                    said = True
                    (say or _say)(f"waiting for {self.holder()} to finish writing {self.workbook.name}…")
                time.sleep(min(pause, max(0.0, deadline - now)))
                pause = min(pause * 2, 1.0)
                continue
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(self.me)
            self.held = True
            return True

    def holder(self) -> str:
        """Who holds the lock, for a person: ``receivables (pid 4242: reminders run)``."""
        try:
            host, pid, what = _holder(self.path.read_text(encoding="utf-8"))
        except OSError:
            return "another receivables process"
        return procs.holder(host, pid, what) if pid.isdigit() else "another receivables process"

    def _break_stale(self) -> bool:
        try:
            text = self.path.read_text(encoding="utf-8")
            age = time.time() - self.path.stat().st_mtime
        except FileNotFoundError:
            return True  # released meanwhile: try again
        except OSError:
            return False
        host, pid, _ = _holder(text)
        if not pid.isdigit():
            stale = age > 60  # being written right now, or garbage left by a crash
        elif host == socket.gethostname():
            stale = not procs.pid_alive(int(pid)) or age > LOCK_STALE.total_seconds()
        else:
            stale = age > LOCK_STALE.total_seconds()  # another PC: its pids mean nothing here
        if not stale:
            return False
        try:
            if self.path.read_text(encoding="utf-8") == text:
                self.path.unlink()
        except OSError:
            pass
        return True

    def release(self) -> None:
        if self.held:
            try:
                if self.path.read_text(encoding="utf-8") == self.me:
                    self.path.unlink()
            except OSError:
                pass
            self.held = False

    def __enter__(self) -> WorkbookLock:
        if not self.acquire():
            raise TimeoutError(f"{self.path.name} is held by another process")
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def _holder(text: str) -> tuple[str, str, str]:
    """A lock file's host, pid and what the process does."""
    first, _, what = text.partition("\n")
    host, _, pid = first.strip().rpartition(" ")
    return host, pid, what.strip()


def _say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)
