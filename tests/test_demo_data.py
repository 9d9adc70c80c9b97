"""The demo workbook: realistic, deterministic, and clean enough to pass `receivables check`."""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from decimal import Decimal
from pathlib import Path

import pytest
from openpyxl import load_workbook

from addin import reminders
from addin.checks import CHECKS
from addin.demo_data import DEMO_DATE, build_demo, demo_tables
from addin.workbook import reader, schema
from addin.workbook.template import save, to_bytes

T = demo_tables()
CUSTOMERS, INVOICES, PAYMENTS = T["Customers"], T["Invoices"], T["Payments"]


def balances() -> tuple[dict[str, Decimal], dict[str, Decimal]]:
    """Invoice balance by number and customer balance by ID, as of the demo day (SPEC §3)."""
    paid: dict[str, Decimal] = defaultdict(Decimal)
    credit: dict[str, Decimal] = defaultdict(Decimal)
    for p in PAYMENTS:
        if p["Invoice No"]:
            paid[p["Invoice No"]] += p["Amount"]
        else:
            credit[p["Customer ID"]] += p["Amount"]
    invoice = {i["Invoice No"]: i["Amount"] - paid[i["Invoice No"]] for i in INVOICES}
    customer: dict[str, Decimal] = defaultdict(Decimal)
    for i in INVOICES:
        customer[i["Customer ID"]] += invoice[i["Invoice No"]]
    for cid, amount in credit.items():
        customer[cid] -= amount
    return invoice, customer


@pytest.fixture(scope="module")
def demo_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return save(build_demo(), tmp_path_factory.mktemp("demo") / "demo.xlsx")


def test_demo_day_is_a_fixed_day_10() -> None:
    assert dt.date(2026, 6, 10) == DEMO_DATE


def test_demo_is_deterministic() -> None:
    assert demo_tables() == T
    assert to_bytes(build_demo()) == to_bytes(build_demo())


def test_customers_are_many_varied_and_realistic() -> None:
    assert len(CUSTOMERS) >= 40
    states = Counter(c["State"] for c in CUSTOMERS)
    assert {"CA", "NV", "ON", "QC"} < set(states) and len(states) >= 6
    assert sum(c["Status"] == "Inactive" for c in CUSTOMERS) >= 2
    assert any(c["State"] == "QC" and c.get("Language") == "fr" for c in CUSTOMERS)
    assert any(c.get("Statement Email") for c in CUSTOMERS)
    assert any(c.get("Statement Contact") for c in CUSTOMERS)
    assert any("\n" in str(c.get("Statement Address", "")) for c in CUSTOMERS)
    assert sum(bool(c.get("No Reminders")) for c in CUSTOMERS) >= 2
    paused = [c["Reminders Paused Until"] for c in CUSTOMERS if c.get("Reminders Paused Until")]
    assert any(d >= DEMO_DATE for d in paused)
    assert len({c["Customer ID"] for c in CUSTOMERS}) == len(CUSTOMERS)


def test_invoices_span_several_months_before_the_demo_day() -> None:
    assert len(INVOICES) >= 200
    assert all(i["Invoice Date"] < DEMO_DATE and i["Due Date"] >= i["Invoice Date"] for i in INVOICES)
    assert len({(i["Invoice Date"].year, i["Invoice Date"].month) for i in INVOICES}) >= 5
    assert len({i["Invoice No"] for i in INVOICES}) == len(INVOICES)
    assert all(i["Amount"] == i["Amount"].quantize(Decimal("0.01")) > 0 for i in INVOICES)
    known = {c["Customer ID"] for c in CUSTOMERS}
    assert all(i["Customer ID"] in known for i in INVOICES)


def test_invoices_are_paid_partly_paid_and_overdue_in_every_bucket() -> None:
    invoice, _ = balances()
    states = Counter()
    for i in INVOICES:
        left = invoice[i["Invoice No"]]
        assert left >= 0, f"{i['Invoice No']} is over-applied"
        late = (DEMO_DATE - i["Due Date"]).days
        if left == 0:
            states["paid"] += 1
            continue
        if left < i["Amount"]:
            states["partial"] += 1
        states["current" if late <= 0 else "1-30" if late <= 30 else "31-60" if late <= 60
               else "61-90" if late <= 90 else "91+"] += 1
        if 0 < (i["Due Date"] - DEMO_DATE).days <= 10:
            states["due soon"] += 1
    for state in ("paid", "partial", "current", "1-30", "31-60", "61-90", "91+", "due soon"):
        assert states[state] >= 2, (state, states)


def test_automatic_reminders_of_every_step_fall_due_on_the_demo_day() -> None:
    invoice, _ = balances()
    open_due = {i["Due Date"] for i in INVOICES if invoice[i["Invoice No"]] > 0}
    assert DEMO_DATE + dt.timedelta(days=3) in open_due  # reminder 1: 3 days before
    assert DEMO_DATE - dt.timedelta(days=7) in open_due  # reminder 2: 7 days after
    assert DEMO_DATE - dt.timedelta(days=30) in open_due  # reminder 3: 30 days after


