"""A real SMTP server on 127.0.0.1 for the mail tests: aiosmtpd with STARTTLS and AUTH required.

The certificate comes from a throwaway CA (trustme); the client trusts it through
``smtp_ca_file``. Faults can be injected: replies to DATA or RCPT, a connection dropped at MAIL,
a connection dropped after the message was accepted (the answer is lost).

Use the ``smtp_server`` fixture (``from tests.smtp_server import smtp_server``) or, outside
pytest, ``with TestServer(tmp_dir) as server: ...``.
"""

from __future__ import annotations

import collections
import email
import email.policy
import socket
import ssl
import threading
from dataclasses import dataclass, field, replace
from pathlib import Path

import pytest

from addin.model import Settings

USER = "robot@maple.example"
PASSWORD = "s3cret-Pa55word-never-written"
PASSWORD_ENV = "RECEIVABLES_TEST_SMTP_PASSWORD"


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    data: bytes

    @property
    def message(self) -> email.message.EmailMessage:
        return email.message_from_bytes(self.data, policy=email.policy.default)  # type: ignore[return-value]

    @property
    def message_id(self) -> str:
        return str(self.message["Message-ID"])


@dataclass
class Faults:
    """What the server does wrong, consumed in order."""

    data_replies: collections.deque[str] = field(default_factory=collections.deque)
    rcpt_replies: dict[str, str] = field(default_factory=dict)
    drop_at_mail: set[int] = field(default_factory=set)  # numbers (1-based) of MAIL commands to drop
    lose_answer_at_data: set[int] = field(default_factory=set)  # accept, then drop before answering


class Handler:
    def __init__(self) -> None:
        self.messages: list[Received] = []
        self.faults = Faults()
        self.mails = 0
        self.datas = 0
        self.logins = 0
        self.lock = threading.Lock()

    async def handle_MAIL(self, server, session, envelope, address, mail_options):  # noqa: ANN001
        with self.lock:
            self.mails += 1
            n = self.mails
        if n in self.faults.drop_at_mail:
            server.transport.close()
            return "421 4.4.2 closing"
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: ANN001
        reply = self.faults.rcpt_replies.get(address)
        if reply:
            return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: ANN001
        with self.lock:
            self.datas += 1
            n = self.datas
        if self.faults.data_replies:
            reply = self.faults.data_replies.popleft()
            if reply:
                return reply
        with self.lock:
            self.messages.append(Received(envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content))
        if n in self.faults.lose_answer_at_data:
            server.transport.close()
        return "250 2.0.0 Message accepted"

    def message_ids(self) -> list[str]:
        with self.lock:
            return [m.message_id for m in self.messages]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class TestServer:
    """aiosmtpd on 127.0.0.1 with a trustme certificate; ``implicit_tls`` for the ssl mode."""

    __test__ = False  # not a pytest test class

    def __init__(self, folder: Path, *, implicit_tls: bool = False, auth: bool = True) -> None:
        import trustme

        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.ca = trustme.CA()
        cert = self.ca.issue_cert("127.0.0.1", "localhost")
        self.server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        cert.configure_cert(self.server_context)
        self.ca_file = self.folder / "test-ca.pem"
        self.ca.cert_pem.write_to_path(str(self.ca_file))
        self.handler = Handler()
        self.implicit_tls = implicit_tls
        self.auth = auth
        self.host = "127.0.0.1"
        self.port = free_port()
        self.controller = None

    def authenticate(self, server, session, envelope, mechanism, auth_data):  # noqa: ANN001
        from aiosmtpd.smtp import AuthResult, LoginPassword

        ok = (isinstance(auth_data, LoginPassword) and auth_data.login.decode() == USER
              and auth_data.password.decode() == PASSWORD)
        if ok:
            self.handler.logins += 1
        return AuthResult(success=ok, handled=False)

    def start(self) -> TestServer:
        from aiosmtpd.controller import Controller

        options: dict = {"authenticator": self.authenticate, "auth_required": self.auth}
        if self.implicit_tls:
            options.update(ssl_context=self.server_context, auth_require_tls=False)  # TLS from the first byte
        else:
            options.update(tls_context=self.server_context, require_starttls=True)
        self.controller = Controller(self.handler, hostname=self.host, port=self.port, **options)
        self.controller.start()
        return self

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    def __enter__(self) -> TestServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def messages(self) -> list[Received]:
        return self.handler.messages

    @property
    def faults(self) -> Faults:
        return self.handler.faults

    def settings(self, **overrides: object) -> Settings:
        """Client Settings for this server (the password is in the environment variable)."""
        base = Settings(
            company_name="Maple Books Ltd", company_email="billing@maple.example",
            company_phone="+1 514 555 0100", company_address="12 rue Principale\nMontréal QC",
            mail_transport="smtp", smtp_host=self.host, smtp_port=self.port,
            smtp_security="ssl" if self.implicit_tls else "starttls", smtp_username=USER,
            smtp_password_env=PASSWORD_ENV, smtp_max_per_minute=0, smtp_ca_file=str(self.ca_file),
        )
        return replace(base, **overrides)  # type: ignore[arg-type]


@pytest.fixture
def smtp_server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A STARTTLS + AUTH server; the password sits in the environment variable PASSWORD_ENV."""
    monkeypatch.setenv(PASSWORD_ENV, PASSWORD)
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.null.Keyring")
    with TestServer(tmp_path / "server") as server:
        yield server


@pytest.fixture
def smtps_server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """The same with implicit TLS (smtp_security ssl)."""
    monkeypatch.setenv(PASSWORD_ENV, PASSWORD)
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.null.Keyring")
    with TestServer(tmp_path / "server-ssl", implicit_tls=True) as server:
        yield server
