"""The template: generated from the schema, committed, formatted for people, with a Dashboard."""

from __future__ import annotations

import datetime as dt
import re
import zipfile
from decimal import Decimal
from pathlib import Path

import pytest
from openpyxl import load_workbook
from openpyxl.utils import get_column_letter

from addin.workbook import dashboard_layout as dash
from addin.workbook import reader, schema
from addin.workbook.template import (
    LISTS_SHEET,
    build_template,
    to_bytes,
    write_template,
)

ROOT = Path(__file__).resolve().parents[1]
COMMITTED = ROOT / "workbook_template.xlsx"
RECORD_SHEETS = schema.SHEETS


@pytest.fixture(scope="module")
def template_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_template(tmp_path_factory.mktemp("tpl") / "template.xlsx")


@pytest.fixture(scope="module")
def wb(template_path: Path):
    return load_workbook(template_path)


def snapshot(path: Path) -> dict:
    """Everything a person sees in a workbook, as plain data, sheet by sheet."""
    book = load_workbook(path)
    out: dict = {"sheets": book.sheetnames,
                 "props": (book.properties.creator, book.properties.created, book.properties.modified)}
    for ws in book.worksheets:
        out[ws.title] = {
            "state": ws.sheet_state,
            "cells": {c.coordinate: (c.value, c.number_format, c.fill.fgColor.rgb, bool(c.font.bold),
                                     c.comment.text if c.comment else None)
                      for row in ws.iter_rows() for c in row if c.has_style or c.value is not None},
            "columns": {k: (d.width, d.number_format) for k, d in sorted(ws.column_dimensions.items())},
            "freeze": ws.freeze_panes,
            "validations": sorted((str(v.sqref), v.type, v.formula1, v.formula2, v.errorStyle)
                                  for v in ws.data_validations.dataValidation),
            "tables": sorted((t.name, t.ref, t.tableStyleInfo.name, tuple(t.column_names))
                             for t in ws.tables.values()),
            "charts": len(ws._charts),
        }
    return out


def validations_for(ws, cell: str) -> list:
    return [v for v in ws.data_validations.dataValidation if cell in v.sqref]


def test_committed_template_equals_a_fresh_build(template_path: Path) -> None:
    assert COMMITTED.exists(), "run `python -m addin.workbook.template` to generate workbook_template.xlsx"
    committed, fresh = snapshot(COMMITTED), snapshot(template_path)
    assert committed["sheets"] == fresh["sheets"]
    for name in fresh["sheets"]:
        assert committed[name] == fresh[name], f"sheet {name} differs: regenerate the template"
    assert committed == fresh


def test_two_builds_give_the_same_bytes() -> None:
    assert to_bytes(build_template()) == to_bytes(build_template())
    assert to_bytes(build_template("fr")) != to_bytes(build_template())


def test_document_properties_are_fixed(wb) -> None:
    assert wb.properties.creator == "Receivables"
    assert wb.properties.created == wb.properties.modified == dt.datetime(2026, 1, 1)


def test_start_here_first_then_every_schema_sheet_then_dashboard(wb) -> None:
    assert wb.sheetnames == [schema.START_HERE, *(s.name for s in schema.SHEETS), schema.DASHBOARD.name,
                             LISTS_SHEET]
    assert wb[LISTS_SHEET].sheet_state == "hidden"
    start = [c.value for c in wb[schema.START_HERE]["A"] if c.value]
    assert start[0] == "Receivables — start here"
    assert any(line == "Customers: Balance, Overdue" for line in start)
    assert any("receivables check" in line for line in start)


@pytest.mark.parametrize("sheet", RECORD_SHEETS, ids=lambda s: s.name)
def test_every_header_in_schema_order_with_table_freeze_and_widths(wb, sheet: schema.Sheet) -> None:
    ws = wb[sheet.name]
    assert [c.value for c in ws[1]] == [c.header for c in sheet.columns]
    assert ws.freeze_panes == "A2"
    (table,) = ws.tables.values()
    last = get_column_letter(len(sheet.columns))
    assert table.name == sheet.table
    assert re.fullmatch(rf"A1:{last}\d+", table.ref)
    assert table.tableStyleInfo.name.startswith("TableStyleLight")
    for i, col in enumerate(sheet.columns, start=1):
        assert ws.column_dimensions[get_column_letter(i)].width == col.width