def test_payments_include_partials_splits_and_unapplied_credit_notes() -> None:
    assert len(PAYMENTS) >= 50
    numbers = {i["Invoice No"]: i for i in INVOICES}
    for p in PAYMENTS:
        assert p["Date"] < DEMO_DATE and p["Amount"] > 0
        if p["Invoice No"]:
            inv = numbers[p["Invoice No"]]
            assert inv["Customer ID"] == p["Customer ID"] and p["Date"] >= inv["Invoice Date"]
    rows_by_id = defaultdict(list)
    for p in PAYMENTS:
        rows_by_id[p["Payment ID"]].append(p)
    splits = [rows for rows in rows_by_id.values() if len(rows) > 1]
    assert splits
    for rows in splits:
        assert len({r["Invoice No"] for r in rows}) == len(rows) > 1
        assert len({(r["Customer ID"], r["Date"], r["Type"]) for r in rows}) == 1
    unapplied = [p for p in PAYMENTS if p["Type"] == "Credit Note" and not p["Invoice No"]]
    assert len(unapplied) >= 2
    partial = [p for p in PAYMENTS if p["Invoice No"] and p["Amount"] < numbers[p["Invoice No"]]["Amount"]]
    assert len(partial) >= 5


def test_groups_rules_and_manual_members() -> None:
    groups = {g["Group"]: g for g in T["Groups"]}
    assert len(groups) >= 3
    assert any(g["Auto Update"] is False for g in groups.values())
    rules = [(r["Field"], r["Operator"], r.get("Value"), r.get("Value 2"))
             for r in T["Group Rules"] if r["Group"] == "CA mid balance"]
    assert rules == [("Status", "is", "Active", None), ("State", "is", "CA", None),
                     ("Balance", "between", 100, 1000)]
    assert any(m["Source"] == "Added" for m in T["Group Members"])
    assert {r["Group"] for r in T["Group Rules"]} <= set(groups)


def test_ca_mid_balance_has_members_on_the_demo_day() -> None:
    _, customer = balances()
    members = [c["Customer ID"] for c in CUSTOMERS if c["Status"] == "Active" and c["State"] == "CA"
               and 100 <= customer[c["Customer ID"]] <= 1000]
    assert len(members) >= 3
    assert "C-0001" in members


def test_statement_schedules_for_a_customer_on_day_10_and_a_group_on_day_1() -> None:
    schedules = T["Statement Schedules"]
    assert any(s.get("Customer ID") == "C-0001" and s["Day"] == 10 and s["Enabled"] for s in schedules)
    groups = {g["Group"] for g in T["Groups"]}
    assert any(s.get("Group") in groups and s["Day"] == 1 and s["Enabled"] for s in schedules)
    assert T["Users"] == []


def test_demo_workbook_settings_and_cells(demo_path: Path) -> None:
    book = load_workbook(demo_path)
    settings = {r[0]: r[1] for r in book[schema.SETTINGS_SHEET.name].iter_rows(min_row=2, values_only=True)}
    assert settings["mail_transport"] == "outbox"
    assert settings["reminders_enabled"] is True
    assert settings["company_name"] and "@" in settings["company_email"] and settings["company_address"]
    assert settings["brand_color"].startswith("#")
    assert [r[:4] for r in book[schema.REMINDERS.name].iter_rows(min_row=2, values_only=True)] == [
        (1, True, 3, "Before"), (2, True, 7, "After"), (3, True, 30, "After")]
    ws = book[schema.INVOICES.name]
    assert ws.tables[schema.INVOICES.table].ref == f"A1:M{len(INVOICES) + 1}"
    assert isinstance(ws["E2"].value, float) and ws["E2"].number_format == "#,##0.00"
    assert ws["C2"].number_format == "yyyy-mm-dd"
    assert book[schema.USERS.name].max_row <= 2


def test_french_demo_has_settings_language_fr() -> None:
    book = build_demo("fr")
    settings = {r[0]: r[1] for r in book[schema.SETTINGS_SHEET.name].iter_rows(min_row=2, values_only=True)}
    assert settings["language"] == "fr"


def test_demo_passes_check_with_zero_problems(demo_path: Path) -> None:
    book = reader.load(demo_path)
    assert [str(p) for p in book.problems] == []
    assert (len(book.customers), len(book.invoices), len(book.payments)) == (
        len(CUSTOMERS), len(INVOICES), len(PAYMENTS))
    assert book.settings.reminders_enabled and book.settings.language == "en"


def test_demo_feature_checks_report_no_errors(demo_path: Path) -> None:
    book = reader.load(demo_path)
    for check in CHECKS:
        assert [str(p) for p in check(book) if p.is_error] == [], check.__module__


def test_on_the_demo_day_every_reminder_step_is_due_and_holds_are_respected(demo_path: Path) -> None:
    from addin.ledger import Ledger

    book = reader.load(demo_path)
    decision = reminders.decide(book, Ledger.from_book(book), book.settings, [], DEMO_DATE)
    assert {d.step.number for d in decision.due} == {1, 2, 3}
    assert sorted(s.invoice.customer_id for s in decision.skipped) == ["C-0010", "C-0018", "C-0020"]
    assert [s.reason for s in decision.skipped if s.on_hold] == [
        "on hold until 2026-06-30: disputed: two units arrived damaged, credit note on its way"]
    assert decision.problems == ()
    by_customer = {m.customer.id: [d.step.number for d in m.dues] for m in reminders.messages(decision)}
    assert book.settings.reminder_grouping == "customer" and by_customer["C-0004"] == [3, 2, 1]
