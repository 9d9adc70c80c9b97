"""Cell converters: turning raw python-calamine values into typed ones, per column.

``make(kind, name, ...)`` gives a ``Conv`` with two functions:

- ``cell(value)`` returns the typed value, or raises ``CellIssue``: an error (the value is
  unusable; ``value`` is None) or a warning (``value`` is what was read). It defines what a
  cell means.
- ``column(values)`` converts a whole column at C speed (``map`` over dicts and methods) when
  the column is uniform (all floats, all dates, all plain text …) and returns None otherwise;
  the reader then calls ``cell`` on each value. It must agree with ``cell`` wherever it answers.

python-calamine reads error cells (``#N/A``, ``#DIV/0!`` …) and formulas with no saved value as
empty strings, so ``ErrorCells`` finds them in the sheets' XML (content.xml for an .ods), with
the columns styled as dates and the workbook's date system: a sheet's ``Marks`` (in a thread,
``Ahead``, while the reader works). Numbers beyond ``money.LIMIT`` are errors in every kind.
"""

from __future__ import annotations

import datetime as dt
import re
import zipfile
from collections.abc import Callable, Hashable, Sequence
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, NamedTuple

from ..money import LIMIT_TEXT, AmountError, from_number, from_numbers, parse_amount, within_limit
from ..problems import Severity
from .schema import FALSE_WORDS, TRUE_WORDS, Column, Kind, normalize

Converter = Callable[[object], object]
ColumnConverter = Callable[[Sequence[object]], "list[object] | None"]


class Conv(NamedTuple):
    """The two ways of converting a column's cells (see the module docstring)."""

    cell: Converter
    column: ColumnConverter


def _no_fast_path(values: Sequence[object]) -> None:
    return None


def per_cell(cell: Converter) -> Conv:
    """A Conv that always converts cell by cell."""
    return Conv(cell, _no_fast_path)


def convert_column(conv: Conv, values: Sequence[object]) -> tuple[list[object], dict[int, CellIssue]]:
    """Typed values of a column and the issues found, by position (the value is then the issue's)."""
    fast = conv.column(values)
    if fast is not None:
        return fast, {}
    cell = conv.cell
    out: list[object] = []
    issues: dict[int, CellIssue] = {}
    for i, value in enumerate(values):
        try:
            out.append(cell(value))
        except CellIssue as issue:
            issues[i] = issue
            out.append(issue.value)
    return out, issues

ERROR_VALUES = frozenset({
    "#N/A", "#VALUE!", "#REF!", "#DIV/0!", "#NAME?", "#NULL!", "#NUM!", "#GETTING_DATA",
    "#SPILL!", "#CALC!", "#FIELD!", "#BLOCKED!", "#CONNECT!", "#BUSY!", "#UNKNOWN!",
})
DATE_EXAMPLE = "2026-03-15"
_ISO = re.compile(r"\d{4}-\d{2}-\d{2}")
_DMY = re.compile(r"(\d{1,4})\s*[/.\-]\s*(\d{1,2})\s*[/.\-]\s*(\d{1,4})")
_EXCEL_EPOCH = dt.date(1899, 12, 30)
_EPOCH_1904 = dt.date(1904, 1, 1)
_date = dt.date
_float = float
_INF = float("inf")
_str = str


class CellIssue(Exception):
    """Something wrong with one cell; raised by converters, turned into a Problem by the reader.

    Attributes:
      severity: ERROR (``value`` is None: the field stays empty) or WARNING (``value`` was read).
      message: what is wrong, starting with the label and the offending value.
      fix: how to fix it.
      plural: several such issues of a column told in one line (Problem.plural).
    """

    def __init__(self, severity: Severity, message: str, fix: str = "", value: object = None,
                 plural: str = "") -> None:
        super().__init__(message)
        self.severity = severity
        self.message = message
        self.fix = fix
        self.value = value
        self.plural = plural


def bad(message: str, fix: str = "") -> CellIssue:
    return CellIssue(Severity.ERROR, message, fix)


def read_with_warning(value: object, message: str, fix: str = "", plural: str = "") -> CellIssue:
    return CellIssue(Severity.WARNING, message, fix, value, plural)


def label(header: str) -> str:
    """How a header is named inside a sentence: ``Due Date`` -> ``due date``, ``Customer ID`` -> ``customer ID``."""
    text = re.sub(r"\bNo$", "number", header)
    return " ".join(w if w.isupper() and len(w) > 1 else w.lower() for w in text.split())


def shown(value: object) -> str:
    """A raw cell value as the user would recognise it, for quoting in a message."""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        if not -1e15 < value < 1e15:
            return f"{value:G}" if value != value or value in (_INF, -_INF) else f"{value:.15G}"
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ", timespec="minutes")
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    return str(value).strip()


def is_blank(value: object) -> bool:
    return value is None or (type(value) is str and not value.strip())


def error_value(value: object) -> str | None:
    """The Excel error code when the cell holds one as text (``#N/A``), else None."""
    if type(value) is str and value[:1] == "#":
        code = value.strip()
        if code in ERROR_VALUES:
            return code
    return None


