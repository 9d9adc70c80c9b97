"""`receivables refresh WB [--as-of D]`: the Dashboard figures and the add-in columns (SPEC §6)."""

from __future__ import annotations

import argparse

from .common import add_as_of, add_workbook, as_of, exit_code, load_book, print_problems


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "refresh", help="Dashboard figures and add-in columns",
        description="Write the Dashboard figures and the add-in columns (Customers Balance and Overdue; "
                    "Invoices Paid, Balance and Status) as of a date. Only cells whose value changes are "
                    "written; when the workbook is open in Excel they are written at the next run after "
                    "it is closed.")
    add_workbook(p)
    add_as_of(p)
    p.set_defaults(func=handle)


def handle(args: argparse.Namespace) -> int:
    from ..dashboard import read_dashboard_later, refresh_book

    dashboard = read_dashboard_later(args.workbook) if args.workbook.is_file() else None
    book = load_book(args.workbook)
    day = as_of(args, book)
    done = refresh_book(book, day, dashboard)
    print(f"Refresh of {args.workbook.name} as of {day.isoformat()}")
    for line in done.lines:
        print(line)
    errors = [p for p in book.problems if p.is_error]
    if errors:
        print(f"{len(errors)} row(s) with errors are left out of the figures — fix them (`receivables check`):")
    problems = [*errors, *done.problems]
    print_problems(problems)
    return exit_code(problems)
