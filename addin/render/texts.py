"""People's texts (subjects, messages) as sandboxed Jinja2 templates, and their variables (SPEC §5).

A cell cannot reach Python internals: templates run in Jinja2's immutable sandbox, with
undefined variables as errors. Every value offered to a template is a plain string or number,
already formatted for the customer's language.
"""

from __future__ import annotations

import datetime as dt
import html
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..problems import Problem, error
from . import fmt

if TYPE_CHECKING:
    from ..ledger import OpenItem
    from ..model import Customer, Settings

TEMPLATES_DIR = Path(__file__).resolve().parents[2] / "templates"

FIX = "correct the text: placeholders are written {{ customer.name }}, see the README for the list"


class TextError(Exception):
    """A text that cannot be rendered; ``problem`` names the cell that holds it."""

    def __init__(self, problem: Problem) -> None:
        super().__init__(str(problem))
        self.problem = problem


@dataclass(frozen=True)
class Source:
    """Where a text comes from, for messages: sheet and cell ('' for built-in texts)."""

    sheet: str = ""
    cell: str = ""


@lru_cache(maxsize=1)
def _env() -> Any:
    from jinja2 import StrictUndefined
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    return ImmutableSandboxedEnvironment(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=False)


@lru_cache(maxsize=1024)
def _compile(text: str) -> Any:
    return _env().from_string(text)


def render(text: str, context: dict[str, Any], source: Source = Source()) -> str:
    """Render a person's text; raise TextError naming its cell on any template error."""
    from jinja2 import TemplateError
    from jinja2.exceptions import SecurityError, TemplateSyntaxError, UndefinedError

    try:
        return _compile(text).render(context).strip()
    except TemplateSyntaxError as exc:
        raise TextError(_syntax_problem(exc, source)) from None
    except UndefinedError as exc:
        why = f"the text uses an unknown placeholder ({exc.message})"
    except SecurityError as exc:
        why = f"the text tries something not allowed ({str(exc).rstrip('.')})"
    except TemplateError as exc:
        why = f"the text cannot be rendered ({exc})"
    except (TypeError, ValueError, AttributeError, ArithmeticError) as exc:
        why = f"the text cannot be rendered ({exc})"
    raise TextError(error(source.sheet, source.cell, why, FIX))


def check(text: str, source: Source) -> Problem | None:
    """A syntax problem in a text, without rendering it (for `receivables check`)."""
    from jinja2 import TemplateSyntaxError

    try:
        _compile(text)
    except TemplateSyntaxError as exc:
        return _syntax_problem(exc, source)
    return None


def _syntax_problem(exc: Any, source: Source) -> Problem:
    why = f"the text has a template error ({(exc.message or '').rstrip('.')}, line {exc.lineno})"
    return error(source.sheet, source.cell, why, FIX)


def to_html(text: str) -> str:
    """Plain text (already rendered) as escaped HTML paragraphs, line breaks kept."""
    paragraphs = re.split(r"\n\s*\n", text.strip())
    return "\n".join(
        "<p>" + html.escape(p).replace("\n", "<br>\n") + "</p>" for p in paragraphs if p.strip()
    )


# --- the documented variables (SPEC §5) ---------------------------------------------------------

def language_of(customer: Customer | None, settings: Settings) -> str:
    """The customer's language, else the workbook's."""
    return (customer.language if customer and customer.language else settings.language) or "en"


def company_vars(settings: Settings) -> dict[str, str]:
    return {"name": settings.company_name, "email": settings.company_email, "phone": settings.company_phone}


def customer_vars(customer: Customer, emails: tuple[str, ...] = ()) -> dict[str, str]:
    return {
        "name": customer.name,
        "contact": customer.contact or customer.name,
        "first_name": customer.first_name,
        "email": ", ".join(emails or customer.emails),
    }


def invoice_vars(item: OpenItem, settings: Settings, language: str) -> dict[str, Any]:
    inv = item.invoice
    cur = settings.currency
    return {
        "number": inv.number,
        "memo": inv.memo,
        "invoice_date": fmt.date(inv.invoice_date, language),
        "due_date": fmt.date(inv.due_date, language),
        "amount": fmt.money(inv.amount, cur, language),
        "balance": fmt.money(item.balance, cur, language),
        "paid": fmt.money(item.paid, cur, language),
        "days_overdue": item.days_overdue,
    }


def statement_vars(end_date: dt.date, balance: Any, settings: Settings, language: str,
                   start_date: dt.date | None = None) -> dict[str, str]:
    return {
        "end_date": fmt.date(end_date, language),
        "start_date": fmt.date(start_date, language) if start_date else "",
        "balance": fmt.money(balance, settings.currency, language),
    }


def context(settings: Settings, customer: Customer | None = None, *, item: OpenItem | None = None,
            statement: dict[str, str] | None = None, emails: tuple[str, ...] = ()) -> dict[str, Any]:
    """The variables offered to a text: company, customer, invoice, statement (those that apply)."""
    language = language_of(customer, settings)
    ctx: dict[str, Any] = {"company": company_vars(settings)}
    if customer is not None:
        ctx["customer"] = customer_vars(customer, emails)
    if item is not None:
        ctx["invoice"] = invoice_vars(item, settings, language)
    if statement is not None:
        ctx["statement"] = statement
    return ctx


def builtin(name: str) -> str:
    """A built-in text from templates/, e.g. ``builtin("reminders/fr/subject_2.txt")``."""
    return (TEMPLATES_DIR / name).read_text(encoding="utf-8")
