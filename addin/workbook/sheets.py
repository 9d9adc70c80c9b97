"""The workbook's sheets as python-calamine reads them, and what their XML says beyond that.

Owns: opening a file (or refusing it: ``WorkbookUnreadable``), parsing each sheet into a grid
of cells (``Sheets``, in threads: calamine leaves the GIL while it parses), and the ``Marks``
calamine cannot give: error cells (``#N/A``) and formulas with no saved value (calamine reads
both as ''), the columns styled as dates, the workbook's 1904 date system, and the cells
holding Excel's date 60 (1900-02-29, which never was; calamine reads 1900-02-28). What the
cells mean is decided elsewhere (``cells``); this module only hands them over.
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Callable, Hashable, Sequence
from functools import partial
from pathlib import Path
from typing import Any, NamedTuple, cast

from . import schema
from .cellref import MAX_COLUMN, number
from .dateformats import date_styles


class WorkbookUnreadable(Exception):
    """The file is missing, unreadable or not an .xlsx workbook; the message says what to do."""


def open_workbook(path: Path) -> Any:
    """The calamine workbook at ``path``; raises WorkbookUnreadable, with what to do, when it cannot be read."""
    from python_calamine import CalamineWorkbook

    from .deflate import oversized

    if not path.exists():
        raise WorkbookUnreadable(f"{path}: no such workbook — check the path")
    if path.is_dir():
        raise WorkbookUnreadable(f"{path} is a folder, not a workbook — give the path of an .xlsx file")
    try:
        with path.open("rb") as f:
            head = f.read(8)
    except OSError as exc:
        raise WorkbookUnreadable(f"{path} cannot be read ({exc.strerror or exc}) — "
                                 "check that you may open it and that Excel is not saving it") from None
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        raise WorkbookUnreadable(f"{path} is password-protected or an old .xls file — "
                                 "open it in Excel and save it as Excel Workbook (.xlsx) without a password")
    if not head.startswith(b"PK"):
        raise WorkbookUnreadable(f"{path} is not an .xlsx workbook — "
                                 "open it in Excel and save it as Excel Workbook (.xlsx)")
    try:  # the parts' declared sizes, from the zip's directory (calamine refuses a part that inflates beyond its own)
        with zipfile.ZipFile(path) as archive:
            too_large = oversized(archive.infolist())
    except Exception:  # noqa: BLE001 - a zip Python cannot read: calamine says below what is wrong with it
        too_large = None
    if too_large is not None:
        raise WorkbookUnreadable(f"{path}: {too_large} — this is not a workbook Excel saved; "
                                 "open it in Excel and save it again")
    try:
        return CalamineWorkbook.from_path(str(path))
    except Exception as exc:  # noqa: BLE001 - calamine raises several error types for broken files
        raise WorkbookUnreadable(f"{path} cannot be read as a workbook ({exc}) — "
                                 "open it in Excel and save it again as .xlsx") from None


class Sheets:
    """The sheets' cells and error cells, made ready in threads while the reader converts.

    One thread parses Invoices, the largest sheet, from the start (with its own calamine
    handle); another parses Settings, Customers, Payments, then the small sheets; a third scans
    the Payments and Invoices XML for error cells (mostly inflating, which leaves the GIL). So
    Customers, then Payments, are ready early and converted while Invoices is parsed, and
    Invoices is ready when the reader comes to it: on a two-core PC the main thread waits least.
    ``get`` hands each result over once (its memory goes with it).
    """

    def __init__(self, path: Path, workbook: Any, order: list[str]) -> None:
        def named(key: str) -> list[str]:
            return [name for name in order if schema.normalize(name) == key]

        settings, customers = named(schema.SETTINGS_SHEET.key), named(schema.CUSTOMERS.key)
        payments, invoices = named(schema.PAYMENTS.key), named(schema.INVOICES.key)
        rest = [name for name in order if name not in (*settings, *customers, *payments, *invoices)]
        # Each thread has its own calamine handle and zip reader.
        self.path = path
        self.parsers = (Parser(path, workbook), Parser(path), None)
        self.error_cells = (ErrorCells(path), ErrorCells(path), ErrorCells(path))
        self.sixty: ErrorCells | None = None  # for serial_60, made when first asked
        tasks = (
            [*((_BOTH, n) for n in (*settings, *customers)), *((_PARSE, n) for n in payments),
             *((_BOTH, n) for n in rest)],
            [(_PARSE, n) for n in invoices],
            [(_SCAN, n) for n in (*payments, *invoices)],
        )
        self.ahead = {task: ahead for thread, listed in enumerate(tasks)
                      for ahead in [Ahead(listed, partial(self._work, thread)).start()] for task in listed}

    def _work(self, thread: int, task: tuple[str, str]) -> _Ready:
        what, name = task
        parser = self.parsers[thread]
        data = parser(name) if parser is not None and what != _SCAN else None
        return data, (self.error_cells[thread].sheet(name) if what != _PARSE else NO_MARKS)

    def _get(self, task: tuple[str, str]) -> _Ready:
        return cast(_Ready, self.ahead[task].get(task))

    def get(self, name: str) -> tuple[list[list[Any]], Marks]:
        """The sheet's cells (``to_python``) and its marks; raises what calamine raised."""
        if (_PARSE, name) in self.ahead:  # parsed in one thread, scanned in another
            errors = self._get((_SCAN, name))[1]
            return self._get((_PARSE, name))[0] or [], errors
        data, errors = self._get((_BOTH, name))
        return data or [], errors

    def serial_60(self, name: str) -> set[tuple[int, int]]:
        """The sheet's cells holding Excel's date 60 (looked for rarely: in this thread, once a sheet)."""
        if self.sixty is None:
            self.sixty = ErrorCells(self.path)
        return self.sixty.serial_60(name)

    def close(self) -> None:
        for ahead in set(self.ahead.values()):
            ahead.stop()
        for cells in (*self.error_cells, *([self.sixty] if self.sixty else [])):
            cells.close()
        for parser in self.parsers:
            if parser is not None:
                parser.close()




