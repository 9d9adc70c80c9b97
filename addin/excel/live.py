"""Carry workbook updates (SetCells / SetColumn / SetAt / AppendRows / ReplaceRows) into sheets open in Excel.

While Excel has the workbook open, the guarded file writer leaves the file alone and keeps the
updates in the journal (SPEC §6). The ribbon, running inside that Excel, writes them into the
open sheets instead, through a small ``Grid`` per sheet (xlwings in addin/excel/xlwings_port.py,
a list of lists in the tests). The rules are those of the file writer: rows found by header
names and key values (trimmed, case-insensitive), appends after the last non-blank record row,
the sheet's Excel table grown over appended rows, missing add-in columns and sheets created.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol

from ..actions import AppendRows, Cell, ReplaceRows, SetAt, SetCells, SetColumn, Update
from ..numtext import number_text
from ..problems import Problem, warning
from ..workbook import schema
from ..workbook.schema import normalize


class Grid(Protocol):
    """One sheet of the open workbook, 1-based rows and columns, row 1 = headers."""

    def headers(self) -> list[str]: ...

    def column(self, col: int) -> list[object]:
        """Values of rows 2..last_row() of a column."""
        ...

    def last_row(self) -> int:
        """The last row with a value in some header column (1 when only headers); formatting is no value."""
        ...

    def write(self, row: int, col: int, values: Sequence[Cell]) -> None:
        """Write values into consecutive columns of a row, starting at ``col``."""
        ...

    def write_down(self, row: int, col: int, values: Sequence[Cell]) -> None:
        """Write values into consecutive rows of a column, starting at ``row``."""
        ...

    def delete_rows(self, rows: Sequence[int]) -> None:
        """Delete whole rows (given in descending order), shifting the rows below up."""
        ...

    def grow_table(self, last_row: int, last_col: int) -> None:
        """Make the sheet's Excel table (if any) cover at least rows 1..last_row, columns 1..last_col."""
        ...


def key_text(value: object) -> str:
    """A cell as compared with keys: trimmed, case-insensitive; 1001.0 (a number typed as ID) -> "1001"."""
    if value is None:
        return ""
    if isinstance(value, float):
        value = number_text(value)
    return normalize(str(value))


