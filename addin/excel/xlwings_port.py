"""The port on the running Excel, through xlwings (Windows and macOS only; imported lazily).

How the ribbon reads and writes the workbook Excel has open:

- Reading: handlers run the same commands as the CLI, which read the SAVED file. So before a
  button runs, ``prepare`` saves the workbook if it has unsaved changes (after asking).
- Writing: with the workbook open in Excel, the guarded file writer leaves the file untouched
  and keeps the updates in the journal (Excel's owner file ``~$name`` is present). After the
  command, ``after_run`` takes every pending update from the journal, writes it into the open
  sheets (addin/excel/live.py: same rules as the file writer), marks it applied, and saves the
  workbook, so what the user sees, the file and the journal agree. Updates that a daemon run
  queued while the workbook was open land the same way at the next button press.
- Dialogs: ``App.alert`` (MsgBox) and Application.InputBox (Windows) / a standard dialog (macOS).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..problems import Problem, notice
from ..workbook.schema import normalize
from .live import apply_updates
from .port import Selection, rows_of

if TYPE_CHECKING:
    import datetime as dt

    from ..actions import Cell, Update
    from ..model import Book

TITLE = "Receivables"
ALERT_MAX_LINES = 25
ALERT_MAX_CHARS = 900  # MsgBox shows about 1,024 characters


class XlwingsPort:
    """The workbook that called RunPython, in the Excel that runs it."""

    outbox: Path | None = None
    as_of: dt.date | None = None

    def __init__(self, book: Any) -> None:
        self._wb = book
        self.workbook_path = Path(book.fullname)

    @classmethod
    def caller(cls) -> XlwingsPort:
        import xlwings as xw

        return cls(xw.Book.caller())

    # --- reading -------------------------------------------------------------------------------

    def prepare(self) -> bool:
        if "://" in str(self._wb.fullname):
            self.alert("This workbook is opened from the web (OneDrive/SharePoint). Open the copy synced to "
                       "this PC (File > Info > Open in Explorer / Finder), then press the button again.")
            return False
        if self._saved():
            return True
        if self.confirm("The workbook has changes that are not saved. The add-in works on the saved "
                        "workbook: save it now?"):
            self._wb.save()
            return True
        return False

    def book(self) -> Book:
        from ..commands.common import load_book

        return load_book(self.workbook_path)

    def selection(self) -> Selection:
        rng = self._wb.selection
        if rng is None:
            return Selection()
        try:
            return Selection(rng.sheet.name, rows_of(rng.get_address(False, False)))
        except ValueError:  # a chart or a shape is selected
            return Selection()

    def values(self, sheet: str, rows: Sequence[int]) -> list[dict[str, object]]:
        sht = self._sheet(sheet)
        if sht is None:
            return []
        headers = [normalize(str(h)) if h not in (None, "") else "" for h in _row_values(sht, 1, _width(sht))]
        out = []
        for r in rows:
            cells = _row_values(sht, r, len(headers))
            out.append({h: v for h, v in zip(headers, cells, strict=False) if h and v not in (None, "")})
        return out

    # --- dialogs -------------------------------------------------------------------------------

    def ask(self, name: str, prompt: str, default: str = "") -> str | None:
        app = self._wb.app
        if sys.platform == "win32":
            answer = app.api.InputBox(prompt[:250], TITLE, default)  # Type omitted = text; False on Cancel
            return None if answer is False else str(answer)
        import osax  # the appscript bridge xlwings uses on macOS
        from appscript import k as kw
        from appscript.reference import CommandError

        sa = osax.OSAX(pid=app.pid)
        sa.activate()
        try:
            reply = sa.display_dialog(prompt, default_answer=default, with_title=TITLE,
                                      buttons=["Cancel", "OK"], default_button="OK", cancel_button="Cancel")
        except CommandError:  # -128: the user cancelled
            return None
        return str(reply[kw.text_returned])

    def confirm(self, prompt: str) -> bool:
        return self._wb.app.alert(prompt, TITLE, buttons="yes_no", mode="info") == "yes"

    def alert(self, text: str) -> None:
        if len(text) > ALERT_MAX_CHARS:
            text = text[:ALERT_MAX_CHARS] + " …"
        self._wb.app.alert(text, TITLE, mode="info")

    def show_summary(self, title: str, lines: Sequence[str]) -> None:
        """Short summaries in a message box; long ones in a text file opened beside Excel."""
        text = "\n".join(lines)
        if len(lines) <= ALERT_MAX_LINES and len(text) <= ALERT_MAX_CHARS:
            self._wb.app.alert(text, f"{TITLE} — {title}", mode="info")
            return
        report = Path(tempfile.gettempdir()) / f"Receivables - {_safe(title)}.txt"
        report.write_text(text + "\n", encoding="utf-8-sig")  # BOM: Notepad and TextEdit read UTF-8
        head = "\n".join(lines[:15])
        self._wb.app.alert(f"{head}\n… {len(lines)} lines in all: the full list opens in {report.name}.",
                           f"{TITLE} — {title}", mode="info")
        self.open_path(report)

    def open_path(self, path: Path) -> None:
        if sys.platform == "win32":
            os.startfile(path)  # type: ignore[attr-defined]  # noqa: S606 - Windows only
        else:
            subprocess.run(["open", str(path)], check=False)

    def show_sheet(self, name: str) -> None:
        sht = self._sheet(name)
        if sht is None:
            self.alert(f'There is no "{name}" sheet yet: the add-in creates it with its first entry.')
            return
        sht.activate()

    # --- writing -------------------------------------------------------------------------------

    def after_run(self, lines: list[str]) -> list[str]:
        """Write the updates the file writer deferred into the open sheets, then save."""
        from ..journal import Journal
        from ..workbook.store import WorkbookLock

        lock = WorkbookLock(self.workbook_path)  # the daemon's writer and we never write at once
        if not lock.acquire(10.0):
            return lines  # they stay in the journal for the next press
        try:
            with Journal.open(self.workbook_path) as journal:
                pending = journal.pending_updates()
                if not pending:
                    return lines
                problems = apply_updates([u for _, u in pending], self._open_sheet)
                journal.mark_updates_applied([i for i, _ in pending])
            self._wb.save()
        finally:
            lock.release()
        kept = [line for line in lines if not _is_deferral_notice(line)]
        return [*kept, *map(str, problems), f"{len(pending)} change(s) written into this workbook, and saved."]

    def write_open(self, updates: Sequence[Update]) -> list[Problem] | None:
        """The refresh's figures and add-in columns, straight into the open sheets, then save."""
        from ..workbook.store import WorkbookLock

        lock = WorkbookLock(self.workbook_path)  # the daemon's writer and we never write at once
        if not lock.acquire(10.0):
            return [notice("", "", "another receivables process is writing the workbook: nothing was written",
                           "press the button again in a moment")]
        try:
            problems = apply_updates(updates, self._open_sheet)
            if updates:
                self._wb.save()
        finally:
            lock.release()
        return problems

    def _open_sheet(self, name: str, headers: Sequence[str]) -> XlwingsGrid:
        sht = self._sheet(name)
        if sht is None:
            sht = self._wb.sheets.add(name, after=self._wb.sheets[len(self._wb.sheets) - 1])
            if headers:
                sht.range((1, 1)).value = [list(headers)]
        return XlwingsGrid(sht)

    # --- helpers -------------------------------------------------------------------------------

    def _saved(self) -> bool:
        api = self._wb.api
        return bool(api.Saved) if sys.platform == "win32" else bool(api.saved.get())

    def _sheet(self, name: str) -> Any | None:
        for sht in self._wb.sheets:
            if normalize(sht.name) == normalize(name):
                return sht
        return None


