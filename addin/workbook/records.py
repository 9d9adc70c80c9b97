"""Records from the Tables: each sheet's rows made into the model's records, through their
constructors, with the checks that decide which rows become records.

Owns what the rows of a sheet mean together: a repeated ID or number (the first row stands), a
customer ID or invoice number that names nothing (the row is not used), a payment applied to
another customer's invoice, a schedule naming both or neither of a customer and a group, and
the typed value of each setting. Identifiers are made canonical here: an invoice's customer ID
is spelled as on Customers, a payment's invoice number as on Invoices. A payment applied to an
invoice row that was dropped is left out: without a second message when the row is its own
customer's (its error holds that customer), with an error holding the payment's customer when
it is not, or cannot be told. The checks that need only
the records are ``validation.VALIDATIONS``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import difflib
import operator
import re
from collections.abc import Sequence
from itertools import compress, repeat
from typing import Any, NamedTuple

from ..model import (
    Customer,
    Group,
    Invoice,
    Member,
    Origin,
    Payment,
    ReminderStep,
    Rule,
    Schedule,
    Settings,
    User,
    Vendor,
)
from ..problems import Severity
from . import schema
from .cells import CellIssue, as_text, error_value, excel_error, is_blank, make, one, shown
from .table import CUSTOMER_ID, ROW, Found, Table, Tables, Values


class _Payments(NamedTuple):
    """Payments read before the invoices: records with invoice numbers as typed (``numbers``),
    aligned with ``rows`` (the sheet rows read, before any is left out)."""

    table: Table
    records: list[Payment]
    mask: list[bool]
    numbers: list[str]
    rows: list[int]


_NO_INVOICE = object()  # the owner of an invoice not found: equal to no customer ID, not even None


class Accounts:
    """Customers, Invoices and Payments, made together: each names the others.

    Customers first; payments are made while Invoices is still parsed and tied to their
    invoices (``link``) once those are made. ``as_read``: the add-in columns as the file holds
    them (Book.as_read).
    """

    def __init__(self, tables: Tables) -> None:
        self.tables = tables
        self.found: Found = tables.found
        # an invoice row not used: its number's key -> (its customer's key, its row)
        self.dropped_invoices: dict[str, tuple[str, int]] = {}
        self.as_read: dict[str, dict[str, list[Any]]] = {}

    def table(self, spec: schema.Sheet) -> Table | None:
        """The sheet read as a Table (``Tables.table``)."""
        return self.tables.table(spec)

    def customers(self) -> dict[str, Customer]:
        """Customers by normalized ID; a repeated ID is an error (the first row stands)."""
        table = self.table(schema.CUSTOMERS)
        if table is None or not table.rows:
            return {}
        spec = schema.CUSTOMERS
        email_keys = {c.key for c in spec.columns if c.kind is schema.Kind.EMAILS}
        rename = {CUSTOMER_ID: "id", spec.column("Email").key: "emails",
                  spec.column("Statement Email").key: "statement_emails"}
        attrs = _attributes(Customer, spec, rename)
        ids = table.columns[CUSTOMER_ID]
        keys = list(map(schema.normalize, ids))
        mask = [True] * len(keys)
        if len(set(keys)) != len(keys):
            first: dict[str, int] = {}
            for i, key in enumerate(keys):
                if key in first:
                    self.found.at(table, table.rows[i], CUSTOMER_ID, Severity.ERROR,
                                  f'customer ID "{ids[i]}" is already used on row {table.rows[first[key]]}',
                                  "give each customer its own ID; this row is not used", ids[i])
                    mask[i] = False
                else:
                    first[key] = i
        table.keep(mask)
        # Every column, addresses joined as typed, for group rules.
        names = list(table.columns)
        texts = [list(map("; ".join, v)) if k in email_keys else v for k, v in table.columns.items()]
        fields = list(map(dict, map(zip, repeat(names), zip(*texts, strict=True))))
        present = [k for k in table.columns if k in attrs]
        named = [attrs[k] for k in present]
        absent = {attrs[k]: v for k, v in table.blanks.items() if k in attrs}
        rows = zip(*(table.columns[k] for k in present), strict=True)
        records = [Customer(**absent, **dict(zip(named, row, strict=True)), fields=row_fields, origin=origin)
                   for row, row_fields, origin in zip(rows, fields, table.origins(), strict=True)]
        self.as_read[spec.key] = table.as_read
        return dict(zip(compress(keys, mask), records, strict=True))

    def _canonical_customers(self, table: Table, customers: dict[str, Customer],
                             ids: Sequence[str], mask: list[bool], dropped: list[int]) -> list[str]:
        """Each row's customer ID spelled as on Customers; an unknown one is an error and drops the row."""
        exact = {c.id: c.id for c in customers.values()}
        canonical = list(map(exact.get, ids))
        if None in canonical:
            for i, cid in enumerate(ids):
                if canonical[i] is not None or not mask[i]:
                    continue
                customer = customers.get(schema.normalize(cid))
                if customer is not None:
                    canonical[i] = customer.id
                    continue
                self.found.at(table, table.rows[i], CUSTOMER_ID, Severity.ERROR,
                              f'customer ID "{cid}" is not on the {schema.CUSTOMERS.name} sheet',
                              "add the customer or correct the ID; this row is not used", cid)
                mask[i] = False
                dropped.append(i)
        return canonical  # type: ignore[return-value]

    def invoices(self, customers: dict[str, Customer]) -> dict[str, Invoice]:
        """Invoices by normalized number; a repeated number is an error (the first row stands)."""
        table = self.table(schema.INVOICES)
        if table is None:
            return {}
        numbers = table.column("Invoice No")
        keys = schema.normalize_all(numbers)
        k_no = table.spec.column("Invoice No").key
        dropped = [v for v in table.dropped if v.get(k_no)]
        dropped_keys = schema.normalize_all([v[k_no] for v in dropped])
        owners = schema.normalize_all([v.get(CUSTOMER_ID) or "" for v in dropped])
        self.dropped_invoices = {}
        # A row dropped for an error still owns its number: a later row repeating it is an error too.
        earlier: dict[str, tuple[int, str]] = {}
        for v, key, owner in zip(dropped, dropped_keys, owners, strict=True):
            earlier.setdefault(key, (v[ROW], v[k_no]))
            self.dropped_invoices.setdefault(key, (owner, v[ROW]))
        ids = table.column("Customer ID")
        mask = [True] * len(keys)
        if len(set(keys)) != len(keys) or not self.dropped_invoices.keys().isdisjoint(keys):
            first: dict[str, tuple[int, str]] = {}
            for i, key in enumerate(keys):
                row = table.rows[i]
                seen = first.get(key)
                if key in earlier and earlier[key][0] < row and (seen is None or earlier[key][0] < seen[0]):
                    seen = earlier[key]
                if seen is not None:
                    self.found.at(table, row, k_no, Severity.ERROR,
                                  f'invoice number "{numbers[i]}" repeats row {seen[0]} ("{seen[1]}")',
                                  "give each invoice its own number; this row is not used", ids[i] or None)
                    mask[i] = False
                else:
                    first[key] = (row, numbers[i])
        unknown: list[int] = []
        canonical = self._canonical_customers(table, customers, ids, mask, unknown)
        self.dropped_invoices.update((keys[i], (schema.normalize(ids[i]), table.rows[i])) for i in unknown)
        table.columns[CUSTOMER_ID] = canonical
        table.columns["__key"] = keys
        table.keep(mask)
        records = list(map(
            Invoice, table.column("Invoice No"), table.column("Customer ID"), table.column("Invoice Date"),
            table.column("Due Date"), table.column("Amount"), table.column("Email"), table.column("Memo"),
            table.column("Status"), table.column("Last Reminder"), table.origins(), table.columns["__key"],
            table.column("Hold Until"), table.column("Hold Reason")))
        self.as_read[table.spec.key] = table.as_read
        return dict(zip(table.columns["__key"], records, strict=True))

    def payments(self, customers: dict[str, Customer]) -> _Payments | None:
        """Payment records, made while Invoices is still being parsed; ``link`` ties them to invoices."""
        table = self.table(schema.PAYMENTS)
        if table is None:
            return None
        mask = [True] * len(table.rows)
        canonical = self._canonical_customers(table, customers, table.column("Customer ID"), mask, [])
        table.columns[CUSTOMER_ID] = canonical
        numbers = list(table.column("Invoice No", ""))
        records = list(map(
            Payment, table.column("Payment ID"), canonical, table.column("Date"), table.column("Amount"),
            table.column("Type", schema.PAYMENTS.column("Type").default), numbers, table.column("Reference", ""),
            table.origins()))
        return _Payments(table, records, mask, numbers, list(table.rows))

    def link(self, pending: _Payments | None, invoices: dict[str, Invoice]) -> tuple[Payment, ...]:
        """The payments with their invoice numbers as on Invoices; unknown or foreign invoices reported."""
        if pending is None:
            return ()
        table, records, mask, numbers, _ = pending
        canonical = table.columns[CUSTOMER_ID]
        k_inv = table.spec.column("Invoice No").key
        keys = schema.normalize_all(numbers)
        applied = list(map(invoices.get, keys))
        # Rows naming an invoice that is found and is the same customer's need no look; the others do.
        owners = map(getattr, applied, repeat("customer_id"), repeat(_NO_INVOICE))
        suspects = [i for i, same in enumerate(map(operator.eq, owners, canonical)) if not same and numbers[i]]
        for i in suspects:
            number = numbers[i]
            if not mask[i]:
                continue
            invoice = applied[i]
            if invoice is None:
                if schema.INVOICES.key in self.tables.unreadable:
                    continue  # every number would be unknown: the sheet's own error says it (addin.holds)
                dropped = self.dropped_invoices.get(keys[i])
                if dropped is not None:  # the invoice row has an error: this payment waits for it
                    mask[i] = False
                    owner, at = dropped
                    if owner != schema.normalize(canonical[i]):  # its error holds another customer (or none)
                        self.found.at(table, table.rows[i], k_inv, Severity.ERROR,
                                      f'invoice "{number}" is on row {at} of the {schema.INVOICES.name} sheet, '
                                      "which has an error", "correct that row; until then this payment is not used",
                                      canonical[i])
                    continue
                self.found.at(table, table.rows[i], k_inv, Severity.ERROR,
                              f'invoice number "{number}" is not on the {schema.INVOICES.name} sheet',
                              "correct the number, or leave it blank for an unapplied payment", canonical[i])
            elif invoice.customer_id != canonical[i]:
                self.found.at(table, table.rows[i], k_inv, Severity.ERROR,
                              f'invoice "{invoice.number}" belongs to customer "{invoice.customer_id}", not "{canonical[i]}"',
                              "correct the invoice number or the customer ID", canonical[i],
                              also_holds=(invoice.customer_id,))
                applied[i] = None
        linked = list(map(getattr, applied, repeat("number"), repeat("")))
        for i in compress(range(len(linked)), map(operator.ne, linked, numbers)):
            records[i] = records[i]._replace(invoice_no=linked[i])  # spelled as on Invoices
        table.columns[k_inv] = linked
        table.keep(mask)
        kept = tuple(compress(records, mask))
        return kept

    def attribute_payments(self, pending: _Payments | None, invoices: dict[str, Invoice],
                           customers: dict[str, Customer]) -> None:
        """A Payments error whose customer cannot be told (blank, unknown or error Customer ID)
        belongs to the customer of the invoice the row names, when it names one (addin.holds:
        that customer's reminders and statements wait; a row naming none holds everyone's)."""
        if pending is None:
            return
        table = pending.table
        named = dict(zip(pending.rows, pending.numbers, strict=True))
        k_inv = table.spec.column("Invoice No").key
        named.update((v[ROW], v.get(k_inv) or "") for v in table.dropped)
        problems = self.found.problems
        for n, problem in enumerate(problems):
            row = problem.position[0]
            if problem.sheet != table.name or not problem.is_error or row < 2:
                continue
            if problem.customer_id and schema.normalize(problem.customer_id) in customers:
                continue
            invoice = invoices.get(schema.normalize(named.get(row) or ""))
            if invoice is not None:
                problems[n] = dataclasses.replace(problem, customer_id=invoice.customer_id)


