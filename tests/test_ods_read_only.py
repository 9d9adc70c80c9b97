""".ods is read only (SPEC §2): a command that would send or write refuses it, exit 2, before doing anything."""

from __future__ import annotations

import datetime as dt
import zipfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from xml.sax.saxutils import escape

import pytest

from addin.cli import main

d = dt.date

TABLES: Mapping[str, Sequence[Sequence[object]]] = {
    "Settings": [["Key", "Value"], ["company_name", "Maple Books Ltd"], ["company_email", "billing@maple.example"],
                 ["reminders_enabled", "TRUE"]],
    "Customers": [["Customer ID", "Name", "Status", "Email"], ["C1", "Acme Ltd", "Active", "ap@acme.example"]],
    "Invoices": [["Invoice No", "Customer ID", "Invoice Date", "Due Date", "Amount"],
                 ["INV-1", "C1", d(2026, 3, 1), d(2026, 3, 31), 1000]],
    "Reminders": [["Reminder", "Enabled", "Days", "When"], [1, "TRUE", 3, "Before"]],
    "Groups": [["Group", "Auto Update"], ["All", "TRUE"]],
    "Group Rules": [["Group", "Field", "Operator", "Value"], ["All", "Status", "is", "Active"]],
    "Group Members": [["Group", "Customer ID", "Name", "Source"], ["All", "C1", "Acme Ltd", "Added"]],
}


def _cell(value: object) -> str:
    if isinstance(value, dt.date):
        return f'<table:table-cell office:value-type="date" office:date-value="{value.isoformat()}"/>'
    if isinstance(value, (int, float)):
        return f'<table:table-cell office:value-type="float" office:value="{value}"/>'
    return f'<table:table-cell office:value-type="string"><text:p>{escape(str(value))}</text:p></table:table-cell>'


def write_ods(path: Path, tables: Mapping[str, Sequence[Sequence[object]]]) -> Path:
    """A real OpenDocument spreadsheet, as LibreOffice stores one (mimetype first, stored)."""
    ns = ('xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
          'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
          'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" office:version="1.3"')
    sheets = "".join(
        f'<table:table table:name="{escape(name)}">'
        + "".join("<table:table-row>" + "".join(map(_cell, row)) + "</table:table-row>" for row in rows)
        + "</table:table>" for name, rows in tables.items())
    content = f'<?xml version="1.0" encoding="UTF-8"?><office:document-content {ns}><office:body>' \
              f"<office:spreadsheet>{sheets}</office:spreadsheet></office:body></office:document-content>"
    manifest = ('<?xml version="1.0" encoding="UTF-8"?><manifest:manifest '
                'xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.3">'
                '<manifest:file-entry manifest:full-path="/" manifest:media-type='
                '"application/vnd.oasis.opendocument.spreadsheet"/><manifest:file-entry '
                'manifest:full-path="content.xml" manifest:media-type="text/xml"/></manifest:manifest>')
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet", zipfile.ZIP_STORED)
        z.writestr("META-INF/manifest.xml", manifest, zipfile.ZIP_DEFLATED)
        z.writestr("content.xml", content, zipfile.ZIP_DEFLATED)
    return path


def refusal(path: Path) -> str:
    return (f"error: {path}: an OpenDocument spreadsheet is only read here, never written to or sent from — save it "
            "as Excel Workbook (.xlsx) (in LibreOffice: File > Save As, Excel 2007-365) and run the command on that "
            "file\n")


