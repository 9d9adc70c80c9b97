"""Appended rows keep the sheet's tools: validations and conditional formats that reached the
last record grow over them, as the table does; every other byte of the sheet stays."""

from __future__ import annotations

import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest

from addin.actions import AppendRows, ReplaceRows, row
from addin.workbook.writer import apply

# openpyxl says it would drop the x14 parts when it reads the result; they are what is checked here
pytestmark = pytest.mark.filterwarnings("ignore:.*extension is not supported:UserWarning")

X14_DV = (  # what Excel writes for a drop-down whose list is on another sheet
    '<ext uri="{CCE6A557-97BC-4b89-ADB6-D9C93CAAB3DF}" '
    'xmlns:x14="http://schemas.microsoft.com/office/spreadsheetml/2009/9/main">'
    '<x14:dataValidations count="2" xmlns:xm="http://schemas.microsoft.com/office/excel/2006/main">'
    '<x14:dataValidation type="list" allowBlank="1"><x14:formula1><xm:f>Lists!$A$1:$A$3</xm:f>'
    "</x14:formula1><xm:sqref>A2:A6</xm:sqref></x14:dataValidation>"
    '<x14:dataValidation type="list" allowBlank="1"><x14:formula1><xm:f>Lists!$A$1:$A$3</xm:f>'
    "</x14:formula1><xm:sqref>B2:B3 H6</xm:sqref></x14:dataValidation></x14:dataValidations></ext>"
)
MEMBERS = [["VIP", "C1", "Rule", 1], ["VIP", "C2", "Added", 2], ["Small", "C3", "Rule", 3],
           ["VIP", "C4", "Rule", 4], ["Small", "C5", "Rule", 5]]


def sheet_xml(path: Path) -> bytes:
    with zipfile.ZipFile(path) as z:
        return z.read("xl/worksheets/sheet1.xml")


def put_sheet_xml(path: Path, xml: bytes) -> None:
    with zipfile.ZipFile(path) as z:
        parts = [(i.filename, z.read(i.filename)) for i in z.infolist()]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in parts:
            z.writestr(name, xml if name == "xl/worksheets/sheet1.xml" else data)


def group_members(path: Path, *, below: bool = True) -> Path:
    """Group Members, records in rows 2-6, with the tools a person adds (xlsxwriter writes them as
    Excel does, the x14 data bar and sparkline included; the x14 validations are added by hand)."""
    import xlsxwriter

    wb = xlsxwriter.Workbook(str(path))
    ws = wb.add_worksheet("Group Members")
    ws.add_table(0, 0, len(MEMBERS), 3, {"name": "GroupMembers", "data": MEMBERS,
                                          "columns": [{"header": h} for h in ("Group", "Customer ID", "Source", "N")]})
    ws.data_validation(1, 2, 5, 2, {"validate": "list", "source": ["Rule", "Added", "Removed"]})  # C2:C6
    ws.data_validation(1, 4, 2, 4, {"validate": "integer", "criteria": ">", "value": 0})  # E2:E3: stops earlier
    ws.data_validation(0, 5, 1048575, 5, {"validate": "integer", "criteria": ">", "value": 0})  # F1:F1048576
    ws.conditional_format(1, 3, 5, 3, {"type": "data_bar", "data_bar_2010": True})  # D2:D6, and x14
    wb.add_worksheet("Lists").write_column(0, 0, ["Rule", "Added", "Removed"])
    if below:  # ranges starting below row 2 (rows cannot be deleted above them)
        ws.conditional_format(1, 0, 5, 0, {"type": "cell", "criteria": "==", "value": '"VIP"',
                                           "multi_range": "A2:A6 C2:C4 E6"})
        ws.add_sparkline(5, 6, {"range": "'Group Members'!D2:D6"})  # an <xm:sqref>G6</xm:sqref> that is no rule's
    wb.close()
    if below:
        xml = sheet_xml(path)
        put_sheet_xml(path, xml.replace(b"</extLst></worksheet>", X14_DV.encode() + b"</extLst></worksheet>"))
    return path


APPEND = AppendRows("Group Members", (row(Group="VIP", Customer_ID="C8", Source="Rule"),
                                      row(Group="VIP", Customer_ID="C9", Source="Rule")))


