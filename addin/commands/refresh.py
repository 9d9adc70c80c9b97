"""`receivables refresh WB [--as-of D]`: the Dashboard figures and the add-in columns (SPEC §6)."""

from __future__ import annotations

import argparse
import datetime as dt
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from .common import add_as_of, add_workbook, exit_code, load_book, today, writable_workbook

if TYPE_CHECKING:
    from ..actions import Update
    from ..problems import Problem


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "refresh", help="Dashboard figures and add-in columns",
        description="Write the Dashboard figures and the add-in columns (Customers Balance and Overdue; "
                    "Invoices Paid, Balance and Status) as of a date. Only cells whose value changes are "
                    "written; when the workbook is open in Excel they are written at the next run after "
                    "it is closed (the ribbon's Refresh button writes them into the open workbook).")
    add_workbook(p, writes=True)
    add_as_of(p)
    p.set_defaults(func=handle)


def handle(args: argparse.Namespace) -> int:
    code, lines = refresh_lines(args.workbook, args.as_of)
    for line in lines:
        print(line)
    return code


def refresh_lines(workbook: Path, day: dt.date | None = None,
                  into_open: Callable[[Sequence[Update]], list[Problem] | None] | None = None) -> tuple[int, list[str]]:
    """The refresh, as the command and the ribbon's button show it: exit code and lines
    (``into_open``: see ``dashboard.carry_out``)."""
    from ..checks import workbook_problems
    from ..dashboard import carry_out, plan_book, read_dashboard_later
    from ..ledger import Ledger
    from ..problems import lines as problem_lines

    writable_workbook(workbook)  # the ribbon's button comes here without the command line
    dashboard = read_dashboard_later(workbook) if workbook.is_file() else None
    book = load_book(workbook)
    day = day or today(book.settings)
    errors = [p for p in workbook_problems(book) if p.is_error]
    plan, settings = plan_book(book, day, dashboard), book.settings
    Ledger.forget(book)
    del book  # the plan is all the write needs: the records (~200 MB for 100,000 invoices) go first
    done = carry_out(plan, workbook, settings, into_open)
    lines = [f"Refresh of {workbook.name} as of {day.isoformat()}", *done.lines]
    if errors:
        lines.append(f"{len(errors)} error(s) in the workbook; rows with errors are left out of the figures — "
                     "fix them (`receivables check`):")
    problems = [*errors, *done.problems]
    lines += problem_lines(problems)
    return exit_code(problems), lines
