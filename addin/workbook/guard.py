"""Guards around every write to the user's workbook.

Is the workbook open in Excel or LibreOffice (their owner files)? Has it changed since we
read it (fingerprints)? Keep a backup, check the new file opens, and replace the old one
atomically, retrying while Windows holds the file (sharing violations).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import io
import operator
import os
import queue
import re
import shutil
import threading
import zipfile
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from itertools import compress
from pathlib import Path
from typing import TYPE_CHECKING

from ..problems import Problem, error, warning
from . import deflate
from .files import (
    REPLACE_FIRST_WAIT,
    REPLACE_TRIES,
    fsync_dir,
    fsync_file,
    keep_permissions,
    replace_with_retry,
)
from .schema import normalize

if TYPE_CHECKING:
    from python_calamine import CalamineWorkbook

BACKUP_DIR = ".receivables-backups"
STALE_OWNER = dt.timedelta(days=1)


def owner_candidates(path: Path) -> list[Path]:
    """Where Excel and LibreOffice put the owner file of the workbook at ``path``.

    Excel writes ``~$`` before the name, replacing the first two characters of long names
    (``~$ceivables.xlsx`` for ``Receivables.xlsx``); LibreOffice writes ``.~lock.<name>#``.
    """
    name = path.name
    names = ["~$" + name, ".~lock." + name + "#"]
    if len(name) > 2:
        names.insert(1, "~$" + name[2:])
    return [path.with_name(n) for n in dict.fromkeys(names)]


def find_owner(path: Path, now: dt.datetime | None = None) -> tuple[Path | None, list[Problem]]:
    """The owner file saying someone has the workbook open, and warnings about stale ones.

    An owner file older than the workbook's last save and older than a day is left behind by a
    crash: it is ignored, with a warning.
    """
    path = Path(path)
    now = now or dt.datetime.now()
    problems: list[Problem] = []
    try:
        saved = path.stat().st_mtime
    except OSError:
        saved = 0.0
    for candidate in owner_candidates(path):
        try:
            mtime = candidate.stat().st_mtime
        except OSError:
            continue
        age = now - dt.datetime.fromtimestamp(mtime)
        if mtime < saved and age > STALE_OWNER:
            problems.append(warning(
                "", "", f"{candidate.name} looks left over from a crash (older than the workbook's last "
                f"save, {age.days} days old), so it was ignored",
                f"delete {candidate.name} if nobody has {path.name} open"))
            continue
        return candidate, problems
    return None, problems


def open_in(owner: Path) -> str:
    """Who has the workbook open, for a person, from its owner file: ``open in Excel``, or
    ``open in LibreOffice (lock file .~lock.books.xlsx#)``."""
    if owner.name.startswith(".~lock."):
        return f"open in LibreOffice (lock file {owner.name})"
    return "open in Excel"


def owner_file(path: Path) -> Path | None:
    """The owner file of a workbook open in Excel or LibreOffice, or None."""
    return find_owner(path)[0]


@dataclass(frozen=True)
class Fingerprint:
    """What a file was when it was read: size, modification time and content hash."""

    size: int
    mtime_ns: int
    sha256: str

    def same_file(self, other: Fingerprint | None) -> bool:
        return other is not None and self.sha256 == other.sha256 and self.size == other.size


def fingerprint(path: Path) -> Fingerprint:
    """Fingerprint of the file at ``path`` (read in blocks; a big workbook is not held in memory)."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        st = os.fstat(f.fileno())
        while block := f.read(1 << 20):
            h.update(block)
    return Fingerprint(st.st_size, st.st_mtime_ns, h.hexdigest())


def replace_atomically(tmp: Path, path: Path, tries: int = REPLACE_TRIES,
                       first_wait: float = REPLACE_FIRST_WAIT) -> None:
    """Put ``tmp`` in place of ``path`` in one step: readers see the old file or the new one.
    ``tmp`` takes the permissions of ``path`` first (a private workbook stays private).

    Windows refuses to replace a file another program holds open (a sharing violation, raised
    as PermissionError): retry with growing waits, then let the error through.
    """
    tmp, path = Path(tmp), Path(path)
    keep_permissions(path, tmp)
    fsync_file(tmp)
    replace_with_retry(tmp, path, tries, first_wait)
    fsync_dir(path.parent)


def backup_folder(path: Path) -> Path:
    return Path(path).parent / BACKUP_DIR


def backup(path: Path, keep: int, now: dt.datetime | None = None) -> Path | None:
    """Copy the workbook into ``.receivables-backups/`` and keep only its ``keep`` newest copies."""
    if keep <= 0:
        return None
    path = Path(path)
    folder = backup_folder(path)
    folder.mkdir(exist_ok=True)
    stamp = (now or dt.datetime.now()).strftime("%Y%m%d-%H%M%S-%f")
    target = folder / f"{path.stem}.{stamp}{path.suffix}"
    tmp = target.with_name(target.name + ".part")
    shutil.copyfile(path, tmp)
    keep_permissions(path, tmp)  # a copy of a private workbook is as private
    os.replace(tmp, target)
    for old in backups(path)[:-keep]:
        with contextlib.suppress(OSError):  # pruned by another process, or held on Windows
            old.unlink()
    return target


def backups(path: Path) -> list[Path]:
    """This workbook's backups, oldest first."""
    path = Path(path)
    folder = backup_folder(path)
    if not folder.is_dir():
        return []
    prefix, suffix = path.stem + ".", path.suffix
    found = [p for p in folder.iterdir()
             if p.name.startswith(prefix) and p.name.endswith(suffix) and _is_stamp(p.name[len(prefix):-len(suffix) or None])]
    return sorted(found, key=lambda p: p.name)


def _is_stamp(text: str) -> bool:
    try:
        dt.datetime.strptime(text, "%Y%m%d-%H%M%S-%f")
    except ValueError:
        return False
    return True


class Pieces:
    """Rewritten sheets checked while they are written, for ``verify``.

    The writer hands each rewritten sheet's XML over as it writes it, in blocks of whole rows
    (``watch``). Every few MB of rows, behind the sheet's head and closed, go to python-calamine
    in a helper thread: calamine parses without holding the GIL, so on two cores the check runs
    beside the writing instead of after it. ``verify`` then need not parse those sheets again;
    it reads their parts back from the written file, which proves by CRC-32 that the file holds
    exactly the bytes checked. ``close`` waits for the last piece.

    With ``source``, the workbook being updated, and ``parsed``, the sheets (normalized names)
    its reader has just parsed whole from that very file: such a sheet of which the writer
    changes few rows is compared, once written, with the same sheet in ``source``, row by row;
    only the rows that differ (and the sheet's head and end) are parsed. The others are the
    very bytes the reader parsed.
    """

    SIZE = 4 << 20  # bytes of rows in a piece: each piece parses the shared strings again
    AHEAD = 3  # pieces that may wait for the checker: the writer goes on rather than wait for it
    FEW = 10  # a sheet is compared with its source when at most one row in FEW changes

    def __init__(self, source: Path | None = None, parsed: frozenset[str] = frozenset()) -> None:
        self.source, self.parsed = source, parsed
        self.parts: dict[str, str] = {}  # sheet checked whole -> its part in the zip
        self.failures: list[tuple[str, BaseException]] = []
        self._todo: queue.Queue[tuple[str, Callable[[], bytes], bytes | None] | None] = queue.Queue(self.AHEAD)
        self._thread: threading.Thread | None = None

    def watch(self, sheet: str, part: str, chunks: Iterable[bytes], shared_strings: bytes | None,
              edited: int = -1, rows: int = 0) -> Iterator[bytes]:
        """``chunks`` as they come, checked on the way: the first is the sheet's head, up to and
        with ``<sheetData>``; the last holds its end. A sheet of another shape is left to ``verify``.
        ``edited``: how many of the sheet's ``rows`` the writer changes, adds or removes."""
        few = self.source is not None and normalize(sheet) in self.parsed and 0 <= edited * self.FEW <= rows
        try:
            if few:
                yield from self._compared(sheet, part, chunks, shared_strings)
            else:
                yield from self._pieces(sheet, part, chunks, shared_strings)
        finally:
            close = getattr(chunks, "close", None)
            if close is not None:  # left early: the writer's generator lets go of its streams now
                close()

    def _pieces(self, sheet: str, part: str, chunks: Iterable[bytes], shared_strings: bytes | None) -> Iterator[bytes]:
        head: bytes | None = None
        close = end_rows = b""
        ended = False
        rows: list[bytes] = []
        size = 0
        for chunk in chunks:
            yield chunk
            if head is None:
                head = chunk
                m = _SHEET_DATA_OPEN.search(head[-200:])
                prefix = (m.group(1) or b"") if m else b""
                end_rows = b"</%ssheetData>" % prefix
                close = end_rows + b"</%sworksheet>" % prefix if m else b""
                continue
            if not close:
                continue
            if size >= self.SIZE and not ended:  # the rows so far make a piece; this chunk may be the last
                self._put(sheet, head + b"".join(rows) + close, shared_strings)
                rows, size = [], 0
            rows.append(chunk)
            size += len(chunk)
            ended = ended or end_rows in chunk  # the rows end here: the rest is one piece
        if head is not None and close and rows:
            self._put(sheet, head + b"".join(rows), shared_strings)  # the last piece ends as the sheet does
            self.parts[sheet] = part

    def _compared(self, sheet: str, part: str, chunks: Iterable[bytes], shared_strings: bytes | None) -> Iterator[bytes]:
        assert self.source is not None
        source = _ReadBack(self.source, [part], keep=True)  # read meanwhile, in its own thread
        written: list[bytes] = []
        try:
            for chunk in chunks:
                yield chunk
                written.append(chunk)
        except BaseException:
            source.wait()  # the write stopped: let go of the workbook before the caller goes on
            raise

        def rows_that_differ() -> bytes:
            source.result()
            new = b"".join(written)
            written.clear()  # let go of what is not needed any more: two copies of a large sheet are
            old = source.kept.pop()  # about to be split into rows
            return _rows_that_differ(old, new)

        self._put(sheet, rows_that_differ, shared_strings)
        self.parts[sheet] = part

    def _put(self, sheet: str, xml: bytes | Callable[[], bytes], shared_strings: bytes | None) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="receivables-check", daemon=True)
            self._thread.start()
        self._todo.put((sheet, xml if callable(xml) else (lambda: xml), shared_strings))

    def _run(self) -> None:
        from python_calamine import CalamineWorkbook

        while (item := self._todo.get()) is not None:
            sheet, make, shared_strings = item
            if self.failures:
                continue  # one is enough; keep taking pieces so the writer never waits
            try:
                xml = make()
                with CalamineWorkbook.from_filelike(_one_sheet_package(xml, shared_strings)) as wb:
                    wb.get_sheet_by_name("S")
            except Exception as exc:  # noqa: BLE001 - reported by verify
                self.failures.append((sheet, exc))

    def close(self) -> None:
        """Wait for the pieces handed over to be checked. The writer is done: pieces still
        waiting are shared with a second checker, each on its own core."""
        if self._thread is not None:
            threads = [self._thread]
            if not self._todo.empty():
                threads.append(threading.Thread(target=self._run, name="receivables-check", daemon=True))
                threads[-1].start()
            for _ in threads:
                self._todo.put(None)  # one end for each checker
            for thread in threads:
                thread.join()
            self._thread = None


