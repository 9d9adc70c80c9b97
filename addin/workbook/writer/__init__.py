"""Write updates into the user's own .xlsx without losing a byte of it.

``apply(src, dst, updates)`` copies every zip part of ``src`` into ``dst`` byte for byte (same
compressed bytes, same order) except the sheets the updates touch, which are rewritten in one
streamed pass over their XML, and the few parts that must follow: the Excel table that grows
or shrinks (the sheet's validations and conditional formats grow with it), styles.xml when a
date needs a date format, workbook.xml when a recalculation is needed or a sheet is created,
and the calculation chain when a formula cell goes away. Design notes: docs/writing.md.

This module is the coordinator, as XlsxWriter's packager is; each part of the file has its room:

- ``package``: the zip (parts, relationships, content types) read, and written again;
- ``workbook_part``: workbook.xml, new sheets, calcPr and the recalculation decision;
- ``styles``: the date formats of the cells written;
- ``sheet_xml``: the sheet XML read as a stream of rows, and the cells of a row;
- ``layout``: one pass over a sheet, giving its frozen ``Layout``;
- ``planner``: pure, layout + updates -> the row edits and problems;
- ``ranges``: the table, validations and conditional formats grown, deletions refused;
- ``sheet_rewrite``: pass two, the sheet written with its edits by the one cell encoder.
"""

from __future__ import annotations

import datetime as dt
import io
import zipfile
import zlib
from collections.abc import Sequence
from pathlib import Path

from ...actions import AppendRows, ReplaceRows, SetAt, SetCells, SetColumn, Update
from ...perf import quiet_gc
from ...problems import warning
from .. import schema
from . import planner
from .layout import Layout, locate, tables_of
from .package import Deflated, Edits, Package, deflated, drop_calc_chain, write_zip
from .planner import SheetEdits
from .ranges import table_xml
from .report import BadWorkbook, WriteRefused, WriteReport
from .sheet_rewrite import CellEncoder, rewrite
from .sheet_xml import new_sheet_xml, rx_of
from .styles import Styles
from .workbook_part import Book, SheetEntry, Touched, needs_recalc
from .xmltext import norm

__all__ = ["BadWorkbook", "WriteRefused", "WriteReport", "apply"]


def apply(src: Path, dst: Path, updates: Sequence[Update]) -> WriteReport:
    """Write ``updates`` (in order) into a copy of the workbook ``src`` at ``dst``.

    Updates that cannot be applied (a key not found, a missing column) are reported in the
    returned report and the others are still applied. Raises WriteRefused when a deletion
    would have to move formulas or formatting, BadWorkbook when ``src`` cannot be updated.
    """
    src, dst = Path(src), Path(dst)
    if src.resolve() == dst.resolve():
        raise ValueError("apply() writes a new file: src and dst must differ")
    with quiet_gc():  # rows and cells by the 100,000: see addin.perf
        try:
            return _apply(src, dst, updates)
        except (zipfile.BadZipFile, zlib.error) as exc:  # a part with a bad CRC-32 or stream, a zip bomb
            raise BadWorkbook(f"{src.name}: {exc}") from None


class _Sheet:
    """A sheet the write touches: where it is, its layout and its planned edits."""

    def __init__(self, entry: SheetEntry, layout: Layout, edits: SheetEdits, source: bytes | None) -> None:
        self.entry, self.layout, self.edits, self.source = entry, layout, edits, source

    def open(self, book: Book) -> io.BytesIO:
        return io.BytesIO(self.source) if self.source is not None else book.pkg.open(self.entry.part)  # type: ignore[return-value]