class Parser:
    """Parses sheets with python-calamine, opening its own handle in the thread that uses it."""

    def __init__(self, path: Path, workbook: Any = None) -> None:
        self.path = path
        self.workbook = workbook
        self.opened = False

    def __call__(self, name: str) -> list[list[Any]]:
        if self.workbook is None:
            from python_calamine import CalamineWorkbook

            self.workbook = CalamineWorkbook.from_path(str(self.path))
            self.opened = True
        return self.workbook.get_sheet_by_name(name).to_python(skip_empty_area=False)

    def close(self) -> None:
        if self.opened:
            self.workbook.close()


# --- what the sheet XML says beyond the values --------------------------------------------

# A mark for a formula cell without a saved value (``<c><f>…</f></c>``, ``<v/>``): calamine reads ''.
NO_VALUE = "no saved value"



class Marks(NamedTuple):
    """What a sheet's XML tells beyond calamine's values.

    Attributes:
      cells: {row index: {column index: code}} (0-based, as calamine's rows) of error cells
        (``#N/A`` …) and formula cells with no saved value (NO_VALUE).
      date_columns: indexes of the columns whose style (``<col style=…>``) is a date format.
      date1904: the workbook's dates count days from 1904 (``<workbookPr date1904="1"/>``).
    """

    cells: dict[int, dict[int, str]]
    date_columns: frozenset[int] = frozenset()
    date1904: bool = False


NO_MARKS = Marks({})
_BOTH, _PARSE, _SCAN = "both", "parse", "scan"
_Ready = tuple[list[list[Any]] | None, Marks]  # a sheet's cells (unless scanned only), its marks