_SHEET_DATA_OPEN = re.compile(rb"<(\w+:)?sheetData(?:\s[^>]*)?>\s*$")
_ROOT = re.compile(rb"<(\w+:)?worksheet[\s>]")


def _rows_that_differ(old: bytes, new: bytes) -> bytes:
    """The sheet ``new`` with only its rows that are not, byte for byte, the row at the same
    place in ``old``, behind its head (and first row) and before its end; all of ``new`` when
    the two do not have as many rows."""
    m = _ROOT.search(new[:65536])
    close = b"</%srow>" % ((m.group(1) or b"") if m else b"")
    before, after = old.split(close), new.split(close)
    if len(before) != len(after) or len(after) < 3:
        return new
    differ = compress(after[1:-1], map(operator.ne, before[1:-1], after[1:-1]))
    return close.join([after[0], *differ, after[-1]])


_NS_MAIN = b"http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_NS_REL = b"http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_NS_PKG_REL = b"http://schemas.openxmlformats.org/package/2006/relationships"
_CT_MAIN = b"application/vnd.openxmlformats-officedocument.spreadsheetml"


def _one_sheet_package(sheet_xml: bytes, shared_strings: bytes | None) -> io.BytesIO:
    """An .xlsx in memory holding one sheet "S" (and the workbook's shared strings)."""
    sst_type = b'<Override PartName="/xl/sharedStrings.xml" ContentType="%s.sharedStrings+xml"/>' % _CT_MAIN
    sst_rel = b'<Relationship Id="rId2" Type="%s/sharedStrings" Target="sharedStrings.xml"/>' % _NS_REL
    parts = {
        "[Content_Types].xml": b'<?xml version="1.0" encoding="UTF-8"?><Types '
        b'xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" '
        b'ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" '
        b'ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="%s.sheet.main+xml"/>'
        b'<Override PartName="/xl/worksheets/sheet1.xml" ContentType="%s.worksheet+xml"/>%s</Types>'
        % (_CT_MAIN, _CT_MAIN, sst_type if shared_strings else b""),
        "_rels/.rels": b'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="%s"><Relationship Id="rId1" '
        b'Type="%s/officeDocument" Target="xl/workbook.xml"/></Relationships>' % (_NS_PKG_REL, _NS_REL),
        "xl/workbook.xml": b'<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="%s" xmlns:r="%s"><sheets>'
        b'<sheet name="S" sheetId="1" r:id="rId1"/></sheets></workbook>' % (_NS_MAIN, _NS_REL),
        "xl/_rels/workbook.xml.rels": b'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="%s">'
        b'<Relationship Id="rId1" Type="%s/worksheet" Target="worksheets/sheet1.xml"/>%s</Relationships>'
        % (_NS_PKG_REL, _NS_REL, sst_rel if shared_strings else b""),
        "xl/worksheets/sheet1.xml": sheet_xml,
    }
    if shared_strings:
        parts["xl/sharedStrings.xml"] = shared_strings
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as z:
        for name, data in parts.items():
            z.writestr(name, data)
    out.seek(0)
    return out


