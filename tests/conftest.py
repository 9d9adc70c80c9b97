"""Shared fixtures and helpers: small real workbooks built from inline tables, and the parts,
sheets and cells of a workbook file looked at as a test sees them."""

from __future__ import annotations

import datetime as dt
import posixpath
import re
import zipfile
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import pytest

Table = Sequence[Sequence[object]]  # first row = headers

DEFAULT_SETTINGS: Table = [
    ["Key", "Value"],
    ["company_name", "Maple Books Ltd"],
    ["company_email", "billing@maple.example"],
]
DEFAULT_CUSTOMERS: Table = [
    ["Customer ID", "Name", "Status", "Email"],
]
DEFAULT_INVOICES: Table = [
    ["Invoice No", "Customer ID", "Invoice Date", "Due Date", "Amount"],
]


def write_workbook(path: Path, tables: Mapping[str, Table], *, required: bool = True) -> Path:
    """Write an .xlsx with one sheet per table (row 1 = headers), as a person would type it.

    With ``required`` the Settings, Customers and Invoices sheets are added when absent.
    Dates are written as real Excel dates with a date format, Decimals as numbers.
    """
    import datetime as dt
    from decimal import Decimal

    from openpyxl import Workbook

    all_tables = dict(tables)
    if required:
        all_tables.setdefault("Settings", DEFAULT_SETTINGS)
        all_tables.setdefault("Customers", DEFAULT_CUSTOMERS)
        all_tables.setdefault("Invoices", DEFAULT_INVOICES)
    wb = Workbook()
    wb.remove(wb.active)
    for name, table in all_tables.items():
        ws = wb.create_sheet(name)
        for row in table:
            ws.append([float(v) if isinstance(v, Decimal) else v for v in row])
        for row_cells in ws.iter_rows():
            for cell in row_cells:
                if isinstance(cell.value, dt.datetime):
                    cell.number_format = "yyyy-mm-dd hh:mm"
                elif isinstance(cell.value, dt.date):
                    cell.number_format = "yyyy-mm-dd"
    wb.save(path)
    return path


@pytest.fixture
def make_workbook(tmp_path: Path) -> Callable[..., Path]:
    """``make_workbook({"Customers": [...], ...}, name="book.xlsx")`` -> path of a real .xlsx."""

    def make(tables: Mapping[str, Table], name: str = "book.xlsx", required: bool = True) -> Path:
        return write_workbook(tmp_path / name, tables, required=required)

    return make


def _stored_parts(path: Path) -> dict[str, tuple[int, bytes]]:
    """Each zip entry's compression method and stored (compressed) bytes, in the zip's order."""
    import struct
    import zipfile

    out = {}
    with open(path, "rb") as f, zipfile.ZipFile(path) as z:
        for info in z.infolist():
            f.seek(info.header_offset)
            name_length, extra_length = struct.unpack("<HH", f.read(30)[26:30])
            f.seek(info.header_offset + 30 + name_length + extra_length)
            out[info.filename] = (info.compress_type, f.read(info.compress_size))
    return out


@pytest.fixture
def stored_parts() -> Callable[[Path], dict[str, tuple[int, bytes]]]:
    """``stored_parts(path)``: each part of a workbook as stored, to prove what a write kept byte for byte."""
    return _stored_parts


def _rewrite_part(path: Path, part: str, old: bytes, new: bytes) -> None:
    """Replace ``old`` by ``new`` in one part of the package, as another program might write it."""
    import zipfile

    with zipfile.ZipFile(path) as z:
        parts = {i.filename: z.read(i) for i in z.infolist()}
    assert old in parts[part], f"{old!r} is not in {part}"
    parts[part] = parts[part].replace(old, new)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in parts.items():
            z.writestr(name, data)


@pytest.fixture
def rewrite_part() -> Callable[[Path, str, bytes, bytes], None]:
    """``rewrite_part(path, part, old, new)``: a package part changed as another program writes it."""
    return _rewrite_part


@pytest.fixture
def write_tables() -> Callable[..., Path]:
    """``write_tables(path, tables, required=True)``: ``write_workbook`` for tests that make many books."""
    return write_workbook


