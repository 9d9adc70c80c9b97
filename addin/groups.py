"""Customer groups (SPEC §2 Groups, Group Rules, Group Members; §4 Groups). Pure.

A group's rules (field, operator, values) all hold (AND) for its rule matches; membership is
rule matches ∪ Added − Removed. Rules are checked once (``compile_rule``) and evaluated column
by column, so 50 groups over 5,000 customers read each field once.

Main entry points:
  build(book, ledger, as_of, names=None, now=None) -> Plan     rebuild groups (Rule rows, Members, Updated)
  members_of(book, ledger, name, as_of) -> list[Customer]      current members of a customer group
  group_members(book, ledger, name, as_of) -> list[Customer | Vendor]   either kind
  summary_line(rules, language) -> str                         "Status is Active · State is CA · …"
  email_group(book, ledger, name, subject, message, as_of, ...) -> Plan   one message per member
  export_rows(members) -> list[list]                          the mailing-list CSV rows
  delete_group(book, name, access) -> Plan                    guarded deletion
  check(book) -> list[Problem]                                rule problems for `receivables check`
  summaries_of(book, as_of, ledger) -> dict[str, CustomerSummary]   Ledger.summary of every customer

``ledger`` arguments may be None: a Ledger is then built from the book when a rule needs a
computed field (Balance, Days Overdue…). The ledger is the one place that computes them.

Decisions: the Customers add-in columns Balance and Overdue mean the computed figures as of the
date (never the possibly stale cells); a group without rule rows has only its Added members; a
group with a bad rule is not rebuilt (its Rule rows stay as they are).
"""

from __future__ import annotations

import datetime as dt
import difflib
import hashlib
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any, TypeVar, Union

from .actions import Email, LogEntry, Plan, ReplaceRows, SetCells, Update
from .holds import held
from .model import Book, Customer, Group, Member, Rule, Vendor
from .money import AmountError, D, parse_amount
from .numtext import number_text
from .perf import quiet_gc
from .problems import Problem, error, warning
from .workbook import schema
from .workbook.schema import Kind, normalize

if TYPE_CHECKING:
    from .access import Access
    from .ledger import CustomerSummary, Ledger

Record = Union[Customer, Vendor]  # noqa: UP007 - runtime alias

# Headers, spelled once by the schema (a KeyError here means the schema changed).
G_GROUP = schema.GROUPS.column("Group").header
G_DESCRIPTION = schema.GROUPS.column("Description").header
G_MEMBERS = schema.GROUPS.column("Members").header
G_UPDATED = schema.GROUPS.column("Updated").header
M_GROUP = schema.GROUP_MEMBERS.column("Group").header
M_ID = schema.GROUP_MEMBERS.column("Customer ID").header
M_NAME = schema.GROUP_MEMBERS.column("Name").header
M_SOURCE = schema.GROUP_MEMBERS.column("Source").header
R_GROUP = schema.GROUP_RULES.column("Group").header
RULE, ADDED, REMOVED = schema.SOURCES
VENDOR_KIND = schema.GROUP_KINDS[1]

SEPARATOR = " · "
FIELD_FIX = "choose one from the drop-down"

# --- fields ------------------------------------------------------------------------------------

TEXT, NUMBER, MONEY, DATE, BOOL = "text", "number", "money", "date", "bool"
_KINDS = {Kind.MONEY: MONEY, Kind.INT: NUMBER, Kind.NUMBER: NUMBER, Kind.DATE: DATE,
          Kind.DATETIME: DATE, Kind.BOOL: BOOL}
_COMPUTED_KINDS = dict(zip(schema.COMPUTED_FIELDS, (MONEY, MONEY, NUMBER, NUMBER, DATE), strict=True))
_SUMMARY_ATTR = dict(zip(schema.COMPUTED_FIELDS, (
    "balance", "overdue_balance", "days_overdue", "open_invoices", "last_payment_date"), strict=True))
# The Customers add-in columns hold what the add-in computed: rules read the fresh figures.
_ALIASES = {"balance": "Balance", "overdue": "Overdue Balance"}

_CUSTOMER_ATTRS = {
    "customer id": "id", "email": "emails", "statement email": "statement_emails",
    "postal code": "postal_code", "statement contact": "statement_contact",
    "statement address": "statement_address", "no reminders": "no_reminders",
    "reminders paused until": "reminders_paused_until",
}
_VENDOR_ATTRS = {"vendor id": "id", "email": "emails"}


@dataclass(frozen=True)
class Field:
    """A field a rule can name.

    Attributes:
      key: normalized header; label: as shown to people.
      kind: text, number, money, date or bool: how rule values are read and compared.
      computed: one of schema.COMPUTED_FIELDS (from the ledger as of the date).
    """

    key: str
    label: str
    kind: str = TEXT
    computed: bool = False


def _schema_fields(sheet: schema.Sheet) -> dict[str, Field]:
    return {c.key: Field(c.key, c.header, _KINDS.get(c.kind, TEXT)) for c in sheet.columns}


def _computed_fields() -> dict[str, Field]:
    found = {normalize(n): Field(normalize(n), n, k, True) for n, k in _COMPUTED_KINDS.items()}
    for alias, name in _ALIASES.items():
        found[alias] = found[normalize(name)]
    return found


