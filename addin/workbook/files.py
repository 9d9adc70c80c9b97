"""Files the product writes (workbooks, .eml, statements, reports, CSVs): the one place for
safe names and atomic, durable, Windows-tolerant writes."""

from __future__ import annotations

import os
import re
import stat
import sys
import time
import uuid
from pathlib import Path

_UNSAFE = re.compile(r"[^\w.\- ]+", re.UNICODE)
_RESERVED = {"CON", "PRN", "AUX", "NUL", *(f"COM{i}" for i in range(1, 10)), *(f"LPT{i}" for i in range(1, 10))}

READ_ONLY = {".ods": "an OpenDocument spreadsheet"}  # suffix -> what it is; read, never written (SPEC §2)

REPLACE_TRIES = 8
REPLACE_FIRST_WAIT = 0.05  # seconds; doubled at each retry (about 6 s in all)


def safe_name(text: str, fallback: str = "file") -> str:
    """A file-name part that cannot leave its folder, on Windows or elsewhere."""
    name = _UNSAFE.sub("-", text).strip(" .-")
    name = re.sub(r"-{2,}", "-", name)[:80] or fallback
    return f"_{name}" if name.split(".")[0].upper() in _RESERVED else name


def read_only_reason(workbook: Path) -> str | None:
    """Why nothing is ever written to, or sent from, this workbook; None for one we write (.xlsx, .xlsm).

    An .ods is read, but our writer edits Excel packages only, and what is sent must be recorded
    in the workbook it was decided from: a command that would send or write refuses it whole.
    """
    kind = READ_ONLY.get(Path(workbook).suffix.lower())
    if kind is None:
        return None
    return (f"{workbook}: {kind} is only read here, never written to or sent from — save it as Excel "
            "Workbook (.xlsx) (in LibreOffice: File > Save As, Excel 2007-365) and run the command on that file")


def fsync_file(path: Path) -> None:
    """Make a file's content durable before it is renamed into place."""
    with open(path, "rb+") as fh:
        os.fsync(fh.fileno())


def fsync_dir(folder: Path) -> None:
    """Make a rename in ``folder`` durable; Windows has no directory handles to sync."""
    if sys.platform == "win32":
        return
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:  # some file systems (network shares) refuse; the rename itself is done
        pass
    finally:
        os.close(fd)


def replace_with_retry(src: Path, dst: Path, tries: int = REPLACE_TRIES,
                       first_wait: float = REPLACE_FIRST_WAIT) -> None:
    """``os.replace``, retried while Windows reports a sharing violation (PermissionError:
    an antivirus, Explorer's preview, Excel itself), with growing waits; then the error goes through."""
    wait = first_wait
    for attempt in range(tries):
        try:
            os.replace(src, dst)
            return
        except PermissionError:
            if attempt == tries - 1:
                raise
            time.sleep(wait)
            wait *= 2


def create_new(folder: Path, prefix: str, suffix: str) -> tuple[int, Path]:
    """A new, unique file in ``folder``, open for writing, with the mode any program gives a new
    file (0666 less the umask; ``tempfile.mkstemp`` would make it 0600, private to its owner)."""
    flags = os.O_CREAT | os.O_EXCL | os.O_WRONLY | getattr(os, "O_BINARY", 0)
    while True:
        path = Path(folder) / f"{prefix}{os.getpid()}-{uuid.uuid4().hex[:12]}{suffix}"
        try:
            return os.open(path, flags, 0o666), path
        except FileExistsError:  # pragma: no cover - 48 random bits
            continue


def keep_permissions(original: Path, new: Path) -> None:
    """Give ``new``, about to replace ``original``, the mode of ``original`` (and, on POSIX when
    we may, its owner and group): a private workbook stays private. Windows files carry their
    folder's ACLs instead, which a file created in that folder already has."""
    if sys.platform == "win32":
        return
    try:
        st = os.stat(original)
    except FileNotFoundError:
        return
    for uid in (st.st_uid, -1):  # only root may give a file away; a group of ours is allowed
        try:
            os.chown(new, uid, st.st_gid)
            break
        except OSError:
            continue
    os.chmod(new, stat.S_IMODE(st.st_mode))


def write_atomically(path: Path, content: bytes) -> Path:
    """Write ``path`` so that readers see the old file or the whole new one, never a part.

    A new file gets the usual mode (0666 less the umask); a file replaced keeps its own.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = create_new(path.parent, ".tmp-", path.suffix)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(content)
            f.flush()
            os.fsync(f.fileno())
        keep_permissions(path, tmp)
        replace_with_retry(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)
    return path


def write_file(folder: Path, name: str, content: bytes) -> Path:
    """Write ``content`` as ``folder/name`` (name made safe) atomically; returns the path."""
    stem, dot, ext = name.rpartition(".")
    return write_atomically(Path(folder) / (f"{safe_name(stem)}.{safe_name(ext)}" if dot else safe_name(name)),
                            content)
