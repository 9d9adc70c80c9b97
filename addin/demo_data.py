"""The demo workbook: the template filled with a realistic, deterministic sample.

Everything comes from ``random.Random(SEED)`` and ``DEMO_DATE``; nothing depends on today.
On DEMO_DATE (a Wednesday, the 10th) automatic reminders of every step are due and the Day-10
statement schedule runs. ``demo_tables()`` gives the rows (pure, for tests); ``build_demo()``
writes them into the template.
"""

from __future__ import annotations

import datetime as dt
import random
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING

from .money import D
from .workbook import schema

if TYPE_CHECKING:
    from openpyxl import Workbook

DEMO_DATE = dt.date(2026, 6, 10)
SEED = 20260610
FIRST_INVOICE_DATE = dt.date(2025, 12, 1)

Record = dict[str, object]

COMPANY = {
    "company_name": "Sierra Supply Co.",
    "company_email": "billing@sierrasupply.example",
    "company_phone": "+1 916-555-0142",
    "company_address": "1200 J Street, Suite 400\nSacramento, CA 95814\nUSA",
    "brand_color": "#2E7D5B",
    "currency": "USD",
    "timezone": "America/Los_Angeles",
    "mail_transport": "outbox",
    "outbox_dir": "outbox",
    "copy_to_me": "accounting@sierrasupply.example",
    "reminders_enabled": True,
    "reminder_grouping": "customer",  # the tour shows one message for several invoices of a customer
}

# State -> (country, [(city, area code, postal prefix)]), and how many customers live there.
PLACES = {
    "CA": ("USA", [("San Francisco", "415", "941"), ("Oakland", "510", "946"), ("Sacramento", "916", "958"),
                   ("Fresno", "559", "937"), ("San Jose", "408", "951"), ("San Diego", "619", "921")]),
    "NV": ("USA", [("Las Vegas", "702", "891"), ("Reno", "775", "895"), ("Henderson", "702", "890")]),
    "NY": ("USA", [("New York", "212", "100"), ("Buffalo", "716", "142")]),
    "TX": ("USA", [("Austin", "512", "787"), ("Dallas", "214", "752")]),
    "WA": ("USA", [("Seattle", "206", "981")]),
    "OR": ("USA", [("Portland", "503", "972")]),
    "ON": ("Canada", [("Toronto", "416", "M5V"), ("Ottawa", "613", "K1P"), ("Hamilton", "905", "L8P")]),
    "QC": ("Canada", [("Montréal", "514", "H2X"), ("Québec", "418", "G1R"), ("Laval", "450", "H7N"),
                      ("Sherbrooke", "819", "J1H")]),
    "BC": ("Canada", [("Vancouver", "604", "V6B")]),
}
STATES = ["CA"] * 14 + ["NV"] * 6 + ["ON"] * 8 + ["QC"] * 8 + ["NY"] * 3 + ["TX"] * 3 + ["WA"] * 2 + ["OR"] * 2 + ["BC"] * 2

PREFIXES = ["Golden Gate", "Redwood", "Pacific", "Harbor", "Summit", "Desert Rose", "Silver State", "Lakeshore",
            "Maple Leaf", "Northern Lights", "Cedar", "Bayview", "Granite", "Evergreen", "Canyon", "Lone Star",
            "Empire", "Cascade", "Rideau", "Niagara", "Coastal", "Sunset", "Blue Ridge", "Riverbend",
            "Oak Hollow", "Highland", "Prairie", "Ironwood", "Copper", "Mesa", "Twin Peaks", "Harvest"]
TRADES = ["Hardware", "Bakery", "Dental Clinic", "Auto Repair", "Landscaping", "Coffee Roasters", "Florist",
          "Printing", "Plumbing", "Electric", "Catering", "Veterinary", "Books", "Fitness", "Brewing", "Optical"]
SUFFIXES = ["Co.", "Inc.", "LLC", "Ltd.", "& Sons", "Group", ""]
TRADES_FR = ["Boulangerie", "Quincaillerie", "Fleuriste", "Garage", "Imprimerie", "Clinique dentaire", "Traiteur",
             "Café", "Librairie", "Pharmacie", "Ébénisterie", "Fromagerie"]
FIRST = ["Olivia", "James", "Emma", "Noah", "Ava", "Liam", "Sophia", "Mason", "Mia", "Ethan", "Grace", "Lucas",
         "Chloe", "Daniel", "Hannah", "Ryan", "Priya", "Carlos", "Mei", "Omar"]