# A real SMTP server on 127.0.0.1 (STARTTLS + AUTH, or implicit TLS) for the mail tests.
from smtp_server import smtp_server, smtps_server  # noqa: E402, F401

# --- looking into a workbook file --------------------------------------------------------------


def rezip(path: Path, changes: dict[str, bytes | None]) -> None:
    """Rewrite the zip at ``path`` with some parts replaced (None: removed) or added."""
    with zipfile.ZipFile(path) as z:
        parts = [(i.filename, z.read(i.filename)) for i in z.infolist()]
    names = {n for n, _ in parts}
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in parts:
            new = changes.get(name, data)
            if new is not None:
                z.writestr(name, new)
        for name, data in changes.items():
            if name not in names and data is not None:
                z.writestr(name, data)


def with_shared_strings(path: Path) -> Path:
    """The workbook with its texts in a shared-strings table, as Excel saves them (openpyxl writes
    them inline)."""
    with zipfile.ZipFile(path) as z:
        parts = {i.filename: z.read(i.filename) for i in z.infolist()}
    texts: dict[bytes, int] = {}

    def shared(m: re.Match[bytes]) -> bytes:
        return m.group(1) + b' t="s"><v>%d</v></c>' % texts.setdefault(m.group(2), len(texts))

    inline = re.compile(rb'(<c r="[A-Z]+\d+"(?: s="\d+")?) t="inlineStr"><is><t>([^<]*)</t></is></c>')
    changes: dict[str, bytes | None] = {
        name: inline.sub(shared, data) for name, data in parts.items() if name.startswith("xl/worksheets/")}
    changes["xl/sharedStrings.xml"] = (
        b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<sst xmlns="http://schemas.openxmlformats.org/'
        b'spreadsheetml/2006/main" count="%d" uniqueCount="%d">' % (len(texts), len(texts))
        + b"".join(b"<si><t>%s</t></si>" % t for t in texts) + b"</sst>")
    changes["xl/_rels/workbook.xml.rels"] = parts["xl/_rels/workbook.xml.rels"].replace(
        b"</Relationships>", b'<Relationship Id="rIdSst" Type="http://schemas.openxmlformats.org/officeDocument/'
        b'2006/relationships/sharedStrings" Target="sharedStrings.xml"/></Relationships>')
    changes["[Content_Types].xml"] = parts["[Content_Types].xml"].replace(
        b"</Types>", b'<Override PartName="/xl/sharedStrings.xml" ContentType="application/'
        b'vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/></Types>')
    rezip(path, changes)
    return path


def part(path: Path, name: str) -> bytes:
    with zipfile.ZipFile(path) as z:
        return z.read(name)


def calamine(path: Path, sheet: str) -> list[list[object]]:
    from python_calamine import CalamineWorkbook

    with CalamineWorkbook.from_path(str(path)) as wb:
        return wb.get_sheet_by_name(sheet).to_python()


def sheet_parts(path: Path) -> dict[str, str]:
    """Sheet name -> its part name."""
    with zipfile.ZipFile(path) as z:
        book = z.read("xl/workbook.xml").decode()
        rels = z.read("xl/_rels/workbook.xml.rels").decode()
    targets = {}
    for m in re.finditer(r"<Relationship\b[^>]*>", rels):
        rid = re.search(r'Id="([^"]+)"', m.group()).group(1)
        target = re.search(r'Target="([^"]+)"', m.group()).group(1)
        targets[rid] = target.lstrip("/") if target.startswith("/") else posixpath.join("xl", target)
    return {m.group(1): targets[m.group(2)] for m in re.finditer(r'<sheet name="([^"]+)"[^>]*r:id="([^"]+)"', book)}


VOLATILE = {"time", "message id", "updated"}  # clock readings and generated ids

