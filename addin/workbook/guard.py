"""The checks and file steps around every write to the user's workbook (``store`` takes them in order).

- ``find_owner``: is the workbook open in Excel or LibreOffice (their owner files)?
- ``fingerprint``: what the file was before the write, to see whether someone saved it meanwhile.
- ``verify``: the written copy, read back, opens and its changed sheets parse.
- ``backup``: a copy kept in ``.receivables-backups/`` before the workbook is replaced.
- ``replace_atomically``: the copy takes the workbook's place in one step, with its permissions,
  retried while Windows holds the file (sharing violations).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import os
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ..problems import Problem, error, warning
from .files import (
    REPLACE_FIRST_WAIT,
    REPLACE_TRIES,
    fsync_dir,
    fsync_file,
    keep_permissions,
    replace_with_retry,
)

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


@dataclass(frozen=True)
class Fingerprint:
    """What a file was when it was read: size, modification time and content hash."""

    size: int
    mtime_ns: int
    sha256: str


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


def verify(copy: Path, changed: Sequence[str] = (), had: Sequence[str] = ()) -> list[Problem]:
    """Read the written copy back before it may replace the workbook: it opens, it still has
    every sheet the workbook it was written from ``had`` (``WriteReport.had``), and each sheet
    the write ``changed`` (or created) parses with python-calamine, as Excel would have to.
    """
    from python_calamine import CalamineWorkbook

    try:
        with CalamineWorkbook.from_path(str(copy)) as wb:
            names = set(wb.sheet_names)
            for name in [*had, *changed]:
                if name not in names:
                    return [error(name, "", "the written workbook lacks this sheet", "report this as a bug")]
            for name in changed:
                wb.get_sheet_by_name(name)  # parses the whole sheet (raises what calamine raises)
    except Exception as exc:  # noqa: BLE001 - any failure means the copy must not replace the workbook
        return [error("", "", f"the updated workbook did not open again ({exc}), so it was not saved",
                      "the workbook is unchanged; report this as a bug")]
    return []
