"""Cells kept: what a write does not touch comes back as it was, byte for byte."""

from __future__ import annotations

import datetime as dt
import io
import re
import zipfile
from pathlib import Path

import pytest
from conftest import (
    ODD_ROWS,
    PLAIN_ROWS,
    SHEET_HEAD,
    SHEET_TAIL,
    calamine,
    entries,
    opx,
    part,
    rezip,
    rich_status,
)

from addin.actions import AppendRows, ReplaceRows, SetAt, SetCells, row
from addin.journal import Journal
from addin.workbook import guard, store
from addin.workbook.reader import load
from addin.workbook.writer import BadWorkbook, apply
from addin.workbook.writer.sheet_xml import (
    GAP,
    HEAD,
    ROW,
    ROWS,
    TAIL,
    chunks,
    row_numbers,
    rx_of,
    split_rows,
)


def tokens(stream: io.BytesIO, block: int) -> list[tuple[int, bytes]]:
    """The sheet's chunks with each ROWS chunk's rows one by one (each with its end tag)."""
    out: list[tuple[int, bytes]] = []
    close = b""
    for kind, chunk in chunks(stream, block):
        if kind == HEAD:
            close = rx_of(chunk).close_row
        out += [(ROW, row + close) for row in split_rows(chunk, close)] if kind == ROWS else [(kind, chunk)]
    return out

# openpyxl says it would drop our x14 validation when it reads the result; that is the point
pytestmark = pytest.mark.filterwarnings("ignore:Data Validation extension:UserWarning")

STATUS = rich_status()


def test_untouched_parts_are_copied_byte_for_byte_in_the_same_order(rich: Path, tmp_path: Path, stored_parts) -> None:
    out = tmp_path / "out.xlsx"
    apply(rich, out, [STATUS])
    before, after = stored_parts(rich), stored_parts(out)
    assert list(after) == list(before)
    changed = {n for n in before if before[n] != after[n]}
    assert changed == {"xl/worksheets/sheet1.xml"}

