"""Every problem of a workbook, as ``receivables check`` lists it: the reader's, then each
feature's own checks (rules, texts, schedules, what sending needs), in sheet order. Pure.

The checks are one list, as beancount's ``VALIDATIONS``: adding a check is adding a line.
"""

from __future__ import annotations

from collections.abc import Callable

from . import groups, reminders, statements
from .mail import checks as mail
from .model import Book
from .problems import Problem, in_sheet_order

__all__ = ["CHECKS", "workbook_problems"]

# The reader's own checks (addin.workbook.validation.VALIDATIONS) are already in book.problems.
CHECKS: tuple[Callable[[Book], list[Problem]], ...] = (groups.check, reminders.check, statements.check, mail.check)


def workbook_problems(book: Book) -> list[Problem]:
    """The reader's problems and every feature check's, in sheet order."""
    problems = list(book.problems)
    for check in CHECKS:
        problems.extend(check(book))
    return in_sheet_order(problems)
