"""Writing into the user's workbook: queued in the journal, deferred while open, never half-done."""

from __future__ import annotations

import datetime as dt
import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from addin import procs
from addin.actions import AppendRows, ReplaceRows, SetCells, row
from addin.journal import Journal
from addin.workbook import guard, store
from addin.workbook.writer import apply

INVOICES = [["Invoice No", "Customer ID", "Invoice Date", "Due Date", "Amount", "Status"],
            ["INV-1", "C1", dt.date(2026, 3, 1), dt.date(2026, 3, 31), 100, None],
            ["INV-2", "C2", dt.date(2026, 3, 2), dt.date(2026, 4, 1), 200, None]]
SENT = SetCells("Invoices", "Invoice No", "INV-2", row(Status="Reminder 1 sent 2026-04-07"))
LOGGED = AppendRows("Log", (row(Action="reminder 1", Target="INV-2"),))


def cells(path: Path, sheet: str) -> list[list[object]]:
    from python_calamine import CalamineWorkbook

    with CalamineWorkbook.from_path(str(path)) as wb:
        return wb.get_sheet_by_name(sheet).to_python()


@pytest.fixture
def book(make_workbook) -> Path:
    return make_workbook({"Invoices": INVOICES, "Log": [["Time", "Action", "Target"]]})


@pytest.fixture
def journal(book: Path):
    with Journal.open(book) as j:
        yield j


def test_updates_are_written_and_marked_applied_exactly_once(book: Path, journal: Journal) -> None:
    result = store.write_updates(book, [SENT, LOGGED], journal)
    assert (result.written, result.deferred, result.problems) == (True, False, [])
    assert journal.pending_updates() == []
    assert cells(book, "Invoices")[2][5] == "Reminder 1 sent 2026-04-07"
    assert cells(book, "Log")[1:] == [["", "reminder 1", "INV-2"]]
    again = store.flush_pending(book, journal)
    assert not again.written and cells(book, "Log")[1:] == [["", "reminder 1", "INV-2"]]
    assert [p.name for p in guard.backups(book)] and not list(book.parent.glob("*.receivables-tmp*"))
    assert not (book.parent / (book.name + store.LOCK_SUFFIX)).exists()


def test_an_open_workbook_is_left_untouched_and_written_after_it_is_closed(book: Path, journal: Journal) -> None:
    before = book.read_bytes()
    owner = book.parent / ("~$" + book.name)
    owner.write_bytes(b"\x03Ana")
    result = store.write_updates(book, [SENT, LOGGED], journal)
    assert (result.written, result.deferred) == (False, True)
    assert [str(p) for p in result.problems] == [
        "notice: the workbook is open in Excel: 2 updates will be written at the next run after it is closed"
        " — close book.xlsx, then run `receivables refresh`, `receivables reminders run` or `receivables groups build`"
        " on it (or let the daemon run)"]
    assert book.read_bytes() == before
    assert [u for _, u in journal.pending_updates()] == [SENT, LOGGED]
    owner.unlink()
    later = store.flush_pending(book, journal)
    assert later.written and journal.pending_updates() == []
    assert cells(book, "Invoices")[2][5] == "Reminder 1 sent 2026-04-07"


def test_a_persons_edit_between_read_and_write_is_kept(book: Path, journal: Journal) -> None:
    edited = book.with_name("edited.xlsx")
    apply(book, edited, [SetCells("Invoices", "Invoice No", "INV-1", row(Amount=150, Customer_ID="C7"))])
    os.replace(edited, book)  # the bookkeeper saved in Excel meanwhile
    result = store.write_updates(book, [SENT], journal)
    assert result.written
    rows = cells(book, "Invoices")
    assert rows[1][1] == "C7" and rows[1][4] == 150
    assert rows[2][5] == "Reminder 1 sent 2026-04-07"


def test_a_refused_deletion_stays_pending_and_the_other_updates_are_written(make_workbook) -> None:
    path = make_workbook({"Group Members": [["Group", "Customer ID", "Source", "Count"],
                                            ["VIP", "C1", "Rule", None], ["VIP", "C2", "Added", "=COUNTA(A:A)"]],
                          "Invoices": INVOICES})
    with Journal.open(path) as journal:
        delete = ReplaceRows("Group Members", (("Group", "VIP"), ("Source", "Rule")))
        result = store.write_updates(path, [delete, SENT], journal)
        assert result.written
        assert [str(p) for p in result.problems] == [
            "'Group Members': rows cannot be deleted: formulas below row 2 would have to move"
            " — remove them from the Group Members sheet (it should hold plain data only)"]
        assert [u for _, u in journal.pending_updates()] == [delete]
        assert cells(path, "Invoices")[2][5] == "Reminder 1 sent 2026-04-07"


def test_a_key_not_found_is_reported_and_not_retried(book: Path, journal: Journal) -> None:
    missing = SetCells("Invoices", "Invoice No", "INV-9", row(Status="x"))
    result = store.write_updates(book, [missing], journal)
    assert result.written and journal.pending_updates() == []
    assert [p.message for p in result.problems] == ['Invoice No "INV-9" was not found, so its row was not updated']


