"""Write updates into the user's own .xlsx without losing a byte of it.

``apply(src, dst, updates)`` copies every zip part of ``src`` into ``dst`` byte for byte (same
compressed bytes, same order) except the sheets the updates touch, which are rewritten in one
streamed pass over their XML, and the few parts that must follow: the Excel table that grows
or shrinks (the sheet's validations and conditional formats grow with it), styles.xml when a
date needs a date format, workbook.xml when a recalculation is needed or a sheet is created,
and the calculation chain when a formula cell goes away.
Rows are found by header names and key values, never by row number, so the same updates can be
applied onto a newer version of the file. Design notes: docs/writing.md.
"""

from __future__ import annotations

import datetime as dt
import html
import io
import math
import operator
import posixpath
import queue
import re
import struct
import threading
import zipfile
from bisect import bisect_left, bisect_right
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from functools import lru_cache, partial
from itertools import accumulate, repeat
from pathlib import Path
from typing import Any, BinaryIO, TypeVar, cast

from ..actions import AppendRows, Cell, ReplaceRows, SetAt, SetCells, SetColumn, Update
from ..perf import quiet_gc
from ..problems import Problem, error, warning
from . import deflate, schema
from .deflate import PartReader

MAX_ROWS = 1_048_576
MAX_TEXT = 32_767
BLOCK = 1 << 21  # bytes read from a sheet at a time: few hand-overs between the threads, little memory
RECENT_ROWS = 64  # last data rows kept in memory to learn each column's cell style
BULK_ROWS = 64  # rows to edit in a run from which the run is edited at once (_edit_run)

NS_R = b"http://schemas.openxmlformats.org/officeDocument/2006/relationships"
REL_WORKSHEET = NS_R.decode() + "/worksheet"
CT_WORKSHEET = "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"

DATE_FMT, DATETIME_FMT = 14, 22  # built-in number formats: short date, date and time
_BUILTIN_DATE_FMTS = frozenset((*range(14, 23), *range(27, 37), 45, 46, 47, *range(50, 59)))


class WriteRefused(Exception):
    """An update that cannot be written without rewriting what people made.

    Raised for a row deletion that would have to move formulas, merged cells, conditional
    formats or other ranges below it; the caller reports ``problem()`` and may retry without
    the update at ``index``.
    """

    def __init__(self, sheet: str, message: str, fix: str, index: int) -> None:
        super().__init__(f"{sheet}: {message}")
        self.sheet, self.message, self.fix, self.index = sheet, message, fix, index

    def problem(self) -> Problem:
        return error(self.sheet, "", self.message, self.fix)


class BadWorkbook(Exception):
    """The file is not an .xlsx workbook this writer can update; the message says why."""


Where = Mapping[tuple[str, str], Mapping[str, int]]
"""Where records are in the very file being written, as its reader found them:
(sheet, key header), both normalized -> {key as the updates give it -> row number}."""


Watch = Callable[[str, str, Iterable[bytes], "bytes | None", int, int], Iterable[bytes]]
"""Sees each rewritten sheet's XML go by as it is written: (sheet, part, chunks of whole rows
after the head, the workbook's shared strings, rows changed, added or removed, rows the sheet
had) -> the same chunks (``guard.Pieces.watch``)."""


class _Misplaced(Exception):
    """A row ``Where`` names does not hold its key: the write starts again, looking keys up."""


@dataclass
class WriteReport:
    """What ``apply`` did.

    Attributes:
      changed: sheet name -> cells written (``J12``), in the order written.
      appended / deleted: sheet name -> number of rows appended / deleted.
      created: sheets created because they were missing.
      problems: updates (or parts of them) that could not be applied, as Problems.
      skipped: indexes of the updates that could not be applied at all.
      calc_chain_removed: xl/calcChain.xml was dropped (a formula cell was overwritten or deleted).
      full_calc_on_load: workbook.xml now asks Excel to recalculate when it opens the file.
    """

    changed: dict[str, list[str]] = field(default_factory=dict)
    appended: dict[str, int] = field(default_factory=dict)
    deleted: dict[str, int] = field(default_factory=dict)
    created: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    skipped: list[int] = field(default_factory=list)
    calc_chain_removed: bool = False
    full_calc_on_load: bool = False

    @property
    def sheets(self) -> list[str]:
        """The sheets that were rewritten."""
        names = [*self.changed, *self.appended, *self.deleted, *self.created]
        return list(dict.fromkeys(names))


# --- small helpers --------------------------------------------------------------------------


def col_letters(n: int) -> str:
    """1 -> ``A``, 27 -> ``AA``."""
    out = ""
    while n:
        n, r = divmod(n - 1, 26)
        out = chr(65 + r) + out
    return out


def col_number(letters: str) -> int:
    """``A`` -> 1, ``AA`` -> 27."""
    n = 0
    for ch in letters.upper():
        n = n * 26 + ord(ch) - 64
    return n


_REF = re.compile(r"\$?([A-Za-z]{1,3})\$?(\d+)")
_ATTR = re.compile(rb"([\w:.-]+)\s*=\s*(?:\"([^\"]*)\"|'([^']*)')")
_XESC = re.compile(r"_x([0-9A-Fa-f]{4})_")


def _attrs(tag: bytes) -> dict[bytes, bytes]:
    return {m.group(1): m.group(2) if m.group(2) is not None else m.group(3) for m in _ATTR.finditer(tag)}


def _unescape(raw: bytes) -> str:
    text = raw.decode("utf-8")
    if "&" in text:
        text = html.unescape(text)
    if "_x" in text:
        text = _XESC.sub(lambda m: chr(int(m.group(1), 16)), text)
    return text


_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_LOOKS_ESCAPED = re.compile(r"_(x[0-9A-Fa-f]{4}_)")


def _escape(text: str) -> bytes:
    """Text for an element or a double-quoted attribute, with OOXML's ``_xHHHH_`` escapes."""
    if "_x" in text:
        text = _LOOKS_ESCAPED.sub(r"_x005F_\1", text)
    text = _ILLEGAL.sub(lambda m: f"_x{ord(m.group()):04X}_", text)
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
    return text.encode("utf-8")


def _num_text(v: str) -> str:
    """A number cell's text as people see it for matching: ``1001`` not ``1001.0``."""
    try:
        f = float(v)
    except ValueError:
        return v
    if f.is_integer() and abs(f) < 1e15:
        return str(int(f))
    return repr(f)


def _value_text(value: Cell) -> str:
    """A value as text, for matching keys of rows the writer itself appends."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int | float | Decimal):
        return _num_text(str(value))
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return str(value)


def _norm(value: str) -> str:
    return schema.normalize(value)


def _ranges(text: str) -> Iterator[tuple[int, int]]:
    """(top row, bottom row) of every range in a ``sqref``/``ref``/formula text."""
    for part in re.split(r"[\s,;]+", text):
        rows = [int(m.group(2)) for m in _REF.finditer(part)]
        if rows:
            yield min(rows), max(rows)


# --- regular expressions for one namespace prefix -----------------------------------------


class _Rx:
    """Patterns for sheet XML whose main namespace uses ``prefix`` (usually none)."""

    def __init__(self, p: bytes) -> None:
        self.p = p
        self.sheet_data = re.compile(rb"<" + p + rb"sheetData(?=[\s/>])[^>]*?(/?)>")
        self.row_or_end = re.compile(
            rb"<" + p + rb"row(?=[\s/>])[^>]*?(?:/>|>.*?</" + p + rb"row>)|</" + p + rb"sheetData>", re.S)
        self.cell = re.compile(rb"<" + p + rb"c(?=[\s/>])([^>]*?)(?:/>|>(.*?)</" + p + rb"c>)", re.S)
        self.v = re.compile(rb"<" + p + rb"v(?:\s[^>]*)?(?:/>|>(.*?)</" + p + rb"v>)", re.S)
        self.is_ = re.compile(rb"<" + p + rb"is(?:\s[^>]*)?>(.*?)</" + p + rb"is>", re.S)
        self.f = re.compile(rb"<" + p + rb"f(?=[\s/>])")
        self.f_tag = b"<" + p + b"f"
        self.has_value = (b"<" + p + b"v", b"<" + p + b"is")
        self.f_text = re.compile(rb"<" + p + rb"f(?:\s[^>]*)?>(.*?)</" + p + rb"f>", re.S)
        self.dimension = re.compile(rb"(<" + p + rb"dimension\b[^>]*?\bref=\")([^\"]*)(\")")
        self.col = re.compile(rb"<" + p + rb"col\b([^>]*?)/?>")
        self.row_r = re.compile(rb"(\sr=\")(\d+)(\")")
        self.cell_r = re.compile(rb"(<" + p + rb"c\b[^>]*?\sr=\"[A-Z]{1,3})(\d+)(\")")
        self.close_row = b"</" + p + b"row>"
        self.row_open = b"<" + p + b"row"
        self.row_numbers = re.compile(rb"<" + re.escape(p) + rb"row r=\"(\d+)\"")
        self.row_r_open = b"<" + p + b'row r="'


@lru_cache(maxsize=8)
def _rx(prefix: bytes) -> _Rx:
    return _Rx(prefix)


_ANY_T = re.compile(rb"<(?:\w+:)?t(?:\s[^>]*)?(?:/>|>(.*?)</(?:\w+:)?t>)", re.S)
_RPH = re.compile(rb"<(?:\w+:)?rPh\b.*?</(?:\w+:)?rPh>", re.S)


def _rich_text(inner: bytes) -> str:
    """Concatenated ``<t>`` runs of a ``<si>`` or ``<is>``, phonetic runs left out."""
    if b"rPh" in inner:
        inner = _RPH.sub(b"", inner)
    return "".join(_unescape(m.group(1)) for m in _ANY_T.finditer(inner) if m.group(1))


def _root_prefix(data: bytes, local: bytes) -> bytes:
    m = re.search(rb"<(\w+:)?" + local + rb"[\s>]", data[:8192])
    return (m.group(1) or b"") if m else b""


# --- the package --------------------------------------------------------------------------


class _SharedStrings:
    """``sharedStrings.xml``, decoded in one pass when first needed."""

    _SI = re.compile(rb"<(?:\w+:)?si(?:\s[^>]*)?(?:/>|>(.*?)</(?:\w+:)?si>)", re.S)
    _SIMPLE = re.compile(rb"<(?:\w+:)?t(?: xml:space=\"preserve\")?>([^<]*)</(?:\w+:)?t>")

    def __init__(self, data: bytes) -> None:
        self.data = data
        self._texts: list[str] | None = None
        self._wanted: dict[frozenset[str], dict[int, str]] = {}

    @property
    def texts(self) -> list[str]:
        if self._texts is None:
            texts = []
            simple = self._SIMPLE.fullmatch
            for m in self._SI.finditer(self.data):
                inner = m.group(1)
                if not inner:
                    texts.append("")
                    continue
                s = simple(inner)
                if s is None:
                    texts.append(_rich_text(inner))
                    continue
                raw = s.group(1)
                texts.append(_unescape(raw) if b"&" in raw or b"_x" in raw else raw.decode("utf-8"))
            self._texts = texts
            self.data = b""
        return self._texts

    def __getitem__(self, i: int) -> str:
        texts = self.texts
        return texts[i] if 0 <= i < len(texts) else ""

    def matching(self, keys: frozenset[str]) -> dict[int, str]:
        """Index -> normalized text of the strings that normalize to one of ``keys``."""
        if keys not in self._wanted:
            self._wanted[keys] = {i: n for i, t in enumerate(self.texts) if t and (n := _norm(t)) in keys}
        return self._wanted[keys]


def _rels_name(part: str) -> str:
    folder, name = posixpath.split(part)
    return posixpath.join(folder, "_rels", name + ".rels")


def _resolve(source_part: str, target: str) -> str:
    if target.startswith("/"):
        return target[1:]
    return posixpath.normpath(posixpath.join(posixpath.dirname(source_part), target))


@dataclass(frozen=True)
class _Rel:
    id: str
    type: str
    target: str  # resolved part name
    raw: bytes


class _Package:
    """The zip of the source workbook, with its parts found through relationships."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.file = open(path, "rb")  # noqa: SIM115 - closed in close()
        try:
            self.zip = zipfile.ZipFile(self.file)
        except zipfile.BadZipFile as exc:
            self.file.close()
            raise BadWorkbook(f"{path.name}: not an .xlsx workbook ({exc})") from None
        self.infos = self.zip.infolist()
        too_large = deflate.oversized(self.infos)
        if too_large is not None:
            self.close()
            raise BadWorkbook(f"{path.name}: {too_large}")
        self.names = {i.filename.casefold(): i.filename for i in self.infos}
        self.by_name = {i.filename: i for i in self.infos}

    def close(self) -> None:
        self.zip.close()
        self.file.close()

    def find(self, part: str) -> str | None:
        return self.names.get(part.casefold())

    def read(self, part: str) -> bytes:
        name = self.find(part)
        if name is None:
            raise BadWorkbook(f"the workbook has no part {part}")
        return self.zip.read(name)

    def open(self, part: str) -> BinaryIO:
        """A stream of the part, inflated by ``deflate`` on its own handle of the file."""
        name = self.find(part)
        if name is None:
            raise BadWorkbook(f"the workbook has no part {part}")
        return PartReader(self.path, self.by_name[name])  # type: ignore[return-value]

    def rels(self, part: str) -> list[_Rel]:
        name = self.find(_rels_name(part))
        if name is None:
            return []
        out = []
        for m in re.finditer(rb"<(?:\w+:)?Relationship\b[^>]*>", self.zip.read(name)):
            a = _attrs(m.group())
            if a.get(b"TargetMode", b"").lower() == b"external":
                continue
            target = _resolve(part, _unescape(a.get(b"Target", b"")))
            out.append(_Rel(_unescape(a.get(b"Id", b"")), _unescape(a.get(b"Type", b"")), target, m.group()))
        return out


@dataclass
class _SheetEntry:
    name: str
    sheet_id: int
    rel_id: str
    part: str


