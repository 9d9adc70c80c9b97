"""The benchmark workbook: 5,000 customers, 100,000 invoices, 60,000 payments.

``bench_workbook()`` generates it once (deterministically, with xlsxwriter) and caches it under
``bench/.cache/``, in two forms: texts in shared strings, as Excel and xlsxwriter save them by
default (``shared_strings=True``), or inline in each cell (xlsxwriter's constant-memory mode). Payments include full, partial and split
payments, credit notes, unapplied credits and a few over-applications, so the reader and
the ledger see what real books hold. Run ``python bench/data.py`` to (re)build it.
"""

from __future__ import annotations

import datetime as dt
import os
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent
if str(ROOT.parent) not in sys.path:
    sys.path.insert(0, str(ROOT.parent))

from addin.workbook import schema  # noqa: E402

VERSION = 1
CUSTOMERS = 5_000
INVOICES = 100_000
PAYMENTS = 60_000
GROUPS = 50
SEED = 20260315
CACHE = ROOT / ".cache"

STATES = ("CA", "NY", "TX", "WA", "FL", "IL", "ON", "QC", "BC", "AB")
CITIES = ("Springfield", "Riverside", "Franklin", "Greenville", "Madison", "Toronto", "Montréal")
TYPES = ("Retail", "Wholesale", "Services", "Government", "Non-profit")
FIRST = ("Alice", "Bruno", "Chloé", "David", "Emma", "Farid", "Grace", "Hugo", "Inès", "Jack")
LAST = ("Martin", "Smith", "Tremblay", "Nguyen", "Garcia", "Roy", "Brown", "Gagnon", "Lee", "Wilson")


def bench_workbook(shared_strings: bool = False) -> Path:
    """The cached benchmark workbook, generated on first use (texts shared or inline)."""
    path = CACHE / f"bench-v{VERSION}{'-shared' if shared_strings else ''}.xlsx"
    if not path.exists():
        CACHE.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(suffix=".xlsx", dir=CACHE)
        os.close(fd)
        try:
            generate(Path(tmp), shared_strings)
            os.chmod(tmp, 0o644)
            os.replace(tmp, path)
        finally:
            if os.path.exists(tmp):
                os.remove(tmp)
    return path


def headers(sheet: schema.Sheet) -> list[str]:
    return [c.header for c in sheet.columns]


def generate(path: Path, shared_strings: bool = False) -> None:
    """Write the whole benchmark workbook to ``path`` (the same cells either way)."""
    import xlsxwriter

    rnd = random.Random(SEED)
    wb = xlsxwriter.Workbook(str(path), {"constant_memory": not shared_strings})
    fmt = {
        "date": wb.add_format({"num_format": "yyyy-mm-dd"}),
        "datetime": wb.add_format({"num_format": "yyyy-mm-dd hh:mm"}),
        "money": wb.add_format({"num_format": "#,##0.00"}),
        "head": wb.add_format({"bold": True}),
    }

    def sheet_writer(sheet: schema.Sheet):
        ws = wb.add_worksheet(sheet.name)
        ws.write_row(0, 0, headers(sheet), fmt["head"])
        kinds = [c.kind for c in sheet.columns]

        def write(r: int, values: list[object]) -> None:
            for c, v in enumerate(values):
                if v is None or v == "":
                    continue
                kind = kinds[c]
                if isinstance(v, dt.datetime):
                    ws.write_datetime(r, c, v, fmt["datetime"])
                elif isinstance(v, dt.date):
                    ws.write_datetime(r, c, dt.datetime(v.year, v.month, v.day), fmt["date"])
                elif isinstance(v, bool):
                    ws.write_boolean(r, c, v)
                elif isinstance(v, (int, float)):
                    ws.write_number(r, c, v, fmt["money"] if kind is schema.Kind.MONEY else None)
                else:
                    ws.write_string(r, c, str(v))

        return write

    _settings(sheet_writer(schema.SETTINGS_SHEET))
    customers = _customers(sheet_writer(schema.CUSTOMERS), rnd)
    invoices = _invoices(sheet_writer(schema.INVOICES), rnd, customers)
    _payments(sheet_writer(schema.PAYMENTS), rnd, invoices, customers)
    _groups(sheet_writer(schema.GROUPS), sheet_writer(schema.GROUP_RULES),
            sheet_writer(schema.GROUP_MEMBERS), rnd, customers)
    _reminders(sheet_writer(schema.REMINDERS))
    _schedules(sheet_writer(schema.STATEMENT_SCHEDULES))
    _users(sheet_writer(schema.USERS))
    _vendors(sheet_writer(schema.VENDORS), rnd)
    sheet_writer(schema.LOG)(1, [dt.datetime(2026, 3, 1, 8, 0), "reminder 1", "INV-000001",
                                 "c00001@example.com", "sent", "<1@bench>", ""])
    wb.close()


