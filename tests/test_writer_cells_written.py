"""Cells written: each value lands as Excel shows it (dates as dates, times with their time)."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

from conftest import part

from addin.actions import SetCells, row
from addin.workbook.writer import apply


def test_a_datetime_gets_a_date_and_time_format_and_a_date_a_date_format(make_workbook, tmp_path: Path) -> None:
    src = make_workbook({"Groups": [["Group", "Updated", "Since"], ["VIP", "x", "y"]]})
    out = tmp_path / "out.xlsx"
    apply(src, out, [SetCells("Groups", "Group", "VIP", row(Updated=dt.datetime(2026, 4, 7, 8, 30),
                                                           Since=dt.date(2026, 4, 7)))])
    sheet = part(out, "xl/worksheets/sheet1.xml").decode()
    styles = part(out, "xl/styles.xml").decode()
    xfs = re.findall(r"<xf\b[^>]*?(?:/>|>.*?</xf>)", re.search(r"<cellXfs\b.*?</cellXfs>", styles, re.S).group())
    style_of = {ref: int(s) for ref, s in re.findall(r'<c r="([A-Z]+2)" s="(\d+)"', sheet)}
    fmt_of = {ref: re.search(r'numFmtId="(\d+)"', xfs[s]).group(1) for ref, s in style_of.items()}
    assert fmt_of == {"B2": "22", "C2": "14"}  # Excel's built-in "m/d/yy h:mm" and "m/d/yyyy"
    assert re.search(r'<c r="B2" s="\d+"><v>46119.354166666664</v></c>', sheet)
    import openpyxl

    ws = openpyxl.load_workbook(out)["Groups"]
    assert (ws["B2"].number_format, ws["C2"].number_format) == ("m/d/yy h:mm", "mm-dd-yy")
    assert (ws["B2"].value, ws["C2"].value) == (dt.datetime(2026, 4, 7, 8, 30), dt.datetime(2026, 4, 7))
