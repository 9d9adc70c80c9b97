"""Updates carried into sheets open in Excel (addin/excel/live.py), on an in-memory grid."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from addin.actions import AppendRows, ReplaceRows, SetCells, SetColumn, row
from addin.excel.live import apply_updates


class MemoryGrid:
    """A sheet as a list of rows (row 1 = headers), counting the calls Excel would receive."""

    def __init__(self, rows: list[list[object]], table: bool = True) -> None:
        self.rows = [list(r) for r in rows]
        self.table_last: tuple[int, int] | None = (len(rows), len(rows[0]) if rows else 0) if table else None
        self.writes = 0

    def headers(self) -> list[str]:
        return [str(h) if h is not None else "" for h in self.rows[0]] if self.rows else []

    def column(self, col: int) -> list[object]:
        return [r[col - 1] if col - 1 < len(r) else None for r in self.rows[1:self.last_row()]]

    def last_row(self) -> int:
        for i in range(len(self.rows), 0, -1):
            if any(v not in (None, "") for v in self.rows[i - 1]):
                return i
        return 1

    def write(self, r: int, c: int, values: Sequence[object]) -> None:
        self.writes += 1
        while len(self.rows) < r:
            self.rows.append([])
        line = self.rows[r - 1]
        while len(line) < c - 1 + len(values):
            line.append(None)
        line[c - 1:c - 1 + len(values)] = list(values)

    def write_down(self, r: int, c: int, values: Sequence[object]) -> None:
        self.writes += 1
        for k, v in enumerate(values):
            while len(self.rows) < r + k:
                self.rows.append([])
            line = self.rows[r + k - 1]
            while len(line) < c:
                line.append(None)
            line[c - 1] = v

    def delete_rows(self, rows: Sequence[int]) -> None:
        assert list(rows) == sorted(rows, reverse=True)
        for r in rows:
            del self.rows[r - 1]

    def grow_table(self, last_row: int, last_col: int) -> None:
        if self.table_last:
            self.table_last = (max(self.table_last[0], last_row), max(self.table_last[1], last_col))


def open_with(grids: dict[str, MemoryGrid]):
    def open_sheet(name: str, headers: Sequence[str]) -> MemoryGrid:
        if name not in grids:
            grids[name] = MemoryGrid([list(headers)])
        return grids[name]
    return open_sheet


INVOICES = [
    ["Invoice No", "Customer ID", "Amount", "Paid", "Balance", "Status", "Last Reminder"],
    ["INV-1", "C1", 100, None, None, None, None],
    [" inv-2 ", "C2", 50, None, None, None, None],
]


def test_set_cells_finds_the_row_by_key_trimmed_and_case_insensitive():
    grids = {"Invoices": MemoryGrid(INVOICES)}
    update = SetCells("Invoices", "Invoice No", "INV-2", row(Paid=10.0, Balance=40.0, Status="Reminder 1 sent 2026-03-28",
                                                         Last_Reminder=dt.date(2026, 3, 28)))
    assert apply_updates([update], open_with(grids)) == []
    assert grids["Invoices"].rows[2] == [" inv-2 ", "C2", 50, 10.0, 40.0, "Reminder 1 sent 2026-03-28", dt.date(2026, 3, 28)]
    assert grids["Invoices"].writes == 1  # four adjacent cells, one call


def test_set_cells_for_a_deleted_row_is_a_warning_and_the_rest_still_applies():
    grids = {"Invoices": MemoryGrid(INVOICES)}
    problems = apply_updates([
        SetCells("Invoices", "Invoice No", "INV-9", row(Status="x")),
        SetCells("Invoices", "Invoice No", "INV-1", row(Status="Manual reminder sent 2026-04-07")),
    ], open_with(grids))
    assert [str(p) for p in problems] == [
        'warning: Invoices: Invoice No "INV-9" was not found, so its row was not updated '
        "— check that the row was not deleted or its key changed"]
    assert grids["Invoices"].rows[1][5] == "Manual reminder sent 2026-04-07"


def test_a_missing_column_is_a_warning_and_is_not_written():
    grids = {"Invoices": MemoryGrid([["Invoice No", "Amount"], ["INV-1", 5]])}
    problems = apply_updates([SetCells("Invoices", "Invoice No", "INV-1", row(Status="Paid", Amount=6))],
                             open_with(grids))
    assert [str(p) for p in problems] == [
        'warning: Invoices!1: column "Status" is missing, so it was not written — add the header "Status" in row 1']
    assert grids["Invoices"].rows == [["Invoice No", "Amount"], ["INV-1", 6]]


def test_append_goes_after_the_last_non_blank_row_and_grows_the_table():
    log = MemoryGrid([["Time", "Action", "Target"], ["t0", "statement", "C1"], [None, None, None], [None, None, None]])
    grids = {"Log": log}
    apply_updates([AppendRows("Log", (row(Time="t1", Action="reminder 1", Target="INV-1"),
                                      row(Target="INV-2", Action="reminder 2")))], open_with(grids))
    assert log.rows[:4] == [["Time", "Action", "Target"], ["t0", "statement", "C1"],
                            ["t1", "reminder 1", "INV-1"], [None, "reminder 2", "INV-2"]]
    assert log.table_last == (4, 3)


def test_replace_rows_deletes_the_matching_rows_then_appends():
    members = MemoryGrid([
        ["Group", "Customer ID", "Name", "Source"],
        ["VIP", "C1", "Ann", "Rule"],
        ["VIP", "C2", "Bob", "Added"],
        ["Other", "C3", "Cy", "Rule"],
        ["vip ", "C4", "Dee", "rule"],
    ])
    grids = {"Group Members": members}
    apply_updates([ReplaceRows("Group Members", (("Group", "VIP"), ("Source", "Rule")),
                               (row(Group="VIP", Customer_ID="C5", Name="Eve", Source="Rule"),))], open_with(grids))
    assert members.rows == [
        ["Group", "Customer ID", "Name", "Source"],
        ["VIP", "C2", "Bob", "Added"],
        ["Other", "C3", "Cy", "Rule"],
        ["VIP", "C5", "Eve", "Rule"],
    ]


def test_a_missing_sheet_is_created_with_the_schema_headers():
    grids: dict[str, MemoryGrid] = {}
    apply_updates([AppendRows("Log", (row(Action="group email", Target="VIP"),))], open_with(grids))
    assert grids["Log"].rows[0] == ["Time", "Action", "Target", "Recipients", "Status", "Message ID", "Detail"]
    assert grids["Log"].rows[1][1:3] == ["group email", "VIP"]


def test_numbers_typed_as_ids_match_their_text_key():
    grids = {"Customers": MemoryGrid([["Customer ID", "Balance"], [1001.0, None]])}
    assert apply_updates([SetCells("Customers", "Customer ID", "1001", row(Balance=12.5))], open_with(grids)) == []
    assert grids["Customers"].rows[1] == [1001.0, 12.5]


def test_replace_rows_without_a_where_deletes_nothing():
    members = MemoryGrid([["Group", "Customer ID"], ["VIP", "C1"]])
    apply_updates([ReplaceRows("Group Members", ())], open_with({"Group Members": members}))
    assert members.rows == [["Group", "Customer ID"], ["VIP", "C1"]]


def grid_of(path, sheet: str) -> list[list[object]]:
    from python_calamine import CalamineWorkbook

    rows = CalamineWorkbook.from_path(str(path)).get_sheet_by_name(sheet).to_python(skip_empty_area=False)
    trimmed = [[None if v == "" else v for v in r] for r in rows]
    while trimmed and all(v is None for v in trimmed[-1]):
        trimmed.pop()
    width = max((i + 1 for r in trimmed for i, v in enumerate(r) if v is not None), default=0)
    return [(r + [None] * width)[:width] for r in trimmed]


def test_live_edits_match_the_file_writer_on_the_same_workbook(make_workbook, tmp_path):
    """The open workbook and the saved file end up alike whichever of the two writes the updates."""
    from addin.workbook.writer import apply

    src = make_workbook({
        "Invoices": INVOICES,
        "Group Members": [["Group", "Customer ID", "Name", "Source"], ["VIP", "C1", "Ann", "Rule"],
                          ["VIP", "C2", "Bob", "Added"], ["VIP", "C3", "Cy", "Rule"], ["Other", "C3", "Cy", "Rule"]],
    })
    updates = [
        SetCells("Invoices", "Invoice No", "inv-2", row(Paid=10.0, Balance=40.0, Status="Reminder 2 sent 2026-04-07",
                                                       Last_Reminder=dt.date(2026, 4, 7))),
        SetCells("Invoices", "Invoice No", "INV-404", row(Status="lost")),
        SetCells("Invoices", "Invoice No", "INV-1", row(Nope="x")),
        ReplaceRows("Group Members", (("Group", "vip"), ("Source", "Rule")),
                    (row(Group="VIP", Customer_ID="C4", Name="Dee", Source="Rule"),)),
        AppendRows("Log", (row(Time=dt.datetime(2026, 4, 7, 9, 30), Action="reminder 2", Target="INV-2",
                               Recipients="bob@x.example", Status="sent", Message_ID="<1@x>", Detail=""),)),
    ]
    dst = tmp_path / "written.xlsx"
    report = apply(src, dst, updates)

    grids = {name: MemoryGrid(grid_of(src, name)) for name in ("Invoices", "Group Members")}
    problems = apply_updates(updates, open_with(grids))
    for name in ("Invoices", "Group Members", "Log"):
        live = [[None if v == "" else v for v in r] for r in grids[name].rows]
        width = len(grid_of(dst, name)[0])
        assert [(r + [None] * width)[:width] for r in live] == grid_of(dst, name), name
    assert sorted(str(p) for p in problems) == sorted(str(p) for p in report.problems)


def test_dashboard_cells_by_address_land_in_the_open_sheet():
    from addin.actions import SetAt

    grids = {"Dashboard": MemoryGrid([["Receivables at a glance"]], table=False)}
    update = SetAt("Dashboard", (("B2", dt.date(2026, 6, 10)), ("B5", 1234.5), ("AA12", "x")))
    assert apply_updates([update], open_with(grids)) == []
    rows = grids["Dashboard"].rows
    assert rows[1][1] == dt.date(2026, 6, 10)
    assert rows[4][1] == 1234.5
    assert rows[11][26] == "x"


def test_a_column_is_written_a_run_of_rows_at_a_time_as_the_file_writer_writes_it(make_workbook, tmp_path):
    """SetColumn: one write per run of consecutive rows; keys trimmed and case-insensitive, a key
    given twice takes its last value, a missing key or column is the file writer's warning."""
    from addin.workbook.writer import apply

    invoices = [["Invoice No", "Customer ID", "Amount", "Paid", "Status"],
                *([f"INV-{n}", "C1", 10.0 * n, None, None] for n in range(1, 9))]
    src = make_workbook({"Invoices": invoices})
    updates = [
        SetColumn("Invoices", "Invoice No", "Paid", ("inv-3 ", "INV-1", "INV-2", "INV-404", "INV-7", "INV-6", "INV-1"),
                  (3.0, 1.0, 2.0, 4.0, 7.0, 6.0, 1.5)),
        SetColumn("Invoices", "Invoice No", "Status", ("INV-8",), ("Open",)),
        SetColumn("Invoices", "Invoice No", "Nope", ("INV-8",), ("x",)),
        SetColumn("Invoices", "Missing Key", "Status", ("INV-8", "INV-7"), ("x", "y")),
    ]
    dst = tmp_path / "written.xlsx"
    report = apply(src, dst, updates)
    grid = MemoryGrid(grid_of(src, "Invoices"))
    problems = apply_updates(updates, open_with({"Invoices": grid}))
    width = len(grid_of(dst, "Invoices")[0])
    assert [(r + [None] * width)[:width] for r in grid.rows] == grid_of(dst, "Invoices")
    assert [r[3] for r in grid.rows[1:]] == [1.5, 2.0, 3.0, None, None, 6.0, 7.0, None]
    assert grid.writes == 3  # rows 2-4 and 7-8 of Paid, row 9 of Status
    assert sorted(map(str, problems)) == sorted(map(str, report.problems)) == [
        'warning: Invoices!1: column "Missing Key" is missing, so 2 row(s) could not be updated — '
        'add the header "Missing Key" in row 1',
        'warning: Invoices!1: column "Nope" is missing, so it was not written — add the header "Nope" in row 1',
        'warning: Invoices: Invoice No "INV-404" was not found, so its row was not updated — '
        "check that the row was not deleted or its key changed",
    ]
