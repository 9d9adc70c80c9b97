"""What the sheet XML says beyond the values (SPEC §2): error cells in any program's files,
formulas with no saved value, date-styled columns, Excel's date 60, and .ods workbooks.

Real files from real programs: openpyxl (formulas it never computes, column styles),
xlsxwriter (cached results), Gnumeric (``ssconvert``) and LibreOffice (``soffice``). The files
those two made are kept in tests/data (made from ``write_source``); where the programs are
installed, the test makes them afresh too.
"""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess
from pathlib import Path

import pytest

from addin.problems import Severity
from addin.workbook import cells
from addin.workbook.dateformats import is_date_format
from addin.workbook.reader import load

DATA = Path(__file__).parent / "data"
D1, D31 = dt.date(2026, 3, 1), dt.date(2026, 3, 31)
CUSTOMERS = [["Customer ID", "Name", "Status", "Email"], ["C1", "Acme Ltd", "Active", "ap@acme.example.com"]]
INVOICES = ["Invoice No", "Customer ID", "Invoice Date", "Due Date", "Amount", "Memo"]


def excel_book(path: Path, customers: list[list[str]] = CUSTOMERS):
    """An xlsxwriter workbook (as Excel writes cells) with Settings, Customers and the Invoices
    header written: returns the workbook, its Invoices sheet and a date format."""
    import xlsxwriter

    wb = xlsxwriter.Workbook(str(path))
    date = wb.add_format({"num_format": "yyyy-mm-dd"})
    wb.add_worksheet("Settings").write_row(0, 0, ["Key", "Value"])
    ws = wb.add_worksheet("Customers")
    for r, row in enumerate(customers):
        ws.write_row(r, 0, row)
    ws = wb.add_worksheet("Invoices")
    ws.write_row(0, 0, INVOICES)
    return wb, ws, date


def shown(book) -> list[str]:
    return [str(p) for p in book.problems if p.severity is not Severity.NOTICE]


def openpyxl_book(path: Path, invoices: list[list[object]], styles: dict[str, str] | None = None) -> Path:
    """A workbook as openpyxl writes it: formulas without results, styles on whole columns."""
    from openpyxl import Workbook

    wb = Workbook()
    wb.remove(wb.active)
    for name, rows in (("Settings", [["Key", "Value"]]), ("Customers", CUSTOMERS), ("Invoices", [INVOICES, *invoices])):
        ws = wb.create_sheet(name)
        for row in rows:
            ws.append(row)
    for letter, number_format in (styles or {}).items():
        wb["Invoices"].column_dimensions[letter].number_format = number_format
    wb.save(path)
    return path


# --- formulas with no saved value ---------------------------------------------------------------

def test_a_formula_with_no_saved_value_is_told_never_read_as_blank(tmp_path):
    path = openpyxl_book(tmp_path / "script.xlsx", [
        ["INV-1", "C1", D1, D31, 100, None],
        ["INV-2", "C1", D1, D31, "=E2*2", None],  # a required cell: the row is not used
        ["INV-3", "C1", D1, D31, 50, '=UPPER("memo")'],  # an optional one: an error all the same
        [None, None, None, None, None, '=IF(A5="","",A5)'],  # a formula copied below the data
    ])

    book = load(path)

    assert shown(book) == [
        "Invoices!E3: amount holds a formula with no saved value — open and save the workbook in Excel",
        "Invoices!F4: memo holds a formula with no saved value — open and save the workbook in Excel",
        "Invoices!F5: memo holds a formula with no saved value — open and save the workbook in Excel",
    ]
    assert [(i.number, i.memo) for i in book.invoices] == [("INV-1", ""), ("INV-3", "")]
    assert book.is_blocked("C1")


def test_a_formula_whose_saved_result_is_empty_text_is_a_blank_cell(tmp_path, rewrite_part):
    path = tmp_path / "excel.xlsx"
    wb, ws, date = excel_book(path)
    ws.write_row(1, 0, ["INV-1", "C1"])
    ws.write_datetime(1, 2, dt.datetime(2026, 3, 1), date)
    ws.write_datetime(1, 3, dt.datetime(2026, 3, 31), date)
    ws.write_number(1, 4, 10)
    ws.write_formula(1, 5, '=""', None, "")
    wb.close()
    rewrite_part(path, "xl/worksheets/sheet3.xml",  # as Excel saves it (xlsxwriter leaves t out)
                 b'<c r="F2"><f>""</f><v></v></c>', b'<c r="F2" t="str"><f>""</f><v></v></c>')

    book = load(path)

    assert shown(book) == [] and book.invoices[0].memo == ""


# --- dates: column styles, Excel's date 60 -----------------------------------------------------

