"""``receivables check WB``: every problem of the workbook, one per line, then a count line.

The reader's problems (bad cells, duplicates, unknown customers …) come with those of the
feature checks (addin.checks: rules, texts, schedules, what sending needs). Exit status 0 when there is no error
(warnings and notices alone give 0), 1 with errors, 2 when the workbook is missing or unreadable.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterable

from ..problems import Problem, Severity
from .common import add_workbook, exit_code, load_book, print_problems


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "check", help="list problems as Sheet!Cell: message — fix",
        description="Read the workbook and list every problem, one per line as Sheet!Cell: message — fix. "
                    "Exit status: 0 no errors (warnings alone give 0), 1 errors found, 2 workbook missing "
                    "or unreadable.")
    add_workbook(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..checks import workbook_problems

    book = load_book(args.workbook)
    problems = workbook_problems(book)
    print_problems(problems)
    print(count_line(problems))
    return exit_code(problems)


def count_line(problems: Iterable[Problem]) -> str:
    """``3 errors, 1 warning`` (notices counted too), or ``No problems found.``"""
    counts = {severity: 0 for severity in Severity}
    for problem in problems:
        counts[problem.severity] += 1
    words = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.NOTICE: "notice"}
    parts = [f"{n} {words[s]}{'' if n == 1 else 's'}" for s, n in counts.items() if n]
    return ", ".join(parts) if parts else "No problems found."