@pytest.mark.parametrize("sheet", RECORD_SHEETS, ids=lambda s: s.name)
def test_typed_columns_carry_their_number_format(wb, sheet: schema.Sheet) -> None:
    ws = wb[sheet.name]
    expected = {schema.Kind.DATE: "yyyy-mm-dd", schema.Kind.MONEY: "#,##0.00",
                schema.Kind.DATETIME: "yyyy-mm-dd hh:mm", schema.Kind.INT: "0"}
    for i, col in enumerate(sheet.columns, start=1):
        letter = get_column_letter(i)
        assert ws.column_dimensions[letter].number_format == expected.get(col.kind, "General"), col.header
        assert ws.cell(row=1, column=i).number_format == "General"  # the header stays text


@pytest.mark.parametrize("sheet", RECORD_SHEETS, ids=lambda s: s.name)
def test_drop_down_on_every_enumerated_column(wb, sheet: schema.Sheet) -> None:
    ws = wb[sheet.name]
    for i, col in enumerate(sheet.columns, start=1):
        if not col.choices:
            continue
        letter = get_column_letter(i)
        (dv,) = validations_for(ws, f"{letter}2")
        assert dv.type == "list"
        assert f"{letter}5000" in dv.sqref
        assert dv.formula1 == '"' + ",".join(col.choices) + '"'
        assert dv.showErrorMessage


def test_rule_field_drop_down_lists_customers_headers_and_computed_fields(wb) -> None:
    ws = wb[schema.GROUP_RULES.name]
    letter = get_column_letter([c.header for c in schema.GROUP_RULES.columns].index("Field") + 1)
    (dv,) = validations_for(ws, f"{letter}2")
    assert dv.type == "list" and dv.errorStyle == "warning"
    sheet, cells = dv.formula1.split("!")
    assert sheet == f"'{LISTS_SHEET}'"
    listed = [c[0].value for c in wb[LISTS_SHEET][cells.replace("$", "")]]
    assert listed == [c.header for c in schema.CUSTOMERS.columns] + list(schema.COMPUTED_FIELDS)


def test_no_inline_list_exceeds_excels_255_characters(wb) -> None:
    for ws in wb.worksheets:
        for dv in ws.data_validations.dataValidation:
            if dv.formula1 and dv.formula1.startswith('"'):
                assert len(dv.formula1) - 2 <= 255
            assert dv.error is None or len(dv.error) <= 225


def test_whole_number_ranges_on_days_and_day(wb) -> None:
    (days,) = validations_for(wb[schema.REMINDERS.name], "C2")
    assert (days.type, days.formula1, days.formula2) == ("whole", "0", "90")
    (day,) = validations_for(wb[schema.STATEMENT_SCHEDULES.name], "D2")
    assert (day.type, day.formula1, day.formula2) == ("whole", "1", "31")


@pytest.mark.parametrize("sheet", RECORD_SHEETS, ids=lambda s: s.name)
def test_addin_columns_are_grey_with_a_note(wb, sheet: schema.Sheet) -> None:
    ws = wb[sheet.name]
    for i, col in enumerate(sheet.columns, start=1):
        cell = ws.cell(row=1, column=i)
        if col.addin or sheet.addin:
            assert cell.fill.fgColor.rgb == "FFBFBFBF", col.header
            assert cell.comment is not None and cell.comment.text == "Written by the add-in"
        else:
            assert cell.fill.fill_type is None, col.header
            assert (cell.comment.text if cell.comment else "") == col.note


def test_settings_has_every_key_with_its_default_and_description(wb) -> None:
    rows = list(wb[schema.SETTINGS_SHEET.name].iter_rows(min_row=2, values_only=True))
    assert [r[0] for r in rows] == [s.key for s in schema.SETTINGS]
    values = {r[0]: r[1] for r in rows}
    assert values["language"] == "en"
    assert values["mail_transport"] == "outbox"
    assert values["smtp_port"] == 587
    assert values["reminders_enabled"] is False
    assert values["company_name"] is None
    descriptions = {r[0]: r[2] for r in rows}
    assert descriptions["reminders_enabled"] == "Master switch for automatic reminders"
    (dv,) = validations_for(wb[schema.SETTINGS_SHEET.name], f"B{[r[0] for r in rows].index('language') + 2}")
    assert dv.formula1 == '"en,fr"'


def test_french_template_has_french_settings_and_start_page(tmp_path: Path) -> None:
    book = load_workbook(write_template(tmp_path / "fr.xlsx", language="fr"))
    rows = {r[0]: r for r in book[schema.SETTINGS_SHEET.name].iter_rows(min_row=2, values_only=True)}
    assert rows["language"][1] == "fr"
    assert rows["reminders_enabled"][2] == "Interrupteur général des relances automatiques"
    assert book[schema.START_HERE]["A1"].value == "Comptes clients — commencez ici"
    assert book[schema.CUSTOMERS.name]["T1"].comment.text == "Écrit par le complément"
    assert [c.value for c in book[schema.CUSTOMERS.name][1]] == [c.header for c in schema.CUSTOMERS.columns]
    assert book[schema.DASHBOARD.name][dash.FIGURES[0].label_cell].value == "Total à recevoir"