class Ahead:
    """Runs ``work(name)`` for each name (any hashable task), in order, in a thread; ``get(name)``
    waits for that result.

    Used to parse the next sheet (python-calamine releases the GIL while it parses) and to scan
    for error cells while the reader converts the sheet before. An exception raised by ``work``
    is raised again by ``get``.
    """

    def __init__(self, names: Sequence[Hashable], work: Callable[[Any], object]) -> None:
        import threading

        self.names = list(names)
        self.work = work
        self.results: dict[Hashable, object] = {}
        self.failures: dict[Hashable, BaseException] = {}
        self.ready = {name: threading.Event() for name in self.names}
        self.stopping = False
        self.thread = threading.Thread(target=self._run, name="reader-ahead", daemon=True)

    def start(self) -> Ahead:
        self.thread.start()
        return self

    def get(self, name: Hashable) -> object:
        """The result for ``name``, handed over once (it is not kept)."""
        self.ready[name].wait()
        if name in self.failures:
            raise self.failures[name]
        return self.results.pop(name)

    def stop(self) -> None:
        """Stop after the current item and wait for the thread."""
        self.stopping = True
        if self.thread.is_alive():
            self.thread.join()

    def _run(self) -> None:
        try:
            for name in self.names:
                if self.stopping:
                    break
                try:
                    self.results[name] = self.work(name)
                except BaseException as exc:  # noqa: BLE001 - handed to the caller by get()
                    self.failures[name] = exc
                finally:
                    self.ready[name].set()
        finally:
            for event in self.ready.values():
                event.set()


class ErrorCells:
    """The marks of a workbook's sheets (error cells, formulas with no saved value, date-styled
    columns), read from the XML: calamine reads error cells and unsaved formulas as ''.

    ``sheet(name)`` returns the sheet's Marks; a sheet whose XML cannot be read gives none
    (calamine reports broken files). An .ods is read from its content.xml (``_ods_marks``).
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.archive: zipfile.ZipFile | None = None
        self.parts: dict[str, str] = {}
        self.date_styles: frozenset[int] | None = None  # cellXfs indexes whose format is a date
        self.ods: dict[str, Marks] | None = None
        self.date1904 = False
        self.sixty: dict[str, set[tuple[int, int]]] = {}  # serial_60's, by sheet

    def _open(self) -> zipfile.ZipFile:
        """The zip, opened once with the sheets' parts (or an .ods's marks) read."""
        if self.archive is None:
            self.archive = zipfile.ZipFile(self.path)
            names = set(self.archive.namelist())
            if "xl/workbook.xml" not in names and "content.xml" in names:
                self.ods = _ods_marks(self.archive.read("content.xml"))
            else:
                self.parts = _sheet_parts(self.archive)
                self.date1904 = bool(_DATE1904.search(self.archive.read("xl/workbook.xml")))
        return self.archive

    def sheet(self, name: str) -> Marks:
        try:
            self._open()
            if self.ods is not None:
                return self.ods.get(name, NO_MARKS)
            part = self.parts.get(name)
            if not part:
                return NO_MARKS
            found = _scan_part(self.archive, part, self._date_styles)
            return found._replace(date1904=True) if self.date1904 else found
        except Exception:  # noqa: BLE001 - never let the scan stop the reader
            return NO_MARKS

    def serial_60(self, name: str) -> set[tuple[int, int]]:
        """(row, column) indexes of the number cells holding 60: Excel's 1900-02-29, which never
        was (calamine reads it as 1900-02-28). Looked for only when a date column holds that day."""
        if name in self.sixty:
            return self.sixty[name]
        try:
            archive = self._open()
            part = self.parts.get(name)
            data = _inflate(archive, part) if part else b""
        except Exception:  # noqa: BLE001 - never let the scan stop the reader
            data = b""
        found = self.sixty[name] = set()
        for m in _SIXTY.finditer(data):
            tag = _last_cell_tag(data, m.start())
            if tag is None or _TYPE.search(tag.group(1)):
                continue
            ref = _REF.search(tag.group(1))
            if ref:
                found.add((int(ref.group(2)) - 1, number(ref.group(1).decode()) - 1))
        return found

    def _date_styles(self) -> frozenset[int]:
        if self.date_styles is None:
            self.date_styles = _date_styles(self.archive) if self.archive is not None else frozenset()
        return self.date_styles

    def close(self) -> None:
        if self.archive is not None:
            self.archive.close()


def _sheet_parts(archive) -> dict[str, str]:
    """Sheet name -> its XML part in the zip, from xl/workbook.xml and its relationships."""
    import posixpath
    import xml.etree.ElementTree as ET

    main = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
    rel_ns = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
    pkg = "{http://schemas.openxmlformats.org/package/2006/relationships}"
    book = ET.fromstring(archive.read("xl/workbook.xml"))
    rels = ET.fromstring(archive.read("xl/_rels/workbook.xml.rels"))
    targets = {}
    for rel in rels.iter(f"{pkg}Relationship"):
        target = rel.get("Target", "")
        targets[rel.get("Id")] = target.lstrip("/") if target.startswith("/") else posixpath.normpath("xl/" + target)
    parts = {}
    for sheet in book.iter(f"{main}sheet"):
        rid = sheet.get(f"{rel_ns}id")
        if rid in targets:
            parts[sheet.get("name", "")] = targets[rid]
    return parts


def _date_styles(archive) -> frozenset[int]:
    """Indexes of the cell formats of the workbook's styles.xml that show a date."""
    try:
        return date_styles(archive.read("xl/styles.xml"))
    except KeyError:
        return frozenset()


