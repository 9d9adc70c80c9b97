"""Which number formats show a date: decided here once, for the reader (a column styled as
dates reads its numbers as dates) and the writer (a date written keeps its cell's format
when that format shows one, else gets a date format)."""

from __future__ import annotations

import re

# The built-in ids Excel (and calamine) read as dates; [h]:mm:ss (46) is a duration.
DATE_FORMAT_IDS = frozenset((*range(14, 23), *range(27, 37), 45, 47, *range(50, 59)))
_QUOTED = re.compile(r'"[^"]*"|\\.|[_*].')
_ELAPSED = re.compile(r"\[(?:h+|m+|s+)\]", re.IGNORECASE)
_BRACKETS = re.compile(r"\[[^\]]*\]")


def is_date_format(code: str) -> bool:
    """Whether a custom number format shows a date: a d, m or y outside quotes and brackets
    (``[$-409]d-mmm-yy``, ``mm/dd/yyyy;@``); an elapsed time (``[h]:mm``) is a duration."""
    plain = _QUOTED.sub("", code)
    if _ELAPSED.search(plain):
        return False
    plain = _BRACKETS.sub("", plain).lower()
    return "d" in plain or "m" in plain or "y" in plain


def shows_date(format_id: int, custom: dict[int, str]) -> bool:
    """Whether number format ``format_id`` shows a date (``custom``: the workbook's own formats by id)."""
    code = custom.get(format_id)
    return is_date_format(code) if code is not None else format_id in DATE_FORMAT_IDS