LAST = ["Smith", "Johnson", "Nguyen", "Garcia", "Patel", "Chen", "Miller", "Wilson", "Martinez", "Taylor",
        "Anderson", "Thompson", "Kim", "Lopez", "Walker", "Young", "Hughes", "Murphy", "Singh", "Brooks"]
FIRST_FR = ["Marie", "Jean", "Sophie", "Luc", "Isabelle", "François", "Nathalie", "Mathieu", "Julie", "Étienne"]
LAST_FR = ["Tremblay", "Gagnon", "Roy", "Côté", "Bouchard", "Gauthier", "Morin", "Lavoie", "Fortin", "Pelletier"]
STREETS = ["Market Street", "Main Street", "Oak Avenue", "Mission Street", "Pine Street", "King Street West",
           "Queen Street East", "Bay Street", "Elm Street", "Broadway", "Lakeview Drive", "Cedar Road"]
STREETS_FR = ["rue Saint-Denis", "boulevard René-Lévesque", "rue Sainte-Catherine", "avenue du Parc",
              "rue Principale", "chemin du Lac"]
TYPES = ["Retail", "Wholesale", "Contractor", "Services", "Hospitality"]
MEMOS = ["Order {n}", "Spring stock — order {n}", "Monthly service", "Installation and parts", "Restock, PO {n}",
         "Repairs, work order {n}", "Supplies"]
MEMOS_FR = ["Commande n° {n}", "Entretien mensuel", "Fournitures", "Pièces et main-d'œuvre", "Bon de commande {n}"]
REFERENCES = ["Cheque {n}", "ACH {n}", "Wire {n}", "Card ending {c}"]
REFERENCES_CA = ["Cheque {n}", "Interac e-Transfer {n}", "EFT {n}"]


@dataclass
class _Customer:
    id: str
    row: Record
    profile: str  # good, slow, late, mid (CA, balance 100..1,000), inactive
    size: tuple[int, int]  # invoice amounts, in dollars
    domain: str


@dataclass
class _Invoice:
    customer: _Customer
    date: dt.date
    due: dt.date
    amount: Decimal
    memo: str
    email: str = ""
    number: str = ""
    paid: Decimal = field(default_factory=lambda: D(0))
    hold_until: dt.date | None = None
    hold_reason: str = ""


@dataclass
class _Payment:
    customer: _Customer
    date: dt.date
    amount: Decimal
    invoice: _Invoice | None
    type: str = "Payment"
    reference: str = ""
    split: int = 0  # rows with the same non-zero split share one Payment ID


def demo_settings(language: str = "en") -> dict[str, object]:
    """Settings key -> value for the demo (other keys keep the template's defaults)."""
    return {**COMPANY, "language": language}


def demo_tables() -> dict[str, list[Record]]:
    """Schema sheet name -> rows (header -> value) of the demo. Deterministic."""
    rng = random.Random(SEED)
    customers = _customers(rng)
    invoices, payments = _books(rng, customers)
    by_id = {c.id: c for c in customers}
    tables: dict[str, list[Record]] = {
        schema.CUSTOMERS.name: [c.row for c in customers],
        schema.INVOICES.name: [_invoice_row(i) for i in invoices],
        schema.PAYMENTS.name: _payment_rows(payments),
    }
    tables.update(_groups(by_id))
    tables[schema.STATEMENT_SCHEDULES.name] = [
        {"Customer ID": "C-0001", "Enabled": True, "Day": 10, "Type": "Outstanding",
         "Exclude Zero Balance": True, "Attach CSV": True},
        {"Group": "Key accounts", "Enabled": True, "Day": 1, "Type": "Activity",
         "Subject": "{{ company.name }}: your statement to {{ statement.end_date }}",
         "Exclude Zero Balance": True, "Attach CSV": False},
        {"Customer ID": "C-0006", "Enabled": False, "Day": 15, "Exclude Zero Balance": True},
    ]
    tables[schema.USERS.name] = []
    return tables


# --- customers ---------------------------------------------------------------------------------