RIBBON_BOOK = {  # the book the ribbon's handlers are tried on
    "Settings": [
        ["Key", "Value"],
        ["company_name", "Maple Books Ltd"],
        ["company_email", "billing@maple.example"],
        ["reminders_enabled", True],
        ["reminders_attach_pdf", False],
        ["timezone", "America/Toronto"],
    ],
    "Customers": [
        ["Customer ID", "Name", "Status", "Email", "Contact", "State"],
        ["C1", "Acme Ltd", "Active", "ap@acme.example", "Jane Roe", "CA"],
        ["C2", "Bolt Inc", "Active", "pay@bolt.example", "Sam Poe", "NV"],
        ["C3", "Cedar Co", "Active", "cedar@cedar.example", "", "CA"],
    ],
    "Invoices": [
        ["Invoice No", "Customer ID", "Invoice Date", "Due Date", "Amount", "Email", "Memo", "Paid", "Balance",
         "Status", "Last Reminder"],
        ["INV-1", "C1", dt.date(2026, 3, 1), dt.date(2026, 3, 31), 1000, None, "Spring order", None, None, None, None],
        ["INV-2", "C2", dt.date(2026, 3, 5), dt.date(2026, 4, 3), 250, None, None, None, None, None, None],
        ["INV-3", "C1", dt.date(2026, 3, 20), dt.date(2026, 4, 19), 80, None, None, None, None, None, None],
        ["INV-4", "C3", dt.date(2026, 2, 1), dt.date(2026, 3, 3), 300, None, None, None, None, None, None],
    ],
    "Payments": [
        ["Payment ID", "Customer ID", "Date", "Amount", "Type", "Invoice No"],
        ["P-1", "C1", dt.date(2026, 3, 15), 400, "Payment", "INV-1"],
        ["P-2", "C3", dt.date(2026, 3, 30), 300, "Payment", "INV-4"],
    ],
    "Groups": [["Group", "Description", "Kind", "Auto Update", "Members", "Updated"],
               ["West", "", "Customer", True, None, None], ["Nevada", "", "Customer", True, None, None]],
    "Group Rules": [["Group", "Field", "Operator", "Value", "Value 2"],
                    ["West", "State", "is", "CA", None], ["Nevada", "State", "is", "NV", None]],
    "Group Members": [["Group", "Customer ID", "Name", "Source"]],
    "Reminders": [
        ["Reminder", "Enabled", "Days", "When", "Subject", "Greeting", "Salutation", "Message", "Group"],
        [1, True, 3, "Before", None, True, None, None, None],
        [2, True, 7, "After", None, True, None, None, None],
        [3, True, 30, "After", None, True, None, None, None],
    ],
    "Log": [["Time", "Action", "Target", "Recipients", "Status", "Message ID", "Detail"]],
}


def stable_cells(path: Path) -> dict[str, list[list[object]]]:
    """Every sheet's values, without the columns holding clock readings or generated ids."""
    from python_calamine import CalamineWorkbook

    wb = CalamineWorkbook.from_path(str(path))
    out = {}
    for name in wb.sheet_names:
        rows = wb.get_sheet_by_name(name).to_python()
        keep = [i for i, h in enumerate(rows[0] if rows else []) if str(h).strip().casefold() not in VOLATILE]
        out[name] = [[r[i] if i < len(r) else "" for i in keep] for r in rows]
    return out


# --- workbooks the writer tests share ---------------------------------------------------------

RICH_HEADS = ["Invoice No", "Customer ID", "Invoice Date", "Due Date", "Amount", "Status", "Last Reminder"]

