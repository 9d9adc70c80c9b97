"""What every command shares: the workbook argument, --as-of, --outbox, problems and exit codes."""

from __future__ import annotations

import argparse
import datetime as dt
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from ..problems import Problem, Severity

if TYPE_CHECKING:
    from ..actions import Plan
    from ..model import Book, Settings

OK, PROBLEMS, USAGE = 0, 1, 2
T = TypeVar("T")


class CommandError(Exception):
    """Bad usage or an unreadable workbook: printed as one line, exit status 2."""


def add_workbook(parser: argparse.ArgumentParser, *, writes: bool = False) -> None:
    """The workbook argument. ``writes``: the command may send or write to the workbook (or its
    journal), so ``cli.main`` refuses a read-only workbook (.ods) before the command begins."""
    parser.add_argument("workbook", type=Path, metavar="WB", help="the workbook (.xlsx)")
    if writes:
        parser.set_defaults(writes_workbook=True)


def writable_workbook(path: Path) -> Path:
    """``path``, or CommandError (exit 2) when it is a workbook that is read but never written or
    sent from (an .ods): every door asks this before it does anything."""
    from ..workbook.files import read_only_reason

    reason = read_only_reason(path)
    if reason is not None:
        raise CommandError(reason)
    return path


def add_as_of(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--as-of", type=parse_date, metavar="YYYY-MM-DD",
                        help="the day to act for (default: today in the workbook's time zone)")


def add_outbox(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--outbox", type=Path, metavar="DIR",
                        help="write messages as .eml files into DIR instead of sending them")


def parse_date(text: str) -> dt.date:
    """argparse type for YYYY-MM-DD dates."""
    try:
        return dt.date.fromisoformat(text.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f'"{text}" is not a date — write it as YYYY-MM-DD, e.g. 2026-03-31') from None


def load_book(path: Path) -> Book:
    """Read the workbook; a missing or unreadable file is a CommandError (exit 2)."""
    from ..workbook.reader import load

    return _read(path, load)


def load_settings(path: Path) -> Settings:
    """Only the workbook's Settings (for commands that need nothing else); as ``load_book``."""
    from ..workbook.reader import load_settings as load

    return _read(path, load)


def _read(path: Path, load: Callable[[Path], T]) -> T:
    from ..workbook.reader import WorkbookUnreadable

    if not path.exists():
        raise CommandError(f"{path}: no such workbook — check the path, or create one with `receivables init {path}`")
    try:
        return load(path)
    except WorkbookUnreadable as exc:
        raise CommandError(str(exc)) from None


def read_book(args: argparse.Namespace) -> Book:
    """Read ``args.workbook`` and report every problem in it as `check` does (notices aside), so
    that no command stays silent about an error; the exit status is then at least 1 (cli.main)."""
    from ..checks import workbook_problems

    book = load_book(args.workbook)
    problems = [p for p in workbook_problems(book) if p.severity is not Severity.NOTICE]
    print_problems(problems, args)
    args.workbook_errors = any(p.is_error for p in problems)
    return book


def today(settings: Settings) -> dt.date:
    """Today in the workbook's time zone (Settings timezone), else the machine's."""
    from ..clock import today as today_in

    return today_in(settings.timezone)


def now(settings: Settings) -> dt.datetime:
    """Now, aware, in the workbook's time zone."""
    from ..clock import now as now_in

    return now_in(settings.timezone)


def as_of(args: argparse.Namespace, book: Book) -> dt.date:
    return getattr(args, "as_of", None) or today(book.settings)


def print_problems(problems: Iterable[Problem], args: argparse.Namespace | None = None) -> None:
    """One problem per line, as `Sheet!Cell: message — fix`, in the order given; several alike
    problems of one column as one line naming the range (problems.lines); with ``args``, a line
    this command printed already is not printed again."""
    from ..problems import lines

    printed: set[str] = set() if args is None else vars(args).setdefault("printed", set())
    for line in lines(problems):
        if line not in printed:
            printed.add(line)
            print(line)


def exit_code(problems: Iterable[Problem]) -> int:
    return PROBLEMS if any(p.severity is Severity.ERROR for p in problems) else OK


def execute(plan: Plan, book: Book, args: argparse.Namespace) -> int:
    """Carry out a plan (send, write back, log), print what happened, return the exit status."""
    from ..run import execute as run_execute

    report = run_execute(plan, book, outbox=getattr(args, "outbox", None), now=now(book.settings))
    for line in report.lines:
        print(line)
    problems = [*plan.problems, *report.problems]
    print_problems(problems, args)
    return exit_code(problems)