def fields_for(records: Sequence[Record], vendor: bool = False) -> dict[str, Field]:
    """Every field a rule may name: the sheet's headers, its extra columns, computed fields."""
    sheet = schema.VENDORS if vendor else schema.CUSTOMERS
    fields = _schema_fields(sheet)
    extra: set[str] = set()
    for rec in records[:1]:
        extra.update(rec.origin.letters)
    for rec in records:
        extra.update(rec.fields)
    for key in sorted(extra - set(fields)):
        fields[key] = Field(key, key, _infer_kind(rec.fields.get(key) for rec in records))
    if not vendor:
        fields.update(_computed_fields())
    return fields


def _infer_kind(values: Iterable[object]) -> str:
    kinds = {_value_kind(v) for v in values if _text(v) != ""}
    return kinds.pop() if len(kinds) == 1 else TEXT


def _value_kind(v: object) -> str:
    if isinstance(v, bool):
        return BOOL
    if isinstance(v, int | float | Decimal):
        return NUMBER
    if isinstance(v, dt.date):
        return DATE
    return TEXT


def _value(rec: Record, key: str) -> object:
    if key in rec.fields:
        return rec.fields[key]
    attrs = _VENDOR_ATTRS if isinstance(rec, Vendor) else _CUSTOMER_ATTRS
    return getattr(rec, attrs.get(key, key.replace(" ", "_")), None)


# --- values: one comparable form per operator family --------------------------------------------

def _text(v: object) -> str:
    """Text form, compared case-insensitively: '' for blank."""
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return number_text(v)
    if isinstance(v, dt.datetime):
        return (v.date() if v.time() == dt.time() else v).isoformat()
    if isinstance(v, dt.date):
        return v.isoformat()
    if isinstance(v, tuple | list):
        return "; ".join(t for t in (_text(x) for x in v) if t)
    return normalize(str(v))


def _number(v: object, language: str = "en") -> Decimal | None:
    if v is None or isinstance(v, bool):
        return None
    if isinstance(v, Decimal):
        return v if v.is_finite() else None
    if isinstance(v, int):
        return Decimal(v)
    if isinstance(v, float):
        d = Decimal(repr(v))
        return d if d.is_finite() else None
    if isinstance(v, str) and v.strip():
        try:
            return parse_amount(v, language)
        except AmountError:
            try:
                d = Decimal(v.strip())
            except InvalidOperation:
                return None
            return d if d.is_finite() else None
    return None


def _date(v: object) -> dt.date | None:
    if isinstance(v, dt.datetime):
        return v.date()
    if isinstance(v, dt.date):
        return v
    if isinstance(v, str) and v.strip():
        try:
            return dt.date.fromisoformat(v.strip())
        except ValueError:
            try:
                return dt.datetime.fromisoformat(v.strip()).date()
            except ValueError:
                return None
    return None


def _bool(v: object) -> bool | None:
    if isinstance(v, bool):
        return v
    word = _text(v)
    if word in schema.TRUE_WORDS:
        return True
    if word in schema.FALSE_WORDS:
        return False
    return None


# --- rules -------------------------------------------------------------------------------------

OPERATORS = frozenset(normalize(o) for o in schema.OPERATORS)
_EQUALITY = ("is", "is not", "is one of", "is not one of")
_TEXTUAL = ("contains", "does not contain", "starts with")
_ORDER = ("between", "greater than", "less than", "at least", "at most")
_DATED = ("before", "after")
_EMPTY = ("is empty", "is not empty")


@dataclass(frozen=True)
class Condition:
    """A checked rule: ``test`` applied to the field's values in ``form`` (text/number/date/bool)."""

    rule: Rule
    field: Field
    form: str
    test: Callable[[Any], bool]


class _Bad(Exception):
    def __init__(self, problem: Problem) -> None:
        self.problem = problem


def _rule_error(rule: Rule, header: str, message: str, fix: str) -> Problem:
    return error(rule.origin.sheet or schema.GROUP_RULES.name, rule.origin.cell(header) if rule.origin.row else "",
                 message, fix)


def compile_rule(rule: Rule, fields: Mapping[str, Field], language: str = "en",
                 vendor: bool = False) -> tuple[Condition | None, Problem | None]:
    """Check one rule against the fields; the condition, or the problem naming its cell."""
    try:
        return _compile(rule, fields, language, vendor), None
    except _Bad as bad:
        return None, bad.problem