def _customers(rng: random.Random) -> list[_Customer]:
    out: list[_Customer] = []
    names: set[str] = set()
    profiles = _profiles(rng)
    for n, state in enumerate(STATES, start=1):
        cid = f"C-{n:04d}"
        country, cities = PLACES[state]
        city, area, postal = rng.choice(cities)
        french = state == "QC" and n % 4 != 0  # most of Québec reads French
        if n == 1:
            name = "Golden Gate Hardware Co."
            city, area, postal = PLACES["CA"][1][0]
        else:
            name = _name(rng, french, names)
        names.add(name)
        first, last = (rng.choice(FIRST_FR), rng.choice(LAST_FR)) if french else (rng.choice(FIRST), rng.choice(LAST))
        domain = _slug(name) + ".example"
        emails = f"ap@{domain}" if rng.random() < 0.6 else f"{_slug(first)}.{_slug(last)}@{domain}"
        if rng.random() < 0.15:
            emails += f"; {_slug(first)}@{domain}"
        street = rng.choice(STREETS_FR if state == "QC" else STREETS)
        address = f"{rng.randint(10, 9800)} {street}" if state != "QC" else f"{rng.randint(10, 9800)}, {street}"
        profile = profiles[n - 1]
        row: Record = {
            "Customer ID": cid, "Name": name,
            "Status": "Inactive" if profile == "inactive" else "Active",
            "Email": emails, "Type": rng.choice(TYPES), "Contact": f"{first} {last}",
            "Phone": f"{area}-555-01{rng.randint(0, 99):02d}", "Address": address, "City": city,
            "State": state, "Postal Code": _postal(rng, postal, country), "Country": country,
        }
        if french:
            row["Language"] = "fr"
        elif rng.random() < 0.3:
            row["Language"] = "en"
        size = {"mid": (150, 450), "good": (300, 2500), "slow": (400, 3000), "late": (600, 4200),
                "inactive": (200, 900)}[profile]
        if n % 9 == 4:
            size = (2500, 9000)  # a few large accounts
        out.append(_Customer(cid, row, profile, size, domain))
    _special_rows(out)
    return out


def _profiles(rng: random.Random) -> list[str]:
    """One profile per customer; the CA mid-balance ones and the inactive ones are placed by hand."""
    profiles = [rng.choices(["good", "slow", "late"], weights=[60, 25, 15])[0] for _ in STATES]
    for i in (0, 2, 5, 8, 11):  # C-0001, C-0003, C-0006, C-0009, C-0012: all in CA
        profiles[i] = "mid"
    for i in (13, 22, 30, 41):
        profiles[i] = "inactive"
    profiles[1] = "slow"  # C-0002 carries the reminder-3 showcase invoice
    profiles[9] = "late"  # C-0010: No Reminders
    profiles[17] = "late"  # C-0018: reminders paused
    return profiles


def _special_rows(customers: list[_Customer]) -> None:
    """Statement contacts, reminder holds and notes on a few customers."""
    by_id = {c.id: c.row for c in customers}
    by_id["C-0001"].update({
        "Statement Email": f"accounts.payable@{customers[0].domain}",
        "Statement Contact": "Accounts Payable",
        "Statement Address": "Accounts Payable\n500 Market Street, Suite 200\nSan Francisco, CA 94105",
        "Notes": "Prefers statements on the 10th",
    })
    for cid in ("C-0004", "C-0015", "C-0021"):
        row = by_id[cid]
        row["Statement Email"] = f"statements@{_slug(str(row['Name']))}.example"
        row["Statement Contact"] = "Comptabilité" if row.get("Language") == "fr" else "Accounts Payable"
    by_id["C-0027"]["Statement Address"] = f"C.P. 1234, succursale Centre-ville\n{by_id['C-0027']['City']} (Québec)"
    by_id["C-0010"].update({"No Reminders": True, "Notes": "Disputed invoices: call, do not email"})
    by_id["C-0033"].update({"No Reminders": True, "Notes": "Pays by standing order"})
    by_id["C-0018"].update({"Reminders Paused Until": dt.date(2026, 6, 30), "Notes": "Payment plan agreed in May"})
    by_id["C-0025"].update({"Reminders Paused Until": dt.date(2026, 5, 31)})
    by_id["C-0014"]["Notes"] = "Closed their store in January"


def _name(rng: random.Random, french: bool, taken: set[str]) -> str:
    while True:
        if french:
            name = f"{rng.choice(TRADES_FR)} {rng.choice(LAST_FR)}" + rng.choice(["", " inc.", " enr."])
        else:
            name = f"{rng.choice(PREFIXES)} {rng.choice(TRADES)} {rng.choice(SUFFIXES)}".strip()
        if name not in taken:
            return name