WRITING = [
    ["reminders", "run", "{wb}", "--as-of", "2026-03-28", "--outbox", "{out}"],
    ["reminders", "send", "{wb}", "INV-1", "--as-of", "2026-03-28", "--outbox", "{out}"],
    ["statements", "email", "{wb}", "C1", "--end", "2026-03-31", "--outbox", "{out}"],
    ["statements", "run", "{wb}", "--as-of", "2026-04-01", "--outbox", "{out}"],
    ["groups", "build", "{wb}"],
    ["groups", "email", "{wb}", "All", "--subject", "Hello", "--message", "Hi", "--outbox", "{out}"],
    ["groups", "delete", "{wb}", "All"],
    ["refresh", "{wb}", "--as-of", "2026-03-28"],
    ["daemon", "{wb}", "--once", "--as-of", "2026-03-28", "--outbox", "{out}"],
    ["daemon", "{wb}"],
    ["daemon", "status", "{wb}"],
    ["daemon", "install", "{wb}", "--dry-run"],
    ["journal", "release", "{wb}", "reminder:INV-1:1"],
    ["journal", "confirm", "{wb}", "reminder:INV-1:1"],
]


@pytest.mark.parametrize("words", WRITING, ids=lambda w: " ".join(x for x in w[:3] if "{" not in x))
def test_a_command_that_would_send_or_write_refuses_an_ods_before_doing_anything(tmp_path, capsys, words) -> None:
    wb = write_ods(tmp_path / "books.ods", TABLES)
    before = wb.read_bytes()
    argv = [w.format(wb=wb, out=tmp_path / "outbox") for w in words]
    assert main(argv) == 2
    out, err = capsys.readouterr()
    assert (out, err) == ("", refusal(wb))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["books.ods"]  # no journal, no outbox, no lock, no backup
    assert wb.read_bytes() == before


READING = [
    ["check", "{wb}"],
    ["reminders", "due", "{wb}", "--as-of", "2026-03-28"],
    ["groups", "show", "{wb}", "All"],
    ["groups", "export", "{wb}", "All", "--out", "{tmp}/all.csv"],
    ["report", "aging", "{wb}", "--as-of", "2026-03-28", "--format", "csv", "--out", "{tmp}/reports"],
    ["statements", "export", "{wb}", "C1", "--end", "2026-03-31", "--format", "csv", "--out", "{tmp}/statements"],
]


@pytest.mark.parametrize("words", READING, ids=lambda w: " ".join(x for x in w[:2] if "{" not in x))
def test_reading_commands_still_work_on_an_ods(tmp_path, capsys, words) -> None:
    wb = write_ods(tmp_path / "books.ods", TABLES)
    before = wb.read_bytes()
    assert main([w.format(wb=wb, tmp=tmp_path) for w in words]) == 0
    out, err = capsys.readouterr()
    assert "OpenDocument" not in out + err
    assert wb.read_bytes() == before
    assert not list(tmp_path.glob("*.sqlite*")) and not (tmp_path / "outbox").exists()


def test_the_reminders_it_would_send_are_shown(tmp_path, capsys) -> None:
    wb = write_ods(tmp_path / "books.ods", TABLES)
    assert main(["reminders", "due", str(wb), "--as-of", "2026-03-28"]) == 0
    assert "INV-1: reminder 1 to ap@acme.example" in capsys.readouterr().out


def test_the_ribbon_refuses_it_too_and_writes_nothing_into_it(tmp_path) -> None:
    from addin.excel.handlers import dispatch
    from addin.excel.port import FilePort

    class ExcelPort(FilePort):
        """As in Excel: after a command, the updates waiting in the journal would be written into the open book."""

        written: list[list[str]] = []

        def after_run(self, lines: list[str]) -> list[str]:
            self.written.append(lines)
            return lines

    wb = write_ods(tmp_path / "books.ods", TABLES)
    for button in ("run_reminders", "refresh_dashboard", "build_groups", "check_workbook"):
        port = ExcelPort(wb, outbox=tmp_path / "outbox")
        code = dispatch(button, port)
        if button == "check_workbook":
            assert code == 0 and "OpenDocument" not in " ".join(port.shown)
        else:
            assert (code, port.shown) == (2, [refusal(wb).strip()])
    assert ExcelPort.written == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["books.ods"]
