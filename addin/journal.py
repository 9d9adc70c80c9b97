"""The journal: one SQLite file beside the workbook that remembers what was sent and what waits.

``<workbook file name>.receivables.sqlite`` (``books.xlsx.receivables.sqlite``) lives in the
workbook's folder whatever the outbox folder, so every door (CLI, ribbon, daemon) sees the same
history, and ``books.ods`` beside it never shares it (an old-style ``books.receivables.sqlite`` is
adopted by ``books.xlsx``: ``adopt_legacy``). WAL mode, ``synchronous=FULL``: a state committed
here survives a crash or a power cut (``mark_sent`` alone does not wait for the disk: losing it
can only turn a message uncertain, never send it twice).

Schema (``PRAGMA user_version`` = 1; migrations in ``MIGRATIONS``, applied in order at open):

``sends``            one row per idempotency key: state ``sending`` (committed before the SMTP
                     transaction), ``sent``, ``failed`` (``permanent`` 1: the server refused for
                     good), ``uncertain`` (the process died between handing the message over and
                     recording the answer) or ``released`` (a person checked: may send again);
                     message_id, attempts, last_error, recipients, owner (host:pid:token of the
                     process sending), on_sent (the workbook updates to make once sent), times.
``pending_updates``  workbook updates (JSON of addin.actions updates) waiting to be written;
                     applied_at is set once they are in the file.
``runs``             (kind, period) done: 'daemon-tick', 'daemon-statements', ... with done_at.
``log``              every Log sheet row the add-in produced; update_id points at the pending
                     update that appends it to the Log sheet.

Times are stored as UTC ISO 8601 text, so they sort and compare as text.
"""

from __future__ import annotations

import collections
import contextlib
import datetime as dt
import json
import os
import socket
import sqlite3
import sys
import time
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from .actions import AppendRows, Cell, ReplaceRows, SetAt, SetCells, SetColumn, Update
from .workbook import schema

SUFFIX = ".receivables.sqlite"
SENDING, SENT, FAILED, UNCERTAIN, RELEASED = "sending", "sent", "failed", "uncertain", "released"
STATES = (SENDING, SENT, FAILED, UNCERTAIN, RELEASED)
DONE = (SENDING, SENT, UNCERTAIN)  # never sent again without a person's release
BUSY_MS = 30_000
SAY_AFTER_MS = 2_000  # a writer waiting longer for another says so
STALE_OTHER_HOST = dt.timedelta(minutes=15)

MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (  # 0 -> 1
        """CREATE TABLE sends (
             key TEXT PRIMARY KEY,
             state TEXT NOT NULL CHECK (state IN ('sending','sent','failed','uncertain','released')),
             message_id TEXT,
             attempts INTEGER NOT NULL DEFAULT 0,
             last_error TEXT,
             recipients TEXT,
             created TEXT NOT NULL,
             updated TEXT NOT NULL,
             permanent INTEGER NOT NULL DEFAULT 0,
             owner TEXT,
             on_sent TEXT)""",
        "CREATE INDEX sends_state ON sends(state)",
        "CREATE INDEX sends_updated ON sends(updated)",
        """CREATE TABLE pending_updates (
             id INTEGER PRIMARY KEY AUTOINCREMENT,
             payload TEXT NOT NULL,
             created TEXT NOT NULL,
             applied_at TEXT)""",
        "CREATE INDEX pending_open ON pending_updates(applied_at, id)",
        """CREATE TABLE runs (
             kind TEXT NOT NULL,
             period TEXT NOT NULL,
             done_at TEXT NOT NULL,
             detail TEXT,
             PRIMARY KEY (kind, period))""",
        """CREATE TABLE log (
             id INTEGER PRIMARY KEY AUTOINCREMENT,
             time TEXT NOT NULL,
             action TEXT, target TEXT, recipients TEXT, status TEXT, message_id TEXT, detail TEXT,
             update_id INTEGER REFERENCES pending_updates(id))""",
    ),
)
VERSION = len(MIGRATIONS)