def test_numbers_in_a_column_styled_as_dates_are_dates_without_a_warning(tmp_path):
    path = openpyxl_book(tmp_path / "styled.xlsx", [
        ["INV-1", "C1", 46082, 46112, 100, None],
        ["INV-2", "C1", 46083, 46113.75, 100, None],
    ], styles={"C": "yyyy-mm-dd", "D": "[$-409]d-mmm-yy;@", "F": "yyyy-mm-dd"})

    book = load(path)

    assert shown(book) == []
    assert [(i.invoice_date, i.due_date) for i in book.invoices] == [
        (D1, D31), (dt.date(2026, 3, 2), dt.date(2026, 4, 1))]


def test_numbers_in_a_column_styled_as_a_duration_or_number_still_warn(tmp_path):
    path = openpyxl_book(tmp_path / "durations.xlsx", [["INV-1", "C1", 46082, 46112, 100, None]],
                         styles={"C": "[h]:mm", "D": '0.00" days"'})

    book = load(path)

    assert shown(book) == [
        'warning: Invoices!C2: invoice date "46082" is a number, read as 2026-03-01 — format the cell as a date',
        'warning: Invoices!D2: due date "46112" is a number, read as 2026-03-31 — format the cell as a date',
    ]


@pytest.mark.parametrize(("code", "is_date"), [
    ("yyyy-mm-dd", True), ("d/m/yyyy;@", True), ("[$-409]d-mmm-yy", True), ("mmm", True), ("hh:mm", True),
    ("[h]:mm", False), ("[mm]:ss", False), ('0.00" days"', False), ("General", False), ("#,##0.00", False),
    ('"Day" 0', False), ("0\\d", False), ("[Red]0", False), ("_(* #,##0_)", False),
])
def test_a_custom_number_format_is_a_date_by_its_d_m_or_y_outside_quotes_and_brackets(code, is_date):
    assert is_date_format(code) is is_date


STYLES = (b'<x:styleSheet xmlns:x="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
          b"<x:numFmts count='1'><x:numFmt numFmtId='164' formatCode='dd/mm/yyyy'/></x:numFmts>"
          b"<x:cellXfs count='4'><x:xf numFmtId='0'/><x:xf numFmtId='164' applyNumberFormat='1'/>"
          b'<x:xf numFmtId="14"><x:alignment horizontal="left"/></x:xf><x:xf numFmtId="4"/></x:cellXfs>'
          b"</x:styleSheet>")


def test_the_cell_formats_that_show_a_date_are_the_same_to_the_reader_and_the_writer():
    """In any quoting and prefix: a date written into a date-styled cell keeps its format."""
    from addin.workbook.dateformats import date_styles
    from addin.workbook.writer.styles import Styles

    assert date_styles(STYLES) == {1, 2}
    styles = Styles(STYLES)
    assert [styles.date_style(s, with_time=False) for s in range(4)] == [4, 1, 2, 5]  # 0 and 3 get a date copy
    assert styles.result().count(b"<x:xf ") == 6


def test_excel_date_60_is_a_day_that_never_was(tmp_path):
    path = tmp_path / "sixty.xlsx"
    wb, ws, date = excel_book(path)
    for r, (invoice_date, styled) in enumerate([(60, True), (59, True), (61, True), (60, False), (46082, True)], 1):
        ws.write_row(r, 0, [f"INV-{r}", "C1"])
        ws.write_number(r, 2, invoice_date, date if styled else None)
        ws.write_number(r, 3, 46112, date)
        ws.write_number(r, 4, 10)
    ws.write_number(5, 4, 60)  # 60 as an amount is just 60
    wb.close()

    book = load(path)

    sixty = "invoice date \"1900-02-29\" is a day that never was (Excel's date 60) — type the date, e.g. 2026-03-15"
    assert shown(book) == [f"Invoices!C2: {sixty}", f"Invoices!C5: {sixty}"]  # styled or not
    assert [(i.number, i.invoice_date, i.amount) for i in book.invoices] == [
        ("INV-2", dt.date(1900, 2, 28), 10), ("INV-3", dt.date(1900, 3, 1), 10), ("INV-5", D1, 60)]


def test_date_60_in_two_columns_is_told_in_each_and_the_sheet_looked_through_once_for_it(tmp_path, monkeypatch):
    from addin.workbook import sheets

    path = tmp_path / "sixty.xlsx"
    wb, ws, date = excel_book(path)
    ws.write_row(1, 0, ["INV-1", "C1"])
    ws.write_number(1, 2, 60, date)
    ws.write_number(1, 3, 60, date)
    ws.write_number(1, 4, 10)
    wb.close()
    inflated: list[str] = []
    inflate = sheets._inflate
    monkeypatch.setattr(sheets, "_inflate", lambda archive, part: inflated.append(part) or inflate(archive, part))

    book = load(path)

    assert [str(p).split(":")[0] for p in book.errors] == ["Invoices!C2", "Invoices!D2"]
    assert inflated.count("xl/worksheets/sheet3.xml") == 2  # its error cells, then its 60s once for both columns