def settings(tables: Tables) -> Settings:
    """The Settings sheet's values (a value that cannot be read is told, and its default used)."""
    table = tables.table(schema.SETTINGS_SHEET)
    if table is None:
        return Settings()
    key_col = schema.SETTINGS_SHEET.column("Key").key
    value_col = schema.SETTINGS_SHEET.column("Value").key
    model = {f.name for f in dataclasses.fields(Settings)}
    values: dict[str, Any] = {}
    cells: dict[str, str] = {}
    value_letter = table.letters.get(value_col, "B")
    for row, v in table.records():
        typed = v.get(key_col, "")
        if not typed:
            continue
        setting = schema.SETTINGS_BY_KEY.get(schema.normalize(typed))
        if setting is None:
            close = difflib.get_close_matches(schema.normalize(typed), list(schema.SETTINGS_BY_KEY), n=1)
            hint = f'did you mean "{close[0]}"?' if close else "see the template for the known settings"
            tables.found.at(table, row, key_col, Severity.WARNING, f'unknown setting "{typed}" is ignored', hint)
            continue
        if setting.key in cells:
            tables.found.at(table, row, key_col, Severity.WARNING, f'setting "{setting.key}" appears twice',
                            f"only the first (cell {cells[setting.key]}) is used; delete this row")
            continue
        cells[setting.key] = f"{value_letter}{row}"
        try:
            value = _setting_value(setting, v.get(value_col))
        except CellIssue as issue:
            tables.found.at(table, row, value_col, issue.severity, issue.message, issue.fix)
            value = issue.value
        if value is not None and setting.key in model:
            values[setting.key] = value
    return Settings(**values, cells=cells)