_open_tokens: collections.Counter[str] = collections.Counter()  # owners open in this process


class JournalError(Exception):
    """The journal cannot be used (newer schema, unreadable file); the message says what to do."""


@dataclass(frozen=True)
class SendRecord:
    """A row of ``sends``."""

    key: str
    state: str
    message_id: str
    attempts: int
    last_error: str
    recipients: str
    created: dt.datetime
    updated: dt.datetime
    permanent: bool


@dataclass(frozen=True)
class LogLine:
    """One Log sheet row (Time, Action, Target, Recipients, Status, Message ID, Detail).

    ``time`` is naive local time, as Excel shows it.
    """

    time: dt.datetime
    action: str
    target: str
    recipients: str
    status: str
    message_id: str = ""
    detail: str = ""

    def update(self) -> AppendRows:
        """The update that appends this row to the Log sheet."""
        col = schema.LOG.column
        values: tuple[Cell, ...] = (self.time, self.action, self.target, self.recipients, self.status,
                                    self.message_id, self.detail)
        headers = ("Time", "Action", "Target", "Recipients", "Status", "Message ID", "Detail")
        return AppendRows(schema.LOG.name, (tuple((col(h).header, v) for h, v in zip(headers, values, strict=True)),))


def journal_path(workbook: Path) -> Path:
    """``books.xlsx`` -> ``books.xlsx.receivables.sqlite`` in the same folder: one journal per
    workbook file (``books.xlsx`` and ``books.ods`` never share one)."""
    workbook = Path(workbook).resolve()
    return workbook.with_name(workbook.name + SUFFIX)


LEGACY_OWNERS = (".xlsx", ".xlsm")  # the workbooks an old ``<stem>.receivables.sqlite`` belongs to


def legacy_journal_path(workbook: Path) -> Path | None:
    """The name journals had before they were named after the whole file: ``books.receivables.sqlite``,
    shared by every ``books.*``. It holds the history of ``books.xlsx`` (or ``.xlsm``); None for other files."""
    workbook = Path(workbook).resolve()
    if workbook.suffix.lower() not in LEGACY_OWNERS:
        return None
    return workbook.with_name(workbook.stem + SUFFIX)


def adopt_legacy(workbook: Path) -> Path | None:
    """Rename an old-style journal to this workbook's name, keeping every record; returns its new path.

    Nothing happens when the workbook has its own journal already, or no old one lies beside it.
    The old journal is first made one self-contained file (its WAL checkpointed and removed, which
    fails while any other program has it open), then linked under the new name without ever
    replacing a file, then its old name removed: two processes adopting at once end with one
    journal, and a crash in between leaves both names on one file, never a lost history.
    When ``books.xlsx`` and ``books.xlsm`` both lie beside it, whose it is cannot be told: a
    person decides (JournalError).
    """
    workbook = Path(workbook).resolve()
    old, new = legacy_journal_path(workbook), journal_path(workbook)
    if old is None or new.exists() or not old.exists():
        return None
    others = [workbook.with_suffix(s) for s in LEGACY_OWNERS if s != workbook.suffix.lower()]
    others = [o for o in others if o.exists() and not (workbook.exists() and o.samefile(workbook))]
    if others:
        names = " or ".join(journal_path(w).name for w in (workbook, *others))
        raise JournalError(f"{old}: this journal of an earlier version is shared by {workbook.name} and "
                           f"{', '.join(o.name for o in others)}, and whose history it holds cannot be told — "
                           f"rename it {names}, after the workbook its messages were sent from; "
                           "nothing is sent from these workbooks until then")
    try:
        conn = sqlite3.connect(f"{old.as_uri()}?mode=rw", uri=True, timeout=BUSY_MS / 1000, isolation_level=None)
        try:
            conn.execute("PRAGMA journal_mode = DELETE")  # the WAL goes into the file, and then away
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        if not old.exists():
            return new if new.exists() else None  # adopted by another process meanwhile
        raise JournalError(f"{old}: the journal of an earlier version cannot be taken over ({exc}) — stop "
                           f"every receivables process (the daemon too), then run again; it becomes {new.name}") from None
    try:
        os.link(old, new)
    except FileExistsError:
        return new  # another process was first
    except OSError:  # no hard links here (some shares): a rename, which Windows never lets replace a file
        try:
            if new.exists():
                return new
            os.rename(old, new)
        except FileNotFoundError:
            return new if new.exists() else None
        return new
    with contextlib.suppress(FileNotFoundError):
        old.unlink()
    _fsync_dir(new.parent)
    return new