def verify(path: Path, sheets: list[str] | tuple[str, ...] = (), pieces: Pieces | None = None) -> list[Problem]:
    """Check the file opens: python-calamine reads every sheet name and the given sheets.

    Sheets already checked in ``pieces`` while they were written are not parsed again: their
    parts are read back from the file (``deflate.read_part`` checks each part's CRC-32, which the
    writer took of the very bytes the pieces held), beside the parsing of the others.

    Two readers share the sheets to parse: this thread takes them from the front, a helper
    thread from the back. calamine parses without holding the GIL, so on two cores a refresh's
    Customers and Dashboard are read while Invoices is. Two readers, not one per sheet: each
    reader parses the shared strings again when it opens.
    """
    from python_calamine import CalamineWorkbook

    if pieces is not None and pieces.failures:
        sheet, exc = pieces.failures[0]
        return [error("", "", f"the updated workbook did not open again ({sheet}: {exc}), so it was not saved",
                      "the workbook is unchanged; report this as a bug")]
    checked = {name: pieces.parts[name] for name in sheets if name in pieces.parts} if pieces is not None else {}
    read_back = _ReadBack(path, list(checked.values()))
    try:
        with CalamineWorkbook.from_path(str(path)) as wb:
            names = set(wb.sheet_names)
            for name in sheets:
                if name not in names:
                    return [error(name, "", "the written workbook lacks this sheet", "report this as a bug")]
            todo = deque(name for name in sheets if name not in checked)
            failed: list[BaseException] = []
            helper = None
            if len(todo) > 1:
                helper = threading.Thread(target=_read_sheets_from_back, args=(path, todo, failed),
                                          name="receivables-verify", daemon=True)
                helper.start()
            try:
                while todo:
                    try:
                        name = todo.popleft()
                    except IndexError:  # the helper took the last one
                        break
                    _read_sheet(wb, name)
            finally:
                if helper is not None:
                    todo.clear()  # on a failure here, the helper stops after its current sheet
                    helper.join()
            if failed:
                raise failed[0]
        read_back.result()
    except Exception as exc:  # noqa: BLE001 - any failure means the file must not replace the workbook
        return [error("", "", f"the updated workbook did not open again ({exc}), so it was not saved",
                      "the workbook is unchanged; report this as a bug")]
    finally:
        read_back.wait()  # the copy is deleted or replaces the workbook next: nothing may hold it
    return []


