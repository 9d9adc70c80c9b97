"""The CSV-safety helper shared by group exports and statements (addin.render.csvsafe)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from addin.render.csvsafe import safe_cell, write_csv


@pytest.mark.parametrize("text", ["=1+2", "+1", "-2+3", "@SUM(A1)", "\tx", "\rx", "  =cmd|' /C calc'!A0"])
def test_text_excel_could_run_as_a_formula_gets_a_leading_quote(text):
    assert safe_cell(text) == "'" + text


@pytest.mark.parametrize(("value", "cell"), [
    ("Acme", "Acme"), ("a=b", "a=b"), ("", ""), (None, ""),
    (Decimal("-12.50"), "-12.50"), (Decimal("1E+3"), "1000"), (-3, "-3"), (0.1 + 0.2, "0.30000000000000004"),
    (True, "TRUE"), (dt.date(2026, 3, 31), "2026-03-31"), (dt.datetime(2026, 3, 31, 8, 5), "2026-03-31 08:05:00"),
])
def test_numbers_and_dates_stay_plain(value, cell):
    assert safe_cell(value) == cell


def test_write_csv_is_utf8_with_bom_and_crlf_rows():
    data = write_csv([["Name", "Amount"], ["Café, \"Le\" Bon", Decimal("-1.50")]])
    assert data == '\ufeffName,Amount\r\n"Café, ""Le"" Bon",-1.50\r\n'.encode()