def _fsync_dir(folder: Path) -> None:
    from .workbook.files import fsync_dir

    fsync_dir(folder)


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _stamp(when: dt.datetime | None = None) -> str:
    when = when or utcnow()
    if when.tzinfo is None:
        when = when.astimezone()
    return when.astimezone(dt.UTC).isoformat(timespec="microseconds")


def _parse_stamp(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text)


class Journal:
    """The send journal and pending-write queue of one workbook. Use ``Journal.open(path)``."""

    def __init__(self, conn: sqlite3.Connection, path: Path, owner: str | None = None) -> None:
        self.conn = conn
        self.path = path
        self.owner = owner or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:12]}"
        _open_tokens[self.owner] += 1

    # --- opening ----------------------------------------------------------------------------

    @classmethod
    def open(cls, workbook_path: Path) -> Journal:
        """Open (creating or migrating) the journal beside ``workbook_path``."""
        path = journal_path(workbook_path)
        if not path.exists():
            adopt_legacy(workbook_path)
        try:
            conn = sqlite3.connect(path, timeout=BUSY_MS / 1000, isolation_level=None)
        except sqlite3.Error as exc:
            raise JournalError(f"{path}: the journal cannot be opened ({exc}) — check that the "
                               "workbook's folder is writable") from None
        try:
            _set_up(conn, path)
        except sqlite3.DatabaseError as exc:
            conn.close()
            if "locked" in str(exc):
                raise JournalError(f"{path}: the journal stayed locked for {BUSY_MS // 1000} s — another receivables "
                                   "run (or a program that opened the file) holds it: let it finish, then run the "
                                   "command again") from None
            raise JournalError(f"{path}: the journal is unreadable ({exc}) — move it aside; "
                               "messages it recorded as sent could then be sent again") from None
        except BaseException:
            conn.close()
            raise
        return cls(conn, path)

    @classmethod
    def exists(cls, workbook_path: Path) -> bool:
        """Whether the workbook has a journal (an old-style one waiting to be adopted counts)."""
        if journal_path(workbook_path).exists():
            return True
        legacy = legacy_journal_path(workbook_path)
        return legacy is not None and legacy.exists()

    def sibling(self) -> Journal:
        """A second connection to the same journal, for another thread of the same run."""
        conn = sqlite3.connect(self.path, timeout=BUSY_MS / 1000, isolation_level=None,
                               check_same_thread=False)
        conn.execute(f"PRAGMA busy_timeout = {BUSY_MS}")
        conn.execute("PRAGMA synchronous = FULL")
        return Journal(conn, self.path, self.owner)

    def close(self) -> None:
        _open_tokens[self.owner] -= 1
        if _open_tokens[self.owner] <= 0:
            del _open_tokens[self.owner]
        self.conn.close()

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _tx(self, durable: bool = True) -> _Transaction:
        return _Transaction(self.conn, durable, self.path)

    @property
    def version(self) -> int:
        return int(self.conn.execute("PRAGMA user_version").fetchone()[0])

    # --- sends ------------------------------------------------------------------------------

    def state(self, key: str) -> str | None:
        row = self.conn.execute("SELECT state FROM sends WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def record(self, key: str) -> SendRecord | None:
        row = self.conn.execute(f"SELECT {_SEND_COLUMNS} FROM sends WHERE key = ?", (key,)).fetchone()
        return _send_record(row) if row else None

    def begin(self, key: str, message_id: str, recipients: Sequence[str],
              on_sent: Sequence[Update] = ()) -> bool:
        """Commit 'sending' for ``key`` before the SMTP transaction.

        Returns False (and changes nothing) when the key is already sent, being sent or
        uncertain: another process got there first.
        """
        return self.begin_many([(key, message_id, recipients, on_sent)])[0]

    def begin_many(self, sends: Sequence[tuple[str, str, Sequence[str], Sequence[Update]]]) -> list[bool]:
        """``begin`` for several messages (key, message_id, recipients, on_sent) in one durable
        transaction: one wait for the disk instead of one each. One bool per message, in order."""
        now = _stamp()
        begun: list[bool] = []
        with self._tx() as c:
            for key, message_id, recipients, on_sent in sends:
                rcpts = "; ".join(recipients)
                payload = json.dumps([encode_update(u) for u in on_sent]) if on_sent else None
                row = c.execute("SELECT state FROM sends WHERE key = ?", (key,)).fetchone()
                if row and row[0] in DONE:
                    begun.append(False)
                    continue
                if row:
                    c.execute("""UPDATE sends SET state = 'sending', message_id = ?, attempts = attempts + 1,
                                 recipients = ?, updated = ?, owner = ?, on_sent = ?, permanent = 0
                                 WHERE key = ?""", (message_id, rcpts, now, self.owner, payload, key))
                else:
                    c.execute("""INSERT INTO sends (key, state, message_id, attempts, recipients, created,
                                 updated, owner, on_sent) VALUES (?, 'sending', ?, 1, ?, ?, ?, ?, ?)""",
                              (key, message_id, rcpts, now, now, self.owner, payload))
                begun.append(True)
        return begun

    def unbegin(self, key: str, before: SendRecord | None) -> None:
        """A begun message was not handed over after all: put its row back as it was."""
        with self._tx() as c:
            if before is None:
                c.execute("DELETE FROM sends WHERE key = ? AND state = 'sending'", (key,))
            else:
                c.execute("UPDATE sends SET state = ?, attempts = ?, last_error = ?, permanent = ?, updated = ? "
                          "WHERE key = ? AND state = 'sending'",
                          (before.state, before.attempts, before.last_error or None, int(before.permanent),
                           _stamp(), key))

    def mark_sent(self, key: str, *, recipients: Sequence[str] | None = None,
                  log: LogLine | None = None) -> list[int]:
        """The server accepted ``key``: record it and queue its on_sent updates (and Log row).

        One transaction, so the workbook updates of a sent message are never lost. It does not
        wait for the disk: a power cut in that instant undoes it and leaves 'sending', which the
        next run reports as uncertain — the safe side (``begin`` always waits for the disk).
        Returns the ids of the queued updates.
        """
        return self.mark_sent_many([(key, recipients, log)])

    def mark_sent_many(self, sends: Sequence[tuple[str, Sequence[str] | None, LogLine | None]]) -> list[int]:
        """``mark_sent`` for several messages (key, recipients, log) in one transaction."""
        ids: list[int] = []
        with self._tx(durable=False) as c:
            for key, recipients, log in sends:
                row = c.execute("SELECT on_sent FROM sends WHERE key = ?", (key,)).fetchone()
                if row is None:
                    raise KeyError(key)
                params: tuple[Any, ...] = (_stamp(), key)
                if recipients is not None:
                    c.execute("UPDATE sends SET state = 'sent', last_error = NULL, recipients = ?, "
                              "updated = ? WHERE key = ?", ("; ".join(recipients), *params))
                else:
                    c.execute("UPDATE sends SET state = 'sent', last_error = NULL, updated = ? "
                              "WHERE key = ?", params)
                updates = [decode_update(u) for u in json.loads(row[0])] if row[0] else []
                ids += _queue(c, updates)
                if log is not None:
                    ids.append(_log(c, log))
        return ids

    def mark_failed(self, key: str, error: str, permanent: bool, *, log: LogLine | None = None) -> None:
        """The message was not accepted. ``permanent``: the server refused it for good (5xx)."""
        with self._tx() as c:
            c.execute("UPDATE sends SET state = 'failed', last_error = ?, permanent = ?, updated = ? "
                      "WHERE key = ?", (error, int(permanent), _stamp(), key))
            if log is not None:
                _log(c, log)

    def mark_uncertain(self, key: str, error: str, *, log: LogLine | None = None) -> None:
        """The message was handed over but the server's answer never came."""
        with self._tx() as c:
            c.execute("UPDATE sends SET state = 'uncertain', last_error = ?, updated = ? WHERE key = ?",
                      (error, _stamp(), key))
            if log is not None:
                _log(c, log)

    def recover(self) -> list[str]:
        """Turn 'sending' rows left by a process that died into 'uncertain'; return their keys.

        A row whose owner still runs (another command sending right now) is left alone.
        """
        me = socket.gethostname()
        found: list[str] = []
        with self._tx() as c:
            rows = c.execute("SELECT key, owner, updated FROM sends WHERE state = 'sending'").fetchall()
            for key, owner, updated in rows:
                if _owner_alive(owner or "", me, _parse_stamp(updated)):
                    continue
                c.execute("UPDATE sends SET state = 'uncertain', updated = ?, last_error = ? WHERE key = ?",
                          (_stamp(), "the program stopped while the message was being sent", key))
                found.append(key)
        return found

    def release(self, key: str) -> str:
        """A person checked: an uncertain (or failed) message may be sent again. Returns the old state."""
        with self._tx() as c:
            row = c.execute("SELECT state FROM sends WHERE key = ?", (key,)).fetchone()
            if row is None:
                raise JournalError(f"no message {key} in the journal — see `receivables journal list`")
            if row[0] not in (UNCERTAIN, FAILED):
                raise JournalError(f"message {key} is {row[0]}, not uncertain — there is nothing to release")
            c.execute("UPDATE sends SET state = 'released', updated = ? WHERE key = ?", (_stamp(), key))
            return str(row[0])

    def confirm(self, key: str) -> list[int]:
        """A person checked: an uncertain message did arrive. Record it as sent (with its updates)."""
        if self.state(key) != UNCERTAIN:
            raise JournalError(f"message {key} is {self.state(key) or 'unknown'}, not uncertain — "
                               "only an uncertain message can be confirmed")
        return self.mark_sent(key)

    def keys(self, state: str) -> list[str]:
        return [r[0] for r in self.conn.execute("SELECT key FROM sends WHERE state = ? ORDER BY key", (state,))]

    def sent_keys(self, prefix: str = "") -> set[str]:
        """Keys starting with ``prefix`` that must not be sent again: sent, sending or uncertain."""
        rows = self.conn.execute(
            "SELECT key FROM sends WHERE state IN ('sent','sending','uncertain') AND substr(key, 1, ?) = ?",
            (len(prefix), prefix))
        return {r[0] for r in rows}

    def sends(self, state: str | None = None) -> list[SendRecord]:
        """Every send (of one state), most recent first."""
        sql = f"SELECT {_SEND_COLUMNS} FROM sends"
        args: tuple[Any, ...] = ()
        if state:
            sql, args = sql + " WHERE state = ?", (state,)
        return [_send_record(r) for r in self.conn.execute(sql + " ORDER BY updated DESC, key", args)]

    def sends_between(self, start: dt.datetime, end: dt.datetime, state: str | None = SENT) -> list[SendRecord]:
        """Sends last updated in [start, end) (aware datetimes; naive = local), e.g. sent today."""
        sql = f"SELECT {_SEND_COLUMNS} FROM sends WHERE updated >= ? AND updated < ?"
        args: tuple[Any, ...] = (_stamp(start), _stamp(end))
        if state:
            sql, args = sql + " AND state = ?", (*args, state)
        return [_send_record(r) for r in self.conn.execute(sql + " ORDER BY updated", args)]

    def stats(self, since: dt.datetime) -> dict[str, int]:
        """Messages per state, plus ``sent_today``: sent at or after ``since`` (for status lines)."""
        counts = {state: n for state, n in self.conn.execute("SELECT state, count(*) FROM sends GROUP BY state")}
        counts["sent_today"] = self.conn.execute(
            "SELECT count(*) FROM sends WHERE state = 'sent' AND updated >= ?", (_stamp(since),)).fetchone()[0]
        return counts

    # --- pending workbook updates -----------------------------------------------------------

    def queue_updates(self, updates: Sequence[Update]) -> list[int]:
        """Add updates to the queue of writes (in order); returns their ids."""
        if not updates:
            return []
        with self._tx() as c:
            return _queue(c, updates)

    def pending_updates(self) -> list[tuple[int, Update]]:
        rows = self.conn.execute("SELECT id, payload FROM pending_updates WHERE applied_at IS NULL ORDER BY id")
        return [(i, decode_update(json.loads(p))) for i, p in rows]

    def mark_updates_applied(self, ids: Sequence[int]) -> None:
        if not ids:
            return
        now = _stamp()
        with self._tx() as c:
            c.executemany("UPDATE pending_updates SET applied_at = ? WHERE id = ? AND applied_at IS NULL",
                          [(now, i) for i in ids])

    # --- Log rows ---------------------------------------------------------------------------

    def add_log(self, line: LogLine) -> int:
        """Record a Log row and queue the update that appends it to the Log sheet."""
        with self._tx() as c:
            return _log(c, line)

    def pending_log(self) -> list[tuple[int, LogLine]]:
        """Log rows not yet in the workbook (their update still waits)."""
        rows = self.conn.execute(
            "SELECT l.id, l.time, l.action, l.target, l.recipients, l.status, l.message_id, l.detail "
            "FROM log l LEFT JOIN pending_updates p ON p.id = l.update_id "
            "WHERE p.applied_at IS NULL ORDER BY l.id")
        return [(r[0], LogLine(dt.datetime.fromisoformat(r[1]), *(x or "" for x in r[2:]))) for r in rows]

    def logged(self, status: str, detail_prefix: str = "") -> list[LogLine]:
        """Log rows of a status whose Detail starts with ``detail_prefix`` (e.g. holds recorded as skipped)."""
        rows = self.conn.execute(
            "SELECT time, action, target, recipients, status, message_id, detail FROM log "
            "WHERE status = ? AND substr(detail, 1, ?) = ? ORDER BY id", (status, len(detail_prefix), detail_prefix))
        return [LogLine(dt.datetime.fromisoformat(r[0]), *(x or "" for x in r[1:])) for r in rows]

    # --- runs -------------------------------------------------------------------------------

    def record_run(self, kind: str, period: str | dt.date, detail: str = "",
                   when: dt.datetime | None = None) -> None:
        with self._tx() as c:
            c.execute("INSERT OR REPLACE INTO runs (kind, period, done_at, detail) VALUES (?, ?, ?, ?)",
                      (kind, _period(period), _stamp(when), detail))

    def run_done(self, kind: str, period: str | dt.date) -> bool:
        row = self.conn.execute("SELECT 1 FROM runs WHERE kind = ? AND period = ?", (kind, _period(period)))
        return row.fetchone() is not None

    def last_run(self, kind: str) -> dt.datetime | None:
        """When a run of this kind was last recorded (aware, UTC), or None."""
        row = self.conn.execute("SELECT max(done_at) FROM runs WHERE kind = ?", (kind,)).fetchone()
        return _parse_stamp(row[0]) if row and row[0] else None


# --- helpers ------------------------------------------------------------------------------------

class _Transaction:
    """``BEGIN IMMEDIATE`` ... ``COMMIT`` (``ROLLBACK`` on error): one writer at a time.

    Not ``durable``: the commit does not wait for the disk (``synchronous=NORMAL``); a power cut
    may undo it, never corrupt it, and the next durable commit makes it permanent too.

    A writer that waits more than ``SAY_AFTER_MS`` for another says so on stderr (SPEC §4), then
    waits on up to ``BUSY_MS``.
    """

    def __init__(self, conn: sqlite3.Connection, durable: bool = True, path: Path | None = None) -> None:
        self.conn = conn
        self.durable = durable
        self.path = path

    def __enter__(self) -> sqlite3.Connection:
        if not self.durable:
            self.conn.execute("PRAGMA synchronous = NORMAL")
        try:
            self._begin()
        except BaseException:
            self._restore()
            raise
        return self.conn

    def _begin(self) -> None:
        self.conn.execute(f"PRAGMA busy_timeout = {SAY_AFTER_MS}")
        try:
            self.conn.execute("BEGIN IMMEDIATE")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) and "busy" not in str(exc):
                raise
        finally:
            self.conn.execute(f"PRAGMA busy_timeout = {BUSY_MS}")
        name = self.path.name if self.path else "the journal"
        print(f"waiting for another process to finish writing the journal {name}…", file=sys.stderr, flush=True)
        self.conn.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type: object, *_: object) -> None:
        try:
            if exc_type is None:
                self.conn.execute("COMMIT")
            elif self.conn.in_transaction:
                self.conn.execute("ROLLBACK")
        finally:
            self._restore()

    def _restore(self) -> None:
        if not self.durable:
            self.conn.execute("PRAGMA synchronous = FULL")


