"""The surgical writer: updates land, and everything else in the workbook stays as it was."""

from __future__ import annotations

import datetime as dt
import re
import zipfile
from pathlib import Path

import pytest
from conftest import calamine, part, rezip, sheet_parts

from addin.actions import AppendRows, ReplaceRows, SetCells, SetColumn, row
from addin.workbook.writer import WriteRefused, apply

# openpyxl says it would drop our x14 validation when it reads the result; that is the point
pytestmark = pytest.mark.filterwarnings("ignore:Data Validation extension:UserWarning")

HEADS = ["Invoice No", "Customer ID", "Invoice Date", "Due Date", "Amount", "Status", "Last Reminder"]
INVOICES = [
    ["INV-1", "C1", dt.date(2026, 3, 1), dt.date(2026, 3, 31), 100.5, None, dt.date(2026, 3, 20)],
    ["INV-2", "C2", dt.date(2026, 3, 2), dt.date(2026, 4, 1), 200, "Paid", None],
    ["INV-3", "C3", dt.date(2026, 3, 3), dt.date(2026, 4, 2), 1250.25, None, None],
]
X14_NS = ('xmlns:mc="http://schemas.openxmlformats.org/markup-compatibility/2006" '
          'xmlns:x14ac="http://schemas.microsoft.com/office/spreadsheetml/2009/9/ac" mc:Ignorable="x14ac"')
X14_EXT = (
    '<extLst><ext uri="{CCE6A557-97BC-4b89-ADB6-D9C93CAAB3DF}" '
    'xmlns:x14="http://schemas.microsoft.com/office/spreadsheetml/2009/9/main">'
    '<x14:dataValidations count="1" xmlns:xm="http://schemas.microsoft.com/office/excel/2006/main">'
    '<x14:dataValidation type="list" allowBlank="1"><x14:formula1><xm:f>Lists!$A$1:$A$3</xm:f>'
    "</x14:formula1><xm:sqref>B2:B500</xm:sqref></x14:dataValidation></x14:dataValidations></ext></extLst>"
)
CALC_CHAIN = (b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\r\n'
              b'<calcChain xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
              b'<c r="A1" i="3"/></calcChain>')


# --- building real workbooks ----------------------------------------------------------------


def build_rich(path: Path, *, calc_chain: bool = False, full_calc: bool = True, formula: bool = False) -> Path:
    """A workbook with what openpyxl would lose: x14 validation, customXml, comments, chart, ..."""
    import xlsxwriter

    wb = xlsxwriter.Workbook(str(path))
    wb.set_custom_property("Checked by", "Ana")
    date = wb.add_format({"num_format": "yyyy-mm-dd"})
    money = wb.add_format({"num_format": "#,##0.00"})
    ws = wb.add_worksheet("Invoices")
    ws.add_table(0, 0, len(INVOICES), len(HEADS) - 1,
                 {"name": "Invoices", "columns": [{"header": h} for h in HEADS]})
    for r, values in enumerate(INVOICES, 1):
        for c, v in enumerate(values):
            if isinstance(v, dt.date):
                ws.write_datetime(r, c, v, date)
            elif isinstance(v, float | int):
                ws.write_number(r, c, v, money)
            elif v is not None:
                ws.write_string(r, c, v)
    if formula:  # a status someone typed as a formula
        ws.write_formula(3, 5, '="Pa"&"id"', None, "Paid")
    ws.conditional_format(1, 4, 100, 4, {"type": "cell", "criteria": ">", "value": 1000, "format": money})
    ws.data_validation(1, 5, 100, 5, {"validate": "length", "criteria": "<", "value": 100})
    ws.write_comment(1, 0, "typed by Ana")
    ws.set_column(0, 0, 18)
    ws.freeze_panes(1, 0)
    ws.merge_range(0, 8, 0, 10, "Notes (merged)")
    wb.define_name("Amounts", "=Invoices!$E$2:$E$4")
    lists = wb.add_worksheet("Lists")
    lists.write_column(0, 0, ["C1", "C2", "C3"])
    dash = wb.add_worksheet("Dash")
    dash.write_formula(0, 0, "=SUM(Invoices!E2:E4)", None, 1550.75)
    chart = wb.add_chart({"type": "column"})
    chart.add_series({"values": "=Invoices!$E$2:$E$4"})
    dash.insert_chart("C3", chart)
    wb.close()
    with zipfile.ZipFile(path) as z:
        sheet = z.read("xl/worksheets/sheet1.xml").decode()
        workbook = z.read("xl/workbook.xml").decode()
        types = z.read("[Content_Types].xml").decode()
        rels = z.read("xl/_rels/workbook.xml.rels").decode()
    sheet = sheet.replace('xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"',
                          'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships" ' + X14_NS)
    sheet = sheet.replace("<row ", '<row x14ac:dyDescent="0.25" ').replace("</worksheet>", X14_EXT + "</worksheet>")
    changes: dict[str, bytes | None] = {
        "xl/worksheets/sheet1.xml": sheet.encode(),
        "customXml/item1.xml": b'<?xml version="1.0"?><receipts xmlns="urn:example">kept</receipts>',
    }
    if calc_chain:
        changes["xl/calcChain.xml"] = CALC_CHAIN
        changes["[Content_Types].xml"] = types.replace(
            "</Types>", '<Override PartName="/xl/calcChain.xml" ContentType="application/'
            'vnd.openxmlformats-officedocument.spreadsheetml.calcChain+xml"/></Types>').encode()
        changes["xl/_rels/workbook.xml.rels"] = rels.replace(
            "</Relationships>", '<Relationship Id="rId99" Type="http://schemas.openxmlformats.org/'
            'officeDocument/2006/relationships/calcChain" Target="calcChain.xml"/></Relationships>').encode()
    if not full_calc:
        changes["xl/workbook.xml"] = workbook.replace(' fullCalcOnLoad="1"', "").encode()
    rezip(path, changes)
    return path


