"""How a cell is named: column letters and A1 references, decided here for every module.

Columns are counted from 1, as Excel's COLUMN() does: ``letters(1) == "A"``,
``letters(27) == "AA"``, ``number("AA") == 27``, ``ref(3, 12) == "C12"``, ``split("C12") == (3, 12)``.
"""

from __future__ import annotations

MAX_COLUMN = 16_384  # XFD


def letters(column: int) -> str:
    """1 -> ``A``, 26 -> ``Z``, 27 -> ``AA``, 16384 -> ``XFD``."""
    if column < 1:
        raise ValueError(f"column numbers start at 1, not {column}")
    out = ""
    while column:
        column, rest = divmod(column - 1, 26)
        out = chr(65 + rest) + out
    return out


def number(text: str) -> int:
    """``A`` -> 1, ``aa`` -> 27 (letters of either case; a ``$`` is ignored)."""
    n = 0
    for ch in text.replace("$", "").upper():
        if not "A" <= ch <= "Z":
            raise ValueError(f"{text!r} is not a column's letters")
        n = n * 26 + ord(ch) - 64
    if n == 0:
        raise ValueError("a column's letters cannot be empty")
    return n


def ref(column: int, row: int) -> str:
    """The A1 reference of a cell: ``ref(3, 12) == "C12"``."""
    return f"{letters(column)}{row}"


def split(reference: str) -> tuple[int, int]:
    """The column and row of an A1 reference: ``split("C12") == (3, 12)`` (a ``$`` is ignored)."""
    text = reference.replace("$", "")
    column = text.rstrip("0123456789")
    if column == text:
        raise ValueError(f"{reference!r} has no row number")
    return number(column), int(text[len(column):])
