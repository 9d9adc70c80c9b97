""".xlsm workbooks are read and written: a write keeps the VBA project and the macro-enabled
content type byte for byte."""

from __future__ import annotations

import datetime as dt
import zipfile
from pathlib import Path

from addin.actions import AppendRows, SetCells, row
from addin.journal import Journal
from addin.workbook import guard, store
from addin.workbook.reader import load

MACRO_MAIN = "application/vnd.ms-excel.sheet.macroEnabled.main+xml"
SHEET_MAIN = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"
# not a real VBA project (none can be made here): bytes that must come back as they were
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