def _compile(rule: Rule, fields: Mapping[str, Field], language: str, vendor: bool) -> Condition:
    typed, typed_op = _shown(rule.field), _shown(rule.operator)
    op = normalize(typed_op)
    field = fields.get(normalize(typed))
    if field is None:
        if vendor and normalize(typed) in _computed_fields():
            raise _Bad(_rule_error(rule, "Field", f'field "{typed}" is computed for customers only',
                                   "vendor groups use Vendors headers"))
        what = "a Vendors header" if vendor else "a Customers header or a computed field"
        if not typed:
            raise _Bad(_rule_error(rule, "Field", "the field is missing", FIELD_FIX))
        labels = {f.label for f in fields.values() if not (vendor and f.computed)}
        raise _Bad(_rule_error(rule, "Field", f'field "{typed}" is not {what}', _suggest(typed, labels)))
    if not op:
        raise _Bad(_rule_error(rule, "Operator", "the operator is missing", FIELD_FIX))
    if op not in OPERATORS:
        raise _Bad(_rule_error(rule, "Operator", f'operator "{typed_op}" is not an operator',
                               _suggest(typed_op, schema.OPERATORS)))
    if op in _EMPTY:
        want = op == "is empty"
        return Condition(rule, field, TEXT, lambda s: (s == "") is want)
    if _text(rule.value) == "":
        raise _Bad(_rule_error(rule, "Value", f'"{field.label} {op}" needs a value',
                               f"type in Value what {field.label} is compared to"))
    if op == "between" and _text(rule.value2) == "":
        raise _Bad(_rule_error(rule, "Value 2", f'"{field.label} between" needs a second value',
                               "type the upper bound in Value 2 (bounds are included)"))
    if op in _EQUALITY:
        return _equality(rule, field, op, language)
    if op in _TEXTUAL:
        needle = _text(rule.value)
        if op == "contains":
            return Condition(rule, field, TEXT, lambda s: needle in s)
        if op == "does not contain":
            return Condition(rule, field, TEXT, lambda s: needle not in s)
        return Condition(rule, field, TEXT, lambda s: s.startswith(needle))
    if op in _DATED:
        if field.kind in (NUMBER, MONEY):
            other = "less than" if op == "before" else "greater than"
            raise _Bad(_rule_error(rule, "Operator", f'"{op}" compares dates but {field.label} is a number',
                                   f'use "{other}"'))
        day = _need_date(rule, "Value", rule.value)
        if op == "before":
            return Condition(rule, field, DATE, lambda x: x is not None and x < day)
        return Condition(rule, field, DATE, lambda x: x is not None and x > day)
    return _order(rule, field, op, language)


def _suggest(typed: str, known: Iterable[str]) -> str:
    """``did you mean "at least"?`` for the closest known name (ignoring case and spaces), else the drop-down."""
    by_key = {normalize(k).replace(" ", ""): k for k in known}
    key = normalize(typed).replace(" ", "")
    close = [by_key[key]] if key in by_key else difflib.get_close_matches(key, list(by_key), n=1, cutoff=0.75)
    return f'did you mean "{by_key.get(close[0], close[0])}"?' if close else FIELD_FIX


def one_of_values(value: object, kind: str = TEXT) -> list[object]:
    """The values of an ``is one of`` rule: separated by ``;`` or ``,`` (for numbers, by ``;`` or
    a comma before a space, since ``1,000`` is one number)."""
    if not isinstance(value, str):
        return [value]
    separator = r";|,\s" if kind in (NUMBER, MONEY) else r"[;,]"
    return [v.strip() for v in re.split(separator, value) if v.strip()]


def _equality(rule: Rule, field: Field, op: str, language: str) -> Condition:
    raw = rule.value
    values = one_of_values(raw, field.kind) if "one of" in op else [raw]
    form = {NUMBER: NUMBER, MONEY: NUMBER, DATE: DATE, BOOL: BOOL}.get(field.kind, TEXT)
    targets: frozenset[object]
    if form == NUMBER:
        targets = frozenset(_need_number(rule, "Value", v, field, language) for v in values)
    elif form == DATE:
        targets = frozenset(_need_date(rule, "Value", v) for v in values)
    elif form == BOOL:
        targets = frozenset(_need_bool(rule, v, field) for v in values)
    else:
        targets = frozenset(_text(v) for v in values)
    positive = op in ("is", "is one of")
    return Condition(rule, field, form, lambda x: (x in targets) is positive)


def _order(rule: Rule, field: Field, op: str, language: str) -> Condition:
    bounds = [(rule.value, "Value")] + ([(rule.value2, "Value 2")] if op == "between" else [])
    if field.kind in (NUMBER, MONEY):
        form = NUMBER
    elif field.kind == DATE:
        form = DATE
    else:  # a text column holding numbers or dates: compare by value what can be read as such
        form = NUMBER if _number(rule.value, language) is not None else DATE
        if form == DATE and _date(rule.value) is None:
            raise _Bad(_rule_error(rule, "Value", f'"{_shown(rule.value)}" is not a number or a date',
                                   "type a number such as 1000 or a date such as 2026-03-31"))
    read: Callable[[object, str], Any]
    if form == NUMBER:
        def read(v: object, header: str) -> Any:
            return _need_number(rule, header, v, field, language)
    else:
        def read(v: object, header: str) -> Any:
            return _need_date(rule, header, v)
    low, *rest = [read(v, h) for v, h in bounds]
    if op == "between":
        high = rest[0]
        if high < low:
            raise _Bad(_rule_error(rule, "Value 2", f'"{_shown(rule.value2)}" is below "{_shown(rule.value)}"',
                                   "put the lower bound in Value and the upper bound in Value 2"))
        return Condition(rule, field, form, lambda x: x is not None and low <= x <= high)
    tests: dict[str, Callable[[Any], bool]] = {
        "greater than": lambda x: x is not None and x > low,
        "less than": lambda x: x is not None and x < low,
        "at least": lambda x: x is not None and x >= low,
        "at most": lambda x: x is not None and x <= low,
    }
    return Condition(rule, field, form, tests[op])


def _shown(v: object) -> str:
    """A cell as the person typed it ('' for blank)."""
    if v is None:
        return ""
    if isinstance(v, float):
        return number_text(v)
    if isinstance(v, dt.datetime):
        return _text(v)
    if isinstance(v, dt.date):
        return v.isoformat()
    return str(v).strip()


