"""`receivables excel ...`, the selection syntax and the install plan (the parts that need no Excel)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from addin.excel.build import ExcelUnavailable, install_plan, update_conf, vba_file
from addin.excel.port import Selection, parse_selection, rows_of

ROOT = Path(__file__).resolve().parents[1]


def receivables(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "addin", *args], capture_output=True, text=True,
                          cwd=cwd or ROOT, timeout=120)


@pytest.mark.parametrize(("address", "rows"), [
    ("A2", (2,)),
    ("$A$2:$C$4", (2, 3, 4)),
    ("A2:C3,A7", (2, 3, 7)),
    ("B5:B3", (3, 4, 5)),
    ("3:4", (3, 4)),
    ("$1:$3", (2, 3)),  # the header row is never a record
    ("A:C", ()),  # whole columns name no record
    ("A1", ()),
])
def test_rows_of_an_excel_address(address, rows):
    assert rows_of(address) == rows


def test_parse_selection_with_quoted_sheet_names():
    assert parse_selection("Invoices!A2:A3,A5") == Selection("Invoices", (2, 3, 5))
    assert parse_selection("'Group Members'!4:5") == Selection("Group Members", (4, 5))
    assert parse_selection("'Bob''s list'!B2") == Selection("Bob's list", (2,))


def test_parse_selection_refuses_what_is_not_a_range():
    with pytest.raises(ValueError, match='"A2" has no sheet name'):
        parse_selection("A2")
    with pytest.raises(ValueError, match='"2A" is not a cell range'):
        parse_selection("Invoices!2A")


def test_selection_matches_schema_sheets_case_insensitively():
    from addin.workbook import schema

    assert Selection(" invoices ", (2,)).on(schema.INVOICES)
    assert not Selection("Customers", (2,)).on(schema.INVOICES)


def test_install_plan_on_windows_uses_xlstart_and_the_users_conf():
    plan = install_plan("win32", {"APPDATA": r"C:\Users\ann\AppData\Roaming", "USERPROFILE": r"C:\Users\ann"},
                        r"C:\ar\.venv\Scripts\python.exe", Path(r"C:\ar"))
    assert str(plan.target).replace("\\", "/").endswith("Microsoft/Excel/XLSTART/Receivables.xlam")
    assert str(plan.conf).replace("\\", "/").endswith(".receivables/receivables.conf")
    assert plan.settings == {"INTERPRETER_WIN": r"C:\ar\.venv\Scripts\python.exe", "PYTHONPATH": r"C:\ar"}


def test_install_plan_on_macos_uses_excels_startup_folder_and_container():
    plan = install_plan("darwin", {"HOME": "/Users/ann"}, "/Users/ann/ar/.venv/bin/python", Path("/Users/ann/ar"))
    assert plan.target == Path("/Users/ann/Library/Group Containers/UBF8T346G9.Office/User Content.localized/"
                               "Startup.localized/Excel/Receivables.xlam")
    assert plan.conf == Path("/Users/ann/Library/Containers/com.microsoft.Excel/Data/receivables.conf")
    assert plan.settings["INTERPRETER_MAC"] == "/Users/ann/ar/.venv/bin/python"


def test_update_conf_sets_our_keys_and_keeps_the_others(tmp_path):
    conf = tmp_path / ".receivables" / "receivables.conf"
    conf.parent.mkdir()
    conf.write_text('"SHOW CONSOLE","False"\n"INTERPRETER_WIN","C:\\old\\python.exe"\n', encoding="utf-8")
    update_conf(conf, {"INTERPRETER_WIN": r"C:\new\python.exe", "PYTHONPATH": r"C:\ar"})
    assert conf.read_text(encoding="utf-8") == (
        '"SHOW CONSOLE","False"\n"INTERPRETER_WIN","C:\\new\\python.exe"\n"PYTHONPATH","C:\\ar"\n')
    with pytest.raises(ExcelUnavailable, match="double quote"):
        update_conf(conf, {"PYTHONPATH": 'C:\\a"b'})


def test_vba_modules_are_written_for_the_vba_editor(tmp_path):
    text = (ROOT / "macros" / "Receivables.bas").read_text(encoding="ascii")
    data = vba_file(text, tmp_path, "Receivables.bas").read_bytes()
    assert b"\r\n" in data and b"\n" not in data.replace(b"\r\n", b"")
    assert data.decode("ascii").replace("\r\n", "\n") == text


@pytest.mark.skipif(sys.platform in ("win32", "darwin"), reason="Excel may be there")
def test_build_and_install_say_they_need_excel_and_exit_2(tmp_path):
    build = receivables("excel", "build-addin", "--out", str(tmp_path / "R.xlam"))
    assert build.returncode == 2
    assert build.stderr.startswith("error: Building the add-in needs Microsoft Excel on Windows; this machine runs ")
    install = receivables("excel", "install", "--addin", str(tmp_path / "R.xlam"))
    assert install.returncode == 2
    assert install.stderr.startswith("error: Installing the add-in needs Microsoft Excel on Windows or macOS; ")
    assert not (tmp_path / "R.xlam").exists()


def test_press_refuses_an_unknown_button_and_a_bad_selection(tmp_path):
    book = tmp_path / "book.xlsx"
    book.write_bytes(b"")
    unknown = receivables("excel", "press", str(book), "launch_rockets")
    assert unknown.returncode == 2
    assert unknown.stderr.startswith('error: no button "launch_rockets" — choose one of: build_groups, email_group, ')
    bad = receivables("excel", "press", str(book), "send_reminder", "--select", "A2")
    assert bad.returncode == 2
    assert bad.stderr == ('error: --select: "A2" has no sheet name — write it as Sheet!A2:A5, '
                          "e.g. Invoices!A2:A3\n")


def test_help_does_not_import_xlwings_or_excel_modules():
    code = ("import sys; from addin.cli import build_parser; build_parser(); "
            "print(sorted(m for m in sys.modules if m.startswith(('xlwings', 'win32', 'addin.excel'))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert out.stdout.strip() == "[]"