def test_touched_sheet_keeps_everything_outside_its_rows(rich: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.xlsx"
    apply(rich, out, [STATUS])
    old, new = part(rich, "xl/worksheets/sheet1.xml"), part(out, "xl/worksheets/sheet1.xml")
    head_old, tail_old = old.split(b"<sheetData>")[0], old.split(b"</sheetData>")[1]
    head_new, tail_new = new.split(b"<sheetData>")[0], new.split(b"</sheetData>")[1]
    assert head_new == head_old  # namespaces, mc:Ignorable, views, cols; the dimension is unchanged here
    assert tail_new == tail_old  # merged cells, conditional formats, validations, comments, table, extLst
    assert b'mc:Ignorable="x14ac"' in new and b"<xm:sqref>B2:B500</xm:sqref>" in tail_new
    rows_old = re.findall(rb"<row .*?</row>", old)
    rows_new = re.findall(rb"<row .*?</row>", new)
    assert [r for r in rows_new if b'r="3"' not in r[:40]] == [r for r in rows_old if b'r="3"' not in r[:40]]

def test_cells_people_typed_are_unchanged_and_the_updates_land(rich: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.xlsx"
    report = apply(rich, out, [STATUS])
    assert report.changed == {"Invoices": ["F3", "G3"]}
    expected = calamine(rich, "Invoices")
    expected[2][5] = "Reminder 1 sent 2026-04-07"
    expected[2][6] = dt.date(2026, 4, 7)
    assert calamine(out, "Invoices") == expected
    for sheet in ("Lists", "Dash"):
        assert calamine(out, sheet) == calamine(rich, sheet)
    before, after = opx(rich, "Invoices"), opx(out, "Invoices")
    assert after[2][5:7] == ["Reminder 1 sent 2026-04-07", dt.datetime(2026, 4, 7)]
    after[2][5:7] = before[2][5:7]
    assert after == before
    import openpyxl

    wb = openpyxl.load_workbook(out)
    assert wb["Invoices"]["G3"].is_date
    assert wb.custom_doc_props["Checked by"].value == "Ana"
    assert "Amounts" in wb.defined_names

def test_the_result_is_a_valid_zip_with_a_content_type_for_every_part(rich: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.xlsx"
    apply(rich, out, [STATUS, AppendRows("Log", (row(Action="test"),))])
    with zipfile.ZipFile(out) as z:
        assert z.testzip() is None
        types = z.read("[Content_Types].xml").decode()
        defaults = set(re.findall(r'Default Extension="([^"]+)"', types))
        overrides = set(re.findall(r'Override PartName="/([^"]+)"', types))
        for name in z.namelist():
            if name != "[Content_Types].xml":
                assert name in overrides or name.rsplit(".", 1)[-1] in defaults, name


def test_set_at_touches_only_its_sheet(dashboard_book: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.xlsx"
    apply(dashboard_book, out, [SetAt("dashboard ", (("B5", 1.0),))])
    before, after = entries(dashboard_book), entries(out)
    assert list(before) == list(after)
    assert {n for n in before if before[n] != after[n]} == {"xl/worksheets/sheet1.xml"}


ODD_SHEET = (b'<?xml version="1.0" encoding="UTF-8"?>\n'
             b'<x:worksheet xmlns:x="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
             b"<x:sheetData><x:row><x:c t=\"inlineStr\"><x:is><x:t>Group</x:t></x:is></x:c>"
             b"<x:c t=\"inlineStr\"><x:is><x:t>Customer ID</x:t></x:is></x:c></x:row>\n"
             b"<x:row><x:c t=\"inlineStr\"><x:is><x:t>VIP</x:t></x:is></x:c><x:c><x:v>17</x:v></x:c></x:row>\n"
             b"<x:row spans=\"1:2\"><x:c t=\"inlineStr\"><x:is><x:t>VIP</x:t></x:is></x:c>"
             b"<x:c t=\"inlineStr\"><x:is><x:r><x:t>C</x:t></x:r><x:r><x:t>2</x:t></x:r></x:is></x:c></x:row>"
             b"</x:sheetData></x:worksheet>")

def test_rows_and_cells_without_references_and_a_prefixed_namespace(make_workbook, tmp_path: Path) -> None:
    src = make_workbook({"Group Members": [["x"]]}, required=False)
    target = "xl/worksheets/sheet1.xml"
    rezip(src, {target: ODD_SHEET})
    out = tmp_path / "out.xlsx"
    report = apply(src, out, [SetCells("Group Members", "Customer ID", "c2", row(Group="Small")),
                              ReplaceRows("Group Members", (("Customer ID", "17"),)),
                              AppendRows("Group Members", (row(Group="New", Customer_ID="C3"),))])
    assert report.problems == [], report.problems
    assert calamine(out, "Group Members") == [["Group", "Customer ID"], ["Small", "C2"], ["New", "C3"]]
    xml = part(out, target)
    assert xml.startswith(b'<?xml version="1.0" encoding="UTF-8"?>\n<x:worksheet') and b"<x:row r=\"2\"" in xml


@pytest.mark.parametrize("rows", [PLAIN_ROWS, ODD_ROWS], ids=["r-first", "r-elsewhere"])
@pytest.mark.parametrize("block", [1, 7, 64, 300, 1 << 21])
def test_the_sheet_read_in_blocks_of_any_size_gives_back_every_byte_and_the_same_rows(rows: list[bytes],
                                                                                     block: int) -> None:
    xml = SHEET_HEAD + b"".join(rows) + SHEET_TAIL
    found = tokens(io.BytesIO(xml), block)
    assert b"".join(chunk for _, chunk in found) == xml
    assert found == tokens(io.BytesIO(xml), 1 << 21)


@pytest.mark.parametrize("block", [1, 5, 1 << 21])
def test_the_sheet_is_cut_into_its_head_rows_gaps_and_tail(block: int) -> None:
    head = b'<worksheet xmlns="m"><dimension ref="A1:B3"/><sheetData>'
    xml = (head + b'\n <row r="1"><c r="A1"><v>1</v></c></row><row r="2"/>\n<row r="3" ht="9"/>'
           b'<row r="4"><c r="A4"><v>4</v></c></row> \n</sheetData><pageMargins/></worksheet>')
    assert tokens(io.BytesIO(xml), block) == [
        (HEAD, head), (GAP, b"\n "), (ROW, b'<row r="1"><c r="A1"><v>1</v></c></row>'), (ROW, b'<row r="2"/>'),
        (GAP, b"\n"), (ROW, b'<row r="3" ht="9"/>'), (ROW, b'<row r="4"><c r="A4"><v>4</v></c></row>'),
        (GAP, b" \n"), (TAIL, b"</sheetData><pageMargins/></worksheet>")]
    empty = b'<worksheet xmlns="m"><sheetData/><pageMargins/></worksheet>'
    assert tokens(io.BytesIO(empty), block) == [
        (HEAD, b'<worksheet xmlns="m"><sheetData/>'), (TAIL, b"<pageMargins/></worksheet>")]


@pytest.mark.parametrize("block", [1, 5, 60, 1 << 21])
def test_rows_one_after_another_come_as_one_chunk_a_block(block: int) -> None:
    head = b'<worksheet xmlns="m"><sheetData>'
    rows = [b'<row r="1"><c r="A1"><v>1</v></c></row>', b'<row r="2" spans="1:1"><c r="A2"><v>2</v></c></row>',
            b'<row r="3"></row>']
    xml = head + b"".join(rows) + b"</sheetData></worksheet>"
    found = list(chunks(io.BytesIO(xml), block=block))
    assert found[0] == (HEAD, head) and found[-1] == (TAIL, b"</sheetData></worksheet>")
    assert {kind for kind, _ in found[1:-1]} == {ROWS}
    assert b"".join(chunk for _, chunk in found) == xml
    assert [row + b"</row>" for _, chunk in found[1:-1] for row in split_rows(chunk, b"</row>")] == rows
    whole = b"".join(rows)
    assert row_numbers(whole, 3, rx_of(head)) == [1, 2, 3]
    assert row_numbers(whole.replace(b'<row r="2" spans="1:1">', b'<row spans="1:1" r="2">'), 3, rx_of(head)) is None


@pytest.mark.parametrize("rows, message", [
    (b'<row r="1"><c r="A1"><v>1</v></c>', "ends inside"),
    (b'<row r="1"><c r="A1"><v>1</v></c><row r="2"></row>', "not closed"),
    (b'<c r="A1"><v>1</v></c></row>', "did not open"),
    (b'<row r="1"><c r="A1"><v>1</v></c></row><row r="2">', "not closed"),
])
def test_a_sheet_whose_rows_do_not_nest_is_refused(rows: bytes, message: str) -> None:
    xml = b'<worksheet xmlns="m"><sheetData>' + rows
    with pytest.raises(BadWorkbook, match=message):
        list(chunks(io.BytesIO(xml + (b"" if message == "ends inside" else b"</sheetData></worksheet>"))))


MACRO_MAIN = "application/vnd.ms-excel.sheet.macroEnabled.main+xml"

SHEET_MAIN = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"

VBA = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(range(256)) * 64


def as_xlsm(xlsx: Path, xlsm: Path) -> Path:
    """``xlsx`` made a macro-enabled workbook, as Excel saves one: the workbook part's content
    type, xl/vbaProject.bin, its relationship and its default content type."""
    with zipfile.ZipFile(xlsx) as z:
        parts = {i.filename: z.read(i.filename) for i in z.infolist()}
    types = parts["[Content_Types].xml"]
    assert SHEET_MAIN.encode() in types
    parts["[Content_Types].xml"] = types.replace(SHEET_MAIN.encode(), MACRO_MAIN.encode()).replace(
        b"</Types>", b'<Default Extension="bin" ContentType="application/vnd.ms-office.vbaProject"/></Types>')
    parts["xl/_rels/workbook.xml.rels"] = parts["xl/_rels/workbook.xml.rels"].replace(
        b"</Relationships>", b'<Relationship Id="rIdVba" Type="http://schemas.microsoft.com/office/2006/'
        b'relationships/vbaProject" Target="vbaProject.bin"/></Relationships>')
    parts["xl/vbaProject.bin"] = VBA
    with zipfile.ZipFile(xlsm, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in parts.items():
            z.writestr(name, data)
    return xlsm

def test_a_write_keeps_the_vba_project_and_the_macro_enabled_content_type(make_workbook, tmp_path: Path,
                                                                         stored_parts) -> None:
    xlsx = make_workbook({
        "Customers": [["Customer ID", "Name", "Status", "Email"], ["C1", "Acme Ltd", "Active", "ap@acme.example"]],
        "Invoices": [["Invoice No", "Customer ID", "Invoice Date", "Due Date", "Amount", "Status"],
                     ["INV-1", "C1", dt.date(2026, 3, 1), dt.date(2026, 3, 31), 100, None]]})
    path = as_xlsm(xlsx, tmp_path / "books.xlsm")
    before = stored_parts(path)
    book = load(path)
    assert [i.number for i in book.invoices] == ["INV-1"]
    assert not [p for p in book.problems if p.severity != "notice"]
    with Journal.open(path) as journal:
        result = store.write_updates(path, [
            SetCells("Invoices", "Invoice No", "INV-1", row(Status="Reminder 1 sent 2026-04-07")),
            AppendRows("Log", (row(Action="reminder 1", Target="INV-1"),))], journal)
    assert (result.written, result.problems) == (True, [])
    after = stored_parts(path)
    assert after["xl/vbaProject.bin"] == before["xl/vbaProject.bin"]
    with zipfile.ZipFile(path) as z:
        assert z.read("xl/vbaProject.bin") == VBA
        types = z.read("[Content_Types].xml").decode()
        rels = z.read("xl/_rels/workbook.xml.rels").decode()
    assert f'ContentType="{MACRO_MAIN}"' in types and SHEET_MAIN not in types
    assert '<Default Extension="bin" ContentType="application/vnd.ms-office.vbaProject"/>' in types
    assert 'Target="vbaProject.bin"' in rels
    assert [p.suffix for p in guard.backups(path)] == [".xlsm"]
    assert not list(tmp_path.glob("*.receivables-tmp*"))
    reread = load(path)
    assert [i.number for i in reread.invoices] == ["INV-1"]
    from python_calamine import CalamineWorkbook

    with CalamineWorkbook.from_path(str(path)) as wb:
        assert wb.get_sheet_by_name("Invoices").to_python()[1][5] == "Reminder 1 sent 2026-04-07"
        assert wb.get_sheet_by_name("Log").to_python()[1][1:3] == ["reminder 1", "INV-1"]


def test_a_relationship_naming_its_sheet_in_another_case_writes_that_sheet_once(make_workbook, tmp_path: Path) -> None:
    # Zip names are compared regardless of case (as Excel does): the rewritten sheet replaces its part.
    book = make_workbook({"Invoices": [["Invoice No", "Status"], ["INV-1", None]]})
    with zipfile.ZipFile(book) as z:
        rels = z.read("xl/_rels/workbook.xml.rels")
    assert b"worksheets/sheet1.xml" in rels
    rezip(book, {"xl/_rels/workbook.xml.rels": rels.replace(b"worksheets/sheet1.xml", b"worksheets/Sheet1.xml")})
    out = tmp_path / "out.xlsx"
    apply(book, out, [SetCells("Invoices", "Invoice No", "INV-1", row(Status="Paid"))])
    with zipfile.ZipFile(out) as z:
        names = [n for n in z.namelist() if n.casefold() == "xl/worksheets/sheet1.xml"]
        assert names == ["xl/worksheets/sheet1.xml"]
        assert b"Paid" in z.read(names[0])