RICH_INVOICES = [
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


def build_rich(path: Path, *, calc_chain: bool = False, full_calc: bool = True, formula: bool = False) -> Path:
    """A workbook with what openpyxl would lose: x14 validation, customXml, comments, chart, ..."""
    import xlsxwriter

    wb = xlsxwriter.Workbook(str(path))
    wb.set_custom_property("Checked by", "Ana")
    date = wb.add_format({"num_format": "yyyy-mm-dd"})
    money = wb.add_format({"num_format": "#,##0.00"})
    ws = wb.add_worksheet("Invoices")
    ws.add_table(0, 0, len(RICH_INVOICES), len(RICH_HEADS) - 1,
                 {"name": "Invoices", "columns": [{"header": h} for h in RICH_HEADS]})
    for r, values in enumerate(RICH_INVOICES, 1):
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


@pytest.fixture
def rich(tmp_path: Path) -> Path:
    return build_rich(tmp_path / "book.xlsx")


def opx(path: Path, sheet: str) -> list[list[object]]:
    import openpyxl

    wb = openpyxl.load_workbook(path)
    return [[c.value for c in r] for r in wb[sheet].iter_rows()]


def rich_status() -> object:
    """The update the rich-workbook tests write: INV-2's Status and Last Reminder."""
    from addin.actions import SetCells, row

    return SetCells("Invoices", "Invoice No", "INV-2", row(Status="Reminder 1 sent 2026-04-07",
                                                          Last_Reminder=dt.date(2026, 4, 7)))


def group_members_book(tmp_path: Path, *, extra: str = "") -> Path:
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


def dashboard_like(path: Path) -> Path:
    """A Dashboard-like sheet: labels, styled empty value cells, a gap row, and an Invoices sheet."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    wb = Workbook()
    ws = wb.active
    ws.title = "Dashboard"
    ws["A1"] = "Receivables dashboard"
    ws["A2"] = "As of"
    ws["B2"].number_format = "yyyy-mm-dd"
    ws["A5"] = "Total receivable"
    ws["B5"].number_format = "#,##0.00"
    ws["B5"].font = Font(bold=True)
    ws["A7"] = "% overdue"
    ws["B7"].number_format = "0.0%"
    ws["B7"] = 0.5  # a stale value to replace
    ws["A9"] = "kept"
    inv = wb.create_sheet("Invoices")
    inv.append(["Invoice No", "Amount", "Paid", "Balance", "Status"])
    for n in range(1, 6):
        inv.append([f"INV-{n}", n * 100.0])
    wb.save(path)
    return path


@pytest.fixture
def dashboard_book(tmp_path: Path) -> Path:
    """``dashboard_like`` in the test's folder."""
    return dashboard_like(tmp_path / "book.xlsx")


def entries(path: Path) -> dict[str, bytes]:
    """Every part of the workbook, inflated."""
    with zipfile.ZipFile(path) as z:
        return {i.filename: z.read(i.filename) for i in z.infolist()}


TARGET = "xl/worksheets/sheet1.xml"

SHEET_HEAD = (b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        b'<dimension ref="A1:C9"/><sheetData>')

SHEET_TAIL = b'</sheetData><pageMargins left="0.7" right="0.7" top="0.75" bottom="0.75" header="0.3" footer="0.3"/></worksheet>'



def inline_text(ref: str, value: str) -> bytes:
    return f'<c r="{ref}" t="inlineStr"><is><t>{value}</t></is></c>'.encode()


def number_cell(ref: str, value: float) -> bytes:
    return f'<c r="{ref}"><v>{value}</v></c>'.encode()


PLAIN_ROWS = [
    b'<row r="1">' + inline_text("A1", "Invoice No") + inline_text("B1", "Amount") + inline_text("C1", "Paid") + inline_text("D1", "Note") + b"</row>",
    b'<row r="2">' + inline_text("A2", "INV-1") + number_cell("B2", 10) + b"</row>",
    b"\n  ",
    b'<row r="3" spans="1:4">' + inline_text("A3", "INV-2") + number_cell("B3", 20) + number_cell("C3", 5) + b"</row>",
    b'<row r="4" spans="1:4" customHeight="1" ht="20"/>',
    b'<row r="5">' + inline_text("A5", "INV-3") + number_cell("B5", 30) + b"</row>",
    b'<row r="6"/><row r="7">' + inline_text("A7", "INV-4") + number_cell("B7", 40) + inline_text("D7", "keep") + b"</row>\n",
    b'<row r="8">' + inline_text("A8", "INV-5") + b'<c r="B8" s="0"/>' + b"</row>",
    b'<row r="9">' + inline_text("A9", "INV-6") + number_cell("B9", 60) + b"</row>",
]
ODD_ROWS = [r.replace(b'<row r="5">', b'<row spans="1:4" r="5">') for r in PLAIN_ROWS]
