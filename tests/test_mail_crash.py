"""Crash test: a run sending 100 messages is killed (SIGKILL) at random moments and restarted.

At the server no Message-ID arrives twice, and every message is either delivered or flagged
uncertain for a person; a message the journal calls sent did reach the server.
"""

from __future__ import annotations

import collections
import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from smtp_server import PASSWORD, TestServer

from addin.journal import Journal

ROOT = Path(__file__).resolve().parents[1]

SCRIPT = """
import datetime as dt, json, sys
from pathlib import Path
from addin.actions import Email, LogEntry, SetCells
from addin.journal import Journal
from addin.mail.sender import send_all
from addin.mail.transport import SmtpTransport, smtp_password
from addin.model import Settings

config = json.loads(sys.argv[1])
settings = Settings(**config["settings"])
emails = [Email(key=f"reminder:INV-{i:03d}:1", to=(f"c{i}@customer.example",), subject=f"INV-{i:03d}",
                text="Hello", html="<p>Hello</p>", log=LogEntry("reminder 1", f"INV-{i:03d}"),
                on_sent=(SetCells("Invoices", "Invoice No", f"INV-{i:03d}", (("Status", "sent"),)),))
          for i in range(100)]
with Journal.open(Path(config["book"])) as journal:
    journal.recover()
    with SmtpTransport(settings, smtp_password(settings)) as transport:
        transport.open()
        print("ready", flush=True)
        results = send_all(emails, settings, journal, transport, now=dt.datetime.now().astimezone())
print(json.dumps(sorted({r.state for r in results})))
"""



@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX only")
def test_killed_runs_never_send_a_message_twice(smtp_server: TestServer, tmp_path: Path) -> None:
    book = tmp_path / "book.xlsx"
    s = smtp_server.settings()
    config = json.dumps({"book": str(book), "settings": {
        k: getattr(s, k) for k in ("company_name", "company_email", "mail_transport", "smtp_host", "smtp_port",
                                   "smtp_security", "smtp_username", "smtp_password_env",
                                   "smtp_max_per_minute", "smtp_ca_file")}})
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    rng = random.Random(20260328)
    kills = 0
    for attempt in range(40):
        proc = subprocess.Popen([sys.executable, "-c", SCRIPT, config], env=env, cwd=tmp_path,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        assert proc.stdout is not None
        proc.stdout.readline()  # connected: the batch starts now and takes a fraction of a second
        if attempt < 12:
            time.sleep(rng.uniform(0.0, 0.25))
            if proc.poll() is None:
                proc.send_signal(signal.SIGKILL)
                kills += 1
        out, err = proc.communicate(timeout=120)
        if proc.returncode == 0:
            with Journal.open(book) as journal:
                states = {journal.state(f"reminder:INV-{i:03d}:1") for i in range(100)}
            if states <= {"sent", "uncertain"}:
                break
        else:
            assert proc.returncode == -signal.SIGKILL, err.decode()
    assert kills >= 3, "the kills came too late to test anything; the batch finished first"

    ids = smtp_server.handler.message_ids()
    counts = collections.Counter(ids)
    assert max(counts.values()) == 1, [k for k, n in counts.items() if n > 1]
    with Journal.open(book) as journal:
        records = {r.key: r for r in journal.sends()}
    assert len(records) == 100
    assert {r.state for r in records.values()} <= {"sent", "uncertain"}
    delivered = set(ids)
    for record in records.values():
        if record.state == "sent":
            assert record.message_id in delivered, record.key
    # every message either reached the server or waits for a person as uncertain
    assert all(r.message_id in delivered or r.state == "uncertain" for r in records.values())


def test_the_password_is_in_no_file_the_product_wrote(smtp_server: TestServer, tmp_path: Path) -> None:
    from addin.actions import Email
    from addin.mail.sender import send_all
    from addin.mail.transport import OutboxTransport, SmtpTransport, smtp_password

    s = smtp_server.settings()
    emails = [Email(key=f"k{i}", to=("a@customer.example",), subject="S", text="T", html="<p>T</p>") for i in range(3)]
    with Journal.open(tmp_path / "book.xlsx") as journal:
        with SmtpTransport(s, smtp_password(s)) as t:
            send_all(emails, s, journal, t, now=__import__("datetime").datetime.now().astimezone())
        with OutboxTransport(tmp_path / "outbox") as t:
            send_all([e.__class__(**{**e.__dict__, "key": e.key + "-eml"}) for e in emails], s, journal, t,
                     now=__import__("datetime").datetime.now().astimezone())
        bad = SmtpTransport(s, "wrong-" + PASSWORD)
        send_all([Email(key="x", to=("a@customer.example",), subject="S", text="T", html="")], s, journal, bad,
                 now=__import__("datetime").datetime.now().astimezone())
    written = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert any(p.suffix == ".eml" for p in written) and any(p.name.endswith(".sqlite") for p in written)
    for path in written:
        assert PASSWORD.encode() not in path.read_bytes(), path