def _unique(tables: Tables, table: Table, key: str, what: str, cls: type, attrs: dict[str, str]) -> list[Any]:
    """Records of ``cls``, one per distinct value under ``key`` (a later repeat is an error)."""
    seen: dict[str, int] = {}
    out = []
    for row, v in table.records():
        ident = v[key]
        norm = schema.normalize(str(ident))
        if norm in seen:
            tables.found.at(table, row, key, Severity.ERROR, f'{what} "{shown(ident)}" is already on row {seen[norm]}',
                            f"give each {what} its own row; this row is not used")
            continue
        seen[norm] = row
        out.append(_record(table, row, v, cls, attrs))
    return out


def groups(tables: Tables) -> tuple[Group, ...]:
    """Groups rows; a repeated name is an error (the first row stands)."""
    table = tables.table(schema.GROUPS)
    if table is None:
        return ()
    key = schema.GROUPS.column("Group").key
    return tuple(_unique(tables, table, key, "group", Group, _attributes(Group, schema.GROUPS, {key: "name"})))


def rules(tables: Tables) -> tuple[Rule, ...]:
    """Group Rules rows, as typed (groups.compile_rule checks them)."""
    table = tables.table(schema.GROUP_RULES)
    if table is None:
        return ()
    attrs = _attributes(Rule, schema.GROUP_RULES, {schema.GROUP_RULES.column("Value 2").key: "value2"})
    return tuple(_record(table, row, v, Rule, attrs) for row, v in table.records())


