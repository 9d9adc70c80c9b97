"""`receivables statements export|email|run` (SPEC §6): thin doors into addin.statements and addin.schedules.

``export|email`` take one CUSTOMER_ID, or ``--all`` / ``--group NAME`` for one statement per
customer (addin.statements.several): a line per customer, in order, once the work is done.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Iterator, Sequence
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
    from ..actions import Update
    from ..journal import Journal
    from ..ledger import Ledger
    from ..model import Book
    from ..statements import Several
    from ..workbook.store import StoreResult


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("statements", help="customer statements: export, email, scheduled run",
                                   description="Outstanding or activity statements as PDF or CSV, by email, "
                                               "and the monthly schedules.")
    sub = parser.add_subparsers(dest="statements_command", metavar="ACTION", required=True)

    p = sub.add_parser("export", help="write the statement of a customer (or of several) as PDF or CSV files")
    _statement_args(p)
    p.add_argument("--format", choices=("pdf", "csv"), default="pdf", help="file format (default pdf)")
    p.add_argument("--out", type=Path, metavar="DIR",
                   help="folder to write into (default: Settings statements_dir beside the workbook)")
    add_as_of(p)
    p.set_defaults(func=export_command)

    p = sub.add_parser("email", help="email the statement of a customer (or of several), PDF attached")
    _statement_args(p)
    p.add_argument("--to", action="append", metavar="A",
                   help="recipients (separated by ; or ,); default: Statement Email, else Email (one customer only)")
    p.add_argument("--cc", action="append", metavar="A",
                   help="copy recipients (separated by ; or ,) (one customer only)")
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
    p.add_argument("customer", metavar="CUSTOMER_ID", nargs="?", help="the customer (or --all, or --group NAME)")
    p.add_argument("--all", action="store_true", help="every Active customer whose balance is not zero")
    p.add_argument("--group", metavar="NAME", help="every member of the group (zero balances skipped)")
    p.add_argument("--include-zero", action="store_true",
                   help="with --all or --group: zero balances too")
    p.add_argument("--end", type=parse_date, metavar="YYYY-MM-DD",
                   help="the statement date (default: the --as-of day, else today in the workbook's time zone)")
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
    """A tiny progress bar on stderr, only when both stderr and stdout are terminals: output
    piped to a file or a program (a script, the ribbon) gets the lines alone. The bar ends with
    its own line before anything else is printed (the lines come once the work is done)."""

    def __init__(self, label: str, stream: TextIO | None = None, lines: TextIO | None = None) -> None:
        self.stream = stream or sys.stderr
        self.label = label
        self.enabled = all(hasattr(s, "isatty") and s.isatty() for s in (self.stream, lines or sys.stdout))
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

def _many(args: argparse.Namespace) -> str:
    """'' for one customer's statement; for several, what they are ("every customer with a
    balance", 'group "West"'). Refuses words that do not go together (exit 2)."""
    from ..statements import ALL

    many = args.all or args.group is not None
    if args.all and args.group is not None:
        raise CommandError("--all and --group both choose the customers — use one of them")
    if many and args.customer:
        raise CommandError(f"a customer ({args.customer}) and {'--all' if args.all else '--group'} both choose "
                           "the customers — use one of them")
    if not many and not args.customer:
        raise CommandError("whose statement? Name the customer (CUSTOMER_ID), or use --all for every customer "
                           "with a balance, or --group NAME for a group's members")
    if args.include_zero and not many:
        raise CommandError("--include-zero goes with --all or --group NAME (one customer's statement is made "
                           "whatever its balance)")
    if many and (getattr(args, "to", None) or getattr(args, "cc", None)):
        raise CommandError("--to and --cc are one customer's addresses: leave them out with --all or --group "
                           "(each statement goes to the customer's Statement Email, else Email)")
    if not many:
        return ""
    return ALL if args.all else f'group "{args.group}"'


