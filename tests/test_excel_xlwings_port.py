"""XlwingsPort against a stand-in for xlwings' object model (no Excel here): the flow, not Excel itself.

The stand-in implements only the xlwings calls the port makes (Book.selection/save/sheets,
Sheet.range/cells/tables, Range.value/options/end/get_address/delete, App.alert). What only a real
Excel can show is in the manual checklist of docs/excel.md.
"""

from __future__ import annotations

import datetime as dt
import re
import shutil
from pathlib import Path

import pytest
from conftest import RIBBON_BOOK, stable_cells, write_workbook

from addin.cli import main
from addin.excel import handlers
from addin.excel.port import Selection
from addin.excel.xlwings_port import XlwingsPort

MAX_ROW, MAX_COL = 1_048_576, 16_384
AS_OF = "2026-04-10"


class FakeRange:
    def __init__(self, sheet: FakeSheet, r1: int, c1: int, r2: int | None = None, c2: int | None = None) -> None:
        self.sheet, self.row, self.column = sheet, r1, c1
        self.r2, self.c2 = r2 or r1, c2 or c1
        self.ndim = None

    def options(self, ndim=None):
        self.ndim = ndim
        return self

    @property
    def value(self):
        cells = [[self.sheet.cells_.get((r, c)) for c in range(self.column, self.c2 + 1)]
                 for r in range(self.row, self.r2 + 1)]
        if self.ndim == 1:
            return [v for row in cells for v in row]
        if len(cells) == 1 and len(cells[0]) == 1:
            return cells[0][0]
        return cells

    @value.setter
    def value(self, data):
        rows = data if isinstance(data, list) and data and isinstance(data[0], list) else [data]
        for i, row in enumerate(rows):
            for j, v in enumerate(row if isinstance(row, list) else [row]):
                self.sheet.cells_[(self.row + i, self.column + j)] = v

    @property
    def last_cell(self):
        return FakeRange(self.sheet, self.r2, self.c2)

    def end(self, direction):
        if direction == "up":
            rows = [r for (r, c), v in self.sheet.cells_.items() if c == self.column and r < self.row and v not in (None, "")]
            return FakeRange(self.sheet, max(rows, default=1), self.column)
        cols = [c for (r, c), v in self.sheet.cells_.items() if r == self.row and c < self.column and v not in (None, "")]
        return FakeRange(self.sheet, self.row, max(cols, default=1))

    def get_address(self, row_absolute=True, column_absolute=True):
        return self.sheet.book.selected_address

    def delete(self, shift=None):
        assert shift == "up" and self.column == 1 and self.c2 == MAX_COL, "whole rows only"
        n = self.r2 - self.row + 1
        self.sheet.cells_ = {((r - n if r > self.r2 else r), c): v for (r, c), v in self.sheet.cells_.items()
                             if not self.row <= r <= self.r2}


class FakeTable:
    def __init__(self, sheet, rows, cols):
        self.sheet, self.rows, self.cols = sheet, rows, cols

    @property
    def range(self):
        return FakeRange(self.sheet, 1, 1, self.rows, self.cols)

    def resize(self, rng):
        self.rows, self.cols = rng.r2, rng.c2


class FakeSheet:
    def __init__(self, book, name, rows):
        self.book, self.name = book, name
        self.cells_ = {(i, j): v for i, row in enumerate(rows, 1) for j, v in enumerate(row, 1) if v not in (None, "")}
        self.tables = [FakeTable(self, max(len(rows), 2), len(rows[0]))] if rows else []
        self.cells = FakeRange(self, 1, 1, MAX_ROW, MAX_COL)

    def range(self, a, b=None):
        if isinstance(a, str):
            first, last = (int(x) for x in re.fullmatch(r"(\d+):(\d+)", a).groups())
            return FakeRange(self, first, 1, last, MAX_COL)
        return FakeRange(self, *a, *(b or (None, None)))

    def activate(self):
        self.book.active = self.name

    def grid(self):
        if not self.cells_:
            return []
        rows, cols = max(r for r, _ in self.cells_), max(c for _, c in self.cells_)
        return [[self.cells_.get((r, c)) for c in range(1, cols + 1)] for r in range(1, rows + 1)]


