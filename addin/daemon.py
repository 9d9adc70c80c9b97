"""The background service: checks each workbook at its check times, sends what is due.

Thin: a tick reads the saved workbook, asks the same pure functions as the CLI what is due
(automatic reminders, scheduled statements), carries the plan out through ``addin.run`` and
records the tick in the journal. The ``schedule`` package drives the loop; the check times
themselves are computed here with zoneinfo so that they stay right across DST changes.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import signal
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from .clock import zone
from .model import Book
from .procs import pid_alive

log = logging.getLogger("receivables.daemon")

TICK = "daemon-tick"
STATEMENTS = "daemon-statements"


# --- when to check (pure) ----------------------------------------------------------------------

def at_local(day: dt.date, t: dt.time, tz: dt.tzinfo) -> dt.datetime:
    """The instant of wall-clock time ``t`` on ``day`` in ``tz``.

    A time skipped by a spring-forward change happens right after the gap (02:30 -> 03:30);
    a time repeated by a fall-back change happens once, the first time.
    """
    # fold=0 reads a gap time with the offset before the change, which lands after the gap,
    # and a repeated time as its first occurrence; the round trip through UTC normalises it.
    return dt.datetime.combine(day, t, tzinfo=tz).replace(fold=0).astimezone(dt.UTC).astimezone(tz)


def check_slots(day: dt.date, times: Sequence[dt.time], tz: dt.tzinfo) -> list[dt.datetime]:
    return sorted(at_local(day, t, tz) for t in times)


def next_check(after: dt.datetime, times: Sequence[dt.time], tz: dt.tzinfo) -> dt.datetime:
    """The first check strictly after ``after`` (an aware datetime)."""
    local_day = after.astimezone(tz).date()
    for offset in range(0, 3):
        for slot in check_slots(local_day + dt.timedelta(days=offset), times, tz):
            if slot > after:
                return slot
    raise ValueError("no check times configured")


def last_check(before: dt.datetime, times: Sequence[dt.time], tz: dt.tzinfo) -> dt.datetime | None:
    """The latest check at or before ``before``, looking back two days."""
    local_day = before.astimezone(tz).date()
    for offset in range(0, 3):
        for slot in reversed(check_slots(local_day - dt.timedelta(days=offset), times, tz)):
            if slot <= before:
                return slot
    return None


# --- one instance per workbook -----------------------------------------------------------------

class AlreadyRunning(Exception):
    """Another daemon serves this workbook; the message names it."""


def lock_path(workbook: Path) -> Path:
    """``books.xlsx.daemon.lock``: named after the whole file name, as every file beside the workbook."""
    return workbook.with_name(f"{workbook.name}.daemon.lock")


def log_path(workbook: Path) -> Path:
    """``books.xlsx.daemon.log``."""
    return workbook.with_name(f"{workbook.name}.daemon.log")


@dataclass
class InstanceLock:
    """A lock file holding the owner's pid and start time; a dead owner's lock is taken over."""

    workbook: Path
    held: bool = False

    @property
    def path(self) -> Path:
        return lock_path(self.workbook)

    def owner(self) -> dict | None:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return data if isinstance(data, dict) else None

    def acquire(self) -> None:
        me = {"pid": os.getpid(), "since": dt.datetime.now().astimezone().isoformat(timespec="seconds")}
        for _ in range(3):
            try:
                fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileExistsError:
                other = self.owner()
                if other and pid_alive(int(other.get("pid", 0))) and other.get("pid") != os.getpid():
                    raise AlreadyRunning(
                        f"a daemon already serves {self.workbook.name} (pid {other['pid']}, since "
                        f"{other.get('since', '?')}) — stop it first, or use `receivables daemon status "
                        f"{self.workbook}`") from None
                log.warning("taking over the lock of a daemon that is gone (%s)", other)
                self.path.unlink(missing_ok=True)
                continue
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump(me, f)
            self.held = True
            return
        raise AlreadyRunning(f"could not take the lock {self.path} — delete it if no daemon runs")

    def release(self) -> None:
        if self.held:
            other = self.owner()
            if other and other.get("pid") == os.getpid():
                self.path.unlink(missing_ok=True)
            self.held = False


# --- a tick --------------------------------------------------------------------------------------

@dataclass
class TickResult:
    day: dt.date
    lines: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    read: bool = True


def tick(workbook: Path, day: dt.date, now: dt.datetime, *, statements: bool = True,
         outbox: Path | None = None, should_stop: Callable[[], bool] = lambda: False,
         book: Book | None = None) -> TickResult:
    """Everything the daemon does for ``day``: due reminders, (once a day) scheduled statements, refresh.

    ``book``: the workbook as already read, when the file has not changed since.
    """
    from . import reminders, schedules
    from .actions import merge
    from .checks import workbook_problems
    from .commands.reminders import read_history
    from .journal import Journal
    from .ledger import Ledger
    from .mail.sender import Policy
    from .problems import lines
    from .run import execute
    from .workbook.reader import load

    book = book or load(workbook)
    ledger = Ledger.from_book(book)
    history = read_history(workbook, book.settings)
    with Journal.open(workbook) as journal:
        statement_keys = journal.sent_keys("statement:")
        statements_due = statements and not journal.run_done(STATEMENTS, day.isoformat())
    plans = [reminders.plan_automatic(book, ledger, history, day, now=now)]
    if statements_due:
        plans.append(schedules.plan_scheduled(book, ledger, statement_keys, day))
    plan = merge(*plans)
    report = execute(plan, book, outbox=outbox, now=now, policy=Policy(should_stop=should_stop))
    errors = [p for p in workbook_problems(book) if p.is_error]  # what the workbook must fix, every tick
    result = TickResult(day, list(report.lines), lines((*errors, *plan.problems, *report.problems)))
    stopped = should_stop()
    with Journal.open(workbook) as journal:
        if statements_due and not stopped:
            journal.record_run(STATEMENTS, day.isoformat(), "; ".join(report.lines)[:500])
        if not stopped:
            journal.record_run(TICK, now.isoformat(timespec="seconds"), f"{len(plan.emails)} due")
    if not stopped:
        _refresh(workbook, day)
    return result


def _refresh(workbook: Path, day: dt.date) -> None:
    """Dashboard and add-in columns after a tick."""
    from .dashboard import refresh

    refresh(workbook, day)


# --- the loop ------------------------------------------------------------------------------------

@dataclass
class Served:
    """A workbook the daemon serves, with what it last saw of it."""

    path: Path
    tz: dt.tzinfo
    times: tuple[dt.time, ...]
    fingerprint: tuple[int, int] | None = None
    next_at: dt.datetime | None = None
    book: Book | None = None
    book_stat: tuple[int, int] | None = None
    reads: int = 0

    def current_book(self) -> Book:
        """The workbook's records, read again only when the file changed since the last read."""
        from .workbook.reader import load

        stat = _stat(self.path)
        if self.book is None or stat != self.book_stat:
            self.book, self.book_stat = load(self.path), stat
            self.reads += 1
        return self.book


