"""One journal per workbook file, and the adoption of a journal named the old way (books.receivables.sqlite)."""

from __future__ import annotations

import datetime as dt
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from addin.cli import main
from addin.journal import Journal, JournalError, journal_path

d = dt.date


def test_books_xlsx_and_books_ods_in_one_folder_have_a_journal_each(tmp_path: Path) -> None:
    xlsx, ods = tmp_path / "books.xlsx", tmp_path / "books.ods"
    with Journal.open(xlsx) as j:
        assert j.begin("reminder:INV-1:1", "<m@x>", ["a@x.example"])
        j.mark_sent("reminder:INV-1:1")
        assert j.path == tmp_path / "books.xlsx.receivables.sqlite"
    with Journal.open(ods) as j:
        assert j.path == tmp_path / "books.ods.receivables.sqlite"
        assert j.state("reminder:INV-1:1") is None and j.pending_updates() == []


def old_journal(folder: Path, key: str = "reminder:INV-1:1") -> Path:
    """A journal as the earlier version named it, with one sent message, left with its WAL (a crash)."""
    old = folder / "books.receivables.sqlite"
    script = (
        "import os, sys\nfrom pathlib import Path\nfrom addin import journal\n"
        "j = journal.Journal.open(Path(sys.argv[1]))\n"
        "j.conn.execute('PRAGMA wal_autocheckpoint = 0')\n"
        "j.begin(sys.argv[2], '<m@x>', ['a@x.example'])\nj.mark_sent(sys.argv[2])\n"
        "os._exit(0)  # no close: the sent record lives in the WAL only\n")
    fake = folder / "books"  # a workbook without a suffix: its journal has the old name
    subprocess.run([sys.executable, "-c", script, str(fake), key], check=True)
    assert old.exists() and Path(f"{old}-wal").exists()
    return old


def test_an_old_journal_beside_books_xlsx_is_adopted_with_every_record(tmp_path: Path) -> None:
    old = old_journal(tmp_path)
    book = tmp_path / "books.xlsx"
    assert Journal.exists(book) and not Journal.exists(tmp_path / "books.ods")
    with Journal.open(book) as j:
        assert j.path == journal_path(book) == tmp_path / "books.xlsx.receivables.sqlite"
        assert j.state("reminder:INV-1:1") == "sent"
    assert not old.exists() and not Path(f"{old}-wal").exists()


def test_an_xlsm_adopts_it_too(tmp_path: Path) -> None:
    old_journal(tmp_path)
    with Journal.open(tmp_path / "books.xlsm") as j:
        assert j.state("reminder:INV-1:1") == "sent"


def test_an_ods_never_adopts_it(tmp_path: Path) -> None:
    old = old_journal(tmp_path)
    with Journal.open(tmp_path / "books.ods") as j:
        assert j.state("reminder:INV-1:1") is None
    assert old.exists()


def test_an_old_journal_another_program_has_open_is_left_alone_with_a_clear_message(tmp_path: Path) -> None:
    old = old_journal(tmp_path)
    holder = subprocess.Popen([sys.executable, "-c", "import sqlite3, sys\nc = sqlite3.connect(sys.argv[1])\n"
                               "c.execute('SELECT count(*) FROM sends').fetchall()\nprint('open', flush=True)\n"
                               "sys.stdin.read()\n", str(old)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "open\n"
        import addin.journal

        addin.journal.BUSY_MS, busy = 200, addin.journal.BUSY_MS
        try:
            with pytest.raises(JournalError) as caught:
                Journal.open(tmp_path / "books.xlsx")
        finally:
            addin.journal.BUSY_MS = busy
    finally:
        holder.communicate("")
    assert str(caught.value) == (
        f"{old}: the journal of an earlier version cannot be taken over (database is locked) — stop every "
        "receivables process (the daemon too), then run again; it becomes books.xlsx.receivables.sqlite")
    assert not (tmp_path / "books.xlsx.receivables.sqlite").exists()
    with Journal.open(tmp_path / "books.xlsx") as j:  # once it is closed
        assert j.state("reminder:INV-1:1") == "sent"


def test_an_old_journal_shared_by_books_xlsx_and_books_xlsm_waits_for_a_person(tmp_path: Path) -> None:
    old = old_journal(tmp_path)
    (tmp_path / "books.xlsx").write_bytes(b"")
    (tmp_path / "books.xlsm").write_bytes(b"")
    with pytest.raises(JournalError) as caught:
        Journal.open(tmp_path / "books.xlsm")
    assert str(caught.value) == (
        f"{old}: this journal of an earlier version is shared by books.xlsm and books.xlsx, and whose history it "
        "holds cannot be told — rename it books.xlsm.receivables.sqlite or books.xlsx.receivables.sqlite, after "
        "the workbook its messages were sent from; nothing is sent from these workbooks until then")
    assert old.exists()


def tables() -> dict:
    return {
        "Settings": [["Key", "Value"], ["company_name", "Maple Books Ltd"],
                     ["company_email", "billing@maple.example"], ["reminders_enabled", True],
                     ["reminders_attach_pdf", False]],
        "Customers": [["Customer ID", "Name", "Status", "Email"], ["C1", "Acme Ltd", "Active", "ap@acme.example"]],
        "Invoices": [["Invoice No", "Customer ID", "Invoice Date", "Due Date", "Amount"],
                     ["INV-1", "C1", d(2026, 3, 1), d(2026, 3, 31), 1000]],
        "Reminders": [["Reminder", "Enabled", "Days", "When"], [1, True, 3, "Before"]],
    }


def test_what_an_earlier_version_sent_is_not_sent_again_after_the_upgrade(make_workbook, tmp_path, capsys) -> None:
    wb = make_workbook(tables(), name="books.xlsx")
    outbox = tmp_path / "outbox"
    run = ["reminders", "run", str(wb), "--as-of", "2026-03-28", "--outbox", str(outbox)]
    assert main(run) == 0 and len(list(outbox.glob("*.eml"))) == 1
    # as the earlier version left it: the journal under the old name, the Status not yet in the file
    journal_path(wb).rename(tmp_path / "books.receivables.sqlite")
    wb.unlink()
    make_workbook(tables(), name="books.xlsx")
    capsys.readouterr()
    assert main(run) == 0
    assert capsys.readouterr().out == "No automatic reminder is due on 2026-03-28.\n"
    assert len(list(outbox.glob("*.eml"))) == 1
    assert journal_path(wb).exists() and not (tmp_path / "books.receivables.sqlite").exists()


def test_a_journal_error_is_one_line_and_exit_2(make_workbook, tmp_path, capsys) -> None:
    wb = make_workbook(tables(), name="books.xlsx")
    make_workbook(tables(), name="books.xlsm")
    sqlite3.connect(tmp_path / "books.receivables.sqlite").close()
    assert main(["reminders", "run", str(wb), "--as-of", "2026-03-28", "--outbox", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {tmp_path / 'books.receivables.sqlite'}: this journal of an earlier version is "
                          "shared by books.xlsx and books.xlsm")
    assert not (tmp_path / "out").exists()


def test_a_workbook_not_saved_yet_adopts_it_when_its_sibling_is_another_kind(tmp_path: Path) -> None:
    old_journal(tmp_path)
    (tmp_path / "books.ods").write_bytes(b"")  # an .ods never claims it
    with Journal.open(tmp_path / "books.xlsx") as j:
        assert j.state("reminder:INV-1:1") == "sent"
