"""What covers the records besides the cells: the sheet's Excel table, its data validations
and conditional formats, merged cells, hyperlinks and defined names.

Appended rows grow the table and the ranges that reached the last record; deleted rows shrink
the table; a deletion that would have to move any other range below it is refused.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import partial

from ..cellref import letters
from .layout import Layout, Table
from .report import WriteRefused
from .xmltext import REF, ranges


def main_table(tables: Sequence[Table]) -> Table | None:
    """The table whose header is row 1: the one that holds the records."""
    return next((t for t in tables if t.top == 1), None)


def check_deletion(layout: Layout, deleted: Sequence[int], deleted_set: set[int] | frozenset[int],
                   index: int) -> None:
    """Raise WriteRefused when deleting rows ``deleted`` would move something below the first."""
    first, name = deleted[0], layout.name

    def refuse(what: str) -> None:
        raise WriteRefused(
            name, f"rows cannot be deleted: {what} below row {first} would have to move",
            f"remove them from the {name} sheet (it should hold plain data only)", index)

    if any(n > first and n not in deleted_set for n in layout.formula_rows):
        refuse("formulas")
    outside = layout.tail + layout.head
    for m in re.finditer(rb"<(?:\w+:)?mergeCell\b[^>]*\bref=\"([^\"]+)\"", outside):
        if any(bottom >= first for _, bottom in ranges(m.group(1).decode())):
            refuse("merged cells")
    checks = ((rb"conditionalFormatting\b[^>]*\bsqref=\"([^\"]+)\"", "conditional formats"),
              (rb"dataValidation\b[^>]*\bsqref=\"([^\"]+)\"", "data validations"),
              (rb"hyperlink\b[^>]*\bref=\"([^\"]+)\"", "hyperlinks"),
              (rb"sqref>([^<]+)</", "conditional formats or validations"))
    for pattern, what in checks:
        for m in re.finditer(rb"<(?:\w+:)?" + pattern, outside):
            if any(top > first for top, _ in ranges(m.group(1).decode())):
                refuse(what)
    for t in layout.tables:
        if t.top > first:
            refuse("an Excel table")
    quoted = "'" + name.replace("'", "''") + "'!"
    for defined, value in layout.defined_names:
        if (quoted.casefold() in value.casefold() or (name + "!").casefold() in value.casefold()) \
                and any(top > first for top, _ in ranges(value.split("!", 1)[-1])):
            refuse(f'the defined name "{defined}"')


def table_xml(layout: Layout, deleted: Sequence[int], appended_bottom: int | None) -> tuple[str, bytes] | None:
    """The main table's part and XML with its new ``ref`` (None when it does not change);
    ``appended_bottom``: the last row appended, if any (never below a totals row: the planner
    refuses that)."""
    t = main_table(layout.tables)
    if t is None:
        return None
    bottom = t.bottom - sum(1 for d in deleted if t.top < d <= t.bottom)
    if appended_bottom is not None:
        bottom = max(bottom, appended_bottom)
    bottom = max(bottom, t.top + 1)
    if bottom == t.bottom:
        return None
    new_ref = f"{letters(t.left)}{t.top}:{letters(t.right)}{bottom}".encode()
    xml = re.sub(rb"(<(?:\w+:)?table\b[^>]*?\sref=\")[^\"]*(\")", rb"\g<1>" + new_ref + rb"\g<2>", t.xml, count=1)
    xml = re.sub(rb"(<(?:\w+:)?autoFilter\b[^>]*?\sref=\")[^\"]*(\")", rb"\g<1>" + new_ref + rb"\g<2>", xml, count=1)

    def sort_ref(m: re.Match[bytes]) -> bytes:
        refs = list(REF.finditer(m.group(2).decode()))
        if len(refs) != 2:
            return m.group()
        start, end = refs
        ref = f"{start.group(1)}{start.group(2)}:{end.group(1)}{bottom}".encode()
        return m.group(1) + ref + m.group(3)

    xml = re.sub(rb"(<(?:\w+:)?sortState\b[^>]*?\sref=\")([^\"]*)(\")", sort_ref, xml, count=1)
    return t.part, xml


_SQREF_ATTR = re.compile(rb"(<(?:\w+:)?(?:dataValidation|conditionalFormatting)\b[^>]*?\ssqref=\")([^\"]*)(\")")
_X14_RULE = re.compile(rb"<((?:\w+:)?)(dataValidation|conditionalFormatting)\b[^>]*(?<!/)>.*?</\1\2>", re.S)
_SQREF_ELEMENT = re.compile(rb"(<((?:\w+:)?)sqref>)([^<]*)(</\2sqref>)")
_SQREF_RANGE = re.compile(rb"(?<![\w$:])(\$?[A-Za-z]{1,3}\$?)(\d+)(?::(\$?[A-Za-z]{1,3}\$?)(\d+))?(?![\w$:])")


def grown_tail(tail: bytes, last: int, bottom: int) -> bytes:
    """The sheet's tail with its data validations and conditional formats grown over the
    appended rows, as ``table_xml`` grows the table: each range of a ``sqref`` (the attribute,
    or the ``<xm:sqref>`` of an Excel 2010 ``x14`` one in ``extLst``) that holds row ``last``
    (the last record, row 2 when there is none) ends at row ``bottom``. Other ranges, whole
    columns among them, and every other byte stay as they were."""
    if b"sqref" not in tail:
        return tail
    grow = partial(_grown_sqref, last=last, bottom=bottom)
    tail = _SQREF_ATTR.sub(lambda m: m.group(1) + grow(m.group(2)) + m.group(3), tail)
    return _X14_RULE.sub(lambda m: _SQREF_ELEMENT.sub(
        lambda e: e.group(1) + grow(e.group(3)) + e.group(4), m.group()), tail)


def _grown_sqref(sqref: bytes, last: int, bottom: int) -> bytes:
    """``sqref`` with each range that holds row ``last`` made to end at row ``bottom`` (when it
    ended above it); other ranges (and whole columns or rows, which have no cell address)
    unchanged."""

    def grown(m: re.Match[bytes]) -> bytes:
        top = int(m.group(2))
        end = int(m.group(4)) if m.group(4) is not None else top
        if not top <= last <= end < bottom:
            return m.group()
        return m.group(1) + m.group(2) + b":" + (m.group(3) or m.group(1)) + str(bottom).encode()

    return _SQREF_RANGE.sub(grown, sqref)