def _need_number(rule: Rule, header: str, v: object, field: Field, language: str) -> Decimal:
    n = _number(v, language)
    if n is None:
        raise _Bad(_rule_error(rule, header, f'"{_shown(v)}" is not a number',
                               f"{field.label} is a number: type one such as 1000"))
    return n


def _need_date(rule: Rule, header: str, v: object) -> dt.date:
    d = _date(v)
    if d is None:
        raise _Bad(_rule_error(rule, header, f'"{_shown(v)}" is not a date', "type a date such as 2026-03-31"))
    return d


def _need_bool(rule: Rule, v: object, field: Field) -> bool:
    b = _bool(v)
    if b is None:
        raise _Bad(_rule_error(rule, "Value", f'"{_shown(v)}" is not TRUE or FALSE',
                               f"{field.label} is a yes/no column: type TRUE or FALSE"))
    return b


# --- computed fields in one pass -----------------------------------------------------------------

def summaries_of(book: Book, as_of: dt.date, ledger: Ledger | None = None) -> dict[str, CustomerSummary]:
    """Ledger.summary of every customer as of the date, keyed by normalized customer ID."""
    from .ledger import Ledger

    ledger = ledger or Ledger.from_book(book)
    return {normalize(c.id): ledger.summary(c.id, as_of) for c in book.customers}


# --- the groups of a book ----------------------------------------------------------------------

def find_group(book: Book, name: str) -> Group | None:
    key = normalize(name)
    return next((g for g in book.groups if normalize(g.name) == key), None)


def is_vendor_group(group: Group) -> bool:
    return normalize(group.kind) == normalize(VENDOR_KIND)


def rules_of(book: Book, group: Group) -> list[Rule]:
    key = normalize(group.name)
    return [r for r in book.rules if normalize(r.group) == key]


def rows_of(book: Book, group: Group) -> list[Member]:
    key = normalize(group.name)
    return [m for m in book.members if normalize(m.group) == key]


def _records(book: Book, group: Group) -> tuple[Record, ...]:
    return book.vendors if is_vendor_group(group) else book.customers


class Table:
    """The records one kind of group ranges over, read column by column and cached.

    Attributes:
      records: customers or vendors, in sheet order.
      fields: what rules may name (see fields_for).
    """

    _CONVERT: Mapping[str, Callable[..., object]] = {TEXT: _text, DATE: _date, BOOL: _bool}

    def __init__(self, book: Book, ledger: Ledger | None, as_of: dt.date, vendor: bool = False,
                 summaries: Mapping[str, CustomerSummary] | None = None) -> None:
        """``summaries``: ledger figures keyed by normalized customer ID (default: from ``ledger``)."""
        self.records: tuple[Record, ...] = book.vendors if vendor else book.customers
        self.vendor = vendor
        self.language = book.settings.language or "en"
        self.fields = fields_for(self.records, vendor)
        self._as_of, self._summaries, self._ledger = as_of, summaries, ledger
        self._lazy: dict[tuple[str, str], dict[int, Any]] = {}
        self._book = book
        self._rows: dict[str, list[Member]] | None = None
        self._rules: dict[str, list[Rule]] | None = None
        self.keys = [normalize(r.id) for r in self.records]
        self.index: dict[str, int] = {}
        for i, key in enumerate(self.keys):
            self.index.setdefault(key, i)
        self._columns: dict[tuple[str, str], list[Any]] = {}

    def summary(self, i: int) -> CustomerSummary:
        """The ledger figures of record ``i`` as of the date (all customers computed once)."""
        if self._summaries is None:
            with quiet_gc():
                self._summaries = summaries_of(self._book, self._as_of, self._ledger)
        return self._summaries[self.keys[i]]

    def _convert(self, form: str) -> Callable[[object], Any]:
        if form == NUMBER:
            lang = self.language
            return lambda v: _number(v, lang)
        return self._CONVERT[form]

    def column(self, field: Field, form: str) -> list[Any]:
        """The field's value of every record in ``form``, read once."""
        key = (field.key, form)
        if key not in self._columns:
            convert = self._convert(form)
            if field.computed:
                attr = _SUMMARY_ATTR[field.label]
                raw = [getattr(self.summary(i), attr) for i in range(len(self.records))]
            else:
                raw = [_value(r, field.key) for r in self.records]
            self._columns[key] = [convert(v) for v in raw]
        return self._columns[key]

    def _computed_test(self, cond: Condition) -> Callable[[int], bool]:
        """Test record ``i`` on a computed field, asking the ledger only for records still in play."""
        attr, convert, test = _SUMMARY_ATTR[cond.field.label], self._convert(cond.form), cond.test
        cache = self._lazy.setdefault((cond.field.key, cond.form), {})

        def check(i: int) -> bool:
            if i not in cache:
                cache[i] = convert(getattr(self.summary(i), attr))
            return test(cache[i])
        return check

    def matches(self, conditions: Sequence[Condition]) -> list[int]:
        """Indexes of the records for which every condition holds; none without conditions.

        Plain columns are tested first, so the ledger is asked only about the records left.
        """
        if not conditions:
            return []
        chosen: Iterable[int] = range(len(self.records))
        for cond in sorted(conditions, key=lambda c: c.field.computed):
            if cond.field.computed:
                check = self._computed_test(cond)
                chosen = [i for i in chosen if check(i)]
            else:
                col, test = self.column(cond.field, cond.form), cond.test
                chosen = [i for i in chosen if test(col[i])]
        return list(chosen)

    def rows(self, group: Group) -> list[Member]:
        """The group's Group Members rows (indexed once per table)."""
        if self._rows is None:
            self._rows = _by_group(self._book.members)
        return self._rows.get(normalize(group.name), [])

    def rules(self, group: Group) -> list[Rule]:
        """The group's Group Rules rows (indexed once per table)."""
        if self._rules is None:
            self._rules = _by_group(self._book.rules)
        return self._rules.get(normalize(group.name), [])


