"""A closed output pipe ends a command quietly (SPEC §6): `receivables reminders due WB | head -1`."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys

import pytest

CLOSED_OUTPUT = 141  # as a Unix tool ended by SIGPIPE (128 + 13)

d = dt.date
INVOICES = 1500  # about 150 KB of lines: more than a pipe holds


@pytest.fixture
def many_due(make_workbook):
    customers = [["Customer ID", "Name", "Status", "Email"]]
    invoices = [["Invoice No", "Customer ID", "Invoice Date", "Due Date", "Amount"]]
    for n in range(1, INVOICES + 1):
        customers.append([f"C{n}", f"Customer {n}", "Active", f"ap{n}@customer{n}.example"])
        invoices.append([f"INV-{n}", f"C{n}", d(2026, 3, 1), d(2026, 3, 31), 100])
    return make_workbook({
        "Settings": [["Key", "Value"], ["company_name", "Maple Books Ltd"],
                     ["company_email", "billing@maple.example"], ["reminders_enabled", True]],
        "Customers": customers, "Invoices": invoices,
        "Reminders": [["Reminder", "Enabled", "Days", "When"], [1, True, 3, "Before"]],
    })


def due(wb) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "addin", "reminders", "due", str(wb), "--as-of", "2026-03-28"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def test_a_reader_that_takes_one_line_and_goes_ends_the_command_quietly(many_due) -> None:
    p = due(many_due)
    assert p.stdout is not None and p.stderr is not None
    assert p.stdout.readline() == f"Reminders due on 2026-03-28: {INVOICES} to send (preview: nothing is sent)\n".encode()
    p.stdout.close()  # as `head -1` does
    err = p.stderr.read()
    assert (p.wait(60), err) == (CLOSED_OUTPUT, b"")


def test_a_pipe_closed_before_anything_was_written_ends_it_quietly_too(many_due) -> None:
    p = due(many_due)
    assert p.stdout is not None and p.stderr is not None
    p.stdout.close()
    err = p.stderr.read()
    assert (p.wait(60), err) == (CLOSED_OUTPUT, b"")


def test_an_open_pipe_gets_every_line_and_status_0(many_due) -> None:
    out = subprocess.run([sys.executable, "-m", "addin", "reminders", "due", str(many_due), "--as-of", "2026-03-28"],
                         capture_output=True, check=False)
    assert (out.returncode, out.stderr) == (0, b"")
    assert len(out.stdout.splitlines()) > INVOICES
