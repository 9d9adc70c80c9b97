"""Recalculation: Excel recomputes formulas on opening when a written cell may feed one, and only then."""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

import pytest
from conftest import build_rich, calamine, part, rezip, rich_status

from addin.actions import SetCells, row
from addin.workbook.writer import apply


def one_sheet_with_a_total(path: Path) -> Path:
    """Invoices with a SUM of its own amounts below the records; no other sheet, no calcChain,
    and no fullCalcOnLoad (as Excel saves a book it has just calculated)."""
    import xlsxwriter

    wb = xlsxwriter.Workbook(str(path))
    ws = wb.add_worksheet("Invoices")
    ws.write_row(0, 0, ["Invoice No", "Amount", "Status"])
    ws.write_row(1, 0, ["INV-1", 10])
    ws.write_row(2, 0, ["INV-2", 20])
    ws.write_formula(4, 1, "=SUM(B2:B3)", None, 30)
    wb.close()
    with zipfile.ZipFile(path) as z:
        workbook = z.read("xl/workbook.xml")
    rezip(path, {"xl/workbook.xml": workbook.replace(b' fullCalcOnLoad="1"', b"")})
    return path


def test_a_formula_on_the_changed_sheet_itself_has_excel_recalculate_on_opening(tmp_path: Path) -> None:
    src = one_sheet_with_a_total(tmp_path / "book.xlsx")
    assert b"fullCalcOnLoad" not in part(src, "xl/workbook.xml")
    out = tmp_path / "out.xlsx"
    report = apply(src, out, [SetCells("Invoices", "Invoice No", "INV-2", row(Status="Paid"))])
    assert report.full_calc_on_load
    assert re.search(rb'<calcPr [^>]*fullCalcOnLoad="1"', part(out, "xl/workbook.xml"))


def test_a_formula_in_row_1_has_excel_recalculate_on_opening(tmp_path: Path) -> None:
    """A title made by a formula (``="Total: "&B5``) reads a cell written below it."""
    import xlsxwriter

    from addin.actions import SetAt

    src = tmp_path / "book.xlsx"
    wb = xlsxwriter.Workbook(str(src))
    ws = wb.add_worksheet("Dashboard")
    ws.write_formula(0, 0, '="Total: "&B5', None, "Total: 1")
    ws.write(4, 1, 1)
    wb.close()
    with zipfile.ZipFile(src) as z:
        workbook = z.read("xl/workbook.xml")
    rezip(src, {"xl/workbook.xml": workbook.replace(b' fullCalcOnLoad="1"', b"")})
    report = apply(src, tmp_path / "out.xlsx", [SetAt("Dashboard", (("B5", 99.0),))])
    assert report.full_calc_on_load
    assert re.search(rb'<calcPr [^>]*fullCalcOnLoad="1"', part(tmp_path / "out.xlsx", "xl/workbook.xml"))


def test_a_sheet_without_formulas_read_by_none_leaves_workbook_xml_as_it_was(tmp_path: Path) -> None:
    import xlsxwriter

    src = tmp_path / "book.xlsx"
    wb = xlsxwriter.Workbook(str(src))
    wb.add_worksheet("Invoices").write_row(0, 0, ["Invoice No", "Status"])
    wb.worksheets()[0].write_row(1, 0, ["INV-1"])
    wb.close()
    with zipfile.ZipFile(src) as z:
        workbook = z.read("xl/workbook.xml")
    rezip(src, {"xl/workbook.xml": workbook.replace(b' fullCalcOnLoad="1"', b"")})
    out = tmp_path / "out.xlsx"
    report = apply(src, out, [SetCells("Invoices", "Invoice No", "INV-1", row(Status="Paid"))])
    assert not report.full_calc_on_load
    assert part(out, "xl/workbook.xml") == part(src, "xl/workbook.xml")


# openpyxl says it would drop our x14 validation when it reads the result; that is the point
pytestmark = pytest.mark.filterwarnings("ignore:Data Validation extension:UserWarning")

STATUS = rich_status()


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