def _slug(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    words = "".join(ch if ch.isalnum() else " " for ch in ascii_text).split()
    return "-".join(w for w in words if w not in {"co", "inc", "llc", "ltd", "enr", "group"})[:40].strip("-")


def _postal(rng: random.Random, prefix: str, country: str) -> str:
    if country == "Canada":
        letters = "ABCEGHJKLMNPRSTVXY"
        return f"{prefix} {rng.randint(0, 9)}{rng.choice(letters)}{rng.randint(0, 9)}"
    return f"{prefix}{rng.randint(0, 99):02d}"


# --- invoices and payments ------------------------------------------------------------------------


def _books(rng: random.Random, customers: list[_Customer]) -> tuple[list[_Invoice], list[_Payment]]:
    invoices: list[_Invoice] = []
    payments: list[_Payment] = []
    span = (DEMO_DATE - FIRST_INVOICE_DATE).days - 1
    for c in customers:
        if c.profile == "mid":
            history = [FIRST_INVOICE_DATE + dt.timedelta(days=rng.randint(0, 110)) for _ in range(rng.randint(2, 4))]
            for day in history:
                inv = _new_invoice(rng, c, day, 30)
                invoices.append(inv)
                _pay_in_full(rng, inv, payments, "good")
            opens = [dt.date(2026, 5, 4), dt.date(2026, 5, 14)] if c.id == "C-0001" else \
                [DEMO_DATE - dt.timedelta(days=rng.randint(5, 60)) for _ in range(rng.randint(1, 2))]
            invoices.extend(_new_invoice(rng, c, day, 30) for day in opens)
            continue
        if c.profile == "inactive":
            days = [FIRST_INVOICE_DATE + dt.timedelta(days=rng.randint(0, 60)) for _ in range(rng.randint(2, 3))]
        else:
            days = [FIRST_INVOICE_DATE + dt.timedelta(days=rng.randint(0, span)) for _ in range(rng.randint(3, 7))]
        for day in sorted(days):
            inv = _new_invoice(rng, c, day, rng.choice([30, 30, 30, 15, 45]))
            invoices.append(inv)
            _settle(rng, inv, payments, c.profile)
    by_id = {c.id: c for c in customers}
    # Showcase: reminder 3 (30 days after) is due on the demo day for C-0002.
    invoices.append(_new_invoice(rng, by_id["C-0002"], dt.date(2026, 4, 11), 30, amount=D("1240.00")))
    # Reminders held back on the demo day: C-0010 asked for none, C-0018 is paused until June 30.
    invoices.append(_new_invoice(rng, by_id["C-0010"], dt.date(2026, 5, 12), 30, amount=D("2310.00")))
    invoices.append(_new_invoice(rng, by_id["C-0018"], dt.date(2026, 5, 1), 30, amount=D("1875.50")))
    # An inactive customer who left with an old balance.
    invoices.append(_new_invoice(rng, by_id["C-0031"], dt.date(2025, 12, 19), 30, amount=D("385.20")))
    _extras(rng, customers, invoices, payments)
    # Made without the generator, so the rest of the sample stays as it was.
    # One message for three invoices: C-0004 gets reminders 1 and 2 on the demo day, and 3 for this one.
    invoices.append(_Invoice(by_id["C-0004"], dt.date(2026, 4, 11), dt.date(2026, 5, 11), D("1480.00"),
                             "Spring stock — order 7702"))
    # An invoice on hold: reminder 2 would be due, the customer disputes the delivery.
    invoices.append(_Invoice(by_id["C-0020"], dt.date(2026, 5, 1), dt.date(2026, 5, 31), D("920.00"),
                             "Installation and parts", hold_until=dt.date(2026, 6, 30),
                             hold_reason="disputed: two units arrived damaged, credit note on its way"))
    invoices.sort(key=lambda i: (i.date, i.customer.id))
    for n, inv in enumerate(invoices, start=1):
        inv.number = f"INV-{10000 + n}"
    return invoices, payments


def _new_invoice(rng: random.Random, c: _Customer, day: dt.date, terms: int,
                 amount: Decimal | None = None) -> _Invoice:
    low, high = c.size
    if amount is None:
        amount = D(Decimal(rng.randint(low * 100, high * 100)) / 100)
    memos = MEMOS_FR if c.row.get("Language") == "fr" else MEMOS
    memo = rng.choice(memos).format(n=rng.randint(4100, 9899))
    return _Invoice(c, day, day + dt.timedelta(days=terms), amount, memo)


def _settle(rng: random.Random, inv: _Invoice, payments: list[_Payment], profile: str) -> None:
    """Decide how much of the invoice was paid by the demo day, and when."""
    if profile == "inactive":
        _pay_in_full(rng, inv, payments, "good")
        return
    if inv.due >= DEMO_DATE:  # not yet due: a few pay early
        if rng.random() < 0.15 and (DEMO_DATE - inv.date).days > 4:
            _pay(inv, payments, inv.amount, inv.date + dt.timedelta(days=rng.randint(2, (DEMO_DATE - inv.date).days - 1)), rng)
        return
    paid, partial = {"good": (0.90, 0.05), "slow": (0.62, 0.18), "late": (0.35, 0.25)}[profile]
    draw = rng.random()
    if draw < paid:
        if profile == "slow" and rng.random() < 0.3:  # two instalments
            first = D(inv.amount * Decimal(rng.randint(35, 60)) / 100)
            _pay(inv, payments, first, _pay_date(rng, inv, profile), rng)
            _pay(inv, payments, inv.amount - first, _pay_date(rng, inv, "late"), rng)
        else:
            _pay_in_full(rng, inv, payments, profile)
    elif draw < paid + partial:
        share = D(inv.amount * Decimal(rng.randint(25, 70)) / 100)
        _pay(inv, payments, share, _pay_date(rng, inv, profile), rng)


def _pay_in_full(rng: random.Random, inv: _Invoice, payments: list[_Payment], profile: str) -> None:
    _pay(inv, payments, inv.amount, _pay_date(rng, inv, profile), rng)


def _pay_date(rng: random.Random, inv: _Invoice, profile: str) -> dt.date:
    terms = (inv.due - inv.date).days
    late = {"good": rng.randint(-terms + 5, 3), "slow": rng.randint(0, 25), "late": rng.randint(10, 60)}[profile]
    return max(inv.date + dt.timedelta(days=1), inv.due + dt.timedelta(days=late))


def _pay(inv: _Invoice, payments: list[_Payment], amount: Decimal, day: dt.date, rng: random.Random) -> None:
    """Record a payment unless it falls after the demo day (then the invoice is still open)."""
    if day >= DEMO_DATE or amount <= 0:
        return
    amount = min(amount, inv.amount - inv.paid)
    inv.paid += amount
    payments.append(_Payment(inv.customer, day, amount, inv, reference=_reference(rng, inv.customer)))


def _reference(rng: random.Random, c: _Customer) -> str:
    refs = REFERENCES_CA if c.row["Country"] == "Canada" else REFERENCES
    return rng.choice(refs).format(n=rng.randint(10000, 99999), c=rng.randint(1000, 9999))


def _extras(rng: random.Random, customers: list[_Customer], invoices: list[_Invoice],
            payments: list[_Payment]) -> None:
    """Split payments, credit notes (applied and unapplied), a prepayment, invoice emails."""
    by_id = {c.id: c for c in customers}
    splits = 0
    for c in customers:
        if splits == 2 or c.profile != "good":
            continue
        full = [p for p in payments if p.customer is c and p.invoice is not None and p.amount == p.invoice.amount]
        if len(full) >= 2:
            a, b = full[0], full[1]
            splits += 1
            a.date = b.date = max(a.date, b.date)
            b.reference = a.reference
            a.split = b.split = splits
    unapplied = [("C-0004", "Returned goods", "180.00"), ("C-0020", "Pricing adjustment", "62.50"),
                 ("C-0029", "Produits endommagés", "145.75")]
    for cid, reference, amount in unapplied:
        day = DEMO_DATE - dt.timedelta(days=rng.randint(8, 50))
        payments.append(_Payment(by_id[cid], day, D(amount), None, "Credit Note", reference))
    credited: set[str] = set()
    for inv in invoices:
        if len(credited) == 2 or inv.customer.id in credited or inv.customer.profile not in ("slow", "late") \
                or inv.paid or inv.amount < 500:
            continue
        credited.add(inv.customer.id)
        credit = D(inv.amount / 10)
        inv.paid += credit
        day = min(DEMO_DATE - dt.timedelta(days=1), inv.date + dt.timedelta(days=12))
        payments.append(_Payment(inv.customer, day, credit, inv, "Credit Note", "Short shipment"))
    payments.append(_Payment(by_id["C-0007"], DEMO_DATE - dt.timedelta(days=6), D("500.00"), None,
                             reference="Deposit for June order"))
    large = [inv for inv in invoices if inv.customer.size[0] >= 2500][:3]
    for inv in large:
        inv.email = f"purchasing@{inv.customer.domain}"


def _invoice_row(inv: _Invoice) -> Record:
    return {"Invoice No": inv.number, "Customer ID": inv.customer.id, "Invoice Date": inv.date,
            "Due Date": inv.due, "Amount": inv.amount, "Email": inv.email, "Memo": inv.memo,
            "Hold Until": inv.hold_until, "Hold Reason": inv.hold_reason}


def _payment_rows(payments: list[_Payment]) -> list[Record]:
    """Rows in date order; a split payment keeps one Payment ID over its rows."""
    ordered = sorted(payments, key=lambda p: (p.date, p.customer.id, p.invoice.number if p.invoice else ""))
    ids: dict[object, str] = {}
    counts = {"Payment": 0, "Credit Note": 0}
    rows: list[Record] = []
    for p in ordered:
        key: object = ("split", p.split) if p.split else id(p)
        if key not in ids:
            counts[p.type] += 1
            ids[key] = f"PMT-{counts[p.type]:04d}" if p.type == "Payment" else f"CN-{counts[p.type]:03d}"
        rows.append({"Payment ID": ids[key], "Customer ID": p.customer.id, "Date": p.date, "Amount": p.amount,
                     "Type": p.type, "Invoice No": p.invoice.number if p.invoice else "",
                     "Reference": p.reference})
    return rows


# --- groups ------------------------------------------------------------------------------------------


def _groups(customers: Mapping[str, _Customer]) -> dict[str, list[Record]]:
    groups: list[Record] = [
        {"Group": "CA mid balance", "Description": "Active customers in California with a balance between 100 and 1,000",
         "Kind": "Customer", "Auto Update": True},
        {"Group": "Quebec customers", "Description": "Frozen list for the spring mailing in French",
         "Kind": "Customer", "Auto Update": False},
        {"Group": "Key accounts", "Description": "Large balances, plus the accounts we look after by hand",
         "Kind": "Customer", "Auto Update": True},
        {"Group": "Long overdue", "Description": "Active customers with an invoice more than 60 days late",
         "Kind": "Customer", "Auto Update": True},
        {"Group": "Nevada and Ontario", "Description": "Customers served by the Reno and Toronto reps",
         "Kind": "Customer", "Auto Update": True},
    ]
    rules: list[Record] = [
        {"Group": "CA mid balance", "Field": "Status", "Operator": "is", "Value": "Active"},
        {"Group": "CA mid balance", "Field": "State", "Operator": "is", "Value": "CA"},
        {"Group": "CA mid balance", "Field": "Balance", "Operator": "between", "Value": 100, "Value 2": 1000},
        {"Group": "Quebec customers", "Field": "State", "Operator": "is", "Value": "QC"},
        {"Group": "Key accounts", "Field": "Balance", "Operator": "at least", "Value": 5000},
        {"Group": "Long overdue", "Field": "Status", "Operator": "is", "Value": "Active"},
        {"Group": "Long overdue", "Field": "Days Overdue", "Operator": "greater than", "Value": 60},
        {"Group": "Nevada and Ontario", "Field": "State", "Operator": "is one of", "Value": "NV; ON"},
    ]
    members: list[Record] = [
        {"Group": "Key accounts", "Customer ID": "C-0016", "Name": customers["C-0016"].row["Name"],
         "Source": "Added"},
        {"Group": "Long overdue", "Customer ID": "C-0018", "Name": customers["C-0018"].row["Name"],
         "Source": "Removed"},
    ]
    return {schema.GROUPS.name: groups, schema.GROUP_RULES.name: rules, schema.GROUP_MEMBERS.name: members}


# --- the workbook --------------------------------------------------------------------------------------


def build_demo(language: str = "en") -> Workbook:
    """The template for ``language`` filled with the demo's rows and settings."""
    from .workbook.template import build_template, put_records

    wb = build_template(language)
    for sheet_name, rows in demo_tables().items():
        sheet = schema.sheet(sheet_name)
        put_records(wb[sheet.name], sheet, rows)
    _set_settings(wb, demo_settings(language))
    return wb


def _set_settings(wb: Workbook, values: Mapping[str, object]) -> None:
    from openpyxl.styles import Alignment

    ws = wb[schema.SETTINGS_SHEET.name]
    rows = {str(row[0].value): row[0].row for row in ws.iter_rows(min_row=2, max_col=1)}
    for key, value in values.items():
        cell = ws.cell(row=rows[key], column=2, value=value)
        if isinstance(value, str) and "\n" in value:
            cell.alignment = Alignment(wrap_text=True, vertical="top")
