"""What sending needs from Settings, as problems (SPEC §2 Settings): one fact for every door.

``sending_problems(settings)`` is pure: ``receivables check`` reports it through ``check(book)``,
and a sending command can call it before it tries anything.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..problems import Problem, error
from ..workbook import schema

if TYPE_CHECKING:
    from ..model import Book, Settings


def sending_problems(settings: Settings) -> list[Problem]:
    """A blank company_email (the From address); with mail_transport smtp, a blank smtp_host.

    Each is an error at the Value cell of its key, or at the Settings sheet when the key's row
    is absent.
    """
    problems = []
    if not settings.company_email.strip():
        problems.append(_blank(settings, "company_email", "type the address mail is sent from"))
    if settings.mail_transport.strip().casefold() == "smtp" and not settings.smtp_host.strip():
        problems.append(_blank(settings, "smtp_host", "mail_transport is smtp: type your mail server's name, "
                                                      "or set mail_transport to outbox"))
    return problems


def _blank(settings: Settings, key: str, fix: str) -> Problem:
    return error(schema.SETTINGS_SHEET.name, settings.cells.get(key, ""), f"{key} is blank", fix)


def check(book: Book) -> list[Problem]:
    """``sending_problems`` of the workbook's Settings, unless the Settings sheet could not be read
    at all (the reader reports that, and every key would look blank)."""
    settings_sheet = schema.SETTINGS_SHEET.key
    if any(p.is_error and not p.cell and schema.normalize(p.sheet) == settings_sheet for p in book.problems):
        return []
    return sending_problems(book.settings)