class _Book:
    """workbook.xml and what hangs off it: sheets, shared strings, styles, calcChain."""

    def __init__(self, pkg: _Package) -> None:
        self.pkg = pkg
        self.part = "xl/workbook.xml"
        for rel in pkg.rels(""):
            if rel.type.endswith("/officeDocument"):
                self.part = rel.target
        self.xml = pkg.read(self.part)
        self.prefix = _root_prefix(self.xml, b"workbook")
        self.rels = pkg.rels(self.part)
        by_id = {r.id: r for r in self.rels}
        self.sheets: list[_SheetEntry] = []
        for m in re.finditer(rb"<" + self.prefix + rb"sheet\b([^>]*)/?>", self.xml):
            a = _attrs(m.group(1))
            rid = next((_unescape(v) for k, v in a.items() if k.endswith(b":id")), "")
            sheet_rel = by_id.get(rid)
            if sheet_rel is None or not sheet_rel.type.endswith("/worksheet"):
                continue  # chart sheets, dialog sheets
            self.sheets.append(_SheetEntry(_unescape(a.get(b"name", b"")), int(a.get(b"sheetId", b"0")), rid,
                                           sheet_rel.target))
        self.date1904 = bool(re.search(rb"<" + self.prefix + rb"workbookPr\b[^>]*\bdate1904=\"(?:1|true)\"", self.xml))
        self.defined_names = [
            (_unescape(m.group(1)), _unescape(m.group(2)))
            for m in re.finditer(rb"<" + self.prefix + rb"definedName\b[^>]*?\bname=\"([^\"]*)\"[^>]*>(.*?)</", self.xml, re.S)
        ]

        def part_of(kind: str) -> str | None:
            rel = next((r for r in self.rels if r.type.endswith("/" + kind)), None)
            return rel.target if rel and pkg.find(rel.target) else None

        self.sst_part = part_of("sharedStrings")
        self.styles_part = part_of("styles")
        self.calc_chain_part = part_of("calcChain")
        self._sst: _SharedStrings | None = None

    @property
    def sst(self) -> _SharedStrings:
        if self._sst is None:
            self._sst = _SharedStrings(self.pkg.read(self.sst_part) if self.sst_part else b"")
        return self._sst

    def sheet(self, name: str) -> _SheetEntry | None:
        key = _norm(name)
        return next((s for s in self.sheets if _norm(s.name) == key), None)

    def serial(self, value: dt.date) -> str:
        """An Excel serial date number as text."""
        epoch = dt.datetime(1904, 1, 1) if self.date1904 else dt.datetime(1899, 12, 30)
        if isinstance(value, dt.datetime):
            delta = value.replace(tzinfo=None) - epoch
            days = delta.days + (delta.seconds + delta.microseconds / 1e6) / 86400
            return repr(days)
        return str((value - epoch.date()).days)


class _Styles:
    """Cell formats of styles.xml, and the date formats the writer may have to add."""

    def __init__(self, data: bytes | None) -> None:
        self.data = data
        self.xfs: list[bytes] = []
        self.fmts: dict[int, str] = {}
        self.added: list[bytes] = []
        self.derived: dict[tuple[int, int], int] = {}
        if not data:
            return
        p = self.p = _root_prefix(data, b"styleSheet")
        block = re.search(rb"<" + p + rb"cellXfs\b[^>]*>(.*?)</" + p + rb"cellXfs>", data, re.S)
        if block:
            self.xfs = re.findall(rb"<" + p + rb"xf\b[^>]*?(?:/>|>.*?</" + p + rb"xf>)", block.group(1), re.S)
        for m in re.finditer(rb"<" + p + rb"numFmt\b[^>]*>", data):
            a = _attrs(m.group())
            if b"numFmtId" in a:
                self.fmts[int(a[b"numFmtId"])] = _unescape(a.get(b"formatCode", b""))

    def fmt_id(self, s: int) -> int:
        if 0 <= s < len(self.xfs):
            m = re.search(rb"\snumFmtId=\"(\d+)\"", self.xfs[s].split(b">", 1)[0])
            return int(m.group(1)) if m else 0
        return 0

    def is_date(self, s: int) -> bool:
        fid = self.fmt_id(s)
        if fid in _BUILTIN_DATE_FMTS:
            return True
        code = self.fmts.get(fid)
        if not code:
            return False
        code = re.sub(r'"[^"]*"|\\.|\[[^\]]*\]', "", code.split(";")[0])
        return bool(re.search(r"[dmyhs]", code, re.I)) and "general" not in code.lower()

    def date_style(self, s: int, with_time: bool) -> int:
        """``s`` if it shows dates, else a copy of it that does (added to styles.xml)."""
        if not self.xfs or self.is_date(s):
            return s
        fmt = DATETIME_FMT if with_time else DATE_FMT
        key = (s, fmt)
        if key not in self.derived:
            base = self.xfs[s] if 0 <= s < len(self.xfs) else self.xfs[0]
            head, sep, rest = base.partition(b">") if not base.endswith(b"/>") else (base[:-2], b"/>", b"")
            for name, value in ((b"numFmtId", str(fmt).encode()), (b"applyNumberFormat", b"1")):
                if re.search(rb"\s" + name + rb"=\"", head):
                    head = re.sub(rb"(\s" + name + rb"=\")[^\"]*\"", rb"\g<1>" + value + b'"', head)
                else:
                    head += b" " + name + b'="' + value + b'"'
            self.added.append(head + sep + rest)
            self.derived[key] = len(self.xfs) + len(self.added) - 1
        return self.derived[key]

    def result(self) -> bytes | None:
        """styles.xml with the added formats, or None when nothing was added."""
        if not self.added or self.data is None:
            return None
        p = self.p
        m = re.search(rb"</" + p + rb"cellXfs>", self.data)
        if m is None:
            return None
        data = self.data[:m.start()] + b"".join(self.added) + self.data[m.start():]
        count = len(self.xfs) + len(self.added)
        return re.sub(rb"(<" + p + rb"cellXfs\b[^>]*?\scount=\")\d+(\")",
                      rb"\g<1>" + str(count).encode() + rb"\g<2>", data, count=1)


# --- reading a sheet as a stream of rows ---------------------------------------------------


