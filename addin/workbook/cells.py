"""Cell converters: what a raw python-calamine value means in a column of a given kind.

``make(kind, name, ...)`` gives the one converter of a kind, a ``Rule``: it takes a column's
values and returns their typed values and the issues found, by position. An issue is an error
(the value is unusable; the typed value is None) or a warning (the typed value is what was
read). ``one(rule, value)`` is the same rule for one cell: the typed value, or the issue raised
(``CellIssue``). Each rule is written once: most are written for a cell and applied to a
column by ``each`` (once per distinct value where the column repeats itself: dates, IDs,
choices); text, the commonest kind, is written for a column. Numbers beyond ``money.LIMIT``
are errors in every kind; a whole number reads as ``numtext`` says.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Sequence
from decimal import Decimal, InvalidOperation

from ..money import LIMIT, LIMIT_TEXT, AmountError, from_number, parse_amount, within_limit
from ..numtext import integral, number_text
from ..problems import Severity
from .addresses import address_problem, split_addresses
from .schema import FALSE_WORDS, TRUE_WORDS, Column, Kind, normalize
from .sheets import NO_VALUE

Cell = Callable[[object], object]  # a rule written for one cell: the typed value, or raises CellIssue
Converted = tuple[list[object], dict[int, "CellIssue"]]
Rule = Callable[[Sequence[object]], Converted]
_SAMPLE = 256  # a column whose first values are all different (numbers, amounts) is not looked at for repeats


def one(rule: Rule, value: object) -> object:
    """The rule for one cell: its typed value, or the CellIssue raised."""
    typed, issues = rule((value,))
    if issues:
        raise issues[0]
    return typed[0]


def each(cell: Cell) -> Rule:
    """The column rule of a rule written for one cell."""
    return lambda values: _each(cell, values)


def _each(cell: Cell, values: Sequence[object]) -> Converted:
    """``cell`` on each value. A column that repeats its values (within its first ``_SAMPLE``,
    then overall) is converted once per distinct value. Values equal across types
    (``True == 1.0``) mean different things: such a column is converted value by value.
    """
    head = values[:_SAMPLE]
    distinct: dict[object, object] = dict.fromkeys(values) if len(set(head)) < len(head) else {}
    if distinct and len(distinct) * 2 <= len(values):
        types = set(map(type, values))  # of every value: True stands for 1.0 among the distinct ones
        if bool not in types or not types & {int, float}:
            issues_of: dict[object, CellIssue] = {}
            for value in distinct:
                try:
                    distinct[value] = cell(value)
                except CellIssue as issue:
                    distinct[value] = issue.value
                    issues_of[value] = issue
            issues = {i: issues_of[v] for i, v in enumerate(values) if v in issues_of} if issues_of else {}
            return list(map(distinct.__getitem__, values)), issues
    try:
        return list(map(cell, values)), {}
    except CellIssue:
        pass
    out: list[object] = []
    found: dict[int, CellIssue] = {}
    for i, value in enumerate(values):
        try:
            out.append(cell(value))
        except CellIssue as issue:
            found[i] = issue
            out.append(issue.value)
    return out, found


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
        return number_text(value)
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
              date_styled: bool = False, date1904: bool = False) -> Rule:
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
         date1904: bool = False) -> Rule:
    """The converter for cells of ``kind``, named ``name`` in messages."""
    if kind is Kind.INT and choices and minimum is None:
        numbers = [int(c) for c in choices]
        minimum, maximum = min(numbers), max(numbers)
    if kind is Kind.TEXT:
        return _text(name, required, default)
    if kind is Kind.DATE:
        return each(_date_conv(name, required, date_styled, date1904))
    if kind is Kind.DATETIME:
        return each(_datetime_conv(name, required))
    if kind is Kind.MONEY:
        return each(_money(name, required, language, positive))
    if kind is Kind.NUMBER:
        return each(_number(name, required, language))
    if kind is Kind.INT:
        return each(_int(name, required, default, minimum, maximum))
    if kind is Kind.BOOL:
        return each(_bool(name, required, default))
    if kind is Kind.CHOICE:
        return each(_choice(name, required, default, choices))
    if kind is Kind.EMAILS:
        return each(_emails(name, required))
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
        return _decimal(value)
    return value


def _decimal(value: int | float) -> Decimal:
    """A number cell within the limit as the Decimal it shows (``1001.0`` -> ``1001``)."""
    whole = value if isinstance(value, int) else integral(value)
    return Decimal(whole) if whole is not None else Decimal(repr(value))


# --- text -----------------------------------------------------------------------------------

def as_text(value: object) -> str:
    """Any cell as trimmed text: whole numbers without ``.0``, dates in ISO form."""
    if type(value) is str:
        return value.strip()
    return shown(value)


def _text(name: str, required: bool, default: object) -> Rule:
    """Text, trimmed; an Excel error is an error; a blank is the default, or an error if required.
    Written for a column: text is most of a sheet's cells."""
    fallback = "" if default is None else str(default)

    def texts(values: Sequence[object]) -> Converted:
        try:  # a column of texts only, as most are: trimmed in C
            out: list[object] = list(map(_str.strip, values))  # type: ignore[arg-type]
        except TypeError:  # numbers, dates, blanks among them
            out = [v.strip() if type(v) is _str else as_text(v) for v in values]
        issues: dict[int, CellIssue] = {}
        if "#" in "".join(out) and not ERROR_VALUES.isdisjoint(out):  # type: ignore[arg-type]
            for i in [i for i, s in enumerate(out) if s in ERROR_VALUES]:
                issues[i], out[i] = excel_error(name, out[i]), None  # type: ignore[arg-type]
        if (required or fallback) and "" in out:
            for i in [i for i, s in enumerate(out) if s == ""]:
                if required:
                    issues[i], out[i] = blank(name), None
                else:
                    out[i] = fallback
        return out, issues

    return texts


