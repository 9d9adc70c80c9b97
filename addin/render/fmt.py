"""Money and dates for people, per language (Babel). The one place that formats them.

``money(Decimal("1234.5"), "USD", "en") == "$1,234.50"``; in fr ``"1 234,50 $"``. The
workbook's own currency is shown with its local (narrow) symbol: a customer of a Quebec
business reads ``$``, not ``$ CA``. Spaces are plain spaces so texts compare and copy well.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from functools import lru_cache

LOCALES = {"en": "en_US", "fr": "fr_CA"}
_NARROW = {"USD": "$", "CAD": "$", "AUD": "$", "NZD": "$", "EUR": "€", "GBP": "£", "CHF": "CHF", "JPY": "¥"}


def locale_for(language: str) -> str:
    return LOCALES.get(language, LOCALES["en"])


@lru_cache(maxsize=64)
def _symbol(currency: str, language: str) -> tuple[str, str]:
    from babel.numbers import get_currency_symbol

    return get_currency_symbol(currency, locale=locale_for(language)), _NARROW.get(currency, "")


def money(amount: Decimal, currency: str = "USD", language: str = "en") -> str:
    """An amount with its currency symbol, formatted for the language."""
    from babel.numbers import format_currency

    text = format_currency(amount, currency, locale=locale_for(language))
    shown, narrow = _symbol(currency, language)
    if narrow and shown != narrow:
        text = text.replace(shown, narrow)
    return _plain_spaces(text)


def number(amount: Decimal, language: str = "en") -> str:
    """An amount without currency symbol: ``1,234.50`` / ``1 234,50``."""
    from babel.numbers import format_decimal

    return _plain_spaces(format_decimal(amount, format="#,##0.00", locale=locale_for(language)))


def date(value: dt.date | None, language: str = "en") -> str:
    """``Mar 15, 2026`` in en, ``15 mars 2026`` in fr; '' for no date."""
    if value is None:
        return ""
    from babel.dates import format_date

    return _plain_spaces(format_date(value, "medium", locale=locale_for(language)))


def percent(value: Decimal, language: str = "en") -> str:
    from babel.numbers import format_percent

    return _plain_spaces(format_percent(value, format="#,##0.0%", locale=locale_for(language)))


def _plain_spaces(text: str) -> str:
    return text.replace("\u00a0", " ").replace("\u202f", " ")