def excel_error(name: str, code: str) -> CellIssue:
    return bad(f'{name} "{code}" is an Excel error, not a value', "correct the formula or type the value")


def blank(name: str, fix: str = "") -> CellIssue:
    """A required cell left blank (``fix``: what to type, else "fill in the …")."""
    return bad(f"{name} is blank", fix or f"fill in the {name}")


def _blank(value: object, name: str, required: bool, fix: str = "") -> bool:
    """Whether the cell is blank; blank in a required column is an error (``fix``: what to type)."""
    if not is_blank(value):
        return False
    if required:
        raise blank(name, fix)
    return True


def _text_of(value: object, name: str) -> str:
    """The cell as trimmed text; an Excel error (``#N/A`` …) is an error."""
    text = as_text(value)
    code = error_value(text)
    if code:
        raise excel_error(name, code)
    return text


def converter(column: Column, *, language: str = "en", minimum: int | None = None,
              maximum: int | None = None, positive: bool = False, addin: bool = False,
              date_styled: bool = False, date1904: bool = False) -> Conv:
    """The converter for a column (``minimum``/``maximum`` bound ints; ``positive`` refuses negative
    money; ``date_styled``: the column's style is a date format, so its numbers are dates;
    ``date1904``: the workbook counts days from 1904, as old Mac workbooks do)."""
    return make(column.kind, label(column.header), required=column.required and not addin,
                default=column.default, choices=column.choices, language=language,
                minimum=minimum, maximum=maximum, positive=positive, date_styled=date_styled,
                date1904=date1904)


def make(kind: Kind, name: str, *, required: bool = False, default: object = None,
         choices: tuple[str, ...] = (), language: str = "en", minimum: int | None = None,
         maximum: int | None = None, positive: bool = False, date_styled: bool = False,
         date1904: bool = False) -> Conv:
    """The converters for cells of ``kind``, named ``name`` in messages."""
    if kind is Kind.INT and choices and minimum is None:
        numbers = [int(c) for c in choices]
        minimum, maximum = min(numbers), max(numbers)
    if kind is Kind.TEXT:
        return _text(name, required, default)
    if kind is Kind.DATE:
        return _date_conv(name, required, date_styled, date1904)
    if kind is Kind.DATETIME:
        return per_cell(_datetime_conv(name, required))
    if kind is Kind.MONEY:
        return _money(name, required, language, positive)
    if kind is Kind.NUMBER:
        return per_cell(_number(name, required, language))
    if kind is Kind.INT:
        return per_cell(_int(name, required, default, minimum, maximum))
    if kind is Kind.BOOL:
        return _bool(name, required, default)
    if kind is Kind.CHOICE:
        return _choice(name, required, default, choices)
    if kind is Kind.EMAILS:
        return _emails(name, required)
    raise ValueError(f"no converter for {kind}")  # pragma: no cover - every Kind is handled


def raw(value: object, name: str = "value") -> object:
    """A cell as typed: text trimmed ('' -> None), numbers as Decimal, dates as they are."""
    if type(value) is str:
        code = error_value(value)
        if code:
            raise excel_error(name, code)
        return value.strip() or None
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        if not within_limit(value):
            raise beyond_limit(name, value, "number")
        return Decimal(int(value)) if float(value).is_integer() else Decimal(repr(value))
    return value


# --- text -----------------------------------------------------------------------------------

def as_text(value: object) -> str:
    """Any cell as trimmed text: whole numbers without ``.0``, dates in ISO form."""
    if type(value) is str:
        return value.strip()
    return shown(value)


def _text(name: str, required: bool, default: object) -> Conv:
    fallback = "" if default is None else str(default)

    def text(value: object) -> object:
        if value == "" and not required:
            return fallback
        if type(value) is _str:
            s = value.strip()
            if s:
                if s[0] == "#" and s in ERROR_VALUES:
                    raise excel_error(name, s)
                return s
        else:
            s = as_text(value)
            if s:
                return s
        if required:
            raise blank(name)
        return fallback

    def column(values: Sequence[object]) -> list[object] | None:
        try:
            joined = "".join(values)  # type: ignore[arg-type] # also proves every value is text
        except TypeError:
            return None
        stripped: list[object] = list(map(_str.strip, values))  # type: ignore[arg-type]
        if (required or fallback) and "" in stripped:
            return None
        if "#" in joined and not ERROR_VALUES.isdisjoint(stripped):
            return None
        return stripped

    return Conv(text, column)


# --- dates ----------------------------------------------------------------------------------

def _date_conv(name: str, required: bool, styled: bool = False, date1904: bool = False) -> Conv:
    def date(value: object) -> object:
        if type(value) is _date:
            return value
        if value == "" and not required:
            return None
        return _slow_date(value, name, required, styled, date1904)

    blank_is_none = {"": None}

    def column(values: Sequence[object]) -> list[object] | None:
        types = list(map(type, values))
        if types.count(_date) == len(types):
            return list(values)
        if not required and types.count(_date) + values.count("") == len(types):
            return list(map(blank_is_none.get, values, values))  # type: ignore[arg-type] # '' -> None
        return None

    return Conv(date, column)


