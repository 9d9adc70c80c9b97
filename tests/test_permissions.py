"""Writing keeps the workbook's permissions; new files honour the umask like any program (POSIX)."""

from __future__ import annotations

import datetime as dt
import os
import stat
import sys
from pathlib import Path

import pytest

from addin.actions import SetCells, row
from addin.cli import main
from addin.journal import Journal
from addin.workbook import guard, store
from addin.workbook.files import write_atomically

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX modes; Windows files carry ACLs")

INVOICES = [["Invoice No", "Customer ID", "Invoice Date", "Due Date", "Amount", "Status"],
            ["INV-1", "C1", dt.date(2026, 3, 1), dt.date(2026, 3, 31), 100, None]]
SENT = SetCells("Invoices", "Invoice No", "INV-1", row(Status="Reminder 1 sent 2026-03-28"))


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def umask():
    """Set the umask for one test and put it back."""
    old = os.umask(0o022)
    try:
        yield os.umask
    finally:
        os.umask(old)


@pytest.mark.parametrize("private", [0o640, 0o600, 0o660])
def test_a_write_keeps_the_workbooks_mode_and_its_backup_too(make_workbook, umask, private) -> None:
    book = make_workbook({"Invoices": INVOICES})
    book.chmod(private)
    with Journal.open(book) as journal:
        assert store.write_updates(book, [SENT], journal).written
    assert mode(book) == private
    (backup,) = guard.backups(book)
    assert mode(backup) == private


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="only root may give a file away")
def test_a_write_keeps_the_workbooks_owner_and_group(make_workbook) -> None:
    book = make_workbook({"Invoices": INVOICES})
    os.chown(book, 4321, 8765)
    with Journal.open(book) as journal:
        assert store.write_updates(book, [SENT], journal).written
    assert (book.stat().st_uid, book.stat().st_gid) == (4321, 8765)


@pytest.mark.parametrize(("mask", "expected"), [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_init_makes_files_as_the_umask_says(tmp_path, umask, capsys, mask, expected) -> None:
    umask(mask)
    assert main(["init", str(tmp_path / "books.xlsx")]) == 0
    assert mode(tmp_path / "books.xlsx") == expected


def test_a_file_written_again_keeps_its_mode_and_a_new_one_follows_the_umask(tmp_path, umask) -> None:
    umask(0o027)
    new = write_atomically(tmp_path / "statements" / "a.csv", b"one")
    assert mode(new) == 0o640
    new.chmod(0o600)
    write_atomically(new, b"two")
    assert (new.read_bytes(), mode(new)) == (b"two", 0o600)
    assert sorted(p.name for p in new.parent.iterdir()) == ["a.csv"]  # no temporary file left
