"""Shared fixtures: a small real workbook built from inline tables."""

from __future__ import annotations

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
