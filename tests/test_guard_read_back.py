"""The written copy is read back before it replaces the workbook: a damaged copy never does."""

from __future__ import annotations

import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import calamine, part, rezip, sheet_parts, with_shared_strings

from addin.actions import SetCells, Update, row
from addin.journal import Journal
from addin.workbook import guard, store
from addin.workbook.writer import WriteReport, apply

ROWS = 300
UPDATES = [SetCells("Invoices", "Invoice No", f"INV-{n}", row(Paid=n / 4)) for n in range(1, ROWS + 1)]


@pytest.fixture
def big(make_workbook) -> Path:
    """Invoices of 300 rows, their texts in a shared-strings table (as Excel saves them)."""
    return with_shared_strings(make_workbook({"Invoices": [["Invoice No", "Amount", "Paid"],
                                                           *([f"INV-{n}", n, None] for n in range(1, ROWS + 1))]}))


def writer_that(damage: Callable[[Path], None]) -> Callable[..., WriteReport]:
    """``writer.apply``, then ``damage`` done to the copy it wrote (as a bug in the writer would)."""
    def write(src: Path, dst: Path, updates: list[Update]) -> WriteReport:
        report = apply(src, dst, updates)
        damage(dst)
        return report

    return write


def broken_cell(copy: Path) -> None:
    invoices = sheet_parts(copy)["Invoices"]
    rezip(copy, {invoices: part(copy, invoices).replace(b'<c r="C151"', b'<c r="C151" t="bogus"', 1)})


def lost_sheet(copy: Path) -> None:
    rezip(copy, {"xl/workbook.xml": part(copy, "xl/workbook.xml").replace(b'<sheet name="Customers"', b'<x ', 1)
                 .replace(b'<x ', b'<sheet name="Renamed"', 1)})


def assert_left_as_it_was(book: Path, before: guard.Fingerprint, result: store.StoreResult) -> None:
    assert not result.written
    assert guard.fingerprint(book).sha256 == before.sha256
    assert guard.backups(book) == []
    assert [p.name for p in book.parent.iterdir() if "receivables-tmp" in p.name] == []


@pytest.mark.parametrize("damage, said", [(broken_cell, "the updated workbook did not open again"),
                                          (lost_sheet, "the written workbook lacks this sheet")],
                         ids=["a-broken-cell", "a-lost-sheet"])
def test_a_write_that_would_damage_the_workbook_is_refused_and_the_workbook_left_as_it_was(
        big: Path, monkeypatch: pytest.MonkeyPatch, damage: Callable[[Path], None], said: str) -> None:
    monkeypatch.setattr(store, "apply", writer_that(damage))
    before = guard.fingerprint(big)
    with Journal.open(big) as journal:
        result = store.write_updates(big, UPDATES, journal)
        assert len(journal.pending_updates()) == ROWS  # they wait for the next run
    assert [p.message.split(" (")[0] for p in result.problems] == [said]
    assert all(p.is_error for p in result.problems)
    assert_left_as_it_was(big, before, result)


def test_a_write_that_stops_midway_leaves_the_workbook_as_it_was(big: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def stops_midway(src: Path, dst: Path, updates: list[Update]) -> WriteReport:
        dst.write_bytes(src.read_bytes()[:1000])  # half a file
        raise OSError("no space left on device")

    monkeypatch.setattr(store, "apply", stops_midway)
    before = guard.fingerprint(big)
    with Journal.open(big) as journal:
        result = store.write_updates(big, UPDATES, journal)
        assert len(journal.pending_updates()) == ROWS
    assert [str(p) for p in result.problems] == [
        "book.xlsx could not be updated (no space left on device) — check the file opens in Excel; "
        "the updates wait in the journal"]
    assert_left_as_it_was(big, before, result)


def test_the_copy_read_back_holds_what_was_written(big: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.xlsx"
    report = apply(big, out, UPDATES)
    assert guard.verify(out, report.sheets, report.had) == []
    assert calamine(out, "Invoices")[150] == ["INV-150", 150.0, 37.5]


def test_a_copy_whose_compressed_sheet_is_damaged_is_caught(big: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.xlsx"
    report = apply(big, out, UPDATES)
    with zipfile.ZipFile(out) as z:
        info = z.getinfo(sheet_parts(out)["Invoices"])
    data = bytearray(out.read_bytes())
    start = info.header_offset + 30 + len(info.filename.encode())
    data[start + info.compress_size // 2] ^= 0xFF  # one byte of the sheet's compressed data
    out.write_bytes(bytes(data))
    problems = guard.verify(out, report.sheets, report.had)
    assert len(problems) == 1 and "did not open again" in problems[0].message


def test_a_copy_that_lost_a_sheet_of_the_workbook_is_caught(big: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.xlsx"
    report = apply(big, out, UPDATES)
    lost_sheet(out)
    assert guard.verify(out, report.sheets) == []  # the sheets written are all there
    assert [str(p) for p in guard.verify(out, report.sheets, report.had)] == [
        "Customers: the written workbook lacks this sheet — report this as a bug"]


def test_a_sheet_someone_adds_while_the_copy_is_written_is_kept_by_writing_again(
        big: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The copy is checked against the workbook it was written from; the newer version is then
    # noticed by its fingerprint, and written again from.
    import openpyxl

    calls = 0

    def someone_saves_meanwhile(src: Path, dst: Path, updates: list[Update]) -> WriteReport:
        nonlocal calls
        report = apply(src, dst, updates)
        calls += 1
        if calls == 1:
            wb = openpyxl.load_workbook(src)
            wb.create_sheet("Notes")["A1"] = "call the bank"
            wb.save(src)
        return report

    monkeypatch.setattr(store, "apply", someone_saves_meanwhile)
    with Journal.open(big) as journal:
        result = store.write_updates(big, UPDATES[:1], journal)
    assert result.written and not result.problems and calls == 2  # noqa: PLR2004 - written again
    assert calamine(big, "Notes") == [["call the bank"]]
    assert calamine(big, "Invoices")[1][2] == 0.25  # noqa: PLR2004
