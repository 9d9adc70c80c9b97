"""Which number formats, and which cell formats of styles.xml, show a date: decided here once,
for the reader (a column styled as dates reads its numbers as dates) and the writer (a date
written keeps its cell's format when that format shows one, else gets a date format)."""

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


_CELL_XFS = re.compile(rb"<(?:\w+:)?cellXfs\b.*?</(?:\w+:)?cellXfs>", re.DOTALL)
_XF = re.compile(rb"<(?:\w+:)?xf\b([^>]*)>")
_NUM_FMT = re.compile(rb"<(?:\w+:)?numFmt\b([^>]*)>")
_FMT_ID = re.compile(rb"\bnumFmtId=[\"'](\d+)[\"']")
_FMT_CODE = re.compile(rb"\bformatCode=(?:\"([^\"]*)\"|'([^']*)')")


def date_styles(styles: bytes) -> frozenset[int]:
    """Indexes of the cell formats (styles.xml's ``cellXfs``) whose number format shows a date.
    Read with patterns, not a parser: a workbook shaped by many hands may hold tens of
    thousands of styles."""
    from html import unescape

    custom = {}
    for m in _NUM_FMT.finditer(styles):
        fmt_id, code = _FMT_ID.search(m.group(1)), _FMT_CODE.search(m.group(1))
        if fmt_id and code:
            custom[int(fmt_id.group(1))] = unescape((code.group(1) or code.group(2) or b"").decode("utf-8", "replace"))
    xfs = _CELL_XFS.search(styles)
    found = set()
    for n, m in enumerate(_XF.finditer(xfs.group(0)) if xfs else ()):
        fmt_id = _FMT_ID.search(m.group(1))
        if shows_date(int(fmt_id.group(1)) if fmt_id else 0, custom):
            found.add(n)
    return frozenset(found)