def serial_date(number: float, date1904: bool = False) -> dt.date | None:
    """The day of an Excel date serial (the time of day dropped), None when there is none: before
    1900-01-01, after 9999-12-31, or 60, Excel's 1900-02-29 that never was. ``date1904``: the
    workbook's days count from 1904-01-01 (day 0), as in old Mac workbooks."""
    if date1904:
        return _EPOCH_1904 + dt.timedelta(days=int(number)) if 0 <= number < 2_957_004 else None
    if not 1 <= number < 2_958_466 or 60 <= number < 61:
        return None
    return _EXCEL_EPOCH + dt.timedelta(days=int(number) + (number < 60))


def impossible_date(name: str) -> CellIssue:
    """Excel's serial 60, shown by Excel as 1900-02-29."""
    return bad(f'{name} "1900-02-29" is a day that never was (Excel\'s date 60)',
               f"type the date, e.g. {DATE_EXAMPLE}")


def _slow_date(value: object, name: str, required: bool, styled: bool = False,
               date1904: bool = False) -> dt.date | None:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if _blank(value, name, required):
        return None
    if isinstance(value, bool):
        raise bad(f'{name} "{shown(value)}" is not a date', f"type it as a date, e.g. {DATE_EXAMPLE}")
    if isinstance(value, (int, float)):
        number = float(value)
        if 60 <= number < 61 and (styled or number == 60) and not date1904:
            raise impossible_date(name)
        read = serial_date(number, date1904) if styled or number.is_integer() else None
        if read is not None and styled:
            return read  # the column's style makes it a date
        if read is not None:
            raise read_with_warning(read, f'{name} "{shown(value)}" is a number, read as {read.isoformat()}',
                                    "format the cell as a date",
                                    "{n} dates are numbers — format the column as a date")
        raise bad(f'{name} "{shown(value)}" is not a date', f"type it as a date, e.g. {DATE_EXAMPLE}")
    if isinstance(value, (dt.time, dt.timedelta)):
        raise bad(f'{name} "{shown(value)}" is a time, not a date', f"type it as a date, e.g. {DATE_EXAMPLE}")
    text = _text_of(value, name)
    if _ISO.fullmatch(text):
        try:
            read = dt.date.fromisoformat(text)
        except ValueError:
            pass
        else:
            raise read_with_warning(read, f'{name} "{text}" is text, read as {read.isoformat()}',
                                    "retype it as a date so Excel treats it as one",
                                    "{n} dates are text — retype them as dates so Excel treats them as dates")
    raise bad(f'{name} "{text}" is not a date', f"type it as a date, e.g. {suggest_date(text)}")


def suggest_date(text: str) -> str:
    """The ISO form of what a date typed as text most likely meant (``31/02/2026`` -> 2026-02-28)."""
    m = _DMY.fullmatch(text.strip())
    if not m:
        return DATE_EXAMPLE
    a, b, c = (int(g) for g in m.groups())
    if len(m.group(1)) == 4:
        year, month, day = a, b, c
    elif len(m.group(3)) in (2, 4):
        year = c + 2000 if c < 100 else c
        day, month = (b, a) if b > 12 >= a else (a, b)  # day first unless only month-first fits
    else:
        return DATE_EXAMPLE
    if not 1 <= month <= 12 or day < 1 or year < 1900:
        return DATE_EXAMPLE
    import calendar

    day = min(day, calendar.monthrange(year, month)[1])
    return dt.date(year, month, day).isoformat()


def _datetime_conv(name: str, required: bool) -> Converter:
    def datetime(value: object) -> object:
        if isinstance(value, dt.datetime):
            return value
        if isinstance(value, dt.date):
            return dt.datetime(value.year, value.month, value.day)
        if _blank(value, name, required):
            return None
        text = _text_of(value, name)
        try:
            return dt.datetime.fromisoformat(text)
        except ValueError:
            raise bad(f'{name} "{text}" is not a date and time',
                      "type it as a date and time, e.g. 2026-03-15 09:30") from None

    return datetime


# --- numbers --------------------------------------------------------------------------------

def _money(name: str, required: bool, language: str, positive: bool) -> Conv:
    def money(value: object) -> object:
        if type(value) is _float and within_limit(value):
            if positive and value < 0:
                raise negative(name, value)
            return from_number(value)
        return _slow_money(value, name, required, language, positive)

    def column(values: Sequence[object]) -> list[object] | None:
        if not values or set(map(type, values)) != {_float}:
            return None
        total = sum(values)  # type: ignore[arg-type] # NaN or infinite when a value is: no min/max then
        if total != total or total in (_INF, -_INF) or not within_limit(max(values)):  # type: ignore[type-var,arg-type]
            return None
        low = min(values)  # type: ignore[type-var]
        if (positive and low < 0) or not within_limit(low):  # type: ignore[operator,arg-type]
            return None
        return from_numbers(values)  # type: ignore[arg-type,return-value]

    return Conv(money, column)


