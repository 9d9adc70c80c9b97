"""`receivables refresh`: the Dashboard and the add-in columns, written into a real workbook."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import shutil
import zipfile
from decimal import Decimal
from pathlib import Path

import pytest
from conftest import calamine, part, rezip, sheet_parts

from addin.cli import main
from addin.dashboard import carry_out, plan_book
from addin.journal import Journal
from addin.workbook import dashboard_layout as layout
from addin.workbook.reader import load

DEMO_DAY = "2026-06-10"
ADDIN = {"Customers": {"Balance", "Overdue"}, "Invoices": {"Paid", "Balance", "Status"}}
WRITTEN = {"Dashboard", "Customers", "Invoices"}


@pytest.fixture(scope="module")
def demo_master(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("demo") / "demo.xlsx"
    assert main(["init", str(path), "--demo"]) == 0
    return path


@pytest.fixture
def demo(demo_master: Path, tmp_path: Path) -> Path:
    return Path(shutil.copy(demo_master, tmp_path / "demo.xlsx"))


def values(path: Path) -> dict[str, list[list[object]]]:
    from python_calamine import CalamineWorkbook

    with CalamineWorkbook.from_path(str(path)) as wb:
        return {name: wb.get_sheet_by_name(name).to_python(skip_empty_area=False) for name in wb.sheet_names}


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def refresh(capsys: pytest.CaptureFixture[str], path: Path, day: str = DEMO_DAY) -> tuple[int, str]:
    code = main(["refresh", str(path), "--as-of", day])
    return code, capsys.readouterr().out


def test_the_template_has_the_dashboard_charts_reading_dashboard_cells(demo: Path, stored_parts) -> None:
    root = Path(__file__).resolve().parents[1]
    for path in (demo, root / "workbook_template.xlsx"):
        entries = stored_parts(path)
        assert {"xl/charts/chart1.xml", "xl/charts/chart2.xml", "xl/drawings/drawing1.xml"} <= set(entries)
        with zipfile.ZipFile(path) as z:
            charts = z.read("xl/charts/chart1.xml").decode() + z.read("xl/charts/chart2.xml").decode()
        assert "'Dashboard'!$B$14:$B$18" in charts and "'Dashboard'!$C$23:$C$32" in charts


def test_refresh_changes_only_dashboard_and_add_in_cells(demo: Path, capsys: pytest.CaptureFixture[str],
                                                        stored_parts) -> None:
    before_raw, before = stored_parts(demo), values(demo)
    code, out = refresh(capsys, demo)
    assert code == 0, out
    assert out.splitlines() == ["Refresh of demo.xlsx as of 2026-06-10", "Dashboard: 60 cell(s) as of 2026-06-10",
                                "Customers: 48 row(s) (Balance, Overdue)",
                                "Invoices: 234 row(s) (Paid, Balance, Status)", "The workbook was updated."]
    after_raw, after = stored_parts(demo), values(demo)
    assert list(after_raw) == list(before_raw)  # same parts, same order
    parts = sheet_parts(demo)
    changed = {n for n in before_raw if before_raw[n] != after_raw[n]}
    assert changed == {parts[s] for s in WRITTEN}
    assert all(before_raw[n] == after_raw[n] for n in before_raw if n.startswith(("xl/charts/", "xl/drawings/")))
    for sheet, rows in before.items():
        new = after[sheet]
        if sheet not in WRITTEN:
            assert new == rows, sheet
            continue
        if sheet == "Dashboard":
            value_cells = set(layout.cell_values(dt.date.min, {}, (), ()))
            allowed = {(int(m.group(2)), m.group(1)) for m in map(re.compile(r"([A-Z]+)(\d+)").fullmatch, value_cells)}
            for r, row in enumerate(rows, 1):
                for c, v in enumerate(row):
                    if (r, "ABCDEFGHIJ"[c]) not in allowed:
                        assert new[r - 1][c] == v, (r, c)
            continue
        heads = rows[0]
        keep = [i for i, h in enumerate(heads) if h not in ADDIN[sheet]]
        assert len(new) == len(rows)
        assert [[row[i] for i in keep] for row in new] == [[row[i] for i in keep] for row in rows], sheet


def test_refreshed_values_are_the_ledgers(demo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from addin.ledger import Ledger
    from addin.money import D
    from addin.workbook.reader import load

    refresh(capsys, demo)
    book = load(demo)
    day = dt.date.fromisoformat(DEMO_DAY)
    ledger = Ledger.from_book(book)
    got = values(demo)
    customers = got["Customers"]
    head = customers[0]
    b, o = head.index("Balance"), head.index("Overdue")
    expected = {c.id: ledger.summary(c.id, day) for c in book.customers}
    for row in customers[1:]:
        if row[0]:
            assert (D(row[b]), D(row[o])) == (expected[row[0]].balance, expected[row[0]].overdue_balance)
    dash = got["Dashboard"]
    total = sum((s.balance for s in expected.values()), Decimal(0))
    assert D(dash[4][1]) == total  # B5
    assert D(dash[18][1]) == total  # B19, the ageing table's total
    invoices = got["Invoices"]
    head = invoices[0]
    paid, bal, status = head.index("Paid"), head.index("Balance"), head.index("Status")
    for row in invoices[1:]:
        inv = book.invoice(row[0])
        item = ledger.item(inv, day)
        assert (D(row[paid]), D(row[bal])) == (item.paid, item.balance)
        assert (row[status] == "Paid") == (item.balance == 0)


def test_refresh_twice_writes_nothing_the_second_time(demo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    refresh(capsys, demo)
    first = sha(demo)
    backups = sorted((demo.parent / ".receivables-backups").iterdir())
    code, out = refresh(capsys, demo)
    assert code == 0
    assert out.splitlines()[1:] == [
        "Nothing to write: the Dashboard and the add-in columns are up to date for 2026-06-10."]
    assert sha(demo) == first
    assert sorted((demo.parent / ".receivables-backups").iterdir()) == backups


def test_refresh_while_the_workbook_is_open_waits_and_writes_after_it_is_closed(
        demo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    original = sha(demo)
    owner = demo.with_name("~$demo.xlsx")
    owner.write_bytes(b"Ana")
    code, out = refresh(capsys, demo)
    assert code == 0
    assert out.splitlines()[-1] == ("The workbook is open in Excel: the figures will be refreshed at the next run "
                                    "after it is closed.")
    assert sha(demo) == original
    with Journal.open(demo) as journal:  # derived figures are computed again, never queued
        assert journal.pending_updates() == []
    owner.unlink()
    code, out = refresh(capsys, demo)
    assert code == 0 and out.splitlines()[-1] == "The workbook was updated."
    assert values(demo)["Dashboard"][1][1] == dt.date(2026, 6, 10)
    written = sha(demo)
    refresh(capsys, demo)
    assert sha(demo) == written


def test_the_daemons_door_returns_what_it_did(demo: Path) -> None:
    from addin.dashboard import refresh as daemon_refresh

    lines = daemon_refresh(demo, dt.date(2026, 6, 10))
    assert lines[0] == "Dashboard: 60 cell(s) as of 2026-06-10" and lines[-1] == "The workbook was updated."
    assert daemon_refresh(demo, dt.date(2026, 6, 10)) == [
        "Nothing to write: the Dashboard and the add-in columns are up to date for 2026-06-10."]


def test_a_plain_workbook_gets_its_add_in_columns_and_a_notice_for_the_missing_dashboard(
        make_workbook, capsys: pytest.CaptureFixture[str]) -> None:
    path = make_workbook({
        "Customers": [["Customer ID", "Name", "Status", "Email", "Balance"],
                      ["C1", "Alpha", "Active", "a@example.com", None],
                      ["C2", "Beta", "Active", "b@example.com", 99]],
        "Invoices": [["Invoice No", "Customer ID", "Invoice Date", "Due Date", "Amount", "Paid", "Balance", "Status"],
                     ["INV-1", "C1", dt.date(2026, 3, 1), dt.date(2026, 3, 31), 1000, None, None, None],
                     ["INV-2", "C2", dt.date(2026, 4, 1), dt.date(2026, 5, 31), 250.5, None, None, "Reminder 1 sent"],
                     ["INV-3", "C2", dt.date(2026, 4, 2), dt.date(2026, 4, 12), 80, None, None, None]],
        "Payments": [["Payment ID", "Customer ID", "Date", "Amount", "Invoice No"],
                     ["P1", "C1", dt.date(2026, 4, 10), 400, "INV-1"],
                     ["P2", "C2", dt.date(2026, 4, 20), 80, "INV-3"]],
    })
    code, out = refresh(capsys, path, "2026-04-30")
    assert code == 0
    assert out.splitlines() == [
        "Refresh of book.xlsx as of 2026-04-30",
        "Customers: 2 row(s) (Balance)",
        "Invoices: 3 row(s) (Paid, Balance, Status)",
        "The workbook was updated.",
        "notice: Dashboard: no such sheet, so the figures were not written — "
        "copy the Dashboard sheet from a workbook made by `receivables init`",
        'notice: Customers!1: no "Overdue" column, so it was not written — '
        'add a column headed "Overdue" in row 1 to see it',
    ]
    got = values(path)
    assert [r[4] for r in got["Customers"][1:]] == [600.0, 250.5]
    assert [r[5:8] for r in got["Invoices"][1:]] == [
        [400.0, 600.0, "Overdue"], [0.0, 250.5, "Open"], [80.0, 0.0, "Paid"]]


def test_a_missing_workbook_is_bad_usage(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["refresh", str(tmp_path / "nope.xlsx")]) == 2
    assert "nope.xlsx: no such workbook" in capsys.readouterr().err


def test_a_refresh_after_rows_moved_writes_each_invoice_on_its_own_row(make_workbook) -> None:
    """Read, then someone inserts a row above the invoices and saves: the figures follow the keys."""
    src = make_workbook({
        "Customers": [["Customer ID", "Name", "Status", "Email"], ["C1", "Alpha", "Active", "a@example.com"]],
        "Invoices": [["Invoice No", "Customer ID", "Invoice Date", "Due Date", "Amount", "Paid", "Balance", "Status"],
                     ["INV-1", "C1", dt.date(2026, 3, 1), dt.date(2026, 3, 31), 100, None, None, None],
                     ["INV-2", "C1", dt.date(2026, 3, 2), dt.date(2026, 4, 1), 200, None, None, None]],
        "Payments": [["Payment ID", "Customer ID", "Date", "Amount", "Invoice No"],
                     ["P1", "C1", dt.date(2026, 3, 10), 40, "INV-2"]],
    })
    book = load(src)
    invoices = sheet_parts(src)["Invoices"]
    rezip(src, {invoices: _shift_rows(part(src, invoices))})
    done = carry_out(plan_book(book, dt.date(2026, 4, 30)), src, book.settings)
    assert done.written
    rows = calamine(src, "Invoices")
    assert set(rows[1]) == {""}  # the inserted row stays empty
    assert rows[2][0] == "INV-1" and rows[2][5:8] == [0.0, 100.0, "Overdue"]
    assert rows[3][0] == "INV-2" and rows[3][5:8] == [40.0, 160.0, "Overdue"]


def _shift_rows(xml: bytes) -> bytes:
    """Every row from 2 down moves one down (an empty row 2 is left), as Excel's Insert Row does."""
    import re

    def row_tag(m: re.Match[bytes]) -> bytes:
        n = int(m.group(1))
        return b'<row r="%d"' % (n + 1 if n >= 2 else n)

    def cell_ref(m: re.Match[bytes]) -> bytes:
        n = int(m.group(2))
        return b'<c r="%s%d"' % (m.group(1), n + 1 if n >= 2 else n)

    return re.sub(rb'<c r="([A-Z]+)(\d+)"', cell_ref, re.sub(rb'<row r="(\d+)"', row_tag, xml))