class XlwingsGrid:
    """live.Grid over an xlwings Sheet: one range read per column, one write per run of cells."""

    def __init__(self, sheet: Any) -> None:
        self.sheet = sheet
        self._width = _width(sheet)
        self._last: int | None = None

    def headers(self) -> list[str]:
        return [str(h).strip() if h is not None else "" for h in _row_values(self.sheet, 1, self._width)]

    def column(self, col: int) -> list[object]:
        last = self.last_row()
        if last < 2:
            return []
        return list(self.sheet.range((2, col), (last, col)).options(ndim=1).value)

    def last_row(self) -> int:
        if self._last is None:
            bottom = self.sheet.cells.last_cell.row
            last = 1
            for col in range(1, max(self._width, 1) + 1):
                cell = self.sheet.range((bottom, col))
                found = cell.row if cell.value not in (None, "") else cell.end("up").row
                if self.sheet.range((found, col)).value not in (None, ""):
                    last = max(last, found)
            self._last = last
        return self._last

    def write(self, row: int, col: int, values: Sequence[Cell]) -> None:
        self.sheet.range((row, col)).value = [list(values)]
        self._width = max(self._width, col + len(values) - 1)
        if self._last is not None:
            self._last = max(self._last, row)

    def write_down(self, row: int, col: int, values: Sequence[Cell]) -> None:
        self.sheet.range((row, col)).value = [[v] for v in values]  # a list of one-cell rows: a column
        self._width = max(self._width, col)
        if self._last is not None:
            self._last = max(self._last, row + len(values) - 1)

    def delete_rows(self, rows: Sequence[int]) -> None:
        for r in rows:  # descending
            self.sheet.range(f"{r}:{r}").delete("up")
        if self._last is not None:
            self._last -= len(rows)

    def grow_table(self, last_row: int, last_col: int) -> None:
        for table in self.sheet.tables:
            rng = table.range
            if rng.row != 1:
                continue
            rows = max(rng.last_cell.row, last_row)
            cols = max(rng.last_cell.column, last_col)
            if (rows, cols) != (rng.last_cell.row, rng.last_cell.column):
                table.resize(self.sheet.range((1, rng.column), (rows, cols)))


def _width(sheet: Any) -> int:
    """Columns up to the last header in row 1."""
    last = sheet.range((1, sheet.cells.last_cell.column))
    return last.column if last.value not in (None, "") else last.end("left").column


def _row_values(sheet: Any, row: int, width: int) -> list[object]:
    if width < 1:
        return []
    return list(sheet.range((row, 1), (row, width)).options(ndim=1).value)


def _is_deferral_notice(line: str) -> bool:
    """The file writer's notice that it deferred (the ribbon has just written those updates)."""
    return line.startswith("notice:") and "open in Excel" in line


def _safe(text: str) -> str:
    return "".join(ch if ch.isalnum() or ch in " -_" else "_" for ch in text)[:60]