def test_another_process_holding_the_lock_defers_the_write(book: Path, journal: Journal, monkeypatch) -> None:
    lock = book.with_name(book.name + store.LOCK_SUFFIX)
    parent = os.getppid()  # alive for the whole test
    import socket

    lock.write_text(f"{socket.gethostname()} {parent}")
    monkeypatch.setattr(store, "LOCK_WAIT", 0.2)
    before = book.read_bytes()
    result = store.write_updates(book, [SENT], journal)
    assert result.deferred and book.read_bytes() == before
    assert result.problems[0].message.startswith("another receivables process is writing the workbook: 1 update")
    lock.unlink()


def test_figures_alone_not_written_for_another_process_holding_the_lock_are_deferred(
        book: Path, journal: Journal, monkeypatch) -> None:
    # Derived updates (a refresh's figures) are never queued: the result still says they were not written.
    lock = book.with_name(book.name + store.LOCK_SUFFIX)
    import socket

    lock.write_text(f"{socket.gethostname()} {os.getppid()}")
    monkeypatch.setattr(store, "LOCK_WAIT", 0.2)
    before = book.read_bytes()
    result = store.flush_pending(book, journal, derived=[SENT])
    assert result.deferred and not result.written and book.read_bytes() == before
    assert journal.pending_updates() == []  # computed again at the next refresh, not queued
    lock.unlink()


def test_a_lock_left_by_a_dead_process_is_broken(book: Path, journal: Journal) -> None:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    import socket

    book.with_name(book.name + store.LOCK_SUFFIX).write_text(f"{socket.gethostname()} {child.pid}")
    assert not procs.pid_alive(child.pid)
    assert store.write_updates(book, [SENT], journal).written


def test_a_crash_between_replace_and_journal_does_not_write_twice(book: Path, journal: Journal,
                                                                   monkeypatch) -> None:
    def crash(ids):
        raise KeyboardInterrupt("killed")

    monkeypatch.setattr(journal, "mark_updates_applied", crash)
    with pytest.raises(KeyboardInterrupt):
        store.write_updates(book, [LOGGED], journal)
    monkeypatch.undo()
    assert len(journal.pending_updates()) == 1  # the file has the row, the journal does not know yet
    store.flush_pending(book, journal)
    assert journal.pending_updates() == []
    assert cells(book, "Log")[1:] == [["", "reminder 1", "INV-2"]]  # once, not twice


CHILD = textwrap.dedent("""
    import sys
    from pathlib import Path
    from addin.actions import AppendRows, row
    from addin.journal import Journal
    from addin.workbook import store
    path = Path(sys.argv[1])
    with Journal.open(path) as journal:
        for i in range(1000):
            store.write_updates(path, [AppendRows("Log", (row(Action=f"{sys.argv[2]}-{i}"),))], journal, keep_backups=1)
            print(i, flush=True)
""")


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX")
def test_a_write_killed_at_any_moment_leaves_the_old_or_the_new_workbook(make_workbook, tmp_path: Path) -> None:
    big = [["Invoice No", "Customer ID", "Amount", "Memo"]] + [
        [f"INV-{i}", f"C{i % 97}", i * 1.25, "x" * 40] for i in range(20_000)]
    path = make_workbook({"Invoices": big, "Log": [["Time", "Action", "Target"]]})
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    rnd = random.Random(7)
    seen: list[int] = []
    for k in range(6):
        child = subprocess.Popen([sys.executable, str(script), str(path), f"child{k}"], cwd=Path(__file__).parent.parent,
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        time.sleep(rnd.uniform(0.3, 2.5))
        child.send_signal(signal.SIGKILL)
        child.wait()
        log = cells(path, "Log")  # opens: the file at the path is always a whole workbook
        assert log[0] == ["Time", "Action", "Target"]
        assert len(cells(path, "Invoices")) == 20_001
        seen.append(len(log))
    assert seen == sorted(seen) and seen[-1] > 1
    with Journal.open(path) as journal:  # the next run takes over: stale lock broken, leftovers written
        result = store.flush_pending(path, journal)
        assert not result.deferred and journal.pending_updates() == []
    actions = [r[1] for r in cells(path, "Log")[1:]]
    assert len(actions) == len(set(actions))  # nothing written twice


def test_a_process_waiting_for_the_write_lock_says_for_whom_within_seconds(book: Path, journal: Journal, monkeypatch,
                                                                            capsys) -> None:
    import socket

    lock = book.with_name(book.name + store.LOCK_SUFFIX)
    lock.write_text(f"{socket.gethostname()} {os.getppid()}\nreminders run")  # alive for the whole test
    monkeypatch.setattr(store, "LOCK_WAIT", 0.6)
    monkeypatch.setattr(store, "SAY_AFTER", 0.2)
    assert store.write_updates(book, [SENT], journal).deferred
    assert capsys.readouterr().err == (
        f"waiting for receivables (pid {os.getppid()}: reminders run) to finish writing book.xlsx…\n")
    lock.unlink()


def test_the_lock_file_names_the_command_that_holds_it(book: Path, monkeypatch) -> None:
    import socket

    from addin import procs

    monkeypatch.setattr(procs, "_doing", "groups build")
    with store.WorkbookLock(book) as lock:
        assert lock.path.read_text(encoding="utf-8") == f"{socket.gethostname()} {os.getpid()}\ngroups build"
        assert store.WorkbookLock(book).holder() == f"receivables (pid {os.getpid()}: groups build)"
    assert not lock.path.exists()
