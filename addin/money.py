"""Money: the only place where cell values and text become ``Decimal``.

Floats never carry money through the code. Excel stores numbers as binary doubles;
``repr`` gives the shortest text that round-trips, so ``from_number(0.1 + 0.2)`` is ``0.30``.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Iterable, Sequence
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from itertools import repeat
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

ZERO = Decimal("0.00")
CENT = Decimal("0.01")
# The largest size of an amount (or any number) read from a cell: beyond it a value is a typing
# slip, or a number no amount can be (1E+300, infinity), and is refused where it is read.
LIMIT = 10**12
LIMIT_TEXT = f"{LIMIT:,}"

_CURRENCY = r"(?:[$€£¥]|US\$|CA\$|C\$|USD|CAD|EUR|GBP|CHF)"


def D(value: object) -> Decimal:
    """Convert an int, Decimal, str or float to Decimal rounded to cents."""
    if isinstance(value, Decimal):
        return cents(value)
    if isinstance(value, bool):
        raise TypeError("a boolean is not an amount")
    if isinstance(value, int):
        return Decimal(value).quantize(CENT)
    if isinstance(value, float):
        return cents(Decimal(repr(value)))
    if isinstance(value, str):
        return cents(Decimal(value.strip()))
    raise TypeError(f"cannot make an amount from {type(value).__name__}")


def cents(value: Decimal) -> Decimal:
    """Round half up to the cent, as bookkeepers and tax offices do."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


_HUNDRED = Decimal(100)


def to_cents(amounts: Iterable[Decimal]) -> list[int]:
    """Amounts as whole numbers of cents, exactly; a fraction of a cent raises ValueError.

    For arithmetic in bulk (the ledger's columns): integers add exactly, as Decimal does. The
    amounts made here (``from_number``, ``from_cents``) are looked up (``_cents_of``); the
    others are worked out.
    """
    listed = amounts if isinstance(amounts, list | tuple) else list(amounts)
    found: list[int | None] = list(map(_cents_of.get, map(id, listed)))
    if any(map(operator.is_, found, repeat(None))):
        missing = [i for i, c in enumerate(found) if c is None]
        for i, c in zip(missing, _exact_cents([listed[i] for i in missing]), strict=True):
            found[i] = c
    return found  # type: ignore[return-value]


def _exact_cents(amounts: list[Decimal]) -> list[int]:
    scaled = list(map(_HUNDRED.__mul__, amounts))
    whole = list(map(int, scaled))
    if any(map(operator.ne, scaled, whole)):
        bad = next(a for a, w in zip(scaled, whole, strict=True) if a != w)
        raise ValueError(f"{bad / _HUNDRED} is not a whole number of cents")
    return whole


_from_cents: dict[int, Decimal] = {}
# id(amount) -> its whole cents, for the amounts made here (to_cents). Keyed by identity, not
# value: hashing a new Decimal costs ~1 µs, more than making it. An amount here is held by
# _from_cents, never let go or replaced, so its id is never another object's.
_cents_of: dict[int, int] = {}


def from_cents(count: int) -> Decimal:
    """A whole number of cents as an amount (``1234`` -> ``Decimal("12.34")``). Cached."""
    value = _from_cents.get(count)
    if value is None:
        value = Decimal(count).scaleb(-2)
        if len(_from_cents) < 200_000:
            value = _from_cents.setdefault(count, value)  # two threads at once: both keep the first
            _cents_of[id(value)] = count
    return value


_cache: dict[float, Decimal] = {}


def within_limit(value: float | int | Decimal) -> bool:
    """Whether a number's size is at most LIMIT (false for infinities and NaN)."""
    return -LIMIT <= value <= LIMIT


