"""Refusals and bad workbooks: what the writer will not do, said so, with the workbook left as it was."""

from __future__ import annotations

import threading
import zipfile
from pathlib import Path

import pytest
from conftest import group_members_book, rich_status

from addin.actions import AppendRows, ReplaceRows, SetAt, SetCells, row
from addin.journal import Journal
from addin.workbook import deflate, store
from addin.workbook.writer import BadWorkbook, WriteRefused, apply

# openpyxl says it would drop our x14 validation when it reads the result; that is the point
pytestmark = pytest.mark.filterwarnings("ignore:Data Validation extension:UserWarning")

STATUS = rich_status()


@pytest.mark.parametrize("extra, what", [("formula", "formulas"), ("merged", "merged cells")])
def test_replace_rows_refuses_to_move_formulas_or_merged_cells(tmp_path: Path, extra: str, what: str) -> None:
    src = group_members_book(tmp_path, extra=extra)
    with pytest.raises(WriteRefused) as info:
        apply(src, tmp_path / "out.xlsx", [STATUS, ReplaceRows("Group Members", (("Group", "VIP"),))])
    assert str(info.value.problem()) == (
        f"'Group Members': rows cannot be deleted: {what} below row 2 would have to move"
        " — remove them from the Group Members sheet (it should hold plain data only)")
    assert info.value.index == 1


def test_a_bad_address_is_a_bug_not_a_silent_write(dashboard_book: Path, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="'5B' is not a cell address"):
        apply(dashboard_book, tmp_path / "out.xlsx", [SetAt("Dashboard", (("5B", 1),))])

def test_set_at_with_rows_deleted_on_the_same_sheet_is_refused(dashboard_book: Path, tmp_path: Path) -> None:
    with pytest.raises(WriteRefused) as caught:
        apply(dashboard_book, tmp_path / "out.xlsx", [ReplaceRows("Invoices", (("Invoice No", "INV-1"),)),
                                            SetAt("Invoices", (("G1", "note"),))])
    assert caught.value.index == 1


def test_a_file_that_is_not_a_workbook_is_a_bad_workbook(tmp_path: Path) -> None:
    src = tmp_path / "book.xlsx"
    src.write_bytes(b"name,amount\nINV-1,10\n")
    with pytest.raises(BadWorkbook, match="book.xlsx: not an .xlsx workbook"):
        apply(src, tmp_path / "out.xlsx", [SetCells("Invoices", "Invoice No", "INV-1", row(Status="x"))])
    assert not (tmp_path / "out.xlsx").exists()