def _several(args: argparse.Namespace, book: Book, ledger: Ledger, day, visible, *, sending: bool):
    from .. import statements as st

    end = args.end or day
    return st.several(book, ledger, end, day, group=args.group, type=_statement_type(args, book), start=args.start,
                      include_zero=args.include_zero, visible=visible, sending=sending)


def _statements_dir(args: argparse.Namespace, book: Book) -> Path:
    if args.out is not None:
        return args.out
    return args.workbook.resolve().parent / (book.settings.statements_dir or "statements")


def export_command(args: argparse.Namespace) -> int:
    from .. import statements as st
    from ..ledger import Ledger

    many = _many(args)
    book = read_book(args)
    ledger = Ledger.from_book(book)
    day = as_of(args, book)
    visible, refusal = _visible(book, ledger, day)
    if many:
        if refusal is not None:
            print_problems([refusal], args)
            return PROBLEMS
        return _export_several(args, book, _several(args, book, ledger, day, visible, sending=False))
    problem = refusal or _hidden(book, args.customer, visible)
    made = problem or st.build(book, ledger, args.customer, args.end or day, type=_statement_type(args, book),
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
    path = write_file(_statements_dir(args, book), st.file_name(made, args.format), data)
    print(path)
    return OK


def _export_several(args: argparse.Namespace, book: Book, found: Several) -> int:
    """Write one file per statement of ``found`` as each is made; then a line per customer, in
    order (after the progress bar, never inside it). A file that cannot be written stops no other."""
    from .. import statements as st
    from ..problems import error
    from ..workbook.files import write_atomically

    statements = found.statements
    data: Iterator[bytes]
    if args.format == "csv":
        from ..render import statement_csv

        data = (statement_csv.render(s) for s in statements)
    else:
        from ..render.pdf import Company

        company = Company.from_settings(book.settings, args.workbook.resolve().parent)
        data = (f.pdf for f in st.iter_files(statements, company, book.settings.currency,
                                             progress=Progress("statements")))
    folder = _statements_dir(args, book)
    said: list[str | Problem] = []
    written = 0
    for o in found.outcomes:
        if o.statement is None:
            said.append(o.problem or o.line)
            continue
        target = folder / st.file_name(o.statement, args.format)
        try:
            said.append(f"written {o.customer.id}: {write_atomically(target, next(data))}")
            written += 1
        except PermissionError:
            said.append(error("", "", f"{target} is open in another program, so the statement of {o.customer.id} "
                                      "was not written", "close it and run the command again"))
    print_problems(found.problems, args)
    problems = list(found.problems)
    for item in said:
        if isinstance(item, Problem):
            print_problems([item], args)
            problems.append(item)
        else:
            print(item)
    if found.outcomes or not found.problems:
        print(_tally(found.outcomes, {"written": written, "not written (see above)": len(statements) - written}))
    return exit_code(problems)


def _tally(outcomes, done: dict[str, int]) -> str:
    """``Statements: 3 sent, 1 already sent, 2 skipped (zero balance), 1 not made (see above)``."""
    counts = dict(done)
    counts["already sent"] = sum(1 for o in outcomes if o.line.startswith("already sent"))
    counts["skipped (zero balance)"] = sum(1 for o in outcomes if o.line.startswith("skipped"))
    counts["not made (see above)"] = sum(1 for o in outcomes if o.problem is not None)
    shown = ", ".join(f"{n} {what}" for what, n in counts.items() if n)
    return f"Statements: {shown or 'none'}"


def email_command(args: argparse.Namespace) -> int:
    from .. import statements as st
    from ..ledger import Ledger

    many = _many(args)
    if args.message is not None and not args.message.strip():
        raise CommandError("--message is empty — write a message, or leave --message out for the built-in one")
    book = read_book(args)
    ledger = Ledger.from_book(book)
    day = as_of(args, book)
    visible, refusal = _visible(book, ledger, day)
    problem = refusal or (None if many else _hidden(book, args.customer, visible))
    if problem is not None:
        print_problems([problem], args)
        return PROBLEMS
    if many:
        return _email_several(args, book, _several(args, book, ledger, day, visible, sending=True), many)
    plan = st.plan_email(book, ledger, args.customer, args.end or day, day, type=_statement_type(args, book),
                         start=args.start, to=st.split_addresses(args.to), cc=st.split_addresses(args.cc),
                         copy_me=args.copy_me, message=args.message)
    if not plan.emails:
        print_problems(plan.problems, args)
        return exit_code(plan.problems) if plan.problems else OK
    return execute(plan, book, args)


BATCH = 250  # statements emailed per batch: the workers make the next batch's PDFs meanwhile


def _email_several(args: argparse.Namespace, book: Book, found: Several, scope: str) -> int:
    """Email each statement of ``found`` not sent yet; a line per customer, in order."""
    from .. import statements as st
    from ..actions import Plan
    from ..journal import Journal
    from ..run import RunReport
    from ..run import execute as run_execute
    from .common import now

    with Journal.open(args.workbook) as journal:
        sent_before = journal.sent_keys("statement-email:")
    mails, outcomes, problems = st.plan_several_emails(book, found, sent_before, copy_me=args.copy_me,
                                                       message=args.message, scope=scope)
    print_problems([*found.problems, *problems], args)
    results: dict[str, str] = {}
    failed: list[tuple[st.Mail, Problem]] = []
    reports: list[RunReport] = []
    for made, faults in st.email_batches(mails, book, BATCH, progress=Progress("statements")):
        failed += faults
        if made:  # its Log rows wait in the journal: written once, below, for every batch
            report = run_execute(Plan(emails=tuple(made)), book, outbox=args.outbox, now=now(book.settings),
                                 writer=_later)
            reports.append(report)
            results.update((r.key, r.state) for r in report.results)
    if reports:
        reports.append(run_execute(Plan(), book, outbox=args.outbox, now=now(book.settings)))
    sending = next((line for r in reports for line in r.lines if line.startswith("Sending ")), "")
    if sending:
        print(f"Sending {sum(1 for m in mails if m.key in results)} statement(s) to {sending.split(' to ', 1)[1]}")
    said = {"sent": "sent", "skipped": "already sent"}
    counts = {"sent": 0}
    every: list[Problem] = [*found.problems, *problems]
    keys = {m.statement.customer.id: m.key for m in mails}
    for o in outcomes:
        if o.statement is not None:
            state = results.get(keys[o.customer.id], "")
            if not state:
                continue  # its text could not be made: the problem below names it
            start, end = o.statement.period
            span = end.isoformat() if o.statement.type == st.OUTSTANDING else f"{start.isoformat()}..{end.isoformat()}"
            counts["sent"] += state == "sent"
            print(f"{said.get(state, 'not sent')} {o.customer.id}: {o.statement.type} statement of {span} "
                  f"to {', '.join(st.recipients(o.customer))}")
        elif o.problem is not None:
            print_problems([o.problem], args)
            every.append(o.problem)
        else:
            print(o.line)
    later = [*st.unsent(failed), *(p for r in reports for p in r.problems)]
    print_problems(later, args)
    every += later
    for line in reports[-1].lines if reports else ():
        if line.startswith("The workbook"):
            print(line)
    if outcomes or not found.problems:
        print(_tally(outcomes, counts))
    return exit_code(every)


def _later(path: Path, journal: Journal, *, keep_backups: int, derived: Sequence[Update]) -> StoreResult:
    """A writer (``run.Writer``) that writes nothing now: a batch's Log rows wait in the journal, as
    they do while the workbook is open in Excel, and the last write takes them all (one write, not
    one a batch)."""
    from ..workbook.store import StoreResult

    return StoreResult()


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