# --- dates ----------------------------------------------------------------------------------

def _date_conv(name: str, required: bool, styled: bool = False, date1904: bool = False) -> Cell:
    def date(value: object) -> object:
        if type(value) is _date:
            return value
        if value == "" and not required:
            return None
        return _slow_date(value, name, required, styled, date1904)

    return date


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


def _datetime_conv(name: str, required: bool) -> Cell:
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

def _money(name: str, required: bool, language: str, positive: bool) -> Cell:
    low = 0.0 if positive else -LIMIT  # the amounts a number cell may hold; the others are told (_slow_money)

    def money(value: object) -> object:
        if type(value) is _float and low <= value <= LIMIT:
            return from_number(value)
        return _slow_money(value, name, required, language, positive)

    return money


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


def _number(name: str, required: bool, language: str) -> Cell:
    def number(value: object) -> object:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            if not within_limit(value):
                raise beyond_limit(name, value, "number")
            return _decimal(value)
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


def _int(name: str, required: bool, default: object, minimum: int | None, maximum: int | None) -> Cell:
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
        elif isinstance(value, float):
            number = int(value) if value.is_integer() else None  # beyond 10^15: out of range, or beyond the limit
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

def _bool(name: str, required: bool, default: object) -> Cell:
    fallback = bool(default) if default is not None else False

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

    return boolean


def _choice(name: str, required: bool, default: object, choices: tuple[str, ...]) -> Cell:
    by_key = {normalize(c): c for c in choices}
    fallback = "" if default is None else str(default)
    listing = ", ".join(choices)

    def choice(value: object) -> object:
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

    return choice


def _emails(name: str, required: bool) -> Cell:
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

    return emails


def marked_issue(name: str, code: str) -> CellIssue:
    """The issue of a cell the XML marks (sheets.Marks): an Excel error code, or a formula with no saved value."""
    if code == NO_VALUE:
        return bad(f"{name} holds a formula with no saved value", "open and save the workbook in Excel")
    return excel_error(name, code)