_ERROR_TAG = re.compile(rb"<(?:\w+:)?c\b(?=[^>]*\bt=[\"']e[\"'])([^>]*)>")
_ERROR_VALUE = re.compile(  # the formula, if any, then the value; Gnumeric puts spaces between
    rb"\s*(?:<(?:\w+:)?f\b[^>]*/>|<(?:\w+:)?f\b[^>]*>[^<]*</(?:\w+:)?f>)?\s*<(?:\w+:)?v>([^<]*)</")
_REF = re.compile(rb"\br=[\"']([A-Z]+)(\d+)[\"']")
_TYPE = re.compile(rb"\bt=[\"'](?!n[\"'])")  # a cell typed other than a number
_STR = re.compile(rb"\bt=[\"'](?:str|s|inlineStr)[\"']")
# A formula ending its cell with no value, or an empty one: no saved result.
_NO_VALUE = re.compile(
    rb"(?:</(?:\w+:)?f>|<(?:\w+:)?f\b[^>]*/>)\s*(?:<(?:\w+:)?v\s*/>|<(?:\w+:)?v>\s*</(?:\w+:)?v>)?\s*</(?:\w+:)?c>")
_DATE1904 = re.compile(rb"<(?:\w+:)?workbookPr\b[^>]*\bdate1904=[\"'](?:1|true)[\"']")
_CELL_TAG = re.compile(rb"<(?:\w+:)?c\b([^>]*)>")
_SIXTY = re.compile(rb"<(?:\w+:)?v>60(?:\.0*)?</")
_COLS = re.compile(rb"<(?:\w+:)?col\b([^>]*)>")
_ATTR = re.compile(rb"\b(min|max|style)=[\"'](\d+)[\"']")


def _inflate(archive, part: str) -> bytes:
    """The part, inflated in one call: the inflater then runs without the GIL the whole time,
    whereas a loop over chunks waits for the busy main thread at every chunk."""
    from .deflate import read_part

    with open(archive.filename, "rb") as f:  # its own handle; one inflate call (without the GIL)
        info = archive.getinfo(part)
        return b"".join(read_part(f, info, block=max(info.compress_size, 1)))


def _last_cell_tag(data: bytes, end: int) -> re.Match[bytes] | None:
    """The opening tag of the cell that holds position ``end``."""
    start = max(data.rfind(b"<c ", 0, end), data.rfind(b"c r=", 0, end) - 4, 0)
    found = None
    for found in _CELL_TAG.finditer(data, start, end):  # noqa: B007 - the last one is wanted
        pass
    return found


