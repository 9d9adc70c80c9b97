"""The daemon on real workbooks: one tick for a day, stop mid-batch, re-reading, a real process."""

import datetime as dt
import email
import os
import signal
import subprocess
import sys
import time
from email import policy
from pathlib import Path

import pytest

from addin.daemon import Served, tick
from addin.demo_data import DEMO_DATE, build_demo
from addin.journal import Journal


@pytest.fixture
def demo(tmp_path: Path) -> Path:
    path = tmp_path / "demo.xlsx"
    build_demo().save(path)
    return path


def message_ids(folder: Path) -> list[str]:
    return [email.message_from_bytes(p.read_bytes(), policy=policy.default)["Message-ID"]
            for p in sorted(folder.glob("*.eml"))]


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "addin", *args], capture_output=True, text=True, timeout=120)


def test_once_does_exactly_the_days_reminders_and_statements(demo, tmp_path):
    out = tmp_path / "out"
    day = DEMO_DATE.isoformat()
    due = run_cli("reminders", "due", str(demo), "--as-of", day)
    expected = due.stdout.splitlines()[0]
    assert expected.startswith(f"Reminders due on {day}: 11 to send")  # the demo groups per customer

    first = run_cli("daemon", str(demo), "--once", "--as-of", day, "--outbox", str(out))
    assert first.returncode == 0, first.stdout + first.stderr
    names = sorted(p.name for p in out.glob("*.eml"))
    assert sum("-reminders-" in n for n in names) == 11
    assert sum("-statement-C-0001-2026-05-10..2026-06-09-" in n for n in names) == 1
    assert len(names) == 12

    again = run_cli("daemon", str(demo), "--once", "--as-of", day, "--outbox", str(out))
    assert again.returncode == 0, again.stdout + again.stderr
    assert len(list(out.glob("*.eml"))) == 12  # nothing twice


def test_a_stop_request_mid_batch_then_a_restart_sends_each_message_once(demo, tmp_path):
    out = tmp_path / "out"
    asked = []

    def stop_after_three() -> bool:
        asked.append(1)
        return len(asked) > 3

    now = dt.datetime.now(dt.UTC)
    tick(demo, DEMO_DATE, now, outbox=out, should_stop=stop_after_three)
    sent_first = len(list(out.glob("*.eml")))
    assert 1 <= sent_first < 12  # 11 reminder messages (the demo groups per customer) and a statement
    with Journal.open(demo) as journal:
        assert not journal.run_done("daemon-statements", DEMO_DATE.isoformat()) or sent_first == 12
    tick(demo, DEMO_DATE, now, outbox=out)
    ids = message_ids(out)
    assert len(ids) == 12
    assert len(set(ids)) == 12


def test_a_changed_workbook_is_read_again_and_an_unchanged_one_is_not(demo):
    served = Served(demo, dt.UTC, ())
    served.current_book()
    served.current_book()
    assert served.reads == 1
    later = time.time() + 5
    os.utime(demo, (later, later))
    served.current_book()
    assert served.reads == 2


@pytest.mark.skipif(sys.platform == "win32", reason="SIGTERM is a POSIX signal; Windows uses Ctrl+Break")
def test_a_real_daemon_runs_a_check_scheduled_seconds_ahead_then_stops_on_sigterm(make_workbook, tmp_path):
    today = dt.date.today()
    soon = (dt.datetime.now() + dt.timedelta(seconds=4)).strftime("%H:%M:%S")
    path = make_workbook({
        "Settings": [["Key", "Value"], ["company_name", "Maple"], ["company_email", "billing@maple.example"],
                     ["reminders_enabled", "TRUE"], ["reminder_check_times", soon], ["outbox_dir", "out"]],
        "Customers": [["Customer ID", "Name", "Status", "Email"], ["C1", "Ada", "Active", "ada@example.com"]],
        "Invoices": [["Invoice No", "Customer ID", "Invoice Date", "Due Date", "Amount", "Status"],
                     ["INV-1", "C1", today - dt.timedelta(days=30), today, 100]],
        "Reminders": [["Reminder", "Enabled", "Days", "When"], [1, "TRUE", 0, "After"]],
    })
    with Journal.open(path) as journal:  # the last check was now: no catch-up, wait for the slot
        journal.record_run("daemon-tick", "start")
    proc = subprocess.Popen([sys.executable, "-m", "addin", "daemon", str(path), "--quiet"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not list((tmp_path / "out").glob("*.eml")):
            assert proc.poll() is None, proc.communicate()
            time.sleep(0.3)
        assert [p.name for p in (tmp_path / "out").glob("*.eml")], "the check did not run"
        assert (tmp_path / "book.xlsx.daemon.lock").exists()
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            out, err = proc.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise
    assert proc.returncode == 0, err
    assert "stopped" in out
    assert not (tmp_path / "book.xlsx.daemon.lock").exists()
    log = (tmp_path / "book.xlsx.daemon.log").read_text(encoding="utf-8")
    assert "INV-1: reminder 1" in log


def test_updates_that_waited_while_the_workbook_was_open_are_written_once_it_is_closed(demo, caplog):
    from addin.actions import SetCells, row
    from addin.daemon import Daemon
    from addin.workbook import store

    daemon = Daemon([demo], clock=lambda: dt.datetime(2030, 1, 1, tzinfo=dt.UTC))
    daemon.served.append(Served(demo, dt.UTC, (), next_at=dt.datetime(2031, 1, 1, tzinfo=dt.UTC)))
    owner = demo.with_name("~$" + demo.name)
    owner.write_bytes(b"\x03Ana")  # open in Excel
    with Journal.open(demo) as journal:
        waiting = SetCells("Invoices", "Invoice No", "INV-10001", row(Status="Reminder 1 sent 2026-04-07"))
        assert store.write_updates(demo, [waiting], journal).deferred
    daemon.poll()  # still open: nothing is written
    with Journal.open(demo) as journal:
        assert len(journal.pending_updates()) == 1
    owner.unlink()
    later = time.time() + 5
    os.utime(demo, (later, later))  # Excel saved and closed it
    with caplog.at_level("INFO", logger="receivables.daemon"):
        daemon.poll()
    assert f"{demo.name}: The workbook was updated." in caplog.messages  # the write is in the daemon's log
    with Journal.open(demo) as journal:
        assert journal.pending_updates() == []
    from python_calamine import CalamineWorkbook

    with CalamineWorkbook.from_path(str(demo)) as wb:
        rows = wb.get_sheet_by_name("Invoices").to_python()
    header = rows[0]
    invoice = next(r for r in rows if r[0] == "INV-10001")
    assert invoice[header.index("Status")] == "Reminder 1 sent 2026-04-07"