class FakeSheets(list):
    def add(self, name, after=None):
        sheet = FakeSheet(self.book, name, [])
        self.append(sheet)
        return sheet


class Saved:
    def __init__(self, book):
        self.book = book

    def get(self):
        return self.book.is_saved


class FakeApp:
    def __init__(self, answers):
        self.answers, self.alerts = list(answers), []

    def alert(self, prompt, title=None, buttons="ok", mode=None, callback=None):
        self.alerts.append((title, prompt))
        return self.answers.pop(0) if buttons != "ok" else "ok"


class FakeBook:
    """A workbook 'open in Excel', loaded from a real file."""

    def __init__(self, path: Path, answers=()):
        from python_calamine import CalamineWorkbook

        self.fullname = str(path)
        self.app = FakeApp(answers)
        self.api = type("Api", (), {"saved": Saved(self)})()
        self.is_saved, self.saves, self.active = True, 0, None
        self.selected_address, self.selected_sheet = None, None
        wb = CalamineWorkbook.from_path(str(path))
        self.sheets = FakeSheets(FakeSheet(self, n, wb.get_sheet_by_name(n).to_python()) for n in wb.sheet_names)
        self.sheets.book = self

    @property
    def selection(self):
        if not self.selected_address:
            return None
        sheet = next(s for s in self.sheets if s.name == self.selected_sheet)
        return FakeRange(sheet, 1, 1)

    def save(self):
        self.saves += 1
        self.is_saved = True

    def sheet(self, name):
        return next(s for s in self.sheets if s.name == name)


@pytest.fixture
def open_book(tmp_path):
    """A workbook open in 'Excel': the file with Excel's owner file beside it, and its stand-in."""
    path = write_workbook(tmp_path / "book.xlsx", RIBBON_BOOK)
    (tmp_path / "~$book.xlsx").write_bytes(b"owner")
    return path


def press(book: FakeBook, button: str) -> int:
    port = XlwingsPort(book)
    port.as_of = dt.date.fromisoformat(AS_OF)
    return handlers.dispatch(button, port)


def test_a_button_on_an_open_workbook_writes_into_excel_not_the_file(open_book, tmp_path):
    from addin.journal import Journal

    before = open_book.read_bytes()
    book = FakeBook(open_book)
    assert press(book, "build_groups") == 0

    assert open_book.read_bytes() == before  # Excel owns the file
    members = book.sheet("Group Members").grid()
    assert members[1:] == [["West", "C1", "Acme Ltd", "Rule"], ["West", "C3", "Cedar Co", "Rule"],
                           ["Nevada", "C2", "Bolt Inc", "Rule"]]
    assert book.sheet("Group Members").tables[0].rows == 4  # the table grew over the new rows
    with Journal.open(open_book) as journal:
        assert journal.pending_updates() == []
    assert book.saves == 1
    title, text = book.app.alerts[-1]
    assert title == "Receivables — Build groups"
    assert "will be written at the next run" not in text
    assert text.endswith("change(s) written into this workbook, and saved.")


def test_the_open_workbook_ends_up_as_the_file_writer_would_write_it(open_book, tmp_path):
    closed = tmp_path / "closed" / "book.xlsx"
    closed.parent.mkdir()
    shutil.copy(open_book, closed)
    assert main(["groups", "build", str(closed), "--as-of", AS_OF]) == 0

    book = FakeBook(open_book)
    assert press(book, "build_groups") == 0
    expected = stable_cells(closed)
    for name in ("Group Members", "Groups"):
        grid = book.sheet(name).grid()
        keep = [i for i, h in enumerate(grid[0]) if str(h).casefold() != "updated"]
        live = [["" if r[i] is None else r[i] for i in keep] for r in grid]
        live = [[int(v) if isinstance(v, float) and v.is_integer() else v for v in r] for r in live]
        want = [[int(v) if isinstance(v, float) and v.is_integer() else v for v in r] for r in expected[name]]
        assert live == want, name