class _ReadAhead:
    """A stream read BLOCK by BLOCK in a thread, up to ``depth`` blocks ahead of its reader.

    Inflating a sheet (``deflate`` leaves the GIL) then runs on the other core while the calling
    thread works through the rows of the blocks before. ``read`` gives the next block whatever
    size is asked. Use it as a context manager: leaving it stops and joins the thread, so the
    stream can be closed after.
    """

    def __init__(self, stream: BinaryIO, depth: int = 1) -> None:
        self._stream = stream
        self._blocks: queue.Queue[bytes | BaseException] = queue.Queue(depth)
        self._stop = threading.Event()
        self._done = False
        self._thread = threading.Thread(target=self._run, name="receivables-read-ahead", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            while self._offer(data := self._stream.read(BLOCK)) and data:
                pass
        except BaseException as exc:  # noqa: BLE001 - handed to the reader, raised there
            self._offer(exc)

    def _offer(self, item: bytes | BaseException) -> bool:
        while not self._stop.is_set():
            try:
                self._blocks.put(item, timeout=0.05)
                return True
            except queue.Full:
                continue
        return False

    def read(self, size: int = -1) -> bytes:
        if self._done:
            return b""
        item = self._blocks.get()
        if isinstance(item, BaseException):
            self._done = True
            raise item
        self._done = not item
        return item

    def __enter__(self) -> _ReadAhead:
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


_T = TypeVar("_T")
_NO_MORE = object()  # ends the queue of _consumed_in_thread


def _consumed_in_thread(consume: Callable[[Iterable[bytes]], _T], chunks: Iterable[bytes], depth: int = 1) -> _T:
    """``consume(chunks)`` with ``consume`` running in a thread, fed through a short queue.

    The calling thread makes the chunks (Python work, holding the GIL) while the thread
    consumes the ones before (deflate and crc32 leave the GIL): on two cores the two
    overlap. An exception on either side stops both and is raised here; ``consume`` then sees
    its input end early, and what it returns is dropped.
    """
    items: queue.Queue[object] = queue.Queue(depth)
    outcome: dict[str, object] = {}
    ended = threading.Event()

    def fed() -> Iterator[bytes]:
        while (item := items.get()) is not _NO_MORE:
            yield item  # type: ignore[misc]
        ended.set()

    def run() -> None:
        try:
            outcome["value"] = consume(fed())
        except BaseException as exc:  # noqa: BLE001 - raised in the calling thread
            outcome["error"] = exc
        while not ended.is_set():  # keep taking what comes, so the calling thread never blocks
            if items.get() is _NO_MORE:
                ended.set()

    thread = threading.Thread(target=run, name="receivables-deflate", daemon=True)
    thread.start()
    try:
        for chunk in chunks:
            if "error" in outcome:
                break
            items.put(chunk)
    finally:
        items.put(_NO_MORE)
        thread.join()
        close = getattr(chunks, "close", None)
        if close is not None:  # a generator left early lets go of what it holds (its streams, threads)
            close()
    if "error" in outcome:
        raise outcome["error"]  # type: ignore[misc]
    return outcome["value"]  # type: ignore[return-value]

HEAD, GAP, ROW, TAIL = range(4)


class _SheetStream:
    """The sheet XML read in blocks: the head, then rows one by one or raw runs of bytes, then the tail."""

    def __init__(self, stream: BinaryIO, rx: _Rx) -> None:
        self.stream, self.rx = stream, rx
        self.buf = b""
        self.pos = 0
        self.eof = False
        self.done = False
        self.open_tag = b"<" + rx.p + b"row"
        self.end_tag = b"</" + rx.p + b"sheetData>"
        self.end_at = -1
        self.empty = False

    def _more(self) -> None:
        data = self.stream.read(BLOCK)
        self.eof = not data
        self.buf = self.buf[self.pos:] + data
        self.pos = 0
        self.end_at = self.buf.find(self.end_tag)

    def _rest(self, start: int) -> bytes:
        parts = [self.buf[start:]]
        while chunk := self.stream.read(BLOCK):
            parts.append(chunk)
        self.done = True
        self.buf, self.pos = b"", 0
        return b"".join(parts)

    def head(self) -> bytes:
        """Everything up to and including the ``<sheetData>`` start tag (``<sheetData/>`` ends the rows)."""
        m = self.rx.sheet_data.search(self.buf)
        while m is None:
            if self.eof:
                raise BadWorkbook("a sheet has no <sheetData> element")
            self._more()
            m = self.rx.sheet_data.search(self.buf)
        self.pos = m.end()
        self.end_at = self.buf.find(self.end_tag, self.pos)
        if m.group(1) == b"/":
            self.empty = True
        else:
            self.empty = False
        return self.buf[:m.end()]

    def next(self) -> tuple[int, bytes]:
        """The next GAP (text between rows), ROW, or at last the TAIL (from ``</sheetData>`` on)."""
        if self.empty:
            return TAIL, self._rest(self.pos)
        while True:
            buf, pos = self.buf, self.pos
            i = buf.find(self.open_tag, pos)
            if self.end_at >= 0 and (i < 0 or self.end_at < i):
                if self.end_at > pos:
                    self.pos = self.end_at
                    return GAP, buf[pos:self.end_at]
                return TAIL, self._rest(self.end_at)
            if i >= 0:
                if i > pos:
                    self.pos = i
                    return GAP, buf[pos:i]
                k = buf.find(b">", i)
                if k >= 0:
                    if buf[k - 1] == 47:  # "/>": an empty row
                        e = k + 1
                    else:
                        e = buf.find(self.rx.close_row, k)
                        e = e + len(self.rx.close_row) if e >= 0 else -1
                    if e > 0:
                        self.pos = e
                        return ROW, buf[i:e]
            if self.eof:
                raise BadWorkbook("a sheet ends inside <sheetData>")
            self._more()

    def rows(self, stop: bytes = b"") -> bytes | None:
        """A run of whole rows from here, ending with ``</row>``; None when the stream is not at a row.

        The run ends before ``</sheetData>`` and, when given, before the row that starts with
        ``stop``. Callers split a run with one call in C instead of taking a Python step a row.
        """
        close = self.rx.close_row
        while not self.empty:
            buf, pos = self.buf, self.pos
            if not buf.startswith(self.open_tag, pos):
                if pos < len(buf) or self.eof:
                    return None
                self._more()
                continue
            limit = self.end_at if self.end_at >= 0 else len(buf)
            at_stop = buf.find(stop, pos, limit) if stop else -1
            if at_stop >= 0:
                limit = at_stop
            e = buf.rfind(close, pos, limit)
            if e >= 0:
                self.pos = e + len(close)
                return buf[pos:self.pos]
            if at_stop >= 0 or self.end_at >= 0 or self.eof:
                return None
            self._more()
        return None

    def copy_until(self, marker: bytes) -> bytes:
        """The raw bytes up to ``marker`` (a row's start), or up to ``</sheetData>`` when it is absent."""
        parts = []
        while True:
            i = self.buf.find(marker, self.pos)
            stop = self.end_at if self.end_at >= 0 and (i < 0 or self.end_at < i) else i
            if stop >= 0:
                parts.append(self.buf[self.pos:stop])
                self.pos = stop
                return b"".join(parts)
            if self.eof:
                raise BadWorkbook("a sheet ends inside <sheetData>")
            keep = len(marker) + len(self.end_tag)
            cut = max(self.pos, len(self.buf) - keep)
            parts.append(self.buf[self.pos:cut])
            self.pos = cut
            self._more()


def _tokens(stream: BinaryIO, rx: _Rx) -> Iterator[tuple[int, bytes]]:
    """The sheet XML as HEAD, ROW and GAP chunks, then TAIL; joined they give the file back."""
    reader = _SheetStream(stream, rx)
    yield HEAD, reader.head()
    while True:
        kind, chunk = reader.next()
        yield kind, chunk
        if kind == TAIL:
            return


def _row_chunks(run: bytes, rx: _Rx) -> Iterator[tuple[int, bytes]]:
    """The GAP and ROW chunks of a run of rows (see ``_SheetStream.rows``), the way ``next`` cuts them."""
    reader = _SheetStream(io.BytesIO(run + b"</" + rx.p + b"sheetData>"), rx)
    reader._more()
    while (item := reader.next())[0] != TAIL:
        yield item


def _row_number(chunk: bytes, rx: _Rx, previous: int) -> tuple[int, bool]:
    """(row number, whether the row says it) — ``r`` is optional in the file format."""
    end = chunk.find(b">")
    i = chunk.find(b' r="', 0, end)
    if i >= 0:
        return int(chunk[i + 4:chunk.find(b'"', i + 4)]), True
    m = rx.row_r.search(chunk, 0, end)
    return (int(m.group(2)), True) if m else (previous + 1, False)


@dataclass
class _CellMatch:
    col: int
    start: int
    end: int
    attrs: bytes
    inner: bytes | None
    has_ref: bool


def _cells(body: bytes, rx: _Rx) -> list[_CellMatch]:
    out: list[_CellMatch] = []
    col = 0
    for m in rx.cell.finditer(body):
        a = m.group(1)
        rm = re.search(rb"\sr=\"([A-Z]{1,3})\d+\"", a)
        col = col_number(rm.group(1).decode()) if rm else col + 1
        out.append(_CellMatch(col, m.start(), m.end(), a, m.group(2), rm is not None))
    return out


def _cell_text(attrs: bytes, inner: bytes | None, rx: _Rx, sst: _SharedStrings) -> str:
    """What a cell shows, as text ('' for an empty cell); numbers as typed (``1001``)."""
    if not inner:
        return ""
    i = attrs.find(b' t="')
    kind = attrs[i + 4:attrs.find(b'"', i + 4)] if i >= 0 else b"n"
    if kind == b"inlineStr":
        m = _SIMPLE_IS.match(inner)
        if m:
            raw = m.group(1)
            return _unescape(raw) if b"&" in raw or b"_x" in raw else raw.decode("utf-8")
        m = rx.is_.search(inner)
        return _rich_text(m.group(1)) if m else ""
    m = rx.v.search(inner)
    if not m or m.group(1) is None:
        return ""
    v = m.group(1)
    if kind == b"s":
        try:
            return sst[int(v)]
        except ValueError:
            return ""
    if kind == b"b":
        return "TRUE" if v.strip() in (b"1", b"true") else "FALSE"
    if kind in (b"str", b"e", b"d"):
        return _unescape(v)
    return _num_text(v.decode())


_SIMPLE_IS = re.compile(rb"<(?:\w+:)?is><(?:\w+:)?t(?: xml:space=\"preserve\")?>([^<]*)</(?:\w+:)?t></(?:\w+:)?is>")


@lru_cache(maxsize=256)
def _ref_prefix(col: int) -> bytes:
    return b' r="' + col_letters(col).encode()


def _find_cell(chunk: bytes, rx: _Rx, col: int, row: int) -> _CellMatch | None:
    """The cell of ``col`` in a row chunk; fast when cells carry their ``r`` (as Excel writes)."""
    ref = _ref_prefix(col) + str(row).encode() + b'"'
    i = chunk.find(ref)
    if i >= 0:
        start = chunk.rfind(b"<", 0, i)
        m = rx.cell.match(chunk, start)
        if m:
            return _CellMatch(col, m.start(), m.end(), m.group(1), m.group(2), True)
    return next((c for c in _cells(chunk, rx) if c.col == col), None)


@lru_cache(maxsize=64)
def _key_cell(p: bytes, col: int) -> re.Pattern[bytes]:
    """A plain cell of column ``col``: a number, a shared string or a simple inline string."""
    p = re.escape(p)
    return re.compile(
        rb"<" + p + rb"c r=\"" + col_letters(col).encode() + rb"\d+\"(?: s=\"\d+\")?(?: t=\"(s|n|inlineStr)\")?>"
        rb"(?:<" + p + rb"v>([^<]*)</" + p + rb"v>|<" + p + rb"is><" + p + rb"t(?: xml:space=\"preserve\")?>([^<]*)</"
        + p + rb"t></" + p + rb"is>)</" + p + rb"c>")


def _plain_row_numbers(run: bytes, rx: _Rx) -> list[bytes] | None:
    """The numbers of a run of whole rows (``_SheetStream.rows``) as written, when each row
    starts ``<row r="N"`` right after the one before; None for a run of another shape."""
    close, row_r = rx.close_row, rx.row_r_open
    if not (run.startswith(row_r) and run.endswith(close)):
        return None
    numbers = rx.row_numbers.findall(run)
    # each row but the first starts right after the </row> before it, and with r: no gap, no
    # row closed on itself (<row .../>), no row without r first
    if run.count(close + rx.row_open) == run.count(close + row_r) == len(numbers) - 1:
        return numbers
    return None


@lru_cache(maxsize=64)
def _cells_from(p: bytes, col: int) -> re.Pattern[bytes] | None:
    """Cells referenced in column ``col`` or right of it, their letters in group 1 (None past column ZZ)."""
    letters = col_letters(col)
    three = "[A-Z]{3}"
    if len(letters) == 1:
        alternatives = [f"[{letters}-Z]", "[A-Z]{2}", three]
    elif len(letters) == 2:
        first, second = letters[0], letters[1]
        alternatives = [f"{first}[{second}-Z]", three]
        if first != "Z":
            alternatives.insert(1, f"[{chr(ord(first) + 1)}-Z][A-Z]")
    else:
        return None
    return re.compile(rb"<" + re.escape(p) + rb'c r="(' + "|".join(alternatives).encode() + rb")\d")


def _plain_text(v: bytes, text: bytes | None) -> str:
    """What a ``_key_cell`` match of a number (``v``) or an inline string (``text``) shows."""
    if text is None:
        return _num_text(_unescape(v) if b"&" in v or b"_x" in v else v.decode("utf-8"))
    return _unescape(text) if b"&" in text or b"_x" in text else text.decode("utf-8")


def _row_is_blank(chunk: bytes, rx: _Rx, sst: _SharedStrings) -> bool:
    return all(not _cell_text(c.attrs, c.inner, rx, sst).strip() for c in _cells(chunk, rx))


# --- the plan for one sheet ----------------------------------------------------------------


class _Row:
    """A record of the sheet while updates are planned: an existing row or one to append."""

    __slots__ = ("orig", "keys", "sets", "deleted")

    def __init__(self, orig: int | None, keys: dict[int, str], sets: dict[int, Cell] | None = None) -> None:
        self.orig = orig
        self.keys = keys
        self.sets: dict[int, Cell] = sets if sets is not None else {}
        self.deleted = False


@dataclass
class _Table:
    part: str
    xml: bytes
    top: int
    left: int
    bottom: int
    right: int
    totals: int


class _SheetPlan:
    """Pass one over a touched sheet: find rows by key, then lay out what pass two writes."""

    def __init__(self, book: _Book, entry: _SheetEntry, updates: list[tuple[int, Update]],
                 report: WriteReport, source: bytes | None = None,
                 where: Mapping[str, Mapping[str, int]] | None = None) -> None:
        self.book, self.entry, self.updates, self.report = book, entry, updates, report
        self.where = where or {}  # key header (normalized) -> {key -> row}: see Where
        self.where_of: dict[str, Mapping[str, int] | None] = {}  # key header as given -> its rows
        self.by_orig: dict[int, _Row] = {}  # the rows planned so far, by row number
        self.expect: dict[int, tuple[int, str]] = {}  # row found by Where -> (column, key as given) it holds
        self.placed_at: dict[int, int] = {}  # update index -> its row given by Where (_lookup_columns)
        self.placed_rows: dict[int, list[int]] = {}  # SetColumn's index -> the row of each key, given by Where
        self.expected: dict[tuple[int, int], tuple[str, ...]] = {}  # SetColumn keys (by id) and column in expect
        self.placed_memo: dict[tuple[int, str], tuple[tuple[str, ...], list[int] | None]] = {}  # see _placed_rows
        self.placed_sets: dict[int, dict[int, Cell]] = {}  # row given by Where -> cells to set (_plan_placed)
        self.name = entry.name
        self.source = source  # the XML of a sheet this write creates
        self.header: dict[str, int] = {}
        self.header_new: dict[int, str] = {}
        self.rows: list[_Row] = []
        self.appended: list[_Row] = []
        self.index: dict[int, dict[str, list[_Row]]] = {}
        self.lookup: set[int] = set()
        self.key_rx: dict[int, Callable[[bytes], re.Match[bytes] | None]] = {}  # lookup column -> search
        self.candidates: list[int] = []
        self.recent: deque[tuple[int, bytes]] = deque(maxlen=RECENT_ROWS)
        self.formula_rows: list[int] = []
        self.present: list[int] = []
        self.head = self.tail = b""
        self.row_style: dict[int, int] = {}
        self.col_style: dict[int, int] = {}
        self.max_col = 0
        self.problem_keys: set[tuple[str, str]] = set()
        self.norm_keys: dict[str, str] = {}  # key as given -> normalized
        self.header_cols: dict[str, int | None] = {}  # header as given -> column (see _column)
        self.at_sets: dict[int, dict[int, Cell]] = {}  # SetAt: row -> column -> value
        self.at_new: list[tuple[int, dict[int, Cell]]] = []  # SetAt rows the sheet does not have

    def open(self) -> BinaryIO:
        if self.source is not None:
            return io.BytesIO(self.source)
        return self.book.pkg.open(self.entry.part)

    # pass one

    def scan(self) -> None:
        with self.open() as raw, _ReadAhead(raw) as stream:
            first = stream.read()
            self.rx = _rx(_root_prefix(first, b"worksheet"))
            reader = _SheetStream(_Prepend(first, stream), self.rx)  # type: ignore[arg-type]
            self.head = reader.head()
            self.previous = 0
            self.r_first = True  # every row starts <row r="N" (as Excel writes): pass two may skip rows
            while True:
                run = reader.rows()
                if run is not None:
                    if not self._note_plain(run):
                        self._note(self._numbered(run), formulas=self.rx.f_tag in run)
                    continue
                kind, chunk = reader.next()
                if kind == TAIL:
                    self.tail = chunk
                    break
                if kind == ROW:
                    self._note(self._numbered(chunk, whole=False))
        if not self.header:
            self._lookup_columns()

    def _note_plain(self, run: bytes) -> bool:
        """``_note`` of a run of rows at once, when no key is looked for and the rows are plain:
        each starts ``<row r="N"`` right after the one before, numbers rise, no formulas, no
        header; False for any other run.

        A refresh whose rows are all given by ``Where`` notes 100,000 rows this way, by calls in
        C over the whole run. With no key looked for nothing is deleted either, so of the rows
        with values only the last ones count (``_finish``): they are taken from the run's end.
        """
        rx = self.rx
        if self.key_rx or rx.f_tag in run:
            return False
        close = rx.close_row
        numbers = _plain_row_numbers(run, rx)
        if numbers is None:
            return False
        count = len(numbers)
        rows = list(map(int, numbers))
        if rows[0] <= max(self.previous, 1) or not all(map(operator.lt, rows, rows[1:])):
            return False
        self.present += rows
        self.previous = rows[-1]
        start = len(run)  # the last rows with values: RECENT_ROWS + 1 of them, or all there are
        has_v, has_is = rx.has_value
        tail: list[tuple[int, bytes]] = []
        k = count
        while k and len(tail) <= RECENT_ROWS:
            begin = run.rfind(close, 0, start - len(close)) + len(close) if k > 1 else 0
            k -= 1
            part = run[begin:start - len(close)]
            if has_v in part or has_is in part:
                tail.append((rows[k], part))
            start = begin
        tail.reverse()
        self.candidates += (n for n, _ in tail)
        self.recent.extend(tail)
        return True

    def _numbered(self, run: bytes, whole: bool = True) -> Iterator[tuple[int, bytes]]:
        """(number, XML) of the rows of a run of rows (of one row when not ``whole``).

        A run is split at ``</row>`` in one call; a row that starts ``<row r="N"`` and is not
        empty is taken as it is, without its closing tag (nothing read from it needs that).
        Numbers must rise and be written first in the row tag for ``r_first``.
        """
        rx = self.rx
        close, row_r = rx.close_row, rx.row_r_open
        at = len(row_r)
        parts = run.split(close) if whole else [run]
        if whole:
            parts.pop()  # the run ends with </row>: nothing after it
        for part in parts:
            if whole and part.startswith(row_r) and part[part.find(b">") - 1] != 47:  # not <row .../>
                n = int(part[at:part.find(b'"', at)])
                if n <= self.previous:
                    self.r_first = False
                self.previous = n
                yield n, part
                continue
            # a gap before the row, an empty row, no r first: cut the way the stream does
            for kind, chunk in _row_chunks(part + close, rx) if whole else [(ROW, part)]:
                if kind == ROW:
                    n, _ = _row_number(chunk, rx, self.previous)
                    if n <= self.previous or not chunk.startswith(row_r):
                        self.r_first = False
                    self.previous = n
                    yield n, chunk

    def _note(self, rows: Iterable[tuple[int, bytes]], formulas: bool = True) -> None:
        """Note each row: present, header, formulas, the last records, and its keys when looked for.

        ``formulas`` False says the rows hold no ``<f``, so no row is searched for one.
        """
        rx = self.rx
        f_tag, (has_v, has_is) = rx.f_tag, rx.has_value
        present, candidates, recent = self.present.append, self.candidates.append, self.recent.append
        key_of, lookup = self._key, self.key_rx
        for n, chunk in rows:
            present(n)
            if n == 1:
                self._read_header(chunk)
                lookup = self.key_rx
                continue
            if formulas and f_tag in chunk and rx.f.search(chunk):
                self.formula_rows.append(n)
            if has_v in chunk or has_is in chunk:
                candidates(n)
                recent((n, chunk))
                keys = None
                for col in lookup:
                    key = key_of(chunk, col, n)
                    if key is not None:
                        if keys is None:
                            keys = {}
                        keys[col] = key
                if keys is not None:
                    row = self.by_orig[n] = _Row(n, keys)
                    self.rows.append(row)
                    self._add(row)

    def _read_header(self, chunk: bytes) -> None:
        for c in _cells(chunk, self.rx):
            text = _cell_text(c.attrs, c.inner, self.rx, self.book.sst).strip()
            if text and _norm(text) not in self.header:
                self.header[_norm(text)] = c.col
        self.max_col = max(self.header.values(), default=0)
        self._lookup_columns()

    def _lookup_columns(self) -> None:
        """The columns rows are looked up by, and the values looked for in each."""
        wanted: dict[int, set[str]] = {}
        norm_keys, index, column = self.norm_keys, self.index, self._column
        self.header_cols.clear()  # the header may have just been read
        self.placed_at, self.placed_rows = {}, {}  # update index -> its row(s) given by Where
        for i, u in self.updates:
            if isinstance(u, SetCells):
                n = self._placed(u)
                if n is not None:
                    self.placed_at[i] = n
                    continue  # its row is known
                pairs: Iterable[tuple[str, str]] = ((u.key_header, u.key),)
            elif isinstance(u, SetColumn):
                rows = self._placed_rows(u)
                if rows is not None:
                    self.placed_rows[i] = rows
                    continue
                pairs = ((u.key_header, key) for key in u.keys)
            elif isinstance(u, ReplaceRows):
                pairs = u.where
            else:
                continue
            for h, v in pairs:
                col = column(h)
                if col:
                    key = norm_keys.get(v)
                    if key is None:
                        key = norm_keys[v] = _norm(v)
                    keys = wanted.get(col)
                    if keys is None:
                        keys = wanted[col] = set()
                        index.setdefault(col, {})
                    keys.add(key)
        self.lookup = set(wanted)
        self.key_rx = {col: _key_cell(self.rx.p, col).search for col in wanted}  # see _key
        self.wanted = {col: frozenset(keys) for col, keys in wanted.items()}
        self.wanted_sst: dict[int, dict[int, str]] = {}

    def _key(self, chunk: bytes, col: int, n: int) -> str | None:
        """The normalized value of a lookup cell, when an update looks for it (else None)."""
        m = self.key_rx[col](chunk)
        if m is not None:  # the usual shapes of a key cell, in one regex
            kind, v, text = m.groups()
            if kind == b"s":
                if col not in self.wanted_sst:
                    self.wanted_sst[col] = self.book.sst.matching(self.wanted[col])
                return self.wanted_sst[col].get(int(v)) if v is not None and v.isdigit() else None
            s = _plain_text(v, text)
            t = s.casefold()
            wanted = self.wanted[col]
            if t in wanted:
                return t  # already in normalized form (wanted keys are)
            if t.isprintable() and "  " not in t and t.strip() == t:
                return None
            key = _norm(s)
            return key if key in wanted else None
        c = _find_cell(chunk, self.rx, col, n)
        if c is None or not c.inner:
            return None
        if b' t="s"' in c.attrs:
            m = self.rx.v.search(c.inner)
            try:
                i = int(m.group(1)) if m and m.group(1) else -1
            except ValueError:
                return None
            if col not in self.wanted_sst:
                self.wanted_sst[col] = self.book.sst.matching(self.wanted[col])
            return self.wanted_sst[col].get(i)
        key = _norm(_cell_text(c.attrs, c.inner, self.rx, self.book.sst))
        return key if key in self.wanted[col] else None

    def _add(self, row: _Row) -> None:
        for col, key in row.keys.items():
            if col in self.index:
                self.index[col].setdefault(key, []).append(row)

    def _find(self, col: int, key: str) -> list[_Row]:
        return [r for r in self.index.get(col, {}).get(key, []) if not r.deleted and r.keys.get(col) == key]

    # the updates

    def plan(self) -> bool:
        """Apply the updates to the plan; False when the sheet cannot be written at all."""
        if all(isinstance(u, SetAt) for _, u in self.updates):
            for _, u in self.updates:
                self._set_at(u)  # type: ignore[arg-type]
            self._finish()
            return True
        if not self.header:
            if self.present:
                self.report.skipped.extend(i for i, _ in self.updates)
                self._problem("error", "1", "row 1 holds no headers",
                              "type the column headers in row 1; records start in row 2")
                return False
            self._new_header()
        if (self.placed_at or self.placed_rows) and not self.lookup:
            self._plan_placed()
        else:
            for i, u in self.updates:
                self._plan_one(i, u)
        self._finish()
        return True

    def _plan_one(self, i: int, u: Update) -> None:
        if isinstance(u, SetCells):
            self._set(i, u)
        elif isinstance(u, SetColumn):
            self._set_column(i, u)
        elif isinstance(u, ReplaceRows):
            self._replace(i, u)
        elif isinstance(u, SetAt):
            self._set_at(u)
        else:
            self._append(u.rows)

    def _plan_placed(self) -> None:
        """``plan``'s loop when every key looked for is given by ``Where`` (no key is read, so
        no row of the sheet is a ``_Row``): the cells of each row given go straight into
        ``placed_sets``, a few dictionary steps an update (a refresh sets 100,000 rows)."""
        placed, expect_key, sets_of, header_cols = self.placed_at, self._expect_key, self.placed_sets, self.header_cols
        key_cols: dict[str, int | None] = {}
        for i, u in self.updates:
            n = placed.get(i)
            if n is None or not isinstance(u, SetCells):
                if isinstance(u, SetColumn) and i in self.placed_rows:
                    self._place_column(i, u, self.placed_rows[i])
                else:
                    self._plan_one(i, u)
                continue
            try:
                col = key_cols[u.key_header]
            except KeyError:
                col = key_cols[u.key_header] = self._column(u.key_header)
            if col is None:
                self._set(i, u)
                continue
            expect_key(n, col, u.key)
            sets = sets_of.get(n)
            if sets is None:
                sets = sets_of[n] = {}
            for h, v in u.values:
                try:
                    c = header_cols[h]
                except KeyError:
                    c = self._column(h)
                if c is None:
                    self._columns(((h, v),))  # says the column is missing
                else:
                    sets[c] = v

    def _new_header(self) -> None:
        """An empty sheet: headers from the schema (or from the rows to write)."""
        headers: list[str] = []
        if _norm(self.name) in schema.SHEETS_BY_KEY:
            headers = [c.header for c in schema.sheet(self.name).columns]
        for _, u in self.updates:
            for r in u.rows if isinstance(u, AppendRows | ReplaceRows) else ():
                headers += [h for h, _ in r if _norm(h) not in {_norm(x) for x in headers}]
        for col, h in enumerate(headers, 1):
            self.header[_norm(h)] = col
            self.header_new[col] = h
        self.max_col = len(headers)
        self._lookup_columns()

    def _problem(self, severity: str, cell: str, message: str, fix: str) -> None:
        if (cell, message) in self.problem_keys:
            return
        self.problem_keys.add((cell, message))
        make = error if severity == "error" else warning
        self.report.problems.append(make(self.name, cell, message, fix))

    def _column(self, header: str) -> int | None:
        """The column of a header as an update names it (remembered: 100,000 updates name a few)."""
        try:
            return self.header_cols[header]
        except KeyError:
            col = self.header_cols[header] = self.header.get(_norm(header))
            return col

    def _columns(self, values: Iterable[tuple[str, Cell]]) -> dict[int, Cell]:
        out: dict[int, Cell] = {}
        column = self._column
        for h, v in values:
            col = column(h)
            if col is None:
                self._problem("warning", "1", f'column "{h}" is missing, so it was not written',
                              f'add the header "{h}" in row 1')
            else:
                out[col] = v
        return out

    def _set(self, i: int, u: SetCells) -> None:
        col = self._column(u.key_header)
        if col is None:
            self.report.skipped.append(i)
            self._problem("warning", "1", f'column "{u.key_header}" is missing, so "{u.key}" could not be updated',
                          f'add the header "{u.key_header}" in row 1')
            return
        n = self.placed_at.get(i)
        if n is not None:  # given by Where while other keys are looked up (else _plan_placed sets it)
            row: _Row | None = self._row_at(n, col, u.key)
        else:
            key = self.norm_keys.get(u.key) or _norm(u.key)
            row = next((r for r in self.index.get(col, {}).get(key, ()) if not r.deleted and r.keys.get(col) == key),
                       None)
        if row is None:  # the first row _find gives, without building the list
            self.report.skipped.append(i)
            self._problem("warning", "", f'{u.key_header} "{u.key}" was not found, so its row was not updated',
                          "check that the row was not deleted or its key changed")
            return
        sets, lookup = row.sets, self.lookup
        for c, v in self._columns(u.values).items():
            sets[c] = v
            if c in lookup:
                row.keys[c] = _norm(_value_text(v))
                self.index[c].setdefault(row.keys[c], []).append(row)

    def _placed(self, u: SetCells) -> int | None:
        """The row ``Where`` gives for the update's key, if it gives one."""
        rows = self._where_rows(u.key_header)
        return rows.get(u.key) if rows is not None else None

    def _placed_rows(self, u: SetColumn) -> list[int] | None:
        """The rows ``Where`` gives for the update's keys, if it gives one for each (the same
        list for columns that share their keys, as a refresh's do)."""
        memo = (id(u.keys), u.key_header)
        if memo not in self.placed_memo:
            rows = self._where_rows(u.key_header)
            found = list(map(rows.get, u.keys)) if rows is not None else [None]
            self.placed_memo[memo] = (u.keys, None if None in found else found)  # type: ignore[assignment]
        return self.placed_memo[memo][1]

    def _where_rows(self, key_header: str) -> Mapping[str, int] | None:
        try:
            return self.where_of[key_header]
        except KeyError:
            rows = self.where_of[key_header] = self.where.get(_norm(key_header))
            return rows

    def _set_column(self, i: int, u: SetColumn) -> None:
        """A SetColumn whose rows are looked up: a SetCells for each key (skipped when none is found)."""
        if self._column(u.key_header) is None:
            self.report.skipped.append(i)
            self._problem("warning", "1", f'column "{u.key_header}" is missing, so {len(u.keys)} row(s) could not '
                          "be updated", f'add the header "{u.key_header}" in row 1')
            return
        skipped = self.report.skipped
        before = len(skipped)
        for key, value in zip(u.keys, u.values, strict=True):
            self._set(i, SetCells(u.sheet, u.key_header, key, ((u.header, value),)))
        found = len(u.keys) - (len(skipped) - before)
        del skipped[before:]
        if not found:
            skipped.append(i)

    def _place_column(self, i: int, u: SetColumn, rows: list[int]) -> None:
        """``_plan_placed`` for a SetColumn: its rows, given by ``Where``, expect its keys; its
        values go into ``placed_sets`` (a few calls in C for the keys, a short loop for the values)."""
        col, c = self._column(u.key_header), self._column(u.header)
        if col is None:
            self._set_column(i, u)  # says the key column is missing
            return
        if c is None:
            self._columns(((u.header, None),))  # says the column is missing
            return
        if (id(u.keys), col) not in self.expected:  # a refresh's columns share their keys: once for all
            self.expected[id(u.keys), col] = u.keys  # (kept, so that the id stays theirs)
            expect = self.expect
            given = dict(zip(rows, zip(repeat(col), u.keys, strict=False), strict=True))
            common = given.keys() & expect.keys()
            if len(given) < len(rows) or not all(map(operator.eq, map(expect.__getitem__, common),
                                                     map(given.__getitem__, common))):
                for n, key in zip(rows, u.keys, strict=True):
                    self._expect_key(n, col, key)  # says which row is given for two keys
            expect.update(given)
        sets_of = self.placed_sets
        if sets_of.keys().isdisjoint(rows):  # the first column of these rows
            sets_of.update(zip(rows, [{c: value} for value in u.values], strict=True))
        elif all(map(sets_of.__contains__, rows)):  # the next ones
            for sets, value in zip(map(sets_of.__getitem__, rows), u.values, strict=True):
                sets[c] = value
        else:
            for n, value in zip(rows, u.values, strict=True):
                sets_of.setdefault(n, {})[c] = value

    def _row_at(self, n: int, col: int, key: str) -> _Row:
        """Row ``n``, which ``Where`` says holds ``key`` in ``col`` (checked when it is written)."""
        row = self.by_orig.get(n)
        if row is None:
            row = self.by_orig[n] = _Row(n, {})
            self.rows.append(row)
        self._expect_key(n, col, key)
        return row

    def _expect_key(self, n: int, col: int, key: str) -> None:
        """Row ``n`` is to hold ``key`` in ``col`` (checked when it is written); a row given for
        two keys is ``_Misplaced``."""
        if self.expect.setdefault(n, (col, key)) != (col, key):
            raise _Misplaced(f"{self.name}: row {n} is given for two keys")

    def _check_placed(self, data: bytes, start: int, end: int, n: int) -> None:
        """Row ``n`` (``data[start:end]``) holds the key ``Where`` gave it for; else ``_Misplaced``."""
        col, key = self.expect[n]
        m = self.key_rx_any[col](data, start, end)
        if m is not None:
            kind, v, text = m.groups()
            if text is not None and text == key.encode():
                return  # an inline string, as the reader read it
            if kind == b"s":
                text = self.book.sst[int(v)] if v is not None and v.isdigit() else ""
            else:
                text = _plain_text(v, text)
        else:
            c = _find_cell(data[start:end], self.rx, col, n)
            text = _cell_text(c.attrs, c.inner, self.rx, self.book.sst) if c is not None else ""
        if text != key and _norm(text) != _norm(key):
            raise _Misplaced(f"{self.name}: row {n} does not hold {key!r}")

    def _check_placed_parts(self, parts: list[bytes], rows: list[int]) -> None:
        """``_check_placed`` for whole rows (``parts[j]`` is row ``rows[j]``) at once: when each
        is given by ``Where`` for a key in one column and holds it as the inline string the
        reader read, one regex search a row and a comparison of two lists; otherwise row by row."""
        given = list(map(self.expect.get, rows))
        if None not in given:
            placed = cast("list[tuple[int, str]]", given)
            if len(columns := {col for col, _ in placed}) == 1:
                col = columns.pop()
                first, search = self.key_first[col], self.key_rx_any[col]
                found = [m.group(3) if (m := first(part) or search(part)) is not None else None for part in parts]
                if found == [key.encode() for _, key in placed]:
                    return
        for part, n, e in zip(parts, rows, given, strict=True):
            if e is not None:
                self._check_placed(part, 0, len(part), n)

    def _set_at(self, u: SetAt) -> None:
        for ref, value in u.cells:
            m = _REF.fullmatch(ref.strip())
            if m is None or not 1 <= int(m.group(2)) <= MAX_ROWS:
                raise ValueError(f"{self.name}: {ref!r} is not a cell address")
            self.at_sets.setdefault(int(m.group(2)), {})[col_number(m.group(1))] = value

    def _replace(self, i: int, u: ReplaceRows) -> None:
        where: list[tuple[int, str]] = []
        for h, v in u.where:
            col = self.header.get(_norm(h))
            if col is None:
                self._problem("warning", "1", f'column "{h}" is missing, so no rows were replaced',
                              f'add the header "{h}" in row 1')
                where = []
                break
            where.append((col, _norm(v)))
        if where:
            first_col, first_key = where[0]
            for row in self._find(first_col, first_key):
                if all(row.keys.get(c) == k for c, k in where):
                    row.deleted = True
        self._append(u.rows)

    def _append(self, rows: Sequence[tuple[tuple[str, Cell], ...]]) -> None:
        for values in rows:
            sets = self._columns(values)
            keys = {c: _norm(_value_text(v)) for c, v in sets.items() if c in self.lookup}
            row = _Row(None, keys, sets)
            self.appended.append(row)
            self._add(row)

    # the layout

    def _finish(self) -> None:
        rx, sst = self.rx, self.book.sst
        self.deleted: list[int] = sorted(r.orig for r in self.rows if r.deleted and r.orig is not None)
        self.deleted_set = set(self.deleted)
        self.row_sets: dict[int, dict[int, Cell]] = {
            r.orig: r.sets for r in self.rows if r.sets and not r.deleted and r.orig is not None}
        if self.placed_sets:  # no row is both a _Row and given by Where (_plan_placed)
            if not self.row_sets and all(self.placed_sets.values()):
                self.row_sets = self.placed_sets
            else:
                self.row_sets.update((n, sets) for n, sets in self.placed_sets.items() if sets)
        if self.expect:
            if not self.r_first or not set(self.present).issuperset(self.expect):
                raise _Misplaced(f"{self.name}: a row given by Where is not where it was said to be")
            columns = set(map(operator.itemgetter(0), self.expect.values()))
            self.key_rx_any = {col: _key_cell(rx.p, col).search for col in columns}
            # the key as the row's first cell, where a record's key usually is (faster than a search)
            self.key_first = {col: re.compile(rb"<" + re.escape(rx.p) + rb"row\b[^>]*>"
                                              + _key_cell(rx.p, col).pattern).match for col in columns}
        recent = dict(self.recent)
        last = 1
        self.last_record_orig = 1
        for n in reversed(self.candidates):
            if n in self.deleted_set:
                continue
            chunk = recent.get(n)
            if chunk is None or not _row_is_blank(chunk, rx, sst):
                last = self.shift(n)
                self.last_record_orig = n
                break
        self.last_record = last
        appended = [r for r in self.appended if not r.deleted]
        if self.header_new:
            appended.insert(0, _Row(None, {}, dict(self.header_new)))
            last = 0
        if last + len(appended) > MAX_ROWS:
            raise WriteRefused(self.name, f"{len(appended)} rows do not fit below row {last}",
                               "move old rows to another workbook", self.updates[-1][0])
        self.new_rows = [(last + k, r.sets) for k, r in enumerate(appended, 1)]
        # the style of each column: from the last data rows, else the row's or the <col> style
        for _, chunk in reversed(self.recent):
            for c in _cells(chunk, rx):
                s = re.search(rb"\ss=\"(\d+)\"", c.attrs)
                if s and c.col not in self.col_style:
                    self.col_style[c.col] = int(s.group(1))
        self.col_default: dict[int, int] = {}
        for m in rx.col.finditer(self.head):
            a = _attrs(m.group(1))
            if b"style" in a and b"min" in a:
                for col in range(int(a[b"min"]), min(int(a.get(b"max", a[b"min"])), 16384) + 1):
                    self.col_style.setdefault(col, int(a[b"style"]))
                    self.col_default.setdefault(col, int(a[b"style"]))
        self.tables = self._tables()
        if self.deleted:
            self._check_deletion()
        if self.deleted:
            self.report.deleted[self.name] = len(self.deleted)
        if self.new_rows:
            self.report.appended[self.name] = len(self.new_rows) - (1 if self.header_new else 0)
        for n in self.deleted:
            if n in self.row_sets:
                del self.row_sets[n]
        if self.at_sets:
            self._place_at()

    def _place_at(self) -> None:
        """SetAt cells: into the rows the sheet has, else into new rows at their place."""
        if self.deleted:
            index = next(i for i, u in self.updates if isinstance(u, SetAt))
            raise WriteRefused(self.name, "cells cannot be set by address while rows of the sheet are deleted",
                               "run the command again: the cells are written at the next run", index)
        present = set(self.present)
        appended = {n for n, _ in self.new_rows}
        for n, sets in sorted(self.at_sets.items()):
            if n in present:
                self.row_sets[n] = {**self.row_sets.get(n, {}), **sets}
            elif n in appended:
                self.new_rows = [(m, {**s, **sets} if m == n else s) for m, s in self.new_rows]
            else:
                self.at_new.append((n, sets))

    def shift(self, n: int) -> int:
        return n - bisect_left(self.deleted, n)

    def _check_deletion(self) -> None:
        first = self.deleted[0]
        index = next((i for i, u in self.updates if isinstance(u, ReplaceRows)), self.updates[0][0])

        def refuse(what: str) -> None:
            raise WriteRefused(
                self.name, f"rows cannot be deleted: {what} below row {first} would have to move",
                f"remove them from the {self.name} sheet (it should hold plain data only)", index)

        if any(n > first and n not in self.deleted_set for n in self.formula_rows):
            refuse("formulas")
        outside = self.tail + self.head
        for m in re.finditer(rb"<(?:\w+:)?mergeCell\b[^>]*\bref=\"([^\"]+)\"", outside):
            if any(bottom >= first for _, bottom in _ranges(m.group(1).decode())):
                refuse("merged cells")
        checks = ((rb"conditionalFormatting\b[^>]*\bsqref=\"([^\"]+)\"", "conditional formats"),
                  (rb"dataValidation\b[^>]*\bsqref=\"([^\"]+)\"", "data validations"),
                  (rb"hyperlink\b[^>]*\bref=\"([^\"]+)\"", "hyperlinks"),
                  (rb"sqref>([^<]+)</", "conditional formats or validations"))
        for pattern, what in checks:
            for m in re.finditer(rb"<(?:\w+:)?" + pattern, outside):
                if any(top > first for top, _ in _ranges(m.group(1).decode())):
                    refuse(what)
        for t in self.tables:
            if t.top > first:
                refuse("an Excel table")
        quoted = "'" + self.name.replace("'", "''") + "'!"
        for name, value in self.book.defined_names:
            if (quoted.casefold() in value.casefold() or (self.name + "!").casefold() in value.casefold()) \
                    and any(top > first for top, _ in _ranges(value.split("!", 1)[-1])):
                refuse(f'the defined name "{name}"')

    def _tables(self) -> list[_Table]:
        if self.source is not None:
            return []
        out = []
        for rel in self.book.pkg.rels(self.entry.part):
            if rel.type.endswith("/table") and self.book.pkg.find(rel.target):
                xml = self.book.pkg.read(rel.target)
                m = re.search(rb"<(?:\w+:)?table\b[^>]*>", xml)
                if not m:
                    continue
                a = _attrs(m.group())
                refs = list(_REF.finditer(_unescape(a.get(b"ref", b""))))
                if len(refs) != 2:
                    continue
                (c1, r1), (c2, r2) = [(col_number(x.group(1)), int(x.group(2))) for x in refs]
                totals = int(a.get(b"totalsRowCount", b"0") or 0)
                out.append(_Table(rel.target, xml, r1, c1, r2, c2, totals))
        return out

    def main_table(self) -> _Table | None:
        return next((t for t in self.tables if t.top == 1), None)

    def table_xml(self) -> tuple[str, bytes] | None:
        """The main table's XML with its new ``ref`` (None when it does not change)."""
        t = self.main_table()
        if t is None:
            return None
        dels = sum(1 for d in self.deleted if t.top < d <= t.bottom)
        bottom = t.bottom - dels
        if self.new_rows:
            if t.totals:
                raise WriteRefused(self.name, "rows cannot be added below a table's totals row",
                                   "turn off the totals row of the table (Table Design > Total Row)",
                                   self.updates[-1][0])
            bottom = max(bottom, self.new_rows[-1][0])
        bottom = max(bottom, t.top + 1)
        if bottom == t.bottom:
            return None
        new_ref = f"{col_letters(t.left)}{t.top}:{col_letters(t.right)}{bottom}".encode()
        xml = re.sub(rb"(<(?:\w+:)?table\b[^>]*?\sref=\")[^\"]*(\")", rb"\g<1>" + new_ref + rb"\g<2>", t.xml, count=1)
        xml = re.sub(rb"(<(?:\w+:)?autoFilter\b[^>]*?\sref=\")[^\"]*(\")", rb"\g<1>" + new_ref + rb"\g<2>", xml, count=1)

        def sort_ref(m: re.Match[bytes]) -> bytes:
            refs = list(_REF.finditer(m.group(2).decode()))
            if len(refs) != 2:
                return m.group()
            start, end = refs
            ref = f"{start.group(1)}{start.group(2)}:{end.group(1)}{bottom}".encode()
            return m.group(1) + ref + m.group(3)

        xml = re.sub(rb"(<(?:\w+:)?sortState\b[^>]*?\sref=\")([^\"]*)(\")", sort_ref, xml, count=1)
        return t.part, xml

    def grown_tail(self, tail: bytes) -> bytes:
        """The sheet's tail with its data validations and conditional formats grown over the
        appended rows, as ``table_xml`` grows the table: each range of a ``sqref`` (the attribute,
        or the ``<xm:sqref>`` of an Excel 2010 ``x14`` one in ``extLst``) that holds the last
        record (row 2 when there is none) ends at the last appended row. Other ranges, whole
        columns among them, and every other byte stay as they were."""
        if not self.new_rows or self.header_new or b"sqref" not in tail:
            return tail
        grow = partial(_grown_sqref, last=max(self.last_record_orig, 2), bottom=self.new_rows[-1][0])
        tail = _SQREF_ATTR.sub(lambda m: m.group(1) + grow(m.group(2)) + m.group(3), tail)
        return _X14_RULE.sub(lambda m: _SQREF_ELEMENT.sub(
            lambda e: e.group(1) + grow(e.group(3)) + e.group(4), m.group()), tail)

    # pass two

    def rewrite(self, ctx: _Context) -> Iterator[bytes]:
        """The sheet XML with the planned changes, as a stream of chunks."""
        rx = self.rx
        new_rows = sorted(self.new_rows + self.at_new, key=lambda r: r[0]) if self.at_new else self.new_rows
        k = 0
        previous = 0
        last_final = 0
        changed = self.report.changed.setdefault(self.name, [])
        writer = _RowWriter(self, ctx, changed)
        with self.open() as raw, _ReadAhead(raw) as stream:
            reader = _SheetStream(stream, rx)  # type: ignore[arg-type]
            yield self._head(reader.head())
            if self.r_first and not reader.empty:
                # rows before `dense` are copied as raw bytes, except those that change
                never = MAX_ROWS + 1
                dense = min(self.deleted[0] if self.deleted else never,
                            self.last_record_orig + 1 if self.new_rows else never,
                            self.at_new[0][0] if self.at_new else never)
                i = bisect_left(self.present, dense)
                stop = self._row_marker(self.present[i]) if i < len(self.present) else b""
                yield from self._edit_before(reader, writer, sorted(n for n in self.row_sets if n < dense), stop)
                yield reader.copy_until(stop or b"<\0")
                if i:
                    previous = last_final = self.present[i - 1]
            batch: list[bytes] = []
            size = 0
            while True:
                kind, chunk = reader.next()
                if kind == ROW:
                    orig, explicit = _row_number(chunk, rx, previous)
                    previous = orig
                    if orig in self.deleted_set:
                        if rx.f.search(chunk):
                            ctx.formula_removed = True
                        continue
                    final = self.shift(orig)
                    while k < len(new_rows) and new_rows[k][0] < final:
                        batch.append(writer.new_row(*new_rows[k]))
                        k += 1
                    sets = self.row_sets.get(orig)
                    if k < len(new_rows) and new_rows[k][0] == final:
                        sets = {**(sets or {}), **new_rows[k][1]}
                        k += 1
                    last_final = final
                    if sets and orig in self.expect:
                        self._check_placed(chunk, 0, len(chunk), orig)
                    if sets or final != orig or not explicit:
                        chunk = writer.edit_row(chunk, orig, final, sets or {})
                elif kind == TAIL:
                    pending = b"".join(writer.new_row(*r) for r in new_rows[k:])
                    if self.opened:
                        pending += b"</" + rx.p + b"sheetData>"  # <sheetData/> was opened in _head
                    batch.append(pending + self.grown_tail(chunk))
                    break
                batch.append(chunk)
                size += len(chunk)
                if size > BLOCK:
                    yield b"".join(batch)
                    batch, size = [], 0
            yield b"".join(batch)
        self.last_final = max(last_final, new_rows[-1][0] if new_rows else 0)
        if not changed:
            del self.report.changed[self.name]

    def _edit_before(self, reader: _SheetStream, writer: _RowWriter, targets: list[int],
                     stop: bytes) -> Iterator[bytes]:
        """The sheet up to the last of ``targets`` (rows that start ``<row r="N"``, in order), edited.

        Runs of whole rows are taken at once and only the target rows in them are cut out and
        rewritten; the bytes between are passed on as they are. Yielded in blocks of about
        BLOCK bytes: fewer, larger writes to the compressor.
        """
        close, row_r = self.rx.close_row, self.rx.row_r_open
        at = len(row_r)
        expect = self.expect
        out: list[bytes] = []
        size = k = 0
        while k < len(targets):
            run = reader.rows(stop)
            if run is None:  # not at a run of whole rows: take the next target the general way
                n = targets[k]
                raw = reader.copy_until(self._row_marker(n))
                kind, chunk = reader.next()
                if kind != ROW:
                    raise BadWorkbook(f"{self.name}: row {n} vanished between two reads")
                if n in expect:
                    self._check_placed(chunk, 0, len(chunk), n)
                out += (raw, writer.edit_row(chunk, n, n, self.row_sets[n]))
                size += len(raw) + len(chunk)
                k += 1
            else:
                j = run.rfind(row_r) + at
                last = int(run[j:run.find(b'"', j)])  # the run's last row
                if bisect_right(targets, last, k) - k >= BULK_ROWS:
                    edited = self._edit_run(run, writer, targets, k, last)
                    if edited is not None:
                        run, k = edited
                        out.append(run)
                        size += len(run)
                        if size > BLOCK:
                            yield b"".join(out)
                            out, size = [], 0
                        continue
                pos = 0
                row_sets, appended = self.row_sets, writer._appended
                while k < len(targets) and targets[k] <= last:
                    n = targets[k]
                    k += 1
                    marker = row_r + str(n).encode() + b'"'
                    start = run.find(marker, pos)
                    if start < 0:
                        raise BadWorkbook(f"{self.name}: row {n} vanished between two reads")
                    tag_end = run.find(b">", start)
                    plain = tag_end == start + len(marker)
                    if n in expect:  # the row as far as its end (a row <row .../> has no cells)
                        self._check_placed(run, start, tag_end if run[tag_end - 1] == 47 else run.find(close, tag_end), n)
                    if plain:  # <row r="N">: what edit_row does first, in place
                        end = run.find(close, tag_end)
                        added = appended(run, n, row_sets[n], None, tag_end + 1, end)
                        if added is not None:
                            out += (run[pos:end], added)  # the </row> goes out with what follows
                            pos = end
                            continue
                    end = tag_end + 1 if run[tag_end - 1] == 47 else run.find(close, tag_end) + len(close)
                    out += (run[pos:start], writer.edit_row(run[start:end], n, n, row_sets[n], tried=plain))
                    pos = end
                out.append(run[pos:] if pos else run)
                size += len(run)
            if size > BLOCK:
                yield b"".join(out)
                out, size = [], 0
        yield b"".join(out)

    def _edit_run(self, run: bytes, writer: _RowWriter, targets: list[int], k: int,
                  last: int) -> tuple[bytes, int] | None:
        """``_edit_before`` for the targets ``targets[k:]`` up to ``last`` in a run of plain rows,
        at once: the run edited and the next k; None for a run of another shape.

        What ``_edit_before`` finds a row at a time is found by calls in C over the run: the
        rows (split at ``</row>``), their numbers (one regex), that every cell starts with its
        reference, and which rows have a cell at or right of the leftmost cell set (one regex:
        only those can need more than new cells at their end). A refresh that fills three
        columns of 100,000 rows edits them this way; the bytes are those ``_edit_before`` makes.
        """
        rx = self.rx
        close, row_r = rx.close_row, rx.row_r_open
        numbers = _plain_row_numbers(run, rx)
        if numbers is None:
            return None
        count = len(numbers)
        if writer.unreferenced(run):
            return None  # a cell without its reference (ref_start would not match every cell): row by row
        end = bisect_right(targets, last, k)
        row_sets = self.row_sets
        right_of = _cells_from(rx.p, min(map(min, map(row_sets.__getitem__, targets[k:end]))))
        if right_of is None:
            return None
        parts = run.split(close)
        parts.pop()  # the run ends with </row>
        at = dict(zip(map(int, numbers), range(count), strict=True))
        rows = targets[k:end]
        try:
            where = [at[n] for n in rows]  # each target's part
        except KeyError as gone:
            raise BadWorkbook(f"{self.name}: row {gone} vanished between two reads") from None
        self._check_placed_parts([parts[i] for i in where], rows)
        ends = list(accumulate(len(part) + len(close) for part in parts))
        crowded = {bisect_right(ends, m.start()) for m in right_of.finditer(run)}
        first = len(row_r) + 1
        # where each row's new cells go: at the end of <row r="N"> with no cell at or right of
        # the columns set (most rows); else as _set_cells puts them when no cell is in those
        # columns, before the first cell right of them; None: edit_row
        at_cells = [len(parts[i]) if i not in crowded and parts[i][first + len(numbers[i])] == 62 else None
                    for i in where]
        for j, i in enumerate(where):
            if at_cells[j] is None and parts[i][first + len(numbers[i])] == 62:
                sets = row_sets[rows[j]]
                low, high = min(sets), max(sets)
                right = _cells_from(rx.p, low)
                m = right.search(parts[i], first + len(numbers[i]) + 1) if right is not None else None
                if right is not None and (m is None or _col_of(m.group(1)) > high):
                    at_cells[j] = m.start() if m is not None else len(parts[i])
        new = [j for j, at_cell in enumerate(at_cells) if at_cell is not None]
        made = iter(writer.cells_of_rows([rows[j] for j in new], [row_sets[rows[j]] for j in new]))
        changed = writer.changed
        for n, i, at_cell in zip(rows, where, at_cells, strict=True):  # in order, as changed lists them
            part = parts[i]
            if at_cell is None:
                parts[i] = writer.edit_row(part + close, n, n, row_sets[n],
                                           tried=part[first + len(numbers[i])] == 62)[:-len(close)]
                continue
            cells = next(made)
            if cells is None:
                added = writer._new_cells(n, row_sets[n], None)
            else:
                added, letters = cells
                row = str(n)
                changed.extend([c + row for c in letters])
            parts[i] = part + added if at_cell == len(part) else part[:at_cell] + added + part[at_cell:]
        parts.append(b"")
        return close.join(parts), end

    def _row_marker(self, n: int) -> bytes:
        return b"<" + self.rx.p + b'row r="' + str(n).encode() + b'"'

    def _head(self, head: bytes) -> bytes:
        rx = self.rx
        self.opened = head.endswith(b"/>") and bool(self.new_rows or self.at_new)
        if self.opened:
            head = head[:-2].rstrip() + b">"
        m = rx.dimension.search(head)
        if m:
            refs = list(_REF.finditer(m.group(2).decode()))
            last_existing = next((self.shift(n) for n in reversed(self.present) if n not in self.deleted_set), 0)
            bottom = max(last_existing, self.new_rows[-1][0] if self.new_rows else 0,
                         self.at_new[-1][0] if self.at_new else 0, 1)
            right = max([col_number(r.group(1)) for r in refs] + [self.max_col] +
                        [max(s, default=0) for _, s in (*self.new_rows, *self.at_new)] +
                        [max(map(max, filter(None, self.row_sets.values())), default=0)])
            start = f"{refs[0].group(1)}{refs[0].group(2)}" if refs else "A1"
            new = f"{start}:{col_letters(right)}{bottom}" if (right, bottom) != (1, 1) else "A1"
            head = head[:m.start(2)] + new.encode() + head[m.end(2):]
        return head


_SQREF_ATTR = re.compile(rb"(<(?:\w+:)?(?:dataValidation|conditionalFormatting)\b[^>]*?\ssqref=\")([^\"]*)(\")")
_X14_RULE = re.compile(rb"<((?:\w+:)?)(dataValidation|conditionalFormatting)\b[^>]*(?<!/)>.*?</\1\2>", re.S)
_SQREF_ELEMENT = re.compile(rb"(<((?:\w+:)?)sqref>)([^<]*)(</\2sqref>)")
_SQREF_RANGE = re.compile(rb"(?<![\w$:])(\$?[A-Za-z]{1,3}\$?)(\d+)(?::(\$?[A-Za-z]{1,3}\$?)(\d+))?(?![\w$:])")


def _grown_sqref(sqref: bytes, last: int, bottom: int) -> bytes:
    """``sqref`` with each range that holds row ``last`` made to end at row ``bottom`` (when it
    ended above it); other ranges (and whole columns or rows, which have no cell address)
    unchanged."""

    def grown(m: re.Match[bytes]) -> bytes:
        top = int(m.group(2))
        end = int(m.group(4)) if m.group(4) is not None else top
        if not top <= last <= end < bottom:
            return m.group()
        return m.group(1) + m.group(2) + b":" + (m.group(3) or m.group(1)) + str(bottom).encode()

    return _SQREF_RANGE.sub(grown, sqref)


class _Prepend:
    """A stream with some bytes already read put back in front."""

    def __init__(self, first: bytes, stream: BinaryIO) -> None:
        self.first, self.stream = first, stream

    def read(self, n: int = -1) -> bytes:
        if self.first:
            data, self.first = self.first, b""
            return data
        return self.stream.read(n)


@dataclass
class _Context:
    book: _Book
    styles: _Styles
    formula_removed: bool = False


_S_ATTR = re.compile(rb"\ss=\"(\d+)\"")
_SPANS = re.compile(rb"\sspans=\"(\d+):(\d+)\"")
_KEEP_OUT = re.compile(rb"\s(?:r|s|t|cm|vm)=\"[^\"]*\"")
_col_numbers: dict[bytes, int] = {}


@lru_cache(maxsize=1024)
def _col_name(col: int) -> str:
    return col_letters(col)


def _col_of(letters: bytes) -> int:
    n = _col_numbers.get(letters)
    if n is None:
        n = _col_numbers[letters] = col_number(letters.decode())
    return n


class _RowWriter:
    """Writes cells into row chunks: new values, renumbered rows, new rows."""

    def __init__(self, plan: _SheetPlan, ctx: _Context, changed: list[str]) -> None:
        self.plan, self.ctx, self.changed, self.rx = plan, ctx, changed, plan.rx
        self.truncated = False
        p = self.rx.p
        self.v_open, self.v_close = b"<" + p + b"v>", b"</" + p + b"v>"
        self.c_open = b"<" + p + b"c"
        self.c_close = b"</" + p + b"c>"
        self.is_open, self.is_close = b"<" + p + b"is><" + p + b"t", b"</" + p + b"t></" + p + b"is>"
        # every cell written by Excel, openpyxl and xlsxwriter starts <c r="..."
        self.ref_start = re.compile(rb"<" + re.escape(p) + rb"c r=\"([A-Z]{1,3})\d+\"")
        # a tag starting <c (a cell, or <color> and the like) other than what ref_start matches
        self.unreferenced = re.compile(rb"<" + re.escape(p) + rb"c(?! r=\"[A-Z]{1,3}\d+\")").search
        self.any_cell = tuple(b"<" + p + b"c" + end for end in (b" ", b">", b"/>", b"\t", b"\n", b"\r"))
        self.at_rows = set(plan.at_sets)
        self._texts: dict[str, str] = {}
        self._shapes: dict[tuple[tuple[int, ...], int | None, bool], list[tuple[Any, ...]]] = {}  # see _new_cells
        self.str_tags = tuple(t.decode() for t in (self.c_open, self.v_open, self.v_close, self.c_close))
        self.plain_row = b"<" + p + b'row r="'

    def style_for(self, col: int, row_style: int | None, n: int = 0) -> int | None:
        """A new cell's style: the column's records' style; for cells set by address, the row's or <col>'s."""
        if n in self.at_rows:
            return row_style if row_style is not None else self.plan.col_default.get(col)
        s = self.plan.col_style.get(col)
        return s if s is not None else row_style

    def cell(self, ref: str, value: Cell, style: int | None, keep: bytes = b"") -> bytes:
        """One ``<c>`` element; ``keep`` holds the attributes of the cell it replaces."""
        attrs = b' r="' + ref.encode() + b'"'
        if keep and keep.count(b"=") > (b' r="' in keep) + (b' s="' in keep) + (b' t="' in keep):
            extra = _KEEP_OUT.sub(b"", keep).strip()
            if extra:
                attrs += b" " + extra
        body = b""
        kind = b""
        if value is None:
            pass
        elif isinstance(value, bool):
            kind, body = b"b", self.v_open + (b"1" if value else b"0") + self.v_close
        elif isinstance(value, int | float | Decimal):
            if isinstance(value, float) and (value != value or value in (float("inf"), float("-inf"))):
                raise ValueError(f"{ref}: {value} cannot be written to Excel")
            text = repr(value) if isinstance(value, float) else str(value)
            body = self.v_open + text.encode() + self.v_close
        elif isinstance(value, dt.date):
            style = self.ctx.styles.date_style(style or 0, isinstance(value, dt.datetime))
            body = self.v_open + self.ctx.book.serial(value).encode() + self.v_close
        else:
            text = str(value)
            if len(text) > MAX_TEXT:
                text = text[:MAX_TEXT - 1] + "…"
                self.truncated = True
                self.plan._problem("warning", ref, f"a text longer than {MAX_TEXT} characters was cut",
                                   "Excel cannot hold more in one cell")
            space = b' xml:space="preserve"' if text != text.strip() or "\n" in text else b""
            kind = b"inlineStr"
            body = self.is_open + space + b">" + _escape(text) + self.is_close
        if style:
            attrs += b' s="' + str(style).encode() + b'"'
        if kind:
            attrs += b' t="' + kind + b'"'
        self.changed.append(ref)
        if not body:
            return self.c_open + attrs + b"/>"
        return self.c_open + attrs + b">" + body + self.c_close

    def new_row(self, n: int, sets: dict[int, Cell]) -> bytes:
        p = self.rx.p
        cells = b"".join(self.cell(f"{col_letters(c)}{n}", sets[c], self.style_for(c, None, n)) for c in sorted(sets))
        return b"<" + p + b'row r="' + str(n).encode() + b'">' + cells + b"</" + p + b"row>"

    def edit_row(self, chunk: bytes, orig: int, final: int, sets: dict[int, Cell], tried: bool = False) -> bytes:
        """The row with ``sets`` written and renumbered ``final``; ``tried``: ``_appended`` already
        said no for this plain row (so it is not asked again)."""
        rx = self.rx
        if sets and final == orig and not tried:
            start = self.plain_row + str(final).encode() + b'">'
            if chunk.startswith(start):  # a row tag with nothing else to change, and its cells
                end = len(chunk) - len(rx.close_row)
                added = self._appended(chunk, final, sets, None, len(start), end)
                if added is not None:
                    return chunk[:end] + added + rx.close_row
                tried = True
        tag_end = chunk.find(b">") + 1
        start = chunk[:tag_end]
        closed = start.endswith(b"/>")
        body = b"" if closed else chunk[tag_end:len(chunk) - len(rx.close_row)]
        if closed:
            start = start[:-2].rstrip() + b">"
        n = str(final).encode()
        m = rx.row_r.search(start)
        if m:
            if m.group(2) != n:
                start = start[:m.start(2)] + n + start[m.end(2):]
        else:
            start = start[:len(rx.p) + 4] + b' r="' + n + b'"' + start[len(rx.p) + 4:]
        if final != orig:
            body = rx.cell_r.sub(lambda c: c.group(1) + n + c.group(3), body)
        if sets:
            row_s = _S_ATTR.search(start) if b"customFormat=\"1\"" in start else None
            body = self._set_cells(body, final, sets, int(row_s.group(1)) if row_s else None, tried)
            spans = _SPANS.search(start)
            if spans:
                lo = min(int(spans.group(1)), *sets)
                hi = max(int(spans.group(2)), *sets)
                start = start[:spans.start()] + f' spans="{lo}:{hi}"'.encode() + start[spans.end():]
        return start + body + rx.close_row

    def _appended(self, body: bytes, n: int, sets: dict[int, Cell], row_style: int | None,
                  lo: int = 0, hi: int | None = None) -> bytes | None:
        """The common case, fast: every cell of ``body[lo:hi]`` is referenced and left of the cells set.

        Such a row gets the new cells after its others: they are returned (what ``_set_cells``
        puts after the body); None for any other row.
        """
        hi = len(body) if hi is None else hi
        letters = self.ref_start.findall(body, lo, hi)
        if len(letters) != body.count(self.c_open, lo, hi) and \
                len(letters) != sum(body.count(t, lo, hi) for t in self.any_cell):
            return None
        if letters:
            try:
                last = max(map(_col_numbers.__getitem__, letters))
            except KeyError:
                last = max(map(_col_of, letters))
            if last >= min(sets):
                return None
        return self._new_cells(n, sets, row_style)

    def _new_cells(self, n: int, sets: dict[int, Cell], row_style: int | None) -> bytes:
        """``cell()`` for each of ``sets``, in column order, where no cell was: finite floats and
        short texts without its detours, built as one text (the fixed pieces from ``_shape``)."""
        texts, changed = self._texts, self.changed
        row = str(n)
        out = []
        for col, letters, start, number, number_end, text, text_end, style in self._shape(sets, row_style, n):
            value = sets[col]
            if type(value) is float and value - value == 0:  # finite
                out.append(f"{start}{row}{number}{value!r}{number_end}")
            elif type(value) is str and len(value) < 256:
                body = texts.get(value)
                if body is None:
                    body = self._text(value)
                out.append(f"{start}{row}{text}{body}{text_end}")
            else:
                out.append(self.cell(letters + row, value, style).decode("utf-8"))
                continue
            changed.append(letters + row)
        return "".join(out).encode("utf-8")

    def cells_of_rows(self, rows: list[int], sets: list[dict[int, Cell]]) -> list[tuple[bytes, list[str]] | None]:
        """What ``_new_cells(n, sets[j], None)`` makes for each row ``n = rows[j]``, and the
        letters of its cells (``changed`` is left to the caller), made a column at a time for
        the rows that set the same columns: a few calls in C a column rather than a loop in
        Python a cell (a refresh sets 100,000 rows' Paid, Balance and Status). None for a row
        to make one by one (a value other than a finite float or a short text in its column)."""
        out: list[tuple[bytes, list[str]] | None] = [None] * len(rows)
        if not self.at_rows.isdisjoint(rows):
            return out
        alike: dict[tuple[int, ...], list[int]] = {}
        for j, s in enumerate(sets):
            alike.setdefault(tuple(s), []).append(j)
        for js in alike.values():
            made = self._cells_alike([rows[j] for j in js], [sets[j] for j in js])
            if made is not None:
                letters = made[1]
                for j, cells in zip(js, made[0], strict=True):
                    out[j] = cells, letters
        return out

    def _cells_alike(self, rows: list[int], sets: list[dict[int, Cell]]) -> tuple[list[bytes], list[str]] | None:
        """``cells_of_rows`` for rows that set the same columns, or None."""
        numbers = list(map(str, rows))
        shape = self._shape(sets[0], None, rows[0])
        columns = []
        for col, _, start, number, number_end, text, text_end, _ in shape:
            values: list[Any] = [s[col] for s in sets]
            kinds = set(map(type, values))
            if kinds == {float} and all(map(math.isfinite, values)):
                columns.append([f"{start}{r}{number}{v!r}{number_end}" for r, v in zip(numbers, values, strict=True)])
            elif kinds == {str} and max(map(len, values)) < 256:
                bodies = {v: self._texts.get(v) or self._text(v) for v in set(values)}
                columns.append([f"{start}{r}{text}{bodies[v]}{text_end}" for r, v in zip(numbers, values, strict=True)])
            else:
                return None
        return ["".join(cells).encode("utf-8") for cells in zip(*columns, strict=True)], [c[1] for c in shape]

    def _shape(self, sets: dict[int, Cell], row_style: int | None, n: int) -> list[tuple[Any, ...]]:
        """What new cells of these columns share from row to row (their letters and styles, the
        tags around a number or a text), worked out once for each shape of row (which columns,
        which row style)."""
        key = (tuple(sets), row_style, n in self.at_rows)
        shape = self._shapes.get(key)
        if shape is None:
            c_open, v_open, v_close, c_close = self.str_tags
            shape = self._shapes[key] = [
                (col, letters, f'{c_open} r="{letters}', f'{s}">{v_open}', f"{v_close}{c_close}",
                 f'{s}" t="inlineStr">', c_close, style)
                for col in sorted(sets) for style in (self.style_for(col, row_style, n),)
                for letters, s in ((_col_name(col), f'" s="{style}' if style else ""),)]
        return shape

    def _text(self, text: str) -> str:
        """An inline string's ``<is>`` element, as ``cell()`` writes it (remembered: texts repeat)."""
        space = b' xml:space="preserve"' if text != text.strip() or "\n" in text else b""
        body = (self.is_open + space + b">" + _escape(text) + self.is_close).decode("utf-8")
        if len(self._texts) < 10_000:
            self._texts[text] = body
        return body

    def _starts(self, body: bytes) -> list[tuple[int, int]] | None:
        """(column, offset) of each cell, when every cell starts with its reference; else None."""
        found = [(_col_of(m.group(1)), m.start()) for m in self.ref_start.finditer(body)]
        if body.count(self.c_open) == len(found):
            return found
        total = sum(body.count(t) for t in self.any_cell)  # <color> and the like also start <c
        return found if len(found) == total else None

    def _set_cells(self, body: bytes, n: int, sets: dict[int, Cell], row_style: int | None,
                   tried: bool = False) -> bytes:
        added = None if tried else self._appended(body, n, sets, row_style)
        if added is not None:
            return body + added
        starts = self._starts(body)
        if starts is None:
            return self._set_cells_any(body, n, sets, row_style)
        rx = self.rx
        out: list[bytes] = []
        pos = i = 0
        for col in sorted(sets):
            while i < len(starts) and starts[i][0] < col:
                i += 1
            ref = f"{col_letters(col)}{n}"
            if i < len(starts) and starts[i][0] == col:
                m = rx.cell.match(body, starts[i][1])
                if m is None:
                    return self._set_cells_any(body, n, sets, row_style)
                attrs, inner = m.group(1), m.group(2)
                if inner and rx.f.search(inner):
                    self.ctx.formula_removed = True
                s = _S_ATTR.search(attrs)
                out.append(body[pos:m.start()])
                out.append(self.cell(ref, sets[col], int(s.group(1)) if s else self.style_for(col, row_style, n), attrs))
                pos = m.end()
                i += 1
            else:
                at = starts[i][1] if i < len(starts) else len(body)
                out.append(body[pos:at])
                out.append(self.cell(ref, sets[col], self.style_for(col, row_style, n)))
                pos = at
        out.append(body[pos:])
        return b"".join(out)

    def _set_cells_any(self, body: bytes, n: int, sets: dict[int, Cell], row_style: int | None) -> bytes:
        """The general case: cells without references, in any order of attributes."""
        rx = self.rx
        cells = _cells(body, rx)
        existing = {c.col for c in cells}
        pending = sorted(c for c in sets if c not in existing)
        out: list[bytes] = []
        pos = 0
        for c in cells:
            while pending and pending[0] < c.col:
                col = pending.pop(0)
                out.append(self.cell(f"{col_letters(col)}{n}", sets[col], self.style_for(col, row_style, n)))
            out.append(body[pos:c.start])
            ref = f"{col_letters(c.col)}{n}"
            if c.col in sets:
                if c.inner and rx.f.search(c.inner):
                    self.ctx.formula_removed = True
                s = _S_ATTR.search(c.attrs)
                out.append(self.cell(ref, sets[c.col], int(s.group(1)) if s else self.style_for(c.col, row_style, n),
                                     c.attrs))
            elif not c.has_ref:
                raw = body[c.start:c.end]
                out.append(raw[:len(rx.p) + 2] + b' r="' + ref.encode() + b'"' + raw[len(rx.p) + 2:])
            else:
                out.append(body[c.start:c.end])
            pos = c.end
        out.extend(self.cell(f"{col_letters(col)}{n}", sets[col], self.style_for(col, row_style, n)) for col in pending)
        out.append(body[pos:])
        return b"".join(out)


# --- the zip, copied entry by entry --------------------------------------------------------

_LOCAL = struct.Struct("<IHHHHHIIIHH")
_CENTRAL = struct.Struct("<IHHHHHHIIIHHHHHII")
_END = struct.Struct("<IHHHHIIH")


def _central_records(f: BinaryIO) -> tuple[list[bytes], bytes]:
    """The raw central directory records of a zip, and its comment."""
    f.seek(0, 2)
    size = f.tell()
    f.seek(max(0, size - 65_557))
    tail = f.read()
    i = tail.rfind(b"PK\x05\x06")
    if i < 0:
        raise BadWorkbook("not a zip file")
    _, _, _, _, count, cd_size, cd_offset, clen = _END.unpack_from(tail, i)
    if count == 0xFFFF or cd_offset == 0xFFFFFFFF:
        raise BadWorkbook("zip64 workbooks (over 4 GB) are not supported")
    comment = tail[i + 22:i + 22 + clen]
    f.seek(cd_offset)
    cd = f.read(cd_size)
    records = []
    pos = 0
    while pos + 46 <= len(cd) and cd[pos:pos + 4] == b"PK\x01\x02":
        nlen, elen, clen2 = struct.unpack_from("<HHH", cd, pos + 28)
        end = pos + 46 + nlen + elen + clen2
        records.append(cd[pos:end])
        pos = end
    return records, comment


def _dos_time(date_time: tuple[int, ...]) -> tuple[int, int]:
    y, mo, d, h, mi, s = date_time[:6]
    return (h << 11) | (mi << 5) | (s // 2), ((max(y, 1980) - 1980) << 9) | (mo << 5) | d


class _ZipOut:
    """Writes a zip: raw copies of entries of another zip, and new deflated entries."""

    def __init__(self, f: BinaryIO) -> None:
        self.f = f
        self.central: list[bytes] = []

    def copy(self, src: BinaryIO, info: zipfile.ZipInfo, record: bytes) -> None:
        offset = self.f.tell()
        src.seek(info.header_offset)
        header = src.read(30)
        sig, *_, nlen, elen = _LOCAL.unpack(header)
        if sig != 0x04034B50:
            raise BadWorkbook(f"damaged zip entry {info.filename}")
        length = nlen + elen + info.compress_size
        self.f.write(header)
        while length:
            data = src.read(min(length, BLOCK))
            if not data:
                raise BadWorkbook(f"truncated zip entry {info.filename}")
            self.f.write(data)
            length -= len(data)
        if info.flag_bits & 0x08:  # a data descriptor follows the data
            desc = src.read(16)
            self.f.write(desc if desc[:4] == b"PK\x07\x08" else desc[:12])
        if struct.unpack_from("<I", record, 42)[0] == 0xFFFFFFFF:
            raise BadWorkbook("zip64 workbooks are not supported")
        self.central.append(record[:42] + struct.pack("<I", offset) + record[46:])

    def write(self, name: str, chunks: Iterable[bytes], date_time: tuple[int, ...]) -> None:
        offset = self.f.tell()
        raw_name = name.encode("utf-8")
        flags = 0x0800 if not name.isascii() else 0
        t, d = _dos_time(date_time)
        self.f.write(_LOCAL.pack(0x04034B50, 20, flags, 8, t, d, 0, 0, 0, len(raw_name), 0) + raw_name)
        crc, size, csize = _compress(chunks, self.f.write, name)
        end = self.f.tell()
        self.f.seek(offset + 14)
        self.f.write(struct.pack("<III", crc, csize, size))
        self.f.seek(end)
        self.central.append(_CENTRAL.pack(0x02014B50, 20, 20, flags, 8, t, d, crc, csize, size,
                                          len(raw_name), 0, 0, 0, 0, 0, offset) + raw_name)

    def finish(self, comment: bytes) -> None:
        start = self.f.tell()
        cd = b"".join(self.central)
        self.f.write(cd)
        n = len(self.central)
        if n > 0xFFFF:
            raise BadWorkbook("too many parts in the workbook")
        self.f.write(_END.pack(0x06054B50, 0, 0, n, n, len(cd), start, len(comment)) + comment)


# --- putting it together -------------------------------------------------------------------


@dataclass
class _Deflated:
    """A part compressed ahead of time, so the zip can be assembled in the original order."""

    data: BinaryIO
    crc: int
    size: int
    csize: int


def _deflate(chunks: Iterable[bytes]) -> _Deflated:
    import tempfile

    spool = tempfile.SpooledTemporaryFile(max_size=64 << 20)  # noqa: SIM115 - closed by apply
    try:
        crc, size, csize = _consumed_in_thread(partial(_compress, write=spool.write, what="a sheet"), chunks)
    except BaseException:
        spool.close()
        raise
    spool.seek(0)
    return _Deflated(spool, crc, size, csize)  # type: ignore[arg-type]


def _compress(chunks: Iterable[bytes], write: Callable[[bytes], object], what: str) -> tuple[int, int, int]:
    """Deflate ``chunks`` (raw, as zip stores them) into ``write``; returns crc, size, compressed size."""
    comp = deflate.compressor()
    crc = size = csize = 0
    for chunk in chunks:
        crc = deflate.crc32(chunk, crc)
        size += len(chunk)
        out = comp.compress(chunk)
        csize += len(out)
        write(out)
    out = comp.flush()
    csize += len(out)
    write(out)
    if size >= 0xFFFFFFFF or csize >= 0xFFFFFFFF:
        raise BadWorkbook(f"{what} would exceed 4 GB")
    return crc, size, csize


def _write_deflated(out: _ZipOut, name: str, part: _Deflated, date_time: tuple[int, ...]) -> None:
    offset = out.f.tell()
    raw_name = name.encode("utf-8")
    flags = 0x0800 if not name.isascii() else 0
    t, d = _dos_time(date_time)
    out.f.write(_LOCAL.pack(0x04034B50, 20, flags, 8, t, d, part.crc, part.csize, part.size,
                            len(raw_name), 0) + raw_name)
    while data := part.data.read(BLOCK):
        out.f.write(data)
    out.central.append(_CENTRAL.pack(0x02014B50, 20, 20, flags, 8, t, d, part.crc, part.csize,
                                     part.size, len(raw_name), 0, 0, 0, 0, 0, offset) + raw_name)


def apply(src: Path, dst: Path, updates: Sequence[Update], where: Where | None = None,
          watch: Watch | None = None) -> WriteReport:
    """Write ``updates`` (in order) into a copy of the workbook ``src`` at ``dst``.

    Updates that cannot be applied (a key not found, a missing column) are reported in the
    returned report and the others are still applied. Raises WriteRefused when a deletion
    would have to move formulas or formatting, BadWorkbook when ``src`` cannot be updated.

    ``where`` tells the rows of keys, when the caller read them from this very file: those
    rows are not looked for (100,000 keys need not be read and matched), but each row written
    is checked to hold its key; should one not, the write starts again and looks every key up.
    ``watch`` sees each rewritten sheet's XML as it is written (to check it meanwhile).
    """
    src, dst = Path(src), Path(dst)
    if src.resolve() == dst.resolve():
        raise ValueError("apply() writes a new file: src and dst must differ")
    with quiet_gc():  # rows and cells by the 100,000: see addin.perf
        try:
            if where:
                try:
                    return _apply(src, dst, updates, where, watch)
                except _Misplaced:
                    pass  # the written copy is thrown away: it is written again below
            return _apply(src, dst, updates, None, watch)
        except zipfile.BadZipFile as exc:  # a part read by deflate.read_part (a bad CRC-32, a zip bomb)
            raise BadWorkbook(f"{src.name}: {exc}") from None


def _apply(src: Path, dst: Path, updates: Sequence[Update], where: Where | None = None,
           watch: Watch | None = None) -> WriteReport:
    report = WriteReport()
    pkg = _Package(src)
    deflated: dict[str, _Deflated] = {}
    try:
        book = _Book(pkg)
        ctx = _Context(book, _Styles(pkg.read(book.styles_part) if book.styles_part else None))
        plans = _plan(book, updates, report, where or {})
        edits: dict[str, bytes] = {}
        shared_strings = pkg.read(book.sst_part) if watch is not None and book.sst_part else None
        for plan in plans:
            chunks: Iterable[bytes] = plan.rewrite(ctx)
            if watch is not None:
                edited = len(plan.row_sets) + len(plan.new_rows) + len(plan.at_new) + len(plan.deleted)
                chunks = watch(plan.name, plan.entry.part, chunks, shared_strings, edited, len(plan.present))
            deflated[plan.entry.part] = _deflate(chunks)
            table = plan.table_xml()
            if table:
                edits[pkg.find(table[0]) or table[0]] = table[1]
        removed = _finish_book(book, ctx, plans, edits, report)
        records, comment = _central_records(pkg.file)
        if len(records) != len(pkg.infos):
            raise BadWorkbook("the zip directory cannot be read")
        now = dt.datetime.now().timetuple()[:6]
        with open(dst, "wb") as f:
            out = _ZipOut(f)
            for info, record in zip(pkg.infos, records, strict=True):
                if info.filename in removed:
                    continue
                if info.filename in deflated:
                    _write_deflated(out, info.filename, deflated.pop(info.filename), info.date_time)
                elif info.filename in edits:
                    out.write(info.filename, (edits[info.filename],), info.date_time)
                else:
                    out.copy(pkg.file, info, record)
            for name, part in deflated.items():  # sheets this write created
                _write_deflated(out, name, part, now)
            out.finish(comment)
    finally:
        for part in deflated.values():
            part.data.close()
        pkg.close()
    return report


def _plan(book: _Book, updates: Sequence[Update], report: WriteReport, where: Where) -> list[_SheetPlan]:
    """Group the updates by sheet (keeping their order) and plan each touched sheet."""
    groups: dict[str, list[tuple[int, Update]]] = {}
    keys: dict[str, str] = {}  # sheet name as given -> normalized (100,000 updates name 3 sheets)
    for i, u in enumerate(updates):
        key = keys.get(u.sheet)
        if key is None:
            key = keys[u.sheet] = _norm(u.sheet)
        groups.setdefault(key, []).append((i, u))
    plans = []
    for key, items in groups.items():
        entry = book.sheet(items[0][1].sheet)
        source = None
        if entry is None:
            writes_rows = any(isinstance(u, AppendRows | ReplaceRows) and u.rows for _, u in items)
            name = schema.sheet(key).name if key in schema.SHEETS_BY_KEY else items[0][1].sheet.strip()
            for i, u in items:
                if isinstance(u, SetCells | SetColumn):
                    report.skipped.append(i)
                    what = f'{u.key_header} "{u.key}"' if isinstance(u, SetCells) else f"{len(u.keys)} row(s)"
                    report.problems.append(warning(
                        name, "", f"the sheet is missing, so {what} was not updated" if isinstance(u, SetCells)
                        else f"the sheet is missing, so {what} were not updated", f'add a sheet named "{name}"'))
                elif isinstance(u, SetAt):
                    report.skipped.append(i)
                    cells = ", ".join(ref for ref, _ in u.cells[:3]) + (", …" if len(u.cells) > 3 else "")
                    report.problems.append(warning(
                        name, "", f"the sheet is missing, so {cells} were not written",
                        f'add a sheet named "{name}" (copy it from a workbook made by `receivables init`)'))
            if not writes_rows:
                continue
            items = [(i, u) for i, u in items if not isinstance(u, SetCells | SetColumn | SetAt)]
            entry = _new_entry(book, name)
            source = _new_sheet_xml(name)
            report.created.append(name)
        placed = {header: rows for (sheet, header), rows in where.items() if sheet == key and source is None}
        plan = _SheetPlan(book, entry, items, report, source, placed)
        plan.scan()
        if plan.plan():
            plans.append(plan)
    return plans


def _new_entry(book: _Book, name: str) -> _SheetEntry:
    used_parts = {n.casefold() for n in book.pkg.names} | {s.part.casefold() for s in book.sheets}
    k = 1
    while f"xl/worksheets/sheet{k}.xml" in used_parts:
        k += 1
    rids = {r.id for r in book.rels} | {s.rel_id for s in book.sheets}
    j = 1
    while f"rId{j}" in rids:
        j += 1
    sheet_id = max((s.sheet_id for s in book.sheets), default=0) + 1
    entry = _SheetEntry(name, sheet_id, f"rId{j}", f"xl/worksheets/sheet{k}.xml")
    book.sheets.append(entry)
    return entry


def _new_sheet_xml(name: str) -> bytes:
    """A new, empty sheet with a frozen header row and the schema's column widths."""
    cols = b""
    if _norm(name) in schema.SHEETS_BY_KEY:
        cols = b"".join(f'<col min="{i}" max="{i}" width="{c.width}" customWidth="1"/>'.encode()
                        for i, c in enumerate(schema.sheet(name).columns, 1))
        cols = b"<cols>" + cols + b"</cols>" if cols else b""
    return (b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\r\n'
            b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="'
            + NS_R + b'"><dimension ref="A1"/><sheetViews><sheetView workbookViewId="0">'
            b'<pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" state="frozen"/>'
            b'<selection pane="bottomLeft" activeCell="A2" sqref="A2"/></sheetView></sheetViews>'
            b'<sheetFormatPr defaultRowHeight="15"/>' + cols + b'<sheetData/>'
            b'<pageMargins left="0.7" right="0.7" top="0.75" bottom="0.75" header="0.3" footer="0.3"/>'
            b"</worksheet>")


def _edit(book: _Book, edits: dict[str, bytes], part: str, change: Callable[[bytes], bytes]) -> None:
    name = book.pkg.find(part)
    if name is None:
        raise BadWorkbook(f"the workbook has no part {part}")
    edits[name] = change(edits.get(name) or book.pkg.read(name))


def _insert_before_close(xml: bytes, local: bytes, item: bytes) -> bytes:
    m = re.search(rb"</(?:\w+:)?" + local + rb">", xml)
    if m is None:
        raise BadWorkbook(f"no </{local.decode()}> element where one is required")
    return xml[:m.start()] + item + xml[m.start():]


def _finish_book(book: _Book, ctx: _Context, plans: list[_SheetPlan], edits: dict[str, bytes],
                 report: WriteReport) -> set[str]:
    """Edit the small package parts the sheet changes call for; return the parts to drop."""
    pkg = book.pkg
    removed: set[str] = set()
    p = book.prefix
    for plan in plans:
        if plan.source is None:
            continue
        e = plan.entry
        m = re.search(rb"\sxmlns:(\w+)=\"" + re.escape(NS_R) + rb"\"", book.xml)
        rid = (m.group(1) + b":id") if m else b'xmlns:r="' + NS_R + b'" r:id'
        item = (b"<" + p + b'sheet name="' + _escape(e.name) + b'" sheetId="' + str(e.sheet_id).encode()
                + b'" ' + rid + b'="' + e.rel_id.encode() + b'"/>')
        _edit(book, edits, book.part, partial(_insert_before_close, local=b"sheets", item=item))
        target = posixpath.relpath(e.part, posixpath.dirname(book.part))
        rel = f'<Relationship Id="{e.rel_id}" Type="{REL_WORKSHEET}" Target="{target}"/>'.encode()
        _edit(book, edits, _rels_name(book.part), partial(_insert_before_close, local=b"Relationships", item=rel))
        ct = f'<Override PartName="/{e.part}" ContentType="{CT_WORKSHEET}"/>'.encode()
        _edit(book, edits, "[Content_Types].xml", partial(_insert_before_close, local=b"Types", item=ct))
    styles = ctx.styles.result()
    if styles is not None and book.styles_part:
        edits[pkg.find(book.styles_part) or book.styles_part] = styles
    if ctx.formula_removed and book.calc_chain_part:
        removed.add(pkg.find(book.calc_chain_part) or book.calc_chain_part)
        part_name = re.escape(("/" + book.calc_chain_part).encode())
        _edit(book, edits, "[Content_Types].xml", lambda x: re.sub(
            rb"<(?:\w+:)?Override\b[^>]*\bPartName=\"" + part_name + rb"\"[^>]*/>", b"", x, flags=re.I))
        _edit(book, edits, _rels_name(book.part), lambda x: re.sub(
            rb"<(?:\w+:)?Relationship\b[^>]*\bType=\"[^\"]*/calcChain\"[^>]*/>", b"", x))
        report.calc_chain_removed = True
    if plans and _needs_recalc(book, plans):
        _edit(book, edits, book.part, lambda x: _full_calc_on_load(x, p))
        report.full_calc_on_load = True
    return removed


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
    return _insert_before_close(xml, b"workbook", item)


def _needs_recalc(book: _Book, plans: list[_SheetPlan]) -> bool:
    """Whether a formula may read a cell this write changed (so cached results are stale).

    Formulas on a touched sheet count; elsewhere a formula counts when its text names a touched
    sheet, one of its tables, a defined name pointing into it, or uses INDIRECT. The sheets that
    hold formulas are the ones calcChain lists (Excel writes it whenever there are formulas);
    without a calcChain every other sheet is read.
    """
    calc_pr = re.search(rb"<" + book.prefix + rb"calcPr\b[^>]*>", book.xml)
    if calc_pr and re.search(rb"\sfullCalcOnLoad=\"(?:1|true)\"", calc_pr.group()):
        return False
    if any(plan.formula_rows for plan in plans):
        return True
    touched = {plan.entry.part for plan in plans}
    terms = {plan.name.casefold() for plan in plans}
    for plan in plans:
        for t in plan.tables:
            m = re.search(rb"<(?:\w+:)?table\b[^>]*?\sdisplayName=\"([^\"]+)\"", t.xml)
            if m:
                terms.add(_unescape(m.group(1)).casefold())
    terms |= {name.casefold() for name, value in book.defined_names
              if any(t in value.casefold() for t in list(terms))}
    terms.add("indirect(")
    sheets = [s for s in book.sheets if s.part not in touched and book.pkg.find(s.part)]
    if book.calc_chain_part:
        ids = {int(i) for i in re.findall(rb"\si=\"(\d+)\"", book.pkg.read(book.calc_chain_part))}
        sheets = [s for s in sheets if s.sheet_id in ids]
    for s in sheets:
        with book.pkg.open(s.part) as stream:
            first = stream.read(8192)
            rx = _rx(_root_prefix(first, b"worksheet"))
            for kind, chunk in _tokens(_Prepend(first, stream), rx):  # type: ignore[arg-type]
                if kind == ROW and b"<" + rx.p + b"f" in chunk:
                    for m in rx.f_text.finditer(chunk):
                        text = _unescape(m.group(1)).casefold()
                        if any(t in text for t in terms):
                            return True
    return False
