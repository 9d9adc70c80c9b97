"""What every command shares: the workbook argument, --as-of, --outbox, problems and exit codes."""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from ..problems import Problem, Severity

if TYPE_CHECKING:
    from ..actions import Plan
    from ..model import Book, Settings

OK, PROBLEMS, USAGE = 0, 1, 2


class CommandError(Exception):
    """Bad usage or an unreadable workbook: printed as one line, exit status 2."""


def add_workbook(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("workbook", type=Path, metavar="WB", help="the workbook (.xlsx)")


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
    from ..workbook.reader import WorkbookUnreadable, load

    if not path.exists():
        raise CommandError(f"{path}: no such workbook — check the path, or create one with `receivables init {path}`")
    try:
        return load(path)
    except WorkbookUnreadable as exc:
        raise CommandError(str(exc)) from None


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


def print_problems(problems: Iterable[Problem], out=None) -> None:
    """One problem per line, as `Sheet!Cell: message — fix`, in the order given; several alike
    problems of one column as one line naming the range (problems.lines)."""
    from ..problems import lines

    out = out or sys.stdout
    for line in lines(problems):
        print(line, file=out)


def exit_code(problems: Iterable[Problem]) -> int:
    return PROBLEMS if any(p.severity is Severity.ERROR for p in problems) else OK


def execute(plan: Plan, book: Book, args: argparse.Namespace) -> int:
    """Carry out a plan (send, write back, log), print what happened, return the exit status."""
    from ..run import execute as run_execute

    report = run_execute(plan, book, outbox=getattr(args, "outbox", None), now=now(book.settings))
    for line in report.lines:
        print(line)
    problems = [*plan.problems, *report.problems]
    print_problems(problems)
    return exit_code(problems)
