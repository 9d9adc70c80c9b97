"""What went out: every message kept exactly as it was handed over, in ``sent_dir/YYYY-MM/``.

One file per message, ``YYYYMMDD-HHMMSS_<kind>_<customer>_<key hash>.eml`` (time: the workbook's
wall clock when the message went, which also picks the month's folder; kind: ``reminder``,
``statement`` or ``group``, ``-copy`` added for a copy-to-me): the name alone says when, what and
for whom, so a listing filters thousands of files without opening them, then reads only the
headers of those it shows. The files are the index: nothing else is needed to list them.

When, relative to the journal ('sending' → transport → 'sent'):

- SMTP: the exact bytes are staged as a ``.part`` file in the month's folder before they are
  handed over; once the server accepts, the file is renamed to its ``.eml`` name, then 'sent'
  is recorded; a refusal removes it. A crash (or a lost answer) after the hand-over leaves the
  message 'uncertain' in the journal and its bytes in the ``.part``: the archive never shows as
  sent a message that was not accepted, and what may have gone is still on disk.
- Outbox: the transport's own ``.eml`` is hard-linked into the archive (the same bytes, written
  once; removing or moving the outbox file leaves the archive whole), copied where the file
  system refuses links. The links of a batch are made durable (``sync``: the month's folder)
  with the outbox's files, before the batch is recorded as sent.

The archive never stops a message: when its folder cannot be written (disk full, read-only) the
message still goes, and the run says that no copy was kept (an error: exit status 1).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from email.parser import BytesHeaderParser
from email.policy import default as default_policy
from email.utils import getaddresses
from pathlib import Path
from typing import TYPE_CHECKING

from ..workbook.files import create_new, fsync_dir, replace_with_retry, safe_name

if TYPE_CHECKING:
    from ..model import Settings

KINDS = ("reminder", "statement", "group")
COPY = "-copy"
_PREFIXES = (("manual-reminder:", "reminder"), ("reminder:", "reminder"), ("reminders:", "reminder"),
             ("statement", "statement"), ("group:", "group"))
_MONTH = re.compile(r"\d{4}-\d{2}")
_STAMP = "%Y%m%d-%H%M%S"
HEAD_CHUNK = 8192
PART_MARK = "~"  # stem~<unique>.part: never in a safe_name, so the stem is found again


def kind_of(key: str) -> str:
    """``reminder``, ``statement`` or ``group`` (``email`` for any other key), ``-copy`` for a copy."""
    base = key[:-len(":copy")] if key.endswith(":copy") else key
    kind = next((k for prefix, k in _PREFIXES if base.startswith(prefix)), "email")
    return kind + (COPY if base != key else "")


def folder_of(settings: Settings, base_dir: Path | None) -> Path | None:
    """The archive folder the Settings ask for (None: keep none — sent_dir blank)."""
    name = (settings.sent_dir or "").strip()
    if not name:
        return None
    path = Path(name)
    if path.is_absolute():
        return path
    return None if base_dir is None else Path(base_dir) / path


def key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()[:10]


class Archive:
    """Writes the kept copies under ``root`` (see the module's docstring for when)."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self._made: set[Path] = set()
        self._linked: set[Path] = set()  # folders given a link since the last sync

    def _folder(self, when: dt.datetime) -> Path:
        folder = self.root / f"{when:%Y-%m}"
        if folder not in self._made:
            folder.mkdir(parents=True, exist_ok=True)
            self._made.add(folder)
        return folder

    @staticmethod
    def stem(when: dt.datetime, key: str, customer: str) -> str:
        return f"{when:{_STAMP}}_{kind_of(key)}_{safe_name(customer, 'unknown')}_{key_hash(key)}"

    def stage(self, when: dt.datetime, key: str, customer: str, data: bytes) -> Path:
        """Write ``data`` as a ``.part`` file, durable, ready to be kept; raises OSError."""
        folder = self._folder(when)
        fd, path = create_new(folder, self.stem(when, key, customer) + PART_MARK, ".part")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
        except BaseException:
            path.unlink(missing_ok=True)
            raise
        return path

    def keep(self, staged: Path) -> Path:
        """The staged file becomes the kept ``.eml`` (its message was accepted)."""
        final = self._free(staged.parent, staged.name.split(PART_MARK, 1)[0])
        replace_with_retry(staged, final)
        return final

    def keep_file(self, when: dt.datetime, key: str, customer: str, source: Path, data: bytes) -> Path:
        """Keep a file the transport wrote (``data`` is its content): a hard link, else a copy."""
        folder = self._folder(when)
        stem = self.stem(when, key, customer)
        final, n = folder / f"{stem}.eml", 2
        while True:
            try:
                os.link(source, final)
                self._linked.add(folder)
                return final
            except FileExistsError:  # the same key again within the second (sent anew after a release)
                final, n = folder / f"{stem}-{n}.eml", n + 1
            except OSError:  # a file system without hard links (FAT, some shares), or another volume
                return self.keep_bytes(when, key, customer, data)

    def keep_bytes(self, when: dt.datetime, key: str, customer: str, data: bytes) -> Path:
        """Write ``data`` straight to its ``.eml`` (when staging was not possible)."""
        staged = self.stage(when, key, customer, data)
        try:
            return self.keep(staged)
        except BaseException:
            staged.unlink(missing_ok=True)
            raise

    def sync(self) -> None:
        """Make the links made since the last sync durable (a copy or a kept ``.part`` already is)."""
        folders, self._linked = self._linked, set()
        for folder in folders:
            fsync_dir(folder)

    def discard(self, staged: Path | None) -> None:
        """The message was not accepted: its staged bytes go."""
        if staged is not None:
            with contextlib.suppress(OSError):
                staged.unlink(missing_ok=True)

    def forget_uncertain(self, key: str) -> None:
        """Remove the ``.part`` left by an earlier uncertain try of ``key`` (it is being sent anew)."""
        pattern = f"*_{key_hash(key)}{PART_MARK}*.part"
        for month in _months(self.root):
            for part in month.glob(pattern):
                self.discard(part)

    @staticmethod
    def _free(folder: Path, stem: str) -> Path:
        path, n = folder / f"{stem}.eml", 2
        while path.exists():
            path, n = folder / f"{stem}-{n}.eml", n + 1
        return path


# --- reading the archive --------------------------------------------------------------------------

@dataclass(frozen=True)
class Kept:
    """One kept message, as its file name tells.

    Attributes:
      time: when it went (the workbook's wall clock).
      kind: reminder, statement or group.
      copy: a copy-to-me of such a message.
      customer: the customer's ID as it appears in the file name.
      path: the ``.eml`` file (a ``.part`` one for a message that may not have gone).
    """

    time: dt.datetime
    kind: str
    copy: bool
    customer: str
    path: Path


def parse_name(path: Path) -> Kept | None:
    """The Kept a file name describes; None for a file the archive did not write."""
    name = path.name
    if name.endswith(".eml"):
        stem = name[:-4]
    elif name.endswith(".part"):
        stem = name.split(PART_MARK, 1)[0]
    else:
        return None
    try:
        when = dt.datetime.strptime(stem[:15], _STAMP)
    except ValueError:
        return None
    kind, _, rest = stem[16:].partition("_")
    customer, _, digest = rest.rpartition("_")
    copy = kind.endswith(COPY)
    kind = kind[:-len(COPY)] if copy else kind
    if stem[15:16] != "_" or not kind or not customer or not digest:
        return None
    return Kept(when, kind, copy, customer, path)


def listing(root: Path, *, since: dt.date | None = None, until: dt.date | None = None,
            customer: str | None = None, kind: str | None = None, suffix: str = ".eml") -> list[Kept]:
    """The kept messages that pass the filters, sorted by time (then file name)."""
    low = f"{since:%Y-%m}" if since else ""
    high = f"{until:%Y-%m}" if until else "9999-99"
    wanted = safe_name(customer, "unknown").casefold() if customer is not None else None
    found: list[Kept] = []
    for month in _months(root):
        if not low <= month.name <= high:
            continue
        with os.scandir(month) as entries:
            for entry in entries:
                if not entry.name.endswith(suffix):
                    continue
                kept = parse_name(Path(entry.path))
                if kept is None:
                    continue
                day = kept.time.date()
                if (since and day < since) or (until and day > until):
                    continue
                if kind and kept.kind != kind:
                    continue
                if wanted is not None and kept.customer.casefold() != wanted:
                    continue
                found.append(kept)
    found.sort(key=lambda k: (k.time, k.path.stem))
    return found


def _months(root: Path) -> Iterator[Path]:
    try:
        with os.scandir(root) as entries:
            folders = sorted(Path(e.path) for e in entries if e.is_dir() and _MONTH.fullmatch(e.name))
    except OSError:
        return
    yield from folders


@dataclass(frozen=True)
class Head:
    """What a kept message's headers say."""

    recipients: tuple[str, ...]
    subject: str


def read_head(path: Path) -> Head:
    """Recipients (To, Cc) and Subject, reading only the header block of the file."""
    head = b""
    with open(path, "rb") as fh:
        while True:
            chunk = fh.read(HEAD_CHUNK)
            head += chunk
            if not chunk or b"\r\n\r\n" in head or b"\n\n" in head:
                break
    msg = BytesHeaderParser(policy=default_policy).parsebytes(head)
    addresses = getaddresses([str(v) for v in (*(msg.get_all("To") or ()), *(msg.get_all("Cc") or ()))])
    subject = " ".join(str(msg.get("Subject", "")).split())
    return Head(tuple(a for _, a in addresses if a), subject)