def _apply(src: Path, dst: Path, updates: Sequence[Update]) -> WriteReport:
    report = WriteReport()
    pkg = Package(src)
    sheets: dict[str, Deflated] = {}
    try:
        book = Book(pkg)
        report.had = list(book.names)
        styles = Styles(pkg.read(book.styles_part) if book.styles_part else None)
        edits = Edits(pkg)
        touched = _plan(book, updates, report)
        formula_removed = False
        for sheet in touched:
            encoder = CellEncoder(rx_of(sheet.layout.head), sheet.layout, sheet.edits, styles, book.serial)
            with sheet.open(book) as stream:
                sheets[sheet.entry.part] = deflated(rewrite(stream, encoder), f'sheet "{sheet.entry.name}"')
            if encoder.changed:
                report.changed[sheet.layout.name] = encoder.changed
            report.problems += encoder.problems
            formula_removed |= encoder.formula_removed
            table = table_xml(sheet.layout, sheet.edits.deleted, sheet.edits.appended_bottom)
            if table:
                edits.put(*table)
        for sheet in touched:
            if sheet.source is not None:
                book.add_sheet(edits, sheet.entry)
        result = styles.result()
        if result is not None and book.styles_part:
            edits.put(book.styles_part, result)
        if formula_removed and book.calc_chain_part:
            drop_calc_chain(edits, book.part, book.calc_chain_part)
            report.calc_chain_removed = True
        if touched and needs_recalc(book, (Touched(s.layout.name, s.entry.part, bool(s.layout.formula_rows),
                                                   tuple(n for t in s.layout.tables if (n := t.display_name)))
                                           for s in touched)):
            book.ask_full_calc(edits)
            report.full_calc_on_load = True
        write_zip(pkg, dst, sheets, edits, dt.datetime.now().timetuple()[:6])
    finally:
        for part in sheets.values():
            part.data.close()
        pkg.close()
    return report


def _plan(book: Book, updates: Sequence[Update], report: WriteReport) -> list[_Sheet]:
    """Group the updates by sheet (keeping their order), locate each touched sheet's rows and
    plan its edits; a missing sheet is created when rows are to be written into it."""
    groups: dict[str, list[tuple[int, Update]]] = {}
    for i, u in enumerate(updates):
        groups.setdefault(norm(u.sheet), []).append((i, u))
    touched = []
    for key, items in groups.items():
        entry = book.sheet(items[0][1].sheet)
        source = None
        if entry is None:
            name = schema.sheet(key).name if key in schema.SHEETS_BY_KEY else items[0][1].sheet.strip()
            _missing(name, items, report)
            if not any(isinstance(u, AppendRows | ReplaceRows) and u.rows for _, u in items):
                continue
            items = [(i, u) for i, u in items if not isinstance(u, SetCells | SetColumn | SetAt)]
            entry = book.new_entry(name)
            source = new_sheet_xml(name)
            report.created.append(name)
        wanted = planner.wanted(u for _, u in items)
        if source is not None:
            layout = locate(io.BytesIO(source), entry.name, wanted, book.sst)
        else:
            with book.pkg.open(entry.part) as stream:
                layout = locate(stream, entry.name, wanted, book.sst, tables_of(book.pkg, entry.part),
                                book.defined_names)
        edits = planner.plan(layout, items, wanted)
        report.problems += edits.problems
        report.skipped += edits.skipped
        if not edits.write:
            continue
        if edits.deleted:
            report.deleted[entry.name] = len(edits.deleted)
        if edits.appended or edits.header_new:
            report.appended[entry.name] = edits.appended
        touched.append(_Sheet(entry, layout, edits, source))
    return touched


def _missing(name: str, items: list[tuple[int, Update]], report: WriteReport) -> None:
    """The updates that need a sheet that is not there: skipped, each with a warning."""
    for i, u in items:
        if isinstance(u, SetCells | SetColumn):
            report.skipped.append(i)
            if isinstance(u, SetCells):
                message = f'the sheet is missing, so {u.key_header} "{u.key}" was not updated'
            else:
                message = f"the sheet is missing, so {len(u.keys)} row(s) were not updated"
            report.problems.append(warning(name, "", message, f'add a sheet named "{name}"'))
        elif isinstance(u, SetAt):
            report.skipped.append(i)
            cells = ", ".join(ref for ref, _ in u.cells[:3]) + (", …" if len(u.cells) > 3 else "")
            report.problems.append(warning(
                name, "", f"the sheet is missing, so {cells} were not written",
                f'add a sheet named "{name}" (copy it from a workbook made by `receivables init`)'))
