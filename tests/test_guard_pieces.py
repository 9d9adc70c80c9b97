"""Rewritten sheets checked while they are written (guard.Pieces): every row once, and any fault caught."""

from __future__ import annotations

import threading
import time
import zipfile
from pathlib import Path

import pytest
from conftest import calamine, part, with_shared_strings

from addin.actions import SetCells, row
from addin.journal import Journal
from addin.workbook import guard, store, writer
from addin.workbook.writer import apply

ROWS = 300


@pytest.fixture
def big(make_workbook) -> Path:
    """Invoices of 300 rows, their texts in a shared-strings table (as Excel saves them)."""
    return with_shared_strings(make_workbook({"Invoices": [["Invoice No", "Amount", "Paid"],
                                                           *([f"INV-{n}", n, None] for n in range(1, ROWS + 1))]}))


UPDATES = [SetCells("Invoices", "Invoice No", f"INV-{n}", row(Paid=n / 4)) for n in range(1, ROWS + 1)]


def invoices_part(path: Path) -> str:
    pkg = writer._Package(path)
    try:
        return writer._Book(pkg).sheet("Invoices").part  # type: ignore[union-attr]
    finally:
        pkg.close()


def written_in_pieces(src: Path, out: Path) -> tuple[guard.Pieces, writer.WriteReport]:
    """UPDATES written from ``src`` to ``out``, checked in pieces on the way (as the store does)."""
    pieces = guard.Pieces()
    try:
        return pieces, apply(src, out, UPDATES, watch=pieces.watch)
    finally:
        pieces.close()


@pytest.fixture
def small_pieces(monkeypatch: pytest.MonkeyPatch) -> list[bytes]:
    """Pieces of about 2 KB from blocks of about 1.5 KB; returns the pieces' XML as parsed."""
    monkeypatch.setattr(guard.Pieces, "SIZE", 2000)
    monkeypatch.setattr(writer, "BLOCK", 1500)
    seen: list[bytes] = []
    package = guard._one_sheet_package

    def spy(xml: bytes, shared_strings: bytes | None):
        seen.append(xml)
        assert shared_strings is not None and b"INV-7" in shared_strings
        return package(xml, shared_strings)

    monkeypatch.setattr(guard, "_one_sheet_package", spy)
    return seen


def test_the_pieces_hold_every_row_once_behind_the_sheets_head(big: Path, tmp_path: Path,
                                                               small_pieces: list[bytes]) -> None:
    out = tmp_path / "out.xlsx"
    pieces, report = written_in_pieces(big, out)
    assert pieces.failures == [] and pieces.parts == {"Invoices": invoices_part(big)}
    xml = part(out, invoices_part(big))
    head = xml[:xml.index(b"<sheetData>") + len(b"<sheetData>")]
    close = b"</sheetData></worksheet>"
    assert len(small_pieces) > 5 and all(p.startswith(head) for p in small_pieces)
    assert all(p.endswith(b"</row>" + close) for p in small_pieces[:-1])  # whole rows, closed
    body = b"".join(p[len(head):-len(close)] for p in small_pieces[:-1]) + small_pieces[-1][len(head):]
    assert head + body == xml
    assert guard.verify(out, report.sheets, pieces) == []
    assert not [t for t in threading.enumerate() if t.name == "receivables-check"]
    assert calamine(out, "Invoices")[150] == ["INV-150", 150.0, 37.5]


def test_a_broken_row_is_caught_in_its_piece_and_the_workbook_is_left_as_it_was(
        big: Path, small_pieces: list[bytes], monkeypatch: pytest.MonkeyPatch) -> None:
    new_cells = writer._RowWriter._new_cells

    def broken_at_150(self: writer._RowWriter, n: int, sets: dict, row_style: int | None) -> bytes:
        return b'<c r="C150" t="bogus"><v>1</v></c>' if n == 150 else new_cells(self, n, sets, row_style)

    monkeypatch.setattr(writer._RowWriter, "_new_cells", broken_at_150)
    before = guard.fingerprint(big)
    with Journal.open(big) as journal:
        result = store.write_updates(big, UPDATES, journal, before)
        assert not result.written and len(journal.pending_updates()) == ROWS
    assert [p.message.split(" (")[0] for p in result.problems] == ["the updated workbook did not open again"]
    assert "(Invoices: " in result.problems[0].message  # found in a piece, before the file was complete
    assert guard.fingerprint(big).sha256 == before.sha256


