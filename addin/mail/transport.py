"""Transports: where a built message goes — ``.eml`` files in an outbox folder, or an SMTP server.

Both offer ``open()``, ``wait_turn()`` (the throttle), ``send(msg, sender, recipients, key)``
returning the refused recipients, ``sync()`` and ``close()``. A message ``send`` accepted is
durable once ``sync()`` returned (SMTP: at once, the server has it; outbox: ``send`` writes the
file without waiting for the disk, ``sync`` waits for every file written since the last one —
one wait for a batch instead of two a message). Failures are exceptions that say how sure
we are the message did not go:

- ``TemporaryFailure`` (4xx, connection lost before the message was handed over): retry;
- ``PermanentFailure`` (5xx): the server's words, not retried automatically;
- ``UncertainDelivery``: the whole message was handed over but the answer never came;
- ``SetupError``: the configuration is wrong (login refused, certificate, no password) — the
  batch stops, nothing more is tried until a person fixes it.

The SMTP password comes from the environment variable named in ``smtp_password_env``, else the
OS keyring (``keyring set receivables <username>``). It is kept in memory only: never in the
workbook, the journal, a log or an error message.
"""

from __future__ import annotations

import collections
import contextlib
import datetime as dt
import hashlib
import os
import re
import smtplib
import socket
import ssl
import time
from collections.abc import Callable, Sequence
from email.message import EmailMessage
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from ..workbook.files import create_new, fsync_dir, replace_with_retry
from .message import flatten

if TYPE_CHECKING:
    from ..model import Settings

KEYRING_SERVICE = "receivables"
TIMEOUT = 60.0
LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1"}


class TransportError(Exception):
    """A message (or the connection) failed; ``str()`` is a sentence for people."""

    def __init__(self, message: str, code: int | None = None) -> None:
        super().__init__(message)
        self.code = code


class TemporaryFailure(TransportError):
    """Not delivered, and worth trying again (4xx reply, connection trouble)."""


class ConnectFailure(TemporaryFailure):
    """The server could not be reached: nothing of the batch can go now."""


class PermanentFailure(TransportError):
    """Refused for good (5xx reply): not retried automatically."""


class UncertainDelivery(TransportError):
    """The message was handed over, then the connection died before the server answered."""


class SetupError(TransportError):
    """The mail settings are wrong or incomplete; the message says what to change."""


class Transport(Protocol):
    """``wire`` gives the exact bytes ``send`` hands over (``send`` takes them as ``data``, so the
    sent archive keeps what went); ``wire_built`` the same from a message made ahead
    (``message.build_bytes``), None when it must be made anew for this transport; a transport that writes files says which in ``written``; a
    message is durable once ``sync`` returned (``syncs_later``: not before)."""

    writes_files: bool
    syncs_later: bool  # send does not wait for the disk: sync does (outbox)
    written: Path | None  # the file the last send wrote (outbox), else None

    def describe(self) -> str: ...
    def open(self) -> None: ...
    def wait_turn(self) -> None: ...
    def wire(self, msg: EmailMessage, sender: str, recipients: Sequence[str]) -> bytes: ...
    def wire_built(self, data: bytes, sender: str, recipients: Sequence[str]) -> bytes | None: ...
    def send(self, msg: EmailMessage | None, sender: str, recipients: Sequence[str], key: str,
             data: bytes | None = None) -> dict[str, str]: ...
    def sync(self) -> None: ...
    def close(self) -> None: ...


# --- outbox ---------------------------------------------------------------------------------------

