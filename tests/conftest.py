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
