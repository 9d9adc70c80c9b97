"""What a ribbon handler may ask of Excel: the port, and FilePort, its implementation on a saved file.

Handlers never touch Excel directly. They ask the port for the workbook (a Book read by our
reader), the rows the user selected, answers to small dialogs, and they report through it.
Two implementations: ``XlwingsPort`` (addin/excel/xlwings_port.py, the running Excel) and
``FilePort`` below (a workbook file, a simulated selection and answers given in advance), which
the tests and ``receivables excel press`` use.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from ..workbook.schema import Sheet, normalize

if TYPE_CHECKING:
    from ..actions import Update
    from ..model import Book
    from ..problems import Problem


@dataclass(frozen=True)
class Selection:
    """The rows the user selected, on one sheet (row 1, the headers, is never part of it)."""

    sheet: str = ""
    rows: tuple[int, ...] = ()

    def on(self, sheet: Sheet) -> bool:
        return bool(self.sheet) and normalize(self.sheet) == sheet.key


_AREA = re.compile(r"^\$?([A-Za-z]{0,3})\$?(\d*)(?::\$?([A-Za-z]{0,3})\$?(\d*))?$")


def rows_of(address: str) -> tuple[int, ...]:
    """Record rows covered by an Excel address: ``A2:C4,A7`` -> (2, 3, 4, 7); ``2:3`` -> (2, 3).

    Whole columns (``A:C``) cover no particular record, so they give no rows.
    """
    rows: set[int] = set()
    for area in address.replace(";", ",").split(","):
        m = _AREA.match(area.strip())
        if not m:
            raise ValueError(f'"{area.strip()}" is not a cell range')
        first, last = m.group(2), m.group(4) if m.group(3) is not None else m.group(2)
        if not first or not last:
            continue  # a whole column
        lo, hi = sorted((int(first), int(last)))
        rows.update(range(max(lo, 2), hi + 1))
    return tuple(sorted(rows))


def parse_selection(text: str) -> Selection:
    """``Invoices!A2:A3,A5`` or ``'Group Members'!4:5`` -> Selection (as Excel writes addresses)."""
    sheet, sep, address = text.strip().rpartition("!")
    if not sep or not sheet:
        raise ValueError(f'"{text}" has no sheet name — write it as Sheet!A2:A5, e.g. Invoices!A2:A3')
    if sheet.startswith("'") and sheet.endswith("'"):
        sheet = sheet[1:-1].replace("''", "'")
    return Selection(sheet, rows_of(address))


class Port(Protocol):
    """Excel as a handler sees it.

    Attributes:
      workbook_path: the workbook file (the journal, outbox and statements live beside it).
      outbox: forces the outbox transport into this folder (None: the workbook's Settings decide).
      as_of: the day to act for (None: today in the workbook's time zone).
    """

    workbook_path: Path
    outbox: Path | None
    as_of: dt.date | None

    def prepare(self) -> bool:
        """Make the file at workbook_path hold what the user sees; False: the user cancelled."""
        ...

    def book(self) -> Book:
        """The workbook read by our reader."""
        ...

    def selection(self) -> Selection: ...

    def values(self, sheet: str, rows: Sequence[int]) -> list[dict[str, object]]:
        """The cells of ``rows`` of ``sheet`` as {normalized header: value}."""
        ...

    def ask(self, name: str, prompt: str, default: str = "") -> str | None:
        """A one-line answer (an InputBox); None when the user cancels. ``name`` identifies the question."""
        ...

    def confirm(self, prompt: str) -> bool: ...

    def alert(self, text: str) -> None: ...

    def show_summary(self, title: str, lines: Sequence[str]) -> None: ...

    def open_path(self, path: Path) -> None:
        """Show a file or folder to the user (Explorer / Finder)."""
        ...

    def show_sheet(self, name: str) -> None: ...

    def after_run(self, lines: list[str]) -> list[str]:
        """Called after a command ran, with what it printed; returns the lines to show."""
        ...

    def write_open(self, updates: Sequence[Update]) -> list[Problem] | None:
        """Write ``updates`` straight into the workbook Excel has open here, and save it; what
        could not be written. None: no workbook is open here (the file is written instead)."""
        ...


@dataclass
class FilePort:
    """A saved workbook with a simulated selection and answers given in advance.

    Attributes:
      chosen: the simulated selection.
      answers: question name -> answer (None = the user pressed Cancel); an absent name takes the default.
      confirm_answer: what every confirmation answers.
      echo: called with every line shown to the user (``print`` for ``receivables excel press``).
      alerts / summaries / opened / sheets_shown / asked: what the user was shown or asked, in order.
    """

    workbook_path: Path
    chosen: Selection = field(default_factory=Selection)
    answers: Mapping[str, str | None] = field(default_factory=dict)
    confirm_answer: bool = True
    outbox: Path | None = None
    as_of: dt.date | None = None
    echo: Callable[[str], None] | None = None
    alerts: list[str] = field(default_factory=list)
    summaries: list[tuple[str, list[str]]] = field(default_factory=list)
    opened: list[Path] = field(default_factory=list)
    sheets_shown: list[str] = field(default_factory=list)
    asked: list[str] = field(default_factory=list)

    def prepare(self) -> bool:
        return True

    def book(self) -> Book:
        from ..commands.common import load_book

        return load_book(self.workbook_path)

    def selection(self) -> Selection:
        return self.chosen

    def values(self, sheet: str, rows: Sequence[int]) -> list[dict[str, object]]:
        return read_rows(self.workbook_path, sheet, rows)

    def ask(self, name: str, prompt: str, default: str = "") -> str | None:
        self.asked.append(name)
        answer = self.answers.get(name, default)
        self._say(f"{prompt} -> {'(cancel)' if answer is None else answer}")
        return answer

    def confirm(self, prompt: str) -> bool:
        self._say(f"{prompt} -> {'yes' if self.confirm_answer else 'no'}")
        return self.confirm_answer

    def alert(self, text: str) -> None:
        self.alerts.append(text)
        self._say(text)

    def show_summary(self, title: str, lines: Sequence[str]) -> None:
        self.summaries.append((title, list(lines)))
        for line in lines:
            self._say(line)

    def open_path(self, path: Path) -> None:
        self.opened.append(path)
        self._say(f"open {path}")

    def show_sheet(self, name: str) -> None:
        self.sheets_shown.append(name)
        self._say(f"show sheet {name}")

    def after_run(self, lines: list[str]) -> list[str]:
        """Nothing to do: the guarded writer wrote the file (or deferred, when it is open)."""
        return lines

    def write_open(self, updates: Sequence[Update]) -> list[Problem] | None:
        """No Excel here: the guarded writer writes the file."""
        return None

    @property
    def shown(self) -> list[str]:
        """Every line shown, alerts and summaries, in one list (for tests)."""
        return [*self.alerts, *(line for _, lines in self.summaries for line in lines)]

    def _say(self, text: str) -> None:
        if self.echo:
            self.echo(text)


def read_rows(path: Path, sheet: str, rows: Sequence[int]) -> list[dict[str, object]]:
    """Rows of a saved workbook's sheet as {normalized header: value} (python-calamine, values only)."""
    from python_calamine import CalamineWorkbook

    try:
        wb = CalamineWorkbook.from_path(str(path))
    except Exception:  # noqa: BLE001 - unreadable: the command run next says so, with its own words
        return []
    names = {normalize(n): n for n in wb.sheet_names}
    if normalize(sheet) not in names:
        return []
    table = wb.get_sheet_by_name(names[normalize(sheet)]).to_python(skip_empty_area=False)
    if not table:
        return []
    headers = [normalize(str(h)) if h not in (None, "") else "" for h in table[0]]
    out: list[dict[str, object]] = []
    for r in rows:
        cells = table[r - 1] if 0 < r <= len(table) else []
        out.append({h: v for h, v in zip(headers, cells, strict=False) if h and v not in (None, "")})
    return out