def negative(name: str, value: object) -> CellIssue:
    return bad(f'{name} "{shown(value)}" is negative',
               'type it as a positive amount; for a refund or credit, use a Payments row of Type "Credit Note"')


def beyond_limit(name: str, value: object, what: str = "amount") -> CellIssue:
    """A number whose size is beyond money.LIMIT (a number cell shown bare, text quoted by the caller)."""
    return bad(f"{name} {value if isinstance(value, str) else shown(value)} is beyond {LIMIT_TEXT}",
               f"check the {what}")


def _slow_money(value: object, name: str, required: bool, language: str, positive: bool) -> Decimal | None:
    if _blank(value, name, required):
        return None
    if isinstance(value, (bool, dt.date, dt.time, dt.timedelta)):
        raise bad(f'{name} "{shown(value)}" is not an amount', "type the amount as a number, e.g. 1234.56")
    if isinstance(value, (int, float)):
        if not within_limit(value):
            raise beyond_limit(name, value)
        if positive and value < 0:
            raise negative(name, value)
        return from_number(value)
    text = _text_of(value, name)
    try:
        amount = parse_amount(text, language)
    except AmountError as exc:
        if str(exc).startswith("is beyond"):
            raise beyond_limit(name, f'"{text}"') from None
        raise bad(f'{name} "{text}" {exc}', f"type it as a number, e.g. {_suggest_amount(text)}") from None
    if positive and amount < 0:
        raise negative(name, text)
    raise read_with_warning(amount, f'{name} "{text}" is text, read as {amount}', "type it as a number",
                            "{n} amounts are text — type them as numbers")


def _suggest_amount(text: str) -> str:
    """For ``1.234,56`` (both separators), the reading where the last separator is the decimal one."""
    digits = re.sub(r"[^\d.,]", "", text)
    if "." in digits and "," in digits:
        point = max(digits.rfind("."), digits.rfind(","))
        whole, cents = re.sub(r"\D", "", digits[:point]), digits[point + 1:]
        if whole and cents.isdigit() and len(cents) <= 2:
            return f"{int(whole)}.{cents}"
    return "1234.56"


def _number(name: str, required: bool, language: str) -> Converter:
    def number(value: object) -> object:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            if not within_limit(value):
                raise beyond_limit(name, value, "number")
            return Decimal(repr(float(value))) if not float(value).is_integer() else Decimal(int(value))
        if _blank(value, name, required):
            return None
        text = _text_of(value, name)
        try:
            read = Decimal(text.replace(",", ".") if language == "fr" else text.replace(",", ""))
        except InvalidOperation:
            read = Decimal("NaN")
        if not read.is_finite():
            raise bad(f'{name} "{text}" is not a number', "type a number, e.g. 100")
        if not within_limit(read):
            raise beyond_limit(name, f'"{text}"', "number")
        return read

    return number


def _int(name: str, required: bool, default: object, minimum: int | None, maximum: int | None) -> Converter:
    if minimum is not None and maximum is not None:
        wanted = f"type a whole number from {minimum} to {maximum}"
    elif minimum is not None:
        wanted = f"type a whole number, {minimum} or more"
    else:
        wanted = "type a whole number"

    def integer(value: object) -> object:
        if _blank(value, name, required, wanted):
            return default
        number: int | None = None
        if isinstance(value, bool):
            number = None
        elif isinstance(value, int):
            number = value
        elif isinstance(value, float) and value.is_integer():
            number = int(value)
        elif isinstance(value, str):
            text = _text_of(value, name)
            if re.fullmatch(r"[+-]?\d+", text):
                number = int(text)
        if number is None:
            raise bad(f'{name} "{shown(value)}" is not a whole number', wanted)
        if (minimum is not None and number < minimum) or (maximum is not None and number > maximum):
            raise bad(f'{name} "{number if within_limit(number) else shown(value)}" is out of range', wanted)
        if not within_limit(number):
            raise beyond_limit(name, value if not isinstance(value, str) else f'"{value.strip()}"', "number")
        return number

    return integer


# --- booleans and choices -------------------------------------------------------------------

def _bool(name: str, required: bool, default: object) -> Conv:
    fallback = bool(default) if default is not None else False
    common: dict[object, object] = {True: True, False: False}
    if not required:
        common[""] = fallback

    def boolean(value: object) -> object:
        if value is True or value is False:
            return value
        if _blank(value, name, required, "type TRUE or FALSE"):
            return fallback
        if isinstance(value, (int, float)) and value in (0, 1):
            return bool(value)
        text = _text_of(value, name)
        word = normalize(text)
        if word in TRUE_WORDS:
            return True
        if word in FALSE_WORDS:
            return False
        raise bad(f'{name} "{text}" is not TRUE or FALSE', "type TRUE or FALSE (yes/no also work)")

    return Conv(boolean, _lookup(common))


def _lookup(table: dict[object, object]) -> ColumnConverter:
    """A column fast path for columns whose every value is a key of ``table``."""
    def column(values: Sequence[object]) -> list[object] | None:
        try:
            return list(map(table.__getitem__, values))
        except (KeyError, TypeError):
            return None

    return column