def test_a_checked_sheet_the_file_does_not_hold_as_checked_is_caught(big: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.xlsx"
    pieces, report = written_in_pieces(big, out)
    assert guard.verify(out, report.sheets, pieces) == []
    with zipfile.ZipFile(out) as z:
        info = z.getinfo(invoices_part(big))
    data = bytearray(out.read_bytes())
    start = info.header_offset + 30 + len(info.filename.encode())
    data[start + info.compress_size // 2] ^= 0xFF  # one byte of the sheet's compressed data
    out.write_bytes(bytes(data))
    problems = guard.verify(out, report.sheets, pieces)
    assert len(problems) == 1 and "did not open again" in problems[0].message


def test_a_sheet_not_handed_over_whole_is_parsed_in_full(big: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.xlsx"
    apply(big, out, UPDATES)
    with zipfile.ZipFile(out) as z:
        xml = z.read(invoices_part(big))
    from conftest import rezip

    rezip(out, {invoices_part(big): xml.replace(b'<c r="C9"', b'<c r="C9" t="bogus"', 1)})
    pieces = guard.Pieces()  # nothing was handed over
    problems = guard.verify(out, ["Invoices"], pieces)
    assert len(problems) == 1 and "did not open again" in problems[0].message


FEW = [SetCells("Invoices", "Invoice No", f"INV-{n}", row(Paid=n / 4)) for n in (7, 150, 299)]


def compared(src: Path, out: Path, updates: list,
             parsed: frozenset[str] = frozenset({"invoices"})) -> tuple[guard.Pieces, writer.WriteReport]:
    """``updates`` written from ``src``, checked against it as the store does after a refresh read it."""
    pieces = guard.Pieces(src, parsed)
    try:
        return pieces, apply(src, out, updates, watch=pieces.watch)
    finally:
        pieces.close()


def test_a_sheet_with_few_rows_changed_is_checked_by_the_rows_that_differ_from_the_file_read(
        big: Path, tmp_path: Path, small_pieces: list[bytes]) -> None:
    out = tmp_path / "out.xlsx"
    pieces, report = compared(big, out, FEW)
    assert pieces.failures == [] and "Invoices" in pieces.parts
    assert guard.verify(out, report.sheets, pieces) == []
    [checked] = small_pieces  # one piece: the head and row 1, the three rows changed, the end
    assert checked.count(b"<row ") == 4
    assert all(b'<row r="%d"' % n in checked for n in (1, 8, 151, 300))  # INV-n is on row n + 1
    assert checked.endswith(b"</worksheet>") and calamine(out, "Invoices")[150] == ["INV-150", 150.0, 37.5]


def test_a_broken_row_among_few_is_caught_by_the_comparison(big: Path, tmp_path: Path, small_pieces: list[bytes],
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    new_cells = writer._RowWriter._new_cells

    def broken_at_151(self: writer._RowWriter, n: int, sets: dict, row_style: int | None) -> bytes:
        return b'<c r="C151" t="bogus"><v>1</v></c>' if n == 151 else new_cells(self, n, sets, row_style)

    monkeypatch.setattr(writer._RowWriter, "_new_cells", broken_at_151)
    pieces, report = compared(big, tmp_path / "out.xlsx", FEW)
    assert [sheet for sheet, _ in pieces.failures] == ["Invoices"]
    assert len(small_pieces) == 1 and small_pieces[0].count(b"<row ") == 4
    assert "did not open again" in guard.verify(tmp_path / "out.xlsx", report.sheets, pieces)[0].message


@pytest.mark.parametrize("case", ["many-rows", "rows-added", "not-parsed"])
def test_otherwise_the_whole_sheet_is_checked(big: Path, tmp_path: Path, small_pieces: list[bytes], case: str) -> None:
    from addin.actions import AppendRows

    updates = {"many-rows": UPDATES, "rows-added": [*FEW, AppendRows("Invoices", (row(Invoice_No="INV-X"),))],
               "not-parsed": FEW}[case]
    parsed = frozenset() if case == "not-parsed" else frozenset({"invoices"})
    out = tmp_path / "out.xlsx"
    pieces, report = compared(big, out, updates, parsed)
    assert pieces.failures == [] and guard.verify(out, report.sheets, pieces) == []
    checked_rows = sum(p.count(b"<row ") for p in small_pieces)
    assert checked_rows >= ROWS + 1  # every row, in one piece or several


def test_a_write_that_stops_midway_lets_go_of_the_workbook(big: Path, tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """No thread still reads the workbook once the write failed (Windows could not replace it)."""
    new_cells = writer._RowWriter._new_cells

    def fails_at_151(self: writer._RowWriter, n: int, sets: dict, row_style: int | None) -> bytes:
        if n == 151:
            raise OSError("no space left on device")
        return new_cells(self, n, sets, row_style)

    monkeypatch.setattr(writer._RowWriter, "_new_cells", fails_at_151)
    read = guard._ReadBack._run

    def slow_read(self: guard._ReadBack) -> None:
        time.sleep(0.3)  # still reading when the write fails
        read(self)

    monkeypatch.setattr(guard._ReadBack, "_run", slow_read)
    with pytest.raises(OSError, match="no space"):
        compared(big, tmp_path / "out.xlsx", FEW)
    assert not [t for t in threading.enumerate() if t.name in ("receivables-read-back", "receivables-check")]


def test_verify_lets_go_of_the_copy_whatever_it_finds(big: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "out.xlsx"
    pieces, report = written_in_pieces(big, out)
    read = guard._ReadBack._run

    def slow_read(self: guard._ReadBack) -> None:
        time.sleep(0.3)
        read(self)

    monkeypatch.setattr(guard._ReadBack, "_run", slow_read)
    problems = guard.verify(out, [*report.sheets, "Nope"], pieces)
    assert [str(p) for p in problems] == ["Nope: the written workbook lacks this sheet — report this as a bug"]
    assert not [t for t in threading.enumerate() if t.name == "receivables-read-back"]


def test_pieces_still_waiting_when_the_writer_is_done_are_shared_by_two_checkers(
        big: Path, tmp_path: Path, small_pieces: list[bytes], monkeypatch: pytest.MonkeyPatch) -> None:
    checkers: list[int] = []
    package = guard._one_sheet_package

    def slow(xml: bytes, shared_strings: bytes | None):
        checkers.append(threading.get_ident())
        time.sleep(0.02)  # the checker falls behind the writer
        return package(xml, shared_strings)

    monkeypatch.setattr(guard, "_one_sheet_package", slow)
    out = tmp_path / "out.xlsx"
    pieces, report = written_in_pieces(big, out)
    assert pieces.failures == [] and guard.verify(out, report.sheets, pieces) == []
    assert len(set(checkers)) == 2 and len(checkers) > guard.Pieces.AHEAD
    assert not [t for t in threading.enumerate() if t.name == "receivables-check"]