@pytest.mark.parametrize("door", ["command", "daemon"])
def test_the_refresh_lets_go_of_the_records_before_it_writes(demo: Path, monkeypatch: pytest.MonkeyPatch,
                                                            door: str) -> None:
    """The write's memory comes on top of what is still held: a 100,000-invoice book is ~200 MB,
    and the ledger kept for it (``Ledger.from_book``) holds its records too."""
    import gc
    import weakref

    from addin import dashboard
    from addin import ledger as ledgers
    from addin.workbook import reader, store

    books: list[weakref.ref] = []
    records: list[tuple[object, ...]] = []
    alive_at_write: list[bool] = []
    read, write = reader.load, store.flush_pending

    def load(path: Path):  # noqa: ANN202
        book = read(path)
        books.append(weakref.ref(book))
        records.append(book.invoices)
        return book

    def flush_pending(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        gc.collect()
        kept = any(kept.invoices is records[0] for kept in ledgers._MADE)  # no public door shows it
        alive_at_write.append(books[0]() is not None or kept)
        return write(*args, **kwargs)

    monkeypatch.setattr(reader, "load", load)
    monkeypatch.setattr(store, "flush_pending", flush_pending)
    if door == "daemon":
        assert "The workbook was updated." in dashboard.refresh(demo, dt.date.fromisoformat(DEMO_DAY))
    else:
        assert main(["refresh", str(demo), "--as-of", DEMO_DAY]) == 0
    assert alive_at_write == [False]


def crashed_while_sending(tmp_path: Path, *, written: bool) -> tuple[Path, str]:
    """A workbook whose journal holds a reminder a dead process left 'sending' (``written``: its
    file is whole in the outbox); the workbook's path and the message's key."""
    import socket

    from conftest import write_workbook

    from addin.actions import Email, LogEntry, SetCells
    from addin.mail.message import build_message
    from addin.mail.transport import OutboxTransport

    path = write_workbook(tmp_path / "book.xlsx", {
        "Settings": [["Key", "Value"], ["company_name", "Maple"], ["company_email", "billing@maple.example"]],
        "Customers": [["Customer ID", "Name", "Status", "Email"], ["C1", "Alpha", "Active", "a@example.com"]],
        "Invoices": [["Invoice No", "Customer ID", "Invoice Date", "Due Date", "Amount", "Paid", "Balance", "Status",
                      "Last Reminder"],
                     ["INV-1", "C1", dt.date(2026, 3, 1), dt.date(2026, 3, 31), 100, 0, 100, "Open", None]],
    })
    sent = Email(key="reminder:INV-1:1", to=("a@example.com",), subject="Reminder", text="Hello", html="<p>Hello</p>",
                 log=LogEntry("reminder 1", "INV-1"),
                 on_sent=(SetCells("Invoices", "Invoice No", "INV-1", (("Status", "Reminder 1 sent 2026-04-20"),
                                                                      ("Last Reminder", dt.date(2026, 4, 20)))),))
    book = load(path)
    message = build_message(sent, book.settings, now=dt.datetime(2026, 4, 20, 9), base_dir=tmp_path)
    with Journal.open(path) as crashed:
        crashed.begin(sent.key, str(message["Message-ID"]), list(sent.to), sent.on_sent)
        crashed.conn.execute("UPDATE sends SET owner = ?", (f"{socket.gethostname()}:999999:x",))  # a dead process
    if written:
        OutboxTransport(tmp_path / "outbox").send(message, "billing@maple.example", list(sent.to), sent.key)
    return path, sent.key


def test_a_message_a_crashed_run_left_whole_in_the_outbox_keeps_its_status_through_a_refresh(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The refresh settles the crashed run's messages before it plans: the one found sent queues
    its Status, and the refresh's own Status for that invoice must not write over it."""
    path, key = crashed_while_sending(tmp_path, written=True)
    code, out = refresh(capsys, path, "2026-04-30")
    assert code == 0
    assert "reminder:INV-1:1: found whole in the outbox after a run stopped — recorded as sent" in out
    invoice = dict(zip(calamine(path, "Invoices")[0], calamine(path, "Invoices")[1], strict=True))
    assert invoice["Status"] == "Reminder 1 sent 2026-04-20"
    assert invoice["Last Reminder"] == dt.date(2026, 4, 20)
    with Journal.open(path) as journal:
        assert journal.state(key) == "sent"
    log = calamine(path, "Log")
    [found] = [dict(zip(log[0], r, strict=True)) for r in log[1:] if key in r]
    assert (found["Recipients"], found["Status"]) == ("a@example.com", "sent")  # its Log row, recipients kept


def test_a_refresh_that_finds_a_crashed_runs_message_uncertain_says_so(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path, key = crashed_while_sending(tmp_path, written=False)
    code, out = refresh(capsys, path, "2026-04-30")
    assert f"message {key} may have been sent (uncertain) — check the recipient's mailbox, then run " \
           f"`receivables journal release {path} {key}`" in out
    with Journal.open(path) as journal:
        assert journal.state(key) == "uncertain"