def _choice(name: str, required: bool, default: object, choices: tuple[str, ...]) -> Conv:
    canonical: dict[object, object] = {c: c for c in choices}
    by_key = {normalize(c): c for c in choices}
    fallback = "" if default is None else str(default)
    listing = ", ".join(choices)

    def choice(value: object) -> object:
        try:
            return canonical[value]
        except (KeyError, TypeError):
            pass
        if value == "" and not required:
            return fallback
        text = as_text(value)
        if not text:
            if required:
                raise bad(f"{name} is blank", f"choose one of: {listing}")
            return fallback
        found = by_key.get(normalize(text))
        if found is not None:
            return found
        code = error_value(text)
        if code:
            raise excel_error(name, code)
        raise bad(f'{name} "{text}" is not a valid choice', f"choose one of: {listing}")

    common = dict(canonical)
    if not required:
        common[""] = fallback
    return Conv(choice, _lookup(common))


# --- email addresses ------------------------------------------------------------------------

_SPLIT = re.compile(r"[;,]")
_SIMPLE_LOCAL = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*")
_address_cache: dict[str, str | None] = {}  # address -> None (valid) or the reason it is not
_domain_cache: dict[str, str | None] = {}


def address_problem(address: str) -> str | None:
    """Why ``address`` is not a valid email address (None when it is), by the email-validator package.

    Plain ASCII addresses are checked by their local part here and by their domain once per
    domain: validating every address in full costs ~30 µs, and thousands share few domains.
    """
    try:
        return _address_cache[address]
    except KeyError:
        pass
    local, at, domain = address.rpartition("@")
    if at and len(local) <= 64 and len(address) <= 254 and _SIMPLE_LOCAL.fullmatch(local) and domain.isascii():
        key = domain.lower()
        if key not in _domain_cache:
            _domain_cache[key] = None if _plain_domain(key) else _validate("postmaster@" + domain)
        reason = _domain_cache[key]
    else:
        reason = _validate(address)
    if len(_address_cache) < 100_000:
        _address_cache[address] = reason
    return reason


# Letters, digits and inner hyphens, labels of at most 63, a dot, a top-level domain of letters:
# what email-validator accepts without looking further (property-tested against it). Anything
# else, and the special-use names, are left to it: its IDNA checks cost ~0.3 ms a domain, and
# 5,000 customers may have 5,000 domains.
_PLAIN_DOMAIN = re.compile(r"(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}")


# email-validator's SPECIAL_USE_DOMAIN_NAMES (RFC 6761 and after), which it refuses with their
# subdomains. Written out so that an address at a plain domain is accepted without importing
# email-validator (~65 ms: its patterns and IDNA tables); a test keeps the two lists equal.
SPECIAL_USE = frozenset({"arpa", "invalid", "local", "localhost", "onion", "test"})
_SPECIAL_ENDINGS = tuple("." + d for d in sorted(SPECIAL_USE))


def _plain_domain(domain: str) -> bool:
    """A lower-case domain email-validator is known to accept (see _PLAIN_DOMAIN)."""
    if len(domain) > 253 or "--" in domain or not _PLAIN_DOMAIN.fullmatch(domain):
        return False
    return domain not in SPECIAL_USE and not domain.endswith(_SPECIAL_ENDINGS)


def _validate(address: str) -> str | None:
    from email_validator import EmailNotValidError, validate_email

    try:
        validate_email(address, check_deliverability=False)
    except EmailNotValidError as exc:
        reason = str(exc).strip().rstrip(".")
        return reason[:1].lower() + reason[1:]
    return None


def split_addresses(text: str) -> list[str]:
    return [a.strip() for a in _SPLIT.split(text) if a.strip()]


def _emails(name: str, required: bool) -> Conv:
    def emails(value: object) -> object:
        if value == "" and not required:
            return ()
        text = as_text(value)
        if not text:
            if required:
                raise blank(name)
            return ()
        code = error_value(text)
        if code:
            raise excel_error(name, code)
        found = split_addresses(text)
        for address in found:
            reason = address_problem(address)
            if reason:
                raise bad(f'{name} "{address}" is not a valid address ({reason})',
                          "correct the address; separate several addresses with ;")
        if not found and required:
            raise blank(name)
        return tuple(found)

    def column(values: Sequence[object]) -> list[object] | None:
        try:
            distinct = {v: emails(v) for v in set(values)}
        except (CellIssue, TypeError):
            return None
        return list(map(distinct.__getitem__, values))

    return Conv(emails, column)


# --- what the sheet XML says beyond the values --------------------------------------------

# A mark for a formula cell without a saved value (``<c><f>…</f></c>``, ``<v/>``): calamine reads ''.
NO_VALUE = "no saved value"
# Date number formats: the built-in ids Excel (and calamine) read as dates; [h]:mm:ss (46) is a duration.
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


def marked_issue(name: str, code: str) -> CellIssue:
    """The issue of a cell the XML marks: an Excel error code, or a formula with no saved value."""
    if code == NO_VALUE:
        return bad(f"{name} holds a formula with no saved value", "open and save the workbook in Excel")
    return excel_error(name, code)