@pytest.mark.parametrize(("serial", "day"), [
    (1, dt.date(1900, 1, 1)), (59, dt.date(1900, 2, 28)), (60, None), (60.5, None), (61, dt.date(1900, 3, 1)),
    (46082.75, D1), (0, None), (2_958_465, dt.date(9999, 12, 31)), (2_958_466, None), (1e300, None),
])
def test_excel_serials_are_the_days_excel_shows(serial, day):
    assert cells.serial_date(serial) == day


# --- files other programs wrote -----------------------------------------------------------------

def write_source(path: Path) -> Path:
    """The workbook the Gnumeric and LibreOffice files in tests/data were made from (by xlsxwriter)."""
    wb, ws, date = excel_book(path, [*CUSTOMERS, ["C2", "Bolt Inc", "Active", "ap@bolt.example.com"]])
    for r in range(1, 6):
        ws.write_row(r, 0, [f"INV-{r}", "C1" if r < 4 else "C2"])
        ws.write_datetime(r, 2, dt.datetime(2026, 3, 1), date)
        ws.write_datetime(r, 3, dt.datetime(2026, 3, 31), date)
        ws.write_number(r, 4, 10 * r)
    ws.write_formula(2, 5, "=NA()", None, "#N/A")
    ws.write_formula(3, 4, "=1/0", None, "#DIV/0!")
    ws.write_string(4, 5, "#N/A is text here")
    wb.close()
    return path


OTHER_PROGRAMS = [
    'Invoices!F3: memo "#N/A" is an Excel error, not a value — correct the formula or type the value',
    'Invoices!E4: amount "#DIV/0!" is an Excel error, not a value — correct the formula or type the value',
]


def check_other_program(book) -> None:
    assert shown(book) == OTHER_PROGRAMS
    assert [(i.number, i.customer_id, i.amount, i.memo) for i in book.invoices] == [
        ("INV-1", "C1", 10, ""), ("INV-2", "C1", 20, ""), ("INV-4", "C2", 40, "#N/A is text here"),
        ("INV-5", "C2", 50, "")]
    assert book.is_blocked("C1") and not book.is_blocked("C2")


def converted(tmp_path: Path, program: str, command: list[str], suffix: str) -> Path:
    if shutil.which(program) is None:
        pytest.skip(f"{program} is not installed (the kept file in tests/data is checked all the same)")
    source = write_source(tmp_path / "source.xlsx")
    target = tmp_path / f"converted{suffix}"
    subprocess.run([*command, str(source), str(target)] if program == "ssconvert" else
                   [*command, str(source)], cwd=tmp_path, check=True, capture_output=True, timeout=120)
    if program == "soffice":
        (tmp_path / "source.ods").rename(target)
    return target


def test_error_cells_in_a_workbook_gnumeric_saved_are_found():
    """Gnumeric writes its XML indented: the value of an error cell comes after spaces."""
    check_other_program(load(DATA / "gnumeric.xlsx"))


def test_error_cells_in_a_workbook_gnumeric_saves_now_are_found(tmp_path):
    check_other_program(load(converted(tmp_path, "ssconvert", ["ssconvert"], ".xlsx")))


def test_an_ods_is_read_with_its_error_cells():
    """LibreOffice keeps an error as the cell's text, which calamine reads as ''."""
    check_other_program(load(DATA / "libreoffice.ods"))


def test_an_ods_libreoffice_saves_now_is_read_with_its_error_cells(tmp_path):
    command = ["soffice", "--headless", f"-env:UserInstallation=file://{tmp_path}/profile", "--convert-to", "ods"]
    check_other_program(load(converted(tmp_path, "soffice", command, ".ods")))


def test_a_workbook_counting_days_from_1904_reads_its_numbers_so(tmp_path):
    """Old Mac workbooks count from 1904-01-01: the same number is four years and a day later."""
    from openpyxl import Workbook
    from openpyxl.utils.datetime import CALENDAR_MAC_1904

    wb = Workbook()
    wb.epoch = CALENDAR_MAC_1904
    wb.remove(wb.active)
    wb.create_sheet("Settings").append(["Key", "Value"])
    customers = wb.create_sheet("Customers")
    for row in CUSTOMERS:
        customers.append(row)
    ws = wb.create_sheet("Invoices")
    ws.append(INVOICES)
    ws.append(["INV-1", "C1", 44620, D31, 10, None])  # a number in a column styled as dates
    ws.append(["INV-2", "C1", D1, 44650, 10, None])  # a plain number: read with a warning
    ws.column_dimensions["C"].number_format = "yyyy-mm-dd"
    wb.save(tmp_path / "mac.xlsx")

    book = load(tmp_path / "mac.xlsx")

    assert shown(book) == ['warning: Invoices!D3: due date "44650" is a number, read as 2026-03-31 — '
                           "format the cell as a date"]
    assert [(i.invoice_date, i.due_date) for i in book.invoices] == [(D1, D31), (D1, D31)]