def test_reminders_come_with_three_steps_and_blank_texts(wb) -> None:
    rows = list(wb[schema.REMINDERS.name].iter_rows(min_row=2, values_only=True))
    assert [r[:4] for r in rows] == [(1, True, 3, "Before"), (2, True, 7, "After"), (3, True, 30, "After")]
    assert all(r[4] is None and r[7] is None for r in rows)
    assert wb[schema.REMINDERS.name].tables[schema.REMINDERS.table].ref == "A1:I4"


def test_dashboard_has_labels_and_formatted_empty_value_cells(wb) -> None:
    ws = wb[schema.DASHBOARD.name]
    assert ws[dash.AS_OF].value is None and ws[dash.AS_OF].number_format == "yyyy-mm-dd"
    for f in dash.FIGURES:
        assert ws[f.label_cell].value == f.en
        assert ws[f.cell].value is None
        assert ws[f.cell].number_format == f.number_format
    for i, label in enumerate(dash.BUCKET_LABELS_EN):
        amount, percent = dash.bucket_cells(i)
        assert ws[f"A{dash.AGEING_FIRST_ROW + i}"].value == label
        assert (ws[amount].value, ws[amount].number_format) == (None, "#,##0.00")
        assert (ws[percent].value, ws[percent].number_format) == (None, "0.0%")
    assert [ws[f"{c}{dash.TOP_HEADER_ROW}"].value for c in "ABCD"] == list(dash.TOP_HEADERS_EN)
    for i in range(dash.TOP_COUNT):
        assert all(ws[c].value is None for c in dash.top_cells(i))
        assert ws[dash.top_cells(i)[2]].number_format == "#,##0.00"


def test_dashboard_charts_read_the_layout_cells(template_path: Path) -> None:
    with zipfile.ZipFile(template_path) as z:
        charts = sorted(n for n in z.namelist() if n.startswith("xl/charts/chart"))
        xml = [z.read(n).decode() for n in charts]
    assert len(xml) == 2
    refs = [re.findall(r"<f>([^<]+)</f>", x) for x in xml]
    a, t = dash.AGEING_FIRST_ROW, dash.TOP_FIRST_ROW
    assert refs[0] == [f"'Dashboard'!$A${a}:$A${dash.AGEING_LAST_ROW}",
                       f"'Dashboard'!$B${a}:$B${dash.AGEING_LAST_ROW}"]
    assert refs[1] == [f"'Dashboard'!$B${t}:$B${dash.TOP_LAST_ROW}",
                       f"'Dashboard'!$C${t}:$C${dash.TOP_LAST_ROW}"]
    assert "<barDir val=\"col\"" in xml[0] and "<barDir val=\"bar\"" in xml[1]
    assert all("Cache" not in x for x in xml)  # no cached numbers to go stale: Excel reads the cells


def test_layout_cell_values_fill_every_value_cell_and_clear_unused_rows() -> None:
    values = dash.cell_values(
        dt.date(2026, 6, 10),
        {"total_receivable": Decimal("1000.00"), "overdue": Decimal("250.00"), "percent_overdue": Decimal("0.25"),
         "dso_90": Decimal("41.5"), "reminders_sent_30": 12, "customers_on_hold": 2},
        [Decimal("750.00"), Decimal("250.00"), Decimal("0.00"), Decimal("0.00"), Decimal("0.00")],
        [("C-0002", "Redwood", Decimal("250.00"), 12)],
    )
    assert values[dash.AS_OF] == dt.date(2026, 6, 10)
    assert values["B5"] == 1000.0 and values["B7"] == 0.25 and values["B9"] == 12
    assert values[dash.bucket_cells(0)[1]] == 0.75
    assert values[f"B{dash.AGEING_TOTAL_ROW}"] == 1000.0
    assert [values[c] for c in dash.top_cells(0)] == ["C-0002", "Redwood", 250.0, 12]
    assert all(values[c] is None for c in dash.top_cells(9))
    assert values["A11"] == "Invoices reminded (30 days)"  # its label, which older Dashboards lack
    assert len(values) == 1 + len(dash.FIGURES) + 1 + 2 * 5 + 2 + 4 * dash.TOP_COUNT


def test_template_reads_without_errors(template_path: Path) -> None:
    book = reader.load(template_path)
    assert [str(p) for p in book.problems if p.is_error] == []
    assert book.customers == () and len(book.reminders) == 3
