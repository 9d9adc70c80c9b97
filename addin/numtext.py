"""A number as a person reads it: ``1001`` for the float 1001.0 that a spreadsheet stores.

Spreadsheets keep every number as a float, so an invoice number typed as 1001 is read back as
1001.0. Whether such a float is a whole number, and how it reads as text, is decided here for
keys, messages, rules and the writer alike.
"""

from __future__ import annotations

import math

EXACT = 1e15  # below this, every whole float is exactly the integer it shows


def integral(value: float) -> int | None:
    """``1001.0`` -> ``1001``; None for a fraction, an infinity, NaN, or beyond ±10^15."""
    if math.isfinite(value) and value.is_integer() and -EXACT < value < EXACT:
        return int(value)
    return None


def number_text(value: float) -> str:
    """``1001.0`` -> ``"1001"``, ``2.5`` -> ``"2.5"``; beyond ±10^15, inf or NaN in 15 digits."""
    whole = integral(value)
    if whole is not None:
        return str(whole)
    if math.isfinite(value) and -EXACT < value < EXACT:
        return repr(value)
    return f"{value:.15G}"