_Row = TypeVar("_Row", "Rule", "Member")


def _by_group(rows: Iterable[_Row]) -> dict[str, list[_Row]]:
    """Rows (Group Rules, Group Members) by normalized group name, in sheet order."""
    out: dict[str, list[_Row]] = {}
    for row in rows:
        out.setdefault(normalize(row.group), []).append(row)
    return out


def check_rules(book: Book, group: Group, fields: Mapping[str, Field] | None = None,
                rules: Iterable[Rule] | None = None) -> tuple[list[Condition], list[Problem]]:
    """The group's rules checked: conditions, and one problem per bad rule."""
    vendor = is_vendor_group(group)
    if fields is None:
        fields = fields_for(_records(book, group), vendor)
    conditions, problems = [], []
    for rule in rules_of(book, group) if rules is None else rules:
        cond, problem = compile_rule(rule, fields, book.settings.language or "en", vendor)
        if problem:
            problems.append(problem)
        elif cond:
            conditions.append(cond)
    return conditions, problems


@dataclass(frozen=True)
class Membership:
    """A group's members as of a date.

    Attributes:
      members: rule matches ∪ Added − Removed, in sheet order.
      by_rule: the rule matches (what the Rule rows hold after a build).
      rebuilt: the rules were evaluated now (False: the stored Rule rows were used).
      problems: bad rules (the group is then not rebuilt).
    """

    group: Group
    members: tuple[Record, ...]
    by_rule: tuple[Record, ...]
    rebuilt: bool
    problems: tuple[Problem, ...] = ()


def _sources(rows: Iterable[Member]) -> dict[str, set[str]]:
    """Normalized source -> normalized IDs."""
    found: dict[str, set[str]] = {normalize(src): set() for src in schema.SOURCES}
    for m in rows:
        found.setdefault(normalize(m.source), set()).add(normalize(m.customer_id))
    return found


def _has_rule_rows(rows: Iterable[Member]) -> bool:
    return any(normalize(m.source) == normalize(RULE) for m in rows)


def never_built(book: Book, group: Group, rows: Iterable[Member] | None = None) -> bool:
    """No Rule rows and no Updated time: the group's first build is still to come."""
    return group.updated is None and not _has_rule_rows(rows_of(book, group) if rows is None else rows)


def waiting(book: Book, group: Group) -> tuple[Problem, ...]:
    """What keeps a group's members from being told (addin.holds): a group sheet that cannot be
    read, or, for a group whose rules use a figure (Balance, Days Overdue …), books that cannot."""
    causes = book.holds.groups()
    computed = _computed_fields()
    if any(normalize(r.field) in computed for r in rules_of(book, group)):
        causes = (*causes, *book.holds.books())
    return causes


def held_group(book: Book, group: Group, what: str, sending: bool = False) -> Problem | None:
    """``group "Late payers": nothing sent — Payments!1:1 has an error — …``; None when it may go.
    ``sending``: a message to the group, which also waits for what sending waits for."""
    causes = (*book.holds.sending(), *waiting(book, group)) if sending else waiting(book, group)
    return held(group.origin.sheet, group.origin.cell() if group.origin.row else "",
                f'group "{group.name}": {what}', causes) if causes else None


def membership(book: Book, group: Group, table: Table, rebuild: bool) -> Membership:
    """Members of ``group``: rules evaluated when ``rebuild`` (and they are all good), else stored."""
    problems: list[Problem] = []
    rows = table.rows(group)
    sources = _sources(rows)
    chosen: list[int] | None = None
    if rebuild:
        conditions, problems = check_rules(book, group, table.fields, table.rules(group))
        if not problems:
            chosen = table.matches(conditions)
    rebuilt = chosen is not None
    if chosen is None:
        chosen = sorted({table.index[k] for k in sources[normalize(RULE)] if k in table.index})
    added = {table.index[k] for k in sources[normalize(ADDED)] if k in table.index}
    removed = {table.index[k] for k in sources[normalize(REMOVED)] if k in table.index}
    final = sorted((set(chosen) | added) - removed)
    records = table.records
    return Membership(group, tuple(records[i] for i in final), tuple(records[i] for i in chosen), rebuilt,
                      tuple(problems))


def current(book: Book, ledger: Ledger | None, group: Group, as_of: dt.date, table: Table | None = None) -> Membership:
    """Current membership: Auto Update and never-built groups evaluated now, frozen ones as stored."""
    table = table or Table(book, ledger, as_of, is_vendor_group(group))
    return membership(book, group, table, group.auto_update or never_built(book, group, table.rows(group)))