class SheetEditor:
    """Applies updates to one Grid, reading each column it needs once; problems as the file writer words them."""

    def __init__(self, grid: Grid, name: str) -> None:
        self.grid = grid
        self.name = name
        self.header_cols = {normalize(h): i for i, h in enumerate(grid.headers(), start=1) if h}
        self.width = max(self.header_cols.values(), default=0)
        self.problems: list[Problem] = []
        self._columns: dict[int, list[object]] = {}
        self._rows: dict[int, dict[str, int]] = {}  # key column -> key -> its first row (see rows_by_key)
        self._last = grid.last_row()

    def problem(self, cell: str, message: str, fix: str) -> None:
        found = warning(self.name, cell, message, fix)
        if found not in self.problems:
            self.problems.append(found)

    def cells(self, values: Sequence[tuple[str, Cell]]) -> list[tuple[int, Cell]]:
        """(column, value) of the headers the sheet has; a missing one is a warning, not written."""
        out = []
        for h, v in values:
            col = self.header_cols.get(normalize(h))
            if col is None:
                self.problem("1", f'column "{h}" is missing, so it was not written', f'add the header "{h}" in row 1')
            else:
                out.append((col, v))
        return sorted(out, key=lambda cv: cv[0])

    def values(self, col: int) -> list[object]:
        if col not in self._columns:
            self._columns[col] = list(self.grid.column(col)) if self._last >= 2 else []
        return self._columns[col]

    def rows_by_key(self, col: int) -> dict[str, int]:
        """Key (as ``key_text`` makes it) -> the first row holding it in column ``col``; made once,
        so that 100,000 keys are found in one pass over the column."""
        if col not in self._rows:
            found: dict[str, int] = {}
            for i, v in enumerate(self.values(col), start=2):
                found.setdefault(key_text(v), i)
            self._rows[col] = found
        return self._rows[col]

    def _key_column(self, update: SetCells | SetColumn, what: str) -> int | None:
        key_col = self.header_cols.get(normalize(update.key_header))
        if key_col is None:
            self.problem("1", f'column "{update.key_header}" is missing, so {what} could not be updated',
                         f'add the header "{update.key_header}" in row 1')
        return key_col

    def _row_of(self, update: SetCells | SetColumn, key_col: int, key: str) -> int | None:
        row = self.rows_by_key(key_col).get(key_text(key))
        if row is None:
            self.problem("", f'{update.key_header} "{key}" was not found, so its row was not updated',
                         "check that the row was not deleted or its key changed")
        return row

    def _written(self, row: int, col: int, value: Cell) -> None:
        """Keep the columns read so far as the sheet now holds them."""
        if col in self._columns:
            self._columns[col][row - 2] = value
            self._rows.pop(col, None)  # a key column written: its keys are found again

    def set_cells(self, update: SetCells) -> None:
        key_col = self._key_column(update, f'"{update.key}"')
        row = self._row_of(update, key_col, update.key) if key_col is not None else None
        if row is None:
            return
        cells = self.cells(update.values)
        self._write_runs(row, cells)
        for c, v in cells:
            self._written(row, c, v)

    def set_column(self, update: SetColumn) -> None:
        """One write per run of consecutive rows (a refresh of rows in key order: one per column)."""
        key_col = self._key_column(update, f"{len(update.keys)} row(s)")
        cells = self.cells(((update.header, None),)) if key_col is not None else []
        if key_col is None or not cells:
            return
        col = cells[0][0]
        found: dict[int, Cell] = {}
        for key, value in zip(update.keys, update.values, strict=True):
            row = self._row_of(update, key_col, key)
            if row is not None:
                found[row] = value  # a key given twice: its last value, as SetCells in turn would
        start, run = 0, list[Cell]()
        for row in sorted(found):
            if run and row != start + len(run):
                self.grid.write_down(start, col, run)
                run = []
            if not run:
                start = row
            run.append(found[row])
        if run:
            self.grid.write_down(start, col, run)
        for row, value in found.items():
            self._written(row, col, value)

    def append(self, rows: Sequence[tuple[tuple[str, Cell], ...]]) -> None:
        """Rows after the last non-blank record row (as many as needed); the table grows over them."""
        for values in rows:
            cells = self.cells(values)
            self._last += 1
            self._write_runs(self._last, cells)
            written = dict(cells)
            for c, col in self._columns.items():
                col.append(written.get(c))
        self._rows.clear()
        if rows:
            self.grid.grow_table(self._last, self.width)

    def replace(self, update: ReplaceRows) -> None:
        where = [(self.header_cols.get(normalize(h)), key_text(v)) for h, v in update.where]
        for (h, _), (c, _) in zip(update.where, where, strict=True):
            if c is None:
                self.problem("1", f'column "{h}" is missing, so no rows were replaced', f'add the header "{h}" in row 1')
                break
        else:
            columns = [(self.values(c), v) for c, v in where if c is not None] if where else []
            doomed = [r for r in range(2, self._last + 1) if columns
                      and all(key_text(col[r - 2] if r - 2 < len(col) else None) == v for col, v in columns)]
            if doomed:
                self.grid.delete_rows(sorted(doomed, reverse=True))
                gone = set(doomed)
                for c, col in self._columns.items():
                    self._columns[c] = [v for r, v in enumerate(col, start=2) if r not in gone]
                self._last -= len(doomed)
                self._rows.clear()
        self.append(update.rows)

    def set_at(self, update: SetAt) -> None:
        """Cells by address (the Dashboard's figures); each cell keeps its format in Excel."""
        from ..workbook.cellref import split

        for ref, value in update.cells:
            column, row = split(ref)
            self.grid.write(row, column, [value])

    def _write_runs(self, row: int, cells: list[tuple[int, Cell]]) -> None:
        """One write per run of adjacent columns (Paid, Balance, Status, Last Reminder: one call)."""
        start, run = None, []
        for c, v in cells:
            if start is not None and c == start + len(run):
                run.append(v)
                continue
            if start is not None:
                self.grid.write(row, start, run)
            start, run = c, [v]
        if start is not None:
            self.grid.write(row, start, run)


def apply_updates(updates: Sequence[Update], open_sheet: Callable[[str, Sequence[str]], Grid]) -> list[Problem]:
    """Apply updates in order; returns what could not be applied (warnings).

    ``open_sheet(name, headers)`` returns the sheet's Grid, creating the sheet with those headers
    (the schema's, then any other header the rows bring) when the workbook lacks it.
    """
    editors: dict[str, SheetEditor] = {}
    for update in updates:
        key = normalize(update.sheet)
        if key not in editors:
            known = schema.SHEETS_BY_KEY.get(key)
            headers = [c.header for c in known.columns] if known else []
            for u in updates:
                if normalize(u.sheet) == key and isinstance(u, AppendRows | ReplaceRows):
                    headers += [h for r in u.rows for h, _ in r if normalize(h) not in map(normalize, headers)]
            editors[key] = SheetEditor(open_sheet(update.sheet, headers), update.sheet)
        editor = editors[key]
        if isinstance(update, SetCells):
            editor.set_cells(update)
        elif isinstance(update, SetColumn):
            editor.set_column(update)
        elif isinstance(update, AppendRows):
            editor.append(update.rows)
        elif isinstance(update, ReplaceRows):
            editor.replace(update)
        elif isinstance(update, SetAt):
            editor.set_at(update)
    return [p for e in editors.values() for p in e.problems]
