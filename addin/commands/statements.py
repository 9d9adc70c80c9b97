"""`receivables statements export|email|run` (SPEC §6): thin doors into addin.statements and addin.schedules."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from ..problems import Problem
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
    parse_date,
    print_problems,
    read_book,
)

if TYPE_CHECKING:
    from ..ledger import Ledger
    from ..model import Book


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("statements", help="customer statements: export, email, scheduled run",
                                   description="Outstanding or activity statements as PDF or CSV, by email, "
                                               "and the monthly schedules.")
    sub = parser.add_subparsers(dest="statements_command", metavar="ACTION", required=True)

    p = sub.add_parser("export", help="write the customer's statement as a PDF or CSV file")
    _statement_args(p)
    p.add_argument("--format", choices=("pdf", "csv"), default="pdf", help="file format (default pdf)")
    p.add_argument("--out", type=Path, metavar="DIR",
                   help="folder to write into (default: Settings statements_dir beside the workbook)")
    p.set_defaults(func=export_command)

    p = sub.add_parser("email", help="email the customer's statement (PDF attached)")
    _statement_args(p)
    p.add_argument("--to", action="append", metavar="A",
                   help="recipients (separated by ; or ,); default: Statement Email, else Email")
    p.add_argument("--cc", action="append", metavar="A", help="copy recipients (separated by ; or ,)")
    p.add_argument("--copy-me", action="store_true", help="send a separate copy to Settings copy_to_me")
    p.add_argument("--message", metavar="M", help="the message (default: the built-in one in the customer's language)")
    add_as_of(p)
    add_outbox(p)
    p.set_defaults(func=email_command, writes_workbook=True)

    p = sub.add_parser("run", help="send the scheduled statements due on that day")
    add_workbook(p, writes=True)
    add_as_of(p)
    add_outbox(p)
    p.set_defaults(func=run_command)


def _statement_args(p: argparse.ArgumentParser) -> None:
    add_workbook(p)
    p.add_argument("customer", metavar="CUSTOMER_ID", help="the customer")
    p.add_argument("--end", type=parse_date, required=True, metavar="YYYY-MM-DD", help="the statement date")
    p.add_argument("--start", type=parse_date, metavar="YYYY-MM-DD",
                   help="first day of an activity statement (default: the 1st of the end date's month)")
    p.add_argument("--type", type=str.lower, choices=("outstanding", "activity"),
                   help="statement type (default: Settings statement_type)")


# --- helpers -----------------------------------------------------------------------------------

def _statement_type(args: argparse.Namespace, book: Book) -> str:
    from ..statements import normalize_type

    return normalize_type(args.type, normalize_type(book.settings.statement_type))


def _visible(book: Book, ledger: Ledger, day) -> tuple[frozenset[str] | None, Problem | None]:
    """Customer IDs the current user may see (None: all), or the refusal."""
    from ..access import access_for, visible_for

    access = access_for(book)
    refusal = access.refusal(book)
    if refusal is not None:
        return frozenset(), refusal
    return visible_for(book, ledger, day, access), None


def _hidden(book: Book, customer_id: str, visible: frozenset[str] | None) -> Problem | None:
    from ..problems import error
    from ..workbook.schema import normalize

    if visible is None or book.customer(customer_id) is None:
        return None
    if normalize(customer_id) in {normalize(v) for v in visible}:
        return None
    return error("", "", f"customer {customer_id} is not in your group, so you cannot make its statement",
                 "ask someone with Full or Admin access")


def write_file(folder: Path, name: str, data: bytes) -> Path:
    """Write ``data`` as ``folder/name`` atomically (a reader never sees half a file)."""
    from ..workbook.files import write_atomically

    target = folder / name
    try:
        return write_atomically(target, data)
    except PermissionError:
        raise CommandError(f"{target} is open in another program — close it and run the command again") from None


class Progress:
    """A tiny progress bar on stderr, only when it is a terminal."""

    def __init__(self, label: str, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stderr
        self.label = label
        self.enabled = hasattr(self.stream, "isatty") and self.stream.isatty()
        self.started = time.monotonic()
        self._last = 0.0

    def __call__(self, done: int, total: int) -> None:
        if not self.enabled or total <= 0:
            return
        t = time.monotonic()
        if done < total and t - self._last < 0.1:
            return
        self._last = t
        width = 30
        filled = int(width * done / total)
        rate = done / max(t - self.started, 1e-6)
        bar = "#" * filled + "-" * (width - filled)
        self.stream.write(f"\r{self.label} [{bar}] {done}/{total} ({rate:.0f}/s)")
        if done >= total:
            self.stream.write("\n")
        self.stream.flush()


# --- handlers ----------------------------------------------------------------------------------

def export_command(args: argparse.Namespace) -> int:
    from .. import statements as st
    from ..ledger import Ledger

    book = read_book(args)
    ledger = Ledger.from_book(book)
    visible, refusal = _visible(book, ledger, args.end)
    problem = refusal or _hidden(book, args.customer, visible)
    made = problem or st.build(book, ledger, args.customer, args.end, type=_statement_type(args, book),
                               start=args.start)
    if isinstance(made, Problem):
        print_problems([made], args)
        return PROBLEMS
    if args.format == "csv":
        from ..render import statement_csv

        data = statement_csv.render(made)
    else:
        from ..render import statement_pdf
        from ..render.pdf import Company

        company = Company.from_settings(book.settings, args.workbook.resolve().parent)
        data = statement_pdf.render(made, company, book.settings.currency)
    folder = args.out if args.out is not None else args.workbook.resolve().parent / (book.settings.statements_dir or "statements")
    path = write_file(folder, st.file_name(made, args.format), data)
    print(path)
    return OK


def email_command(args: argparse.Namespace) -> int:
    from .. import statements as st
    from ..ledger import Ledger

    book = read_book(args)
    ledger = Ledger.from_book(book)
    day = as_of(args, book)
    visible, refusal = _visible(book, ledger, day)
    problem = refusal or _hidden(book, args.customer, visible)
    if problem is not None:
        print_problems([problem], args)
        return PROBLEMS
    if args.message is not None and not args.message.strip():
        raise CommandError("--message is empty — write a message, or leave --message out for the built-in one")
    plan = st.plan_email(book, ledger, args.customer, args.end, day, type=_statement_type(args, book),
                         start=args.start, to=st.split_addresses(args.to), cc=st.split_addresses(args.cc),
                         copy_me=args.copy_me, message=args.message)
    if not plan.emails:
        print_problems(plan.problems, args)
        return exit_code(plan.problems) if plan.problems else OK
    return execute(plan, book, args)


def run_command(args: argparse.Namespace) -> int:
    from ..journal import Journal
    from ..ledger import Ledger
    from ..schedules import plan_scheduled

    book = read_book(args)
    ledger = Ledger.from_book(book)
    day = as_of(args, book)
    visible, refusal = _visible(book, ledger, day)
    if refusal is not None:
        print_problems([refusal], args)
        return PROBLEMS
    with Journal.open(args.workbook) as journal:
        sent = journal.sent_keys("statement:")
    plan = plan_scheduled(book, ledger, sent, day, progress=Progress("statements"), visible=visible)
    if not plan.emails:
        for line in plan.lines:
            print(line)
        print_problems(plan.problems, args)
        print(f"no scheduled statement to send on {day.isoformat()}")
        return exit_code(plan.problems)
    return execute(plan, book, args)


