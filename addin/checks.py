"""Every problem of a workbook, as ``receivables check`` lists it: the reader's, then each
feature's own checks (rules, texts, schedules, what sending needs), in sheet order. Pure.

The checks are one list, as beancount's ``VALIDATIONS``: adding a check is adding a line.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from . import groups, reminders, statements
from .mail import checks as mail
from .model import Book
from .problems import Problem
from .workbook import schema

CHECKS: tuple[Callable[[Book], list[Problem]], ...] = (groups.check, reminders.check, statements.check, mail.check)


def workbook_problems(book: Book) -> list[Problem]:
    """The reader's problems and every feature check's, in sheet order."""
    problems = list(book.problems)
    for check in CHECKS:
        problems.extend(check(book))
    return in_sheet_order(problems)


_ORDER = {s.key: n for n, s in enumerate(schema.SHEETS)}


def in_sheet_order(problems: Iterable[Problem]) -> list[Problem]:
    """Problems by sheet (the template's order), row, column; problems without a sheet last."""

    def key(problem: Problem) -> tuple[int, int, int]:
        if not problem.sheet:
            return (len(_ORDER) + 1, 0, 0)
        return (_ORDER.get(schema.normalize(problem.sheet), len(_ORDER)), *problem.position)

    return sorted(problems, key=key)