def _scan_part(archive, part: str, date_styles: Callable[[], frozenset[int]]) -> Marks:
    """The marks of one sheet part. The cells are parsed only where the text says they are there:
    one search for error cells and one for formulas, in the quoting and prefix the part uses (as
    many searches as for error cells alone in both quotings, which this replaced)."""
    data = _inflate(archive, part)
    head = data[:data.find(b"sheetData")]  # the <cols> are before the cells
    root = re.search(rb"<(\w+:)?worksheet\b", head)
    prefix = root.group(1) or b"" if root else b""
    quote = b"'" if b"='" in head and b'="' not in head else b'"'
    cells: dict[int, dict[int, str]] = {}
    if b"t=" + quote + b"e" + quote in data:
        for m in _ERROR_TAG.finditer(data):
            ref = _REF.search(m.group(1))
            if not ref:
                continue
            code = "#VALUE!"
            if not m.group(1).endswith(b"/"):
                v = _ERROR_VALUE.match(data, m.end())
                if v:
                    code = v.group(1).decode("utf-8", "replace").strip() or code
            cells.setdefault(int(ref.group(2)) - 1, {})[number(ref.group(1).decode()) - 1] = code
    if b"</" + prefix + b"f>" in data:  # a formula's text (a shared formula's cells refer to one)
        for m in _NO_VALUE.finditer(data):
            tag = _last_cell_tag(data, m.start())
            if tag is None or (b"<v" in data[tag.end():m.end()] and _STR.search(tag.group(1))):
                continue  # a formula whose saved result is empty text
            ref = _REF.search(tag.group(1))
            if ref:
                row = cells.setdefault(int(ref.group(2)) - 1, {})
                row.setdefault(number(ref.group(1).decode()) - 1, NO_VALUE)
    return Marks(cells, _date_columns(head, date_styles) if b"style=" in head else frozenset())


def _date_columns(head: bytes, date_styles: Callable[[], frozenset[int]]) -> frozenset[int]:
    """Indexes of the columns whose ``<col style=…>`` is a date format."""
    styles = date_styles()
    found: set[int] = set()
    for m in _COLS.finditer(head):
        attrs = {k: int(v) for k, v in _ATTR.findall(m.group(1))}
        if attrs.get(b"style") in styles and b"min" in attrs:
            found.update(range(attrs[b"min"] - 1, min(attrs.get(b"max", attrs[b"min"]), MAX_COLUMN)))
    return frozenset(found)


# --- .ods: error cells in content.xml -------------------------------------------------------

_ODS_TOKEN = re.compile(
    rb"<table:table(?=[\s>])([^>]*)>|</table:table>|<table:table-row\b([^>]*?)(/?)>|"
    rb"<table:(?:covered-)?table-cell\b([^>]*?)(/?)>")
_ODS_NAME = re.compile(rb'\btable:name="([^"]*)"')
_ODS_ROWS = re.compile(rb'\btable:number-rows-repeated="(\d+)"')
_ODS_COLUMNS = re.compile(rb'\btable:number-columns-repeated="(\d+)"')
_ODS_ERROR = re.compile(rb'\bcalcext:value-type="error"')
_ODS_TEXT = re.compile(rb"\s*<text:p>([^<]*)</text:p>")


def _ods_marks(content: bytes) -> dict[str, Marks]:
    """Error cells of each table of an .ods (calamine reads them as '': LibreOffice stores the
    error as the cell's text, ``calcext:value-type="error"``), by table name."""
    from html import unescape

    if b'value-type="error"' not in content:
        return {}
    out: dict[str, Marks] = {}
    cells: dict[int, dict[int, str]] = {}
    name = ""
    rows = range(0)  # the rows the current row element stands for
    after = col = 0  # the index of the next row; of the next cell in the row
    for m in _ODS_TOKEN.finditer(content):
        table, row_attrs, row_closed, cell_attrs, cell_closed = m.groups()
        if table is not None:
            found = _ODS_NAME.search(table)
            name, cells, after = unescape(found.group(1).decode()) if found else "", {}, 0
        elif row_attrs is not None:
            repeated = _ODS_ROWS.search(row_attrs)
            rows = range(after, after + (int(repeated.group(1)) if repeated else 1))
            after, col = rows.stop, 0
        elif cell_attrs is not None:
            repeated = _ODS_COLUMNS.search(cell_attrs)
            count = int(repeated.group(1)) if repeated else 1
            if _ODS_ERROR.search(cell_attrs) and not cell_closed:
                text = _ODS_TEXT.match(content, m.end())
                code = (unescape(text.group(1).decode()).strip() if text else "") or "#VALUE!"
                for r in rows:
                    for c in range(col, col + count):
                        cells.setdefault(r, {})[c] = code
            col += count
        elif cells:  # </table:table>
            out[name] = Marks(cells)
    return out