class OutboxTransport:
    """Writes each message as one ``.eml`` file into a folder: whole or not at all (written under
    a temporary name, then renamed), durable once ``sync`` returned (see the module's docstring)."""

    writes_files = True
    syncs_later = True

    def __init__(self, folder: Path, clock: Callable[[], dt.datetime] = dt.datetime.now) -> None:
        self.folder = Path(folder)
        self.clock = clock
        self.written: Path | None = None
        self._made = False  # the folder was made (once a run, not once a message)
        self._unsynced: list[Path] = []

    def describe(self) -> str:
        return f"the outbox folder {self.folder}"

    def open(self) -> None:
        if self._made:
            return
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise SetupError(f"the outbox folder {self.folder} cannot be created ({exc.strerror or exc}) — "
                             "check outbox_dir in Settings") from None
        self._made = True

    def wait_turn(self) -> None:
        return None

    def wire(self, msg: EmailMessage, sender: str, recipients: Sequence[str]) -> bytes:
        return flatten(msg)

    def wire_built(self, data: bytes, sender: str, recipients: Sequence[str]) -> bytes | None:
        return data  # build_bytes flattens as wire does

    def send(self, msg: EmailMessage | None, sender: str, recipients: Sequence[str], key: str,
             data: bytes | None = None) -> dict[str, str]:
        """Write the message's file (not waiting for the disk: ``sync`` does, for a whole batch)."""
        if data is None:
            assert msg is not None
            data = flatten(msg)
        self.open()
        path = self._free_name(key)
        self.written = None
        try:
            self._write(path, data)
        except OSError as exc:
            self._made = False  # the folder may have gone: made again at the next try
            raise TemporaryFailure(f"the file {path.name} could not be written in {self.folder} "
                                   f"({exc.strerror or exc})") from None
        self._unsynced.append(path)
        self.written = path
        return {}

    def _write(self, path: Path, data: bytes) -> None:
        fd, tmp = create_new(self.folder, ".tmp-", ".eml")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            replace_with_retry(tmp, path)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise

    def sync(self) -> None:
        """Wait until every file written since the last sync is on disk, and its name in the
        folder; raises OSError (the files may be lost in a power cut: not yet sent)."""
        files, self._unsynced = self._unsynced, []
        try:
            for path in files:
                try:
                    fd = os.open(path, os.O_RDWR | getattr(os, "O_BINARY", 0))
                except FileNotFoundError:
                    continue  # already taken from the outbox by the program that sends it
                try:
                    os.fsync(fd)
                finally:
                    os.close(fd)
        except BaseException:
            self._unsynced = files + self._unsynced
            raise
        if files:
            fsync_dir(self.folder)

    def close(self) -> None:
        with contextlib.suppress(OSError):  # a run syncs before it records anything as sent
            self.sync()

    def __enter__(self) -> OutboxTransport:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _free_name(self, key: str) -> Path:
        stem = f"{self.clock():%Y%m%d-%H%M%S}-{_named_for(key)}"
        path = self.folder / f"{stem}.eml"
        n = 2
        while path.exists():
            path = self.folder / f"{stem}-{n}.eml"
            n += 1
        return path


def _named_for(key: str) -> str:
    """What an outbox file's name says of its message's key (``found_whole`` looks for it)."""
    return f"{slug(key)}-{hashlib.sha256(key.encode()).hexdigest()[:8]}"


def slug(key: str, limit: int = 60) -> str:
    """``reminder:INV/001:2`` -> ``reminder-INV-001-2``: safe in a file name on every OS."""
    return re.sub(r"[^A-Za-z0-9._-]+", "-", key).strip("-.")[:limit] or "message"


# --- SMTP -----------------------------------------------------------------------------------------

class _Dropped(Exception):
    """The connection failed before the message was handed over."""


