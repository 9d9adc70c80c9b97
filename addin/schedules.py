"""Monthly statement schedules (SPEC §4 Monthly schedules): when they run, what they cover, what goes out.

- A schedule with Day D runs on min(D, last day of the month).
- Its period runs from the previous run date (inclusive) to the day before the run date
  (inclusive): D = 1 covers the previous calendar month; D = 31 runs on 2026-02-28 covering
  2026-01-31 … 2026-02-27.
- An Outstanding schedule is as of the day before the run date; an Activity one covers the period.
- A missed run goes out later, once per period, on any day up to its run date + catch_up_days
  (inclusive), keeping its period. Enabled FALSE pauses the schedule; Exclude Zero Balance skips
  a customer whose closing balance is 0. A Group schedule sends one statement per member.
- Exactly once per customer per period: the key ``statement:<customer>:<start>..<end>``; the
  journal's sent keys are passed in, so the decision is a pure function of the books, the
  history and the date.
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Callable, Iterable

from . import statements as st
from .actions import LogEntry, Plan, SetCells
from .groups import find_group, held_group
from .holds import held
from .ledger import Ledger
from .model import Book, Customer, Schedule
from .problems import Problem, error
from .render.texts import Source
from .workbook import schema
from .workbook.schema import normalize

SHEET = schema.STATEMENT_SCHEDULES


def run_date(year: int, month: int, day: int) -> dt.date:
    """The day a Day-``day`` schedule runs in that month: min(day, last day of the month)."""
    return dt.date(year, month, min(day, calendar.monthrange(year, month)[1]))


def _month_before(year: int, month: int) -> tuple[int, int]:
    return (year - 1, 12) if month == 1 else (year, month - 1)


def period(run: dt.date, day: int) -> tuple[dt.date, dt.date]:
    """(start, end) covered by the run of ``run``: the previous run date .. the day before ``run``."""
    prev = run_date(*_month_before(run.year, run.month), day)
    return prev, run - dt.timedelta(days=1)


def due_runs(day: int, as_of: dt.date, catch_up_days: int) -> list[dt.date]:
    """Run dates R with R <= as_of <= R + catch_up_days, oldest first."""
    runs: list[dt.date] = []
    year, month = as_of.year, as_of.month
    while True:
        r = run_date(year, month, day)
        if r + dt.timedelta(days=max(catch_up_days, 0)) < as_of:
            break
        if r <= as_of:
            runs.append(r)
        year, month = _month_before(year, month)
    return sorted(runs)


def key(customer_id: str, start: dt.date, end: dt.date) -> str:
    """The journal key of a scheduled statement."""
    return f"statement:{customer_id}:{start.isoformat()}..{end.isoformat()}"


# --- checking -------------------------------------------------------------------------------------

def _ref(s: Schedule, header: str) -> str:
    return s.origin.cell(header) if s.origin.sheet else ""


def _sheet(s: Schedule) -> str:
    return s.origin.sheet or SHEET.name


def schedule_problems(book: Book, s: Schedule) -> list[Problem]:
    """What is wrong with one schedule row (it is then not run)."""
    out: list[Problem] = []
    if bool(s.customer_id.strip()) == bool(s.group.strip()):
        which = "both a Customer ID and a Group" if s.customer_id.strip() else "neither a Customer ID nor a Group"
        out.append(error(_sheet(s), _ref(s, "Customer ID"), f"the schedule has {which}",
                         "fill in one of the two: Customer ID for one customer, Group for every member"))
    elif s.customer_id.strip() and book.customer(s.customer_id) is None:
        out.append(error(_sheet(s), _ref(s, "Customer ID"), f'no customer "{s.customer_id}" on the Customers sheet',
                         "check the Customer ID"))
    elif s.group.strip() and not any(normalize(g.name) == normalize(s.group) for g in book.groups):
        out.append(error(_sheet(s), _ref(s, "Group"), f'group "{s.group}" is not on the Groups sheet',
                         "check the group's name"))
    if not 1 <= s.day <= 31:
        out.append(error(_sheet(s), _ref(s, "Day"), f"day {s.day} is not a day of the month",
                         "type a day from 1 to 31 (31 = the last day of every month)"))
    if s.type.strip():
        try:
            st.normalize_type(s.type)
        except ValueError as exc:
            out.append(error(_sheet(s), _ref(s, "Type"), str(exc).split(" — ")[0], "use Outstanding or Activity"))
    from .render import texts

    for header, text in (("Subject", s.subject), ("Message", s.message)):
        if text.strip():
            p = texts.check(text, Source(_sheet(s), _ref(s, header)))
            if p is not None:
                out.append(p)
    return out


def check(book: Book) -> list[Problem]:
    """Problems of the Statement Schedules sheet, for `receivables check`."""
    return [p for s in book.schedules for p in schedule_problems(book, s)]


# --- planning -------------------------------------------------------------------------------------

def _members(book: Book, ledger: Ledger, s: Schedule, as_of: dt.date) -> list[Customer]:
    if s.customer_id.strip():
        c = book.customer(s.customer_id)
        return [c] if c else []
    from .groups import members_of

    return members_of(book, ledger, s.group, as_of)


def mails_due(book: Book, ledger: Ledger, sent_keys: Iterable[str], as_of: dt.date,
              visible: frozenset[str] | None = None) -> tuple[list[st.Mail], list[Problem], list[str]]:
    """The scheduled statements to send on ``as_of`` (without attachments), problems, human lines.

    ``visible``: the customer IDs the current user may act on (None: all), see addin.access.
    """
    sent = set(sent_keys)
    seen = None if visible is None else {normalize(v) for v in visible}
    settings = book.settings
    default_type = st.normalize_type(settings.statement_type)
    mails: list[st.Mail] = []
    problems: list[Problem] = []
    lines: list[str] = []
    planned: set[str] = set()
    waiting = (*book.holds.sending(), *book.holds.statements())
    if waiting and any(s.enabled for s in book.schedules):
        return [], [held("", "", "scheduled statements: none sent", waiting)], []
    for s in book.schedules:
        if not s.enabled:
            continue
        group = None if s.customer_id.strip() else find_group(book, s.group)
        hold = group and held_group(book, group, "no scheduled statement sent", sending=True)
        if hold:
            problems.append(hold)
            continue
        bad = schedule_problems(book, s)
        if any(p.is_error for p in bad):
            problems += bad
            continue
        runs = due_runs(s.day, as_of, settings.catch_up_days)
        if not runs:
            continue
        kind = st.normalize_type(s.type, default_type)
        by_customer = bool(s.customer_id.strip())
        key_header, key_value = ("Customer ID", s.customer_id) if by_customer else ("Group", s.group)
        on_sent = (SetCells(SHEET.name, key_header, key_value, (("Last Sent", as_of),)),)
        members = _members(book, ledger, s, as_of)
        for run in runs:
            start, end = period(run, s.day)
            for customer in members:
                if seen is not None and normalize(customer.id) not in seen:
                    continue
                k = key(customer.id, start, end)
                if k in sent or k in planned:
                    continue
                if kind == st.ACTIVITY:
                    made = st.build(book, ledger, customer.id, end, type=st.ACTIVITY, start=start)
                else:
                    made = st.build(book, ledger, customer.id, end)
                if isinstance(made, Problem):
                    problems.append(made)
                    continue
                if s.exclude_zero_balance and made.total == 0:
                    lines.append(f"skipped {customer.id}: zero balance on {end.isoformat()} (Exclude Zero Balance)")
                    continue
                to = st.recipients(customer, s.to)
                if not to:
                    problems.append(st.no_address(customer))
                    continue
                planned.add(k)
                subject = (s.subject, Source(_sheet(s), _ref(s, "Subject"))) if s.subject.strip() else None
                message = (s.message, Source(_sheet(s), _ref(s, "Message"))) if s.message.strip() else None
                log = LogEntry("statement", customer.id, f"{kind} {start.isoformat()}..{end.isoformat()}"
                               + ("" if by_customer else f" (group {s.group})"))
                mails.append(st.Mail(made, k, to, tuple(s.cc), subject=subject, message=message,
                                     attach_csv=s.attach_csv, on_sent=on_sent, log=log))
                lines.append(f"statement for {customer.id} ({kind}, {start.isoformat()}..{end.isoformat()}) "
                             f"to {', '.join(to)}")
    return mails, problems, lines


def plan_scheduled(book: Book, ledger: Ledger, sent_keys: Iterable[str], as_of: dt.date, *,
                   progress: Callable[[int, int], None] | None = None, workers: int | None = None,
                   visible: frozenset[str] | None = None) -> Plan:
    """Every scheduled statement due on ``as_of`` and not sent yet, as a Plan (PDFs attached).

    ``sent_keys``: the journal's keys starting with ``statement:`` (``Journal.sent_keys("statement:")``).
    ``progress(done, total)`` is called as attachments are made; ``workers`` caps the processes.
    """
    mails, problems, lines = mails_due(book, ledger, sent_keys, as_of, visible)
    made, more = st.emails(mails, book, progress=progress, workers=workers)
    return Plan(emails=tuple(made), problems=tuple(problems + more), lines=tuple(lines))
