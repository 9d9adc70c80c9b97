"""Mail throughput and throttle: ``python bench/mail.py [N]``.

1. Messages per second through the real path (build MIME, journal 'sending' with fsync, SMTP
   transaction, journal 'sent' with the Log row) to a loopback aiosmtpd server with STARTTLS and
   AUTH, throttle off. The server runs in its own process, as a real server would. Target:
   >= 200 msg/s on a 2-core machine.
2. The throttle: 100 messages at smtp_max_per_minute = 30 on a simulated clock: the most
   messages seen in any 60-second window, and the simulated time the batch takes.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

SERVER = """
import json, sys, time
sys.path[:0] = [{root!r}, {tests!r}]
from pathlib import Path
from smtp_server import TestServer
with TestServer(Path({folder!r})) as server:
    print(json.dumps({{"port": server.port, "ca": str(server.ca_file)}}), flush=True)
    sys.stdin.readline()
    print(len(server.messages), flush=True)
"""


def emails(n: int, tag: str) -> list:
    from addin.actions import Email, LogEntry, SetCells

    return [Email(key=f"bench:{tag}:{i}", to=(f"customer{i}@example.com",),
                  subject=f"Reminder: invoice INV-{i:05d} is due",
                  text=f"Hello,\n\nInvoice INV-{i:05d} of $1,234.50 is due on Mar 31, 2026.\n\nThank you.",
                  html=f"<p>Hello,</p><p>Invoice <b>INV-{i:05d}</b> of $1,234.50 is due on Mar 31, 2026.</p>",
                  on_sent=(SetCells("Invoices", "Invoice No", f"INV-{i:05d}", (("Status", "Reminder 1 sent"),)),),
                  log=LogEntry("reminder 1", f"INV-{i:05d}"))
            for i in range(n)]


def throughput(n: int, folder: Path) -> float:
    from smtp_server import PASSWORD, PASSWORD_ENV, Settings

    from addin.journal import Journal
    from addin.mail.sender import send_all
    from addin.mail.transport import SmtpTransport, smtp_password

    code = SERVER.format(root=str(ROOT), tests=str(ROOT / "tests"), folder=str(folder / "server"))
    server = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              text=True)
    try:
        info = json.loads(server.stdout.readline())  # type: ignore[union-attr]
        os.environ[PASSWORD_ENV] = PASSWORD
        from smtp_server import USER

        settings = Settings(company_name="Maple Books Ltd", company_email="billing@maple.example",
                            mail_transport="smtp", smtp_host="127.0.0.1", smtp_port=info["port"],
                            smtp_username=USER, smtp_password_env=PASSWORD_ENV, smtp_max_per_minute=0,
                            smtp_ca_file=info["ca"])
        batch = emails(n, "throughput")
        now = dt.datetime.now().astimezone()
        with Journal.open(folder / "bench.xlsx") as journal, \
                SmtpTransport(settings, smtp_password(settings)) as transport:
            send_all(emails(5, "warm"), settings, journal, transport, now=now)
            start = time.perf_counter()
            results = send_all(batch, settings, journal, transport, now=now)
            elapsed = time.perf_counter() - start
        assert all(r.state == "sent" for r in results), {r.state for r in results}
        server.stdin.write("\n")  # type: ignore[union-attr]
        server.stdin.flush()  # type: ignore[union-attr]
        received = int(server.stdout.readline())  # type: ignore[union-attr]
        assert received == n + 5, received
    finally:
        server.kill()
        server.wait()
    return n / elapsed


class SimulatedClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += max(0.0, seconds)


def throttle(n: int = 100, per_minute: int = 30) -> tuple[int, float]:
    from addin.mail.transport import SmtpTransport
    from addin.model import Settings

    clock = SimulatedClock()
    settings = Settings(smtp_host="unused.example", smtp_max_per_minute=per_minute)
    transport = SmtpTransport(settings, None, clock=clock, sleep=clock.sleep)
    times = []
    for _ in range(n):
        transport.wait_turn()
        times.append(clock())
        clock.now += 0.01  # the send itself
    busiest = max(sum(1 for t in times if start <= t < start + 60) for start in times)
    return busiest, times[-1] - times[0]


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 500
    with tempfile.TemporaryDirectory() as tmp:
        rate = throughput(n, Path(tmp))
    print(f"throughput: {n} messages over STARTTLS+AUTH on loopback, throttle off: {rate:.0f} msg/s "
          f"(target 200 msg/s: {rate / 200:.2f}x)")
    busiest, span = throttle()
    print(f"throttle 30/minute, 100 messages, simulated clock: at most {busiest} in any 60 s window "
          f"(limit 30), batch spans {span:.0f} s simulated (at least 180 s expected)")


if __name__ == "__main__":
    main()