def from_number(value: float | int) -> Decimal:
    """An Excel number cell as cents. Cached: real books repeat amounts a lot.

    A number of at most two decimals is made from its whole cents (as ``cents_where_exact``
    finds them), any other rounded half up from its shortest text (``repr``); zero is never -0.00.
    A number beyond LIMIT (or not finite) comes back as it is, unrounded: it is no amount (the
    reader refuses it), but it compares, unequal to any amount, where a cell is only compared.
    """
    result = _cache.get(value)
    if result is not None:
        return result
    if not within_limit(value):
        return Decimal(value)
    whole = round(value * 100)
    result = from_cents(whole) if whole / 100 == value else D(value) + ZERO  # + ZERO: never -0.00
    if len(_cache) < 200_000:
        _cache[value] = result
    return result


def cents_where_exact(values: Sequence[object]) -> tuple[np.ndarray, np.ndarray]:
    """Whole cents of cells (int64) and where they are exact: the floats of at most two
    decimals within LIMIT; anything else (text, blanks, other numbers, numbers beyond LIMIT)
    is not, and its cents are 0.

    Exact: below 2**50 cents, a float ``x`` is within a quarter cent of ``c / 100`` with
    ``c = round(x * 100)``, and ``c / 100 == x`` means ``x`` is the float of the two-decimal
    number ``c / 100``, which is what ``repr(x)`` and so ``from_number(x)`` give.
    """
    import numpy as np

    if set(map(type, values)) == {float}:  # a column of amounts: read in C
        x = np.fromiter(values, dtype=np.float64, count=len(values))
    else:
        nan = float("nan")
        x = np.fromiter((v if type(v) is float else nan for v in values), dtype=np.float64, count=len(values))
    with np.errstate(invalid="ignore", over="ignore"):
        c = np.rint(x * 100)
        exact = (np.abs(c) <= _LIMIT_CENTS) & (c / 100 == x)
    return np.where(exact, c, 0).astype(np.int64), exact


_LIMIT_CENTS = float(LIMIT * 100)  # below 2**50, where the cents' floats are exact (cents_where_exact)


_EN = re.compile(r"^\d{1,3}(,\d{3})+(\.\d+)?$|^\d+(\.\d+)?$")
_FR = re.compile(r"^\d{1,3}([ \u00a0\u202f]\d{3})+(,\d+)?$|^\d+(,\d+)?$|^\d+\.\d{1,2}$")


class AmountError(ValueError):
    """Text that is not an unambiguous amount; the message says why."""


def parse_amount(text: str, language: str = "en") -> Decimal:
    """Parse an amount typed as text: ``1234.56``, ``$1,234.56``, ``(12.00)``, ``1 234,56 €`` (fr).

    Raises AmountError for text that is not an amount or that could be read two ways
    (``1.234,56`` in an English workbook). More than two decimals is an error: rounding
    what someone typed would change their books silently.
    """
    s = text.strip()
    negative = False
    if s.startswith("(") and s.endswith(")"):
        negative, s = True, s[1:-1].strip()
    s = re.sub(rf"^{_CURRENCY}\s*|\s*{_CURRENCY}$", "", s).strip()
    if s.startswith("-"):
        negative, s = not negative, s[1:].strip()
    s = re.sub(rf"^{_CURRENCY}\s*|\s*{_CURRENCY}$", "", s).strip()
    if not s:
        raise AmountError("is not an amount")
    if language == "fr":
        if not _FR.match(s):
            raise AmountError(_why_not(s))
        plain = re.sub(r"[ \u00a0\u202f]", "", s).replace(",", ".")
    else:
        if not _EN.match(s):
            raise AmountError(_why_not(s))
        plain = s.replace(",", "")
    if "." in plain and len(plain.rsplit(".", 1)[1]) > 2:
        raise AmountError("has more than two decimals")
    try:
        value = Decimal(plain)
    except InvalidOperation as exc:  # pragma: no cover - the patterns above admit only digits
        raise AmountError("is not an amount") from exc
    if not within_limit(value):
        raise AmountError(f"is beyond {LIMIT_TEXT}")
    return cents(-value if negative else value)


def _why_not(s: str) -> str:
    if re.fullmatch(r"[\d.,\s\u00a0\u202f]+", s) and "." in s and "," in s:
        return "is ambiguous (decimal point or comma?)"
    return "is not an amount"
