"""``receivables check WB``: every problem of the workbook, one per line, then a count line.

The reader's problems (bad cells, duplicates, unknown customers …) come with those of the
feature modules that define ``check(book) -> list[Problem]`` (groups, reminders, statements,
mail.checks: rules, texts, schedules, what sending needs). Exit status 0 when there is no error
(warnings and notices alone give 0), 1 with errors, 2 when the workbook is missing or unreadable.
"""

from __future__ import annotations

import argparse
import importlib
import re
from collections.abc import Iterable

from ..problems import Problem, Severity
from .common import add_workbook, exit_code, load_book, print_problems, workbook_problems

FEATURES = ("groups", "reminders", "statements", "mail.checks")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "check", help="list problems as Sheet!Cell: message — fix",
        description="Read the workbook and list every problem, one per line as Sheet!Cell: message — fix. "
                    "Exit status: 0 no errors (warnings alone give 0), 1 errors found, 2 workbook missing "
                    "or unreadable.")
    add_workbook(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    book = load_book(args.workbook)
    problems = workbook_problems(book)
    print_problems(problems)
    print(count_line(problems))
    return exit_code(problems)


def feature_checks() -> list:
    """``check(book)`` of each feature module that exists and defines one."""
    found = []
    for name in FEATURES:
        try:
            module = importlib.import_module(f"addin.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"addin.{name}":
                continue  # that feature is not built
            raise
        check = getattr(module, "check", None)
        if callable(check):
            found.append(check)
    return found


def in_sheet_order(problems: Iterable[Problem]) -> list[Problem]:
    """Problems by sheet (the template's order), row, column; problems without a sheet last."""
    from ..workbook import schema

    order = {s.key: n for n, s in enumerate(schema.SHEETS)}

    def key(problem: Problem) -> tuple[int, int, int]:
        if not problem.sheet:
            return (len(order) + 1, 0, 0)
        sheet = order.get(schema.normalize(problem.sheet), len(order))
        m = re.match(r"([A-Z]*)(\d*)", problem.cell)
        letters, digits = m.groups() if m else ("", "")
        column = 0
        for ch in letters:
            column = column * 26 + ord(ch) - 64
        return (sheet, int(digits) if digits else 0, column)

    return sorted(problems, key=key)


def count_line(problems: Iterable[Problem]) -> str:
    """``3 errors, 1 warning`` (notices counted too), or ``No problems found.``"""
    counts = {severity: 0 for severity in Severity}
    for problem in problems:
        counts[problem.severity] += 1
    words = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.NOTICE: "notice"}
    parts = [f"{n} {words[s]}{'' if n == 1 else 's'}" for s, n in counts.items() if n]
    return ", ".join(parts) if parts else "No problems found."
