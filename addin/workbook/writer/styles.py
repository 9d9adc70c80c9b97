"""The styles part: which cell formats show dates, and the date formats a write adds.

A date or a time written into a cell whose format does not show one gets a copy of that
format with Excel's built-in number format 14 (short date) or 22 (date and time); the copies
are appended to ``cellXfs`` and nothing else in styles.xml moves.
"""

from __future__ import annotations

import re

from ..dateformats import date_styles
from .xmltext import root_prefix

DATE_FMT, DATETIME_FMT = 14, 22  # built-in number formats: short date, date and time


class Styles:
    """Cell formats of styles.xml, and the date formats the writer may have to add."""

    def __init__(self, data: bytes | None) -> None:
        self.data = data
        self.xfs: list[bytes] = []
        self.added: list[bytes] = []
        self.derived: dict[tuple[int, int], int] = {}
        self.p = b""
        self.dates: frozenset[int] = frozenset()
        if not data:
            return
        p = self.p = root_prefix(data, b"styleSheet")
        block = re.search(rb"<" + p + rb"cellXfs\b[^>]*>(.*?)</" + p + rb"cellXfs>", data, re.S)
        if block:
            self.xfs = re.findall(rb"<" + p + rb"xf\b[^>]*?(?:/>|>.*?</" + p + rb"xf>)", block.group(1), re.S)
        self.dates = date_styles(data)

    def is_date(self, s: int) -> bool:
        """Whether cell format ``s`` shows a date, as the reader decides it (``dateformats``)."""
        return s in self.dates

    def date_style(self, s: int, with_time: bool) -> int:
        """``s`` if it shows dates, else a copy of it that does (added to styles.xml)."""
        if not self.xfs or self.is_date(s):
            return s
        fmt = DATETIME_FMT if with_time else DATE_FMT
        key = (s, fmt)
        if key not in self.derived:
            base = self.xfs[s] if 0 <= s < len(self.xfs) else self.xfs[0]
            head, sep, rest = base.partition(b">") if not base.endswith(b"/>") else (base[:-2], b"/>", b"")
            for name, value in ((b"numFmtId", str(fmt).encode()), (b"applyNumberFormat", b"1")):
                if re.search(rb"\s" + name + rb"=\"", head):
                    head = re.sub(rb"(\s" + name + rb"=\")[^\"]*\"", rb"\g<1>" + value + b'"', head)
                else:
                    head += b" " + name + b'="' + value + b'"'
            self.added.append(head + sep + rest)
            self.derived[key] = len(self.xfs) + len(self.added) - 1
        return self.derived[key]

    def result(self) -> bytes | None:
        """styles.xml with the added formats, or None when nothing was added."""
        if not self.added or self.data is None:
            return None
        p = self.p
        m = re.search(rb"</" + p + rb"cellXfs>", self.data)
        if m is None:
            return None
        data = self.data[:m.start()] + b"".join(self.added) + self.data[m.start():]
        count = len(self.xfs) + len(self.added)
        return re.sub(rb"(<" + p + rb"cellXfs\b[^>]*?\scount=\")\d+(\")",
                      rb"\g<1>" + str(count).encode() + rb"\g<2>", data, count=1)