def group_members(book: Book, ledger: Ledger | None, group_name: str, as_of: dt.date) -> list[Record]:
    """Current members of a group of either kind; [] for an unknown group."""
    group = find_group(book, group_name)
    return list(current(book, ledger, group, as_of).members) if group else []


def members_of(book: Book, ledger: Ledger | None, group_name: str, as_of: dt.date) -> list[Customer]:
    """Current members of a customer group (rule matches ∪ Added − Removed); [] otherwise."""
    return [r for r in group_members(book, ledger, group_name, as_of) if isinstance(r, Customer)]


# --- build -------------------------------------------------------------------------------------

def _unknown_group(book: Book, name: str) -> Problem:
    known = ", ".join(g.name for g in book.groups) or "none yet"
    return error(schema.GROUPS.name, "", f'group "{name}" is not on the Groups sheet',
                 f"check the name (groups: {known})")


def build(book: Book, ledger: Ledger | None, as_of: dt.date, names: Iterable[str] | None = None,
          now: dt.datetime | None = None) -> Plan:
    """Rebuild groups: Auto Update ones, never-built ones, and frozen ones named in ``names``.

    With ``names`` only those groups are built. Updates: the group's Rule rows on Group Members
    (ReplaceRows), and Members, Updated (and Description when blank) on Groups.
    """
    with quiet_gc():
        return _build(book, ledger, as_of, names, now)


def _build(book: Book, ledger: Ledger | None, as_of: dt.date, names: Iterable[str] | None,
           now: dt.datetime | None) -> Plan:
    stamp = (now or dt.datetime.now()).replace(tzinfo=None, microsecond=0)
    language = book.settings.language or "en"
    named: set[str] | None = None
    problems: list[Problem] = []
    if names is not None:
        named = set()
        for name in names:
            if find_group(book, name) is None:
                problems.append(_unknown_group(book, name))
            named.add(normalize(name))
    tables: dict[bool, Table] = {}
    updates: list[Update] = []
    lines: list[str] = []
    for group in book.groups:
        key = normalize(group.name)
        if named is not None and key not in named:
            continue
        vendor = is_vendor_group(group)
        if vendor not in tables:
            tables[vendor] = Table(book, ledger, as_of, vendor)
        table = tables[vendor]
        if not (group.auto_update or (named is not None and key in named) or never_built(book, group, table.rows(group))):
            lines.append(f'group "{group.name}": frozen, not rebuilt (name it with --group to rebuild it)')
            continue
        hold = held_group(book, group, "not rebuilt, its members stay as they are")
        if hold is not None:
            problems.append(hold)
            continue
        result = membership(book, group, table, rebuild=True)
        if not result.rebuilt:
            problems.extend(result.problems)
            lines.append(f'group "{group.name}": not rebuilt, its members stay as they are — fix its rules')
            continue
        updates.append(ReplaceRows(
            schema.GROUP_MEMBERS.name, ((M_GROUP, group.name), (M_SOURCE, RULE)),
            tuple(row_of(group, r) for r in result.by_rule)))
        values: list[tuple[str, Any]] = [(G_MEMBERS, len(result.members)), (G_UPDATED, stamp)]
        if not group.description.strip():
            values.append((G_DESCRIPTION, summary_line(table.rules(group), language)))
        updates.append(SetCells(schema.GROUPS.name, G_GROUP, group.name, tuple(values)))
        lines.append(_built_line(result))
    return Plan(updates=tuple(updates), problems=tuple(problems), lines=tuple(lines))


def _built_line(result: Membership) -> str:
    n, by_rule = len(result.members), {r.id for r in result.by_rule}
    ids = {r.id for r in result.members}
    added, removed = len(ids - by_rule), len(by_rule - ids)
    extra = "".join(f", {k} {what}" for k, what in ((added, "added"), (removed, "removed")) if k)
    return f'group "{result.group.name}": {n} member{"" if n == 1 else "s"} ({len(by_rule)} by rule{extra})'


def row_of(group: Group, record: Record) -> tuple[tuple[str, Any], ...]:
    return ((M_GROUP, group.name), (M_ID, record.id), (M_NAME, record.name), (M_SOURCE, RULE))


# --- summary line ------------------------------------------------------------------------------

_SUMMARY_FIELDS = {**_schema_fields(schema.CUSTOMERS), **_computed_fields()}


def summary_line(rules: Iterable[Rule], language: str = "en") -> str:
    """The "Selected fields" line: ``Status is Active · State is CA · Balance between 100.00 and 1,000.00``."""
    return SEPARATOR.join(_describe(rule, language) for rule in rules)


def _describe(rule: Rule, language: str) -> str:
    op = normalize(_shown(rule.operator))
    field = _SUMMARY_FIELDS.get(normalize(_shown(rule.field)))
    label = field.label if field else _shown(rule.field)
    kind = field.kind if field else TEXT
    if op in _EMPTY:
        return f"{label} {op}"
    if op == "between":
        return f"{label} between {_pretty(rule.value, kind, language)} and {_pretty(rule.value2, kind, language)}"
    if "one of" in op and isinstance(rule.value, str):
        joiner = "; " if language == "fr" else ", "
        return f"{label} {op} " + joiner.join(_pretty(v, kind, language) for v in one_of_values(rule.value, kind))
    return f"{label} {op} {_pretty(rule.value, kind, language)}"