def opx(path: Path, sheet: str) -> list[list[object]]:
    import openpyxl

    wb = openpyxl.load_workbook(path)
    return [[c.value for c in r] for r in wb[sheet].iter_rows()]


@pytest.fixture
def rich(tmp_path: Path) -> Path:
    return build_rich(tmp_path / "book.xlsx")


STATUS = SetCells("Invoices", "Invoice No", "INV-2", row(Status="Reminder 1 sent 2026-04-07",
                                                            Last_Reminder=dt.date(2026, 4, 7)))


# --- nothing is lost ------------------------------------------------------------------------


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


# --- finding rows by content ----------------------------------------------------------------


def test_set_cells_creates_missing_cells_in_column_order(rich: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.xlsx"
    apply(rich, out, [SetCells("Invoices", "Invoice No", "INV-1", row(Status="Overdue", Last_Reminder=None))])
    xml = part(out, "xl/worksheets/sheet1.xml").decode()
    row2 = re.search(r'<row [^>]*\br="2".*?</row>', xml).group()
    refs = re.findall(r'<c r="([A-Z]+)2"', row2)
    assert refs == ["A", "B", "C", "D", "E", "F", "G"]
    assert '<c r="F2" t="inlineStr"><is><t>Overdue</t></is></c>' in row2
    assert '<c r="G2" s="1"/>' in row2  # emptied, its date format kept


def test_keys_headers_and_sheet_names_match_ignoring_case_and_spaces(make_workbook, tmp_path: Path) -> None:
    src = make_workbook({"invoices ": [[" STATUS", "amount", "invoice no"], [None, 10, "inv-7"], [None, 20, 8]]})
    out = tmp_path / "out.xlsx"
    report = apply(src, out, [SetCells("Invoices", "Invoice No", " INV-7 ", row(Status="a")),
                              SetCells("INVOICES", "Invoice No", "8", row(Status="b"))])
    assert report.problems == [] and report.skipped == []
    assert calamine(out, "invoices ") == [[" STATUS", "amount", "invoice no"], ["a", 10, "inv-7"], ["b", 20, 8]]


def test_a_key_not_found_is_a_warning_and_the_other_updates_still_apply(rich: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.xlsx"
    report = apply(rich, out, [SetCells("Invoices", "Invoice No", "INV-404", row(Status="x")), STATUS])
    assert [str(p) for p in report.problems] == [
        'warning: Invoices: Invoice No "INV-404" was not found, so its row was not updated'
        " — check that the row was not deleted or its key changed"]
    assert report.skipped == [0]
    assert calamine(out, "Invoices")[2][5] == "Reminder 1 sent 2026-04-07"


def test_a_missing_column_is_a_warning_and_the_rest_of_the_row_is_written(rich: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.xlsx"
    report = apply(rich, out, [SetCells("Invoices", "Invoice No", "INV-1", row(Status="x", Balance=10))])
    assert [str(p) for p in report.problems] == [
        'warning: Invoices!1: column "Balance" is missing, so it was not written — add the header "Balance" in row 1']
    assert calamine(out, "Invoices")[1][5] == "x"


def test_the_same_updates_apply_onto_a_newer_version_of_the_file(rich: Path, tmp_path: Path) -> None:
    edited = tmp_path / "edited.xlsx"
    apply(rich, edited, [SetCells("Invoices", "Invoice No", "INV-3", row(Amount=999.0, Customer_ID="C9"))])
    out = tmp_path / "out.xlsx"
    apply(edited, out, [STATUS])
    rows = calamine(out, "Invoices")
    assert rows[3][1] == "C9" and rows[3][4] == 999.0
    assert rows[2][5] == "Reminder 1 sent 2026-04-07"


# --- values ---------------------------------------------------------------------------------


def test_dates_get_a_date_format_booleans_are_booleans_and_none_clears(make_workbook, tmp_path: Path) -> None:
    src = make_workbook({"Groups": [["Group", "Auto Update", "Updated", "Members"], ["VIP", True, None, 3]]})
    out = tmp_path / "out.xlsx"
    apply(src, out, [SetCells("Groups", "Group", "vip", row(Auto_Update=False, Members=None,
                                                           Updated=dt.datetime(2026, 4, 7, 8, 30)))])
    import openpyxl

    ws = openpyxl.load_workbook(out)["Groups"]
    assert [c.value for c in ws[2]] == ["VIP", False, dt.datetime(2026, 4, 7, 8, 30), None]
    assert ws["C2"].is_date
    xml = part(out, "xl/worksheets/sheet1.xml").decode()
    assert '<c r="B2" t="b"><v>0</v></c>' in xml


def test_text_is_escaped_and_comes_back_as_written(make_workbook, tmp_path: Path) -> None:
    src = make_workbook({"Log": [["Time", "Action", "Detail"]]})
    out = tmp_path / "out.xlsx"
    texts = ["<b> & \"quotes\"", "  leading and trailing  ", "two\nlines", "bell\x07", "_x0041_ stays", "=1+1", "é€😀"]
    apply(src, out, [AppendRows("Log", tuple(row(Action=t) for t in texts))])
    assert [r[1] for r in calamine(out, "Log")[1:]] == texts[:3] + ["bell\x07", "_x0041_ stays", "=1+1", "é€😀"]
    import openpyxl

    ws = openpyxl.load_workbook(out)["Log"]
    assert ws["B7"].data_type == "s"  # text that starts with = stays text


# --- appending and replacing rows -----------------------------------------------------------


def test_append_goes_after_the_last_record_and_grows_the_table(rich: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.xlsx"
    report = apply(rich, out, [AppendRows("Invoices", (
        row(Invoice_No="INV-4", Customer_ID="C1", Invoice_Date=dt.date(2026, 3, 4), Amount=50),
        row(Invoice_No="INV-5", Customer_ID="C2", Amount=60)))])
    assert report.appended == {"Invoices": 2}
    rows = calamine(out, "Invoices")
    assert [r[0] for r in rows] == ["Invoice No", "INV-1", "INV-2", "INV-3", "INV-4", "INV-5"]
    assert rows[4][2] == dt.date(2026, 3, 4)
    table = part(out, "xl/tables/table1.xml").decode()
    assert 'ref="A1:G6"' in table and '<autoFilter ref="A1:G6"/>' in table
    sheet = part(out, "xl/worksheets/sheet1.xml").decode()
    assert '<dimension ref="A1:K6"/>' in sheet
    import openpyxl

    ws = openpyxl.load_workbook(out)["Invoices"]
    assert ws.tables["Invoices"].ref == "A1:G6"
    assert ws["C5"].number_format == "yyyy-mm-dd" and ws["E5"].number_format == "#,##0.00"


def test_append_fills_preformatted_blank_rows_and_keeps_their_style(tmp_path: Path) -> None:
    import xlsxwriter

    src = tmp_path / "book.xlsx"
    wb = xlsxwriter.Workbook(str(src))
    yellow = wb.add_format({"bg_color": "#FFFF00"})
    ws = wb.add_worksheet("Log")
    ws.add_table(0, 0, 5, 2, {"name": "Log", "columns": [{"header": h} for h in ("Time", "Action", "Target")]})
    ws.write_row(1, 0, ["t", "first", "x"])
    for r in range(2, 6):
        ws.write_blank(r, 1, None, yellow)
    wb.close()
    out = tmp_path / "out.xlsx"
    apply(src, out, [AppendRows("Log", (row(Action="second"),))])
    assert calamine(out, "Log")[:3] == [["Time", "Action", "Target"], ["t", "first", "x"], ["", "second", ""]]
    import openpyxl

    ws2 = openpyxl.load_workbook(out)["Log"]
    assert ws2["B3"].fill.fgColor.rgb.endswith("FFFF00")
    assert ws2.tables["Log"].ref == "A1:C6"  # already covered the new row: unchanged


def group_members(tmp_path: Path, *, extra: str = "") -> Path:
    import xlsxwriter

    src = tmp_path / "gm.xlsx"
    wb = xlsxwriter.Workbook(str(src))
    ws = wb.add_worksheet("Group Members")
    data = [["VIP", "C1", "Rule"], ["VIP", "C2", "Added"], ["Small", "C3", "Rule"], ["VIP", "C4", "Rule"],
            ["Small", "C5", "Rule"]]
    ws.add_table(0, 0, len(data), 2, {"name": "GroupMembers", "data": data,
                                      "columns": [{"header": h} for h in ("Group", "Customer ID", "Source")]})
    if extra == "formula":
        ws.write_formula(6, 4, "=COUNTA(A:A)", None, 6)
    if extra == "merged":
        ws.merge_range(6, 4, 6, 5, "note")
    wb.close()
    return src


def test_replace_rows_deletes_matches_shifts_later_rows_and_appends(tmp_path: Path) -> None:
    src = group_members(tmp_path)
    out = tmp_path / "out.xlsx"
    report = apply(src, out, [ReplaceRows("Group Members", (("Group", "vip"), ("Source", "Rule")),
                                          (row(Group="VIP", Customer_ID="C9", Source="Rule"),))])
    assert report.deleted == {"Group Members": 2} and report.appended == {"Group Members": 1}
    assert calamine(out, "Group Members") == [
        ["Group", "Customer ID", "Source"], ["VIP", "C2", "Added"], ["Small", "C3", "Rule"],
        ["Small", "C5", "Rule"], ["VIP", "C9", "Rule"]]
    assert 'ref="A1:C5"' in part(out, "xl/tables/table1.xml").decode()
    sheet = part(out, "xl/worksheets/sheet1.xml").decode()
    assert re.findall(r'<row r="(\d+)"', sheet) == ["1", "2", "3", "4", "5"]


def test_replace_rows_with_nothing_left_keeps_a_one_row_table(tmp_path: Path) -> None:
    src = group_members(tmp_path)
    out = tmp_path / "out.xlsx"
    apply(src, out, [ReplaceRows("Group Members", (("Source", "Rule"),)),
                     ReplaceRows("Group Members", (("Source", "Added"),))])
    assert calamine(out, "Group Members") == [["Group", "Customer ID", "Source"]]
    assert 'ref="A1:C2"' in part(out, "xl/tables/table1.xml").decode()


@pytest.mark.parametrize("extra, what", [("formula", "formulas"), ("merged", "merged cells")])
def test_replace_rows_refuses_to_move_formulas_or_merged_cells(tmp_path: Path, extra: str, what: str) -> None:
    src = group_members(tmp_path, extra=extra)
    with pytest.raises(WriteRefused) as info:
        apply(src, tmp_path / "out.xlsx", [STATUS, ReplaceRows("Group Members", (("Group", "VIP"),))])
    assert str(info.value.problem()) == (
        f"'Group Members': rows cannot be deleted: {what} below row 2 would have to move"
        " — remove them from the Group Members sheet (it should hold plain data only)")
    assert info.value.index == 1


def test_a_missing_log_sheet_is_created_with_its_headers(rich: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.xlsx"
    report = apply(rich, out, [AppendRows("log", (row(Time=dt.datetime(2026, 4, 7, 9, 0), Action="reminder 1",
                                                      Target="INV-2"),))])
    assert report.created == ["Log"]
    rows = calamine(out, "Log")
    assert rows[0] == ["Time", "Action", "Target", "Recipients", "Status", "Message ID", "Detail"]
    assert rows[1][:3] == [dt.datetime(2026, 4, 7, 9, 0), "reminder 1", "INV-2"]
    import openpyxl

    assert openpyxl.load_workbook(out).sheetnames == ["Invoices", "Lists", "Dash", "Log"]


def test_set_cells_on_a_missing_sheet_is_a_warning(rich: Path, tmp_path: Path) -> None:
    report = apply(rich, tmp_path / "out.xlsx", [SetCells("Groups", "Group", "VIP", row(Members=3))])
    assert [str(p) for p in report.problems] == [
        'warning: Groups: the sheet is missing, so Group "VIP" was not updated — add a sheet named "Groups"']
    assert report.created == []


# --- formulas and recalculation -------------------------------------------------------------


def test_overwriting_a_formula_drops_the_calc_chain(tmp_path: Path) -> None:
    src = build_rich(tmp_path / "book.xlsx", calc_chain=True, formula=True)
    kept = tmp_path / "kept.xlsx"
    assert not apply(src, kept, [STATUS]).calc_chain_removed
    assert "xl/calcChain.xml" in zipfile.ZipFile(kept).namelist()
    out = tmp_path / "out.xlsx"
    report = apply(src, out, [SetCells("Invoices", "Invoice No", "INV-3", row(Status="Reminder 1 sent 2026-04-07"))])
    assert report.calc_chain_removed
    with zipfile.ZipFile(out) as z:
        assert "xl/calcChain.xml" not in z.namelist()
        assert b"calcChain" not in z.read("[Content_Types].xml")
        assert b"calcChain" not in z.read("xl/_rels/workbook.xml.rels")
    assert calamine(out, "Invoices")[3][5] == "Reminder 1 sent 2026-04-07"
    import openpyxl

    openpyxl.load_workbook(out)


def test_full_calc_on_load_is_set_only_when_a_formula_reads_the_changed_sheet(tmp_path: Path) -> None:
    src = build_rich(tmp_path / "book.xlsx", calc_chain=True, full_calc=False)
    out = tmp_path / "out.xlsx"
    report = apply(src, out, [STATUS])  # Dash!A1 = SUM(Invoices!E2:E4)
    assert report.full_calc_on_load
    assert re.search(rb'<calcPr [^>]*fullCalcOnLoad="1"', part(out, "xl/workbook.xml"))
    report = apply(src, tmp_path / "out2.xlsx", [SetCells("Lists", "C1", "C2", row(C1="C2b"))])
    assert not report.full_calc_on_load
    assert part(tmp_path / "out2.xlsx", "xl/workbook.xml") == part(src, "xl/workbook.xml")


# --- unusual but valid sheet XML ------------------------------------------------------------

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


# --- the fast path for rows whose new cells go last -------------------------------------------


def test_cells_appended_at_the_end_of_rows_are_the_bytes_the_general_path_writes(
        make_workbook, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from addin.workbook import writer

    src = make_workbook({"Invoices": [
        ["Invoice No", "Amount", "Paid", "Status", "Note"],
        ["INV-1", 10, None, None, None],
        ["INV-2", 20, 5, None, None],  # Paid exists: the fast path must step aside
        ["INV-3", 30, None, None, None],
        ["INV-4", dt.date(2026, 3, 1), None, None, None],
        ["INV-5", 50, None, None, None],
    ]})
    updates = [
        SetCells("Invoices", "Invoice No", "INV-1", row(Paid=1.5, Status="Open")),
        SetCells("Invoices", "Invoice No", "INV-2", row(Paid=2.25, Status=" spaced & <odd> ")),
        SetCells("Invoices", "Invoice No", "INV-3", row(Paid=3, Status="x" * 300, Note=True)),
        SetCells("Invoices", "Invoice No", "INV-4", row(Status="Paid", Note=dt.date(2026, 4, 1))),
        SetCells("Invoices", "Invoice No", "INV-5", row(Paid=-0.0, Status="line\nbreak", Note=None)),
    ]
    fast, general = tmp_path / "fast.xlsx", tmp_path / "general.xlsx"
    taken: list[bool] = []
    appended = writer._RowWriter._appended

    def counted(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        added = appended(self, *args, **kwargs)
        taken.append(added is not None)
        return added

    monkeypatch.setattr(writer._RowWriter, "_appended", counted)
    fast_report = apply(src, fast, updates)
    assert taken.count(True) == 4  # every row but INV-2, which has a Paid cell already
    monkeypatch.setattr(writer._RowWriter, "_appended", lambda *args, **kwargs: None)
    general_report = apply(src, general, updates)
    assert part(fast, "xl/worksheets/sheet1.xml") == part(general, "xl/worksheets/sheet1.xml")
    assert fast_report == general_report
    assert '<c r="C2"><v>1.5</v></c><c r="D2" t="inlineStr"><is><t>Open</t></is></c></row>' in \
        part(fast, "xl/worksheets/sheet1.xml").decode()


def test_a_column_sets_what_its_cells_would_set_one_after_the_other(make_workbook, tmp_path: Path) -> None:
    """SetColumn: keys trimmed and case-insensitive, a key given twice takes its last value, a
    missing key or column is a warning and the rest is written; the update counts as skipped
    only when nothing of it could be written."""
    src = make_workbook({"Invoices": [["Invoice No", "Customer ID", "Amount", "Paid", "Status"],
                                      ["INV-1", "C1", 10, None, None], ["INV-2", "C1", 20, None, None],
                                      ["INV-3", "C1", 30, None, None]]})
    columns = [SetColumn("Invoices", "Invoice No", "Paid", (" inv-2", "INV-404", "INV-1", "INV-2"), (2.0, 4.0, 1.0, 2.5)),
               SetColumn("Invoices", "Invoice No", "Nope", ("INV-1",), ("x",)),
               SetColumn("Invoices", "Key?", "Paid", ("INV-1", "INV-2"), (9.0, 9.0)),
               SetColumn("Invoices", "Invoice No", "Status", ("INV-404",), ("lost",)),
               SetColumn("Vendors", "Vendor ID", "Name", ("V1",), ("x",))]
    cells = [SetCells(u.sheet, u.key_header, k, ((u.header, v),)) for u in columns[:2]
             for k, v in zip(u.keys, u.values, strict=True)]
    report = apply(src, tmp_path / "columns.xlsx", columns)
    apply(src, tmp_path / "cells.xlsx", cells)

    sheet = sheet_parts(src)["Invoices"]
    assert part(tmp_path / "columns.xlsx", sheet) == part(tmp_path / "cells.xlsx", sheet) != part(src, sheet)
    assert [r[3] for r in calamine(tmp_path / "columns.xlsx", "Invoices")[1:]] == [1.0, 2.5, ""]
    assert report.skipped == [2, 3, 4]
    assert sorted(map(str, report.problems)) == [
        'warning: Invoices!1: column "Key?" is missing, so 2 row(s) could not be updated — add the header "Key?" in row 1',
        'warning: Invoices!1: column "Nope" is missing, so it was not written — add the header "Nope" in row 1',
        'warning: Invoices: Invoice No "INV-404" was not found, so its row was not updated — '
        "check that the row was not deleted or its key changed",
        'warning: Vendors: the sheet is missing, so 1 row(s) were not updated — add a sheet named "Vendors"',
    ]
