"""Two runs at once on one workbook (SPEC §4): real processes, none hangs, each message goes once."""

from __future__ import annotations

import collections
import datetime as dt
import email
import os
import subprocess
import sys
from email import policy
from pathlib import Path

import pytest

d = dt.date
INVOICES = 24
ROUNDS = 4
LIMIT = 60.0  # seconds: a run that has not finished by then hangs


def tables() -> dict:
    customers = [["Customer ID", "Name", "Status", "Email"]]
    invoices = [["Invoice No", "Customer ID", "Invoice Date", "Due Date", "Amount"]]
    for n in range(1, INVOICES + 1):
        customers.append([f"C{n}", f"Customer {n}", "Active", f"ap{n}@customer{n}.example"])
        invoices.append([f"INV-{n}", f"C{n}", d(2026, 3, 1), d(2026, 3, 31), 100 + n])
    return {
        "Settings": [["Key", "Value"], ["company_name", "Maple Books Ltd"],
                     ["company_email", "billing@maple.example"], ["reminders_enabled", True],
                     ["reminders_attach_pdf", False]],
        "Customers": customers,
        "Invoices": invoices,
        "Reminders": [["Reminder", "Enabled", "Days", "When"], [1, True, 3, "Before"]],
    }


def start(*words: str) -> subprocess.Popen:
    env = {**os.environ, "PYTHONIOENCODING": "utf-8"}
    return subprocess.Popen([sys.executable, "-m", "addin", *words], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, env=env, text=True)


def finish(runs: list[subprocess.Popen]) -> list[tuple[int, str]]:
    """Each run's exit status and output; a run still going after LIMIT seconds fails the test."""
    done = []
    for p in runs:
        try:
            out, _ = p.communicate(timeout=LIMIT)
        except subprocess.TimeoutExpired:
            for q in runs:
                q.kill()
                q.communicate()
            pytest.fail(f"{p.args[3:5]} has not finished after {LIMIT:.0f} s: it hangs")
        done.append((p.returncode, out))
    return done


def recipients(outbox: Path) -> collections.Counter[str]:
    found: collections.Counter[str] = collections.Counter()
    for path in outbox.glob("*.eml"):
        msg = email.message_from_bytes(path.read_bytes(), policy=policy.default)
        found[str(msg["To"])] += 1
    return found


def sent_keys(wb: Path) -> dict[str, str]:
    from addin.journal import Journal

    with Journal.open(wb) as journal:
        return {r.key: r.state for r in journal.sends()}


def expected() -> collections.Counter[str]:
    return collections.Counter(f"ap{n}@customer{n}.example" for n in range(1, INVOICES + 1))


@pytest.mark.parametrize("round_", range(ROUNDS))
def test_two_reminder_runs_at_once_both_finish_and_each_reminder_goes_once(make_workbook, tmp_path, round_):
    wb = make_workbook(tables())
    outbox = tmp_path / "outbox"
    run = ("reminders", "run", str(wb), "--as-of", "2026-03-28", "--outbox", str(outbox))
    results = finish([start(*run), start(*run)])
    assert [code for code, _ in results] == [0, 0], results
    assert recipients(outbox) == expected()
    keys = sent_keys(wb)
    assert len(keys) == INVOICES and set(keys.values()) == {"sent"}
    # and a third run, once both are done, sends nothing
    ((code, out),) = finish([start(*run)])
    assert (code, out) == (0, "No automatic reminder is due on 2026-03-28.\n")
    assert recipients(outbox) == expected()


def test_the_daemon_tick_and_a_command_at_once_each_reminder_goes_once(make_workbook, tmp_path):
    wb = make_workbook(tables())
    outbox = tmp_path / "outbox"
    results = finish([start("daemon", str(wb), "--once", "--as-of", "2026-03-28", "--outbox", str(outbox)),
                      start("reminders", "run", str(wb), "--as-of", "2026-03-28", "--outbox", str(outbox))])
    assert [code for code, _ in results] == [0, 0], results
    assert recipients(outbox) == expected()
    assert set(sent_keys(wb).values()) == {"sent"}


def test_a_run_that_must_wait_for_the_write_lock_says_for_whom_then_writes(make_workbook, tmp_path):
    wb = make_workbook(tables())
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time\n"
         "from addin import procs\nfrom addin.workbook.store import WorkbookLock\n"
         "procs.set_doing('refresh')\nlock = WorkbookLock(sys.argv[1])\nassert lock.acquire(1)\n"
         "print('held', flush=True)\ntime.sleep(4)\nlock.release()\n", str(wb)],
        stdout=subprocess.PIPE, text=True)
    assert holder.stdout is not None and holder.stdout.readline() == "held\n"
    ((code, out),) = finish([start("reminders", "run", str(wb), "--as-of", "2026-03-28",
                                   "--outbox", str(tmp_path / "outbox"))])
    holder.wait(LIMIT)
    assert code == 0, out
    assert f"waiting for receivables (pid {holder.pid}: refresh) to finish writing book.xlsx…\n" in out
    assert "The workbook was updated.\n" in out
