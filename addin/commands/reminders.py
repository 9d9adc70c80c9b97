"""`receivables reminders due|run|send` (SPEC §6): thin doors into addin.reminders."""

from __future__ import annotations

import argparse
import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING

from .common import (
    OK,
    PROBLEMS,
    CommandError,
    add_as_of,
    add_outbox,
    add_workbook,
    as_of,
    execute,
    exit_code,
    now,
    print_problems,
    read_book,
)

if TYPE_CHECKING:
    from ..actions import Plan
    from ..ledger import Ledger
    from ..model import Book, Settings


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("reminders", help="invoice reminders: preview, automatic run, manual send",
                                   description="Automatic reminders before or after the due date, and manual "
                                               "reminders for chosen invoices.")
    sub = parser.add_subparsers(dest="reminders_command", metavar="ACTION", required=True)

    p = sub.add_parser("due", help="show the reminders that would go out (nothing is sent)")
    add_workbook(p)
    add_as_of(p)
    p.set_defaults(func=due_command)

    p = sub.add_parser("run", help="send the automatic reminders due on that day")
    add_workbook(p, writes=True)
    add_as_of(p)
    add_outbox(p)
    p.set_defaults(func=run_command)

    p = sub.add_parser("send", help="send a reminder now for the given invoices (even with automatic ones off)")
    add_workbook(p, writes=True)
    p.add_argument("invoices", nargs="+", metavar="INVOICE_NO", help="invoice numbers (spaces or commas between)")
    p.add_argument("--subject", metavar="S", help="the subject (default: the built-in one in the customer's language)")
    p.add_argument("--message", metavar="M", help="the message (default: the built-in one); placeholders allowed")
    add_as_of(p)
    add_outbox(p)
    p.set_defaults(func=send_command)


# --- helpers -----------------------------------------------------------------------------------

def read_history(workbook: Path, settings: Settings) -> dict[str, dt.date | None]:
    """Reminder keys the journal holds as sent (or possibly sent), with the local day they were sent,
    and the holds the Log already records as skipped (``hold-skip:`` keys, see addin.reminders).

    Reads only: when there is no journal yet, nothing was ever sent.
    """
    from ..invoice_status import HOLD_WORDS, hold_until
    from ..journal import DONE, Journal
    from ..reminders import AUTO_PREFIX, GROUP_PREFIX, MANUAL_PREFIX, hold_key

    if not Journal.exists(workbook):
        return {}
    from ..clock import zone

    tz = zone(settings.timezone)
    with Journal.open(workbook) as journal:
        found: dict[str, dt.date | None] = {
            r.key: r.updated.astimezone(tz).date() for r in journal.sends()
            if r.state in DONE and r.key.startswith((AUTO_PREFIX, GROUP_PREFIX, MANUAL_PREFIX))}
        for line in journal.logged("skipped", HOLD_WORDS):
            step, until = line.action.rpartition(" ")[2], hold_until(line.detail)
            if step.isdigit() and until is not None:
                found[hold_key(line.target, int(step), until)] = None
        return found


def _open(args: argparse.Namespace) -> tuple[Book, Ledger, dt.date, frozenset[str] | None] | int:
    """The book, its ledger, the day and the customer IDs the current user may act on (None: all);
    or, when the user may act on none, the exit status after saying why."""
    from ..access import access_for, visible_for
    from ..ledger import Ledger

    book = read_book(args)
    ledger = Ledger.from_book(book)
    day = as_of(args, book)
    access = access_for(book)
    refusal = access.refusal(book)
    if refusal is not None:
        print_problems([refusal], args)
        return PROBLEMS
    return book, ledger, day, visible_for(book, ledger, day, access)


def _numbers(values: list[str]) -> list[str]:
    return [n.strip() for v in values for n in v.split(",") if n.strip()]


# --- handlers ----------------------------------------------------------------------------------

def due_command(args: argparse.Namespace) -> int:
    """Print what the automatic run would send and skip on the day; send and write nothing."""
    planned = _automatic(args, preview=True)
    if isinstance(planned, int):
        return planned
    _book, plan, day = planned
    print(f"Reminders due on {day.isoformat()}: {len(plan.emails)} to send (preview: nothing is sent)")
    for line in plan.lines:
        print(line)
    print_problems(plan.problems, args)
    return exit_code(plan.problems)


def run_command(args: argparse.Namespace) -> int:
    """Send the automatic reminders due on the day (also writes back what earlier runs left waiting)."""
    planned = _automatic(args, preview=False)
    if isinstance(planned, int):
        return planned
    book, plan, _day = planned
    return execute(plan, book, args)


def _automatic(args: argparse.Namespace, *, preview: bool) -> tuple[Book, Plan, dt.date] | int:
    """The day's automatic reminders for the current user (no PDFs for a preview), or an exit status."""
    from ..reminders import plan_automatic

    opened = _open(args)
    if isinstance(opened, int):
        return opened
    book, ledger, day, visible = opened
    history = read_history(args.workbook, book.settings)
    return book, plan_automatic(book, ledger, history, day, attach_pdf=not preview, visible=visible,
                                now=now(book.settings)), day


def send_command(args: argparse.Namespace) -> int:
    """Manual reminders for the invoices named; refused ones are reported, the others sent."""
    from ..reminders import plan_manual

    for option in ("subject", "message"):
        value = getattr(args, option)
        if value is not None and not value.strip():
            raise CommandError(f"--{option} is empty — write one, or leave --{option} out for the built-in one")
    numbers = _numbers(args.invoices)
    if not numbers:
        raise CommandError("no invoice number given — name one or more, e.g. INV-1042")
    opened = _open(args)
    if isinstance(opened, int):
        return opened
    book, ledger, day, visible = opened
    plan = plan_manual(book, ledger, numbers, day, subject=args.subject, message=args.message,
                       history=read_history(args.workbook, book.settings), visible=visible)
    if not plan.emails:
        for line in plan.lines:
            print(line)
        print_problems(plan.problems, args)
        return exit_code(plan.problems) if plan.problems else OK
    return execute(plan, book, args)
