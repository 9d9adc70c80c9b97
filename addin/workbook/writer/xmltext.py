"""The small facts of OOXML text every part shares: attributes, escapes, rich text, cell ranges,
and a cell's value as text for matching keys."""

from __future__ import annotations

import datetime as dt
import html
import re
from collections.abc import Iterator
from decimal import Decimal

from ...actions import Cell
from ...numtext import number_text
from .. import schema

REF = re.compile(r"\$?([A-Za-z]{1,3})\$?(\d+)")
_ATTR = re.compile(rb"([\w:.-]+)\s*=\s*(?:\"([^\"]*)\"|'([^']*)')")
_XESC = re.compile(r"_x([0-9A-Fa-f]{4})_")
_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_LOOKS_ESCAPED = re.compile(r"_(x[0-9A-Fa-f]{4}_)")
_ANY_T = re.compile(rb"<(?:\w+:)?t(?:\s[^>]*)?(?:/>|>(.*?)</(?:\w+:)?t>)", re.S)
_RPH = re.compile(rb"<(?:\w+:)?rPh\b.*?</(?:\w+:)?rPh>", re.S)


def norm(value: str) -> str:
    """How sheet names, headers and keys are compared (``schema.normalize``)."""
    return schema.normalize(value)


def attrs(tag: bytes) -> dict[bytes, bytes]:
    """The attributes of a start tag, raw."""
    return {m.group(1): m.group(2) if m.group(2) is not None else m.group(3) for m in _ATTR.finditer(tag)}


def unescape(raw: bytes) -> str:
    """Element or attribute text as people typed it (XML entities, OOXML's ``_xHHHH_``)."""
    text = raw.decode("utf-8")
    if "&" in text:
        text = html.unescape(text)
    if "_x" in text:
        text = _XESC.sub(lambda m: chr(int(m.group(1), 16)), text)
    return text


def escape(text: str) -> bytes:
    """Text for an element or a double-quoted attribute, with OOXML's ``_xHHHH_`` escapes."""
    if "_x" in text:
        text = _LOOKS_ESCAPED.sub(r"_x005F_\1", text)
    text = _ILLEGAL.sub(lambda m: f"_x{ord(m.group()):04X}_", text)
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
    return text.encode("utf-8")


def rich_text(inner: bytes) -> str:
    """Concatenated ``<t>`` runs of a ``<si>`` or ``<is>``, phonetic runs left out."""
    if b"rPh" in inner:
        inner = _RPH.sub(b"", inner)
    return "".join(unescape(m.group(1)) for m in _ANY_T.finditer(inner) if m.group(1))


def root_prefix(data: bytes, local: bytes) -> bytes:
    """The namespace prefix of a part's root element (``x:`` in ``<x:worksheet``), usually none."""
    m = re.search(rb"<(\w+:)?" + local + rb"[\s>]", data[:8192])
    return (m.group(1) or b"") if m else b""


def ranges(text: str) -> Iterator[tuple[int, int]]:
    """(top row, bottom row) of every range in a ``sqref``/``ref``/formula text."""
    for part in re.split(r"[\s,;]+", text):
        rows = [int(m.group(2)) for m in REF.finditer(part)]
        if rows:
            yield min(rows), max(rows)


def num_text(v: str) -> str:
    """A number cell's text as people see it for matching: ``1001`` not ``1001.0``."""
    try:
        f = float(v)
    except ValueError:
        return v
    return number_text(f)


def value_text(value: Cell) -> str:
    """A value as text, for matching keys of rows the writer itself appends."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int | float | Decimal):
        return num_text(str(value))
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return str(value)