def test_updates_the_daemon_queued_land_at_the_next_press(open_book):
    from addin.actions import SetCells, row
    from addin.journal import Journal

    with Journal.open(open_book) as journal:
        journal.queue_updates([SetCells("Invoices", "Invoice No", "INV-2", row(Status="Reminder 2 sent 2026-04-10"))])
    book = FakeBook(open_book)
    assert press(book, "build_groups") == 0
    invoices = book.sheet("Invoices").grid()
    status = invoices[0].index("Status")
    assert invoices[2][status] == "Reminder 2 sent 2026-04-10"


def test_unsaved_changes_are_saved_first_or_the_button_does_nothing(open_book):
    book = FakeBook(open_book, answers=["no"])
    book.is_saved = False
    assert press(book, "build_groups") == 0
    assert book.saves == 0 and book.sheet("Group Members").grid()[1:] == []

    book = FakeBook(open_book, answers=["yes"])
    book.is_saved = False
    assert press(book, "build_groups") == 0
    assert book.saves == 2  # once before reading, once after writing
    assert book.app.alerts[0][1].startswith("The workbook has changes that are not saved.")


def test_selection_and_values_come_from_the_open_sheet(open_book):
    book = FakeBook(open_book)
    book.selected_sheet, book.selected_address = "Invoices", "A2:C3,A5"
    port = XlwingsPort(book)
    assert port.selection() == Selection("Invoices", (2, 3, 5))
    assert [r["invoice no"] for r in port.values("invoices", (2, 5))] == ["INV-1", "INV-4"]


def test_open_log_activates_the_log_sheet(open_book):
    book = FakeBook(open_book)
    assert press(book, "open_log") == 0
    assert book.active == "Log"


def test_a_long_summary_goes_to_a_text_file(open_book, monkeypatch):
    opened = []
    monkeypatch.setattr(XlwingsPort, "open_path", lambda self, path: opened.append(path))
    book = FakeBook(open_book)
    XlwingsPort(book).show_summary("Reminders due", [f"line {i}" for i in range(40)])
    title, text = book.app.alerts[-1]
    assert text.endswith("… 40 lines in all: the full list opens in Receivables - Reminders due.txt.")
    assert opened[0].read_text(encoding="utf-8-sig").splitlines()[39] == "line 39"


def test_refresh_pressed_in_excel_writes_the_figures_into_the_open_workbook(tmp_path):
    """Excel has the workbook open: the file is left alone, and the open sheets get what
    `receivables refresh` writes into the same workbook when it is closed."""
    from addin.demo_data import DEMO_DATE, build_demo

    opened, closed = tmp_path / "open" / "demo.xlsx", tmp_path / "closed" / "demo.xlsx"
    for path in (opened, closed):
        path.parent.mkdir()
        build_demo().save(path)
    (opened.parent / "~$demo.xlsx").write_bytes(b"owner")
    day = DEMO_DATE.isoformat()
    assert main(["refresh", str(closed), "--as-of", day]) == 0
    before = opened.read_bytes()

    book = FakeBook(opened)
    port = XlwingsPort(book)
    port.as_of = DEMO_DATE
    assert handlers.dispatch("refresh_dashboard", port) == 0
    assert opened.read_bytes() == before and book.saves == 1
    title, text = book.app.alerts[-1]
    assert title == "Receivables — Refresh dashboard" and "Written into the workbook open in Excel, and saved." in text
    expected = stable_cells(closed)

    def shown(value: object) -> object:
        value = "" if value is None else value
        if isinstance(value, dt.datetime):
            value = value.date()
        return int(value) if isinstance(value, float) and value.is_integer() else value

    for name in ("Dashboard", "Customers", "Invoices"):
        live = [[shown(v) for v in r] for r in book.sheet(name).grid()]
        want = [[shown(v) for v in r] for r in expected[name]]
        width = max(len(r) for r in want)
        assert [(r + [""] * width)[:width] for r in live][:len(want)] == want, name
