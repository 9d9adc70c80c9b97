"""People's texts (subjects, messages) as sandboxed Jinja2 templates, and their variables (SPEC §5).

A cell cannot reach Python internals nor build anything huge: templates run in the sandbox of
render/sandbox.py (Jinja2's immutable sandbox, bounded), with undefined variables as errors, and
a result over 1 MB is a problem too. Every value offered to a template is a plain string or
number, already formatted for the customer's language.
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


MAX_BYTES = 1_000_000  # a rendered text beyond 1 MB is a problem (SPEC §5)
SIZE_FIX = "make the text shorter: it may not build more than 1 MB"
LOOP_FIX = "simplify the text: it may not loop more than 100,000 times nor take more than a few seconds"


@lru_cache(maxsize=1)
def _env() -> Any:
    from jinja2 import StrictUndefined

    from .sandbox import TextSandbox

    return TextSandbox(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=False)


@lru_cache(maxsize=1024)
def _compile(text: str) -> Any:
    return _env().from_string(text)


def render(text: str, context: dict[str, Any], source: Source = Source()) -> str:
    """Render a person's text; raise TextError naming its cell on any template error, on an
    operation the sandbox refuses (one that would build something huge), or on a result over 1 MB."""
    try:
        result = _sandbox().render(_compile(text), context, len(text)).strip()
    except Exception as exc:  # noqa: BLE001 - _problem re-raises what is not the text's fault
        raise TextError(_problem(exc, source)) from None
    if len(result) > MAX_BYTES // 4 and len(result.encode("utf-8")) > MAX_BYTES:
        raise TextError(error(source.sheet, source.cell, "the text cannot be rendered: its result exceeds 1 MB",
                              SIZE_FIX))
    return result


@lru_cache(maxsize=1)
def _sandbox() -> Any:
    from . import sandbox

    return sandbox


def _problem(exc: Exception, source: Source) -> Problem:
    """The problem a text's render error is, at the text's cell; any other exception is re-raised."""
    from jinja2 import TemplateError
    from jinja2.exceptions import SecurityError, TemplateSyntaxError, UndefinedError

    from .sandbox import TooLarge

    fix = FIX
    if isinstance(exc, TemplateSyntaxError):
        return _syntax_problem(exc, source)
    if isinstance(exc, UndefinedError):
        why = f"the text uses an unknown placeholder ({exc.message})"
    elif isinstance(exc, TooLarge):
        why, fix = f"the text cannot be rendered: {exc}", LOOP_FIX if exc.loops else SIZE_FIX
    elif isinstance(exc, SecurityError):
        why = f"the text tries something not allowed ({str(exc).rstrip('.')})"
    elif isinstance(exc, RecursionError):
        why = "the text cannot be rendered: it calls itself too deeply"
    elif isinstance(exc, MemoryError):
        why, fix = "the text cannot be rendered: it needs too much memory", SIZE_FIX
    elif isinstance(exc, TemplateError | TypeError | ValueError | AttributeError | ArithmeticError | LookupError
                    | RuntimeError):
        why = f"the text cannot be rendered ({exc})"
    else:
        raise exc
    return error(source.sheet, source.cell, why, fix)


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