def _pretty(v: object, kind: str, language: str) -> str:
    if kind == MONEY:
        n = _number(v, language)
        if n is not None:
            from .render import fmt

            return fmt.number(D(n), language)
    if kind == DATE and _date(v) is not None:
        return _date(v).isoformat()  # type: ignore[union-attr]
    return _shown(v)


# --- email a group, export it ------------------------------------------------------------------

def campaign(as_of: dt.date, subject: str, message: str) -> str:
    """``2026-04-01-1a2b3c4d``: the same texts on the same day are the same campaign."""
    digest = hashlib.sha256(f"{subject}\n\x00\n{message}".encode()).hexdigest()[:8]
    return f"{as_of.isoformat()}-{digest}"


def _select(book: Book, group: Group, members: Sequence[Record], only: Iterable[str] | None
            ) -> tuple[list[Record], list[Problem]]:
    if only is None:
        return list(members), []
    wanted = [o.strip() for o in only if o.strip()]
    by_id = {normalize(r.id): r for r in members}
    problems = [error("", "", f'"{o}" is not a member of group "{group.name}"',
                      f"check the ID (see `receivables groups show WB \"{group.name}\"`)")
                for o in wanted if normalize(o) not in by_id]
    keys = {normalize(o) for o in wanted}
    return [r for r in members if normalize(r.id) in keys], problems


def _email_problem(record: Record) -> Problem:
    where = record.origin
    sheet = where.sheet if where.row else ""
    kind = "vendor" if isinstance(record, Vendor) else "customer"
    return error(sheet, where.cell("Email") if where.row else "",
                 f'{kind} "{record.id}" ({record.name}) has no valid email address; no message was made for them',
                 "type an address in Email, then run the same command again")


def _context(book: Book, record: Record) -> dict[str, Any]:
    from .render import texts

    if isinstance(record, Customer):
        return texts.context(book.settings, record)
    ctx = texts.context(book.settings)
    first = record.name.split()[0] if record.name.split() else ""
    ctx["customer"] = {"name": record.name, "contact": record.name, "first_name": first,
                       "email": ", ".join(record.emails)}
    return ctx


def email_group(book: Book, ledger: Ledger | None, group_name: str, subject: str, message: str,
                as_of: dt.date, *, only: Iterable[str] | None = None,
                visible: frozenset[str] | None = None, sent: Iterable[str] = ()) -> Plan:
    """One separate message per member (never one with every address), keyed per campaign.

    ``only``: a subset of member IDs; ``visible``: the customer IDs the user may see (None: all);
    ``sent``: keys the journal holds as sent (those members are left out: nothing is sent twice).
    A member without an address is a problem; the others are still sent.
    """
    from .render import texts

    group = find_group(book, group_name)
    if group is None:
        return Plan(problems=(_unknown_group(book, group_name),))
    missing = [error("", "", f"{flag} is empty", f"write the {what} to send, e.g. {flag} \"{example}\"")
               for flag, what, text, example in (("--subject", "subject", subject, "Our new address"),
                                                 ("--message", "message", message, "Dear {{ customer.name }}, ..."))
               if not text.strip()]
    if missing:
        return Plan(problems=tuple(missing))
    hold = held_group(book, group, "no message sent", sending=True)
    if hold is not None:
        return Plan(problems=(hold,))
    members = _visible(current(book, ledger, group, as_of).members, visible)
    chosen, problems = _select(book, group, members, only)
    tag = campaign(as_of, subject, message)
    emails: list[Email] = []
    seen: set[str] = set()
    done = set(sent)
    already = 0
    for record in chosen:
        key = email_key(group, tag, record)
        if key in done:
            already += 1
            continue
        causes = book.holds.customer(record.id) if isinstance(record, Customer) else ()
        if causes:
            problems.append(held(record.origin.sheet, record.origin.cell(),
                                 f'group "{group.name}": no message for {record.id}', causes, record.id))
            continue
        if not record.emails:
            problems.append(_email_problem(record))
            continue
        ctx = _context(book, record)
        language = texts.language_of(record if isinstance(record, Customer) else None, book.settings)
        try:
            subj = " ".join(texts.render(subject, ctx).split())
            body = texts.render(message, ctx)
        except texts.TextError as exc:
            flag = "--subject" if _fails(subject, ctx) else "--message"
            p = exc.problem
            if str(p.message) not in seen:
                seen.add(str(p.message))
                problems.append(error("", "", f"{flag}: {p.message}", p.fix))
            continue
        emails.append(Email(
            key=key,
            to=tuple(record.emails),
            subject=subj,
            text=body,
            html=texts.to_html(body),
            log=LogEntry("group email", record.id, f'group "{group.name}"'),
            language=language,
            customer=record.id,
            customer_name=record.name,
        ))
    lines = [f'group "{group.name}": {len(emails)} message(s), one per member']
    if already:
        lines.append(f"{already} member(s) already received this message on {as_of.isoformat()}: not sent again")
    return Plan(emails=tuple(emails), problems=tuple(problems), lines=tuple(lines))


def email_key(group: Group, tag: str, record: Record) -> str:
    """``group:<group>:<campaign>:<customer id>``; see campaign()."""
    return f"{campaign_prefix(group, tag)}{record.id}"