def _row(sheet: schema.Sheet, **values: object) -> list[object]:
    """Values by header (``_`` for a space) in the sheet's column order."""
    by_key = {schema.normalize(k.replace("_", " ")): v for k, v in values.items()}
    unknown = set(by_key) - set(sheet.by_key)
    assert not unknown, unknown
    return [by_key.get(c.key) for c in sheet.columns]


def _settings(write) -> None:
    values = {
        "company_name": "Bench Supplies Inc.", "company_email": "billing@bench.example.com",
        "company_phone": "+1 416 555 0100", "company_address": "1 Bench Street\nToronto ON",
        "language": "en", "currency": "USD", "timezone": "America/Toronto",
        "reminders_enabled": True, "catch_up_days": 7, "statement_type": "Outstanding",
    }
    for r, (key, value) in enumerate(values.items(), start=1):
        setting = schema.SETTINGS_BY_KEY[key]
        write(r, [key, value, setting.description])


def _customers(write, rnd: random.Random) -> list[str]:
    ids = []
    for n in range(1, CUSTOMERS + 1):
        cid = f"C-{n:05d}"
        ids.append(cid)
        first, last = rnd.choice(FIRST), rnd.choice(LAST)
        email = f"ap{n:05d}@customer{n % 700}.example.com"
        if rnd.random() < 0.1:
            email += f"; {first.lower()}.{last.lower()}@customer{n % 700}.example.com"
        write(n, _row(
            schema.CUSTOMERS,
            Customer_ID=cid, Name=f"{last} {rnd.choice(TYPES)} {n}", Status="Active" if rnd.random() < 0.9 else "Inactive",
            Email=email, Type=rnd.choice(TYPES), Contact=f"{first} {last}", Phone=f"+1 555 {n:07d}",
            Address=f"{n} Main Street", City=rnd.choice(CITIES), State=rnd.choice(STATES),
            Postal_Code=f"{10000 + n}", Country="US" if rnd.random() < 0.7 else "CA",
            Statement_Email=f"statements{n}@customer{n % 700}.example.com" if rnd.random() < 0.1 else None,
            No_Reminders=True if rnd.random() < 0.05 else None,
            Language="fr" if rnd.random() < 0.2 else None,
            Notes="Key account" if rnd.random() < 0.05 else None,
        ))
    return ids


COMMON_AMOUNTS = [round(50 + 25 * k + (k % 4) * 0.25, 2) for k in range(400)]


def _amount(rnd: random.Random) -> float:
    if rnd.random() < 0.5:
        return rnd.choice(COMMON_AMOUNTS)
    return rnd.randrange(5_000, 2_000_000) / 100