def test_a_part_grown_past_what_the_reader_reads_is_refused_by_its_name(make_workbook, tmp_path: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    src = make_workbook({"Invoices": [["Invoice No", "Customer ID", "Status"], ["INV-1", "C1", ""]]})
    with zipfile.ZipFile(src) as z:
        largest = max(i.file_size for i in z.infolist())  # the theme: every part is read, none refused
    monkeypatch.setattr(deflate, "PART_LIMIT", largest + 100)  # as if the workbook's parts were just under 1 GiB
    with pytest.raises(BadWorkbook, match='^sheet "Invoices" would pass 1 GiB, the most a workbook\'s part may hold: '
                                          "move old rows to another workbook$"):
        apply(src, tmp_path / "out.xlsx", [SetCells("Invoices", "Invoice No", "INV-1", row(Status="x" * (largest + 100)))])
    assert apply(src, tmp_path / "out.xlsx", [SetCells("Invoices", "Invoice No", "INV-1", row(Status="x" * 50))]).changed == {
        "Invoices": ["C2"]}  # a part that stays within the limit is written


def test_a_failure_while_writing_leaves_the_workbook_as_it_was_and_nothing_behind(
        make_workbook, monkeypatch: pytest.MonkeyPatch) -> None:
    book = make_workbook({"Invoices": [["Invoice No", "Customer ID", "Amount", "Status"], ["INV-1", "C1", 10, None],
                                       ["INV-2", "C1", 20, None]]})
    before = book.read_bytes()
    sent = SetCells("Invoices", "Invoice No", "INV-2", row(Status="Reminder 1 sent 2026-04-07"))
    compressor = deflate.compressor

    class DiskFull:
        def __init__(self) -> None:
            self.inner = compressor()

        def compress(self, data: bytes) -> bytes:
            raise OSError(28, "No space left on device")

        def flush(self) -> bytes:
            return self.inner.flush()

    threads = set(threading.enumerate())
    monkeypatch.setattr(deflate, "compressor", DiskFull)
    with pytest.raises(OSError, match="No space"):
        apply(book, book.with_name("out.xlsx"), [sent])
    assert not book.with_name("out.xlsx").exists()
    with Journal.open(book) as journal:
        result = store.write_updates(book, [sent], journal)
        assert not result.written and "could not be updated (" in str(result.problems[0])
        assert len(journal.pending_updates()) == 1  # kept for the next run
    assert book.read_bytes() == before and not list(book.parent.glob("*.receivables-tmp*"))
    assert set(threading.enumerate()) <= threads  # no thread left behind
    monkeypatch.undo()
    with Journal.open(book) as journal:
        assert store.flush_pending(book, journal).written
    from conftest import calamine

    assert calamine(book, "Invoices")[2][3] == "Reminder 1 sent 2026-04-07"


def _damage_stream(path: Path, part: str) -> None:
    """The part's deflate stream made to start with a block of the reserved type (not deflate)."""
    import zipfile

    with zipfile.ZipFile(path) as archive:
        info = archive.getinfo(part)
    data = bytearray(path.read_bytes())
    name_len, extra_len = int.from_bytes(data[info.header_offset + 26:info.header_offset + 28], "little"), \
        int.from_bytes(data[info.header_offset + 28:info.header_offset + 30], "little")
    data[info.header_offset + 30 + name_len + extra_len] = 0x07  # BFINAL 1, BTYPE 11: reserved
    path.write_bytes(bytes(data))


def test_a_sheet_whose_deflate_stream_is_damaged_is_a_bad_workbook_not_a_crash(make_workbook, tmp_path: Path) -> None:
    book = make_workbook({"Invoices": [["Invoice No", "Customer ID", "Amount", "Status"], ["INV-1", "C1", 10, None]]})
    _damage_stream(book, "xl/worksheets/sheet1.xml")
    before = book.read_bytes()
    sent = SetCells("Invoices", "Invoice No", "INV-1", row(Status="Reminder 1 sent 2026-04-07"))
    with pytest.raises(BadWorkbook, match="sheet1.xml"):
        apply(book, tmp_path / "out.xlsx", [sent])
    with Journal.open(book) as journal:
        result = store.write_updates(book, [sent], journal)
        assert not result.written and len(journal.pending_updates()) == 1  # the update waits
    assert [str(p) for p in result.problems] == [
        f"{book.name} could not be updated (book.xlsx: xl/worksheets/sheet1.xml: its deflate stream is damaged)"
        " — check the file opens in Excel; the updates wait in the journal"]
    assert book.read_bytes() == before


def test_rows_are_not_appended_below_a_tables_totals_row(tmp_path: Path) -> None:
    import xlsxwriter

    src = tmp_path / "log.xlsx"
    wb = xlsxwriter.Workbook(str(src))
    ws = wb.add_worksheet("Log")
    ws.add_table(0, 0, 2, 2, {"name": "Log", "total_row": True,
                              "columns": [{"header": h} for h in ("Time", "Action", "Target")]})
    wb.close()
    before = src.read_bytes()
    with pytest.raises(WriteRefused) as caught:
        apply(src, tmp_path / "out.xlsx", [SetCells("Log", "Action", "x", row(Target="y")),
                                           AppendRows("Log", (row(Action="sent"),))])
    assert str(caught.value.problem()) == (
        "Log: rows cannot be added below a table's totals row — "
        "turn off the totals row of the table (Table Design > Total Row)")
    assert caught.value.index == 1 and not (tmp_path / "out.xlsx").exists() and src.read_bytes() == before
