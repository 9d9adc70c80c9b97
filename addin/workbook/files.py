"""Writing exported files (statements, reports, CSVs): safe names, atomic writes."""

from __future__ import annotations

import os
import re
import tempfile
import time
from pathlib import Path

_UNSAFE = re.compile(r"[^\w.\- ]+", re.UNICODE)
_RESERVED = {"CON", "PRN", "AUX", "NUL", *(f"COM{i}" for i in range(1, 10)), *(f"LPT{i}" for i in range(1, 10))}


def safe_name(text: str, fallback: str = "file") -> str:
    """A file-name part that cannot leave its folder, on Windows or elsewhere."""
    name = _UNSAFE.sub("-", text).strip(" .-")
    name = re.sub(r"-{2,}", "-", name)[:80] or fallback
    return f"_{name}" if name.split(".")[0].upper() in _RESERVED else name


def replace_with_retry(src: Path, dst: Path, attempts: int = 10) -> None:
    """``os.replace`` retried while Windows reports a sharing violation (an antivirus, Explorer's preview)."""
    delay = 0.05
    for attempt in range(attempts):
        try:
            os.replace(src, dst)
            return
        except PermissionError:
            if attempt == attempts - 1:
                raise
            time.sleep(delay)
            delay = min(delay * 2, 1.0)


def write_file(folder: Path, name: str, content: bytes) -> Path:
    """Write ``content`` as ``folder/name`` atomically (temp file, fsync, replace); returns the path."""
    folder.mkdir(parents=True, exist_ok=True)
    stem, dot, ext = name.rpartition(".")
    path = folder / (f"{safe_name(stem)}.{safe_name(ext)}" if dot else safe_name(name))
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".tmp-", suffix=path.suffix)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(content)
            f.flush()
            os.fsync(f.fileno())
        replace_with_retry(Path(tmp), path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
