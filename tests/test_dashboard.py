"""The Dashboard figures and the add-in columns, as pure functions of the books and a date."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from addin.actions import SetAt, SetCells, SetColumn
from addin.aging import aging_report
from addin.dashboard import (
    Cells,
    Current,
    figures,
    invoice_status,
    invoice_statuses,
    plan_refresh,
    reminders_sent,
    same,
)
from addin.ledger import Ledger
from addin.model import Book, Customer, Invoice, Payment
from addin.problems import error
from addin.workbook import dashboard_layout as layout

D = Decimal
AS_OF = dt.date(2026, 4, 30)


def customer(cid: str, name: str, status: str = "Active", **kw: object) -> Customer:
    return Customer(cid, name, status, (f"{cid.lower()}@example.com",), **kw)  # type: ignore[arg-type]


def invoice(number: str, cid: str, date: str, due: str, amount: str, status: str = "") -> Invoice:
    return Invoice(number, cid, dt.date.fromisoformat(date), dt.date.fromisoformat(due), D(amount), status=status)


def payment(pid: str, cid: str, date: str, amount: str, invoice_no: str = "") -> Payment:
    return Payment(pid, cid, dt.date.fromisoformat(date), D(amount), invoice_no=invoice_no)


BOOK = Book(
    customers=(
        customer("C1", "Alpha"),
        customer("C2", "Beta", no_reminders=True),
        customer("C3", "Gamma", reminders_paused_until=AS_OF),
        customer("C4", "Delta", "Inactive", no_reminders=True),
        customer("C5", "Echo", reminders_paused_until=AS_OF - dt.timedelta(days=1)),
        customer("C6", "Foxtrot"),
    ),
    invoices=(
        invoice("INV-1", "C1", "2026-03-01", "2026-03-31", "1000.00", "Reminder 1 sent 2026-04-07"),  # 30 days late
        invoice("INV-2", "C1", "2026-04-15", "2026-05-15", "500.00"),  # current
        invoice("INV-3", "C2", "2025-12-16", "2026-01-15", "200.00"),  # 105 days late
        invoice("INV-4", "C3", "2026-03-01", "2026-03-01", "300.00", "Reminder 2 sent 2026-03-20"),  # paid
        invoice("INV-5", "C4", "2026-02-01", "2026-02-15", "100.00"),  # 74 days late
    ),
    payments=(
        payment("P1", "C1", "2026-04-10", "400.00", "INV-1"),
        payment("P2", "C2", "2026-04-01", "50.00"),  # unapplied credit
        payment("P3", "C3", "2026-03-20", "300.00", "INV-4"),
        payment("P4", "C1", "2026-05-02", "500.00", "INV-2"),  # after the as-of date: not counted
    ),
    problems=(error("Payments", "D9", "bad amount", "fix it", customer_id="C6"),),
)


def test_bucket_totals_equal_the_ledgers_customer_balances_and_the_aging_report() -> None:
    ledger = Ledger.from_book(BOOK)
    figs = figures(BOOK, ledger, AS_OF, 0)
    balances = sum((ledger.customer_balance(c.id, AS_OF) for c in BOOK.customers), D("0"))
    assert figs.ageing.total == balances == figs.total_receivable == D("1350.00")
    assert figs.ageing == aging_report(BOOK, ledger, AS_OF).totals
    assert figs.ageing.amounts == (D("450.00"), D("600.00"), D("0.00"), D("100.00"), D("200.00"))


def test_key_figures_of_a_small_book() -> None:
    figs = figures(BOOK, Ledger.from_book(BOOK), AS_OF, 7)
    assert figs.overdue == D("900.00")
    assert figs.percent_overdue == D("900") / D("1350")
    # credit sales of 2026-01-31 … 2026-04-30: INV-1, 2, 4, 5 = 1,900.00; 1,350 / 1,900 × 90 = 63.95
    assert figs.dso_90 == D("63.9")
    assert figs.reminders_sent_30 == 7
    assert figs.customers_on_hold == 3  # Beta (No Reminders), Gamma (paused until the day), Foxtrot (errors)
    assert [(t.customer_id, t.overdue, t.days_overdue) for t in figs.top] == [
        ("C1", D("600.00"), 30), ("C2", D("200.00"), 105), ("C4", D("100.00"), 74)]


def test_dashboard_cells_are_the_layouts_cells() -> None:
    cells = figures(BOOK, Ledger.from_book(BOOK), AS_OF, 2).cells()
    assert set(cells) == set(layout.cell_values(AS_OF, {}, (), ()))
    assert cells[layout.AS_OF] == AS_OF
    assert cells[layout.FIGURES_BY_KEY["total_receivable"].cell] == 1350.0
    assert cells[layout.FIGURES_BY_KEY["dso_90"].cell] == 63.9
    assert cells[layout.FIGURES_BY_KEY["reminders_sent_30"].cell] == 2
    assert cells[layout.bucket_cells(1)[0]] == 600.0
    assert cells[layout.top_cells(0)[1]] == "Alpha"
    assert cells[layout.top_cells(3)[0]] is None  # unused top rows are cleared


def test_dso_and_percent_are_blank_when_there_is_nothing_to_divide_by() -> None:
    book = Book(customers=(customer("C1", "Alpha"),),
                invoices=(invoice("INV-1", "C1", "2025-01-01", "2025-01-31", "100.00"),),
                payments=(payment("P1", "C1", "2025-02-01", "100.00", "INV-1"),))
    figs = figures(book, Ledger.from_book(book), AS_OF, 0)
    assert (figs.total_receivable, figs.percent_overdue, figs.dso_90, figs.top) == (D("0.00"), None, None, ())


def test_top_ten_keeps_the_ten_largest_overdue_balances_ties_by_name() -> None:
    customers = tuple(customer(f"C{n:02}", f"Name {n:02}") for n in range(1, 13))
    invoices = tuple(invoice(f"INV-{n}", f"C{n:02}", "2026-01-01", "2026-02-01", f"{(n // 2) * 10}.00")
                     for n in range(1, 13))
    book = Book(customers=customers, invoices=invoices)
    top = figures(book, Ledger.from_book(book), AS_OF, 0).top
    assert [t.customer_id for t in top] == ["C12", "C10", "C11", "C08", "C09", "C06", "C07", "C04", "C05", "C02"]


@pytest.mark.parametrize(("balance", "due", "status", "expected"), [
    ("0.00", "2026-05-31", "Reminder 1 sent 2026-04-07", "Paid"),
    ("10.00", "2026-04-01", "Reminder 1 sent 2026-04-07", "Reminder 1 sent 2026-04-07"),
    ("10.00", "2026-04-01", "Manual reminder sent 2026-04-20", "Manual reminder sent 2026-04-20"),
    ("10.00", "2026-04-29", "", "Overdue"),
    ("10.00", "2026-04-30", "Paid", "Open"),  # due today is not late; a stale Paid goes
    ("10.00", "2026-04-01", "Disputed", "Overdue"),
])
def test_invoice_status_reads_for_a_bookkeeper(balance: str, due: str, status: str, expected: str) -> None:
    inv = invoice("INV-1", "C1", "2026-03-01", due, "100.00")
    assert invoice_status(inv, D(balance), AS_OF, status) == expected


def test_statuses_in_bulk_read_for_a_bookkeeper_whatever_the_cell_holds() -> None:
    """Paid when nothing is owed; else a reminder status kept (trimmed); else Overdue after the due date, or Open."""
    reminder = "Reminder 3 sent 2026-04-02"
    expected_when_owed = {  # Status cell -> (due before AS_OF, due on or after AS_OF)
        "": ("Overdue", "Open"), "Paid": ("Overdue", "Open"), "Open": ("Overdue", "Open"),
        "Overdue": ("Overdue", "Open"), f" {reminder} ": (reminder, reminder),
        "Manual reminder sent 2026-04-20": ("Manual reminder sent 2026-04-20",) * 2,
        "Disputed": ("Overdue", "Open"), None: ("Overdue", "Open"), 12.5: ("Overdue", "Open"),
        "Reminder 1 sent 2026-4-7": ("Overdue", "Open"),  # not a date the add-in writes
    }
    invoices, owing, current, expected = [], [], [], []
    for due, late in (("2026-04-01", 0), ("2026-04-29", 0), ("2026-04-30", 1), ("2026-05-31", 1)):
        for text, statuses in expected_when_owed.items():
            for owes in (True, False):
                invoices.append(invoice("INV-1", "C1", "2026-03-01", due, "100.00"))
                owing.append(owes)
                current.append(text)
                expected.append(statuses[late] if owes else "Paid")
    assert invoice_statuses(invoices, owing, AS_OF, current) == expected


def by_key(updates: tuple, sheet: str) -> dict[str, dict[str, object]]:
    """What the refresh's columns set on a sheet: key -> header -> value."""
    out: dict[str, dict[str, object]] = {}
    for u in updates:
        if isinstance(u, SetColumn) and u.sheet == sheet:
            for key, value in zip(u.keys, u.values, strict=True):
                out.setdefault(key, {})[u.header] = value
    return out