def _migrate(conn: sqlite3.Connection, path: Path) -> None:
    version = int(conn.execute("PRAGMA user_version").fetchone()[0])
    if version == VERSION:
        return
    with _Transaction(conn, path=path):
        version = int(conn.execute("PRAGMA user_version").fetchone()[0])  # another process may have won
        if version > VERSION:
            raise JournalError(f"{path}: the journal was written by a newer version of receivables "
                               f"(schema {version}, this one knows {VERSION}) — update receivables")
        for step in MIGRATIONS[version:]:
            for statement in step:
                conn.execute(statement)
        conn.execute(f"PRAGMA user_version = {VERSION}")


def _queue(c: sqlite3.Connection, updates: Iterable[Update]) -> list[int]:
    now = _stamp()
    ids = []
    for u in updates:
        cur = c.execute("INSERT INTO pending_updates (payload, created) VALUES (?, ?)",
                        (json.dumps(encode_update(u), ensure_ascii=False), now))
        ids.append(int(cur.lastrowid or 0))
    return ids


def _log(c: sqlite3.Connection, line: LogLine) -> int:
    update_id = _queue(c, [line.update()])[0]
    c.execute("INSERT INTO log (time, action, target, recipients, status, message_id, detail, update_id)"
              " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
              (line.time.isoformat(timespec="seconds"), line.action, line.target, line.recipients,
               line.status, line.message_id, line.detail, update_id))
    return update_id