def _invoices(write, rnd: random.Random, customers: list[str]) -> list[tuple[str, str, dt.date, float]]:
    start = dt.date(2024, 1, 1)
    invoices = []
    for n in range(1, INVOICES + 1):
        number = f"INV-{n:06d}"
        cid = rnd.choice(customers)
        date = start + dt.timedelta(days=(n * 820) // INVOICES)  # dates rise with numbers
        due = date + dt.timedelta(days=rnd.choice((15, 30, 30, 30, 45, 60)))
        amount = _amount(rnd)
        invoices.append((number, cid, date, amount))
        reminded = rnd.random() < 0.1
        write(n, _row(
            schema.INVOICES,
            Invoice_No=number, Customer_ID=cid, Invoice_Date=date, Due_Date=due, Amount=amount,
            Email=f"orders{n}@buyer.example.com" if rnd.random() < 0.05 else None,
            Memo=f"PO {rnd.randrange(10_000, 99_999)}" if rnd.random() < 0.3 else None,
            Status=f"Reminder 1 sent {due + dt.timedelta(days=7)}" if reminded else None,
            Last_Reminder=due + dt.timedelta(days=7) if reminded else None,
        ))
    return invoices


def _payments(write, rnd: random.Random, invoices, customers: list[str]) -> None:
    r = 0
    pid = 0

    def pay(cid: str, date: dt.date, amount: float, invoice_no: str = "", kind: str | None = None) -> None:
        nonlocal r
        r += 1
        write(r, _row(schema.PAYMENTS, Payment_ID=f"PAY-{pid:06d}", Customer_ID=cid, Date=date,
                      Amount=amount, Type=kind, Invoice_No=invoice_no or None,
                      Reference=f"CHQ {rnd.randrange(1000, 9999)}" if rnd.random() < 0.5 else None))

    i = 0
    while r < PAYMENTS:
        number, cid, date, amount = invoices[i]
        i += 1
        roll = rnd.random()
        pid += 1
        paid_on = date + dt.timedelta(days=rnd.randrange(5, 60))
        if roll < 0.70:  # paid in full
            pay(cid, paid_on, amount, number)
        elif roll < 0.80:  # partial
            pay(cid, paid_on, round(amount * 0.4, 2), number)
        elif roll < 0.86 and i < len(invoices):  # one payment split across two invoices
            other = invoices[i]
            pay(cid, paid_on, amount, number)
            if other[1] == cid:
                pay(cid, paid_on, other[3], other[0])
                i += 1
        elif roll < 0.92:  # credit note applied
            pay(cid, paid_on, round(amount * 0.1, 2), number, "Credit Note")
        elif roll < 0.97:  # unapplied credit (prepayment)
            pay(rnd.choice(customers), paid_on, _amount(rnd))
        elif roll < 0.99:
            pass  # unpaid
        else:  # over-application
            pay(cid, paid_on, round(amount + 10, 2), number)


def _groups(write_groups, write_rules, write_members, rnd: random.Random, customers: list[str]) -> None:
    rules_row = 0
    members_row = 0
    for g in range(1, GROUPS + 1):
        name = f"Group {g:02d}"
        write_groups(g, _row(schema.GROUPS, Group=name, Description=f"Bench group {g}",
                             Auto_Update=g % 5 != 0))
        state = STATES[g % len(STATES)]
        rules = [("Status", "is", "Active", None), ("State", "is", state, None)]
        if g % 3 == 0:
            rules.append(("Balance", "between", 100, 10_000))
        elif g % 3 == 1:
            rules.append(("Days Overdue", "greater than", 30, None))
        else:
            rules.append(("Type", "is one of", "Retail; Wholesale", None))
        for field, op, v1, v2 in rules:
            rules_row += 1
            write_rules(rules_row, _row(schema.GROUP_RULES, Group=name, Field=field, Operator=op,
                                        Value=v1, Value_2=v2))
        for source in ("Added", "Removed"):
            members_row += 1
            write_members(members_row, _row(schema.GROUP_MEMBERS, Group=name,
                                            Customer_ID=rnd.choice(customers), Source=source))


def _reminders(write) -> None:
    for step, days, when in ((1, 3, "Before"), (2, 7, "After"), (3, 30, "After")):
        write(step, _row(schema.REMINDERS, Reminder=step, Enabled=True, Days=days, When=when,
                         Subject=f"Reminder {step}: invoice {{{{ invoice.number }}}}"))


def _schedules(write) -> None:
    write(1, _row(schema.STATEMENT_SCHEDULES, Group="Group 01", Enabled=True, Day=1))
    write(2, _row(schema.STATEMENT_SCHEDULES, Group="Group 02", Enabled=True, Day=15, Type="Activity"))
    write(3, _row(schema.STATEMENT_SCHEDULES, Customer_ID="C-00001", Enabled=True, Day=31))
    write(4, _row(schema.STATEMENT_SCHEDULES, Customer_ID="C-00002", Enabled=False, Day=10,
                  To="ap@customer2.example.com", Attach_CSV=True))


def _users(write) -> None:
    write(1, _row(schema.USERS, User="admin", Role="Admin"))
    write(2, _row(schema.USERS, User="clerk", Role="Full"))
    write(3, _row(schema.USERS, User="agent", Role="Limited", Group="Group 01"))


def _vendors(write, rnd: random.Random) -> None:
    for n in range(1, 21):
        write(n, _row(schema.VENDORS, Vendor_ID=f"V-{n:03d}", Name=f"Vendor {n}", Status="Active",
                      Email=f"sales@vendor{n}.example.com", City=rnd.choice(CITIES), State=rnd.choice(STATES)))


if __name__ == "__main__":
    for shared in (False, True):
        started = time.perf_counter()
        target = CACHE / f"bench-v{VERSION}{'-shared' if shared else ''}.xlsx"
        if "--force" in sys.argv and target.exists():
            target.unlink()
        out = bench_workbook(shared)
        print(f"{out} ({out.stat().st_size / 1e6:.1f} MB) in {time.perf_counter() - started:.1f} s")