def members(tables: Tables, customers: dict[str, Customer]) -> tuple[Member, ...]:
    """Group Members rows, their customer ID spelled as on Customers when it is there."""
    table = tables.table(schema.GROUP_MEMBERS)
    if table is None:
        return ()
    attrs = _attributes(Member, schema.GROUP_MEMBERS, {})
    out = []
    for row, v in table.records():
        customer = customers.get(schema.normalize(v[CUSTOMER_ID]))
        extra = {"customer_id": customer.id} if customer else {}
        out.append(_record(table, row, v, Member, attrs, **extra))
    return tuple(out)


def reminders(tables: Tables) -> tuple[ReminderStep, ...]:
    """Reminders rows; a repeated step is an error (the first row stands)."""
    table = tables.table(schema.REMINDERS)
    if table is None:
        return ()
    key = schema.REMINDERS.column("Reminder").key
    attrs = _attributes(ReminderStep, schema.REMINDERS, {key: "number"})
    return tuple(_unique(tables, table, key, "reminder", ReminderStep, attrs))


def schedules(tables: Tables, customers: dict[str, Customer], settings: Settings) -> tuple[Schedule, ...]:
    """Statement Schedules rows naming exactly one of a customer and a group."""
    table = tables.table(schema.STATEMENT_SCHEDULES)
    if table is None:
        return ()
    spec = schema.STATEMENT_SCHEDULES
    k_group, k_type = spec.column("Group").key, spec.column("Type").key
    attrs = _attributes(Schedule, spec, {})
    out = []
    for row, v in table.records():
        cid, group = v.get(CUSTOMER_ID, ""), v.get(k_group, "")
        if cid and group:
            tables.found.at(table, row, CUSTOMER_ID, Severity.ERROR,
                            f'both customer ID "{cid}" and group "{group}" are filled in',
                            "keep one of the two (one row per customer or per group); this row is not used")
            continue
        if not cid and not group:
            tables.found.at(table, row, CUSTOMER_ID, Severity.ERROR, "neither customer ID nor group is filled in",
                            "fill in one of the two; this row is not used")
            continue
        extra: dict[str, Any] = {"type": v.get(k_type) or settings.statement_type}
        if cid:
            customer = customers.get(schema.normalize(cid))
            if customer is None:
                tables.found.at(table, row, CUSTOMER_ID, Severity.ERROR,
                                f'customer ID "{cid}" is not on the {schema.CUSTOMERS.name} sheet',
                                "add the customer or correct the ID; this row is not used")
                continue
            extra["customer_id"] = customer.id
        out.append(_record(table, row, v, Schedule, attrs, **extra))
    return tuple(out)