class _ReadBack:
    """Parts of the zip at ``path`` read to their end in a helper thread: ``deflate.read_part``
    checks the CRC-32 and size of each. ``result()`` waits and raises what the reading raised."""

    def __init__(self, path: Path, parts: list[str], keep: bool = False) -> None:
        self.path, self.parts, self.keep = path, parts, keep
        self.kept: list[bytes] = []  # with ``keep``: each part's bytes
        self.failure: BaseException | None = None
        self.thread = threading.Thread(target=self._run, name="receivables-read-back", daemon=True)
        if parts:
            self.thread.start()

    def _run(self) -> None:
        try:
            with zipfile.ZipFile(self.path) as z, open(self.path, "rb") as f:
                for part in self.parts:
                    blocks = deflate.read_part(f, z.getinfo(part))  # checks the CRC-32 at its end
                    if self.keep:
                        self.kept.append(b"".join(blocks))
                        continue
                    for _ in blocks:
                        pass
        except BaseException as exc:  # noqa: BLE001 - raised by result()
            self.failure = exc

    def wait(self) -> None:
        if self.parts:
            self.thread.join()

    def result(self) -> None:
        self.wait()
        if self.failure is not None:
            raise self.failure


def _read_sheet(wb: CalamineWorkbook, name: str) -> None:
    """Read every row of one sheet (raises what calamine raises)."""
    for _ in wb.get_sheet_by_name(name).iter_rows():
        pass


def _read_sheets_from_back(path: Path, todo: deque[str], failed: list[BaseException]) -> None:
    """verify's helper: its own reader, sheets taken from the back of ``todo`` until none is left."""
    from python_calamine import CalamineWorkbook

    try:
        with CalamineWorkbook.from_path(str(path)) as wb:
            while todo:
                try:
                    name = todo.pop()
                except IndexError:
                    return
                _read_sheet(wb, name)
    except Exception as exc:  # noqa: BLE001 - raised by verify in its own thread
        failed.append(exc)
        todo.clear()