class SmtpTransport:
    """One persistent SMTP connection per run: STARTTLS / SSL / none, AUTH, throttle, reconnect."""

    writes_files = False
    syncs_later = False
    written: Path | None = None

    def __init__(self, settings: Settings, password: str | None, *, base_dir: Path | None = None,
                 clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep,
                 timeout: float = TIMEOUT) -> None:
        if not settings.smtp_host:
            raise SetupError("smtp_host is empty in Settings — type your mail server's name, "
                             "or set mail_transport to outbox")
        self.host = settings.smtp_host.strip()
        self.security = (settings.smtp_security or "starttls").strip().lower()
        if self.security not in ("starttls", "ssl", "none"):
            raise SetupError(f'smtp_security "{settings.smtp_security}" is not starttls, ssl or none — '
                             "choose one of the three")
        self.port = int(settings.smtp_port or (465 if self.security == "ssl" else 587))
        self.username = settings.smtp_username.strip()
        self.password_env = settings.smtp_password_env
        self.max_per_minute = max(0, int(settings.smtp_max_per_minute or 0))
        ca = settings.smtp_ca_file.strip()
        self.ca_file = (base_dir / ca if base_dir and ca and not Path(ca).is_absolute() else Path(ca)) if ca else None
        self.clock, self.sleep, self.timeout = clock, sleep, timeout
        self.__password = password
        self._smtp: smtplib.SMTP | None = None
        self._turns: collections.deque[float] = collections.deque()
        self.connections = 0
        if self.username and not password:
            raise SetupError(no_password_message(settings))
        if self.username and self.security == "none" and self.host.lower() not in LOCAL_HOSTS:
            raise SetupError(f"smtp_security is none: the password would cross the network unencrypted to "
                             f"{self.host} — use starttls or ssl")

    def __repr__(self) -> str:
        return f"SmtpTransport({self.host}:{self.port}, {self.security}, user={self.username!r})"

    def describe(self) -> str:
        return f"{self.host}:{self.port}"

    def __enter__(self) -> SmtpTransport:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # connection

    def context(self) -> ssl.SSLContext:
        """Certificates are always verified: the system's trust store, or smtp_ca_file."""
        if self.ca_file is not None and not self.ca_file.exists():
            raise SetupError(f"smtp_ca_file {self.ca_file} does not exist — correct the path in Settings")
        return ssl.create_default_context(cafile=str(self.ca_file) if self.ca_file else None)

    def open(self) -> None:
        """Connect (and log in) unless a connection is already open."""
        if self._smtp is not None:
            return
        where = f"{self.host}:{self.port}"
        ctx = self.context() if self.security != "none" else None
        smtp: smtplib.SMTP | None = None
        try:
            if self.security == "ssl":
                smtp = smtplib.SMTP_SSL(self.host, self.port, local_hostname=_local_name(),
                                        timeout=self.timeout, context=ctx)
            else:
                smtp = smtplib.SMTP(self.host, self.port, local_hostname=_local_name(), timeout=self.timeout)
            _nodelay(smtp.sock)
            smtp.ehlo()
            if self.security == "starttls":
                if not smtp.has_extn("starttls"):
                    raise SetupError(f"the mail server {where} does not offer STARTTLS — check smtp_host and "
                                     "smtp_port, or set smtp_security to ssl (usually port 465)")
                smtp.starttls(context=ctx)
                smtp.ehlo()
            if self.username:
                smtp.login(self.username, self.__password or "")
        except Exception as exc:
            _close_quietly(smtp)
            failure = self._failure(exc, where)
            if failure is exc:
                raise
            raise failure from None
        self._smtp = smtp
        self.connections += 1

    def _failure(self, exc: Exception, where: str) -> Exception:
        """What a failure to connect or log in means, and how to fix it (``exc`` itself if unknown)."""
        if isinstance(exc, smtplib.SMTPAuthenticationError):
            return SetupError(f"the mail server {where} refused the login of {self.username} "
                              f"({_words(exc.smtp_code, exc.smtp_error)}) — {self._password_hint()}", exc.smtp_code)
        if isinstance(exc, smtplib.SMTPNotSupportedError):
            return SetupError(f"the mail server {where} does not accept a login here — check smtp_security "
                              "(starttls or ssl) and smtp_port")
        if isinstance(exc, ssl.SSLCertVerificationError):
            return SetupError(f"the certificate of {self.host} could not be verified ({exc.verify_message}) — "
                              "if your server uses a private certificate authority, set smtp_ca_file")
        if isinstance(exc, ssl.SSLError):
            return SetupError(f"the secure connection to {where} failed ({exc.reason or exc}) — check "
                              "smtp_security: starttls (usually port 587) or ssl (usually port 465)")
        if isinstance(exc, smtplib.SMTPResponseException):
            return ConnectFailure(f"the mail server {where} refused the connection "
                                  f"({_words(exc.smtp_code, exc.smtp_error)})", exc.smtp_code)
        if isinstance(exc, OSError | smtplib.SMTPException):
            return ConnectFailure(f"the mail server {where} could not be reached ({_os_words(exc)}) — "
                                  "check the network and smtp_host/smtp_port")
        return exc  # SetupError raised above, or a bug: as it is

    def _password_hint(self) -> str:
        if self.password_env:
            return (f"check the password in the environment variable {self.password_env} "
                    f"(or in the keyring entry receivables/{self.username})")
        return f"check the password stored with `keyring set {KEYRING_SERVICE} {self.username}`"

    def close(self) -> None:
        smtp, self._smtp = self._smtp, None
        if smtp is None:
            return
        with contextlib.suppress(OSError, smtplib.SMTPException):
            smtp.quit()
        _close_quietly(smtp)

    def sync(self) -> None:
        """Nothing to wait for: a message the server accepted is the server's."""
        return None

    def _discard(self) -> None:
        smtp, self._smtp = self._smtp, None
        _close_quietly(smtp)

    # throttle

    def wait_turn(self) -> None:
        """Wait until sending one more keeps to smtp_max_per_minute in every 60 seconds."""
        if self.max_per_minute <= 0:
            return
        now = self.clock()
        while self._turns and now - self._turns[0] >= 60:
            self._turns.popleft()
        if len(self._turns) >= self.max_per_minute:
            self.sleep(60 - (now - self._turns[0]))
            now = self.clock()
            while self._turns and now - self._turns[0] >= 60:
                self._turns.popleft()
        self._turns.append(now)

    # one message

    def wire(self, msg: EmailMessage, sender: str, recipients: Sequence[str]) -> bytes:
        data = flatten(msg, utf8=_needs_utf8(sender, recipients))
        return data if data.endswith(b"\r\n") else data + b"\r\n"  # as the server receives it

    def wire_built(self, data: bytes, sender: str, recipients: Sequence[str]) -> bytes | None:
        if _needs_utf8(sender, recipients):
            return None  # its headers go as SMTPUTF8: made anew
        return data if data.endswith(b"\r\n") else data + b"\r\n"

    def send(self, msg: EmailMessage | None, sender: str, recipients: Sequence[str], key: str = "",
             data: bytes | None = None) -> dict[str, str]:
        """Hand the message over (``data``: its bytes from ``wire``); returns refused recipients -> the server's words."""
        utf8 = _needs_utf8(sender, recipients)
        if data is None:
            assert msg is not None
            data = self.wire(msg, sender, recipients)
        for attempt in (1, 2):
            reused = self._smtp is not None
            self.open()
            try:
                return self._transaction(sender, recipients, data, utf8)
            except _Dropped as exc:
                self._discard()
                if reused and attempt == 1:
                    continue  # the kept-open connection had died: reconnect once, at once
                raise TemporaryFailure(f"the connection to {self.describe()} was lost ({exc})") from None
        raise AssertionError("unreachable")  # pragma: no cover

    def _transaction(self, sender: str, recipients: Sequence[str], data: bytes, utf8: bool) -> dict[str, str]:
        smtp = self._smtp
        assert smtp is not None
        options: list[str] = []
        if utf8:
            if not smtp.has_extn("smtputf8"):
                raise PermanentFailure("an address has non-ASCII characters and the mail server does not "
                                       "accept them (no SMTPUTF8) — use a plain ASCII address")
            options.append("SMTPUTF8")
        code, resp = _command(smtp.mail, sender, options)
        if code != 250:
            self._reset()
            raise _refusal(code, resp, "the sender was refused")
        refused: dict[str, str] = {}
        codes: list[int] = []
        for rcpt in recipients:
            code, resp = _command(smtp.rcpt, rcpt)
            if code not in (250, 251):
                refused[rcpt] = _words(code, resp)
                codes.append(code)
        if len(refused) == len(recipients):
            self._reset()
            words = "; ".join(f"{a}: {w}" for a, w in refused.items())
            temporary = any(400 <= c < 500 for c in codes)
            cls = TemporaryFailure if temporary else PermanentFailure
            raise cls(f"every recipient was refused ({words})", codes[0] if codes else None)
        code, resp = _command(smtp.docmd, "DATA")
        if code != 354:
            self._reset()
            raise _refusal(code, resp, "the message was refused")
        payload = re.sub(rb"(?m)^\.", b"..", data)
        if not payload.endswith(b"\r\n"):
            payload += b"\r\n"
        try:
            if smtp.sock is None:
                raise OSError("not connected")
            smtp.sock.sendall(payload + b".\r\n")
        except OSError as exc:
            raise _Dropped(_os_words(exc)) from None
        try:  # from here on the server holds the whole message: a lost answer is uncertain
            code, resp = smtp.getreply()
        except (OSError, smtplib.SMTPException) as exc:
            self._discard()
            raise UncertainDelivery(f"the connection to {self.describe()} was lost after the message was "
                                    f"handed over ({_os_words(exc)})") from None
        if code != 250:
            raise _refusal(code, resp, "the message was refused")
        return refused

    def _reset(self) -> None:
        try:
            assert self._smtp is not None
            self._smtp.rset()
        except (OSError, smtplib.SMTPException, AssertionError):
            self._discard()


