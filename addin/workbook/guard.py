"""Guards around every write to the user's workbook.

Is the workbook open in Excel or LibreOffice (their owner files)? Has it changed since we
read it (fingerprints)? Keep a backup, check the new file opens, and replace the old one
atomically, retrying while Windows holds the file (sharing violations).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import os
import shutil
import threading
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ..problems import Problem, error, warning
from .files import REPLACE_FIRST_WAIT, REPLACE_TRIES, fsync_dir, fsync_file, replace_with_retry

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

    Windows refuses to replace a file another program holds open (a sharing violation, raised
    as PermissionError): retry with growing waits, then let the error through.
    """
    tmp, path = Path(tmp), Path(path)
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


def verify(path: Path, sheets: list[str] | tuple[str, ...] = ()) -> list[Problem]:
    """Check the file opens: python-calamine reads every sheet name and the given sheets.

    Two readers share the sheets: this thread takes them from the front, a helper thread from
    the back. calamine parses without holding the GIL, so on two cores a refresh's Customers and
    Dashboard are read while Invoices is. Two readers, not one per sheet: each reader parses the
    shared strings again when it opens.
    """
    from python_calamine import CalamineWorkbook

    try:
        with CalamineWorkbook.from_path(str(path)) as wb:
            names = set(wb.sheet_names)
            for name in sheets:
                if name not in names:
                    return [error(name, "", "the written workbook lacks this sheet", "report this as a bug")]
            todo = deque(sheets)
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
    except Exception as exc:  # noqa: BLE001 - any failure means the file must not replace the workbook
        return [error("", "", f"the updated workbook did not open again ({exc}), so it was not saved",
                      "the workbook is unchanged; report this as a bug")]
    return []


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