_CELL = st.one_of(st.sampled_from(["", None, "Paid", "n/a", True, 0, 400, 600.0, 400.004, 399.995, 600.001]),
                  st.integers(-10**6, 10**6).map(lambda c: c / 100))


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(_CELL, _CELL), min_size=len(BOOK.invoices), max_size=len(BOOK.invoices)),
       st.lists(st.integers(0, len(BOOK.invoices) - 1), max_size=2))
def test_amount_cells_are_written_exactly_where_they_do_not_show_the_amount(cells, missing) -> None:
    """The bulk comparison agrees with ``same`` cell by cell, whatever the cells hold."""
    ledger = Ledger.from_book(BOOK)
    rows = {inv.key: {"paid": p, "balance": b, "status": inv.status}
            for n, (inv, (p, b)) in enumerate(zip(BOOK.invoices, cells, strict=True)) if n not in missing}
    current = Current(invoices=Cells.of_rows(rows, ("paid", "balance", "status")), customers=Cells(), dashboard={})
    plan = plan_refresh(BOOK, ledger, AS_OF, 0, current)
    written = {(key, h): v for key, values in by_key(plan.derived, "Invoices").items()
               for h, v in values.items() if h != "Status"}
    expected = {}
    for inv in BOOK.invoices:
        item = ledger.item(inv, AS_OF)
        for h, new in (("Paid", item.paid), ("Balance", item.balance)):
            old = rows.get(inv.key, {}).get(h.casefold(), object())
            if inv.key not in rows or not same(old, new):
                expected[(inv.number, h)] = float(new)
    assert written == expected