def _needs_utf8(sender: str, recipients: Sequence[str]) -> bool:
    return not all(a.isascii() for a in (sender, *recipients))


def _command(fn: Callable[..., tuple[int, bytes]], *args: object) -> tuple[int, bytes]:
    try:
        return fn(*args)
    except (OSError, smtplib.SMTPException) as exc:
        raise _Dropped(_os_words(exc)) from None


def _refusal(code: int, resp: bytes | str, what: str) -> TransportError:
    words = _words(code, resp)
    if 400 <= code < 500:
        return TemporaryFailure(f"{what} for now: {words}", code)
    return PermanentFailure(f"{what}: {words}", code)


def _words(code: int, resp: bytes | str) -> str:
    text = resp.decode("utf-8", "replace") if isinstance(resp, bytes) else str(resp)
    return f"{code} {' '.join(text.split())}".strip()


def _os_words(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc) or type(exc).__name__


def _nodelay(sock: socket.socket | None) -> None:
    if sock is None:
        return
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


def _close_quietly(smtp: smtplib.SMTP | None) -> None:
    if smtp is None:
        return
    with contextlib.suppress(OSError):
        smtp.close()


def _local_name() -> str:
    """This PC's name for EHLO (never a reverse DNS lookup, which can hang)."""
    name = re.sub(r"[^A-Za-z0-9.-]", "", socket.gethostname())
    return name or "localhost"