def _say(served: Served, lines: Iterable[object], problems: Iterable[object]) -> None:
    """A run's lines in the daemon's log, and its problems as warnings."""
    for line in lines:
        log.info("%s: %s", served.path.name, line)
    for problem in problems:
        log.warning("%s: %s", served.path.name, problem)


class Daemon:
    """Serve one or several workbooks until stopped (SIGTERM, SIGINT, Ctrl+Break)."""

    def __init__(self, workbooks: Sequence[Path], *, clock: Callable[[], dt.datetime] | None = None) -> None:
        self.paths = [p.resolve() for p in workbooks]
        self.stop_event = threading.Event()
        self.clock = clock or (lambda: dt.datetime.now(dt.UTC))
        self.locks = [InstanceLock(p) for p in self.paths]
        self.served: list[Served] = []

    def install_signal_handlers(self) -> None:
        def stop(signum, _frame):  # noqa: ANN001
            log.info("signal %s: finishing the message in flight, then stopping", signum)
            self.stop_event.set()

        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        if hasattr(signal, "SIGBREAK"):  # Windows: Ctrl+Break and console close
            signal.signal(signal.SIGBREAK, stop)

    def start(self) -> None:
        for lock in self.locks:
            lock.acquire()
        for path in self.paths:
            self.served.append(self._configure(path))

    def _configure(self, path: Path) -> Served:
        served = Served(path, dt.UTC, ())
        settings = served.current_book().settings
        served.tz, served.times = zone(settings.timezone), settings.reminder_check_times
        served.fingerprint = _stat(path)
        now = self.clock()
        # Catch up: a check missed while the PC slept or was off runs once, now.
        from .journal import Journal

        with Journal.open(path) as journal:
            last_tick = journal.last_run(TICK)
        previous = last_check(now, served.times, served.tz)
        if previous and (last_tick is None or last_tick < previous):
            served.next_at = now
        else:
            served.next_at = next_check(now, served.times, served.tz)
        log.info("%s: next check %s", path.name, served.next_at.isoformat(timespec="minutes"))
        return served

    def poll(self) -> None:
        """One pass: run the workbooks whose check time has come; flush pending writes."""
        now = self.clock()
        for served in self.served:
            if self.stop_event.is_set():
                return
            if served.next_at and now >= served.next_at:
                self._tick(served, now)
            else:
                self._flush(served)

    def _tick(self, served: Served, now: dt.datetime) -> None:
        day = now.astimezone(served.tz).date()
        try:
            book = served.current_book()
            served.tz, served.times = zone(book.settings.timezone), book.settings.reminder_check_times
            # Statements go at the day's first tick: the journal records them once per day.
            # now in the workbook's zone: Log times and the sent archive's months are its wall clock
            result = tick(served.path, day, now.astimezone(served.tz), should_stop=self.stop_event.is_set, book=book)
            _say(served, result.lines, result.problems)
        except Exception as exc:  # noqa: BLE001 - the daemon keeps serving; the failure is logged
            log.exception("%s: the check of %s failed", served.path.name, day)
            _log_failure(served.path, now, f"the check of {day.isoformat()} failed: {type(exc).__name__}: {exc}")
        served.fingerprint = _stat(served.path)
        served.next_at = next_check(now, served.times, served.tz)
        log.info("%s: next check %s", served.path.name, served.next_at.isoformat(timespec="minutes"))

    def _flush(self, served: Served) -> None:
        """Write updates that waited while the workbook was open, once it is closed."""
        current = _stat(served.path)
        if current == served.fingerprint:
            return
        served.fingerprint = current
        try:
            from .actions import Plan
            from .model import Settings
            from .run import execute

            settings = served.book.settings if served.book else Settings()
            report = execute(Plan(), Book(settings=settings, path=served.path), outbox=None, now=dt.datetime.now())
            _say(served, report.lines, report.problems)  # what it wrote, and a crashed run's messages it settled
        except Exception:  # noqa: BLE001
            log.exception("%s: writing pending updates failed", served.path.name)

    def run_forever(self, poll_seconds: int = 1) -> None:
        import schedule

        scheduler = schedule.Scheduler()
        scheduler.every(poll_seconds).seconds.do(self.poll)
        self.poll()
        while not self.stop_event.is_set():
            scheduler.run_pending()
            self.stop_event.wait(timeout=min(1.0, poll_seconds))

    def close(self) -> None:
        for lock in self.locks:
            lock.release()


def _log_failure(path: Path, now: dt.datetime, detail: str) -> None:
    """A failure of the daemon itself reaches the Log sheet at the next write."""
    from .journal import Journal, LogLine

    try:
        with Journal.open(path) as journal:
            journal.add_log(LogLine(now.astimezone().replace(tzinfo=None), "daemon check", path.name, "", "failed", "",
                                    detail))
    except Exception:  # noqa: BLE001 - the log file already has it
        log.exception("%s: could not record the failure in the journal", path.name)


def _stat(path: Path) -> tuple[int, int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return (st.st_size, st.st_mtime_ns)


def setup_logging(workbook: Path, verbose: bool = True) -> Path:
    """A rotating log file beside the workbook (and the console when ``verbose``)."""
    from logging.handlers import RotatingFileHandler

    log_file = log_path(workbook)
    handler = RotatingFileHandler(log_file, maxBytes=1_000_000, backupCount=5, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    root = logging.getLogger("receivables")
    root.setLevel(logging.INFO)
    root.addHandler(handler)
    if verbose:
        console = logging.StreamHandler()
        console.setFormatter(logging.Formatter("%(asctime)s %(message)s", "%H:%M:%S"))
        root.addHandler(console)
    return log_file

