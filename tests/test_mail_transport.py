"""Transports against a real aiosmtpd server (STARTTLS + AUTH) and a real outbox folder."""

from __future__ import annotations

import dataclasses
import datetime as dt
import email
import email.policy
import socket
from pathlib import Path

import pytest
from smtp_server import PASSWORD_ENV, TestServer

from addin.actions import Attachment, Email
from addin.mail.message import build_message
from addin.mail.transport import (
    OutboxTransport,
    SetupError,
    SmtpTransport,
    smtp_password,
    transport_for,
)
from addin.model import Settings

NOW = dt.datetime(2026, 3, 28, 9, 30, tzinfo=dt.UTC)



def mail(key: str = "reminder:INV-1:1", **kw: object) -> Email:
    base: dict = dict(key=key, to=("ann@customer.example",), subject="Reminder", text="Hello", html="<p>Hello</p>")
    base.update(kw)
    return Email(**base)


def test_starttls_and_auth_deliver_the_message_to_to_and_cc(smtp_server: TestServer) -> None:
    settings = smtp_server.settings()
    msg = build_message(mail(cc=("ap@customer.example",)), settings, now=NOW)
    with SmtpTransport(settings, smtp_password(settings)) as t:
        t.open()
        assert t._smtp is not None and t._smtp.sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
        refused = t.send(msg, settings.company_email, ["ann@customer.example", "ap@customer.example"], "k")
    assert refused == {}
    (got,) = smtp_server.messages
    assert got.mail_from == "billing@maple.example"
    assert got.rcpt_tos == ["ann@customer.example", "ap@customer.example"]
    assert got.message_id == msg["Message-ID"]
    assert smtp_server.handler.logins == 1


def test_one_connection_serves_the_whole_run(smtp_server: TestServer) -> None:
    settings = smtp_server.settings()
    with SmtpTransport(settings, smtp_password(settings)) as t:
        for i in range(5):
            t.send(build_message(mail(f"k{i}"), settings, now=NOW), settings.company_email, ["a@x.example"], f"k{i}")
        assert t.connections == 1
    assert len(smtp_server.messages) == 5


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_implicit_tls_mode_ssl(smtps_server: TestServer) -> None:
    settings = smtps_server.settings()
    with SmtpTransport(settings, smtp_password(settings)) as t:
        t.send(build_message(mail(), settings, now=NOW), settings.company_email, ["a@x.example"], "k")
    assert len(smtps_server.messages) == 1


def test_a_wrong_password_is_a_clear_setup_error_without_the_password(smtp_server: TestServer) -> None:
    settings = smtp_server.settings()
    t = SmtpTransport(settings, "not-the-password")
    with pytest.raises(SetupError) as caught:
        t.open()
    text = str(caught.value)
    assert text.startswith(f"the mail server 127.0.0.1:{smtp_server.port} refused the login of robot@maple.example (535")
    assert text.endswith(f"— check the password in the environment variable {PASSWORD_ENV} "
                         "(or in the keyring entry receivables/robot@maple.example)")
    assert "not-the-password" not in text and "not-the-password" not in repr(t)


def test_no_password_anywhere_says_where_to_put_it(smtp_server: TestServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(PASSWORD_ENV)
    settings = smtp_server.settings()
    with pytest.raises(SetupError, match=f"^no SMTP password for robot@maple.example: the environment variable "
                                         f"{PASSWORD_ENV} is not set, and the keyring has no entry "
                                         "receivables/robot@maple.example — set the variable, or run "
                                         "`keyring set receivables robot@maple.example`$"):
        transport_for(settings, Path("book.xlsx"))


def test_a_certificate_the_client_does_not_trust_is_refused(smtp_server: TestServer) -> None:
    settings = smtp_server.settings(smtp_ca_file="")
    with pytest.raises(SetupError, match="could not be verified .* set smtp_ca_file$"):
        SmtpTransport(settings, smtp_password(settings)).open()


def test_a_server_that_is_down_is_a_connect_failure() -> None:
    from smtp_server import free_port

    from addin.mail.transport import ConnectFailure

    settings = Settings(smtp_host="127.0.0.1", smtp_port=free_port(), smtp_security="none")
    with pytest.raises(ConnectFailure, match="could not be reached"):
        SmtpTransport(settings, None).open()


def test_security_none_refuses_to_send_a_password_across_the_network() -> None:
    settings = Settings(smtp_host="mail.example.com", smtp_security="none", smtp_username="u")
    with pytest.raises(SetupError, match="unencrypted"):
        SmtpTransport(settings, "pw")


class Clock:
    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def test_throttle_keeps_to_30_per_minute_on_a_simulated_clock() -> None:
    clock = Clock()
    t = SmtpTransport(Settings(smtp_host="x.example", smtp_max_per_minute=30), None, clock=clock, sleep=clock.sleep)
    times = []
    for _ in range(100):
        t.wait_turn()
        times.append(clock.now)
        clock.now += 0.5
    assert max(sum(1 for x in times if start <= x < start + 60) for start in times) == 30
    assert times[-1] - times[0] >= 180


def test_throttle_zero_never_waits() -> None:
    clock = Clock()
    t = SmtpTransport(Settings(smtp_host="x.example", smtp_max_per_minute=0), None, clock=clock, sleep=clock.sleep)
    for _ in range(500):
        t.wait_turn()
    assert clock.slept == []


def test_outbox_writes_one_eml_per_message_that_parses_back_with_both_parts(tmp_path: Path) -> None:
    settings = Settings(company_name="Maple", company_email="billing@maple.example")
    msg = build_message(mail("statement:C/1:2026-05-01..2026-05-31",
                             attachments=(Attachment("Statement.pdf", b"%PDF", "application/pdf"),)),
                        settings, now=NOW)
    outbox = OutboxTransport(tmp_path / "outbox", clock=lambda: dt.datetime(2026, 3, 28, 9, 30, 5))
    outbox.open()
    outbox.send(msg, settings.company_email, ["ann@customer.example"], "statement:C/1:2026-05-01..2026-05-31")
    outbox.send(msg, settings.company_email, ["ann@customer.example"], "statement:C/1:2026-05-01..2026-05-31")
    files = sorted(p.name for p in (tmp_path / "outbox").iterdir())
    assert len(files) == 2 and files[0].startswith("20260328-093005-statement-C-1-2026-05-01..2026-05-31-")
    assert all(name.endswith(".eml") for name in files)
    back = email.message_from_bytes((tmp_path / "outbox" / files[0]).read_bytes(), policy=email.policy.default)
    assert back.get_body(("plain",)) is not None and back.get_body(("html",)) is not None
    assert back["Message-ID"] == msg["Message-ID"]


def test_transport_for_follows_settings_and_the_outbox_override(tmp_path: Path, smtp_server: TestServer) -> None:
    book = tmp_path / "book.xlsx"
    default = transport_for(Settings(), book)
    assert isinstance(default, OutboxTransport) and default.folder == tmp_path / "outbox"
    forced = transport_for(smtp_server.settings(), book, tmp_path / "elsewhere")
    assert isinstance(forced, OutboxTransport) and forced.folder == tmp_path / "elsewhere"
    smtp = transport_for(smtp_server.settings(), book)
    assert isinstance(smtp, SmtpTransport) and smtp.describe() == f"127.0.0.1:{smtp_server.port}"
    relative_ca = transport_for(dataclasses.replace(smtp_server.settings(), smtp_ca_file="server/test-ca.pem"), book)
    assert isinstance(relative_ca, SmtpTransport) and relative_ca.ca_file == tmp_path / "server" / "test-ca.pem"