_SEND_COLUMNS = "key, state, message_id, attempts, last_error, recipients, created, updated, permanent"


def _send_record(r: tuple) -> SendRecord:
    return SendRecord(r[0], r[1], r[2] or "", r[3], r[4] or "", r[5] or "",
                      _parse_stamp(r[6]), _parse_stamp(r[7]), bool(r[8]))


def _period(period: str | dt.date) -> str:
    return period.isoformat() if isinstance(period, dt.date) else str(period)


def _set_up(conn: sqlite3.Connection, path: Path) -> None:
    """WAL, durable commits, and the current schema. Two runs opening a new journal at once can
    meet "database is locked" here without SQLite's busy wait (switching to WAL, creating the
    tables): tried again for up to BUSY_MS."""
    deadline = time.monotonic() + BUSY_MS / 1000
    while True:
        try:
            conn.execute(f"PRAGMA busy_timeout = {BUSY_MS}")
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = FULL")
            conn.execute("PRAGMA foreign_keys = ON")
            _migrate(conn, path)
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            if conn.in_transaction:
                conn.rollback()
            time.sleep(0.05)


def _owner_alive(owner: str, host: str, updated: dt.datetime) -> bool:
    """Whether the process that wrote 'sending' may still be sending."""
    from .procs import pid_alive

    parts = owner.split(":")
    if len(parts) != 3:
        return False
    owner_host, pid_text, _token = parts
    if owner_host != host:  # another PC on a shared folder: trust the clock only
        return utcnow() - updated < STALE_OTHER_HOST
    pid = int(pid_text) if pid_text.isdigit() else 0
    if pid == os.getpid():
        return owner in _open_tokens
    return pid_alive(pid)