class Marks(NamedTuple):
    """What a sheet's XML tells beyond calamine's values.

    Attributes:
      cells: {row index: {column index: code}} (0-based, as calamine's rows) of error cells
        (``#N/A`` …) and formula cells with no saved value (NO_VALUE).
      date_columns: indexes of the columns whose style (``<col style=…>``) is a date format.
      date1904: the workbook's dates count days from 1904 (``<workbookPr date1904="1"/>``).
    """

    cells: dict[int, dict[int, str]]
    date_columns: frozenset[int] = frozenset()
    date1904: bool = False


NO_MARKS = Marks({})
class Ahead:
    """Runs ``work(name)`` for each name (any hashable task), in order, in a thread; ``get(name)``
    waits for that result.

    Used to parse the next sheet (python-calamine releases the GIL while it parses) and to scan
    for error cells while the reader converts the sheet before. An exception raised by ``work``
    is raised again by ``get``.
    """

    def __init__(self, names: Sequence[Hashable], work: Callable[[Any], object]) -> None:
        import threading

        self.names = list(names)
        self.work = work
        self.results: dict[Hashable, object] = {}
        self.failures: dict[Hashable, BaseException] = {}
        self.ready = {name: threading.Event() for name in self.names}
        self.stopping = False
        self.thread = threading.Thread(target=self._run, name="reader-ahead", daemon=True)

    def start(self) -> Ahead:
        self.thread.start()
        return self

    def get(self, name: Hashable) -> object:
        """The result for ``name``, handed over once (it is not kept)."""
        self.ready[name].wait()
        if name in self.failures:
            raise self.failures[name]
        return self.results.pop(name)

    def stop(self) -> None:
        """Stop after the current item and wait for the thread."""
        self.stopping = True
        if self.thread.is_alive():
            self.thread.join()

    def _run(self) -> None:
        try:
            for name in self.names:
                if self.stopping:
                    break
                try:
                    self.results[name] = self.work(name)
                except BaseException as exc:  # noqa: BLE001 - handed to the caller by get()
                    self.failures[name] = exc
                finally:
                    self.ready[name].set()
        finally:
            for event in self.ready.values():
                event.set()