def users(tables: Tables) -> tuple[User, ...]:
    """Users rows (a Limited user needs a group: validation)."""
    table = tables.table(schema.USERS)
    if table is None:
        return ()
    attrs = _attributes(User, schema.USERS, {})
    return tuple(_record(table, row, v, User, attrs) for row, v in table.records())


def vendors(tables: Tables) -> tuple[Vendor, ...]:
    """Vendors rows; a repeated ID is an error (the first row stands)."""
    table = tables.table(schema.VENDORS)
    if table is None:
        return ()
    spec = schema.VENDORS
    key = spec.column("Vendor ID").key
    attrs = _attributes(Vendor, spec, {key: "id", spec.column("Email").key: "emails"})
    email_keys = [c.key for c in spec.columns if c.kind is schema.Kind.EMAILS]
    seen: dict[str, int] = {}
    out = []
    for row, v in table.records():
        norm = schema.normalize(v[key])
        if norm in seen:
            tables.found.at(table, row, key, Severity.ERROR, f'vendor ID "{v[key]}" is already used on row {seen[norm]}',
                            "give each vendor its own ID; this row is not used")
            continue
        seen[norm] = row
        fields = {k: val for k, val in v.items() if k not in table.blanks}
        for k in email_keys:
            if k in fields:
                fields[k] = "; ".join(fields[k])
        out.append(_record(table, row, v, Vendor, attrs, fields=fields))
    return tuple(out)