def test_without_current_values_every_amount_is_written_and_status_where_it_changes() -> None:
    plan = plan_refresh(BOOK, Ledger.from_book(BOOK), AS_OF, 0)
    dashboard = [u for u in plan.derived if isinstance(u, SetAt)]
    assert len(dashboard) == 1 and dict(dashboard[0].cells) == figures(BOOK, Ledger.from_book(BOOK), AS_OF, 0).cells()
    invoices = by_key(plan.derived, "Invoices")
    assert invoices["INV-1"] == {"Paid": 400.0, "Balance": 600.0}  # its reminder status stays
    assert invoices["INV-2"] == {"Paid": 0.0, "Balance": 500.0, "Status": "Open"}
    assert invoices["INV-4"] == {"Paid": 300.0, "Balance": 0.0, "Status": "Paid"}
    customers = by_key(plan.derived, "Customers")
    assert customers["C2"] == {"Balance": 150.0, "Overdue": 200.0}
    assert customers["C6"] == {"Balance": 0.0, "Overdue": 0.0}
    assert plan.lines == ("Dashboard: 61 cell(s) as of 2026-04-30", "Customers: 6 row(s) (Balance, Overdue)",
                          "Invoices: 5 row(s) (Paid, Balance, Status)")


def current_after(plan_updates: tuple, columns: bool = True) -> Current:
    """What the cells hold once ``plan_updates`` are written."""
    dashboard: dict = {}
    rows: dict[str, dict[str, dict]] = {"Invoices": {}, "Customers": {}}
    for u in plan_updates:
        if isinstance(u, SetAt):
            dashboard.update(u.cells)
    for sheet in rows:
        for key, values in by_key(plan_updates, sheet).items():
            rows[sheet].setdefault(key.casefold(), {}).update((h.casefold(), v) for h, v in values.items())
    for inv in BOOK.invoices:
        rows["Invoices"].setdefault(inv.key, {}).setdefault("status", inv.status)
    return Current(invoices=Cells.of_rows(rows["Invoices"], ("paid", "balance", "status")),
                   customers=Cells.of_rows(rows["Customers"], ("balance", "overdue")), dashboard=dashboard)


def test_with_current_values_only_changed_cells_are_written() -> None:
    ledger = Ledger.from_book(BOOK)
    first = plan_refresh(BOOK, ledger, AS_OF, 0)
    current = current_after(first.derived)
    again = plan_refresh(BOOK, ledger, AS_OF, 0, current)
    assert again.derived == ()
    assert again.lines == ("Nothing to write: the Dashboard and the add-in columns are up to date for 2026-04-30.",)

    current.invoices.set("inv-2", "balance", 499.99)  # someone typed over it
    current.dashboard[layout.FIGURES_BY_KEY["reminders_sent_30"].cell] = 1.0  # type: ignore[index]
    fixed = plan_refresh(BOOK, ledger, AS_OF, 0, current)
    assert fixed.derived == (SetAt("Dashboard", (("B9", 0),)),
                             SetColumn("Invoices", "Invoice No", "Balance", ("INV-2",), (500.0,)))