class ErrorCells:
    """The marks of a workbook's sheets (error cells, formulas with no saved value, date-styled
    columns), read from the XML: calamine reads error cells and unsaved formulas as ''.

    ``sheet(name)`` returns the sheet's Marks; a sheet whose XML cannot be read gives none
    (calamine reports broken files). An .ods is read from its content.xml (``_ods_marks``).
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.archive: zipfile.ZipFile | None = None
        self.parts: dict[str, str] = {}
        self.date_styles: frozenset[int] | None = None  # cellXfs indexes whose format is a date
        self.ods: dict[str, Marks] | None = None
        self.date1904 = False

    def sheet(self, name: str) -> Marks:
        try:
            if self.archive is None:
                self.archive = zipfile.ZipFile(self.path)
                names = set(self.archive.namelist())
                if "xl/workbook.xml" not in names and "content.xml" in names:
                    self.ods = _ods_marks(self.archive.read("content.xml"))
                else:
                    self.parts = _sheet_parts(self.archive)
                    self.date1904 = bool(_DATE1904.search(self.archive.read("xl/workbook.xml")))
            if self.ods is not None:
                return self.ods.get(name, NO_MARKS)
            part = self.parts.get(name)
            if not part:
                return NO_MARKS
            found = _scan_part(self.archive, part, self._date_styles)
            return found._replace(date1904=True) if self.date1904 else found
        except Exception:  # noqa: BLE001 - never let the scan stop the reader
            return NO_MARKS

    def serial_60(self, name: str) -> set[tuple[int, int]]:
        """(row, column) indexes of the number cells holding 60: Excel's 1900-02-29, which never
        was (calamine reads it as 1900-02-28). Looked for only when a date column holds that day."""
        try:
            if self.archive is None:
                self.sheet(name)
            part = self.parts.get(name)
            if self.archive is None or not part:
                return set()
            data = _inflate(self.archive, part)
        except Exception:  # noqa: BLE001 - never let the scan stop the reader
            return set()
        found = set()
        for m in _SIXTY.finditer(data):
            tag = _last_cell_tag(data, m.start())
            if tag is None or _TYPE.search(tag.group(1)):
                continue
            ref = _REF.search(tag.group(1))
            if ref:
                found.add((int(ref.group(2)) - 1, column_index(ref.group(1).decode())))
        return found

    def _date_styles(self) -> frozenset[int]:
        if self.date_styles is None:
            self.date_styles = _date_styles(self.archive) if self.archive is not None else frozenset()
        return self.date_styles

    def close(self) -> None:
        if self.archive is not None:
            self.archive.close()


def _sheet_parts(archive) -> dict[str, str]:
    """Sheet name -> its XML part in the zip, from xl/workbook.xml and its relationships."""
    import posixpath
    import xml.etree.ElementTree as ET

    main = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
    rel_ns = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
    pkg = "{http://schemas.openxmlformats.org/package/2006/relationships}"
    book = ET.fromstring(archive.read("xl/workbook.xml"))
    rels = ET.fromstring(archive.read("xl/_rels/workbook.xml.rels"))
    targets = {}
    for rel in rels.iter(f"{pkg}Relationship"):
        target = rel.get("Target", "")
        targets[rel.get("Id")] = target.lstrip("/") if target.startswith("/") else posixpath.normpath("xl/" + target)
    parts = {}
    for sheet in book.iter(f"{main}sheet"):
        rid = sheet.get(f"{rel_ns}id")
        if rid in targets:
            parts[sheet.get("name", "")] = targets[rid]
    return parts


_CELL_XFS = re.compile(rb"<(?:\w+:)?cellXfs\b.*?</(?:\w+:)?cellXfs>", re.DOTALL)
_XF = re.compile(rb"<(?:\w+:)?xf\b([^>]*)>")
_NUM_FMT = re.compile(rb"<(?:\w+:)?numFmt\b([^>]*)>")
_FMT_ID = re.compile(rb"\bnumFmtId=[\"'](\d+)[\"']")
_FMT_CODE = re.compile(rb"\bformatCode=(?:\"([^\"]*)\"|'([^']*)')")


def _date_styles(archive) -> frozenset[int]:
    """Indexes of the cell formats (styles.xml cellXfs) whose number format is a date. Read with
    patterns, not a parser: a workbook shaped by many hands may hold tens of thousands of styles."""
    from html import unescape

    try:
        styles = archive.read("xl/styles.xml")
    except KeyError:
        return frozenset()
    custom = {}
    for m in _NUM_FMT.finditer(styles):
        fmt_id, code = _FMT_ID.search(m.group(1)), _FMT_CODE.search(m.group(1))
        if fmt_id and code:
            custom[int(fmt_id.group(1))] = unescape((code.group(1) or code.group(2) or b"").decode("utf-8", "replace"))
    xfs = _CELL_XFS.search(styles)
    found = set()
    for n, m in enumerate(_XF.finditer(xfs.group(0)) if xfs else ()):
        fmt_id = _FMT_ID.search(m.group(1))
        number = int(fmt_id.group(1)) if fmt_id else 0
        if is_date_format(custom[number]) if number in custom else number in DATE_FORMAT_IDS:
            found.add(n)
    return frozenset(found)


_ERROR_TAG = re.compile(rb"<(?:\w+:)?c\b(?=[^>]*\bt=[\"']e[\"'])([^>]*)>")
_ERROR_VALUE = re.compile(  # the formula, if any, then the value; Gnumeric puts spaces between
    rb"\s*(?:<(?:\w+:)?f\b[^>]*/>|<(?:\w+:)?f\b[^>]*>[^<]*</(?:\w+:)?f>)?\s*<(?:\w+:)?v>([^<]*)</")
_REF = re.compile(rb"\br=[\"']([A-Z]+)(\d+)[\"']")
_TYPE = re.compile(rb"\bt=[\"'](?!n[\"'])")  # a cell typed other than a number
_STR = re.compile(rb"\bt=[\"'](?:str|s|inlineStr)[\"']")
# A formula ending its cell with no value, or an empty one: no saved result.
_NO_VALUE = re.compile(
    rb"(?:</(?:\w+:)?f>|<(?:\w+:)?f\b[^>]*/>)\s*(?:<(?:\w+:)?v\s*/>|<(?:\w+:)?v>\s*</(?:\w+:)?v>)?\s*</(?:\w+:)?c>")
_DATE1904 = re.compile(rb"<(?:\w+:)?workbookPr\b[^>]*\bdate1904=[\"'](?:1|true)[\"']")
_CELL_TAG = re.compile(rb"<(?:\w+:)?c\b([^>]*)>")
_SIXTY = re.compile(rb"<(?:\w+:)?v>60(?:\.0*)?</")
_COLS = re.compile(rb"<(?:\w+:)?col\b([^>]*)>")
_ATTR = re.compile(rb"\b(min|max|style)=[\"'](\d+)[\"']")


def _inflate(archive, part: str) -> bytes:
    """The part, inflated in one call: the inflater then runs without the GIL the whole time,
    whereas a loop over chunks waits for the busy main thread at every chunk."""
    from .deflate import read_part

    with open(archive.filename, "rb") as f:  # its own handle; one inflate call (without the GIL)
        info = archive.getinfo(part)
        return b"".join(read_part(f, info, block=max(info.compress_size, 1)))


def _last_cell_tag(data: bytes, end: int) -> re.Match[bytes] | None:
    """The opening tag of the cell that holds position ``end``."""
    start = max(data.rfind(b"<c ", 0, end), data.rfind(b"c r=", 0, end) - 4, 0)
    found = None
    for found in _CELL_TAG.finditer(data, start, end):  # noqa: B007 - the last one is wanted
        pass
    return found


def _scan_part(archive, part: str, date_styles: Callable[[], frozenset[int]]) -> Marks:
    """The marks of one sheet part. The cells are parsed only where the text says they are there:
    one search for error cells and one for formulas, in the quoting and prefix the part uses (as
    many searches as for error cells alone in both quotings, which this replaced)."""
    data = _inflate(archive, part)
    head = data[:data.find(b"sheetData")]  # the <cols> are before the cells
    root = re.search(rb"<(\w+:)?worksheet\b", head)
    prefix = root.group(1) or b"" if root else b""
    quote = b"'" if b"='" in head and b'="' not in head else b'"'
    cells: dict[int, dict[int, str]] = {}
    if b"t=" + quote + b"e" + quote in data:
        for m in _ERROR_TAG.finditer(data):
            ref = _REF.search(m.group(1))
            if not ref:
                continue
            code = "#VALUE!"
            if not m.group(1).endswith(b"/"):
                v = _ERROR_VALUE.match(data, m.end())
                if v:
                    code = v.group(1).decode("utf-8", "replace").strip() or code
            cells.setdefault(int(ref.group(2)) - 1, {})[column_index(ref.group(1).decode())] = code
    if b"</" + prefix + b"f>" in data:  # a formula's text (a shared formula's cells refer to one)
        for m in _NO_VALUE.finditer(data):
            tag = _last_cell_tag(data, m.start())
            if tag is None or (b"<v" in data[tag.end():m.end()] and _STR.search(tag.group(1))):
                continue  # a formula whose saved result is empty text
            ref = _REF.search(tag.group(1))
            if ref:
                row = cells.setdefault(int(ref.group(2)) - 1, {})
                row.setdefault(column_index(ref.group(1).decode()), NO_VALUE)
    return Marks(cells, _date_columns(head, date_styles) if b"style=" in head else frozenset())


def _date_columns(head: bytes, date_styles: Callable[[], frozenset[int]]) -> frozenset[int]:
    """Indexes of the columns whose ``<col style=…>`` is a date format."""
    styles = date_styles()
    found: set[int] = set()
    for m in _COLS.finditer(head):
        attrs = {k: int(v) for k, v in _ATTR.findall(m.group(1))}
        if attrs.get(b"style") in styles and b"min" in attrs:
            found.update(range(attrs[b"min"] - 1, min(attrs.get(b"max", attrs[b"min"]), 16384)))
    return frozenset(found)


# --- .ods: error cells in content.xml -------------------------------------------------------

_ODS_TOKEN = re.compile(
    rb"<table:table(?=[\s>])([^>]*)>|</table:table>|<table:table-row\b([^>]*?)(/?)>|"
    rb"<table:(?:covered-)?table-cell\b([^>]*?)(/?)>")
_ODS_NAME = re.compile(rb'\btable:name="([^"]*)"')
_ODS_ROWS = re.compile(rb'\btable:number-rows-repeated="(\d+)"')
_ODS_COLUMNS = re.compile(rb'\btable:number-columns-repeated="(\d+)"')
_ODS_ERROR = re.compile(rb'\bcalcext:value-type="error"')
_ODS_TEXT = re.compile(rb"\s*<text:p>([^<]*)</text:p>")


def _ods_marks(content: bytes) -> dict[str, Marks]:
    """Error cells of each table of an .ods (calamine reads them as '': LibreOffice stores the
    error as the cell's text, ``calcext:value-type="error"``), by table name."""
    from html import unescape

    if b'value-type="error"' not in content:
        return {}
    out: dict[str, Marks] = {}
    cells: dict[int, dict[int, str]] = {}
    name = ""
    rows = range(0)  # the rows the current row element stands for
    after = col = 0  # the index of the next row; of the next cell in the row
    for m in _ODS_TOKEN.finditer(content):
        table, row_attrs, row_closed, cell_attrs, cell_closed = m.groups()
        if table is not None:
            found = _ODS_NAME.search(table)
            name, cells, after = unescape(found.group(1).decode()) if found else "", {}, 0
        elif row_attrs is not None:
            repeated = _ODS_ROWS.search(row_attrs)
            rows = range(after, after + (int(repeated.group(1)) if repeated else 1))
            after, col = rows.stop, 0
        elif cell_attrs is not None:
            repeated = _ODS_COLUMNS.search(cell_attrs)
            count = int(repeated.group(1)) if repeated else 1
            if _ODS_ERROR.search(cell_attrs) and not cell_closed:
                text = _ODS_TEXT.match(content, m.end())
                code = (unescape(text.group(1).decode()).strip() if text else "") or "#VALUE!"
                for r in rows:
                    for c in range(col, col + count):
                        cells.setdefault(r, {})[c] = code
            col += count
        elif cells:  # </table:table>
            out[name] = Marks(cells)
    return out


def column_index(letters: str) -> int:
    """A -> 0, Z -> 25, AA -> 26."""
    n = 0
    for ch in letters:
        n = n * 26 + ord(ch) - 64
    return n - 1


def column_letter(index: int) -> str:
    """0 -> A, 25 -> Z, 26 -> AA."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters
