"""The workbook part: its sheets, defined names and date system; the sheets a write adds to
it; calcPr and the decision whether Excel must recalculate when it opens the file."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass

from .package import NS_R, Edits, Package, add_sheet, insert_before_close
from .sheet_xml import ROW, ROWS, SharedStrings, chunks, rx_of
from .xmltext import attrs, escape, norm, root_prefix, unescape


@dataclass
class SheetEntry:
    """A worksheet as workbook.xml lists it."""

    name: str
    sheet_id: int
    rel_id: str
    part: str


class Book:
    """workbook.xml and what hangs off it: sheets, shared strings, styles, calcChain."""

    def __init__(self, pkg: Package) -> None:
        self.pkg = pkg
        self.part = "xl/workbook.xml"
        for rel in pkg.rels(""):
            if rel.type.endswith("/officeDocument"):
                self.part = rel.target
        self.xml = pkg.read(self.part)
        self.prefix = root_prefix(self.xml, b"workbook")
        self.rels = pkg.rels(self.part)
        by_id = {r.id: r for r in self.rels}
        self.sheets: list[SheetEntry] = []
        self.names: list[str] = []  # of every sheet, chart sheets too
        for m in re.finditer(rb"<" + self.prefix + rb"sheet\b([^>]*)/?>", self.xml):
            a = attrs(m.group(1))
            self.names.append(unescape(a.get(b"name", b"")))
            rid = next((unescape(v) for k, v in a.items() if k.endswith(b":id")), "")
            sheet_rel = by_id.get(rid)
            if sheet_rel is None or not sheet_rel.type.endswith("/worksheet"):
                continue  # chart sheets, dialog sheets
            self.sheets.append(SheetEntry(unescape(a.get(b"name", b"")), int(a.get(b"sheetId", b"0")), rid,
                                          sheet_rel.target))
        self.date1904 = bool(re.search(rb"<" + self.prefix + rb"workbookPr\b[^>]*\bdate1904=\"(?:1|true)\"", self.xml))
        self.defined_names = tuple(
            (unescape(m.group(1)), unescape(m.group(2)))
            for m in re.finditer(rb"<" + self.prefix + rb"definedName\b[^>]*?\bname=\"([^\"]*)\"[^>]*>(.*?)</",
                                 self.xml, re.S))
        self.sst_part = self._part_of("sharedStrings")
        self.styles_part = self._part_of("styles")
        self.calc_chain_part = self._part_of("calcChain")
        self._sst: SharedStrings | None = None

    def _part_of(self, kind: str) -> str | None:
        rel = next((r for r in self.rels if r.type.endswith("/" + kind)), None)
        return rel.target if rel and self.pkg.find(rel.target) else None

    @property
    def sst(self) -> SharedStrings:
        if self._sst is None:
            self._sst = SharedStrings(self.pkg.read(self.sst_part) if self.sst_part else b"")
        return self._sst

    def sheet(self, name: str) -> SheetEntry | None:
        key = norm(name)
        return next((s for s in self.sheets if norm(s.name) == key), None)

    def serial(self, value: dt.date) -> str:
        """An Excel serial date number as text."""
        epoch = dt.datetime(1904, 1, 1) if self.date1904 else dt.datetime(1899, 12, 30)
        if isinstance(value, dt.datetime):
            delta = value.replace(tzinfo=None) - epoch
            days = delta.days + (delta.seconds + delta.microseconds / 1e6) / 86400
            return repr(days)
        return str((value - epoch.date()).days)

    def new_entry(self, name: str) -> SheetEntry:
        """A sheet this write creates: the next free part name, relationship id and sheet id."""
        used_parts = {n.casefold() for n in self.pkg.names} | {s.part.casefold() for s in self.sheets}
        k = 1
        while f"xl/worksheets/sheet{k}.xml" in used_parts:
            k += 1
        rids = {r.id for r in self.rels} | {s.rel_id for s in self.sheets}
        j = 1
        while f"rId{j}" in rids:
            j += 1
        sheet_id = max((s.sheet_id for s in self.sheets), default=0) + 1
        entry = SheetEntry(name, sheet_id, f"rId{j}", f"xl/worksheets/sheet{k}.xml")
        self.sheets.append(entry)
        return entry

    def add_sheet(self, edits: Edits, entry: SheetEntry) -> None:
        """``entry`` listed in workbook.xml, with its relationship and content type."""
        p = self.prefix
        m = re.search(rb"\sxmlns:(\w+)=\"" + re.escape(NS_R) + rb"\"", self.xml)
        rid = (m.group(1) + b":id") if m else b'xmlns:r="' + NS_R + b'" r:id'
        item = (b"<" + p + b'sheet name="' + escape(entry.name) + b'" sheetId="' + str(entry.sheet_id).encode()
                + b'" ' + rid + b'="' + entry.rel_id.encode() + b'"/>')
        edits.change(self.part, lambda x: insert_before_close(x, b"sheets", item))
        add_sheet(edits, self.part, entry.rel_id, entry.part)

    def ask_full_calc(self, edits: Edits) -> None:
        """calcPr made to say fullCalcOnLoad="1" (added where the schema puts it when absent)."""
        edits.change(self.part, lambda x: _full_calc_on_load(x, self.prefix))


_AFTER_CALC_PR = (b"oleSize", b"customWorkbookViews", b"pivotCaches", b"smartTagPr", b"smartTagTypes",
                  b"webPublishing", b"fileRecoveryPr", b"webPublishObjects", b"extLst")


def _full_calc_on_load(xml: bytes, p: bytes) -> bytes:
    m = re.search(rb"<" + p + rb"calcPr\b([^>]*?)(/?)>", xml)
    if m:
        attrs = re.sub(rb"\sfullCalcOnLoad=\"[^\"]*\"", b"", m.group(1))
        return xml[:m.start()] + b"<" + p + b"calcPr" + attrs + b' fullCalcOnLoad="1"' + m.group(2) + b">" + xml[m.end():]
    item = b"<" + p + b'calcPr fullCalcOnLoad="1"/>'
    for local in _AFTER_CALC_PR:
        m = re.search(rb"<" + p + local + rb"[\s/>]", xml)
        if m:
            return xml[:m.start()] + item + xml[m.start():]
    return insert_before_close(xml, b"workbook", item)


@dataclass(frozen=True)
class Touched:
    """A sheet a write changed, as the recalculation decision sees it."""

    name: str
    part: str
    has_formulas: bool
    table_names: tuple[str, ...]


def needs_recalc(book: Book, touched: Iterable[Touched]) -> bool:
    """Whether a formula may read a cell this write changed (so cached results are stale).

    Formulas on a touched sheet count; elsewhere a formula counts when its text names a touched
    sheet, one of its tables, a defined name pointing into it, or uses INDIRECT. The sheets that
    hold formulas are the ones calcChain lists (Excel writes it whenever there are formulas);
    without a calcChain every other sheet is read.
    """
    touched = list(touched)
    calc_pr = re.search(rb"<" + book.prefix + rb"calcPr\b[^>]*>", book.xml)
    if calc_pr and re.search(rb"\sfullCalcOnLoad=\"(?:1|true)\"", calc_pr.group()):
        return False
    if any(t.has_formulas for t in touched):
        return True
    parts = {t.part for t in touched}
    terms = {t.name.casefold() for t in touched} | {n.casefold() for t in touched for n in t.table_names}
    terms |= {name.casefold() for name, value in book.defined_names
              if any(t in value.casefold() for t in list(terms))}
    terms.add("indirect(")
    sheets = [s for s in book.sheets if s.part not in parts and book.pkg.find(s.part)]
    if book.calc_chain_part:
        ids = {int(i) for i in re.findall(rb"\si=\"(\d+)\"", book.pkg.read(book.calc_chain_part))}
        sheets = [s for s in sheets if s.sheet_id in ids]
    for s in sheets:
        with book.pkg.open(s.part) as stream:
            sheet = chunks(stream)
            _, head = next(sheet)
            rx = rx_of(head)
            for kind, chunk in sheet:
                if kind in (ROW, ROWS) and rx.f_tag in chunk:
                    for m in rx.f_text.finditer(chunk):
                        text = unescape(m.group(1)).casefold()
                        if any(t in text for t in terms):
                            return True
    return False

