"""CSV that Excel opens safely: UTF-8 with BOM, ISO dates, plain numbers, no formula injection.

A text cell starting with ``=``, ``+``, ``-``, ``@``, tab or CR could be run by Excel as a
formula (OWASP "CSV injection"); such cells get a leading single quote. Numbers stay plain
numbers, so ``-12.50`` as a Decimal is written as is.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterable, Sequence
from decimal import Decimal

DANGEROUS = ("=", "+", "-", "@", "\t", "\r")
BOM = "\ufeff"


def safe_text(text: str) -> str:
    """Text with a leading quote when Excel could read it as a formula."""
    if text.startswith(DANGEROUS) or text.lstrip(" ").startswith(DANGEROUS):
        return "'" + text
    return text


def safe_cell(value: object) -> str:
    """One cell as CSV text: '' for None, ISO dates, plain numbers, neutralised text."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return format(Decimal(repr(value)), "f")
    if isinstance(value, dt.datetime):
        return value.replace(tzinfo=None).isoformat(sep=" ", timespec="seconds")
    if isinstance(value, dt.date):
        return value.isoformat()
    return safe_text(str(value))


def write_csv(rows: Iterable[Sequence[object]]) -> bytes:
    """Rows (the first usually the headers) as CSV bytes: UTF-8 with BOM, CRLF line ends."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    for row in rows:
        writer.writerow([safe_cell(v) for v in row])
    return (BOM + buffer.getvalue()).encode("utf-8")