# --- JSON codec for addin.actions updates -------------------------------------------------------

def _cell_out(value: object) -> object:
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, dt.datetime):
        return {"$datetime": value.isoformat()}
    if isinstance(value, dt.date):
        return {"$date": value.isoformat()}
    if isinstance(value, Decimal):
        return {"$decimal": str(value)}
    raise TypeError(f"cannot store a {type(value).__name__} cell in the journal")


def _cell_in(value: Any) -> Any:
    if isinstance(value, dict):
        if "$datetime" in value:
            return dt.datetime.fromisoformat(value["$datetime"])
        if "$date" in value:
            return dt.date.fromisoformat(value["$date"])
        if "$decimal" in value:
            return Decimal(value["$decimal"])
        raise ValueError(f"unknown cell value {value!r}")
    return value


def _pairs_out(pairs: Iterable[tuple[str, object]]) -> list[list[object]]:
    return [[h, _cell_out(v)] for h, v in pairs]


def _pairs_in(pairs: Iterable[list[Any]]) -> tuple[tuple[str, Any], ...]:
    return tuple((str(h), _cell_in(v)) for h, v in pairs)


def encode_update(update: Update) -> dict[str, Any]:
    """An update as plain JSON data (dates, datetimes and Decimals tagged so they come back)."""
    if isinstance(update, SetCells):
        return {"type": "SetCells", "sheet": update.sheet, "key_header": update.key_header,
                "key": update.key, "values": _pairs_out(update.values)}
    if isinstance(update, SetColumn):
        return {"type": "SetColumn", "sheet": update.sheet, "key_header": update.key_header,
                "header": update.header, "keys": list(update.keys), "values": list(map(_cell_out, update.values))}
    if isinstance(update, AppendRows):
        return {"type": "AppendRows", "sheet": update.sheet, "rows": [_pairs_out(r) for r in update.rows]}
    if isinstance(update, ReplaceRows):
        return {"type": "ReplaceRows", "sheet": update.sheet, "where": [list(w) for w in update.where],
                "rows": [_pairs_out(r) for r in update.rows]}
    if isinstance(update, SetAt):
        return {"type": "SetAt", "sheet": update.sheet, "cells": _pairs_out(update.cells)}
    raise TypeError(f"not an update: {update!r}")


def decode_update(data: dict[str, Any]) -> Update:
    kind = data.get("type")
    if kind == "SetCells":
        return SetCells(data["sheet"], data["key_header"], data["key"], _pairs_in(data["values"]))
    if kind == "SetColumn":
        keys, values = tuple(map(str, data["keys"])), tuple(map(_cell_in, data["values"]))
        if len(keys) != len(values):
            raise ValueError("a SetColumn with more keys than values, or fewer")
        return SetColumn(data["sheet"], data["key_header"], data["header"], keys, values)
    if kind == "AppendRows":
        return AppendRows(data["sheet"], tuple(_pairs_in(r) for r in data["rows"]))
    if kind == "ReplaceRows":
        return ReplaceRows(data["sheet"], tuple((str(h), str(v)) for h, v in data["where"]),
                           tuple(_pairs_in(r) for r in data["rows"]))
    if kind == "SetAt":
        return SetAt(data["sheet"], _pairs_in(data["cells"]))
    raise ValueError(f"unknown update type {kind!r}")