def test_validations_and_conditional_formats_that_reached_the_last_record_grow_with_appended_rows(
        tmp_path: Path) -> None:
    src = group_members(tmp_path / "gm.xlsx")
    out = tmp_path / "out.xlsx"
    report = apply(src, out, [APPEND])
    assert report.appended == {"Group Members": 2}
    old, new = sheet_xml(src), sheet_xml(out)
    tail_old, tail_new = old.split(b"</sheetData>")[1], new.split(b"</sheetData>")[1]
    expected = (tail_old
                .replace(b'sqref="A2:A6 C2:C4 E6"', b'sqref="A2:A8 C2:C4 E6:E8"')
                .replace(b'sqref="D2:D6"', b'sqref="D2:D8"')
                .replace(b'sqref="C2:C6"', b'sqref="C2:C8"')
                .replace(b"<xm:sqref>D2:D6</xm:sqref>", b"<xm:sqref>D2:D8</xm:sqref>")
                .replace(b"<xm:sqref>A2:A6</xm:sqref>", b"<xm:sqref>A2:A8</xm:sqref>")
                .replace(b"<xm:sqref>B2:B3 H6</xm:sqref>", b"<xm:sqref>B2:B3 H6:H8</xm:sqref>"))
    assert expected != tail_old
    assert tail_new == expected  # E2:E3, F1:F1048576, the sparkline's G6 and its D2:D6 are as they were
    head_old = old.split(b"<sheetData>")[0]
    assert new.split(b"<sheetData>")[0] == head_old.replace(b'<dimension ref="A1:D6"/>', b'<dimension ref="A1:D8"/>')
    import openpyxl

    ws = openpyxl.load_workbook(out)["Group Members"]
    assert ws.tables["GroupMembers"].ref == "A1:D8"
    assert sorted(str(dv.sqref) for dv in ws.data_validations.dataValidation) == [
        "C2:C8", "E2:E3", "F1:F1048576"]
    assert sorted(str(cf.sqref) for cf in ws.conditional_formatting) == ["A2:A8 C2:C4 E6:E8", "D2:D8"]


def test_a_sheet_with_no_record_grows_what_covers_its_first_record_row(tmp_path: Path) -> None:
    import xlsxwriter

    src = tmp_path / "log.xlsx"
    wb = xlsxwriter.Workbook(str(src))
    ws = wb.add_worksheet("Log")
    ws.add_table(0, 0, 1, 2, {"name": "Log", "columns": [{"header": h} for h in ("Time", "Action", "Target")]})
    ws.data_validation(1, 1, 1, 1, {"validate": "length", "criteria": "<", "value": 200})  # B2
    ws.conditional_format(0, 0, 0, 2, {"type": "no_blanks", "format": None})  # the header row only
    wb.close()
    out = tmp_path / "out.xlsx"
    apply(src, out, [AppendRows("Log", (row(Action="first"), row(Action="second"), row(Action="third")))])
    tail_old, tail_new = (sheet_xml(p).split(b"</sheetData>")[1] for p in (src, out))
    assert tail_new == tail_old.replace(b'sqref="B2"', b'sqref="B2:B4"')
    assert b'sqref="A1:C1"' in tail_new


def test_ranges_that_already_cover_the_appended_rows_are_left_as_they_are(tmp_path: Path) -> None:
    src = group_members(tmp_path / "gm.xlsx")
    xml = sheet_xml(src).replace(b'sqref="C2:C6"', b'sqref="C2:C500"').replace(b'sqref="E2:E3"', b'sqref="K:K 2:6"')
    put_sheet_xml(src, xml)
    out = tmp_path / "out.xlsx"
    apply(src, out, [APPEND])
    assert b'sqref="C2:C500"' in sheet_xml(out)
    assert b'sqref="K:K 2:6"' in sheet_xml(out)  # whole columns and rows have no cell address: as they were
    assert b'sqref="D2:D8"' in sheet_xml(out)


def test_rows_replaced_and_appended_grow_the_ranges_to_the_last_row_written(tmp_path: Path) -> None:
    src = group_members(tmp_path / "gm.xlsx", below=False)
    out = tmp_path / "out.xlsx"
    report = apply(src, out, [ReplaceRows("Group Members", (("Group", "VIP"), ("Source", "Rule")), (
        row(Group="VIP", Customer_ID="C7", Source="Rule"), row(Group="VIP", Customer_ID="C8", Source="Rule"),
        row(Group="VIP", Customer_ID="C9", Source="Rule")))])
    assert report.deleted == {"Group Members": 2} and report.appended == {"Group Members": 3}
    tail_old, tail_new = (sheet_xml(p).split(b"</sheetData>")[1] for p in (src, out))
    assert tail_new == (tail_old.replace(b'sqref="C2:C6"', b'sqref="C2:C7"').replace(b'sqref="D2:D6"', b'sqref="D2:D7"')
                        .replace(b"<xm:sqref>D2:D6</xm:sqref>", b"<xm:sqref>D2:D7</xm:sqref>"))


@pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice is not installed")
def test_libreoffice_opens_the_sheet_with_grown_ranges(tmp_path: Path) -> None:
    src = group_members(tmp_path / "gm.xlsx")
    out = tmp_path / "out.xlsx"
    apply(src, out, [APPEND])
    done = subprocess.run(["soffice", "--headless", f"-env:UserInstallation=file://{tmp_path}/lo",
                           "--convert-to", "csv", "--outdir", str(tmp_path / "csv"), str(out)],
                          capture_output=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    lines = (tmp_path / "csv" / "out.csv").read_text().splitlines()
    assert lines[0].split(",")[:4] == ["Group", "Customer ID", "Source", "N"]
    assert lines[6].split(",")[:3] == ["VIP", "C8", "Rule"] and lines[7].split(",")[:3] == ["VIP", "C9", "Rule"]