def campaign_prefix(group: Group, tag: str) -> str:
    """The key prefix shared by every message of one campaign, for Journal.sent_keys(prefix)."""
    return f"group:{group.name}:{tag}:"


def _fails(text: str, ctx: dict[str, Any]) -> bool:
    from .render import texts

    try:
        texts.render(text, ctx)
    except texts.TextError:
        return True
    return False


def _visible(members: Iterable[Record], visible: frozenset[str] | None) -> list[Record]:
    """Members the user may see: vendors only when unrestricted, customers in ``visible``."""
    if visible is None:
        return list(members)
    keys = {normalize(v) for v in visible}
    return [r for r in members if isinstance(r, Customer) and normalize(r.id) in keys]


def visible_members(book: Book, ledger: Ledger | None, group: Group, as_of: dt.date,
                    visible: frozenset[str] | None = None) -> list[Record]:
    return _visible(current(book, ledger, group, as_of).members, visible)


EXPORT_HEADERS = tuple(schema.CUSTOMERS.column(h).header for h in (
    "Customer ID", "Name", "Contact", "Email", "Address", "City", "State", "Postal Code", "Country"))


def export_rows(members: Iterable[Record]) -> list[list[object]]:
    """The mailing-list rows (headers first) for addin.render.csvsafe.write_csv."""
    rows: list[list[object]] = [list(EXPORT_HEADERS)]
    for r in members:
        if isinstance(r, Customer):
            rows.append([r.id, r.name, r.contact, "; ".join(r.emails), r.address, r.city, r.state,
                         r.postal_code, r.country])
        else:
            rows.append([r.id, r.name, "", "; ".join(r.emails), "", r.city, r.state, "", r.country])
    return rows


# --- delete ------------------------------------------------------------------------------------

def delete_guards(book: Book, group: Group) -> list[Problem]:
    """Every row that still uses the group (Reminders, Statement Schedules, Users)."""
    key = normalize(group.name)
    fix = "clear that cell first"
    uses = [*((r.origin, r.group) for r in book.reminders),
            *((s.origin, s.group) for s in book.schedules),
            *((u.origin, u.group) for u in book.users)]
    return [error(origin.sheet, origin.cell("Group"), f'uses group "{group.name}"', fix)
            for origin, name in uses if name and normalize(name) == key]


def delete_group(book: Book, group_name: str, access: Access) -> Plan:
    """Delete a group's rows from Groups, Group Rules and Group Members — unless refused.

    Refused, with every reason, while Reminders, Statement Schedules or Users use the group, or
    when the current user is not an Admin.
    """
    group = find_group(book, group_name)
    if group is None:
        return Plan(problems=(_unknown_group(book, group_name),))
    problems: list[Problem] = []
    if not access.is_admin:
        problems.append(access.not_admin("delete a group"))
    problems.extend(delete_guards(book, group))
    if problems:
        return Plan(problems=tuple(problems), lines=(f'group "{group.name}" was not deleted',))
    updates = tuple(ReplaceRows(sheet.name, ((column, group.name),)) for sheet, column in (
        (schema.GROUPS, G_GROUP), (schema.GROUP_RULES, R_GROUP), (schema.GROUP_MEMBERS, M_GROUP)))
    return Plan(updates=updates, logs=(LogEntry("group deleted", group.name, f"by {access.user}"),),
                lines=(f'group "{group.name}" deleted with its rules and members',))


# --- check -------------------------------------------------------------------------------------

def check(book: Book) -> list[Problem]:
    """Problems the reader cannot see: bad rules, rows naming a group or customer that is not there."""
    problems: list[Problem] = []
    names = {normalize(g.name) for g in book.groups}
    fields = {v: fields_for(book.vendors if v else book.customers, v) for v in (False, True)}
    for group in book.groups:
        problems.extend(check_rules(book, group, fields[is_vendor_group(group)])[1])
    for rule in book.rules:
        if normalize(rule.group) not in names:
            problems.append(warning(rule.origin.sheet, rule.origin.cell("Group"),
                                    f'group "{rule.group}" is not on the Groups sheet; this rule is not used',
                                    "add the group to Groups or correct the name"))
    ids = {False: {normalize(c.id) for c in book.customers}, True: {normalize(v.id) for v in book.vendors}}
    kinds = {normalize(g.name): is_vendor_group(g) for g in book.groups}
    for m in book.members:
        key = normalize(m.group)
        if key not in names:
            problems.append(warning(m.origin.sheet, m.origin.cell("Group"),
                                    f'group "{m.group}" is not on the Groups sheet; this row is not used',
                                    "add the group to Groups or correct the name"))
        elif normalize(m.source) != normalize(RULE) and normalize(m.customer_id) not in ids[kinds[key]]:
            sheet = (schema.VENDORS if kinds[key] else schema.CUSTOMERS).name
            problems.append(warning(m.origin.sheet, m.origin.cell("Customer ID"),
                                    f'"{m.customer_id}" is not on the {sheet} sheet; this row is not used',
                                    "correct the ID or delete the row"))
    for user in book.users:
        if user.group and normalize(user.group) not in names:
            problems.append(error(user.origin.sheet, user.origin.cell("Group"),
                                  f'group "{user.group}" is not on the Groups sheet; user "{user.user}" sees no customers',
                                  "choose a group from the Groups sheet"))
    return problems