# --- choosing a transport -------------------------------------------------------------------------

def smtp_password(settings: Settings) -> str | None:
    """The SMTP password: the environment variable named in smtp_password_env, else the keyring."""
    if settings.smtp_password_env:
        value = os.environ.get(settings.smtp_password_env.strip())
        if value:
            return value
    if settings.smtp_username:
        try:
            import keyring

            return keyring.get_password(KEYRING_SERVICE, settings.smtp_username.strip())
        except Exception:  # noqa: BLE001 - no keyring backend on this machine: no password from it
            return None
    return None


def no_password_message(settings: Settings) -> str:
    user = settings.smtp_username.strip()
    where = (f"the environment variable {settings.smtp_password_env} is not set, and "
             if settings.smtp_password_env else "smtp_password_env is empty and ")
    return (f"no SMTP password for {user}: {where}the keyring has no entry receivables/{user} — "
            f"set the variable, or run `keyring set {KEYRING_SERVICE} {user}`")


def transport_for(settings: Settings, workbook_path: Path, outbox_override: Path | None = None,
                  **smtp_options: object) -> Transport:
    """The transport the Settings ask for; ``outbox_override`` (``--outbox DIR``) forces the outbox."""
    outbox = outbox_folder(settings, workbook_path, outbox_override)
    if outbox is None:
        folder = Path(workbook_path).resolve().parent
        return SmtpTransport(settings, smtp_password(settings), base_dir=folder, **smtp_options)  # type: ignore[arg-type]
    return OutboxTransport(outbox)


def outbox_folder(settings: Settings, workbook_path: Path, outbox_override: Path | None = None) -> Path | None:
    """The outbox folder messages go to, or None when they go to an SMTP server."""
    if outbox_override is not None:
        return Path(outbox_override)
    if (settings.mail_transport or "outbox").strip().lower() == "smtp":
        return None
    outbox = Path(settings.outbox_dir or "outbox")
    return outbox if outbox.is_absolute() else Path(workbook_path).resolve().parent / outbox


def found_whole(folder: Path, sends: Sequence[tuple[str, str]]) -> list[str]:
    """The keys of ``sends`` ((key, Message-ID)) whose message the outbox ``folder`` holds whole:
    a file named for the key (as ``OutboxTransport`` names it) that says that Message-ID and whose
    every MIME part closes. A run that crashed after writing it handed it over; a file cut short
    (a power cut before the disk had it) or gone (another program may take files away) proves
    nothing, and its message stays uncertain."""
    try:
        names = [n for n in os.listdir(folder) if n.endswith(".eml")]
    except OSError:
        return []
    found = []
    for key, mid in sends:
        stem = re.compile(rf"-{re.escape(_named_for(key))}(?:-\d+)?\.eml$")
        if mid and any(stem.search(n) and _holds(folder / n, mid) for n in names):
            found.append(key)
    return found


def _holds(path: Path, message_id: str) -> bool:
    import email
    import email.policy

    try:
        msg = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    except (OSError, ValueError):
        return False
    return (str(msg.get("Message-ID", "")).strip() == message_id.strip() and msg.is_multipart()
            and not any(part.defects for part in msg.walk()))