def _record(table: Table, row: int, v: Values, cls: type, attrs: dict[str, str], **extra: Any) -> Any:
    kwargs = {attrs[k]: val for k, val in v.items() if k in attrs}
    kwargs.update(extra)
    return cls(**kwargs, origin=Origin(table.name, row, table.letters))



def _attributes(cls: type, spec: schema.Sheet, rename: dict[str, str]) -> dict[str, str]:
    """Header key -> record attribute: ``postal code`` -> ``postal_code`` unless renamed."""
    names = {f.name for f in dataclasses.fields(cls)}
    out = {}
    for column in spec.columns:
        attr = rename.get(column.key, column.key.replace(" ", "_"))
        if attr in names:
            out[column.key] = attr
    return out



# --- settings -------------------------------------------------------------------------------

_TIME = re.compile(r"(\d{1,2})[:h](\d{2})(?::(\d{2}))?")
_COLOR = re.compile(r"#[0-9A-Fa-f]{6}")
_INT_RANGES = {"smtp_port": (1, 65535), "smtp_max_per_minute": (0, None), "catch_up_days": (0, 90),
               "backups_keep": (0, None)}


def _setting_value(setting: schema.Setting, value: Any) -> Any:
    """The typed value of one Settings row (None: blank, use the default); raises CellIssue."""
    if is_blank(value):
        return setting.blank
    code = error_value(value)
    if code:
        raise excel_error(setting.key, code)
    key = setting.key
    if key == "reminder_check_times":
        return _check_times(value)
    if setting.kind is schema.Kind.EMAILS:
        found = one(make(schema.Kind.EMAILS, key), value)
        if len(found) > 1:  # type: ignore[arg-type]
            raise CellIssue(Severity.ERROR, f'{key} "{as_text(value)}" holds several addresses', "keep one address")
        return found[0]  # type: ignore[index]
    if setting.kind is schema.Kind.INT:
        low, high = _INT_RANGES.get(key, (0, None))
        return one(make(schema.Kind.INT, key, minimum=low, maximum=high), value)
    if setting.kind in (schema.Kind.BOOL, schema.Kind.CHOICE):
        return one(make(setting.kind, key, choices=setting.choices, default=setting.default), value)
    text = as_text(value)
    if key == "timezone":
        _check_zone(text)
    elif key == "brand_color" and not _COLOR.fullmatch(text):
        raise CellIssue(Severity.ERROR, f'brand_color "{text}" is not a colour', "type it as #RRGGBB, e.g. #1F6FB2")
    elif key == "currency":
        if not re.fullmatch(r"[A-Za-z]{3}", text):
            raise CellIssue(Severity.ERROR, f'currency "{text}" is not an ISO currency code',
                            "type a code such as USD, CAD or EUR")
        return text.upper()
    return text


def _check_times(value: Any) -> tuple[dt.time, ...] | None:
    if isinstance(value, dt.datetime):
        return (value.time(),)
    if isinstance(value, dt.time):
        return (value,)
    text = as_text(value)
    times = []
    for part in re.split(r"[;,]", text):
        part = part.strip()
        if not part:
            continue
        m = _TIME.fullmatch(part)
        if not m or int(m.group(1)) > 23 or int(m.group(2)) > 59 or int(m.group(3) or 0) > 59:
            raise CellIssue(Severity.ERROR, f'reminder_check_times "{text}" is not a list of times',
                            "type times as HH:MM separated by commas, e.g. 08:00, 12:00, 16:00")
        times.append(dt.time(int(m.group(1)), int(m.group(2)), int(m.group(3) or 0)))
    return tuple(sorted(set(times))) or None


def _check_zone(name: str) -> None:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise CellIssue(Severity.ERROR, f'timezone "{name}" is not a known time zone',
                        "type an IANA name such as America/Toronto or Europe/Paris") from None

