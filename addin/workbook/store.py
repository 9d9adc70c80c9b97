"""The one way the product writes to the user's workbook.

``write_updates`` queues updates in the journal, then (unless the workbook is open in Excel)
applies every pending update onto the current file: write a temporary copy, check it opens,
keep a backup, replace the workbook atomically, mark the updates applied. A cross-process
lock file makes sure two of our processes never write at once.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import socket
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from .. import procs
from ..actions import Update
from ..problems import Problem, error, notice
from . import guard
from .files import read_only_reason
from .writer import BadWorkbook, WriteRefused, apply

Where = Mapping[tuple[str, str], Mapping[str, int]]  # no longer used by the writer (issue 17)

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
      applied: journal ids of the updates now in the file (or given up on, see problems).
    """

    written: bool = False
    deferred: bool = False
    problems: list[Problem] = field(default_factory=list)
    applied: list[int] = field(default_factory=list)


def write_updates(path: Path, updates: Sequence[Update], journal: Journal,
                  read_fingerprint: guard.Fingerprint | None, keep_backups: int = 5,
                  derived: Sequence[Update] = (), where: Where | None = None) -> StoreResult:
    """Queue ``updates`` and write every pending update into the workbook if it is not open.

    ``read_fingerprint`` is the workbook as the caller read it. If it changed since, that is
    fine: updates are keyed by content, so they are applied onto the new content and the
    person's edits are kept.

    ``derived`` updates (Dashboard figures, Paid/Balance columns) are computed again at every
    run: they are written after the pending ones in the same write, but never queued — when the
    workbook is open they are simply dropped, and the next refresh recomputes them.

    ``where`` tells the rows of the records the caller read (see ``writer.Where``); it is used
    only while the file is still the one read (``read_fingerprint``).
    """
    if updates:
        journal.queue_updates(list(updates))
    return flush_pending(path, journal, keep_backups, read_fingerprint, derived, where)


def flush_pending(path: Path, journal: Journal, keep_backups: int = 5,
                  read_fingerprint: guard.Fingerprint | None = None,
                  derived: Sequence[Update] = (), where: Where | None = None) -> StoreResult:
    """Write the journal's pending updates (and ``derived`` ones) into the workbook (the daemon
    calls this each tick)."""
    path = Path(path)
    result = StoreResult()
    reason = read_only_reason(path)
    if reason is not None:  # the doors refuse it before anything is done; this is the last guard
        result.problems.append(error("", "", reason))
        return result
    owner, stale = guard.find_owner(path)
    result.problems += stale
    if owner is not None:
        return _defer(result, journal, path, guard.open_in(owner))
    lock = WorkbookLock(path)
    if not lock.acquire(LOCK_WAIT):
        return _defer(result, journal, path, BUSY)
    try:
        _recover_intent(path, journal)
        _write_pending(path, journal, keep_backups, result, derived,
                       (read_fingerprint, where) if where and read_fingerprint is not None else None)
    finally:
        lock.release()
    return result


BUSY = "busy"

# The commands that write what waits in the journal whenever they run on the closed workbook: each
# ends in flush_pending (refresh through dashboard.refresh, the others through run.execute, which
# they always call). The notice below names them; tests/test_pending_notice.py runs every command
# and proves these are the ones. Commands that send (reminders send, statements email and run,
# groups email) and groups delete write them only when they send or delete something; check,
# reminders due, groups show and export, statements export and report never write the workbook.
WRITERS = ("refresh", "reminders run", "groups build")


def _defer(result: StoreResult, journal: Journal, path: Path, why: str) -> StoreResult:
    """``why``: BUSY, or how the workbook is open (``guard.open_in``)."""
    n = len(journal.pending_updates())
    result.deferred = n > 0
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
                   derived: Sequence[Update] = (), read: tuple[guard.Fingerprint, Where] | None = None) -> None:
    """Apply the pending and derived updates onto the current file (the write always starts from
    it: updates are keyed by content); ``read``: where the records were in the file the caller
    read, used while the file is still that one."""
    pending: list[tuple[int | None, Update]] = [*journal.pending_updates(), *((None, u) for u in derived)]
    if not pending:
        return
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
            problems = guard.verify(tmp, report.sheets)
            if problems:
                result.problems += problems
                return
            owner, _ = guard.find_owner(path)
            if owner is not None:  # opened while we wrote: leave it alone
                _defer(result, journal, path, guard.open_in(owner))
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
            result.applied = ids
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


def pid_alive(pid: int) -> bool:
    """Whether a process with this id runs on this machine (POSIX: signal 0; Windows: OpenProcess)."""
    if pid <= 0:
        return False
    if sys.platform == "win32":
        import ctypes

        kernel32 = ctypes.WinDLL("kernel32", use_last_error=True)  # type: ignore[attr-defined]
        handle = kernel32.OpenProcess(0x1000, False, pid)  # PROCESS_QUERY_LIMITED_INFORMATION
        if not handle:
            return ctypes.get_last_error() == 5  # access denied: it exists
        try:
            code = ctypes.c_ulong()
            kernel32.GetExitCodeProcess(handle, ctypes.byref(code))
            return code.value == 259  # STILL_ACTIVE
        finally:
            kernel32.CloseHandle(handle)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


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
            stale = not pid_alive(int(pid)) or age > LOCK_STALE.total_seconds()
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
