"""When the daemon checks, one instance per workbook, and how it is installed."""

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from addin.daemon import AlreadyRunning, InstanceLock, at_local, check_slots, last_check, next_check
from addin.service import install_steps, service_name, systemd_unit, task_xml, uninstall_steps

TORONTO = ZoneInfo("America/Toronto")
TIMES = (dt.time(8), dt.time(12), dt.time(16))


def utc(text):
    return dt.datetime.fromisoformat(text).replace(tzinfo=dt.UTC)


def test_next_check_is_the_next_wall_clock_time_in_the_workbooks_zone():
    # 2026-06-10 11:00 in Toronto is 15:00 UTC (EDT, UTC-4).
    assert next_check(utc("2026-06-10T15:00"), TIMES, TORONTO) == dt.datetime(2026, 6, 10, 12, tzinfo=TORONTO)
    assert next_check(utc("2026-06-10T20:00"), TIMES, TORONTO) == dt.datetime(2026, 6, 11, 8, tzinfo=TORONTO)


def test_checks_keep_their_wall_clock_time_across_the_spring_dst_change():
    # Clocks go forward on 2026-03-08 at 02:00 in Toronto: 08:00 is UTC-5 before, UTC-4 after.
    saturday = next_check(utc("2026-03-07T12:00"), TIMES, TORONTO)  # 07:00 EST
    sunday = next_check(utc("2026-03-07T22:00"), TIMES, TORONTO)
    assert saturday.astimezone(dt.UTC) == utc("2026-03-07T13:00")
    assert sunday.astimezone(dt.UTC) == utc("2026-03-08T12:00")
    assert sunday.astimezone(TORONTO).hour == 8


def test_a_check_time_inside_the_spring_gap_runs_right_after_it():
    slot = at_local(dt.date(2026, 3, 8), dt.time(2, 30), TORONTO)
    assert slot.astimezone(dt.UTC) == utc("2026-03-08T07:30")
    assert slot.astimezone(TORONTO).strftime("%H:%M") == "03:30"


def test_a_repeated_autumn_time_runs_once():
    slots = check_slots(dt.date(2026, 11, 1), (dt.time(1, 30),), TORONTO)
    assert [s.astimezone(dt.UTC) for s in slots] == [utc("2026-11-01T05:30")]  # first 01:30, EDT
    after_first = next_check(utc("2026-11-01T05:30"), (dt.time(1, 30),), TORONTO)
    assert after_first.astimezone(dt.UTC) == utc("2026-11-02T06:30")  # the next day, not 01:30 EST


def test_last_check_finds_the_missed_slot_after_the_pc_slept():
    assert last_check(utc("2026-06-10T21:00"), TIMES, TORONTO) == dt.datetime(2026, 6, 10, 16, tzinfo=TORONTO)
    assert last_check(utc("2026-06-10T11:00"), TIMES, TORONTO) == dt.datetime(2026, 6, 9, 16, tzinfo=TORONTO)


def test_a_second_daemon_on_the_same_workbook_refuses_naming_the_first(tmp_path):
    wb = tmp_path / "books.xlsx"
    wb.write_bytes(b"")
    holder = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        (tmp_path / "books.xlsx.daemon.lock").write_text(json.dumps({"pid": holder.pid, "since": "2026-06-10T08:00:00"}))
        with pytest.raises(AlreadyRunning, match=rf"pid {holder.pid}, since 2026-06-10T08:00:00"):
            InstanceLock(wb).acquire()
    finally:
        holder.kill()
        holder.wait()


def test_the_lock_of_a_crashed_daemon_is_taken_over(tmp_path):
    wb = tmp_path / "books.xlsx"
    wb.write_bytes(b"")
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    (tmp_path / "books.xlsx.daemon.lock").write_text(json.dumps({"pid": gone.pid, "since": "yesterday"}))
    lock = InstanceLock(wb)
    lock.acquire()
    assert json.loads((tmp_path / "books.xlsx.daemon.lock").read_text())["pid"] == os.getpid()
    lock.release()
    assert not (tmp_path / "books.xlsx.daemon.lock").exists()


def test_systemd_unit_restarts_on_failure_and_runs_this_python(tmp_path):
    wb = tmp_path / "My Books.xlsx"
    unit = systemd_unit(wb, python="/opt/venv/bin/python")
    assert "Restart=on-failure" in unit
    assert f'ExecStart=/opt/venv/bin/python -m addin daemon "{wb.resolve()}"' in unit
    assert "WantedBy=default.target" in unit


def test_windows_task_starts_at_logon_and_restarts_on_failure(tmp_path):
    xml = task_xml(tmp_path / "books.xlsx", python=r"C:\venv\Scripts\python.exe", user="anne")
    assert "<LogonTrigger><Enabled>true</Enabled><UserId>anne</UserId></LogonTrigger>" in xml
    assert "<RestartOnFailure><Interval>PT1M</Interval><Count>999</Count></RestartOnFailure>" in xml
    assert r"<Command>C:\venv\Scripts\python.exe</Command>" in xml


@pytest.mark.parametrize("platform", ["win32", "linux", "darwin"])
def test_install_and_uninstall_name_the_same_service(tmp_path, platform):
    wb = tmp_path / "books.xlsx"
    name = service_name(wb)
    installed = " ".join(" ".join(s.command) + str(s.file) for s in install_steps(wb, platform, tmp_path))
    removed = " ".join(" ".join(s.command) + str(s.file) for s in uninstall_steps(wb, platform, tmp_path))
    assert name in installed and name in removed


def test_service_name_is_stable_and_differs_per_workbook(tmp_path):
    a, b = tmp_path / "a" / "books.xlsx", tmp_path / "b" / "books.xlsx"
    assert service_name(a) == service_name(a)
    assert service_name(a) != service_name(b)
    assert service_name(a).startswith("receivables-books-")


def test_install_dry_run_through_the_cli_changes_nothing(tmp_path):
    wb = tmp_path / "books.xlsx"
    wb.write_bytes(b"PK")
    out = subprocess.run([sys.executable, "-m", "addin", "daemon", "install", str(wb), "--dry-run"],
                         capture_output=True, text=True, env={**os.environ, "HOME": str(tmp_path)})
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("would write")
    assert not (Path(tmp_path) / ".config").exists()