def test_the_next_day_moves_the_as_of_date_and_the_overdue_figures() -> None:
    ledger = Ledger.from_book(BOOK)
    current = current_after(plan_refresh(BOOK, ledger, AS_OF, 0).derived)
    later = plan_refresh(BOOK, ledger, dt.date(2026, 5, 16), 0, current)
    invoices = by_key(later.derived, "Invoices")
    assert invoices == {"INV-2": {"Paid": 500.0, "Balance": 0.0, "Status": "Paid"}}  # P4 dated 2026-05-02


def test_a_missing_dashboard_sheet_or_column_is_a_notice_and_is_not_written() -> None:
    current = Current(invoices=Cells([], {"paid": [], "balance": [], "status": []}),
                      customers=Cells([], {"balance": []}), dashboard=None)
    plan = plan_refresh(BOOK, Ledger.from_book(BOOK), AS_OF, 0, current)
    assert [str(p) for p in plan.problems] == [
        "notice: Dashboard: no such sheet, so the figures were not written — "
        "copy the Dashboard sheet from a workbook made by `receivables init`",
        'notice: Customers!1: no "Overdue" column, so it was not written — add a column headed "Overdue" in row 1 '
        "to see it",
    ]
    assert not any(isinstance(u, SetAt) for u in plan.derived)
    assert [u.header for u in plan.derived if u.sheet == "Customers"] == ["Balance"]


@pytest.mark.parametrize(("old", "new", "equal"), [
    (1234.5, 1234.5, True), (1234.5, D("1234.50"), True), (1234.504, D("1234.50"), True), (3.0, 3, True),
    ("", None, True), (None, None, True), (0.0, None, False), ("", 0.0, False), ("Open", "Open", True),
    ("open", "Open", False), (dt.datetime(2026, 4, 30), dt.date(2026, 4, 30), True),
    (dt.date(2026, 4, 29), dt.date(2026, 4, 30), False), ("1234.5", 1234.5, False),
])
def test_same_compares_cells_as_excel_shows_them(old: object, new: object, equal: bool) -> None:
    assert same(old, new) is equal


def test_reminders_sent_counts_messages_and_invoices_reminded_in_the_last_30_days(tmp_path: Path) -> None:
    from addin.journal import Journal

    with Journal.open(tmp_path / "book.xlsx") as journal:
        for key, day in (("reminder:INV-1:1", "2026-04-01"), ("manual-reminder:INV-2:2026-04-30", "2026-04-30"),
                         ("reminder:INV-3:2", "2026-03-31"), ("statement:C1:2026-04", "2026-04-15"),
                         ("reminder:INV-4:1", "2026-05-01"), ("reminders:C1:2026-04-20:INV-6=2,INV-7=1", "2026-04-20")):
            journal.begin(key, f"<{key}@x>", ["a@example.com"])
            journal.mark_sent(key)
            journal.conn.execute("UPDATE sends SET updated = ? WHERE key = ?", (f"{day}T12:00:00+00:00", key))
        journal.begin("reminder:INV-5:1", "<m@x>", ["a@example.com"])  # sending, not sent
        assert reminders_sent(journal, AS_OF, dt.UTC) == (3, 4)  # 3 messages, one of them for 2 invoices


def test_cells_line_up_with_any_record_order_and_take_updates_waiting_in_the_journal() -> None:
    from addin.dashboard import overlay

    cells = Cells(["inv-1", "inv-2"], {"paid": [10.0, ""], "status": ["Open", "Paid"]})
    current = Current(invoices=cells, customers=Cells(["c1"], {"balance": [5.0]}), dashboard={"B4": 1.0})
    overlay(current, [SetCells("Invoices", "Invoice No", " INV-2", (("Paid", 20.0), ("Balance", 0.0))),
                      SetCells("Customers", "Customer ID", "C1", (("Balance", 7.0),)),
                      SetCells("Invoices", "Invoice No", "INV-9", (("Paid", 1.0),)),  # not on the sheet
                      SetAt("Dashboard", (("B4", 2.0),)),
                      SetColumn("Invoices", "Invoice No", "Status", ("INV-1 ", "INV-8"), ("Overdue", "Open"))])
    assert cells.along(["inv-2", "inv-9", "inv-1"], "paid") == [20.0, cells.along(["x"], "paid")[0], 10.0]
    assert cells.along(["inv-2", "inv-1"], "status", "") == ["Paid", "Overdue"]
    assert cells.along(["inv-1"], "balance", "none") == ["none"]  # the sheet has no Balance column
    assert current.customers.columns == {"balance": [7.0]} and current.dashboard == {"B4": 2.0}
