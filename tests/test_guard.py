"""The steps around a write: owner files, fingerprints, atomic replace, backups, the copy read back."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pytest

from addin.workbook import guard


@pytest.fixture
def book(make_workbook) -> Path:
    return make_workbook({}, name="Receivables.xlsx")


def age(path: Path, days: float) -> None:
    t = (dt.datetime.now() - dt.timedelta(days=days)).timestamp()
    os.utime(path, (t, t))


@pytest.mark.parametrize("owner", ["~$Receivables.xlsx", "~$ceivables.xlsx", ".~lock.Receivables.xlsx#"])
def test_owner_files_of_excel_and_libreoffice_mean_the_workbook_is_open(book: Path, owner: str) -> None:
    assert guard.find_owner(book)[0] is None
    (book.parent / owner).write_bytes(b"\x03Ana")
    assert guard.find_owner(book)[0] == book.parent / owner


def test_a_stale_owner_file_is_ignored_with_a_warning(book: Path) -> None:
    owner = book.parent / "~$Receivables.xlsx"
    owner.write_bytes(b"\x03Ana")
    age(owner, 3)
    found, problems = guard.find_owner(book)
    assert found is None
    assert [str(p) for p in problems] == [
        "warning: ~$Receivables.xlsx looks left over from a crash (older than the workbook's last save, "
        "3 days old), so it was ignored — delete ~$Receivables.xlsx if nobody has Receivables.xlsx open"]


def test_an_old_owner_file_newer_than_the_last_save_still_counts(book: Path) -> None:
    owner = book.parent / "~$Receivables.xlsx"
    owner.write_bytes(b"\x03Ana")
    age(book, 5)
    age(owner, 3)  # opened three days ago, still open over the weekend
    assert guard.find_owner(book)[0] == owner


def test_fingerprint_changes_with_the_content(book: Path) -> None:
    first = guard.fingerprint(book)
    assert first == guard.fingerprint(book) and first.size == book.stat().st_size
    book.write_bytes(book.read_bytes() + b" ")
    assert first != guard.fingerprint(book)  # what the store compares before it replaces the file


def test_replace_atomically_retries_while_windows_holds_the_file(tmp_path: Path, monkeypatch) -> None:
    target, tmp = tmp_path / "book.xlsx", tmp_path / "new.xlsx"
    target.write_bytes(b"old")
    tmp.write_bytes(b"new")
    real, calls = os.replace, []

    def sharing_violation_twice(a, b):
        calls.append(a)
        if len(calls) < 3:
            raise PermissionError(32, "The process cannot access the file")
        real(a, b)

    monkeypatch.setattr(guard.os, "replace", sharing_violation_twice)
    guard.replace_atomically(tmp, target, first_wait=0.001)
    assert target.read_bytes() == b"new" and not tmp.exists() and len(calls) == 3


def test_replace_atomically_gives_up_after_its_tries(tmp_path: Path, monkeypatch) -> None:
    target, tmp = tmp_path / "book.xlsx", tmp_path / "new.xlsx"
    target.write_bytes(b"old")
    tmp.write_bytes(b"new")

    def always(a, b):
        raise PermissionError(32, "locked")

    monkeypatch.setattr(guard.os, "replace", always)
    with pytest.raises(PermissionError):
        guard.replace_atomically(tmp, target, tries=3, first_wait=0.001)
    assert target.read_bytes() == b"old"


def test_backups_keep_only_the_newest_copies_of_this_workbook(book: Path) -> None:
    other = book.parent / "Other.xlsx"
    other.write_bytes(b"other")
    guard.backup(other, 5)
    start = dt.datetime(2026, 4, 7, 8, 0)
    for i in range(7):
        book.write_bytes(f"version {i}".encode())
        guard.backup(book, 5, now=start + dt.timedelta(minutes=i))
    kept = guard.backups(book)
    assert [p.name for p in kept] == [f"Receivables.20260407-08{i:02d}00-000000.xlsx" for i in range(2, 7)]
    assert kept[-1].read_bytes() == b"version 6"
    assert len(guard.backups(other)) == 1
    assert guard.backup(book, 0) is None


def test_verify_accepts_a_workbook_and_rejects_a_broken_one(book: Path, tmp_path: Path) -> None:
    assert guard.verify(book, ["Invoices"]) == []
    assert [str(p) for p in guard.verify(book, ["Log"])] == [
        "Log: the written workbook lacks this sheet — report this as a bug"]
    broken = tmp_path / "broken.xlsx"
    broken.write_bytes(book.read_bytes()[:500])
    problems = guard.verify(broken)
    assert len(problems) == 1 and "did not open again" in problems[0].message


@pytest.mark.parametrize("order", [["Log", "Invoices", "Dashboard"], ["Invoices", "Dashboard", "Log"]])
def test_verify_reads_every_sheet_written_and_rejects_a_broken_one_in_any_order(
        make_workbook, order: list[str]) -> None:
    from conftest import rezip

    book = make_workbook({"Invoices": [["Invoice No"], ["INV-1"]], "Log": [["Time"]], "Dashboard": [["x"]]},
                         required=False)
    assert guard.verify(book, order) == []
    rezip(book, {"xl/worksheets/sheet2.xml": b'<worksheet xmlns="http://schemas.openxmlformats.org/'
                 b'spreadsheetml/2006/main"><sheetData><row r="1"><c r="A1" t="bogus"><v>1</v></row>'})
    assert guard.verify(book, ["Invoices", "Dashboard"]) == []  # the broken sheet is Log
    problems = guard.verify(book, order)
    assert len(problems) == 1 and "did not open again" in problems[0].message
